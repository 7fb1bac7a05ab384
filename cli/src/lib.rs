//! The `lifeboat` command. It runs the same code as the Lambda functions (`lifeboat_shared`),
//! against the AWS account and Regions the plan names; `AWS_ENDPOINT_URL` points it at an
//! emulator instead.
//!
//! Exit status: 0 when everything succeeded, 1 when the plan or the `--event` file is invalid or
//! a run failed or partly failed, 2 for a command-line mistake.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lifeboat_shared::aws::{Tuning, load_config};
use lifeboat_shared::context::{Lifeboat, PLAN_ENV};
use lifeboat_shared::copy::report::age_in_words;
use lifeboat_shared::copy::{CopyReport, Outcome};
use lifeboat_shared::plan::Plan;
use lifeboat_shared::record::RunOutcome;
use lifeboat_shared::tasks::{Finished, RunOptions, run_copy_snapshots};
use lifeboat_shared::trigger::Trigger;

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Disaster-recovery automation for AWS: copy, verify, fail over."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a plan, or print its JSON Schema.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Copy backups to the recovery Region.
    #[command(subcommand)]
    Copy(CopyCommand),
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Validate a plan file; lists every error with its path.
    Check {
        /// The plan file (TOML).
        file: std::path::PathBuf,
    },
    /// Print the plan's JSON Schema (for editors and CI).
    Schema,
}

#[derive(Debug, Subcommand)]
enum CopyCommand {
    /// Copy the plan's RDS / Aurora snapshots to the recovery Region and prune old copies.
    Snapshots {
        /// The plan: a file path or an s3:// URI.
        #[arg(long, env = PLAN_ENV)]
        plan: String,
        /// Decide and print what would happen; copy, delete and record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Run for this EventBridge event (a JSON file, e.g. events/rds-snapshot-created.json),
        /// exactly as the Lambda would; without it, the run covers the whole plan.
        #[arg(long, value_name = "FILE")]
        event: Option<std::path::PathBuf>,
    },
}

/// Runs the command line `args` (program name first) and returns the exit status.
pub async fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    match cli.command {
        Command::Plan(PlanCommand::Check { file }) => check_plan(&file),
        Command::Plan(PlanCommand::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&Plan::json_schema()).expect("schema is JSON")
            );
            ExitCode::SUCCESS
        }
        Command::Copy(CopyCommand::Snapshots {
            plan,
            dry_run,
            json,
            event,
        }) => {
            // The command's own inputs are read and checked before any AWS setting is loaded, so
            // a bad file is reported alone (and every bad file at once), not after credential
            // or Region warnings.
            let trigger = event.as_deref().map(read_event).transpose();
            let local_plan = local_plan(&plan).transpose();
            let (trigger, local_plan) = match (trigger, local_plan) {
                (Ok(trigger), Ok(local_plan)) => (trigger.unwrap_or(Trigger::Manual), local_plan),
                (trigger, local_plan) => {
                    for message in [trigger.err(), local_plan.err()].into_iter().flatten() {
                        eprintln!("lifeboat: {message}");
                    }
                    return ExitCode::from(1);
                }
            };
            let lifeboat = match local_plan {
                Some(local_plan) => Ok(Lifeboat::new(
                    &load_config(&Tuning::default()).await,
                    local_plan,
                )),
                None => Lifeboat::load(&plan, &Tuning::default()).await,
            };
            match lifeboat {
                Ok(lifeboat) => copy_snapshots(&lifeboat, &trigger, dry_run, json).await,
                Err(error) => {
                    eprintln!("lifeboat: {error}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// The plan, read and checked, when it is a file; `None` for an `s3://` location, which needs
/// AWS settings to read.
fn local_plan(location: &str) -> Option<Result<Plan, String>> {
    if location.starts_with("s3://") {
        return None;
    }
    Some(Plan::from_file(std::path::Path::new(location)).map_err(|errors| errors.to_string()))
}

fn init_logging() {
    // Logs go to stderr so stdout stays the command's output; RUST_LOG=info shows progress.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn check_plan(file: &std::path::Path) -> ExitCode {
    match Plan::from_file(file) {
        Ok(plan) => {
            println!(
                "plan {} is valid: \"{}\", {} → {}, {} snapshot copy entr{}, {} backup copy entr{}, {} verify job{}, failover {}",
                file.display(),
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

fn read_event(path: &std::path::Path) -> Result<Trigger, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Trigger::from_event(&event).map_err(|e| format!("{}: {e}", path.display()))
}

async fn copy_snapshots(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    dry_run: bool,
    json: bool,
) -> ExitCode {
    let options = RunOptions {
        dry_run,
        ..RunOptions::default()
    };
    match run_copy_snapshots(lifeboat, trigger, options).await {
        Ok(Finished::Ran { report, record }) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report is JSON")
                );
            } else {
                print!("{}", render(&report));
                match record {
                    Some(location) => {
                        println!("report: {}\n        {}", location.markdown, location.json)
                    }
                    None => println!("dry run: nothing was copied, deleted or recorded"),
                }
            }
            match report.run.outcome {
                Some(RunOutcome::Succeeded) => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            }
        }
        Ok(Finished::Ignored { reason }) => {
            println!("nothing to do: {reason}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("lifeboat: {error}");
            ExitCode::from(1)
        }
    }
}

/// The report as a terminal reads it: a line per item, then the copy lag of each database.
pub fn render(report: &CopyReport) -> String {
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
        let marker = match item.outcome {
            Outcome::Failed | Outcome::Refused | Outcome::PruneFailed => "!!",
            _ => "  ",
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
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(o, n)| format!("{n} {o}"))
        .collect();
    let _ = writeln!(
        out,
        "total: {}",
        if counts.is_empty() {
            "nothing to do".into()
        } else {
            counts.join(", ")
        }
    );
    out
}
