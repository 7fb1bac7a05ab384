//! The report of a verification run: the verdict, the measured figures, every step and check;
//! as JSON (the record), Markdown (for people) and EMF metrics.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::TASK;
use super::run::{StepKind, StepRecord, Verdict, VerifyRun};
use crate::html::{self, Event, Figure, Html, Problem, Tone, badge, section, span};
use crate::metrics::{MetricSet, Unit};
use crate::record::{Report, RunHeader};

/// The figures a verification measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Restore duration: requested → available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<i64>,
    /// The age of the newest data the freshness checks found, when they ran (the oldest of them
    /// when there are several): the RPO a failover at that moment would have given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_seconds: Option<i64>,
    /// The same, when the restored copy's source snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_at_snapshot_seconds: Option<i64>,
}

impl Figures {
    fn of(run: &VerifyRun) -> Self {
        Figures {
            restore_seconds: run.restore_seconds(),
            data_age_seconds: run.checks.iter().filter_map(|c| c.data_age_seconds).max(),
            data_age_at_snapshot_seconds: run
                .checks
                .iter()
                .filter_map(|c| c.data_age_at_snapshot_seconds)
                .max(),
        }
    }
}

/// The report of one verification run: the run header (task `verify-restore`; outcome
/// succeeded when verified, failed when not, none while in progress), the verdict, the figures,
/// and the run's record (steps, checks, what it created).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Flattened: the header's fields are the record's top-level fields, as in every run's record.
    #[serde(flatten)]
    pub header: RunHeader,
    pub job: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub figures: Figures,
    pub verification: VerifyRun,
    /// Set in the saved run once its report is recorded and announced: an invocation that finds
    /// it only removes the saved run (its removal failed before), so nothing is announced twice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recorded: bool,
}

impl VerifyReport {
    pub(super) fn new(header: RunHeader, job: &str) -> Self {
        let verification = VerifyRun::start(&header.run_id, &header.plan, job, header.started_at);
        VerifyReport {
            header,
            job: job.to_owned(),
            verdict: None,
            figures: Figures::default(),
            verification,
            recorded: false,
        }
    }

    pub(super) fn update(&mut self, run: VerifyRun) {
        self.figures = Figures::of(&run);
        self.verdict = run.verdict;
        self.verification = run;
    }

    fn checks_passed(&self) -> usize {
        self.verification.checks.iter().filter(|c| c.passed).count()
    }

    fn checks_failed(&self) -> usize {
        self.verification.checks.len() - self.checks_passed()
    }
}

/// A time for people: RFC 3339, to the second.
pub(super) fn rfc3339_seconds(at: OffsetDateTime) -> String {
    crate::clock::rfc3339(at.replace_nanosecond(0).unwrap_or(at))
}

fn seconds(s: Option<i64>) -> String {
    s.map_or("not measured".to_owned(), |s| {
        format!("{s} s ({})", crate::clock::age_in_words(s))
    })
}

/// A table cell: one line, no `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Report for VerifyReport {
    fn header(&self) -> &RunHeader {
        &self.header
    }

    fn to_markdown(&self) -> String {
        let mut md = self.header.markdown_head("Restore verification");
        md += &self.markdown_what();
        md += &self.markdown_figures();
        md += &self.markdown_steps();
        md += &self.markdown_checks();
        md
    }

    fn to_html(&self) -> String {
        self.page()
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "job": self.job,
            "verdict": self.verdict,
            "failure": self.verification.failure,
            "figures": self.figures,
            "checks_passed": self.checks_passed(),
            "checks_failed": self.checks_failed(),
        })
    }

    fn metrics(&self) -> Vec<MetricSet> {
        // Per job, and rolled up per plan for the template's alarms.
        let mut set = MetricSet::new(&[
            ("Plan", &self.header.plan),
            ("Task", TASK),
            ("Job", &self.job),
        ])
        .also_by(&["Plan", "Task"]);
        if let Some(s) = self.figures.restore_seconds {
            set = set.with("RestoreSeconds", s as f64, Unit::Seconds);
        }
        if let Some(s) = self.figures.data_age_seconds {
            set = set.with("DataAgeSeconds", s as f64, Unit::Seconds);
        }
        let verified = self.verdict == Some(Verdict::Verified);
        vec![
            set.with("ChecksPassed", self.checks_passed() as f64, Unit::Count)
                .with("ChecksFailed", self.checks_failed() as f64, Unit::Count)
                .with(
                    "VerificationsFailed",
                    f64::from(u8::from(!verified)),
                    Unit::Count,
                )
                .with(
                    "VerificationsSucceeded",
                    f64::from(u8::from(verified)),
                    Unit::Count,
                ),
        ]
    }
}

impl VerifyReport {
    /// The job, the verdict, the restore test and the copy.
    fn markdown_what(&self) -> String {
        let run = &self.verification;
        let mut md = format!("- Job: `{}`\n", self.job);
        md += &format!(
            "- Verdict: {}\n",
            match (self.verdict, &run.failure) {
                (Some(Verdict::Verified), _) => "**verified**".to_owned(),
                (Some(Verdict::Failed), Some(why)) => format!("**failed**: {}", cell(why)),
                (Some(Verdict::Failed), None) => "**failed**".to_owned(),
                (None, _) => "in progress".to_owned(),
            }
        );
        if let Some(test) = &run.restore_test {
            md += &format!(
                "- AWS Backup restore test: job `{}` of `{}`, restored `{}`; answered: {}\n",
                test.restore_job_id,
                test.restore_testing_plan_arn,
                test.created_resource_arn,
                test.answered.as_deref().unwrap_or("not yet")
            );
        }
        if let Some(copy) = &run.copy {
            md += &format!(
                "- Copy: `{}` of `{}` ({}){}\n",
                copy.id,
                copy.source_db,
                copy.engine,
                copy.taken_at
                    .map_or(String::new(), |t| format!(", taken {}", rfc3339_seconds(t)))
            );
        }
        md
    }

    fn markdown_figures(&self) -> String {
        let mut md = "\n## Figures\n\n".to_owned();
        md += &format!(
            "- Restore duration: {}\n",
            seconds(self.figures.restore_seconds)
        );
        md += &format!(
            "- Data age now: {}\n",
            seconds(self.figures.data_age_seconds)
        );
        md += &format!(
            "- Data age at the snapshot: {}\n",
            seconds(self.figures.data_age_at_snapshot_seconds)
        );
        md
    }

    fn markdown_steps(&self) -> String {
        let mut md =
            "\n## Steps\n\n| Time | Step | Result | Detail |\n|---|---|---|---|\n".to_owned();
        for step in &self.verification.steps {
            md += &format!(
                "| {} | {} | {} | {} |\n",
                rfc3339_seconds(step.at),
                step.step,
                if step.ok { "ok" } else { "failed" },
                cell(&step.detail)
            );
        }
        md
    }

    fn markdown_checks(&self) -> String {
        let checks = &self.verification.checks;
        let mut md = "\n## Checks\n\n".to_owned();
        if checks.is_empty() {
            md += "No SQL check ran.\n";
            return md;
        }
        md += "| Check | Result | Detail |\n|---|---|---|\n";
        for check in checks {
            md += &format!(
                "| `{}` | {} | {} |\n",
                cell(&check.sql),
                if check.passed { "passed" } else { "failed" },
                cell(&check.detail)
            );
        }
        md
    }
}

/// What to do about a failed restore (or a restore that never became available).
const RESTORE_ADVICE: &str = "check the job's subnet_group, instance_class and the copy's KMS key in \
     the recovery Region; `lifeboat verify --name JOB` tries again";

/// What to do when the sweep or the end of a run failed.
const LEFTOVERS_ADVICE: &str = "something the run created may be left: look for DB instances and \
     clusters named lifeboat-verify-* in the recovery Region; the next run sweeps them";

impl VerifyReport {
    /// The run's page: the verdict, the figures, what was restored, the steps in time, the
    /// checks, and what failed with what to do next.
    fn page(&self) -> String {
        let verdict = match self.verdict {
            Some(Verdict::Verified) => ("verified", Tone::Good),
            Some(Verdict::Failed) => ("failed", Tone::Bad),
            None => ("in progress", Tone::Neutral),
        };
        let header = html::run_header(
            "Restore verification",
            &self.header,
            Some(verdict),
            vec![("Job", Html::code(&self.job))],
        );
        let events: Vec<Event> = self.verification.steps.iter().map(event).collect();
        html::page(
            &format!("Restore verification — {} — {}", self.header.plan, self.job),
            &[
                header,
                section("Figures", self.figures_html()),
                section(
                    "What was restored",
                    html::table(
                        &["", ""],
                        &self.restored_rows(),
                        "Nothing was restored yet.",
                    ),
                ),
                section("Timeline", html::timeline(&events)),
                section(
                    "Checks",
                    html::table(
                        &["Check", "Result", "Detail", "Value"],
                        &self.check_rows(),
                        "No SQL check ran.",
                    ),
                ),
                section(
                    "Errors and what to do next",
                    html::problems(&self.problems()),
                ),
            ],
        )
    }

    fn figures_html(&self) -> Html {
        let measured = |s: Option<i64>| s.map_or("not measured".to_owned(), span);
        let checks = &self.verification.checks;
        html::figures(&[
            Figure::new(
                "Restore time",
                measured(self.figures.restore_seconds),
                self.figures
                    .restore_seconds
                    .map_or(String::new(), |s| format!("{s} s, requested → available")),
            ),
            Figure::new(
                "Data age",
                measured(self.figures.data_age_seconds),
                self.figures.data_age_seconds.map_or(String::new(), |s| {
                    format!("{s} s: the RPO a failover then would have given")
                }),
            ),
            Figure::new(
                "Data age at the snapshot",
                measured(self.figures.data_age_at_snapshot_seconds),
                self.figures
                    .data_age_at_snapshot_seconds
                    .map_or(String::new(), |s| {
                        format!("{s} s when the copy's snapshot was taken")
                    }),
            ),
            Figure::new(
                "Checks passed",
                format!("{} of {}", self.checks_passed(), checks.len()),
                "the plan's SQL checks",
            )
            .tone(Tone::of_ok(self.checks_failed() == 0 && !checks.is_empty())),
        ])
    }

    /// The copy restored, what the run created, and the restore test it validates.
    fn restored_rows(&self) -> Vec<Vec<Html>> {
        let run = &self.verification;
        let mut restored: Vec<Vec<Html>> = Vec::new();
        if let Some(copy) = &run.copy {
            restored.push(vec![
                Html::text("Copy restored"),
                Html::raw(format!(
                    "{} of {} ({}){}",
                    Html::code(&copy.id),
                    Html::code(&copy.source_db),
                    html::escape(&copy.engine),
                    copy.taken_at
                        .map_or(String::new(), |t| format!(", taken {}", html::time_of(t)))
                )),
            ]);
        }
        for (what, id) in [
            ("Cluster created", &run.created.cluster),
            ("Instance created", &run.created.instance),
        ] {
            if let Some(id) = id {
                restored.push(vec![
                    Html::text(what),
                    Html::raw(format!("{} (deleted by the run)", Html::code(id))),
                ]);
            }
        }
        if let Some(test) = &run.restore_test {
            restored.push(vec![
                Html::text("AWS Backup restore test"),
                Html::raw(format!(
                    "job {} of {}, restored {}; answered: {}",
                    Html::code(&test.restore_job_id),
                    Html::code(&test.restore_testing_plan_arn),
                    Html::code(&test.created_resource_arn),
                    html::escape(test.answered.as_deref().unwrap_or("not yet"))
                )),
            ]);
        }
        restored
    }

    fn check_rows(&self) -> Vec<Vec<Html>> {
        self.verification
            .checks
            .iter()
            .map(|c| {
                vec![
                    Html::code(&c.sql),
                    if c.passed {
                        badge("passed", Tone::Good)
                    } else {
                        badge("failed", Tone::Bad)
                    },
                    Html::text(&c.detail),
                    Html::text(&c.value.map_or_else(
                        || {
                            c.data_age_seconds
                                .map_or("-".into(), |s| format!("data age {}", span(s)))
                        },
                        |v| v.to_string(),
                    )),
                ]
            })
            .collect()
    }

    /// Each failed check, then each failed step, with what to do next; the run's failure when
    /// neither says it.
    fn problems(&self) -> Vec<Problem> {
        let run = &self.verification;
        let mut problems: Vec<Problem> = run
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| {
                Problem::new(
                    format!("check failed: {}", c.sql),
                    format!("it returned: {}", c.detail),
                    html::next_step(&c.detail).or(Some(format!(
                        "run `{}` on the source database: if it returns the same, the data or the \
                         check's expectation in [[verify.checks]] of job {} is wrong; if not, the \
                         copy is older or incomplete (look at the copy lag)",
                        c.sql, self.job
                    ))),
                )
            })
            .collect();
        let failed_steps = run.steps.iter().filter(|s| !s.ok);
        problems.extend(failed_steps.filter_map(|s| self.step_problem(s)));
        if problems.is_empty()
            && let Some(why) = &run.failure
        {
            problems.push(Problem::new("the run failed", why.clone(), None));
        }
        problems
    }

    /// A failed step as the page lists it; `None` for the checks, each failed check being listed
    /// on its own.
    fn step_problem(&self, step: &StepRecord) -> Option<Problem> {
        let kept_or_read = html::next_step_of(step.error.as_ref(), &step.detail);
        let or_advice = |advice: String| kept_or_read.clone().or(Some(advice));
        let next = match step.step {
            StepKind::Checks => return None,
            StepKind::Restore | StepKind::Wait => {
                or_advice(RESTORE_ADVICE.replace("JOB", &self.job))
            }
            StepKind::Sweep | StepKind::Finish => or_advice(LEFTOVERS_ADVICE.to_owned()),
            StepKind::Choose
            | StepKind::RestoreTest
            | StepKind::Tag
            | StepKind::AddInstance
            | StepKind::Available
            | StepKind::Password
            | StepKind::Delete
            | StepKind::Validation => kept_or_read.clone(),
        };
        Some(Problem::new(
            format!("step {} failed", step.step),
            step.detail.clone(),
            next,
        ))
    }
}

/// A step on the page's timeline.
fn event(step: &StepRecord) -> Event {
    Event {
        at: step.at,
        what: step.step.to_string(),
        ok: step.ok,
        detail: step.detail.clone(),
        call: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RunOutcome;
    use crate::verify::checks::CheckResult;
    use crate::verify::run::Phase;
    use time::macros::datetime;

    fn failed_report() -> VerifyReport {
        let at = datetime!(2026-11-26 07:00 UTC);
        let header = RunHeader {
            run_id: "20261126T070000Z-0f3a9c2e".into(),
            task: TASK.into(),
            plan: "tracking".into(),
            trigger: "schedule".into(),
            dry_run: false,
            started_at: at,
            finished_at: None,
            outcome: None,
        };
        let mut report = VerifyReport::new(header, "weekly");
        let mut run = report.verification.clone();
        run.restore_requested_at = Some(at);
        run.available_at = Some(at + time::Duration::seconds(600));
        run.step(StepKind::Restore, at, true, "restoring a as b");
        run.checks = vec![
            CheckResult {
                sql: "SELECT count(*) FROM parcels".into(),
                passed: false,
                detail: "found 3, expected >= 1000".into(),
                value: Some(3.0),
                newest_data: None,
                data_age_seconds: None,
                data_age_at_snapshot_seconds: None,
            },
            CheckResult {
                sql: "SELECT max(updated_at) FROM parcels".into(),
                passed: true,
                detail: "2 h old".into(),
                value: None,
                newest_data: Some(at),
                data_age_seconds: Some(7200),
                data_age_at_snapshot_seconds: Some(3600),
            },
        ];
        run.fail(
            StepKind::Checks,
            at,
            "1 of 2 checks failed | SELECT count(*)",
        );
        run.verdict = Some(Verdict::Failed);
        run.phase = Phase::Finished;
        report.update(run);
        report.header = report.header.clone().finish(RunOutcome::Failed);
        report
    }

    #[test]
    fn a_failed_verification_has_its_figures_metrics_and_markdown() {
        let report = failed_report();
        assert_eq!(
            report.figures,
            Figures {
                restore_seconds: Some(600),
                data_age_seconds: Some(7200),
                data_age_at_snapshot_seconds: Some(3600),
            }
        );
        let metrics = report.metrics();
        assert_eq!(metrics.len(), 1);
        let set = &metrics[0];
        let dims: Vec<(&str, &str)> = set
            .dimensions
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            dims,
            [
                ("Plan", "tracking"),
                ("Task", "verify-restore"),
                ("Job", "weekly")
            ]
        );
        let values: Vec<(&str, f64)> = set
            .values
            .iter()
            .map(|(n, v, _)| (n.as_str(), *v))
            .collect();
        assert_eq!(
            values,
            [
                ("RestoreSeconds", 600.0),
                ("DataAgeSeconds", 7200.0),
                ("ChecksPassed", 1.0),
                ("ChecksFailed", 1.0),
                ("VerificationsFailed", 1.0),
                ("VerificationsSucceeded", 0.0)
            ]
        );
        assert_eq!(set.rollups, [vec!["Plan".to_owned(), "Task".to_owned()]]);
        let md = report.to_markdown();
        for part in [
            "# Restore verification — tracking — failed",
            "- Verdict: **failed**: 1 of 2 checks failed \\| SELECT count(*)",
            "- Restore duration: 600 s",
            "- Data age now: 7200 s",
            "- Data age at the snapshot: 3600 s",
            "| 2026-11-26T07:00:00Z | restore | ok | restoring a as b |",
            "| `SELECT count(*) FROM parcels` | failed | found 3, expected >= 1000 |",
        ] {
            assert!(md.contains(part), "{part}:\n{md}");
        }
        assert_eq!(report.summary()["verdict"], "failed");
        assert_eq!(report.summary()["checks_failed"], 1);
    }

    #[test]
    fn a_failed_verifications_page_has_its_verdict_figures_and_failed_check() {
        let html = failed_report().to_html();
        for part in [
            "<title>Restore verification — tracking — weekly</title>",
            "<span class=\"badge bad\">failed</span>",
            "<div class=\"value\">10 min</div><div class=\"note\">600 s, requested → available",
            "<div class=\"value\">2 h</div><div class=\"note\">7200 s: the RPO",
            "<div class=\"value\">1 h</div><div class=\"note\">3600 s when the copy",
            "1 of 2</div>",
            "check failed: SELECT count(*) FROM parcels",
            "it returned: found 3, expected &gt;= 1000",
            "run `SELECT count(*) FROM parcels` on the source database",
            "2026-11-26T07:00:00Z (+0 s)",
        ] {
            assert!(html.contains(part), "{part}:\n{html}");
        }
    }

    /// A saved run as the code before step kinds were an enum wrote it (`serde_json::
    /// to_string_pretty` of a `VerifyReport`, as `store::save` does), with one step of each kind.
    const SAVED_RUN: &str = r#"{
  "run_id": "20261126T070000Z-0f3a9c2e",
  "task": "verify-restore",
  "plan": "tracking",
  "trigger": "schedule",
  "dry_run": false,
  "started_at": "2026-11-26T07:00:00Z",
  "finished_at": "2026-12-02T10:59:03.879241894Z",
  "outcome": "failed",
  "job": "weekly",
  "verdict": "failed",
  "figures": {
    "restore_seconds": 900,
    "data_age_seconds": 7200,
    "data_age_at_snapshot_seconds": 3600
  },
  "verification": {
    "run_id": "20261126T070000Z-0f3a9c2e",
    "plan": "tracking",
    "job": "weekly",
    "phase": "finished",
    "started_at": "2026-11-26T07:00:00Z",
    "copy": {
      "kind": "recovery-point",
      "id": "arn:aws:rds:us-east-2:111122223333:snapshot:awsbackup:job-1",
      "source_db": "orders",
      "engine": "postgres",
      "taken_at": "2026-11-26T04:00:00Z"
    },
    "created": {
      "instance": "lifeboat-verify-weekly-0f3a9c2e"
    },
    "restore_requested_at": "2026-11-26T07:00:00Z",
    "available_at": "2026-11-26T07:10:00Z",
    "checks": [
      {
        "sql": "SELECT max(updated_at) FROM parcels",
        "passed": true,
        "detail": "2 h old",
        "newest_data": "2026-11-26T07:00:00Z",
        "data_age_seconds": 7200,
        "data_age_at_snapshot_seconds": 3600
      }
    ],
    "steps": [
      {
        "step": "sweep",
        "at": "2026-11-26T07:00:00Z",
        "ok": true,
        "detail": "the sweep step"
      },
      {
        "step": "choose",
        "at": "2026-11-26T07:00:01Z",
        "ok": false,
        "detail": "the choose step"
      },
      {
        "step": "restore",
        "at": "2026-11-26T07:00:02Z",
        "ok": true,
        "detail": "the restore step"
      },
      {
        "step": "restore-test",
        "at": "2026-11-26T07:00:03Z",
        "ok": false,
        "detail": "the restore-test step"
      },
      {
        "step": "tag",
        "at": "2026-11-26T07:00:04Z",
        "ok": true,
        "detail": "the tag step"
      },
      {
        "step": "add-instance",
        "at": "2026-11-26T07:00:05Z",
        "ok": false,
        "detail": "the add-instance step"
      },
      {
        "step": "wait",
        "at": "2026-11-26T07:00:06Z",
        "ok": true,
        "detail": "the wait step"
      },
      {
        "step": "available",
        "at": "2026-11-26T07:00:07Z",
        "ok": false,
        "detail": "the available step"
      },
      {
        "step": "password",
        "at": "2026-11-26T07:00:08Z",
        "ok": true,
        "detail": "the password step"
      },
      {
        "step": "checks",
        "at": "2026-11-26T07:00:09Z",
        "ok": false,
        "detail": "the checks step"
      },
      {
        "step": "delete",
        "at": "2026-11-26T07:00:10Z",
        "ok": true,
        "detail": "the delete step"
      },
      {
        "step": "validation",
        "at": "2026-11-26T07:00:11Z",
        "ok": false,
        "detail": "the validation step"
      },
      {
        "step": "finish",
        "at": "2026-11-26T07:00:12Z",
        "ok": true,
        "detail": "the finish step"
      }
    ],
    "backup_restore": {
      "restore_job_id": "r-1",
      "tagged": true
    },
    "restore_test": {
      "restore_job_id": "r-1",
      "restore_testing_plan_arn": "arn:aws:backup:us-east-2:111122223333:restore-testing-plan:tracking_daily-8b0e",
      "created_resource_arn": "arn:aws:rds:us-east-2:111122223333:db:awsbackup-restore-test-orders",
      "made_by_backup": {},
      "restore_started_at": "2026-11-26T07:00:00Z",
      "restore_completed_at": "2026-11-26T07:15:00Z",
      "answered": "SUCCESSFUL"
    },
    "failure": "why",
    "verdict": "failed"
  },
  "recorded": true
}"#;

    #[test]
    fn a_saved_run_with_every_step_kind_loads_and_saves_byte_for_byte() {
        let report: VerifyReport = serde_json::from_str(SAVED_RUN).unwrap();
        let kinds: Vec<StepKind> = report.verification.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Sweep,
                StepKind::Choose,
                StepKind::Restore,
                StepKind::RestoreTest,
                StepKind::Tag,
                StepKind::AddInstance,
                StepKind::Wait,
                StepKind::Available,
                StepKind::Password,
                StepKind::Checks,
                StepKind::Delete,
                StepKind::Validation,
                StepKind::Finish,
            ]
        );
        for step in &report.verification.steps {
            assert_eq!(serde_json::to_value(step.step).unwrap(), step.step.as_str());
            assert_eq!(step.detail, format!("the {} step", step.step));
        }
        assert_eq!(serde_json::to_string_pretty(&report).unwrap(), SAVED_RUN);
    }
}
