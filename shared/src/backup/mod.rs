//! The backup copy task: the AWS Backup recovery points of each `[[copy.backup]]` entry's source
//! vault, copied to its destination vault (the recovery Region, or another account's vault
//! there), within the account's concurrent copy job quota.
//!
//! Like the snapshot copy, each run is an idempotent reconcile. What is copied is known from the
//! copy jobs AWS Backup keeps in the source Region (`ListCopyJobs`): a completed job means
//! copied, a job in flight means wait, a failed job means try again. Events are best effort, so
//! the daily schedule finds whatever they missed; an `IdempotencyToken` derived from the
//! recovery point, the destination and the attempt keeps a retry from starting a second job.

mod decide;
pub mod model;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use decide::{BackupDecision, EntryState, JobOrder, JobSlots, MAX_ATTEMPTS, decide};
pub use model::{CopyJob, JobState, RecoveryPoint, idempotency_token};

/// What one item of a backup copy run came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A copy job was started; AWS Backup finishes it in its own time.
    Started,
    /// A dry run would start this copy job.
    WouldStart,
    AlreadyCopied,
    /// A copy job is under way (CREATED or RUNNING).
    InFlight,
    /// No copy job place was free; the next run copies it.
    Deferred,
    /// AWS would refuse this copy as the plan stands (cold storage, RDS across Region and account).
    Refused,
    /// A copy job failed (with AWS's message), or could not be started.
    Failed,
    /// A copy job has been CREATED or RUNNING for longer than `stuck_after`.
    Stuck,
    /// The trigger named something the plan does not copy.
    Ignored,
}

impl Outcome {
    /// The one failure predicate, for the run's outcome, its metrics and the CLI's exit code.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Refused | Outcome::Failed | Outcome::Stuck)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        f.write_str(text.as_deref().unwrap_or("?"))
    }
}

/// One line of a backup copy report: what happened to one recovery point, or to an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The `[[copy.backup]]` entry, e.g. `copy.backup[0]`.
    pub entry: String,
    /// The protected resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_point: Option<String>,
    /// The copy job this item is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
}

impl Item {
    pub fn new(entry: usize, outcome: Outcome, detail: impl Into<String>) -> Self {
        Item {
            entry: format!("copy.backup[{entry}]"),
            resource: None,
            recovery_point: None,
            job: None,
            outcome,
            detail: detail.into(),
        }
    }

    pub fn of(mut self, recovery_point: &RecoveryPoint) -> Self {
        self.resource = Some(recovery_point.resource_arn.clone());
        self.recovery_point = Some(recovery_point.arn.clone());
        self
    }

    pub fn job(mut self, id: &str) -> Self {
        self.job = Some(id.to_owned());
        self
    }
}

/// How old the data in the newest copied recovery point of one resource is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupLag {
    pub resource: String,
    pub resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_copied: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub data_taken_at: Option<OffsetDateTime>,
    /// `None` when no recovery point of the resource is known to be copied.
    pub lag_seconds: Option<i64>,
}
