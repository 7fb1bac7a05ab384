//! What the `copy-snapshots` function does with events that are not its own: well-formed events of
//! another kind are answered "ignored" (a success, so Lambda neither retries them nor parks them in
//! the failure queue) and cost no AWS call; a malformed event of its own kind is still an error.

use lifeboat_shared::tasks::handle_copy_snapshots_event;
use lifeboat_tests::{Emulator, World};

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn world() -> World {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world
}

#[tokio::test]
async fn events_of_other_kinds_are_ignored_with_their_reason_and_call_nothing() {
    let world = world().await;
    let lifeboat = world.lifeboat(world.plan("events", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let seeded = Emulator::shared().calls_of(&world.account).len();

    for name in [
        "rds-db-instance-event.json",
        "cloudwatch-alarm-state-change.json",
    ] {
        let event = fixture(name);
        let answer = handle_copy_snapshots_event(&lifeboat, &event)
            .await
            .unwrap_or_else(|e| panic!("{name} was refused: {e} ({})", e.kind()));
        let reason = answer["ignored"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {answer}"));
        let detail_type = event["detail-type"].as_str().unwrap();
        assert!(reason.contains(detail_type), "{name}: {reason}");
        assert!(answer.get("run_id").is_none(), "{name} started a run");
    }

    let calls = Emulator::shared().calls_of(&world.account);
    assert_eq!(
        calls.len(),
        seeded,
        "no lease, no listing, no record: {:?}",
        &calls[seeded..]
    );
    assert!(world.recovery_snapshots().await.is_empty());
}

#[tokio::test]
async fn a_malformed_snapshot_event_is_still_an_error_naming_the_field() {
    let world = world().await;
    let lifeboat = world.lifeboat(world.plan("events", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let seeded = Emulator::shared().calls_of(&world.account).len();

    let mut without_event_id = fixture("rds-snapshot-created.json");
    without_event_id["detail"]
        .as_object_mut()
        .unwrap()
        .remove("EventID");
    let mut bad_arn = fixture("rds-snapshot-created.json");
    bad_arn["detail"]["SourceArn"] = "arn:aws:rds:us-west-2:111122223333:db:orders".into();

    for (event, field) in [
        (without_event_id, "detail.EventID"),
        (bad_arn, "detail.SourceArn"),
    ] {
        let error = handle_copy_snapshots_event(&lifeboat, &event)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "InvalidEvent");
        assert!(error.to_string().contains(field), "{error}");
    }
    assert_eq!(Emulator::shared().calls_of(&world.account).len(), seeded);
}
