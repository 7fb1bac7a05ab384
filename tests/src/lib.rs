//! Lifeboat's test harness: the pinned Python tools, the AWS emulator (moto) and helpers that
//! seed an emulated AWS world through the real SDK. The integration tests (one binary,
//! `tests/it/main.rs`, a module per area) and the drill (`cargo run -p lifeboat-tests --bin
//! drill`) both use it.
//!
//! # Layout
//!
//! - [`venv`]: `.venv` with moto and cfn-lint, installed on first use.
//! - [`databases`]: the machine's PostgreSQL and MariaDB, which the emulator's restored DB
//!   instances answer on: databases seeded for a test, queries as a given user.
//! - [`drill`]: the DR drill (seed a primary Region like the brief's customers; copy, verify,
//!   fail over, fail back) that the `drill` binary runs and a test checks.
//! - [`emulator`]: moto on a free loopback port, an account per test, the request recorder.
//! - [`lambda`]: a Lambda binary run as Lambda runs it, against a Runtime API stand-in.
//! - [`proxy`]: a fault-injecting proxy between the SDK and the emulator.
//! - [`template`]: the deployable templates read offline (cfn-lint's loader) and evaluated: IAM
//!   policies, event patterns, conditions and alarms, for one deployment's values.
//! - [`world`]: seeding — DBs, clusters, snapshots, KMS keys, the state bucket, the bus, AWS
//!   Backup vaults and recovery points, replicas and global databases, Route 53 and CloudWatch,
//!   and the emulator's control API for what it holds (Backup job states, restores in `creating`,
//!   promotions, Route 53 changes); one file per AWS service, one `World`.

pub mod chromium;
pub mod databases;
pub mod drill;
pub mod emulator;
pub mod lambda;
pub mod proxy;
pub mod template;
pub mod venv;
pub mod world;

pub use emulator::{Account, Emulator, RecordedCall};
pub use proxy::FaultProxy;
pub use world::World;

/// The verification's options for tests: looks every 100 ms instead of 15 s, and a busy lease
/// answered within 300 ms.
pub fn quick_verify_options() -> lifeboat_shared::verify::VerifyOptions {
    use std::time::Duration;
    lifeboat_shared::verify::VerifyOptions {
        poll: Duration::from_millis(100),
        lease: lifeboat_shared::state::LeaseTiming {
            wait_at_most: Duration::from_millis(300),
            poll_every: Duration::from_millis(100),
            ..lifeboat_shared::state::LeaseTiming::default()
        },
        ..lifeboat_shared::verify::VerifyOptions::default()
    }
}
