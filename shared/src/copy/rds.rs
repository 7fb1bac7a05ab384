//! The copy task's RDS calls: find the selected DBs and their snapshots in the primary Region,
//! list what the recovery Region holds, start copies and delete pruned copies.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_rds::types::{DbClusterSnapshot, DbSnapshot, Tag};
use futures::{StreamExt, stream};
use time::OffsetDateTime;

use super::decide::{CopyOrder, PruneOrder, SourceState};
use super::model::{Snapshot, SnapshotKind, SourceDb};
use super::presign::{CopyRequest, presigned_copy_url};
use super::{Item, Outcome};
use crate::aws::{AwsClients, RegionalClients};
use crate::error::Error;
use crate::plan::{Plan, RdsSelector};

/// How many RDS calls of one kind run at once. Copy and delete calls return in well under a
/// second; eight at a time keeps a run short without tripping RDS's API rate limits.
const CONCURRENT_CALLS: usize = 8;

/// The DBs each `[[copy.rds]]` entry selects, plus an error item for each entry that selects
/// nothing. A DB selected by two entries is kept once, under the first.
pub async fn resolve_sources(primary: &RegionalClients, plan: &Plan) -> (Vec<SourceDb>, Vec<Item>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    // Listing every DB is only needed for tag selectors; do it once for all of them.
    let mut all_dbs: Option<Result<Vec<TaggedDb>, Error>> = None;
    for (entry, copy) in plan.copy.rds.iter().enumerate() {
        let selector = copy.selector();
        let found: Result<Vec<SourceDb>, Error> = match &selector {
            RdsSelector::Instance(id) => describe_instance(primary, id).await.map(|()| {
                vec![SourceDb {
                    entry,
                    kind: SnapshotKind::Instance,
                    id: (*id).to_owned(),
                }]
            }),
            RdsSelector::Cluster(id) => describe_cluster(primary, id).await.map(|()| {
                vec![SourceDb {
                    entry,
                    kind: SnapshotKind::Cluster,
                    id: (*id).to_owned(),
                }]
            }),
            RdsSelector::Tag(tag) => {
                if all_dbs.is_none() {
                    all_dbs = Some(list_tagged_dbs(primary).await);
                }
                match all_dbs.as_ref().expect("set above") {
                    Ok(dbs) => {
                        let matching: Vec<SourceDb> = dbs
                            .iter()
                            .filter(|db| db.tags.get(&tag.key) == Some(&tag.value))
                            .map(|db| SourceDb {
                                entry,
                                kind: db.kind,
                                id: db.id.clone(),
                            })
                            .collect();
                        if matching.is_empty() {
                            Err(Error::NotFound {
                                resource: format!(
                                    "DB instance or cluster tagged {}={}",
                                    tag.key, tag.value
                                ),
                                region: primary.region.clone(),
                            })
                        } else {
                            Ok(matching)
                        }
                    }
                    Err(e) => Err(Error::Refused(e.to_string())),
                }
            }
        };
        match found {
            Ok(dbs) => {
                for db in dbs {
                    if seen.insert((db.kind, db.id.clone())) {
                        sources.push(db);
                    }
                }
            }
            Err(error) => problems.push(Item::for_entry(
                entry,
                &selector,
                Outcome::Failed,
                error.to_string(),
            )),
        }
    }
    (sources, problems)
}

async fn describe_instance(primary: &RegionalClients, id: &str) -> Result<(), Error> {
    primary
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DescribeDBInstances",
                &format!("DB instance {id}"),
                &primary.region,
            )
        })
}

async fn describe_cluster(primary: &RegionalClients, id: &str) -> Result<(), Error> {
    primary
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DescribeDBClusters",
                &format!("DB cluster {id}"),
                &primary.region,
            )
        })
}

/// A DB instance or cluster and its tags, for tag selectors.
struct TaggedDb {
    kind: SnapshotKind,
    id: String,
    tags: BTreeMap<String, String>,
}

/// Every DB instance and cluster in the Region with its tags. Instances that belong to an Aurora
/// cluster are left out: their data is in the cluster's snapshots.
async fn list_tagged_dbs(primary: &RegionalClients) -> Result<Vec<TaggedDb>, Error> {
    let region = &primary.region;
    let instances: Vec<_> = primary
        .rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::from_sdk(e, "rds:DescribeDBInstances", "DB instances", region))?;
    let clusters: Vec<_> = primary
        .rds
        .describe_db_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::from_sdk(e, "rds:DescribeDBClusters", "DB clusters", region))?;
    let standalone = instances
        .into_iter()
        .filter(|db| db.db_cluster_identifier().is_none())
        .map(|db| TaggedDb {
            kind: SnapshotKind::Instance,
            id: db.db_instance_identifier().unwrap_or_default().to_owned(),
            tags: tag_map(db.tag_list()),
        });
    let clusters = clusters.into_iter().map(|c| TaggedDb {
        kind: SnapshotKind::Cluster,
        id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
        tags: tag_map(c.tag_list()),
    });
    Ok(standalone.chain(clusters).collect())
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The snapshots of each source DB in the primary Region, fetched concurrently. A DB whose
/// snapshots cannot be listed becomes an error item; the others go on.
pub async fn source_states(
    primary: &RegionalClients,
    sources: Vec<SourceDb>,
) -> (Vec<SourceState>, Vec<Item>) {
    let results: Vec<(SourceDb, Result<Vec<Snapshot>, Error>)> = stream::iter(sources)
        .map(|db| async move {
            let snapshots = list_snapshots(primary, db.kind, Query::OfDb(&db.id)).await;
            (db, snapshots)
        })
        .buffered(CONCURRENT_CALLS)
        .collect()
        .await;
    let mut states = Vec::new();
    let mut problems = Vec::new();
    for (db, result) in results {
        match result {
            Ok(snapshots) => states.push(SourceState { db, snapshots }),
            Err(error) => problems.push(Item::new(&db, Outcome::Failed, error.to_string())),
        }
    }
    (states, problems)
}

/// Every manual snapshot in the recovery Region: Lifeboat's copies, and the copies in flight
/// (anyone's) that count against the copy quota.
pub async fn recovery_inventory(recovery: &RegionalClients) -> Result<Vec<Snapshot>, Error> {
    let mut all = list_snapshots(recovery, SnapshotKind::Instance, Query::Manual).await?;
    all.extend(list_snapshots(recovery, SnapshotKind::Cluster, Query::Manual).await?);
    Ok(all)
}

/// One snapshot of the primary Region by identifier, as named in an RDS event; `None` if it no
/// longer exists.
pub async fn find_source_snapshot(
    primary: &RegionalClients,
    kind: SnapshotKind,
    id: &str,
) -> Result<Option<Snapshot>, Error> {
    match list_snapshots(primary, kind, Query::Id(id)).await {
        Ok(found) => Ok(found.into_iter().next()),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Which snapshots to describe.
#[derive(Debug, Clone, Copy)]
enum Query<'a> {
    /// The snapshots (automated and manual) of one DB instance or cluster.
    OfDb(&'a str),
    /// One snapshot.
    Id(&'a str),
    /// Every manual snapshot of the Region.
    Manual,
}

impl Query<'_> {
    fn describe(&self, kind: SnapshotKind) -> String {
        match self {
            Query::OfDb(db) => format!("snapshots of {kind} {db}"),
            Query::Id(id) => format!("{kind} snapshot {id}"),
            Query::Manual => format!("manual {kind} snapshots"),
        }
    }
}

/// Describes snapshots of one kind, every page.
async fn list_snapshots(
    clients: &RegionalClients,
    kind: SnapshotKind,
    query: Query<'_>,
) -> Result<Vec<Snapshot>, Error> {
    let region = &clients.region;
    match kind {
        SnapshotKind::Instance => {
            let request = clients.rds.describe_db_snapshots();
            let request = match query {
                Query::OfDb(db) => request.db_instance_identifier(db),
                Query::Id(id) => request.db_snapshot_identifier(id),
                Query::Manual => request.snapshot_type("manual"),
            };
            let found: Vec<DbSnapshot> = request
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| {
                    Error::from_sdk(e, "rds:DescribeDBSnapshots", &query.describe(kind), region)
                })?;
            Ok(found.iter().map(|s| instance_snapshot(s, region)).collect())
        }
        SnapshotKind::Cluster => {
            let request = clients.rds.describe_db_cluster_snapshots();
            let request = match query {
                Query::OfDb(db) => request.db_cluster_identifier(db),
                Query::Id(id) => request.db_cluster_snapshot_identifier(id),
                Query::Manual => request.snapshot_type("manual"),
            };
            let found: Vec<DbClusterSnapshot> = request
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| {
                    Error::from_sdk(
                        e,
                        "rds:DescribeDBClusterSnapshots",
                        &query.describe(kind),
                        region,
                    )
                })?;
            Ok(found.iter().map(|s| cluster_snapshot(s, region)).collect())
        }
    }
}

fn to_time(value: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    let value = value?;
    OffsetDateTime::from_unix_timestamp_nanos(value.as_nanos()).ok()
}

fn instance_snapshot(s: &DbSnapshot, region: &crate::plan::Region) -> Snapshot {
    let id = s.db_snapshot_identifier().unwrap_or_default().to_owned();
    Snapshot {
        kind: SnapshotKind::Instance,
        arn: s.db_snapshot_arn().map(str::to_owned).unwrap_or_else(|| {
            format!(
                "arn:{}:rds:{region}:unknown:snapshot:{id}",
                region.partition()
            )
        }),
        id,
        db: s.db_instance_identifier().unwrap_or_default().to_owned(),
        created: to_time(s.snapshot_create_time()),
        status: s.status().unwrap_or_default().to_owned(),
        encrypted: s.encrypted().unwrap_or(false),
        tags: tag_map(s.tag_list()),
        source_region: s.source_region().map(str::to_owned),
    }
}

fn cluster_snapshot(s: &DbClusterSnapshot, region: &crate::plan::Region) -> Snapshot {
    let id = s
        .db_cluster_snapshot_identifier()
        .unwrap_or_default()
        .to_owned();
    Snapshot {
        kind: SnapshotKind::Cluster,
        arn: s
            .db_cluster_snapshot_arn()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "arn:{}:rds:{region}:unknown:cluster-snapshot:{id}",
                    region.partition()
                )
            }),
        id,
        db: s.db_cluster_identifier().unwrap_or_default().to_owned(),
        created: to_time(s.snapshot_create_time()),
        status: s.status().unwrap_or_default().to_owned(),
        encrypted: s.storage_encrypted().unwrap_or(false),
        tags: tag_map(s.tag_list()),
        source_region: s
            .source_db_cluster_snapshot_arn()
            .and_then(|arn| arn.split(':').nth(3))
            .map(str::to_owned),
    }
}

/// Starts the ordered copies concurrently. Each order ends as one report item: started, already
/// there (a concurrent run or a duplicate event got there first), or failed with the reason.
pub async fn start_copies(clients: &AwsClients, orders: Vec<CopyOrder>) -> Vec<Item> {
    // Credentials are only needed to presign copies of encrypted snapshots.
    let credentials = if orders.iter().any(|o| o.needs_presigned_url) {
        match clients.credentials().await {
            Ok(credentials) => Some(credentials),
            Err(error) => {
                let reason = error.to_string();
                return orders
                    .iter()
                    .map(|o| {
                        Item::new(&o.db, Outcome::Failed, reason.clone())
                            .snapshot(&o.source)
                            .target(&o.target_id)
                    })
                    .collect();
            }
        }
    } else {
        None
    };
    stream::iter(orders)
        .map(|order| {
            let credentials = credentials.as_ref();
            async move {
                let result = start_copy(clients, &order, credentials).await;
                let item = Item::new(&order.db, Outcome::Started, String::new())
                    .snapshot(&order.source)
                    .target(&order.target_id);
                match result {
                    Ok(()) => {
                        tracing::info!(source = %order.source.arn, target = %order.target_id, "copy started");
                        let detail = match &order.kms_key {
                            Some(key) => format!("encrypted with {key}"),
                            None if order.source.encrypted => "encrypted with the source's key".to_owned(),
                            None => "unencrypted, like its source".to_owned(),
                        };
                        Item { detail, ..item }
                    }
                    Err(StartError::AlreadyExists) => Item {
                        outcome: Outcome::AlreadyCopied,
                        detail: "already in the recovery Region (copied by a concurrent run)".to_owned(),
                        ..item
                    },
                    Err(StartError::Failed(error)) => {
                        tracing::warn!(source = %order.source.arn, error = %error, "copy failed");
                        Item { outcome: Outcome::Failed, detail: error.to_string(), ..item }
                    }
                }
            }
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await
}

enum StartError {
    AlreadyExists,
    Failed(Error),
}

async fn start_copy(
    clients: &AwsClients,
    order: &CopyOrder,
    credentials: Option<&aws_credential_types::Credentials>,
) -> Result<(), StartError> {
    let recovery = &clients.recovery;
    let presigned_url = match (order.needs_presigned_url, &order.kms_key, credentials) {
        (true, Some(key), Some(credentials)) => {
            let request = CopyRequest {
                kind: order.source.kind,
                source_snapshot_arn: &order.source.arn,
                source_region: &clients.primary.region,
                destination_region: &recovery.region,
                kms_key_id: key,
            };
            Some(
                presigned_copy_url(&request, credentials, std::time::SystemTime::now())
                    .map_err(StartError::Failed)?,
            )
        }
        _ => None,
    };
    let tags: Vec<Tag> = order
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let (action, result) = match order.source.kind {
        SnapshotKind::Instance => (
            "rds:CopyDBSnapshot",
            recovery
                .rds
                .copy_db_snapshot()
                .source_db_snapshot_identifier(&order.source.arn)
                .target_db_snapshot_identifier(&order.target_id)
                .set_kms_key_id(order.kms_key.clone())
                .set_pre_signed_url(presigned_url)
                .set_option_group_name(order.option_group.clone())
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.map_service_error(aws_sdk_rds::Error::from)),
        ),
        SnapshotKind::Cluster => (
            "rds:CopyDBClusterSnapshot",
            recovery
                .rds
                .copy_db_cluster_snapshot()
                .source_db_cluster_snapshot_identifier(&order.source.arn)
                .target_db_cluster_snapshot_identifier(&order.target_id)
                .set_kms_key_id(order.kms_key.clone())
                .set_pre_signed_url(presigned_url)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.map_service_error(aws_sdk_rds::Error::from)),
        ),
    };
    result.map_err(|error| {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        let code = error.as_service_error().and_then(|e| e.code());
        if matches!(
            code,
            Some("DBSnapshotAlreadyExists" | "DBClusterSnapshotAlreadyExistsFault")
        ) {
            return StartError::AlreadyExists;
        }
        let error = Error::from_sdk(error, action, &order.source.arn, &recovery.region);
        match (error, &order.kms_key) {
            // The copy names two resources; a key fault is about the key, not the snapshot.
            (
                Error::KmsKey {
                    region, message, ..
                },
                Some(key),
            ) => StartError::Failed(Error::KmsKey {
                key: key.clone(),
                region,
                message,
            }),
            (error, _) => StartError::Failed(error),
        }
    })
}

/// Deletes pruned copies concurrently. A copy that is already gone counts as pruned.
pub async fn prune_copies(recovery: &RegionalClients, orders: Vec<PruneOrder>) -> Vec<Item> {
    stream::iter(orders)
        .map(|order| async move {
            let id = order.copy.id.as_str();
            let result = match order.copy.kind {
                SnapshotKind::Instance => recovery
                    .rds
                    .delete_db_snapshot()
                    .db_snapshot_identifier(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        Error::from_sdk(
                            e,
                            "rds:DeleteDBSnapshot",
                            &format!("DB snapshot {id}"),
                            &recovery.region,
                        )
                    }),
                SnapshotKind::Cluster => recovery
                    .rds
                    .delete_db_cluster_snapshot()
                    .db_cluster_snapshot_identifier(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        Error::from_sdk(
                            e,
                            "rds:DeleteDBClusterSnapshot",
                            &format!("DB cluster snapshot {id}"),
                            &recovery.region,
                        )
                    }),
            };
            let item = Item::new(&order.db, Outcome::Pruned, order.reason.clone()).target(id);
            match result {
                Ok(()) | Err(Error::NotFound { .. }) => {
                    tracing::info!(copy = %id, reason = %order.reason, "copy pruned");
                    item
                }
                Err(error) => Item {
                    outcome: Outcome::PruneFailed,
                    detail: error.to_string(),
                    ..item
                },
            }
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await
}
