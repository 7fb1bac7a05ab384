//! The backup copy decision, free of I/O: given each entry's recovery points and the copy jobs
//! AWS Backup knows of, which copy jobs to start, which to leave for the next run, and what to
//! report. Every rule of the task lives here, so it is tested without AWS.

use std::cmp::Reverse;
use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::model::{CopyJob, JobState, RecoveryPoint, blames_the_role, idempotency_token};
use super::{BackupLag, Item, Outcome, Scope};
use crate::clock::rfc3339;
use crate::plan::{BackupCopy, Plan};
use crate::trigger::Trigger;

/// How many copy jobs of one recovery point may fail before Lifeboat stops starting new ones
/// and reports it failed every run (a human must look: a role, a key, a vault policy).
pub const MAX_ATTEMPTS: u32 = 3;

/// One `[[copy.backup]]` entry as the run found it.
#[derive(Debug, Clone, Default)]
pub struct EntryState {
    pub entry: usize,
    /// The source vault's recovery points (of any type and status; the decision filters).
    pub recovery_points: Vec<RecoveryPoint>,
    /// Copy jobs from the source vault, to any destination (the decision matches them).
    pub jobs: Vec<CopyJob>,
}

/// A copy job to start, in the primary Region.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOrder {
    pub entry: usize,
    pub recovery_point: RecoveryPoint,
    pub source_vault: String,
    pub destination_vault: String,
    pub iam_role: String,
    pub delete_after_days: Option<u32>,
    /// 0 for the first job of this recovery point into this vault, then one more per failure.
    pub attempt: u32,
    pub idempotency_token: String,
}

/// The account's concurrent copy job places into the recovery Region, as counted before the
/// run started anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobSlots {
    pub in_flight: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, Default)]
pub struct BackupDecision {
    pub orders: Vec<JobOrder>,
    /// Everything decided that is not a call to make.
    pub items: Vec<Item>,
    pub slots: JobSlots,
    pub lag: Vec<BackupLag>,
}

/// Decides one run. `account_id` is the account Lifeboat runs in (a destination vault of another
/// account is a cross-account copy); `jobs_in_flight` counts the account's copy jobs that hold a
/// place now, Lifeboat's or not.
pub fn decide(
    plan: &Plan,
    now: OffsetDateTime,
    account_id: &str,
    jobs_in_flight: u32,
    entries: &[EntryState],
) -> BackupDecision {
    let slots = JobSlots {
        in_flight: jobs_in_flight,
        limit: plan.copy.limits.backup_copy_jobs,
    };
    let mut items = Vec::new();
    let mut lags = Vec::new();
    // Candidates carry their rank within their resource (0 = newest), so that when places are
    // short every resource gets its newest recovery point copied before any gets an older one.
    let mut candidates: Vec<(usize, JobOrder)> = Vec::new();
    for state in entries {
        let entry = &plan.copy.backup[state.entry];
        let destination = entry.destination_vault.as_str();
        let points = wanted(entry, state, now);
        let mut jobs_of = jobs_by_point(state, destination);
        for (rank, point) in ranked(&points) {
            let jobs = jobs_of.remove(point.arn.as_str()).unwrap_or_default();
            let (item, order) = judge(plan, now, account_id, state.entry, point, &jobs);
            items.extend(item);
            candidates.extend(order.map(|order| (rank, order)));
        }
        lags.extend(lag(state, &points, destination, now));
    }
    candidates.sort_by_key(|(rank, order)| (*rank, Reverse(order.recovery_point.created)));
    let (orders, deferred) = within_places(plan, &slots, candidates);
    items.extend(deferred);
    BackupDecision {
        orders,
        items,
        slots,
        lag: lags,
    }
}

/// The copy jobs of each recovery point into `destination`, oldest first.
fn jobs_by_point<'a>(
    state: &'a EntryState,
    destination: &str,
) -> HashMap<&'a str, Vec<&'a CopyJob>> {
    let mut jobs_of: HashMap<&str, Vec<&CopyJob>> = HashMap::new();
    for job in state
        .jobs
        .iter()
        .filter(|j| j.destination_vault_arn == destination)
    {
        jobs_of
            .entry(job.source_recovery_point_arn.as_str())
            .or_default()
            .push(job);
    }
    for jobs in jobs_of.values_mut() {
        jobs.sort_by_key(|j| j.created);
    }
    jobs_of
}

/// Each of `points` (newest first) with its rank within its resource (0 = newest).
fn ranked<'a>(points: &[&'a RecoveryPoint]) -> Vec<(usize, &'a RecoveryPoint)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    points
        .iter()
        .map(|point| {
            let count = seen.entry(point.resource_arn.as_str()).or_default();
            let rank = *count;
            *count += 1;
            (rank, *point)
        })
        .collect()
}

/// What one wanted recovery point needs, given its copy jobs into the destination (oldest
/// first): an item to report, a copy job to start, or both (a retry after a failed job).
fn judge(
    plan: &Plan,
    now: OffsetDateTime,
    account_id: &str,
    index: usize,
    point: &RecoveryPoint,
    jobs: &[&CopyJob],
) -> (Option<Item>, Option<JobOrder>) {
    let entry = &plan.copy.backup[index];
    let item = |outcome, detail: String| Item::new(index, outcome, detail).of(point);
    if let Some(done) = jobs.iter().find(|j| j.state == JobState::Completed) {
        let detail = "already in the destination vault".into();
        return (
            Some(item(Outcome::AlreadyCopied, detail).job(&done.id)),
            None,
        );
    }
    if let Some(latest) = jobs.last().filter(|j| j.state.is_in_flight()) {
        let (outcome, detail) = in_flight(entry, latest, now);
        return (Some(item(outcome, detail).job(&latest.id)), None);
    }
    if let Some(refusal) = refusal(entry, index, point, account_id, plan, now) {
        return (Some(item(Outcome::Refused, refusal)), None);
    }
    let failures: Vec<&CopyJob> = jobs
        .iter()
        .copied()
        .filter(|j| j.state.is_failure())
        .collect();
    let attempt = failures.len() as u32;
    let failed = failures
        .last()
        .map(|failed| item(Outcome::Failed, failure(index, failed, attempt)).job(&failed.id));
    let order = (attempt < MAX_ATTEMPTS).then(|| job_order(entry, index, point, attempt));
    (failed, order)
}

/// A copy job under way: in flight, or stuck once it has taken longer than `stuck_after`.
fn in_flight(entry: &BackupCopy, latest: &CopyJob, now: OffsetDateTime) -> (Outcome, String) {
    let stuck_after = Duration::try_from(entry.stuck_after.0).unwrap_or(Duration::DAY);
    let since = latest
        .created
        .map_or(String::new(), |t| format!(" since {}", rfc3339(t)));
    if latest.created.is_some_and(|t| now - t > stuck_after) {
        (
            Outcome::Stuck,
            format!(
                "copy job {} has been {}{since}, longer than stuck_after = {}; \
                 AWS Backup may be waiting on the destination (vault access policy, \
                 KMS key) or on the account's copy job quota",
                latest.id, latest.state, entry.stuck_after
            ),
        )
    } else {
        (
            Outcome::InFlight,
            format!("copy job {} is {}{since}", latest.id, latest.state),
        )
    }
}

/// The last failed copy job of a recovery point, and whether another attempt follows.
fn failure(index: usize, failed: &CopyJob, attempt: u32) -> String {
    let message = failed
        .status_message
        .as_deref()
        .unwrap_or("no message from AWS Backup");
    // Name the plan key to fix when AWS Backup blames the role.
    let key = if blames_the_role(message) {
        format!("copy.backup[{index}].iam_role: ")
    } else {
        String::new()
    };
    if attempt >= MAX_ATTEMPTS {
        format!(
            "{key}copy job {} ended {}: {message}; {attempt} jobs failed, so Lifeboat \
             starts no more: fix the cause, then start one by hand \
             (aws backup start-copy-job)",
            failed.id, failed.state
        )
    } else {
        format!(
            "{key}copy job {} ended {}: {message}; attempt {} of {MAX_ATTEMPTS} follows",
            failed.id,
            failed.state,
            attempt + 1
        )
    }
}

fn job_order(entry: &BackupCopy, index: usize, point: &RecoveryPoint, attempt: u32) -> JobOrder {
    let destination = entry.destination_vault.as_str();
    JobOrder {
        entry: index,
        recovery_point: point.clone(),
        source_vault: entry.source_vault.clone(),
        destination_vault: destination.to_owned(),
        iam_role: entry.iam_role.to_string(),
        delete_after_days: entry.delete_after_days,
        attempt,
        idempotency_token: idempotency_token(&point.arn, destination, attempt),
    }
}

/// The first candidates take the free places; the rest are deferred to the next run.
fn within_places(
    plan: &Plan,
    slots: &JobSlots,
    candidates: Vec<(usize, JobOrder)>,
) -> (Vec<JobOrder>, Vec<Item>) {
    let free = slots.limit.saturating_sub(slots.in_flight) as usize;
    let mut orders: Vec<JobOrder> = candidates.into_iter().map(|(_, order)| order).collect();
    let deferred = orders.split_off(free.min(orders.len()));
    let items = deferred
        .iter()
        .map(|order| {
            Item::new(
                order.entry,
                Outcome::Deferred,
                format!(
                    "all {} copy job places into {} are taken (copy.limits.backup_copy_jobs); \
                     the next run copies it",
                    slots.limit, plan.recovery_region
                ),
            )
            .of(&order.recovery_point)
        })
        .collect();
    (orders, items)
}

/// The recovery points of an entry to have in its destination: completed, of its resource types,
/// younger than `copy_within`; newest first.
fn wanted<'a>(
    entry: &BackupCopy,
    state: &'a EntryState,
    now: OffsetDateTime,
) -> Vec<&'a RecoveryPoint> {
    let within = Duration::try_from(entry.copy_within.0).unwrap_or(Duration::WEEK);
    let mut points: Vec<&RecoveryPoint> = state
        .recovery_points
        .iter()
        .filter(|p| p.is_completed())
        .filter(|p| {
            entry
                .resource_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&p.resource_type))
        })
        .filter(|p| p.created.is_some_and(|c| now - c < within))
        .collect();
    points.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.arn.cmp(&b.arn)));
    points
}

/// Why AWS Backup would refuse this copy, when that is known before any call.
fn refusal(
    entry: &BackupCopy,
    index: usize,
    point: &RecoveryPoint,
    account_id: &str,
    plan: &Plan,
    now: OffsetDateTime,
) -> Option<String> {
    let vault = &entry.destination_vault;
    if point.is_cold(now) {
        return Some(format!(
            "the recovery point is in cold storage, which AWS Backup does not copy; copy.backup[{index}] \
             copies recovery points before their lifecycle moves them (MoveToColdStorageAfterDays)"
        ));
    }
    let cross_region = vault.region != plan.primary_region.as_str();
    let cross_account = !vault.account.is_empty() && vault.account != account_id;
    if point.is_rds_family() && cross_region && cross_account {
        return Some(format!(
            "copy.backup[{index}].destination_vault: {} recovery points are copied across Regions or \
             across accounts, not both in one step; {vault} is in account {} and {}. Copy to a \
             vault of account {account_id} in {} first, and from there to the other account",
            point.resource_type, vault.account, vault.region, vault.region
        ));
    }
    None
}

/// Per resource, the newest recovery point known to be copied, and the age of its data.
fn lag(
    state: &EntryState,
    points: &[&RecoveryPoint],
    destination: &str,
    now: OffsetDateTime,
) -> Vec<BackupLag> {
    let copied: std::collections::HashSet<&str> = state
        .jobs
        .iter()
        .filter(|j| j.destination_vault_arn == destination && j.state == JobState::Completed)
        .map(|j| j.source_recovery_point_arn.as_str())
        .collect();
    let mut by_resource: Vec<BackupLag> = Vec::new();
    for point in points {
        // `points` is newest first: the first copied one of a resource is its newest.
        let known = by_resource
            .iter_mut()
            .find(|l| l.resource == point.resource_arn);
        let is_copied = copied.contains(point.arn.as_str());
        match known {
            Some(lag) if lag.newest_copied.is_none() && is_copied => {
                lag.newest_copied = Some(point.arn.clone());
                lag.data_taken_at = point.created;
                lag.lag_seconds = point.created.map(|t| (now - t).whole_seconds());
            }
            Some(_) => {}
            None => by_resource.push(BackupLag {
                resource: point.resource_arn.clone(),
                resource_type: point.resource_type.clone(),
                newest_copied: is_copied.then(|| point.arn.clone()),
                data_taken_at: point.created.filter(|_| is_copied),
                lag_seconds: point
                    .created
                    .filter(|_| is_copied)
                    .map(|t| (now - t).whole_seconds()),
            }),
        }
    }
    by_resource
}

/// What a trigger asks of the backup copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A run over this scope.
    Copy(Scope),
    /// Nothing: the event is another task's, from another Region, about a vault no entry
    /// copies, or a copy job that did not fail; why, for the answer.
    Ignored { reason: String },
}

/// What `trigger` asks of the backup copy under `plan`:
///
/// - the schedule and the CLI reconcile every entry;
/// - "Backup Job State Change" COMPLETED in the primary Region reconciles the entries that copy
///   from its vault, so the new recovery point is copied now rather than tomorrow;
/// - "Copy Job State Change" FAILED / PARTIAL / ABORTED reconciles the entries of that vault and
///   destination: the run reports the failure with AWS's message and starts the next attempt.
///   Other states ask for nothing (the job is under way, or done).
pub fn asked(trigger: &Trigger, plan: &Plan) -> Asked {
    let ignored = |reason: String| Asked::Ignored { reason };
    let scope = match trigger {
        Trigger::Schedule { .. } | Trigger::Manual => Scope::Everything,
        Trigger::BackupJobCompleted { region, .. } | Trigger::CopyJobChanged { region, .. }
            if region != plan.primary_region.as_str() =>
        {
            return ignored(format!(
                "the event is from {region}; the plan copies from {}",
                plan.primary_region
            ));
        }
        Trigger::BackupJobCompleted { vault_arn, .. } => Scope::Vault {
            name: vault_name(vault_arn),
            destination: None,
        },
        Trigger::CopyJobChanged {
            job_id,
            state,
            source_vault_arn,
            destination_vault_arn,
            ..
        } => {
            if !JobState::parse(state).is_failure() {
                return ignored(format!(
                    "copy job {job_id} is {state}: nothing to do (the next run sees how it ends)"
                ));
            }
            Scope::Vault {
                name: vault_name(source_vault_arn),
                destination: Some(destination_vault_arn.clone()),
            }
        }
        Trigger::SnapshotCreated { .. } => {
            return ignored(format!(
                "{} is an RDS snapshot event: copy-snapshots acts on it",
                trigger.describe()
            ));
        }
        Trigger::VerificationResourceChanged { .. } | Trigger::RestoreJobCompleted { .. } => {
            return ignored(format!("{}: verify-restore acts on it", trigger.describe()));
        }
        Trigger::AlarmChanged { .. } | Trigger::Runbook(_) => {
            return ignored(format!("{}: the failover acts on it", trigger.describe()));
        }
        Trigger::Ignored { reason } => return ignored(reason.clone()),
    };
    if let Scope::Vault { name, destination } = &scope
        && !plan.copy.backup.iter().any(|e| {
            e.source_vault == *name
                && destination
                    .as_deref()
                    .is_none_or(|d| d == e.destination_vault.as_str())
        })
    {
        return ignored(format!(
            "no [[copy.backup]] entry copies backup vault {name}{}",
            destination
                .as_deref()
                .map_or(String::new(), |d| format!(" to {d}"))
        ));
    }
    Asked::Copy(scope)
}

/// The name at the end of a backup vault ARN (`arn:aws:backup:<region>:<account>:backup-vault:<name>`).
fn vault_name(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_owned()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);
    const ACCOUNT: &str = "111122223333";
    const DR: &str = "arn:aws:backup:us-east-2:111122223333:backup-vault:dr";

    fn plan(extra: &str) -> Plan {
        Plan::parse(
            &format!(
                r#"
                name = "tracking"
                primary_region = "us-west-2"
                recovery_region = "us-east-2"
                state_bucket = "tracking-dr-state"
                [copy.limits]
                backup_copy_jobs = 4
                [[copy.backup]]
                source_vault = "Default"
                destination_vault = "{DR}"
                iam_role = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole"
                resource_types = ["EC2", "EBS"]
                delete_after_days = 14
                {extra}
                "#
            ),
            "test",
        )
        .unwrap()
    }

    fn point(resource: &str, kind: &str, hours_ago: i64) -> RecoveryPoint {
        RecoveryPoint {
            arn: format!(
                "arn:aws:backup:us-west-2:{ACCOUNT}:recovery-point:{resource}-{hours_ago}"
            ),
            resource_arn: format!("arn:aws:ec2:us-west-2:{ACCOUNT}:{resource}"),
            resource_type: kind.into(),
            status: "COMPLETED".into(),
            created: Some(NOW - Duration::hours(hours_ago)),
            cold_from: None,
        }
    }

    fn job(point: &RecoveryPoint, id: &str, state: JobState, hours_ago: i64) -> CopyJob {
        CopyJob {
            id: id.into(),
            source_recovery_point_arn: point.arn.clone(),
            destination_vault_arn: DR.into(),
            resource_arn: point.resource_arn.clone(),
            state,
            status_message: state
                .is_failure()
                .then(|| "Access denied to the KMS key".to_owned()),
            created: Some(NOW - Duration::hours(hours_ago)),
        }
    }

    fn entry(points: Vec<RecoveryPoint>, jobs: Vec<CopyJob>) -> Vec<EntryState> {
        vec![EntryState {
            entry: 0,
            recovery_points: points,
            jobs,
        }]
    }

    fn outcomes(decision: &BackupDecision) -> Vec<(Outcome, String)> {
        decision
            .items
            .iter()
            .map(|i| (i.outcome, i.recovery_point.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn only_completed_points_of_the_entrys_types_younger_than_copy_within_are_copied() {
        let plan = plan("");
        let mut partial = point("instance/i-3", "EC2", 1);
        partial.status = "PARTIAL".into();
        let points = vec![
            point("instance/i-1", "EC2", 2),
            point("volume/vol-1", "EBS", 3),
            point("db:orders", "RDS", 1),
            point("instance/i-2", "EC2", 8 * 24),
            partial,
        ];
        let decision = decide(&plan, NOW, ACCOUNT, 0, &entry(points, vec![]));
        let started: Vec<&str> = decision
            .orders
            .iter()
            .map(|o| o.recovery_point.resource_arn.rsplit(':').next().unwrap())
            .collect();
        assert_eq!(started, ["instance/i-1", "volume/vol-1"]);
        let order = &decision.orders[0];
        assert_eq!(order.destination_vault, DR);
        assert_eq!(order.source_vault, "Default");
        assert_eq!(order.delete_after_days, Some(14));
        assert_eq!(order.attempt, 0);
        assert_eq!(
            order.idempotency_token,
            idempotency_token(&order.recovery_point.arn, DR, 0)
        );
        assert!(decision.items.is_empty(), "{:?}", decision.items);
    }

    #[test]
    fn a_completed_job_means_copied_and_a_job_in_flight_means_wait() {
        let plan = plan("");
        let copied = point("instance/i-1", "EC2", 30);
        let moving = point("instance/i-1", "EC2", 2);
        let jobs = vec![
            job(&copied, "job-done", JobState::Completed, 29),
            job(&moving, "job-running", JobState::Running, 1),
        ];
        let decision = decide(
            &plan,
            NOW,
            ACCOUNT,
            1,
            &entry(vec![copied.clone(), moving.clone()], jobs),
        );
        assert!(decision.orders.is_empty());
        assert_eq!(
            outcomes(&decision),
            [
                (Outcome::InFlight, moving.arn.clone()),
                (Outcome::AlreadyCopied, copied.arn.clone())
            ]
        );
        // The newest copied point gives the resource's lag.
        assert_eq!(decision.lag.len(), 1);
        assert_eq!(
            decision.lag[0].newest_copied.as_deref(),
            Some(copied.arn.as_str())
        );
        assert_eq!(decision.lag[0].lag_seconds, Some(30 * 3600));
    }

    #[test]
    fn a_job_to_another_vault_does_not_count() {
        let plan = plan("");
        let p = point("instance/i-1", "EC2", 2);
        let mut elsewhere = job(&p, "job-other", JobState::Completed, 1);
        elsewhere.destination_vault_arn =
            "arn:aws:backup:eu-west-1:111122223333:backup-vault:x".into();
        let decision = decide(&plan, NOW, ACCOUNT, 0, &entry(vec![p], vec![elsewhere]));
        assert_eq!(decision.orders.len(), 1);
    }

    #[test]
    fn a_job_in_flight_past_stuck_after_is_reported_stuck() {
        let plan = plan("stuck_after = \"6h\"");
        let p = point("instance/i-1", "EC2", 20);
        let decision = decide(
            &plan,
            NOW,
            ACCOUNT,
            1,
            &entry(
                vec![p.clone()],
                vec![job(&p, "job-slow", JobState::Created, 7)],
            ),
        );
        assert!(
            decision.orders.is_empty(),
            "no second job beside a stuck one"
        );
        let item = &decision.items[0];
        assert_eq!(item.outcome, Outcome::Stuck);
        assert!(item.outcome.is_failure());
        assert!(
            item.detail.starts_with("copy job job-slow has been CREATED since 2026-11-25T05:00:00Z, longer than stuck_after = 6h"),
            "{}",
            item.detail
        );
    }

    #[test]
    fn a_failed_job_is_reported_with_its_message_and_retried_with_a_new_token() {
        let plan = plan("");
        let p = point("instance/i-1", "EC2", 5);
        let decision = decide(
            &plan,
            NOW,
            ACCOUNT,
            0,
            &entry(vec![p.clone()], vec![job(&p, "job-1", JobState::Failed, 4)]),
        );
        let failed = &decision.items[0];
        assert_eq!(failed.outcome, Outcome::Failed);
        assert_eq!(failed.job.as_deref(), Some("job-1"));
        assert!(
            failed.detail.starts_with(
                "copy job job-1 ended FAILED: Access denied to the KMS key; attempt 2 of 3 follows"
            ),
            "{}",
            failed.detail
        );
        assert_eq!(decision.orders.len(), 1);
        assert_eq!(decision.orders[0].attempt, 1);
        assert_ne!(
            decision.orders[0].idempotency_token,
            idempotency_token(&p.arn, DR, 0)
        );

        // After three failed jobs Lifeboat stops starting new ones and says so every run.
        let jobs = (1..=3)
            .map(|n| job(&p, &format!("job-{n}"), JobState::Failed, 5 - n))
            .collect();
        let decision = decide(&plan, NOW, ACCOUNT, 0, &entry(vec![p.clone()], jobs));
        assert!(decision.orders.is_empty());
        assert_eq!(decision.items.len(), 1);
        assert!(
            decision.items[0].detail.contains("job-3 ended FAILED"),
            "{}",
            decision.items[0].detail
        );
        assert!(
            decision.items[0].detail.contains("3 jobs failed"),
            "{}",
            decision.items[0].detail
        );
    }

    #[test]
    fn a_job_that_failed_on_the_role_names_the_iam_role_key() {
        let plan = plan("");
        let p = point("instance/i-1", "EC2", 5);
        let mut failed = job(&p, "job-1", JobState::Failed, 4);
        failed.status_message = Some(
            "The provided role arn:aws:iam::111122223333:role/backup cannot be assumed by AWS Backup."
                .into(),
        );
        let decision = decide(&plan, NOW, ACCOUNT, 0, &entry(vec![p], vec![failed]));
        assert!(
            decision.items[0].detail.starts_with(
                "copy.backup[0].iam_role: copy job job-1 ended FAILED: The provided role"
            ),
            "{}",
            decision.items[0].detail
        );
    }

    #[test]
    fn places_are_shared_newest_of_each_resource_first_and_the_rest_deferred() {
        let plan = plan(""); // backup_copy_jobs = 4
        let points = vec![
            point("instance/i-1", "EC2", 1),
            point("instance/i-1", "EC2", 25),
            point("instance/i-1", "EC2", 49),
            point("volume/vol-1", "EBS", 30),
            point("volume/vol-1", "EBS", 54),
        ];
        // One place is held by someone else's job.
        let decision = decide(&plan, NOW, ACCOUNT, 1, &entry(points, vec![]));
        assert_eq!(
            decision.slots,
            JobSlots {
                in_flight: 1,
                limit: 4
            }
        );
        let started: Vec<(String, i64)> = decision
            .orders
            .iter()
            .map(|o| {
                (
                    o.recovery_point
                        .resource_arn
                        .rsplit(':')
                        .next()
                        .unwrap()
                        .to_owned(),
                    (NOW - o.recovery_point.created.unwrap()).whole_hours(),
                )
            })
            .collect();
        assert_eq!(
            started,
            [
                ("instance/i-1".to_owned(), 1),
                ("volume/vol-1".to_owned(), 30),
                ("instance/i-1".to_owned(), 25)
            ]
        );
        let deferred: Vec<&Item> = decision
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Deferred)
            .collect();
        assert_eq!(deferred.len(), 2);
        assert!(
            deferred[0].detail.starts_with(
                "all 4 copy job places into us-east-2 are taken (copy.limits.backup_copy_jobs)"
            ),
            "{}",
            deferred[0].detail
        );
    }

    #[test]
    fn what_aws_would_refuse_is_refused_before_any_call() {
        // A destination vault of another account, in the recovery Region.
        let plan = Plan::parse(
            r#"
            name = "tracking"
            primary_region = "us-west-2"
            recovery_region = "us-east-2"
            state_bucket = "tracking-dr-state"
            [[copy.backup]]
            source_vault = "Default"
            destination_vault = "arn:aws:backup:us-east-2:444455556666:backup-vault:dr"
            iam_role = "arn:aws:iam::111122223333:role/backup"
            resource_types = ["EC2", "RDS"]
            "#,
            "test",
        )
        .unwrap();
        let mut cold = point("instance/i-1", "EC2", 3);
        cold.cold_from = Some(NOW - Duration::hours(1));
        let rds = point("db:orders", "RDS", 2);
        let ec2 = point("instance/i-2", "EC2", 2);
        let decision = decide(
            &plan,
            NOW,
            ACCOUNT,
            0,
            &entry(vec![cold, rds, ec2.clone()], vec![]),
        );
        let refused: Vec<&str> = decision
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Refused)
            .map(|i| i.detail.as_str())
            .collect();
        assert_eq!(refused.len(), 2, "{:?}", decision.items);
        assert!(
            refused
                .iter()
                .any(|d| d.starts_with("the recovery point is in cold storage")),
            "{refused:?}"
        );
        assert!(
            refused.iter().any(|d| d.starts_with(
                "copy.backup[0].destination_vault: RDS recovery points are copied across Regions or across accounts, not both"
            )),
            "{refused:?}"
        );
        assert_eq!(
            decision.orders.len(),
            1,
            "an EC2 point may go cross-account and cross-Region"
        );
        assert_eq!(decision.orders[0].recovery_point, ec2);
    }

    fn event(name: &str) -> Trigger {
        let text = match name {
            "schedule" => include_str!("../../../events/schedule.json"),
            "backup-job-completed" => include_str!("../../../events/backup-job-completed.json"),
            "copy-job-failed" => include_str!("../../../events/copy-job-failed.json"),
            "rds-snapshot-created" => include_str!("../../../events/rds-snapshot-created.json"),
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
    fn each_event_asks_the_backup_copy_for_what_it_says() {
        let plan = plan("");
        assert_eq!(
            asked(&event("schedule"), &plan),
            Asked::Copy(Scope::Everything)
        );
        assert_eq!(
            asked(&event("backup-job-completed"), &plan),
            Asked::Copy(Scope::Vault {
                name: "Default".into(),
                destination: None
            })
        );
        assert_eq!(
            asked(&event("copy-job-failed"), &plan),
            Asked::Copy(Scope::Vault {
                name: "Default".into(),
                destination: Some(DR.into())
            })
        );
        let snapshot = ignored_because(asked(&event("rds-snapshot-created"), &plan));
        assert!(
            snapshot.ends_with("copy-snapshots acts on it"),
            "{snapshot}"
        );
        let runbook = ignored_because(asked(&event("runbook-execute"), &plan));
        assert!(runbook.ends_with("the failover acts on it"), "{runbook}");
        let verify = ignored_because(asked(&event("rds-verify-instance-event"), &plan));
        assert!(verify.ends_with("verify-restore acts on it"), "{verify}");
    }

    #[test]
    fn a_backup_event_of_another_region_vault_or_a_job_under_way_asks_nothing() {
        let text = include_str!("../../../events/backup-job-completed.json");
        let other_region: serde_json::Value =
            serde_json::from_str(&text.replace("us-west-2", "eu-west-1")).unwrap();
        let reason = ignored_because(asked(
            &Trigger::from_event(&other_region).unwrap(),
            &plan(""),
        ));
        assert_eq!(
            reason,
            "the event is from eu-west-1; the plan copies from us-west-2"
        );
        let mut completed: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/copy-job-failed.json")).unwrap();
        completed["detail"]["state"] = "COMPLETED".into();
        let reason = ignored_because(asked(&Trigger::from_event(&completed).unwrap(), &plan("")));
        assert!(reason.contains("is COMPLETED: nothing to do"), "{reason}");
        let mut elsewhere: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/backup-job-completed.json"))
                .unwrap();
        elsewhere["detail"]["backupVaultArn"] =
            "arn:aws:backup:us-west-2:111122223333:backup-vault:other".into();
        let reason = ignored_because(asked(&Trigger::from_event(&elsewhere).unwrap(), &plan("")));
        assert_eq!(reason, "no [[copy.backup]] entry copies backup vault other");
    }
}
