//! The plan: one TOML file that says what Lifeboat protects and how (see `docs/plan.md`).
//!
//! The types here are the contract. They generate the JSON Schema (`lifeboat plan schema`), and
//! the same schema validates every plan before it is deserialized, so a bad plan is reported
//! whole — every unknown key and impossible value, each with its path — instead of one error at a
//! time. Checks that need more than one field (a KMS key in the wrong Region, a check on a
//! database nothing copies) run afterwards, in [`check`].

mod check;
pub mod values;

use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use check::{PlanError, PlanErrors};
pub use values::{AlarmRequirement, Arn, Expectation, PlanDuration, Region};

/// A whole plan, as validated.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Lifeboat plan",
    description = "What Lifeboat protects, and how."
)]
pub struct Plan {
    /// Names the protected workload; used in tags, run-record keys, events and metrics.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// Where the workload runs today.
    pub primary_region: Region,
    /// Where Lifeboat keeps copies and fails over to. Lifeboat itself is deployed here.
    pub recovery_region: Region,
    /// S3 bucket in the recovery Region for run records, reports and locks.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub state_bucket: String,
    /// Lifeboat's own EventBridge bus in the recovery Region.
    #[serde(default = "default_event_bus")]
    #[schemars(length(min = 1, max = 256))]
    pub event_bus: String,
    #[serde(default)]
    pub copy: CopySection,
    #[serde(default)]
    pub verify: Vec<VerifyJob>,
    #[serde(default)]
    pub failover: Option<Failover>,
}

fn default_event_bus() -> String {
    "lifeboat".to_owned()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopySection {
    #[serde(default)]
    pub limits: CopyLimits,
    #[serde(default)]
    pub rds: Vec<RdsCopy>,
    #[serde(default)]
    pub backup: Vec<BackupCopy>,
}

/// AWS's copy quotas per destination Region. The defaults are AWS's published defaults; raise
/// them only where AWS raised yours, or copies fail with a quota error.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyLimits {
    /// DB snapshot copies in flight at once into the recovery Region.
    #[serde(default = "default_db_snapshot_copies")]
    #[schemars(range(min = 1, max = 1000))]
    pub db_snapshot_copies: u32,
    /// Aurora cluster snapshot copies in flight at once into the recovery Region.
    #[serde(default = "default_cluster_snapshot_copies")]
    #[schemars(range(min = 1, max = 1000))]
    pub cluster_snapshot_copies: u32,
    /// Manual DB snapshots the recovery Region may hold (AWS's quota; copies count against it).
    #[serde(default = "default_manual_snapshots")]
    #[schemars(range(min = 1, max = 100000))]
    pub manual_db_snapshots: u32,
    /// Manual DB cluster snapshots the recovery Region may hold.
    #[serde(default = "default_manual_snapshots")]
    #[schemars(range(min = 1, max = 100000))]
    pub manual_cluster_snapshots: u32,
    /// AWS Backup copy jobs in flight at once into the recovery Region.
    #[serde(default = "default_backup_copy_jobs")]
    #[schemars(range(min = 1, max = 10000))]
    pub backup_copy_jobs: u32,
}

fn default_db_snapshot_copies() -> u32 {
    20
}
fn default_cluster_snapshot_copies() -> u32 {
    5
}
fn default_manual_snapshots() -> u32 {
    100
}
fn default_backup_copy_jobs() -> u32 {
    100
}

impl Default for CopyLimits {
    fn default() -> Self {
        CopyLimits {
            db_snapshot_copies: default_db_snapshot_copies(),
            cluster_snapshot_copies: default_cluster_snapshot_copies(),
            manual_db_snapshots: default_manual_snapshots(),
            manual_cluster_snapshots: default_manual_snapshots(),
            backup_copy_jobs: default_backup_copy_jobs(),
        }
    }
}

/// One `[[copy.rds]]` entry: a DB instance, an Aurora cluster, or every DB with a tag.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RdsCopy {
    /// A DB instance identifier in the primary Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_instance: Option<String>,
    /// An Aurora DB cluster identifier in the primary Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_cluster: Option<String>,
    /// Every DB instance and cluster in the primary Region that carries this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<TagSelector>,
    /// KMS key in the recovery Region that encrypts the copies. Required for encrypted sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<Arn>,
    #[serde(default)]
    pub snapshots: SnapshotSelection,
    /// Copies older than this many days are pruned (never below `keep_at_least`).
    #[serde(default = "default_retain_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub retain_days: u32,
    /// Pruning never leaves fewer good copies than this.
    #[serde(default = "default_keep_at_least")]
    #[schemars(range(min = 1, max = 100))]
    pub keep_at_least: u32,
    /// Option group in the recovery Region (SQL Server / Oracle with options). Not with a `tag`
    /// selector (one option group fits one engine), nor with `db_cluster` (Aurora cluster
    /// snapshot copies take none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_group: Option<String>,
}

fn default_retain_days() -> u32 {
    7
}
fn default_keep_at_least() -> u32 {
    3
}

/// What a `[[copy.rds]]` entry points at, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdsSelector<'a> {
    Instance(&'a str),
    Cluster(&'a str),
    Tag(&'a TagSelector),
}

impl RdsCopy {
    /// The entry's selector. A validated plan has exactly one.
    pub fn selector(&self) -> RdsSelector<'_> {
        match (&self.db_instance, &self.db_cluster, &self.tag) {
            (Some(id), _, _) => RdsSelector::Instance(id),
            (None, Some(id), _) => RdsSelector::Cluster(id),
            (None, None, Some(tag)) => RdsSelector::Tag(tag),
            (None, None, None) => unreachable!("plan validation requires a selector"),
        }
    }
}

impl fmt::Display for RdsSelector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdsSelector::Instance(id) => write!(f, "DB instance {id}"),
            RdsSelector::Cluster(id) => write!(f, "DB cluster {id}"),
            RdsSelector::Tag(tag) => write!(f, "DBs tagged {}={}", tag.key, tag.value),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagSelector {
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    #[schemars(length(max = 256))]
    pub value: String,
}

/// Which source snapshots a `[[copy.rds]]` entry copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotSelection {
    // Plain comments, not doc comments: documented variants would make the schema a `oneOf`,
    // whose error message does not list the allowed values.
    // Only the newest available snapshot of each DB.
    #[default]
    Newest,
    // Every available snapshot younger than `retain_days`.
    All,
}

/// One `[[copy.backup]]` entry: AWS Backup recovery points to copy to the recovery Region.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupCopy {
    /// Backup vault name in the primary Region.
    #[schemars(length(min = 2, max = 50))]
    pub source_vault: String,
    /// Backup vault ARN in the recovery Region.
    pub destination_vault: Arn,
    /// IAM role AWS Backup assumes for the copy.
    pub iam_role: Arn,
    /// Resource types to copy, as AWS Backup names them (EC2, EBS, RDS, Aurora, EFS, ...).
    #[schemars(length(min = 1))]
    pub resource_types: Vec<String>,
    /// Days after which AWS Backup deletes the copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub delete_after_days: Option<u32>,
    /// Only recovery points younger than this are copied, so a first run does not copy years of
    /// backups. The copy jobs of that span are also how a run knows what is copied.
    #[serde(default = "default_copy_within")]
    pub copy_within: PlanDuration,
    /// A copy job still CREATED or RUNNING after this is reported as stuck.
    #[serde(default = "default_stuck_after")]
    pub stuck_after: PlanDuration,
}

fn default_copy_within() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(7 * 86_400))
}

fn default_stuck_after() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(24 * 3600))
}

/// One `[[verify]]` job: restore the newest copy, run SQL checks, measure, clean up.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyJob {
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_cluster: Option<String>,
    #[schemars(regex(pattern = r"^db\.[a-z0-9]+\.[a-z0-9]+$"))]
    pub instance_class: String,
    /// The isolated DB subnet group restores go into (required, unless the entry only
    /// validates AWS Backup restore tests: AWS Backup chooses where those restore).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subnet_group: String,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default = "default_max_restore_minutes")]
    #[schemars(range(min = 1, max = 1440))]
    pub max_restore_minutes: u32,
    /// The database the checks run in (PostgreSQL: default `postgres`; MySQL / MariaDB: none,
    /// so the checks name their tables with the schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub database: Option<String>,
    /// Whether the checks' connection must be encrypted.
    #[serde(default)]
    pub tls: TlsMode,
    /// How often a verification starts: a schedule tick starts a new run once this long has
    /// passed since the last one started (ticks in between advance the run in progress).
    #[serde(default = "default_verify_every")]
    pub every: PlanDuration,
    /// A backup vault in the recovery Region (AWS Backup's destination vault): restore the
    /// newest recovery point of the DB from it instead of Lifeboat's newest snapshot copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 50))]
    pub backup_vault: Option<String>,
    /// The IAM role AWS Backup restores with (`StartRestoreJob`'s `IamRoleArn`); required with
    /// `backup_vault`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_role: Option<Arn>,
    /// The name of an AWS Backup restore testing plan in the recovery Region whose restore
    /// jobs of this DB get this entry's checks, answered with `PutRestoreValidationResult`. An
    /// entry with it validates those restores and starts none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]{1,50}$"))]
    pub restore_testing_plan: Option<String>,
    #[serde(default)]
    pub checks: Vec<SqlCheck>,
}

fn default_verify_every() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(86_400))
}

/// TLS for the connection the checks run on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    // Encrypted or nothing (RDS serves TLS); the server's certificate is not verified, as with
    // PostgreSQL's sslmode=require (plain comments: see SnapshotSelection).
    #[default]
    Require,
    // Encrypted when the server offers it, plain otherwise (a test server without TLS).
    Prefer,
}

fn default_max_restore_minutes() -> u32 {
    60
}

/// A `[[verify.checks]]` entry: either `sql` with `expect`, or `freshness_sql` with `max_age`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
    /// Returns the newest timestamp in the data; its age is the measured RPO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_sql: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<PlanDuration>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    #[serde(default)]
    pub mode: FailoverMode,
    /// CloudWatch alarms (in the recovery Region) that start a failover.
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default = "default_require")]
    pub require: AlarmRequirement,
    /// How long the alarms must stay in ALARM before Lifeboat acts.
    #[serde(default = "default_sustained_for")]
    pub sustained_for: PlanDuration,
    /// After a failover, how long before another may start.
    #[serde(default = "default_cooldown")]
    pub cooldown: PlanDuration,
    /// Replication lag over this makes an ungraceful failover wait for explicit approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_data_loss: Option<PlanDuration>,
    #[serde(default)]
    pub promote: Vec<Promotion>,
    #[serde(default)]
    pub dns: Vec<DnsFlip>,
}

fn default_require() -> AlarmRequirement {
    AlarmRequirement::All
}
fn default_sustained_for() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(300))
}
fn default_cooldown() -> PlanDuration {
    PlanDuration(std::time::Duration::from_secs(6 * 3600))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailoverMode {
    // An operator approves each failover (plain comments: see SnapshotSelection).
    #[default]
    Approval,
    // Alarms fail over without a person.
    Automatic,
}

/// A `[[failover.promote]]` entry: exactly one of the three kinds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Aurora global database to fail over to `target_cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aurora_global: Option<String>,
    /// RDS cross-Region read replica (in the recovery Region) to promote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds_replica: Option<String>,
    /// Aurora cross-Region replica cluster (in the recovery Region) to promote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aurora_replica_cluster: Option<String>,
    /// For `aurora_global`: the secondary cluster in the recovery Region that becomes the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cluster: Option<Arn>,
}

/// A `[[failover.dns]]` entry: one Route 53 record flipped between primary and recovery.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsFlip {
    // The Route 53 API reference bounds a hosted zone ID at 32 characters and gives no pattern;
    // the IDs it issues are upper-case letters and digits (most, not all, begin with "Z").
    #[schemars(regex(pattern = r"^[A-Z0-9]{1,32}$"))]
    pub hosted_zone_id: String,
    #[schemars(length(min = 1, max = 255))]
    pub record: String,
    #[serde(rename = "type")]
    pub record_type: DnsRecordType,
    #[schemars(length(min = 1))]
    pub primary: String,
    #[schemars(length(min = 1))]
    pub recovery: String,
    #[serde(default = "default_ttl")]
    #[schemars(range(min = 0, max = 172800))]
    pub ttl: u32,
}

fn default_ttl() -> u32 {
    60
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DnsRecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
}

impl DnsRecordType {
    /// As Route 53 names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
        }
    }
}

impl Plan {
    /// Parses and validates a plan. `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Plan, PlanErrors> {
        check::parse(text, origin)
    }

    /// Reads a plan from a file.
    pub fn from_file(path: &Path) -> Result<Plan, PlanErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            PlanErrors::single(
                &origin,
                PlanError::whole(format!("cannot read the plan: {e}")),
            )
        })?;
        Plan::parse(&text, &origin)
    }

    /// The JSON Schema of the plan, generated from these types.
    pub fn json_schema() -> serde_json::Value {
        // TOML has no null, so an optional key is simply absent: describe `Option<T>` as `T`.
        // (With the default `anyOf: [T, null]`, an error inside T would be reported only as
        // "not valid under any of the schemas", without saying which key is wrong.)
        let mut schema =
            serde_json::to_value(schemars::schema_for!(Plan)).expect("a schema is always JSON");
        without_null(&mut schema);
        schema
    }
}

/// Rewrites `anyOf: [T, {"type": "null"}]` as `T` and `"type": [X, "null"]` as `"type": X`.
fn without_null(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(without_null);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    let is_null = |v: &Value| v.get("type").is_some_and(|t| t == "null");
    if let Some(Value::Array(choices)) = map.get("anyOf")
        && choices.len() == 2
        && choices.iter().any(is_null)
    {
        let kept = choices
            .iter()
            .find(|c| !is_null(c))
            .cloned()
            .unwrap_or_default();
        map.remove("anyOf");
        if let Value::Object(kept) = kept {
            for (key, value) in kept {
                map.entry(key).or_insert(value);
            }
        }
    }
    map.values_mut().for_each(without_null);
}
