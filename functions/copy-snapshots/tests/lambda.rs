//! The `copy-snapshots` binary as Lambda runs it: started with Lambda's environment, it asks a
//! Runtime API for events and posts answers. The Runtime API here is a small stand-in on
//! loopback that serves the real payloads from `events/`; AWS is the emulator.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the function posted back for one invocation.
#[derive(Debug)]
struct Answer {
    request_id: String,
    /// `response` or `error`.
    kind: String,
    body: serde_json::Value,
}

/// A minimal Lambda Runtime API: hands out `events` in order, then keeps the function waiting.
async fn runtime_api(events: Vec<serde_json::Value>) -> (String, mpsc::UnboundedReceiver<Answer>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let queue = Arc::new(Mutex::new(
        events.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    let (answers, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let queue = queue.clone();
            let answers = answers.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).await.unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).await.unwrap();
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    if path.ends_with("/invocation/next") {
                        let next = queue.lock().unwrap().pop_front();
                        let Some((index, event)) = next else {
                            // No more events: hold the function here until the test ends.
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        };
                        let payload = event.to_string();
                        let deadline = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 60_000;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: request-{index}\r\n\
                             Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{RECOVERY}:123456789012:function:copy-snapshots\r\n\
                             Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{payload}",
                            payload.len()
                        );
                        write.write_all(response.as_bytes()).await.unwrap();
                    } else {
                        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                        if let ["2018-06-01", "runtime", "invocation", id, kind] = parts.as_slice()
                        {
                            let body =
                                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                            let _ = answers.send(Answer {
                                request_id: (*id).to_owned(),
                                kind: (*kind).to_owned(),
                                body,
                            });
                        }
                        write
                            .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                            .await
                            .unwrap();
                    }
                }
            });
        }
    });
    (address, received)
}

/// The function's process with Lambda's environment, acting in `world`'s account.
async fn function(world: &World, runtime_api: &str, plan: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_copy-snapshots"));
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "copy-snapshots")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/copy-snapshots")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("LIFEBOAT_PLAN", plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    world
        .account
        .configure(&mut command, Emulator::shared(), RECOVERY)
        .await;
    command
}

fn write_plan(world: &World, body: &str) -> String {
    let path = std::env::temp_dir().join(format!("lifeboat-lambda-plan-{}.toml", world.account.id));
    std::fs::write(
        &path,
        format!(
            "name = \"lambda\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n{body}",
            world.state_bucket()
        ),
    )
    .unwrap();
    path.display().to_string()
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
