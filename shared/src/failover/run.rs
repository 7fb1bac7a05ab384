//! A failover run as its record keeps it. Promotions and DNS changes take longer than a Lambda
//! invocation may wait, so the record is what one invocation saves and the next advances: which
//! promotions were asked for and are writable, which DNS batches were sent (with the values they
//! replaced, for failback), each step with its call and time.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::decide::RecordChange;
use super::model::{Kind, Target};
use crate::error::{Error, ErrorRecord};

/// How long promotions may take, from the first request, before the run fails.
const PROMOTION_LIMIT: Duration = Duration::minutes(60);
/// How long Route 53 may take to report a change INSYNC.
const DNS_LIMIT: Duration = Duration::minutes(15);

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Waiting for `lifeboat failover approve RUN_ID --plan-hash HASH`.
    AwaitingApproval,
    /// Asking for each promotion and waiting until each target is writable.
    Promoting,
    /// Sending each hosted zone's batch of UPSERTs.
    FlippingDns,
    /// Waiting until Route 53 reports every batch INSYNC.
    WaitingDns,
    /// Reading the records back.
    CheckingDns,
    /// Pausing Lifeboat's copy and verify schedules (their source Region is down).
    Pausing,
    Finished,
}

/// One promotion: what is asked for, and when it became writable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    pub target: Target,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub requested_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub writable_at: Option<OffsetDateTime>,
}

/// One hosted zone's batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsBatch {
    pub hosted_zone_id: String,
    pub changes: Vec<RecordChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub insync_at: Option<OffsetDateTime>,
}

impl DnsBatch {
    /// The batches of a run, one per hosted zone, none sent yet.
    pub(super) fn unsent(
        zones: std::collections::BTreeMap<String, Vec<RecordChange>>,
    ) -> Vec<DnsBatch> {
        zones
            .into_iter()
            .map(|(hosted_zone_id, changes)| DnsBatch {
                hosted_zone_id,
                changes,
                change_id: None,
                sent_at: None,
                insync_at: None,
            })
            .collect()
    }
}

/// What a step of a run did. Serialised as records have always spelled it (`"dns-check"`), so
/// the records of earlier runs load; the renderers match on it without a fallback, so a new kind
/// does not compile until each of them says how it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// The run was decided: why it runs.
    Decide,
    /// The run waits for approval, and why.
    Approval,
    /// An operator approved it with the plan hash.
    Approved,
    /// Failback kept an unplanned-failover snapshot as a manual one (or could not).
    KeepSnapshot,
    /// A promotion was asked for (or refused for now, or failed).
    Promote,
    /// A target takes writes.
    Writable,
    /// The next look would outlast the invocation: the run stops here, to be carried on.
    Wait,
    /// The run went on to its next phase.
    Phase,
    /// A hosted zone's batch of UPSERTs was sent.
    Dns,
    /// Route 53 reports a batch INSYNC.
    DnsInsync,
    /// The records were read back.
    DnsCheck,
    /// The copy and verify schedules were paused (failover) or resumed (failback).
    Schedules,
}

impl StepKind {
    /// The kind as records, reports and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Decide => "decide",
            StepKind::Approval => "approval",
            StepKind::Approved => "approved",
            StepKind::KeepSnapshot => "keep-snapshot",
            StepKind::Promote => "promote",
            StepKind::Writable => "writable",
            StepKind::Wait => "wait",
            StepKind::Phase => "phase",
            StepKind::Dns => "dns",
            StepKind::DnsInsync => "dns-insync",
            StepKind::DnsCheck => "dns-check",
            StepKind::Schedules => "schedules",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: the CLI aligns the kinds in a column (`{:<11}`).
        f.pad(self.as_str())
    }
}

impl PartialEq<&str> for StepKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One step of a run: what was done (with the AWS call, when there was one), when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: StepKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    pub ok: bool,
    pub detail: String,
    /// The error a failed step met, as it happened (its kind and next step with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// An approval that a run waits for, and who gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Why the run waits: approval mode, or the data-loss gate.
    pub because: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub approved_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// The record of one failover (or failback) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverRun {
    pub run_id: String,
    pub plan: String,
    pub kind: Kind,
    /// A failback: DNS back to the recorded values; nothing is promoted.
    #[serde(default)]
    pub failback: bool,
    /// The hash of the plan the run was made from: an approval must name it.
    pub plan_hash: String,
    pub phase: Phase,
    /// When the trigger happened (the alarm event's time, the operator's call): the start of
    /// the automation's share of the RTO.
    #[serde(with = "time::serde::rfc3339")]
    pub triggered_at: OffsetDateTime,
    /// Why the run started.
    pub reason: String,
    /// The largest replication lag read before the promotions (seconds): the data loss estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss_estimate_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    pub promotions: Vec<Promotion>,
    pub dns: Vec<DnsBatch>,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl FailoverRun {
    /// Notes a step.
    pub(super) fn step(
        &mut self,
        step: StepKind,
        at: OffsetDateTime,
        call: Option<String>,
        ok: bool,
        detail: impl Into<String>,
    ) {
        self.steps.push(Step {
            step,
            at,
            call,
            ok,
            detail: detail.into(),
            error: None,
        });
    }

    /// The run failed: say why and stop. Nothing is undone: a half-done failover is reported
    /// as it stands, for the operator to finish or fail back.
    pub(super) fn fail(&mut self, step: StepKind, at: OffsetDateTime, why: impl Into<String>) {
        let why = why.into();
        self.step(step, at, None, false, why.clone());
        self.failure.get_or_insert(why);
        self.phase = Phase::Finished;
    }

    /// [`FailoverRun::fail`] on an error, which the step keeps for the report.
    pub(super) fn fail_on(
        &mut self,
        step: StepKind,
        at: OffsetDateTime,
        why: impl Into<String>,
        error: &Error,
    ) {
        self.fail(step, at, why);
        if let Some(failed) = self.steps.last_mut() {
            failed.error = Some(error.into());
        }
    }

    /// Seconds from the trigger until every DNS batch was INSYNC: the automation's share of
    /// the RTO.
    pub fn seconds_to_dns_insync(&self) -> Option<i64> {
        let last = self
            .dns
            .iter()
            .map(|b| b.insync_at)
            .collect::<Option<Vec<_>>>()?;
        let last = last.into_iter().max()?;
        Some((last - self.triggered_at).whole_seconds())
    }
}

/// A target as the recovery Region describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSeen {
    /// `available`, `modifying`, `backing-up`, `promoting`, … (for a global database: its
    /// status, `failing-over`, `switching-over`, …).
    pub status: String,
    /// It takes writes: an instance or cluster without a replication source, or the global
    /// database's writer member.
    pub writable: bool,
}

/// What a run's resources look like now: each promotion's target (`None`: not found), and
/// each DNS batch's change status (`PENDING`, `INSYNC`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Observed {
    pub(super) targets: Vec<Option<TargetSeen>>,
    pub(super) changes: Vec<Option<String>>,
}

/// The next thing a run does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Nothing until an operator approves.
    AwaitApproval,
    /// Ask for the promotion of target `i`.
    Promote(usize),
    /// Target `i` is writable: note it.
    Writable(usize),
    /// Look again later.
    Wait {
        detail: String,
    },
    /// Send zone batch `i`.
    ChangeDns(usize),
    /// Batch `i` is INSYNC: note it.
    InSync(usize),
    /// Read the records back.
    CheckDns,
    /// Pause the copy and verify schedules.
    Pause,
    /// This phase is done: go on to the next.
    Advance(Phase),
    Fail {
        step: StepKind,
        why: String,
    },
    Finish,
}

/// In-progress states a promotion goes through; a target in another state that is not writable
/// (and not yet asked for) is asked for.
const PROMOTING: [&str; 5] = [
    "modifying",
    "promoting",
    "failing-over",
    "switching-over",
    "rebooting",
];

/// Decides a run's next action from its record and what its resources look like now.
pub(super) fn next_action(run: &FailoverRun, observed: &Observed, now: OffsetDateTime) -> Action {
    match run.phase {
        Phase::AwaitingApproval => Action::AwaitApproval,
        Phase::Promoting => promoting(run, observed, now),
        Phase::FlippingDns => match run.dns.iter().position(|b| b.change_id.is_none()) {
            Some(i) => Action::ChangeDns(i),
            None => Action::Advance(Phase::WaitingDns),
        },
        Phase::WaitingDns => {
            for (i, batch) in run.dns.iter().enumerate() {
                if batch.insync_at.is_none()
                    && observed.changes.get(i).and_then(Option::as_deref) == Some("INSYNC")
                {
                    return Action::InSync(i);
                }
            }
            if run.dns.iter().all(|b| b.insync_at.is_some()) {
                return Action::CheckDns;
            }
            let sent = run
                .dns
                .iter()
                .filter_map(|b| b.sent_at)
                .min()
                .unwrap_or(now);
            if now - sent > DNS_LIMIT {
                return Action::Fail {
                    step: StepKind::Dns,
                    why: format!("Route 53 did not report the changes INSYNC within {DNS_LIMIT}"),
                };
            }
            Action::Wait {
                detail: "Route 53 changes PENDING".into(),
            }
        }
        Phase::CheckingDns => Action::CheckDns,
        Phase::Pausing => Action::Pause,
        Phase::Finished => Action::Finish,
    }
}

fn promoting(run: &FailoverRun, observed: &Observed, now: OffsetDateTime) -> Action {
    let mut waiting = Vec::new();
    for (i, promotion) in run.promotions.iter().enumerate() {
        if promotion.writable_at.is_some() {
            continue;
        }
        let key = promotion.target.key();
        match observed.targets.get(i).cloned().flatten() {
            None => {
                return Action::Fail {
                    step: StepKind::Promote,
                    why: format!("{key}: not found in the recovery Region"),
                };
            }
            // Already promoted (by this run, an earlier one, or a person): done.
            Some(seen) if seen.writable && seen.status == "available" => {
                return Action::Writable(i);
            }
            Some(seen) if PROMOTING.contains(&seen.status.as_str()) || promotion.requested_at.is_some() => {
                waiting.push(format!("{key} is {}", seen.status));
            }
            // AWS refuses to promote a replica while it backs up: wait, then ask.
            Some(seen) if seen.status == "backing-up" => waiting.push(format!(
                "{key} is backing-up: RDS refuses to promote it until the backup ends; asked for then"
            )),
            Some(_) => return Action::Promote(i),
        }
    }
    if waiting.is_empty() {
        return Action::Advance(Phase::FlippingDns);
    }
    let first = run
        .promotions
        .iter()
        .filter_map(|p| p.requested_at)
        .min()
        .unwrap_or(run.triggered_at);
    if now - first > PROMOTION_LIMIT {
        return Action::Fail {
            step: StepKind::Promote,
            why: format!(
                "not writable within {PROMOTION_LIMIT}: {}",
                waiting.join(", ")
            ),
        };
    }
    Action::Wait {
        detail: waiting.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);

    fn run() -> FailoverRun {
        FailoverRun {
            run_id: "r1".into(),
            plan: "tracking".into(),
            kind: Kind::Outage,
            failback: false,
            plan_hash: "0123456789abcdef".into(),
            phase: Phase::Promoting,
            triggered_at: NOW - Duration::minutes(5),
            reason: "alarms".into(),
            data_loss_estimate_seconds: None,
            approval: None,
            promotions: vec![
                Promotion {
                    target: Target::RdsReplica {
                        id: "orders-dr".into(),
                    },
                    requested_at: None,
                    writable_at: None,
                },
                Promotion {
                    target: Target::AuroraGlobal {
                        global: "phoenix-global".into(),
                        target_cluster_arn: "arn:aws:rds:us-east-2:111122223333:cluster:phoenix-dr"
                            .into(),
                    },
                    requested_at: None,
                    writable_at: None,
                },
            ],
            dns: vec![DnsBatch {
                hosted_zone_id: "Z1".into(),
                changes: vec![],
                change_id: None,
                sent_at: None,
                insync_at: None,
            }],
            steps: vec![],
            failure: None,
        }
    }

    fn seen(status: &str, writable: bool) -> Option<TargetSeen> {
        Some(TargetSeen {
            status: status.into(),
            writable,
        })
    }

    #[test]
    fn promotions_are_asked_for_waited_for_and_already_promoted_counts_as_done() {
        let mut run = run();
        let observed = Observed {
            targets: vec![seen("available", false), seen("available", true)],
            changes: vec![],
        };
        // The replica is asked for; the global database's target is the writer already.
        assert_eq!(next_action(&run, &observed, NOW), Action::Promote(0));
        run.promotions[0].requested_at = Some(NOW);
        assert_eq!(next_action(&run, &observed, NOW), Action::Writable(1));
        run.promotions[1].writable_at = Some(NOW);
        let promoting = Observed {
            targets: vec![seen("modifying", false), seen("available", true)],
            changes: vec![],
        };
        assert!(matches!(
            next_action(&run, &promoting, NOW),
            Action::Wait { detail } if detail == "rds-replica:orders-dr is modifying"
        ));
        assert!(matches!(
            next_action(&run, &promoting, NOW + Duration::minutes(61)),
            Action::Fail { why, .. } if why.contains("not writable within")
        ));
        let done = Observed {
            targets: vec![seen("available", true), seen("available", true)],
            changes: vec![],
        };
        assert_eq!(next_action(&run, &done, NOW), Action::Writable(0));
        run.promotions[0].writable_at = Some(NOW);
        assert_eq!(
            next_action(&run, &done, NOW),
            Action::Advance(Phase::FlippingDns)
        );
    }

    #[test]
    fn a_replica_backing_up_is_waited_for_and_a_missing_target_fails() {
        let run = run();
        let backing_up = Observed {
            targets: vec![seen("backing-up", false), seen("available", true)],
            changes: vec![],
        };
        assert_eq!(next_action(&run, &backing_up, NOW), Action::Writable(1));
        let mut run = run;
        run.promotions[1].writable_at = Some(NOW);
        assert!(matches!(
            next_action(&run, &backing_up, NOW),
            Action::Wait { detail } if detail.contains("backing-up: RDS refuses to promote it")
        ));
        let gone = Observed {
            targets: vec![None, seen("available", true)],
            changes: vec![],
        };
        assert!(matches!(next_action(&run, &gone, NOW), Action::Fail { .. }));
    }

    #[test]
    fn each_step_kind_reads_as_records_spell_it() {
        for kind in [
            StepKind::Decide,
            StepKind::Approval,
            StepKind::Approved,
            StepKind::KeepSnapshot,
            StepKind::Promote,
            StepKind::Writable,
            StepKind::Wait,
            StepKind::Phase,
            StepKind::Dns,
            StepKind::DnsInsync,
            StepKind::DnsCheck,
            StepKind::Schedules,
        ] {
            let spelled = kind.as_str();
            assert_eq!(serde_json::to_value(kind).unwrap(), spelled);
            assert_eq!(
                serde_json::from_value::<StepKind>(spelled.into()).unwrap(),
                kind
            );
            assert_eq!(kind, spelled);
            assert_eq!(format!("[{kind:<11}]"), format!("[{spelled:<11}]"));
        }
    }

    #[test]
    fn dns_batches_are_sent_then_waited_for_then_read_back() {
        let mut run = run();
        run.phase = Phase::FlippingDns;
        let none = Observed::default();
        assert_eq!(next_action(&run, &none, NOW), Action::ChangeDns(0));
        run.dns[0].change_id = Some("C1".into());
        run.dns[0].sent_at = Some(NOW);
        assert_eq!(
            next_action(&run, &none, NOW),
            Action::Advance(Phase::WaitingDns)
        );
        run.phase = Phase::WaitingDns;
        let pending = Observed {
            targets: vec![],
            changes: vec![Some("PENDING".into())],
        };
        assert!(matches!(
            next_action(&run, &pending, NOW),
            Action::Wait { .. }
        ));
        assert!(matches!(
            next_action(&run, &pending, NOW + Duration::minutes(16)),
            Action::Fail { .. }
        ));
        let insync = Observed {
            targets: vec![],
            changes: vec![Some("INSYNC".into())],
        };
        assert_eq!(next_action(&run, &insync, NOW), Action::InSync(0));
        run.dns[0].insync_at = Some(NOW);
        assert_eq!(next_action(&run, &insync, NOW), Action::CheckDns);
        assert_eq!(run.seconds_to_dns_insync(), Some(300));
    }
}
