//! The DR drill (the README's first command) end to end against the emulator, each step's effect
//! asserted in the emulator: the copies exist in the recovery Region, the restore was made and
//! removed, the replicas were promoted, the record flipped to the recovery Region and back.

use lifeboat_tests::drill::{self, DR_ALB, PRIMARY_ALB, RECORD};
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

#[tokio::test]
async fn the_drill_copies_verifies_fails_over_and_fails_back() {
    let world = World::new(Emulator::shared().new_account().await);
    let seeded = drill::seed(&world, "lbx").await;
    let lifeboat = world.lifeboat(seeded.plan.clone());
    let summary = drill::run(&lifeboat, &world, &seeded).await;
    let steps: Vec<(&str, bool)> = summary.steps.iter().map(|s| (s.step, s.ok)).collect();
    assert_eq!(
        steps,
        [
            ("copy", true),
            ("backup copy", true),
            ("verify", true),
            ("failover", true),
            ("status", true),
            ("failback", true)
        ],
        "{}",
        summary.table()
    );

    // The copies: the three databases' snapshots, and the two recovery points in the dr vault.
    let copies = world.recovery_snapshots().await;
    assert_eq!(copies.len(), 3, "{copies:#?}");
    let dr = world
        .backup(RECOVERY)
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("dr")
        .send()
        .await
        .unwrap();
    assert_eq!(dr.recovery_points().len(), 2);

    // The restore was made, checked and removed.
    let calls = Emulator::shared().calls_of(&world.account);
    let restores = calls
        .iter()
        .filter(|c| c.action == "RestoreDBInstanceFromDBSnapshot")
        .count();
    assert_eq!(restores, 1);
    let instances = world
        .recovery_rds
        .describe_db_instances()
        .send()
        .await
        .unwrap();
    let left: Vec<&str> = instances
        .db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier())
        .filter(|id| id.starts_with("lifeboat-verify-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        summary.steps[2].result.contains("data age"),
        "{}",
        summary.table()
    );

    // The replicas stand alone.
    let replica = world.described_db_instance(RECOVERY, "orders-dr").await;
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);
    let cluster = world.described_db_cluster(RECOVERY, "phoenix-dr").await;
    assert_eq!(cluster.replication_source_identifier(), None);

    // The record went to the recovery Region and back: two UPSERT batches, DR then primary.
    let batches: Vec<String> = calls
        .iter()
        .filter(|c| c.service == "route53" && c.body.contains("<ChangeResourceRecordSetsRequest"))
        .map(|c| c.body.clone())
        .collect();
    assert_eq!(
        batches.len(),
        3,
        "the seed's, the failover's, the failback's: {batches:#?}"
    );
    assert!(batches[1].contains(DR_ALB), "{}", batches[1]);
    assert!(batches[2].contains(PRIMARY_ALB), "{}", batches[2]);
    let records = world
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(&seeded.zone)
        .send()
        .await
        .unwrap();
    let value: Vec<&str> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == RECORD)
        .flat_map(|r| r.resource_records().iter().map(|v| v.value()))
        .collect();
    assert_eq!(value, [PRIMARY_ALB]);
    assert!(world.state_object("paused/tracking.json").await.is_none());

    // The posture after the drill: every copy there, AWS Backup's included, and no budget broken.
    let after = lifeboat_shared::status::posture(&lifeboat).await.unwrap();
    assert_eq!(after.broken, Vec::<String>::new(), "{after:#?}");
    assert_eq!(after.copies.len(), 3);
    assert_eq!(after.backup_copies.len(), 2, "{after:#?}");
    assert!(
        after
            .backup_copies
            .iter()
            .all(|b| b.vault == "dr" && b.age_seconds.is_some())
    );
    assert!(after.dns.iter().all(|d| d.points_to == "primary"));
}
