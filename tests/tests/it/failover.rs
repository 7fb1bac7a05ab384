//! The failover end to end, against the emulator (its promotions, global database failover,
//! Route 53 changes and CloudWatch alarms: `tests/tests/it/emulator_failover.rs`) through the real
//! SDK clients: alarms read back and `require`d, one run at a time, the dry run, approval and the
//! plan hash, the data-loss gate, the primary Region black-holed, resuming, failback.

use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::failover::Phase;
use lifeboat_shared::state::LeaseTiming;
use lifeboat_shared::tasks::{FailoverOptions, FailoverResult, run_failover};
use lifeboat_shared::trigger::{RunbookRequest, Trigger};
use lifeboat_tests::proxy::FaultProxy;
use lifeboat_tests::world::{PRIMARY, RECOVERY, cname_upsert};
use lifeboat_tests::{Emulator, World};
use tokio::time::Instant;

const ALARMS: [&str; 2] = ["tracking-api-5xx", "tracking-db-unreachable"];
const RECORD: &str = "api.tracking.example.com.";
const PRIMARY_ALB: &str = "primary-alb.us-west-2.elb.amazonaws.com";
const DR_ALB: &str = "dr-alb.us-east-2.elb.amazonaws.com";

struct Setup {
    world: World,
    zone: String,
    secondary: String,
    queue: String,
}

fn options() -> FailoverOptions {
    FailoverOptions {
        poll: Duration::from_millis(100),
        lease: LeaseTiming {
            wait_at_most: Duration::from_millis(300),
            poll_every: Duration::from_millis(100),
            ..LeaseTiming::default()
        },
        ..FailoverOptions::default()
    }
}

/// An RDS instance `orders` with its cross-Region read replica `orders-dr`, an Aurora global
/// database `phoenix-global` (secondary `phoenix-dr` in the recovery Region), the hosted zone
/// with `api.tracking.example.com` pointing at the primary's load balancer, the plan's two
/// alarms (OK) in the recovery Region, replication lags of 2 s and 1.5 s, and Lifeboat's stack.
async fn setup() -> Setup {
    let world = World::new(Emulator::shared().new_account().await);
    world.db_instance("orders", None, &[]).await;
    world.read_replica("orders", "orders-dr").await;
    let (_, secondary) = world
        .global_database("phoenix-global", "phoenix", "phoenix-dr")
        .await;
    let zone = world.hosted_zone("tracking.example.com.").await;
    set_record(&world, &zone, PRIMARY_ALB).await;
    world.failover_alarms(&ALARMS).await;
    world
        .put_lag_metric("ReplicaLag", "DBInstanceIdentifier", "orders-dr", 2.0)
        .await;
    world
        .put_lag_metric(
            "AuroraGlobalDBRPOLag",
            "DBClusterIdentifier",
            "phoenix-dr",
            1500.0,
        )
        .await;
    let queue = world.recovery_stack("lifeboat").await;
    Setup {
        world,
        zone,
        secondary,
        queue,
    }
}

async fn set_record(world: &World, zone: &str, value: &str) {
    world
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(cname_upsert(RECORD, value, 300))
        .send()
        .await
        .unwrap();
}

impl Setup {
    fn lifeboat(&self, mode: &str, extra: &str) -> Lifeboat {
        self.world.lifeboat(self.plan(mode, extra))
    }

    fn plan(&self, mode: &str, extra: &str) -> lifeboat_shared::plan::Plan {
        self.world.plan(
            "tracking",
            &format!(
                r#"
                [failover]
                mode = "{mode}"
                alarms = ["{}", "{}"]
                require = "all"
                sustained_for = "0s"
                cooldown = "6h"
                max_data_loss = "30s"
                {extra}
                [[failover.promote]]
                rds_replica = "orders-dr"
                [[failover.promote]]
                aurora_global = "phoenix-global"
                target_cluster = "{}"
                [[failover.dns]]
                hosted_zone_id = "{}"
                record = "api.tracking.example.com"
                type = "CNAME"
                primary = "{PRIMARY_ALB}"
                recovery = "{DR_ALB}"
                "#,
                ALARMS[0], ALARMS[1], self.secondary, self.zone
            ),
        )
    }

    async fn alarm(&self, name: &str) {
        self.world
            .cloudwatch(RECOVERY)
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Alarm)
            .state_reason("the primary Region does not answer")
            .send()
            .await
            .unwrap();
    }

    fn alarm_event(&self, name: &str) -> Trigger {
        let path = format!(
            "{}/../events/cloudwatch-alarm-state-change.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        event["region"] = RECOVERY.into();
        event["detail"]["alarmName"] = name.into();
        Trigger::from_event(&event).unwrap()
    }

    async fn record(&self) -> Vec<String> {
        let out = self
            .world
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|r| r.name() == RECORD)
            .flat_map(|r| r.resource_records().iter().map(|v| v.value().to_owned()))
            .collect()
    }

    /// The calls this account made from `from` on: (region, action).
    fn calls_since(&self, from: usize) -> Vec<(String, String)> {
        Emulator::shared().calls_of(&self.world.account)[from..]
            .iter()
            .map(|c| (c.region.clone(), c.action.clone()))
            .collect()
    }

    fn calls_so_far(&self) -> usize {
        Emulator::shared().calls_of(&self.world.account).len()
    }
}

async fn run(lifeboat: &Lifeboat, trigger: &Trigger) -> FailoverResult {
    run_failover(lifeboat, trigger, options(), None)
        .await
        .unwrap_or_else(|e| panic!("the failover: {e}"))
}

/// With `require = "all"`, one alarm in ALARM starts nothing; both start one run, which promotes
/// the RDS replica and fails the global database over, flips DNS, pauses the schedules, and
/// completes with the primary Region unreachable and not one call to it. The same alarm event
/// again, and two at once, start no second failover.
#[tokio::test]
async fn alarms_start_one_failover_that_completes_with_the_primary_region_black_holed() {
    let setup = setup().await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.black_hole(PRIMARY);
    let lifeboat = setup
        .world
        .lifeboat_via(setup.plan("automatic", ""), proxy.endpoint());

    setup.alarm(ALARMS[0]).await;
    let one = run(&lifeboat, &setup.alarm_event(ALARMS[0])).await;
    assert!(
        matches!(&one, FailoverResult::Ignored { reason } if reason.starts_with("1 of 2 alarms in ALARM, 2 required")),
        "{one:#?}"
    );

    setup.alarm(ALARMS[1]).await;
    let from = setup.calls_so_far();
    let event = setup.alarm_event(ALARMS[1]);
    // The same event delivered twice, at once: one run; the other is busy or finds the cooldown.
    let (a, b) = tokio::join!(run(&lifeboat, &event), run(&lifeboat, &event));
    let (finished, other) = match (a, b) {
        (FailoverResult::Finished { report, .. }, other)
        | (other, FailoverResult::Finished { report, .. }) => (report, other),
        other => panic!("no failover finished: {other:#?}"),
    };
    assert!(
        matches!(
            &other,
            FailoverResult::Busy { .. } | FailoverResult::Ignored { .. }
        ),
        "{other:#?}"
    );
    let done = &finished.failover;
    assert_eq!(done.failure, None, "{done:#?}");
    let calls: Vec<Option<&str>> = done.steps.iter().map(|s| s.call.as_deref()).collect();
    assert!(
        calls.contains(&Some(
            "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr"
        )),
        "{calls:#?}"
    );
    assert!(
        calls.iter().flatten().any(|c| c
            .starts_with("rds:FailoverGlobalCluster GlobalClusterIdentifier=phoenix-global")
            && c.ends_with("AllowDataLoss=true")),
        "{calls:#?}"
    );
    assert_eq!(done.data_loss_estimate_seconds, Some(2.0));
    assert!(done.seconds_to_dns_insync().is_some());

    // What AWS shows now: the replica stands alone, the secondary writes, DNS points at DR.
    let replica = setup
        .world
        .described_db_instance(RECOVERY, "orders-dr")
        .await;
    assert_eq!(replica.read_replica_source_db_instance_identifier(), None);
    let global = setup
        .world
        .recovery_rds
        .describe_global_clusters()
        .global_cluster_identifier("phoenix-global")
        .send()
        .await
        .unwrap();
    let writer = global.global_clusters()[0]
        .global_cluster_members()
        .iter()
        .find(|m| m.is_writer() == Some(true))
        .and_then(|m| m.db_cluster_arn())
        .unwrap()
        .to_owned();
    assert_eq!(writer, setup.secondary);
    assert_eq!(setup.record().await, [DR_ALB]);
    assert!(
        setup
            .world
            .state_object("paused/tracking.json")
            .await
            .is_some(),
        "the copy and verify schedules are paused"
    );

    // Not one request reached the primary Region (none was even tried through the proxy).
    let primary_calls: Vec<_> = setup
        .calls_since(from)
        .into_iter()
        .filter(|(region, _)| region == PRIMARY)
        .collect();
    assert!(primary_calls.is_empty(), "{primary_calls:#?}");
    assert_eq!(proxy.swallowed(PRIMARY), 0);

    // The same alarm event an hour later: the cooldown holds.
    let again = run(&lifeboat, &event).await;
    assert!(
        matches!(&again, FailoverResult::Ignored { reason } if reason.contains("cooldown until")),
        "{again:#?}"
    );
    let events = setup.world.delivered_events(&setup.queue).await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["detail-type"] == "Lifeboat Failover")
        .filter_map(|e| e["detail"]["status"].as_str())
        .collect();
    assert_eq!(statuses, ["started", "finished"], "{events:#?}");
}

/// A dry run lists the calls and makes no mutating one; in approval mode, `execute` waits; an
/// approval naming another plan hash is refused, the right one starts the run; failback then
/// puts the DNS value back and resumes the schedules.
#[tokio::test]
async fn dry_run_approval_with_the_plan_hash_and_failback() {
    let setup = setup().await;
    let lifeboat = setup.lifeboat("approval", "");
    let from = setup.calls_so_far();
    let dry = run(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::DryRun { planned: false }),
    )
    .await;
    let FailoverResult::DryRun {
        calls, plan_hash, ..
    } = dry
    else {
        panic!("{dry:#?}")
    };
    assert_eq!(
        calls[0],
        "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr"
    );
    assert!(
        calls[1].starts_with("rds:FailoverGlobalCluster"),
        "{calls:#?}"
    );
    assert!(
        calls[2].starts_with(&format!(
            "route53:ChangeResourceRecordSets HostedZoneId={}",
            setup.zone
        )) && calls[2].contains(&format!("UPSERT {RECORD} CNAME {DR_ALB} TTL 60")),
        "{calls:#?}"
    );
    let mutating: Vec<_> = setup
        .calls_since(from)
        .into_iter()
        .filter(|(_, action)| {
            !["Describe", "List", "Get", "GET ", "Granite"]
                .iter()
                .any(|read| {
                    action.starts_with(read)
                        || action.contains(".Get")
                        || action.contains(".Describe")
                })
        })
        .collect();
    assert!(
        mutating.is_empty(),
        "a dry run made mutating calls: {mutating:#?}"
    );

    let pending = run(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::Execute { planned: false }),
    )
    .await;
    let FailoverResult::AwaitingApproval { run: waiting, .. } = pending else {
        panic!("{pending:#?}")
    };
    assert_eq!(waiting.phase, Phase::AwaitingApproval);
    assert_eq!(waiting.plan_hash, plan_hash);
    let wrong = run_failover(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::Approve {
            run_id: waiting.run_id.clone(),
            plan_hash: "ffffffffffffffff".into(),
        }),
        options(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        wrong.to_string().contains("does not match the plan's"),
        "{wrong}"
    );
    assert_eq!(setup.record().await, [PRIMARY_ALB], "nothing happened");

    let approved = run(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::Approve {
            run_id: waiting.run_id.clone(),
            plan_hash,
        }),
    )
    .await;
    assert!(
        matches!(&approved, FailoverResult::Finished { report, .. } if report.failover.failure.is_none()),
        "{approved:#?}"
    );
    assert_eq!(setup.record().await, [DR_ALB]);

    let back = run(&lifeboat, &Trigger::Runbook(RunbookRequest::Failback)).await;
    assert!(
        matches!(&back, FailoverResult::Finished { report, .. } if report.failover.failback && report.failover.failure.is_none()),
        "{back:#?}"
    );
    assert_eq!(setup.record().await, [PRIMARY_ALB]);
    assert!(
        setup
            .world
            .state_object("paused/tracking.json")
            .await
            .is_none()
    );
    // The outage's global failover left a system snapshot of the old primary in its Region
    // (back by now): failback kept it as a manual snapshot there, tagged with the plan.
    let FailoverResult::Finished { report, .. } = &back else {
        unreachable!()
    };
    let kept = report
        .failover
        .steps
        .iter()
        .find(|s| s.step == "keep-snapshot")
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert!(kept.ok, "{kept:#?}");
    let manual = setup
        .world
        .primary_rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier("phoenix")
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = manual
        .db_cluster_snapshots()
        .iter()
        .filter_map(|s| s.db_cluster_snapshot_identifier())
        .collect();
    assert!(
        ids.iter()
            .any(|id| id.starts_with("lifeboat-kept-unplanned-global-failover-phoenix-")),
        "{ids:?} ({kept:#?})"
    );
}

/// A replication lag over `max_data_loss` stops even an automatic run for approval, saying why.
#[tokio::test]
async fn a_lag_over_max_data_loss_stops_an_automatic_failover_for_approval() {
    let setup = setup().await;
    setup
        .world
        .put_lag_metric("ReplicaLag", "DBInstanceIdentifier", "orders-dr", 45.0)
        .await;
    let lifeboat = setup.lifeboat("automatic", "");
    for alarm in ALARMS {
        setup.alarm(alarm).await;
    }
    let result = run(&lifeboat, &setup.alarm_event(ALARMS[0])).await;
    let FailoverResult::AwaitingApproval { run: waiting, .. } = result else {
        panic!("{result:#?}")
    };
    let because = waiting.approval.unwrap().because;
    assert!(
        because
            .contains("rds-replica:orders-dr: replication lag 45.0 s is over max_data_loss = 30s"),
        "{because}"
    );
    assert_eq!(waiting.data_loss_estimate_seconds, Some(45.0));
    assert_eq!(setup.record().await, [PRIMARY_ALB]);
}

/// A run stopped between the promotions and the DNS flip (the deadline came while a promotion
/// was still under way) is carried on by the next invocation, with one promotion request.
#[tokio::test]
async fn a_failover_interrupted_between_promote_and_flip_resumes() {
    let setup = setup().await;
    let lifeboat = setup.lifeboat("automatic", "");
    setup.world.hold_promotions(RECOVERY, 1, None).await;
    let first = run_failover(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::Execute { planned: false }),
        options(),
        Some(Instant::now() + Duration::from_millis(1500)),
    )
    .await
    .unwrap();
    let FailoverResult::InProgress { run: stopped, .. } = first else {
        panic!("{first:#?}")
    };
    assert_eq!(stopped.phase, Phase::Promoting);
    assert_eq!(setup.record().await, [PRIMARY_ALB]);
    setup
        .world
        .finish_rds_operation(RECOVERY, "orders-dr")
        .await
        .unwrap();
    let next = run(&lifeboat, &Trigger::Schedule { rule: None }).await;
    let FailoverResult::Finished { report, .. } = next else {
        panic!("{next:#?}")
    };
    assert_eq!(report.header.run_id, stopped.run_id);
    assert_eq!(report.failover.failure, None);
    assert_eq!(setup.record().await, [DR_ALB]);
    let promotions = Emulator::shared()
        .calls_of(&setup.world.account)
        .iter()
        .filter(|c| c.action == "PromoteReadReplica")
        .count();
    assert_eq!(promotions, 1);
}

/// A replica that is backing up cannot be promoted (RDS refuses it): the run waits, saying so,
/// and promotes it once the backup ends, without a refused call.
#[tokio::test]
async fn a_replica_backing_up_is_promoted_once_its_backup_ends() {
    let setup = setup().await;
    let lifeboat = setup.lifeboat("automatic", "");
    setup
        .world
        .start_backing_up(RECOVERY, "orders-dr", None)
        .await
        .unwrap();
    let first = run_failover(
        &lifeboat,
        &Trigger::Runbook(RunbookRequest::Execute { planned: false }),
        options(),
        Some(Instant::now() + Duration::from_millis(1500)),
    )
    .await
    .unwrap();
    let FailoverResult::InProgress { run: waiting, .. } = first else {
        panic!("{first:#?}")
    };
    let wait = waiting.steps.last().unwrap();
    assert_eq!(wait.step, "wait");
    assert!(
        wait.detail.contains(
            "rds-replica:orders-dr is backing-up: RDS refuses to promote it until the backup ends"
        ),
        "{}",
        wait.detail
    );
    let promotions = || {
        Emulator::shared()
            .calls_of(&setup.world.account)
            .iter()
            .filter(|c| c.action == "PromoteReadReplica")
            .count()
    };
    assert_eq!(promotions(), 0, "no call RDS would refuse");
    setup
        .world
        .finish_rds_operation(RECOVERY, "orders-dr")
        .await
        .unwrap();
    let next = run(&lifeboat, &Trigger::Schedule { rule: None }).await;
    assert!(
        matches!(&next, FailoverResult::Finished { report, .. } if report.failover.failure.is_none()),
        "{next:#?}"
    );
    assert_eq!(promotions(), 1);
}
