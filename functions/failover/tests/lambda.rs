//! The `failover` binary as Lambda runs it (the Runtime API stand-in of `lifeboat_tests::lambda`):
//! the runbook's dry-run payload (`events/runbook-dry-run.json`) answers the calls a failover
//! would make and the plan hash, and makes none of them.

use std::time::Duration;

use lifeboat_tests::lambda::{self, runtime_api, write_plan};
use lifeboat_tests::{Emulator, World};

#[tokio::test]
async fn the_runbook_dry_run_answers_the_calls_and_the_plan_hash() {
    let world = World::new(Emulator::shared().new_account().await);
    world.db_instance("orders", None, &[]).await;
    world.read_replica("orders", "orders-dr").await;
    world.recovery_stack("lifeboat").await;
    let zone = world.hosted_zone("tracking.example.com.").await;
    let plan = write_plan(
        &world,
        &format!(
            "[failover]\nalarms = [\"tracking-api-5xx\"]\n\
             [[failover.promote]]\nrds_replica = \"orders-dr\"\n\
             [[failover.dns]]\nhosted_zone_id = \"{zone}\"\nrecord = \"api.tracking.example.com\"\ntype = \"CNAME\"\n\
             primary = \"primary.example.com\"\nrecovery = \"dr.example.com\"\n"
        ),
    );
    let dry_run: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/runbook-dry-run.json")).unwrap();
    let (address, mut answers) = runtime_api(vec![dry_run]).await;
    let before = Emulator::shared().calls_of(&world.account).len();
    let mut child = lambda::function(
        &world,
        env!("CARGO_BIN_EXE_failover"),
        "failover",
        &address,
        &plan,
    )
    .await
    .spawn()
    .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(120), answers.recv())
        .await
        .unwrap()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(answer.kind, "response", "{answer:#?}");
    let calls: Vec<&str> = answer.body["dry_run"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer:#?}"))
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(
        calls[0],
        "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr"
    );
    assert!(
        calls[1].starts_with(&format!("route53:ChangeResourceRecordSets HostedZoneId={zone} UPSERT api.tracking.example.com. CNAME dr.example.com")),
        "{calls:#?}"
    );
    assert_eq!(answer.body["plan_hash"].as_str().map(str::len), Some(16));
    let made: Vec<String> = Emulator::shared().calls_of(&world.account)[before..]
        .iter()
        .map(|c| c.action.clone())
        .filter(|a| a.contains("Promote") || a.starts_with("POST") || a.starts_with("PUT"))
        .collect();
    assert!(made.is_empty(), "{made:#?}");
}
