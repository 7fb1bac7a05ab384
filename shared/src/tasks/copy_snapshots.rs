//! The snapshot copy task: `copy-snapshots`.

use super::{Finished, RunOptions, TaskReport, answer, run_recorded};
use crate::context::Lifeboat;
use crate::copy::{Asked, CopyReport, asked, copy_snapshots};
use crate::error::Error;
use crate::record::RunHeader;
use crate::trigger::Trigger;

pub const COPY_SNAPSHOTS: &str = crate::copy::TASK;

impl TaskReport for CopyReport {
    fn failed(header: RunHeader, error: &Error) -> Self {
        CopyReport::failed(header, error)
    }
}

/// Runs the snapshot copy for a trigger: holds the copy lease for the decision and the calls
/// (so concurrent runs cannot overrun the copy quota), then writes the record.
///
/// The lease is `locks/<account-id>/<recovery-region>/copy-snapshots.json` in the state bucket:
/// the copy quotas it protects are per account and destination Region, so plans of one account
/// sharing a bucket take turns, and another account's runs are not held up.
pub async fn run_copy_snapshots(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: RunOptions,
) -> Result<Finished<CopyReport>, Error> {
    let scope = match asked(trigger, &lifeboat.plan) {
        Asked::Copy(scope) => scope,
        Asked::Ignored { reason } => return Ok(Finished::Ignored { reason }),
    };
    if let Some(reason) = super::paused_schedule(lifeboat, trigger).await? {
        return Ok(Finished::Ignored { reason });
    }
    let clients = &lifeboat.clients;
    let plan = &lifeboat.plan;
    run_recorded(
        lifeboat,
        COPY_SNAPSHOTS,
        trigger,
        options,
        async |header, lease| copy_snapshots(clients, plan, &scope, header, lease).await,
    )
    .await
}

/// The `copy-snapshots` Lambda's work for one EventBridge event: read the trigger, run, write the
/// EMF metrics to stdout, and answer with a short summary. A well-formed event this function has
/// nothing to do for (another source or detail-type, another RDS event) is answered
/// `{"ignored": reason}`: a success, so Lambda neither retries it nor sends it to the failure
/// queue. A malformed event of its own kind is an error: it shows in the function's error metric,
/// Lambda retries it twice like any error of an asynchronous invocation (its `errorType`
/// `Permanent.InvalidEvent` does not stop that), and then it lands in the failure destination.
pub async fn handle_copy_snapshots_event(
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let trigger = Trigger::from_event(event)?;
    Ok(answer(
        run_copy_snapshots(lifeboat, &trigger, RunOptions::default()).await?,
    ))
}
