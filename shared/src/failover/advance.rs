//! One step of a run: observe its promotions and DNS changes, decide
//! ([`next_action`]), act, note the step.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::calls;
use super::decide;
use super::run::{Action, FailoverRun, Observed, Phase, StepKind, next_action};
use crate::aws::{AwsClients, RegionalClients};
use crate::clock::{now, sleep_before};
use crate::error::Error;
use crate::pause::{self, Paused};
use crate::plan::Plan;

async fn observe(recovery: &RegionalClients, run: &FailoverRun) -> Result<Observed, Error> {
    let mut observed = Observed::default();
    if run.phase == Phase::Promoting {
        for promotion in &run.promotions {
            observed
                .targets
                .push(calls::describe_target(recovery, &promotion.target).await?);
        }
    }
    if run.phase == Phase::WaitingDns {
        for batch in &run.dns {
            observed
                .changes
                .push(match (&batch.change_id, batch.insync_at) {
                    (Some(id), None) => Some(calls::change_status(recovery, id).await?),
                    _ => None,
                });
        }
    }
    Ok(observed)
}

/// Advances `run` by one step (or until the next look would outlast `deadline`): observe what
/// its promotions and DNS changes look like, decide ([`next_action`]), act, note the step.
/// The caller saves the run after each call, before it shows the step or goes on. A run waiting
/// for approval, or finished, comes back as it is.
pub(super) async fn advance_to_next_step(
    clients: &AwsClients,
    plan: &Plan,
    mut run: FailoverRun,
    deadline: Instant,
    poll: Duration,
) -> Result<FailoverRun, Error> {
    let recovery = &clients.recovery;
    let steps = run.steps.len();
    loop {
        if matches!(run.phase, Phase::Finished | Phase::AwaitingApproval) || run.steps.len() > steps
        {
            return Ok(run);
        }
        let observed = observe(recovery, &run).await?;
        let now = now();
        match next_action(&run, &observed, now) {
            Action::AwaitApproval | Action::Finish => return Ok(run),
            Action::Promote(i) => promote(recovery, &mut run, i, now, poll, deadline).await?,
            Action::Writable(i) => writable(&mut run, i, now),
            Action::Wait { detail } => wait(&mut run, detail, now, poll, deadline).await,
            Action::Advance(phase) => enter(&mut run, phase, now),
            Action::ChangeDns(i) => change_dns(recovery, &mut run, i, now).await?,
            Action::InSync(i) => in_sync(&mut run, i, now),
            Action::CheckDns => check_dns(recovery, &mut run, now).await?,
            Action::Pause => pause_schedules(recovery, plan, &mut run, now).await?,
            Action::Fail { step, why } => run.fail(step, now, why),
        }
    }
}

/// Whether RDS refused a promotion for the target's state (a backup that started between the
/// look and the call): asked again at the next look.
fn refused_for_now(error: &Error) -> bool {
    matches!(error, Error::Aws { code: Some(code), .. }
        if code.starts_with("InvalidDBInstanceState") || code.starts_with("InvalidDBClusterState") || code.starts_with("InvalidGlobalClusterState"))
}

/// Asks for promotion `i`. Refused for the target's state, the run notes it and waits a look
/// (when the deadline allows) before the next invocation asks again.
async fn promote(
    recovery: &RegionalClients,
    run: &mut FailoverRun,
    i: usize,
    now: OffsetDateTime,
    poll: Duration,
    deadline: Instant,
) -> Result<(), Error> {
    let target = run.promotions[i].target.clone();
    let call = calls::promotion_call(&target, run.kind);
    match calls::promote(recovery, &target, run.kind).await {
        Ok(()) => {
            run.promotions[i].requested_at = Some(now);
            let detail = format!("promoting {}", target.key());
            run.step(StepKind::Promote, now, Some(call), true, detail);
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) if refused_for_now(&e) => {
            let detail = format!(
                "{}: refused for now ({e}); asked again at the next look",
                target.key()
            );
            run.step(StepKind::Promote, now, Some(call), false, detail);
            sleep_before(poll, deadline).await;
        }
        Err(e) => run.fail_on(StepKind::Promote, now, format!("{}: {e}", target.key()), &e),
    }
    Ok(())
}

fn writable(run: &mut FailoverRun, i: usize, now: OffsetDateTime) {
    run.promotions[i].writable_at = Some(now);
    let key = run.promotions[i].target.key();
    let detail = format!("{key} takes writes");
    run.step(StepKind::Writable, now, None, true, detail);
}

/// Waits a look; when the next would outlast `deadline`, notes the wait instead, which ends
/// the invocation's share.
async fn wait(
    run: &mut FailoverRun,
    detail: String,
    now: OffsetDateTime,
    poll: Duration,
    deadline: Instant,
) {
    if !sleep_before(poll, deadline).await {
        run.step(StepKind::Wait, now, None, true, detail);
    }
}

fn enter(run: &mut FailoverRun, phase: Phase, now: OffsetDateTime) {
    run.phase = phase;
    run.step(StepKind::Phase, now, None, true, format!("{phase:?}"));
}

/// Sends zone batch `i`.
async fn change_dns(
    recovery: &RegionalClients,
    run: &mut FailoverRun,
    i: usize,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let batch = run.dns[i].clone();
    let call = calls::change_call(&batch.hosted_zone_id, &batch.changes);
    let comment = format!(
        "Lifeboat {} run {}",
        if run.failback { "failback" } else { "failover" },
        run.run_id
    );
    match calls::change_records(recovery, &batch.hosted_zone_id, &batch.changes, &comment).await {
        Ok(id) => {
            run.dns[i].change_id = Some(id.clone());
            run.dns[i].sent_at = Some(now);
            let detail = format!("change {id} sent");
            run.step(StepKind::Dns, now, Some(call), true, detail);
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => run.fail_on(StepKind::Dns, now, e.to_string(), &e),
    }
    Ok(())
}

fn in_sync(run: &mut FailoverRun, i: usize, now: OffsetDateTime) {
    run.dns[i].insync_at = Some(now);
    let batch = &run.dns[i];
    let detail = format!(
        "change {} of {} is INSYNC",
        batch.change_id.clone().unwrap_or_default(),
        batch.hosted_zone_id
    );
    run.step(StepKind::DnsInsync, now, None, true, detail);
}

/// Reads every changed record back: as intended, the run goes on to pause the schedules.
async fn check_dns(
    recovery: &RegionalClients,
    run: &mut FailoverRun,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let mut read = Vec::new();
    for change in run.dns.iter().flat_map(|b| &b.changes) {
        if let Some(record) = calls::read_dns_record(
            recovery,
            &change.hosted_zone_id,
            &change.name,
            &change.record_type,
        )
        .await?
        {
            read.push(record);
        }
    }
    let intended: Vec<_> = run.dns.iter().flat_map(|b| b.changes.clone()).collect();
    match decide::records_as_intended(&intended, &read) {
        Ok(()) => {
            run.phase = Phase::Pausing;
            let detail = "every record reads back as intended";
            run.step(StepKind::DnsCheck, now, None, true, detail);
        }
        Err(why) => run.fail(StepKind::DnsCheck, now, why),
    }
    Ok(())
}

/// A failover pauses the copy and verify schedules (their source Region is down); failback
/// resumes them. The run's last step.
async fn pause_schedules(
    recovery: &RegionalClients,
    plan: &Plan,
    run: &mut FailoverRun,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let result = if run.failback {
        pause::resume(recovery, plan).await
    } else {
        let paused = Paused {
            run_id: run.run_id.clone(),
            since: now,
        };
        pause::pause(recovery, plan, &paused).await
    };
    match result {
        Ok(()) => {
            run.phase = Phase::Finished;
            let detail = if run.failback {
                "the copy and verify schedules resume"
            } else {
                "the copy and verify schedules are paused (their source Region is down); failback resumes them"
            };
            run.step(StepKind::Schedules, now, None, true, detail);
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => run.fail_on(StepKind::Schedules, now, e.to_string(), &e),
    }
    Ok(())
}
