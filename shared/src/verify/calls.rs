//! The verification's RDS calls in the recovery Region: the candidate copies, the restore (an
//! instance, or an Aurora cluster and the instance added to it), describing what a run created,
//! the throw-away master password, the deletes, and the listing the sweep looks at.
//!
//! Every resource a run creates has an identifier fixed by the job and the run
//! ([`identifiers`]), so a retried call (a Lambda retry, a duplicate event, a crash before the
//! record was saved) finds what the first call asked for: `AlreadyExists` means "ours, already
//! requested".

use aws_sdk_rds::types::Tag;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::decide::{Candidate, RestoreJobSeen, Tagged, verify_tags};
use super::run::{CopyKind, VerifyRun};
use super::secret::Password;
use crate::aws::{RegionalClients, db_cluster, db_instance, tag_map, to_time};
use crate::copies::{VERIFY_IDENTIFIER_PREFIX, tags};
use crate::error::Error;
use crate::plan::VerifyJob;

/// How long after its restore's deadline a run's resources may stand before the sweep of a
/// later run deletes them (the run itself deletes them long before, unless it crashed).
const EXPIRY_MARGIN: Duration = Duration::hours(2);

/// The identifiers of what a run creates: (`lifeboat-verify-<job>-<last 8 chars of run id>` for
/// the cluster or the lone instance, the same with `-1` for a cluster's instance). The last
/// characters: a task run id (`20261126T071654Z-1a2b3c4d`) begins with its date, shared by the
/// runs of a day, and ends with its random part. Within RDS's 63 characters: a long job name is
/// shortened.
pub fn identifiers(job: &str, run_id: &str) -> (String, String) {
    let alphanumeric: Vec<char> = run_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let run: String = alphanumeric[alphanumeric.len().saturating_sub(8)..]
        .iter()
        .collect();
    // 63 = "lifeboat-verify-" (16) + job + "-" + 8 + "-1".
    let job: String = job.chars().take(36).collect();
    let base = format!(
        "{VERIFY_IDENTIFIER_PREFIX}{}-{run}",
        job.trim_end_matches('-')
    );
    let instance = format!("{base}-1");
    (base, instance)
}

/// Whether `identifier` is one that a run of the job `job` gives what it creates (see
/// [`identifiers`]): an RDS event about it is that job's.
pub(super) fn is_jobs_resource(job: &str, identifier: &str) -> bool {
    let (base, _) = identifiers(job, "00000000");
    let prefix = &base[..base.len() - 8];
    identifier.strip_prefix(prefix).is_some_and(|rest| {
        let run = rest.strip_suffix("-1").unwrap_or(rest);
        run.len() == 8 && run.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// What a created DB instance or cluster looks like now.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DbState {
    pub tags: std::collections::BTreeMap<String, String>,
    pub status: String,
    /// `Endpoint.Address` and port (an instance's; a cluster's writer endpoint).
    pub endpoint: Option<(String, u16)>,
    pub master_username: Option<String>,
    pub engine: Option<String>,
}

fn rds_tags(pairs: &[(&str, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(v).build())
        .collect()
}

/// The tags of everything a run creates: the plan, the job, the run, and when the sweep may
/// delete it if the run does not (`max_restore_minutes` and two hours after `now`).
pub fn run_tags(plan: &str, job: &VerifyJob, run: &VerifyRun, now: OffsetDateTime) -> Vec<Tag> {
    let expires = now + Duration::minutes(job.max_restore_minutes.into()) + EXPIRY_MARGIN;
    rds_tags(&[
        (tags::PLAN, plan.to_owned()),
        (verify_tags::JOB, job.name.clone()),
        (verify_tags::RUN, run.run_id.clone()),
        (
            verify_tags::EXPIRES,
            expires.format(&Rfc3339).unwrap_or_default(),
        ),
    ])
}

/// Whether an error is RDS saying the identifier is taken: by this run's own earlier request.
fn already_exists(error: &Error) -> bool {
    matches!(error, Error::Aws { code: Some(code), .. } if code.contains("AlreadyExists"))
}

/// Ok for "done" and for "already done".
fn idempotent(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e) if already_exists(&e) => Ok(()),
        other => other,
    }
}

/// Every manual DB snapshot and DB cluster snapshot of the recovery Region, as candidates.
pub(super) async fn candidates(recovery: &RegionalClients) -> Result<Vec<Candidate>, Error> {
    Ok(crate::snapshots::manual_snapshots(recovery)
        .await?
        .into_iter()
        .map(|s| Candidate {
            kind: if s.cluster {
                CopyKind::ClusterSnapshot
            } else {
                CopyKind::DbSnapshot
            },
            id: s.id,
            engine: s.engine,
            status: s.status,
            tags: s.tags,
            created: s.created,
        })
        .collect())
}

/// Restores the DB snapshot `snapshot` as the DB instance `id`: the job's instance class, subnet
/// group and security groups, not publicly accessible, with the run's tags.
pub(super) async fn restore_instance(
    recovery: &RegionalClients,
    job: &VerifyJob,
    snapshot: &str,
    id: &str,
    tags: Vec<Tag>,
) -> Result<(), Error> {
    let result = recovery
        .rds
        .restore_db_instance_from_db_snapshot()
        .db_snapshot_identifier(snapshot)
        .db_instance_identifier(id)
        .db_instance_class(&job.instance_class)
        .db_subnet_group_name(&job.subnet_group)
        .set_vpc_security_group_ids(
            (!job.security_groups.is_empty()).then(|| job.security_groups.clone()),
        )
        .publicly_accessible(false)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:RestoreDBInstanceFromDBSnapshot",
                &format!("DB instance {id} from {snapshot}"),
                &recovery.region,
            )
        });
    idempotent(result)
}

/// Restores the DB cluster snapshot `snapshot` as the DB cluster `id` (engine: the snapshot's).
pub(super) async fn restore_cluster(
    recovery: &RegionalClients,
    job: &VerifyJob,
    snapshot: &str,
    engine: &str,
    id: &str,
    tags: Vec<Tag>,
) -> Result<(), Error> {
    let result = recovery
        .rds
        .restore_db_cluster_from_snapshot()
        .snapshot_identifier(snapshot)
        .db_cluster_identifier(id)
        .engine(engine)
        .db_subnet_group_name(&job.subnet_group)
        .set_vpc_security_group_ids(
            (!job.security_groups.is_empty()).then(|| job.security_groups.clone()),
        )
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:RestoreDBClusterFromSnapshot",
                &format!("DB cluster {id} from {snapshot}"),
                &recovery.region,
            )
        });
    idempotent(result)
}

/// Adds the DB instance `id` to the restored cluster `cluster` (AWS creates none).
pub(super) async fn add_instance(
    recovery: &RegionalClients,
    job: &VerifyJob,
    cluster: &str,
    engine: &str,
    id: &str,
    tags: Vec<Tag>,
) -> Result<(), Error> {
    let result = recovery
        .rds
        .create_db_instance()
        .db_instance_identifier(id)
        .db_cluster_identifier(cluster)
        .engine(engine)
        .db_instance_class(&job.instance_class)
        .publicly_accessible(false)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:CreateDBInstance",
                &format!("DB instance {id} in DB cluster {cluster}"),
                &recovery.region,
            )
        });
    idempotent(result)
}

/// A created DB instance as it is now; `None` when it does not exist.
pub(super) async fn describe_instance(
    recovery: &RegionalClients,
    id: &str,
) -> Result<Option<DbState>, Error> {
    Ok(db_instance(recovery, id).await?.map(|db| DbState {
        status: db.db_instance_status().unwrap_or_default().to_owned(),
        endpoint: db
            .endpoint()
            .and_then(|e| Some((e.address()?.to_owned(), u16::try_from(e.port()?).ok()?))),
        master_username: db.master_username().map(str::to_owned),
        engine: db.engine().map(str::to_owned),
        tags: tag_map(db.tag_list()),
    }))
}

/// A created DB cluster as it is now; `None` when it does not exist.
pub(super) async fn describe_cluster(
    recovery: &RegionalClients,
    id: &str,
) -> Result<Option<DbState>, Error> {
    Ok(db_cluster(recovery, id).await?.map(|c| DbState {
        status: c.status().unwrap_or_default().to_owned(),
        endpoint: c
            .endpoint()
            .and_then(|address| Some((address.to_owned(), u16::try_from(c.port()?).ok()?))),
        master_username: c.master_username().map(str::to_owned),
        engine: c.engine().map(str::to_owned),
        tags: tag_map(c.tag_list()),
    }))
}

/// Gives the restored DB instance `id` the master password `password`, at once.
pub(super) async fn set_instance_password(
    recovery: &RegionalClients,
    id: &str,
    password: &Password,
) -> Result<(), Error> {
    recovery
        .rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .master_user_password(password.expose())
        .apply_immediately(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:ModifyDBInstance",
                &format!("DB instance {id} (master password)"),
                &recovery.region,
            )
        })
}

/// Gives the restored Aurora DB cluster `id` the master password `password`, at once.
pub(super) async fn set_cluster_password(
    recovery: &RegionalClients,
    id: &str,
    password: &Password,
) -> Result<(), Error> {
    recovery
        .rds
        .modify_db_cluster()
        .db_cluster_identifier(id)
        .master_user_password(password.expose())
        .apply_immediately(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:ModifyDBCluster",
                &format!("DB cluster {id} (master password)"),
                &recovery.region,
            )
        })
}

/// Deletes the DB instance `id`, without a final snapshot; gone already is done.
pub(super) async fn delete_instance(recovery: &RegionalClients, id: &str) -> Result<(), Error> {
    let result = recovery
        .rds
        .delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DeleteDBInstance",
                &format!("DB instance {id}"),
                &recovery.region,
            )
        });
    match result {
        Err(Error::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// Deletes the DB cluster `id`, without a final snapshot; gone already is done.
pub(super) async fn delete_cluster(recovery: &RegionalClients, id: &str) -> Result<(), Error> {
    let result = recovery
        .rds
        .delete_db_cluster()
        .db_cluster_identifier(id)
        .skip_final_snapshot(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DeleteDBCluster",
                &format!("DB cluster {id}"),
                &recovery.region,
            )
        });
    match result {
        Err(Error::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// Every DB instance and every DB cluster of the recovery Region with its tags, for the sweep:
/// (instances, clusters).
pub(super) async fn tagged_resources(
    recovery: &RegionalClients,
) -> Result<(Vec<Tagged>, Vec<Tagged>), Error> {
    let region = &recovery.region;
    let instances: Vec<_> = recovery
        .rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::from_sdk(e, "rds:DescribeDBInstances", "DB instances", region))?;
    let clusters: Vec<_> = recovery
        .rds
        .describe_db_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::from_sdk(e, "rds:DescribeDBClusters", "DB clusters", region))?;
    Ok((
        instances
            .iter()
            .map(|db| Tagged {
                id: db.db_instance_identifier().unwrap_or_default().to_owned(),
                tags: tag_map(db.tag_list()),
            })
            .collect(),
        clusters
            .iter()
            .map(|c| Tagged {
                id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
                tags: tag_map(c.tag_list()),
            })
            .collect(),
    ))
}

pub(super) use crate::snapshots::recovery_points;

/// Asks AWS Backup to restore the recovery point `copy` as `id` (a DB instance, or for a cluster
/// recovery point a DB cluster) into the job's subnet group and security groups, not publicly
/// accessible; the run id is the idempotency token, so asking again returns the same job.
/// Returns the restore job's id.
pub(super) async fn start_backup_restore(
    recovery: &RegionalClients,
    job: &VerifyJob,
    recovery_point: &str,
    id: &str,
    run_id: &str,
) -> Result<String, Error> {
    let security_groups = serde_json::to_string(&job.security_groups).unwrap_or_default();
    let mut metadata: Vec<(&str, String)> = vec![
        ("DBSubnetGroupName", job.subnet_group.clone()),
        ("VpcSecurityGroupIds", security_groups),
    ];
    let resource_type = if job.db_cluster.is_some() {
        metadata.push(("DBClusterIdentifier", id.to_owned()));
        "Aurora"
    } else {
        metadata.push(("DBInstanceIdentifier", id.to_owned()));
        metadata.push(("DBInstanceClass", job.instance_class.clone()));
        metadata.push(("PubliclyAccessible", "false".to_owned()));
        metadata.push(("MultiAZ", "false".to_owned()));
        "RDS"
    };
    let role = job
        .restore_role
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let out = recovery
        .backup
        .start_restore_job()
        .recovery_point_arn(recovery_point)
        .iam_role_arn(role)
        .resource_type(resource_type)
        .idempotency_token(run_id)
        .set_metadata(Some(
            metadata
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "backup:StartRestoreJob",
                &format!("{id} from {recovery_point}"),
                &recovery.region,
            )
        })?;
    Ok(out.restore_job_id().unwrap_or_default().to_owned())
}

/// Tags an RDS resource (what an AWS Backup restore made) with the run's tags.
pub(super) async fn tag_resource(
    recovery: &RegionalClients,
    arn: &str,
    tags: Vec<Tag>,
) -> Result<(), Error> {
    recovery
        .rds
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(e, "rds:AddTagsToResource", arn, &recovery.region))
}

/// A restore job as AWS Backup describes it.
pub(super) async fn describe_restore_job(
    clients: &RegionalClients,
    job_id: &str,
) -> Result<RestoreJobSeen, Error> {
    let out = clients
        .backup
        .describe_restore_job()
        .restore_job_id(job_id)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "backup:DescribeRestoreJob",
                &format!("restore job {job_id}"),
                &clients.region,
            )
        })?;
    Ok(RestoreJobSeen {
        job_id: job_id.to_owned(),
        status_message: out.status_message().map(str::to_owned),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        restore_testing_plan_arn: out
            .created_by()
            .and_then(|c| c.restore_testing_plan_arn())
            .map(str::to_owned),
        created_resource_arn: out.created_resource_arn().map(str::to_owned),
        recovery_point_arn: out.recovery_point_arn().map(str::to_owned),
        source_resource_arn: out.source_resource_arn().map(str::to_owned),
        validation_status: out.validation_status().map(|s| s.as_str().to_owned()),
        created_at: to_time(out.creation_date()),
        completed_at: to_time(out.completion_date()),
        recovery_point_created_at: to_time(out.recovery_point_creation_date()),
    })
}

/// The restore testing jobs of the recovery Region that completed after `after` and have no
/// validation status yet: what the COMPLETED events (best effort) may have missed.
pub(super) async fn unvalidated_restore_tests(
    clients: &RegionalClients,
    after: OffsetDateTime,
) -> Result<Vec<RestoreJobSeen>, Error> {
    let mut found = Vec::new();
    let mut pages = clients
        .backup
        .list_restore_jobs()
        .by_status(aws_sdk_backup::types::RestoreJobStatus::Completed)
        .by_complete_after(aws_smithy_types::DateTime::from_secs(
            after.unix_timestamp(),
        ))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            Error::from_sdk(
                e,
                "backup:ListRestoreJobs",
                "completed restore jobs",
                &clients.region,
            )
        })?;
        for job in page.restore_jobs() {
            let Some(plan) = job.created_by().and_then(|c| c.restore_testing_plan_arn()) else {
                continue;
            };
            if job.validation_status().is_some() {
                continue;
            }
            found.push(RestoreJobSeen {
                job_id: job.restore_job_id().unwrap_or_default().to_owned(),
                status_message: job.status_message().map(str::to_owned),
                status: job
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                restore_testing_plan_arn: Some(plan.to_owned()),
                created_resource_arn: job.created_resource_arn().map(str::to_owned),
                recovery_point_arn: job.recovery_point_arn().map(str::to_owned),
                source_resource_arn: job.source_resource_arn().map(str::to_owned),
                validation_status: None,
                created_at: to_time(job.creation_date()),
                completed_at: to_time(job.completion_date()),
                recovery_point_created_at: to_time(job.recovery_point_creation_date()),
            });
        }
    }
    Ok(found)
}

/// Answers a restore testing job: `PutRestoreValidationResult`. A status already set (a
/// duplicate answer: "once a validation status is set, it cannot be changed") is not an error.
pub(super) async fn put_validation_result(
    clients: &RegionalClients,
    job_id: &str,
    status: &str,
    message: &str,
) -> Result<(), Error> {
    let result = clients
        .backup
        .put_restore_validation_result()
        .restore_job_id(job_id)
        .validation_status(aws_sdk_backup::types::RestoreValidationStatus::from(status))
        .validation_status_message(message)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let error = Error::from_sdk(
                e,
                "backup:PutRestoreValidationResult",
                &format!("restore job {job_id}"),
                &clients.region,
            );
            match describe_restore_job(clients, job_id).await {
                Ok(seen) if seen.validation_status.as_deref() == Some(status) => Ok(()),
                _ => Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_fixed_per_run_and_within_the_limit() {
        let (cluster, instance) = identifiers("weekly", "20261126T071654Z-0f3A9c2e");
        assert_eq!(cluster, "lifeboat-verify-weekly-0f3a9c2e");
        assert_eq!(instance, "lifeboat-verify-weekly-0f3a9c2e-1");
        // Two runs of a day differ.
        let (other, _) = identifiers("weekly", "20261126T120000Z-77aa88bb");
        assert_ne!(other, cluster);
        let (_, long) = identifiers(&"a".repeat(63), "0f3a9c2e1111");
        assert_eq!(long.len(), 63);
    }
}
