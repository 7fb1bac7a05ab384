//! The HTML reports as people see them: the drill runs against the emulator, each run's
//! `<stem>.html` is read from the state bucket, rendered by headless Chromium (a PNG screenshot
//! at 1280 px wide, kept under `target/tmp/html-reports/`), and the figures the run measured —
//! the verification's restore time, data age and verdict, the failover's trigger-to-DNS time, the
//! copy lag — are read back from the DOM Chromium rendered.
//!
//! Chromium comes from Debian's packages (`apt-get install -y chromium`, which `.ci/run` does
//! when it is missing); `LIFEBOAT_CHROMIUM` names another binary.

use std::path::PathBuf;

use lifeboat_shared::copy::CopyReport;
use lifeboat_shared::failover::FailoverReport;
use lifeboat_shared::html::{span, time_of};
use lifeboat_shared::verify::VerifyReport;
use lifeboat_tests::chromium::{self, page_height, png_is_a_screenshot, render, text_of};
use lifeboat_tests::drill;
use lifeboat_tests::{Emulator, World};

#[tokio::test]
async fn the_drills_reports_render_in_chromium_with_their_figures() {
    let chromium = chromium::binary();
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
        png_is_a_screenshot(&png);
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
        format!("Restore verification — {}", verify.header.plan),
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
