//! `lifeboat plan check` and `lifeboat plan schema`.

use std::process::ExitCode;

use lifeboat_shared::plan::Plan;

use crate::output::{Colour, paint};

/// Prints the plan's JSON Schema.
pub(crate) fn schema() -> ExitCode {
    println!(
        "{}",
        serde_json::to_string_pretty(&Plan::json_schema()).expect("schema is JSON")
    );
    ExitCode::SUCCESS
}

pub(crate) fn check_plan(file: &std::path::Path) -> ExitCode {
    match Plan::from_file(file) {
        Ok(plan) => {
            println!(
                "plan {} is {}: \"{}\", {} → {}, {} snapshot copy entr{}, {} backup copy entr{}, {} verify job{}, failover {}",
                file.display(),
                paint("valid", Colour::Green),
                plan.name,
                plan.primary_region,
                plan.recovery_region,
                plan.copy.rds.len(),
                plural(plan.copy.rds.len(), "y", "ies"),
                plan.copy.backup.len(),
                plural(plan.copy.backup.len(), "y", "ies"),
                plan.verify.len(),
                plural(plan.verify.len(), "", "s"),
                if plan.failover.is_some() {
                    "configured"
                } else {
                    "not configured"
                },
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(1)
        }
    }
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}
