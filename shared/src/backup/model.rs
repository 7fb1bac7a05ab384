//! What the backup copy task knows about AWS Backup: recovery points, copy jobs, and the token
//! that makes starting a copy job idempotent.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use crate::trigger::JobState;

/// A recovery point in a backup vault, as AWS Backup lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryPoint {
    pub arn: String,
    /// The protected resource (an EC2 instance, an EBS volume, an RDS database, …).
    pub resource_arn: String,
    /// As AWS Backup names it: `EC2`, `EBS`, `RDS`, `Aurora`, `EFS`, `DynamoDB`, …
    pub resource_type: String,
    /// `COMPLETED`, `PARTIAL`, `DELETING`, `EXPIRED`, …
    pub status: String,
    pub created: Option<OffsetDateTime>,
    /// When the recovery point moves (or moved) to cold storage, from its calculated lifecycle.
    pub cold_from: Option<OffsetDateTime>,
}

impl RecoveryPoint {
    pub fn is_completed(&self) -> bool {
        self.status == "COMPLETED"
    }

    pub fn is_cold(&self, now: OffsetDateTime) -> bool {
        self.cold_from.is_some_and(|from| from <= now)
    }

    /// RDS and Aurora recovery points: AWS Backup copies them across Regions or across
    /// accounts, not both in one job.
    pub fn is_rds_family(&self) -> bool {
        matches!(self.resource_type.as_str(), "RDS" | "Aurora")
    }
}

/// A copy job, as `ListCopyJobs` describes it in the Region it was started in (the source's).
#[derive(Debug, Clone, PartialEq)]
pub struct CopyJob {
    pub id: String,
    pub source_recovery_point_arn: String,
    pub destination_vault_arn: String,
    pub resource_arn: String,
    pub state: JobState,
    pub status_message: Option<String>,
    pub created: Option<OffsetDateTime>,
}

/// Whether AWS Backup's message says it could not use the copy's IAM role ("The provided role
/// … cannot be assumed by AWS Backup", an `iam:PassRole` refusal): then the plan's `iam_role`
/// (or its trust policy) is what to fix.
pub(super) fn blames_the_role(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("cannot be assumed")
        || message.contains("assume role")
        || message.contains("iam:passrole")
}

/// The `IdempotencyToken` of the `attempt`-th copy job (0 = the first) of a recovery point into a
/// vault. AWS Backup answers a retry with the same token with the job it already started, so a
/// retried invocation, a second run or a duplicate event never starts a second job; a new attempt
/// after a failed job gets a token of its own.
pub fn idempotency_token(
    recovery_point_arn: &str,
    destination_vault_arn: &str,
    attempt: u32,
) -> String {
    let digest = Sha256::digest(format!(
        "{recovery_point_arn}\n{destination_vault_arn}\n{attempt}"
    ));
    format!("lifeboat-{}", &hex::encode(digest)[..40])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_stable_per_recovery_point_destination_and_attempt() {
        let rp = "arn:aws:ec2:us-west-2::image/ami-0123456789abcdef0";
        let dr = "arn:aws:backup:us-east-2:111122223333:backup-vault:dr";
        let token = idempotency_token(rp, dr, 0);
        assert_eq!(token, idempotency_token(rp, dr, 0));
        assert_ne!(
            token,
            idempotency_token(rp, dr, 1),
            "a retry after a failure"
        );
        assert_ne!(
            token,
            idempotency_token(
                rp,
                "arn:aws:backup:us-east-2:444455556666:backup-vault:dr",
                0
            ),
            "another destination"
        );
        assert!(
            token.starts_with("lifeboat-") && token.len() == 49,
            "{token}"
        );
    }

    #[test]
    fn job_states_read_as_aws_writes_them() {
        assert_eq!(JobState::parse("RUNNING"), JobState::Running);
        assert!(JobState::parse("CREATED").is_in_flight());
        assert!(JobState::parse("ABORTED").is_failure());
        assert!(!JobState::parse("COMPLETED").is_failure());
        assert_eq!(JobState::parse("SOMETHING_NEW"), JobState::Unknown);
        assert_eq!(JobState::Partial.to_string(), "PARTIAL");
    }
}
