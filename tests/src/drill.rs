//! The DR drill: Lifeboat's whole job against the emulator, with the code the Lambdas run.
//!
//! [`seed`] shapes a primary Region like the two customers of the brief: an Aurora MySQL cluster
//! with a cross-Region replica cluster, an RDS SQL Server instance, a PostgreSQL instance (with a
//! cross-Region read replica, and its data on the machine's PostgreSQL), EC2 and EBS protected
//! by AWS Backup, a Route 53 zone, CloudWatch alarms in the recovery Region. [`run`] then copies
//! snapshots and recovery points, verifies a restore, fires the alarms, fails over and fails
//! back, printing each step as it goes, and returns the summary: each step, its time, its
//! result and figures, and where the reports are. The `drill` binary runs it (the README's first
//! command) and `tests/tests/it/drill.rs` asserts each step's effect in the emulator.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::failover::plan_hash;
use lifeboat_shared::plan::Plan;
use lifeboat_shared::record::Report;
use lifeboat_shared::status::posture;
use lifeboat_shared::tasks::{
    FailoverOptions, FailoverResult, Finished, JobResult, RunOptions, Verifications, VerifyOptions,
    run_copy_backups, run_copy_snapshots, run_failover, run_verify_restore,
};
use lifeboat_shared::trigger::{RunbookRequest, Trigger};

use crate::databases::{PARCELS_POSTGRES, SeededDatabase};
use crate::world::{PRIMARY, RECOVERY, World, backup_role, cname_upsert};

pub const ALARMS: [&str; 2] = ["tracking-api-5xx", "tracking-db-unreachable"];
pub const RECORD: &str = "api.tracking.example.com.";
pub const PRIMARY_ALB: &str = "primary-alb.us-west-2.elb.amazonaws.com";
pub const DR_ALB: &str = "dr-alb.us-east-2.elb.amazonaws.com";

/// What [`seed`] made that the drill and its checks need.
pub struct Seeded {
    pub plan: Plan,
    pub zone: String,
    /// The machine's PostgreSQL database standing in for `orders`' data (dropped with it).
    pub data: SeededDatabase,
}

/// Seeds the primary Region and what Lifeboat's stack makes in the recovery Region, and
/// writes the plan.
pub async fn seed(world: &World, prefix: &str) -> Seeded {
    let account = world.account.id.clone();
    let (data, _queue) = world.verification_source(prefix, PARCELS_POSTGRES).await;
    world.read_replica("orders", "orders-dr").await;
    world.sql_server_instance("shop", None).await;
    world.snapshot("shop", "shop-1").await;
    world.db_cluster("phoenix-aurora", None, &[]).await;
    world
        .cluster_snapshot("phoenix-aurora", "phoenix-aurora-1")
        .await;
    world.replica_cluster("phoenix-aurora", "phoenix-dr").await;
    world.backup_vault(PRIMARY, "Default").await;
    let dr_vault = world.backup_vault(RECOVERY, "dr").await;
    for resource in [
        format!("arn:aws:ec2:{PRIMARY}:{account}:instance/i-0a1b2c3d4e5f60001"),
        format!("arn:aws:ec2:{PRIMARY}:{account}:volume/vol-0a1b2c3d4e5f60003"),
    ] {
        world.recovery_point(PRIMARY, "Default", &resource).await;
    }
    let zone = world.hosted_zone("tracking.example.com.").await;
    world
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(cname_upsert(RECORD, PRIMARY_ALB, 60))
        .send()
        .await
        .expect("the record");
    world.failover_alarms(&ALARMS).await;
    world
        .put_lag_metric("ReplicaLag", "DBInstanceIdentifier", "orders-dr", 2.0)
        .await;
    world
        .put_lag_metric(
            "AuroraBinlogReplicaLag",
            "DBClusterIdentifier",
            "phoenix-dr",
            1.0,
        )
        .await;
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
[[copy.rds]]
db_instance = "orders"
[[copy.rds]]
db_instance = "shop"
[[copy.rds]]
db_cluster = "phoenix-aurora"

[[copy.backup]]
source_vault = "Default"
destination_vault = "{dr_vault}"
iam_role = "{role}"
resource_types = ["EC2", "EBS"]

[[verify]]
name = "orders-daily"
db_instance = "orders"
instance_class = "db.t4g.micro"
subnet_group = "dr-isolated"
database = "{database}"
[[verify.checks]]
sql = "SELECT count(*) FROM parcels"
expect = "= 3"
[[verify.checks]]
freshness_sql = "SELECT max(updated_at) FROM parcels"
max_age = "26h"

[failover]
mode = "automatic"
alarms = ["{a0}", "{a1}"]
require = "all"
sustained_for = "0s"
max_data_loss = "30s"
[[failover.promote]]
rds_replica = "orders-dr"
[[failover.promote]]
aurora_replica_cluster = "phoenix-dr"
[[failover.dns]]
hosted_zone_id = "{zone}"
record = "api.tracking.example.com"
type = "CNAME"
primary = "{PRIMARY_ALB}"
recovery = "{DR_ALB}"
"#,
            role = backup_role(&account),
            database = data.name,
            a0 = ALARMS[0],
            a1 = ALARMS[1],
        ),
    );
    Seeded { plan, zone, data }
}

/// One step of the drill, for the summary.
#[derive(Debug, Clone)]
pub struct StepSummary {
    pub step: &'static str,
    pub seconds: f64,
    pub ok: bool,
    pub result: String,
    /// The run's report (Markdown), when it has one.
    pub report: Option<String>,
}

/// The drill's steps, as they went.
#[derive(Debug, Default)]
pub struct Summary {
    pub steps: Vec<StepSummary>,
}

impl Summary {
    /// Saves each step's report (HTML, Markdown and JSON) from the state bucket into `dir`, and
    /// points the summary at the local HTML pages: the emulator's bucket goes when the drill
    /// ends.
    pub async fn save_reports(&mut self, world: &World, dir: &std::path::Path) {
        let prefix = format!("s3://{}/", world.state_bucket());
        let _ = std::fs::create_dir_all(dir);
        for step in &mut self.steps {
            let Some(markdown) = step.report.clone() else {
                continue;
            };
            let Some(key) = markdown.strip_prefix(&prefix) else {
                continue;
            };
            for (key, extension) in [
                (key.to_owned(), "md"),
                (key.replace(".md", ".json"), "json"),
                (key.replace(".md", ".html"), "html"),
            ] {
                if let Some(text) = world.state_object(&key).await {
                    let name = format!("{}.{extension}", step.step.replace(' ', "-"));
                    let path = dir.join(name);
                    if std::fs::write(&path, text).is_ok() && extension == "html" {
                        step.report = Some(path.display().to_string());
                    }
                }
            }
        }
    }

    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    /// The summary table, as the drill prints it last.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<12} {:>7}  {:<6} {}\n",
            "step", "time", "result", "figures"
        );
        for s in &self.steps {
            out += &format!(
                "{:<12} {:>6.1}s  {:<6} {}\n",
                s.step,
                s.seconds,
                if s.ok { "ok" } else { "FAILED" },
                s.result
            );
        }
        let reports: Vec<&str> = self
            .steps
            .iter()
            .filter_map(|s| s.report.as_deref())
            .collect();
        if !reports.is_empty() {
            out += "\nreports:\n";
            for r in reports {
                out += &format!("  {r}\n");
            }
        }
        out
    }
}

/// A report summary's non-zero counts, as `copies_started 3, copies_pruned 1`.
fn counts(summary: &serde_json::Value) -> String {
    let parts: Vec<String> = summary
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_u64().filter(|n| *n > 0)?)))
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect();
    if parts.is_empty() {
        "nothing to do".into()
    } else {
        parts.join(", ")
    }
}

fn quick_failover() -> FailoverOptions {
    FailoverOptions {
        poll: Duration::from_millis(200),
        progress: Some(|step| {
            println!(
                "    {} {}{}",
                step.step,
                step.detail,
                step.call
                    .as_deref()
                    .map_or(String::new(), |c| format!("\n        {c}"))
            )
        }),
        ..FailoverOptions::default()
    }
}

/// Runs the drill on a seeded world (see the module's documentation).
pub async fn run(lifeboat: &Lifeboat, world: &World, seeded: &Seeded) -> Summary {
    let mut summary = Summary::default();
    let mut step =
        |name: &'static str, started: Instant, ok: bool, result: String, report: Option<String>| {
            println!("  → {}", if ok { &result } else { "FAILED" });
            if !ok {
                println!("    {result}");
            }
            summary.steps.push(StepSummary {
                step: name,
                seconds: started.elapsed().as_secs_f64(),
                ok,
                result,
                report,
            });
        };

    println!("\n1. copy the snapshots to {RECOVERY} (copy-snapshots)");
    let started = Instant::now();
    match run_copy_snapshots(lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { report, record }) => {
            let lags: Vec<String> = report
                .copy_lag
                .iter()
                .filter_map(|l| Some(format!("{} {} s", l.db, l.lag_seconds?)))
                .collect();
            step(
                "copy",
                started,
                report.run.outcome == Some(lifeboat_shared::record::RunOutcome::Succeeded),
                if lags.is_empty() {
                    counts(&report.summary())
                } else {
                    format!(
                        "{}; copy lag: {}",
                        counts(&report.summary()),
                        lags.join(", ")
                    )
                },
                record.map(|r| r.markdown),
            );
        }
        other => step("copy", started, false, format!("{other:?}"), None),
    }

    println!("\n2. copy the AWS Backup recovery points (copy-backups)");
    let started = Instant::now();
    match run_copy_backups(lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { report, record }) => {
            let failed = report.run.outcome == Some(lifeboat_shared::record::RunOutcome::Failed);
            step(
                "backup copy",
                started,
                !failed,
                counts(&report.summary()),
                record.map(|r| r.markdown),
            );
        }
        other => step("backup copy", started, false, format!("{other:?}"), None),
    }

    println!("\n3. verify a restore: orders' newest copy, SQL checks on the machine's PostgreSQL");
    println!("   (shop is SQL Server: copied, not verified here — the emulator has no SQL Server;");
    println!("    in AWS it gets instance-level verification)");
    let started = Instant::now();
    let options = VerifyOptions {
        poll: Duration::from_millis(200),
        progress: Some(|job, s| println!("    {job}: {} {}", s.step, s.detail)),
        ..VerifyOptions::default()
    };
    match run_verify_restore(lifeboat, &Trigger::Manual, options, None, None).await {
        Ok(Verifications::Ran(results)) => match results.as_slice() {
            [JobResult::Finished { report, record }] => {
                let f = &report.figures;
                step(
                    "verify",
                    started,
                    report.verdict == Some(lifeboat_shared::verify::Verdict::Verified),
                    format!(
                        "{:?}: restore {} s, data age {} s (RPO now), {} s at the snapshot",
                        report
                            .verdict
                            .unwrap_or(lifeboat_shared::verify::Verdict::Failed),
                        f.restore_seconds.unwrap_or_default(),
                        f.data_age_seconds.unwrap_or_default(),
                        f.data_age_at_snapshot_seconds.unwrap_or_default()
                    ),
                    Some(record.markdown.clone()),
                );
            }
            other => step("verify", started, false, format!("{other:?}"), None),
        },
        other => step("verify", started, false, format!("{other:?}"), None),
    }

    println!("\n4. the primary Region fails: both alarms go to ALARM in {RECOVERY}");
    let started = Instant::now();
    for alarm in ALARMS {
        let set = world
            .cloudwatch(RECOVERY)
            .set_alarm_state()
            .alarm_name(alarm)
            .state_value(StateValue::Alarm)
            .state_reason("the drill: the primary Region does not answer")
            .send()
            .await;
        if let Err(e) = set {
            step("alarm", started, false, format!("{e:?}"), None);
            return summary;
        }
    }
    let mut event = alarm_event(ALARMS[1]);
    // The failover's clock starts at the event's time: now, in the drill.
    event["time"] = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
        .into();
    println!(
        "   the alarm event reaches the failover function (events/cloudwatch-alarm-recovery-region.json)"
    );
    let trigger = Trigger::from_event(&event).expect("the alarm event");
    match run_failover(lifeboat, &trigger, quick_failover(), None).await {
        Ok(FailoverResult::Finished { report, record }) => {
            let run = &report.failover;
            step(
                "failover",
                started,
                run.failure.is_none(),
                format!(
                    "{}; trigger to DNS in sync {} s, data loss estimate {} s",
                    run.failure
                        .clone()
                        .unwrap_or_else(|| "promoted, DNS flipped, schedules paused".into()),
                    run.seconds_to_dns_insync().unwrap_or_default(),
                    run.data_loss_estimate_seconds.unwrap_or_default()
                ),
                Some(record.markdown),
            );
        }
        other => step("failover", started, false, format!("{other:?}"), None),
    }

    println!("\n5. the posture from {RECOVERY} (lifeboat status)");
    let started = Instant::now();
    match posture(lifeboat).await {
        Ok(p) => {
            let dns: Vec<String> = p
                .dns
                .iter()
                .map(|d| format!("{} → {}", d.record, d.points_to))
                .collect();
            let ages: Vec<String> = p
                .copies
                .iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        c.db,
                        c.age_seconds
                            .map_or("no copy".to_owned(), |a| format!("{a} s"))
                    )
                })
                .collect();
            step(
                "status",
                started,
                true,
                format!(
                    "newest copy's age (RPO now): {}; {}; {} budget(s) broken",
                    ages.join(", "),
                    dns.join(", "),
                    p.broken.len()
                ),
                None,
            );
        }
        Err(e) => step("status", started, false, e.to_string(), None),
    }

    println!("\n6. the primary Region is back: fail back (lifeboat failback)");
    let started = Instant::now();
    match run_failover(
        lifeboat,
        &Trigger::Runbook(RunbookRequest::Failback),
        quick_failover(),
        None,
    )
    .await
    {
        Ok(FailoverResult::Finished { report, record }) => step(
            "failback",
            started,
            report.failover.failure.is_none(),
            report
                .failover
                .failure
                .clone()
                .unwrap_or_else(|| "DNS back to the primary, schedules resumed".into()),
            Some(record.markdown),
        ),
        other => step("failback", started, false, format!("{other:?}"), None),
    }
    println!(
        "\n   plan hash {} (what an approval would name)",
        plan_hash(&seeded.plan)
    );
    summary
}

/// The CloudWatch alarm event of `events/cloudwatch-alarm-recovery-region.json`, for `alarm`.
pub fn alarm_event(alarm: &str) -> serde_json::Value {
    let path = crate::venv::workspace_root().join("events/cloudwatch-alarm-recovery-region.json");
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the alarm event"))
            .expect("JSON");
    event["detail"]["alarmName"] = alarm.into();
    event
}
