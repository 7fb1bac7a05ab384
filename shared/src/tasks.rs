//! Tasks as the Lambda functions and the CLI run them: trigger in, lock, work, record out.
//! The functions and the CLI are thin wrappers around these.

use time::OffsetDateTime;

use crate::context::Lifeboat;
use crate::copy::{CopyReport, Scope, copy_snapshots};
use crate::error::Error;
use crate::record::{RecordLocation, RunHeader, record};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::Trigger;

pub const COPY_SNAPSHOTS: &str = "copy-snapshots";

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
    let scope = match trigger {
        Trigger::Schedule { .. } | Trigger::Manual => Scope::Everything,
        Trigger::SnapshotCreated { region, .. }
            if region != lifeboat.plan.primary_region.as_str() =>
        {
            return Ok(Finished::Ignored {
                reason: format!(
                    "snapshot is in {region}; the plan copies from {}",
                    lifeboat.plan.primary_region
                ),
            });
        }
        Trigger::SnapshotCreated {
            kind,
            snapshot_id,
            region,
            ..
        } => Scope::SnapshotOf {
            kind: *kind,
            snapshot_id: snapshot_id.clone(),
            region: region.clone(),
        },
        Trigger::Ignored { reason } => {
            return Ok(Finished::Ignored {
                reason: reason.clone(),
            });
        }
    };
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let header = RunHeader::start(
        COPY_SNAPSHOTS,
        plan,
        trigger.describe(),
        options.dry_run,
        OffsetDateTime::now_utc(),
    );
    tracing::info!(run_id = %header.run_id, trigger = %header.trigger, dry_run = options.dry_run, "copy run starting");

    if options.dry_run {
        let report = copy_snapshots(&lifeboat.clients, plan, &scope, header, None).await?;
        return Ok(Finished::Ran {
            report,
            record: None,
        });
    }
    let account_id = lifeboat.clients.account_id().await?;
    let lease = Lease::acquire(
        recovery,
        &plan.state_bucket,
        &lease_name(&account_id, &plan.recovery_region, COPY_SNAPSHOTS),
        &header.run_id,
        options.lease,
    )
    .await?;
    let result = copy_snapshots(
        &lifeboat.clients,
        plan,
        &scope,
        header.clone(),
        Some(&lease),
    )
    .await;
    // Release whatever happened; if this fails the lease expires by itself. A lease that
    // another run took over after it expired is left to that run.
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "could not release the copy lease");
    }
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            // A run that could not decide anything still leaves a record and an event, so the
            // failure reaches whoever watches the bus, not only the function's logs.
            let failed = CopyReport::failed(header, &error);
            if let Err(record_error) = record(recovery, plan, &failed).await {
                tracing::warn!(error = %record_error, "could not record the failed run");
            }
            return Err(error);
        }
    };
    let location = record(recovery, plan, &report).await?;
    tracing::info!(
        run_id = %report.run.run_id,
        outcome = %report.run.outcome.map_or("unfinished".to_owned(), |o| o.to_string()),
        report = %location.json,
        "copy run finished"
    );
    Ok(Finished::Ran {
        report,
        record: Some(location),
    })
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
    match run_copy_snapshots(lifeboat, &trigger, RunOptions::default()).await? {
        Finished::Ignored { reason } => {
            tracing::info!(%reason, "event ignored");
            Ok(serde_json::json!({ "ignored": reason }))
        }
        Finished::Ran { report, record } => {
            let timestamp_ms = (report.run.started_at.unix_timestamp_nanos() / 1_000_000) as i64;
            for metrics in report.metrics() {
                println!("{}", metrics.to_emf(timestamp_ms));
            }
            Ok(serde_json::json!({
                "run_id": report.run.run_id,
                "outcome": report.run.outcome,
                "summary": crate::record::Report::summary(&report),
                "report": record,
            }))
        }
    }
}
