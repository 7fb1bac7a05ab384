//! Lifeboat's domain: disaster-recovery automation for AWS.
//!
//! Lifeboat copies RDS / Aurora snapshots (and, later, AWS Backup recovery points) to a recovery
//! Region, proves they restore, and fails over. The Lambda functions in `functions/` and the
//! `lifeboat` CLI are thin shells around this crate, so both run exactly the same code.
//!
//! # Layout
//!
//! - [`plan`]: the plan file — typed, validated (every error with its path), JSON Schema.
//! - [`aws`]: one `SdkConfig`, clients for the primary and recovery Regions, retries, timeouts.
//! - [`clock`]: the clock, timestamps, ages in words, waits that keep to a deadline.
//! - [`context`]: the plan and the clients, built once per process ([`context::Lifeboat`]).
//! - [`trigger`]: what started a run, read from an EventBridge event.
//! - [`backup`]: the AWS Backup copy task — decide (pure) which recovery points to copy.
//! - [`copies`]: which snapshots are Lifeboat's copies (names and ownership tags).
//! - [`snapshots`]: the recovery Region's manual snapshots, as listed.
//! - [`copy`]: the snapshot copy task — decide (pure), then copy and prune within the quotas.
//! - [`verify`]: restore verification — restore a copy, check its data, measure, clean up.
//! - [`failover`]: promote the recovery Region's databases and flip DNS, with guards.
//! - [`lambda`]: a Lambda function's `main`: the plan once per container, then its task per event.
//! - [`tasks`]: each task end to end: trigger → lease → work → record.
//! - [`status`]: the DR posture at a glance (`lifeboat status`), from the recovery Region only.
//! - [`record`]: run reports in the state bucket and the run event on Lifeboat's bus.
//! - [`html`]: self-contained HTML pages (escaping, frame, tables, timeline, inline SVG charts)
//!   for the run reports and the posture.
//! - [`bucket`]: the state bucket — the one owner of its key layout and of the S3 calls on it.
//! - [`state`]: leases (locks) in the state bucket.
//! - [`pause`]: the copy and verify schedules paused by a failover, resumed by failback.
//! - [`metrics`]: CloudWatch Embedded Metric Format.
//! - [`error`]: the error type, which names resource and Region and knows what is retryable.

#![warn(unreachable_pub)]

pub mod aws;
pub mod backup;
pub mod bucket;
pub mod clock;
pub mod context;
pub mod copies;
pub mod copy;
pub mod error;
pub mod failover;
pub mod html;
pub mod lambda;
pub mod metrics;
pub mod pause;
pub mod plan;
pub mod record;
pub mod snapshots;
pub mod state;
pub mod status;
pub mod tasks;
pub mod trigger;
pub mod verify;

pub use error::Error;
