//! `lifeboat verify`: the restore verification, as the `verify-restore` Lambda runs it, but
//! driven to the end of each run (the CLI has no 15-minute deadline), each step printed as it
//! happens.

use std::fmt::Write as _;
use std::process::ExitCode;

use lifeboat_shared::clock::age_in_words;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::tasks::{JobResult, Verifications, VerifyOptions, run_verify_restore};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::{StepRecord, Verdict, VerifyReport};

use crate::output::{self, Colour, paint, spinner, step_line};

fn print_step(job: &str, step: &StepRecord) {
    let at = crate::clock(step.at);
    let marker = if step.ok {
        "  ".to_owned()
    } else {
        paint("!!", Colour::Red)
    };
    let name = paint(&format!("{:<13}", step.step), Colour::Bold);
    step_line(&format!("{marker} {job} {at} {name} {}", step.detail));
}

/// Runs every job (or the one named), prints the reports; 0 when every run is verified.
pub(crate) async fn verify(lifeboat: &Lifeboat, name: Option<&str>, json: bool) -> ExitCode {
    let options = VerifyOptions {
        progress: (!json).then_some(print_step as fn(&str, &StepRecord)),
        ..VerifyOptions::default()
    };
    if !json {
        spinner("waiting for the restore");
    }
    let results = match run_verify_restore(lifeboat, &Trigger::Manual, options, name, None).await {
        Ok(Verifications::Ran(results)) => results,
        Ok(Verifications::Ignored { reason }) => {
            println!("nothing to do: {reason}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            output::error(&error);
            return ExitCode::from(1);
        }
    };
    // Every run that finished is verified, and none was left undone (nothing to do is fine).
    let all_verified = results.iter().all(|r| match r {
        JobResult::Finished { .. } => r.verified(),
        JobResult::Idle { .. } => true,
        JobResult::InProgress { .. } | JobResult::Busy { .. } | JobResult::Error { .. } => false,
    });
    if json {
        let reports: Vec<serde_json::Value> = results
            .iter()
            .map(|result| match result {
                JobResult::Finished { report, .. } | JobResult::InProgress { report, .. } => {
                    serde_json::to_value(report).expect("report is JSON")
                }
                JobResult::Busy { job, reason } => {
                    serde_json::json!({ "job": job, "busy": reason })
                }
                JobResult::Idle { job, reason } => {
                    serde_json::json!({ "job": job, "idle": reason })
                }
                JobResult::Error { job, error } => {
                    serde_json::json!({ "job": job, "error": error.to_string() })
                }
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("reports are JSON")
        );
    } else {
        for result in &results {
            match result {
                JobResult::Finished { report, record } => {
                    print!("{}", render(report));
                    println!("report: {}\n        {}", record.markdown, record.json);
                }
                JobResult::InProgress { report, saved } => {
                    print!("{}", render(report));
                    println!("in progress, saved at {saved}");
                }
                JobResult::Busy { job, reason } => println!("{job}: not advanced: {reason}"),
                JobResult::Idle { job, reason } => println!("{job}: nothing to do: {reason}"),
                JobResult::Error { job, error } => {
                    eprintln!("lifeboat: {job}: {error} (the run stays as last saved)")
                }
            }
        }
    }
    if all_verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A finished (or saved) run as a terminal reads it.
pub(crate) fn render(report: &VerifyReport) -> String {
    let mut out = String::new();
    let run = &report.verification;
    let verdict = match report.verdict {
        Some(Verdict::Verified) => "verified".to_owned(),
        Some(Verdict::Failed) => format!(
            "FAILED: {}",
            run.failure.as_deref().unwrap_or("see the steps")
        ),
        None => "in progress".to_owned(),
    };
    let _ = writeln!(
        out,
        "verify-restore {} — plan {} — job {} — {verdict}",
        report.header.run_id, report.header.plan, report.job
    );
    if let Some(copy) = &run.copy {
        let _ = writeln!(
            out,
            "copy: {} of {} ({})",
            copy.id, copy.source_db, copy.engine
        );
    }
    let figure = |s: Option<i64>| s.map_or("not measured".to_owned(), age_in_words);
    let _ = writeln!(
        out,
        "restore duration: {}; data age now: {}; at the snapshot: {}",
        figure(report.figures.restore_seconds),
        figure(report.figures.data_age_seconds),
        figure(report.figures.data_age_at_snapshot_seconds)
    );
    for check in &run.checks {
        let marker = if check.passed {
            "  passed"
        } else {
            "!! FAILED"
        };
        let _ = writeln!(out, "{marker} {}: {}", check.sql, check.detail);
    }
    out
}
