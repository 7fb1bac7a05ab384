//! The `lifeboat` binary as a user runs it: arguments in, text and an exit status out.

use std::process::{Command, Output};

use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

fn lifeboat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .output()
        .expect("run lifeboat")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example_plan() -> String {
    format!("{}/../examples/tracking.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn plan_check_accepts_the_example_plan() {
    let out = lifeboat(&["plan", "check", &example_plan()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("is valid: \"tracking\", us-west-2 → us-east-2"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn plan_check_lists_every_error_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("lifeboat-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let plan = std::fs::read_to_string(example_plan())
        .unwrap()
        .replace("retain_days = 7", "retain_days = 7\nretian_days = 9")
        .replace(
            "recovery_region = \"us-east-2\"",
            "recovery_region = \"us-east-2\"\nstate_buckt = \"x\"",
        )
        .replace("cooldown = \"6h\"", "cooldown = \"6 fortnights\"")
        .replace("type = \"CNAME\"", "type = \"MX\"");
    std::fs::write(&bad, plan).unwrap();
    let out = lifeboat(&["plan", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is invalid (4 errors):"), "{stderr}");
    for path in [
        "state_buckt: unknown key",
        "copy.rds[0].retian_days: unknown key",
        "failover.cooldown:",
        "failover.dns[0].type:",
    ] {
        assert!(
            stderr.contains(&format!("\n  {path}")),
            "missing {path} in {stderr}"
        );
    }
}

#[test]
fn plan_schema_prints_the_json_schema() {
    let out = lifeboat(&["plan", "schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["title"], "Lifeboat plan");
    assert!(schema["properties"]["copy"].is_object());
}

#[test]
fn a_mistyped_command_exits_2_with_usage() {
    let out = lifeboat(&["copy", "snapshot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn copy_snapshots_runs_against_aws_named_by_the_environment() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    let plan_path =
        std::env::temp_dir().join(format!("lifeboat-cli-plan-{}.toml", world.account.id));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.rds]]\ndb_instance = \"orders\"\n",
            world.state_bucket()
        ),
    )
    .unwrap();
    let run = async |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command
            .args(["copy", "snapshots", "--plan", plan_path.to_str().unwrap()])
            .args(extra);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };

    let dry = run(&["--dry-run"]).await;
    assert!(
        dry.status.success(),
        "{}{}",
        text(&dry.stdout),
        text(&dry.stderr)
    );
    assert!(
        text(&dry.stdout).contains("would-start"),
        "{}",
        text(&dry.stdout)
    );
    assert!(text(&dry.stdout).contains("dry run: nothing was copied, deleted or recorded"));
    assert!(world.recovery_snapshots().await.is_empty());

    let real = run(&["--json"]).await;
    assert!(real.status.success(), "{}", text(&real.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&real.stdout).expect("--json prints the report");
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["items"][0]["outcome"], "started");
    assert_eq!(world.recovery_snapshots().await.len(), 1);
}

#[test]
fn copy_snapshots_refuses_a_malformed_event_file_naming_the_field() {
    let event =
        std::env::temp_dir().join(format!("lifeboat-cli-event-{}.json", std::process::id()));
    let fixture = format!(
        "{}/../events/rds-snapshot-created.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    value["detail"].as_object_mut().unwrap().remove("EventID");
    std::fs::write(&event, value.to_string()).unwrap();
    let out = lifeboat(&[
        "copy",
        "snapshots",
        "--plan",
        &example_plan(),
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("invalid event: detail.EventID is missing"),
        "{}",
        text(&out.stderr)
    );
}
