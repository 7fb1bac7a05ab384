//! How a copy run reads: Markdown for people, a summary for the run event, EMF metrics.

use std::fmt::Write;

use super::{CopyReport, Failure, Item, Outcome};
use crate::clock::{age_in_words, rfc3339};
use crate::html::{self, Bar, Figure, Html, Problem, Tone, badge, section};
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

    fn to_html(&self) -> String {
        self.page()
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

impl CopyReport {
    /// The run's page: header, figures, the copy lag of each database (chart and table), every
    /// item, and the failures with what to do next.
    fn page(&self) -> String {
        html::page(
            &format!("Snapshot copy — {}", self.run.plan),
            &[
                html::run_header("Snapshot copy", &self.run, None, Vec::new()),
                section("Figures", html::figures(&self.figures())),
                section("Copy lag per database", self.lag_section()),
                section(
                    "Errors and what to do next",
                    html::problems(&self.problems()),
                ),
                section("Items", self.items_section()),
            ],
        )
    }

    /// The worst copy lag, then the items counted by what they came to.
    fn figures(&self) -> [Figure; 6] {
        let count = |outcomes: &[Outcome]| outcomes.iter().map(|o| self.count(*o)).sum::<usize>();
        let failed = self.failures(Failure::Copy) + self.failures(Failure::Prune);
        [
            html::worst_lag(self.copy_lag.iter().map(|l| l.lag_seconds)),
            Figure::new(
                "Copies started",
                count(&[Outcome::Started, Outcome::WouldStart]).to_string(),
                if self.run.dry_run {
                    "would start (dry run)"
                } else {
                    "finish in AWS's time"
                },
            ),
            Figure::new(
                "Already copied",
                count(&[Outcome::AlreadyCopied, Outcome::CopyInProgress]).to_string(),
                "or a copy under way",
            ),
            Figure::new(
                "Deferred",
                count(&[Outcome::Deferred]).to_string(),
                "no copy slot free; the next run copies them",
            ),
            Figure::new(
                "Pruned",
                count(&[Outcome::Pruned, Outcome::WouldPrune]).to_string(),
                "old copies deleted",
            ),
            Figure::new("Failed", failed.to_string(), "see below").tone(if failed == 0 {
                Tone::Good
            } else {
                Tone::Bad
            }),
        ]
    }

    /// A bar per database, then the table of its newest copy.
    fn lag_section(&self) -> Html {
        let bars: Vec<Bar> = self
            .copy_lag
            .iter()
            .map(|l| Bar {
                label: l.db.clone(),
                seconds: l.lag_seconds,
                tone: Tone::Neutral,
            })
            .collect();
        let rows: Vec<Vec<Html>> = self
            .copy_lag
            .iter()
            .map(|l| {
                vec![
                    Html::text(&format!("{} {}", l.kind, l.db)),
                    Html::code_or_dash(l.newest_copy.as_deref()),
                    html::time_cell(l.data_taken_at),
                    html::lag_cell(l.lag_seconds),
                ]
            })
            .collect();
        Html::raw(format!(
            "{}{}",
            html::bar_chart("Copy lag per database", &bars),
            html::table(
                &["Database", "Newest copy", "Data taken at", "Lag"],
                &rows,
                "The plan copies no database.",
            )
        ))
    }

    /// Each failed item, and what to do about it.
    fn problems(&self) -> Vec<Problem> {
        self.items
            .iter()
            .filter(|i| i.outcome.is_failure())
            .map(|i| {
                Problem::new(
                    format!("{} — {}", i.outcome, i.db),
                    i.detail.clone(),
                    next_step(i),
                )
            })
            .collect()
    }

    /// The room the run found, then every item.
    fn items_section(&self) -> Html {
        let rows: Vec<Vec<Html>> = self
            .items
            .iter()
            .map(|i| {
                vec![
                    badge(&i.outcome.to_string(), outcome_tone(i.outcome)),
                    Html::text(&i.db),
                    Html::code_or_dash(i.source_snapshot.as_deref()),
                    Html::code_or_dash(i.target.as_deref()),
                    Html::text(&i.detail),
                ]
            })
            .collect();
        Html::raw(format!(
            "<p>Before this run: {}.</p>{}",
            html::escape(&self.slots_in_words()),
            html::table(
                &["Outcome", "Database", "Source snapshot", "Copy", "Detail"],
                &rows,
                "Nothing to do.",
            )
        ))
    }
}

fn next_step(item: &Item) -> Option<String> {
    match item.outcome {
        Outcome::Refused => Some(
            "change the plan entry the detail names, check it with `lifeboat plan check`, \
             and run the copy again"
                .to_owned(),
        ),
        Outcome::PruneFailed => html::next_step_of(item.error.as_ref(), &item.detail).or(Some(
            "the old copy stays until a run can delete it; it still counts against the \
             manual snapshot quota"
                .to_owned(),
        )),
        _ => html::next_step_of(item.error.as_ref(), &item.detail),
    }
}

fn outcome_tone(outcome: Outcome) -> Tone {
    match outcome {
        Outcome::Refused | Outcome::Failed | Outcome::PruneFailed => Tone::Bad,
        Outcome::Deferred => Tone::Warn,
        Outcome::Started | Outcome::AlreadyCopied | Outcome::Pruned => Tone::Good,
        Outcome::WouldStart | Outcome::CopyInProgress | Outcome::WouldPrune | Outcome::Ignored => {
            Tone::Neutral
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_runs_page_has_its_lags_items_and_next_steps() {
        let report: CopyReport = serde_json::from_value(serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "copy-snapshots", "plan": "tracking",
            "trigger": "schedule", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "finished_at": "2026-11-26T07:00:04Z", "outcome": "partial",
            "slots": crate::copy::Slots::default(),
            "items": [
                {"db": "DB instance orders", "source_snapshot": "arn:aws:rds:us-west-2:1:snapshot:orders-1",
                 "target": "lifeboat-orders-1-aa", "outcome": "started", "detail": "encrypted with k"},
                {"db": "DB instance billing", "outcome": "failed",
                 "detail": "KMS key arn:aws:kms:us-east-2:1:key/abc cannot be used in us-east-2: KMSKeyNotAccessibleFault"},
                {"db": "DB instance <shop>", "outcome": "refused",
                 "detail": "copy.rds[2].kms_key: snapshot shop-1 is encrypted; set kms_key to a KMS key in us-east-2 to copy it"}
            ],
            "copy_lag": [
                {"db": "orders", "kind": "instance", "newest_copy": "lifeboat-orders-0-bb",
                 "data_taken_at": "2026-11-25T07:00:00Z", "lag_seconds": 90000},
                {"db": "billing", "kind": "instance", "lag_seconds": null}
            ]
        }))
        .unwrap();
        let html = report.to_html();
        for part in [
            "<span class=\"badge warn\">partial</span>",
            "DB instance orders</td><td><code>lifeboat-orders-0-bb</code></td><td>2026-11-25T07:00:00Z</td><td>1 days 1 h</td>",
            "<rect x=\"300\"",
            "<span class=\"badge bad\">no copy yet</span>",
            ">no copy</div>",
            "failed — DB instance billing",
            "check that the KMS key arn:aws:kms:us-east-2:1:key/abc exists in us-east-2",
            "refused — DB instance &lt;shop&gt;",
            "change the plan entry the detail names",
            "Took</dt><dd>4 s",
        ] {
            assert!(html.contains(part), "{part}:\n{html}");
        }
        assert!(!html.contains("<shop>"));
    }

    #[test]
    fn a_failed_items_next_step_is_the_one_its_error_kept_not_read_from_its_text() {
        let mut report: CopyReport = serde_json::from_value(serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "copy-snapshots", "plan": "tracking",
            "trigger": "schedule", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "finished_at": "2026-11-26T07:00:04Z", "outcome": "failed",
            "slots": crate::copy::Slots::default(),
            "items": [{"db": "DB instance billing", "outcome": "failed", "detail": "x"}],
            "copy_lag": []
        }))
        .unwrap();
        // The detail alone says nothing a page could advise on.
        assert!(!report.to_html().contains("What to do next"));
        let denied = crate::error::classify(
            Some("AccessDenied".into()),
            "not authorized".into(),
            "rds:CopyDBSnapshot",
            "DB snapshot billing-1",
            &"us-east-2".parse().unwrap(),
            false,
        );
        report.items[0] = report.items[0].clone().keeping(&denied);
        let html = report.to_html();
        assert!(
            html.contains("allow rds:CopyDBSnapshot on DB snapshot billing-1 to the role"),
            "{html}"
        );
        // And the record says so for whoever reads the JSON.
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["items"][0]["error"]["kind"], "AccessDenied");
    }
}
