//! What the posture is made of: each part as `lifeboat status` prints it (text and JSON) and as
//! the page shows it, and the copy runs' lags the page charts.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pause::Paused;

/// The newest copy of one database in the recovery Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyPosture {
    pub db: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_copy: Option<String>,
    /// When the data in it was taken.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub taken_at: Option<OffsetDateTime>,
    /// Its age now: the RPO a failover to it would give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    pub copies: usize,
    /// The entry's `retain_days`, the budget the age is held to.
    pub retain_days: u32,
}

/// The newest copy of one resource in an AWS Backup destination vault of the recovery Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupCopyPosture {
    pub vault: String,
    pub resource_arn: String,
    pub newest_recovery_point: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub created: Option<OffsetDateTime>,
    /// Its age now (a copy keeps its source's creation date): the RPO a restore from it gives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    pub recovery_points: usize,
}

/// One `[[verify]]` job's last run and the one in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationPosture {
    pub job: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<LastVerification>,
    /// The phase of the run in progress, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    pub every_seconds: u64,
    /// It validates AWS Backup restore tests and runs on their schedule, not on `every`.
    pub restore_tests: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastVerification {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub verdict: crate::verify::Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<i64>,
    pub report: String,
}

/// A failover target in the recovery Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaPosture {
    pub target: String,
    /// `None`: not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub writable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
}

/// Where a failover record points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsPosture {
    pub hosted_zone_id: String,
    pub record: String,
    pub values: Vec<String>,
    /// `primary`, `recovery`, `other` or `missing`.
    pub points_to: String,
}

/// A task's last finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPosture {
    pub task: String,
    pub run_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::record::RunOutcome>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub finished_at: Option<OffsetDateTime>,
}

/// The plan's posture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    pub plan: String,
    pub recovery_region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub copies: Vec<CopyPosture>,
    /// AWS Backup's copies, per protected resource (no budget: AWS Backup keeps them per the
    /// entry's lifecycle; each copy-backups report has their copy lag).
    pub backup_copies: Vec<BackupCopyPosture>,
    pub verifications: Vec<VerificationPosture>,
    pub replicas: Vec<ReplicaPosture>,
    pub dns: Vec<DnsPosture>,
    pub last_runs: Vec<RunPosture>,
    /// A failover in progress or awaiting approval: its run id and phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_in_progress: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
    /// The budgets that are broken, each in a sentence (empty: all well).
    pub broken: Vec<String>,
}

/// One copy run's lag per database, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunLags {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub copy_lag: Vec<DbLag>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DbLag {
    pub db: String,
    /// `None`: no copy in the recovery Region at that run.
    pub lag_seconds: Option<i64>,
}

/// How far back the chart looks: the last `RECENT_RUNS` runs of the last `RECENT_DAYS` days.
pub const RECENT_DAYS: i64 = 14;
pub const RECENT_RUNS: usize = 30;
