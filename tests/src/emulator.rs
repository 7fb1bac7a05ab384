//! The AWS emulator (moto) as a child process on a free loopback port.
//!
//! One emulator serves a whole test binary; each test gets an account of its own
//! ([`Emulator::new_account`]), so tests run in parallel without seeing each other's resources
//! and need no reset.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::venv;

pub struct Emulator {
    endpoint: String,
    recording: PathBuf,
    // Held open for the emulator's life: it exits when this pipe closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Emulator {
    /// Starts an emulator. It stops when this process exits.
    pub fn start() -> Emulator {
        let python = venv::python();
        let server = venv::workspace_root().join("tests/emulator/server.py");
        let recording = std::env::temp_dir().join(format!(
            "lifeboat-moto-{}-{}.jsonl",
            std::process::id(),
            NEXT_SERVER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&recording);
        let mut child = Command::new(&python)
            .arg(&server)
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the emulator prints its address");
        let address = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"))
            .to_owned();
        let stdin = child.stdin.take().expect("piped");
        Emulator {
            endpoint: format!("http://{address}"),
            recording,
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    }

    /// The emulator this test binary shares, started on first use.
    pub fn shared() -> &'static Emulator {
        static SHARED: OnceLock<Emulator> = OnceLock::new();
        SHARED.get_or_init(Emulator::start)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The file moto appends every request to (one JSON object per line).
    pub fn recording(&self) -> &PathBuf {
        &self.recording
    }

    /// A fresh AWS account in the emulator, with credentials for it. moto keeps every account's
    /// resources apart, so a test's account holds only what that test made.
    pub async fn new_account(&self) -> Account {
        let account_id = format!(
            "{:012}",
            100_000_000_000
                + NEXT_ACCOUNT.fetch_add(1, Ordering::Relaxed) * 7919
                + std::process::id() as u64 % 7919
        );
        let bootstrap = self.config_with(
            Credentials::new("bootstrap", "bootstrap", None, None, "lifeboat-tests"),
            "us-east-1",
        );
        let sts = aws_sdk_sts::Client::new(&bootstrap);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account_id}:role/lifeboat-test"))
            .role_session_name("lifeboat-test")
            .send()
            .await
            .expect("the emulator's STS hands out credentials for any account");
        let c = assumed
            .credentials()
            .expect("AssumeRole returns credentials");
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "lifeboat-tests",
        );
        Account {
            id: account_id,
            access_key_id: c.access_key_id().to_owned(),
            config: self.config_with(credentials, "us-east-2"),
        }
    }

    fn config_with(&self, credentials: Credentials, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(region.to_owned()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
            .build()
    }
}

static NEXT_ACCOUNT: AtomicU64 = AtomicU64::new(1);
static NEXT_SERVER: AtomicU64 = AtomicU64::new(1);

/// One emulated AWS account and an `SdkConfig` that acts in it.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    /// Every request this account signs carries it: how recorded calls are told apart.
    pub access_key_id: String,
    pub config: SdkConfig,
}

impl Account {
    /// Makes `command` act in this account against `emulator`, the way a user's shell would:
    /// through the standard AWS environment variables.
    pub async fn configure(
        &self,
        command: &mut std::process::Command,
        emulator: &Emulator,
        region: &str,
    ) {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .config
            .credentials_provider()
            .expect("accounts have credentials");
        let credentials = provider
            .provide_credentials()
            .await
            .expect("static credentials");
        command
            .env("AWS_ENDPOINT_URL", emulator.endpoint())
            .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env(
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default(),
            )
            .env("AWS_REGION", region)
            .env_remove("AWS_PROFILE");
    }
}

/// One request the emulator recorded.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub region: String,
    /// The request body as text (form parameters for query-protocol services such as RDS).
    pub body: String,
    pub service: String,
    /// The API action: `Action=` of a query request, `X-Amz-Target` of a JSON request, or
    /// `METHOD path` of a REST request.
    pub action: String,
}

impl Emulator {
    /// The calls one account made, in order.
    pub fn calls_of(&self, account: &Account) -> Vec<RecordedCall> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|entry| {
                let headers = &entry["headers"];
                let authorization = headers["Authorization"].as_str()?;
                let credential = authorization
                    .split("Credential=")
                    .nth(1)?
                    .split(',')
                    .next()?;
                let mut scope = credential.split('/');
                if scope.next()? != account.access_key_id {
                    return None;
                }
                let _date = scope.next()?;
                let region = scope.next()?.to_owned();
                let service = scope.next()?.to_owned();
                let raw = entry["body"].as_str().unwrap_or_default();
                let body = if entry["body_encoded"].as_bool() == Some(true) {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .unwrap_or_default();
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    raw.to_owned()
                };
                let body = body.as_str();
                let action = if let Some(target) = headers["X-Amz-Target"].as_str() {
                    target.to_owned()
                } else if let Some(action) = body.split('&').find_map(|p| p.strip_prefix("Action="))
                {
                    action.to_owned()
                } else {
                    let url = entry["url"].as_str().unwrap_or("?");
                    let path = url
                        .split("://")
                        .nth(1)
                        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
                        .unwrap_or(url);
                    format!(
                        "{} {}",
                        entry["method"].as_str().unwrap_or("?"),
                        path.split('?').next().unwrap_or(path)
                    )
                };
                Some(RecordedCall {
                    region,
                    body: body.to_owned(),
                    service,
                    action,
                })
            })
            .collect()
    }
}
