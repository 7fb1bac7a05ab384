//! How a backup copy run reads: Markdown for people, a summary for the run event, EMF metrics.

use std::fmt::Write;

use super::model::blames_the_role;
use super::{BackupReport, Item, MAX_ATTEMPTS, Outcome};
use crate::clock::age_in_words;
use crate::html::{self, Bar, Figure, Html, Problem, Tone, badge, section};
use crate::metrics::{MetricSet, Unit};
use crate::record::{Report, RunHeader, counts_in_words};

impl Report for BackupReport {
    fn header(&self) -> &RunHeader {
        &self.run
    }

    fn to_markdown(&self) -> String {
        let mut md = self.run.markdown_head("AWS Backup copy");
        let _ = writeln!(
            md,
            "- Before this run: copy jobs in flight {}/{}",
            self.slots.in_flight, self.slots.limit
        );
        let _ = writeln!(md, "- Items: {}\n", counts_in_words(&self.counts()));

        let _ = writeln!(md, "## Copy lag\n");
        let _ = writeln!(
            md,
            "| Resource | Type | Newest copied recovery point | Lag |"
        );
        let _ = writeln!(md, "|---|---|---|---|");
        for lag in &self.lag {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                lag.resource,
                lag.resource_type,
                lag.newest_copied.as_deref().unwrap_or("**none**"),
                lag.lag_seconds
                    .map_or("**no copy yet**".to_owned(), age_in_words)
            );
        }
        let _ = writeln!(md, "\n## Items\n");
        let _ = writeln!(
            md,
            "| Outcome | Entry | Resource | Recovery point | Copy job | Detail |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for item in &self.items {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                item.outcome,
                item.entry,
                item.resource.as_deref().unwrap_or("-"),
                item.recovery_point.as_deref().unwrap_or("-"),
                item.job.as_deref().unwrap_or("-"),
                item.detail.replace('|', "\\|")
            );
        }
        md
    }

    fn to_html(&self) -> String {
        self.page()
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "copy_jobs_started": self.count(Outcome::Started),
            "copy_jobs_in_flight": self.count(Outcome::InFlight),
            "already_copied": self.count(Outcome::AlreadyCopied),
            "copy_jobs_deferred": self.count(Outcome::Deferred),
            "copy_jobs_failed": self.failures(),
            "backup_copy_lag_seconds": self.lag.iter().map(|l| (l.resource.clone(), l.lag_seconds)).collect::<std::collections::BTreeMap<_, _>>(),
        })
    }

    /// Counts per run, and per protected resource the age of the data in its newest copied
    /// recovery point (also under the plan alone, so one alarm on the Maximum watches them all).
    fn metrics(&self) -> Vec<MetricSet> {
        let plan = self.run.plan.as_str();
        let mut sets = vec![
            MetricSet::new(&[("Plan", plan), ("Task", super::TASK)])
                .with(
                    "CopyJobsStarted",
                    self.count(Outcome::Started) as f64,
                    Unit::Count,
                )
                .with("CopyJobsFailed", self.failures() as f64, Unit::Count)
                .with(
                    "CopyJobsDeferred",
                    self.count(Outcome::Deferred) as f64,
                    Unit::Count,
                ),
        ];
        for lag in &self.lag {
            if let Some(seconds) = lag.lag_seconds {
                sets.push(
                    MetricSet::new(&[("Plan", plan), ("Resource", &lag.resource)])
                        .also_by(&["Plan"])
                        .with("BackupCopyLagSeconds", seconds as f64, Unit::Seconds),
                );
            }
        }
        sets
    }
}

impl BackupReport {
    /// The run's page: header, figures, the copy lag of each protected resource, every item, and
    /// the failures with what to do next.
    fn page(&self) -> String {
        html::page(
            &format!("AWS Backup copy — {}", self.run.plan),
            &[
                html::run_header("AWS Backup copy", &self.run, None, Vec::new()),
                section("Figures", html::figures(&self.figures())),
                section("Copy lag per protected resource", self.lag_section()),
                section(
                    "Errors and what to do next",
                    html::problems(&self.problems()),
                ),
                section("Items", self.items_table()),
            ],
        )
    }

    /// The worst copy lag, then the items counted by what they came to.
    fn figures(&self) -> [Figure; 5] {
        let failed = self.failures();
        [
            html::worst_lag(self.lag.iter().map(|l| l.lag_seconds)),
            Figure::new(
                "Copy jobs started",
                (self.count(Outcome::Started) + self.count(Outcome::WouldStart)).to_string(),
                format!(
                    "{} in flight before this run, of {}",
                    self.slots.in_flight, self.slots.limit
                ),
            ),
            Figure::new(
                "Already copied",
                self.count(Outcome::AlreadyCopied).to_string(),
                format!("{} more under way", self.count(Outcome::InFlight)),
            ),
            Figure::new(
                "Deferred",
                self.count(Outcome::Deferred).to_string(),
                "no copy job place free; the next run starts them",
            ),
            Figure::new("Failed", failed.to_string(), "refused, failed or stuck")
                .tone(if failed == 0 { Tone::Good } else { Tone::Bad }),
        ]
    }

    /// A bar per protected resource, then the table of its newest copied recovery point.
    fn lag_section(&self) -> Html {
        let bars: Vec<Bar> = self
            .lag
            .iter()
            .map(|l| Bar {
                label: format!("{} {}", l.resource_type, short_arn(&l.resource)),
                seconds: l.lag_seconds,
                tone: Tone::Neutral,
            })
            .collect();
        let rows: Vec<Vec<Html>> = self
            .lag
            .iter()
            .map(|l| {
                vec![
                    Html::code(&l.resource),
                    Html::text(&l.resource_type),
                    Html::code_or_dash(l.newest_copied.as_deref()),
                    html::time_cell(l.data_taken_at),
                    html::lag_cell(l.lag_seconds),
                ]
            })
            .collect();
        Html::raw(format!(
            "{}{}",
            html::bar_chart("Copy lag per protected resource", &bars),
            html::table(
                &[
                    "Resource",
                    "Type",
                    "Newest copied recovery point",
                    "Data taken at",
                    "Lag"
                ],
                &rows,
                "No recovery point of the plan's vaults is known yet.",
            )
        ))
    }

    /// Each failed item, and what to do about it.
    fn problems(&self) -> Vec<Problem> {
        self.items
            .iter()
            .filter(|i| i.outcome.is_failure())
            .map(|i| {
                let what = format!(
                    "{} — {}",
                    i.outcome,
                    i.resource.as_deref().unwrap_or(i.entry.as_str())
                );
                Problem::new(what, i.detail.clone(), next_step(i))
            })
            .collect()
    }

    fn items_table(&self) -> Html {
        let rows: Vec<Vec<Html>> = self
            .items
            .iter()
            .map(|i| {
                vec![
                    badge(&i.outcome.to_string(), outcome_tone(i.outcome)),
                    Html::text(&i.entry),
                    Html::code_or_dash(i.resource.as_deref()),
                    Html::code_or_dash(i.recovery_point.as_deref()),
                    Html::code_or_dash(i.job.as_deref()),
                    Html::text(&i.detail),
                ]
            })
            .collect();
        html::table(
            &[
                "Outcome",
                "Entry",
                "Resource",
                "Recovery point",
                "Copy job",
                "Detail",
            ],
            &rows,
            "Nothing to do.",
        )
    }
}

fn next_step(item: &Item) -> Option<String> {
    let job = item.job.as_deref().unwrap_or("JOB_ID");
    match item.outcome {
        Outcome::Stuck => Some(format!(
            "look at the job in the primary Region (`aws backup describe-copy-job \
             --copy-job-id {job}`), the destination vault's access policy and its KMS \
             key; AWS Backup ends or fails it, then the next run retries"
        )),
        Outcome::Refused => Some(
            "change the plan entry as the detail says (`lifeboat plan check`), or copy \
             this recovery point by hand"
                .to_owned(),
        ),
        _ if blames_the_role(&item.detail) => Some(format!(
            "fix the IAM role of {}.iam_role: it must exist, trust \
             backup.amazonaws.com, and Lifeboat must be allowed iam:PassRole on it",
            item.entry
        )),
        _ => html::next_step_of(item.error.as_ref(), &item.detail).or(Some(format!(
            "the next run starts a new copy job (up to {MAX_ATTEMPTS} in all); \
             `aws backup describe-copy-job --copy-job-id {job}` says why this one failed"
        ))),
    }
}

/// The last part of an ARN (`i-0abc`, `vol-0abc`), for chart labels.
fn short_arn(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn outcome_tone(outcome: Outcome) -> Tone {
    match outcome {
        Outcome::Refused | Outcome::Failed | Outcome::Stuck => Tone::Bad,
        Outcome::Deferred => Tone::Warn,
        Outcome::Started | Outcome::AlreadyCopied => Tone::Good,
        Outcome::WouldStart | Outcome::InFlight | Outcome::Ignored => Tone::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_copy_runs_page_names_the_stuck_job_and_what_to_do() {
        let report: BackupReport = serde_json::from_value(serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "copy-backups", "plan": "tracking",
            "trigger": "schedule", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "outcome": "failed", "slots": {"in_flight": 3, "limit": 100},
            "items": [
                {"entry": "copy.backup[0]", "resource": "arn:aws:ec2:us-west-2:1:volume/vol-1",
                 "recovery_point": "arn:aws:ec2:us-west-2::snapshot/snap-1", "job": "JOB-42",
                 "outcome": "stuck", "detail": "copy job JOB-42 has been RUNNING since …"}
            ],
            "lag": [
                {"resource": "arn:aws:ec2:us-west-2:1:volume/vol-1", "resource_type": "EBS",
                 "newest_copied": "arn:aws:ec2:us-east-2::snapshot/snap-0",
                 "data_taken_at": "2026-11-26T04:00:00Z", "lag_seconds": 10800}
            ]
        }))
        .unwrap();
        let html = report.to_html();
        for part in [
            "<span class=\"badge bad\">failed</span>",
            "3 in flight before this run, of 100",
            ">EBS vol-1</text>",
            "<td>3 h</td>",
            "stuck — arn:aws:ec2:us-west-2:1:volume/vol-1",
            "aws backup describe-copy-job --copy-job-id JOB-42",
        ] {
            assert!(html.contains(part), "{part}:\n{html}");
        }
    }
}
