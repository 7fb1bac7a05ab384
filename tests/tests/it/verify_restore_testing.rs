//! AWS Backup restore testing, validated by Lifeboat: a restore testing job's COMPLETED event
//! (the real payload of `events/backup-restore-test-completed.json`, filled with this test's
//! job) makes `verify-restore` run the matching `[[verify]]` entry's checks on what AWS Backup
//! restored and answer `PutRestoreValidationResult`. Against the emulator (its AWS Backup
//! restore jobs restore into its RDS, whose databases are the machine's seeded PostgreSQL and
//! MariaDB) through the real SDK clients.

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::tasks::{JobResult, Verifications, VerifyOptions, run_verify_restore};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::Verdict;
use lifeboat_tests::databases::{self, Family, SeededDatabase, holds_a_password};
use lifeboat_tests::world::{PRIMARY, RECOVERY};
use lifeboat_tests::{Emulator, World};

/// The restore testing plan `tracking_daily` of the recovery Region.
fn testing_plan_arn(account: &str) -> String {
    format!(
        "arn:aws:backup:{RECOVERY}:{account}:restore-testing-plan:tracking_daily-8b0e4d52-3c1a-4f6e-9d7b-2a5c8e1f0b39"
    )
}

struct Setup {
    world: World,
    lifeboat: Lifeboat,
    /// The copy of the source's recovery point in the recovery Region's vault `dr`.
    recovery_point: String,
    seeded: SeededDatabase,
}

/// A source DB `orders` (a PostgreSQL instance, or an Aurora MySQL cluster) whose master user is
/// the test's own, its recovery point copied into the recovery Region's vault, the machine's
/// server seeded with what it holds, and a plan whose `[[verify]]` entry `restore-tests`
/// validates the restore testing plan `tracking_daily`'s restores of it.
async fn setup(cluster: bool) -> Setup {
    let world = World::new(Emulator::shared().new_account().await);
    let account = world.account.id.clone();
    let master = format!("lbr{account}");
    let (family, seed) = if cluster {
        (Family::Mysql, databases::PARCELS_MYSQL)
    } else {
        (Family::Postgres, databases::PARCELS_POSTGRES)
    };
    let mut seeded = SeededDatabase::create(family, &format!("lbr_{account}"), seed);
    seeded.drops_login(&master);
    let (arn, selector) = if cluster {
        let out = world
            .primary_rds
            .create_db_cluster()
            .db_cluster_identifier("orders")
            .engine("aurora-mysql")
            .master_username(&master)
            .master_user_password("source-password-1")
            .send()
            .await
            .expect("create the source DB cluster");
        let arn = out
            .db_cluster()
            .unwrap()
            .db_cluster_arn()
            .unwrap()
            .to_owned();
        (arn, "db_cluster = \"orders\"")
    } else {
        world
            .db_instance_with_master("orders", "postgres", &master)
            .await;
        (
            format!("arn:aws:rds:{PRIMARY}:{account}:db:orders"),
            "db_instance = \"orders\"",
        )
    };
    let recovery_point = world.recovery_point_in_recovery_vault(&arn).await;
    world.recovery_stack("lifeboat").await;
    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[verify]]
            name = "restore-tests"
            {selector}
            instance_class = "db.t4g.micro"
            restore_testing_plan = "tracking_daily"
            database = "{}"
            tls = "prefer"
            [[verify.checks]]
            sql = "SELECT count(*) FROM parcels"
            expect = "= 3"
            [[verify.checks]]
            freshness_sql = "SELECT max(updated_at) FROM parcels"
            max_age = "26h"
            "#,
            seeded.name
        ),
    );
    let lifeboat = world.lifeboat(plan);
    Setup {
        world,
        lifeboat,
        recovery_point,
        seeded,
    }
}

fn options() -> VerifyOptions {
    lifeboat_tests::quick_verify_options()
}

impl Setup {
    /// A restore testing job of `tracking_daily` restoring the copy as `identifier`; returns
    /// its id and the ARN of what it created.
    async fn restore_test(&self, identifier: &str, cluster: bool) -> (String, String) {
        let key = if cluster {
            "DBClusterIdentifier"
        } else {
            "DBInstanceIdentifier"
        };
        let job = self
            .world
            .restore_testing_job(
                RECOVERY,
                &testing_plan_arn(&self.world.account.id),
                &self.recovery_point,
                serde_json::json!({ key: identifier }),
            )
            .await;
        assert_eq!(job["Status"], "COMPLETED", "{job:#}");
        (
            job["RestoreJobId"].as_str().unwrap().to_owned(),
            job["CreatedResourceArn"].as_str().unwrap().to_owned(),
        )
    }

    /// The COMPLETED event AWS Backup sends for that job, as the fixture shows it.
    fn completed_event(&self, job_id: &str, created: &str) -> serde_json::Value {
        let path = format!(
            "{}/../events/backup-restore-test-completed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let account = &self.world.account.id;
        event["account"] = account.as_str().into();
        event["resources"] = serde_json::json!([self.recovery_point]);
        let detail = &mut event["detail"];
        detail["restoreJobId"] = job_id.into();
        detail["createdResourceArn"] = created.into();
        detail["recoveryPointArn"] = self.recovery_point.as_str().into();
        detail["restoreTestingPlanArn"] = testing_plan_arn(account).into();
        event
    }

    async fn run(&self, trigger: &Trigger) -> Verifications {
        run_verify_restore(&self.lifeboat, trigger, options(), None, None)
            .await
            .expect("the task runs")
    }

    async fn on_event(&self, job_id: &str, created: &str) -> Vec<JobResult> {
        let trigger = Trigger::from_event(&self.completed_event(job_id, created)).unwrap();
        match self.run(&trigger).await {
            Verifications::Ran(results) => results,
            other => panic!("the event was not acted on: {other:?}"),
        }
    }

    /// (ValidationStatus, ValidationStatusMessage) as AWS Backup shows them.
    async fn validation(&self, job_id: &str) -> (Option<String>, Option<String>) {
        let out = self
            .world
            .backup(RECOVERY)
            .describe_restore_job()
            .restore_job_id(job_id)
            .send()
            .await
            .unwrap();
        (
            out.validation_status().map(|s| s.as_str().to_owned()),
            out.validation_status_message().map(str::to_owned),
        )
    }

    /// The PutRestoreValidationResult requests this account made, as sent.
    fn validation_requests(&self) -> Vec<(String, serde_json::Value)> {
        Emulator::shared()
            .calls_of(&self.world.account)
            .into_iter()
            .filter(|c| c.service == "backup" && c.action.ends_with("/validations"))
            .map(|c| (c.action, serde_json::from_str(&c.body).unwrap()))
            .collect()
    }

    async fn instances(&self) -> Vec<String> {
        let out = self
            .world
            .recovery_rds
            .describe_db_instances()
            .send()
            .await
            .unwrap();
        out.db_instances()
            .iter()
            .filter_map(|d| d.db_instance_identifier().map(str::to_owned))
            .collect()
    }
}

fn finished(results: &[JobResult]) -> &lifeboat_shared::verify::VerifyReport {
    match results {
        [JobResult::Finished { report, .. }] => report,
        other => panic!("one finished validation: {other:#?}"),
    }
}

/// A COMPLETED restore test of a PostgreSQL instance: the checks run on what AWS Backup
/// restored, SUCCESSFUL is answered once (a duplicate event answers nothing), the restored
/// instance is left to AWS Backup, and no password is anywhere. Then one whose data fails a
/// check: FAILED, the message naming the check.
#[tokio::test]
async fn a_completed_restore_test_is_validated_and_answered() {
    let setup = setup(false).await;
    let (job_id, created) = setup
        .restore_test("awsbackup-restore-test-orders-1", false)
        .await;

    let results = setup.on_event(&job_id, &created).await;
    let report = finished(&results);
    assert_eq!(report.verdict, Some(Verdict::Verified), "{report:#?}");
    assert_eq!(report.job, "restore-tests");
    let test = report.verification.restore_test.as_ref().unwrap();
    assert_eq!(test.restore_job_id, job_id);
    assert_eq!(test.answered.as_deref(), Some("SUCCESSFUL"));
    assert!(report.figures.data_age_seconds.is_some(), "{report:#?}");
    assert!(report.figures.restore_seconds.is_some(), "{report:#?}");
    let (status, message) = setup.validation(&job_id).await;
    assert_eq!(status.as_deref(), Some("SUCCESSFUL"));
    assert!(message.unwrap().contains("2 checks passed"));
    // AWS Backup deletes what it restored after the validation window; Lifeboat does not.
    assert!(
        setup
            .instances()
            .await
            .contains(&"awsbackup-restore-test-orders-1".to_owned())
    );
    let requests = setup.validation_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].0,
        format!("PUT /restore-jobs/{job_id}/validations")
    );
    assert_eq!(requests[0].1["ValidationStatus"], "SUCCESSFUL");

    // The same event again: already answered, nothing sent.
    let again = setup.on_event(&job_id, &created).await;
    assert!(
        matches!(&again[..], [JobResult::Idle { reason, .. }] if reason.contains("already validated: SUCCESSFUL")),
        "{again:#?}"
    );
    assert_eq!(setup.validation_requests().len(), 1);

    // The data changes (a row lost): the next restore test fails its count check.
    databases::admin(
        Family::Postgres,
        &setup.seeded.name,
        "DELETE FROM parcels WHERE id = 1",
    );
    let (failing, created) = setup
        .restore_test("awsbackup-restore-test-orders-2", false)
        .await;
    let results = setup.on_event(&failing, &created).await;
    let report = finished(&results);
    assert_eq!(report.verdict, Some(Verdict::Failed));
    let (status, message) = setup.validation(&failing).await;
    assert_eq!(status.as_deref(), Some("FAILED"));
    let message = message.unwrap();
    assert!(
        message.contains("SELECT count(*) FROM parcels") && message.contains("returned 2"),
        "{message}"
    );

    let requests = setup.validation_requests();
    let texts: Vec<String> = requests.iter().map(|(_, b)| b.to_string()).collect();
    for text in texts
        .iter()
        .chain([&serde_json::to_string(report).unwrap()])
    {
        assert!(!holds_a_password(text), "{text}");
    }
}

/// An Aurora MySQL restore test: AWS Backup restores a cluster with no instance, so Lifeboat adds
/// one for the checks and deletes it afterwards, leaving the cluster to AWS Backup.
#[tokio::test]
async fn an_aurora_restore_test_gets_an_instance_for_the_checks_and_loses_it_after() {
    let setup = setup(true).await;
    let (job_id, created) = setup
        .restore_test("awsbackup-restore-test-orders-c1", true)
        .await;
    assert!(created.contains(":cluster:"), "{created}");
    let results = setup.on_event(&job_id, &created).await;
    let report = finished(&results);
    assert_eq!(report.verdict, Some(Verdict::Verified), "{report:#?}");
    let steps: Vec<&str> = report
        .verification
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "restore-test",
            "add-instance",
            "available",
            "password",
            "checks",
            "delete",
            "finish",
            "validation"
        ],
        "{report:#?}"
    );
    assert_eq!(
        setup.validation(&job_id).await.0.as_deref(),
        Some("SUCCESSFUL")
    );
    assert!(
        setup.instances().await.is_empty(),
        "the added instance is deleted"
    );
    let clusters = setup
        .world
        .recovery_rds
        .describe_db_clusters()
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = clusters
        .db_clusters()
        .iter()
        .filter_map(|c| c.db_cluster_identifier())
        .collect();
    assert_eq!(
        ids,
        ["awsbackup-restore-test-orders-c1"],
        "the cluster is AWS Backup's"
    );
}

/// Events are best effort: a restore test whose COMPLETED event never came is found by the next
/// schedule tick and validated. Events that are not this plan's ask for nothing.
#[tokio::test]
async fn a_restore_test_whose_event_was_missed_is_validated_by_the_schedule() {
    let setup = setup(false).await;
    let (job_id, created) = setup
        .restore_test("awsbackup-restore-test-orders-3", false)
        .await;
    let tick = setup.run(&Trigger::Schedule { rule: None }).await;
    let Verifications::Ran(results) = tick else {
        panic!("{tick:?}")
    };
    let report = finished(&results);
    assert_eq!(
        report
            .verification
            .restore_test
            .as_ref()
            .unwrap()
            .restore_job_id,
        job_id
    );
    assert_eq!(
        setup.validation(&job_id).await.0.as_deref(),
        Some("SUCCESSFUL")
    );
    // The next tick finds nothing left to validate.
    let Verifications::Ran(results) = setup.run(&Trigger::Schedule { rule: None }).await else {
        panic!("the tick did not run")
    };
    assert!(results.is_empty(), "{results:#?}");

    // Another restore testing plan, and another Region: not this plan's to answer.
    let mut other_plan = setup.completed_event(&job_id, &created);
    other_plan["detail"]["restoreTestingPlanArn"] = format!(
        "arn:aws:backup:{RECOVERY}:{}:restore-testing-plan:nightly_other-1234",
        setup.world.account.id
    )
    .into();
    let mut other_region = setup.completed_event(&job_id, &created);
    other_region["region"] = PRIMARY.into();
    for event in [other_plan, other_region] {
        let trigger = Trigger::from_event(&event).unwrap();
        assert!(
            matches!(setup.run(&trigger).await, Verifications::Ignored { .. }),
            "{event:#}"
        );
    }
    assert_eq!(setup.validation_requests().len(), 1);
}
