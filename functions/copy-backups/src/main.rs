//! Lambda `copy-backups`: copies the plan's AWS Backup recovery points to the recovery Region.
//! Triggered by a daily schedule, by AWS Backup "Backup Job State Change" (COMPLETED) and "Copy
//! Job State Change" (FAILED, PARTIAL, ABORTED) events forwarded from the primary Region; other
//! well-formed events are answered `{"ignored": reason}`. The work is
//! `lifeboat_shared::tasks::handle_copy_backups_event`.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::tasks::handle_copy_backups_event;
use serde_json::Value;

/// Lambda's view of a Lifeboat error. `errorType` (`Retryable.Locked`, `Permanent.InvalidEvent`)
/// says whether a retry can help, for whoever reads the logs, the failure queue or an alarm on
/// them; Lambda itself retries every error of an asynchronous invocation alike (twice, per the
/// template's `MaximumRetryAttempts`), whatever this says.
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
    let lifeboat = match Lifeboat::from_env().await {
        Ok(lifeboat) => lifeboat,
        Err(error) => {
            // Logged with its Display form: every plan error on its own line, with its path.
            tracing::error!(error_type = error.kind(), "cannot start: {error}");
            std::process::exit(1);
        }
    };
    let lifeboat = &lifeboat;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_copy_backups_event(lifeboat, &event.payload)
            .await
            .map_err(Failure)
    }))
    .await
}
