//! `lifeboat status`: the plan's DR posture at a glance, read from the recovery Region only.
//! `--html FILE` also writes the posture as a self-contained page with a chart of the copy lag
//! over the recent copy runs. Exit status: 0 when every budget holds, 1 when one is broken (each
//! is listed), 2 when the posture cannot be read or the page cannot be written (the error says
//! what failed).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::status::{Posture, copy_lag_history, posture, posture_page, span};

use crate::output::{Colour, paint};

fn age(seconds: Option<i64>) -> String {
    seconds.map_or("—".to_owned(), span)
}

/// The posture as text: one section per kind of resource, then what is broken.
pub(crate) fn render(p: &Posture) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {} — recovery Region {}",
        p.plan, p.recovery_region
    );
    for section in [
        copies,
        backup_copies,
        verifications,
        replicas,
        dns,
        last_runs,
        in_progress,
        budgets,
    ] {
        section(&mut out, p);
    }
    out
}

fn copies(out: &mut String, p: &Posture) {
    let _ = writeln!(
        out,
        "\ncopies (the RPO a failover would give now is the newest copy's age)"
    );
    for c in &p.copies {
        let _ = writeln!(
            out,
            "  {:<24} newest {:<40} age {:<8} ({} copies, budget {} days)",
            c.db,
            c.newest_copy.as_deref().unwrap_or("none"),
            age(c.age_seconds),
            c.copies,
            c.retain_days
        );
    }
}

fn backup_copies(out: &mut String, p: &Posture) {
    if p.backup_copies.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nAWS Backup copies");
    for b in &p.backup_copies {
        let _ = writeln!(
            out,
            "  {:<60} age {:<8} ({} in vault {})",
            b.resource_arn,
            age(b.age_seconds),
            b.recovery_points,
            b.vault
        );
    }
}

fn verifications(out: &mut String, p: &Posture) {
    if p.verifications.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nverifications");
    for v in &p.verifications {
        let last = match &v.last {
            None => "never run".to_owned(),
            Some(l) => format!(
                "{:?} {} ago: data age {}, restore {}",
                l.verdict,
                span((p.at - l.started_at).whole_seconds()),
                age(l.data_age_seconds),
                age(l.restore_seconds)
            ),
        };
        let running = v
            .in_progress
            .as_deref()
            .map_or(String::new(), |r| format!("; in progress: {r}"));
        let _ = writeln!(out, "  {:<24} {last}{running}", v.job);
    }
}

fn replicas(out: &mut String, p: &Posture) {
    if p.replicas.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nfailover targets");
    for r in &p.replicas {
        let _ = writeln!(
            out,
            "  {:<40} {:<12} {:<10} lag {}",
            r.target,
            r.status.as_deref().unwrap_or("not found"),
            if r.writable { "writable" } else { "replica" },
            r.lag_seconds
                .map_or("unknown".to_owned(), |l| format!("{l:.1} s"))
        );
    }
}

fn dns(out: &mut String, p: &Posture) {
    if p.dns.is_empty() {
        return;
    }
    let _ = writeln!(out, "\ndns");
    for d in &p.dns {
        let _ = writeln!(
            out,
            "  {:<40} → {} ({})",
            d.record,
            d.values.join(", "),
            d.points_to
        );
    }
}

fn last_runs(out: &mut String, p: &Posture) {
    if p.last_runs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nlast runs");
    for r in &p.last_runs {
        let _ = writeln!(out, "  {:<16} {} {:?}", r.task, r.run_id, r.outcome);
    }
}

/// A failover under way, and the schedules it paused.
fn in_progress(out: &mut String, p: &Posture) {
    if let Some(run) = &p.failover_in_progress {
        let _ = writeln!(out, "\nfailover in progress: {run}");
    }
    if let Some(paused) = &p.paused {
        let _ = writeln!(out, "\ncopy and verify schedules {}", paused.reason());
    }
}

fn budgets(out: &mut String, p: &Posture) {
    if p.broken.is_empty() {
        let _ = writeln!(out, "\n{}", paint("all budgets hold", Colour::Green));
        return;
    }
    let _ = writeln!(
        out,
        "\n{} ({}):",
        paint("BROKEN", Colour::Red),
        p.broken.len()
    );
    for b in &p.broken {
        let _ = writeln!(out, "  - {b}");
    }
}

/// Writes the posture page to `path`, with the copy lag of the recent copy runs.
async fn write_page(lifeboat: &Lifeboat, p: &Posture, path: &Path) -> Result<(), String> {
    let history = copy_lag_history(lifeboat, p.at)
        .await
        .map_err(|e| format!("cannot read the copy runs for the chart: {e}"))?;
    std::fs::write(path, posture_page(p, &history))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Prints the posture (text or JSON), and writes it as an HTML page when `html` names a file;
/// the exit status says whether every budget holds.
pub(crate) async fn status(lifeboat: &Lifeboat, json: bool, html: Option<&Path>) -> ExitCode {
    match posture(lifeboat).await {
        Ok(p) => {
            if let Some(path) = html {
                if let Err(error) = write_page(lifeboat, &p, path).await {
                    eprintln!("lifeboat: {error}");
                    return ExitCode::from(2);
                }
                eprintln!("lifeboat: the posture page is {}", path.display());
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&p).expect("the posture is JSON")
                );
            } else {
                print!("{}", render(&p));
            }
            if p.broken.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("lifeboat: cannot read the posture:");
            crate::output::error(&error);
            ExitCode::from(2)
        }
    }
}
