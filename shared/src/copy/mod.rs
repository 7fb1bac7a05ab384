//! The snapshot copy task: every `[[copy.rds]]` entry's snapshots, copied from the primary to the
//! recovery Region, within AWS's copy quotas, and old copies pruned.
//!
//! Each run is an idempotent reconcile: it compares what should be in the recovery Region with
//! what is (Lifeboat's copies carry tags naming their source), starts what is missing and fits
//! the quota, and leaves the rest for the next run. Nothing waits for a copy to finish; the next
//! run sees it.

mod calls;
mod decide;
mod model;
mod presign;
mod report;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use decide::{
    Asked, CopyOrder, Decision, PruneOrder, PruneReason, Room, Slots, SourceState, asked, decide,
};
pub use model::{Snapshot, SnapshotKind, SourceDb, target_identifier};

use crate::aws::{AwsClients, RegionalClients};
use crate::error::{Error, ErrorRecord};
use crate::plan::{Plan, RdsSelector};
use crate::record::{RunHeader, RunOutcome};
use crate::state::Lease;

/// The task's name in records, metrics and the lease.
pub const TASK: &str = "copy-snapshots";

/// What one item of a copy run came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The copy was started; it finishes in AWS's time.
    Started,
    /// A dry run would start this copy.
    WouldStart,
    AlreadyCopied,
    CopyInProgress,
    /// No copy slot was free; the next run copies it.
    Deferred,
    /// Lifeboat will not copy it as the plan stands (an encrypted source without a key).
    Refused,
    Failed,
    Pruned,
    WouldPrune,
    PruneFailed,
    /// The trigger named something the plan does not protect.
    Ignored,
}

/// What a failed item failed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A snapshot is not copied (refused, or the copy failed).
    Copy,
    /// An old copy could not be deleted.
    Prune,
}

impl Outcome {
    /// The one failure predicate: the run's outcome, its metrics (`CopiesFailed`,
    /// `PrunesFailed`) and the CLI's exit code all follow it.
    pub fn failure(self) -> Option<Failure> {
        match self {
            Outcome::Refused | Outcome::Failed => Some(Failure::Copy),
            Outcome::PruneFailed => Some(Failure::Prune),
            Outcome::Started
            | Outcome::WouldStart
            | Outcome::AlreadyCopied
            | Outcome::CopyInProgress
            | Outcome::Deferred
            | Outcome::Pruned
            | Outcome::WouldPrune
            | Outcome::Ignored => None,
        }
    }

    pub fn is_failure(self) -> bool {
        self.failure().is_some()
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

/// One line of a copy report: what happened to one snapshot, copy or plan entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The source DB, e.g. "DB instance orders".
    pub db: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_snapshot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
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

    pub fn new(db: &SourceDb, outcome: Outcome, detail: impl Into<String>) -> Self {
        Item {
            db: db.to_string(),
            source_snapshot: None,
            target: None,
            outcome,
            detail: detail.into(),
            error: None,
        }
    }

    /// An item about the run as a whole, not one database.
    fn about_run(outcome: Outcome, detail: String) -> Self {
        Item {
            db: "-".into(),
            source_snapshot: None,
            target: None,
            outcome,
            detail,
            error: None,
        }
    }

    /// An item about a plan entry as a whole (it selected nothing, or its DB is missing).
    pub fn for_entry(
        entry: usize,
        selector: &RdsSelector<'_>,
        outcome: Outcome,
        detail: String,
    ) -> Self {
        let field = match selector {
            RdsSelector::Instance(_) => "db_instance",
            RdsSelector::Cluster(_) => "db_cluster",
            RdsSelector::Tag(_) => "tag",
        };
        Item {
            db: selector.to_string(),
            source_snapshot: None,
            target: None,
            outcome,
            detail: format!("copy.rds[{entry}].{field}: {detail}"),
            error: None,
        }
    }

    pub fn snapshot(mut self, snapshot: &Snapshot) -> Self {
        self.source_snapshot = Some(snapshot.arn.clone());
        self
    }

    pub fn target(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }
}

/// How old the newest good copy of one DB is: the data the recovery Region could restore today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyLag {
    pub db: String,
    pub kind: SnapshotKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_copy: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub data_taken_at: Option<OffsetDateTime>,
    /// `None` when the recovery Region has no copy at all.
    pub lag_seconds: Option<i64>,
}

/// Which part of the plan a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every `[[copy.rds]]` entry (the schedule, the CLI).
    Everything,
    /// Only the DB a snapshot belongs to (an RDS "snapshot created" event).
    SnapshotOf {
        kind: SnapshotKind,
        snapshot_id: String,
        region: String,
    },
}

/// The record of one copy run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyReport {
    #[serde(flatten)]
    pub run: RunHeader,
    pub slots: Slots,
    pub items: Vec<Item>,
    pub copy_lag: Vec<CopyLag>,
}

impl CopyReport {
    /// The report of a run that failed as a whole, before it could decide anything.
    pub fn failed(header: RunHeader, error: &Error) -> Self {
        CopyReport {
            run: header.finish(RunOutcome::Failed),
            slots: Slots::default(),
            items: vec![Item::about_run(Outcome::Failed, error.to_string()).keeping(error)],
            copy_lag: Vec::new(),
        }
    }

    /// The items that came to `outcome`.
    pub fn items_with(&self, outcome: Outcome) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.outcome == outcome)
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.items_with(outcome).count()
    }

    /// The items that failed at `what`.
    pub fn failures(&self, what: Failure) -> usize {
        self.items
            .iter()
            .filter(|i| i.outcome.failure() == Some(what))
            .count()
    }

    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for item in &self.items {
            *counts.entry(item.outcome).or_default() += 1;
        }
        counts
    }
}

/// Copies and prunes as the plan says, within `scope`. Per-item failures are items in the report;
/// an error is returned only when the run could not decide anything (the recovery Region cannot
/// be listed).
///
/// `lease` is the copy lease the run holds (`None` for a dry run, which starts nothing): no copy
/// starts without enough of it left, so a run that outlives it (the CLI has no deadline) renews
/// it, and one that lost it to another run starts nothing more.
pub async fn copy_snapshots(
    clients: &AwsClients,
    plan: &Plan,
    scope: &Scope,
    header: RunHeader,
    lease: Option<&Lease>,
) -> Result<CopyReport, Error> {
    let now = header.started_at;
    let (sources, mut items) = sources_in_scope(&clients.primary, plan, scope).await?;
    let (states, problems) = calls::source_states(&clients.primary, sources).await;
    items.extend(problems);
    let recovery = calls::recovery_inventory(&clients.recovery).await?;
    let decision = decide(plan, now, &states, &recovery);
    items.extend(decision.items);
    if header.dry_run {
        items.extend(dry_run_items(&decision.copies, &decision.prunes));
    } else {
        // Prune first: the places it frees are counted on by the copies (manual snapshot quota).
        items.extend(calls::prune_copies(&clients.recovery, decision.prunes).await);
        items.extend(calls::start_copies(clients, decision.copies, lease).await);
    }
    items.sort_by(|a, b| report_order(a).cmp(&report_order(b)));
    let copy_lag = states
        .iter()
        .map(|state| copy_lag(plan, &state.db, &recovery, now))
        .collect();
    let outcome = outcome_of(&items);
    Ok(CopyReport {
        run: header.finish(outcome),
        slots: decision.slots,
        items,
        copy_lag,
    })
}

/// The DBs the plan selects within `scope`, and an item for each entry that selects nothing.
async fn sources_in_scope(
    primary: &RegionalClients,
    plan: &Plan,
    scope: &Scope,
) -> Result<(Vec<SourceDb>, Vec<Item>), Error> {
    let (mut sources, mut items) = calls::resolve_sources(primary, plan).await;
    let Scope::SnapshotOf {
        kind,
        snapshot_id,
        region,
    } = scope
    else {
        return Ok((sources, items));
    };
    match calls::find_source_snapshot(primary, *kind, snapshot_id).await? {
        Some(snapshot) => {
            sources.retain(|db| db.kind == *kind && db.id == snapshot.db);
            if sources.is_empty() {
                // Entry errors stay: one of them may be why the DB was not found.
                items.push(ignored(format!(
                    "snapshot {snapshot_id} is of {kind} {}, which the plan does not copy",
                    snapshot.db
                )));
            } else {
                // The event scopes the run to this DB: entry errors about others are not news.
                items.clear();
            }
        }
        None => {
            sources.clear();
            items = vec![ignored(format!(
                "snapshot {snapshot_id} no longer exists in {region}"
            ))];
        }
    }
    Ok((sources, items))
}

/// What a dry run would start and prune.
fn dry_run_items(copies: &[CopyOrder], prunes: &[PruneOrder]) -> Vec<Item> {
    let would_start = copies.iter().map(|o| {
        Item::new(
            &o.db,
            Outcome::WouldStart,
            o.kms_key
                .as_ref()
                .map_or(String::new(), |k| format!("encrypted with {k}")),
        )
        .snapshot(&o.source)
        .target(&o.target_id)
    });
    let would_prune = prunes
        .iter()
        .map(|p| Item::new(&p.db, Outcome::WouldPrune, p.reason.clone()).target(&p.copy.id));
    would_start.chain(would_prune).collect()
}

/// Failures first, then by database: the order an operator reads a report in.
fn report_order(item: &Item) -> (bool, &str, Option<&str>, Option<&str>) {
    (
        !item.outcome.is_failure(),
        &item.db,
        item.source_snapshot.as_deref(),
        item.target.as_deref(),
    )
}

fn ignored(detail: String) -> Item {
    Item::about_run(Outcome::Ignored, detail)
}

fn outcome_of(items: &[Item]) -> RunOutcome {
    let failures = items.iter().filter(|i| i.outcome.is_failure()).count();
    RunOutcome::of(failures, items.len())
}

fn copy_lag(plan: &Plan, db: &SourceDb, recovery: &[Snapshot], now: OffsetDateTime) -> CopyLag {
    let newest = recovery
        .iter()
        .filter(|copy| {
            copy.kind == db.kind
                && copy.is_available()
                && copy.is_plans_copy(&plan.name)
                && copy.tags.get(model::tags::SOURCE_DB) == Some(&db.id)
        })
        .max_by_key(|copy| copy.data_taken_at());
    let taken = newest.and_then(Snapshot::data_taken_at);
    CopyLag {
        db: db.id.clone(),
        kind: db.kind,
        newest_copy: newest.map(|c| c.id.clone()),
        data_taken_at: taken,
        lag_seconds: taken.map(|t| (now - t).whole_seconds()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: Outcome) -> Item {
        Item {
            db: "x".into(),
            source_snapshot: None,
            target: None,
            outcome,
            detail: String::new(),
            error: None,
        }
    }

    #[test]
    fn one_failure_among_successes_is_partial_not_failed() {
        assert_eq!(
            outcome_of(&[item(Outcome::Started), item(Outcome::Failed)]),
            RunOutcome::Partial
        );
        assert_eq!(
            outcome_of(&[item(Outcome::Failed), item(Outcome::Refused)]),
            RunOutcome::Failed
        );
        assert_eq!(
            outcome_of(&[item(Outcome::Deferred), item(Outcome::AlreadyCopied)]),
            RunOutcome::Succeeded
        );
        assert_eq!(outcome_of(&[]), RunOutcome::Succeeded);
    }
}
