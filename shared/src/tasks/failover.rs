//! The failover task: `failover`.
//!
//! One failover at a time per plan: every invocation works under the plan's `failover` lease (an
//! S3 conditional write; a lease left by a crashed holder expires and is taken over). A run in
//! progress is `failover/<plan>/current.json`, saved after every step: the next invocation (the
//! one-minute tick, an alarm event, the operator's runbook call, the CLI) carries it on, so a
//! duplicate trigger starts no second failover. A finished run is recorded like every run and
//! kept as `failover/<plan>/last.json` (its start is the cooldown's, its DNS values are what
//! failback puts back).
//!
//! What starts what:
//! - an alarm event (or a tick) reads the plan's alarms back (`DescribeAlarms`) and starts an
//!   outage failover when `require` of them have been in ALARM for `sustained_for`, outside the
//!   `cooldown`; in `approval` mode the run waits for `approve`;
//! - the runbook's `execute` starts one now (`planned`: a switchover; in `approval` mode it waits
//!   for `approve` like an alarm's), `dry-run` lists the calls
//!   without making any mutating one, `approve` starts a waiting run if the plan hash matches,
//!   `failback` puts the DNS values back and resumes the schedules. Lifeboat never fails back
//!   by itself.
//! - before an outage's promotions, the data-loss gate: a replication lag over `max_data_loss`
//!   (or unknown) makes even an automatic run wait for approval, saying why.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::context::Lifeboat;
use crate::error::Error;
use crate::failover::decide::{self, Gate, Start};
use crate::failover::model::{Kind, RecordSeen, Target};
use crate::failover::run::{Approval, DnsBatch, FailoverRun, Phase, Promotion, Step};
use crate::failover::{POLL_INTERVAL, advance_to_next_step, calls, planned_calls};
use crate::html::{self, Event, Figure, Html, Problem, Tone, section, span};
use crate::metrics::{MetricSet, Unit};
use crate::plan::{Failover, FailoverMode, Plan};
use crate::record::{
    RecordLocation, Report, RunHeader, RunOutcome, delete, get_json, put, put_event, record,
};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::{RunbookRequest, Trigger};

pub const FAILOVER: &str = "failover";
/// Detail type of the failover's events: started, awaiting approval, finished.
pub const FAILOVER_EVENT: &str = "Lifeboat Failover";

/// How a failover task runs.
#[derive(Debug, Clone, Copy)]
pub struct FailoverOptions {
    pub lease: LeaseTiming,
    /// How long a run waits between looks ([`POLL_INTERVAL`] in production).
    pub poll: Duration,
    /// Called with each step once the run that noted it is saved (the CLI prints them).
    pub progress: Option<fn(&Step)>,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        FailoverOptions {
            lease: LeaseTiming::default(),
            poll: POLL_INTERVAL,
            progress: None,
        }
    }
}

/// The report of a failover run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailoverReport {
    #[serde(flatten)]
    pub run: RunHeader,
    pub failover: FailoverRun,
}

impl Report for FailoverReport {
    fn header(&self) -> &RunHeader {
        &self.run
    }

    fn to_markdown(&self) -> String {
        let run = &self.failover;
        let title = if run.failback { "Failback" } else { "Failover" };
        let mut md = self.run.markdown_head(title);
        md += &format!("- Kind: {:?}\n- Reason: {}\n", run.kind, run.reason);
        if let Some(why) = &run.failure {
            md += &format!("- **Failed**: {why}\n");
        }
        if let Some(estimate) = run.data_loss_estimate_seconds {
            md += &format!("- Data loss estimate at the decision: {estimate:.1} s\n");
        }
        if let Some(seconds) = run.seconds_to_dns_insync() {
            md += &format!("- Trigger to DNS in sync: {seconds} s\n");
        }
        md += "\n## Steps\n\n| Time | Step | Call | Result | Detail |\n|---|---|---|---|---|\n";
        for step in &run.steps {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                step.at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                step.step,
                step.call
                    .as_deref()
                    .map_or(String::new(), |c| format!("`{c}`")),
                if step.ok { "ok" } else { "failed" },
                step.detail.replace('|', "\\|")
            );
        }
        md
    }

    fn to_html(&self) -> String {
        self.page()
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "failback": self.failover.failback,
            "kind": self.failover.kind,
            "failure": self.failover.failure,
            "seconds_to_dns_insync": self.failover.seconds_to_dns_insync(),
            "data_loss_estimate_seconds": self.failover.data_loss_estimate_seconds,
        })
    }

    fn metrics(&self) -> Vec<MetricSet> {
        let mut set = MetricSet::new(&[("Plan", &self.run.plan), ("Task", FAILOVER)]);
        if let Some(seconds) = self.failover.seconds_to_dns_insync() {
            set = set.with("SecondsToDnsInSync", seconds as f64, Unit::Seconds);
        }
        if let Some(estimate) = self.failover.data_loss_estimate_seconds {
            set = set.with("DataLossEstimateSeconds", estimate, Unit::Seconds);
        }
        let failed = u8::from(self.failover.failure.is_some());
        vec![set.with("FailoversFailed", f64::from(failed), Unit::Count)]
    }
}

impl FailoverReport {
    /// The run's page: the outcome, the figures (trigger to DNS in sync, data loss estimate),
    /// what was promoted and flipped, the steps with their calls, and what failed with what to
    /// do next.
    fn page(&self) -> String {
        let run = &self.failover;
        let title = if run.failback { "Failback" } else { "Failover" };
        let writable = run
            .promotions
            .iter()
            .filter(|p| p.writable_at.is_some())
            .count();
        let insync = run.dns.iter().filter(|b| b.insync_at.is_some()).count();
        let mut figures = vec![Figure::new(
            "Trigger to DNS in sync",
            run.seconds_to_dns_insync()
                .map_or("not in sync".to_owned(), span),
            run.seconds_to_dns_insync().map_or(String::new(), |s| {
                format!("{s} s: the automation's share of the RTO")
            }),
        )];
        if !run.failback {
            figures.push(Figure::new(
                "Data loss estimate",
                run.data_loss_estimate_seconds
                    .map_or("unknown".to_owned(), |s| format!("{s:.1} s")),
                "the largest replication lag read before promoting",
            ));
            figures.push(
                Figure::new(
                    "Promoted",
                    format!("{writable} of {}", run.promotions.len()),
                    "writable in the recovery Region",
                )
                .tone(Tone::of_ok(writable == run.promotions.len())),
            );
        }
        figures.push(
            Figure::new(
                "DNS batches in sync",
                format!("{insync} of {}", run.dns.len()),
                "one per hosted zone",
            )
            .tone(Tone::of_ok(insync == run.dns.len())),
        );
        let time = html::time_cell;
        let promotions: Vec<Vec<Html>> = run
            .promotions
            .iter()
            .map(|p| {
                vec![
                    Html::code(&p.target.key()),
                    Html::code(p.target.recovery_identifier()),
                    time(p.requested_at),
                    time(p.writable_at),
                    Html::text(&match (p.requested_at, p.writable_at) {
                        (Some(r), Some(w)) => span((w - r).whole_seconds()),
                        _ => "-".into(),
                    }),
                ]
            })
            .collect();
        let failback = run.failback;
        let records: Vec<Vec<Html>> =
            run.dns
                .iter()
                .flat_map(|batch| {
                    batch.changes.iter().map(move |c| {
                        vec![
                            Html::code(&c.name),
                            Html::text(&c.record_type),
                            Html::text(&c.previous.as_ref().map_or(
                                if failback { "-" } else { "(no record)" }.to_owned(),
                                |p| p.values.join(", "),
                            )),
                            Html::text(&c.values.join(", ")),
                            time(batch.sent_at),
                            time(batch.insync_at),
                        ]
                    })
                })
                .collect();
        let events: Vec<Event> = run
            .steps
            .iter()
            .map(|s| Event {
                at: s.at,
                what: s.step.clone(),
                ok: s.ok,
                detail: s.detail.clone(),
                call: s.call.clone(),
            })
            .collect();
        let mut problems: Vec<Problem> = Vec::new();
        if let Some(why) = &run.failure {
            let step = run.steps.iter().rev().find(|s| !s.ok);
            let next = match step.map(|s| s.step.as_str()) {
                Some("promote") => Some(
                    "nothing was undone: promote the target by hand (docs/runbook.md, manual \
                     steps) or fix the cause and run `lifeboat failover --execute` again; \
                     then check DNS"
                        .to_owned(),
                ),
                Some("dns" | "dns-check") => Some(
                    "the databases are promoted but the records may not point at them: flip the \
                     records by hand (docs/runbook.md) and read them back"
                        .to_owned(),
                ),
                Some("schedules") => Some(
                    "the failover is done; pause the copy and verify schedules by hand so they \
                     do not call the failed Region (docs/runbook.md)"
                        .to_owned(),
                ),
                _ => None,
            };
            let what = step.map_or("the run failed".to_owned(), |s| {
                format!("step {} failed", s.step)
            });
            problems.push(Problem::new(what, why.clone(), next));
        }
        let mut extra = vec![
            (
                "Kind",
                Html::text(&format!("{:?}", run.kind).to_lowercase()),
            ),
            ("Reason", Html::text(&run.reason)),
            ("Plan hash", Html::code(&run.plan_hash)),
        ];
        if let Some(approval) = &run.approval {
            extra.push((
                "Approval",
                Html::text(&format!(
                    "{}{}",
                    approval.because,
                    approval.approved_at.map_or(String::new(), |t| format!(
                        "; approved {} by {}",
                        html::time_of(t),
                        approval.approved_by.as_deref().unwrap_or("?")
                    ))
                )),
            ));
        }
        let mut parts = vec![
            html::run_header(title, &self.run, None, extra),
            section("Figures", html::figures(&figures)),
        ];
        if !run.failback {
            parts.push(section(
                "What was promoted",
                html::table(
                    &[
                        "Target",
                        "In the recovery Region",
                        "Requested",
                        "Writable",
                        "Took",
                    ],
                    &promotions,
                    "The plan promotes nothing.",
                ),
            ));
        }
        parts.extend([
            section(
                "DNS records",
                html::table(
                    &["Record", "Type", "Was", "Now", "Sent", "In sync"],
                    &records,
                    "The plan flips no record.",
                ),
            ),
            section("Timeline", html::timeline(&events)),
            section("Errors and what to do next", html::problems(&problems)),
        ]);
        html::page(&format!("{title} — {}", self.run.plan), &parts)
    }
}

/// What a failover invocation did.
#[derive(Debug)]
pub enum FailoverResult {
    /// Nothing to do, and why (alarms not enough, cooldown, an event of another kind, …).
    Ignored { reason: String },
    /// The calls a failover would make now; none was made.
    DryRun {
        calls: Vec<String>,
        plan_hash: String,
        /// What the data-loss gate would decide.
        gate: String,
        run: Box<FailoverRun>,
    },
    /// The run waits for `approve`.
    AwaitingApproval {
        run: Box<FailoverRun>,
        saved: String,
    },
    /// The deadline came first; the run is saved.
    InProgress {
        run: Box<FailoverRun>,
        saved: String,
    },
    Finished {
        report: Box<FailoverReport>,
        record: RecordLocation,
    },
    /// Another invocation holds the plan's failover lease.
    Busy { reason: String },
}

fn current_key(plan: &str) -> String {
    format!("failover/{plan}/current.json")
}

/// Where the last finished failover (or failback) of a plan is kept.
pub fn last_failover_key(plan: &str) -> String {
    format!("failover/{plan}/last.json")
}

fn failover_of(plan: &Plan) -> Result<&Failover, Error> {
    plan.failover
        .as_ref()
        .ok_or_else(|| Error::Refused(format!("plan {} has no [failover] section", plan.name)))
}

/// Runs the failover for a trigger (see the module's documentation), each run until it finishes
/// or until `deadline` (`None`: to the end, as the CLI does).
pub async fn run_failover(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: FailoverOptions,
    deadline: Option<Instant>,
) -> Result<FailoverResult, Error> {
    let plan = &lifeboat.plan;
    let failover = failover_of(plan)?;
    let ignore = |reason: String| Ok(FailoverResult::Ignored { reason });
    match trigger {
        Trigger::AlarmChanged {
            alarm_name, region, ..
        } => {
            if region != plan.recovery_region.as_str() {
                return ignore(format!(
                    "{}: in {region}; the plan's failover alarms live in the recovery Region {} (an alarm in a failed Region cannot fire)",
                    trigger.describe(),
                    plan.recovery_region
                ));
            }
            if !failover.alarms.contains(alarm_name) {
                return ignore(format!(
                    "{alarm_name} is not one of the plan's failover alarms"
                ));
            }
        }
        Trigger::Schedule { .. } | Trigger::Runbook(_) => {}
        other => {
            return ignore(format!(
                "{}: the failover does not act on it",
                other.describe()
            ));
        }
    }
    if let Trigger::Runbook(RunbookRequest::DryRun { planned }) = trigger {
        return dry_run(lifeboat, kind_of(*planned)).await;
    }
    let account_id = lifeboat.clients.account_id().await?;
    let holder = uuid::Uuid::new_v4().simple().to_string();
    let lease = match Lease::acquire(
        &lifeboat.clients.recovery,
        &plan.state_bucket,
        &lease_name(&account_id, &plan.recovery_region, FAILOVER),
        &holder,
        options.lease,
    )
    .await
    {
        Ok(lease) => lease,
        Err(Error::Locked { holder, until, .. }) => {
            return Ok(FailoverResult::Busy {
                reason: format!(
                    "another invocation ({holder}) runs the failover, until {until} at most"
                ),
            });
        }
        Err(e) => return Err(e),
    };
    let task = Task {
        lifeboat,
        options,
        deadline,
        lease: &lease,
    };
    let result = task.run(trigger).await;
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "could not release the failover lease");
    }
    result
}

fn kind_of(planned: bool) -> Kind {
    if planned { Kind::Planned } else { Kind::Outage }
}

struct Task<'a> {
    lifeboat: &'a Lifeboat,
    options: FailoverOptions,
    deadline: Option<Instant>,
    lease: &'a Lease,
}

impl Task<'_> {
    fn plan(&self) -> &Plan {
        &self.lifeboat.plan
    }

    fn saved_at(&self) -> String {
        format!(
            "s3://{}/{}",
            self.plan().state_bucket,
            current_key(&self.plan().name)
        )
    }

    async fn load(&self, key: &str) -> Result<Option<FailoverReport>, Error> {
        let plan = self.plan();
        get_json(
            &self.lifeboat.clients.recovery,
            &plan.state_bucket,
            key,
            "a failover run",
        )
        .await
    }

    async fn save(&self, report: &FailoverReport) -> Result<(), Error> {
        let body = serde_json::to_vec_pretty(report)
            .map_err(|e| Error::other("cannot serialize the failover run", e))?;
        let plan = self.plan();
        put(
            &self.lifeboat.clients.recovery,
            &plan.state_bucket,
            &current_key(&plan.name),
            body,
            "application/json",
        )
        .await
    }

    async fn announce(&self, report: &FailoverReport, status: &str) {
        let run = &report.failover;
        let detail = serde_json::json!({
            "run_id": report.run.run_id,
            "plan": report.run.plan,
            "status": status,
            "failback": run.failback,
            "kind": run.kind,
            "reason": run.reason,
            "plan_hash": run.plan_hash,
            "approval": run.approval,
            "data_loss_estimate_seconds": run.data_loss_estimate_seconds,
            "failure": run.failure,
        });
        if let Err(error) = put_event(
            &self.lifeboat.clients.recovery,
            self.plan(),
            FAILOVER_EVENT,
            &detail,
        )
        .await
        {
            tracing::warn!(%error, status, "could not put the failover event");
        }
    }

    async fn run(&self, trigger: &Trigger) -> Result<FailoverResult, Error> {
        let plan = self.plan();
        let current = self.load(&current_key(&plan.name)).await?;
        match trigger {
            Trigger::Runbook(RunbookRequest::Approve { run_id, plan_hash }) => {
                let Some(mut report) = current else {
                    return Err(Error::Refused(format!(
                        "no failover run waits for approval (asked to approve {run_id})"
                    )));
                };
                let run = &mut report.failover;
                if &run.run_id != run_id || run.phase != Phase::AwaitingApproval {
                    return Err(Error::Refused(format!(
                        "run {run_id} does not wait for approval (the run in progress is {}, {:?})",
                        run.run_id, run.phase
                    )));
                }
                let hash = decide::plan_hash(plan);
                if plan_hash != &hash || run.plan_hash != hash {
                    return Err(Error::Refused(format!(
                        "plan hash {plan_hash} does not match the plan's {hash} (the run was made from {}): \
                         look at the plan again (`lifeboat failover --dry-run` prints its hash)",
                        run.plan_hash
                    )));
                }
                let now = OffsetDateTime::now_utc();
                if let Some(approval) = run.approval.as_mut() {
                    approval.approved_at = Some(now);
                    approval.approved_by = Some("runbook".into());
                }
                run.phase = Phase::Promoting;
                run.step(
                    "approved",
                    now,
                    None,
                    true,
                    format!("approved with plan hash {hash}"),
                );
                self.save(&report).await?;
                self.show(&report.failover.steps[report.failover.steps.len() - 1..]);
                self.announce(&report, "started").await;
                self.drive(report).await
            }
            _ if current.is_some() => {
                let report = current.expect("checked");
                tracing::info!(run_id = %report.run.run_id, "carrying on the failover in progress");
                self.drive(report).await
            }
            Trigger::Runbook(RunbookRequest::Execute { planned }) => {
                let report = self
                    .new_run(
                        kind_of(*planned),
                        "an operator's runbook call (execute)".into(),
                        OffsetDateTime::now_utc(),
                        trigger,
                    )
                    .await?;
                // In approval mode every failover waits for `approve` with the plan hash, the
                // operator's own included: the approval pins the plan that was looked at.
                let approval = failover_of(plan)?.mode == FailoverMode::Approval;
                self.start(report, approval).await
            }
            Trigger::Runbook(RunbookRequest::Failback) => self.failback(trigger).await,
            Trigger::AlarmChanged { at, .. } => self.evaluate(trigger, *at).await,
            Trigger::Schedule { .. } => self.evaluate(trigger, None).await,
            other => Ok(FailoverResult::Ignored {
                reason: format!("{}: the failover does not act on it", other.describe()),
            }),
        }
    }

    /// The alarms read back: start a failover, or say why not.
    async fn evaluate(
        &self,
        trigger: &Trigger,
        at: Option<OffsetDateTime>,
    ) -> Result<FailoverResult, Error> {
        let plan = self.plan();
        let failover = failover_of(plan)?;
        let recovery = &self.lifeboat.clients.recovery;
        let alarms = calls::alarms(recovery, &failover.alarms).await?;
        let last = self.load(&last_failover_key(&plan.name)).await?;
        // The cooldown counts from the last failover's start (not its trigger's time: an alarm
        // event can be old when it arrives).
        let last_failover = last
            .filter(|l| !l.failover.failback)
            .map(|l| l.run.started_at);
        let now = OffsetDateTime::now_utc();
        match decide::should_start(failover, &alarms, last_failover, now) {
            Start::Now { reason } => {
                let report = self
                    .new_run(Kind::Outage, reason, at.unwrap_or(now), trigger)
                    .await?;
                let approval = failover.mode == FailoverMode::Approval;
                self.start(report, approval).await
            }
            Start::Later { reason, .. } | Start::No { reason } => {
                Ok(FailoverResult::Ignored { reason })
            }
        }
    }

    /// A new run of the plan: its promotions, and its DNS changes from the records as they are.
    async fn new_run(
        &self,
        kind: Kind,
        reason: String,
        triggered_at: OffsetDateTime,
        trigger: &Trigger,
    ) -> Result<FailoverReport, Error> {
        let plan = self.plan();
        let header = RunHeader::start(
            FAILOVER,
            plan,
            trigger.describe(),
            false,
            OffsetDateTime::now_utc(),
        );
        let failover = draft_run(self.lifeboat, &header.run_id, kind, reason, triggered_at).await?;
        Ok(FailoverReport {
            run: header,
            failover,
        })
    }

    /// Starts a new run: the data-loss gate for an outage, then either waits for approval or
    /// goes on.
    async fn start(
        &self,
        mut report: FailoverReport,
        approval_mode: bool,
    ) -> Result<FailoverResult, Error> {
        let gate = gate(self.lifeboat, &report.failover).await?;
        let now = OffsetDateTime::now_utc();
        let run = &mut report.failover;
        let (estimate, gate_why) = match gate {
            Gate::Proceed { estimate_seconds } => (estimate_seconds, None),
            Gate::Approval {
                estimate_seconds,
                why,
            } => (estimate_seconds, Some(why)),
        };
        run.data_loss_estimate_seconds = estimate;
        run.step("decide", now, None, true, run.reason.clone());
        let because = match (gate_why, approval_mode) {
            (Some(why), _) => Some(format!("the data-loss gate: {why}")),
            (None, true) => Some("the plan's failover mode is approval".to_owned()),
            (None, false) => None,
        };
        if let Some(because) = because {
            run.phase = Phase::AwaitingApproval;
            run.step(
                "approval",
                now,
                None,
                true,
                format!("waiting for approval: {because}"),
            );
            run.approval = Some(Approval {
                because,
                approved_at: None,
                approved_by: None,
            });
            self.save(&report).await?;
            self.show(&report.failover.steps);
            self.announce(&report, "awaiting-approval").await;
            return Ok(FailoverResult::AwaitingApproval {
                run: Box::new(report.failover),
                saved: self.saved_at(),
            });
        }
        self.save(&report).await?;
        self.show(&report.failover.steps);
        self.announce(&report, "started").await;
        self.drive(report).await
    }

    /// Failback: DNS back to what the last failover found, the schedules resumed.
    async fn failback(&self, trigger: &Trigger) -> Result<FailoverResult, Error> {
        let plan = self.plan();
        let failover = failover_of(plan)?;
        let Some(last) = self.load(&last_failover_key(&plan.name)).await? else {
            return Err(Error::Refused(
                "no finished failover to fail back from".into(),
            ));
        };
        if last.failover.failback {
            return Err(Error::Refused(format!(
                "the last run ({}) was already a failback",
                last.run.run_id
            )));
        }
        let recorded: Vec<_> = last
            .failover
            .dns
            .iter()
            .flat_map(|b| b.changes.clone())
            .collect();
        let now = OffsetDateTime::now_utc();
        let header = RunHeader::start(FAILOVER, plan, trigger.describe(), false, now);
        let dns = DnsBatch::unsent(decide::failback_changes(&failover.dns, &recorded));
        let mut run = FailoverRun {
            run_id: header.run_id.clone(),
            plan: plan.name.clone(),
            kind: Kind::Planned,
            failback: true,
            plan_hash: decide::plan_hash(plan),
            phase: Phase::FlippingDns,
            triggered_at: now,
            reason: format!("failback from failover run {}", last.run.run_id),
            data_loss_estimate_seconds: None,
            approval: None,
            promotions: Vec::new(),
            dns,
            steps: Vec::new(),
            failure: None,
        };
        run.step("decide", now, None, true, run.reason.clone());
        self.keep_snapshots(&last.failover, &mut run).await;
        let report = FailoverReport {
            run: header,
            failover: run,
        };
        self.save(&report).await?;
        self.show(&report.failover.steps);
        self.announce(&report, "started").await;
        self.drive(report).await
    }

    /// Failback's first step, the only one that calls the primary Region (it is back by then):
    /// the unplanned-failover snapshots an outage's global failovers left there, copied to
    /// manual ones. A failure is noted and does not stop the failback.
    async fn keep_snapshots(&self, last: &FailoverRun, run: &mut FailoverRun) {
        if last.kind != Kind::Outage {
            return;
        }
        let plan = self.plan();
        let tags = vec![
            aws_sdk_rds::types::Tag::builder()
                .key(crate::copies::tags::PLAN)
                .value(&plan.name)
                .build(),
            aws_sdk_rds::types::Tag::builder()
                .key("lifeboat:failover-run")
                .value(&last.run_id)
                .build(),
        ];
        for promotion in &last.promotions {
            let Target::AuroraGlobal {
                global,
                target_cluster_arn,
            } = &promotion.target
            else {
                continue;
            };
            let now = OffsetDateTime::now_utc();
            match calls::keep_unplanned_failover_snapshots(
                &self.lifeboat.clients.primary,
                global,
                target_cluster_arn,
                tags.clone(),
            )
            .await
            {
                Ok(kept) if kept.is_empty() => run.step(
                    "keep-snapshot",
                    now,
                    None,
                    true,
                    format!(
                        "{global}: no unplanned-failover snapshot in {}",
                        plan.primary_region
                    ),
                ),
                Ok(kept) => {
                    for (snapshot, copy) in kept {
                        run.step(
                            "keep-snapshot",
                            now,
                            Some(format!(
                                "rds:CopyDBClusterSnapshot SourceDBClusterSnapshotIdentifier={snapshot} TargetDBClusterSnapshotIdentifier={copy} ({})",
                                plan.primary_region
                            )),
                            true,
                            format!("{snapshot} kept as the manual snapshot {copy}"),
                        );
                    }
                }
                Err(error) => run.step(
                    "keep-snapshot",
                    now,
                    None,
                    false,
                    format!("{global}: could not keep the unplanned-failover snapshot: {error}"),
                ),
            }
        }
    }

    fn show(&self, steps: &[Step]) {
        for step in steps {
            tracing::info!(step = %step.step, ok = step.ok, call = ?step.call, detail = %step.detail, "failover step");
            if let Some(progress) = self.options.progress {
                progress(step);
            }
        }
    }

    /// Advances a run step by step, saving it after each step and before showing it, until it
    /// finishes, waits for approval, or the deadline comes.
    async fn drive(&self, mut report: FailoverReport) -> Result<FailoverResult, Error> {
        let poll = self.options.poll;
        let share = self
            .lease
            .time_to_live()
            .saturating_sub(Duration::from_secs(180))
            .max(poll * 2);
        let mut share_end = Instant::now() + share;
        loop {
            match report.failover.phase {
                Phase::Finished => return self.finish(report).await,
                Phase::AwaitingApproval => {
                    return Ok(FailoverResult::AwaitingApproval {
                        run: Box::new(report.failover),
                        saved: self.saved_at(),
                    });
                }
                _ => {}
            }
            if Instant::now() + poll >= share_end {
                self.lease.renew().await?;
                share_end = Instant::now() + share;
            }
            let until = self.deadline.map_or(share_end, |d| d.min(share_end));
            let shown = report.failover.steps.len();
            report.failover = advance_to_next_step(
                &self.lifeboat.clients,
                self.plan(),
                report.failover.clone(),
                until,
                poll,
            )
            .await?;
            self.save(&report).await?;
            self.show(&report.failover.steps[shown..]);
            if report.failover.phase != Phase::Finished
                && self.deadline.is_some_and(|d| Instant::now() + poll >= d)
            {
                return Ok(FailoverResult::InProgress {
                    run: Box::new(report.failover),
                    saved: self.saved_at(),
                });
            }
        }
    }

    /// A finished run: recorded, kept as the last failover, announced, its saved run removed.
    async fn finish(&self, mut report: FailoverReport) -> Result<FailoverResult, Error> {
        let plan = self.plan();
        let recovery = &self.lifeboat.clients.recovery;
        let outcome = if report.failover.failure.is_some() {
            RunOutcome::Failed
        } else {
            RunOutcome::Succeeded
        };
        report.run = report.run.clone().finish(outcome);
        let location = record(recovery, plan, &report).await?;
        let body = serde_json::to_vec_pretty(&report)
            .map_err(|e| Error::other("cannot serialize the failover run", e))?;
        put(
            recovery,
            &plan.state_bucket,
            &last_failover_key(&plan.name),
            body,
            "application/json",
        )
        .await?;
        self.announce(&report, "finished").await;
        let key = current_key(&plan.name);
        if let Err(error) = delete(recovery, &plan.state_bucket, &key).await {
            tracing::warn!(%error, "could not remove the finished failover run");
        }
        Ok(FailoverResult::Finished {
            report: Box::new(report),
            record: location,
        })
    }
}

/// A new run's record, read from the recovery Region only: its promotions, and its DNS changes
/// with the records' current values (what failback puts back).
async fn draft_run(
    lifeboat: &Lifeboat,
    run_id: &str,
    kind: Kind,
    reason: String,
    triggered_at: OffsetDateTime,
) -> Result<FailoverRun, Error> {
    let plan = &lifeboat.plan;
    let failover = failover_of(plan)?;
    let recovery = &lifeboat.clients.recovery;
    let mut current: Vec<RecordSeen> = Vec::new();
    for flip in &failover.dns {
        if let Some(record) = calls::record(
            recovery,
            &flip.hosted_zone_id,
            &flip.record,
            flip.record_type.as_str(),
        )
        .await?
        {
            current.push(record);
        }
    }
    let dns = DnsBatch::unsent(decide::failover_changes(&failover.dns, &current));
    Ok(FailoverRun {
        run_id: run_id.to_owned(),
        plan: plan.name.clone(),
        kind,
        failback: false,
        plan_hash: decide::plan_hash(plan),
        phase: Phase::Promoting,
        triggered_at,
        reason,
        data_loss_estimate_seconds: None,
        approval: None,
        promotions: Target::all(failover)
            .into_iter()
            .map(|target| Promotion {
                target,
                requested_at: None,
                writable_at: None,
            })
            .collect(),
        dns,
        steps: Vec::new(),
        failure: None,
    })
}

/// The data-loss gate for a run: each target's lag, read in the recovery Region.
async fn gate(lifeboat: &Lifeboat, run: &FailoverRun) -> Result<Gate, Error> {
    let failover = failover_of(&lifeboat.plan)?;
    let now = OffsetDateTime::now_utc();
    let mut lags = Vec::new();
    for promotion in &run.promotions {
        let lag = calls::lag_seconds(&lifeboat.clients.recovery, &promotion.target, now).await?;
        lags.push((promotion.target.key(), lag));
    }
    Ok(decide::data_loss_gate(
        run.kind,
        failover.max_data_loss.map(|d| d.0),
        &lags,
    ))
}

/// The dry run: the calls a failover would make now, with reads only.
async fn dry_run(lifeboat: &Lifeboat, kind: Kind) -> Result<FailoverResult, Error> {
    let plan = &lifeboat.plan;
    let now = OffsetDateTime::now_utc();
    let run = draft_run(lifeboat, "dry-run", kind, "dry run".into(), now).await?;
    let gate = match gate(lifeboat, &run).await? {
        Gate::Proceed { estimate_seconds } => format!(
            "proceed (data loss estimate: {})",
            estimate_seconds.map_or("unknown".to_owned(), |s| format!("{s:.1} s"))
        ),
        Gate::Approval { why, .. } => format!("stop for approval: {why}"),
    };
    Ok(FailoverResult::DryRun {
        calls: planned_calls(plan, &run),
        plan_hash: decide::plan_hash(plan),
        gate,
        run: Box::new(run),
    })
}

/// The `failover` Lambda's work for one event: the result as a short JSON answer, the metrics
/// of a finished run on stdout as EMF.
pub async fn handle_failover_event(
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
    deadline: Instant,
) -> Result<serde_json::Value, Error> {
    let trigger = Trigger::from_event(event)?;
    let result = run_failover(
        lifeboat,
        &trigger,
        FailoverOptions::default(),
        Some(deadline),
    )
    .await?;
    Ok(match result {
        FailoverResult::Ignored { reason } => serde_json::json!({ "ignored": reason }),
        FailoverResult::DryRun {
            calls,
            plan_hash,
            gate,
            ..
        } => serde_json::json!({ "dry_run": calls, "plan_hash": plan_hash, "gate": gate }),
        FailoverResult::AwaitingApproval { run, saved } => serde_json::json!({
            "state": "awaiting-approval", "run_id": run.run_id, "plan_hash": run.plan_hash,
            "because": run.approval.map(|a| a.because), "saved": saved,
        }),
        FailoverResult::InProgress { run, saved } => serde_json::json!({
            "state": "in-progress", "run_id": run.run_id, "phase": run.phase, "saved": saved,
        }),
        FailoverResult::Finished { report, record } => {
            crate::metrics::print_emf(&report.metrics(), OffsetDateTime::now_utc());
            serde_json::json!({
                "state": "finished", "run_id": report.run.run_id, "outcome": report.run.outcome,
                "summary": report.summary(), "report": record,
            })
        }
        FailoverResult::Busy { reason } => serde_json::json!({ "state": "busy", "reason": reason }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_failovers_page_has_its_figures_promotions_records_and_next_step() {
        let report: FailoverReport = serde_json::from_value(serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "failover", "plan": "tracking",
            "trigger": "alarm", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "outcome": "failed",
            "failover": {
                "run_id": "20261126T070000Z-0f3a9c2e", "plan": "tracking", "kind": "outage",
                "plan_hash": "abc123", "phase": "finished",
                "triggered_at": "2026-11-26T07:00:00Z", "reason": "2 of 2 alarms in ALARM",
                "data_loss_estimate_seconds": 4.5,
                "promotions": [{"target": {"kind": "rds-replica", "id": "orders-dr"},
           "requested_at": "2026-11-26T07:00:05Z", "writable_at": "2026-11-26T07:02:05Z"}],
                "dns": [{"hosted_zone_id": "Z1", "changes": [{"hosted_zone_id": "Z1",
                    "name": "api.example.com.", "type": "CNAME", "ttl": 60,
                    "previous": {"hosted_zone_id": "Z1", "name": "api.example.com.", "type": "CNAME",
            "ttl": 60, "values": ["primary.example.com"]},
                    "values": ["dr.example.com"]}],
                    "sent_at": "2026-11-26T07:02:10Z"}],
                "steps": [
                    {"step": "promote", "at": "2026-11-26T07:00:05Z", "call": "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr", "ok": true, "detail": "promoting"},
                    {"step": "dns-check", "at": "2026-11-26T07:17:10Z", "ok": false, "detail": "api.example.com. reads primary.example.com"}
                ],
                "failure": "api.example.com. reads primary.example.com"
            }
        }))
        .unwrap();
        let html = report.to_html();
        for part in [
            "<span class=\"badge bad\">failed</span>",
            "<div class=\"value\">not in sync</div>",
            "<div class=\"value\">4.5 s</div>",
            "<div class=\"value\" style=\"color:#1a7f37\">1 of 1</div>",
            "<td>2 min</td>",
            "<td>primary.example.com</td><td>dr.example.com</td>",
            "(+17 min 5 s)",
            "<code>rds:PromoteReadReplica DBInstanceIdentifier=orders-dr</code>",
            "step dns-check failed",
            "flip the records by hand (docs/runbook.md)",
        ] {
            assert!(html.contains(part), "{part}:\n{html}");
        }
    }
}
