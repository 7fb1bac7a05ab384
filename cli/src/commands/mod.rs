//! One module per `lifeboat` command.

pub mod copy_backups;
pub mod copy_snapshots;
pub mod failover;
pub mod plan;
pub mod status;
pub mod verify;
