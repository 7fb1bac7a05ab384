//! The failover's rules, free of I/O: what a trigger asks of the failover, whether alarms start
//! a run, the data-loss gate, the DNS changes (and what failback puts back), the plan hash an
//! approval names.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::model::{AlarmSeen, Kind, RecordSeen};
use crate::clock::rfc3339;
use crate::error::Error;
use crate::plan::{AlarmRequirement, DnsFlip, Failover, Plan};
use crate::trigger::{RunbookRequest, Trigger};

/// What a trigger asks of the failover, before anything is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Asked {
    /// Nothing, and why (an alarm of another Region or not the plan's, an event of another kind).
    Ignored { reason: String },
    /// The calls a failover would make now, with reads only: no lease, no mutating call.
    DryRun { kind: Kind },
    /// Work under the plan's failover lease. A run in progress is carried on first, whatever
    /// the work (but an approval, which names its run).
    Work(Work),
}

/// The work a trigger asks for under the failover lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// One of the plan's alarms changed in the recovery Region: read them all back, and start
    /// an outage failover if they say so. `at` is the event's time, the start of the RTO.
    Alarm { at: Option<OffsetDateTime> },
    /// The one-minute tick: carry on a run in progress, else read the alarms back.
    Tick,
    /// The runbook's `execute`: start a failover now.
    Execute { kind: Kind },
    /// The runbook's `approve`: start the waiting run `run_id` if the plan hash matches.
    Approve { run_id: String, plan_hash: String },
    /// The runbook's `failback`.
    Failback,
}

/// The plan's `[failover]` section; a plan without one is refused.
pub(super) fn failover_of(plan: &Plan) -> Result<&Failover, Error> {
    plan.failover
        .as_ref()
        .ok_or_else(|| Error::Refused(format!("plan {} has no [failover] section", plan.name)))
}

/// Reads what `trigger` asks of the failover of `plan`. Alarms count only in the recovery Region
/// (an alarm in a failed Region cannot fire) and only the plan's; events of the other tasks ask
/// nothing.
pub fn asked(trigger: &Trigger, plan: &Plan) -> Result<Asked, Error> {
    let failover = failover_of(plan)?;
    let ignored = |reason: String| Ok(Asked::Ignored { reason });
    match trigger {
        Trigger::AlarmChanged { region, .. } if region != plan.recovery_region.as_str() => {
            ignored(format!(
                "{}: in {region}; the plan's failover alarms live in the recovery Region {} (an alarm in a failed Region cannot fire)",
                trigger.describe(),
                plan.recovery_region
            ))
        }
        Trigger::AlarmChanged { alarm_name, .. } if !failover.alarms.contains(alarm_name) => {
            ignored(format!(
                "{alarm_name} is not one of the plan's failover alarms"
            ))
        }
        Trigger::AlarmChanged { at, .. } => Ok(Asked::Work(Work::Alarm { at: *at })),
        Trigger::Schedule { .. } => Ok(Asked::Work(Work::Tick)),
        Trigger::Runbook(request) => Ok(runbook(request)),
        Trigger::Manual
        | Trigger::SnapshotCreated { .. }
        | Trigger::BackupJobCompleted { .. }
        | Trigger::CopyJobChanged { .. }
        | Trigger::VerificationResourceChanged { .. }
        | Trigger::RestoreJobCompleted { .. }
        | Trigger::Ignored { .. } => ignored(format!(
            "{}: the failover does not act on it",
            trigger.describe()
        )),
    }
}

fn runbook(request: &RunbookRequest) -> Asked {
    match request {
        RunbookRequest::DryRun { planned } => Asked::DryRun {
            kind: kind_of(*planned),
        },
        RunbookRequest::Execute { planned } => Asked::Work(Work::Execute {
            kind: kind_of(*planned),
        }),
        RunbookRequest::Approve { run_id, plan_hash } => Asked::Work(Work::Approve {
            run_id: run_id.clone(),
            plan_hash: plan_hash.clone(),
        }),
        RunbookRequest::Failback => Asked::Work(Work::Failback),
    }
}

fn kind_of(planned: bool) -> Kind {
    if planned { Kind::Planned } else { Kind::Outage }
}

/// Whether the plan's alarms start a failover now.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Start {
    /// Enough alarms have been in ALARM for `sustained_for`, and no cooldown holds.
    Now { reason: String },
    /// Enough alarms are in ALARM, but not for long enough yet: look again at `at`.
    Later { at: OffsetDateTime, reason: String },
    /// Not now, and why.
    No { reason: String },
}

fn required(failover: &Failover) -> usize {
    match failover.require {
        AlarmRequirement::Any => 1,
        AlarmRequirement::All => failover.alarms.len(),
        AlarmRequirement::AtLeast(n) => n as usize,
    }
}

fn duration(d: std::time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::MAX)
}

/// Decides from the plan's alarms as `DescribeAlarms` read them back (an event says an alarm
/// changed; only the read-back state counts), the last failover's start (`cooldown`), and now.
/// An alarm of the plan that `DescribeAlarms` does not return counts as not in ALARM, and is
/// named. Lifeboat never fails back by itself: this only ever starts a failover.
pub(super) fn should_start(
    failover: &Failover,
    alarms: &[AlarmSeen],
    last_failover: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Start {
    let needed = required(failover);
    if failover.alarms.is_empty() || needed == 0 {
        return Start::No {
            reason: "the plan names no failover alarms".into(),
        };
    }
    let sustained = duration(failover.sustained_for.0);
    let mut in_alarm: Vec<(&str, OffsetDateTime)> = Vec::new();
    let mut missing = Vec::new();
    for name in &failover.alarms {
        match alarms.iter().find(|a| &a.name == name) {
            Some(alarm) if alarm.state == "ALARM" => {
                in_alarm.push((name, alarm.since.unwrap_or(now)));
            }
            Some(_) => {}
            None => missing.push(name.as_str()),
        }
    }
    let missing_note = if missing.is_empty() {
        String::new()
    } else {
        format!(" ({} not found)", missing.join(", "))
    };
    let count = format!(
        "{} of {} alarms in ALARM, {needed} required{missing_note}",
        in_alarm.len(),
        failover.alarms.len()
    );
    if in_alarm.len() < needed {
        return Start::No { reason: count };
    }
    if let Some(last) = last_failover {
        let until = last + duration(failover.cooldown.0);
        if now < until {
            return Start::No {
                reason: format!(
                    "{count}, but the last failover started at {}: cooldown until {}",
                    rfc3339(last),
                    rfc3339(until)
                ),
            };
        }
    }
    // The moment the `needed`-th alarm will have been in ALARM for `sustained_for`.
    let mut since: Vec<OffsetDateTime> = in_alarm.iter().map(|(_, t)| *t).collect();
    since.sort();
    let ready_at = since[needed - 1] + sustained;
    if now < ready_at {
        return Start::Later {
            at: ready_at,
            reason: format!(
                "{count}, sustained_for = {} not reached until {}",
                humantime::format_duration(failover.sustained_for.0),
                rfc3339(ready_at)
            ),
        };
    }
    let names: Vec<&str> = in_alarm.iter().map(|(n, _)| *n).collect();
    Start::Now {
        reason: format!(
            "{count}, for at least {}: {}",
            humantime::format_duration(failover.sustained_for.0),
            names.join(", ")
        ),
    }
}

/// What the data-loss gate decides before the promotions.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Gate {
    /// Go on; the estimate is the largest lag read (seconds), when one was read.
    Proceed { estimate_seconds: Option<f64> },
    /// Stop for an operator's approval, even in automatic mode, and say why.
    Approval {
        estimate_seconds: Option<f64>,
        why: String,
    },
}

/// The data-loss gate. A planned failover loses nothing (a switchover waits for the secondary
/// to catch up). An outage loses up to each target's replication lag: over `max_data_loss`, or
/// unknown (no data point: the metric stopped with the Region), the run stops for approval.
/// Without `max_data_loss` the plan accepts any loss.
pub(super) fn data_loss_gate(
    kind: Kind,
    max_data_loss: Option<std::time::Duration>,
    lags: &[(String, Option<f64>)],
) -> Gate {
    let estimate_seconds = lags
        .iter()
        .filter_map(|(_, lag)| *lag)
        .fold(None, |max: Option<f64>, lag| {
            Some(max.map_or(lag, |m| m.max(lag)))
        });
    if kind == Kind::Planned {
        return Gate::Proceed { estimate_seconds };
    }
    let Some(limit) = max_data_loss else {
        return Gate::Proceed { estimate_seconds };
    };
    let limit_seconds = limit.as_secs_f64();
    let mut reasons = Vec::new();
    for (target, lag) in lags {
        match lag {
            None => reasons.push(format!(
                "{target}: replication lag unknown (no recent data point)"
            )),
            Some(lag) if *lag > limit_seconds => reasons.push(format!(
                "{target}: replication lag {lag:.1} s is over max_data_loss = {}",
                humantime::format_duration(limit)
            )),
            Some(_) => {}
        }
    }
    if reasons.is_empty() {
        Gate::Proceed { estimate_seconds }
    } else {
        Gate::Approval {
            estimate_seconds,
            why: reasons.join("; "),
        }
    }
}

/// One record's change: what it is now (kept for failback) and what the failover makes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordChange {
    pub hosted_zone_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub ttl: u32,
    /// The values before the failover (`None`: the record did not exist).
    pub previous: Option<RecordSeen>,
    pub values: Vec<String>,
}

/// A record name as Route 53 writes it: lower case, with the trailing dot.
pub fn fqdn(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// The UPSERTs of a failover, grouped by hosted zone (one `ChangeResourceRecordSets` batch
/// each), with the values each record has now, read back before the change.
pub(super) fn failover_changes(
    flips: &[DnsFlip],
    current: &[RecordSeen],
) -> BTreeMap<String, Vec<RecordChange>> {
    let mut zones: BTreeMap<String, Vec<RecordChange>> = BTreeMap::new();
    for flip in flips {
        let name = fqdn(&flip.record);
        let record_type = flip.record_type.as_str().to_owned();
        let previous = current
            .iter()
            .find(|r| {
                r.hosted_zone_id == flip.hosted_zone_id
                    && fqdn(&r.name) == name
                    && r.record_type == record_type
            })
            .cloned();
        zones
            .entry(flip.hosted_zone_id.clone())
            .or_default()
            .push(RecordChange {
                hosted_zone_id: flip.hosted_zone_id.clone(),
                name,
                record_type,
                ttl: flip.ttl,
                previous,
                values: vec![flip.recovery.clone()],
            });
    }
    zones
}

/// Failback: the records as the failover found them. A record that did not exist before is
/// set to the plan's `primary` value (Lifeboat deletes no record).
pub(super) fn failback_changes(
    flips: &[DnsFlip],
    recorded: &[RecordChange],
) -> BTreeMap<String, Vec<RecordChange>> {
    let mut zones: BTreeMap<String, Vec<RecordChange>> = BTreeMap::new();
    for flip in flips {
        let name = fqdn(&flip.record);
        let record_type = flip.record_type.as_str().to_owned();
        let before = recorded
            .iter()
            .find(|c| {
                c.hosted_zone_id == flip.hosted_zone_id
                    && c.name == name
                    && c.record_type == record_type
            })
            .and_then(|c| c.previous.clone());
        let (ttl, values) = match &before {
            Some(before) => (
                before
                    .ttl
                    .and_then(|t| u32::try_from(t).ok())
                    .unwrap_or(flip.ttl),
                before.values.clone(),
            ),
            None => (flip.ttl, vec![flip.primary.clone()]),
        };
        zones
            .entry(flip.hosted_zone_id.clone())
            .or_default()
            .push(RecordChange {
                hosted_zone_id: flip.hosted_zone_id.clone(),
                name,
                record_type,
                ttl,
                previous: None,
                values,
            });
    }
    zones
}

/// Whether the records read back are what the changes meant.
pub(super) fn records_as_intended(
    changes: &[RecordChange],
    read: &[RecordSeen],
) -> Result<(), String> {
    let wrong: Vec<String> = changes
        .iter()
        .filter_map(|change| {
            let found = read.iter().find(|r| {
                r.hosted_zone_id == change.hosted_zone_id
                    && fqdn(&r.name) == change.name
                    && r.record_type == change.record_type
            });
            match found {
                Some(r) if r.values == change.values => None,
                Some(r) => Some(format!(
                    "{} {} is {:?}, not {:?}",
                    change.name, change.record_type, r.values, change.values
                )),
                None => Some(format!("{} {} is missing", change.name, change.record_type)),
            }
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// The hash an approval must name: of the plan as Lifeboat read it, so that an operator
/// approves the plan they looked at (`lifeboat failover --dry-run` prints it), not another.
pub fn plan_hash(plan: &Plan) -> String {
    let canonical = serde_json::to_vec(plan).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);

    fn plan(failover: &str) -> Plan {
        Plan::parse(
            &format!(
                r#"
                name = "tracking"
                primary_region = "us-west-2"
                recovery_region = "us-east-2"
                state_bucket = "tracking-dr-state"
                [failover]
                alarms = ["api-5xx", "db-unreachable"]
                sustained_for = "5m"
                cooldown = "6h"
                {failover}
                [[failover.promote]]
                rds_replica = "orders-dr"
                [[failover.dns]]
                hosted_zone_id = "Z0123456789"
                record = "api.tracking.example.com"
                type = "CNAME"
                primary = "primary-alb.us-west-2.elb.amazonaws.com"
                recovery = "dr-alb.us-east-2.elb.amazonaws.com"
                "#
            ),
            "test",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn alarm(name: &str, state: &str, minutes_ago: i64) -> AlarmSeen {
        AlarmSeen {
            name: name.into(),
            state: state.into(),
            since: Some(NOW - Duration::minutes(minutes_ago)),
        }
    }

    #[test]
    fn all_alarms_must_be_in_alarm_for_sustained_for_and_past_the_cooldown() {
        let plan = plan("require = \"all\"");
        let failover = plan.failover.as_ref().unwrap();
        let one = [
            alarm("api-5xx", "ALARM", 30),
            alarm("db-unreachable", "OK", 30),
        ];
        assert!(matches!(
            should_start(failover, &one, None, NOW),
            Start::No { reason } if reason == "1 of 2 alarms in ALARM, 2 required"
        ));
        let both_fresh = [
            alarm("api-5xx", "ALARM", 30),
            alarm("db-unreachable", "ALARM", 2),
        ];
        assert_eq!(
            should_start(failover, &both_fresh, None, NOW),
            Start::Later {
                at: NOW + Duration::minutes(3),
                reason: "2 of 2 alarms in ALARM, 2 required, sustained_for = 5m not reached until 2026-11-26T09:03:00Z".into()
            }
        );
        let both = [
            alarm("api-5xx", "ALARM", 30),
            alarm("db-unreachable", "ALARM", 6),
        ];
        assert!(matches!(
            should_start(failover, &both, None, NOW),
            Start::Now { .. }
        ));
        // A failover two hours ago: cooldown.
        assert!(matches!(
            should_start(failover, &both, Some(NOW - Duration::hours(2)), NOW),
            Start::No { reason } if reason.contains("cooldown until 2026-11-26T13:00:00Z")
        ));
        assert!(matches!(
            should_start(failover, &both, Some(NOW - Duration::hours(7)), NOW),
            Start::Now { .. }
        ));
    }

    #[test]
    fn any_or_n_of_the_alarms_and_a_missing_alarm_is_named() {
        let plan_any = plan("require = \"any\"");
        let one = [alarm("api-5xx", "ALARM", 10)];
        assert!(matches!(
            should_start(plan_any.failover.as_ref().unwrap(), &one, None, NOW),
            Start::Now { reason } if reason.contains("(db-unreachable not found)")
        ));
        let plan_two = plan("require = 2");
        assert!(matches!(
            should_start(plan_two.failover.as_ref().unwrap(), &one, None, NOW),
            Start::No { .. }
        ));
    }

    #[test]
    fn the_data_loss_gate_stops_an_outage_over_the_limit_or_blind() {
        let limit = Some(std::time::Duration::from_secs(30));
        let lags = |v: Option<f64>| vec![("rds-replica:orders-dr".to_owned(), v)];
        assert_eq!(
            data_loss_gate(Kind::Outage, limit, &lags(Some(4.0))),
            Gate::Proceed {
                estimate_seconds: Some(4.0)
            }
        );
        assert!(matches!(
            data_loss_gate(Kind::Outage, limit, &lags(Some(45.0))),
            Gate::Approval { why, estimate_seconds: Some(45.0) } if why.contains("45.0 s is over max_data_loss = 30s")
        ));
        assert!(matches!(
            data_loss_gate(Kind::Outage, limit, &lags(None)),
            Gate::Approval { why, .. } if why.contains("unknown")
        ));
        // A planned move loses nothing; no limit accepts any loss.
        assert!(matches!(
            data_loss_gate(Kind::Planned, limit, &lags(Some(45.0))),
            Gate::Proceed { .. }
        ));
        assert!(matches!(
            data_loss_gate(Kind::Outage, None, &lags(None)),
            Gate::Proceed { .. }
        ));
    }

    #[test]
    fn dns_changes_keep_what_was_there_and_failback_puts_it_back() {
        let plan = plan("");
        let flips = &plan.failover.as_ref().unwrap().dns;
        let before = RecordSeen {
            hosted_zone_id: "Z0123456789".into(),
            name: "api.tracking.example.com.".into(),
            record_type: "CNAME".into(),
            ttl: Some(300),
            values: vec!["old-alb.us-west-2.elb.amazonaws.com".into()],
        };
        let changes = failover_changes(flips, std::slice::from_ref(&before));
        let zone = &changes["Z0123456789"];
        assert_eq!(zone.len(), 1);
        assert_eq!(zone[0].name, "api.tracking.example.com.");
        assert_eq!(zone[0].values, ["dr-alb.us-east-2.elb.amazonaws.com"]);
        assert_eq!(zone[0].ttl, 60);
        assert_eq!(zone[0].previous.as_ref(), Some(&before));
        let back = failback_changes(flips, zone);
        assert_eq!(back["Z0123456789"][0].values, before.values);
        assert_eq!(back["Z0123456789"][0].ttl, 300);
        // A record that did not exist goes to the plan's primary value.
        let fresh = failover_changes(flips, &[]);
        let back = failback_changes(flips, &fresh["Z0123456789"]);
        assert_eq!(
            back["Z0123456789"][0].values,
            ["primary-alb.us-west-2.elb.amazonaws.com"]
        );

        let mut read = before.clone();
        assert!(
            records_as_intended(zone, &[read.clone()])
                .unwrap_err()
                .contains("old-alb")
        );
        read.values = zone[0].values.clone();
        assert_eq!(records_as_intended(zone, &[read]), Ok(()));
    }

    fn event(name: &str) -> Trigger {
        let json = match name {
            "runbook-dry-run" => include_str!("../../../events/runbook-dry-run.json"),
            "runbook-execute" => include_str!("../../../events/runbook-execute.json"),
            "runbook-approve" => include_str!("../../../events/runbook-approve.json"),
            "runbook-failback" => include_str!("../../../events/runbook-failback.json"),
            "schedule" => include_str!("../../../events/schedule.json"),
            "cloudwatch-alarm-recovery-region" => {
                include_str!("../../../events/cloudwatch-alarm-recovery-region.json")
            }
            "cloudwatch-alarm-state-change" => {
                include_str!("../../../events/cloudwatch-alarm-state-change.json")
            }
            "rds-snapshot-created" => include_str!("../../../events/rds-snapshot-created.json"),
            other => panic!("no event {other}"),
        };
        Trigger::from_event(&serde_json::from_str(json).unwrap()).unwrap()
    }

    /// The plan of the events: its alarm `tracking-db-unreachable` in the recovery Region.
    fn events_plan() -> Plan {
        let mut events_plan = plan("");
        events_plan.failover.as_mut().unwrap().alarms =
            vec!["tracking-api-5xx".into(), "tracking-db-unreachable".into()];
        events_plan
    }

    #[test]
    fn each_runbook_payload_and_the_tick_ask_for_their_work() {
        let events_plan = events_plan();
        let ask = |name| asked(&event(name), &events_plan).unwrap();
        assert_eq!(ask("runbook-dry-run"), Asked::DryRun { kind: Kind::Outage });
        assert_eq!(
            ask("runbook-execute"),
            Asked::Work(Work::Execute { kind: Kind::Outage })
        );
        assert_eq!(
            ask("runbook-approve"),
            Asked::Work(Work::Approve {
                run_id: "20261126T091500Z-1a2b3c4d".into(),
                plan_hash: "0123456789abcdef".into(),
            })
        );
        assert_eq!(ask("runbook-failback"), Asked::Work(Work::Failback));
        assert_eq!(ask("schedule"), Asked::Work(Work::Tick));
        let planned = Trigger::Runbook(RunbookRequest::Execute { planned: true });
        assert_eq!(
            asked(&planned, &events_plan).unwrap(),
            Asked::Work(Work::Execute {
                kind: Kind::Planned
            })
        );
    }

    #[test]
    fn an_alarm_counts_only_in_the_recovery_region_and_only_the_plans() {
        let events_plan = events_plan();
        assert_eq!(
            asked(&event("cloudwatch-alarm-recovery-region"), &events_plan).unwrap(),
            Asked::Work(Work::Alarm {
                at: Some(datetime!(2026-11-26 03:12:40 UTC))
            })
        );
        assert_eq!(
            asked(&event("cloudwatch-alarm-state-change"), &events_plan).unwrap(),
            Asked::Ignored {
                reason: "CloudWatch Alarm State Change: alarm tracking-api-5xx is ALARM: in \
                         us-west-2; the plan's failover alarms live in the recovery Region \
                         us-east-2 (an alarm in a failed Region cannot fire)"
                    .into()
            }
        );
        let other = plan("");
        assert_eq!(
            asked(&event("cloudwatch-alarm-recovery-region"), &other).unwrap(),
            Asked::Ignored {
                reason: "tracking-db-unreachable is not one of the plan's failover alarms".into()
            }
        );
    }

    #[test]
    fn another_tasks_event_asks_nothing_and_a_plan_without_failover_is_refused() {
        let mut events_plan = events_plan();
        assert!(matches!(
            asked(&event("rds-snapshot-created"), &events_plan).unwrap(),
            Asked::Ignored { reason } if reason.ends_with(": the failover does not act on it")
        ));
        events_plan.failover = None;
        assert!(matches!(
            asked(&event("runbook-execute"), &events_plan),
            Err(Error::Refused(why)) if why == "plan tracking has no [failover] section"
        ));
    }

    #[test]
    fn the_plan_hash_changes_with_the_plan() {
        let a = plan("");
        let b = plan("max_data_loss = \"30s\"");
        assert_eq!(plan_hash(&a), plan_hash(&plan("")));
        assert_ne!(plan_hash(&a), plan_hash(&b));
        assert_eq!(plan_hash(&a).len(), 16);
    }
}
