//! Where a verification keeps its runs in the state bucket: the run in progress of each job
//! (`verify/<plan>/<job>/current.json`), each restore test being validated
//! (`verify/<plan>/<job>/restore-tests/<restore job id>.json`), the job's last finished run
//! (`last.json`, which says when the next is due), and the event that announces a verdict.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::report::VerifyReport;
use super::run::Verdict;
use crate::aws::RegionalClients;
use crate::bucket::{self, keys};
use crate::error::Error;
use crate::plan::Plan;
use crate::record::{RecordLocation, put_event};

/// Detail type of the event that closes a verification, with its verdict.
pub const VERIFICATION_FINISHED: &str = "Lifeboat Verification Finished";

/// A job's last finished run, in short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub verdict: Verdict,
    pub report: RecordLocation,
}

/// The last finished run of a job, if it has one.
pub(super) async fn load_last(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<LastRun>, Error> {
    bucket::get_json(recovery, bucket, key, "a verification summary").await
}

pub(super) async fn save_last(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    last: &LastRun,
) -> Result<(), Error> {
    bucket::put_json(recovery, bucket, key, last, "the verification summary").await
}

/// The restore job ids of the restore tests of `job` being validated.
pub(super) async fn restore_tests_in_progress(
    recovery: &RegionalClients,
    bucket: &str,
    plan: &str,
    job: &str,
) -> Result<Vec<String>, Error> {
    let prefix = keys::restore_tests(plan, job);
    let keys = bucket::list(recovery, bucket, &prefix).await?;
    Ok(keys
        .iter()
        .filter_map(|key| key.strip_prefix(&prefix)?.strip_suffix(".json"))
        .map(str::to_owned)
        .collect())
}

/// A saved run, if there is one at `key`.
pub(super) async fn load(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<VerifyReport>, Error> {
    bucket::get_json(recovery, bucket, key, "a verification run").await
}

pub(super) async fn save(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    report: &VerifyReport,
) -> Result<(), Error> {
    bucket::put_json(recovery, bucket, key, report, "the verification run").await
}

/// Removes a finished run's saved record. A failure is logged: the record is marked
/// `recorded`, so the next invocation only tries the removal again.
pub(super) async fn remove(recovery: &RegionalClients, bucket: &str, key: &str) {
    if let Err(error) = bucket::delete(recovery, bucket, key).await {
        tracing::warn!(key, error = %error, "could not remove the finished run's record");
    }
}

/// `Lifeboat Verification Finished` on Lifeboat's bus, with the verdict.
pub(super) async fn announce(
    recovery: &RegionalClients,
    plan: &Plan,
    report: &VerifyReport,
    location: &RecordLocation,
) -> Result<(), Error> {
    let verdict = match report.verdict {
        Some(Verdict::Verified) => "verified",
        _ => "failed",
    };
    let detail = serde_json::json!({
        "run_id": report.header.run_id,
        "plan": plan.name,
        "job": report.job,
        "verdict": verdict,
        "failure": report.verification.failure,
        "figures": report.figures,
        "restore_test": report.verification.restore_test,
        "report": location,
    });
    put_event(recovery, plan, VERIFICATION_FINISHED, &detail).await
}
