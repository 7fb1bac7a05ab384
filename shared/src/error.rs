//! One error type for Lifeboat. Every variant names the resource and the Region, because at
//! 3 a.m. "AccessDenied" alone sends an operator hunting; "access denied: rds:CopyDBSnapshot on
//! arn:... in us-east-2" does not.
//!
//! [`Error::is_retryable`] separates "not yet" (throttling, timeouts, a lock held by another run)
//! from "wrong" (a bad plan, a missing DB, a key in the wrong Region). The Lambda entry points put
//! it in the `errorType` they report (`Retryable.Locked`, `Permanent.InvalidEvent`), for the
//! people and the alarms reading the logs and the failure queue. It does not steer Lambda:
//! an asynchronous invocation (schedules, EventBridge rules) is retried on *every* error, up to
//! the function's `MaximumRetryAttempts` (two), whatever its `errorType`, and then goes to the
//! failure destination. Retrying a "wrong" error is harmless because every task is idempotent;
//! what must not be an error at all (an event for another function) is ignored instead.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::plan::{PlanErrors, Region};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Plan(#[from] PlanErrors),

    #[error("cannot load the plan from {location}: {message}")]
    PlanLocation { location: String, message: String },

    #[error("{resource} not found in {region}")]
    NotFound { resource: String, region: Region },

    #[error("access denied: {action} on {resource} in {region} ({message})")]
    AccessDenied {
        action: String,
        resource: String,
        region: Region,
        message: String,
    },

    #[error("KMS key {key} cannot be used in {region}: {message}")]
    KmsKey {
        key: String,
        region: Region,
        message: String,
    },

    #[error("{action} on {resource} in {region} failed: {message}")]
    Aws {
        action: String,
        resource: String,
        region: Region,
        /// The AWS error code, when AWS gave one (boxed, like the source, to keep every
        /// `Result` small).
        code: Option<Box<str>>,
        message: String,
        retryable: bool,
        /// The SDK's own error, kept for the error chain (`{:?}`, `-v`, logs): `message` is
        /// already its text for a person, so `Display` does not repeat it.
        #[source]
        source: Option<Box<SdkSource>>,
    },

    #[error("refused: {0}")]
    Refused(String),

    #[error("invalid event: {0}")]
    InvalidEvent(String),

    #[error("{name} is locked by run {holder} until {until}; try again after that")]
    Locked {
        name: String,
        holder: String,
        until: String,
    },

    /// The lease this run held is no longer its own: it expired and another run took it over
    /// (or it is gone). The run must not start more work.
    #[error(
        "the lease {name} is no longer held by run {holder}: it expired and another run took it over; \
         this run starts nothing more"
    )]
    LeaseLost { name: String, holder: String },

    #[error("{context}: {source}")]
    Other {
        context: String,
        #[source]
        source: BoxError,
    },
}

/// An error as a run's report keeps it: its kind, what it said and what to do next, taken from
/// the [`Error`] when it happened, so no page has to read the advice back out of the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorRecord {
    /// [`Error::kind`]: `AccessDenied`, `NotFound`, `AwsTransient`, …
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

impl From<&Error> for ErrorRecord {
    fn from(error: &Error) -> Self {
        ErrorRecord {
            kind: error.kind().to_owned(),
            message: error.to_string(),
            next_step: error.next_step(),
        }
    }
}

/// The SDK's error behind an [`Error::Aws`]: what it said and why, for the error chain. Boxed
/// in the variant, so every `Result<_, Error>` stays small.
#[derive(Debug)]
pub struct SdkSource(BoxError);

impl std::fmt::Display for SdkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SdkSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    /// Whether the same call could succeed later without anyone changing anything. Reported in
    /// Lambda's `errorType` for humans and alarms; Lambda itself retries every error alike.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Aws { retryable, .. } => *retryable,
            Error::Locked { .. } | Error::LeaseLost { .. } => true,
            _ => false,
        }
    }

    /// A short, stable name of the kind of error, for Lambda's `errorType` (what an alarm or a
    /// log filter matches on) and for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Plan(_) | Error::PlanLocation { .. } => "InvalidPlan",
            Error::NotFound { .. } => "NotFound",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::KmsKey { .. } => "KmsKey",
            Error::Aws {
                retryable: true, ..
            } => "AwsTransient",
            Error::Aws { .. } => "AwsError",
            Error::Refused(_) => "Refused",
            Error::InvalidEvent(_) => "InvalidEvent",
            Error::Locked { .. } => "Locked",
            Error::LeaseLost { .. } => "LeaseLost",
            Error::Other { .. } => "Internal",
        }
    }

    /// What a person does next about this error, when there is more to say than the message:
    /// the CLI's `next:` line and, kept in the run's report ([`ErrorRecord`]), its page's "what
    /// to do next".
    pub fn next_step(&self) -> Option<String> {
        Some(match self {
            Error::Plan(_) => {
                "fix the keys listed above; `lifeboat plan check FILE` lists every error with its path".into()
            }
            Error::PlanLocation { .. } => {
                "give the plan with --plan or LIFEBOAT_PLAN: a file path or an s3:// URI that exists".into()
            }
            Error::NotFound { resource, region } => format!(
                "check that {resource} exists in {region} and that the plan names it as AWS does"
            ),
            Error::AccessDenied {
                action, resource, ..
            } => format!(
                "allow {action} on {resource} to the role Lifeboat runs as (the task's role in \
                 template.yaml), and look for a service control policy or permission boundary that \
                 denies it"
            ),
            Error::KmsKey { key, region, .. } => format!(
                "check that the KMS key {key} exists in {region} and is enabled, that it is a key of \
                 that Region (a copy is re-encrypted there), and that its key policy lets Lifeboat's \
                 role use it (kms:DescribeKey, kms:CreateGrant); then run the copy again"
            ),
            Error::Aws {
                retryable: true,
                code: Some(code),
                ..
            } if code.contains("Throttl") || code.contains("RequestLimitExceeded") || code.contains("TooManyRequests") || code.as_ref() == "SlowDown" => {
                "AWS throttled the call: nothing to fix; the next run retries it. If it repeats, \
                 lower the plan's copy limits"
                    .into()
            }
            Error::Aws {
                retryable: true,
                code: None,
                ..
            } => "AWS could not be reached (network or endpoint): check the function's VPC routes or \
                 endpoints; the next run retries"
                .into(),
            Error::Aws {
                retryable: true, ..
            } => "a transient AWS error: run the same command again (it carries on what is saved)".into(),
            Error::Locked { until, .. } => format!(
                "another run is at work; run again after {until} (a lease whose holder died expires then)"
            ),
            Error::LeaseLost { .. } => "run again: the next run carries on from the saved state".into(),
            Error::Other { .. } => "run again with -v (or RUST_LOG=debug) for details".into(),
            Error::Aws { .. } | Error::Refused(_) | Error::InvalidEvent(_) => return None,
        })
    }

    pub fn other(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Other {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Turns an SDK error into an error that says what was being done to what, and where.
    pub fn from_sdk<E, R>(
        error: SdkError<E, R>,
        action: &str,
        resource: &str,
        region: &Region,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (code, message) = match &error {
            SdkError::ServiceError(service) => (
                service.err().code().map(str::to_owned),
                service.err().message().unwrap_or("no message").to_owned(),
            ),
            other => (None, describe_transport_error(other)),
        };
        let retryable = transport_is_retryable(&error);
        match classify(code, message, action, resource, region, retryable) {
            Error::Aws {
                action,
                resource,
                region,
                code,
                message,
                retryable,
                source: None,
            } => Error::Aws {
                action,
                resource,
                region,
                code,
                message,
                retryable,
                source: Some(Box::new(SdkSource(Box::new(error)))),
            },
            classified => classified,
        }
    }
}

fn describe_transport_error<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    // SdkError's own Display is terse ("dispatch failure"); its source says why.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn transport_is_retryable<E, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    )
}

/// The decision behind [`Error::from_sdk`], on plain values so it is tested without AWS.
pub fn classify(
    code: Option<String>,
    message: String,
    action: &str,
    resource: &str,
    region: &Region,
    transport_retryable: bool,
) -> Error {
    let region = region.clone();
    let resource = resource.to_owned();
    let action = action.to_owned();
    match code.as_deref() {
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AuthorizationError"
            | "NotAuthorized",
        ) => Error::AccessDenied {
            action,
            resource,
            region,
            message,
        },
        Some(
            "DBInstanceNotFound"
            | "DBInstanceNotFoundFault"
            | "DBClusterNotFoundFault"
            | "DBSnapshotNotFound"
            | "DBSnapshotNotFoundFault"
            | "DBClusterSnapshotNotFoundFault"
            | "NoSuchBucket"
            | "ResourceNotFoundException",
        ) => Error::NotFound { resource, region },
        Some("KMSKeyNotAccessibleFault" | "KMSKeyNotAccessible" | "InvalidKeyUsageException") => {
            Error::KmsKey {
                key: resource,
                region,
                message,
            }
        }
        Some(code) => {
            let retryable = is_retryable_code(code);
            Error::Aws {
                action,
                resource,
                region,
                code: Some(code.into()),
                message,
                retryable,
                source: None,
            }
        }
        None => Error::Aws {
            action,
            resource,
            region,
            code: None,
            message,
            retryable: transport_retryable,
            source: None,
        },
    }
}

fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException"
            | "SlowDown" | "ServiceUnavailable" | "InternalFailure" | "InternalError"
            | "RequestTimeout" | "RequestTimeoutException"
            // RDS answers these while another operation on the same resource is under way.
            | "InvalidDBSnapshotState" | "InvalidDBSnapshotStateFault"
            | "InvalidDBClusterSnapshotStateFault" | "InvalidDBInstanceState"
            | "InvalidDBClusterStateFault"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        "us-east-2".parse().unwrap()
    }

    #[test]
    fn access_denied_names_action_resource_and_region() {
        let error = classify(
            Some("AccessDenied".into()),
            "User is not authorized".into(),
            "rds:CopyDBSnapshot",
            "arn:aws:rds:us-west-2:111122223333:snapshot:db1",
            &region(),
            false,
        );
        assert_eq!(
            error.to_string(),
            "access denied: rds:CopyDBSnapshot on arn:aws:rds:us-west-2:111122223333:snapshot:db1 \
             in us-east-2 (User is not authorized)"
        );
        assert_eq!(error.kind(), "AccessDenied");
        assert!(!error.is_retryable());
    }

    #[test]
    fn throttling_and_timeouts_are_retryable_but_unknown_faults_are_not() {
        let throttled = classify(
            Some("Throttling".into()),
            "slow down".into(),
            "a",
            "r",
            &region(),
            false,
        );
        assert!(throttled.is_retryable());
        let timeout = classify(None, "timed out".into(), "a", "r", &region(), true);
        assert!(timeout.is_retryable());
        let quota = classify(
            Some("SnapshotQuotaExceeded".into()),
            "quota".into(),
            "a",
            "r",
            &region(),
            false,
        );
        assert!(!quota.is_retryable());
        assert_eq!(quota.kind(), "AwsError");
    }

    #[test]
    fn an_aws_error_keeps_the_sdks_error_as_its_source() {
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

        let sdk = SdkError::<GetObjectError, HttpResponse>::timeout_error("read timed out");
        let error = Error::from_sdk(sdk, "s3:GetObject", "s3://b/k", &region());
        assert!(
            matches!(
                error,
                Error::Aws {
                    retryable: true,
                    ..
                }
            ),
            "{error:?}"
        );
        let source = std::error::Error::source(&error).expect("the SDK's error is the source");
        let cause = source.source().expect("the SDK's error keeps its cause");
        assert_eq!(cause.to_string(), "read timed out");
        assert!(error.to_string().contains("read timed out"), "{error}");
    }

    #[test]
    fn a_report_keeps_the_errors_kind_message_and_next_step() {
        let denied = classify(
            Some("AccessDenied".into()),
            "not authorized".into(),
            "rds:CopyDBSnapshot",
            "DB snapshot orders-1",
            &region(),
            false,
        );
        let record = ErrorRecord::from(&denied);
        assert_eq!(record.kind, "AccessDenied");
        assert_eq!(record.message, denied.to_string());
        let next = record.next_step.expect("access denied says what to allow");
        assert!(
            next.starts_with("allow rds:CopyDBSnapshot on DB snapshot orders-1"),
            "{next}"
        );
        let throttled = classify(
            Some("ThrottlingException".into()),
            "slow".into(),
            "a",
            "r",
            &region(),
            false,
        );
        assert!(
            throttled
                .next_step()
                .unwrap()
                .starts_with("AWS throttled the call")
        );
        let unreachable = classify(None, "dispatch failure".into(), "a", "r", &region(), true);
        assert!(
            unreachable
                .next_step()
                .unwrap()
                .starts_with("AWS could not be reached")
        );
        let json = serde_json::to_value(ErrorRecord::from(&Error::Refused("no".into()))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "Refused", "message": "refused: no"})
        );
    }

    #[test]
    fn missing_db_is_not_found_naming_it() {
        let error = classify(
            Some("DBInstanceNotFound".into()),
            "x".into(),
            "a",
            "DB instance orders",
            &region(),
            false,
        );
        assert_eq!(
            error.to_string(),
            "DB instance orders not found in us-east-2"
        );
    }
}
