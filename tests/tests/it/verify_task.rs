//! The verification as a task: each job's run in progress saved at
//! `verify/<plan>/<job>/current.json` and resumed by the next invocation, advanced under the
//! job's lease, recorded (JSON + Markdown, steps and figures) when it finishes. Against the
//! emulator and the machine's seeded PostgreSQL, as in `verify_restore.rs`.

use std::time::Duration;

use lifeboat_shared::bucket::keys::verify_current as current_key;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::state::{Lease, LeaseTiming, lease_name};
use lifeboat_shared::tasks::{
    Finished, JobResult, RunOptions, Verifications, VerifyOptions, run_copy_snapshots,
    run_verify_restore,
};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::{Phase, Verdict};
use lifeboat_tests::databases::{SeededDatabase, holds_a_password};
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};
use tokio::time::Instant;

struct Setup {
    world: World,
    /// The queue Lifeboat's bus delivers its events to.
    queue: String,
    lifeboat: Lifeboat,
    _seeded: SeededDatabase,
}

/// A PostgreSQL instance `orders`, its snapshot copied by Lifeboat, the subnet group, and a plan
/// `tracking` with the `[[verify]]` job `weekly` (count and freshness checks).
async fn setup() -> Setup {
    let world = World::new(Emulator::shared().new_account().await);
    let (seeded, queue) = world
        .verification_source("lbt", lifeboat_tests::databases::PARCELS_POSTGRES)
        .await;
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[copy.rds]]
            db_instance = "orders"
            [[verify]]
            name = "weekly"
            db_instance = "orders"
            instance_class = "db.t4g.micro"
            subnet_group = "dr-isolated"
            database = "{}"
            [[verify.checks]]
            sql = "SELECT count(*) FROM parcels"
            expect = "= 3"
            [[verify.checks]]
            freshness_sql = "SELECT max(updated_at) FROM parcels"
            max_age = "26h"
            "#,
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(plan);
    match run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { .. }) => {}
        other => panic!("the copy did not run: {other:?}"),
    }
    Setup {
        world,
        queue,
        lifeboat,
        _seeded: seeded,
    }
}

fn options() -> VerifyOptions {
    lifeboat_tests::quick_verify_options()
}

impl Setup {
    /// One invocation of the task by the schedule, until `deadline` (`None`: to the end).
    async fn invoke(&self, deadline: Option<Duration>) -> JobResult {
        let deadline = deadline.map(|d| Instant::now() + d);
        let trigger = Trigger::Schedule { rule: None };
        match run_verify_restore(&self.lifeboat, &trigger, options(), None, deadline).await {
            Ok(Verifications::Ran(mut results)) => {
                assert_eq!(results.len(), 1, "{results:#?}");
                results.remove(0)
            }
            other => panic!("the verification did not run: {other:?}"),
        }
    }

    fn restores(&self) -> usize {
        Emulator::shared()
            .calls_of(&self.world.account)
            .iter()
            .filter(|c| c.region == RECOVERY && c.action == "RestoreDBInstanceFromDBSnapshot")
            .count()
    }

    async fn current(&self) -> Option<String> {
        self.world
            .state_object(&current_key("tracking", "weekly"))
            .await
    }

    /// The state bucket object an `s3://` location names.
    async fn object(&self, location: &str) -> String {
        let prefix = format!("s3://{}/", self.world.state_bucket());
        let key = location.strip_prefix(&prefix).expect("in the state bucket");
        self.world.state_object(key).await.expect("the object")
    }
}

/// A run stopped by the deadline while the restore is under way is saved; a duplicate trigger
/// resumes the same run (no second restore), one while another invocation holds the job's lease
/// does nothing; the next invocation finishes it: verified, recorded with its steps and figures,
/// `current.json` removed, exactly one restore, no password anywhere.
#[tokio::test]
async fn an_interrupted_run_resumes_from_its_record_and_is_recorded_when_it_finishes() {
    let setup = setup().await;
    setup.world.hold_restores(RECOVERY, 1).await;

    let first = setup.invoke(Some(Duration::from_millis(800))).await;
    let JobResult::InProgress { report, saved } = first else {
        panic!("{first:#?}")
    };
    assert_eq!(report.verification.phase, Phase::WaitingAvailable);
    assert_eq!(
        saved,
        format!(
            "s3://{}/verify/tracking/weekly/current.json",
            setup.world.state_bucket()
        )
    );
    let run_id = report.header.run_id.clone();
    let current = setup.current().await.expect("the run in progress is saved");
    let stored: serde_json::Value = serde_json::from_str(&current).unwrap();
    assert_eq!(stored["run_id"], run_id.as_str());
    assert_eq!(stored["verification"]["phase"], "waiting-available");
    assert_eq!(setup.restores(), 1);

    // A duplicate trigger while the restore is still under way: the same run, no new restore.
    let duplicate = setup.invoke(Some(Duration::from_millis(800))).await;
    let JobResult::InProgress { report, .. } = duplicate else {
        panic!("{duplicate:#?}")
    };
    assert_eq!(report.header.run_id, run_id);
    assert_eq!(setup.restores(), 1);

    // A trigger while another invocation advances the run (holds the job's lease): busy.
    let account = setup.lifeboat.clients.account_id().await.unwrap();
    let plan = &setup.lifeboat.plan;
    let lease = Lease::acquire(
        &setup.lifeboat.clients.recovery,
        &plan.state_bucket,
        &lease_name(&account, &plan.recovery_region, "verify-restore-weekly"),
        "another-invocation",
        LeaseTiming::default(),
    )
    .await
    .unwrap();
    let busy = setup.invoke(None).await;
    assert!(
        matches!(&busy, JobResult::Busy { job, reason } if job == "weekly" && reason.contains("another-invocation")),
        "{busy:#?}"
    );
    lease.release().await.unwrap();

    // The restore becomes available; the next invocation finishes the run.
    let instance = report.verification.created.instance.clone().unwrap();
    setup
        .world
        .make_db_instance_available(RECOVERY, &instance)
        .await
        .unwrap();
    let last = setup.invoke(None).await;
    let JobResult::Finished { report, record } = last else {
        panic!("{last:#?}")
    };
    assert_eq!(report.header.run_id, run_id);
    assert_eq!(report.verdict, Some(Verdict::Verified), "{report:#?}");
    assert_eq!(setup.restores(), 1, "exactly one restore");
    assert!(setup.current().await.is_none(), "current.json is removed");

    // The record: JSON and Markdown in the state bucket, with the steps and the figures.
    assert!(record.json.starts_with(&format!(
        "s3://{}/runs/tracking/verify-restore/",
        setup.world.state_bucket()
    )));
    let json: serde_json::Value = serde_json::from_str(&setup.object(&record.json).await).unwrap();
    assert_eq!(json["task"], "verify-restore");
    assert_eq!(json["outcome"], "succeeded");
    assert_eq!(json["verdict"], "verified");
    assert!(
        json["figures"]["restore_seconds"].as_i64().is_some(),
        "{json:#}"
    );
    let age = json["figures"]["data_age_seconds"].as_i64().unwrap();
    assert!((7000..7500).contains(&age), "about two hours: {age}");
    assert!(json["figures"]["data_age_at_snapshot_seconds"].is_i64());
    let steps: Vec<&str> = json["verification"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    // Each invocation's share: the restore and a wait, a wait, then the rest.
    assert_eq!(
        steps,
        [
            "restore",
            "wait",
            "wait",
            "available",
            "password",
            "checks",
            "delete",
            "finish"
        ]
    );
    let md = setup.object(&record.markdown).await;
    for part in [
        "# Restore verification — tracking — succeeded",
        "- Verdict: **verified**",
        "- Restore duration: ",
        "- Data age now: ",
        "- Data age at the snapshot: ",
        "| available | ok |",
        "| `SELECT count(*) FROM parcels` | passed |",
    ] {
        assert!(md.contains(part), "{part}:\n{md}");
    }
    // On Lifeboat's bus: the run's event, and the verdict.
    let events = setup.world.delivered_events(&setup.queue).await;
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert!(types.contains(&"Lifeboat Run Finished"), "{events:#?}");
    let verdict = events
        .iter()
        .find(|e| e["detail-type"] == "Lifeboat Verification Finished")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(verdict["detail"]["verdict"], "verified");
    assert_eq!(verdict["detail"]["job"], "weekly");
    assert_eq!(verdict["detail"]["run_id"], run_id.as_str());

    let latest = setup
        .world
        .state_object("runs/tracking/verify-restore/latest.json")
        .await
        .expect("latest.json");
    for text in [&current, &md, &latest, &setup.object(&record.json).await] {
        assert!(!holds_a_password(text), "{text}");
    }
}

/// A plan's unknown job name is an error naming it.
#[tokio::test]
async fn an_unknown_job_is_an_error_naming_it() {
    let world = World::new(Emulator::shared().new_account().await);
    let plan = world.plan(
        "tracking",
        "[[copy.rds]]\ndb_instance = \"orders\"\n[[verify]]\nname = \"weekly\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\nsubnet_group = \"g\"\n",
    );
    let lifeboat = world.lifeboat(plan);
    let error = run_verify_restore(
        &lifeboat,
        &Trigger::Manual,
        options(),
        Some("nightly"),
        None,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("\"nightly\""), "{error}");
    assert!(error.to_string().contains("weekly"), "{error}");
}

impl Setup {
    /// One invocation for an EventBridge event, until `deadline` (`None`: to the end).
    async fn on_event(
        &self,
        event: &serde_json::Value,
        deadline: Option<Duration>,
    ) -> Verifications {
        let trigger = Trigger::from_event(event).expect("a well-formed event");
        run_verify_restore(
            &self.lifeboat,
            &trigger,
            options(),
            None,
            deadline.map(|d| Instant::now() + d),
        )
        .await
        .expect("the task runs")
    }

    /// The RDS event of `events/rds-verify-instance-event.json`, about `identifier`.
    fn instance_event(&self, identifier: &str) -> serde_json::Value {
        let path = format!(
            "{}/../events/rds-verify-instance-event.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let arn = format!(
            "arn:aws:rds:{RECOVERY}:{}:db:{identifier}",
            self.world.account.id
        );
        event["region"] = RECOVERY.into();
        event["resources"] = serde_json::json!([arn]);
        event["detail"]["SourceArn"] = arn.into();
        event["detail"]["SourceIdentifier"] = identifier.into();
        event
    }

    fn verification_events(&self, events: &[serde_json::Value]) -> usize {
        events
            .iter()
            .filter(|e| e["detail-type"] == "Lifeboat Verification Finished")
            .count()
    }
}

fn one(results: Verifications) -> JobResult {
    match results {
        Verifications::Ran(mut results) if results.len() == 1 => results.remove(0),
        other => panic!("one result: {other:?}"),
    }
}

/// A schedule tick starts a run only when the job is due (`every`, a day by default, since the
/// last run started); an RDS event about a run's resource advances that run and never starts
/// one; an event about another resource asks for nothing.
#[tokio::test]
async fn runs_start_when_due_and_rds_events_only_advance_them() {
    let setup = setup().await;
    // Nothing in progress: an event about one of the job's resources starts nothing.
    let idle = one(setup
        .on_event(
            &setup.instance_event("lifeboat-verify-weekly-0a1b2c3d"),
            None,
        )
        .await);
    assert!(
        matches!(&idle, JobResult::Idle { job, reason } if job == "weekly" && reason.contains("no verification run in progress")),
        "{idle:#?}"
    );
    let other = setup
        .on_event(
            &setup.instance_event("lifeboat-verify-nightly-0a1b2c3d"),
            None,
        )
        .await;
    assert!(
        matches!(&other, Verifications::Ignored { reason } if reason.contains("lifeboat-verify-nightly-0a1b2c3d")),
        "{other:?}"
    );
    assert_eq!(setup.restores(), 0);

    // The first tick starts the run; the restore is under way when the invocation ends.
    setup.world.hold_restores(RECOVERY, 1).await;
    let started = setup.invoke(Some(Duration::from_millis(800))).await;
    let JobResult::InProgress { report, .. } = started else {
        panic!("{started:#?}")
    };
    let run_id = report.header.run_id.clone();
    let instance = report.verification.created.instance.clone().unwrap();
    // RDS says the instance was created: the event carries the same run on.
    let event = setup.instance_event(&instance);
    let carried = one(setup
        .on_event(&event, Some(Duration::from_millis(800)))
        .await);
    assert!(
        matches!(&carried, JobResult::InProgress { report, .. } if report.header.run_id == run_id),
        "{carried:#?}"
    );
    setup
        .world
        .make_db_instance_available(RECOVERY, &instance)
        .await
        .unwrap();
    let done = one(setup.on_event(&event, None).await);
    assert!(done.verified(), "{done:#?}");
    assert_eq!(setup.restores(), 1);
    let last: serde_json::Value = serde_json::from_str(
        &setup
            .world
            .state_object("verify/tracking/weekly/last.json")
            .await
            .expect("last.json"),
    )
    .unwrap();
    assert_eq!(last["run_id"], run_id.as_str());
    assert_eq!(last["verdict"], "verified");

    // The next tick: not due for a day.
    let not_due = setup.invoke(None).await;
    assert!(
        matches!(&not_due, JobResult::Idle { reason, .. } if reason.contains("not due")),
        "{not_due:#?}"
    );
    assert_eq!(setup.restores(), 1);

    // A day later (the last run back-dated by 25 hours), the tick starts the next run.
    let started = time::OffsetDateTime::parse(
        last["started_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
        - time::Duration::hours(25);
    let mut earlier = last.clone();
    earlier["started_at"] = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    setup
        .world
        .s3
        .put_object()
        .bucket(setup.world.state_bucket())
        .key("verify/tracking/weekly/last.json")
        .body(earlier.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let next = setup.invoke(None).await;
    assert!(next.verified(), "{next:#?}");
    assert_ne!(
        match &next {
            JobResult::Finished { report, .. } => report.header.run_id.clone(),
            _ => unreachable!(),
        },
        run_id
    );
    assert_eq!(setup.restores(), 2);
}

/// A finished run whose saved record could not be removed is marked recorded first: the next
/// invocation removes it and announces nothing again.
#[tokio::test]
async fn a_finished_run_is_announced_once_even_when_its_record_stays() {
    let setup = setup().await;
    let proxy = lifeboat_tests::proxy::FaultProxy::start(Emulator::shared().endpoint()).await;
    let key = current_key("tracking", "weekly");
    proxy.fail_with(
        &format!("DELETE /{}/{key}", setup.world.state_bucket()),
        Some(1),
        403,
        "AccessDenied",
        "Access Denied",
    );
    let via = setup
        .world
        .lifeboat_via(setup.lifeboat.plan.clone(), proxy.endpoint());
    let trigger = Trigger::Schedule { rule: None };
    let first = one(run_verify_restore(&via, &trigger, options(), None, None)
        .await
        .unwrap());
    assert!(first.verified(), "{first:#?}");
    let stayed: serde_json::Value =
        serde_json::from_str(&setup.current().await.expect("the removal failed")).unwrap();
    assert_eq!(stayed["recorded"], true);

    let second = one(run_verify_restore(&via, &trigger, options(), None, None)
        .await
        .unwrap());
    assert!(
        matches!(&second, JobResult::Idle { reason, .. } if reason.contains("not due")),
        "{second:#?}"
    );
    assert!(setup.current().await.is_none(), "removed now");
    let events = setup.world.delivered_events(&setup.queue).await;
    assert_eq!(setup.verification_events(&events), 1, "{events:#?}");
    assert_eq!(setup.restores(), 1);
}
