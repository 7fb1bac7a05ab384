//! Lambda `verify-restore`: verifies that the plan's copies restore. Triggered by a schedule
//! (each run is advanced until the invocation's deadline and saved in the state bucket, so the
//! next tick resumes it), by RDS events about a run's resources, and by AWS Backup restore
//! testing jobs' COMPLETED events (validated with the entry's checks). The work is
//! `lifeboat_shared::tasks::handle_verify_restore_event`, run by `lifeboat_shared::lambda::serve`.

use lifeboat_shared::tasks::Task;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lifeboat_shared::lambda::serve(Task::VerifyRestore).await
}
