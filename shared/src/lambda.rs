//! What every Lifeboat Lambda function's `main` does: load the plan once per container, then
//! answer events with its task's handler. The functions in `functions/` are one call to
//! [`serve`].

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::context::Lifeboat;
use crate::error::Error;
use crate::tasks::{Task, handle_event_until};

/// Lambda's view of a Lifeboat error. `errorType` (`Retryable.Locked`, `Permanent.InvalidEvent`)
/// says whether a retry can help, for whoever reads the logs, the failure queue or an alarm on
/// them; Lambda itself retries every error of an asynchronous invocation alike (twice, per the
/// template's `MaximumRetryAttempts`), whatever this says.
#[derive(Debug)]
struct Failure(Error);

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

/// Runs `task` as a Lambda function: logging from Lambda's own settings, the plan from
/// `LIFEBOAT_PLAN` once per container (a bad plan fails the init, loudly, every error with its
/// path, before any event is taken), then one run per event.
pub async fn serve(task: Task) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let lifeboat = match Lifeboat::from_env().await {
        Ok(lifeboat) => lifeboat,
        Err(error) => {
            tracing::error!(error_type = error.kind(), "cannot start: {error}");
            std::process::exit(1);
        }
    };
    let lifeboat = &lifeboat;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = invocation_deadline(event.context.deadline);
        handle_event_until(task, lifeboat, &event.payload, deadline)
            .await
            .map_err(Failure)
    }))
    .await
}

/// What an invocation may use of its time: until Lambda's deadline (milliseconds since the
/// epoch) less a minute to save and record; at least nothing.
fn invocation_deadline(deadline_ms: u64) -> tokio::time::Instant {
    const MARGIN_MS: u64 = 60_000;
    let now_ms = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or_default();
    let left = deadline_ms.saturating_sub(now_ms).saturating_sub(MARGIN_MS);
    tokio::time::Instant::now() + std::time::Duration::from_millis(left)
}
