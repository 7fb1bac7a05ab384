//! A fault-injecting proxy between the SDK and the emulator. The emulator answers everything at
//! once and never fails by itself; through this proxy a test can make one API action fail with
//! a chosen AWS error, or slow it down, and can see how many calls of an action were in flight at
//! once.
//!
//! Actions are named as the emulator recorder names them: `CopyDBSnapshot` for query-protocol
//! services (RDS), the `X-Amz-Target` for JSON ones, `METHOD /path` for REST ones (S3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
enum Fault {
    /// Answer with this status, content type and body instead of the emulator.
    Respond {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Wait this long, then forward.
    Delay(Duration),
}

#[derive(Debug)]
struct Rule {
    action: String,
    fault: Fault,
    /// How many more calls it applies to; `None` for all.
    remaining: Option<usize>,
}

#[derive(Default)]
struct State {
    rules: Mutex<Vec<Rule>>,
    /// Regions whose every request is dropped unanswered (the connection closed).
    black_holes: Mutex<Vec<String>>,
    /// How many requests each black-holed Region received.
    swallowed: Mutex<HashMap<String, usize>>,
    in_flight: Mutex<HashMap<String, usize>>,
    peak: Mutex<HashMap<String, usize>>,
}

pub struct FaultProxy {
    endpoint: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (an `http://host:port` endpoint) on a free loopback port. It
    /// runs on the calling test's runtime and ends with it.
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| handle(request, state.clone(), upstream.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { endpoint, state }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Answers `action` with an AWS error in the query protocol's XML (RDS's), `times` times
    /// (`None`: every time).
    pub fn fail_with(
        &self,
        action: &str,
        times: Option<usize>,
        status: u16,
        code: &str,
        message: &str,
    ) {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        );
        self.add(
            action,
            Fault::Respond {
                status,
                content_type: "text/xml",
                body,
            },
            times,
        );
    }

    /// Answers `action` with an AWS error in the JSON shape of JSON and REST-JSON protocols
    /// (AWS Backup's: the `__type` names the error, as `x-amzn-ErrorType` would).
    pub fn fail_with_json(
        &self,
        action: &str,
        times: Option<usize>,
        status: u16,
        code: &str,
        message: &str,
    ) {
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        self.add(
            action,
            Fault::Respond {
                status,
                content_type: "application/json",
                body,
            },
            times,
        );
    }

    /// Makes `region` unreachable: every request signed for it (its SigV4 credential scope) is
    /// dropped without an answer, as when a Region's endpoints are down. Route 53 requests are
    /// signed for us-east-1 whatever the client's Region.
    pub fn black_hole(&self, region: &str) {
        self.state
            .black_holes
            .lock()
            .unwrap()
            .push(region.to_owned());
    }

    /// How many requests reached the black-holed `region`.
    pub fn swallowed(&self, region: &str) -> usize {
        self.state
            .swallowed
            .lock()
            .unwrap()
            .get(region)
            .copied()
            .unwrap_or_default()
    }

    /// Delays every call of `action` by `delay` before forwarding it.
    pub fn delay(&self, action: &str, delay: Duration) {
        self.add(action, Fault::Delay(delay), None);
    }

    /// The most calls of `action` that were in flight at once.
    pub fn peak_in_flight(&self, action: &str) -> usize {
        self.state
            .peak
            .lock()
            .unwrap()
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    fn add(&self, action: &str, fault: Fault, remaining: Option<usize>) {
        self.state.rules.lock().unwrap().push(Rule {
            action: action.to_owned(),
            fault,
            remaining,
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<State>,
    upstream: String,
) -> Result<Response<Full<Bytes>>, BlackHoled> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let action = action_of(&parts, &body);
    let region = signed_region(&parts);
    if let Some(region) = region.filter(|r| state.black_holes.lock().unwrap().contains(r)) {
        *state.swallowed.lock().unwrap().entry(region).or_default() += 1;
        // No answer: the caller sees its connection closed, as with an unreachable endpoint.
        return Err(BlackHoled);
    }

    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.action == action && r.remaining != Some(0))
            .map(|rule| {
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                rule.fault.clone()
            })
    };
    match fault {
        Some(Fault::Respond {
            status,
            content_type,
            body,
        }) => {
            let response = Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(body)))
                .expect("a valid response");
            return Ok(response);
        }
        Some(Fault::Delay(delay)) => {
            enter(&state, &action);
            tokio::time::sleep(delay).await;
        }
        None => enter(&state, &action),
    }
    let response = forward(parts, body, &upstream).await;
    *state.in_flight.lock().unwrap().entry(action).or_default() -= 1;
    Ok(response.unwrap_or_else(|e| {
        Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(e)))
            .expect("a valid response")
    }))
}

fn enter(state: &State, action: &str) {
    let mut in_flight = state.in_flight.lock().unwrap();
    let now = in_flight.entry(action.to_owned()).or_default();
    *now += 1;
    let mut peak = state.peak.lock().unwrap();
    let top = peak.entry(action.to_owned()).or_default();
    *top = (*top).max(*now);
}

/// A request dropped by a black-holed Region: hyper closes the connection without a response.
#[derive(Debug)]
struct BlackHoled;

impl std::fmt::Display for BlackHoled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("black-holed Region")
    }
}

impl std::error::Error for BlackHoled {}

/// The Region of a SigV4 request's credential scope (`Credential=AKID/20261126/us-west-2/rds/…`).
fn signed_region(parts: &hyper::http::request::Parts) -> Option<String> {
    let authorization = parts.headers.get("authorization")?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split('/').nth(2).map(str::to_owned)
}

fn action_of(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.to_owned();
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text.split('&').find_map(|p| p.strip_prefix("Action=")) {
        return action.to_owned();
    }
    format!("{} {}", parts.method, parts.uri.path())
}

async fn forward(
    parts: hyper::http::request::Parts,
    body: Bytes,
    upstream: &str,
) -> Result<Response<Full<Bytes>>, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::from_parts(parts, Full::new(body));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
