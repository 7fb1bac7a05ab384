//! The backup copy task: the AWS Backup recovery points of each `[[copy.backup]]` entry's source
//! vault, copied to its destination vault (the recovery Region, or another account's vault
//! there), within the account's concurrent copy job quota.
//!
//! Like the snapshot copy, each run is an idempotent reconcile. What is copied is known from the
//! copy jobs AWS Backup keeps in the source Region (`ListCopyJobs`): a completed job means
//! copied, a job in flight means wait, a failed job means try again. Events are best effort, so
//! the daily schedule finds whatever they missed; an `IdempotencyToken` derived from the
//! recovery point, the destination and the attempt keeps a retry from starting a second job.

mod calls;
mod decide;
mod model;
mod report;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::{AwsClients, RegionalClients};
use crate::error::{Error, ErrorRecord};
use crate::plan::Plan;
use crate::record::{RunHeader, RunOutcome};
use crate::state::Lease;

/// The task's name in records, metrics and the lease.
pub const TASK: &str = "copy-backups";

pub use decide::{
    Asked, BackupDecision, EntryState, JobOrder, JobSlots, MAX_ATTEMPTS, asked, decide,
};
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
    /// The error behind a failed item, as it happened (its kind and next step with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

impl Item {
    /// Keeps the error behind the item, for its kind and its next step.
    pub(crate) fn keeping(self, error: &Error) -> Self {
        Item {
            error: Some(error.into()),
            ..self
        }
    }

    pub fn new(entry: usize, outcome: Outcome, detail: impl Into<String>) -> Self {
        Item {
            entry: format!("copy.backup[{entry}]"),
            resource: None,
            recovery_point: None,
            job: None,
            outcome,
            detail: detail.into(),
            error: None,
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

/// Which `[[copy.backup]]` entries a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every entry (the schedule, the CLI).
    Everything,
    /// The entries copying from this vault (a backup job completed in it), and, when given, to
    /// this destination (a copy job into it changed state).
    Vault {
        name: String,
        destination: Option<String>,
    },
}

impl Scope {
    fn covers(&self, entry: &crate::plan::BackupCopy) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Vault { name, destination } => {
                entry.source_vault == *name
                    && destination
                        .as_deref()
                        .is_none_or(|d| d == entry.destination_vault.as_str())
            }
        }
    }
}

/// The record of one backup copy run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupReport {
    #[serde(flatten)]
    pub run: RunHeader,
    pub slots: JobSlots,
    pub items: Vec<Item>,
    pub lag: Vec<BackupLag>,
}

impl BackupReport {
    /// The report of a run that failed as a whole, before it could decide anything.
    pub fn failed(header: RunHeader, error: &Error) -> Self {
        BackupReport {
            run: header.finish(RunOutcome::Failed),
            slots: JobSlots::default(),
            items: vec![Item {
                entry: "-".into(),
                resource: None,
                recovery_point: None,
                job: None,
                outcome: Outcome::Failed,
                detail: error.to_string(),
                error: Some(error.into()),
            }],
            lag: Vec::new(),
        }
    }

    pub fn items_with(&self, outcome: Outcome) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.outcome == outcome)
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.items_with(outcome).count()
    }

    /// The items that are failures ([`Outcome::is_failure`]).
    pub fn failures(&self) -> usize {
        self.items.iter().filter(|i| i.outcome.is_failure()).count()
    }

    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for item in &self.items {
            *counts.entry(item.outcome).or_default() += 1;
        }
        counts
    }
}

/// Copies what the plan's `[[copy.backup]]` entries in `scope` ask for. Per-item failures are
/// items in the report; an error is returned only when the run could not decide anything (the
/// copy jobs cannot be listed, so what is copied cannot be known).
pub async fn copy_backups(
    clients: &AwsClients,
    plan: &Plan,
    scope: &Scope,
    header: RunHeader,
    lease: Option<&Lease>,
) -> Result<BackupReport, Error> {
    let now = header.started_at;
    let primary = &clients.primary;
    let entries: Vec<usize> = (0..plan.copy.backup.len())
        .filter(|&i| scope.covers(&plan.copy.backup[i]))
        .collect();
    let oldest = entries
        .iter()
        .map(|&i| now - copy_within(plan, i))
        .min()
        .unwrap_or(now);
    let account_id = clients.account_id().await?;
    // One listing of the copy jobs serves every entry; the jobs in flight are counted apart,
    // whenever they were created, since each holds one of the account's places.
    let jobs = calls::copy_jobs(primary, Some(oldest), None).await?;
    let in_flight = calls::jobs_in_flight_into(primary, &plan.recovery_region).await?;
    let (states, mut items) = entry_states(primary, plan, &entries, &jobs, now).await;
    let decision = decide(plan, now, &account_id, in_flight, &states);
    items.extend(decision.items);
    if header.dry_run {
        items.extend(decision.orders.iter().map(|o| {
            Item::new(
                o.entry,
                Outcome::WouldStart,
                format!("copy job to {}", o.destination_vault),
            )
            .of(&o.recovery_point)
        }));
    } else {
        items.extend(calls::start_jobs(primary, decision.orders, lease).await);
    }
    items.sort_by(|a, b| report_order(a).cmp(&report_order(b)));
    let failures = items.iter().filter(|i| i.outcome.is_failure()).count();
    let outcome = RunOutcome::of(failures, items.len());
    Ok(BackupReport {
        run: header.finish(outcome),
        slots: decision.slots,
        items,
        lag: decision.lag,
    })
}

/// How far back an entry copies recovery points.
fn copy_within(plan: &Plan, entry: usize) -> time::Duration {
    time::Duration::try_from(plan.copy.backup[entry].copy_within.0).unwrap_or(time::Duration::WEEK)
}

/// Each entry's recovery points within `copy_within`, with the copy jobs; an item for each
/// entry whose source vault cannot be listed.
async fn entry_states(
    primary: &RegionalClients,
    plan: &Plan,
    entries: &[usize],
    jobs: &[CopyJob],
    now: OffsetDateTime,
) -> (Vec<EntryState>, Vec<Item>) {
    let mut states = Vec::new();
    let mut items = Vec::new();
    for &entry in entries {
        let vault = &plan.copy.backup[entry].source_vault;
        match calls::recovery_points(primary, vault, now - copy_within(plan, entry)).await {
            Ok(recovery_points) => states.push(EntryState {
                entry,
                recovery_points,
                jobs: jobs.to_vec(),
            }),
            Err(error) => items.push(Item::new(
                entry,
                Outcome::Failed,
                format!("copy.backup[{entry}].source_vault: {error}"),
            )),
        }
    }
    (states, items)
}

/// Failures first, then by entry and resource: the order an operator reads a report in.
fn report_order(item: &Item) -> (bool, &str, Option<&str>, Option<&str>) {
    (
        !item.outcome.is_failure(),
        &item.entry,
        item.resource.as_deref(),
        item.recovery_point.as_deref(),
    )
}
