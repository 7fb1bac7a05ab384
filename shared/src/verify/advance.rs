//! One invocation's share of a verification run: describe what the run created, decide what
//! next, act, note the step, until the run is finished or the next look would outlast the
//! invocation's deadline.

use std::ops::ControlFlow;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::calls::{self, DbState};
use super::checks::{self, CheckError, EngineFamily, Target};
use super::decide::{self, Action, Observed};
use super::run::{BackupRestore, CopyKind, Phase, StepKind, Verdict, VerifyRun};
use super::secret::Password;
use crate::aws::{AwsClients, RegionalClients};
use crate::clock::{now, sleep_before};
use crate::error::Error;
use crate::plan::{Plan, VerifyJob};

/// What the run's resources look like now, as described.
struct Seen {
    cluster: Option<DbState>,
    instance: Option<DbState>,
    restore_job: Option<decide::RestoreJobSeen>,
}

impl Seen {
    fn observed(&self) -> Observed {
        Observed {
            cluster: self.cluster.as_ref().map(|c| c.status.clone()),
            instance: self.instance.as_ref().map(|i| i.status.clone()),
            restore_job: self
                .restore_job
                .as_ref()
                .map(|j| (j.status.clone(), j.status_message.clone())),
        }
    }
}

async fn describe(recovery: &RegionalClients, run: &VerifyRun) -> Result<Seen, Error> {
    let cluster = match &run.created.cluster {
        Some(id) => calls::describe_cluster(recovery, id).await?,
        None => None,
    };
    let instance = match &run.created.instance {
        Some(id) => calls::describe_instance(recovery, id).await?,
        None => None,
    };
    // Until it is tagged, what an AWS Backup restore made is known through its restore job.
    let restore_job = match &run.backup_restore {
        Some(restore) if !restore.tagged || run.phase == Phase::WaitingAvailable => {
            Some(calls::describe_restore_job(recovery, &restore.restore_job_id).await?)
        }
        _ => None,
    };
    Ok(Seen {
        cluster,
        instance,
        restore_job,
    })
}

/// Advances `run` of the plan's `[[verify]]` entry `job_index` as far as it goes before
/// `deadline`: describe what the run created, decide (`decide::next_action`), act, note the
/// step, again. Returns the run finished (its verdict set), or as it stands when the next look
/// would outlast the deadline, to be saved and advanced by the next invocation. A new run first
/// sweeps the expired leftovers of crashed runs. `poll` is how long it waits between looks
/// ([`POLL_INTERVAL`](super::POLL_INTERVAL) in production).
///
/// The master password given to the restored database lives only in this call: it is never
/// logged and never in the record, so a run that stops in [`Phase::Checking`] sets a new one.
pub async fn advance(
    clients: &AwsClients,
    plan: &Plan,
    job_index: usize,
    mut run: VerifyRun,
    deadline: Instant,
    poll: Duration,
) -> Result<VerifyRun, Error> {
    loop {
        let steps = run.steps.len();
        run = advance_to_next_step(clients, plan, job_index, run, deadline, poll).await?;
        // Each call ends with a new step; one that ends for want of time ends the share.
        if run.phase == Phase::Finished
            || run.steps.len() == steps
            || Instant::now() + poll >= deadline
        {
            return Ok(run);
        }
    }
}

/// [`advance`], but returning as soon as the run notes a step (a restore asked for, an instance
/// added, the checks run, a delete asked for, …), so that the caller saves every change to the
/// record before it shows it or goes on: a process killed at any point resumes from a record
/// that holds everything it asked AWS for. Returns with a `wait` step when the next look would
/// outlast `deadline`.
pub(super) async fn advance_to_next_step(
    clients: &AwsClients,
    plan: &Plan,
    job_index: usize,
    mut run: VerifyRun,
    deadline: Instant,
    poll: Duration,
) -> Result<VerifyRun, Error> {
    let job = plan.verify.get(job_index).ok_or_else(|| {
        Error::Refused(format!(
            "the plan has no [[verify]] entry number {job_index}"
        ))
    })?;
    let recovery = &clients.recovery;
    let steps = run.steps.len();
    if run.phase == Phase::Restoring && run.steps.is_empty() {
        sweep(recovery, plan, &mut run).await;
    }
    let pace = Pace { poll, deadline };
    // Each arm that notes a step ends the call at the top of the loop: the caller saves it.
    loop {
        if run.phase == Phase::Finished || run.steps.len() > steps {
            return Ok(run);
        }
        let seen = describe(recovery, &run).await?;
        let now = now();
        match decide::next_action(&run, job, &seen.observed(), now) {
            Action::ChooseAndRestore => restore(recovery, plan, job, &mut run, now).await?,
            Action::AddInstance => add_instance(recovery, job, &mut run, now).await?,
            Action::TagRestored => tag_restored(recovery, plan, job, &mut run, &seen, now).await?,
            Action::Wait { detail } => wait(&mut run, now, detail, pace).await,
            Action::Check => check_available(recovery, job, &mut run, now, pace).await?,
            Action::Fail { step, why } => run.fail(step, now, why),
            Action::Delete { instance, cluster } => {
                delete(recovery, &mut run, &seen, instance, cluster, now, pace).await?
            }
            Action::Finish(verdict) => finish(&mut run, verdict, now),
        }
    }
}

/// How long a run waits between looks, and until when it may.
#[derive(Debug, Clone, Copy)]
struct Pace {
    poll: Duration,
    deadline: Instant,
}

impl Pace {
    /// Sleeps until the next look; false, at once, when that would outlast the deadline.
    async fn sleep(self) -> bool {
        sleep_before(self.poll, self.deadline).await
    }
}

/// Sleeps until the next look, or notes a `wait` step when that would outlast the deadline.
async fn wait(run: &mut VerifyRun, now: OffsetDateTime, detail: impl Into<String>, pace: Pace) {
    if !pace.sleep().await {
        run.step(StepKind::Wait, now, true, detail);
    }
}

/// The restored database is available: note when (once), then the checks in this invocation.
async fn check_available(
    recovery: &RegionalClients,
    job: &VerifyJob,
    run: &mut VerifyRun,
    now: OffsetDateTime,
    pace: Pace,
) -> Result<(), Error> {
    if run.phase == Phase::WaitingAvailable {
        run.available_at = Some(now);
        let seconds = run.restore_seconds().unwrap_or_default();
        run.step(
            StepKind::Available,
            now,
            true,
            format!("restored and available after {seconds} s"),
        );
    }
    // First: a run that stops from here on gives a new password next time.
    run.phase = Phase::Checking;
    if !check(recovery, job, run, pace).await? {
        run.step(
            StepKind::Wait,
            now,
            true,
            "the database is not ready for the checks yet",
        );
    }
    Ok(())
}

/// Asks for the delete of what stands: the instance first, its cluster once it is gone (RDS
/// refuses it before); waits for the next look when nothing could be asked.
async fn delete(
    recovery: &RegionalClients,
    run: &mut VerifyRun,
    seen: &Seen,
    instance: Option<String>,
    cluster: Option<String>,
    now: OffsetDateTime,
    pace: Pace,
) -> Result<(), Error> {
    let done = if let Some(id) = &instance {
        act_or_wait(
            calls::delete_instance(recovery, id).await,
            run,
            StepKind::Delete,
            format!("deleting the DB instance {id}"),
        )?
    } else if let (Some(id), None) = (&cluster, &seen.instance) {
        act_or_wait(
            calls::delete_cluster(recovery, id).await,
            run,
            StepKind::Delete,
            format!("deleting the DB cluster {id}"),
        )?
    } else {
        false
    };
    if !done {
        wait(run, now, "waiting for the deletes to go through", pace).await;
    }
    Ok(())
}

/// Nothing of the run is left standing: its verdict.
fn finish(run: &mut VerifyRun, verdict: Verdict, now: OffsetDateTime) {
    run.verdict = Some(verdict);
    run.phase = Phase::Finished;
    let detail = match &run.failure {
        Some(why) => format!("{verdict:?}: {why}"),
        None => format!("{verdict:?}"),
    };
    run.step(StepKind::Finish, now, run.failure.is_none(), detail);
}

/// A call's error: a retryable one is the caller's (the run is tried again as saved), any other
/// fails the run at `step`.
fn fail_unless_retryable(
    run: &mut VerifyRun,
    step: StepKind,
    now: OffsetDateTime,
    error: Error,
) -> Result<(), Error> {
    if error.is_retryable() {
        return Err(error);
    }
    run.fail_on(step, now, &error);
    Ok(())
}

/// Notes a done step (true); a retryable error (false) is tried again at the next look, any
/// other is the caller's.
fn act_or_wait(
    result: Result<(), Error>,
    run: &mut VerifyRun,
    step: StepKind,
    detail: String,
) -> Result<bool, Error> {
    match result {
        Ok(()) => {
            run.step(step, now(), true, detail);
            Ok(true)
        }
        Err(e) if e.is_retryable() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes the leftovers of crashed runs of this plan whose expiry has passed: instances first,
/// then clusters. A sweep that cannot list or delete is noted and does not stop the run.
async fn sweep(recovery: &RegionalClients, plan: &Plan, run: &mut VerifyRun) {
    let now = now();
    let (instances, clusters) = match calls::tagged_resources(recovery).await {
        Ok(found) => found,
        Err(e) => {
            run.step_failed(StepKind::Sweep, now, &e);
            return;
        }
    };
    for instance in decide::expired_leftovers(&plan.name, &instances, now) {
        let (ok, detail) = match calls::delete_instance(recovery, &instance.id).await {
            Ok(()) => (
                true,
                format!("deleted the expired DB instance {}", instance.id),
            ),
            Err(e) => (false, e.to_string()),
        };
        run.step(StepKind::Sweep, now, ok, detail);
    }
    for cluster in decide::expired_leftovers(&plan.name, &clusters, now) {
        let (ok, detail) = match calls::delete_cluster(recovery, &cluster.id).await {
            Ok(()) => (
                true,
                format!("deleted the expired DB cluster {}", cluster.id),
            ),
            Err(e) => (false, e.to_string()),
        };
        run.step(StepKind::Sweep, now, ok, detail);
    }
}

/// Chooses the newest copy and asks for its restore (the identifiers are the run's, so asking
/// twice is harmless).
async fn restore(
    recovery: &RegionalClients,
    plan: &Plan,
    job: &VerifyJob,
    run: &mut VerifyRun,
    now: OffsetDateTime,
) -> Result<(), Error> {
    if let Some(vault) = &job.backup_vault {
        return restore_recovery_point(recovery, job, vault, run, now).await;
    }
    let candidates = calls::candidates(recovery).await?;
    let Some(copy) = decide::choose_copy(job, &plan.name, &candidates) else {
        let db = job.db_instance.as_ref().or(job.db_cluster.as_ref());
        run.fail(
            StepKind::Choose,
            now,
            format!(
                "no available copy of {} in {}",
                db.map_or("the job's DB", String::as_str),
                recovery.region
            ),
        );
        return Ok(());
    };
    let (cluster_id, _) = calls::identifiers(&run.job, &run.run_id);
    let tags = calls::run_tags(&plan.name, job, run, now);
    let result = match copy.kind {
        CopyKind::DbSnapshot => {
            run.created.instance = Some(cluster_id.clone());
            calls::restore_instance(recovery, job, &copy.id, &cluster_id, tags).await
        }
        CopyKind::ClusterSnapshot => {
            run.created.cluster = Some(cluster_id.clone());
            calls::restore_cluster(recovery, job, &copy.id, &copy.engine, &cluster_id, tags).await
        }
        // Restore tests start past this phase: AWS Backup restored the recovery point.
        CopyKind::RecoveryPoint => Err(Error::Refused(format!(
            "{} is a recovery point: a run restores only Lifeboat's snapshot copies",
            copy.id
        ))),
    };
    let detail = format!("restoring {} as {cluster_id}", copy.id);
    run.copy = Some(copy);
    match result {
        Ok(()) => {
            run.restore_requested_at = Some(now);
            run.phase = Phase::WaitingAvailable;
            run.step(StepKind::Restore, now, true, detail);
            Ok(())
        }
        Err(e) => fail_unless_retryable(run, StepKind::Restore, now, e),
    }
}

/// Chooses the newest recovery point of the job's DB in the vault and asks AWS Backup to
/// restore it under the run's identifier (the run id is the idempotency token).
async fn restore_recovery_point(
    recovery: &RegionalClients,
    job: &VerifyJob,
    vault: &str,
    run: &mut VerifyRun,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let points = calls::recovery_points(recovery, vault).await?;
    let Some(copy) = decide::choose_recovery_point(job, &points) else {
        let db = job.db_instance.as_ref().or(job.db_cluster.as_ref());
        run.fail(
            StepKind::Choose,
            now,
            format!(
                "no completed recovery point of {} in the backup vault {vault} ({})",
                db.map_or("the job's DB", String::as_str),
                recovery.region
            ),
        );
        return Ok(());
    };
    let (id, _) = calls::identifiers(&run.job, &run.run_id);
    match calls::start_backup_restore(recovery, job, &copy.id, &id, &run.run_id).await {
        Ok(restore_job_id) => {
            if job.db_cluster.is_some() {
                run.created.cluster = Some(id.clone());
            } else {
                run.created.instance = Some(id.clone());
            }
            run.step(
                StepKind::Restore,
                now,
                true,
                format!(
                    "AWS Backup restore job {restore_job_id}: restoring {} as {id}",
                    copy.id
                ),
            );
            run.backup_restore = Some(BackupRestore {
                restore_job_id,
                tagged: false,
            });
            run.copy = Some(copy);
            run.restore_requested_at = Some(now);
            run.phase = Phase::WaitingAvailable;
            Ok(())
        }
        Err(e) => {
            run.copy = Some(copy);
            fail_unless_retryable(run, StepKind::Restore, now, e)
        }
    }
}

/// Tags what an AWS Backup restore made with the run's tags (so the sweep knows it), and notes
/// its engine, which the recovery point's listing does not give.
async fn tag_restored(
    recovery: &RegionalClients,
    plan: &Plan,
    job: &VerifyJob,
    run: &mut VerifyRun,
    seen: &Seen,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let Some(arn) = seen
        .restore_job
        .as_ref()
        .and_then(|j| j.created_resource_arn.clone())
    else {
        run.fail(
            StepKind::Tag,
            now,
            "the completed restore job names no created resource",
        );
        return Ok(());
    };
    let tags = calls::run_tags(&plan.name, job, run, now);
    match calls::tag_resource(recovery, &arn, tags).await {
        Ok(()) => {
            let engine = seen
                .cluster
                .as_ref()
                .or(seen.instance.as_ref())
                .and_then(|db| db.engine.clone());
            if let (Some(copy), Some(engine)) = (run.copy.as_mut(), engine) {
                copy.engine = engine;
            }
            if let Some(restore) = run.backup_restore.as_mut() {
                restore.tagged = true;
            }
            run.step(
                StepKind::Tag,
                now,
                true,
                format!("tagged {arn} as the run's"),
            );
            Ok(())
        }
        Err(e) => fail_unless_retryable(run, StepKind::Tag, now, e),
    }
}

/// Adds the instance to the restored cluster.
async fn add_instance(
    recovery: &RegionalClients,
    job: &VerifyJob,
    run: &mut VerifyRun,
    now: OffsetDateTime,
) -> Result<(), Error> {
    // The run's own cluster, or the one an AWS Backup restore test made.
    let (own_cluster, instance_id) = calls::identifiers(&run.job, &run.run_id);
    let cluster_id = run.created.cluster.clone().unwrap_or(own_cluster);
    let engine = run
        .copy
        .as_ref()
        .map(|c| c.engine.clone())
        .unwrap_or_default();
    let tags = calls::run_tags(&run.plan, job, run, now);
    run.created.instance = Some(instance_id.clone());
    match calls::add_instance(recovery, job, &cluster_id, &engine, &instance_id, tags).await {
        Ok(()) => {
            run.step(
                StepKind::AddInstance,
                now,
                true,
                format!("adding the DB instance {instance_id} to {cluster_id}"),
            );
            Ok(())
        }
        Err(e) => fail_unless_retryable(run, StepKind::AddInstance, now, e),
    }
}

/// A fresh password, available again, the checks, then clean up. False when the deadline came
/// first (the run stays in [`Phase::Checking`] and sets another password next time).
async fn check(
    recovery: &RegionalClients,
    job: &VerifyJob,
    run: &mut VerifyRun,
    pace: Pace,
) -> Result<bool, Error> {
    let password = Password::random();
    if let ControlFlow::Break(done) = set_password(recovery, run, &password, pace).await {
        return Ok(done);
    }
    let seen = match available_again(recovery, run, pace).await? {
        ControlFlow::Continue(seen) => seen,
        ControlFlow::Break(done) => return Ok(done),
    };
    match target(job, run, seen, password) {
        Some(target) => sql_checks(job, run, &target).await,
        None => run.fail(
            StepKind::Checks,
            now(),
            "the restored DB instance has no endpoint",
        ),
    }
    Ok(true)
}

/// Gives the restored database a fresh master password. `Break(done)` when the checks cannot
/// follow now: the run failed (true), or the database is busy and the next look is this
/// invocation's (true) or the next one's (false).
async fn set_password(
    recovery: &RegionalClients,
    run: &mut VerifyRun,
    password: &Password,
    pace: Pace,
) -> ControlFlow<bool> {
    let set = match (&run.created.cluster, &run.created.instance) {
        (Some(cluster), _) => calls::set_cluster_password(recovery, cluster, password).await,
        (None, Some(instance)) => calls::set_instance_password(recovery, instance, password).await,
        (None, None) => Err(Error::Refused("the run created nothing to check".into())),
    };
    match set {
        Ok(()) => {
            let detail = "a fresh master password, never stored";
            run.step(StepKind::Password, now(), true, detail);
            ControlFlow::Continue(())
        }
        // Not yet (the instance is busy): again at the next look.
        Err(e) if e.is_retryable() => ControlFlow::Break(pace.sleep().await),
        Err(e) => {
            run.fail_on(StepKind::Password, now(), &e);
            ControlFlow::Break(true)
        }
    }
}

/// What the run created, once available again after the password change (which makes the
/// database `modifying`, or `resetting-master-credentials`, for a while). `Break(done)`: the
/// instance is gone and the run failed (true), or the deadline came first (false).
async fn available_again(
    recovery: &RegionalClients,
    run: &mut VerifyRun,
    pace: Pace,
) -> Result<ControlFlow<bool, Seen>, Error> {
    loop {
        let seen = describe(recovery, run).await?;
        let available = |s: &Option<DbState>| s.as_ref().is_some_and(|s| s.status == "available");
        if available(&seen.instance) && (run.created.cluster.is_none() || available(&seen.cluster))
        {
            return Ok(ControlFlow::Continue(seen));
        }
        if seen.instance.is_none() {
            let why = "the restored DB instance no longer exists";
            run.fail(StepKind::Password, now(), why);
            return Ok(ControlFlow::Break(true));
        }
        if !pace.sleep().await {
            return Ok(ControlFlow::Break(false));
        }
    }
}

/// Where and as whom the checks connect; `None` when the instance has no endpoint.
fn target(job: &VerifyJob, run: &VerifyRun, seen: Seen, password: Password) -> Option<Target> {
    let instance = seen.instance.unwrap_or_default();
    let engine = run
        .copy
        .as_ref()
        .map(|c| c.engine.clone())
        .or(instance.engine.clone())
        .unwrap_or_default();
    let user = seen
        .cluster
        .as_ref()
        .and_then(|c| c.master_username.clone())
        .or(instance.master_username.clone())
        .unwrap_or_default();
    let (host, port) = instance.endpoint?;
    Some(Target {
        family: EngineFamily::of(&engine),
        host,
        port,
        user,
        password,
        database: job.database.clone(),
        tls: job.tls,
    })
}

/// The plan's SQL checks (for an engine they cannot reach, that the endpoint answers), then
/// clean up; a check that cannot run fails the run.
async fn sql_checks(job: &VerifyJob, run: &mut VerifyRun, target: &Target) {
    let taken_at = run.copy.as_ref().and_then(|c| c.taken_at);
    match checks::run_checks(target, &job.checks, now(), taken_at).await {
        Ok(results) => {
            let failed: Vec<&str> = results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.sql.as_str())
                .collect();
            let detail = if failed.is_empty() {
                format!("{} of {} checks passed", results.len(), results.len())
            } else {
                format!(
                    "{} of {} checks failed: {}",
                    failed.len(),
                    results.len(),
                    failed.join("; ")
                )
            };
            run.step(StepKind::Checks, now(), failed.is_empty(), detail);
            run.checks = results;
            run.phase = Phase::CleaningUp;
        }
        Err(CheckError::Unsupported { engine }) => endpoint_only(run, target, &engine).await,
        Err(e) => run.fail(StepKind::Checks, now(), e.to_string()),
    }
}

/// An engine the SQL checks do not reach: verified at the instance level, when it answers.
async fn endpoint_only(run: &mut VerifyRun, target: &Target, engine: &str) {
    match checks::endpoint_answers(&target.host, target.port).await {
        Ok(()) => {
            let detail = format!(
                "{engine}: available and answering on {}:{}; instance-level verification only, \
                 no SQL checks",
                target.host, target.port
            );
            run.step(StepKind::Checks, now(), true, detail);
            run.phase = Phase::CleaningUp;
        }
        Err(e) => run.fail(StepKind::Checks, now(), e.to_string()),
    }
}
