//! `lifeboat copy backups`: the AWS Backup copy, as the `copy-backups` Lambda runs it.

use std::fmt::Write as _;
use std::process::ExitCode;

use lifeboat_shared::backup::BackupReport;
use lifeboat_shared::clock::age_in_words;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::record::counts_in_words;
use lifeboat_shared::tasks::run_copy_backups;
use lifeboat_shared::trigger::Trigger;

use crate::TaskArgs;

/// One backup copy run for `args`, printed as every task command prints its run.
pub(crate) async fn run(lifeboat: &Lifeboat, trigger: &Trigger, args: &TaskArgs) -> ExitCode {
    let result = run_copy_backups(lifeboat, trigger, args.options()).await;
    crate::print_run(result, args.json, render)
}

/// The report as a terminal reads it: a line per recovery point, then the copy lag of each
/// protected resource.
pub(crate) fn render(report: &BackupReport) -> String {
    let mut out = String::new();
    let run = &report.run;
    let outcome = run
        .outcome
        .map_or("unfinished".to_owned(), |o| o.to_string());
    let _ = writeln!(
        out,
        "copy-backups {} — plan {} — {outcome}",
        run.run_id, run.plan
    );
    let _ = writeln!(
        out,
        "before this run: copy jobs in flight {}/{}",
        report.slots.in_flight, report.slots.limit
    );
    for item in &report.items {
        let subject = item
            .recovery_point
            .clone()
            .unwrap_or_else(|| item.entry.clone());
        let marker = if item.outcome.is_failure() {
            "!!"
        } else {
            "  "
        };
        let _ = write!(out, "{marker} {:<15} {subject}", item.outcome.to_string());
        if let Some(job) = &item.job {
            let _ = write!(out, " (copy job {job})");
        }
        if !item.detail.is_empty() {
            let _ = write!(out, "\n   {:<15} {}", "", item.detail);
        }
        out.push('\n');
    }
    for lag in &report.lag {
        let age = lag
            .lag_seconds
            .map_or("no copied recovery point yet".to_owned(), |s| {
                format!("newest copy holds data from {} ago", age_in_words(s))
            });
        let _ = writeln!(out, "lag  {} {}: {age}", lag.resource_type, lag.resource);
    }
    let _ = writeln!(out, "total: {}", counts_in_words(&report.counts()));
    out
}
