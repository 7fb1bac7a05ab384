//! Tasks as the Lambda functions and the CLI run them: trigger in, lease, work, record out.
//! The functions and the CLI are thin wrappers around these; this module holds what every task
//! run does around its own work, and one file per task says what the work is.

mod copy_backups;
mod copy_snapshots;
mod failover;
mod verify_restore;

use time::OffsetDateTime;

pub use copy_backups::{COPY_BACKUPS, handle_copy_backups_event, run_copy_backups};
pub use copy_snapshots::{COPY_SNAPSHOTS, handle_copy_snapshots_event, run_copy_snapshots};
pub use failover::{
    FAILOVER, FailoverOptions, FailoverResult, handle_failover_event, run_failover,
};
pub use verify_restore::{
    JobResult, VERIFY_RESTORE, Verifications, VerifyOptions, handle_verify_restore_event,
    run_verify_restore,
};

use crate::context::Lifeboat;
use crate::error::Error;
use crate::record::{RecordLocation, Report, RunHeader, record};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::Trigger;

/// The tasks a Lambda function runs, one per function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    CopySnapshots,
    CopyBackups,
    VerifyRestore,
    Failover,
}

/// A schedule tick while a failover has paused the plan's copy and verify schedules (their source
/// Region is down): why the tick does nothing. Events and the CLI are not paused.
async fn paused_schedule(lifeboat: &Lifeboat, trigger: &Trigger) -> Result<Option<String>, Error> {
    if !matches!(trigger, Trigger::Schedule { .. }) {
        return Ok(None);
    }
    Ok(
        crate::pause::paused(&lifeboat.clients.recovery, &lifeboat.plan)
            .await?
            .map(|p| p.reason()),
    )
}

/// How long an invocation is given when its deadline is not known: 14 of Lambda's 15 minutes.
pub const DEFAULT_INVOCATION_TIME: std::time::Duration = std::time::Duration::from_secs(14 * 60);

/// One EventBridge event, handled by `task` as its Lambda function does, with
/// [`DEFAULT_INVOCATION_TIME`] to work in.
pub async fn handle_event(
    task: Task,
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let deadline = tokio::time::Instant::now() + DEFAULT_INVOCATION_TIME;
    handle_event_until(task, lifeboat, event, deadline).await
}

/// [`handle_event`] for an invocation that must be done by `deadline` (the Lambda's remaining
/// time less a margin); only the verification, which waits on restores, needs it.
pub async fn handle_event_until(
    task: Task,
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
    deadline: tokio::time::Instant,
) -> Result<serde_json::Value, Error> {
    match task {
        Task::CopySnapshots => handle_copy_snapshots_event(lifeboat, event).await,
        Task::CopyBackups => handle_copy_backups_event(lifeboat, event).await,
        // Boxed: the verification future is deep enough to overflow the layout query.
        Task::VerifyRestore => {
            Box::pin(handle_verify_restore_event(lifeboat, event, deadline)).await
        }
        Task::Failover => Box::pin(handle_failover_event(lifeboat, event, deadline)).await,
    }
}

/// The result of a task run.
#[derive(Debug)]
pub enum Finished<R> {
    /// The run happened; where its record went (`None` for a dry run).
    Ran {
        report: R,
        record: Option<RecordLocation>,
    },
    /// The trigger asked for nothing.
    Ignored { reason: String },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub dry_run: bool,
    pub lease: LeaseTiming,
}

/// A task's report, as the run around it needs it.
pub trait TaskReport: Report + Sized {
    /// The report of a run that failed as a whole, before it could decide anything.
    fn failed(header: RunHeader, error: &Error) -> Self;
}

/// Runs one task's `work` the way every run goes: a header, the task's lease (keyed by account
/// and recovery Region, as AWS's copy quotas are) for the decision and the calls, the lease
/// released whatever happened, then the record. A run that fails as a whole still leaves a
/// `failed` record and event, so the failure reaches whoever watches the bus, not only the logs.
/// A dry run takes no lease and records nothing.
async fn run_recorded<R, W>(
    lifeboat: &Lifeboat,
    task: &'static str,
    trigger: &Trigger,
    options: RunOptions,
    work: W,
) -> Result<Finished<R>, Error>
where
    R: TaskReport,
    W: AsyncFnOnce(RunHeader, Option<&Lease>) -> Result<R, Error>,
{
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let header = RunHeader::start(
        task,
        plan,
        trigger.describe(),
        options.dry_run,
        OffsetDateTime::now_utc(),
    );
    tracing::info!(task, run_id = %header.run_id, trigger = %header.trigger, dry_run = options.dry_run, "run starting");
    if options.dry_run {
        let report = work(header, None).await?;
        return Ok(Finished::Ran {
            report,
            record: None,
        });
    }
    let account_id = lifeboat.clients.account_id().await?;
    let lease = Lease::acquire(
        recovery,
        &plan.state_bucket,
        &lease_name(&account_id, &plan.recovery_region, task),
        &header.run_id,
        options.lease,
    )
    .await?;
    let result = work(header.clone(), Some(&lease)).await;
    // Release whatever happened; if this fails the lease expires by itself. A lease that
    // another run took over after it expired is left to that run.
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "could not release the lease");
    }
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            if let Err(record_error) = record(recovery, plan, &R::failed(header, &error)).await {
                tracing::warn!(error = %record_error, "could not record the failed run");
            }
            return Err(error);
        }
    };
    let location = record(recovery, plan, &report).await?;
    let run = report.header();
    tracing::info!(
        task,
        run_id = %run.run_id,
        outcome = %run.outcome.map_or("unfinished".to_owned(), |o| o.to_string()),
        report = %location.json,
        "run finished"
    );
    Ok(Finished::Ran {
        report,
        record: Some(location),
    })
}

/// A Lambda's answer to one EventBridge event, once its task ran (or ignored it): the EMF metrics
/// go to stdout, and the answer is a short summary, or `{"ignored": reason}` — a success, so
/// Lambda neither retries the event nor sends it to the failure queue.
fn answer<R: Report>(finished: Finished<R>) -> serde_json::Value {
    match finished {
        Finished::Ignored { reason } => {
            tracing::info!(%reason, "event ignored");
            serde_json::json!({ "ignored": reason })
        }
        Finished::Ran { report, record } => {
            let run = report.header();
            crate::metrics::print_emf(&report.metrics(), run.started_at);
            serde_json::json!({
                "run_id": run.run_id,
                "outcome": run.outcome,
                "summary": report.summary(),
                "report": record,
            })
        }
    }
}
