//! The restore verification task: `verify-restore`.
//!
//! A verification outlives a Lambda invocation (a restore takes longer than 15 minutes), so each
//! `[[verify]]` job's run in progress is a record in the state bucket,
//! `verify/<plan>/<job>/current.json`, saved after every share of [`advance`]: the next
//! invocation (a schedule tick, the CLI) loads it and carries the same run on, so a duplicate
//! trigger starts no second restore. A finished run is recorded like every run
//! ([`record`]: `runs/<plan>/verify-restore/…{json,md}` and `Lifeboat Run Finished`), announced as
//! `Lifeboat Verification Finished` with its verdict, and `current.json` is removed. Each job is
//! advanced under a lease of its own, so two invocations never advance the same run at once.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::aws::RegionalClients;
use crate::context::Lifeboat;
use crate::error::Error;
use crate::metrics::{MetricSet, Unit};
use crate::plan::Plan;
use crate::record::{EVENT_SOURCE, RecordLocation, Report, RunHeader, RunOutcome, record};
use crate::state::{Lease, LeaseTiming, lease_name};
use crate::trigger::Trigger;
use crate::verify::run::{Phase, StepRecord, Verdict, VerifyRun};
use crate::verify::{POLL_INTERVAL, advance_observed};

pub const VERIFY_RESTORE: &str = "verify-restore";
/// Detail type of the event that closes a verification, with its verdict.
pub const VERIFICATION_FINISHED: &str = "Lifeboat Verification Finished";

/// How a verification task runs.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    pub lease: LeaseTiming,
    /// How long a run waits between looks at a restore ([`POLL_INTERVAL`] in production).
    pub poll: Duration,
    /// Called with each step as a run notes it (the CLI prints them).
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

/// The figures a verification measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Restore duration: requested → available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<i64>,
    /// The age of the newest data the freshness checks found, when they ran (the oldest of them
    /// when there are several): the RPO a failover at that moment would have given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_seconds: Option<i64>,
    /// The same, when the restored copy's source snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_at_snapshot_seconds: Option<i64>,
}

impl Figures {
    fn of(run: &VerifyRun) -> Self {
        Figures {
            restore_seconds: run.restore_seconds(),
            data_age_seconds: run.checks.iter().filter_map(|c| c.data_age_seconds).max(),
            data_age_at_snapshot_seconds: run
                .checks
                .iter()
                .filter_map(|c| c.data_age_at_snapshot_seconds)
                .max(),
        }
    }
}

/// The report of one verification run: the run header (task `verify-restore`; outcome
/// succeeded when verified, failed when not, none while in progress), the verdict, the figures,
/// and the run's record (steps, checks, what it created).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyReport {
    #[serde(flatten)]
    pub run: RunHeader,
    pub job: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub figures: Figures,
    pub verification: VerifyRun,
}

impl VerifyReport {
    fn new(header: RunHeader, job: &str) -> Self {
        let verification = VerifyRun::start(&header.run_id, &header.plan, job, header.started_at);
        VerifyReport {
            run: header,
            job: job.to_owned(),
            verdict: None,
            figures: Figures::default(),
            verification,
        }
    }

    fn update(&mut self, run: VerifyRun) {
        self.figures = Figures::of(&run);
        self.verdict = run.verdict;
        self.verification = run;
    }

    fn checks_passed(&self) -> usize {
        self.verification.checks.iter().filter(|c| c.passed).count()
    }

    fn checks_failed(&self) -> usize {
        self.verification.checks.len() - self.checks_passed()
    }
}

/// A time for people: RFC 3339, to the second.
fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn seconds(s: Option<i64>) -> String {
    s.map_or("not measured".to_owned(), |s| {
        format!("{s} s ({})", crate::copy::report::age_in_words(s))
    })
}

/// A table cell: one line, no `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Report for VerifyReport {
    fn header(&self) -> &RunHeader {
        &self.run
    }

    fn to_markdown(&self) -> String {
        let run = &self.verification;
        let mut md = self.run.markdown_head("Restore verification");
        md += &format!("- Job: `{}`\n", self.job);
        md += &format!(
            "- Verdict: {}\n",
            match (self.verdict, &run.failure) {
                (Some(Verdict::Verified), _) => "**verified**".to_owned(),
                (Some(Verdict::Failed), Some(why)) => format!("**failed**: {}", cell(why)),
                (Some(Verdict::Failed), None) => "**failed**".to_owned(),
                (None, _) => "in progress".to_owned(),
            }
        );
        if let Some(copy) = &run.copy {
            md += &format!(
                "- Copy: `{}` of `{}` ({}){}\n",
                copy.id,
                copy.source_db,
                copy.engine,
                copy.taken_at
                    .map_or(String::new(), |t| format!(", taken {}", rfc3339(t)))
            );
        }
        md += "\n## Figures\n\n";
        md += &format!(
            "- Restore duration: {}\n",
            seconds(self.figures.restore_seconds)
        );
        md += &format!(
            "- Data age now: {}\n",
            seconds(self.figures.data_age_seconds)
        );
        md += &format!(
            "- Data age at the snapshot: {}\n",
            seconds(self.figures.data_age_at_snapshot_seconds)
        );
        md += "\n## Steps\n\n| Time | Step | Result | Detail |\n|---|---|---|---|\n";
        for step in &run.steps {
            md += &format!(
                "| {} | {} | {} | {} |\n",
                rfc3339(step.at),
                step.step,
                if step.ok { "ok" } else { "failed" },
                cell(&step.detail)
            );
        }
        md += "\n## Checks\n\n";
        if run.checks.is_empty() {
            md += "No SQL check ran.\n";
        } else {
            md += "| Check | Result | Detail |\n|---|---|---|\n";
            for check in &run.checks {
                md += &format!(
                    "| `{}` | {} | {} |\n",
                    cell(&check.sql),
                    if check.passed { "passed" } else { "failed" },
                    cell(&check.detail)
                );
            }
        }
        md
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "job": self.job,
            "verdict": self.verdict,
            "failure": self.verification.failure,
            "figures": self.figures,
            "checks_passed": self.checks_passed(),
            "checks_failed": self.checks_failed(),
        })
    }

    fn metrics(&self) -> Vec<MetricSet> {
        let mut set = MetricSet::new(&[
            ("Plan", &self.run.plan),
            ("Task", VERIFY_RESTORE),
            ("Job", &self.job),
        ]);
        if let Some(s) = self.figures.restore_seconds {
            set = set.with("RestoreSeconds", s as f64, Unit::Seconds);
        }
        if let Some(s) = self.figures.data_age_seconds {
            set = set.with("DataAgeSeconds", s as f64, Unit::Seconds);
        }
        let failed = u8::from(self.verdict != Some(Verdict::Verified));
        vec![
            set.with("ChecksPassed", self.checks_passed() as f64, Unit::Count)
                .with("ChecksFailed", self.checks_failed() as f64, Unit::Count)
                .with("VerificationsFailed", f64::from(failed), Unit::Count),
        ]
    }
}

/// What became of one job in one invocation.
#[derive(Debug)]
pub enum JobResult {
    /// The run finished and is recorded; `current.json` is gone.
    Finished {
        report: Box<VerifyReport>,
        record: RecordLocation,
    },
    /// The deadline came first: the run is saved at `saved` for the next invocation.
    InProgress {
        report: Box<VerifyReport>,
        saved: String,
    },
    /// Another invocation is advancing this job's run (it holds the job's lease).
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
            JobResult::Busy { job, .. } | JobResult::Error { job, .. } => job,
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

/// Where a job's run in progress is kept.
pub fn current_key(plan: &str, job: &str) -> String {
    format!("verify/{plan}/{job}/current.json")
}

/// Runs the verification for a trigger: the schedule and the CLI advance every `[[verify]]`
/// job (or the one named `job`), each until it finishes or until `deadline` (`None`: to the
/// end, as the CLI does). RDS and AWS Backup events are not acted on yet (a later step).
pub async fn run_verify_restore(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: VerifyOptions,
    job: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Verifications, Error> {
    let plan = &lifeboat.plan;
    match trigger {
        Trigger::Schedule { .. } | Trigger::Manual => {}
        Trigger::Ignored { reason } => {
            return Ok(Verifications::Ignored {
                reason: reason.clone(),
            });
        }
        other => {
            return Ok(Verifications::Ignored {
                reason: format!(
                    "{}: verify-restore does not act on events yet; the schedule and `lifeboat verify` run it",
                    other.describe()
                ),
            });
        }
    }
    let indices: Vec<usize> = match job {
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
    if indices.is_empty() {
        return Ok(Verifications::Ignored {
            reason: "the plan has no [[verify]] entry".into(),
        });
    }
    let account_id = lifeboat.clients.account_id().await?;
    let mut results = Vec::new();
    for index in indices {
        let name = plan.verify[index].name.clone();
        let result = verify_job(lifeboat, &account_id, trigger, options, index, deadline).await;
        results.push(match result {
            Ok(result) => result,
            Err(Error::Locked { holder, until, .. }) => JobResult::Busy {
                job: name,
                reason: format!("another invocation ({holder}) is advancing its run, until {until} at most"),
            },
            Err(error) => {
                tracing::warn!(job = %name, %error, "the verification could not go on; its run stays as last saved");
                JobResult::Error { job: name, error }
            }
        });
    }
    Ok(Verifications::Ran(results))
}

/// One job's share of this invocation, under the job's lease.
async fn verify_job(
    lifeboat: &Lifeboat,
    account_id: &str,
    trigger: &Trigger,
    options: VerifyOptions,
    index: usize,
    deadline: Option<Instant>,
) -> Result<JobResult, Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let job = &plan.verify[index];
    let holder = uuid::Uuid::new_v4().simple().to_string();
    let lease = Lease::acquire(
        recovery,
        &plan.state_bucket,
        &lease_name(
            account_id,
            &plan.recovery_region,
            &format!("{VERIFY_RESTORE}-{}", job.name),
        ),
        &holder,
        options.lease,
    )
    .await?;
    let result = advance_job(lifeboat, trigger, options, index, deadline, &lease).await;
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "could not release the lease");
    }
    result
}

async fn advance_job(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: VerifyOptions,
    index: usize,
    deadline: Option<Instant>,
    lease: &Lease,
) -> Result<JobResult, Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let job = &plan.verify[index];
    let key = current_key(&plan.name, &job.name);
    let saved_at = format!("s3://{}/{key}", plan.state_bucket);
    let mut report = match load(recovery, &plan.state_bucket, &key).await? {
        Some(report) => {
            tracing::info!(job = %job.name, run_id = %report.run.run_id, "resuming the run in progress");
            report
        }
        None => {
            let header = RunHeader::start(
                VERIFY_RESTORE,
                plan,
                trigger.describe(),
                false,
                OffsetDateTime::now_utc(),
            );
            tracing::info!(job = %job.name, run_id = %header.run_id, "starting a verification run");
            let report = VerifyReport::new(header, &job.name);
            // Saved before anything is restored: the restore's identifiers come from the run
            // id, so a run that dies right after asking resumes the same restore.
            save(recovery, &plan.state_bucket, &key, &report).await?;
            report
        }
    };
    let name = job.name.clone();
    let progress = options.progress;
    let mut on_step = move |step: &StepRecord| {
        tracing::info!(job = %name, step = %step.step, ok = step.ok, detail = %step.detail, "verification step");
        if let Some(progress) = progress {
            progress(&name, step);
        }
    };
    // A share no longer than the lease's life, less a margin for saving: the lease is renewed
    // between shares, so the CLI, which has no deadline, keeps it as long as it runs.
    let share = lease
        .time_to_live()
        .saturating_sub(Duration::from_secs(180))
        .max(options.poll * 2);
    let mut first = true;
    loop {
        if !first {
            lease.renew().await?;
        }
        first = false;
        let share_end = Instant::now() + share;
        let until = deadline.map_or(share_end, |d| d.min(share_end));
        let run = advance_observed(
            &lifeboat.clients,
            plan,
            index,
            report.verification.clone(),
            until,
            options.poll,
            &mut on_step,
        )
        .await?;
        report.update(run);
        if report.verification.phase == Phase::Finished {
            break;
        }
        save(recovery, &plan.state_bucket, &key, &report).await?;
        if deadline.is_some_and(|d| Instant::now() + options.poll >= d) {
            return Ok(JobResult::InProgress {
                report: Box::new(report),
                saved: saved_at,
            });
        }
    }
    let outcome = match report.verdict {
        Some(Verdict::Verified) => RunOutcome::Succeeded,
        _ => RunOutcome::Failed,
    };
    report.run = report.run.clone().finish(outcome);
    let location = record(recovery, plan, &report).await?;
    if let Err(error) = announce(recovery, plan, &report, &location).await {
        tracing::warn!(%error, "could not put the verification event");
    }
    remove(recovery, &plan.state_bucket, &key).await;
    tracing::info!(job = %job.name, run_id = %report.run.run_id, verdict = ?report.verdict, report = %location.json, "verification finished");
    Ok(JobResult::Finished {
        report: Box::new(report),
        record: location,
    })
}

async fn load(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<VerifyReport>, Error> {
    let location = format!("s3://{bucket}/{key}");
    let output = match recovery
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return Ok(None);
        }
        Err(error) => {
            return Err(Error::from_sdk(
                error,
                "s3:GetObject",
                &location,
                &recovery.region,
            ));
        }
    };
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| Error::other(format!("cannot read {location}"), e))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::other(format!("{location} is not a verification run"), e))
}

async fn save(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    report: &VerifyReport,
) -> Result<(), Error> {
    let body = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::other("cannot serialize the verification run", e))?;
    recovery
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "s3:PutObject",
                &format!("s3://{bucket}/{key}"),
                &recovery.region,
            )
        })
}

/// Removes the finished run's `current.json`. A failure is logged: the next invocation would
/// find a finished run, advance it to nothing and record it again, which harms nothing.
async fn remove(recovery: &RegionalClients, bucket: &str, key: &str) {
    if let Err(error) = recovery
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        tracing::warn!(key, error = %error, "could not remove the finished run's record");
    }
}

/// `Lifeboat Verification Finished` on Lifeboat's bus, with the verdict.
async fn announce(
    recovery: &RegionalClients,
    plan: &Plan,
    report: &VerifyReport,
    location: &RecordLocation,
) -> Result<(), Error> {
    let verdict = match report.verdict {
        Some(Verdict::Verified) => "verified",
        _ => "failed",
    };
    let detail = serde_json::json!({
        "run_id": report.run.run_id,
        "plan": plan.name,
        "job": report.job,
        "verdict": verdict,
        "failure": report.verification.failure,
        "figures": report.figures,
        "report": location,
    });
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(&plan.event_bus)
        .source(EVENT_SOURCE)
        .detail_type(VERIFICATION_FINISHED)
        .detail(detail.to_string())
        .build();
    let output = recovery
        .events
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                e,
                "events:PutEvents",
                &format!("event bus {}", plan.event_bus),
                &recovery.region,
            )
        })?;
    if output.failed_entry_count() > 0 {
        return Err(Error::Refused(format!(
            "events:PutEvents refused the verification event on {}",
            plan.event_bus
        )));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::checks::CheckResult;
    use time::macros::datetime;

    fn failed_report() -> VerifyReport {
        let at = datetime!(2026-11-26 07:00 UTC);
        let header = RunHeader {
            run_id: "20261126T070000Z-0f3a9c2e".into(),
            task: VERIFY_RESTORE.into(),
            plan: "tracking".into(),
            trigger: "schedule".into(),
            dry_run: false,
            started_at: at,
            finished_at: None,
            outcome: None,
        };
        let mut report = VerifyReport::new(header, "weekly");
        let mut run = report.verification.clone();
        run.restore_requested_at = Some(at);
        run.available_at = Some(at + time::Duration::seconds(600));
        run.step("restore", at, true, "restoring a as b");
        run.checks = vec![
            CheckResult {
                sql: "SELECT count(*) FROM parcels".into(),
                passed: false,
                detail: "found 3, expected >= 1000".into(),
                value: Some(3.0),
                newest_data: None,
                data_age_seconds: None,
                data_age_at_snapshot_seconds: None,
            },
            CheckResult {
                sql: "SELECT max(updated_at) FROM parcels".into(),
                passed: true,
                detail: "2 h old".into(),
                value: None,
                newest_data: Some(at),
                data_age_seconds: Some(7200),
                data_age_at_snapshot_seconds: Some(3600),
            },
        ];
        run.fail("checks", at, "1 of 2 checks failed | SELECT count(*)");
        run.verdict = Some(Verdict::Failed);
        run.phase = Phase::Finished;
        report.update(run);
        report.run = report.run.clone().finish(RunOutcome::Failed);
        report
    }

    #[test]
    fn a_failed_verification_has_its_figures_metrics_and_markdown() {
        let report = failed_report();
        assert_eq!(
            report.figures,
            Figures {
                restore_seconds: Some(600),
                data_age_seconds: Some(7200),
                data_age_at_snapshot_seconds: Some(3600),
            }
        );
        let metrics = report.metrics();
        assert_eq!(metrics.len(), 1);
        let set = &metrics[0];
        let dims: Vec<(&str, &str)> = set
            .dimensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            dims,
            [
                ("Plan", "tracking"),
                ("Task", "verify-restore"),
                ("Job", "weekly")
            ]
        );
        let values: Vec<(&str, f64)> = set
            .values
            .iter()
            .map(|(n, v, _)| (n.as_str(), *v))
            .collect();
        assert_eq!(
            values,
            [
                ("RestoreSeconds", 600.0),
                ("DataAgeSeconds", 7200.0),
                ("ChecksPassed", 1.0),
                ("ChecksFailed", 1.0),
                ("VerificationsFailed", 1.0)
            ]
        );
        let md = report.to_markdown();
        for part in [
            "# Restore verification — tracking — failed",
            "- Verdict: **failed**: 1 of 2 checks failed \\| SELECT count(*)",
            "- Restore duration: 600 s",
            "- Data age now: 7200 s",
            "- Data age at the snapshot: 3600 s",
            "| 2026-11-26T07:00:00Z | restore | ok | restoring a as b |",
            "| `SELECT count(*) FROM parcels` | failed | found 3, expected >= 1000 |",
        ] {
            assert!(md.contains(part), "{part}:\n{md}");
        }
        assert_eq!(report.summary()["verdict"], "failed");
        assert_eq!(report.summary()["checks_failed"], 1);
    }
}
