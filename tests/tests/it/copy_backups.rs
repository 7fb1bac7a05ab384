//! The AWS Backup copy, end to end: the real SDK clients over HTTP against the emulator and its
//! AWS Backup extension, one emulated account per test.

use std::time::{Duration, SystemTime};

use lifeboat_shared::backup::{BackupReport, Outcome};
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::record::{Report, RunOutcome};
use lifeboat_shared::tasks::{Finished, RunOptions, handle_copy_backups_event, run_copy_backups};
use lifeboat_shared::trigger::Trigger;
use lifeboat_tests::world::{BackupJobKind, PRIMARY, RECOVERY, backup_role};
use lifeboat_tests::{Emulator, World};

/// A world with the source vault `Default` in the primary Region and the destination vault
/// `dr` in the recovery Region; returns the destination's ARN too.
async fn world() -> (World, String) {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world.backup_vault(PRIMARY, "Default").await;
    let dr = world.backup_vault(RECOVERY, "dr").await;
    (world, dr)
}

fn lifeboat(world: &World, dr: &str, extra: &str) -> Lifeboat {
    world.lifeboat(world.plan(
        "phoenix",
        &format!(
            "{extra}\n[[copy.backup]]\nsource_vault = \"Default\"\ndestination_vault = \"{dr}\"\n\
             iam_role = \"{}\"\nresource_types = [\"EC2\", \"EBS\"]\ndelete_after_days = 14\n",
            backup_role(&world.account.id)
        ),
    ))
}

async fn run(lifeboat: &Lifeboat) -> BackupReport {
    match run_copy_backups(lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { report, .. }) => report,
        other => panic!("the run did not happen: {other:?}"),
    }
}

fn ec2(world: &World, id: &str) -> String {
    format!("arn:aws:ec2:{PRIMARY}:{}:instance/{id}", world.account.id)
}

fn ebs(world: &World, id: &str) -> String {
    format!("arn:aws:ec2:{PRIMARY}:{}:volume/{id}", world.account.id)
}

/// A recovery point of `resource` in the source vault, taken `hours_ago`.
async fn point(world: &World, resource: &str, hours_ago: u64) -> String {
    let arn = world.recovery_point(PRIMARY, "Default", resource).await;
    world
        .set_recovery_point_creation_date(
            PRIMARY,
            "Default",
            &arn,
            SystemTime::now() - Duration::from_secs(hours_ago * 3600),
        )
        .await;
    arn
}

/// The `StartCopyJob` requests this test's account made.
fn start_copy_job_calls(world: &World) -> Vec<serde_json::Value> {
    Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.service == "backup" && c.action == "PUT /copy-jobs")
        .map(|c| serde_json::from_str(&c.body).expect("a JSON body"))
        .collect()
}

/// The recovery points in the destination vault: (ARN, resource ARN).
async fn destination_points(world: &World) -> Vec<(String, String)> {
    let listed = world
        .backup(RECOVERY)
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("dr")
        .send()
        .await
        .expect("list the destination vault");
    listed
        .recovery_points()
        .iter()
        .map(|p| {
            (
                p.recovery_point_arn().unwrap_or_default().to_owned(),
                p.resource_arn().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn copies_the_entrys_resource_types_only_then_does_nothing_twice() {
    let (world, dr) = world().await;
    world.db_instance("orders", None, &[]).await;
    let instance = ec2(&world, "i-0a1b2c3d4e5f60718");
    let volume = ebs(&world, "vol-0a1b2c3d4e5f60718");
    let ec2_point = point(&world, &instance, 2).await;
    let ebs_point = point(&world, &volume, 3).await;
    let rds = format!("arn:aws:rds:{PRIMARY}:{}:db:orders", world.account.id);
    point(&world, &rds, 1).await;
    let lifeboat = lifeboat(&world, &dr, "");

    let report = run(&lifeboat).await;
    assert_eq!(
        report.run.outcome,
        Some(RunOutcome::Succeeded),
        "{report:#?}"
    );
    let started: Vec<&str> = report
        .items_with(Outcome::Started)
        .map(|i| i.recovery_point.as_deref().unwrap())
        .collect();
    assert_eq!(started.len(), 2, "{report:#?}");
    assert!(started.contains(&ec2_point.as_str()) && started.contains(&ebs_point.as_str()));

    // The destination vault holds copies of the EC2 and EBS points, not of the RDS one.
    let mut copied: Vec<String> = destination_points(&world)
        .await
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    copied.sort();
    assert_eq!(copied, [instance.clone(), volume.clone()]);

    // Each job was asked with the entry's role and lifecycle and an idempotency token.
    let calls = start_copy_job_calls(&world);
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call["DestinationBackupVaultArn"], dr.as_str());
        assert_eq!(call["SourceBackupVaultName"], "Default");
        assert_eq!(call["IamRoleArn"], backup_role(&world.account.id));
        assert_eq!(call["Lifecycle"]["DeleteAfterDays"], 14);
        assert!(
            call["IdempotencyToken"]
                .as_str()
                .is_some_and(|t| t.starts_with("lifeboat-")),
            "{call}"
        );
    }

    // A second run finds both copied and starts nothing.
    let second = run(&lifeboat).await;
    assert_eq!(second.count(Outcome::AlreadyCopied), 2, "{second:#?}");
    assert_eq!(second.count(Outcome::Started), 0);
    assert_eq!(start_copy_job_calls(&world).len(), 2, "no new StartCopyJob");
    // The copy lag of both resources is measured from their recovery points' times.
    let lag: Vec<(String, Option<i64>)> = second
        .lag
        .iter()
        .map(|l| (l.resource.clone(), l.lag_seconds))
        .collect();
    assert_eq!(lag.len(), 2, "{lag:?}");
    assert!(
        lag.iter()
            .all(|(_, s)| s.is_some_and(|s| (7000..11_500).contains(&s))),
        "{lag:?}"
    );
    let metrics = second.metrics();
    assert!(
        metrics.iter().any(
            |m| m.values.iter().any(|(n, _, _)| n == "BackupCopyLagSeconds")
                && m.rollups == [vec!["Plan".to_owned()]]
        ),
        "{metrics:#?}"
    );
}

/// A payload from `events/`, as AWS would send it to this test's account.
fn fixture(text: &str, world: &World) -> serde_json::Value {
    serde_json::from_str(&text.replace("111122223333", &world.account.id)).expect("fixture JSON")
}

/// "Backup Job State Change" COMPLETED, as AWS Backup emits it in the primary Region.
fn backup_job_completed(world: &World, job_id: &str) -> serde_json::Value {
    let mut event = fixture(
        include_str!("../../../events/backup-job-completed.json"),
        world,
    );
    event["detail"]["backupJobId"] = job_id.into();
    event
}

#[tokio::test]
async fn the_same_completed_backup_event_delivered_twice_starts_one_job() {
    let (world, dr) = world().await;
    let lifeboat = lifeboat(&world, &dr, "");
    let job = world
        .backup_job(PRIMARY, "Default", &ec2(&world, "i-0f0e0d0c0b0a09080"))
        .await;
    let event = backup_job_completed(&world, &job);

    let first = handle_copy_backups_event(&lifeboat, &event).await.unwrap();
    assert_eq!(first["summary"]["copy_jobs_started"], 1, "{first:#}");
    let second = handle_copy_backups_event(&lifeboat, &event).await.unwrap();
    assert_eq!(second["summary"]["copy_jobs_started"], 0, "{second:#}");
    assert_eq!(second["summary"]["already_copied"], 1, "{second:#}");
    assert_eq!(start_copy_job_calls(&world).len(), 1);
    assert_eq!(destination_points(&world).await.len(), 1);

    // An event of a vault no entry copies from asks for nothing.
    let mut other = event.clone();
    other["detail"]["backupVaultArn"] = format!(
        "arn:aws:backup:{PRIMARY}:{}:backup-vault:scratch",
        world.account.id
    )
    .into();
    let answer = handle_copy_backups_event(&lifeboat, &other).await.unwrap();
    assert_eq!(
        answer["ignored"],
        "no [[copy.backup]] entry copies backup vault scratch"
    );
}

#[tokio::test]
async fn a_failed_copy_job_is_reported_with_its_message_and_tried_again() {
    let (world, dr) = world().await;
    let lifeboat = lifeboat(&world, &dr, "");
    let rp = point(&world, &ec2(&world, "i-0123456789abcdef0"), 1).await;
    world
        .hold_backup_jobs(
            PRIMARY,
            BackupJobKind::Copy,
            "FAILED",
            Some("Access denied exception while trying to list tags"),
            1,
        )
        .await;
    let first = run(&lifeboat).await;
    assert_eq!(first.count(Outcome::Started), 1, "{first:#?}");
    let failed_job = first.items[0].job.clone().unwrap();

    // AWS Backup announces the failure; the run it triggers reports it and tries again.
    let mut event = fixture(include_str!("../../../events/copy-job-failed.json"), &world);
    event["detail"]["copyJobId"] = failed_job.clone().into();
    event["detail"]["destinationBackupVaultArn"] = dr.clone().into();
    event["resources"] = serde_json::json!([rp]);
    let answer = handle_copy_backups_event(&lifeboat, &event).await.unwrap();
    assert_eq!(answer["outcome"], "partial", "{answer:#}");
    assert_eq!(answer["summary"]["copy_jobs_failed"], 1, "{answer:#}");
    assert_eq!(
        answer["summary"]["copy_jobs_started"], 1,
        "the second attempt: {answer:#}"
    );
    let location = answer["report"]["json"].as_str().unwrap();
    let key = location
        .strip_prefix(&format!("s3://{}/", world.state_bucket()))
        .unwrap_or_else(|| panic!("{location} is not in the state bucket"));
    let stored = world
        .state_object(key)
        .await
        .expect("the run's JSON report");
    let report: BackupReport = serde_json::from_str(&stored).unwrap();
    let failed: Vec<_> = report.items_with(Outcome::Failed).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].job.as_deref(), Some(failed_job.as_str()));
    assert!(
        failed[0].detail.starts_with(&format!(
            "copy job {failed_job} ended FAILED: Access denied exception while trying to list tags; attempt 2 of 3"
        )),
        "{}",
        failed[0].detail
    );
    let counts = &report.metrics()[0];
    assert!(
        counts
            .values
            .iter()
            .any(|(n, v, _)| n == "CopyJobsFailed" && *v == 1.0),
        "{counts:#?}"
    );
    // The second attempt used a token of its own, and completed.
    let calls = start_copy_job_calls(&world);
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0]["IdempotencyToken"], calls[1]["IdempotencyToken"]);
    assert_eq!(destination_points(&world).await.len(), 1);
}

#[tokio::test]
async fn more_points_than_copy_job_places_are_spread_over_runs_newest_first() {
    let (world, dr) = world().await;
    let lifeboat = lifeboat(&world, &dr, "[copy.limits]\nbackup_copy_jobs = 2");
    let instance = ec2(&world, "i-0aaaaaaaaaaaaaaa1");
    let volume = ebs(&world, "vol-0bbbbbbbbbbbbbbb1");
    let i_new = point(&world, &instance, 1).await;
    let i_mid = point(&world, &instance, 25).await;
    let i_old = point(&world, &instance, 49).await;
    let v_new = point(&world, &volume, 5).await;
    let v_old = point(&world, &volume, 29).await;
    // Copy jobs stay CREATED, so each holds one of the two places until it is let go.
    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Copy, "CREATED", None, 100)
        .await;

    let started = |report: &BackupReport| -> Vec<String> {
        report
            .items_with(Outcome::Started)
            .map(|i| i.recovery_point.clone().unwrap())
            .collect()
    };
    let first = run(&lifeboat).await;
    let mut first_started = started(&first);
    first_started.sort();
    let mut newest_of_each = vec![i_new.clone(), v_new.clone()];
    newest_of_each.sort();
    assert_eq!(first_started, newest_of_each, "{first:#?}");
    assert_eq!(first.count(Outcome::Deferred), 3);
    assert!(
        first
            .items_with(Outcome::Deferred)
            .all(|i| i.detail.contains("copy.limits.backup_copy_jobs"))
    );

    // Both places are held: the next run starts nothing.
    let second = run(&lifeboat).await;
    assert_eq!(second.count(Outcome::Started), 0, "{second:#?}");
    assert_eq!(second.count(Outcome::InFlight), 2);
    assert_eq!(second.slots.in_flight, 2);

    // Once the first jobs finish, the next two newest go.
    for item in first.items_with(Outcome::Started) {
        world
            .complete_backup_job(item.job.as_deref().unwrap())
            .await
            .unwrap();
    }
    let third = run(&lifeboat).await;
    let mut third_started = started(&third);
    third_started.sort();
    let mut next = vec![i_mid.clone(), v_old.clone()];
    next.sort();
    assert_eq!(third_started, next, "{third:#?}");
    assert_eq!(third.count(Outcome::Deferred), 1);
    assert_eq!(
        third
            .items_with(Outcome::Deferred)
            .next()
            .unwrap()
            .recovery_point
            .as_deref(),
        Some(i_old.as_str())
    );
}

#[tokio::test]
async fn a_copy_job_held_past_stuck_after_is_reported_stuck() {
    let (world, dr) = world().await;
    let lifeboat = lifeboat(&world, &dr, "");
    let mut plan = lifeboat.plan.clone();
    plan.copy.backup[0].stuck_after = "1s".parse().unwrap();
    let lifeboat = world.lifeboat(plan);
    point(&world, &ec2(&world, "i-0cccccccccccccccc"), 1).await;
    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Copy, "CREATED", None, 1)
        .await;
    let first = run(&lifeboat).await;
    let job = first.items[0].job.clone().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let later = run(&lifeboat).await;
    assert_eq!(later.run.outcome, Some(RunOutcome::Failed), "{later:#?}");
    let stuck: Vec<_> = later.items_with(Outcome::Stuck).collect();
    assert_eq!(stuck.len(), 1, "{later:#?}");
    assert!(
        stuck[0]
            .detail
            .starts_with(&format!("copy job {job} has been CREATED since "))
            && stuck[0].detail.contains("longer than stuck_after = 1s"),
        "{}",
        stuck[0].detail
    );
    assert_eq!(
        start_copy_job_calls(&world).len(),
        1,
        "no second job beside a stuck one"
    );
}

#[tokio::test]
async fn a_role_aws_backup_cannot_use_is_named_and_other_copies_go_on() {
    let (world, dr) = world().await;
    let plan = lifeboat(&world, &dr, "").plan.clone();
    point(&world, &ec2(&world, "i-0dddddddddddddddd"), 1).await;
    point(&world, &ebs(&world, "vol-0dddddddddddddddd"), 2).await;
    let proxy = lifeboat_tests::FaultProxy::start(Emulator::shared().endpoint()).await;
    let role = backup_role(&world.account.id);
    proxy.fail_with_json(
        "PUT /copy-jobs",
        Some(1),
        400,
        "InvalidParameterValueException",
        &format!("The provided role {role} cannot be assumed by AWS Backup."),
    );
    let report = run(&world.lifeboat_via(plan, proxy.endpoint())).await;
    assert_eq!(report.run.outcome, Some(RunOutcome::Partial), "{report:#?}");
    let failed: Vec<_> = report.items_with(Outcome::Failed).collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    assert!(
        failed[0].detail.starts_with(&format!(
            "copy.backup[0].iam_role: AWS Backup cannot use {role} ("
        )),
        "{}",
        failed[0].detail
    );
    assert!(failed[0].detail.contains("cannot be assumed by AWS Backup"));
    assert_eq!(report.count(Outcome::Started), 1, "the other copy went on");
}

#[tokio::test]
async fn an_rds_point_bound_for_another_account_and_region_is_refused_before_any_call() {
    let (world, _) = world().await;
    world.db_instance("orders", None, &[]).await;
    let rds = format!("arn:aws:rds:{PRIMARY}:{}:db:orders", world.account.id);
    point(&world, &rds, 1).await;
    let other_account = format!("arn:aws:backup:{RECOVERY}:444455556666:backup-vault:dr");
    let lifeboat = world.lifeboat(world.plan(
        "shop",
        &format!(
            "[[copy.backup]]\nsource_vault = \"Default\"\ndestination_vault = \"{other_account}\"\n\
             iam_role = \"{}\"\nresource_types = [\"RDS\"]\n",
            backup_role(&world.account.id)
        ),
    ));
    let report = run(&lifeboat).await;
    let refused: Vec<_> = report.items_with(Outcome::Refused).collect();
    assert_eq!(refused.len(), 1, "{report:#?}");
    assert!(
        refused[0].detail.starts_with(
            "copy.backup[0].destination_vault: RDS recovery points are copied across Regions or across accounts, not both in one step"
        ),
        "{}",
        refused[0].detail
    );
    assert!(start_copy_job_calls(&world).is_empty(), "no call was made");
}
