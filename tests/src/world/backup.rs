//! AWS Backup in the account: vaults, backup and copy jobs, recovery points and restore tests,
//! and the emulator's control of job states and recovery points.

use super::{PRIMARY, RECOVERY, World, in_region};

/// Which AWS Backup jobs a control call holds or fails (`operation` of the emulator's
/// `/lifeboat-api/backup/behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupJobKind {
    Backup,
    Copy,
    Restore,
}

impl BackupJobKind {
    fn as_str(self) -> &'static str {
        match self {
            BackupJobKind::Backup => "backup",
            BackupJobKind::Copy => "copy",
            BackupJobKind::Restore => "restore",
        }
    }
}

/// The IAM role tests pass to AWS Backup (the emulator checks no IAM).
pub fn backup_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole")
}

impl World {
    /// An AWS Backup client of this account in any Region.
    pub fn backup(&self, region: &str) -> aws_sdk_backup::Client {
        aws_sdk_backup::Client::new(&in_region(&self.account.config, region))
    }

    /// A backup vault in `region`; returns its ARN.
    pub async fn backup_vault(&self, region: &str, name: &str) -> String {
        let out = self
            .backup(region)
            .create_backup_vault()
            .backup_vault_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create backup vault {name}: {e:?}"));
        out.backup_vault_arn().expect("vault ARN").to_owned()
    }

    /// An on-demand backup of `resource_arn` into `vault` (the emulator completes it at once
    /// unless told otherwise); returns the backup job id.
    pub async fn backup_job(&self, region: &str, vault: &str, resource_arn: &str) -> String {
        let out = self
            .backup(region)
            .start_backup_job()
            .backup_vault_name(vault)
            .resource_arn(resource_arn)
            .iam_role_arn(backup_role(&self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("start backup job of {resource_arn}: {e:?}"));
        out.backup_job_id().expect("backup job id").to_owned()
    }

    /// A completed recovery point of `resource_arn` in `vault`; returns its ARN.
    pub async fn recovery_point(&self, region: &str, vault: &str, resource_arn: &str) -> String {
        let job = self.backup_job(region, vault, resource_arn).await;
        let described = self
            .backup(region)
            .describe_backup_job()
            .backup_job_id(&job)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe backup job {job}: {e:?}"));
        assert_eq!(
            described.state(),
            Some(&aws_sdk_backup::types::BackupJobState::Completed),
            "backup of {resource_arn}: {:?}",
            described.status_message()
        );
        described
            .recovery_point_arn()
            .expect("a completed backup job names its recovery point")
            .to_owned()
    }

    /// Makes the next `count` jobs of `kind` that this account starts in `region` stop in
    /// `state` (`CREATED`, `RUNNING`, `PENDING`, `FAILED`, `ABORTED`, `PARTIAL`… as the job's
    /// state enum allows) with `message` as their StatusMessage.
    pub async fn hold_backup_jobs(
        &self,
        region: &str,
        kind: BackupJobKind,
        state: &str,
        message: Option<&str>,
        count: u32,
    ) {
        self.try_hold_backup_jobs(region, kind, state, message, count)
            .await
            .unwrap_or_else(|e| panic!("set the emulator's backup behaviour: {e}"));
    }

    /// [`World::hold_backup_jobs`], with the control API's refusal (a state the job's enum
    /// lacks, say) as Err.
    pub async fn try_hold_backup_jobs(
        &self,
        region: &str,
        kind: BackupJobKind,
        state: &str,
        message: Option<&str>,
        count: u32,
    ) -> Result<(), String> {
        self.control(
            "backup/behaviour",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "operation": kind.as_str(),
                "state": state,
                "message": message,
                "count": count,
            }),
        )
        .await
        .map(|_| ())
    }

    /// Moves a held AWS Backup job (backup, copy or restore) to `state`; COMPLETED (or
    /// PARTIAL) does the job's work then. Refused (Err) for a job that is already over.
    pub async fn set_backup_job_state(
        &self,
        job_id: &str,
        state: &str,
        message: Option<&str>,
    ) -> Result<serde_json::Value, String> {
        self.control(
            &format!("backup/jobs/{job_id}/state"),
            serde_json::json!({ "state": state, "message": message }),
        )
        .await
    }

    /// Completes a held AWS Backup job.
    pub async fn complete_backup_job(&self, job_id: &str) -> Result<serde_json::Value, String> {
        self.control(
            &format!("backup/jobs/{job_id}/complete"),
            serde_json::json!({}),
        )
        .await
    }

    /// Moves a recovery point to cold storage (StorageClass COLD), as its lifecycle would.
    pub async fn move_recovery_point_to_cold(&self, region: &str, vault: &str, arn: &str) {
        self.update_recovery_point(
            region,
            vault,
            arn,
            serde_json::json!({"storage_class": "COLD"}),
        )
        .await;
    }

    /// Back-dates (or forward-dates) a recovery point's CreationDate; its CalculatedLifecycle
    /// follows.
    pub async fn set_recovery_point_creation_date(
        &self,
        region: &str,
        vault: &str,
        arn: &str,
        created: std::time::SystemTime,
    ) {
        let secs = created
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        self.update_recovery_point(
            region,
            vault,
            arn,
            serde_json::json!({"creation_date": secs}),
        )
        .await;
    }

    async fn update_recovery_point(
        &self,
        region: &str,
        vault: &str,
        arn: &str,
        mut patch: serde_json::Value,
    ) {
        patch["account_id"] = self.account.id.clone().into();
        patch["region"] = region.into();
        patch["backup_vault_name"] = vault.into();
        patch["recovery_point_arn"] = arn.into();
        self.control("backup/recovery-point", patch)
            .await
            .unwrap_or_else(|e| panic!("update recovery point {arn}: {e}"));
    }

    /// A recovery point of `resource_arn` (in the primary Region) in the recovery Region's vault
    /// `dr`, as a cross-Region copy puts it there: backed up into the primary's `Default` vault,
    /// then copied. Returns the copy's ARN.
    pub async fn recovery_point_in_recovery_vault(&self, resource_arn: &str) -> String {
        self.backup_vault(PRIMARY, "Default").await;
        let dr = self.backup_vault(RECOVERY, "dr").await;
        let source = self.recovery_point(PRIMARY, "Default", resource_arn).await;
        self.backup(PRIMARY)
            .start_copy_job()
            .recovery_point_arn(&source)
            .source_backup_vault_name("Default")
            .destination_backup_vault_arn(&dr)
            .iam_role_arn(backup_role(&self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {source} to {dr}: {e:?}"));
        let listed = self
            .backup(RECOVERY)
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("dr")
            .send()
            .await
            .expect("list the recovery vault");
        listed
            .recovery_points()
            .iter()
            .find(|rp| rp.resource_arn() == Some(resource_arn))
            .and_then(|rp| rp.recovery_point_arn())
            .unwrap_or_else(|| panic!("no copy of {resource_arn} in the dr vault"))
            .to_owned()
    }

    /// A restore job that the restore testing plan `testing_plan_arn` starts in `region` (AWS
    /// Backup's scheduler does; here the emulator's control API) from `recovery_point_arn`, with
    /// the restore `metadata` AWS Backup would infer. Returns the restore job as DescribeRestoreJob
    /// shows it.
    pub async fn restore_testing_job(
        &self,
        region: &str,
        testing_plan_arn: &str,
        recovery_point_arn: &str,
        metadata: serde_json::Value,
    ) -> serde_json::Value {
        self.control(
            "backup/restore-testing-jobs",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "restore_testing_plan_arn": testing_plan_arn,
                "recovery_point_arn": recovery_point_arn,
                "metadata": metadata,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("start a restore testing job: {e}"))
    }
}
