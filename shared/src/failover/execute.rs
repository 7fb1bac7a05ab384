//! One invocation's work on a plan's failover, under the plan's failover lease: the run in
//! progress carried on, or a new one started (from the alarms read back, or the runbook's
//! `execute`), approved or failed back; each run saved after every step
//! (`failover/<plan>/current.json`) until it finishes, waits for approval, or the deadline comes.
//! The task around it ([`crate::tasks::run_failover`]) takes the lease and records a finished
//! run; [`close`] then keeps it as the plan's last failover.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::advance::advance_to_next_step;
use super::decide::{self, Gate, Start, Work, failover_of};
use super::model::{Kind, RecordSeen, Target};
use super::report::FailoverReport;
use super::run::{Approval, DnsBatch, FailoverRun, Phase, Promotion, Step, StepKind};
use super::{FAILOVER_EVENT, POLL_INTERVAL, TASK, calls};
use crate::bucket::{self, keys};
use crate::context::Lifeboat;
use crate::error::Error;
use crate::plan::{FailoverMode, Plan};
use crate::record::{RecordLocation, RunHeader, put_event};
use crate::state::{Lease, LeaseTiming};
use crate::trigger::Trigger;

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

/// What an invocation's work under the lease came to.
#[derive(Debug)]
pub enum Worked {
    /// The run came to its end: the task records it, then [`close`]s it.
    Ended(Box<FailoverReport>),
    /// Anything else, as the invocation answers it.
    Answer(FailoverResult),
}

/// The work a trigger asked for ([`decide::asked`]), done under the plan's failover `lease`,
/// each run until it finishes or until `deadline` (`None`: to the end, as the CLI does).
pub async fn work(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    work: Work,
    lease: &Lease,
    options: FailoverOptions,
    deadline: Option<Instant>,
) -> Result<Worked, Error> {
    let invocation = Invocation {
        lifeboat,
        trigger,
        options,
        deadline,
        lease,
    };
    invocation.work(work).await
}

/// After a finished run is recorded: kept as the plan's last failover (its start is the
/// cooldown's, its DNS values are what failback puts back), announced, its saved run removed.
pub async fn close(lifeboat: &Lifeboat, report: &FailoverReport) -> Result<(), Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let last = keys::failover_last(&plan.name);
    bucket::put_json(
        recovery,
        &plan.state_bucket,
        &last,
        report,
        "the failover run",
    )
    .await?;
    announce(lifeboat, report, "finished").await;
    let current = keys::failover_current(&plan.name);
    if let Err(error) = bucket::delete(recovery, &plan.state_bucket, &current).await {
        tracing::warn!(%error, "could not remove the finished failover run");
    }
    Ok(())
}

/// Puts the failover's event (started, awaiting approval, finished) on Lifeboat's bus; a
/// failure to is logged, not the run's.
async fn announce(lifeboat: &Lifeboat, report: &FailoverReport, status: &str) {
    let run = &report.failover;
    let detail = serde_json::json!({
        "run_id": report.header.run_id,
        "plan": report.header.plan,
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
        &lifeboat.clients.recovery,
        &lifeboat.plan,
        FAILOVER_EVENT,
        &detail,
    )
    .await
    {
        tracing::warn!(%error, status, "could not put the failover event");
    }
}

struct Invocation<'a> {
    lifeboat: &'a Lifeboat,
    trigger: &'a Trigger,
    options: FailoverOptions,
    deadline: Option<Instant>,
    lease: &'a Lease,
}

impl Invocation<'_> {
    fn plan(&self) -> &Plan {
        &self.lifeboat.plan
    }

    fn saved_at(&self) -> String {
        bucket::location(
            &self.plan().state_bucket,
            &keys::failover_current(&self.plan().name),
        )
    }

    async fn load(&self, key: &str) -> Result<Option<FailoverReport>, Error> {
        let plan = self.plan();
        bucket::get_json(
            &self.lifeboat.clients.recovery,
            &plan.state_bucket,
            key,
            "a failover run",
        )
        .await
    }

    async fn save(&self, report: &FailoverReport) -> Result<(), Error> {
        let plan = self.plan();
        bucket::put_json(
            &self.lifeboat.clients.recovery,
            &plan.state_bucket,
            &keys::failover_current(&plan.name),
            report,
            "the failover run",
        )
        .await
    }

    /// A run in progress is carried on whatever the trigger, but an approval, which names its
    /// run: a duplicate trigger starts no second failover.
    async fn work(&self, work: Work) -> Result<Worked, Error> {
        let current = self
            .load(&keys::failover_current(&self.plan().name))
            .await?;
        match (work, current) {
            (Work::Approve { run_id, plan_hash }, current) => {
                self.approve(current, &run_id, &plan_hash).await
            }
            (_, Some(report)) => self.carry_on(report).await,
            (Work::Execute { kind }, None) => self.execute(kind).await,
            (Work::Failback, None) => self.failback().await,
            (Work::Alarm { at }, None) => self.evaluate(at).await,
            (Work::Tick, None) => self.evaluate(None).await,
        }
    }

    /// `approve`: the waiting run `run_id` goes on if the plan is the one it was made from.
    async fn approve(
        &self,
        current: Option<FailoverReport>,
        run_id: &str,
        plan_hash: &str,
    ) -> Result<Worked, Error> {
        let Some(mut report) = current else {
            return Err(Error::Refused(format!(
                "no failover run waits for approval (asked to approve {run_id})"
            )));
        };
        let run = &mut report.failover;
        if run.run_id != run_id || run.phase != Phase::AwaitingApproval {
            return Err(Error::Refused(format!(
                "run {run_id} does not wait for approval (the run in progress is {}, {:?})",
                run.run_id, run.phase
            )));
        }
        let hash = decide::plan_hash(self.plan());
        if plan_hash != hash || run.plan_hash != hash {
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
            StepKind::Approved,
            now,
            None,
            true,
            format!("approved with plan hash {hash}"),
        );
        self.save(&report).await?;
        self.show(&report.failover.steps[report.failover.steps.len() - 1..]);
        announce(self.lifeboat, &report, "started").await;
        self.drive(report).await
    }

    async fn carry_on(&self, report: FailoverReport) -> Result<Worked, Error> {
        tracing::info!(run_id = %report.header.run_id, "carrying on the failover in progress");
        self.drive(report).await
    }

    /// The runbook's `execute`: a run now.
    async fn execute(&self, kind: Kind) -> Result<Worked, Error> {
        let report = self
            .new_run(
                kind,
                "an operator's runbook call (execute)".into(),
                OffsetDateTime::now_utc(),
            )
            .await?;
        // In approval mode every failover waits for `approve` with the plan hash, the
        // operator's own included: the approval pins the plan that was looked at.
        let approval = failover_of(self.plan())?.mode == FailoverMode::Approval;
        self.start(report, approval).await
    }

    /// The alarms read back: start a failover, or say why not.
    async fn evaluate(&self, at: Option<OffsetDateTime>) -> Result<Worked, Error> {
        let plan = self.plan();
        let failover = failover_of(plan)?;
        let recovery = &self.lifeboat.clients.recovery;
        let alarms = calls::alarms(recovery, &failover.alarms).await?;
        let last = self.load(&keys::failover_last(&plan.name)).await?;
        // The cooldown counts from the last failover's start (not its trigger's time: an alarm
        // event can be old when it arrives).
        let last_failover = last
            .filter(|l| !l.failover.failback)
            .map(|l| l.header.started_at);
        let now = OffsetDateTime::now_utc();
        match decide::should_start(failover, &alarms, last_failover, now) {
            Start::Now { reason } => {
                let report = self
                    .new_run(Kind::Outage, reason, at.unwrap_or(now))
                    .await?;
                let approval = failover.mode == FailoverMode::Approval;
                self.start(report, approval).await
            }
            Start::Later { reason, .. } | Start::No { reason } => {
                Ok(Worked::Answer(FailoverResult::Ignored { reason }))
            }
        }
    }

    /// A new run of the plan: its promotions, and its DNS changes from the records as they are.
    async fn new_run(
        &self,
        kind: Kind,
        reason: String,
        triggered_at: OffsetDateTime,
    ) -> Result<FailoverReport, Error> {
        let header = RunHeader::start(
            TASK,
            self.plan(),
            self.trigger.describe(),
            false,
            OffsetDateTime::now_utc(),
        );
        let failover = draft_run(self.lifeboat, &header.run_id, kind, reason, triggered_at).await?;
        Ok(FailoverReport { header, failover })
    }

    /// Starts a new run: the data-loss gate for an outage, then either waits for approval or
    /// goes on.
    async fn start(
        &self,
        mut report: FailoverReport,
        approval_mode: bool,
    ) -> Result<Worked, Error> {
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
        run.step(StepKind::Decide, now, None, true, run.reason.clone());
        let because = match (gate_why, approval_mode) {
            (Some(why), _) => Some(format!("the data-loss gate: {why}")),
            (None, true) => Some("the plan's failover mode is approval".to_owned()),
            (None, false) => None,
        };
        if let Some(because) = because {
            run.phase = Phase::AwaitingApproval;
            run.step(
                StepKind::Approval,
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
            announce(self.lifeboat, &report, "awaiting-approval").await;
            return Ok(Worked::Answer(FailoverResult::AwaitingApproval {
                run: Box::new(report.failover),
                saved: self.saved_at(),
            }));
        }
        self.save(&report).await?;
        self.show(&report.failover.steps);
        announce(self.lifeboat, &report, "started").await;
        self.drive(report).await
    }

    /// Failback: DNS back to what the last failover found, the schedules resumed.
    async fn failback(&self) -> Result<Worked, Error> {
        let plan = self.plan();
        let failover = failover_of(plan)?;
        let Some(last) = self.load(&keys::failover_last(&plan.name)).await? else {
            return Err(Error::Refused(
                "no finished failover to fail back from".into(),
            ));
        };
        if last.failover.failback {
            return Err(Error::Refused(format!(
                "the last run ({}) was already a failback",
                last.header.run_id
            )));
        }
        let recorded: Vec<_> = last
            .failover
            .dns
            .iter()
            .flat_map(|b| b.changes.clone())
            .collect();
        let now = OffsetDateTime::now_utc();
        let header = RunHeader::start(TASK, plan, self.trigger.describe(), false, now);
        let dns = DnsBatch::unsent(decide::failback_changes(&failover.dns, &recorded));
        let mut run = FailoverRun {
            run_id: header.run_id.clone(),
            plan: plan.name.clone(),
            kind: Kind::Planned,
            failback: true,
            plan_hash: decide::plan_hash(plan),
            phase: Phase::FlippingDns,
            triggered_at: now,
            reason: format!("failback from failover run {}", last.header.run_id),
            data_loss_estimate_seconds: None,
            approval: None,
            promotions: Vec::new(),
            dns,
            steps: Vec::new(),
            failure: None,
        };
        run.step(StepKind::Decide, now, None, true, run.reason.clone());
        self.keep_snapshots(&last.failover, &mut run).await;
        let report = FailoverReport {
            header,
            failover: run,
        };
        self.save(&report).await?;
        self.show(&report.failover.steps);
        announce(self.lifeboat, &report, "started").await;
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
                &plan.name,
                &last.run_id,
            )
            .await
            {
                Ok(kept) if kept.is_empty() => run.step(
                    StepKind::KeepSnapshot,
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
                            StepKind::KeepSnapshot,
                            now,
                            Some(calls::keep_snapshot_call(
                                &snapshot,
                                &copy,
                                plan.primary_region.as_str(),
                            )),
                            true,
                            format!("{snapshot} kept as the manual snapshot {copy}"),
                        );
                    }
                }
                Err(error) => run.step(
                    StepKind::KeepSnapshot,
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
    async fn drive(&self, mut report: FailoverReport) -> Result<Worked, Error> {
        let poll = self.options.poll;
        let share = self
            .lease
            .time_to_live()
            .saturating_sub(Duration::from_secs(180))
            .max(poll * 2);
        let mut share_end = Instant::now() + share;
        loop {
            match report.failover.phase {
                Phase::Finished => return Ok(Worked::Ended(Box::new(report.finished()))),
                Phase::AwaitingApproval => {
                    return Ok(Worked::Answer(FailoverResult::AwaitingApproval {
                        run: Box::new(report.failover),
                        saved: self.saved_at(),
                    }));
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
                return Ok(Worked::Answer(FailoverResult::InProgress {
                    run: Box::new(report.failover),
                    saved: self.saved_at(),
                }));
            }
        }
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
        if let Some(record) = calls::read_dns_record(
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
pub async fn dry_run(lifeboat: &Lifeboat, kind: Kind) -> Result<FailoverResult, Error> {
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
        calls: calls::planned_calls(plan, &run),
        plan_hash: decide::plan_hash(plan),
        gate,
        run: Box::new(run),
    })
}
