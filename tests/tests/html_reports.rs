//! The HTML reports as people see them: the drill runs against the emulator, each run's
//! `<stem>.html` is read from the state bucket, rendered by headless Chromium (a PNG screenshot
//! at 1280 px wide, kept under `target/tmp/html-reports/`), and the figures the run measured —
//! the verification's restore time, data age and verdict, the failover's trigger-to-DNS time, the
//! copy lag — are read back from the DOM Chromium rendered.
//!
//! Chromium comes from Debian's packages (`apt-get install -y chromium`, which `.ci/run` does
//! when it is missing); `LIFEBOAT_CHROMIUM` names another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use lifeboat_shared::copy::CopyReport;
use lifeboat_shared::html::{span, time_of};
use lifeboat_shared::tasks::{FailoverReport, VerifyReport};
use lifeboat_tests::drill;
use lifeboat_tests::{Emulator, World};

/// The Chromium binary, or a failure that says how to get one.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("LIFEBOAT_CHROMIUM") {
        return PathBuf::from(path);
    }
    let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
    if let Some(found) = candidates.iter().map(Path::new).find(|p| p.exists()) {
        return found.to_path_buf();
    }
    panic!(
        "headless Chromium is needed to render the HTML reports and was not found at {}: \
         install Debian's package (`apt-get install -y chromium`; `.ci/run` does it when it is \
         missing), or set LIFEBOAT_CHROMIUM to a Chromium or Chrome binary",
        candidates.join(" or ")
    );
}

/// Chromium as the machine allows it: headless, no sandbox (CI runs as root), and none of the
/// background connections that a closed network refuses; a fresh profile per run.
fn headless(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// Renders `page`: a screenshot at 1280 px wide into `png`, and the DOM Chromium built.
fn render(page: &Path, png: &Path, height: u32) -> String {
    let url = format!("file://{}", page.display());
    let profile = page.with_extension("profile");
    let shot = headless(&profile)
        .arg(format!("--window-size=1280,{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success() && png.exists(),
        "chromium could not take the screenshot of {url}: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = headless(&profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "chromium could not render {url}: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8(dom.stdout).expect("the DOM is UTF-8")
}

/// The text of a DOM as a reader sees it: each tag a space, the entities read, spaces
/// collapsed (`Restore time 12 s 12 s, requested → available`).
fn text_of(dom: &str) -> String {
    let body = dom.split("<body>").nth(1).unwrap_or(dom);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Roughly how tall a page is at 1280 px, so its screenshot shows all of it.
fn page_height(html: &str) -> u32 {
    let count = |needle: &str| html.matches(needle).count() as u32;
    (300 + 130 * count("<section")
        + 48 * count("<tr")
        + 80 * count("<li")
        + 70 * count("<div class=\"problem\""))
    .clamp(900, 8000)
}

fn png_is_an_image(png: &Path) {
    let bytes = std::fs::read(png).expect("the screenshot exists");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "{} is not a screenshot ({} bytes)",
        png.display(),
        bytes.len()
    );
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1280, "{}", png.display());
}

#[tokio::test]
async fn the_drills_reports_render_in_chromium_with_their_figures() {
    let chromium = chromium();
    let world = World::new(Emulator::shared().new_account().await);
    let seeded = drill::seed(&world, "lbh").await;
    let lifeboat = world.lifeboat(seeded.plan.clone());
    let summary = drill::run(&lifeboat, &world, &seeded).await;
    assert!(summary.ok(), "{}", summary.table());

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-reports");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bucket = format!("s3://{}/", world.state_bucket());
    let mut rendered = Vec::new();
    for step in summary.steps.iter().filter(|s| s.report.is_some()) {
        let key = step
            .report
            .as_deref()
            .unwrap()
            .strip_prefix(&bucket)
            .unwrap();
        let stem = key.strip_suffix(".md").unwrap();
        let html = world
            .state_object(&format!("{stem}.html"))
            .await
            .unwrap_or_else(|| panic!("no HTML report beside {key}"));
        let json = world.state_object(&format!("{stem}.json")).await.unwrap();
        let name = step.step.replace(' ', "-");
        let page = dir.join(format!("{name}.html"));
        std::fs::write(&page, &html).unwrap();
        let png = dir.join(format!("{name}.png"));
        let dom = render(&page, &png, page_height(&html));
        png_is_an_image(&png);
        println!("{}: {} ({})", step.step, png.display(), page.display());
        rendered.push((step.step, json, text_of(&dom), html));
    }
    let steps: Vec<&str> = rendered.iter().map(|r| r.0).collect();
    assert_eq!(
        steps,
        ["copy", "backup copy", "verify", "failover", "failback"],
        "{}",
        chromium.display()
    );

    for (step, _, text, html) in &rendered {
        // Self-contained: nothing to fetch, nothing to run.
        for needle in ["<script", "<link", "src=\"", "url("] {
            assert!(!html.contains(needle), "{step}: {needle}");
        }
        assert!(
            text.contains("Errors and what to do next No error."),
            "{step}: {text}"
        );
    }

    // The verification: the verdict, the restore time and the data age it measured.
    let (_, json, text, _) = &rendered[2];
    let verify: VerifyReport = serde_json::from_str(json).unwrap();
    let restore = verify.figures.restore_seconds.expect("restore measured");
    let age = verify.figures.data_age_seconds.expect("data age measured");
    let at_snapshot = verify.figures.data_age_at_snapshot_seconds.unwrap();
    for part in [
        format!("Restore verification — {}", verify.run.plan),
        "verified Lifeboat verify-restore run".to_owned(),
        format!(
            "Restore time {} {restore} s, requested → available",
            span(restore)
        ),
        format!("Data age {} {age} s: the RPO", span(age)),
        format!(
            "Data age at the snapshot {} {at_snapshot} s",
            span(at_snapshot)
        ),
        format!(
            "Checks passed {} of {}",
            verify.verification.checks.len(),
            verify.verification.checks.len()
        ),
        format!(
            "Copy restored {} of",
            verify.verification.copy.as_ref().unwrap().id
        ),
    ] {
        assert!(
            text.contains(&part),
            "verify: {part:?} not in the rendered page:\n{text}"
        );
    }
    for step in &verify.verification.steps {
        assert!(
            text.contains(&step.detail),
            "verify: step {:?} not shown",
            step.detail
        );
    }

    // The failover: promoted, the record flipped, the time from the trigger to DNS in sync.
    let (_, json, text, _) = &rendered[3];
    let failover: FailoverReport = serde_json::from_str(json).unwrap();
    let insync = failover.failover.seconds_to_dns_insync().expect("in sync");
    for part in [
        "succeeded Lifeboat failover run".to_owned(),
        format!("Trigger to DNS in sync {} {insync} s", span(insync)),
        "Promoted 2 of 2".to_owned(),
        format!(
            "{} CNAME {} {}",
            drill::RECORD,
            drill::PRIMARY_ALB,
            drill::DR_ALB
        ),
        "rds-replica:orders-dr".to_owned(),
    ] {
        assert!(
            text.contains(&part),
            "failover: {part:?} not in the rendered page:\n{text}"
        );
    }

    // The copy: each database's lag.
    let (_, json, text, _) = &rendered[0];
    let copy: CopyReport = serde_json::from_str(json).unwrap();
    assert!(!copy.copy_lag.is_empty());
    for lag in &copy.copy_lag {
        // The drill's first copy run starts the copies: none is available yet, and the page
        // says so for each database; a later run shows the age.
        let row = match lag.lag_seconds {
            Some(seconds) => format!(
                "{} {} {} {} {}",
                lag.kind,
                lag.db,
                lag.newest_copy.as_deref().unwrap_or("-"),
                lag.data_taken_at.map_or("-".into(), time_of),
                span(seconds)
            ),
            None => format!("{} {} - - no copy yet", lag.kind, lag.db),
        };
        assert!(
            text.contains(&row),
            "copy: {row:?} not in the rendered page:\n{text}"
        );
    }
    assert!(
        text.contains(&format!(
            "Copies started {} finish",
            copy.count(lifeboat_shared::copy::Outcome::Started)
        )),
        "{text}"
    );
}
