//! Lifeboat's Lambda binaries as Lambda runs them: started with Lambda's environment, a function
//! asks a Runtime API for events and posts answers. The Runtime API here is a small stand-in on
//! loopback that serves the real payloads from `events/`; AWS is the emulator.

use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::world::RECOVERY;
use crate::{Emulator, World};

/// What the function posted back for one invocation.
#[derive(Debug)]
pub struct Answer {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    pub body: serde_json::Value,
}

/// A minimal Lambda Runtime API: hands out `events` in order, then keeps the function waiting.
pub async fn runtime_api(
    events: Vec<serde_json::Value>,
) -> (String, mpsc::UnboundedReceiver<Answer>) {
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
                        // The functions' configured timeout (template.yaml: 900 s), as Lambda
                        // sets it: the function gets the whole invocation to work in.
                        let deadline = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 900_000;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: request-{index}\r\n\
                             Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{RECOVERY}:123456789012:function:lifeboat\r\n\
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

/// The function's process (the binary at `binary`, named `name`) with Lambda's environment,
/// acting in `world`'s account.
pub async fn function(
    world: &World,
    binary: &str,
    name: &str,
    runtime_api: &str,
    plan: &str,
) -> Command {
    let mut command = Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
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

/// Writes a plan for `world` (header plus `body`) where the function can read it; returns its path.
pub fn write_plan(world: &World, body: &str) -> String {
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
