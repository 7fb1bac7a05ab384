//! The backup copy task's AWS Backup calls. All of them go to the primary Region: that is where
//! the source vault is, where `StartCopyJob` must be called, and where AWS Backup lists the copy
//! jobs it started.

use aws_sdk_backup::types::{
    CopyJob as SdkCopyJob, CopyJobState, Lifecycle, RecoveryPointByBackupVault,
};
use aws_smithy_types::DateTime;
use futures::{StreamExt, stream};
use time::OffsetDateTime;

use super::decide::JobOrder;
use super::model::{CopyJob, JobState, RecoveryPoint, blames_the_role};
use super::{Item, Outcome};
use crate::aws::{RegionalClients, to_time};
use crate::error::Error;
use crate::plan::Region;
use crate::state::Lease;

/// How many `StartCopyJob` calls run at once.
const CONCURRENT_CALLS: usize = 8;

fn to_sdk_time(t: OffsetDateTime) -> DateTime {
    DateTime::from_secs(t.unix_timestamp())
}

/// The recovery points of a vault created after `since`, every page.
pub(super) async fn recovery_points(
    primary: &RegionalClients,
    vault: &str,
    since: OffsetDateTime,
) -> Result<Vec<RecoveryPoint>, Error> {
    let found: Vec<RecoveryPointByBackupVault> = primary
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .by_created_after(to_sdk_time(since))
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Error::from_sdk(
                e,
                "backup:ListRecoveryPointsByBackupVault",
                &format!("backup vault {vault}"),
                &primary.region,
            )
        })?;
    Ok(found
        .iter()
        .map(|p| RecoveryPoint {
            arn: p.recovery_point_arn().unwrap_or_default().to_owned(),
            resource_arn: p.resource_arn().unwrap_or_default().to_owned(),
            resource_type: p.resource_type().unwrap_or_default().to_owned(),
            status: p
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            created: to_time(p.creation_date()),
            cold_from: to_time(
                p.calculated_lifecycle()
                    .and_then(|l| l.move_to_cold_storage_at()),
            ),
        })
        .collect())
}

/// The account's copy jobs started in the primary Region: those created after `since`, or, with
/// `state`, every job in that state.
pub(super) async fn copy_jobs(
    primary: &RegionalClients,
    since: Option<OffsetDateTime>,
    state: Option<JobState>,
) -> Result<Vec<CopyJob>, Error> {
    let found: Vec<SdkCopyJob> = primary
        .backup
        .list_copy_jobs()
        .set_by_created_after(since.map(to_sdk_time))
        .set_by_state(state.map(|s| CopyJobState::from(s.to_string().as_str())))
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| Error::from_sdk(e, "backup:ListCopyJobs", "copy jobs", &primary.region))?;
    Ok(found
        .iter()
        .map(|j| CopyJob {
            id: j.copy_job_id().unwrap_or_default().to_owned(),
            source_recovery_point_arn: j.source_recovery_point_arn().unwrap_or_default().to_owned(),
            destination_vault_arn: j
                .destination_backup_vault_arn()
                .unwrap_or_default()
                .to_owned(),
            resource_arn: j.resource_arn().unwrap_or_default().to_owned(),
            state: JobState::parse(j.state().map(|s| s.as_str()).unwrap_or_default()),
            status_message: j.status_message().map(str::to_owned),
            created: to_time(j.creation_date()),
        })
        .collect())
}

/// How many of the account's copy jobs hold a place into `destination` now (CREATED or
/// RUNNING), whoever started them.
pub(super) async fn jobs_in_flight_into(
    primary: &RegionalClients,
    destination: &Region,
) -> Result<u32, Error> {
    let mut count = 0;
    for state in [JobState::Created, JobState::Running] {
        count += copy_jobs(primary, None, Some(state))
            .await?
            .iter()
            .filter(|j| vault_region(&j.destination_vault_arn) == Some(destination.as_str()))
            .count() as u32;
    }
    Ok(count)
}

/// The Region of a backup vault ARN (`arn:aws:backup:<region>:<account>:backup-vault:<name>`).
fn vault_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// Starts the ordered copy jobs concurrently; each ends as one report item.
/// No job starts without enough of the run's lease left (see `Lease::ensure_time_for_a_call`):
/// a run that lost its lease to another run starts nothing more and defers the rest.
pub(super) async fn start_jobs(
    primary: &RegionalClients,
    orders: Vec<JobOrder>,
    lease: Option<&Lease>,
) -> Vec<Item> {
    stream::iter(orders)
        .map(|order| async move {
            let item = Item::new(order.entry, Outcome::Started, String::new()).of(&order.recovery_point);
            if let Some(lease) = lease
                && let Err(error) = lease.ensure_time_for_a_call().await
            {
                tracing::warn!(recovery_point = %order.recovery_point.arn, %error, "copy job not started: the lease is not ours");
                return Item {
                    outcome: Outcome::Deferred,
                    detail: format!("not started, the next run copies it: {error}"),
                    ..item
                };
            }
            match start_job(primary, &order).await {
                Ok(job_id) => {
                    tracing::info!(recovery_point = %order.recovery_point.arn, job = %job_id, "copy job started");
                    let retry = if order.attempt > 0 {
                        format!(" (attempt {})", order.attempt + 1)
                    } else {
                        String::new()
                    };
                    Item {
                        detail: format!("copy job to {}{retry}", order.destination_vault),
                        ..item
                    }
                    .job(&job_id)
                }
                Err(error) => {
                    tracing::warn!(recovery_point = %order.recovery_point.arn, %error, "copy job not started");
                    Item {
                        outcome: Outcome::Failed,
                        detail: explain_start_error(&order, &error),
                        ..item
                    }
                    .keeping(&error)
                }
            }
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await
}

async fn start_job(primary: &RegionalClients, order: &JobOrder) -> Result<String, Error> {
    let lifecycle = order.delete_after_days.map(|days| {
        Lifecycle::builder()
            .delete_after_days(i64::from(days))
            .build()
    });
    let output = primary
        .backup
        .start_copy_job()
        .recovery_point_arn(&order.recovery_point.arn)
        .source_backup_vault_name(&order.source_vault)
        .destination_backup_vault_arn(&order.destination_vault)
        .iam_role_arn(&order.iam_role)
        .idempotency_token(&order.idempotency_token)
        .set_lifecycle(lifecycle)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "backup:StartCopyJob",
                &order.recovery_point.arn,
                &primary.region,
            )
        })?;
    Ok(output.copy_job_id().unwrap_or_default().to_owned())
}

/// A refused `StartCopyJob`, said so the operator knows which key of the plan to look at.
fn explain_start_error(order: &JobOrder, error: &Error) -> String {
    let text = error.to_string();
    if blames_the_role(&text) {
        format!(
            "copy.backup[{}].iam_role: AWS Backup cannot use {} ({text}); check that the role \
             exists, trusts backup.amazonaws.com, and that Lifeboat may pass it (iam:PassRole)",
            order.entry, order.iam_role
        )
    } else {
        text
    }
}
