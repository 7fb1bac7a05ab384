//! What started a run, read from the EventBridge event Lambda received. Malformed events are
//! refused with the field that is wrong; well-formed events Lifeboat has nothing to do for
//! (a snapshot *deletion*, a snapshot from another Region) are ignored, with the reason.

use serde::Deserialize;
use serde_json::Value;

use crate::copy::SnapshotKind;
use crate::error::Error;

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
    /// A well-formed event that asks for nothing.
    Ignored { reason: String },
}

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
            (source, detail_type) => Err(Error::InvalidEvent(format!(
                "source {source:?} with detail-type {detail_type:?} is not a schedule or an RDS snapshot event"
            ))),
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
}
