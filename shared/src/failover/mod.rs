//! Failover: promote the recovery Region's databases and point DNS at them, with guards.
//!
//! - [`model`]: what a failover acts on ([`model::Target`]: an RDS replica, an Aurora replica
//!   cluster, an Aurora global database) and what it reads of the world (alarms, lags, records);
//! - [`decide`]: the pure rules — whether the alarms start a run (`require`, `sustained_for`,
//!   `cooldown`), the data-loss gate (`max_data_loss`), the DNS changes and what failback puts
//!   back, the plan hash an approval must name;
//! - [`run`]: the run record that each invocation advances and saves, and its next action.
//!
//! - [`calls`]: the AWS calls, all in the recovery Region;
//! - [`advance_to_next_step`]: one step of a run: observe, decide, act.
//!
//! Nothing here calls the primary Region: a failover runs when it may be gone.

pub mod calls;
pub mod decide;
pub mod model;
pub mod run;

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{AwsClients, RegionalClients};
use crate::clock::{now, sleep_before};
use crate::error::Error;
use crate::pause::{self, Paused};
use crate::plan::Plan;
use run::{Action, FailoverRun, Observed, Phase};

/// How often a run looks at its promotions and DNS changes in production.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

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

/// Whether RDS refused a promotion for the target's state (a backup that started between the
/// look and the call): asked again at the next look.
fn refused_for_now(error: &Error) -> bool {
    matches!(error, Error::Aws { code: Some(code), .. }
        if code.starts_with("InvalidDBInstanceState") || code.starts_with("InvalidDBClusterState") || code.starts_with("InvalidGlobalClusterState"))
}

/// The calls a run would make, in order, without making any: what `--dry-run` prints.
pub fn planned_calls(plan: &Plan, run: &FailoverRun) -> Vec<String> {
    let mut planned: Vec<String> = run
        .promotions
        .iter()
        .map(|p| calls::promotion_call(&p.target, run.kind))
        .collect();
    planned.extend(
        run.dns
            .iter()
            .map(|b| calls::change_call(&b.hosted_zone_id, &b.changes)),
    );
    planned.push(if run.failback {
        format!(
            "s3:DeleteObject s3://{}/paused/{}.json (resume the copy and verify schedules)",
            plan.state_bucket, plan.name
        )
    } else {
        format!(
            "s3:PutObject s3://{}/paused/{}.json (pause the copy and verify schedules)",
            plan.state_bucket, plan.name
        )
    });
    planned
}

/// Advances `run` by one step (or until the next look would outlast `deadline`): observe what
/// its promotions and DNS changes look like, decide ([`run::next_action`]), act, note the step.
/// The caller saves the run after each call, before it shows the step or goes on. A run waiting
/// for approval, or finished, comes back as it is.
pub async fn advance_to_next_step(
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
        match run::next_action(&run, &observed, now) {
            Action::AwaitApproval | Action::Finish => return Ok(run),
            Action::Promote(i) => {
                let target = run.promotions[i].target.clone();
                let call = calls::promotion_call(&target, run.kind);
                match calls::promote(recovery, &target, run.kind).await {
                    Ok(()) => {
                        run.promotions[i].requested_at = Some(now);
                        run.step(
                            "promote",
                            now,
                            Some(call),
                            true,
                            format!("promoting {}", target.key()),
                        );
                    }
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(e) if refused_for_now(&e) => {
                        run.step(
                            "promote",
                            now,
                            Some(call),
                            false,
                            format!(
                                "{}: refused for now ({e}); asked again at the next look",
                                target.key()
                            ),
                        );
                        if !sleep_before(poll, deadline).await {
                            return Ok(run);
                        }
                    }
                    Err(e) => run.fail("promote", now, format!("{}: {e}", target.key())),
                }
            }
            Action::Writable(i) => {
                run.promotions[i].writable_at = Some(now);
                let key = run.promotions[i].target.key();
                run.step("writable", now, None, true, format!("{key} takes writes"));
            }
            Action::Wait { detail } => {
                if !sleep_before(poll, deadline).await {
                    run.step("wait", now, None, true, detail);
                    return Ok(run);
                }
            }
            Action::Advance(phase) => {
                run.phase = phase;
                run.step("phase", now, None, true, format!("{phase:?}"));
            }
            Action::ChangeDns(i) => {
                let batch = run.dns[i].clone();
                let call = calls::change_call(&batch.hosted_zone_id, &batch.changes);
                let comment = format!(
                    "Lifeboat {} run {}",
                    if run.failback { "failback" } else { "failover" },
                    run.run_id
                );
                match calls::change_records(
                    recovery,
                    &batch.hosted_zone_id,
                    &batch.changes,
                    &comment,
                )
                .await
                {
                    Ok(id) => {
                        run.dns[i].change_id = Some(id.clone());
                        run.dns[i].sent_at = Some(now);
                        run.step("dns", now, Some(call), true, format!("change {id} sent"));
                    }
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(e) => run.fail("dns", now, e.to_string()),
                }
            }
            Action::InSync(i) => {
                run.dns[i].insync_at = Some(now);
                let batch = &run.dns[i];
                let detail = format!(
                    "change {} of {} is INSYNC",
                    batch.change_id.clone().unwrap_or_default(),
                    batch.hosted_zone_id
                );
                run.step("dns-insync", now, None, true, detail);
            }
            Action::CheckDns => {
                let mut read = Vec::new();
                for change in run.dns.iter().flat_map(|b| &b.changes) {
                    if let Some(record) = calls::record(
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
                        run.step(
                            "dns-check",
                            now,
                            None,
                            true,
                            "every record reads back as intended",
                        );
                    }
                    Err(why) => run.fail("dns-check", now, why),
                }
            }
            Action::Pause => {
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
                        run.step("schedules", now, None, true, detail);
                    }
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(e) => run.fail("schedules", now, e.to_string()),
                }
            }
            Action::Fail { step, why } => run.fail(step, now, why),
        }
    }
}
