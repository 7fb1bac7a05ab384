//! The record every run leaves: a JSON, a Markdown and a self-contained HTML report in the state
//! bucket, and an event on Lifeboat's bus. Every task records itself the same way:
//! `runs/<plan>/<task>/<yyyy>/<mm>/<dd>/<run-id>.{json,md,html}`, plus
//! `runs/<plan>/<task>/latest.json` for `lifeboat status`.

use std::fmt;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::RegionalClients;
use crate::bucket::{self, keys};
use crate::error::Error;
use crate::plan::Plan;

/// Source of the events Lifeboat puts on its bus.
pub const EVENT_SOURCE: &str = "lifeboat";
/// Detail type of the event that closes every run.
pub const RUN_FINISHED: &str = "Lifeboat Run Finished";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    Succeeded,
    /// Some items failed, others did not.
    Partial,
    Failed,
}

impl RunOutcome {
    /// The outcome of a run whose `items` include `failures`: succeeded with none, failed when
    /// every item failed, partial otherwise.
    pub fn of(failures: usize, items: usize) -> Self {
        if failures == 0 {
            RunOutcome::Succeeded
        } else if failures == items {
            RunOutcome::Failed
        } else {
            RunOutcome::Partial
        }
    }
}

/// Item counts as people read them: `3 started, 1 deferred`, or `none`.
pub fn counts_in_words<O: fmt::Display>(counts: &std::collections::BTreeMap<O, usize>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(outcome, n)| format!("{n} {outcome}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        })
    }
}

/// What every run report starts with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunHeader {
    pub run_id: String,
    pub task: String,
    pub plan: String,
    /// What started the run, in words: "schedule", "cli", "event RDS-EVENT-0091 ...".
    pub trigger: String,
    pub dry_run: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
}

impl RunHeader {
    /// The head of a run's Markdown report: `# <title> — <plan> — <outcome>` and the run's
    /// id, trigger and times.
    pub fn markdown_head(&self, title: &str) -> String {
        let outcome = self
            .outcome
            .map_or("unfinished".to_owned(), |o| o.to_string());
        let time = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let mut md = format!("# {title} — {} — {outcome}\n\n", self.plan);
        md += &format!(
            "- Run: `{}`{}\n",
            self.run_id,
            if self.dry_run {
                " (dry run: nothing was changed)"
            } else {
                ""
            }
        );
        md += &format!("- Trigger: {}\n", self.trigger);
        md += &format!("- Started: {}\n", time(self.started_at));
        if let Some(finished) = self.finished_at {
            md += &format!("- Finished: {}\n", time(finished));
        }
        md
    }

    pub fn start(
        task: &str,
        plan: &Plan,
        trigger: impl Into<String>,
        dry_run: bool,
        now: OffsetDateTime,
    ) -> Self {
        let stamp = now.to_offset(time::UtcOffset::UTC);
        let run_id = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}",
            stamp.year(),
            stamp.month() as u8,
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        RunHeader {
            run_id,
            task: task.to_owned(),
            plan: plan.name.clone(),
            trigger: trigger.into(),
            dry_run,
            started_at: now,
            finished_at: None,
            outcome: None,
        }
    }

    pub fn finish(mut self, outcome: RunOutcome) -> Self {
        self.finished_at = Some(OffsetDateTime::now_utc());
        self.outcome = Some(outcome);
        self
    }

    /// Where the newest run of this plan's task is kept, for `lifeboat status`.
    pub fn latest_key(&self) -> String {
        keys::latest_run(&self.plan, &self.task)
    }

    /// Where this run's reports go in the state bucket, without the extension. The plan's name
    /// comes first, so plans that share a state bucket keep separate records.
    pub fn key_stem(&self) -> String {
        keys::run_stem(&self.plan, &self.task, self.started_at, &self.run_id)
    }
}

/// A task's report: a header, a JSON body, a Markdown rendering and a short summary for the event.
pub trait Report: Serialize {
    fn header(&self) -> &RunHeader;
    fn to_markdown(&self) -> String;
    /// The report as one self-contained HTML page (inline CSS and SVG, nothing fetched), built
    /// with [`crate::html`].
    fn to_html(&self) -> String;
    /// Counts and figures worth putting in the run's event (keep it small: events max 256 KB).
    fn summary(&self) -> serde_json::Value;
    /// The run's CloudWatch metrics (written as EMF by the Lambda).
    fn metrics(&self) -> Vec<crate::metrics::MetricSet>;
}

/// Where a run's record was written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordLocation {
    pub json: String,
    pub markdown: String,
    /// The HTML page. Absent in records written before Lifeboat made one.
    #[serde(default)]
    pub html: String,
}

/// Writes the run's reports to the state bucket and announces the run on Lifeboat's bus.
pub async fn record<R: Report>(
    recovery: &RegionalClients,
    plan: &Plan,
    report: &R,
) -> Result<RecordLocation, Error> {
    let header = report.header();
    let stem = header.key_stem();
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::other("cannot serialize the report", e))?;
    let state_bucket = &plan.state_bucket;
    let put = async |key: &str, body: Vec<u8>, content_type: &str| {
        bucket::put(recovery, state_bucket, key, body, content_type).await
    };
    put(&format!("{stem}.json"), json.clone(), "application/json").await?;
    put(
        &format!("{stem}.md"),
        report.to_markdown().into_bytes(),
        "text/markdown; charset=utf-8",
    )
    .await?;
    put(
        &format!("{stem}.html"),
        report.to_html().into_bytes(),
        "text/html; charset=utf-8",
    )
    .await?;
    put(&header.latest_key(), json, "application/json").await?;
    let location = RecordLocation {
        json: bucket::location(state_bucket, &format!("{stem}.json")),
        markdown: bucket::location(state_bucket, &format!("{stem}.md")),
        html: bucket::location(state_bucket, &format!("{stem}.html")),
    };
    publish(recovery, plan, header, report.summary(), &location).await?;
    Ok(location)
}

async fn publish(
    recovery: &RegionalClients,
    plan: &Plan,
    header: &RunHeader,
    summary: serde_json::Value,
    location: &RecordLocation,
) -> Result<(), Error> {
    let detail = serde_json::json!({
        "run_id": header.run_id,
        "task": header.task,
        "plan": header.plan,
        "trigger": header.trigger,
        "outcome": header.outcome,
        "started_at": header.started_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "summary": summary,
        "report": location,
    });
    put_event(recovery, plan, RUN_FINISHED, &detail).await
}

/// Puts one of Lifeboat's events (source `lifeboat`) on the plan's bus. An entry EventBridge
/// refuses is an error, with its reason.
pub(crate) async fn put_event(
    recovery: &RegionalClients,
    plan: &Plan,
    detail_type: &str,
    detail: &serde_json::Value,
) -> Result<(), Error> {
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(&plan.event_bus)
        .source(EVENT_SOURCE)
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let bus = format!("event bus {}", plan.event_bus);
    let output = recovery
        .events
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, "events:PutEvents", &bus, &recovery.region))?;
    if output.failed_entry_count() > 0 {
        let reason = output
            .entries()
            .iter()
            .find_map(|e| e.error_message().map(str::to_owned))
            .unwrap_or_else(|| "no reason given".into());
        return Err(Error::Aws {
            action: "events:PutEvents".into(),
            resource: bus,
            region: recovery.region.clone(),
            code: None,
            message: reason,
            retryable: true,
            source: None,
        });
    }
    Ok(())
}
