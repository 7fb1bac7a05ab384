//! `lifeboat verify` as a user runs it, against the emulator and the machine's seeded
//! PostgreSQL: each step printed as it happens, then the report; exit 0 when verified, 1 when a
//! check fails, 1 with the name for an unknown `--name`.

use std::process::{Command, Output};

use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};

/// One parcel, updated an hour ago.
const ONE_PARCEL: &str =
    "CREATE TABLE parcels (id integer PRIMARY KEY, updated_at timestamptz NOT NULL);
         INSERT INTO parcels VALUES (1, now() - interval '1 hour');";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn verify_exits_0_for_a_verified_job_and_1_for_a_failing_check() {
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    let account = world.account.id.clone();
    let (seeded, _) = world.verification_source("lbc", ONE_PARCEL).await;
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

/// The restore verification survives its process being killed: `lifeboat verify` is killed
/// (SIGKILL) right after it printed the restore step, while the restore is under way; the next
/// `lifeboat verify` resumes the saved run (the killed one's lease has expired; here the test
/// removes it rather than waiting its 15 minutes) and finishes it, verified, with one restore.
#[tokio::test]
async fn a_killed_verification_resumes_from_its_record() {
    use std::io::BufRead;
    let emulator = Emulator::shared();
    let world = World::new(emulator.new_account().await);
    let account = world.account.id.clone();
    let (seeded, _) = world.verification_source("lbk", ONE_PARCEL).await;
    let plan_path = std::env::temp_dir().join(format!("lifeboat-cli-kill-plan-{account}.toml"));
    std::fs::write(
        &plan_path,
        format!(
            "name = \"cli\"\nprimary_region = \"us-west-2\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n\
             [[copy.rds]]\ndb_instance = \"orders\"\n\
             [[verify]]\nname = \"nightly\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\n\
             subnet_group = \"dr-isolated\"\ndatabase = \"{}\"\n\
             [[verify.checks]]\nsql = \"SELECT count(*) FROM parcels\"\nexpect = \"= 1\"\n",
            world.state_bucket(),
            seeded.name
        ),
    )
    .unwrap();
    let command = async |args: &[&str]| -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        command
            .args(args)
            .args(["--plan", plan_path.to_str().unwrap()]);
        world
            .account
            .configure(&mut command, emulator, RECOVERY)
            .await;
        command
    };
    let copy = command(&["copy", "snapshots"]).await.output().unwrap();
    assert!(copy.status.success(), "{}", text(&copy.stderr));
    world.hold_restores(RECOVERY, 1).await;

    let mut child = command(&["verify", "--name", "nightly"])
        .await
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = seen
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("lifeboat verify prints the restore step");
        if line.contains(" restore ") && line.contains("restoring ") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // What the killed process left: the run, saved with the restore it asked for.
    let saved: serde_json::Value = serde_json::from_str(
        &world
            .state_object("verify/cli/nightly/current.json")
            .await
            .expect("the run is saved"),
    )
    .unwrap();
    assert_eq!(
        saved["verification"]["phase"], "waiting-available",
        "{saved:#}"
    );
    let instance = saved["verification"]["created"]["instance"]
        .as_str()
        .unwrap()
        .to_owned();
    // The killed process's lease expires (15 minutes); the test removes it instead.
    world
        .s3
        .delete_object()
        .bucket(world.state_bucket())
        .key(format!(
            "locks/{account}/{RECOVERY}/verify-restore-nightly.json"
        ))
        .send()
        .await
        .unwrap();
    world
        .make_db_instance_available(RECOVERY, &instance)
        .await
        .unwrap();

    let resumed = command(&["verify", "--name", "nightly"])
        .await
        .output()
        .unwrap();
    let out = text(&resumed.stdout);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{out}{}",
        text(&resumed.stderr)
    );
    assert!(out.contains("job nightly — verified"), "{out}");
    assert!(!out.contains(" restore "), "no second restore step: {out}");
    let restores = emulator
        .calls_of(&world.account)
        .iter()
        .filter(|c| c.action == "RestoreDBInstanceFromDBSnapshot")
        .count();
    assert_eq!(restores, 1);
    assert!(
        world
            .state_object("verify/cli/nightly/current.json")
            .await
            .is_none()
    );
}
