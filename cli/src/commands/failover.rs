//! `lifeboat failover` and `lifeboat failback`: the failover as the `failover` Lambda runs it
//! for the runbook's calls, driven to its end (or until it waits for approval), each step
//! printed as it happens with its AWS call.

use std::process::ExitCode;

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::failover::Step;
use lifeboat_shared::tasks::{FailoverOptions, FailoverResult, run_failover};
use lifeboat_shared::trigger::{RunbookRequest, Trigger};

use crate::output::{self, Colour, paint, spinner, step_line};

fn print_step(step: &Step) {
    let at = crate::clock(step.at);
    let marker = if step.ok {
        "  ".to_owned()
    } else {
        paint("!!", Colour::Red)
    };
    let name = paint(&format!("{:<11}", step.step), Colour::Bold);
    let line = match &step.call {
        Some(call) => format!(
            "{marker} {at} {name} {}\n               {call}",
            step.detail
        ),
        None => format!("{marker} {at} {name} {}", step.detail),
    };
    step_line(&line);
}

/// Runs a runbook request to its end; 0 when it finished (or the dry run listed its calls, or
/// the run waits for approval as the plan asks), 1 when it failed or was refused.
pub(crate) async fn failover(lifeboat: &Lifeboat, request: RunbookRequest, json: bool) -> ExitCode {
    let options = FailoverOptions {
        progress: (!json).then_some(print_step as fn(&Step)),
        ..FailoverOptions::default()
    };
    if !json {
        spinner("waiting for the promotions and DNS");
    }
    let result = run_failover(lifeboat, &Trigger::Runbook(request), options, None).await;
    if json {
        return print_json(result);
    }
    match result {
        Ok(FailoverResult::DryRun {
            calls,
            plan_hash,
            gate,
            ..
        }) => {
            println!("dry run: no call below was made");
            for call in calls {
                println!("  {call}");
            }
            println!("data-loss gate: {gate}");
            println!("plan hash: {plan_hash}");
            ExitCode::SUCCESS
        }
        Ok(FailoverResult::AwaitingApproval { run, saved }) => {
            println!(
                "run {} waits for approval: {}\napprove it with: lifeboat failover approve {} --plan-hash {} --plan PLAN\nsaved at {saved}",
                run.run_id,
                run.approval.map(|a| a.because).unwrap_or_default(),
                run.run_id,
                run.plan_hash
            );
            ExitCode::SUCCESS
        }
        Ok(FailoverResult::Finished { report, record }) => {
            let run = &report.failover;
            match &run.failure {
                None => println!(
                    "{} {} finished{}",
                    if run.failback { "failback" } else { "failover" },
                    report.header.run_id,
                    run.seconds_to_dns_insync()
                        .map_or(String::new(), |s| format!(": trigger to DNS in sync {s} s"))
                ),
                Some(why) => println!(
                    "run {} {}: {why}",
                    report.header.run_id,
                    paint("FAILED", Colour::Red)
                ),
            }
            println!("report: {}\n        {}", record.markdown, record.json);
            if run.failure.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Ok(FailoverResult::InProgress { run, saved }) => {
            println!("run {} is in progress, saved at {saved}", run.run_id);
            ExitCode::from(1)
        }
        Ok(FailoverResult::Busy { reason }) => {
            eprintln!(
                "lifeboat: {reason}\n  next: run the same command again once that run is done"
            );
            ExitCode::from(1)
        }
        Ok(FailoverResult::Ignored { reason }) => {
            println!("nothing to do: {reason}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::error(&error);
            ExitCode::from(1)
        }
    }
}

/// `--json`: the result as one JSON document, the same exit status as the text.
fn print_json(result: Result<FailoverResult, lifeboat_shared::Error>) -> ExitCode {
    let (value, ok) = match result {
        Ok(FailoverResult::DryRun {
            calls,
            plan_hash,
            gate,
            run,
        }) => (
            serde_json::json!({ "dry_run": calls, "plan_hash": plan_hash, "gate": gate, "run": run }),
            true,
        ),
        Ok(FailoverResult::AwaitingApproval { run, saved }) => (
            serde_json::json!({ "state": "awaiting-approval", "run": run, "saved": saved }),
            true,
        ),
        Ok(FailoverResult::InProgress { run, saved }) => (
            serde_json::json!({ "state": "in-progress", "run": run, "saved": saved }),
            false,
        ),
        Ok(FailoverResult::Finished { report, record }) => {
            let ok = report.failover.failure.is_none();
            (
                serde_json::json!({ "state": "finished", "report": report, "record": record }),
                ok,
            )
        }
        Ok(FailoverResult::Busy { reason }) => (
            serde_json::json!({ "state": "busy", "reason": reason }),
            false,
        ),
        Ok(FailoverResult::Ignored { reason }) => (serde_json::json!({ "ignored": reason }), true),
        Err(error) => {
            output::error(&error);
            return ExitCode::from(1);
        }
    };
    println!("{}", serde_json::to_string_pretty(&value).expect("JSON"));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
