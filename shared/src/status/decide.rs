//! The posture's budgets, free of I/O: what makes `lifeboat status` exit non-zero.

use super::model::Posture;
use crate::record::RunOutcome;
use crate::verify::Verdict;

/// A span for people: `8 days`, `5 h`, `12 min`, `40 s`.
pub fn span(seconds: i64) -> String {
    match seconds {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 3600 => format!("{} h", s / 3600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// A verification may be this late (a tick, a restore) before its schedule counts as missed.
const VERIFICATION_SLACK_SECONDS: i64 = 6 * 3600;

/// Each broken budget, in a sentence that says what is wrong:
/// - a database with no copy in the recovery Region, or whose newest copy is older than its
///   entry's `retain_days`;
/// - a verification never run, last started longer ago than its `every` (plus 6 hours), or
///   whose last run failed (restore-test entries run on AWS Backup's schedule: only their verdict
///   counts);
/// - a task whose last run failed.
pub fn broken_budgets(posture: &Posture) -> Vec<String> {
    let mut broken = Vec::new();
    for copy in &posture.copies {
        let limit = i64::from(copy.retain_days) * 86_400;
        match copy.age_seconds {
            None => broken.push(format!(
                "{}: no copy in {}",
                copy.db, posture.recovery_region
            )),
            Some(age) if age > limit => broken.push(format!(
                "{}: the newest copy is {} old, over retain_days = {}",
                copy.db,
                span(age),
                copy.retain_days
            )),
            Some(_) => {}
        }
    }
    for verification in &posture.verifications {
        let job = &verification.job;
        match &verification.last {
            None if !verification.restore_tests => {
                broken.push(format!("verification {job}: never run"));
            }
            None => {}
            Some(last) => {
                if last.verdict == Verdict::Failed {
                    broken.push(format!(
                        "verification {job}: the last run ({}) failed: {}",
                        last.run_id, last.report
                    ));
                }
                let since = (posture.at - last.started_at).whole_seconds();
                let limit = verification.every_seconds as i64 + VERIFICATION_SLACK_SECONDS;
                if !verification.restore_tests && since > limit {
                    broken.push(format!(
                        "verification {job}: last run {} ago, its schedule is every {}",
                        span(since),
                        span(verification.every_seconds as i64)
                    ));
                }
            }
        }
    }
    for run in &posture.last_runs {
        if run.outcome == Some(RunOutcome::Failed) {
            broken.push(format!(
                "{}: the last run ({}) failed",
                run.task, run.run_id
            ));
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::status::{CopyPosture, LastVerification, RunPosture, VerificationPosture};

    fn posture() -> Posture {
        Posture {
            plan: "tracking".into(),
            recovery_region: "us-east-2".into(),
            at: datetime!(2026-11-26 12:00 UTC),
            copies: vec![CopyPosture {
                db: "orders".into(),
                newest_copy: Some("lifeboat-orders-1".into()),
                taken_at: None,
                age_seconds: Some(3600),
                copies: 1,
                retain_days: 7,
            }],
            backup_copies: vec![],
            verifications: vec![VerificationPosture {
                job: "weekly".into(),
                last: Some(LastVerification {
                    run_id: "r1".into(),
                    started_at: datetime!(2026-11-26 04:00 UTC),
                    verdict: Verdict::Verified,
                    data_age_seconds: Some(7200),
                    restore_seconds: Some(600),
                    report: "s3://b/runs/r1.md".into(),
                }),
                in_progress: None,
                every_seconds: 86_400,
                restore_tests: false,
            }],
            replicas: vec![],
            dns: vec![],
            last_runs: vec![RunPosture {
                task: "copy-snapshots".into(),
                run_id: "c1".into(),
                outcome: Some(RunOutcome::Succeeded),
                finished_at: None,
            }],
            failover_in_progress: None,
            paused: None,
            broken: vec![],
        }
    }

    #[test]
    fn a_healthy_posture_breaks_no_budget() {
        assert_eq!(broken_budgets(&posture()), Vec::<String>::new());
    }

    #[test]
    fn old_or_missing_copies_late_or_failed_verifications_and_failed_runs_break_budgets() {
        let mut p = posture();
        p.copies[0].age_seconds = Some(8 * 86_400);
        p.copies.push(CopyPosture {
            db: "billing".into(),
            newest_copy: None,
            taken_at: None,
            age_seconds: None,
            copies: 0,
            retain_days: 7,
        });
        let last = p.verifications[0].last.as_mut().unwrap();
        last.verdict = Verdict::Failed;
        last.started_at = datetime!(2026-11-24 12:00 UTC);
        p.last_runs[0].outcome = Some(RunOutcome::Failed);
        let broken = broken_budgets(&p);
        assert_eq!(broken.len(), 5, "{broken:#?}");
        assert!(
            broken[0].starts_with("orders: the newest copy is 8 days old, over retain_days = 7"),
            "{broken:#?}"
        );
        assert_eq!(broken[1], "billing: no copy in us-east-2");
        assert!(broken[2].starts_with("verification weekly: the last run (r1) failed"));
        assert!(
            broken[3].starts_with("verification weekly: last run 2 days ago"),
            "{broken:#?}"
        );
        assert_eq!(broken[4], "copy-snapshots: the last run (c1) failed");
    }
}
