//! The copy task's RDS calls: find the selected DBs and their snapshots in the primary Region,
//! list what the recovery Region holds, start copies and delete pruned copies.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_rds::types::{DbClusterSnapshot, DbSnapshot, Filter, Tag};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use futures::{StreamExt, stream};

use super::decide::{CopyOrder, PruneOrder, SourceState};
use super::model::{Snapshot, SnapshotKind, SourceDb};
use super::presign::{CopyRequest, presigned_copy_url};
use super::{Item, Outcome};
use crate::aws::{AwsClients, RegionalClients, tag_map, to_time};
use crate::error::Error;
use crate::plan::{Plan, RdsSelector, Region, TagSelector};
use crate::state::Lease;

/// How many RDS calls of one kind run at once. Copy and delete calls return in well under a
/// second; eight at a time keeps a run short without tripping RDS's API rate limits.
const CONCURRENT_CALLS: usize = 8;

/// The DBs each `[[copy.rds]]` entry selects, plus an error item for each entry that selects
/// nothing. A DB selected by two entries is kept once, under the first.
///
/// One listing per kind serves every entry: the named DBs in one filtered describe, or every DB
/// of the Region when a tag selector needs them all. The calls grow with the pages of DBs, not
/// with the number of entries (see [`source_states`] for the snapshots).
pub(super) async fn resolve_sources(
    primary: &RegionalClients,
    plan: &Plan,
) -> (Vec<SourceDb>, Vec<Item>) {
    let selectors: Vec<RdsSelector<'_>> = plan.copy.rds.iter().map(|e| e.selector()).collect();
    let wants_all = selectors.iter().any(|s| matches!(s, RdsSelector::Tag(_)));
    let named = |kind| -> Vec<&str> {
        selectors
            .iter()
            .filter_map(|s| match (s, kind) {
                (RdsSelector::Instance(id), SnapshotKind::Instance) => Some(*id),
                (RdsSelector::Cluster(id), SnapshotKind::Cluster) => Some(*id),
                _ => None,
            })
            .collect()
    };
    let instances = list_dbs(
        primary,
        SnapshotKind::Instance,
        wants_all,
        &named(SnapshotKind::Instance),
    )
    .await;
    let clusters = list_dbs(
        primary,
        SnapshotKind::Cluster,
        wants_all,
        &named(SnapshotKind::Cluster),
    )
    .await;

    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (entry, selector) in selectors.iter().enumerate() {
        let found: Result<Vec<SourceDb>, Error> = match selector {
            RdsSelector::Instance(id) => {
                find_db(primary, &instances, SnapshotKind::Instance, id, entry)
            }
            RdsSelector::Cluster(id) => {
                find_db(primary, &clusters, SnapshotKind::Cluster, id, entry)
            }
            RdsSelector::Tag(tag) => find_tagged(primary, &instances, &clusters, tag, entry),
        };
        match found {
            Ok(dbs) => {
                for db in dbs {
                    if seen.insert((db.kind, db.id.clone())) {
                        sources.push(db);
                    }
                }
            }
            Err(error) => problems.push(
                Item::for_entry(entry, selector, Outcome::Failed, error.to_string())
                    .keeping(&error),
            ),
        }
    }
    (sources, problems)
}

/// The DB a `db_instance` / `db_cluster` entry names, from the Region's listing.
fn find_db(
    primary: &RegionalClients,
    listed: &Result<Vec<TaggedDb>, Error>,
    kind: SnapshotKind,
    id: &str,
    entry: usize,
) -> Result<Vec<SourceDb>, Error> {
    let listed = listed.as_ref().map_err(|e| Error::Refused(e.to_string()))?;
    // RDS identifiers are not case-sensitive; RDS reports them in lower case.
    match listed.iter().find(|db| db.id.eq_ignore_ascii_case(id)) {
        Some(db) => Ok(vec![SourceDb {
            entry,
            kind,
            id: db.id.clone(),
        }]),
        None => Err(Error::NotFound {
            resource: format!("{kind} {id}"),
            region: primary.region.clone(),
        }),
    }
}

/// The DBs a `tag` entry selects, from the Region's listings.
fn find_tagged(
    primary: &RegionalClients,
    instances: &Result<Vec<TaggedDb>, Error>,
    clusters: &Result<Vec<TaggedDb>, Error>,
    tag: &TagSelector,
    entry: usize,
) -> Result<Vec<SourceDb>, Error> {
    let (instances, clusters) = match (instances, clusters) {
        (Ok(instances), Ok(clusters)) => (instances, clusters),
        (Err(e), _) | (_, Err(e)) => return Err(Error::Refused(e.to_string())),
    };
    // Instances of an Aurora cluster hold no data of their own: the cluster's snapshots do.
    let matching: Vec<SourceDb> = instances
        .iter()
        .filter(|db| !db.in_cluster)
        .chain(clusters)
        .filter(|db| db.tags.get(&tag.key) == Some(&tag.value))
        .map(|db| SourceDb {
            entry,
            kind: db.kind,
            id: db.id.clone(),
        })
        .collect();
    if matching.is_empty() {
        return Err(Error::NotFound {
            resource: format!("DB instance or cluster tagged {}={}", tag.key, tag.value),
            region: primary.region.clone(),
        });
    }
    Ok(matching)
}

/// A DB instance or cluster and its tags.
struct TaggedDb {
    kind: SnapshotKind,
    id: String,
    /// An instance that belongs to an Aurora cluster.
    in_cluster: bool,
    tags: BTreeMap<String, String>,
}

/// How many identifiers one filtered describe names. The RDS reference gives no limit for filter
/// values; batches keep each request small whatever the plan's size.
const IDS_PER_FILTER: usize = 100;

/// The DBs of one kind: every one in the Region (`all`), or those named, every page. Names that
/// do not exist are simply absent.
async fn list_dbs(
    primary: &RegionalClients,
    kind: SnapshotKind,
    all: bool,
    named: &[&str],
) -> Result<Vec<TaggedDb>, Error> {
    let batches: Vec<Option<&[&str]>> = if all {
        vec![None]
    } else {
        named.chunks(IDS_PER_FILTER).map(Some).collect()
    };
    let region = &primary.region;
    let mut dbs = Vec::new();
    for ids in batches {
        match kind {
            SnapshotKind::Instance => {
                let found: Vec<_> = primary
                    .rds
                    .describe_db_instances()
                    .set_filters(ids.map(|ids| vec![filter("db-instance-id", ids)]))
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| {
                        Error::from_sdk(e, "rds:DescribeDBInstances", "DB instances", region)
                    })?;
                dbs.extend(found.into_iter().map(|db| TaggedDb {
                    kind,
                    id: db.db_instance_identifier().unwrap_or_default().to_owned(),
                    in_cluster: db.db_cluster_identifier().is_some(),
                    tags: tag_map(db.tag_list()),
                }));
            }
            SnapshotKind::Cluster => {
                let found: Vec<_> = primary
                    .rds
                    .describe_db_clusters()
                    .set_filters(ids.map(|ids| vec![filter("db-cluster-id", ids)]))
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| {
                        Error::from_sdk(e, "rds:DescribeDBClusters", "DB clusters", region)
                    })?;
                dbs.extend(found.into_iter().map(|c| TaggedDb {
                    kind,
                    id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
                    in_cluster: false,
                    tags: tag_map(c.tag_list()),
                }));
            }
        }
    }
    Ok(dbs)
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

/// The snapshots (automated and manual) of each source DB in the primary Region: one filtered
/// listing per kind for all the DBs, every page, so a plan of fifty DBs costs a handful of calls.
/// When a kind's snapshots cannot be listed, each of its DBs becomes an error item; the other
/// kind goes on.
pub(super) async fn source_states(
    primary: &RegionalClients,
    sources: Vec<SourceDb>,
) -> (Vec<SourceState>, Vec<Item>) {
    let mut states = Vec::new();
    let mut problems = Vec::new();
    for kind in [SnapshotKind::Instance, SnapshotKind::Cluster] {
        let dbs: Vec<SourceDb> = sources
            .iter()
            .filter(|db| db.kind == kind)
            .cloned()
            .collect();
        if dbs.is_empty() {
            continue;
        }
        let ids: Vec<&str> = dbs.iter().map(|db| db.id.as_str()).collect();
        match snapshots_of(primary, kind, &ids).await {
            Ok(all) => {
                for db in dbs {
                    let snapshots = all
                        .iter()
                        .filter(|s| s.db.eq_ignore_ascii_case(&db.id))
                        .cloned()
                        .collect();
                    states.push(SourceState { db, snapshots });
                }
            }
            Err(error) => problems.extend(
                dbs.iter()
                    .map(|db| Item::new(db, Outcome::Failed, error.to_string()).keeping(&error)),
            ),
        }
    }
    (states, problems)
}

/// The snapshots of the DBs `ids`, in batches of [`IDS_PER_FILTER`].
async fn snapshots_of(
    primary: &RegionalClients,
    kind: SnapshotKind,
    ids: &[&str],
) -> Result<Vec<Snapshot>, Error> {
    let mut all = Vec::new();
    for batch in ids.chunks(IDS_PER_FILTER) {
        all.extend(list_snapshots(primary, kind, Query::OfDbs(batch)).await?);
    }
    Ok(all)
}

/// Every manual snapshot in the recovery Region: Lifeboat's copies, and the copies in flight
/// (anyone's) that count against the copy quota.
pub(super) async fn recovery_inventory(recovery: &RegionalClients) -> Result<Vec<Snapshot>, Error> {
    let mut all = list_snapshots(recovery, SnapshotKind::Instance, Query::Manual).await?;
    all.extend(list_snapshots(recovery, SnapshotKind::Cluster, Query::Manual).await?);
    Ok(all)
}

/// One snapshot of the primary Region by identifier, as named in an RDS event; `None` if it no
/// longer exists.
pub(super) async fn find_source_snapshot(
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
    /// The snapshots (automated and manual) of these DB instances or clusters.
    OfDbs(&'a [&'a str]),
    /// One snapshot.
    Id(&'a str),
    /// Every manual snapshot of the Region.
    Manual,
}

impl Query<'_> {
    fn describe(&self, kind: SnapshotKind) -> String {
        match self {
            Query::OfDbs(dbs) => format!("snapshots of {kind} {}", dbs.join(", ")),
            Query::Id(id) => format!("{kind} snapshot {id}"),
            Query::Manual => format!("manual {kind} snapshots"),
        }
    }
}

/// The `SnapshotType` a describe by identifier must send. DescribeDBSnapshots and
/// DescribeDBClusterSnapshots: "If this identifier is for an automated snapshot, the SnapshotType
/// parameter must also be specified" — without it AWS answers that the snapshot does not exist.
/// Automated snapshots, and only they, are named `rds:…`.
fn snapshot_type_of(id: &str) -> Option<&'static str> {
    id.starts_with("rds:").then_some("automated")
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
                Query::OfDbs(dbs) => request.filters(filter("db-instance-id", dbs)),
                Query::Id(id) => {
                    let request = request.db_snapshot_identifier(id);
                    match snapshot_type_of(id) {
                        Some(kind) => request.snapshot_type(kind),
                        None => request,
                    }
                }
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
                Query::OfDbs(dbs) => request.filters(filter("db-cluster-id", dbs)),
                Query::Id(id) => {
                    let request = request.db_cluster_snapshot_identifier(id);
                    match snapshot_type_of(id) {
                        Some(kind) => request.snapshot_type(kind),
                        None => request,
                    }
                }
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
        option_group: s.option_group_name().map(str::to_owned),
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
        option_group: None,
    }
}

/// Starts the ordered copies concurrently. Each order ends as one report item: started, already
/// there (a concurrent run or a duplicate event got there first), or failed with the reason.
pub(super) async fn start_copies(
    clients: &AwsClients,
    orders: Vec<CopyOrder>,
    lease: Option<&Lease>,
) -> Vec<Item> {
    // Credentials are only needed to presign copies in AWS GovCloud (US); when they cannot be
    // loaded, only those copies fail.
    let credentials = if orders.iter().any(|o| o.needs_presigned_url) {
        Some(clients.credentials().await)
    } else {
        None
    };
    stream::iter(orders)
        .map(|order| {
            let credentials = credentials.as_ref();
            async move {
                let item = Item::new(&order.db, Outcome::Started, String::new())
                    .snapshot(&order.source)
                    .target(&order.target_id);
                if let Some(lease) = lease
                    && let Err(error) = lease.ensure_time_for_a_call().await
                {
                    // Another run may be deciding now: starting more could overrun the quota.
                    tracing::warn!(source = %order.source.arn, %error, "copy not started: the copy lease is not ours");
                    return Item {
                        outcome: Outcome::Deferred,
                        detail: format!("not started, the next run copies it: {error}"),
                        ..item
                    };
                }
                let result = start_copy(clients, &order, credentials).await;
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
                            .keeping(&error)
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
    credentials: Option<&Result<aws_credential_types::Credentials, Error>>,
) -> Result<(), StartError> {
    let recovery = &clients.recovery;
    let presigned_url = presigned_url(clients, order, credentials).map_err(StartError::Failed)?;
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
    result.map_err(|error| start_error(error, action, order, &recovery.region))
}

/// The `PreSignedUrl` of a copy that needs one (see [`super::presign`]).
fn presigned_url(
    clients: &AwsClients,
    order: &CopyOrder,
    credentials: Option<&Result<aws_credential_types::Credentials, Error>>,
) -> Result<Option<String>, Error> {
    match (order.needs_presigned_url, &order.kms_key, credentials) {
        (true, _, Some(Err(error))) => Err(Error::Refused(format!(
            "the copy needs a presigned URL (AWS GovCloud (US)) and no credentials to sign it: {error}"
        ))),
        (true, Some(key), Some(Ok(credentials))) => {
            let request = CopyRequest {
                kind: order.source.kind,
                source_snapshot_arn: &order.source.arn,
                source_region: &clients.primary.region,
                destination_region: &clients.recovery.region,
                kms_key_id: key,
            };
            presigned_copy_url(&request, credentials, std::time::SystemTime::now()).map(Some)
        }
        _ => Ok(None),
    }
}

/// A copy AWS refused: already there (by its deterministic name), or failed, a key fault
/// naming the key.
fn start_error(
    error: SdkError<aws_sdk_rds::Error, HttpResponse>,
    action: &str,
    order: &CopyOrder,
    region: &Region,
) -> StartError {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let code = error.as_service_error().and_then(|e| e.code());
    if matches!(
        code,
        Some("DBSnapshotAlreadyExists" | "DBClusterSnapshotAlreadyExistsFault")
    ) {
        return StartError::AlreadyExists;
    }
    let error = Error::from_sdk(error, action, &order.source.arn, region);
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
}

/// Deletes pruned copies concurrently; each order ends as the item [`PruneOrder::item`] gives.
pub(super) async fn prune_copies(recovery: &RegionalClients, orders: Vec<PruneOrder>) -> Vec<Item> {
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
            if result.is_ok() {
                tracing::info!(copy = %id, reason = %order.reason, "copy deleted");
            }
            order.item(result.as_ref().map(|_| ()))
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await
}
