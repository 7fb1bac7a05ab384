//! Restore verification end to end in the library: Lifeboat's copy in the recovery Region is
//! restored into the plan's subnet group, given a fresh password, checked on the machine's real
//! PostgreSQL / MariaDB (which the emulator makes the restored database's endpoint), measured,
//! and always deleted; runs resume from their record; the sweep deletes only expired leftovers.

use std::time::Duration;

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::tasks::{Finished, RunOptions, run_copy_snapshots};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::{Phase, Verdict, VerifyRun, advance, verify_tags};
use lifeboat_tests::databases::{
    Family, PARCELS_MYSQL, PARCELS_POSTGRES, SeededDatabase, holds_a_password,
};
use lifeboat_tests::world::RECOVERY;
use lifeboat_tests::{Emulator, World};
use time::OffsetDateTime;
use tokio::time::Instant;

const POLL: Duration = Duration::from_millis(100);
const SUBNET_GROUP: &str = "dr-isolated";

const PASSING: &str = r#"
[[verify.checks]]
sql = "SELECT count(*) FROM parcels"
expect = "= 3"
[[verify.checks]]
freshness_sql = "SELECT max(updated_at) FROM parcels"
max_age = "26h"
"#;

/// One test's world: a source DB in the primary Region whose master user is unique to the test,
/// its snapshot copied to the recovery Region by Lifeboat's copy task, the subnet group, and the
/// machine's server seeded with the rows the snapshot "holds".
struct Setup {
    world: World,
    lifeboat: Lifeboat,
    _seeded: SeededDatabase,
}

async fn setup(family: Family, checks: &str) -> Setup {
    let engine = match family {
        Family::Postgres => "postgres",
        Family::Mysql => "mariadb",
    };
    setup_source(Source::Instance(engine), checks).await
}

/// What the plan copies and verifies: a DB instance of an engine, or an Aurora cluster of one.
#[derive(Debug, Clone, Copy)]
enum Source {
    Instance(&'static str),
    Cluster(&'static str),
}

async fn setup_source(source: Source, checks: &str) -> Setup {
    let world = World::new(Emulator::shared().new_account().await);
    let account = world.account.id.clone();
    let master = format!("lbv{account}");
    let engine = match source {
        Source::Instance(engine) | Source::Cluster(engine) => engine,
    };
    let (family, seed) = match engine {
        "postgres" | "aurora-postgresql" => (Family::Postgres, PARCELS_POSTGRES),
        _ => (Family::Mysql, PARCELS_MYSQL),
    };
    let mut seeded = SeededDatabase::create(family, &format!("lbv_{account}"), seed);
    seeded.drops_login(&master);
    let selector = match source {
        Source::Instance(_) => {
            world
                .db_instance_with_master("orders", engine, &master)
                .await;
            world.snapshot("orders", "orders-1").await;
            "db_instance = \"orders\""
        }
        Source::Cluster(_) => {
            world
                .primary_rds
                .create_db_cluster()
                .db_cluster_identifier("orders")
                .engine(engine)
                .master_username(&master)
                .master_user_password("source-password-1")
                .send()
                .await
                .expect("create the source DB cluster");
            world.cluster_snapshot("orders", "orders-1").await;
            "db_cluster = \"orders\""
        }
    };
    world.recovery_stack("lifeboat").await;
    world.db_subnet_group(RECOVERY, SUBNET_GROUP).await;
    // The machine's MariaDB serves no TLS: `prefer` unless the test says otherwise.
    let tls = if checks.contains("tls =") {
        ""
    } else {
        "tls = \"prefer\""
    };
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[copy.rds]]
            {selector}
            [[verify]]
            name = "weekly"
            {selector}
            instance_class = "db.t4g.micro"
            subnet_group = "{SUBNET_GROUP}"
            max_restore_minutes = 30
            database = "{}"
            {tls}
            {checks}
            "#,
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(plan);
    match run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { .. }) => {}
        other => panic!("the copy did not run: {other:?}"),
    }
    assert_eq!(world.recovery_snapshots().await.len(), 1, "one copy");
    Setup {
        world,
        lifeboat,
        _seeded: seeded,
    }
}

impl Setup {
    fn new_run(&self) -> VerifyRun {
        VerifyRun::start(
            &uuid::Uuid::new_v4().to_string(),
            "tracking",
            "weekly",
            OffsetDateTime::now_utc(),
        )
    }

    async fn advance_for(&self, run: VerifyRun, time: Duration) -> VerifyRun {
        advance(
            &self.lifeboat.clients,
            &self.lifeboat.plan,
            0,
            run,
            Instant::now() + time,
            POLL,
        )
        .await
        .unwrap_or_else(|e| panic!("advance: {e}"))
    }

    /// The DB instances standing in the recovery Region.
    async fn recovery_instances(&self) -> Vec<String> {
        self.world
            .recovery_rds
            .describe_db_instances()
            .send()
            .await
            .expect("describe")
            .db_instances()
            .iter()
            .filter(|db| db.db_instance_status() != Some("deleting"))
            .map(|db| db.db_instance_identifier().unwrap_or_default().to_owned())
            .collect()
    }

    /// The RDS calls this test's account made in the recovery Region.
    fn recovery_rds_calls(&self) -> Vec<lifeboat_tests::RecordedCall> {
        Emulator::shared()
            .calls_of(&self.world.account)
            .into_iter()
            .filter(|c| c.service == "rds" && c.region == RECOVERY)
            .collect()
    }
}

/// A PostgreSQL instance copy: restored into the subnet group, not public, tagged; a fresh
/// password; both checks pass on the seeded rows; the figures are measured; the instance is
/// deleted; no password in the record or in the requests.
#[tokio::test]
async fn a_postgresql_instance_copy_is_verified_measured_and_deleted() {
    let setup = setup(Family::Postgres, PASSING).await;
    let run = setup
        .advance_for(setup.new_run(), Duration::from_secs(120))
        .await;

    assert_eq!(run.phase, Phase::Finished, "{run:#?}");
    assert_eq!(run.verdict, Some(Verdict::Verified), "{run:#?}");
    assert_eq!(run.checks.len(), 2);
    assert!(run.checks.iter().all(|c| c.passed), "{:#?}", run.checks);
    assert!(run.restore_seconds().is_some_and(|s| s >= 0), "{run:#?}");
    let freshness = &run.checks[1];
    let age = freshness.data_age_seconds.expect("the data age now");
    assert!((7000..7500).contains(&age), "about two hours: {age}");
    assert!(freshness.data_age_at_snapshot_seconds.is_some());
    let copy = run.copy.as_ref().expect("the chosen copy");
    assert_eq!(copy.source_db, "orders");
    let steps: Vec<&str> = run.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "restore",
            "available",
            "password",
            "checks",
            "delete",
            "finish"
        ]
    );
    assert!(
        setup.recovery_instances().await.is_empty(),
        "nothing of the run is left"
    );

    let calls = setup.recovery_rds_calls();
    let restore = calls
        .iter()
        .find(|c| c.action == "RestoreDBInstanceFromDBSnapshot")
        .expect("the restore");
    for part in [
        "DBInstanceClass=db.t4g.micro",
        "DBSubnetGroupName=dr-isolated",
        "PubliclyAccessible=false",
        "lifeboat%3Averify-run",
        "lifeboat%3Aexpires",
    ] {
        assert!(restore.body.contains(part), "{part}: {}", restore.body);
    }
    let modify = calls
        .iter()
        .find(|c| c.action == "ModifyDBInstance")
        .expect("the password change");
    assert!(
        modify
            .body
            .contains("MasterUserPassword=HIDDEN_DUE_TO_SECURITY_REASONS"),
        "{}",
        modify.body
    );
    assert!(calls.iter().all(|c| !holds_a_password(&c.body)));
    let record = serde_json::to_string(&run).unwrap();
    assert!(!holds_a_password(&record), "{record}");
    assert!(!record.to_lowercase().contains("password\":"), "{record}");
}

/// A failing check fails the verification, naming the check; the instance is deleted all the
/// same.
#[tokio::test]
async fn a_failing_check_fails_the_run_naming_it_and_still_cleans_up() {
    let checks = r#"
[[verify.checks]]
sql = "SELECT count(*) FROM parcels"
expect = ">= 1000"
"#;
    let setup = setup(Family::Postgres, checks).await;
    let run = setup
        .advance_for(setup.new_run(), Duration::from_secs(120))
        .await;
    assert_eq!(run.verdict, Some(Verdict::Failed), "{run:#?}");
    assert!(!run.checks[0].passed);
    let step = run
        .steps
        .iter()
        .find(|s| s.step == "checks")
        .expect("the checks step");
    assert!(!step.ok);
    assert!(
        step.detail.contains("SELECT count(*) FROM parcels"),
        "{}",
        step.detail
    );
    assert!(setup.recovery_instances().await.is_empty());
}

/// A restore that never becomes available: the run waits, saves, and when max_restore_minutes
/// have passed since the request, fails and deletes the instance.
#[tokio::test]
async fn a_restore_that_never_becomes_available_fails_at_the_limit_and_is_deleted() {
    let setup = setup(Family::Postgres, PASSING).await;
    setup.world.hold_restores(RECOVERY, 1).await;
    let run = setup
        .advance_for(setup.new_run(), Duration::from_millis(500))
        .await;
    assert_eq!(run.phase, Phase::WaitingAvailable, "{run:#?}");
    let wait = run.steps.last().expect("a step");
    assert_eq!(wait.step, "wait");
    assert!(wait.detail.contains("is creating"), "{}", wait.detail);
    assert_eq!(setup.recovery_instances().await.len(), 1);

    // An hour on: requested 31 minutes ago, the limit 30.
    let mut late = run;
    late.restore_requested_at = Some(OffsetDateTime::now_utc() - time::Duration::minutes(31));
    let run = setup.advance_for(late, Duration::from_secs(60)).await;
    assert_eq!(run.verdict, Some(Verdict::Failed), "{run:#?}");
    assert!(
        run.failure
            .as_deref()
            .is_some_and(|f| f.starts_with("not available within max_restore_minutes = 30")),
        "{run:#?}"
    );
    assert!(setup.recovery_instances().await.is_empty());
}

/// A run stopped while waiting is saved (JSON) and resumed by the next invocation from its
/// record: no second restore, and it finishes verified.
#[tokio::test]
async fn a_run_resumes_from_its_record_and_starts_no_second_restore() {
    let setup = setup(Family::Postgres, PASSING).await;
    setup.world.hold_restores(RECOVERY, 1).await;
    let run = setup
        .advance_for(setup.new_run(), Duration::from_millis(500))
        .await;
    assert_eq!(run.phase, Phase::WaitingAvailable, "{run:#?}");
    let saved = serde_json::to_string(&run).unwrap();
    let instance = run.created.instance.clone().expect("the restored instance");
    setup
        .world
        .make_db_instance_available(RECOVERY, &instance)
        .await
        .unwrap();

    let resumed: VerifyRun = serde_json::from_str(&saved).unwrap();
    let run = setup.advance_for(resumed, Duration::from_secs(120)).await;
    assert_eq!(run.verdict, Some(Verdict::Verified), "{run:#?}");
    let restores = setup
        .recovery_rds_calls()
        .iter()
        .filter(|c| c.action == "RestoreDBInstanceFromDBSnapshot")
        .count();
    assert_eq!(restores, 1);
    assert!(setup.recovery_instances().await.is_empty());
    // A finished run advanced again (a duplicate event) does nothing.
    let again = setup.advance_for(run.clone(), Duration::from_secs(5)).await;
    assert_eq!(again, run);
}

/// The sweep at the start of a run deletes an expired verification leftover of the plan, and
/// neither a live one nor an instance without the verify tags.
#[tokio::test]
async fn the_sweep_deletes_expired_leftovers_and_nothing_else() {
    let setup = setup(Family::Postgres, PASSING).await;
    let rds = &setup.world.recovery_rds;
    let past = "2020-01-01T00:00:00Z";
    let future = "2099-01-01T00:00:00Z";
    for (id, tags) in [
        (
            "leftover",
            vec![
                ("lifeboat:plan", "tracking"),
                (verify_tags::JOB, "weekly"),
                (verify_tags::EXPIRES, past),
            ],
        ),
        (
            "live",
            vec![
                ("lifeboat:plan", "tracking"),
                (verify_tags::JOB, "weekly"),
                (verify_tags::EXPIRES, future),
            ],
        ),
        ("production", vec![("lifeboat:plan", "tracking")]),
    ] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username("someone")
            .master_user_password("not-a-real-password")
            .set_tags(Some(
                tags.into_iter()
                    .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("create");
    }
    let run = setup
        .advance_for(setup.new_run(), Duration::from_secs(120))
        .await;
    assert_eq!(run.verdict, Some(Verdict::Verified), "{run:#?}");
    assert_eq!(run.steps[0].step, "sweep");
    assert!(run.steps[0].detail.contains("leftover"));
    let mut standing = setup.recovery_instances().await;
    standing.sort();
    assert_eq!(standing, ["live", "production"]);
}

/// A MariaDB instance copy and an Aurora MySQL cluster copy (restored cluster, an instance added,
/// the password through ModifyDBCluster) are verified on the machine's MariaDB, and nothing of
/// either run is left.
#[tokio::test]
async fn mariadb_instance_and_aurora_mysql_cluster_copies_are_verified() {
    for source in [Source::Instance("mariadb"), Source::Cluster("aurora-mysql")] {
        let setup = setup_source(source, PASSING).await;
        let run = setup
            .advance_for(setup.new_run(), Duration::from_secs(120))
            .await;
        assert_eq!(run.verdict, Some(Verdict::Verified), "{source:?}: {run:#?}");
        assert!(run.checks.iter().all(|c| c.passed), "{:#?}", run.checks);
        assert!(run.restore_seconds().is_some());
        assert!(run.checks[1].data_age_seconds.is_some());
        assert!(setup.recovery_instances().await.is_empty(), "{source:?}");
        let calls = setup.recovery_rds_calls();
        let actions: Vec<&str> = calls
            .iter()
            .map(|c| c.action.as_str())
            .filter(|a| !a.starts_with("Describe"))
            // The setup's: the subnet group and Lifeboat's copy.
            .filter(|a| {
                !matches!(
                    *a,
                    "CreateDBSubnetGroup" | "CopyDBClusterSnapshot" | "CopyDBSnapshot"
                )
            })
            .collect();
        if let Source::Cluster(_) = source {
            assert_eq!(
                actions,
                [
                    "RestoreDBClusterFromSnapshot",
                    "CreateDBInstance",
                    "ModifyDBCluster",
                    "DeleteDBInstance",
                    "DeleteDBCluster"
                ]
            );
            let clusters = setup
                .world
                .recovery_rds
                .describe_db_clusters()
                .send()
                .await
                .expect("describe clusters");
            assert!(
                clusters
                    .db_clusters()
                    .iter()
                    .all(|c| c.status() == Some("deleting")),
                "{clusters:?}"
            );
        }
        assert!(calls.iter().all(|c| !holds_a_password(&c.body)));
    }
}

/// Checks that cannot run at all (TLS required, and the machine's MariaDB serves none) fail the
/// run with the reason; the instance is deleted all the same.
#[tokio::test]
async fn checks_that_cannot_connect_fail_the_run_and_it_still_cleans_up() {
    let checks = format!("tls = \"require\"\n{PASSING}");
    let setup = setup(Family::Mysql, &checks).await;
    let run = setup
        .advance_for(setup.new_run(), Duration::from_secs(120))
        .await;
    assert_eq!(run.verdict, Some(Verdict::Failed), "{run:#?}");
    assert!(
        run.failure
            .as_deref()
            .is_some_and(|f| f.starts_with("cannot connect to")),
        "{run:#?}"
    );
    assert!(run.checks.is_empty());
    assert!(setup.recovery_instances().await.is_empty());
}

/// A job with `backup_vault` restores the newest recovery point of its DB in that vault of the
/// recovery Region through AWS Backup (`StartRestoreJob` with the plan's role, the subnet group,
/// not publicly accessible, the run id as idempotency token), tags what AWS Backup made with the
/// run's tags, checks it, and deletes it.
#[tokio::test]
async fn a_recovery_point_of_the_vault_is_restored_through_aws_backup_checked_and_deleted() {
    let world = World::new(Emulator::shared().new_account().await);
    let account = world.account.id.clone();
    let master = format!("lbp{account}");
    let mut seeded = SeededDatabase::create(
        Family::Postgres,
        &format!("lbp_{account}"),
        PARCELS_POSTGRES,
    );
    seeded.drops_login(&master);
    world
        .db_instance_with_master("orders", "postgres", &master)
        .await;
    let recovery_point = world
        .recovery_point_in_recovery_vault(&format!(
            "arn:aws:rds:{}:{account}:db:orders",
            lifeboat_tests::world::PRIMARY
        ))
        .await;
    world.db_subnet_group(RECOVERY, SUBNET_GROUP).await;
    let role = lifeboat_tests::world::backup_role(&account);
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[verify]]
            name = "weekly"
            db_instance = "orders"
            instance_class = "db.t4g.micro"
            subnet_group = "{SUBNET_GROUP}"
            backup_vault = "dr"
            restore_role = "{role}"
            database = "{}"
            {PASSING}
            "#,
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(plan);
    let setup = Setup {
        world,
        lifeboat,
        _seeded: seeded,
    };
    let run = setup.new_run();
    let run_id = run.run_id.clone();
    let run = setup.advance_for(run, Duration::from_secs(120)).await;
    assert_eq!(run.verdict, Some(Verdict::Verified), "{run:#?}");
    let copy = run.copy.as_ref().unwrap();
    assert_eq!(copy.id, recovery_point);
    assert_eq!(copy.engine, "postgres");
    let steps: Vec<&str> = run.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "restore",
            "tag",
            "available",
            "password",
            "checks",
            "delete",
            "finish"
        ],
        "{run:#?}"
    );
    let requests: Vec<serde_json::Value> = Emulator::shared()
        .calls_of(&setup.world.account)
        .into_iter()
        .filter(|c| c.service == "backup" && c.action == "PUT /restore-jobs")
        .map(|c| serde_json::from_str(&c.body).unwrap())
        .collect();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = &requests[0];
    assert_eq!(request["RecoveryPointArn"], recovery_point.as_str());
    assert_eq!(request["IamRoleArn"], role.as_str());
    assert_eq!(request["IdempotencyToken"], run_id.as_str());
    assert_eq!(request["ResourceType"], "RDS");
    let metadata = &request["Metadata"];
    assert_eq!(metadata["DBSubnetGroupName"], SUBNET_GROUP);
    assert_eq!(metadata["PubliclyAccessible"], "false");
    assert_eq!(metadata["DBInstanceClass"], "db.t4g.micro");
    assert!(
        metadata["DBInstanceIdentifier"]
            .as_str()
            .unwrap()
            .starts_with("lifeboat-verify-weekly-"),
        "{metadata}"
    );
    assert!(setup.recovery_instances().await.is_empty());
}
