//! How a backup copy run reads: Markdown for people, a summary for the run event, EMF metrics.

use std::fmt::Write;

use super::{BackupReport, Outcome};
use crate::copy::report::age_in_words;
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
