//! The restore verification task: `verify-restore`.
//!
//! Trigger → lease → work → record, run by run: what the trigger asks of which `[[verify]]`
//! entries ([`verify::asked`]); then each run of theirs under a lease of its own, side by side,
//! advanced and saved step by step until it finishes (then recorded) or the invocation's
//! deadline comes (then left saved for the next one) ([`verify::run_jobs`]).

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::context::Lifeboat;
use crate::error::Error;
use crate::record::{RecordLocation, Report};
use crate::trigger::Trigger;
use crate::verify::{self, Asked, TASK, VerifyReport};
pub use crate::verify::{JobResult, VerifyOptions};

pub const VERIFY_RESTORE: &str = TASK;

/// What a verification task run did.
#[derive(Debug)]
pub enum Verifications {
    Ran(Vec<JobResult>),
    Ignored { reason: String },
}

/// Runs the verification for a trigger, each run until it finishes or until `deadline` (`None`:
/// to the end, as the CLI does). `job` limits it to the `[[verify]]` entry of that name.
pub async fn run_verify_restore(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: VerifyOptions,
    job: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Verifications, Error> {
    let asked = match verify::asked(trigger, &lifeboat.plan, job)? {
        Asked::Ignored { reason } => return Ok(Verifications::Ignored { reason }),
        asked => asked,
    };
    if let Some(reason) = super::paused_schedule(lifeboat, trigger).await? {
        return Ok(Verifications::Ignored { reason });
    }
    let results = verify::run_jobs(lifeboat, trigger, asked, options, deadline).await?;
    Ok(Verifications::Ran(results))
}

/// The `verify-restore` Lambda's work for one EventBridge event, until `deadline` (the
/// invocation's end less a margin for saving): every job advanced, the finished ones' metrics
/// on stdout as EMF, and a short answer per job. A job that could not go on makes the
/// invocation an error (after the others had their turn), so Lambda retries it and the retry
/// resumes from the saved runs.
pub async fn handle_verify_restore_event(
    lifeboat: &Lifeboat,
    event: &Value,
    deadline: Instant,
) -> Result<Value, Error> {
    let trigger = Trigger::from_event(event)?;
    let options = VerifyOptions::default();
    let results =
        match run_verify_restore(lifeboat, &trigger, options, None, Some(deadline)).await? {
            Verifications::Ignored { reason } => {
                tracing::info!(%reason, "event ignored");
                return Ok(json!({ "ignored": reason }));
            }
            Verifications::Ran(results) => results,
        };
    let mut answers = Vec::new();
    let mut first_error = None;
    for result in results {
        answers.push(answer(result, &mut first_error));
    }
    match first_error {
        Some(error) => {
            tracing::error!(answers = %serde_json::Value::from(answers), "a verification could not go on");
            Err(error)
        }
        None => Ok(json!({ "verifications": answers })),
    }
}

/// One job's line of the Lambda's answer; the first error goes to `first_error`.
fn answer(result: JobResult, first_error: &mut Option<Error>) -> Value {
    match result {
        JobResult::Finished { report, record } => finished(&report, &record),
        JobResult::InProgress { report, saved } => in_progress(&report, &saved),
        JobResult::Busy { job, reason } => json!({ "job": job, "state": "busy", "reason": reason }),
        JobResult::Idle { job, reason } => json!({ "job": job, "state": "idle", "reason": reason }),
        JobResult::Error { job, error } => errored(&job, error, first_error),
    }
}

/// A finished run's line; its metrics go to stdout as EMF.
fn finished(report: &VerifyReport, record: &RecordLocation) -> Value {
    let run = &report.header;
    crate::metrics::print_emf(&report.metrics(), run.started_at);
    json!({
        "job": report.job,
        "run_id": run.run_id,
        "state": "finished",
        "outcome": run.outcome,
        "summary": report.summary(),
        "report": record,
    })
}

fn in_progress(report: &VerifyReport, saved: &str) -> Value {
    json!({
        "job": report.job,
        "run_id": report.header.run_id,
        "state": "in-progress",
        "phase": report.verification.phase,
        "saved": saved,
    })
}

fn errored(job: &str, error: Error, first_error: &mut Option<Error>) -> Value {
    let answer = json!({ "job": job, "state": "error", "error": error.to_string() });
    first_error.get_or_insert(error);
    answer
}
