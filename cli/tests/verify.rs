//! `lifeboat verify` as a user runs it, against the emulator and the machine's seeded
//! PostgreSQL: each step printed as it happens, then the report; exit 0 when verified, 1 when a
//! check fails, 1 with the name for an unknown `--name`.

use std::process::{Command, Output};

use lifeboat_tests::databases::{Family, SeededDatabase};
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn verify_exits_0_for_a_verified_job_and_1_for_a_failing_check() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    let account = world.account.id.clone();
    let master = format!("lbc{account}");
    let mut seeded = SeededDatabase::create(
        Family::Postgres,
        &format!("lbc_{account}"),
        "CREATE TABLE parcels (id integer PRIMARY KEY, updated_at timestamptz NOT NULL);
         INSERT INTO parcels VALUES (1, now() - interval '1 hour');",
    );
    seeded.drops_login(&master);
    world
        .db_instance_with_master("orders", "postgres", &master)
        .await;
    world.snapshot("orders", "orders-1").await;
    world.recovery_stack("lifeboat").await;
    world.db_subnet_group(RECOVERY, "dr-isolated").await;
    let job = |name: &str, expect: &str| {
        format!(
            "[[verify]]\nname = \"{name}\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\n\
             subnet_group = \"dr-isolated\"\ndatabase = \"{}\"\n\
             [[verify.checks]]\nsql = \"SELECT count(*) FROM parcels\"\nexpect = \"{expect}\"\n",
            seeded.name
        )
    };
    let plan_path = std::env::temp_dir().join(format!("lifeboat-cli-verify-plan-{account}.toml"));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.rds]]\ndb_instance = \"orders\"\n{}{}",
            world.state_bucket(),
            job("passing", "= 1"),
            job("failing", ">= 1000"),
        ),
    )
    .unwrap();
    let lifeboat = async |args: &[&str]| -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command
            .args(args)
            .args(["--plan", plan_path.to_str().unwrap()]);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command.output().unwrap()
    };
    let copy = lifeboat(&["copy", "snapshots"]).await;
    assert!(copy.status.success(), "{}", text(&copy.stderr));

    let passing = lifeboat(&["verify", "--name", "passing"]).await;
    let stdout = text(&passing.stdout);
    assert_eq!(
        passing.status.code(),
        Some(0),
        "{stdout}{}",
        text(&passing.stderr)
    );
    for line in [
        " passing ",
        "restore",
        "available",
        "password",
        "checks",
        "delete",
        "finish",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(stdout.contains("job passing — verified"), "{stdout}");
    assert!(stdout.contains("restore duration: "), "{stdout}");
    assert!(stdout.contains("report: s3://"), "{stdout}");

    let failing = lifeboat(&["verify", "--name", "failing", "--json"]).await;
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing.stderr));
    let reports: serde_json::Value =
        serde_json::from_slice(&failing.stdout).expect("--json prints the reports");
    assert_eq!(reports[0]["job"], "failing");
    assert_eq!(reports[0]["verdict"], "failed");
    assert_eq!(reports[0]["outcome"], "failed");
    assert_eq!(reports[0]["verification"]["checks"][0]["passed"], false);

    let unknown = lifeboat(&["verify", "--name", "nightly"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("\"nightly\""),
        "{}",
        text(&unknown.stderr)
    );
}
