//! The `copy-snapshots` binary as Lambda runs it: started with Lambda's environment, it asks a
//! Runtime API for events and posts answers. The Runtime API here is a small stand-in on
//! loopback that serves the real payloads from `events/`; AWS is the emulator.

use std::process::Command;
use std::time::Duration;

use lifeboat_tests::lambda::{self, runtime_api, write_plan};
use lifeboat_tests::{Emulator, World};

/// The `copy-snapshots` binary with Lambda's environment, acting in `world`'s account.
async fn function(world: &World, runtime_api: &str, plan: &str) -> Command {
    lambda::function(
        world,
        env!("CARGO_BIN_EXE_copy-snapshots"),
        "copy-snapshots",
        runtime_api,
        plan,
    )
    .await
}

#[tokio::test]
async fn the_function_answers_a_schedule_with_a_run_and_a_malformed_event_with_a_permanent_error() {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    let plan = write_plan(&world, "[[copy.rds]]\ndb_instance = \"orders\"\n");

    let schedule: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/schedule.json")).unwrap();
    let mut malformed: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json")).unwrap();
    malformed["detail"]["SourceArn"] = "arn:aws:s3:::not-a-snapshot".into();
    malformed["resources"] = serde_json::json!([]);
    let (address, mut answers) = runtime_api(vec![schedule, malformed]).await;

    let mut child = function(&world, &address, &plan).await.spawn().unwrap();
    let first = tokio::time::timeout(Duration::from_secs(60), answers.recv())
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(60), answers.recv())
        .await
        .unwrap()
        .unwrap();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(
        (first.request_id.as_str(), first.kind.as_str()),
        ("request-0", "response"),
        "{first:#?}"
    );
    assert_eq!(first.body["outcome"], "succeeded");
    assert_eq!(first.body["summary"]["copies_started"], 1);
    assert!(
        first.body["report"]["json"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "s3://{}/runs/lambda/copy-snapshots/",
                world.state_bucket()
            ))
    );
    assert_eq!(world.recovery_snapshots().await.len(), 1);

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
            .contains("detail.SourceArn"),
        "{second:#?}"
    );

    // The run's metrics went to stdout as Embedded Metric Format, one JSON document per line.
    let emf: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect();
    assert!(
        emf.iter()
            .any(|doc| doc["CopiesStarted"] == 1.0 && doc["Plan"] == "lambda"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_function_answers_events_of_other_kinds_as_ignored_not_as_errors() {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    let plan = write_plan(&world, "[[copy.rds]]\ndb_instance = \"orders\"\n");
    let events: Vec<serde_json::Value> = [
        include_str!("../../../events/rds-db-instance-event.json"),
        include_str!("../../../events/cloudwatch-alarm-state-change.json"),
    ]
    .iter()
    .map(|text| serde_json::from_str(text).unwrap())
    .collect();
    let (address, mut answers) = runtime_api(events.clone()).await;

    let mut child = function(&world, &address, &plan).await.spawn().unwrap();
    let mut received = Vec::new();
    for _ in &events {
        received.push(
            tokio::time::timeout(Duration::from_secs(60), answers.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    for (index, (event, answer)) in events.iter().zip(&received).enumerate() {
        // A response, not an error: Lambda neither retries it nor sends it to the failure queue.
        assert_eq!(
            (answer.request_id.as_str(), answer.kind.as_str()),
            (format!("request-{index}").as_str(), "response"),
            "{answer:#?}"
        );
        let reason = answer.body["ignored"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer:#?}"));
        let detail_type = event["detail-type"].as_str().unwrap();
        assert!(reason.contains(detail_type), "{reason}");
        // And the reason is in the function's log, where an operator looks.
        assert!(
            logs.lines()
                .any(|line| line.contains("event ignored") && line.contains(detail_type)),
            "{logs}"
        );
    }
}

#[tokio::test]
async fn a_bad_plan_fails_the_function_at_start_naming_the_error() {
    let world = World::new(Emulator::shared().new_account().await);
    let plan = write_plan(&world, "[[copy.rds]]\ndb_instanse = \"orders\"\n");
    let (address, _answers) = runtime_api(vec![]).await;
    let output = function(&world, &address, &plan).await.output().unwrap();
    assert!(!output.status.success());
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        logs.contains("copy.rds[0].db_instanse: unknown key"),
        "{logs}"
    );
}
