//! The copy task when AWS misbehaves: calls go through a fault-injecting proxy to the emulator.

use std::time::Duration;

use lifeboat_shared::copy::{CopyReport, Outcome};
use lifeboat_shared::record::{Report, RunOutcome};
use lifeboat_shared::tasks::{Finished, RunOptions, run_copy_snapshots};
use lifeboat_shared::trigger::Trigger;
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, FaultProxy, World};

async fn run(lifeboat: &lifeboat_shared::context::Lifeboat) -> CopyReport {
    match run_copy_snapshots(lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { report, .. }) => report,
        other => panic!("the run did not happen: {other:?}"),
    }
}

#[tokio::test]
async fn access_denied_on_one_copy_is_named_and_the_others_still_copy() {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.db_cluster("phoenix", None, &[]).await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.fail_with(
        "CopyDBSnapshot",
        None,
        403,
        "AccessDenied",
        "User: arn:aws:sts::111122223333:assumed-role/lifeboat/copy is not authorized to perform: rds:CopyDBSnapshot",
    );
    let plan = world.plan(
        "denied",
        "[[copy.rds]]\ndb_instance = \"orders\"\n[[copy.rds]]\ndb_cluster = \"phoenix\"\n",
    );
    let report = run(&world.lifeboat_via(plan, proxy.endpoint())).await;

    assert_eq!(report.run.outcome, Some(RunOutcome::Partial), "{report:#?}");
    let failed: Vec<_> = report.items_with(Outcome::Failed).collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    let source = failed[0].source_snapshot.as_deref().unwrap();
    assert_eq!(
        failed[0].detail,
        format!(
            "access denied: rds:CopyDBSnapshot on {source} in {RECOVERY} (User: \
             arn:aws:sts::111122223333:assumed-role/lifeboat/copy is not authorized to perform: rds:CopyDBSnapshot)"
        )
    );
    assert_eq!(
        report.count(Outcome::Started),
        1,
        "the cluster copy went on"
    );
}

#[tokio::test]
async fn throttling_is_retried_and_the_run_succeeds() {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.fail_with(
        "CopyDBSnapshot",
        Some(1),
        400,
        "Throttling",
        "Rate exceeded",
    );
    let plan = world.plan("throttled", "[[copy.rds]]\ndb_instance = \"orders\"\n");
    let report = run(&world.lifeboat_via(plan, proxy.endpoint())).await;
    assert_eq!(
        report.run.outcome,
        Some(RunOutcome::Succeeded),
        "{report:#?}"
    );
    assert_eq!(report.count(Outcome::Started), 1);
    assert_eq!(world.recovery_snapshots().await.len(), 1);
}

#[tokio::test]
async fn copies_are_issued_concurrently_but_never_more_than_eight_calls_at_once() {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("events", None, &[]).await;
    world.snapshots("events", 19).await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    // Slow copies, so that calls issued together are seen together.
    proxy.delay("CopyDBSnapshot", Duration::from_millis(200));
    let plan = world.plan(
        "concurrent",
        "[[copy.rds]]\ndb_instance = \"events\"\nsnapshots = \"all\"\n",
    );
    let report = run(&world.lifeboat_via(plan, proxy.endpoint())).await;
    assert_eq!(report.count(Outcome::Started), 20, "{report:#?}");
    assert_eq!(
        proxy.peak_in_flight("CopyDBSnapshot"),
        8,
        "copies go out eight at a time"
    );
}

#[tokio::test]
async fn when_the_recovery_region_cannot_be_listed_the_run_fails_without_copying() {
    let world = World::new(Emulator::shared().new_account().await);
    let queue = world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.fail_with(
        "DescribeDBSnapshots",
        None,
        500,
        "InternalFailure",
        "We encountered an internal error",
    );
    let plan = world.plan("blind", "[[copy.rds]]\ndb_instance = \"orders\"\n");
    let lifeboat = world.lifeboat_via(plan, proxy.endpoint());
    let error = run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default())
        .await
        .unwrap_err();
    // Without knowing what the recovery Region holds, copying could duplicate: nothing is done.
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("rds:DescribeDBSnapshots"),
        "{error}"
    );
    assert!(world.recovery_snapshots().await.is_empty());
    // The failure is still on the record and on the bus.
    let events = world.delivered_events(&queue).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["detail"]["outcome"], "failed");
    let latest = world
        .state_object("runs/blind/copy-snapshots/latest.json")
        .await
        .expect("a record");
    assert!(latest.contains("rds:DescribeDBSnapshots"), "{latest}");
}

#[tokio::test]
async fn a_prune_that_fails_is_a_failure_in_the_outcome_and_in_prunes_failed() {
    use lifeboat_shared::copy::{Scope, copy_snapshots};
    use lifeboat_shared::metrics::Unit;
    use lifeboat_shared::record::RunHeader;

    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.db_instance("ledger", None, &[]).await;
    world.snapshots("ledger", 2).await;
    let plan = world.plan(
        "prunes",
        "[[copy.rds]]\ndb_instance = \"ledger\"\nsnapshots = \"all\"\nretain_days = 7\nkeep_at_least = 1\n",
    );
    assert_eq!(
        run(&world.lifeboat(plan.clone()))
            .await
            .count(Outcome::Started),
        3
    );

    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.fail_with(
        "DeleteDBSnapshot",
        None,
        400,
        "InvalidDBSnapshotState",
        "Cannot delete the snapshot because it is not in the available state",
    );
    let lifeboat = world.lifeboat_via(plan.clone(), proxy.endpoint());
    // Ten days later two of the three copies are due for pruning, and neither can be deleted.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let header = RunHeader::start("copy-snapshots", &plan, "test", false, later);
    let report = copy_snapshots(&lifeboat.clients, &plan, &Scope::Everything, header, None)
        .await
        .unwrap();

    assert_eq!(report.count(Outcome::PruneFailed), 2, "{report:#?}");
    assert_eq!(report.run.outcome, Some(RunOutcome::Failed), "{report:#?}");
    let counts = &report.metrics()[0];
    let value = |name: &str| {
        counts
            .values
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, unit)| (*v, *unit))
    };
    assert_eq!(value("PrunesFailed"), Some((2.0, Unit::Count)));
    assert_eq!(value("CopiesFailed"), Some((0.0, Unit::Count)));
    assert!(
        report
            .items_with(Outcome::PruneFailed)
            .all(|i| i.detail.contains("InvalidDBSnapshotState")
                || i.detail.contains("not in the available state")),
        "{report:#?}"
    );
}
