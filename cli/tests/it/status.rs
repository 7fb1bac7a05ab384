//! `lifeboat status` as cron or CI runs it: exit 1 and the broken budget named (text and JSON)
//! before the first copy, exit 0 and "all budgets hold" after it.

use std::process::{Command, Output};

use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn status_exits_1_naming_a_broken_budget_and_0_when_every_budget_holds() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    world.db_instance("orders", None, &[]).await;
    world.snapshot("orders", "orders-1").await;
    world.recovery_stack("lifeboat").await;
    let account = world.account.id.clone();
    let plan_path = std::env::temp_dir().join(format!("lifeboat-cli-status-{account}.toml"));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.rds]]\ndb_instance = \"orders\"\n",
            world.state_bucket()
        ),
    )
    .unwrap();
    let plan = plan_path.to_str().unwrap().to_owned();
    let lifeboat = async |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command.args(args).args(["--plan", &plan]);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };

    let broken = lifeboat(&["status"]).await;
    let out = text(&broken.stdout);
    assert_eq!(
        broken.status.code(),
        Some(1),
        "{out}{}",
        text(&broken.stderr)
    );
    assert!(
        out.contains("BROKEN (1):\n  - orders: no copy in us-east-2"),
        "{out}"
    );
    let json = lifeboat(&["status", "--json"]).await;
    assert_eq!(json.status.code(), Some(1));
    let posture: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json is JSON");
    assert_eq!(posture["broken"][0], "orders: no copy in us-east-2");
    assert_eq!(posture["copies"][0]["db"], "orders");

    let copy = lifeboat(&["copy", "snapshots"]).await;
    assert!(copy.status.success(), "{}", text(&copy.stderr));
    let holds = lifeboat(&["status"]).await;
    let out = text(&holds.stdout);
    assert_eq!(holds.status.code(), Some(0), "{out}{}", text(&holds.stderr));
    assert!(out.contains("all budgets hold"), "{out}");
    assert!(
        out.contains("orders") && out.contains("newest lifeboat-orders-1-"),
        "{out}"
    );
}
