//! Lambda `failover`: fails the plan over to the recovery Region. Triggered by the plan's
//! CloudWatch alarms (read back, `require` of them sustained), a one-minute tick (which carries a
//! run in progress on and re-reads the alarms), and the operator's runbook payloads
//! (`events/runbook-*.json`: dry run, execute, approve, failback). The work is
//! `lifeboat_shared::tasks::handle_failover_event`, run by `lifeboat_shared::lambda::serve`.

use lifeboat_shared::tasks::Task;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_shared::lambda::serve(Task::Failover).await
}
