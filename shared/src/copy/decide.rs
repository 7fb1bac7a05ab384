//! The copy decision, free of I/O: given what the primary Region has and what the recovery Region
//! already holds, which copies to start, which to leave for the next run and which old copies to
//! prune. Every rule of the copy task lives here, so it is tested without AWS.

use std::cmp::Reverse;
use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::model::{Snapshot, SnapshotKind, SourceDb, copy_tags, tags, target_identifier};
use super::{Item, Outcome, Scope};
use crate::error::Error;
use crate::plan::{CopyLimits, Plan, SnapshotSelection};
use crate::trigger::Trigger;

/// A selected DB and its snapshots in the primary Region.
#[derive(Debug, Clone)]
pub struct SourceState {
    pub db: SourceDb,
    pub snapshots: Vec<Snapshot>,
}

/// A copy to start.
#[derive(Debug, Clone)]
pub struct CopyOrder {
    pub db: SourceDb,
    pub source: Snapshot,
    pub target_id: String,
    /// Recovery-Region key for the copy; `None` keeps the source's encryption state.
    pub kms_key: Option<String>,
    /// Only AWS GovCloud (US) reads a `PreSignedUrl`: CopyDBSnapshot / CopyDBClusterSnapshot
    /// "This setting applies only to AWS GovCloud (US) Regions. It's ignored in other AWS
    /// Regions." Elsewhere none is built, so nothing it needs (credentials) can fail a copy.
    pub needs_presigned_url: bool,
    pub option_group: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// A Lifeboat copy to delete.
#[derive(Debug, Clone)]
pub struct PruneOrder {
    pub db: SourceDb,
    pub copy: Snapshot,
    pub why: PruneReason,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneReason {
    /// Older than `retain_days`, beyond the newest `keep_at_least`.
    Expired,
    /// The copy failed. Its name is the one the next copy of its source needs, so the source is
    /// copied again only once this delete has succeeded.
    FailedCopy,
}

impl PruneOrder {
    /// The report item for this order once its delete returned `result`. A copy that is already
    /// gone counts as deleted. A failed copy that cannot be deleted is a failure of its source's
    /// copy, reported with the delete's error in every run until the delete succeeds, and never
    /// as "copied again next run" before then.
    pub fn item(&self, result: Result<(), &Error>) -> Item {
        let deleted = matches!(result, Ok(()) | Err(Error::NotFound { .. }));
        let item = Item::new(&self.db, Outcome::Pruned, self.reason.clone()).target(&self.copy.id);
        let item = match self.copy.tags.get(tags::SOURCE_ARN) {
            Some(source) if self.why == PruneReason::FailedCopy => Item {
                source_snapshot: Some(source.clone()),
                ..item
            },
            _ => item,
        };
        match (self.why, deleted, result) {
            (PruneReason::Expired, true, _) => item,
            (PruneReason::Expired, false, Err(error)) => Item {
                outcome: Outcome::PruneFailed,
                detail: error.to_string(),
                ..item
            }
            .keeping(error),
            (PruneReason::FailedCopy, true, _) => Item {
                outcome: Outcome::Deferred,
                detail:
                    "the earlier copy failed and was deleted; the next run copies the snapshot \
                         again"
                        .to_owned(),
                ..item
            },
            (PruneReason::FailedCopy, false, Err(error)) => Item {
                outcome: Outcome::Failed,
                detail: format!(
                    "the earlier copy failed and could not be deleted, so the snapshot cannot be \
                     copied again until it is (each run retries the delete): {error}"
                ),
                ..item
            }
            .keeping(error),
            (_, false, Ok(())) => unreachable!("Ok counts as deleted"),
        }
    }
}

/// The recovery Region's room for new copies of one snapshot kind: copies in flight against the
/// copy quota, and manual snapshots held against the manual snapshot quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    pub copies_in_flight: u32,
    pub copy_limit: u32,
    pub manual_snapshots: u32,
    pub manual_limit: u32,
}

/// The room of each kind, as counted before the run started anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slots {
    pub instance: Room,
    pub cluster: Room,
}

impl Slots {
    pub fn count(recovery: &[Snapshot], limits: &CopyLimits) -> Self {
        let room = |kind, copy_limit, manual_limit| Room {
            copies_in_flight: recovery
                .iter()
                .filter(|s| s.kind == kind && s.is_copy_in_flight())
                .count() as u32,
            copy_limit,
            manual_snapshots: recovery.iter().filter(|s| s.kind == kind).count() as u32,
            manual_limit,
        };
        Slots {
            instance: room(
                SnapshotKind::Instance,
                limits.db_snapshot_copies,
                limits.manual_db_snapshots,
            ),
            cluster: room(
                SnapshotKind::Cluster,
                limits.cluster_snapshot_copies,
                limits.manual_cluster_snapshots,
            ),
        }
    }

    pub fn of(&self, kind: SnapshotKind) -> &Room {
        match kind {
            SnapshotKind::Instance => &self.instance,
            SnapshotKind::Cluster => &self.cluster,
        }
    }
}

/// Why a copy must wait: the limit that is full, and the plan key that sets it.
fn limit_reached(
    room: &Room,
    kind: SnapshotKind,
    started: u32,
    pruned: u32,
) -> Option<(u32, &'static str, &'static str)> {
    let (copy_key, manual_key) = match kind {
        SnapshotKind::Instance => ("db_snapshot_copies", "manual_db_snapshots"),
        SnapshotKind::Cluster => ("cluster_snapshot_copies", "manual_cluster_snapshots"),
    };
    if room.copies_in_flight + started >= room.copy_limit {
        return Some((room.copy_limit, copy_key, "copy slots"));
    }
    // Copies pruned in this run free their place for the copies it starts.
    if (room.manual_snapshots + started).saturating_sub(pruned) >= room.manual_limit {
        return Some((room.manual_limit, manual_key, "manual snapshots"));
    }
    None
}

#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub copies: Vec<CopyOrder>,
    pub prunes: Vec<PruneOrder>,
    /// Everything decided that is not a call to make: already copied, deferred, refused.
    pub items: Vec<Item>,
    pub slots: Slots,
}

/// Decides one run: what the plan asks for, less what the recovery Region holds or the plan
/// refuses, copied newest first as far as the quotas allow; and the old and failed copies pruned.
pub fn decide(
    plan: &Plan,
    now: OffsetDateTime,
    sources: &[SourceState],
    recovery: &[Snapshot],
) -> Decision {
    let slots = Slots::count(recovery, &plan.copy.limits);
    let (mut candidates, mut items) = candidates(plan, now, sources, recovery);
    let prunes: Vec<PruneOrder> = sources
        .iter()
        .flat_map(|state| prunes(plan, now, state, recovery))
        .collect();
    // When the quota is short, every DB gets its newest snapshot copied before any DB gets an
    // older one.
    candidates.sort_by_key(|c| (c.rank, Reverse(c.snapshot.created)));
    let (copies, deferred) = within_room(plan, &slots, &prunes, candidates);
    items.extend(deferred);
    Decision {
        copies,
        prunes,
        items,
        slots,
    }
}

/// A snapshot that needs a copy, if the quotas leave room for it.
struct Candidate<'a> {
    /// Its rank within its DB (0 = newest).
    rank: usize,
    db: &'a SourceDb,
    snapshot: &'a Snapshot,
    target_id: String,
}

/// What one selected snapshot needs, before the quotas are counted.
enum Need {
    Copy,
    /// No copy: the report says why (already copied, in progress, refused).
    Report(Item),
    /// No copy and no item: its failed copy is pruned in this run, and the prune's item tells
    /// whether the delete freed the name for the next run's copy.
    Prune,
}

/// The snapshots each DB's entry selects that need a copy, and the items of those that don't.
fn candidates<'a>(
    plan: &Plan,
    now: OffsetDateTime,
    sources: &'a [SourceState],
    recovery: &[Snapshot],
) -> (Vec<Candidate<'a>>, Vec<Item>) {
    let by_id: HashMap<(SnapshotKind, &str), &Snapshot> = recovery
        .iter()
        .map(|s| ((s.kind, s.id.as_str()), s))
        .collect();
    let mut candidates = Vec::new();
    let mut items = Vec::new();
    for state in sources {
        let entry = &plan.copy.rds[state.db.entry];
        let wanted = selected(state, entry.snapshots, entry.retain_days, now);
        for (rank, snapshot) in wanted.into_iter().enumerate() {
            // The copy's name is deterministic: whatever holds it is this source's copy.
            let target_id = target_identifier(&snapshot.arn, &snapshot.id);
            let copy = by_id.get(&(snapshot.kind, target_id.as_str())).copied();
            match need(plan, &state.db, snapshot, copy) {
                Need::Copy => candidates.push(Candidate {
                    rank,
                    db: &state.db,
                    snapshot,
                    target_id,
                }),
                Need::Report(item) => items.push(item),
                Need::Prune => {}
            }
        }
    }
    (candidates, items)
}

fn need(plan: &Plan, db: &SourceDb, snapshot: &Snapshot, copy: Option<&Snapshot>) -> Need {
    match copy {
        Some(copy) => existing_copy(plan, db, snapshot, copy),
        None => refusal(plan, db, snapshot).map_or(Need::Copy, Need::Report),
    }
}

/// What the copy that already holds the name of `snapshot`'s copy says.
fn existing_copy(plan: &Plan, db: &SourceDb, snapshot: &Snapshot, copy: &Snapshot) -> Need {
    let (outcome, detail) = match copy.status.as_str() {
        "available" => (
            Outcome::AlreadyCopied,
            "already in the recovery Region".to_owned(),
        ),
        "failed" if copy.is_plans_copy(&plan.name) => return Need::Prune,
        "failed" => (
            Outcome::Failed,
            format!(
                "a failed copy {} that plan {} did not make holds the copy's name; \
                 delete it to copy the snapshot again",
                copy.id, plan.name
            ),
        ),
        status => (Outcome::CopyInProgress, format!("copy is {status}")),
    };
    Need::Report(
        Item::new(db, outcome, detail)
            .snapshot(snapshot)
            .target(&copy.id),
    )
}

/// Why the plan as it stands cannot copy `snapshot`, if it cannot.
fn refusal(plan: &Plan, db: &SourceDb, snapshot: &Snapshot) -> Option<Item> {
    let entry = &plan.copy.rds[db.entry];
    let detail = if snapshot.encrypted && entry.kms_key.is_none() {
        format!(
            "copy.rds[{}].kms_key: snapshot {} is encrypted; set kms_key to a KMS key \
             in {} to copy it",
            db.entry, snapshot.id, plan.recovery_region
        )
    } else if let (Some(group), None) = (snapshot.custom_option_group(), &entry.option_group) {
        format!(
            "copy.rds[{}].option_group: snapshot {} uses option group {group}, \
             which does not exist in {}; set option_group to its counterpart \
             there (SQL Server and Oracle with TDE cannot be copied without one)",
            db.entry, snapshot.id, plan.recovery_region
        )
    } else {
        return None;
    };
    Some(Item::new(db, Outcome::Refused, detail).snapshot(snapshot))
}

/// The candidates' copies, in their order, as far as each kind's room allows; the rest deferred
/// to the next run.
fn within_room(
    plan: &Plan,
    slots: &Slots,
    prunes: &[PruneOrder],
    candidates: Vec<Candidate<'_>>,
) -> (Vec<CopyOrder>, Vec<Item>) {
    // Copies pruned in this run free their place in the manual snapshot quota.
    let freed = |kind| prunes.iter().filter(|p| p.copy.kind == kind).count() as u32;
    let mut started = HashMap::<SnapshotKind, u32>::new();
    let mut copies = Vec::new();
    let mut deferred = Vec::new();
    for candidate in candidates {
        let kind = candidate.snapshot.kind;
        let used = started.entry(kind).or_default();
        match limit_reached(slots.of(kind), kind, *used, freed(kind)) {
            Some(limit) => deferred.push(deferral(plan, &candidate, limit)),
            None => {
                *used += 1;
                copies.push(copy_order(plan, candidate));
            }
        }
    }
    (copies, deferred)
}

fn deferral(plan: &Plan, candidate: &Candidate<'_>, (limit, key, what): (u32, &str, &str)) -> Item {
    let kind = candidate.snapshot.kind;
    Item::new(
        candidate.db,
        Outcome::Deferred,
        format!(
            "all {limit} {kind} {what} in {} are taken (copy.limits.{key}); the next run \
             copies it",
            plan.recovery_region
        ),
    )
    .snapshot(candidate.snapshot)
    .target(&candidate.target_id)
}

fn copy_order(plan: &Plan, candidate: Candidate<'_>) -> CopyOrder {
    let Candidate {
        db,
        snapshot,
        target_id,
        ..
    } = candidate;
    let entry = &plan.copy.rds[db.entry];
    // AWS encrypts an unencrypted DB snapshot when a key is given, but refuses to encrypt an
    // unencrypted cluster snapshot on copy.
    let kms_key = match (snapshot.kind, snapshot.encrypted) {
        (SnapshotKind::Cluster, false) => None,
        _ => entry.kms_key.as_ref().map(|key| key.to_string()),
    };
    CopyOrder {
        db: db.clone(),
        source: snapshot.clone(),
        target_id,
        kms_key,
        needs_presigned_url: snapshot.encrypted && is_govcloud(plan),
        option_group: entry.option_group.clone(),
        tags: copy_tags(&plan.name, snapshot, plan.primary_region.as_str()),
    }
}

fn is_govcloud(plan: &Plan) -> bool {
    [&plan.primary_region, &plan.recovery_region]
        .iter()
        .all(|region| region.partition() == "aws-us-gov")
}

/// The snapshots of one DB that its entry asks to have in the recovery Region, newest first.
fn selected(
    state: &SourceState,
    selection: SnapshotSelection,
    retain_days: u32,
    now: OffsetDateTime,
) -> Vec<&Snapshot> {
    let mut available: Vec<&Snapshot> = state
        .snapshots
        .iter()
        .filter(|s| s.is_available())
        .collect();
    available.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    match selection {
        SnapshotSelection::Newest => available.into_iter().take(1).collect(),
        SnapshotSelection::All => {
            let oldest = now - Duration::days(retain_days.into());
            available
                .into_iter()
                .filter(|s| s.created.is_some_and(|c| c > oldest))
                .collect()
        }
    }
}

/// Lifeboat's copies of one DB to delete: those older than `retain_days` beyond the newest
/// `keep_at_least` good ones, and failed copies (which would otherwise block their target name
/// forever). Only this plan's copies ([`Snapshot::is_plans_copy`]) are ever considered, or
/// counted toward `keep_at_least`.
fn prunes(
    plan: &Plan,
    now: OffsetDateTime,
    state: &SourceState,
    recovery: &[Snapshot],
) -> Vec<PruneOrder> {
    let entry = &plan.copy.rds[state.db.entry];
    let ours: Vec<&Snapshot> = recovery
        .iter()
        .filter(|copy| {
            copy.kind == state.db.kind
                && copy.is_plans_copy(&plan.name)
                && copy.tags.get(tags::SOURCE_DB) == Some(&state.db.id)
        })
        .collect();
    let mut orders: Vec<PruneOrder> = ours
        .iter()
        .filter(|copy| copy.status == "failed")
        .map(|copy| PruneOrder {
            db: state.db.clone(),
            copy: (*copy).clone(),
            why: PruneReason::FailedCopy,
            reason: "the copy failed; it is deleted so the snapshot can be copied again".to_owned(),
        })
        .collect();

    let mut good: Vec<&Snapshot> = ours
        .into_iter()
        .filter(|copy| copy.is_available())
        .collect();
    good.sort_by_key(|copy| Reverse(copy.data_taken_at()));
    let cutoff = now - Duration::days(entry.retain_days.into());
    for copy in good.into_iter().skip(entry.keep_at_least as usize) {
        if copy.data_taken_at().is_some_and(|taken| taken < cutoff) {
            orders.push(PruneOrder {
                db: state.db.clone(),
                copy: copy.clone(),
                why: PruneReason::Expired,
                reason: format!(
                    "older than retain_days = {} and {} newer copies are kept",
                    entry.retain_days, entry.keep_at_least
                ),
            });
        }
    }
    orders
}

/// What a trigger asks of the snapshot copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A run over this scope.
    Copy(Scope),
    /// Nothing: the event is another task's, or from another Region; why, for the answer.
    Ignored { reason: String },
}

/// What `trigger` asks of the snapshot copy under `plan`: the schedule and the CLI every entry,
/// a snapshot created in the primary Region its DB, anything else nothing, with the reason.
pub fn asked(trigger: &Trigger, plan: &Plan) -> Asked {
    let ignored = |reason: String| Asked::Ignored { reason };
    match trigger {
        Trigger::Schedule { .. } | Trigger::Manual => Asked::Copy(Scope::Everything),
        Trigger::SnapshotCreated { region, .. } if region != plan.primary_region.as_str() => {
            ignored(format!(
                "snapshot is in {region}; the plan copies from {}",
                plan.primary_region
            ))
        }
        Trigger::SnapshotCreated {
            kind,
            snapshot_id,
            region,
            ..
        } => Asked::Copy(Scope::SnapshotOf {
            kind: *kind,
            snapshot_id: snapshot_id.clone(),
            region: region.clone(),
        }),
        Trigger::BackupJobCompleted { .. } | Trigger::CopyJobChanged { .. } => ignored(format!(
            "{} is an AWS Backup event: copy-backups acts on it",
            trigger.describe()
        )),
        Trigger::VerificationResourceChanged { .. } | Trigger::RestoreJobCompleted { .. } => {
            ignored(format!("{}: verify-restore acts on it", trigger.describe()))
        }
        Trigger::AlarmChanged { .. } | Trigger::Runbook(_) => {
            ignored(format!("{}: the failover acts on it", trigger.describe()))
        }
        Trigger::Ignored { reason } => ignored(reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;

    use super::*;

    const PLAN: &str = r#"
        name = "tracking"
        primary_region = "us-west-2"
        recovery_region = "us-east-2"
        state_bucket = "tracking-dr-state"
        [copy.limits]
        db_snapshot_copies = 3
        cluster_snapshot_copies = 1
        [[copy.rds]]
        db_instance = "orders"
        kms_key = "arn:aws:kms:us-east-2:111122223333:key/k1"
        snapshots = "all"
        retain_days = 7
        keep_at_least = 2
        [[copy.rds]]
        db_instance = "billing"
        [[copy.rds]]
        db_cluster = "phoenix"
        kms_key = "arn:aws:kms:us-east-2:111122223333:key/k1"
    "#;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn plan() -> Plan {
        Plan::parse(PLAN, "test").unwrap()
    }

    fn source(kind: SnapshotKind, db: &str, id: &str, days_ago: i64, encrypted: bool) -> Snapshot {
        Snapshot {
            kind,
            id: id.into(),
            arn: format!("arn:aws:rds:us-west-2:111122223333:snapshot:{id}"),
            db: db.into(),
            created: Some(NOW - Duration::days(days_ago)),
            status: "available".into(),
            encrypted,
            tags: BTreeMap::new(),
            source_region: None,
            option_group: None,
        }
    }

    /// Snapshots `<db>-<days>` of an unencrypted DB instance, one per day ago in `days`.
    fn daily(db: &str, days: std::ops::Range<i64>) -> Vec<Snapshot> {
        days.map(|d| source(SnapshotKind::Instance, db, &format!("{db}-{d}"), d, false))
            .collect()
    }

    fn copy_of(plan: &Plan, source: &Snapshot, status: &str) -> Snapshot {
        Snapshot {
            id: target_identifier(&source.arn, &source.id),
            arn: format!("arn:aws:rds:us-east-2:111122223333:snapshot:{}", source.id),
            status: status.into(),
            tags: copy_tags(&plan.name, source, "us-west-2")
                .into_iter()
                .collect(),
            source_region: Some("us-west-2".into()),
            ..source.clone()
        }
    }

    fn state(entry: usize, kind: SnapshotKind, id: &str, snapshots: Vec<Snapshot>) -> SourceState {
        SourceState {
            db: SourceDb {
                entry,
                kind,
                id: id.into(),
            },
            snapshots,
        }
    }

    fn outcomes(decision: &Decision, outcome: Outcome) -> usize {
        decision
            .items
            .iter()
            .filter(|i| i.outcome == outcome)
            .count()
    }

    #[test]
    fn newest_selection_copies_only_the_newest_available_snapshot() {
        let plan = plan();
        let mut creating = source(SnapshotKind::Instance, "billing", "billing-3", 0, false);
        creating.status = "creating".into();
        let sources = [state(
            1,
            SnapshotKind::Instance,
            "billing",
            vec![
                source(SnapshotKind::Instance, "billing", "billing-1", 2, false),
                source(SnapshotKind::Instance, "billing", "billing-2", 1, false),
                creating,
            ],
        )];
        let decision = decide(&plan, NOW, &sources, &[]);
        assert_eq!(decision.copies.len(), 1);
        assert_eq!(decision.copies[0].source.id, "billing-2");
        assert_eq!(
            decision.copies[0].kms_key, None,
            "no key in the plan, unencrypted source"
        );
    }

    #[test]
    fn all_selection_copies_what_is_younger_than_retain_days() {
        let plan = plan();
        let snaps = daily("orders", 0..10);
        let decision = decide(
            &plan,
            NOW,
            &[state(0, SnapshotKind::Instance, "orders", snaps)],
            &[],
        );
        // Days 0..=6 are younger than 7 days; the limit of 3 copy slots lets 3 start.
        assert_eq!(decision.copies.len(), 3);
        assert_eq!(outcomes(&decision, Outcome::Deferred), 4);
        let started: Vec<&str> = decision
            .copies
            .iter()
            .map(|c| c.source.id.as_str())
            .collect();
        assert_eq!(
            started,
            ["orders-0", "orders-1", "orders-2"],
            "newest first"
        );
    }

    #[test]
    fn copies_already_in_the_recovery_region_are_not_started_again() {
        let plan = plan();
        let snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, false);
        let existing = copy_of(&plan, &snap, "available");
        let decision = decide(
            &plan,
            NOW,
            &[state(1, SnapshotKind::Instance, "billing", vec![snap])],
            &[existing],
        );
        assert!(decision.copies.is_empty());
        assert_eq!(outcomes(&decision, Outcome::AlreadyCopied), 1);
    }

    #[test]
    fn in_flight_copies_take_slots_and_the_newest_of_each_db_goes_first() {
        let plan = plan();
        // Two copies are in flight (of anything), so 1 of 3 instance slots is free.
        let busy: Vec<Snapshot> = (0..2)
            .map(|i| {
                copy_of(
                    &plan,
                    &source(
                        SnapshotKind::Instance,
                        "other",
                        &format!("other-{i}"),
                        0,
                        false,
                    ),
                    "creating",
                )
            })
            .collect();
        let sources = [
            state(
                0,
                SnapshotKind::Instance,
                "orders",
                vec![
                    source(SnapshotKind::Instance, "orders", "orders-new", 0, false),
                    source(SnapshotKind::Instance, "orders", "orders-old", 1, false),
                ],
            ),
            state(
                1,
                SnapshotKind::Instance,
                "billing",
                vec![source(
                    SnapshotKind::Instance,
                    "billing",
                    "billing-new",
                    1,
                    false,
                )],
            ),
        ];
        let decision = decide(&plan, NOW, &sources, &busy);
        assert_eq!(decision.slots.instance.copies_in_flight, 2);
        assert_eq!(decision.copies.len(), 1);
        assert_eq!(decision.copies[0].source.id, "orders-new");
        assert_eq!(outcomes(&decision, Outcome::Deferred), 2);
    }

    #[test]
    fn the_manual_snapshot_quota_caps_copies_and_pruning_makes_room() {
        let mut plan = plan();
        plan.copy.limits.db_snapshot_copies = 20;
        plan.copy.limits.manual_db_snapshots = 4;
        // Three copies are already stored, all older than retain_days; keep_at_least = 2 lets
        // one be pruned, which frees one place for this run.
        let stored: Vec<Snapshot> = (10..13)
            .map(|d| {
                copy_of(
                    &plan,
                    &source(
                        SnapshotKind::Instance,
                        "orders",
                        &format!("orders-{d}"),
                        d,
                        false,
                    ),
                    "available",
                )
            })
            .collect();
        let fresh = daily("orders", 0..3);
        let decision = decide(
            &plan,
            NOW,
            &[state(0, SnapshotKind::Instance, "orders", fresh)],
            &stored,
        );
        assert_eq!(decision.prunes.len(), 1);
        assert_eq!(decision.copies.len(), 2, "4 allowed - 3 stored + 1 pruned");
        let deferred: Vec<&Item> = decision
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Deferred)
            .collect();
        assert_eq!(deferred.len(), 1);
        assert!(
            deferred[0]
                .detail
                .contains("copy.limits.manual_db_snapshots"),
            "{}",
            deferred[0].detail
        );
    }

    #[test]
    fn encrypted_source_without_a_key_is_refused_naming_the_field() {
        let plan = plan();
        let snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, true);
        let decision = decide(
            &plan,
            NOW,
            &[state(1, SnapshotKind::Instance, "billing", vec![snap])],
            &[],
        );
        assert!(decision.copies.is_empty());
        let refused = &decision.items[0];
        assert_eq!(refused.outcome, Outcome::Refused);
        assert!(
            refused
                .detail
                .starts_with("copy.rds[1].kms_key: snapshot billing-1 is encrypted"),
            "{}",
            refused.detail
        );
    }

    #[test]
    fn encryption_follows_aws_rules_per_kind() {
        let plan = plan();
        let sources = [
            state(
                0,
                SnapshotKind::Instance,
                "orders",
                vec![source(SnapshotKind::Instance, "orders", "o", 0, false)],
            ),
            state(
                2,
                SnapshotKind::Cluster,
                "phoenix",
                vec![source(SnapshotKind::Cluster, "phoenix", "p", 0, false)],
            ),
        ];
        let decision = decide(&plan, NOW, &sources, &[]);
        let order = |id: &str| decision.copies.iter().find(|c| c.source.id == id).unwrap();
        assert_eq!(
            order("o").kms_key.as_deref(),
            Some("arn:aws:kms:us-east-2:111122223333:key/k1")
        );
        assert!(!order("o").needs_presigned_url);
        assert_eq!(
            order("p").kms_key,
            None,
            "AWS cannot encrypt a cluster snapshot on copy"
        );

        let encrypted = [state(
            2,
            SnapshotKind::Cluster,
            "phoenix",
            vec![source(SnapshotKind::Cluster, "phoenix", "e", 0, true)],
        )];
        let decision = decide(&plan, NOW, &encrypted, &[]);
        assert!(decision.copies[0].kms_key.is_some());
    }

    #[test]
    fn pruning_keeps_at_least_the_newest_and_never_touches_other_snapshots() {
        let plan = plan();
        let old: Vec<Snapshot> = daily("orders", 10..15);
        let mut recovery: Vec<Snapshot> =
            old.iter().map(|s| copy_of(&plan, s, "available")).collect();
        // A hand-made snapshot and another plan's copy, both old: never pruned.
        let mut manual = copy_of(&plan, &old[0], "available");
        manual.id = "hand-made".into();
        manual.tags.clear();
        let mut foreign = copy_of(&plan, &old[1], "available");
        foreign.id = "other-plan-copy".into();
        foreign
            .tags
            .insert(tags::PLAN.into(), "another-plan".into());
        recovery.extend([manual, foreign]);

        let decision = decide(
            &plan,
            NOW,
            &[state(0, SnapshotKind::Instance, "orders", old)],
            &recovery,
        );
        let pruned: Vec<&str> = decision
            .prunes
            .iter()
            .map(|p| p.copy.tags[tags::SOURCE_ARN].rsplit(':').next().unwrap())
            .collect();
        // keep_at_least = 2: orders-10 and orders-11 stay, the three older go.
        assert_eq!(pruned, ["orders-12", "orders-13", "orders-14"]);
    }

    #[test]
    fn failed_copies_are_deleted_and_their_source_reported_by_the_delete() {
        let plan = plan();
        let snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, false);
        let failed = copy_of(&plan, &snap, "failed");
        let decision = decide(
            &plan,
            NOW,
            &[state(
                1,
                SnapshotKind::Instance,
                "billing",
                vec![snap.clone()],
            )],
            &[failed],
        );
        assert_eq!(decision.prunes.len(), 1);
        let order = &decision.prunes[0];
        assert_eq!(order.why, PruneReason::FailedCopy);
        assert!(
            decision.copies.is_empty(),
            "the name is taken until the failed copy is gone"
        );
        assert!(
            decision.items.is_empty(),
            "only the delete can say what happens next: {:?}",
            decision.items
        );

        let deleted = order.item(Ok(()));
        assert_eq!(deleted.outcome, Outcome::Deferred);
        assert_eq!(deleted.source_snapshot.as_deref(), Some(snap.arn.as_str()));
        assert!(
            deleted.detail.contains("next run copies"),
            "{}",
            deleted.detail
        );
    }

    #[test]
    fn a_failed_copy_that_cannot_be_deleted_is_a_failure_with_the_deletes_error() {
        let plan = plan();
        let snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, false);
        let decision = decide(
            &plan,
            NOW,
            &[state(
                1,
                SnapshotKind::Instance,
                "billing",
                vec![snap.clone()],
            )],
            &[copy_of(&plan, &snap, "failed")],
        );
        // DeleteDBSnapshot needs the snapshot to be `available`.
        let refusal = Error::Aws {
            action: "rds:DeleteDBSnapshot".into(),
            resource: "DB snapshot x".into(),
            region: "us-east-2".parse().unwrap(),
            code: Some("InvalidDBSnapshotState".into()),
            message: "Cannot delete the snapshot because it is not available".into(),
            retryable: false,
            source: None,
        };
        let item = decision.prunes[0].item(Err(&refusal));
        assert_eq!(item.outcome, Outcome::Failed);
        assert!(item.outcome.is_failure());
        assert!(
            item.detail.contains("InvalidDBSnapshotState") || item.detail.contains("not available"),
            "{}",
            item.detail
        );
        assert!(!item.detail.contains("next run copies"), "{}", item.detail);
        assert_eq!(item.source_snapshot.as_deref(), Some(snap.arn.as_str()));

        // An old copy whose delete fails is a failed prune.
        let mut expired = decision.prunes[0].clone();
        expired.why = PruneReason::Expired;
        assert_eq!(expired.item(Err(&refusal)).outcome, Outcome::PruneFailed);
        assert_eq!(expired.item(Ok(())).outcome, Outcome::Pruned);
    }

    #[test]
    fn a_failed_item_keeps_its_error_for_the_report_and_a_done_one_none() {
        let plan = plan();
        let snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, false);
        let decision = decide(
            &plan,
            NOW,
            &[state(
                1,
                SnapshotKind::Instance,
                "billing",
                vec![snap.clone()],
            )],
            &[copy_of(&plan, &snap, "failed")],
        );
        let denied = crate::error::classify(
            Some("AccessDenied".into()),
            "not authorized".into(),
            "rds:DeleteDBSnapshot",
            "DB snapshot x",
            &"us-east-2".parse().unwrap(),
            false,
        );
        let mut expired = decision.prunes[0].clone();
        expired.why = PruneReason::Expired;
        let failed = expired.item(Err(&denied));
        let kept = failed.error.expect("the failed prune keeps its error");
        assert_eq!(kept.kind, "AccessDenied");
        assert_eq!(kept.message, denied.to_string());
        assert_eq!(kept.next_step, denied.next_step());
        assert_eq!(expired.item(Ok(())).error, None);
        assert_eq!(
            decision.prunes[0]
                .item(Err(&denied))
                .error
                .map(|e| e.kind)
                .as_deref(),
            Some("AccessDenied")
        );
    }

    #[test]
    fn a_copy_made_in_the_recovery_region_with_lifeboats_tags_is_never_pruned_or_counted() {
        let plan = plan();
        // Five old copies of orders; keep_at_least = 2 keeps the two newest.
        let old = daily("orders", 10..15);
        let mut recovery: Vec<Snapshot> =
            old.iter().map(|s| copy_of(&plan, s, "available")).collect();
        // A legal hold copied from the newest copy inside the recovery Region with CopyTags:
        // every Lifeboat tag, another name. It is newer than all of Lifeboat's copies.
        let mut hold = copy_of(
            &plan,
            &source(SnapshotKind::Instance, "orders", "orders-1", 1, false),
            "available",
        );
        hold.id = "legal-hold-orders".into();
        recovery.push(hold);
        let decision = decide(
            &plan,
            NOW,
            &[state(0, SnapshotKind::Instance, "orders", old)],
            &recovery,
        );
        let pruned: Vec<&str> = decision.prunes.iter().map(|p| p.copy.id.as_str()).collect();
        assert!(!pruned.contains(&"legal-hold-orders"), "{pruned:?}");
        assert_eq!(
            pruned.len(),
            3,
            "the hold does not count toward keep_at_least: {pruned:?}"
        );
    }

    #[test]
    fn a_presigned_url_is_built_only_inside_govcloud() {
        let encrypted = |plan: &Plan| {
            let decision = decide(
                plan,
                NOW,
                &[state(
                    2,
                    SnapshotKind::Cluster,
                    "phoenix",
                    vec![source(SnapshotKind::Cluster, "phoenix", "e", 0, true)],
                )],
                &[],
            );
            decision.copies[0].needs_presigned_url
        };
        assert!(
            !encrypted(&plan()),
            "commercial Regions ignore PreSignedUrl"
        );
        let gov = Plan::parse(
            &PLAN
                .replace("us-west-2", "us-gov-west-1")
                .replace("us-east-2", "us-gov-east-1")
                .replace("arn:aws:kms", "arn:aws-us-gov:kms"),
            "test",
        )
        .unwrap();
        assert!(encrypted(&gov));
    }

    #[test]
    fn a_snapshot_with_a_custom_option_group_needs_option_group_in_its_entry() {
        let mut plan = plan();
        let mut snap = source(SnapshotKind::Instance, "billing", "billing-1", 0, false);
        snap.option_group = Some("sqlserver-tde".into());
        let mut default_group = source(SnapshotKind::Instance, "billing", "billing-0", 1, false);
        default_group.option_group = Some("default:sqlserver-se-15-00".into());
        let sources = [state(
            1,
            SnapshotKind::Instance,
            "billing",
            vec![snap.clone(), default_group],
        )];
        plan.copy.rds[1].snapshots = SnapshotSelection::All;
        let decision = decide(&plan, NOW, &sources, &[]);
        let refused: Vec<&Item> = decision
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "{:?}", decision.items);
        assert!(
            refused[0].detail.starts_with(
                "copy.rds[1].option_group: snapshot billing-1 uses option group sqlserver-tde"
            ),
            "{}",
            refused[0].detail
        );
        assert_eq!(decision.copies.len(), 1, "the default group needs nothing");
        assert_eq!(decision.copies[0].source.id, "billing-0");

        plan.copy.rds[1].option_group = Some("sqlserver-tde-dr".into());
        let decision = decide(&plan, NOW, &sources, &[]);
        assert_eq!(decision.copies.len(), 2);
        assert!(
            decision
                .copies
                .iter()
                .all(|c| c.option_group.as_deref() == Some("sqlserver-tde-dr"))
        );
    }

    fn event(name: &str) -> Trigger {
        let text = match name {
            "schedule" => include_str!("../../../events/schedule.json"),
            "rds-snapshot-created" => include_str!("../../../events/rds-snapshot-created.json"),
            "rds-cluster-snapshot-created" => {
                include_str!("../../../events/rds-cluster-snapshot-created.json")
            }
            "backup-job-completed" => include_str!("../../../events/backup-job-completed.json"),
            "runbook-execute" => include_str!("../../../events/runbook-execute.json"),
            "rds-verify-instance-event" => {
                include_str!("../../../events/rds-verify-instance-event.json")
            }
            other => panic!("no event {other}"),
        };
        Trigger::from_event(&serde_json::from_str(text).unwrap()).unwrap()
    }

    fn ignored_because(asked: Asked) -> String {
        match asked {
            Asked::Ignored { reason } => reason,
            other => panic!("asked for {other:?}"),
        }
    }

    #[test]
    fn each_event_asks_the_snapshot_copy_for_what_it_says() {
        let plan = plan();
        assert_eq!(
            asked(&event("schedule"), &plan),
            Asked::Copy(Scope::Everything)
        );
        for (name, kind) in [
            ("rds-snapshot-created", SnapshotKind::Instance),
            ("rds-cluster-snapshot-created", SnapshotKind::Cluster),
        ] {
            match asked(&event(name), &plan) {
                Asked::Copy(Scope::SnapshotOf {
                    kind: asked_kind,
                    region,
                    ..
                }) => {
                    assert_eq!(asked_kind, kind, "{name}");
                    assert_eq!(region, "us-west-2", "{name}");
                }
                other => panic!("{name} asked for {other:?}"),
            }
        }
        let backup = ignored_because(asked(&event("backup-job-completed"), &plan));
        assert!(
            backup.ends_with("is an AWS Backup event: copy-backups acts on it"),
            "{backup}"
        );
        let runbook = ignored_because(asked(&event("runbook-execute"), &plan));
        assert!(runbook.ends_with("the failover acts on it"), "{runbook}");
        let verify = ignored_because(asked(&event("rds-verify-instance-event"), &plan));
        assert!(verify.ends_with("verify-restore acts on it"), "{verify}");
    }

    #[test]
    fn a_snapshot_of_another_region_asks_nothing() {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json"))
                .unwrap();
        let text = event.to_string().replace("us-west-2", "eu-west-1");
        event = serde_json::from_str(&text).unwrap();
        let reason = ignored_because(asked(&Trigger::from_event(&event).unwrap(), &plan()));
        assert_eq!(
            reason,
            "snapshot is in eu-west-1; the plan copies from us-west-2"
        );
    }
}
