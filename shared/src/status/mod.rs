//! `lifeboat status`: the plan's DR posture at a glance, read from the recovery Region only (it
//! must work when the primary Region is down): the newest copy of each database and its age (the
//! RPO a failover would give now), each verification's last run with its measured data age and
//! restore time, the failover targets' state and lag, where each DNS record points, the runs in
//! progress or awaiting approval, the last run of each task, and the budgets that are broken.
//!
//! It reads what the tasks keep (their records in the state bucket) and asks AWS through the
//! slices' own calls; it changes nothing.
//!
//! - `model`: the posture's parts, as the text, the JSON and the page show them;
//! - `calls`: the posture and the copy lag history, read from the recovery Region;
//! - `decide`: the budgets, free of I/O (what makes `lifeboat status` exit non-zero);
//! - `report`: the posture as a self-contained HTML page.

mod calls;
mod decide;
mod model;
mod report;

pub use calls::{copy_lag_history, posture};
pub use decide::{broken_budgets, span};
pub use model::{
    BackupCopyPosture, CopyPosture, DbLag, DnsPosture, LastVerification, Posture, RECENT_DAYS,
    RECENT_RUNS, ReplicaPosture, RunLags, RunPosture, VerificationPosture,
};
pub use report::{lag_series, posture_page};
