//! The restore verification task: `verify-restore`.
//!
//! A verification outlives a Lambda invocation (a restore takes longer than 15 minutes), so each
//! run in progress is a record in the state bucket ([`store`]), saved after every step of
//! [`advance_to_next_step`]: the next invocation (a schedule tick, an RDS event about the run's
//! resources, the CLI) loads it and carries the same run on, so a duplicate trigger starts no
//! second restore and a killed process loses nothing it asked AWS for. A finished run is
//! recorded like every run ([`record`]: `runs/<plan>/verify-restore/…{json,md}` and
//! `Lifeboat Run Finished`), announced as `Lifeboat Verification Finished` with its verdict, and
//! its saved record is removed.
//!
//! What starts what:
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

mod report;
mod store;

use std::time::Duration;

use futures::future::join_all;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::context::Lifeboat;
use crate::error::Error;
use crate::record::{RecordLocation, Report, RunHeader, RunOutcome, record};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::Trigger;
use crate::verify::calls::{self, is_jobs_resource};
use crate::verify::decide::{self, RestoredByBackup, is_testing_plan, tests_jobs_db};
use crate::verify::run::{Phase, StepRecord, Verdict};
use crate::verify::{POLL_INTERVAL, advance_to_next_step};
pub use report::{Figures, VerifyReport};
pub use store::{LastRun, current_key, last_key, restore_test_key};

pub const VERIFY_RESTORE: &str = "verify-restore";
/// Detail type of the event that closes a verification, with its verdict.
pub const VERIFICATION_FINISHED: &str = "Lifeboat Verification Finished";

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

/// What a verification task run did.
#[derive(Debug)]
pub enum Verifications {
    Ran(Vec<JobResult>),
    Ignored { reason: String },
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

/// Runs the verification for a trigger (see the module's documentation for what starts what),
/// each run until it finishes or until `deadline` (`None`: to the end, as the CLI does). `job`
/// limits it to the `[[verify]]` entry of that name.
pub async fn run_verify_restore(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: VerifyOptions,
    job: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Verifications, Error> {
    let plan = &lifeboat.plan;
    let named: Vec<usize> = match job {
        Some(name) => match plan.verify.iter().position(|j| j.name == name) {
            Some(index) => vec![index],
            None => {
                let known: Vec<&str> = plan.verify.iter().map(|j| j.name.as_str()).collect();
                return Err(Error::Refused(format!(
                    "the plan has no [[verify]] entry named \"{name}\" (it has: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        },
        None => (0..plan.verify.len()).collect(),
    };
    let ignore = |reason: String| Ok(Verifications::Ignored { reason });
    if named.is_empty() {
        return ignore("the plan has no [[verify]] entry".into());
    }
    let recovery_region = plan.recovery_region.as_str();
    let work: Vec<Work> = match trigger {
        // An entry with a restore testing plan validates AWS Backup's restores and starts none.
        Trigger::Schedule { .. } | Trigger::Manual => named
            .iter()
            .flat_map(|&index| {
                let restore_tests = Work::RestoreTests {
                    index,
                    find_missed: true,
                };
                if plan.verify[index].restore_testing_plan.is_some() {
                    return vec![restore_tests];
                }
                let start = match trigger {
                    Trigger::Manual => Start::Now,
                    _ => Start::WhenDue,
                };
                vec![Work::Verification { index, start }, restore_tests]
            })
            .collect(),
        Trigger::VerificationResourceChanged {
            identifier, region, ..
        } => {
            if region != recovery_region {
                return ignore(format!(
                    "{}: in {region}; the plan's verifications run in {recovery_region}",
                    trigger.describe()
                ));
            }
            let owners: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| is_jobs_resource(&plan.verify[i].name, identifier))
                .collect();
            if owners.is_empty() {
                return ignore(format!(
                    "{identifier} is not a resource of any [[verify]] entry of plan {}",
                    plan.name
                ));
            }
            owners
                .into_iter()
                .flat_map(|index| {
                    [
                        Work::Verification {
                            index,
                            start: Start::Never,
                        },
                        Work::RestoreTests {
                            index,
                            find_missed: false,
                        },
                    ]
                })
                .collect()
        }
        Trigger::RestoreJobCompleted {
            job_id,
            restore_testing_plan_arn: Some(arn),
            region,
            ..
        } => {
            if region != recovery_region {
                return ignore(format!(
                    "{}: in {region}; Lifeboat validates restore tests in the recovery Region \
                     {recovery_region}, where its function reaches the restored databases",
                    trigger.describe()
                ));
            }
            let candidates: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| {
                    plan.verify[i]
                        .restore_testing_plan
                        .as_deref()
                        .is_some_and(|name| is_testing_plan(arn, name))
                })
                .collect();
            if candidates.is_empty() {
                return ignore(format!(
                    "{}: no [[verify]] entry names that restore testing plan",
                    trigger.describe()
                ));
            }
            vec![Work::RestoreTest {
                candidates,
                restore_job_id: job_id.clone(),
                start: true,
            }]
        }
        Trigger::RestoreJobCompleted { job_id, .. } => {
            return ignore(format!(
                "restore job {job_id} was not started by a restore testing plan: nothing to validate"
            ));
        }
        Trigger::Ignored { reason } => return ignore(reason.clone()),
        Trigger::SnapshotCreated { .. }
        | Trigger::BackupJobCompleted { .. }
        | Trigger::CopyJobChanged { .. }
        | Trigger::AlarmChanged { .. }
        | Trigger::Runbook(_) => {
            return ignore(format!(
                "{}: verify-restore does not act on it",
                trigger.describe()
            ));
        }
    };
    if let Some(reason) = super::paused_schedule(lifeboat, trigger).await? {
        return ignore(reason);
    }
    let account_id = lifeboat.clients.account_id().await?;
    let runs = Runs {
        lifeboat,
        account_id: &account_id,
        trigger,
        options,
        deadline,
    };
    let results = join_all(work.into_iter().map(|w| runs.work(w))).await;
    Ok(Verifications::Ran(results.into_iter().flatten().collect()))
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

    fn verification_slot(&self, index: usize) -> Slot {
        let plan = &self.lifeboat.plan;
        Slot {
            index,
            key: current_key(&plan.name, self.job_name(index)),
            lease: format!("{VERIFY_RESTORE}-{}", self.job_name(index)),
        }
    }

    fn restore_test_slot(&self, index: usize, restore_job_id: &str) -> Slot {
        let plan = &self.lifeboat.plan;
        Slot {
            index,
            key: restore_test_key(&plan.name, self.job_name(index), restore_job_id),
            lease: format!("{VERIFY_RESTORE}-test-{restore_job_id}"),
        }
    }

    async fn work(&self, work: Work) -> Vec<JobResult> {
        match work {
            Work::Verification { index, start } => {
                let slot = self.verification_slot(index);
                vec![
                    self.guarded(&slot, async |lease| {
                        self.verification(&slot, start, lease).await
                    })
                    .await,
                ]
            }
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
    async fn guarded(
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

    fn new_report(&self, index: usize) -> VerifyReport {
        let header = RunHeader::start(
            VERIFY_RESTORE,
            &self.lifeboat.plan,
            self.trigger.describe(),
            false,
            OffsetDateTime::now_utc(),
        );
        VerifyReport::new(header, self.job_name(index))
    }

    /// A job's verification: the run in progress, or a new one when `start` says so.
    async fn verification(
        &self,
        slot: &Slot,
        start: Start,
        lease: &Lease,
    ) -> Result<JobResult, Error> {
        let plan = &self.lifeboat.plan;
        let recovery = &self.lifeboat.clients.recovery;
        let job = &plan.verify[slot.index];
        let report = match self.load(&slot.key).await? {
            Some(report) => {
                tracing::info!(job = %job.name, run_id = %report.run.run_id, "resuming the run in progress");
                report
            }
            None => {
                let idle = |reason: String| {
                    Ok(JobResult::Idle {
                        job: job.name.clone(),
                        reason,
                    })
                };
                match start {
                    Start::Never => return idle("no verification run in progress".into()),
                    Start::WhenDue => {
                        let last = store::load_last(
                            recovery,
                            &plan.state_bucket,
                            &last_key(&plan.name, &job.name),
                        )
                        .await?;
                        let last_started = last.as_ref().map(|l| l.started_at);
                        if let Err(next) = decide::due(job, last_started, OffsetDateTime::now_utc())
                        {
                            return idle(format!(
                                "not due: the last run started {}, the next is due at {}",
                                report::rfc3339(last_started.unwrap_or(next)),
                                report::rfc3339(next)
                            ));
                        }
                    }
                    Start::Now => {}
                }
                let report = self.new_report(slot.index);
                tracing::info!(job = %job.name, run_id = %report.run.run_id, "starting a verification run");
                // Saved before anything is restored: the restore's identifiers come from the run
                // id, so a run that dies right after asking resumes the same restore.
                store::save(recovery, &plan.state_bucket, &slot.key, &report).await?;
                report
            }
        };
        self.drive(slot, report, lease).await
    }

    /// The restore tests of the job `index` being validated, and (`find_missed`) the ones no
    /// event announced, side by side.
    async fn restore_tests(&self, index: usize, find_missed: bool) -> Vec<JobResult> {
        let plan = &self.lifeboat.plan;
        let recovery = &self.lifeboat.clients.recovery;
        let job = &plan.verify[index];
        let mut results = Vec::new();
        let mut tests: Vec<(String, bool)> = match store::restore_tests_in_progress(
            recovery,
            &plan.state_bucket,
            &plan.name,
            &job.name,
        )
        .await
        {
            Ok(ids) => ids.into_iter().map(|id| (id, false)).collect(),
            Err(error) => {
                return vec![JobResult::Error {
                    job: job.name.clone(),
                    error,
                }];
            }
        };
        if find_missed && job.restore_testing_plan.is_some() {
            let after = OffsetDateTime::now_utc() - RESTORE_TESTS_WITHIN;
            match calls::unvalidated_restore_tests(recovery, after).await {
                Ok(found) => {
                    for seen in found {
                        if tests_jobs_db(job, &seen)
                            && !tests.iter().any(|(id, _)| *id == seen.job_id)
                        {
                            tests.push((seen.job_id, true));
                        }
                    }
                }
                Err(error) => results.push(JobResult::Error {
                    job: job.name.clone(),
                    error,
                }),
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
        self.guarded(&slot, async |lease| {
            for &index in candidates {
                let slot = self.restore_test_slot(index, restore_job_id);
                if let Some(report) = self.load(&slot.key).await? {
                    return self.drive(&slot, report, lease).await;
                }
            }
            let first = self.job_name(candidates[0]).to_owned();
            if !start {
                return Ok(JobResult::Idle {
                    job: first,
                    reason: format!("no validation of restore job {restore_job_id} in progress"),
                });
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
        let recovery = &self.lifeboat.clients.recovery;
        // The event says what happened; AWS Backup's own description is what is acted on.
        let seen = calls::describe_restore_job(recovery, restore_job_id).await?;
        let Some(&index) = candidates
            .iter()
            .find(|&&i| tests_jobs_db(&plan.verify[i], &seen))
        else {
            return Ok(JobResult::Idle {
                job: self.job_name(candidates[0]).to_owned(),
                reason: format!(
                    "restore job {restore_job_id} restores {}, which no [[verify]] entry naming its \
                     restore testing plan verifies",
                    seen.source_resource_arn
                        .as_deref()
                        .unwrap_or("an unnamed resource")
                ),
            });
        };
        let job = &plan.verify[index];
        let described = match seen
            .created_resource_arn
            .as_deref()
            .and_then(decide::rds_database)
        {
            Some(("db", id)) => calls::describe_instance(recovery, id).await?,
            Some((_, id)) => calls::describe_cluster(recovery, id).await?,
            None => None,
        };
        let restored = described.map(|db| RestoredByBackup {
            engine: db.engine.unwrap_or_default(),
            tags: db.tags,
        });
        let mut report = self.new_report(index);
        match decide::restore_test_run(
            job,
            &seen,
            restored.as_ref(),
            report.verification.clone(),
            OffsetDateTime::now_utc(),
        ) {
            Err(reason) => Ok(JobResult::Idle {
                job: job.name.clone(),
                reason,
            }),
            Ok(run) => {
                report.update(run);
                let slot = self.restore_test_slot(index, restore_job_id);
                store::save(recovery, &plan.state_bucket, &slot.key, &report).await?;
                self.show(&job.name, &report.verification.steps);
                self.drive(&slot, report, lease).await
            }
        }
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
        let recovery = &self.lifeboat.clients.recovery;
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
            store::save(recovery, &plan.state_bucket, &slot.key, &report).await?;
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
        if let Some(test) = &report.verification.restore_test
            && test.answered.is_none()
        {
            let (status, message) = decide::validation_result(&report.verification);
            let restore_job_id = test.restore_job_id.clone();
            calls::put_validation_result(recovery, &restore_job_id, status, &message).await?;
            let run = &mut report.verification;
            if let Some(test) = run.restore_test.as_mut() {
                test.answered = Some(status.to_owned());
            }
            run.step(
                "validation",
                OffsetDateTime::now_utc(),
                true,
                format!("{status} sent to AWS Backup for restore job {restore_job_id}: {message}"),
            );
            store::save(recovery, bucket, &slot.key, &report).await?;
            let steps = &report.verification.steps;
            self.show(&report.job, &steps[steps.len() - 1..]);
        }
        let verdict = report.verdict.unwrap_or(Verdict::Failed);
        let outcome = match verdict {
            Verdict::Verified => RunOutcome::Succeeded,
            Verdict::Failed => RunOutcome::Failed,
        };
        report.run = report.run.clone().finish(outcome);
        let location = record(recovery, plan, &report).await?;
        if report.verification.restore_test.is_none() {
            let last = LastRun {
                run_id: report.run.run_id.clone(),
                started_at: report.run.started_at,
                verdict,
                report: location.clone(),
            };
            store::save_last(recovery, bucket, &last_key(&plan.name, &report.job), &last).await?;
        }
        if let Err(error) = store::announce(recovery, plan, &report, &location).await {
            tracing::warn!(%error, "could not put the verification event");
        }
        report.recorded = true;
        if let Err(error) = store::save(recovery, bucket, &slot.key, &report).await {
            tracing::warn!(%error, "could not mark the finished run as recorded");
        }
        store::remove(recovery, bucket, &slot.key).await;
        tracing::info!(job = %report.job, run_id = %report.run.run_id, verdict = ?report.verdict, report = %location.json, "verification finished");
        Ok(JobResult::Finished {
            report: Box::new(report),
            record: location,
        })
    }
}

/// The `verify-restore` Lambda's work for one EventBridge event, until `deadline` (the
/// invocation's end less a margin for saving): every job advanced, the finished ones' metrics
/// on stdout as EMF, and a short answer per job. A job that could not go on makes the
/// invocation an error (after the others had their turn), so Lambda retries it and the retry
/// resumes from the saved runs.
pub async fn handle_verify_restore_event(
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
    deadline: Instant,
) -> Result<serde_json::Value, Error> {
    let trigger = Trigger::from_event(event)?;
    let results = match run_verify_restore(
        lifeboat,
        &trigger,
        VerifyOptions::default(),
        None,
        Some(deadline),
    )
    .await?
    {
        Verifications::Ignored { reason } => {
            tracing::info!(%reason, "event ignored");
            return Ok(serde_json::json!({ "ignored": reason }));
        }
        Verifications::Ran(results) => results,
    };
    let mut answers = Vec::new();
    let mut first_error = None;
    for result in results {
        answers.push(match result {
            JobResult::Finished { report, record } => {
                let timestamp_ms =
                    (report.run.started_at.unix_timestamp_nanos() / 1_000_000) as i64;
                for metrics in report.metrics() {
                    println!("{}", metrics.to_emf(timestamp_ms));
                }
                serde_json::json!({
                    "job": report.job,
                    "run_id": report.run.run_id,
                    "state": "finished",
                    "outcome": report.run.outcome,
                    "summary": report.summary(),
                    "report": record,
                })
            }
            JobResult::InProgress { report, saved } => serde_json::json!({
                "job": report.job,
                "run_id": report.run.run_id,
                "state": "in-progress",
                "phase": report.verification.phase,
                "saved": saved,
            }),
            JobResult::Busy { job, reason } => {
                serde_json::json!({ "job": job, "state": "busy", "reason": reason })
            }
            JobResult::Idle { job, reason } => {
                serde_json::json!({ "job": job, "state": "idle", "reason": reason })
            }
            JobResult::Error { job, error } => {
                let answer = serde_json::json!({
                    "job": job,
                    "state": "error",
                    "error": error.to_string(),
                });
                first_error.get_or_insert(error);
                answer
            }
        });
    }
    match first_error {
        Some(error) => {
            tracing::error!(answers = %serde_json::Value::from(answers), "a verification could not go on");
            Err(error)
        }
        None => Ok(serde_json::json!({ "verifications": answers })),
    }
}
