//! The AWS Backup copy task: `copy-backups`.

use super::{Finished, RunOptions, TaskReport, answer, run_recorded};
use crate::backup::{Asked, BackupReport, TASK, asked, copy_backups};
use crate::context::Lifeboat;
use crate::error::Error;
use crate::record::RunHeader;
use crate::trigger::Trigger;

pub const COPY_BACKUPS: &str = TASK;

impl TaskReport for BackupReport {
    fn failed(header: RunHeader, error: &Error) -> Self {
        BackupReport::failed(header, error)
    }
}

/// Runs the backup copy for a trigger (what each asks for: [`crate::backup::asked`]), under the
/// `copy-backups` lease (AWS Backup's copy job quota is per account and destination Region,
/// like the lease), then writes the record.
pub async fn run_copy_backups(
    lifeboat: &Lifeboat,
    trigger: &Trigger,
    options: RunOptions,
) -> Result<Finished<BackupReport>, Error> {
    let plan = &lifeboat.plan;
    let scope = match asked(trigger, plan) {
        Asked::Copy(scope) => scope,
        Asked::Ignored { reason } => return Ok(Finished::Ignored { reason }),
    };
    if let Some(reason) = super::paused_schedule(lifeboat, trigger).await? {
        return Ok(Finished::Ignored { reason });
    }
    let clients = &lifeboat.clients;
    run_recorded(
        lifeboat,
        COPY_BACKUPS,
        trigger,
        options,
        async |header, lease| copy_backups(clients, plan, &scope, header, lease).await,
    )
    .await
}

/// The `copy-backups` Lambda's work for one EventBridge event, like
/// [`super::handle_copy_snapshots_event`]'s: a well-formed event it has nothing to do for is
/// answered `{"ignored": reason}`; a malformed AWS Backup event is an `InvalidEvent` error.
pub async fn handle_copy_backups_event(
    lifeboat: &Lifeboat,
    event: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let trigger = Trigger::from_event(event)?;
    Ok(answer(
        run_copy_backups(lifeboat, &trigger, RunOptions::default()).await?,
    ))
}
