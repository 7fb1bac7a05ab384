//! What the recovery Region holds to restore from, as AWS lists it: the manual DB and DB cluster
//! snapshots (where Lifeboat's copies are; which of them are a plan's copies is
//! [`crate::copies`]'s answer) and the recovery points of a backup vault. The verification picks
//! what to restore from them and the status reads the newest copy of each resource.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_rds::primitives::DateTime;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aws::{RegionalClients, tag_map, to_time};
use crate::copies::{is_plans_copy, tags};
use crate::error::Error;

/// Instance snapshots or Aurora cluster snapshots: separate APIs, separate quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotKind {
    Instance,
    Cluster,
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnapshotKind::Instance => "DB instance",
            SnapshotKind::Cluster => "DB cluster",
        })
    }
}

/// One manual snapshot, instance or cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualSnapshot {
    /// A DB cluster snapshot (else a DB snapshot).
    pub cluster: bool,
    pub id: String,
    pub engine: String,
    pub status: String,
    pub tags: BTreeMap<String, String>,
    pub created: Option<OffsetDateTime>,
}

impl ManualSnapshot {
    /// When the data in it was taken: its source's time for a Lifeboat copy, else its own.
    pub fn taken_at(&self) -> Option<OffsetDateTime> {
        self.tags
            .get(tags::SOURCE_CREATED)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .or(self.created)
    }

    /// The DB it is a copy of, for a copy `plan` made.
    pub fn copy_of(&self, plan: &str) -> Option<&str> {
        is_plans_copy(plan, &self.id, &self.tags)
            .then(|| self.tags.get(tags::SOURCE_DB).map(String::as_str))
            .flatten()
    }
}

fn listed(
    cluster: bool,
    id: Option<&str>,
    engine: Option<&str>,
    status: Option<&str>,
    tags: &[aws_sdk_rds::types::Tag],
    created: Option<&DateTime>,
) -> ManualSnapshot {
    ManualSnapshot {
        cluster,
        id: id.unwrap_or_default().to_owned(),
        engine: engine.unwrap_or_default().to_owned(),
        status: status.unwrap_or_default().to_owned(),
        tags: tag_map(tags),
        created: to_time(created),
    }
}

/// Every manual DB snapshot and DB cluster snapshot of `recovery`'s Region.
pub async fn manual_snapshots(recovery: &RegionalClients) -> Result<Vec<ManualSnapshot>, Error> {
    let region = &recovery.region;
    let instances: Vec<_> = recovery
        .rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            Error::from_sdk(e, "rds:DescribeDBSnapshots", "manual DB snapshots", region)
        })?;
    let clusters: Vec<_> = recovery
        .rds
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "rds:DescribeDBClusterSnapshots",
                "manual DB cluster snapshots",
                region,
            )
        })?;
    let mut all: Vec<ManualSnapshot> = instances
        .iter()
        .map(|s| {
            listed(
                false,
                s.db_snapshot_identifier(),
                s.engine(),
                s.status(),
                s.tag_list(),
                s.snapshot_create_time(),
            )
        })
        .collect();
    all.extend(clusters.iter().map(|s| {
        listed(
            true,
            s.db_cluster_snapshot_identifier(),
            s.engine(),
            s.status(),
            s.tag_list(),
            s.snapshot_create_time(),
        )
    }));
    Ok(all)
}

/// A recovery point of a backup vault.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryPointSeen {
    pub arn: String,
    /// The protected resource's ARN (for a copy: the source's, in the primary Region).
    pub resource_arn: String,
    pub status: String,
    pub created: Option<OffsetDateTime>,
}

/// The recovery points in the recovery Region's vault `vault`.
pub async fn recovery_points(
    recovery: &RegionalClients,
    vault: &str,
) -> Result<Vec<RecoveryPointSeen>, Error> {
    let mut found = Vec::new();
    let mut pages = recovery
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            Error::from_sdk(
                e,
                "backup:ListRecoveryPointsByBackupVault",
                &format!("backup vault {vault}"),
                &recovery.region,
            )
        })?;
        found.extend(page.recovery_points().iter().map(|rp| {
            RecoveryPointSeen {
                arn: rp.recovery_point_arn().unwrap_or_default().to_owned(),
                resource_arn: rp.resource_arn().unwrap_or_default().to_owned(),
                status: rp
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                created: to_time(rp.creation_date()),
            }
        }));
    }
    Ok(found)
}
