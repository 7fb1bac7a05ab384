//! The failover's AWS calls, all in the recovery Region (Route 53, a global service, through
//! the recovery Region's client): describing and promoting the targets, the replication lags, the
//! alarms, the records and their changes; and the calls as the reports and the dry run write
//! them. Nothing here calls the primary Region, except failback's keeping of the snapshots an
//! outage left there ([`keep_unplanned_failover_snapshots`]), once that Region is back.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use time::OffsetDateTime;

use super::decide::{RecordChange, fqdn};
use super::model::{AlarmSeen, Kind, RecordSeen, Target};
use super::run::{FailoverRun, TargetSeen};
use crate::aws::{RegionalClients, db_cluster, db_instance, to_time};
use crate::error::Error;
use crate::plan::Plan;

/// A target as the recovery Region describes it; `None` when it does not exist.
pub async fn describe_target(
    recovery: &RegionalClients,
    target: &Target,
) -> Result<Option<TargetSeen>, Error> {
    let region = &recovery.region;
    match target {
        Target::RdsReplica { id } => Ok(db_instance(recovery, id).await?.map(|db| TargetSeen {
            status: db.db_instance_status().unwrap_or_default().to_owned(),
            writable: db.read_replica_source_db_instance_identifier().is_none(),
        })),
        Target::AuroraReplicaCluster { id } => {
            Ok(db_cluster(recovery, id).await?.map(|c| TargetSeen {
                status: c.status().unwrap_or_default().to_owned(),
                writable: c.replication_source_identifier().is_none(),
            }))
        }
        Target::AuroraGlobal {
            global,
            target_cluster_arn,
        } => {
            let out = recovery
                .rds
                .describe_global_clusters()
                .global_cluster_identifier(global)
                .send()
                .await
                .map_err(|e| {
                    Error::from_sdk(
                        e,
                        "rds:DescribeGlobalClusters",
                        &format!("global database {global}"),
                        region,
                    )
                });
            match out {
                Ok(out) => Ok(out.global_clusters().first().and_then(|g| {
                    let member = g
                        .global_cluster_members()
                        .iter()
                        .find(|m| m.db_cluster_arn() == Some(target_cluster_arn.as_str()))?;
                    Some(TargetSeen {
                        status: g.status().unwrap_or_default().to_owned(),
                        writable: member.is_writer() == Some(true),
                    })
                })),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// The promotion call a target gets, for the report and the dry run.
pub(super) fn promotion_call(target: &Target, kind: Kind) -> String {
    match (target, kind) {
        (Target::RdsReplica { id }, _) => {
            format!("rds:PromoteReadReplica DBInstanceIdentifier={id}")
        }
        (Target::AuroraReplicaCluster { id }, _) => {
            format!("rds:PromoteReadReplicaDBCluster DBClusterIdentifier={id}")
        }
        (
            Target::AuroraGlobal {
                global,
                target_cluster_arn,
            },
            Kind::Outage,
        ) => format!(
            "rds:FailoverGlobalCluster GlobalClusterIdentifier={global} TargetDbClusterIdentifier={target_cluster_arn} AllowDataLoss=true"
        ),
        (
            Target::AuroraGlobal {
                global,
                target_cluster_arn,
            },
            Kind::Planned,
        ) => format!(
            "rds:SwitchoverGlobalCluster GlobalClusterIdentifier={global} TargetDbClusterIdentifier={target_cluster_arn}"
        ),
    }
}

/// Asks for a target's promotion: an outage fails a global database over with data loss, a
/// planned move switches it over.
pub(super) async fn promote(
    recovery: &RegionalClients,
    target: &Target,
    kind: Kind,
) -> Result<(), Error> {
    let region = &recovery.region;
    match target {
        Target::RdsReplica { id } => recovery
            .rds
            .promote_read_replica()
            .db_instance_identifier(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::from_sdk(
                    e,
                    "rds:PromoteReadReplica",
                    &format!("DB instance {id}"),
                    region,
                )
            }),
        Target::AuroraReplicaCluster { id } => recovery
            .rds
            .promote_read_replica_db_cluster()
            .db_cluster_identifier(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::from_sdk(
                    e,
                    "rds:PromoteReadReplicaDBCluster",
                    &format!("DB cluster {id}"),
                    region,
                )
            }),
        Target::AuroraGlobal {
            global,
            target_cluster_arn,
        } => match kind {
            Kind::Outage => recovery
                .rds
                .failover_global_cluster()
                .global_cluster_identifier(global)
                .target_db_cluster_identifier(target_cluster_arn)
                .allow_data_loss(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    Error::from_sdk(
                        e,
                        "rds:FailoverGlobalCluster",
                        &format!("global database {global}"),
                        region,
                    )
                }),
            Kind::Planned => recovery
                .rds
                .switchover_global_cluster()
                .global_cluster_identifier(global)
                .target_db_cluster_identifier(target_cluster_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    Error::from_sdk(
                        e,
                        "rds:SwitchoverGlobalCluster",
                        &format!("global database {global}"),
                        region,
                    )
                }),
        },
    }
}

/// The target's replication lag in seconds: the largest of the last five minutes' one-minute
/// maxima, read in the recovery Region; `None` without a data point.
pub async fn lag_seconds(
    recovery: &RegionalClients,
    target: &Target,
    now: OffsetDateTime,
) -> Result<Option<f64>, Error> {
    let metric = target.lag_metric();
    let at = |t: OffsetDateTime| aws_smithy_types::DateTime::from_secs(t.unix_timestamp());
    let out = recovery
        .cloudwatch
        .get_metric_statistics()
        .namespace(metric.namespace)
        .metric_name(metric.name)
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(metric.dimension)
                .value(&metric.value)
                .build(),
        )
        .start_time(at(now - time::Duration::minutes(5)))
        .end_time(at(now + time::Duration::minutes(1)))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "cloudwatch:GetMetricStatistics",
                &format!("{} of {}", metric.name, metric.value),
                &recovery.region,
            )
        })?;
    Ok(out
        .datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .fold(None, |max: Option<f64>, v| {
            Some(max.map_or(v, |m| m.max(v)))
        })
        .map(|v| v * f64::from(metric.milliseconds_per_unit) / 1000.0))
}

/// The plan's alarms as CloudWatch has them now.
pub(super) async fn alarms(
    recovery: &RegionalClients,
    names: &[String],
) -> Result<Vec<AlarmSeen>, Error> {
    let mut found = Vec::new();
    // DescribeAlarms takes at most 100 names.
    for chunk in names.chunks(100) {
        let out = recovery
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(
                    e,
                    "cloudwatch:DescribeAlarms",
                    "the plan's alarms",
                    &recovery.region,
                )
            })?;
        found.extend(out.metric_alarms().iter().map(|a| {
            AlarmSeen {
                name: a.alarm_name().unwrap_or_default().to_owned(),
                state: a
                    .state_value()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                since: to_time(a.state_updated_timestamp()),
            }
        }));
        found.extend(out.composite_alarms().iter().map(|a| {
            AlarmSeen {
                name: a.alarm_name().unwrap_or_default().to_owned(),
                state: a
                    .state_value()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                since: to_time(a.state_updated_timestamp()),
            }
        }));
    }
    Ok(found)
}

/// A record as Route 53 has it now (simple routing: its values), if it exists.
pub async fn read_dns_record(
    recovery: &RegionalClients,
    zone: &str,
    name: &str,
    record_type: &str,
) -> Result<Option<RecordSeen>, Error> {
    let name = fqdn(name);
    let out = recovery
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(&name)
        .start_record_type(RrType::from(record_type))
        .max_items(1)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "route53:ListResourceRecordSets",
                &format!("{name} in {zone}"),
                &recovery.region,
            )
        })?;
    Ok(out
        .resource_record_sets()
        .iter()
        .find(|r| fqdn(r.name()) == name && r.r#type().as_str() == record_type)
        .map(|r| RecordSeen {
            hosted_zone_id: zone.to_owned(),
            name: fqdn(r.name()),
            record_type: record_type.to_owned(),
            ttl: r.ttl(),
            values: r
                .resource_records()
                .iter()
                .map(|v| v.value().to_owned())
                .collect(),
        }))
}

/// The `ChangeResourceRecordSets` call of a batch, for the report and the dry run.
pub(super) fn change_call(zone: &str, changes: &[RecordChange]) -> String {
    let upserts: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "UPSERT {} {} {} TTL {}",
                c.name,
                c.record_type,
                c.values.join(","),
                c.ttl
            )
        })
        .collect();
    format!(
        "route53:ChangeResourceRecordSets HostedZoneId={zone} {}",
        upserts.join("; ")
    )
}

/// The calls a run would make, in order, without making any: what `--dry-run` prints.
pub(super) fn planned_calls(plan: &Plan, run: &FailoverRun) -> Vec<String> {
    let mut planned: Vec<String> = run
        .promotions
        .iter()
        .map(|p| promotion_call(&p.target, run.kind))
        .collect();
    planned.extend(
        run.dns
            .iter()
            .map(|b| change_call(&b.hosted_zone_id, &b.changes)),
    );
    planned.push(if run.failback {
        format!(
            "s3:DeleteObject s3://{}/paused/{}.json (resume the copy and verify schedules)",
            plan.state_bucket, plan.name
        )
    } else {
        format!(
            "s3:PutObject s3://{}/paused/{}.json (pause the copy and verify schedules)",
            plan.state_bucket, plan.name
        )
    });
    planned
}

/// Sends one hosted zone's batch of UPSERTs; returns the change id.
pub(super) async fn change_records(
    recovery: &RegionalClients,
    zone: &str,
    changes: &[RecordChange],
    comment: &str,
) -> Result<String, Error> {
    let changes = changes
        .iter()
        .map(|c| {
            let records = c
                .values
                .iter()
                .map(|v| ResourceRecord::builder().value(v).build())
                .collect::<Result<Vec<_>, _>>()?;
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(&c.name)
                        .r#type(RrType::from(c.record_type.as_str()))
                        .ttl(i64::from(c.ttl))
                        .set_resource_records(Some(records))
                        .build()?,
                )
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::other("cannot build the DNS change", e))?;
    let batch = ChangeBatch::builder()
        .comment(comment)
        .set_changes(Some(changes))
        .build()
        .map_err(|e| Error::other("cannot build the DNS change", e))?;
    let out = recovery
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "route53:ChangeResourceRecordSets",
                &format!("hosted zone {zone}"),
                &recovery.region,
            )
        })?;
    Ok(out
        .change_info()
        .map(|c| c.id().to_owned())
        .unwrap_or_default())
}

/// A change's status: `PENDING` or `INSYNC`.
pub(super) async fn change_status(recovery: &RegionalClients, id: &str) -> Result<String, Error> {
    let out = recovery
        .route53
        .get_change()
        .id(id)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, "route53:GetChange", id, &recovery.region))?;
    Ok(out
        .change_info()
        .map(|c| c.status().as_str().to_owned())
        .unwrap_or_default())
}

/// The identifier failback gives the manual copy of an unplanned-failover snapshot (a manual
/// snapshot stays until deleted; AWS deletes the automated one with its cluster's retention).
fn kept_snapshot_identifier(snapshot: &str) -> String {
    let cleaned: String = snapshot
        .trim_start_matches("rds:")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut id = format!("lifeboat-kept-{cleaned}");
    id.truncate(63);
    id.trim_end_matches('-').to_owned()
}

/// The tags of a kept snapshot: the plan's, and the failover run whose outage left it.
fn kept_snapshot_tags(plan: &str, failover_run_id: &str) -> Vec<aws_sdk_rds::types::Tag> {
    vec![
        aws_sdk_rds::types::Tag::builder()
            .key(crate::copies::tags::PLAN)
            .value(plan)
            .build(),
        aws_sdk_rds::types::Tag::builder()
            .key("lifeboat:failover-run")
            .value(failover_run_id)
            .build(),
    ]
}

/// The `CopyDBClusterSnapshot` call that kept `snapshot` as `copy`, for the report.
pub(super) fn keep_snapshot_call(snapshot: &str, copy: &str, primary_region: &str) -> String {
    format!(
        "rds:CopyDBClusterSnapshot SourceDBClusterSnapshotIdentifier={snapshot} TargetDBClusterSnapshotIdentifier={copy} ({primary_region})"
    )
}

/// After an outage's global failover, AWS leaves a system snapshot of the old primary,
/// `rds:unplanned-global-failover-…`, in the old primary's Region once it is back. Failback (the
/// Region is back by then) copies each to a manual snapshot there, tagged with the plan and the
/// failover run, so the data the failover may have lost is kept. Returns the copies made (or
/// already made), as (snapshot, copy).
pub(super) async fn keep_unplanned_failover_snapshots(
    primary: &RegionalClients,
    global: &str,
    new_writer_arn: &str,
    plan: &str,
    failover_run_id: &str,
) -> Result<Vec<(String, String)>, Error> {
    let region = &primary.region;
    let tags = kept_snapshot_tags(plan, failover_run_id);
    let out = primary
        .rds
        .describe_global_clusters()
        .global_cluster_identifier(global)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DescribeGlobalClusters",
                &format!("global database {global}"),
                region,
            )
        })?;
    let old_primaries: Vec<String> = out
        .global_clusters()
        .iter()
        .flat_map(|g| g.global_cluster_members())
        .filter_map(|m| m.db_cluster_arn())
        .filter(|arn| *arn != new_writer_arn && arn.contains(&format!(":{}:", region.as_str())))
        .filter_map(|arn| arn.rsplit_once(":cluster:").map(|(_, id)| id.to_owned()))
        .collect();
    let mut kept = Vec::new();
    for cluster in old_primaries {
        let snapshots = primary
            .rds
            .describe_db_cluster_snapshots()
            .db_cluster_identifier(&cluster)
            .snapshot_type("automated")
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(
                    e,
                    "rds:DescribeDBClusterSnapshots",
                    &format!("snapshots of {cluster}"),
                    region,
                )
            })?;
        for snapshot in snapshots.db_cluster_snapshots() {
            let Some(id) = snapshot
                .db_cluster_snapshot_identifier()
                .filter(|id| id.starts_with("rds:unplanned-global-failover-"))
            else {
                continue;
            };
            let copy = kept_snapshot_identifier(id);
            let result = primary
                .rds
                .copy_db_cluster_snapshot()
                .source_db_cluster_snapshot_identifier(id)
                .target_db_cluster_snapshot_identifier(&copy)
                .set_tags(Some(tags.clone()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_db_cluster_snapshot_already_exists_fault()) => {}
                Err(e) => {
                    return Err(Error::from_sdk(
                        e,
                        "rds:CopyDBClusterSnapshot",
                        &format!("{id} to {copy}"),
                        region,
                    ));
                }
            }
            kept.push((id.to_owned(), copy));
        }
    }
    Ok(kept)
}
