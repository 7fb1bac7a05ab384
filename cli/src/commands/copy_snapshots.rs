//! `lifeboat copy snapshots`: the snapshot copy, as the `copy-snapshots` Lambda runs it.

use std::fmt::Write as _;
use std::process::ExitCode;

use lifeboat_shared::clock::age_in_words;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::copy::CopyReport;
use lifeboat_shared::record::counts_in_words;
use lifeboat_shared::tasks::run_copy_snapshots;
use lifeboat_shared::trigger::Trigger;

use crate::TaskArgs;

/// One snapshot copy run for `args`, printed as every task command prints its run.
pub(crate) async fn run(lifeboat: &Lifeboat, trigger: &Trigger, args: &TaskArgs) -> ExitCode {
    let result = run_copy_snapshots(lifeboat, trigger, args.options()).await;
    crate::print_run(result, args.json, render)
}

/// The report as a terminal reads it: a line per item, then the copy lag of each database.
pub(crate) fn render(report: &CopyReport) -> String {
    let mut out = String::new();
    let run = &report.run;
    let outcome = run
        .outcome
        .map_or("unfinished".to_owned(), |o| o.to_string());
    let _ = writeln!(
        out,
        "copy-snapshots {} — plan {} — {outcome}",
        run.run_id, run.plan
    );
    let _ = writeln!(out, "before this run: {}", report.slots_in_words());
    for item in &report.items {
        let subject = match (&item.source_snapshot, &item.target) {
            (Some(source), Some(target)) => format!("{source} → {target}"),
            (Some(source), None) => source.clone(),
            (None, Some(target)) => target.clone(),
            (None, None) => item.db.clone(),
        };
        let marker = if item.outcome.is_failure() {
            "!!"
        } else {
            "  "
        };
        let _ = write!(out, "{marker} {:<15} {subject}", item.outcome.to_string());
        if !item.detail.is_empty() {
            let _ = write!(out, "\n   {:<15} {}", "", item.detail);
        }
        out.push('\n');
    }
    for lag in &report.copy_lag {
        let age = lag.lag_seconds.map_or(
            "no available copy in the recovery Region yet".to_owned(),
            |s| format!("newest copy holds data from {} ago", age_in_words(s)),
        );
        let _ = writeln!(out, "lag  {} {}: {age}", lag.kind, lag.db);
    }
    let _ = writeln!(out, "total: {}", counts_in_words(&report.counts()));
    out
}
