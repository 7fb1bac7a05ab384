//! The posture as a self-contained page (`lifeboat status --html FILE`): the budgets, a chart of
//! each database's copy lag over the recent snapshot copy runs, and the posture's tables. The
//! history comes from the copy runs' records in the state bucket, in the recovery Region only,
//! like the rest of the posture.

use time::OffsetDateTime;

use super::model::{
    CopyPosture, DnsPosture, LastVerification, Posture, RECENT_DAYS, RECENT_RUNS, ReplicaPosture,
    RunLags, RunPosture, VerificationPosture,
};
use crate::html::{self, Figure, Html, Problem, Series, Tone, badge, section, span};
use crate::verify::Verdict;

/// One line per database: its lag at each run that measured one.
pub fn lag_series(history: &[RunLags]) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for run in history {
        for lag in &run.copy_lag {
            let index = match series.iter().position(|s| s.name == lag.db) {
                Some(i) => i,
                None => {
                    series.push(Series {
                        name: lag.db.clone(),
                        points: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            if let Some(seconds) = lag.lag_seconds {
                series[index].points.push((run.started_at, seconds));
            }
        }
    }
    series
}

/// What to do about a broken budget, by the sentence [`super::decide::broken_budgets`] wrote.
fn next_for_budget(broken: &str, plan: &str) -> Option<String> {
    if broken.contains(": no copy in ") || broken.contains("the newest copy is") {
        Some(format!(
            "open the last snapshot copy run's report (runs/{plan}/copy-snapshots/latest.json) \
             for failed or deferred items, or run `lifeboat copy snapshots --plan PLAN` now"
        ))
    } else if broken.contains("never run") || broken.contains("its schedule is every") {
        Some(
            "run `lifeboat verify --plan PLAN --name JOB` now, and check that the verify-restore \
             function's schedule is enabled (a failover pauses it)"
                .to_owned(),
        )
    } else if broken.contains("failed") {
        Some("open the run's report: its errors section says what failed and what to do".to_owned())
    } else {
        None
    }
}

/// The posture page: its header, then a section per part of the posture.
pub fn posture_page(posture: &Posture, history: &[RunLags]) -> String {
    let p = posture;
    html::page(
        &format!("DR posture — {}", p.plan),
        &[
            header(p, history),
            section("Figures", html::figures(&figures(p))),
            section(
                "Broken budgets and what to do next",
                html::problems(&problems(p)),
            ),
            section("Copy lag over recent runs", lag_chart(p, history)),
            section("Copies in the recovery Region", copies(p)),
            section("Verifications", verifications(p)),
            section("Failover targets", replicas(p)),
            section("DNS", dns(p)),
            section("Last runs", last_runs(p)),
        ],
    )
}

/// The verdict on the budgets, and what was read, where and when.
fn header(p: &Posture, history: &[RunLags]) -> Html {
    let mut meta = vec![
        ("Plan", Html::code(&p.plan)),
        ("Recovery Region", Html::code(&p.recovery_region)),
        ("Read at", Html::text(&html::time_of(p.at))),
        (
            "Copy lag chart",
            Html::text(&format!(
                "{} snapshot copy runs (the last {RECENT_RUNS} of {RECENT_DAYS} days)",
                history.len()
            )),
        ),
    ];
    if let Some(run) = &p.failover_in_progress {
        meta.push(("Failover in progress", Html::text(run)));
    }
    if let Some(paused) = &p.paused {
        meta.push(("Schedules", Html::text(&paused.reason())));
    }
    html::page_header(
        &format!("DR posture — {}", p.plan),
        verdict(p),
        "lifeboat status, read from the recovery Region only",
        &meta,
    )
}

fn verdict(p: &Posture) -> Html {
    if p.broken.is_empty() {
        return badge("all budgets hold", Tone::Good);
    }
    badge(
        &format!(
            "{} budget{} broken",
            p.broken.len(),
            if p.broken.len() == 1 { "" } else { "s" }
        ),
        Tone::Bad,
    )
}

/// The RPO now, what the newest verification measured, and how many budgets are broken.
fn figures(p: &Posture) -> Vec<Figure> {
    let worst = html::worst_lag(p.copies.iter().map(|c| c.age_seconds));
    let mut figures = vec![Figure {
        label: "RPO now (oldest newest copy)".into(),
        ..worst
    }];
    let verified = p
        .verifications
        .iter()
        .filter_map(|v| v.last.as_ref())
        .max_by_key(|l| l.started_at);
    if let Some(last) = verified {
        figures.extend(verification_figures(p, last));
    }
    figures.push(
        Figure::new(
            "Broken budgets",
            p.broken.len().to_string(),
            "lifeboat status exits 1 when any is",
        )
        .tone(Tone::of_ok(p.broken.is_empty())),
    );
    figures
}

fn verification_figures(p: &Posture, last: &LastVerification) -> [Figure; 3] {
    [
        Figure::new(
            "Last verification",
            verdict_in_words(last.verdict),
            format!("{} ago", span((p.at - last.started_at).whole_seconds())),
        )
        .tone(verdict_tone(last.verdict)),
        Figure::new(
            "Restore time",
            last.restore_seconds.map_or("-".into(), span),
            "measured by the last verification",
        ),
        Figure::new(
            "Data age at the restore",
            last.data_age_seconds.map_or("-".into(), span),
            "measured by the last verification",
        ),
    ]
}

fn verdict_in_words(verdict: Verdict) -> String {
    format!("{verdict:?}").to_lowercase()
}

fn verdict_tone(verdict: Verdict) -> Tone {
    Tone::of_ok(verdict == Verdict::Verified)
}

/// Each broken budget, and what to do about it.
fn problems(p: &Posture) -> Vec<Problem> {
    p.broken
        .iter()
        .map(|b| {
            let what = b.split(':').next().unwrap_or(b).to_owned();
            Problem::new(what, b.clone(), next_for_budget(b, &p.plan))
        })
        .collect()
}

/// Each database's copy lag over the recent runs, against `retain_days` when every entry has
/// the same.
fn lag_chart(p: &Posture, history: &[RunLags]) -> Html {
    let retain: Vec<u32> = p.copies.iter().map(|c| c.retain_days).collect();
    let limit = match retain.first() {
        Some(days) if retain.iter().all(|d| d == days) => {
            Some((i64::from(*days) * 86_400, format!("retain_days = {days}")))
        }
        _ => None,
    };
    html::line_chart(
        "Copy lag per database over recent copy runs",
        &lag_series(history),
        limit.as_ref().map(|(s, l)| (*s, l.as_str())),
    )
}

fn copies(p: &Posture) -> Html {
    let rows: Vec<Vec<Html>> = p.copies.iter().map(copy_row).collect();
    html::table(
        &[
            "Database",
            "Newest copy",
            "Data taken at",
            "Age (RPO now)",
            "Copies",
            "Budget",
        ],
        &rows,
        "The plan copies no database.",
    )
}

fn copy_row(c: &CopyPosture) -> Vec<Html> {
    let over = c
        .age_seconds
        .is_none_or(|a| a > i64::from(c.retain_days) * 86_400);
    vec![
        Html::text(&c.db),
        Html::code_or_dash(c.newest_copy.as_deref()),
        c.taken_at
            .map_or_else(dash, |t| Html::text(&html::time_of(t))),
        match c.age_seconds {
            Some(a) => badge(&span(a), if over { Tone::Bad } else { Tone::Good }),
            None => badge("no copy", Tone::Bad),
        },
        Html::text(&c.copies.to_string()),
        Html::text(&format!("{} days", c.retain_days)),
    ]
}

fn verifications(p: &Posture) -> Html {
    let rows: Vec<Vec<Html>> = p
        .verifications
        .iter()
        .map(|v| verification_row(p.at, v))
        .collect();
    html::table(
        &["Job", "Last run", "Figures", "Schedule", "In progress"],
        &rows,
        "The plan verifies no restore.",
    )
}

fn verification_row(at: OffsetDateTime, v: &VerificationPosture) -> Vec<Html> {
    let (last, figures) = match &v.last {
        None => (badge("never run", Tone::Warn), dash()),
        Some(l) => (
            badge(&verdict_in_words(l.verdict), verdict_tone(l.verdict)),
            Html::text(&format!(
                "restore {}, data age {}, {} ago",
                l.restore_seconds.map_or("-".into(), span),
                l.data_age_seconds.map_or("-".into(), span),
                span((at - l.started_at).whole_seconds())
            )),
        ),
    };
    vec![
        Html::text(&v.job),
        last,
        figures,
        Html::text(&if v.restore_tests {
            "AWS Backup restore tests".to_owned()
        } else {
            format!("every {}", span(v.every_seconds as i64))
        }),
        v.in_progress.as_deref().map_or_else(dash, Html::text),
    ]
}

fn replicas(p: &Posture) -> Html {
    let rows: Vec<Vec<Html>> = p.replicas.iter().map(replica_row).collect();
    html::table(
        &["Target", "Status", "Role", "Replication lag"],
        &rows,
        "The plan promotes nothing.",
    )
}

fn replica_row(r: &ReplicaPosture) -> Vec<Html> {
    vec![
        Html::code(&r.target),
        Html::text(r.status.as_deref().unwrap_or("not found")),
        Html::text(if r.writable { "writable" } else { "replica" }),
        Html::text(
            &r.lag_seconds
                .map_or("unknown".into(), |l| format!("{l:.1} s")),
        ),
    ]
}

fn dns(p: &Posture) -> Html {
    let rows: Vec<Vec<Html>> = p.dns.iter().map(dns_row).collect();
    html::table(
        &["Record", "Values", "Points to"],
        &rows,
        "The plan flips no record.",
    )
}

fn dns_row(d: &DnsPosture) -> Vec<Html> {
    let tone = match d.points_to.as_str() {
        "primary" => Tone::Good,
        "recovery" => Tone::Warn,
        _ => Tone::Bad,
    };
    vec![
        Html::code(&d.record),
        Html::text(&d.values.join(", ")),
        badge(&d.points_to, tone),
    ]
}

fn last_runs(p: &Posture) -> Html {
    let rows: Vec<Vec<Html>> = p.last_runs.iter().map(run_row).collect();
    html::table(
        &["Task", "Run", "Outcome", "Finished"],
        &rows,
        "No run recorded yet.",
    )
}

fn run_row(r: &RunPosture) -> Vec<Html> {
    vec![
        Html::code(&r.task),
        Html::code(&r.run_id),
        badge(
            &r.outcome.map_or("unfinished".into(), |o| o.to_string()),
            Tone::of_outcome(r.outcome),
        ),
        r.finished_at
            .map_or_else(dash, |t| Html::text(&html::time_of(t))),
    ]
}

fn dash() -> Html {
    Html::text("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::{CopyPosture, DbLag};
    use time::Duration;
    use time::macros::datetime;

    fn run(at: OffsetDateTime, lags: &[(&str, Option<i64>)]) -> RunLags {
        RunLags {
            run_id: format!("{at}"),
            started_at: at,
            copy_lag: lags
                .iter()
                .map(|(db, lag)| DbLag {
                    db: (*db).into(),
                    lag_seconds: *lag,
                })
                .collect(),
        }
    }

    #[test]
    fn a_copy_record_reads_as_run_lags() {
        let record = serde_json::json!({
            "run_id": "20261126T070000Z-0f3a9c2e", "task": "copy-snapshots", "plan": "tracking",
            "trigger": "schedule", "dry_run": false, "started_at": "2026-11-26T07:00:00Z",
            "slots": {}, "items": [],
            "copy_lag": [{"db": "orders", "kind": "instance", "lag_seconds": 3600},
                         {"db": "phoenix", "kind": "cluster", "lag_seconds": null}]
        });
        let mut lags: RunLags = serde_json::from_value(record).unwrap();
        assert_eq!(lags.run_id, "20261126T070000Z-0f3a9c2e");
        lags.run_id = "2026-11-26 7:00:00.0 +00:00:00".into();
        assert_eq!(
            lags,
            run(
                datetime!(2026-11-26 07:00 UTC),
                &[("orders", Some(3600)), ("phoenix", None)]
            )
        );
    }

    #[test]
    fn the_page_charts_each_database_and_names_broken_budgets() {
        let t = datetime!(2026-11-26 07:00 UTC);
        let history = [
            run(t, &[("orders", Some(3600)), ("phoenix", None)]),
            run(
                t + Duration::hours(24),
                &[("orders", Some(7200)), ("phoenix", Some(600))],
            ),
        ];
        let series = lag_series(&history);
        assert_eq!(series.len(), 2);
        assert_eq!(
            series[0].points,
            [(t, 3600), (t + Duration::hours(24), 7200)]
        );
        assert_eq!(series[1].points, [(t + Duration::hours(24), 600)]);

        let posture = Posture {
            plan: "tracking".into(),
            recovery_region: "us-east-2".into(),
            at: t + Duration::hours(25),
            copies: vec![CopyPosture {
                db: "orders<1>".into(),
                newest_copy: None,
                taken_at: None,
                age_seconds: None,
                copies: 0,
                retain_days: 7,
            }],
            backup_copies: vec![],
            verifications: vec![],
            replicas: vec![],
            dns: vec![],
            last_runs: vec![],
            failover_in_progress: None,
            paused: None,
            broken: vec!["orders<1>: no copy in us-east-2".into()],
        };
        let page = posture_page(&posture, &history);
        for part in [
            "1 budget broken",
            "orders&lt;1&gt;: no copy in us-east-2",
            "lifeboat copy snapshots --plan PLAN",
            "<polyline",
            "retain_days = 7",
            "2 snapshot copy runs",
        ] {
            assert!(page.contains(part), "{part}");
        }
        assert!(!page.contains("orders<1>"));
    }
}
