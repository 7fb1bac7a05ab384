//! Lifeboat's integration tests, one binary with a module per area (as zero-to-production's
//! `tests/api/main.rs`): the AWS SDK is linked once, and one emulator (`Emulator::shared()`)
//! serves every area, each test in an account of its own. Run one area with
//! `cargo test -p lifeboat-tests --test it failover::`.

mod copy_backups;
mod copy_snapshots;
mod drill;
mod emulator;
mod emulator_backup;
mod emulator_failover;
mod emulator_rds;
mod events;
mod failover;
mod faults;
mod html_reports;
mod lease;
mod status;
mod template;
mod template_failover;
mod template_verify;
mod verify_checks;
mod verify_restore;
mod verify_restore_testing;
mod verify_task;
