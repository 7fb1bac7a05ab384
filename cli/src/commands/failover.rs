//! `lifeboat failover` and `lifeboat failback`: the failover as the `failover` Lambda runs it
//! for the runbook's calls, driven to its end (or until it waits for approval), each step
//! printed as it happens with its AWS call.

use std::process::ExitCode;

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::failover::run::Step;
use lifeboat_shared::tasks::{FailoverOptions, FailoverResult, run_failover};
use lifeboat_shared::trigger::{RunbookRequest, Trigger};

fn print_step(step: &Step) {
    let at = crate::clock(step.at);
    let marker = if step.ok { "  " } else { "!!" };
    match &step.call {
        Some(call) => println!(
            "{marker} {at} {:<11} {}\n               {call}",
            step.step, step.detail
        ),
        None => println!("{marker} {at} {:<11} {}", step.step, step.detail),
    }
}

/// Runs a runbook request to its end; 0 when it finished (or the dry run listed its calls, or
/// the run waits for approval as the plan asks), 1 when it failed or was refused.
pub async fn failover(lifeboat: &Lifeboat, request: RunbookRequest) -> ExitCode {
    let options = FailoverOptions {
        progress: Some(print_step),
        ..FailoverOptions::default()
    };
    match run_failover(lifeboat, &Trigger::Runbook(request), options, None).await {
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
                    report.run.run_id,
                    run.seconds_to_dns_insync()
                        .map_or(String::new(), |s| format!(": trigger to DNS in sync {s} s"))
                ),
                Some(why) => println!("run {} FAILED: {why}", report.run.run_id),
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
            eprintln!("lifeboat: {reason}");
            ExitCode::from(1)
        }
        Ok(FailoverResult::Ignored { reason }) => {
            println!("nothing to do: {reason}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("lifeboat: {error}");
            ExitCode::from(1)
        }
    }
}
