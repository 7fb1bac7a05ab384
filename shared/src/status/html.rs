//! The posture as a self-contained page (`lifeboat status --html FILE`): the budgets, a chart of
//! each database's copy lag over the recent snapshot copy runs, and the posture's tables. The
//! history comes from the copy runs' records in the state bucket, in the recovery Region only,
//! like the rest of the posture.

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::Posture;
use crate::context::Lifeboat;
use crate::error::Error;
use crate::html::{self, Figure, Html, Problem, Series, Tone, badge, section, span};
use crate::record::get;
use crate::tasks::COPY_SNAPSHOTS;

/// How far back the chart looks: the last `RECENT_RUNS` runs of the last `RECENT_DAYS` days.
pub const RECENT_DAYS: i64 = 14;
pub const RECENT_RUNS: usize = 30;

/// One copy run's lag per database, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunLags {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub copy_lag: Vec<DbLag>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DbLag {
    pub db: String,
    /// `None`: no copy in the recovery Region at that run.
    pub lag_seconds: Option<i64>,
}

/// The copy lag recorded by the plan's recent snapshot copy runs (the last [`RECENT_RUNS`] of
/// the last [`RECENT_DAYS`] days), oldest first: one listing of the state bucket per day, then
/// each run's JSON record.
pub async fn copy_lag_history(
    lifeboat: &Lifeboat,
    now: OffsetDateTime,
) -> Result<Vec<RunLags>, Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let bucket = &plan.state_bucket;
    let mut keys = Vec::new();
    // Newest day first, so the listing stops once it has enough runs.
    for days_back in 0..=RECENT_DAYS {
        let day = (now - Duration::days(days_back)).to_offset(time::UtcOffset::UTC);
        let prefix = format!(
            "runs/{}/{COPY_SNAPSHOTS}/{:04}/{:02}/{:02}/",
            plan.name,
            day.year(),
            day.month() as u8,
            day.day()
        );
        let mut pages = recovery
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut of_day = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                Error::from_sdk(
                    e,
                    "s3:ListObjectsV2",
                    &format!("s3://{bucket}/{prefix}"),
                    &recovery.region,
                )
            })?;
            of_day.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.ends_with(".json"))
                    .map(str::to_owned),
            );
        }
        // Run ids start with their time: the names sort as the runs started.
        of_day.sort();
        keys.extend(of_day.into_iter().rev());
        if keys.len() >= RECENT_RUNS {
            break;
        }
    }
    keys.truncate(RECENT_RUNS);
    let since = now - Duration::days(RECENT_DAYS);
    let mut runs = Vec::new();
    for key in keys {
        let Some(bytes) = get(recovery, bucket, &key).await? else {
            continue;
        };
        match serde_json::from_slice::<RunLags>(&bytes) {
            Ok(run) if run.started_at >= since => runs.push(run),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, key, "not a copy run record; left out of the chart")
            }
        }
    }
    runs.sort_by_key(|r| r.started_at);
    Ok(runs)
}

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

/// The posture page.
pub fn posture_page(posture: &Posture, history: &[RunLags]) -> String {
    let p = posture;
    let verdict = if p.broken.is_empty() {
        badge("all budgets hold", Tone::Good)
    } else {
        badge(
            &format!(
                "{} budget{} broken",
                p.broken.len(),
                if p.broken.len() == 1 { "" } else { "s" }
            ),
            Tone::Bad,
        )
    };
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
    let header = html::page_header(
        &format!("DR posture — {}", p.plan),
        verdict,
        "lifeboat status, read from the recovery Region only",
        &meta,
    );

    let worst = html::worst_lag(p.copies.iter().map(|c| c.age_seconds));
    let verified = p
        .verifications
        .iter()
        .filter_map(|v| v.last.as_ref())
        .max_by_key(|l| l.started_at);
    let mut figures = vec![Figure {
        label: "RPO now (oldest newest copy)".into(),
        ..worst
    }];
    if let Some(last) = verified {
        figures.push(
            Figure::new(
                "Last verification",
                format!("{:?}", last.verdict).to_lowercase(),
                format!("{} ago", span((p.at - last.started_at).whole_seconds())),
            )
            .tone(Tone::of_ok(
                last.verdict == crate::verify::Verdict::Verified,
            )),
        );
        figures.push(Figure::new(
            "Restore time",
            last.restore_seconds.map_or("-".into(), span),
            "measured by the last verification",
        ));
        figures.push(Figure::new(
            "Data age at the restore",
            last.data_age_seconds.map_or("-".into(), span),
            "measured by the last verification",
        ));
    }
    figures.push(
        Figure::new(
            "Broken budgets",
            p.broken.len().to_string(),
            "lifeboat status exits 1 when any is",
        )
        .tone(Tone::of_ok(p.broken.is_empty())),
    );

    let problems: Vec<Problem> = p
        .broken
        .iter()
        .map(|b| {
            let what = b.split(':').next().unwrap_or(b).to_owned();
            Problem::new(what, b.clone(), next_for_budget(b, &p.plan))
        })
        .collect();

    let retain: Vec<u32> = p.copies.iter().map(|c| c.retain_days).collect();
    let limit = match retain.first() {
        Some(days) if retain.iter().all(|d| d == days) => {
            Some((i64::from(*days) * 86_400, format!("retain_days = {days}")))
        }
        _ => None,
    };
    let chart = html::line_chart(
        "Copy lag per database over recent copy runs",
        &lag_series(history),
        limit.as_ref().map(|(s, l)| (*s, l.as_str())),
    );

    let dash = || Html::text("-");
    let copies: Vec<Vec<Html>> = p
        .copies
        .iter()
        .map(|c| {
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
        })
        .collect();
    let verifications: Vec<Vec<Html>> = p
        .verifications
        .iter()
        .map(|v| {
            let (last, figures) = match &v.last {
                None => (badge("never run", Tone::Warn), dash()),
                Some(l) => (
                    badge(
                        &format!("{:?}", l.verdict).to_lowercase(),
                        Tone::of_ok(l.verdict == crate::verify::Verdict::Verified),
                    ),
                    Html::text(&format!(
                        "restore {}, data age {}, {} ago",
                        l.restore_seconds.map_or("-".into(), span),
                        l.data_age_seconds.map_or("-".into(), span),
                        span((p.at - l.started_at).whole_seconds())
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
        })
        .collect();
    let replicas: Vec<Vec<Html>> = p
        .replicas
        .iter()
        .map(|r| {
            vec![
                Html::code(&r.target),
                Html::text(r.status.as_deref().unwrap_or("not found")),
                Html::text(if r.writable { "writable" } else { "replica" }),
                Html::text(
                    &r.lag_seconds
                        .map_or("unknown".into(), |l| format!("{l:.1} s")),
                ),
            ]
        })
        .collect();
    let dns: Vec<Vec<Html>> = p
        .dns
        .iter()
        .map(|d| {
            vec![
                Html::code(&d.record),
                Html::text(&d.values.join(", ")),
                badge(
                    &d.points_to,
                    match d.points_to.as_str() {
                        "primary" => Tone::Good,
                        "recovery" => Tone::Warn,
                        _ => Tone::Bad,
                    },
                ),
            ]
        })
        .collect();
    let runs: Vec<Vec<Html>> = p
        .last_runs
        .iter()
        .map(|r| {
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
        })
        .collect();

    html::page(
        &format!("DR posture — {}", p.plan),
        &[
            header,
            section("Figures", html::figures(&figures)),
            section(
                "Broken budgets and what to do next",
                html::problems(&problems),
            ),
            section("Copy lag over recent runs", chart),
            section(
                "Copies in the recovery Region",
                html::table(
                    &[
                        "Database",
                        "Newest copy",
                        "Data taken at",
                        "Age (RPO now)",
                        "Copies",
                        "Budget",
                    ],
                    &copies,
                    "The plan copies no database.",
                ),
            ),
            section(
                "Verifications",
                html::table(
                    &["Job", "Last run", "Figures", "Schedule", "In progress"],
                    &verifications,
                    "The plan verifies no restore.",
                ),
            ),
            section(
                "Failover targets",
                html::table(
                    &["Target", "Status", "Role", "Replication lag"],
                    &replicas,
                    "The plan promotes nothing.",
                ),
            ),
            section(
                "DNS",
                html::table(
                    &["Record", "Values", "Points to"],
                    &dns,
                    "The plan flips no record.",
                ),
            ),
            section(
                "Last runs",
                html::table(
                    &["Task", "Run", "Outcome", "Finished"],
                    &runs,
                    "No run recorded yet.",
                ),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::CopyPosture;
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
