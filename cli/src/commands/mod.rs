//! One module per `lifeboat` command.

pub(crate) mod copy_backups;
pub(crate) mod copy_snapshots;
pub(crate) mod failover;
pub(crate) mod plan;
pub(crate) mod status;
pub(crate) mod verify;
