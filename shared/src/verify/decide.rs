//! The verification decision, free of I/O: what a trigger asks for, which copy to restore, what
//! a run does next given what its resources look like now, and which leftovers of crashed runs
//! to delete. Every rule of the task lives here, so it is tested without AWS.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::calls::is_jobs_resource;
use super::run::{ChosenCopy, CopyKind, Created, Phase, RestoreTest, StepKind, Verdict, VerifyRun};
use crate::copies::{is_plans_copy, tags};
use crate::error::Error;
use crate::plan::{Plan, VerifyJob};
use crate::trigger::Trigger;

/// What a trigger asks of the verification, for the plan's `[[verify]]` entries it concerns (by
/// index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A schedule tick: each job's run in progress advanced, a new one started when the job is
    /// due; the restore tests being validated advanced, and the ones whose event was missed
    /// taken on.
    ScheduleTick { jobs: Vec<usize> },
    /// The CLI: as a tick, but a new run starts at once unless one is in progress.
    Cli { jobs: Vec<usize> },
    /// An RDS event about a resource of these jobs' runs: their runs in progress advanced, none
    /// started.
    ResourceEvent { jobs: Vec<usize> },
    /// AWS Backup's restore testing job `restore_job_id` completed: its validation, for
    /// whichever of `candidates` (the jobs naming its restore testing plan) restores its DB.
    RestoreTestCompleted {
        candidates: Vec<usize>,
        restore_job_id: String,
    },
    /// Nothing, and why.
    Ignored { reason: String },
}

/// What `trigger` asks of the plan's `[[verify]]` entries, or of the one named `job`. Naming an
/// entry the plan does not have is an error; everything else the trigger does not ask of the
/// verification is [`Asked::Ignored`] with the reason.
pub fn asked(trigger: &Trigger, plan: &Plan, job: Option<&str>) -> Result<Asked, Error> {
    let named = named_jobs(plan, job)?;
    if named.is_empty() {
        return Ok(ignored("the plan has no [[verify]] entry".into()));
    }
    Ok(match trigger {
        Trigger::Schedule { .. } => Asked::ScheduleTick { jobs: named },
        Trigger::Manual => Asked::Cli { jobs: named },
        Trigger::VerificationResourceChanged {
            identifier, region, ..
        } => resource_event(trigger, plan, named, identifier, region),
        Trigger::RestoreJobCompleted {
            job_id,
            restore_testing_plan_arn,
            region,
            ..
        } => match restore_testing_plan_arn {
            Some(arn) => restore_test_completed(trigger, plan, named, job_id, arn, region),
            None => ignored(format!(
                "restore job {job_id} was not started by a restore testing plan: nothing to validate"
            )),
        },
        Trigger::Ignored { reason } => ignored(reason.clone()),
        Trigger::SnapshotCreated { .. }
        | Trigger::BackupJobCompleted { .. }
        | Trigger::CopyJobChanged { .. }
        | Trigger::AlarmChanged { .. }
        | Trigger::Runbook(_) => ignored(format!(
            "{}: verify-restore does not act on it",
            trigger.describe()
        )),
    })
}

fn ignored(reason: String) -> Asked {
    Asked::Ignored { reason }
}

/// The entry named `job`, or every entry.
fn named_jobs(plan: &Plan, job: Option<&str>) -> Result<Vec<usize>, Error> {
    let Some(name) = job else {
        return Ok((0..plan.verify.len()).collect());
    };
    if let Some(index) = plan.verify.iter().position(|j| j.name == name) {
        return Ok(vec![index]);
    }
    let known: Vec<&str> = plan.verify.iter().map(|j| j.name.as_str()).collect();
    Err(Error::Refused(format!(
        "the plan has no [[verify]] entry named \"{name}\" (it has: {})",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )))
}

/// An RDS event about a verification's resource: the runs of the jobs whose resource it is, in
/// the recovery Region.
fn resource_event(
    trigger: &Trigger,
    plan: &Plan,
    named: Vec<usize>,
    identifier: &str,
    region: &str,
) -> Asked {
    let recovery_region = plan.recovery_region.as_str();
    if region != recovery_region {
        return ignored(format!(
            "{}: in {region}; the plan's verifications run in {recovery_region}",
            trigger.describe()
        ));
    }
    let owners: Vec<usize> = named
        .into_iter()
        .filter(|&i| is_jobs_resource(&plan.verify[i].name, identifier))
        .collect();
    if owners.is_empty() {
        return ignored(format!(
            "{identifier} is not a resource of any [[verify]] entry of plan {}",
            plan.name
        ));
    }
    Asked::ResourceEvent { jobs: owners }
}

/// A restore testing job of the restore testing plan `arn` completed: validated when a job names
/// that plan, in the recovery Region.
fn restore_test_completed(
    trigger: &Trigger,
    plan: &Plan,
    named: Vec<usize>,
    job_id: &str,
    arn: &str,
    region: &str,
) -> Asked {
    let recovery_region = plan.recovery_region.as_str();
    if region != recovery_region {
        return ignored(format!(
            "{}: in {region}; Lifeboat validates restore tests in the recovery Region \
             {recovery_region}, where its function reaches the restored databases",
            trigger.describe()
        ));
    }
    let candidates: Vec<usize> = named
        .into_iter()
        .filter(|&i| {
            plan.verify[i]
                .restore_testing_plan
                .as_deref()
                .is_some_and(|name| is_testing_plan(arn, name))
        })
        .collect();
    if candidates.is_empty() {
        return ignored(format!(
            "{}: no [[verify]] entry names that restore testing plan",
            trigger.describe()
        ));
    }
    Asked::RestoreTestCompleted {
        candidates,
        restore_job_id: job_id.to_owned(),
    }
}

/// Tags on everything a verification creates: with `lifeboat:plan`, they are how the sweep
/// knows a leftover is a verification's, and when it may go.
pub mod verify_tags {
    /// The `[[verify]]` entry's name.
    pub const JOB: &str = "lifeboat:verify";
    pub const RUN: &str = "lifeboat:verify-run";
    /// RFC 3339: after this, the sweep deletes the resource if its run did not.
    pub const EXPIRES: &str = "lifeboat:expires";
}

/// A snapshot in the recovery Region that might be restored.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Candidate {
    pub kind: CopyKind,
    pub id: String,
    pub engine: String,
    pub status: String,
    pub tags: BTreeMap<String, String>,
    pub created: Option<OffsetDateTime>,
}

impl Candidate {
    /// When the data in it was taken: its source's time, for a Lifeboat copy.
    fn taken_at(&self) -> Option<OffsetDateTime> {
        self.tags
            .get(tags::SOURCE_CREATED)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .or(self.created)
    }
}

/// The newest available copy the plan made of the job's DB, if any.
pub(super) fn choose_copy(
    job: &VerifyJob,
    plan: &str,
    candidates: &[Candidate],
) -> Option<ChosenCopy> {
    let (kind, db) = match (&job.db_instance, &job.db_cluster) {
        (Some(db), _) => (CopyKind::DbSnapshot, db),
        (None, Some(db)) => (CopyKind::ClusterSnapshot, db),
        (None, None) => return None,
    };
    candidates
        .iter()
        .filter(|c| c.kind == kind && c.status == "available")
        .filter(|c| is_plans_copy(plan, &c.id, &c.tags))
        .filter(|c| {
            c.tags
                .get(tags::SOURCE_DB)
                .is_some_and(|d| d.eq_ignore_ascii_case(db))
        })
        .max_by_key(|c| (c.taken_at(), c.id.clone()))
        .map(|c| ChosenCopy {
            kind: c.kind.clone(),
            id: c.id.clone(),
            source_db: db.clone(),
            engine: c.engine.clone(),
            taken_at: c.taken_at(),
        })
}

/// The state of one resource a run created, as described now; `None` when it does not exist.
pub(super) type Status = Option<String>;

/// What the resources a run created look like now.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Observed {
    pub cluster: Status,
    pub instance: Status,
    /// The AWS Backup restore job's status and message, for a run that started one.
    pub restore_job: Option<(String, Option<String>)>,
}

pub(super) use crate::snapshots::RecoveryPointSeen;

/// The newest completed recovery point of the job's DB (instance or cluster, as the job names
/// it), if any.
pub(super) fn choose_recovery_point(
    job: &VerifyJob,
    points: &[RecoveryPointSeen],
) -> Option<ChosenCopy> {
    let (kind, db) = match (&job.db_instance, &job.db_cluster) {
        (Some(db), _) => ("db", db),
        (None, Some(db)) => ("cluster", db),
        (None, None) => return None,
    };
    points
        .iter()
        .filter(|p| p.status == "COMPLETED")
        .filter(|p| {
            rds_database(&p.resource_arn)
                .is_some_and(|(k, id)| k == kind && id.eq_ignore_ascii_case(db))
        })
        .max_by_key(|p| (p.created, p.arn.clone()))
        .map(|p| ChosenCopy {
            kind: CopyKind::RecoveryPoint,
            id: p.arn.clone(),
            source_db: db.clone(),
            // Not in the listing: read from the restored resource once it exists.
            engine: String::new(),
            taken_at: p.created,
        })
}

/// The next thing a run does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Choose the newest copy and ask for its restore.
    ChooseAndRestore,
    /// The cluster is restored and has no instance (AWS creates none): add one.
    AddInstance,
    /// AWS Backup restored the recovery point: tag what it made with the run's tags.
    TagRestored,
    /// Nothing to do until the database is available: save, and look again later.
    Wait { detail: String },
    /// Available: a fresh password, then the checks, in this invocation.
    Check,
    /// The run failed: say why and clean up.
    Fail { step: StepKind, why: String },
    /// Delete what the run created that still stands (instance first, then cluster).
    Delete {
        instance: Option<String>,
        cluster: Option<String>,
    },
    /// Nothing of the run is left standing: it ends with this verdict.
    Finish(Verdict),
}

/// States a restore does not come back from.
const BROKEN: [&str; 7] = [
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "inaccessible-encryption-credentials",
    "restore-error",
    "storage-full",
];

/// Decides a run's next action from its record and what its resources look like now.
pub(super) fn next_action(
    run: &VerifyRun,
    job: &VerifyJob,
    observed: &Observed,
    now: OffsetDateTime,
) -> Action {
    match run.phase {
        Phase::Restoring => Action::ChooseAndRestore,
        Phase::WaitingAvailable => waiting(run, job, observed, now),
        Phase::Checking => Action::Check,
        Phase::CleaningUp => cleaning_up(run, observed),
        Phase::Finished => Action::Finish(run.verdict.unwrap_or(Verdict::Failed)),
    }
}

/// Clean up: wait for an AWS Backup restore still under way and tag what it made, delete what
/// the run made that still stands, then finish with the verdict.
fn cleaning_up(run: &VerifyRun, observed: &Observed) -> Action {
    // An AWS Backup restore still under way makes its database later: wait for it, and
    // tag what it made (the role deletes only what carries the run's tags).
    if let (Some(restore), Some((status, _))) = (&run.backup_restore, &observed.restore_job)
        && !restore.tagged
    {
        match status.as_str() {
            "COMPLETED" => return Action::TagRestored,
            "FAILED" | "ABORTED" => {}
            _ => {
                return Action::Wait {
                    detail: format!(
                        "AWS Backup restore job {} is {status}: what it makes is deleted once it is done",
                        restore.restore_job_id
                    ),
                };
            }
        }
    }
    // What AWS Backup restored for a restore test is AWS Backup's to delete.
    let made_by_backup = run.restore_test.as_ref().map(|t| &t.made_by_backup);
    let ours = |id: &&String| {
        made_by_backup
            .is_none_or(|m| m.instance.as_ref() != Some(*id) && m.cluster.as_ref() != Some(*id))
    };
    let standing = |id: &Option<String>, status: &Status| {
        id.as_ref()
            .filter(ours)
            .cloned()
            .filter(|_| status.as_deref().is_some_and(|s| s != "deleting"))
    };
    let instance = standing(&run.created.instance, &observed.instance);
    let cluster = standing(&run.created.cluster, &observed.cluster);
    if instance.is_some() || cluster.is_some() {
        Action::Delete { instance, cluster }
    } else {
        Action::Finish(verdict(run))
    }
}

fn waiting(run: &VerifyRun, job: &VerifyJob, observed: &Observed, now: OffsetDateTime) -> Action {
    if let Some(restore) = &run.backup_restore {
        let id = &restore.restore_job_id;
        match &observed.restore_job {
            Some((status, _)) if status == "COMPLETED" => {
                if !restore.tagged {
                    return Action::TagRestored;
                }
            }
            Some((status, message)) if status == "FAILED" || status == "ABORTED" => {
                return Action::Fail {
                    step: StepKind::Wait,
                    why: format!(
                        "AWS Backup restore job {id} is {status}: {}",
                        message.as_deref().unwrap_or("no message")
                    ),
                };
            }
            other => {
                let state = other.as_ref().map_or("not found", |(s, _)| s.as_str());
                return wait_within_limit(
                    run,
                    job,
                    now,
                    vec![format!("AWS Backup restore job {id} is {state}")],
                );
            }
        }
    }
    let created = &run.created;
    let resources = [
        ("DB cluster", &created.cluster, &observed.cluster),
        ("DB instance", &created.instance, &observed.instance),
    ];
    for (what, id, status) in resources {
        let Some(id) = id else { continue };
        match status.as_deref() {
            None => {
                return Action::Fail {
                    step: StepKind::Wait,
                    why: format!("the restored {what} {id} no longer exists"),
                };
            }
            Some(s) if BROKEN.contains(&s) => {
                return Action::Fail {
                    step: StepKind::Wait,
                    why: format!("the restored {what} {id} is {s}"),
                };
            }
            Some(_) => {}
        }
    }
    let cluster_available = observed.cluster.as_deref() == Some("available");
    if created.cluster.is_some() && created.instance.is_none() && cluster_available {
        return Action::AddInstance;
    }
    let all_available = resources
        .iter()
        .filter(|(_, id, _)| id.is_some())
        .all(|(_, _, status)| status.as_deref() == Some("available"));
    if created.instance.is_some() && all_available {
        return Action::Check;
    }
    let states: Vec<String> = resources
        .iter()
        .filter_map(|(what, id, status)| {
            Some(format!(
                "{what} {} is {}",
                (*id).as_ref()?,
                status.as_deref()?
            ))
        })
        .collect();
    wait_within_limit(run, job, now, states)
}

/// Wait, or fail once `max_restore_minutes` have passed since the restore was asked for.
fn wait_within_limit(
    run: &VerifyRun,
    job: &VerifyJob,
    now: OffsetDateTime,
    states: Vec<String>,
) -> Action {
    let limit = Duration::minutes(job.max_restore_minutes.into());
    let requested = run.restore_requested_at.unwrap_or(run.started_at);
    if now - requested > limit {
        return Action::Fail {
            step: StepKind::Wait,
            why: format!(
                "not available within max_restore_minutes = {} ({})",
                job.max_restore_minutes,
                states.join(", ")
            ),
        };
    }
    Action::Wait {
        detail: format!(
            "{}; {} of max_restore_minutes = {} used",
            states.join(", "),
            crate::clock::age_in_words((now - requested).whole_seconds()),
            job.max_restore_minutes
        ),
    }
}

/// Whether a schedule tick starts a new run of `job`: once `every` has passed since the last
/// run started. `Err` carries when it next will.
pub(super) fn due(
    job: &VerifyJob,
    last_started: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), OffsetDateTime> {
    let every = Duration::try_from(job.every.0).unwrap_or(Duration::DAY);
    match last_started {
        Some(last) if now < last + every => Err(last + every),
        _ => Ok(()),
    }
}

/// The tag AWS Backup puts on what a restore testing job restores.
pub(super) const RESTORE_TEST_TAG: &str = "awsbackup-restore-test";

/// What AWS Backup says of a restore job (`DescribeRestoreJob`, `ListRestoreJobs`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct RestoreJobSeen {
    pub job_id: String,
    pub status: String,
    pub status_message: Option<String>,
    pub restore_testing_plan_arn: Option<String>,
    pub created_resource_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub source_resource_arn: Option<String>,
    pub validation_status: Option<String>,
    pub created_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
    pub recovery_point_created_at: Option<OffsetDateTime>,
}

/// The resource a restore testing job restored, as RDS describes it now.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RestoredByBackup {
    pub engine: String,
    pub tags: BTreeMap<String, String>,
}

/// `("db" | "cluster", identifier)` of an RDS DB instance or cluster ARN.
pub(super) fn rds_database(arn: &str) -> Option<(&str, &str)> {
    match arn.splitn(7, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "rds", _, _, kind @ ("db" | "cluster"), id] if !id.is_empty() => {
            Some((*kind, *id))
        }
        _ => None,
    }
}

/// Whether a restore testing plan ARN (`…:restore-testing-plan:<name>-<id>`) is the plan
/// `name` (plan names have no `-`, so the name ends where the id begins).
pub(super) fn is_testing_plan(arn: &str, name: &str) -> bool {
    arn.rsplit_once(":restore-testing-plan:")
        .is_some_and(|(_, rest)| {
            rest == name
                || rest
                    .strip_prefix(name)
                    .is_some_and(|id| id.starts_with('-'))
        })
}

/// Whether `job`'s restore testing plan names this restore job and restores `job`'s DB.
pub(super) fn tests_jobs_db(job: &VerifyJob, seen: &RestoreJobSeen) -> bool {
    let plan_matches = match (&job.restore_testing_plan, &seen.restore_testing_plan_arn) {
        (Some(name), Some(arn)) => is_testing_plan(arn, name),
        _ => false,
    };
    let db_matches = seen
        .source_resource_arn
        .as_deref()
        .and_then(rds_database)
        .is_some_and(|(kind, id)| match kind {
            "db" => job
                .db_instance
                .as_deref()
                .is_some_and(|db| db.eq_ignore_ascii_case(id)),
            _ => job
                .db_cluster
                .as_deref()
                .is_some_and(|db| db.eq_ignore_ascii_case(id)),
        });
    plan_matches && db_matches
}

/// Starts `run` as the validation of the restore testing job `seen` for `job`: the database
/// under test is the one AWS Backup restored (`restored`, `None` when it no longer exists). `Err`
/// says why the job is not validated: not this entry's, not completed, already validated, or a
/// resource Lifeboat will not touch (one without AWS Backup's restore-test tag: its master
/// password is never changed).
pub(super) fn restore_test_run(
    job: &VerifyJob,
    seen: &RestoreJobSeen,
    restored: Option<&RestoredByBackup>,
    mut run: VerifyRun,
    now: OffsetDateTime,
) -> Result<VerifyRun, String> {
    let id = &seen.job_id;
    if !tests_jobs_db(job, seen) {
        return Err(format!(
            "restore job {id} ({}) is not a job of restore testing plan {} for {}",
            seen.source_resource_arn
                .as_deref()
                .unwrap_or("no source resource"),
            job.restore_testing_plan.as_deref().unwrap_or("(none)"),
            job.db_instance
                .as_deref()
                .or(job.db_cluster.as_deref())
                .unwrap_or_default()
        ));
    }
    if seen.status != "COMPLETED" {
        return Err(format!(
            "restore job {id} is {}: nothing to validate",
            seen.status
        ));
    }
    if let Some(status) = seen
        .validation_status
        .as_deref()
        .filter(|s| *s != "VALIDATING")
    {
        return Err(format!("restore job {id} is already validated: {status}"));
    }
    let created = seen.created_resource_arn.clone().unwrap_or_default();
    let Some((kind, db)) = rds_database(&created) else {
        return Err(format!(
            "restore job {id} created {created:?}, not an RDS DB instance or cluster"
        ));
    };
    let Some(restored) = restored else {
        return Err(format!("{created}, restored by job {id}, no longer exists"));
    };
    if !restored.tags.contains_key(RESTORE_TEST_TAG) {
        return Err(format!(
            "{created} carries no {RESTORE_TEST_TAG} tag: Lifeboat changes nothing on it"
        ));
    }
    let made_by_backup = Created {
        cluster: (kind == "cluster").then(|| db.to_owned()),
        instance: (kind == "db").then(|| db.to_owned()),
    };
    run.created = made_by_backup.clone();
    run.copy = Some(ChosenCopy {
        kind: CopyKind::RecoveryPoint,
        id: seen.recovery_point_arn.clone().unwrap_or_default(),
        source_db: job
            .db_instance
            .clone()
            .or_else(|| job.db_cluster.clone())
            .unwrap_or_default(),
        engine: restored.engine.clone(),
        taken_at: seen.recovery_point_created_at,
    });
    let plan_arn = seen.restore_testing_plan_arn.clone().unwrap_or_default();
    run.step(
        StepKind::RestoreTest,
        now,
        true,
        format!("validating restore testing job {id} of {plan_arn}: {created}"),
    );
    run.restore_test = Some(RestoreTest {
        restore_job_id: id.clone(),
        restore_testing_plan_arn: plan_arn,
        created_resource_arn: created,
        made_by_backup,
        restore_started_at: seen.created_at,
        restore_completed_at: seen.completed_at,
        answered: None,
    });
    // The wait for an added instance counts from now; the restore itself was AWS Backup's.
    run.restore_requested_at = Some(now);
    run.phase = Phase::WaitingAvailable;
    Ok(run)
}

/// What AWS Backup is told of a finished restore test: the status and its message (the
/// failure, naming the failing check; AWS caps nothing documented, Lifeboat keeps it short).
pub(super) fn validation_result(run: &VerifyRun) -> (&'static str, String) {
    match verdict(run) {
        Verdict::Verified => {
            let passed = run.checks.len();
            ("SUCCESSFUL", format!("Lifeboat: {passed} checks passed"))
        }
        Verdict::Failed => {
            let why = run
                .failure
                .clone()
                .or_else(|| {
                    let failed: Vec<String> = run
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{}: {}", c.sql, c.detail))
                        .collect();
                    (!failed.is_empty()).then(|| format!("failed checks: {}", failed.join("; ")))
                })
                .unwrap_or_else(|| "failed".to_owned());
            let message: String = format!("Lifeboat: {why}").chars().take(1000).collect();
            ("FAILED", message)
        }
    }
}

/// Verified only when the run never failed and every check passed.
pub(super) fn verdict(run: &VerifyRun) -> Verdict {
    if run.failure.is_none() && run.checks.iter().all(|c| c.passed) {
        Verdict::Verified
    } else {
        Verdict::Failed
    }
}

/// A resource the sweep considers: an RDS instance or cluster in the recovery Region, its tags.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tagged {
    pub id: String,
    pub tags: BTreeMap<String, String>,
}

/// The leftovers of crashed runs to delete: a verification's resources (the plan's tag, the
/// verify tag, an expiry) whose expiry has passed. Nothing without all three tags is ever
/// touched, whatever its name.
pub(super) fn expired_leftovers<'a>(
    plan: &str,
    resources: &'a [Tagged],
    now: OffsetDateTime,
) -> Vec<&'a Tagged> {
    resources
        .iter()
        .filter(|r| r.tags.get(tags::PLAN).map(String::as_str) == Some(plan))
        .filter(|r| r.tags.contains_key(verify_tags::JOB))
        .filter(|r| {
            r.tags
                .get(verify_tags::EXPIRES)
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .is_some_and(|expires| expires < now)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::copies::target_identifier;
    use crate::verify::checks::CheckResult;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn job(extra: &str) -> VerifyJob {
        let plan = Plan::parse(
            &format!(
                r#"
                name = "tracking"
                primary_region = "us-west-2"
                recovery_region = "us-east-2"
                state_bucket = "tracking-dr-state"
                [[copy.rds]]
                db_instance = "orders"
                [[copy.rds]]
                db_cluster = "phoenix"
                [[verify]]
                name = "weekly"
                instance_class = "db.t4g.medium"
                subnet_group = "dr-isolated"
                max_restore_minutes = 30
                {extra}
                "#
            ),
            "test",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        plan.verify[0].clone()
    }

    fn copy(db: &str, source_id: &str, hours_ago: i64, plan: &str) -> Candidate {
        let source_arn = format!("arn:aws:rds:us-west-2:111122223333:snapshot:{source_id}");
        let taken = NOW - Duration::hours(hours_ago);
        Candidate {
            kind: CopyKind::DbSnapshot,
            id: target_identifier(&source_arn, source_id),
            engine: "postgres".into(),
            status: "available".into(),
            tags: [
                (tags::PLAN, plan.to_owned()),
                (tags::SOURCE_ARN, source_arn.clone()),
                (tags::SOURCE_DB, db.to_owned()),
                (tags::SOURCE_CREATED, taken.format(&Rfc3339).unwrap()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            created: Some(NOW),
        }
    }

    #[test]
    fn the_newest_available_copy_of_the_jobs_db_that_the_plan_made_is_chosen() {
        let job = job("db_instance = \"orders\"");
        let mut creating = copy("orders", "orders-0", 0, "tracking");
        creating.status = "creating".into();
        let mut hold = copy("orders", "orders-1", 1, "tracking");
        hold.id = "legal-hold".into();
        let candidates = [
            copy("orders", "orders-5", 5, "tracking"),
            copy("orders", "orders-3", 3, "tracking"),
            copy("orders", "orders-2", 2, "another-plan"),
            copy("billing", "billing-1", 1, "tracking"),
            creating,
            hold,
        ];
        let chosen = choose_copy(&job, "tracking", &candidates).unwrap();
        assert_eq!(chosen.id, candidates[1].id);
        assert_eq!(chosen.taken_at, Some(NOW - Duration::hours(3)));
        assert_eq!(chosen.kind, CopyKind::DbSnapshot);
        assert!(choose_copy(&job, "tracking", &candidates[3..]).is_none());
    }

    fn run(phase: Phase) -> VerifyRun {
        let mut run = VerifyRun::start("r1", "tracking", "weekly", NOW - Duration::minutes(10));
        run.phase = phase;
        run.restore_requested_at = Some(NOW - Duration::minutes(10));
        run.created.instance = Some("lifeboat-verify-weekly-r1".into());
        run
    }

    fn observed(instance: Option<&str>) -> Observed {
        Observed {
            cluster: None,
            instance: instance.map(str::to_owned),
            restore_job: None,
        }
    }

    #[test]
    fn a_restore_is_waited_for_checked_when_available_and_failed_past_the_limit() {
        let job = job("db_instance = \"orders\"");
        let waiting = run(Phase::WaitingAvailable);
        match next_action(&waiting, &job, &observed(Some("creating")), NOW) {
            Action::Wait { detail } => assert!(
                detail.starts_with("DB instance lifeboat-verify-weekly-r1 is creating; 10m of max_restore_minutes = 30 used"),
                "{detail}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            next_action(&waiting, &job, &observed(Some("available")), NOW),
            Action::Check
        );
        let late = NOW + Duration::minutes(25);
        match next_action(&waiting, &job, &observed(Some("creating")), late) {
            Action::Fail { why, .. } => assert_eq!(
                why,
                "not available within max_restore_minutes = 30 (DB instance lifeboat-verify-weekly-r1 is creating)"
            ),
            other => panic!("{other:?}"),
        }
        match next_action(&waiting, &job, &observed(Some("incompatible-restore")), NOW) {
            Action::Fail { why, .. } => assert!(why.ends_with("is incompatible-restore"), "{why}"),
            other => panic!("{other:?}"),
        }
        match next_action(&waiting, &job, &observed(None), NOW) {
            Action::Fail { why, .. } => assert!(why.ends_with("no longer exists"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_aurora_cluster_gets_an_instance_once_it_is_available() {
        let job = job("db_cluster = \"phoenix\"");
        let mut cluster_run = run(Phase::WaitingAvailable);
        cluster_run.created.instance = None;
        cluster_run.created.cluster = Some("lifeboat-verify-weekly-r1".into());
        let seen = |cluster: &str, instance: Option<&str>| Observed {
            cluster: Some(cluster.to_owned()),
            instance: instance.map(str::to_owned),
            restore_job: None,
        };
        assert!(matches!(
            next_action(&cluster_run, &job, &seen("creating", None), NOW),
            Action::Wait { .. }
        ));
        assert_eq!(
            next_action(&cluster_run, &job, &seen("available", None), NOW),
            Action::AddInstance
        );
        cluster_run.created.instance = Some("lifeboat-verify-weekly-r1-1".into());
        assert!(matches!(
            next_action(
                &cluster_run,
                &job,
                &seen("available", Some("creating")),
                NOW
            ),
            Action::Wait { .. }
        ));
        assert_eq!(
            next_action(
                &cluster_run,
                &job,
                &seen("available", Some("available")),
                NOW
            ),
            Action::Check
        );
    }

    #[test]
    fn clean_up_deletes_what_stands_then_finishes_with_the_verdict() {
        let job = job("db_instance = \"orders\"");
        let mut cleaning = run(Phase::CleaningUp);
        cleaning.checks.push(CheckResult {
            sql: "SELECT 1".into(),
            passed: true,
            detail: String::new(),
            value: Some(1.0),
            newest_data: None,
            data_age_seconds: None,
            data_age_at_snapshot_seconds: None,
        });
        assert_eq!(
            next_action(&cleaning, &job, &observed(Some("available")), NOW),
            Action::Delete {
                instance: Some("lifeboat-verify-weekly-r1".into()),
                cluster: None
            }
        );
        assert_eq!(
            next_action(&cleaning, &job, &observed(Some("deleting")), NOW),
            Action::Finish(Verdict::Verified)
        );
        assert_eq!(
            next_action(&cleaning, &job, &observed(None), NOW),
            Action::Finish(Verdict::Verified)
        );

        // A failed check, or a failure before the checks, is a failed verification, cleaned all the same.
        cleaning.checks[0].passed = false;
        assert_eq!(
            next_action(&cleaning, &job, &observed(None), NOW),
            Action::Finish(Verdict::Failed)
        );
        let mut failed = run(Phase::WaitingAvailable);
        failed.fail(
            StepKind::Wait,
            NOW,
            "not available within max_restore_minutes = 30",
        );
        assert_eq!(failed.phase, Phase::CleaningUp);
        assert!(matches!(
            next_action(&failed, &job, &observed(Some("creating")), NOW),
            Action::Delete { .. }
        ));
        assert_eq!(
            next_action(&failed, &job, &observed(None), NOW),
            Action::Finish(Verdict::Failed)
        );
    }

    #[test]
    fn the_sweep_deletes_only_expired_verification_resources_of_the_plan() {
        let tagged = |id: &str, tags: &[(&str, &str)]| Tagged {
            id: id.into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let past = "2026-11-25T11:00:00Z";
        let future = "2026-11-25T13:00:00Z";
        let resources = [
            tagged(
                "expired",
                &[
                    (tags::PLAN, "tracking"),
                    (verify_tags::JOB, "weekly"),
                    (verify_tags::EXPIRES, past),
                ],
            ),
            tagged(
                "live",
                &[
                    (tags::PLAN, "tracking"),
                    (verify_tags::JOB, "weekly"),
                    (verify_tags::EXPIRES, future),
                ],
            ),
            tagged(
                "other-plan",
                &[
                    (tags::PLAN, "billing"),
                    (verify_tags::JOB, "weekly"),
                    (verify_tags::EXPIRES, past),
                ],
            ),
            tagged(
                "not-a-verify",
                &[(tags::PLAN, "tracking"), (verify_tags::EXPIRES, past)],
            ),
            tagged(
                "no-expiry",
                &[(tags::PLAN, "tracking"), (verify_tags::JOB, "weekly")],
            ),
            tagged("production", &[]),
        ];
        let swept: Vec<&str> = expired_leftovers("tracking", &resources, NOW)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(swept, ["expired"]);
    }

    fn point(resource: &str, hours_ago: i64, status: &str) -> RecoveryPointSeen {
        RecoveryPointSeen {
            arn: format!("arn:aws:rds:us-east-2:111122223333:snapshot:awsbackup:copy-{hours_ago}"),
            resource_arn: format!("arn:aws:rds:us-west-2:111122223333:{resource}"),
            status: status.into(),
            created: Some(NOW - Duration::hours(hours_ago)),
        }
    }

    #[test]
    fn the_newest_completed_recovery_point_of_the_jobs_db_is_chosen() {
        let job = job(
            "db_instance = \"orders\"\nbackup_vault = \"dr\"\nrestore_role = \"arn:aws:iam::111122223333:role/restore\"",
        );
        let points = [
            point("db:orders", 30, "COMPLETED"),
            point("db:orders", 2, "PARTIAL"),
            point("db:orders", 6, "COMPLETED"),
            point("db:orders-2", 1, "COMPLETED"),
            point("cluster:orders", 1, "COMPLETED"),
        ];
        let chosen = choose_recovery_point(&job, &points).unwrap();
        assert_eq!(chosen.id, points[2].arn);
        assert_eq!(chosen.kind, CopyKind::RecoveryPoint);
        assert_eq!(chosen.taken_at, Some(NOW - Duration::hours(6)));
        assert_eq!(choose_recovery_point(&job, &points[3..]), None);
    }

    #[test]
    fn an_aws_backup_restore_is_waited_for_tagged_then_checked_and_waited_for_before_cleanup() {
        let job = job(
            "db_instance = \"orders\"\nbackup_vault = \"dr\"\nrestore_role = \"arn:aws:iam::111122223333:role/restore\"",
        );
        let mut run = run(Phase::WaitingAvailable);
        run.created.instance = Some("lifeboat-verify-weekly-0f3a9c2e".into());
        run.backup_restore = Some(crate::verify::run::BackupRestore {
            restore_job_id: "r-1".into(),
            tagged: false,
        });
        let seen = |job_status: &str, instance: Option<&str>| Observed {
            cluster: None,
            instance: instance.map(str::to_owned),
            restore_job: Some((job_status.to_owned(), Some("why".to_owned()))),
        };
        // Running: wait (the instance does not exist yet, and that is no failure).
        assert!(matches!(
            next_action(&run, &job, &seen("RUNNING", None), NOW),
            Action::Wait { detail } if detail.contains("restore job r-1 is RUNNING")
        ));
        // Past the limit: fail.
        assert!(matches!(
            next_action(&run, &job, &seen("RUNNING", None), NOW + Duration::minutes(31)),
            Action::Fail { why, .. } if why.starts_with("not available within max_restore_minutes = 30")
        ));
        // Failed: say why.
        assert!(matches!(
            next_action(&run, &job, &seen("FAILED", None), NOW),
            Action::Fail { why, .. } if why == "AWS Backup restore job r-1 is FAILED: why"
        ));
        // Completed: tag first, then the usual: checked once available.
        assert_eq!(
            next_action(&run, &job, &seen("COMPLETED", Some("creating")), NOW),
            Action::TagRestored
        );
        run.backup_restore.as_mut().unwrap().tagged = true;
        assert_eq!(
            next_action(&run, &job, &seen("COMPLETED", Some("available")), NOW),
            Action::Check
        );
        // Cleaning up while AWS Backup still restores: wait for it, tag what it made, delete it.
        run.phase = Phase::CleaningUp;
        run.backup_restore.as_mut().unwrap().tagged = false;
        assert!(matches!(
            next_action(&run, &job, &seen("RUNNING", None), NOW),
            Action::Wait { .. }
        ));
        assert_eq!(
            next_action(&run, &job, &seen("COMPLETED", Some("available")), NOW),
            Action::TagRestored
        );
        run.backup_restore.as_mut().unwrap().tagged = true;
        assert_eq!(
            next_action(&run, &job, &seen("COMPLETED", Some("available")), NOW),
            Action::Delete {
                instance: Some("lifeboat-verify-weekly-0f3a9c2e".into()),
                cluster: None
            }
        );
    }

    /// A real event of `events/`, as the Lambda reads it.
    fn event(json: &str) -> Trigger {
        Trigger::from_event(&serde_json::from_str(json).unwrap()).unwrap()
    }

    const SCHEDULE: &str = include_str!("../../../events/schedule.json");
    const CLUSTER_EVENT: &str = include_str!("../../../events/rds-verify-cluster-event.json");
    const INSTANCE_EVENT: &str = include_str!("../../../events/rds-verify-instance-event.json");
    const RESTORE_TEST: &str = include_str!("../../../events/backup-restore-test-completed.json");

    /// Three entries: one restoring Lifeboat's copies, one validating AWS Backup's restore tests
    /// of the plan `tracking_daily`, and another restoring copies.
    fn verifying_plan() -> Plan {
        Plan::parse(
            r#"
            name = "tracking"
            primary_region = "us-west-2"
            recovery_region = "us-east-2"
            state_bucket = "tracking-dr-state"
            [[copy.rds]]
            db_instance = "orders"
            [[copy.rds]]
            db_cluster = "phoenix-aurora"
            [[verify]]
            name = "aurora-weekly"
            db_cluster = "phoenix-aurora"
            instance_class = "db.t4g.medium"
            subnet_group = "dr-isolated"
            [[verify]]
            name = "restore-tests"
            db_instance = "orders"
            instance_class = "db.t4g.micro"
            restore_testing_plan = "tracking_daily"
            [[verify]]
            name = "nightly"
            db_instance = "orders"
            instance_class = "db.t4g.medium"
            subnet_group = "dr-isolated"
            "#,
            "test",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ignored_because(asked: Asked) -> String {
        match asked {
            Asked::Ignored { reason } => reason,
            other => panic!("not ignored: {other:?}"),
        }
    }

    #[test]
    fn a_schedule_tick_and_the_cli_ask_of_every_job_or_the_one_named() {
        let plan = verifying_plan();
        assert_eq!(
            asked(&event(SCHEDULE), &plan, None).unwrap(),
            Asked::ScheduleTick {
                jobs: vec![0, 1, 2]
            }
        );
        assert_eq!(
            asked(&Trigger::Manual, &plan, None).unwrap(),
            Asked::Cli {
                jobs: vec![0, 1, 2]
            }
        );
        assert_eq!(
            asked(&Trigger::Manual, &plan, Some("nightly")).unwrap(),
            Asked::Cli { jobs: vec![2] }
        );
        let error = asked(&Trigger::Manual, &plan, Some("weekly")).unwrap_err();
        assert!(
            error.to_string().contains(
                "the plan has no [[verify]] entry named \"weekly\" (it has: aurora-weekly, \
                 restore-tests, nightly)"
            ),
            "{error}"
        );
        let mut none = plan.clone();
        none.verify.clear();
        assert_eq!(
            ignored_because(asked(&event(SCHEDULE), &none, None).unwrap()),
            "the plan has no [[verify]] entry"
        );
    }

    #[test]
    fn an_rds_event_about_a_verifications_resource_asks_of_its_job_in_the_recovery_region() {
        let plan = verifying_plan();
        for (json, identifier) in [
            (CLUSTER_EVENT, "lifeboat-verify-aurora-weekly-1a2b3c4d"),
            (INSTANCE_EVENT, "lifeboat-verify-aurora-weekly-1a2b3c4d-1"),
        ] {
            assert_eq!(
                asked(&event(json), &plan, None).unwrap(),
                Asked::ResourceEvent { jobs: vec![0] }
            );
            assert_eq!(
                ignored_because(asked(&event(json), &plan, Some("nightly")).unwrap()),
                format!("{identifier} is not a resource of any [[verify]] entry of plan tracking")
            );
        }
        let mut elsewhere: serde_json::Value = serde_json::from_str(CLUSTER_EVENT).unwrap();
        elsewhere["region"] = "us-west-2".into();
        let trigger = Trigger::from_event(&elsewhere).unwrap();
        assert_eq!(
            ignored_because(asked(&trigger, &plan, None).unwrap()),
            format!(
                "{}: in us-west-2; the plan's verifications run in us-east-2",
                trigger.describe()
            )
        );
    }

    #[test]
    fn a_completed_restore_test_asks_for_its_validation_by_the_jobs_naming_its_plan() {
        let plan = verifying_plan();
        let trigger = event(RESTORE_TEST);
        assert_eq!(
            asked(&trigger, &plan, None).unwrap(),
            Asked::RestoreTestCompleted {
                candidates: vec![1],
                restore_job_id: "D1E2F3A4-B5C6-7D8E-9F0A-1B2C3D4E5F60".into(),
            }
        );
        assert_eq!(
            ignored_because(asked(&trigger, &plan, Some("aurora-weekly")).unwrap()),
            format!(
                "{}: no [[verify]] entry names that restore testing plan",
                trigger.describe()
            )
        );
        let mut payload: serde_json::Value = serde_json::from_str(RESTORE_TEST).unwrap();
        payload["region"] = "us-west-2".into();
        let elsewhere = Trigger::from_event(&payload).unwrap();
        assert!(
            ignored_because(asked(&elsewhere, &plan, None).unwrap())
                .contains("in us-west-2; Lifeboat validates restore tests in the recovery Region")
        );
        payload["detail"]
            .as_object_mut()
            .unwrap()
            .remove("restoreTestingPlanArn");
        let not_a_test = Trigger::from_event(&payload).unwrap();
        assert_eq!(
            ignored_because(asked(&not_a_test, &plan, None).unwrap()),
            "restore job D1E2F3A4-B5C6-7D8E-9F0A-1B2C3D4E5F60 was not started by a restore \
             testing plan: nothing to validate"
        );
    }

    #[test]
    fn the_other_tasks_events_ask_nothing_of_the_verification() {
        let plan = verifying_plan();
        for json in [
            include_str!("../../../events/rds-snapshot-created.json"),
            include_str!("../../../events/rds-cluster-snapshot-created.json"),
            include_str!("../../../events/backup-job-completed.json"),
            include_str!("../../../events/copy-job-failed.json"),
            include_str!("../../../events/cloudwatch-alarm-state-change.json"),
            include_str!("../../../events/runbook-dry-run.json"),
        ] {
            let trigger = event(json);
            assert_eq!(
                ignored_because(asked(&trigger, &plan, None).unwrap()),
                format!("{}: verify-restore does not act on it", trigger.describe())
            );
        }
        // An RDS event about a database of the plan's, not a verification's: ignored as read.
        let trigger = event(include_str!("../../../events/rds-db-instance-event.json"));
        let Trigger::Ignored { reason } = &trigger else {
            panic!("{trigger:?}");
        };
        assert_eq!(
            ignored_because(asked(&trigger, &plan, None).unwrap()),
            *reason
        );
    }
}
