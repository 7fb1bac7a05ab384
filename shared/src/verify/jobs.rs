//! The runs of one invocation of the verification.
//!
//! A verification outlives a Lambda invocation (a restore takes longer than 15 minutes), so each
//! run in progress is a record in the state bucket (`store`), saved after every step of
//! `advance_to_next_step`: the next invocation (a schedule tick, an RDS event about the run's
//! resources, the CLI) loads it and carries the same run on, so a duplicate trigger starts no
//! second restore and a killed process loses nothing it asked AWS for. A finished run is
//! recorded like every run ([`record`]: `runs/<plan>/verify-restore/…{json,md,html}` and
//! `Lifeboat Run Finished`), announced as `Lifeboat Verification Finished` with its verdict, and
//! its saved record is removed.
//!
//! What starts what (what a trigger asks is `decide::asked`):
//! - a schedule tick advances every job's run in progress and starts one when the job is due
//!   (`every` since the last started); it also advances the restore tests being validated and
//!   picks up the restore testing jobs whose COMPLETED event was missed (events are best effort);
//! - `lifeboat verify` starts a run at once (or carries on the one in progress), to the end;
//! - an RDS event about a verification's resource advances that job's runs, never starts one;
//! - a `Restore Job State Change` COMPLETED of a restore testing job named by a job's
//!   `restore_testing_plan` starts its validation: the job's checks on what AWS Backup restored,
//!   answered with `PutRestoreValidationResult`.
//!
//! Every run is advanced under a lease of its own, and the runs of one invocation advance side by
//! side, so one long restore does not hold the others back.

use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use super::advance::advance_to_next_step;
use super::decide::{self, Asked, RestoreJobSeen, RestoredByBackup, tests_jobs_db};
use super::report::{VerifyReport, rfc3339_seconds};
use super::run::{Phase, StepKind, StepRecord, Verdict};
use super::store::{self, LastRun};
use super::{POLL_INTERVAL, TASK, calls};
use crate::bucket::keys;
use crate::clock::now;
use crate::context::Lifeboat;
use crate::error::Error;
use crate::plan::{Plan, VerifyJob};
use crate::record::{RecordLocation, RunHeader, RunOutcome, record};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::Trigger;

/// How far back a schedule tick looks for restore testing jobs that nobody validated.
const RESTORE_TESTS_WITHIN: time::Duration = time::Duration::DAY;

/// How a verification task runs.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    pub lease: LeaseTiming,
    /// How long a run waits between looks at a restore ([`POLL_INTERVAL`] in production).
    pub poll: Duration,
    /// Called with each step once the run that noted it is saved (the CLI prints them).
    pub progress: Option<fn(&str, &StepRecord)>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            lease: LeaseTiming::default(),
            poll: POLL_INTERVAL,
            progress: None,
        }
    }
}

/// What became of one run (or one job) in one invocation.
#[derive(Debug)]
pub enum JobResult {
    /// The run finished and is recorded; its saved record is gone.
    Finished {
        report: Box<VerifyReport>,
        record: RecordLocation,
    },
    /// The deadline came first: the run is saved at `saved` for the next invocation.
    InProgress {
        report: Box<VerifyReport>,
        saved: String,
    },
    /// Nothing to do now: the job is not due, no run is in progress for an event to advance, or
    /// a restore testing job is not the job's to validate.
    Idle { job: String, reason: String },
    /// Another invocation is advancing this run (it holds the run's lease).
    Busy { job: String, reason: String },
    /// The invocation could not go on (an AWS error); the run stays as last saved.
    Error { job: String, error: Error },
}

impl JobResult {
    pub fn job(&self) -> &str {
        match self {
            JobResult::Finished { report, .. } | JobResult::InProgress { report, .. } => {
                &report.job
            }
            JobResult::Idle { job, .. }
            | JobResult::Busy { job, .. }
            | JobResult::Error { job, .. } => job,
        }
    }

    /// True for a run that finished verified.
    pub fn verified(&self) -> bool {
        matches!(self, JobResult::Finished { report, .. } if report.verdict == Some(Verdict::Verified))
    }
}

/// When a job's verification starts a new run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// Never: only a run in progress is advanced (an RDS event).
    Never,
    /// When `every` has passed since the last run started (a schedule tick).
    WhenDue,
    /// At once, unless one is in progress (the CLI).
    Now,
}

/// One piece of an invocation's work.
#[derive(Debug, Clone)]
enum Work {
    /// A job's verification run.
    Verification { index: usize, start: Start },
    /// The restore tests of a job being validated, and (`find_missed`) the restore testing
    /// jobs of its plan that completed without anyone validating them.
    RestoreTests { index: usize, find_missed: bool },
    /// Validate a restore testing job, for whichever of `candidates` restores its DB.
    RestoreTest {
        candidates: Vec<usize>,
        restore_job_id: String,
        start: bool,
    },
}

impl Work {
    /// The work a trigger's ask comes to, job by job.
    fn of(asked: Asked, plan: &Plan) -> Vec<Work> {
        match asked {
            Asked::ScheduleTick { jobs } => {
                Work::each(jobs, |i| Work::tick(plan, i, Start::WhenDue))
            }
            Asked::Cli { jobs } => Work::each(jobs, |i| Work::tick(plan, i, Start::Now)),
            Asked::ResourceEvent { jobs } => Work::each(jobs, Work::runs_in_progress),
            Asked::RestoreTestCompleted {
                candidates,
                restore_job_id,
            } => vec![Work::validation(candidates, restore_job_id)],
            Asked::Ignored { .. } => Vec::new(),
        }
    }

    fn each(jobs: Vec<usize>, work: impl FnMut(usize) -> Vec<Work>) -> Vec<Work> {
        jobs.into_iter().flat_map(work).collect()
    }

    /// A tick's (or the CLI's) work for the job `index`. An entry with a restore testing plan
    /// validates AWS Backup's restores and starts none.
    fn tick(plan: &Plan, index: usize, start: Start) -> Vec<Work> {
        let restore_tests = Work::RestoreTests {
            index,
            find_missed: true,
        };
        if plan.verify[index].restore_testing_plan.is_some() {
            return vec![restore_tests];
        }
        vec![Work::Verification { index, start }, restore_tests]
    }

    /// The runs of the job `index` in progress, advanced; none started.
    fn runs_in_progress(index: usize) -> Vec<Work> {
        vec![
            Work::Verification {
                index,
                start: Start::Never,
            },
            Work::RestoreTests {
                index,
                find_missed: false,
            },
        ]
    }

    fn validation(candidates: Vec<usize>, restore_job_id: String) -> Work {
        Work::RestoreTest {
            candidates,
            restore_job_id,
            start: true,
        }
    }
}

/// Does what `asked` asks (see the module's documentation for what starts what): each run under
/// its lease, side by side, until it finishes (then recorded) or until `deadline` (`None`: to
/// the end, as the CLI does).
pub(crate) async fn run_jobs(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    asked: Asked,
    options: VerifyOptions,
    deadline: Option<Instant>,
) -> Result<Vec<JobResult>, Error> {
    let work = Work::of(asked, &lifeboat.plan);
    let account_id = lifeboat.clients.account_id().await?;
    let runs = Runs {
        lifeboat,
        account_id: &account_id,
        trigger,
        options,
        deadline,
    };
    let results = join_all(work.into_iter().map(|w| runs.work(w))).await;
    Ok(results.into_iter().flatten().collect())
}

/// What every run of one invocation shares.
struct Runs<'a> {
    lifeboat: &'a Lifeboat,
    account_id: &'a str,
    trigger: &'a Trigger,
    options: VerifyOptions,
    deadline: Option<Instant>,
}

/// Where a run is saved and which lease guards it.
struct Slot {
    index: usize,
    key: String,
    lease: String,
}

impl Runs<'_> {
    fn job_name(&self, index: usize) -> &str {
        &self.lifeboat.plan.verify[index].name
    }

    fn idle(&self, index: usize, reason: String) -> JobResult {
        JobResult::Idle {
            job: self.job_name(index).to_owned(),
            reason,
        }
    }

    fn verification_slot(&self, index: usize) -> Slot {
        let plan = &self.lifeboat.plan;
        Slot {
            index,
            key: keys::verify_current(&plan.name, self.job_name(index)),
            lease: format!("{TASK}-{}", self.job_name(index)),
        }
    }

    fn restore_test_slot(&self, index: usize, restore_job_id: &str) -> Slot {
        let plan = &self.lifeboat.plan;
        Slot {
            index,
            key: keys::restore_test(&plan.name, self.job_name(index), restore_job_id),
            lease: format!("{TASK}-test-{restore_job_id}"),
        }
    }

    async fn work(&self, work: Work) -> Vec<JobResult> {
        match work {
            Work::Verification { index, start } => vec![self.verification(index, start).await],
            Work::RestoreTests { index, find_missed } => {
                self.restore_tests(index, find_missed).await
            }
            Work::RestoreTest {
                candidates,
                restore_job_id,
                start,
            } => vec![self.restore_test(&candidates, &restore_job_id, start).await],
        }
    }

    /// `run` under the slot's lease, its errors turned into the job's result.
    async fn under_lease(
        &self,
        slot: &Slot,
        run: impl AsyncFnOnce(&Lease) -> Result<JobResult, Error>,
    ) -> JobResult {
        let name = self.job_name(slot.index).to_owned();
        let plan = &self.lifeboat.plan;
        let holder = uuid::Uuid::new_v4().simple().to_string();
        let result = match Lease::acquire(
            &self.lifeboat.clients.recovery,
            &plan.state_bucket,
            &lease_name(self.account_id, &plan.recovery_region, &slot.lease),
            &holder,
            self.options.lease,
        )
        .await
        {
            Ok(lease) => {
                let result = run(&lease).await;
                if let Err(error) = lease.release().await {
                    tracing::warn!(%error, "could not release the lease");
                }
                result
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(result) => result,
            Err(Error::Locked { holder, until, .. }) => JobResult::Busy {
                job: name,
                reason: format!(
                    "another invocation ({holder}) is advancing its run, until {until} at most"
                ),
            },
            Err(error) => {
                tracing::warn!(job = %name, %error, "the verification could not go on; its run stays as last saved");
                JobResult::Error { job: name, error }
            }
        }
    }

    /// A saved run at `key`; one already recorded (its removal failed) is removed now.
    async fn load(&self, key: &str) -> Result<Option<VerifyReport>, Error> {
        let recovery = &self.lifeboat.clients.recovery;
        let bucket = &self.lifeboat.plan.state_bucket;
        match store::load(recovery, bucket, key).await? {
            Some(report) if report.recorded => {
                store::remove(recovery, bucket, key).await;
                Ok(None)
            }
            other => Ok(other),
        }
    }

    async fn save(&self, slot: &Slot, report: &VerifyReport) -> Result<(), Error> {
        let bucket = &self.lifeboat.plan.state_bucket;
        store::save(&self.lifeboat.clients.recovery, bucket, &slot.key, report).await
    }

    fn new_report(&self, index: usize) -> VerifyReport {
        let header = RunHeader::start(
            TASK,
            &self.lifeboat.plan,
            self.trigger.describe(),
            false,
            now(),
        );
        VerifyReport::new(header, self.job_name(index))
    }

    /// The job `index`'s verification, under its lease: the run in progress, or a new one when
    /// `start` says so.
    async fn verification(&self, index: usize, start: Start) -> JobResult {
        let slot = self.verification_slot(index);
        self.under_lease(&slot, async |lease| {
            let report = match self.load(&slot.key).await? {
                Some(report) => {
                    tracing::info!(job = %self.job_name(index), run_id = %report.header.run_id, "resuming the run in progress");
                    report
                }
                None => match self.why_not_start(index, start).await? {
                    Some(reason) => return Ok(self.idle(index, reason)),
                    None => self.start_verification(&slot).await?,
                },
            };
            self.drive(&slot, report, lease).await
        })
        .await
    }

    /// Why the job `index`, with no run in progress, starts none now (`None`: it starts one).
    async fn why_not_start(&self, index: usize, start: Start) -> Result<Option<String>, Error> {
        match start {
            Start::Never => Ok(Some("no verification run in progress".into())),
            Start::WhenDue => self.not_due(index).await,
            Start::Now => Ok(None),
        }
    }

    /// Why the job `index` is not due (`None`: it is): `every` has not passed since its last
    /// run started.
    async fn not_due(&self, index: usize) -> Result<Option<String>, Error> {
        let plan = &self.lifeboat.plan;
        let job = &plan.verify[index];
        let last_key = keys::verify_last(&plan.name, &job.name);
        let recovery = &self.lifeboat.clients.recovery;
        let last = store::load_last(recovery, &plan.state_bucket, &last_key).await?;
        let last_started = last.as_ref().map(|l| l.started_at);
        Ok(decide::due(job, last_started, now()).err().map(|next| {
            format!(
                "not due: the last run started {}, the next is due at {}",
                rfc3339_seconds(last_started.unwrap_or(next)),
                rfc3339_seconds(next)
            )
        }))
    }

    async fn start_verification(&self, slot: &Slot) -> Result<VerifyReport, Error> {
        let report = self.new_report(slot.index);
        tracing::info!(job = %report.job, run_id = %report.header.run_id, "starting a verification run");
        // Saved before anything is restored: the restore's identifiers come from the run id, so
        // a run that dies right after asking resumes the same restore.
        self.save(slot, &report).await?;
        Ok(report)
    }

    /// The restore tests of the job `index` being validated, and (`find_missed`) the ones no
    /// event announced, side by side.
    async fn restore_tests(&self, index: usize, find_missed: bool) -> Vec<JobResult> {
        let plan = &self.lifeboat.plan;
        let recovery = &self.lifeboat.clients.recovery;
        let job = &plan.verify[index];
        let error = |error| JobResult::Error {
            job: job.name.clone(),
            error,
        };
        let mut results = Vec::new();
        let in_progress =
            store::restore_tests_in_progress(recovery, &plan.state_bucket, &plan.name, &job.name)
                .await;
        let mut tests: Vec<(String, bool)> = match in_progress {
            Ok(ids) => ids.into_iter().map(|id| (id, false)).collect(),
            Err(e) => return vec![error(e)],
        };
        if find_missed && job.restore_testing_plan.is_some() {
            match calls::unvalidated_restore_tests(recovery, now() - RESTORE_TESTS_WITHIN).await {
                Ok(found) => add_missed(job, found, &mut tests),
                Err(e) => results.push(error(e)),
            }
        }
        let validations = tests
            .iter()
            .map(|(id, start)| self.restore_test(std::slice::from_ref(&index), id, *start));
        results.extend(join_all(validations).await);
        results
    }

    /// The validation of the restore testing job `restore_job_id`: the one in progress, or
    /// (`start`) a new one for whichever of the `candidates` jobs restores its DB.
    async fn restore_test(
        &self,
        candidates: &[usize],
        restore_job_id: &str,
        start: bool,
    ) -> JobResult {
        let slot = self.restore_test_slot(candidates[0], restore_job_id);
        self.under_lease(&slot, async |lease| {
            for &index in candidates {
                let slot = self.restore_test_slot(index, restore_job_id);
                if let Some(report) = self.load(&slot.key).await? {
                    return self.drive(&slot, report, lease).await;
                }
            }
            if !start {
                let reason = format!("no validation of restore job {restore_job_id} in progress");
                return Ok(self.idle(candidates[0], reason));
            }
            self.start_restore_test(candidates, restore_job_id, lease)
                .await
        })
        .await
    }

    async fn start_restore_test(
        &self,
        candidates: &[usize],
        restore_job_id: &str,
        lease: &Lease,
    ) -> Result<JobResult, Error> {
        let plan = &self.lifeboat.plan;
        // The event says what happened; AWS Backup's own description is what is acted on.
        let seen =
            calls::describe_restore_job(&self.lifeboat.clients.recovery, restore_job_id).await?;
        let Some(&index) = candidates
            .iter()
            .find(|&&i| tests_jobs_db(&plan.verify[i], &seen))
        else {
            let reason = format!(
                "restore job {restore_job_id} restores {}, which no [[verify]] entry naming its \
                 restore testing plan verifies",
                seen.source_resource_arn
                    .as_deref()
                    .unwrap_or("an unnamed resource")
            );
            return Ok(self.idle(candidates[0], reason));
        };
        let job = &plan.verify[index];
        let restored = self.restored_by_backup(&seen).await?;
        let mut report = self.new_report(index);
        let run = report.verification.clone();
        match decide::restore_test_run(job, &seen, restored.as_ref(), run, now()) {
            Err(reason) => Ok(self.idle(index, reason)),
            Ok(run) => {
                report.update(run);
                let slot = self.restore_test_slot(index, restore_job_id);
                self.save(&slot, &report).await?;
                self.show(&job.name, &report.verification.steps);
                self.drive(&slot, report, lease).await
            }
        }
    }

    /// The database a restore testing job made, as RDS describes it now.
    async fn restored_by_backup(
        &self,
        seen: &RestoreJobSeen,
    ) -> Result<Option<RestoredByBackup>, Error> {
        let recovery = &self.lifeboat.clients.recovery;
        let created = seen.created_resource_arn.as_deref();
        let described = match created.and_then(decide::rds_database) {
            Some(("db", id)) => calls::describe_instance(recovery, id).await?,
            Some((_, id)) => calls::describe_cluster(recovery, id).await?,
            None => None,
        };
        Ok(described.map(|db| RestoredByBackup {
            engine: db.engine.unwrap_or_default(),
            tags: db.tags,
        }))
    }

    fn show(&self, job: &str, steps: &[StepRecord]) {
        for step in steps {
            tracing::info!(job = %job, step = %step.step, ok = step.ok, detail = %step.detail, "verification step");
            if let Some(progress) = self.options.progress {
                progress(job, step);
            }
        }
    }

    /// Advances a run step by step, saving it after each step and before showing it, until it
    /// finishes (then [`Self::finish`]) or the deadline comes (it stays saved).
    async fn drive(
        &self,
        slot: &Slot,
        mut report: VerifyReport,
        lease: &Lease,
    ) -> Result<JobResult, Error> {
        let plan = &self.lifeboat.plan;
        let poll = self.options.poll;
        // A share no longer than the lease's life, less a margin for saving: the lease is
        // renewed between shares, so the CLI, which has no deadline, keeps it as long as it runs.
        let share = lease
            .time_to_live()
            .saturating_sub(Duration::from_secs(180))
            .max(poll * 2);
        let mut share_end = Instant::now() + share;
        while report.verification.phase != Phase::Finished {
            if Instant::now() + poll >= share_end {
                lease.renew().await?;
                share_end = Instant::now() + share;
            }
            let until = self.deadline.map_or(share_end, |d| d.min(share_end));
            let shown = report.verification.steps.len();
            let run = advance_to_next_step(
                &self.lifeboat.clients,
                plan,
                slot.index,
                report.verification.clone(),
                until,
                poll,
            )
            .await?;
            report.update(run);
            self.save(slot, &report).await?;
            self.show(&report.job, &report.verification.steps[shown..]);
            if report.verification.phase != Phase::Finished
                && self.deadline.is_some_and(|d| Instant::now() + poll >= d)
            {
                return Ok(JobResult::InProgress {
                    report: Box::new(report),
                    saved: format!("s3://{}/{}", plan.state_bucket, slot.key),
                });
            }
        }
        self.finish(slot, report).await
    }

    /// A finished run: a restore test answered to AWS Backup, then the report recorded, the job's
    /// last run noted, the verdict announced, the saved run removed.
    async fn finish(&self, slot: &Slot, mut report: VerifyReport) -> Result<JobResult, Error> {
        let plan = &self.lifeboat.plan;
        let recovery = &self.lifeboat.clients.recovery;
        let bucket = &plan.state_bucket;
        self.answer_restore_test(slot, &mut report).await?;
        let verdict = report.verdict.unwrap_or(Verdict::Failed);
        let outcome = match verdict {
            Verdict::Verified => RunOutcome::Succeeded,
            Verdict::Failed => RunOutcome::Failed,
        };
        report.header = report.header.clone().finish(outcome);
        let location = record(recovery, plan, &report).await?;
        if report.verification.restore_test.is_none() {
            let last = LastRun {
                run_id: report.header.run_id.clone(),
                started_at: report.header.started_at,
                verdict,
                report: location.clone(),
            };
            store::save_last(
                recovery,
                bucket,
                &keys::verify_last(&plan.name, &report.job),
                &last,
            )
            .await?;
        }
        if let Err(error) = store::announce(recovery, plan, &report, &location).await {
            tracing::warn!(%error, "could not put the verification event");
        }
        report.recorded = true;
        if let Err(error) = self.save(slot, &report).await {
            tracing::warn!(%error, "could not mark the finished run as recorded");
        }
        store::remove(recovery, bucket, &slot.key).await;
        tracing::info!(job = %report.job, run_id = %report.header.run_id, verdict = ?report.verdict, report = %location.json, "verification finished");
        Ok(JobResult::Finished {
            report: Box::new(report),
            record: location,
        })
    }

    /// Sends a finished restore test's result to AWS Backup, once, and notes it as a step.
    async fn answer_restore_test(
        &self,
        slot: &Slot,
        report: &mut VerifyReport,
    ) -> Result<(), Error> {
        let run = &report.verification;
        let Some(test) = run.restore_test.as_ref().filter(|t| t.answered.is_none()) else {
            return Ok(());
        };
        let (status, message) = decide::validation_result(run);
        let restore_job_id = test.restore_job_id.clone();
        let recovery = &self.lifeboat.clients.recovery;
        calls::put_validation_result(recovery, &restore_job_id, status, &message).await?;
        let run = &mut report.verification;
        if let Some(test) = run.restore_test.as_mut() {
            test.answered = Some(status.to_owned());
        }
        run.step(
            StepKind::Validation,
            now(),
            true,
            format!("{status} sent to AWS Backup for restore job {restore_job_id}: {message}"),
        );
        self.save(slot, report).await?;
        let steps = &report.verification.steps;
        self.show(&report.job, &steps[steps.len() - 1..]);
        Ok(())
    }
}

/// Adds the restore testing jobs `found` of the job's DB to `tests`, unless there already, to be
/// started.
fn add_missed(job: &VerifyJob, found: Vec<RestoreJobSeen>, tests: &mut Vec<(String, bool)>) {
    for seen in found {
        if tests_jobs_db(job, &seen) && !tests.iter().any(|(id, _)| *id == seen.job_id) {
            tests.push((seen.job_id, true));
        }
    }
}
