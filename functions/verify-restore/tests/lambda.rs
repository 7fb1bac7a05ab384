//! The `verify-restore` binary as Lambda runs it (the Runtime API stand-in of
//! `lifeboat_tests::lambda`): a schedule event verifies the plan's one job against Lifeboat's
//! copy of a PostgreSQL snapshot, restored by the emulator onto the machine's seeded PostgreSQL.

use std::time::Duration;

use lifeboat_shared::plan::Plan;
use lifeboat_shared::tasks::{Finished, RunOptions, run_copy_snapshots};
use lifeboat_shared::trigger::Trigger;
use lifeboat_tests::lambda::{self, runtime_api, write_plan};
use lifeboat_tests::{Emulator, World};

const SEED: &str = "CREATE TABLE parcels (id integer PRIMARY KEY, updated_at timestamptz NOT NULL);
     INSERT INTO parcels VALUES (1, now() - interval '3 hours'), (2, now() - interval '1 hour');";

#[tokio::test]
async fn a_schedule_event_verifies_the_plans_job() {
    let world = World::new(Emulator::shared().new_account().await);
    let (seeded, _) = world.verification_source("lbf", SEED).await;
    let plan = write_plan(
        &world,
        &format!(
            "[[copy.rds]]\ndb_instance = \"orders\"\n\
             [[verify]]\nname = \"weekly\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\n\
             subnet_group = \"dr-isolated\"\ndatabase = \"{}\"\n\
             [[verify.checks]]\nsql = \"SELECT count(*) FROM parcels\"\nexpect = \"= 2\"\n\
             [[verify.checks]]\nfreshness_sql = \"SELECT max(updated_at) FROM parcels\"\nmax_age = \"2h\"\n",
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(Plan::from_file(std::path::Path::new(&plan)).unwrap());
    match run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { .. }) => {}
        other => panic!("the copy did not run: {other:?}"),
    }

    let schedule: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/schedule.json")).unwrap();
    let (address, mut answers) = runtime_api(vec![schedule]).await;
    let mut child = lambda::function(
        &world,
        env!("CARGO_BIN_EXE_verify-restore"),
        "verify-restore",
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
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();

    assert_eq!(answer.kind, "response", "{answer:#?}");
    let job = &answer.body["verifications"][0];
    assert_eq!(job["job"], "weekly", "{answer:#?}");
    assert_eq!(job["state"], "finished", "{answer:#?}");
    assert_eq!(job["outcome"], "succeeded", "{answer:#?}");
    assert_eq!(job["summary"]["verdict"], "verified", "{answer:#?}");
    assert_eq!(job["summary"]["checks_passed"], 2, "{answer:#?}");
    assert!(
        job["report"]["json"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "s3://{}/runs/lambda/verify-restore/",
                world.state_bucket()
            )),
        "{answer:#?}"
    );
    // The metrics, as Embedded Metric Format on stdout.
    assert!(
        stdout.lines().any(|line| line.contains("\"_aws\"")
            && line.contains("\"ChecksPassed\":2.0")
            && line.contains("\"VerificationsFailed\":0.0")
            && line.contains("\"Job\":\"weekly\"")),
        "{stdout}"
    );
}
