//! How a failover run reads: its JSON record, Markdown and a self-contained HTML page for
//! people, a summary for the run event, EMF metrics.

use serde::{Deserialize, Serialize};

use super::TASK;
use super::run::{FailoverRun, StepKind};
use crate::html::{self, Event, Figure, Html, Problem, Tone, section, span};
use crate::metrics::{MetricSet, Unit};
use crate::record::{Report, RunHeader, RunOutcome};

/// The report of a failover run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailoverReport {
    /// Flattened: its fields are the record's top-level fields, as every run record's.
    #[serde(flatten)]
    pub header: RunHeader,
    pub failover: FailoverRun,
}

impl Report for FailoverReport {
    fn header(&self) -> &RunHeader {
        &self.header
    }

    fn to_markdown(&self) -> String {
        let run = &self.failover;
        let title = if run.failback { "Failback" } else { "Failover" };
        let mut md = self.header.markdown_head(title);
        md += &format!("- Kind: {:?}\n- Reason: {}\n", run.kind, run.reason);
        if let Some(why) = &run.failure {
            md += &format!("- **Failed**: {why}\n");
        }
        if let Some(estimate) = run.data_loss_estimate_seconds {
            md += &format!("- Data loss estimate at the decision: {estimate:.1} s\n");
        }
        if let Some(seconds) = run.seconds_to_dns_insync() {
            md += &format!("- Trigger to DNS in sync: {seconds} s\n");
        }
        md += "\n## Steps\n\n| Time | Step | Call | Result | Detail |\n|---|---|---|---|---|\n";
        for step in &run.steps {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                step.at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                step.step,
                step.call
                    .as_deref()
                    .map_or(String::new(), |c| format!("`{c}`")),
                if step.ok { "ok" } else { "failed" },
                step.detail.replace('|', "\\|")
            );
        }
        md
    }

    fn to_html(&self) -> String {
        self.page()
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "failback": self.failover.failback,
            "kind": self.failover.kind,
            "failure": self.failover.failure,
            "seconds_to_dns_insync": self.failover.seconds_to_dns_insync(),
            "data_loss_estimate_seconds": self.failover.data_loss_estimate_seconds,
        })
    }

    fn metrics(&self) -> Vec<MetricSet> {
        let mut set = MetricSet::new(&[("Plan", &self.header.plan), ("Task", TASK)]);
        if let Some(seconds) = self.failover.seconds_to_dns_insync() {
            set = set.with("SecondsToDnsInSync", seconds as f64, Unit::Seconds);
        }
        if let Some(estimate) = self.failover.data_loss_estimate_seconds {
            set = set.with("DataLossEstimateSeconds", estimate, Unit::Seconds);
        }
        let failed = u8::from(self.failover.failure.is_some());
        vec![set.with("FailoversFailed", f64::from(failed), Unit::Count)]
    }
}

impl FailoverReport {
    /// The report of a run that came to its end: failed when the run says why, else succeeded.
    pub(crate) fn finished(mut self) -> Self {
        let outcome = if self.failover.failure.is_some() {
            RunOutcome::Failed
        } else {
            RunOutcome::Succeeded
        };
        self.header = self.header.finish(outcome);
        self
    }

    /// The run's page: the outcome, the figures (trigger to DNS in sync, data loss estimate),
    /// what was promoted and flipped, the steps with their calls, and what failed with what to
    /// do next.
    fn page(&self) -> String {
        let run = &self.failover;
        let title = if run.failback { "Failback" } else { "Failover" };
        let writable = run
            .promotions
            .iter()
            .filter(|p| p.writable_at.is_some())
            .count();
        let insync = run.dns.iter().filter(|b| b.insync_at.is_some()).count();
        let mut figures = vec![Figure::new(
            "Trigger to DNS in sync",
            run.seconds_to_dns_insync()
                .map_or("not in sync".to_owned(), span),
            run.seconds_to_dns_insync().map_or(String::new(), |s| {
                format!("{s} s: the automation's share of the RTO")
            }),
        )];
        if !run.failback {
            figures.push(Figure::new(
                "Data loss estimate",
                run.data_loss_estimate_seconds
                    .map_or("unknown".to_owned(), |s| format!("{s:.1} s")),
                "the largest replication lag read before promoting",
            ));
            figures.push(
                Figure::new(
                    "Promoted",
                    format!("{writable} of {}", run.promotions.len()),
                    "writable in the recovery Region",
                )
                .tone(Tone::of_ok(writable == run.promotions.len())),
            );
        }
        figures.push(
            Figure::new(
                "DNS batches in sync",
                format!("{insync} of {}", run.dns.len()),
                "one per hosted zone",
            )
            .tone(Tone::of_ok(insync == run.dns.len())),
        );
        let time = html::time_cell;
        let promotions: Vec<Vec<Html>> = run
            .promotions
            .iter()
            .map(|p| {
                vec![
                    Html::code(&p.target.key()),
                    Html::code(p.target.recovery_identifier()),
                    time(p.requested_at),
                    time(p.writable_at),
                    Html::text(&match (p.requested_at, p.writable_at) {
                        (Some(r), Some(w)) => span((w - r).whole_seconds()),
                        _ => "-".into(),
                    }),
                ]
            })
            .collect();
        let failback = run.failback;
        let records: Vec<Vec<Html>> =
            run.dns
                .iter()
                .flat_map(|batch| {
                    batch.changes.iter().map(move |c| {
                        vec![
                            Html::code(&c.name),
                            Html::text(&c.record_type),
                            Html::text(&c.previous.as_ref().map_or(
                                if failback { "-" } else { "(no record)" }.to_owned(),
                                |p| p.values.join(", "),
                            )),
                            Html::text(&c.values.join(", ")),
                            time(batch.sent_at),
                            time(batch.insync_at),
                        ]
                    })
                })
                .collect();
        let events: Vec<Event> = run
            .steps
            .iter()
            .map(|s| Event {
                at: s.at,
                what: s.step.to_string(),
                ok: s.ok,
                detail: s.detail.clone(),
                call: s.call.clone(),
            })
            .collect();
        let mut problems: Vec<Problem> = Vec::new();
        if let Some(why) = &run.failure {
            let step = run.steps.iter().rev().find(|s| !s.ok);
            // The step's own advice, else its error's; a record written before steps kept
            // their errors has its text read instead.
            let next = step
                .and_then(|s| next_step(s.step))
                .or_else(|| html::next_step_of(step.and_then(|s| s.error.as_ref()), why));
            let what = step.map_or("the run failed".to_owned(), |s| {
                format!("step {} failed", s.step)
            });
            problems.push(Problem::new(what, why.clone(), next));
        }
        let mut extra = vec![
            (
                "Kind",
                Html::text(&format!("{:?}", run.kind).to_lowercase()),
            ),
            ("Reason", Html::text(&run.reason)),
            ("Plan hash", Html::code(&run.plan_hash)),
        ];
        if let Some(approval) = &run.approval {
            extra.push((
                "Approval",
                Html::text(&format!(
                    "{}{}",
                    approval.because,
                    approval.approved_at.map_or(String::new(), |t| format!(
                        "; approved {} by {}",
                        html::time_of(t),
                        approval.approved_by.as_deref().unwrap_or("?")
                    ))
                )),
            ));
        }
        let mut parts = vec![
            html::run_header(title, &self.header, None, extra),
            section("Figures", html::figures(&figures)),
        ];
        if !run.failback {
            parts.push(section(
                "What was promoted",
                html::table(
                    &[
                        "Target",
                        "In the recovery Region",
                        "Requested",
                        "Writable",
                        "Took",
                    ],
                    &promotions,
                    "The plan promotes nothing.",
                ),
            ));
        }
        parts.extend([
            section(
                "DNS records",
                html::table(
                    &["Record", "Type", "Was", "Now", "Sent", "In sync"],
                    &records,
                    "The plan flips no record.",
                ),
            ),
            section("Timeline", html::timeline(&events)),
            section("Errors and what to do next", html::problems(&problems)),
        ]);
        html::page(&format!("{title} — {}", self.header.plan), &parts)
    }
}

/// What to do about a run that failed at a step of this kind.
fn next_step(kind: StepKind) -> Option<String> {
    let next = match kind {
        StepKind::Promote => {
            "nothing was undone: promote the target by hand (docs/runbook.md, manual \
             steps) or fix the cause and run `lifeboat failover --execute` again; \
             then check DNS"
        }
        StepKind::Dns | StepKind::DnsCheck => {
            "the databases are promoted but the records may not point at them: flip the \
             records by hand (docs/runbook.md) and read them back"
        }
        StepKind::Schedules => {
            "the failover is done; pause the copy and verify schedules by hand so they \
             do not call the failed Region (docs/runbook.md)"
        }
        StepKind::Decide
        | StepKind::Approval
        | StepKind::Approved
        | StepKind::KeepSnapshot
        | StepKind::Writable
        | StepKind::Wait
        | StepKind::Phase
        | StepKind::DnsInsync => return None,
    };
    Some(next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished run's record as Lifeboat wrote it while steps were strings, with a step of
    /// every kind: it loads, and is written back byte for byte.
    #[test]
    fn a_record_with_every_step_kind_loads_and_is_written_back_as_it_was() {
        let written = include_str!("fixtures/failover-record.json");
        let report: FailoverReport = serde_json::from_str(written).unwrap();
        let kinds: Vec<&str> = report
            .failover
            .steps
            .iter()
            .map(|s| s.step.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "decide",
                "approval",
                "approved",
                "keep-snapshot",
                "promote",
                "wait",
                "writable",
                "phase",
                "dns",
                "dns-insync",
                "dns-check",
                "schedules"
            ]
        );
        assert_eq!(report.header.run_id, "20261126T070000Z-0f3a9c2e");
        let again = serde_json::to_vec_pretty(&report).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), written);
    }

    #[test]
    fn a_failed_failovers_page_has_its_figures_promotions_records_and_next_step() {
        let report: FailoverReport = serde_json::from_value(serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "failover", "plan": "tracking",
            "trigger": "alarm", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "outcome": "failed",
            "failover": {
                "run_id": "20261126T070000Z-0f3a9c2e", "plan": "tracking", "kind": "outage",
                "plan_hash": "abc123", "phase": "finished",
                "triggered_at": "2026-11-26T07:00:00Z", "reason": "2 of 2 alarms in ALARM",
                "data_loss_estimate_seconds": 4.5,
                "promotions": [{"target": {"kind": "rds-replica", "id": "orders-dr"},
           "requested_at": "2026-11-26T07:00:05Z", "writable_at": "2026-11-26T07:02:05Z"}],
                "dns": [{"hosted_zone_id": "Z1", "changes": [{"hosted_zone_id": "Z1",
                    "name": "api.example.com.", "type": "CNAME", "ttl": 60,
                    "previous": {"hosted_zone_id": "Z1", "name": "api.example.com.", "type": "CNAME",
            "ttl": 60, "values": ["primary.example.com"]},
                    "values": ["dr.example.com"]}],
                    "sent_at": "2026-11-26T07:02:10Z"}],
                "steps": [
                    {"step": "promote", "at": "2026-11-26T07:00:05Z", "call": "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr", "ok": true, "detail": "promoting"},
                    {"step": "dns-check", "at": "2026-11-26T07:17:10Z", "ok": false, "detail": "api.example.com. reads primary.example.com"}
                ],
                "failure": "api.example.com. reads primary.example.com"
            }
        }))
        .unwrap();
        let html = report.to_html();
        for part in [
            "<span class=\"badge bad\">failed</span>",
            "<div class=\"value\">not in sync</div>",
            "<div class=\"value\">4.5 s</div>",
            "<div class=\"value\" style=\"color:#1a7f37\">1 of 1</div>",
            "<td>2 min</td>",
            "<td>primary.example.com</td><td>dr.example.com</td>",
            "(+17 min 5 s)",
            "<code>rds:PromoteReadReplica DBInstanceIdentifier=orders-dr</code>",
            "step dns-check failed",
            "flip the records by hand (docs/runbook.md)",
        ] {
            assert!(html.contains(part), "{part}:\n{html}");
        }
    }
}
