//! Failover: promote the recovery Region's databases and point DNS at them, with guards.
//!
//! - `model`: what a failover acts on ([`Target`]: an RDS replica, an Aurora replica cluster, an
//!   Aurora global database) and what it reads of the world (alarms, lags, records);
//! - `decide`: the pure rules — what a trigger asks of the failover ([`asked`]), whether the
//!   alarms start a run (`require`, `sustained_for`, `cooldown`), the data-loss gate
//!   (`max_data_loss`), the DNS changes and what failback puts back, the plan hash an approval
//!   must name;
//! - `run`: the run record that each invocation advances and saves, its steps, and its next
//!   action;
//! - `calls`: the AWS calls, all in the recovery Region, and the calls as reports write them;
//! - `advance`: one step of a run: observe, decide, act;
//! - `execute`: one invocation's work under the failover lease: a run carried on, started,
//!   approved or failed back, saved after every step;
//! - `report`: the run's report (JSON, Markdown, HTML, summary, metrics).
//!
//! Nothing here calls the primary Region (but failback, which keeps the snapshots an outage left
//! there once it is back): a failover runs when it may be gone.

mod advance;
mod calls;
mod decide;
mod execute;
mod model;
mod report;
mod run;

use std::time::Duration;

pub use calls::{describe_target, lag_seconds, read_dns_record};
pub use decide::{Asked, RecordChange, Work, asked, fqdn, plan_hash};
pub use execute::{FailoverOptions, FailoverResult, Worked, close, dry_run, work};
pub use model::{Kind, RecordSeen, Target};
pub use report::FailoverReport;
pub use run::{Approval, DnsBatch, FailoverRun, Phase, Promotion, Step, StepKind, TargetSeen};

/// The task's name in records, metrics and the lease.
pub const TASK: &str = "failover";
/// Detail type of the failover's events: started, awaiting approval, finished.
pub const FAILOVER_EVENT: &str = "Lifeboat Failover";
/// How often a run looks at its promotions and DNS changes in production.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
