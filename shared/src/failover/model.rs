//! What a failover acts on and what it reads of the world, in the recovery Region.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::{Failover, Promotion};

/// Why a failover runs: it decides which promotion call an Aurora global database gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The primary Region is failing: promote now, accepting the replication lag as lost data
    /// (`FailoverGlobalCluster` with `AllowDataLoss`).
    Outage,
    /// A planned move with a healthy primary: lose nothing (`SwitchoverGlobalCluster`).
    Planned,
}

/// One `[[failover.promote]]` entry, as the run acts on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// An RDS cross-Region read replica: `PromoteReadReplica`.
    RdsReplica { id: String },
    /// An Aurora cross-Region replica cluster: `PromoteReadReplicaDBCluster`.
    AuroraReplicaCluster { id: String },
    /// An Aurora global database: its secondary `target_cluster` becomes the writer.
    AuroraGlobal {
        global: String,
        target_cluster_arn: String,
    },
}

/// A CloudWatch metric in the recovery Region: name, dimension and the factor to seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LagMetric {
    pub(super) namespace: &'static str,
    pub(super) name: &'static str,
    pub(super) dimension: &'static str,
    pub(super) value: String,
    /// The metric's unit in milliseconds (1000 for a metric in seconds).
    pub(super) milliseconds_per_unit: u32,
}

impl Target {
    /// The plan's entries, in order. An entry the plan check would refuse gives none.
    pub fn all(failover: &Failover) -> Vec<Target> {
        failover.promote.iter().filter_map(Target::of).collect()
    }

    fn of(entry: &Promotion) -> Option<Target> {
        match (
            &entry.rds_replica,
            &entry.aurora_replica_cluster,
            &entry.aurora_global,
        ) {
            (Some(id), None, None) => Some(Target::RdsReplica { id: id.clone() }),
            (None, Some(id), None) => Some(Target::AuroraReplicaCluster { id: id.clone() }),
            (None, None, Some(global)) => Some(Target::AuroraGlobal {
                global: global.clone(),
                target_cluster_arn: entry.target_cluster.as_ref()?.to_string(),
            }),
            _ => None,
        }
    }

    /// How the run names it: `rds-replica:orders-dr`, `aurora-global:phoenix-global`, …
    pub fn key(&self) -> String {
        match self {
            Target::RdsReplica { id } => format!("rds-replica:{id}"),
            Target::AuroraReplicaCluster { id } => format!("aurora-replica-cluster:{id}"),
            Target::AuroraGlobal { global, .. } => format!("aurora-global:{global}"),
        }
    }

    /// The DB instance or cluster in the recovery Region that becomes writable.
    pub fn recovery_identifier(&self) -> &str {
        match self {
            Target::RdsReplica { id } | Target::AuroraReplicaCluster { id } => id,
            Target::AuroraGlobal {
                target_cluster_arn, ..
            } => target_cluster_arn
                .rsplit_once(":cluster:")
                .map_or(target_cluster_arn.as_str(), |(_, id)| id),
        }
    }

    /// The replication lag metric that estimates what an ungraceful promotion loses, read in
    /// the recovery Region (the secondary's own metric: the primary's may be gone).
    /// `AuroraGlobalDBRPOLag` is in milliseconds; `ReplicaLag` and `AuroraBinlogReplicaLag` in
    /// seconds.
    pub(super) fn lag_metric(&self) -> LagMetric {
        let (name, dimension, milliseconds_per_unit) = match self {
            Target::RdsReplica { .. } => ("ReplicaLag", "DBInstanceIdentifier", 1000),
            Target::AuroraReplicaCluster { .. } => {
                ("AuroraBinlogReplicaLag", "DBClusterIdentifier", 1000)
            }
            Target::AuroraGlobal { .. } => ("AuroraGlobalDBRPOLag", "DBClusterIdentifier", 1),
        };
        LagMetric {
            namespace: "AWS/RDS",
            name,
            dimension,
            value: self.recovery_identifier().to_owned(),
            milliseconds_per_unit,
        }
    }
}

/// A CloudWatch alarm as `DescribeAlarms` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AlarmSeen {
    pub(super) name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub(super) state: String,
    /// `StateUpdatedTimestamp`: since when it is in that state.
    pub(super) since: Option<OffsetDateTime>,
}

/// A DNS record as Route 53 lists it (`ListResourceRecordSets`): a simple record's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSeen {
    pub hosted_zone_id: String,
    /// Fully qualified, with the trailing dot, as Route 53 returns it.
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
}
