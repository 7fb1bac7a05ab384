//! Lambda `copy-snapshots`: copies the plan's RDS / Aurora snapshots to the recovery Region.
//! Triggered by a daily schedule and by RDS snapshot-created events; other well-formed events are
//! answered `{"ignored": reason}`. The work is
//! `lifeboat_shared::tasks::handle_copy_snapshots_event`, run by `lifeboat_shared::lambda::serve`.

use lifeboat_shared::tasks::Task;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_shared::lambda::serve(Task::CopySnapshots).await
}
