//! The AWS Backup copy task: `copy-backups`.

use super::{Finished, RunOptions, TaskReport, answer, run_recorded};
use crate::backup::{BackupReport, JobState, Scope, TASK, copy_backups};
use crate::context::Lifeboat;
use crate::error::Error;
use crate::record::RunHeader;
use crate::trigger::Trigger;

pub const COPY_BACKUPS: &str = TASK;

impl TaskReport for BackupReport {
    fn failed(header: RunHeader, error: &Error) -> Self {
        BackupReport::failed(header, error)
    }
}

/// Runs the backup copy for a trigger, under the `copy-backups` lease (AWS Backup's copy job
/// quota is per account and destination Region, like the lease), then writes the record.
///
/// - the schedule and the CLI reconcile every entry;
/// - "Backup Job State Change" COMPLETED in the primary Region reconciles the entries that copy
///   from its vault, so the new recovery point is copied now rather than tomorrow;
/// - "Copy Job State Change" FAILED / PARTIAL / ABORTED reconciles the entries of that vault and
///   destination: the run reports the failure with AWS's message and starts the next attempt.
///   Other states ask for nothing (the job is under way, or done).
pub async fn run_copy_backups(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: RunOptions,
) -> Result<Finished<BackupReport>, Error> {
    let plan = &lifeboat.plan;
    let ignore = |reason: String| Ok(Finished::Ignored { reason });
    let scope = match trigger {
        Trigger::Schedule { .. } | Trigger::Manual => Scope::Everything,
        Trigger::BackupJobCompleted { region, .. } | Trigger::CopyJobChanged { region, .. }
            if region != plan.primary_region.as_str() =>
        {
            return ignore(format!(
                "the event is from {region}; the plan copies from {}",
                plan.primary_region
            ));
        }
        Trigger::BackupJobCompleted { vault_arn, .. } => Scope::Vault {
            name: vault_name(vault_arn),
            destination: None,
        },
        Trigger::CopyJobChanged {
            job_id,
            state,
            source_vault_arn,
            destination_vault_arn,
            ..
        } => {
            if !JobState::parse(state).is_failure() {
                return ignore(format!(
                    "copy job {job_id} is {state}: nothing to do (the next run sees how it ends)"
                ));
            }
            Scope::Vault {
                name: vault_name(source_vault_arn),
                destination: Some(destination_vault_arn.clone()),
            }
        }
        Trigger::SnapshotCreated { .. } => {
            return ignore(format!(
                "{} is an RDS snapshot event: copy-snapshots acts on it",
                trigger.describe()
            ));
        }
        Trigger::VerificationResourceChanged { .. } | Trigger::RestoreJobCompleted { .. } => {
            return ignore(format!("{}: verify-restore acts on it", trigger.describe()));
        }
        Trigger::AlarmChanged { .. } | Trigger::Runbook(_) => {
            return ignore(format!("{}: the failover acts on it", trigger.describe()));
        }
        Trigger::Ignored { reason } => return ignore(reason.clone()),
    };
    if let Scope::Vault { name, destination } = &scope
        && !plan.copy.backup.iter().any(|e| {
            e.source_vault == *name
                && destination
                    .as_deref()
                    .is_none_or(|d| d == e.destination_vault.as_str())
        })
    {
        return ignore(format!(
            "no [[copy.backup]] entry copies backup vault {name}{}",
            destination
                .as_deref()
                .map_or(String::new(), |d| format!(" to {d}"))
        ));
    }
    if let Some(reason) = super::paused_schedule(lifeboat, trigger).await? {
        return ignore(reason);
    }
    let clients = &lifeboat.clients;
    run_recorded(
        lifeboat,
        COPY_BACKUPS,
        trigger,
        options,
        async |header, lease| copy_backups(clients, plan, &scope, header, lease).await,
    )
    .await
}

/// The name at the end of a backup vault ARN (`arn:aws:backup:<region>:<account>:backup-vault:<name>`).
fn vault_name(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_owned()
}

/// The `copy-backups` Lambda's work for one EventBridge event, like
/// [`super::handle_copy_snapshots_event`]'s: a well-formed event it has nothing to do for is
/// answered `{"ignored": reason}`; a malformed AWS Backup event is an `InvalidEvent` error.
pub async fn handle_copy_backups_event(
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let trigger = Trigger::from_event(event)?;
    Ok(answer(
        run_copy_backups(lifeboat, &trigger, RunOptions::default()).await?,
    ))
}
