//! How a copy run reads: Markdown for people, a summary for the run event, EMF metrics.

use std::fmt::Write;

use super::{CopyReport, Failure, Outcome};
use crate::metrics::{MetricSet, Unit};
use crate::record::{Report, RunHeader, counts_in_words};

impl Report for CopyReport {
    fn header(&self) -> &RunHeader {
        &self.run
    }

    fn to_markdown(&self) -> String {
        let mut md = self.run.markdown_head("Snapshot copy");
        let _ = writeln!(md, "- Before this run: {}", self.slots_in_words());
        let _ = writeln!(md, "- Items: {}\n", counts_in_words(&self.counts()));

        if !self.copy_lag.is_empty() {
            let _ = writeln!(
                md,
                "## Copy lag\n\n| Database | Newest copy | Data taken at | Lag |\n|---|---|---|---|"
            );
            for lag in &self.copy_lag {
                let _ = writeln!(
                    md,
                    "| {} {} | {} | {} | {} |",
                    lag.kind,
                    lag.db,
                    lag.newest_copy.as_deref().unwrap_or("**none**"),
                    lag.data_taken_at.map_or("-".into(), rfc3339),
                    lag.lag_seconds
                        .map_or("**no copy yet**".into(), age_in_words)
                );
            }
            md.push('\n');
        }
        if !self.items.is_empty() {
            let _ = writeln!(
                md,
                "## Items\n\n| Outcome | Database | Source snapshot | Copy | Detail |\n|---|---|---|---|---|"
            );
            for item in &self.items {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    item.outcome,
                    item.db,
                    item.source_snapshot.as_deref().unwrap_or("-"),
                    item.target.as_deref().unwrap_or("-"),
                    item.detail.replace('|', "\\|")
                );
            }
        }
        md
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "copies_started": self.count(Outcome::Started),
            "copies_skipped": self.count(Outcome::AlreadyCopied) + self.count(Outcome::CopyInProgress),
            "copies_deferred": self.count(Outcome::Deferred),
            "copies_failed": self.failures(Failure::Copy),
            "copies_pruned": self.count(Outcome::Pruned),
            "prunes_failed": self.failures(Failure::Prune),
            "copy_lag_seconds": self.copy_lag.iter().map(|l| (l.db.clone(), l.lag_seconds)).collect::<std::collections::BTreeMap<_, _>>(),
        })
    }

    /// The run's metrics: counts per run, and the copy lag of each database.
    fn metrics(&self) -> Vec<MetricSet> {
        let plan = self.run.plan.as_str();
        let count =
            |outcomes: &[Outcome]| outcomes.iter().map(|o| self.count(*o)).sum::<usize>() as f64;
        let mut sets = vec![
            MetricSet::new(&[("Plan", plan), ("Task", "copy-snapshots")])
                .with("CopiesStarted", count(&[Outcome::Started]), Unit::Count)
                .with(
                    "CopiesSkipped",
                    count(&[Outcome::AlreadyCopied, Outcome::CopyInProgress]),
                    Unit::Count,
                )
                .with("CopiesDeferred", count(&[Outcome::Deferred]), Unit::Count)
                .with(
                    "CopiesFailed",
                    self.failures(Failure::Copy) as f64,
                    Unit::Count,
                )
                .with("CopiesPruned", count(&[Outcome::Pruned]), Unit::Count)
                .with(
                    "PrunesFailed",
                    self.failures(Failure::Prune) as f64,
                    Unit::Count,
                ),
        ];
        // Each database's lag is also published under the plan alone, so the Maximum of
        // `CopyLagSeconds{Plan}` is the worst database's: one alarm watches every database
        // without the template naming them. A DB with no copy at all publishes no lag (alarm on
        // missing data as breaching); its failed items count in `CopiesFailed`.
        for lag in &self.copy_lag {
            if let Some(seconds) = lag.lag_seconds {
                sets.push(
                    MetricSet::new(&[("Plan", plan), ("Database", &lag.db)])
                        .also_by(&["Plan"])
                        .with("CopyLagSeconds", seconds as f64, Unit::Seconds),
                );
            }
        }
        sets
    }
}

impl CopyReport {
    /// The recovery Region's room as the run found it, in one line.
    pub fn slots_in_words(&self) -> String {
        let (i, c) = (&self.slots.instance, &self.slots.cluster);
        format!(
            "copies in flight {}/{} DB snapshot, {}/{} cluster snapshot; manual snapshots held {}/{} DB, {}/{} cluster",
            i.copies_in_flight,
            i.copy_limit,
            c.copies_in_flight,
            c.copy_limit,
            i.manual_snapshots,
            i.manual_limit,
            c.manual_snapshots,
            c.manual_limit
        )
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An age in seconds as people write it (`3h 12m 5s`), for reports and the CLI.
pub fn age_in_words(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}
