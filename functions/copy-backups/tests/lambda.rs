//! The `copy-backups` binary as Lambda runs it: started with Lambda's environment, it asks a
//! Runtime API for events and posts answers. The Runtime API here is a small stand-in on
//! loopback (the same as `functions/copy-snapshots/tests/lambda.rs`'s) that serves the real
//! payloads from `events/`; AWS is the emulator, with its AWS Backup extension.

use std::process::Command;
use std::time::Duration;

use lifeboat_tests::lambda::{self, Answer, runtime_api, write_plan};
use lifeboat_tests::world::{PRIMARY, RECOVERY, backup_role};
use lifeboat_tests::{Emulator, World};

/// The `copy-backups` binary with Lambda's environment, acting in `world`'s account.
async fn function(world: &World, runtime_api: &str, plan: &str) -> Command {
    lambda::function(
        world,
        env!("CARGO_BIN_EXE_copy-backups"),
        "copy-backups",
        runtime_api,
        plan,
    )
    .await
}

/// The world of a backup copy: Lifeboat's stack, the source vault `Default` in the primary
/// Region holding a completed recovery point of an EC2 instance, the destination vault `dr` in
/// the recovery Region, and a plan with one `[[copy.backup]]` entry between them.
async fn backup_world() -> (World, String) {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.backup_vault(PRIMARY, "Default").await;
    let destination = world.backup_vault(RECOVERY, "dr").await;
    let instance = format!(
        "arn:aws:ec2:{PRIMARY}:{}:instance/i-0515aee7de03f58e1",
        world.account.id
    );
    world.recovery_point(PRIMARY, "Default", &instance).await;
    let plan = write_plan(
        &world,
        &format!(
            "[[copy.backup]]\nsource_vault = \"Default\"\ndestination_vault = \"{destination}\"\n\
             iam_role = \"{}\"\nresource_types = [\"EC2\", \"EBS\"]\ndelete_after_days = 14\n",
            backup_role(&world.account.id)
        ),
    );
    (world, plan)
}

/// A fixture from `events/`, in `world`'s account (the fixtures say 111122223333).
fn fixture(text: &str, world: &World) -> serde_json::Value {
    serde_json::from_str(&text.replace("111122223333", &world.account.id)).unwrap()
}

/// Runs the function for `events` and returns its answers, in order, and its stdout and stderr.
async fn invoke(
    world: &World,
    plan: &str,
    events: Vec<serde_json::Value>,
) -> (Vec<Answer>, String, String) {
    let count = events.len();
    let (address, mut answers) = runtime_api(events).await;
    let mut child = function(world, &address, plan).await.spawn().unwrap();
    let mut received = Vec::new();
    for _ in 0..count {
        received.push(
            tokio::time::timeout(Duration::from_secs(60), answers.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    (
        received,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The Embedded Metric Format documents among the function's stdout lines.
fn emf(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect()
}

#[tokio::test]
async fn the_function_answers_a_schedule_with_a_run_and_a_malformed_backup_event_with_a_permanent_error()
 {
    let (world, plan) = backup_world().await;
    let schedule: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/schedule.json")).unwrap();
    let mut malformed = fixture(
        include_str!("../../../events/backup-job-completed.json"),
        &world,
    );
    malformed["detail"]["backupVaultArn"] = "arn:aws:s3:::not-a-vault".into();

    let (answers, stdout, _) = invoke(&world, &plan, vec![schedule, malformed]).await;
    let (first, second) = (&answers[0], &answers[1]);

    assert_eq!(
        (first.request_id.as_str(), first.kind.as_str()),
        ("request-0", "response"),
        "{first:#?}"
    );
    assert_eq!(first.body["outcome"], "succeeded", "{first:#?}");
    assert_eq!(first.body["summary"]["copy_jobs_started"], 1, "{first:#?}");
    assert!(
        first.body["report"]["json"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "s3://{}/runs/lambda/copy-backups/",
                world.state_bucket()
            )),
        "{first:#?}"
    );
    // The copy job really was started in the primary Region, into the plan's destination.
    let jobs = world
        .primary_backup
        .list_copy_jobs()
        .send()
        .await
        .unwrap()
        .copy_jobs
        .unwrap_or_default();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(
        jobs[0]
            .destination_backup_vault_arn()
            .is_some_and(|arn| arn.ends_with(":backup-vault:dr")),
        "{jobs:?}"
    );

    assert_eq!(
        (second.request_id.as_str(), second.kind.as_str()),
        ("request-1", "error"),
        "{second:#?}"
    );
    assert_eq!(second.body["errorType"], "Permanent.InvalidEvent");
    assert!(
        second.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("detail.backupVaultArn"),
        "{second:#?}"
    );

    // The run's metrics went to stdout as Embedded Metric Format, one JSON document per line.
    let docs = emf(&stdout);
    assert!(
        docs.iter().any(|doc| doc["CopyJobsStarted"] == 1.0
            && doc["CopyJobsFailed"] == 0.0
            && doc["Plan"] == "lambda"
            && doc["Task"] == "copy-backups"),
        "{stdout}"
    );
}

/// The real AWS Backup payloads of `events/` start runs (a response, not an error: Lambda
/// neither retries them nor parks them in the failure queue); an event of another task is
/// ignored with its reason.
#[tokio::test]
async fn the_function_answers_the_backup_job_and_copy_job_events() {
    let (world, plan) = backup_world().await;
    let events = vec![
        fixture(
            include_str!("../../../events/backup-job-completed.json"),
            &world,
        ),
        fixture(include_str!("../../../events/copy-job-failed.json"), &world),
        fixture(
            include_str!("../../../events/rds-snapshot-created.json"),
            &world,
        ),
    ];
    let (answers, stdout, stderr) = invoke(&world, &plan, events).await;
    for (index, answer) in answers.iter().enumerate() {
        assert_eq!(
            (answer.request_id.as_str(), answer.kind.as_str()),
            (format!("request-{index}").as_str(), "response"),
            "{answer:#?}"
        );
    }

    // "Backup Job State Change" COMPLETED in the source vault: the new recovery point is copied.
    let completed = &answers[0].body;
    assert_eq!(completed["outcome"], "succeeded", "{completed:#}");
    assert_eq!(
        completed["summary"]["copy_jobs_started"], 1,
        "{completed:#}"
    );

    // "Copy Job State Change" FAILED from that vault into the plan's destination: a run, which
    // finds the recovery point copied by then and starts nothing more.
    let failed = &answers[1].body;
    assert_eq!(failed["outcome"], "succeeded", "{failed:#}");
    assert_eq!(failed["summary"]["copy_jobs_started"], 0, "{failed:#}");
    assert_eq!(failed["summary"]["already_copied"], 1, "{failed:#}");

    // An RDS snapshot event is copy-snapshots' to act on.
    let reason = answers[2].body["ignored"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#?}", answers[2]));
    assert!(reason.contains("copy-snapshots"), "{reason}");
    let logs = format!("{stdout}{stderr}");
    assert!(
        logs.lines()
            .any(|line| line.contains("event ignored") && line.contains("copy-snapshots")),
        "{logs}"
    );

    let runs: Vec<serde_json::Value> = emf(&stdout)
        .into_iter()
        .filter(|doc| doc.get("CopyJobsStarted").is_some())
        .collect();
    assert_eq!(runs.len(), 2, "one metrics line per run: {stdout}");
}

#[tokio::test]
async fn a_bad_backup_entry_fails_the_function_at_start_naming_the_error() {
    let world = World::new(Emulator::shared().new_account().await);
    let plan = write_plan(
        &world,
        "[[copy.backup]]\nsource_vault = \"Default\"\ndestination_vault = \"arn:aws:backup:us-east-2:111122223333:backup-vault:dr\"\n\
         iam_role = \"arn:aws:iam::111122223333:role/r\"\nresource_types = [\"EC2\"]\nsoruce_vault = \"x\"\n",
    );
    let (address, _answers) = runtime_api(vec![]).await;
    let output = function(&world, &address, &plan).await.output().unwrap();
    assert!(!output.status.success());
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        logs.contains("copy.backup[0].soruce_vault: unknown key"),
        "{logs}"
    );
}
