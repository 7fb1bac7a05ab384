//! What started a run, read from the EventBridge event Lambda received. Well-formed events
//! Lifeboat has nothing to do for are ignored, with the reason: another source or detail-type
//! (an `RDS DB Instance Event`, a CloudWatch `Alarm State Change` routed here by a broad rule),
//! a snapshot *deletion*, a snapshot from another Region. Ignoring is a success: refusing them
//! would make Lambda retry each twice and park it in the failure queue, burying real failures.
//! Only what is malformed is refused, naming the field that is wrong: a payload that is not an
//! EventBridge event, or an event of a kind Lifeboat acts on whose content is broken (an RDS
//! snapshot event without `detail.EventID`, or with a `SourceArn` that is not a snapshot's).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::copies::VERIFY_IDENTIFIER_PREFIX;
use crate::error::Error;
use crate::snapshots::SnapshotKind;

/// RDS event IDs that mean "a snapshot is now available".
/// <https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html>
const SNAPSHOT_CREATED: [&str; 2] = [
    "RDS-EVENT-0042", // manual DB snapshot created
    "RDS-EVENT-0091", // automated DB snapshot created
];
const CLUSTER_SNAPSHOT_CREATED: [&str; 2] = [
    "RDS-EVENT-0075", // manual DB cluster snapshot created
    "RDS-EVENT-0169", // automated DB cluster snapshot created
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge schedule: reconcile everything.
    Schedule { rule: Option<String> },
    /// A person ran the CLI.
    Manual,
    /// RDS says a snapshot was created.
    SnapshotCreated {
        kind: SnapshotKind,
        snapshot_id: String,
        snapshot_arn: String,
        region: String,
        event_id: String,
    },
    /// AWS Backup says a backup job completed: its vault holds a new recovery point.
    BackupJobCompleted {
        job_id: String,
        vault_arn: String,
        region: String,
    },
    /// AWS Backup says a copy job changed state.
    CopyJobChanged {
        job_id: String,
        /// As AWS Backup writes it: `CREATED`, `RUNNING`, `COMPLETED`, `FAILED`, `PARTIAL`, …
        state: String,
        status_message: Option<String>,
        source_vault_arn: String,
        destination_vault_arn: String,
        region: String,
    },
    /// RDS says something happened to a DB instance or cluster a verification created (its
    /// identifier begins with [`VERIFY_IDENTIFIER_PREFIX`]): the run it belongs to can go on.
    VerificationResourceChanged {
        /// `DB instance` or `DB cluster`.
        resource: &'static str,
        identifier: String,
        event_id: String,
        message: String,
        region: String,
    },
    /// AWS Backup says a restore job completed.
    RestoreJobCompleted {
        job_id: String,
        /// What the restore made (an RDS DB instance or cluster ARN, for a database).
        created_resource_arn: Option<String>,
        recovery_point_arn: Option<String>,
        resource_type: Option<String>,
        /// Set for the jobs of an AWS Backup restore testing plan only.
        restore_testing_plan_arn: Option<String>,
        region: String,
    },
    /// CloudWatch says an alarm changed state.
    AlarmChanged {
        alarm_name: String,
        /// `ALARM`, `OK`, `INSUFFICIENT_DATA`.
        state: String,
        region: String,
        /// The event's time: when the failover was triggered, for the RTO measure.
        at: Option<time::OffsetDateTime>,
    },
    /// An operator's runbook call (`aws lambda invoke` with a payload of `events/runbook-*.json`,
    /// or the CLI).
    Runbook(RunbookRequest),
    /// A well-formed event that asks for nothing.
    Ignored { reason: String },
}

/// What an operator asks the failover function for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RunbookRequest {
    /// List the calls a failover would make; make no mutating call.
    DryRun {
        #[serde(default)]
        planned: bool,
    },
    /// Fail over now (an outage, or `planned`: a switchover that loses nothing).
    Execute {
        #[serde(default)]
        planned: bool,
    },
    /// Approve the pending run `run_id` of the plan whose hash is `plan_hash`.
    Approve { run_id: String, plan_hash: String },
    /// Put DNS back as the last failover found it and resume the schedules.
    Failback,
}

/// The `source` of a runbook payload.
pub const RUNBOOK_SOURCE: &str = "lifeboat.runbook";
/// Its `detail-type`.
pub const RUNBOOK_REQUEST: &str = "Lifeboat Runbook Request";

impl Trigger {
    /// A short description for reports and logs.
    pub fn describe(&self) -> String {
        match self {
            Trigger::Schedule { rule: Some(rule) } => format!("schedule ({rule})"),
            Trigger::Schedule { rule: None } => "schedule".into(),
            Trigger::Manual => "cli".into(),
            Trigger::SnapshotCreated {
                event_id,
                snapshot_arn,
                ..
            } => format!("event {event_id} for {snapshot_arn}"),
            Trigger::BackupJobCompleted {
                job_id, vault_arn, ..
            } => {
                format!("backup job {job_id} completed in {vault_arn}")
            }
            Trigger::CopyJobChanged { job_id, state, .. } => {
                format!("copy job {job_id} is {state}")
            }
            Trigger::VerificationResourceChanged {
                resource,
                identifier,
                event_id,
                message,
                ..
            } => format!("{event_id} for the {resource} {identifier}: {message}"),
            Trigger::RestoreJobCompleted {
                job_id,
                restore_testing_plan_arn: Some(plan),
                ..
            } => format!("restore testing job {job_id} of {plan} completed"),
            Trigger::RestoreJobCompleted { job_id, .. } => {
                format!("restore job {job_id} completed")
            }
            Trigger::AlarmChanged {
                alarm_name, state, ..
            } => format!("CloudWatch Alarm State Change: alarm {alarm_name} is {state}"),
            Trigger::Runbook(request) => format!("runbook: {request:?}"),
            Trigger::Ignored { reason } => format!("ignored event: {reason}"),
        }
    }

    /// Reads an EventBridge event.
    pub fn from_event(event: &Value) -> Result<Trigger, Error> {
        let envelope: Envelope = serde_json::from_value(event.clone())
            .map_err(|e| Error::InvalidEvent(format!("not an EventBridge event: {e}")))?;
        match (envelope.source.as_str(), envelope.detail_type.as_str()) {
            ("aws.events", "Scheduled Event") => Ok(Trigger::Schedule {
                rule: envelope.resources.first().cloned(),
            }),
            ("aws.rds", "RDS DB Snapshot Event") => {
                snapshot_event(&envelope, SnapshotKind::Instance, &SNAPSHOT_CREATED)
            }
            ("aws.rds", "RDS DB Cluster Snapshot Event") => {
                snapshot_event(&envelope, SnapshotKind::Cluster, &CLUSTER_SNAPSHOT_CREATED)
            }
            ("aws.rds", "RDS DB Instance Event") => database_event(&envelope, "DB instance"),
            ("aws.rds", "RDS DB Cluster Event") => database_event(&envelope, "DB cluster"),
            ("aws.backup", "Backup Job State Change") => backup_job_event(&envelope),
            ("aws.backup", "Restore Job State Change") => restore_job_event(&envelope),
            ("aws.cloudwatch", "CloudWatch Alarm State Change") => alarm_event(&envelope, event),
            (RUNBOOK_SOURCE, RUNBOOK_REQUEST) => serde_json::from_value(envelope.detail.clone())
                .map(Trigger::Runbook)
                .map_err(|e| Error::InvalidEvent(format!("detail: {e}"))),
            ("aws.backup", "Copy Job State Change") => copy_job_event(&envelope),
            (source, detail_type) => Ok(Trigger::Ignored {
                reason: format!(
                    "source {source:?} with detail-type {detail_type:?} is not a schedule, an RDS \
                     event or an AWS Backup job event"
                ),
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    detail: Value,
}

/// The string `detail.<name>` of an event, or the error naming it.
fn required<'a>(envelope: &'a Envelope, name: &str) -> Result<&'a str, Error> {
    envelope
        .detail
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::InvalidEvent(format!("detail.{name} is missing")))
}

/// The Region an AWS Backup event comes from: the envelope's, which must match the vault's.
fn backup_event_region(
    envelope: &Envelope,
    vault_field: &str,
    vault_arn: &str,
) -> Result<String, Error> {
    let vault_region = match vault_arn.splitn(7, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "backup", region, _, "backup-vault", name]
            if !region.is_empty() && !name.is_empty() =>
        {
            (*region).to_owned()
        }
        _ => {
            return Err(Error::InvalidEvent(format!(
                "detail.{vault_field} {vault_arn:?} is not a backup vault ARN"
            )));
        }
    };
    match &envelope.region {
        Some(region) if region != &vault_region && vault_field != "destinationBackupVaultArn" => {
            Err(Error::InvalidEvent(format!(
                "region {region:?} does not match detail.{vault_field} {vault_arn:?}"
            )))
        }
        Some(region) => Ok(region.clone()),
        None => Ok(vault_region),
    }
}

/// "Backup Job State Change": only COMPLETED asks for anything (a recovery point to copy).
fn backup_job_event(envelope: &Envelope) -> Result<Trigger, Error> {
    let state = required(envelope, "state")?;
    let job_id = required(envelope, "backupJobId")?;
    if state != "COMPLETED" {
        return Ok(Trigger::Ignored {
            reason: format!("backup job {job_id} is {state}: no recovery point to copy"),
        });
    }
    let vault_arn = required(envelope, "backupVaultArn")?;
    let region = backup_event_region(envelope, "backupVaultArn", vault_arn)?;
    Ok(Trigger::BackupJobCompleted {
        job_id: job_id.to_owned(),
        vault_arn: vault_arn.to_owned(),
        region,
    })
}

/// "Copy Job State Change", emitted in the Region the copy job was started in (the source's).
///
/// AWS Backup's own example of a CREATED copy job event carries no `copyJobId` (only the state,
/// the creation date and the two vaults): such an event asks for nothing, so it is ignored rather
/// than refused. A copy job that ended without a full copy (FAILED, PARTIAL, ABORTED) must name
/// its job, or the event is malformed.
fn copy_job_event(envelope: &Envelope) -> Result<Trigger, Error> {
    let state = required(envelope, "state")?;
    let job_id = match required(envelope, "copyJobId") {
        Ok(job_id) => job_id,
        Err(_) if !JobState::parse(state).is_failure() => {
            return Ok(Trigger::Ignored {
                reason: format!(
                    "a copy job is {state} (the event names no detail.copyJobId): nothing to do"
                ),
            });
        }
        Err(error) => return Err(error),
    };
    let source_vault_arn = required(envelope, "sourceBackupVaultArn")?;
    let destination_vault_arn = required(envelope, "destinationBackupVaultArn")?;
    let region = backup_event_region(envelope, "sourceBackupVaultArn", source_vault_arn)?;
    backup_event_region(envelope, "destinationBackupVaultArn", destination_vault_arn)?;
    Ok(Trigger::CopyJobChanged {
        job_id: job_id.to_owned(),
        state: state.to_owned(),
        status_message: envelope
            .detail
            .get("statusMessage")
            .and_then(Value::as_str)
            .map(str::to_owned),
        source_vault_arn: source_vault_arn.to_owned(),
        destination_vault_arn: destination_vault_arn.to_owned(),
        region,
    })
}

/// "RDS DB Instance Event" / "RDS DB Cluster Event": acted on only for a verification's own
/// resources; about any other database it asks Lifeboat for nothing.
fn database_event(envelope: &Envelope, resource: &'static str) -> Result<Trigger, Error> {
    let identifier = required(envelope, "SourceIdentifier")?;
    if !identifier.starts_with(VERIFY_IDENTIFIER_PREFIX) {
        return Ok(Trigger::Ignored {
            reason: format!(
                "source \"aws.rds\" with detail-type \"RDS {} Event\" about {identifier}: only \
                 a verification's own resources ({VERIFY_IDENTIFIER_PREFIX}…) are acted on",
                if resource == "DB instance" {
                    "DB Instance"
                } else {
                    "DB Cluster"
                }
            ),
        });
    }
    let region = envelope
        .region
        .clone()
        .ok_or_else(|| Error::InvalidEvent("region is missing".into()))?;
    Ok(Trigger::VerificationResourceChanged {
        resource,
        identifier: identifier.to_owned(),
        event_id: required(envelope, "EventID")?.to_owned(),
        message: envelope
            .detail
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        region,
    })
}

/// "CloudWatch Alarm State Change": the alarm's name and new state, and the event's time.
fn alarm_event(envelope: &Envelope, event: &Value) -> Result<Trigger, Error> {
    let alarm_name = required(envelope, "alarmName")?;
    let state = envelope
        .detail
        .pointer("/state/value")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidEvent("detail.state.value is missing".into()))?;
    let region = envelope
        .region
        .clone()
        .ok_or_else(|| Error::InvalidEvent("region is missing".into()))?;
    let at = event.get("time").and_then(Value::as_str).and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    Ok(Trigger::AlarmChanged {
        alarm_name: alarm_name.to_owned(),
        state: state.to_owned(),
        region,
        at,
    })
}

/// "Restore Job State Change": only COMPLETED asks for anything (a restored resource to check).
/// AWS Backup writes this one's state as `status`, not `state`.
fn restore_job_event(envelope: &Envelope) -> Result<Trigger, Error> {
    let status = required(envelope, "status")?;
    let job_id = required(envelope, "restoreJobId")?;
    if status != "COMPLETED" {
        return Ok(Trigger::Ignored {
            reason: format!("restore job {job_id} is {status}: nothing restored to check"),
        });
    }
    let region = envelope
        .region
        .clone()
        .ok_or_else(|| Error::InvalidEvent("region is missing".into()))?;
    let optional = |name: &str| {
        envelope
            .detail
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(Trigger::RestoreJobCompleted {
        job_id: job_id.to_owned(),
        created_resource_arn: optional("createdResourceArn"),
        recovery_point_arn: optional("recoveryPointArn"),
        resource_type: optional("resourceType"),
        restore_testing_plan_arn: optional("restoreTestingPlanArn"),
        region,
    })
}

fn snapshot_event(
    envelope: &Envelope,
    kind: SnapshotKind,
    created_ids: &[&str],
) -> Result<Trigger, Error> {
    let field = |name: &str| envelope.detail.get(name).and_then(Value::as_str);
    let event_id =
        field("EventID").ok_or_else(|| Error::InvalidEvent("detail.EventID is missing".into()))?;
    if !created_ids.contains(&event_id) {
        return Ok(Trigger::Ignored {
            reason: format!("{event_id} is not a snapshot-created event"),
        });
    }
    let arn = field("SourceArn")
        .or_else(|| envelope.resources.first().map(String::as_str))
        .ok_or_else(|| {
            Error::InvalidEvent("detail.SourceArn is missing (and resources is empty)".into())
        })?;
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let expected_type = match kind {
        SnapshotKind::Instance => "snapshot",
        SnapshotKind::Cluster => "cluster-snapshot",
    };
    let (region, snapshot_id) = match parts.as_slice() {
        ["arn", _, "rds", region, _, resource_type, id]
            if *resource_type == expected_type && !id.is_empty() =>
        {
            ((*region).to_owned(), (*id).to_owned())
        }
        _ => {
            return Err(Error::InvalidEvent(format!(
                "detail.SourceArn {arn:?} is not an RDS {expected_type} ARN"
            )));
        }
    };
    if let Some(event_region) = &envelope.region
        && event_region != &region
    {
        return Err(Error::InvalidEvent(format!(
            "region {event_region:?} does not match detail.SourceArn {arn:?}"
        )));
    }
    Ok(Trigger::SnapshotCreated {
        kind,
        snapshot_id,
        snapshot_arn: arn.to_owned(),
        region,
        event_id: event_id.to_owned(),
    })
}

/// The state of an AWS Backup copy job (CopyJobState, plus `ABORTED`, which "Copy Job State
/// Change" events carry): in the core, because the events carry it and the backup copy acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Created,
    Running,
    Completed,
    Failed,
    Partial,
    Aborted,
    /// A state this version of Lifeboat does not know.
    Unknown,
}

impl JobState {
    pub fn parse(text: &str) -> Self {
        match text {
            "CREATED" => JobState::Created,
            "RUNNING" => JobState::Running,
            "COMPLETED" => JobState::Completed,
            "FAILED" => JobState::Failed,
            "PARTIAL" => JobState::Partial,
            "ABORTED" => JobState::Aborted,
            _ => JobState::Unknown,
        }
    }

    /// Holds one of the account's concurrent copy job places.
    pub fn is_in_flight(self) -> bool {
        matches!(self, JobState::Created | JobState::Running)
    }

    /// Ended without a full copy: the recovery point is not copied.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            JobState::Failed | JobState::Partial | JobState::Aborted
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        f.write_str(text.as_deref().unwrap_or("UNKNOWN"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn scheduled_event_fixture_is_a_schedule() {
        let trigger = Trigger::from_event(&fixture("schedule.json")).unwrap();
        assert!(matches!(trigger, Trigger::Schedule { rule: Some(ref r) } if r.contains("rule/")));
    }

    #[test]
    fn automated_snapshot_event_fixture_names_the_snapshot() {
        let trigger = Trigger::from_event(&fixture("rds-snapshot-created.json")).unwrap();
        let Trigger::SnapshotCreated {
            kind,
            snapshot_id,
            region,
            event_id,
            ..
        } = trigger
        else {
            panic!("{trigger:?}")
        };
        assert_eq!(kind, SnapshotKind::Instance);
        assert_eq!(snapshot_id, "rds:orders-2026-11-25-03-10");
        assert_eq!(region, "us-west-2");
        assert_eq!(event_id, "RDS-EVENT-0091");
    }

    #[test]
    fn cluster_snapshot_event_fixture_is_a_cluster_snapshot() {
        let trigger = Trigger::from_event(&fixture("rds-cluster-snapshot-created.json")).unwrap();
        assert!(matches!(
            trigger,
            Trigger::SnapshotCreated {
                kind: SnapshotKind::Cluster,
                ..
            }
        ));
    }

    #[test]
    fn other_rds_events_are_ignored_with_a_reason() {
        let mut event = fixture("rds-snapshot-created.json");
        event["detail"]["EventID"] = "RDS-EVENT-0041".into();
        let trigger = Trigger::from_event(&event).unwrap();
        assert!(
            matches!(trigger, Trigger::Ignored { ref reason } if reason.contains("RDS-EVENT-0041"))
        );
    }

    /// An RDS event about a database that is not a verification's asks Lifeboat for nothing,
    /// and says what it is.
    #[test]
    fn rds_events_about_other_databases_are_ignored_naming_what_they_are() {
        let event = fixture("rds-db-instance-event.json");
        let trigger = Trigger::from_event(&event).unwrap();
        let Trigger::Ignored { reason } = trigger else {
            panic!("not ignored: {trigger:?}")
        };
        assert!(
            reason.contains("aws.rds")
                && reason.contains("RDS DB Instance Event")
                && reason.contains("orders"),
            "{reason}"
        );
    }

    #[test]
    fn rds_events_about_a_verifications_resources_name_the_resource() {
        for (name, resource, identifier, event_id) in [
            (
                "rds-verify-instance-event.json",
                "DB instance",
                "lifeboat-verify-aurora-weekly-1a2b3c4d-1",
                "RDS-EVENT-0005",
            ),
            (
                "rds-verify-cluster-event.json",
                "DB cluster",
                "lifeboat-verify-aurora-weekly-1a2b3c4d",
                "RDS-EVENT-0170",
            ),
        ] {
            let trigger = Trigger::from_event(&fixture(name)).unwrap();
            let Trigger::VerificationResourceChanged {
                resource: r,
                identifier: i,
                event_id: e,
                region,
                ..
            } = &trigger
            else {
                panic!("{name}: {trigger:?}")
            };
            assert_eq!(
                (*r, i.as_str(), e.as_str()),
                (resource, identifier, event_id)
            );
            assert_eq!(region, "us-east-2");
            assert!(
                trigger.describe().contains(identifier),
                "{}",
                trigger.describe()
            );
        }
        let mut without_id = fixture("rds-verify-instance-event.json");
        without_id["detail"]
            .as_object_mut()
            .unwrap()
            .remove("SourceIdentifier");
        let error = Trigger::from_event(&without_id).unwrap_err();
        assert!(
            error.to_string().contains("detail.SourceIdentifier"),
            "{error}"
        );
    }

    #[test]
    fn a_restore_testing_job_completed_names_the_job_the_resource_and_the_testing_plan() {
        let trigger = Trigger::from_event(&fixture("backup-restore-test-completed.json")).unwrap();
        let Trigger::RestoreJobCompleted {
            job_id,
            created_resource_arn,
            restore_testing_plan_arn,
            resource_type,
            region,
            ..
        } = trigger
        else {
            panic!("{trigger:?}")
        };
        assert_eq!(job_id, "D1E2F3A4-B5C6-7D8E-9F0A-1B2C3D4E5F60");
        assert_eq!(
            created_resource_arn.as_deref(),
            Some("arn:aws:rds:us-east-2:111122223333:db:awsbackup-restore-test-orders-7f3a9c")
        );
        assert!(
            restore_testing_plan_arn
                .unwrap()
                .contains(":restore-testing-plan:tracking_daily-")
        );
        assert_eq!(resource_type.as_deref(), Some("RDS"));
        assert_eq!(region, "us-east-2");

        // Another state asks for nothing; a completed job must name itself.
        let mut running = fixture("backup-restore-test-completed.json");
        running["detail"]["status"] = "RUNNING".into();
        assert!(matches!(
            Trigger::from_event(&running).unwrap(),
            Trigger::Ignored { ref reason } if reason.contains("RUNNING")
        ));
        let mut nameless = fixture("backup-restore-test-completed.json");
        nameless["detail"]
            .as_object_mut()
            .unwrap()
            .remove("restoreJobId");
        let error = Trigger::from_event(&nameless).unwrap_err();
        assert!(error.to_string().contains("detail.restoreJobId"), "{error}");
    }

    #[test]
    fn an_alarm_event_names_the_alarm_its_state_and_when() {
        let trigger = Trigger::from_event(&fixture("cloudwatch-alarm-state-change.json")).unwrap();
        let Trigger::AlarmChanged {
            alarm_name,
            state,
            at,
            ..
        } = trigger
        else {
            panic!("{trigger:?}")
        };
        assert_eq!(
            (alarm_name.as_str(), state.as_str()),
            ("tracking-api-5xx", "ALARM")
        );
        assert_eq!(at, Some(time::macros::datetime!(2026-11-25 17:04:40 UTC)));
    }

    #[test]
    fn runbook_payloads_are_read_and_a_wrong_one_is_refused_naming_the_field() {
        for (name, request) in [
            (
                "runbook-dry-run.json",
                RunbookRequest::DryRun { planned: false },
            ),
            (
                "runbook-execute.json",
                RunbookRequest::Execute { planned: false },
            ),
            (
                "runbook-approve.json",
                RunbookRequest::Approve {
                    run_id: "20261126T091500Z-1a2b3c4d".into(),
                    plan_hash: "0123456789abcdef".into(),
                },
            ),
            ("runbook-failback.json", RunbookRequest::Failback),
        ] {
            assert_eq!(
                Trigger::from_event(&fixture(name)).unwrap(),
                Trigger::Runbook(request),
                "{name}"
            );
        }
        let mut wrong = fixture("runbook-approve.json");
        wrong["detail"].as_object_mut().unwrap().remove("plan_hash");
        let error = Trigger::from_event(&wrong).unwrap_err();
        assert!(error.to_string().contains("plan_hash"), "{error}");
    }

    #[test]
    fn an_unknown_source_is_ignored_but_a_payload_without_one_is_refused() {
        let event = serde_json::json!({
            "version": "0", "id": "1", "source": "com.example.orders",
            "detail-type": "Order Placed", "account": "111122223333",
            "time": "2026-11-25T03:12:41Z", "region": "us-west-2", "resources": [], "detail": {}
        });
        assert!(matches!(
            Trigger::from_event(&event),
            Ok(Trigger::Ignored { .. })
        ));

        let mut without_detail_type = event.clone();
        without_detail_type
            .as_object_mut()
            .unwrap()
            .remove("detail-type");
        let error = Trigger::from_event(&without_detail_type).unwrap_err();
        assert_eq!(error.kind(), "InvalidEvent");
        assert!(error.to_string().contains("detail-type"), "{error}");
    }

    #[test]
    fn malformed_events_name_the_field() {
        let error = Trigger::from_event(&serde_json::json!({"hello": "world"})).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid event: not an EventBridge event"),
            "{error}"
        );

        let mut event = fixture("rds-snapshot-created.json");
        event["detail"]["SourceArn"] = "arn:aws:s3:::bucket".into();
        let error = Trigger::from_event(&event).unwrap_err();
        assert!(error.to_string().contains("detail.SourceArn"), "{error}");
        assert_eq!(error.kind(), "InvalidEvent");

        let mut event = fixture("rds-snapshot-created.json");
        event["detail"].as_object_mut().unwrap().remove("EventID");
        assert!(
            Trigger::from_event(&event)
                .unwrap_err()
                .to_string()
                .contains("detail.EventID")
        );
    }

    // AWS Backup events, as the AWS Backup developer guide's EventBridge page shows them
    // (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).

    #[test]
    fn backup_job_completed_fixture_names_the_job_and_its_vault() {
        let event = fixture("backup-job-completed.json");
        assert_eq!(event["source"], "aws.backup");
        assert_eq!(event["detail-type"], "Backup Job State Change");
        let trigger = Trigger::from_event(&event).unwrap();
        assert_eq!(
            trigger,
            Trigger::BackupJobCompleted {
                job_id: "a827233a-d405-4a86-a440-759fa94f34dd".into(),
                vault_arn: "arn:aws:backup:us-west-2:111122223333:backup-vault:Default".into(),
                region: "us-west-2".into(),
            }
        );
        assert!(trigger.describe().contains("completed"), "{trigger:?}");
    }

    #[test]
    fn copy_job_failed_fixture_carries_the_state_and_aws_message() {
        let event = fixture("copy-job-failed.json");
        assert_eq!(event["source"], "aws.backup");
        assert_eq!(event["detail-type"], "Copy Job State Change");
        let trigger = Trigger::from_event(&event).unwrap();
        assert_eq!(
            trigger,
            Trigger::CopyJobChanged {
                job_id: "47C8EF56-74D8-059D-1301-C5BE1D5C926E".into(),
                state: "FAILED".into(),
                status_message: Some("Access denied exception while trying to list tags".into()),
                source_vault_arn: "arn:aws:backup:us-west-2:111122223333:backup-vault:Default"
                    .into(),
                destination_vault_arn: "arn:aws:backup:us-east-2:111122223333:backup-vault:dr"
                    .into(),
                region: "us-west-2".into(),
            }
        );
    }

    /// Only a completed backup job has a recovery point to copy; the others (AWS's examples:
    /// FAILED, RUNNING, ABORTED, EXPIRED, PENDING, CREATED) are ignored with the reason.
    #[test]
    fn backup_job_events_in_other_states_are_ignored_with_a_reason() {
        for state in [
            "RUNNING", "FAILED", "ABORTED", "EXPIRED", "PENDING", "CREATED",
        ] {
            let mut event = fixture("backup-job-completed.json");
            event["detail"]["state"] = state.into();
            let trigger = Trigger::from_event(&event).unwrap();
            let Trigger::Ignored { reason } = trigger else {
                panic!("{state}: {trigger:?}")
            };
            assert!(
                reason.contains(state) && reason.contains("a827233a-d405-4a86-a440-759fa94f34dd"),
                "{state}: {reason}"
            );
        }
        // AWS's CREATED example carries the job id, the state and a date, nothing else.
        let created = serde_json::json!({
            "version": "0", "id": "29af2bf2-eace-58ab-da3a-8c0bf738d692",
            "detail-type": "Backup Job State Change", "source": "aws.backup",
            "account": "111122223333", "time": "2026-11-25T02:32:53Z", "region": "us-west-2",
            "resources": [],
            "detail": {
                "backupJobId": "7e8845b5-ca30-415f-a842-e0152bf4d0ca",
                "state": "CREATED",
                "creationDate": "2026-11-25T02:32:47.466Z"
            }
        });
        assert!(matches!(
            Trigger::from_event(&created),
            Ok(Trigger::Ignored { .. })
        ));
    }

    #[test]
    fn a_completed_backup_job_without_its_vault_or_job_id_is_refused_naming_the_field() {
        for field in ["backupVaultArn", "backupJobId", "state"] {
            let mut event = fixture("backup-job-completed.json");
            event["detail"].as_object_mut().unwrap().remove(field);
            let error = Trigger::from_event(&event).unwrap_err();
            assert_eq!(error.kind(), "InvalidEvent", "{field}");
            assert!(
                error.to_string().contains(&format!("detail.{field}")),
                "{field}: {error}"
            );
        }
        let mut event = fixture("backup-job-completed.json");
        event["detail"]["backupVaultArn"] = "arn:aws:s3:::not-a-vault".into();
        let error = Trigger::from_event(&event).unwrap_err();
        assert_eq!(error.kind(), "InvalidEvent");
        assert!(
            error.to_string().contains("detail.backupVaultArn"),
            "{error}"
        );
    }

    #[test]
    fn a_failed_copy_job_event_without_copy_job_id_is_refused_naming_the_field() {
        let mut event = fixture("copy-job-failed.json");
        event["detail"].as_object_mut().unwrap().remove("copyJobId");
        let error = Trigger::from_event(&event).unwrap_err();
        assert_eq!(error.kind(), "InvalidEvent");
        assert_eq!(
            error.to_string(),
            "invalid event: detail.copyJobId is missing",
            "{error}"
        );
    }

    #[test]
    fn a_copy_job_event_with_a_bad_vault_arn_is_refused_naming_the_field() {
        for field in ["sourceBackupVaultArn", "destinationBackupVaultArn"] {
            for bad in [
                "arn:aws:s3:::not-a-vault",
                "arn:aws:backup:us-west-2:111122223333:recovery-point:1EB3B5E7",
                "Default",
            ] {
                let mut event = fixture("copy-job-failed.json");
                event["detail"][field] = bad.into();
                let error = Trigger::from_event(&event).unwrap_err();
                assert_eq!(error.kind(), "InvalidEvent", "{field} = {bad}");
                assert!(
                    error.to_string().contains(&format!("detail.{field}")),
                    "{field} = {bad}: {error}"
                );
            }
            let mut event = fixture("copy-job-failed.json");
            event["detail"].as_object_mut().unwrap().remove(field);
            let error = Trigger::from_event(&event).unwrap_err();
            assert!(
                error.to_string().contains(&format!("detail.{field}")),
                "{error}"
            );
        }
        // The source vault is in the Region the event comes from; another Region is a mismatch.
        let mut event = fixture("copy-job-failed.json");
        event["region"] = "eu-west-1".into();
        let error = Trigger::from_event(&event).unwrap_err();
        assert!(
            error.to_string().contains("detail.sourceBackupVaultArn"),
            "{error}"
        );
    }

    /// AWS Backup's example of a CREATED copy job event names no job: nothing to do, and
    /// refusing it would make Lambda retry it and park it in the failure queue.
    #[test]
    fn a_copy_job_event_that_names_no_job_in_a_state_asking_for_nothing_is_ignored() {
        let created = serde_json::json!({
            "version": "0", "id": "8398a4c4-8fe8-2b49-a4b9-fd4fdcd34a4e",
            "detail-type": "Copy Job State Change", "source": "aws.backup",
            "account": "111122223333", "time": "2026-11-25T04:06:32Z", "region": "us-west-2",
            "resources": ["arn:aws:ec2:us-west-2::image/ami-0f1e2d3c4b5a69788"],
            "detail": {
                "creationDate": "2026-11-25T04:06:25.754Z",
                "state": "CREATED",
                "sourceBackupVaultArn": "arn:aws:backup:us-west-2:111122223333:backup-vault:Default",
                "destinationBackupVaultArn": "arn:aws:backup:us-east-2:111122223333:backup-vault:dr"
            }
        });
        let trigger = Trigger::from_event(&created).unwrap();
        assert!(
            matches!(trigger, Trigger::Ignored { ref reason } if reason.contains("CREATED")),
            "{trigger:?}"
        );
        // With its id, a copy job event of any state is read; the task decides what it asks for.
        let mut completed = fixture("copy-job-failed.json");
        completed["detail"]["state"] = "COMPLETED".into();
        assert!(matches!(
            Trigger::from_event(&completed),
            Ok(Trigger::CopyJobChanged { ref state, .. }) if state == "COMPLETED"
        ));
    }
}
