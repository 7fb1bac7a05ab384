//! Failover: promote the recovery Region's databases and point DNS at them, with guards.
//!
//! - [`model`]: what a failover acts on ([`model::Target`]: an RDS replica, an Aurora replica
//!   cluster, an Aurora global database) and what it reads of the world (alarms, lags, records);
//! - [`decide`]: the pure rules — whether the alarms start a run (`require`, `sustained_for`,
//!   `cooldown`), the data-loss gate (`max_data_loss`), the DNS changes and what failback puts
//!   back, the plan hash an approval must name;
//! - [`run`]: the run record that each invocation advances and saves, and its next action.
//!
//! Nothing here calls the primary Region: a failover runs when it may be gone.

pub mod decide;
pub mod model;
pub mod run;
