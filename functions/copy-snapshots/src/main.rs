//! Lambda `copy-snapshots`: copies the plan's RDS / Aurora snapshots to the recovery Region.
//! Triggered by a daily schedule and by RDS snapshot-created events; the work is
//! `lifeboat_shared::tasks::handle_copy_snapshots_event`.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::tasks::handle_copy_snapshots_event;
use serde_json::Value;

/// Lambda's view of a Lifeboat error: `errorType` says whether a retry can help.
#[derive(Debug)]
struct Failure(lifeboat_shared::Error);

impl From<Failure> for Diagnostic {
    fn from(Failure(error): Failure) -> Diagnostic {
        let retry = if error.is_retryable() {
            "Retryable"
        } else {
            "Permanent"
        };
        Diagnostic {
            error_type: format!("{retry}.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Once per container: a bad plan fails the init, loudly, before any event is taken.
    let lifeboat = Lifeboat::from_env().await?;
    let lifeboat = &lifeboat;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_copy_snapshots_event(lifeboat, &event.payload)
            .await
            .map_err(Failure)
    }))
    .await
}
