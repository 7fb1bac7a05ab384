//! `lifeboat status`'s posture, against the emulator: the budgets broken before anything was
//! copied or verified; then the newest copy and its age, the verification's figures, the replica
//! and its lag, where the record points, the last runs, all budgets holding; and all of it read
//! with the primary Region unreachable (the fault proxy black-holes it).

use lifeboat_shared::status::posture;
use lifeboat_shared::tasks::{
    Finished, RunOptions, Verifications, run_copy_snapshots, run_verify_restore,
};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::Verdict;
use lifeboat_tests::databases::PARCELS_POSTGRES;
use lifeboat_tests::proxy::FaultProxy;
use lifeboat_tests::world::{PRIMARY, cname_upsert};
use lifeboat_tests::{Emulator, World, quick_verify_options};

#[tokio::test]
async fn the_posture_shows_copies_verifications_replicas_and_dns_from_the_recovery_region_only() {
    let world = World::new(Emulator::shared().new_account().await);
    let (seeded, _) = world.verification_source("lbs", PARCELS_POSTGRES).await;
    world.read_replica("orders", "orders-dr").await;
    world
        .put_lag_metric("ReplicaLag", "DBInstanceIdentifier", "orders-dr", 3.0)
        .await;
    let zone = world.hosted_zone("tracking.example.com.").await;
    world
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(cname_upsert(
            "api.tracking.example.com.",
            "primary.example.com",
            60,
        ))
        .send()
        .await
        .unwrap();
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[copy.rds]]
            db_instance = "orders"
            retain_days = 3
            [[verify]]
            name = "weekly"
            db_instance = "orders"
            instance_class = "db.t4g.micro"
            subnet_group = "dr-isolated"
            database = "{}"
            [[verify.checks]]
            sql = "SELECT count(*) FROM parcels"
            expect = "= 3"
            [failover]
            alarms = ["tracking-api-5xx"]
            [[failover.promote]]
            rds_replica = "orders-dr"
            [[failover.dns]]
            hosted_zone_id = "{zone}"
            record = "api.tracking.example.com"
            type = "CNAME"
            primary = "primary.example.com"
            recovery = "dr.example.com"
            "#,
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(plan.clone());

    // Nothing copied or verified yet: two budgets broken.
    let before = posture(&lifeboat).await.unwrap();
    assert_eq!(
        before.broken,
        [
            "orders: no copy in us-east-2",
            "verification weekly: never run"
        ]
    );

    match run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { .. }) => {}
        other => panic!("the copy did not run: {other:?}"),
    }
    match run_verify_restore(
        &lifeboat,
        &Trigger::Manual,
        quick_verify_options(),
        None,
        None,
    )
    .await
    {
        Ok(Verifications::Ran(results)) => {
            assert!(results.iter().all(|r| r.verified()), "{results:#?}")
        }
        other => panic!("the verification did not run: {other:?}"),
    }

    // Read with the primary Region black-holed: nothing of it is needed.
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.black_hole(PRIMARY);
    let p = posture(&world.lifeboat_via(plan, proxy.endpoint()))
        .await
        .unwrap();
    assert_eq!(proxy.swallowed(PRIMARY), 0);
    assert_eq!(p.broken, Vec::<String>::new(), "{p:#?}");
    let copy = &p.copies[0];
    assert_eq!(
        (copy.db.as_str(), copy.copies, copy.retain_days),
        ("orders", 1, 3)
    );
    assert!(
        copy.newest_copy
            .as_deref()
            .is_some_and(|c| c.starts_with("lifeboat-orders-1-"))
    );
    assert!(
        copy.age_seconds.is_some_and(|a| (0..3600).contains(&a)),
        "{copy:#?}"
    );
    let last = p.verifications[0]
        .last
        .as_ref()
        .expect("the last verification");
    assert_eq!(last.verdict, Verdict::Verified);
    assert!(last.restore_seconds.is_some());
    let replica = &p.replicas[0];
    assert_eq!(replica.target, "rds-replica:orders-dr");
    assert_eq!(replica.status.as_deref(), Some("available"));
    assert!(!replica.writable);
    assert_eq!(replica.lag_seconds, Some(3.0));
    assert_eq!(p.dns[0].values, ["primary.example.com"]);
    assert_eq!(p.dns[0].points_to, "primary");
    let tasks: Vec<&str> = p.last_runs.iter().map(|r| r.task.as_str()).collect();
    assert_eq!(tasks, ["copy-snapshots", "verify-restore"]);
}
