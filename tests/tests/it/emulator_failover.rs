//! What a failover calls, as the emulator answers it (`tests/emulator/lifeboat_emulator/`:
//! `rds_promotion.py`, `rds_global.py`, `rds_operations.py`, `route53_changes.py`), through the
//! real Rust SDK clients. Each test names the statement of the AWS API reference (or user guide)
//! it shows; moto 5.2.5 alone gets every one of them wrong or lacks the call.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::{DbCluster, DbInstance, GlobalCluster};
use lifeboat_tests::Emulator;
use lifeboat_tests::world::{PRIMARY, RECOVERY, World, cname_upsert};

async fn world() -> World {
    World::new(Emulator::shared().new_account().await)
}

fn code<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("not a service error")
        .to_owned()
}

async fn instance(world: &World, region: &str, id: &str) -> DbInstance {
    world.described_db_instance(region, id).await
}

async fn cluster(world: &World, region: &str, id: &str) -> DbCluster {
    world.described_db_cluster(region, id).await
}

async fn global(world: &World, region: &str, id: &str) -> GlobalCluster {
    world
        .rds(region)
        .describe_global_clusters()
        .global_cluster_identifier(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe global cluster {id}: {e:?}"))
        .global_clusters()
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no global cluster {id}"))
}

/// `(cluster ARN, IsWriter)` of each member.
fn writers(gc: &GlobalCluster) -> Vec<(String, bool)> {
    let mut members: Vec<(String, bool)> = gc
        .global_cluster_members()
        .iter()
        .map(|m| {
            (
                m.db_cluster_arn().unwrap_or_default().to_owned(),
                m.is_writer().unwrap_or(false),
            )
        })
        .collect();
    members.sort();
    members
}

/// `(cluster ARN, IsWriter)` with `writer` the writer, sorted as [`writers`] sorts.
fn roles(writer: &str, reader: &str) -> Vec<(String, bool)> {
    let mut roles = vec![(writer.to_owned(), true), (reader.to_owned(), false)];
    roles.sort();
    roles
}

async fn promote(world: &World, id: &str) -> Result<DbInstance, String> {
    world
        .recovery_rds
        .promote_read_replica()
        .db_instance_identifier(id)
        .send()
        .await
        .map(|out| {
            out.db_instance
                .expect("PromoteReadReplica returns the DB instance")
        })
        .map_err(code)
}

async fn promote_cluster(rds: &aws_sdk_rds::Client, id: &str) -> Result<DbCluster, String> {
    rds.promote_read_replica_db_cluster()
        .db_cluster_identifier(id)
        .send()
        .await
        .map(|out| out.db_cluster.expect("the DB cluster"))
        .map_err(code)
}

/// FailoverGlobalCluster of `global` to `target`, with `AllowDataLoss` when given.
async fn fail_over(
    rds: &aws_sdk_rds::Client,
    global: &str,
    target: &str,
    allow_data_loss: Option<bool>,
) -> Result<GlobalCluster, String> {
    rds.failover_global_cluster()
        .global_cluster_identifier(global)
        .target_db_cluster_identifier(target)
        .set_allow_data_loss(allow_data_loss)
        .send()
        .await
        .map(|out| out.global_cluster.expect("the global cluster"))
        .map_err(code)
}

async fn switch_over(
    rds: &aws_sdk_rds::Client,
    global: &str,
    target: &str,
) -> Result<GlobalCluster, String> {
    rds.switchover_global_cluster()
        .global_cluster_identifier(global)
        .target_db_cluster_identifier(target)
        .send()
        .await
        .map(|out| out.global_cluster.expect("the global cluster"))
        .map_err(code)
}

/// PromoteReadReplica "Promotes a read replica DB instance to a standalone DB instance": the
/// replica no longer names its source, and the source (in the other Region, found through the
/// replica's ARN) no longer lists it. The answer comes at once, with the replica `modifying`
/// ("The promotion process can take several minutes"); `BackupRetentionPeriod` "Default: 1".
#[tokio::test]
async fn promoting_a_cross_region_read_replica_makes_it_standalone_on_both_sides() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    let replica_arn = world.read_replica("orders", "orders-dr").await;
    let source = instance(&world, PRIMARY, "orders").await;
    assert_eq!(source.read_replica_db_instance_identifiers(), [replica_arn]);
    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(
        replica.read_replica_source_db_instance_identifier(),
        source.db_instance_arn()
    );

    let answer = promote(&world, "orders-dr").await.unwrap();
    assert_eq!(answer.db_instance_status(), Some("modifying"));

    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(replica.db_instance_status(), Some("available"));
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);
    assert_eq!(replica.backup_retention_period(), Some(1));
    let source = instance(&world, PRIMARY, "orders").await;
    assert!(
        source.read_replica_db_instance_identifiers().is_empty(),
        "{:?}",
        source.read_replica_db_instance_identifiers()
    );
}

/// A promotion takes minutes: held, the replica stays `modifying` (still replicating from its
/// source) for the describes a test asks, then is standalone; promoting it again meanwhile is
/// refused like any promotion of an instance that is not `available` (`InvalidDBInstanceState`).
/// Without a count, it waits for the control API.
#[tokio::test]
async fn a_held_promotion_is_modifying_until_it_ends() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    world.read_replica("orders", "orders-dr").await;

    world.hold_promotions(RECOVERY, 1, Some(2)).await;
    promote(&world, "orders-dr").await.unwrap();
    for _ in 0..2 {
        let replica = instance(&world, RECOVERY, "orders-dr").await;
        assert_eq!(replica.db_instance_status(), Some("modifying"));
        assert!(
            replica
                .read_replica_source_db_instance_identifier()
                .is_some()
        );
    }
    assert_eq!(
        promote(&world, "orders-dr").await.unwrap_err(),
        "InvalidDBInstanceState"
    );
    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(replica.db_instance_status(), Some("available"));
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);

    world.db_instance("users", None, &[]).await;
    world.read_replica("users", "users-dr").await;
    world.hold_promotions(RECOVERY, 1, None).await;
    promote(&world, "users-dr").await.unwrap();
    for _ in 0..3 {
        let replica = instance(&world, RECOVERY, "users-dr").await;
        assert_eq!(replica.db_instance_status(), Some("modifying"));
    }
    world
        .finish_rds_operation(RECOVERY, "users-dr")
        .await
        .unwrap();
    let replica = instance(&world, RECOVERY, "users-dr").await;
    assert_eq!(replica.db_instance_status(), Some("available"));
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);
    assert!(
        world
            .finish_rds_operation(RECOVERY, "users-dr")
            .await
            .is_err(),
        "nothing left in progress"
    );
}

/// "A read replica cannot be promoted to a standalone instance when it is in the backing-up
/// status": refused (`InvalidDBInstanceState`) while `backing-up`, promoted once the backup is
/// over — here after one describe, as a run that retries would see it.
#[tokio::test]
async fn a_replica_backing_up_is_refused_then_promoted_when_the_backup_ends() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    world.read_replica("orders", "orders-dr").await;
    world
        .start_backing_up(RECOVERY, "orders-dr", Some(1))
        .await
        .unwrap();

    assert_eq!(
        promote(&world, "orders-dr").await.unwrap_err(),
        "InvalidDBInstanceState"
    );
    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(replica.db_instance_status(), Some("backing-up"));
    assert_eq!(
        promote(&world, "orders-dr").await.unwrap_err(),
        "InvalidDBInstanceState",
        "still backing up until the next describe"
    );
    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(replica.db_instance_status(), Some("available"));

    promote(&world, "orders-dr").await.unwrap();
    let replica = instance(&world, RECOVERY, "orders-dr").await;
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);

    // Only an available instance goes into a backup.
    world.hold_promotions(RECOVERY, 1, None).await;
    world.db_instance("users", None, &[]).await;
    world.read_replica("users", "users-dr").await;
    promote(&world, "users-dr").await.unwrap();
    let refused = world.start_backing_up(RECOVERY, "users-dr", None).await;
    assert!(refused.unwrap_err().starts_with("409"));
}

/// PromoteReadReplica's `DBInstanceIdentifier` "Must match the identifier of an existing read
/// replica DB instance": a DB instance that is no replica is `InvalidDBInstanceState` (moto
/// promotes it), an unknown one `DBInstanceNotFound` (moto: an HTML 500).
/// PromoteReadReplicaDBCluster's "Must match the identifier of an existing DB cluster read
/// replica": `InvalidDBClusterStateFault`, `DBClusterNotFoundFault`.
#[tokio::test]
async fn promoting_what_is_no_read_replica_is_refused() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    let refused = world
        .primary_rds
        .promote_read_replica()
        .db_instance_identifier("orders")
        .send()
        .await
        .map_err(code)
        .unwrap_err();
    assert_eq!(refused, "InvalidDBInstanceState");
    assert_eq!(
        instance(&world, PRIMARY, "orders")
            .await
            .db_instance_status(),
        Some("available")
    );
    assert_eq!(
        promote(&world, "nothing").await.unwrap_err(),
        "DBInstanceNotFound"
    );

    world.db_cluster("tracking", None, &[]).await;
    let refused = promote_cluster(&world.primary_rds, "tracking")
        .await
        .unwrap_err();
    assert_eq!(refused, "InvalidDBClusterStateFault");
    let refused = promote_cluster(&world.recovery_rds, "nothing")
        .await
        .unwrap_err();
    assert_eq!(refused, "DBClusterNotFoundFault");
}

/// PromoteReadReplicaDBCluster "Promotes a read replica DB cluster to a standalone DB cluster":
/// it loses `ReplicationSourceIdentifier` and its source's `ReadReplicaIdentifiers` drops it;
/// held, it is `promoting` meanwhile and still a replica.
#[tokio::test]
async fn promoting_a_replica_cluster_makes_it_a_standalone_writer() {
    let world = world().await;
    world.db_cluster("tracking", None, &[]).await;
    let replica_arn = world.replica_cluster("tracking", "tracking-dr").await;
    let source = cluster(&world, PRIMARY, "tracking").await;
    assert_eq!(source.read_replica_identifiers(), [replica_arn]);

    world.hold_promotions(RECOVERY, 1, Some(1)).await;
    let answer = promote_cluster(&world.recovery_rds, "tracking-dr")
        .await
        .unwrap();
    assert_eq!(answer.status(), Some("promoting"));
    let held = cluster(&world, RECOVERY, "tracking-dr").await;
    assert_eq!(held.status(), Some("promoting"));
    assert!(held.replication_source_identifier().is_some());

    let promoted = cluster(&world, RECOVERY, "tracking-dr").await;
    assert_eq!(promoted.status(), Some("available"));
    assert_eq!(promoted.replication_source_identifier(), None);
    let source = cluster(&world, PRIMARY, "tracking").await;
    assert!(source.read_replica_identifiers().is_empty());
}

/// CreateGlobalCluster's `SourceDBClusterIdentifier` is "The Amazon Resource Name (ARN) to use
/// as the primary cluster" — in its own Region (moto looks only in us-east-1), and it becomes the
/// writer. The global database is one resource: DescribeGlobalClusters answers the same in both
/// Regions, and with `GlobalClusterIdentifier` just that one (`GlobalClusterNotFoundFault` for
/// an unknown one; moto ignores the identifier).
#[tokio::test]
async fn a_global_database_spans_both_regions() {
    let world = world().await;
    let (primary, secondary) = world
        .global_database("tracking-global", "tracking", "tracking-dr")
        .await;
    for region in [PRIMARY, RECOVERY] {
        let gc = global(&world, region, "tracking-global").await;
        assert_eq!(gc.status(), Some("available"));
        assert_eq!(writers(&gc), roles(&primary, &secondary));
        assert!(gc.failover_state().is_none());
    }
    let unknown = world
        .recovery_rds
        .describe_global_clusters()
        .global_cluster_identifier("nothing")
        .send()
        .await
        .map_err(code)
        .unwrap_err();
    assert_eq!(unknown, "GlobalClusterNotFoundFault");
}

/// FailoverGlobalCluster with `AllowDataLoss` ("Allowing data loss triggers a global failover
/// operation"), called in the secondary's Region with the target's ARN: the global cluster is
/// `failing-over` with a `FailoverState` (`FromDbClusterArn`, `ToDbClusterArn`,
/// `IsDataLossAllowed`) while it runs; then the target is the writer, the old primary a
/// secondary, `FailoverState` gone ("empty unless ... in progress"), and in the old primary's
/// Region the system snapshot "named rds:unplanned-global-failover-name-of-old-primary-DB-cluster-timestamp".
#[tokio::test]
async fn a_global_failover_with_data_loss_moves_the_writer_and_leaves_a_snapshot() {
    let world = world().await;
    let (primary, secondary) = world
        .global_database("tracking-global", "tracking", "tracking-dr")
        .await;
    world.hold_promotions(RECOVERY, 1, None).await;

    let answer = fail_over(
        &world.recovery_rds,
        "tracking-global",
        &secondary,
        Some(true),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), Some("failing-over"));
    let state = answer
        .failover_state()
        .expect("FailoverState while failing over");
    assert_eq!(state.status().map(|s| s.as_str()), Some("failing-over"));
    assert_eq!(state.from_db_cluster_arn(), Some(primary.as_str()));
    assert_eq!(state.to_db_cluster_arn(), Some(secondary.as_str()));
    assert_eq!(state.is_data_loss_allowed(), Some(true));

    let running = global(&world, RECOVERY, "tracking-global").await;
    assert_eq!(running.status(), Some("failing-over"));
    assert_eq!(writers(&running), roles(&primary, &secondary));
    let again = fail_over(
        &world.recovery_rds,
        "tracking-global",
        &secondary,
        Some(true),
    )
    .await
    .unwrap_err();
    assert_eq!(again, "InvalidGlobalClusterStateFault");

    world
        .finish_rds_operation(RECOVERY, "tracking-global")
        .await
        .unwrap();
    let done = global(&world, RECOVERY, "tracking-global").await;
    assert_eq!(done.status(), Some("available"));
    assert!(done.failover_state().is_none());
    assert_eq!(writers(&done), roles(&secondary, &primary));

    let snapshots = world
        .primary_rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier("tracking")
        .snapshot_type("automated")
        .send()
        .await
        .unwrap();
    let left: Vec<_> = snapshots
        .db_cluster_snapshots()
        .iter()
        .filter(|s| {
            s.db_cluster_snapshot_identifier()
                .is_some_and(|id| id.starts_with("rds:unplanned-global-failover-tracking-"))
        })
        .collect();
    assert_eq!(left.len(), 1, "{snapshots:?}");
    assert_eq!(left[0].snapshot_type(), Some("automated"));
    let recovery_side = world
        .recovery_rds
        .describe_db_cluster_snapshots()
        .snapshot_type("automated")
        .send()
        .await
        .unwrap();
    assert!(
        recovery_side.db_cluster_snapshots().iter().all(|s| !s
            .db_cluster_snapshot_identifier()
            .unwrap_or_default()
            .contains("unplanned-global-failover")),
        "the snapshot is of the old primary, in its Region"
    );
}

/// SwitchoverGlobalCluster "demotes the current primary cluster to a secondary (read-only)
/// cluster, maintaining the orginal replication topology", without data loss: `switching-over`
/// (`IsDataLossAllowed` false), then the writer has moved, and no failover snapshot. And back:
/// FailoverGlobalCluster without `AllowDataLoss` "defaults to a switchover".
#[tokio::test]
async fn a_switchover_moves_the_writer_and_back() {
    let world = world().await;
    let (primary, secondary) = world
        .global_database("tracking-global", "tracking", "tracking-dr")
        .await;

    let answer = switch_over(&world.primary_rds, "tracking-global", &secondary)
        .await
        .unwrap();
    assert_eq!(answer.status(), Some("switching-over"));
    let state = answer.failover_state().expect("FailoverState");
    assert_eq!(state.status().map(|s| s.as_str()), Some("switching-over"));
    assert_eq!(state.is_data_loss_allowed(), Some(false));
    let done = global(&world, PRIMARY, "tracking-global").await;
    assert_eq!(done.status(), Some("available"));
    assert_eq!(writers(&done), roles(&secondary, &primary));

    let back = fail_over(&world.recovery_rds, "tracking-global", &primary, None)
        .await
        .unwrap();
    assert_eq!(
        back.failover_state().and_then(|s| s.is_data_loss_allowed()),
        Some(false)
    );
    let done = global(&world, PRIMARY, "tracking-global").await;
    assert_eq!(writers(&done), roles(&primary, &secondary));

    let snapshots = world
        .primary_rds
        .describe_db_cluster_snapshots()
        .snapshot_type("automated")
        .send()
        .await
        .unwrap();
    assert!(snapshots.db_cluster_snapshots().iter().all(|s| {
        !s.db_cluster_snapshot_identifier()
            .unwrap_or_default()
            .contains("unplanned-global-failover")
    }));
}

/// What FailoverGlobalCluster / SwitchoverGlobalCluster refuse: `AllowDataLoss` with
/// `Switchover` ("Can't be specified together": `InvalidParameterCombination`); an unknown global
/// cluster (`GlobalClusterNotFoundFault`) or target (`DBClusterNotFoundFault`); a target that is
/// no secondary of it, or the primary itself (`InvalidDBClusterStateFault`); a headless secondary
/// ("you must add a DB instance to it"); primary and secondary on different engine versions
/// ("only if the primary and secondary DB clusters have the same major and minor engine
/// versions"). Nothing moves.
#[tokio::test]
async fn global_failovers_and_switchovers_are_refused_as_aws_refuses_them() {
    let world = world().await;
    let (primary, secondary) = world
        .global_database("tracking-global", "tracking", "tracking-dr")
        .await;
    world.db_cluster("other", None, &[]).await;
    let other = world.db_cluster_arn(PRIMARY, "other").await;
    let rds = &world.recovery_rds;

    let both = rds
        .failover_global_cluster()
        .global_cluster_identifier("tracking-global")
        .target_db_cluster_identifier(&secondary)
        .allow_data_loss(true)
        .switchover(true)
        .send()
        .await
        .map_err(code)
        .unwrap_err();
    assert_eq!(both, "InvalidParameterCombination");
    let unknown = fail_over(rds, "nothing", &secondary, Some(true))
        .await
        .unwrap_err();
    assert_eq!(unknown, "GlobalClusterNotFoundFault");
    let nothing = secondary.replace("tracking-dr", "nothing");
    let no_target = fail_over(rds, "tracking-global", &nothing, Some(true))
        .await
        .unwrap_err();
    assert_eq!(no_target, "DBClusterNotFoundFault");
    for target in [&other, &primary] {
        let refused = switch_over(rds, "tracking-global", target)
            .await
            .unwrap_err();
        assert_eq!(refused, "InvalidDBClusterStateFault", "{target}");
    }

    // A headless secondary.
    world
        .recovery_rds
        .create_db_cluster()
        .db_cluster_identifier("tracking-headless")
        .engine("aurora-mysql")
        .global_cluster_identifier("tracking-global")
        .send()
        .await
        .unwrap();
    let headless = world.db_cluster_arn(RECOVERY, "tracking-headless").await;
    let refused = fail_over(rds, "tracking-global", &headless, Some(true))
        .await
        .unwrap_err();
    assert_eq!(refused, "InvalidDBClusterStateFault");

    // The secondary upgraded first (as AWS has minor upgrades done), the primary not yet.
    rds.modify_db_cluster()
        .db_cluster_identifier("tracking-dr")
        .engine_version("8.0.mysql_aurora.3.05.2")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let refused = fail_over(rds, "tracking-global", &secondary, Some(true))
        .await
        .unwrap_err();
    assert_eq!(refused, "InvalidGlobalClusterStateFault");

    let gc = global(&world, RECOVERY, "tracking-global").await;
    assert_eq!(gc.status(), Some("available"));
    let writer: Vec<String> = writers(&gc)
        .into_iter()
        .filter(|(_, writer)| *writer)
        .map(|(arn, _)| arn)
        .collect();
    assert_eq!(writer, [primary], "{gc:?}");
}

/// Route 53 GetChange: "PENDING indicates that the changes in this request have not propagated
/// to all Amazon Route 53 DNS servers ... This is the initial status of all change batch
/// requests. INSYNC indicates that the changes have propagated". Each batch has its own id; an
/// id never issued is `NoSuchChange` (moto: one fixed id, always INSYNC, for any id).
#[tokio::test]
async fn a_route53_change_is_pending_then_in_sync() {
    use aws_sdk_route53::types::ChangeStatus;
    let world = world().await;
    let route53 = world.route53();
    let zone = route53
        .create_hosted_zone()
        .name("tracking.example.com.")
        .caller_reference(format!("lifeboat-{}", world.account.id))
        .send()
        .await
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().to_owned();
    let flip = |value: &str| {
        let mut batch = cname_upsert("api.tracking.example.com.", value, 60);
        batch.comment = Some("failover".into());
        batch
    };

    world.hold_route53_changes(2).await;
    let submitted = route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(flip("dr-alb.us-east-2.elb.amazonaws.com"))
        .send()
        .await
        .unwrap();
    let info = submitted.change_info().unwrap();
    assert_eq!(info.status(), &ChangeStatus::Pending);
    assert_eq!(info.comment(), Some("failover"));
    let id = info.id().to_owned();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let got = route53.get_change().id(&id).send().await.unwrap();
        seen.push(got.change_info().unwrap().status().clone());
    }
    assert_eq!(
        seen,
        [
            ChangeStatus::Pending,
            ChangeStatus::Pending,
            ChangeStatus::Insync
        ]
    );

    world.hold_route53_changes(0).await;
    let second = route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(flip("primary-alb.us-west-2.elb.amazonaws.com"))
        .send()
        .await
        .unwrap();
    let second_id = second.change_info().unwrap().id().to_owned();
    assert_ne!(second_id, id, "each change batch has its own id");
    assert_eq!(
        second.change_info().unwrap().status(),
        &ChangeStatus::Pending
    );
    let got = route53.get_change().id(&second_id).send().await.unwrap();
    assert_eq!(got.change_info().unwrap().status(), &ChangeStatus::Insync);

    let unknown = route53
        .get_change()
        .id("C0000000000000")
        .send()
        .await
        .map_err(|e| {
            e.as_service_error()
                .and_then(|s| s.code())
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_err();
    assert_eq!(unknown, "NoSuchChange");
}

/// The data-loss gate reads replication lag from CloudWatch in the recovery Region (the user
/// guide: "use Amazon CloudWatch to view the AuroraGlobalDBRPOLag metric", "in milliseconds";
/// `ReplicaLag` and `AuroraBinlogReplicaLag` are seconds). moto serves these as put: nothing
/// added, this shows it.
#[tokio::test]
async fn replication_lag_metrics_read_back_in_the_recovery_region() {
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let world = world().await;
    world
        .put_lag_metric(
            "AuroraGlobalDBRPOLag",
            "DBClusterIdentifier",
            "tracking-dr",
            1500.0,
        )
        .await;
    world
        .put_lag_metric("ReplicaLag", "DBInstanceIdentifier", "orders-dr", 4.0)
        .await;
    let now = std::time::SystemTime::now();
    let read = |metric: &'static str, dimension: &'static str, value: &'static str| {
        let cloudwatch = world.cloudwatch(RECOVERY);
        async move {
            cloudwatch
                .get_metric_statistics()
                .namespace("AWS/RDS")
                .metric_name(metric)
                .dimensions(Dimension::builder().name(dimension).value(value).build())
                .start_time((now - std::time::Duration::from_secs(300)).into())
                .end_time((now + std::time::Duration::from_secs(60)).into())
                .period(60)
                .statistics(Statistic::Maximum)
                .send()
                .await
                .unwrap()
                .datapoints()
                .iter()
                .filter_map(|d| d.maximum())
                .fold(f64::NAN, f64::max)
        }
    };
    assert_eq!(
        read("AuroraGlobalDBRPOLag", "DBClusterIdentifier", "tracking-dr").await,
        1500.0
    );
    assert_eq!(
        read("ReplicaLag", "DBInstanceIdentifier", "orders-dr").await,
        4.0
    );
    let elsewhere = world
        .cloudwatch(PRIMARY)
        .list_metrics()
        .namespace("AWS/RDS")
        .send()
        .await
        .unwrap();
    assert!(elsewhere.metrics().is_empty(), "metrics are per Region");
}

/// Alarms, which the automatic trigger reads back with DescribeAlarms in the recovery Region:
/// through the Rust SDK's RPC v2 CBOR (moto serves CloudWatch only as JSON and query; the
/// emulator translates). SetAlarmState on an alarm that doesn't exist is `ResourceNotFound`, as
/// the reference's errors list it, decoded by the SDK from the CBOR error.
#[tokio::test]
async fn alarms_are_set_and_read_back_over_the_sdks_protocol() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
    let world = world().await;
    let cloudwatch = world.cloudwatch(RECOVERY);
    cloudwatch
        .put_metric_alarm()
        .alarm_name("tracking-api-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cloudwatch
        .set_alarm_state()
        .alarm_name("tracking-api-5xx")
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .unwrap();
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names("tracking-api-5xx")
        .send()
        .await
        .unwrap();
    let alarm = alarms.metric_alarms().first().expect("the alarm");
    assert_eq!(alarm.state_value(), Some(&StateValue::Alarm));
    assert!(alarm.state_updated_timestamp().is_some());

    let missing = cloudwatch
        .set_alarm_state()
        .alarm_name("nothing")
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .map_err(code)
        .unwrap_err();
    assert_eq!(missing, "ResourceNotFound");
}
