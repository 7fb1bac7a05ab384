//! `lifeboat failover` and `lifeboat failback` as an operator runs them, against the emulator:
//! the dry run prints the calls and the plan hash; in approval mode `--execute` waits and says
//! how to approve; an approval with another hash is refused (exit 1, nothing changed); the right
//! one fails over, printing each step with its call; failback puts DNS back.

use std::process::{Command, Output};

use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn an_operator_dry_runs_executes_approves_and_fails_back() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    world.db_instance("orders", None, &[]).await;
    world.read_replica("orders", "orders-dr").await;
    world.recovery_stack("lifeboat").await;
    let zone = world.hosted_zone("tracking.example.com.").await;
    let account = world.account.id.clone();
    let plan_path = std::env::temp_dir().join(format!("lifeboat-cli-failover-{account}.toml"));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [failover]\nmode = \"approval\"\nalarms = [\"tracking-api-5xx\"]\n\
             [[failover.promote]]\nrds_replica = \"orders-dr\"\n\
             [[failover.dns]]\nhosted_zone_id = \"{zone}\"\nrecord = \"api.tracking.example.com\"\ntype = \"CNAME\"\n\
             primary = \"primary.example.com\"\nrecovery = \"dr.example.com\"\n",
            world.state_bucket()
        ),
    )
    .unwrap();
    let plan = plan_path.to_str().unwrap().to_owned();
    let lifeboat = async |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command.args(args);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };

    let dry = lifeboat(&["failover", "--plan", &plan, "--dry-run"]).await;
    let out = text(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0), "{out}{}", text(&dry.stderr));
    assert!(out.contains("dry run: no call below was made"), "{out}");
    assert!(
        out.contains("  rds:PromoteReadReplica DBInstanceIdentifier=orders-dr"),
        "{out}"
    );
    let hash = out
        .lines()
        .find_map(|l| l.strip_prefix("plan hash: "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();

    // --json: the dry run as a machine reads it.
    let json = lifeboat(&["failover", "--plan", &plan, "--dry-run", "--json"]).await;
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json is JSON");
    assert_eq!(
        answer["dry_run"][0],
        "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr"
    );
    assert_eq!(answer["plan_hash"], hash.as_str());

    let execute = lifeboat(&["failover", "--plan", &plan, "--execute"]).await;
    let out = text(&execute.stdout);
    assert_eq!(
        execute.status.code(),
        Some(0),
        "{out}{}",
        text(&execute.stderr)
    );
    let approve_line = out
        .lines()
        .find(|l| l.starts_with("approve it with: lifeboat failover approve "))
        .unwrap_or_else(|| panic!("{out}"));
    let run_id = approve_line.split_whitespace().nth(6).unwrap().to_owned();
    assert!(
        approve_line.contains(&format!("--plan-hash {hash}")),
        "{approve_line}"
    );

    let wrong = lifeboat(&[
        "failover",
        "approve",
        &run_id,
        "--plan-hash",
        "ffffffffffffffff",
        "--plan",
        &plan,
    ])
    .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).contains("does not match the plan's"),
        "{}",
        text(&wrong.stderr)
    );

    let approve = lifeboat(&[
        "failover",
        "approve",
        &run_id,
        "--plan-hash",
        &hash,
        "--plan",
        &plan,
    ])
    .await;
    let out = text(&approve.stdout);
    assert_eq!(
        approve.status.code(),
        Some(0),
        "{out}{}",
        text(&approve.stderr)
    );
    for part in [
        "approved",
        "rds:PromoteReadReplica DBInstanceIdentifier=orders-dr",
        "route53:ChangeResourceRecordSets",
        &format!("failover {run_id} finished"),
        "report: s3://",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }

    // -q: the answer without the step lines.
    let back = lifeboat(&["-q", "failback", "--plan", &plan]).await;
    let out = text(&back.stdout);
    assert_eq!(back.status.code(), Some(0), "{out}{}", text(&back.stderr));
    assert!(
        out.contains("failback ") && out.contains(" finished"),
        "{out}"
    );
    assert!(
        !out.contains("route53:ChangeResourceRecordSets"),
        "-q printed steps: {out}"
    );
}
