//! `lifeboat status --html FILE`: the posture page, with the copy lag of each database over the
//! recent copy runs read from their records, rendered by headless Chromium (a 1280 px
//! screenshot under `target/tmp/status-html/`) and read back from the rendered DOM.

use std::process::{Command, Output};

use lifeboat_shared::html::{self, span};
use lifeboat_tests::chromium::{page_height, png_is_a_screenshot, render, text_of};
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn status_html_writes_the_posture_page_with_the_copy_lag_of_recent_runs() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    world.db_instance("orders", None, &[]).await;
    world.db_instance("billing", None, &[]).await;
    world.recovery_stack("lifeboat").await;
    let account = world.account.id.clone();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-html");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join(format!("plan-{account}.toml"));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"posture\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.rds]]\ndb_instance = \"orders\"\n[[copy.rds]]\ndb_instance = \"billing\"\n",
            world.state_bucket()
        ),
    )
    .unwrap();
    let plan = plan_path.to_str().unwrap().to_owned();
    let lifeboat = async |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command.args(args).args(["--plan", &plan]);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };

    // Three snapshots of each database, each copied: the copy runs after the first record a lag.
    for n in 1..=3 {
        world.snapshot("orders", &format!("orders-{n}")).await;
        world.snapshot("billing", &format!("billing-{n}")).await;
        for _ in 0..2 {
            let copy = lifeboat(&["copy", "snapshots"]).await;
            assert!(copy.status.success(), "{}", text(&copy.stderr));
            // Lags of a few seconds, growing until the next snapshot.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        }
    }

    let page = dir.join("posture.html");
    let status = lifeboat(&["status", "--html", page.to_str().unwrap()]).await;
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}{}",
        text(&status.stdout),
        text(&status.stderr)
    );
    assert!(
        text(&status.stderr).contains(&format!("the posture page is {}", page.display())),
        "{}",
        text(&status.stderr)
    );
    let html = std::fs::read_to_string(&page).expect("the page is written");
    // Both databases charted, one point per run that measured a lag (5 of the 6 runs).
    assert_eq!(html.matches("<polyline").count(), 2, "{html}");
    assert_eq!(html.matches("<circle").count(), 10, "{html}");
    for needle in ["<script", "<link", "src=\"", "url("] {
        assert!(!html.contains(needle), "{needle}");
    }

    let png = dir.join("posture.png");
    let dom = render(&page, &png, page_height(&html));
    png_is_a_screenshot(&png);
    println!("posture: {} ({})", png.display(), page.display());
    let rendered = text_of(&dom);
    let json = lifeboat(&["status", "--json"]).await;
    let posture: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let read_at = rendered
        .split("Read at ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .expect("the page says when it read the posture");
    for part in [
        "DR posture — posture all budgets hold",
        "6 snapshot copy runs (the last 30 of 14 days)",
        "Copy lag per database over recent copy runs",
        "every value is far under retain_days = 7 (7 days)",
    ] {
        assert!(rendered.contains(part), "{part:?} not in:\n{rendered}");
    }
    for copy in posture["copies"].as_array().unwrap() {
        let row = format!(
            "{} {} ",
            copy["db"].as_str().unwrap(),
            copy["newest_copy"].as_str().unwrap()
        );
        assert!(rendered.contains(&row), "{row:?} not in:\n{rendered}");
        // The age the page shows is its newest copy's age when the page read the posture.
        let taken = copy["taken_at"].as_str().unwrap();
        let taken = OffsetDateTime::parse(taken, &Rfc3339).unwrap();
        let age = (read_at - taken).whole_seconds();
        assert!(
            [age - 1, age, age + 1]
                .iter()
                .any(|a| rendered.contains(&format!(
                    "{row}{} {} ",
                    html::time_of(taken),
                    span(*a)
                ))),
            "{row} age {} not in:\n{rendered}",
            span(age)
        );
    }
}
