//! Restore verification: restore the newest copy into an isolated place, run the plan's SQL
//! checks on it, measure restore time and data age, always clean up; or validate what an AWS
//! Backup restore testing job restored with the same checks.
//!
//! - `decide`: the pure rules — what a trigger asks for, which copy, what next, which leftovers
//!   to sweep;
//! - `calls`: the RDS and AWS Backup calls in the recovery Region that carry the decisions out;
//! - `checks`: the SQL checks against a restored database through the real drivers, with the
//!   measured data age;
//! - `secret`: the throw-away master password;
//! - `run`: the run record that each invocation advances and saves, and its step kinds;
//! - `advance`: one invocation's share of a run: describe, decide, act, until the run is
//!   finished or the next look would outlast the invocation's deadline;
//! - `jobs`: the runs of one invocation side by side, each under a lease of its own, saved after
//!   every step, and recorded once finished;
//! - `store`: where the runs are kept in the state bucket, and the verdict's event;
//! - `report`: the run's report (JSON, Markdown, HTML, metrics).
//!
//! The task around it is [`crate::tasks::run_verify_restore`].

mod advance;
mod calls;
mod checks;
mod decide;
mod jobs;
mod report;
mod run;
mod secret;
mod store;

use std::time::Duration;

pub use advance::advance;
pub use calls::{identifiers, run_tags};
pub use checks::{CheckError, CheckResult, EngineFamily, Target, endpoint_answers, run_checks};
pub use decide::{Asked, asked, verify_tags};
pub(crate) use jobs::run_jobs;
pub use jobs::{JobResult, VerifyOptions};
pub use report::{Figures, VerifyReport};
pub use run::{
    BackupRestore, ChosenCopy, CopyKind, Created, Phase, RestoreTest, StepKind, StepRecord,
    Verdict, VerifyRun,
};
pub use secret::Password;
pub use store::{LastRun, VERIFICATION_FINISHED};

/// The task's name in records, metrics and the leases.
pub const TASK: &str = "verify-restore";

/// How often a run looks at a restore in production.
pub const POLL_INTERVAL: Duration = Duration::from_secs(15);
