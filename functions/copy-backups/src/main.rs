//! Lambda `copy-backups`: copies the plan's AWS Backup recovery points to the recovery Region.
//! Triggered by a daily schedule, by AWS Backup "Backup Job State Change" (COMPLETED) and "Copy
//! Job State Change" (FAILED, PARTIAL, ABORTED) events forwarded from the primary Region; other
//! well-formed events are answered `{"ignored": reason}`. The work is
//! `lifeboat_shared::tasks::handle_copy_backups_event`, run by `lifeboat_shared::lambda::serve`.

use lifeboat_shared::tasks::Task;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_shared::lambda::serve(Task::CopyBackups).await
}
