//! The report of a verification run: the verdict, the measured figures, every step and check;
//! as JSON (the record), Markdown (for people) and EMF metrics.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::VERIFY_RESTORE;
use crate::html::{self, Event, Figure, Html, Problem, Tone, badge, section, span};
use crate::metrics::{MetricSet, Unit};
use crate::record::{Report, RunHeader};
use crate::verify::run::{Verdict, VerifyRun};

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
    #[serde(flatten)]
    pub run: RunHeader,
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
            run: header,
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
pub(super) fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
        &self.run
    }

    fn to_markdown(&self) -> String {
        let run = &self.verification;
        let mut md = self.run.markdown_head("Restore verification");
        md += &format!("- Job: `{}`\n", self.job);
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
                    .map_or(String::new(), |t| format!(", taken {}", rfc3339(t)))
            );
        }
        md += "\n## Figures\n\n";
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
        md += "\n## Steps\n\n| Time | Step | Result | Detail |\n|---|---|---|---|\n";
        for step in &run.steps {
            md += &format!(
                "| {} | {} | {} | {} |\n",
                rfc3339(step.at),
                step.step,
                if step.ok { "ok" } else { "failed" },
                cell(&step.detail)
            );
        }
        md += "\n## Checks\n\n";
        if run.checks.is_empty() {
            md += "No SQL check ran.\n";
        } else {
            md += "| Check | Result | Detail |\n|---|---|---|\n";
            for check in &run.checks {
                md += &format!(
                    "| `{}` | {} | {} |\n",
                    cell(&check.sql),
                    if check.passed { "passed" } else { "failed" },
                    cell(&check.detail)
                );
            }
        }
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
            ("Plan", &self.run.plan),
            ("Task", VERIFY_RESTORE),
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
    /// The run's page: the verdict, the figures, what was restored, the steps in time, the
    /// checks, and what failed with what to do next.
    fn page(&self) -> String {
        let run = &self.verification;
        let verdict = match self.verdict {
            Some(Verdict::Verified) => ("verified", Tone::Good),
            Some(Verdict::Failed) => ("failed", Tone::Bad),
            None => ("in progress", Tone::Neutral),
        };
        let measured = |s: Option<i64>| s.map_or("not measured".to_owned(), span);
        let passed = self.checks_passed();
        let figures = html::figures(&[
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
                format!("{passed} of {}", run.checks.len()),
                "the plan's SQL checks",
            )
            .tone(Tone::of_ok(
                self.checks_failed() == 0 && !run.checks.is_empty(),
            )),
        ]);
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
        let events: Vec<Event> = run
            .steps
            .iter()
            .map(|s| Event {
                at: s.at,
                what: s.step.clone(),
                ok: s.ok,
                detail: s.detail.clone(),
                call: None,
            })
            .collect();
        let check_rows: Vec<Vec<Html>> = run
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
            .collect();
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
        for step in run.steps.iter().filter(|s| !s.ok && s.step != "checks") {
            let next = match step.step.as_str() {
                "restore" | "wait" => html::next_step(&step.detail).or(Some(
                    "check the job's subnet_group, instance_class and the copy's KMS key in the \
                     recovery Region; `lifeboat verify --name JOB` tries again"
                        .replace("JOB", &self.job),
                )),
                "sweep" | "finish" => html::next_step(&step.detail).or(Some(
                    "something the run created may be left: look for DB instances and clusters \
                     named lifeboat-verify-* in the recovery Region; the next run sweeps them"
                        .to_owned(),
                )),
                _ => None,
            };
            problems.push(Problem::new(
                format!("step {} failed", step.step),
                step.detail.clone(),
                next,
            ));
        }
        if problems.is_empty()
            && let Some(why) = &run.failure
        {
            problems.push(Problem::new("the run failed", why.clone(), None));
        }
        let header = html::run_header(
            "Restore verification",
            &self.run,
            Some(verdict),
            vec![("Job", Html::code(&self.job))],
        );
        html::page(
            &format!("Restore verification — {} — {}", self.run.plan, self.job),
            &[
                header,
                section("Figures", figures),
                section(
                    "What was restored",
                    html::table(&["", ""], &restored, "Nothing was restored yet."),
                ),
                section("Timeline", html::timeline(&events)),
                section(
                    "Checks",
                    html::table(
                        &["Check", "Result", "Detail", "Value"],
                        &check_rows,
                        "No SQL check ran.",
                    ),
                ),
                section("Errors and what to do next", html::problems(&problems)),
            ],
        )
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
            task: VERIFY_RESTORE.into(),
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
        run.step("restore", at, true, "restoring a as b");
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
        run.fail("checks", at, "1 of 2 checks failed | SELECT count(*)");
        run.verdict = Some(Verdict::Failed);
        run.phase = Phase::Finished;
        report.update(run);
        report.run = report.run.clone().finish(RunOutcome::Failed);
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
}
