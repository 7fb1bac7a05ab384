//! A verification run as its record keeps it: which copy it restores, what it created, which
//! phase it is in, each step with its time, the checks and the figures. A restore outlives a
//! Lambda invocation (15 minutes), so the record is what one invocation saves and the next one
//! advances; nothing waits in memory.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::checks::CheckResult;
use crate::error::{Error, ErrorRecord};

/// What a verification restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyKind {
    /// A Lifeboat copy of a DB snapshot in the recovery Region.
    DbSnapshot,
    /// A Lifeboat copy of an Aurora cluster snapshot.
    ClusterSnapshot,
    /// A recovery point that an AWS Backup restore testing job restored.
    RecoveryPoint,
}

/// The copy a run restores, chosen once, when the run starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenCopy {
    pub kind: CopyKind,
    /// The snapshot identifier in the recovery Region.
    pub id: String,
    /// The DB instance or cluster it is a copy of.
    pub source_db: String,
    pub engine: String,
    /// When its source snapshot was taken: the data in it is at most this new.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub taken_at: Option<OffsetDateTime>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Choosing the copy and asking for the restore.
    Restoring,
    /// Waiting until the restored database is available.
    WaitingAvailable,
    /// Giving the database a fresh password and running the checks (one invocation: the
    /// password is never stored, so a run that dies here sets a new one next time).
    Checking,
    /// Deleting what the run created, whatever happened before.
    CleaningUp,
    Finished,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Restored, available in time, every check passed.
    Verified,
    Failed,
}

/// The resources a run created in the recovery Region, by identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// The AWS Backup restore job a run started to restore a recovery point. Its result carries no
/// tags of the run's, so the run tags it once the job completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRestore {
    pub restore_job_id: String,
    /// The restored resource has the run's tags.
    pub tagged: bool,
}

/// What a run validating an AWS Backup restore testing job knows of that job. AWS Backup made
/// the database under test (and deletes it after the plan's validation window), so the run
/// deletes only what it added itself (an instance in an Aurora cluster) and answers the job
/// with `PutRestoreValidationResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTest {
    pub restore_job_id: String,
    pub restore_testing_plan_arn: String,
    pub created_resource_arn: String,
    /// The restored resource AWS Backup made, by identifier: never deleted by the run.
    pub made_by_backup: Created,
    /// The restore job's creation and completion: AWS Backup's measure of the restore.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub restore_started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub restore_completed_at: Option<OffsetDateTime>,
    /// The validation status sent to AWS Backup, once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<String>,
}

/// What a step of a run did. Serialised as the kebab-case names records have always had
/// (`"add-instance"`), so every saved run still loads; a new kind does not compile until every
/// renderer says how it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// A leftover of a crashed run deleted (or not), before a new run restores.
    Sweep,
    /// Choosing what to restore: noted only when there is nothing to.
    Choose,
    /// The restore asked for (or refused).
    Restore,
    /// An AWS Backup restore test taken on for validation.
    RestoreTest,
    /// What an AWS Backup restore made, tagged as the run's.
    Tag,
    /// An instance added to a restored Aurora cluster.
    AddInstance,
    /// Not there yet, and the next look is the next invocation's; or the wait for the restore
    /// failed (broken, gone, past `max_restore_minutes`).
    Wait,
    /// The restored database became available.
    Available,
    /// A fresh master password set (or the database lost on the way).
    Password,
    /// The plan's SQL checks.
    Checks,
    /// The delete of something the run created asked for.
    Delete,
    /// The validation result sent to AWS Backup.
    Validation,
    /// The run's end, with its verdict.
    Finish,
}

impl StepKind {
    /// The name records, reports and the CLI show.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Sweep => "sweep",
            StepKind::Choose => "choose",
            StepKind::Restore => "restore",
            StepKind::RestoreTest => "restore-test",
            StepKind::Tag => "tag",
            StepKind::AddInstance => "add-instance",
            StepKind::Wait => "wait",
            StepKind::Available => "available",
            StepKind::Password => "password",
            StepKind::Checks => "checks",
            StepKind::Delete => "delete",
            StepKind::Validation => "validation",
            StepKind::Finish => "finish",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: the CLI lines the names up with `{:<13}`.
        f.pad(self.as_str())
    }
}

impl PartialEq<&str> for StepKind {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

/// One step of a run, for the report's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: StepKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub ok: bool,
    pub detail: String,
    /// The error a failed step met, as it happened (its kind and next step with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// The record of one verification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRun {
    pub run_id: String,
    pub plan: String,
    /// The `[[verify]]` entry's `name`.
    pub job: String,
    pub phase: Phase,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<ChosenCopy>,
    pub created: Created,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub restore_requested_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub available_at: Option<OffsetDateTime>,
    pub checks: Vec<CheckResult>,
    pub steps: Vec<StepRecord>,
    /// Set when the run restores a recovery point through AWS Backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_restore: Option<BackupRestore>,
    /// Set when the run validates an AWS Backup restore testing job instead of restoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_test: Option<RestoreTest>,
    /// Why the run failed, once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl VerifyRun {
    pub fn start(run_id: &str, plan: &str, job: &str, now: OffsetDateTime) -> Self {
        VerifyRun {
            run_id: run_id.to_owned(),
            plan: plan.to_owned(),
            job: job.to_owned(),
            phase: Phase::Restoring,
            started_at: now,
            copy: None,
            created: Created::default(),
            restore_requested_at: None,
            available_at: None,
            checks: Vec::new(),
            steps: Vec::new(),
            backup_restore: None,
            restore_test: None,
            failure: None,
            verdict: None,
        }
    }

    /// Notes a step in the timeline.
    pub fn step(
        &mut self,
        step: StepKind,
        at: OffsetDateTime,
        ok: bool,
        detail: impl Into<String>,
    ) {
        self.steps.push(StepRecord {
            step,
            at,
            ok,
            detail: detail.into(),
            error: None,
        });
    }

    /// Notes a step that met `error`, keeping it for the report.
    pub(crate) fn step_failed(&mut self, step: StepKind, at: OffsetDateTime, error: &Error) {
        self.step(step, at, false, error.to_string());
        if let Some(failed) = self.steps.last_mut() {
            failed.error = Some(error.into());
        }
    }

    /// The run failed: say why, and go clean up.
    pub fn fail(&mut self, step: StepKind, at: OffsetDateTime, why: impl Into<String>) {
        let why = why.into();
        self.step(step, at, false, why.clone());
        self.failure.get_or_insert(why);
        self.phase = Phase::CleaningUp;
    }

    /// [`VerifyRun::fail`] on an error, which the step keeps for the report.
    pub(crate) fn fail_on(&mut self, step: StepKind, at: OffsetDateTime, error: &Error) {
        self.step_failed(step, at, error);
        self.failure.get_or_insert(error.to_string());
        self.phase = Phase::CleaningUp;
    }

    /// Restore duration: requested → available (for a restore test, the restore job's own
    /// creation → completion).
    pub fn restore_seconds(&self) -> Option<i64> {
        if let Some(test) = &self.restore_test {
            return Some((test.restore_completed_at? - test.restore_started_at?).whole_seconds());
        }
        Some((self.available_at? - self.restore_requested_at?).whole_seconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_kind_reads_as_its_record_name_and_lines_up_in_the_cli() {
        assert_eq!(StepKind::AddInstance.to_string(), "add-instance");
        assert_eq!(format!("{:<13}|", StepKind::AddInstance), "add-instance |");
        assert!(StepKind::RestoreTest == "restore-test");
    }
}
