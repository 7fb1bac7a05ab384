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

/// The binary with no AWS settings at all: no credentials, no Region, no config files, nothing
/// that turns IMDS off. Whatever AWS configuration loading would say shows up on stderr.
fn lifeboat_without_aws(args: &[&str]) -> Output {
    let home = scratch_dir("home");
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .output()
        .expect("run lifeboat")
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lifeboat-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

#[tokio::test]
async fn copy_backups_runs_against_aws_named_by_the_environment() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    world.recovery_stack("lifeboat").await;
    world.backup_vault("us-west-2", "Default").await;
    let dr = world.backup_vault(RECOVERY, "dr").await;
    let instance = format!(
        "arn:aws:ec2:us-west-2:{}:instance/i-0123456789abcdef0",
        world.account.id
    );
    let point = world
        .recovery_point("us-west-2", "Default", &instance)
        .await;
    let plan_path = std::env::temp_dir().join(format!(
        "lifeboat-cli-backup-plan-{}.toml",
        world.account.id
    ));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.backup]]\nsource_vault = \"Default\"\ndestination_vault = \"{dr}\"\n\
             iam_role = \"{}\"\nresource_types = [\"EC2\"]\n",
            world.state_bucket(),
            lifeboat_tests::world::backup_role(&world.account.id)
        ),
    )
    .unwrap();
    let run = async |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command
            .args(["copy", "backups", "--plan", plan_path.to_str().unwrap()])
            .args(extra);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };

    let dry = run(&["--dry-run"]).await;
    let stdout = text(&dry.stdout);
    assert!(dry.status.success(), "{stdout}{}", text(&dry.stderr));
    assert!(
        stdout.contains(&format!("would-start     {point}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("dry run: nothing was copied, deleted or recorded"),
        "{stdout}"
    );

    let real = run(&["--json"]).await;
    assert!(real.status.success(), "{}", text(&real.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&real.stdout).expect("--json prints the report");
    assert_eq!(report["task"], "copy-backups");
    assert_eq!(report["outcome"], "succeeded");
    assert_eq!(report["items"][0]["outcome"], "started");
    assert_eq!(report["items"][0]["recovery_point"], point.as_str());
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

/// One schema error (a string where an integer is expected) and one cross-field error (two
/// selectors in one entry); `name` is missing too, so the plan cannot be read whole.
const BAD_PLAN: &str = r#"
primary_region = "us-west-2"
recovery_region = "us-east-2"
state_bucket = "b-x"
[[copy.rds]]
db_instance = "orders"
db_cluster = "orders"
retain_days = "7"
"#;

const BAD_PLAN_ERRORS: [&str; 3] = [
    "  name: missing (this key is required)",
    "  copy.rds[0].retain_days: wrong type: \"7\" is a string where an integer is expected",
    "  copy.rds[0]: set only one of db_instance, db_cluster or tag",
];

#[test]
fn plan_check_reports_schema_and_cross_field_errors_in_one_pass() {
    let plan = scratch_dir("check").join("plan.toml");
    std::fs::write(&plan, BAD_PLAN).unwrap();
    let out = lifeboat(&["plan", "check", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let expected = format!(
        "plan {} is invalid (3 errors):\n{}\n",
        plan.display(),
        BAD_PLAN_ERRORS.join("\n")
    );
    assert_eq!(stderr, expected);
}

#[test]
fn copy_snapshots_reports_a_bad_plan_alone_before_loading_aws_settings() {
    let plan = scratch_dir("copy").join("plan.toml");
    std::fs::write(&plan, BAD_PLAN).unwrap();
    let out = lifeboat_without_aws(&["copy", "snapshots", "--plan", plan.to_str().unwrap()]);
    // Exit 1: the plan is invalid (see the CLI's documented exit statuses).
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Only the plan's errors: no IMDS, Region or credential warnings before them.
    let expected = format!(
        "lifeboat: plan {} is invalid (3 errors):\n{}\n",
        plan.display(),
        BAD_PLAN_ERRORS.join("\n")
    );
    assert_eq!(text(&out.stderr), expected);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn copy_snapshots_reports_a_malformed_event_file_and_a_bad_plan_before_loading_aws_settings() {
    let dir = scratch_dir("event");
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, BAD_PLAN).unwrap();
    let event = dir.join("event.json");
    std::fs::write(&event, "{\"source\": \"aws.rds\",").unwrap();
    let out = lifeboat_without_aws(&[
        "copy",
        "snapshots",
        "--plan",
        plan.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("lifeboat: {} is not JSON: ", event.display())),
        "{stderr}"
    );
    assert_eq!(
        lines[1],
        format!("lifeboat: plan {} is invalid (3 errors):", plan.display()),
        "{stderr}"
    );
    assert_eq!(lines[2..], BAD_PLAN_ERRORS, "{stderr}");

    // A well-formed event file with a good plan still gets no AWS noise when the event is not
    // an EventBridge event.
    std::fs::write(&event, "[1, 2]").unwrap();
    let out = lifeboat_without_aws(&[
        "copy",
        "snapshots",
        "--plan",
        &example_plan(),
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("lifeboat: {}: ", event.display())),
        "{stderr}"
    );
}
