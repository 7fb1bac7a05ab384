//! The `lifeboat` command. It runs the same code as the Lambda functions (`lifeboat_shared`),
//! against the AWS account and Regions the plan names; `AWS_ENDPOINT_URL` points it at an
//! emulator instead.
//!
//! Exit status: 0 when everything succeeded, 1 when the plan or the `--event` file is invalid or
//! a run failed or partly failed, 2 for a command-line mistake.

#![warn(unreachable_pub)]

mod commands;
mod output;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lifeboat_shared::aws::{Tuning, load_config};
use lifeboat_shared::context::{Lifeboat, PLAN_ENV};
use lifeboat_shared::plan::Plan;
use lifeboat_shared::record::{Report, RunOutcome};
use lifeboat_shared::tasks::{Finished, RunOptions};
use lifeboat_shared::trigger::{RunbookRequest, Trigger};

use CopyCommand::{Backups, Snapshots};
use commands::{copy_backups, copy_snapshots, failover, status, verify};

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Disaster-recovery automation for AWS: copy, verify, fail over.",
    after_help = "Every command takes --plan FILE (or LIFEBOAT_PLAN), -v for logs, -q for no step lines.\n\
Exit status: 0 done, 1 failed or a budget broken (status), 2 usage errors (and status: the posture\n\
could not be read). Colours only on a terminal, never with NO_COLOR. See docs/cli.md.\n\n\
First time? cargo run -p lifeboat-tests --bin drill runs the whole job against a local emulator."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Show Lifeboat's logs on stderr: -v for progress, -vv for debugging (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print no step lines while a run goes on; only its report or answer.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a plan, or print its JSON Schema.
    #[command(subcommand)]
    Plan(PlanCommand),
    // The others, in the same list of commands, each run on a loaded plan.
    #[command(flatten)]
    OnPlan(OnPlan),
}

/// The commands that run on a plan, which [`on_plan`] loads for them.
#[derive(Debug, Subcommand)]
enum OnPlan {
    /// Copy backups to the recovery Region.
    #[command(subcommand)]
    Copy(CopyCommand),
    /// Verify that the copies restore: restore the newest copy of each `[[verify]]` job, run its
    /// checks, measure, clean up; drives each run to its end, resuming one in progress.
    #[command(
        after_help = "Examples:\n  lifeboat verify --plan plan.toml\n  lifeboat verify --plan plan.toml --name orders-daily --json\n\nExit status: 0 every run that finished is verified (nothing to do counts), 1 a run failed, could not go on or was busy."
    )]
    Verify(VerifyArgs),
    /// Fail over to the recovery Region: promote its databases, flip DNS, pause the copy and
    /// verify schedules. `--dry-run` lists the calls and makes none; `--execute` runs to the end
    /// (or until it waits for approval); `approve RUN_ID --plan-hash HASH` starts a waiting run.
    #[command(
        after_help = "Examples:\n  lifeboat failover --plan plan.toml --dry-run\n  lifeboat failover --plan plan.toml --execute\n  lifeboat failover --plan plan.toml --execute --planned\n  lifeboat failover approve 20261126T091500Z-1a2b3c4d --plan-hash 0123456789abcdef --plan plan.toml\n\nExit status: 0 finished, listed (dry run) or waiting for approval as the plan asks; 1 failed, refused or busy.\nThe runbook: docs/runbook.md."
    )]
    Failover(FailoverArgs),
    /// Put DNS back as the last failover found it and resume the copy and verify schedules.
    #[command(
        after_help = "Example:\n  lifeboat failback --plan plan.toml\n\nExit status: 0 finished, 1 failed or refused (no failover to fail back from)."
    )]
    Failback(PlanArgs),
    /// The DR posture at a glance, from the recovery Region only: newest copies and their age,
    /// verifications, failover targets, DNS, runs in progress. Exit 0 when every budget holds,
    /// 1 when one is broken, 2 when the posture cannot be read.
    #[command(
        after_help = "Examples:\n  lifeboat status --plan plan.toml\n  lifeboat status --plan plan.toml --json | jq .broken\n\nExit status: 0 every budget holds, 1 a budget is broken (each is listed), 2 the posture could not be read."
    )]
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The plan: a file path or an s3:// URI.
    #[arg(long, env = PLAN_ENV)]
    plan: String,
    /// Print the posture as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the posture as a self-contained HTML page, with a chart of each database's
    /// copy lag over the recent copy runs.
    #[arg(long, value_name = "FILE.html")]
    html: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct FailoverArgs {
    #[command(subcommand)]
    approve: Option<FailoverCommand>,
    /// The plan: a file path or an s3:// URI.
    #[arg(long, env = PLAN_ENV)]
    plan: Option<String>,
    /// List the calls a failover would make now, and the plan hash; make no mutating call.
    #[arg(long, conflicts_with = "execute", required_unless_present_any = ["execute"])]
    dry_run: bool,
    /// Fail over now.
    #[arg(long)]
    execute: bool,
    /// A planned move with a healthy primary: global databases switch over (no data loss)
    /// instead of failing over.
    #[arg(long)]
    planned: bool,
    /// Print the result as JSON (the run record, or the dry run's calls), without the steps.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum FailoverCommand {
    /// Start the failover run that waits for approval.
    Approve {
        run_id: String,
        /// The plan's hash as `lifeboat failover --dry-run` prints it: the approval is for
        /// that plan and no other.
        #[arg(long)]
        plan_hash: String,
        /// The plan: a file path or an s3:// URI.
        #[arg(long, env = PLAN_ENV)]
        plan: String,
    },
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The plan: a file path or an s3:// URI.
    #[arg(long, env = PLAN_ENV)]
    plan: String,
    /// Print the run record as JSON, without the steps.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The plan: a file path or an s3:// URI.
    #[arg(long, env = PLAN_ENV)]
    plan: String,
    /// Verify only the `[[verify]]` job of this name.
    #[arg(long)]
    name: Option<String>,
    /// Print the reports as JSON (an array, one per job) instead of text, without the steps.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Validate a plan file; lists every error with its path.
    #[command(
        after_help = "Example:\n  lifeboat plan check examples/tracking.toml\n\nExit status: 0 valid, 1 invalid (every error is listed with its path)."
    )]
    Check {
        /// The plan file (TOML).
        file: std::path::PathBuf,
    },
    /// Print the plan's JSON Schema (for editors and CI).
    #[command(after_help = "Example:\n  lifeboat plan schema > plan.schema.json")]
    Schema,
}

#[derive(Debug, Subcommand)]
enum CopyCommand {
    /// Copy the plan's RDS / Aurora snapshots to the recovery Region and prune old copies.
    #[command(
        after_help = "Examples:\n  lifeboat copy snapshots --plan plan.toml --dry-run\n  lifeboat copy snapshots --plan plan.toml\n  lifeboat copy snapshots --plan plan.toml --event events/rds-snapshot-created.json\n\nExit status: 0 the run succeeded (or had nothing to do), 1 it failed (the report says what)."
    )]
    Snapshots(TaskArgs),
    /// Copy the plan's AWS Backup recovery points to their destination vaults.
    #[command(
        after_help = "Examples:\n  lifeboat copy backups --plan plan.toml --dry-run\n  lifeboat copy backups --plan plan.toml --json\n\nExit status: 0 the run succeeded (or had nothing to do), 1 it failed (the report says what)."
    )]
    Backups(TaskArgs),
}

/// What every task command takes.
#[derive(Debug, clap::Args)]
struct TaskArgs {
    /// The plan: a file path or an s3:// URI.
    #[arg(long, env = PLAN_ENV)]
    plan: String,
    /// Decide and print what would happen; change and record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the run report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Run for this EventBridge event (a JSON file from events/), exactly as the Lambda would;
    /// without it, the run covers the whole plan.
    #[arg(long, value_name = "FILE")]
    event: Option<std::path::PathBuf>,
}

impl OnPlan {
    /// Where the plan is; `None` when a failover command names none.
    fn plan(&self) -> Option<&str> {
        match self {
            OnPlan::Copy(Snapshots(args) | Backups(args)) => Some(&args.plan),
            OnPlan::Verify(args) => Some(&args.plan),
            OnPlan::Failover(args) => args.plan(),
            OnPlan::Failback(args) => Some(&args.plan),
            OnPlan::Status(args) => Some(&args.plan),
        }
    }

    /// `--json`: the answer for a machine, without the steps.
    fn json(&self) -> bool {
        match self {
            OnPlan::Copy(Snapshots(args) | Backups(args)) => args.json,
            OnPlan::Verify(args) => args.json,
            OnPlan::Failover(args) => args.json,
            OnPlan::Failback(args) => args.json,
            OnPlan::Status(args) => args.json,
        }
    }

    /// The `--event` file a task command runs for.
    fn event(&self) -> Option<&std::path::Path> {
        match self {
            OnPlan::Copy(Snapshots(args) | Backups(args)) => args.event.as_deref(),
            _ => None,
        }
    }
}

impl FailoverArgs {
    /// `approve` names its own plan.
    fn plan(&self) -> Option<&str> {
        match &self.approve {
            Some(FailoverCommand::Approve { plan, .. }) => Some(plan),
            None => self.plan.as_deref(),
        }
    }

    fn request(&self) -> RunbookRequest {
        let planned = self.planned;
        match &self.approve {
            Some(FailoverCommand::Approve {
                run_id, plan_hash, ..
            }) => RunbookRequest::Approve {
                run_id: run_id.clone(),
                plan_hash: plan_hash.clone(),
            },
            None if self.execute => RunbookRequest::Execute { planned },
            None => RunbookRequest::DryRun { planned },
        }
    }
}

impl TaskArgs {
    fn options(&self) -> RunOptions {
        RunOptions {
            dry_run: self.dry_run,
            ..RunOptions::default()
        }
    }
}

/// A step's time of day, as the commands print it (`09:27:13Z`).
pub(crate) fn clock(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
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
    init_logging(cli.verbose);
    output::init(cli.quiet);
    match cli.command {
        Command::Plan(PlanCommand::Check { file }) => commands::plan::check_plan(&file),
        Command::Plan(PlanCommand::Schema) => commands::plan::schema(),
        Command::OnPlan(command) => on_plan(command).await,
    }
}

/// Runs a command on its plan, loaded here for every command, and with it what started the run.
async fn on_plan(command: OnPlan) -> ExitCode {
    let Some(plan) = command.plan() else {
        eprintln!("lifeboat: --plan is required");
        return ExitCode::from(2);
    };
    let (lifeboat, trigger) = match load_plan(plan, command.event()).await {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let json = command.json();
    match command {
        OnPlan::Copy(Snapshots(args)) => copy_snapshots::run(&lifeboat, &trigger, &args).await,
        OnPlan::Copy(Backups(args)) => copy_backups::run(&lifeboat, &trigger, &args).await,
        OnPlan::Verify(args) => verify::verify(&lifeboat, args.name.as_deref(), json).await,
        OnPlan::Failover(args) => failover::failover(&lifeboat, args.request(), json).await,
        OnPlan::Failback(_) => failover::failover(&lifeboat, RunbookRequest::Failback, json).await,
        OnPlan::Status(args) => status::status(&lifeboat, json, args.html.as_deref()).await,
    }
}

/// Lifeboat for a plan location, and what started the run (`--event`, else the command itself).
/// The command's own inputs (the plan file, the `--event` file) are read and checked before any
/// AWS setting is loaded, so a bad file is reported alone (and every bad file at once), not after
/// credential or Region warnings.
async fn load_plan(
    plan: &str,
    event: Option<&std::path::Path>,
) -> Result<(Lifeboat, Trigger), ExitCode> {
    let trigger = event.map(read_event).transpose();
    let local_plan = local_plan(plan).transpose();
    let (trigger, local_plan) = match (trigger, local_plan) {
        (Ok(trigger), Ok(local_plan)) => (trigger.unwrap_or(Trigger::Manual), local_plan),
        (trigger, local_plan) => {
            for message in [trigger.err(), local_plan.err()].into_iter().flatten() {
                eprintln!("lifeboat: {message}");
            }
            return Err(ExitCode::from(1));
        }
    };
    let lifeboat = match local_plan {
        Some(local_plan) => Ok(Lifeboat::new(
            &load_config(&Tuning::default()).await,
            local_plan,
        )),
        None => Lifeboat::load(plan, &Tuning::default()).await,
    };
    match lifeboat {
        Ok(lifeboat) => Ok((lifeboat, trigger)),
        Err(error) => {
            eprintln!("lifeboat: {error}");
            Err(ExitCode::from(1))
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

fn init_logging(verbose: u8) {
    // Logs go to stderr so stdout stays the command's output; -v (or RUST_LOG=info) shows them.
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn read_event(path: &std::path::Path) -> Result<Trigger, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Trigger::from_event(&event).map_err(|e| format!("{}: {e}", path.display()))
}

/// Prints a task run the way every `lifeboat` task command does: the report (as JSON with
/// `--json`, else `render`ed), where its record went, and an exit status that follows the run's
/// outcome (one failure predicate for both).
fn print_run<R: Report>(
    result: Result<Finished<R>, lifeboat_shared::Error>,
    json: bool,
    render: fn(&R) -> String,
) -> ExitCode {
    match result {
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
            match report.header().outcome {
                Some(RunOutcome::Succeeded) => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            }
        }
        Ok(Finished::Ignored { reason }) => {
            println!("nothing to do: {reason}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::error(&error);
            ExitCode::from(1)
        }
    }
}
