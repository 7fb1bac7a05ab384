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

use tokio::time::Instant;

use crate::clock::now;
use crate::context::Lifeboat;
use crate::error::Error;
use crate::failover::{self, Asked, FailoverReport, TASK, Worked};
use crate::metrics::print_emf;
use crate::record::{Report, record};
use crate::state::{Lease, lease_name};
use crate::trigger::Trigger;

pub use crate::failover::{FailoverOptions, FailoverResult};

pub const FAILOVER: &str = TASK;

/// Runs the failover for a trigger (see the module's documentation), each run until it finishes
/// or until `deadline` (`None`: to the end, as the CLI does).
pub async fn run_failover(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: FailoverOptions,
    deadline: Option<Instant>,
) -> Result<FailoverResult, Error> {
    let plan = &lifeboat.plan;
    let work = match failover::asked(trigger, plan)? {
        Asked::Ignored { reason } => return Ok(FailoverResult::Ignored { reason }),
        Asked::DryRun { kind } => return failover::dry_run(lifeboat, kind).await,
        Asked::Work(work) => work,
    };
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
    let result = match failover::work(lifeboat, trigger, work, &lease, options, deadline).await {
        Ok(Worked::Ended(report)) => record_ended(lifeboat, *report).await,
        Ok(Worked::Answer(result)) => Ok(result),
        Err(error) => Err(error),
    };
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "could not release the failover lease");
    }
    result
}

/// A run that came to its end, still under the lease: recorded like every run, then kept as the
/// plan's last failover, announced, and its saved run removed.
async fn record_ended(
    lifeboat: &Lifeboat,
    report: FailoverReport,
) -> Result<FailoverResult, Error> {
    let location = record(&lifeboat.clients.recovery, &lifeboat.plan, &report).await?;
    failover::close(lifeboat, &report).await?;
    Ok(FailoverResult::Finished {
        report: Box::new(report),
        record: location,
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
            print_emf(&report.metrics(), now());
            serde_json::json!({
                "state": "finished", "run_id": report.header.run_id,
                "outcome": report.header.outcome, "summary": report.summary(), "report": record,
            })
        }
        FailoverResult::Busy { reason } => serde_json::json!({ "state": "busy", "reason": reason }),
    })
}
