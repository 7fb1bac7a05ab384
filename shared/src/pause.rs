//! Lifeboat's schedules paused by a failover. The copy and verify tasks read from the primary
//! Region (its snapshots, its recovery points) or restore its copies; after a failover the
//! primary is down or no longer the primary, so their schedule ticks would fail, alarm and page
//! for nothing. A failover writes `paused/<plan>.json` in the state bucket; the tasks' schedule
//! ticks then do nothing and say why; failback removes it. A marker in the state bucket rather
//! than disabling EventBridge rules: it needs no permission on the rules, lives in the recovery
//! Region, and holds for the CLI too.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::RegionalClients;
use crate::bucket::{self, keys};
use crate::error::Error;
use crate::plan::Plan;

/// Why and since when the plan's schedules are paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// The failover run that paused them.
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl Paused {
    /// What a task answers to a schedule tick while paused.
    pub fn reason(&self) -> String {
        format!(
            "paused by failover run {} since {}: the primary Region is down or no longer the primary; `lifeboat failback` resumes",
            self.run_id,
            self.since
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        )
    }
}

/// Pauses the plan's schedules.
pub async fn pause(recovery: &RegionalClients, plan: &Plan, paused: &Paused) -> Result<(), Error> {
    let key = keys::paused(&plan.name);
    bucket::put_json(recovery, &plan.state_bucket, &key, paused, "the pause").await
}

/// Resumes them (failback).
pub async fn resume(recovery: &RegionalClients, plan: &Plan) -> Result<(), Error> {
    bucket::delete(recovery, &plan.state_bucket, &keys::paused(&plan.name)).await
}

/// Whether the plan's schedules are paused, and by what.
pub async fn paused(recovery: &RegionalClients, plan: &Plan) -> Result<Option<Paused>, Error> {
    let key = keys::paused(&plan.name);
    bucket::get_json(recovery, &plan.state_bucket, &key, "a pause").await
}
