//! The emulator's AWS Backup jobs and recovery points (`tests/emulator/lifeboat_emulator/backup.py`),
//! checked through the real `aws-sdk-backup` client against the AWS Backup API reference:
//! job states and their transitions, recovery point ARNs, lifecycle, paging, filters, errors,
//! idempotent copies, copies across Regions and accounts, restores into RDS, and restore
//! validation results.

use std::time::{Duration, SystemTime};

use aws_sdk_backup::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_backup::primitives::DateTime;
use aws_sdk_backup::types::{BackupJobState, CopyJobState, Lifecycle, RestoreJobStatus};
use lifeboat_tests::Emulator;
use lifeboat_tests::world::{BackupJobKind, PRIMARY, RECOVERY, World, backup_role};

const DAY: f64 = 86_400.0;

async fn world() -> World {
    World::new(Emulator::shared().new_account().await)
}

fn ec2_instance(world: &World, id: &str) -> String {
    format!("arn:aws:ec2:{PRIMARY}:{}:instance/{id}", world.account.id)
}

/// The error code of a failed call, as the SDK parsed it from the response.
fn code<E: ProvideErrorMetadata, R>(
    result: Result<impl std::fmt::Debug, SdkError<E, R>>,
) -> String {
    match result {
        Ok(out) => panic!("expected an error, got {out:?}"),
        Err(e) => e
            .as_service_error()
            .and_then(|s| s.code())
            .unwrap_or_else(|| panic!("not a service error"))
            .to_owned(),
    }
}

/// Starts a copy of `recovery_point` from the primary vault `Default` to `destination`.
async fn copy(
    world: &World,
    recovery_point: &str,
    destination: &str,
    token: Option<&str>,
) -> String {
    world
        .primary_backup
        .start_copy_job()
        .source_backup_vault_name("Default")
        .recovery_point_arn(recovery_point)
        .destination_backup_vault_arn(destination)
        .iam_role_arn(backup_role(&world.account.id))
        .set_idempotency_token(token.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("start copy job: {e:?}"))
        .copy_job_id()
        .expect("copy job id")
        .to_owned()
}

async fn copy_job(world: &World, id: &str) -> aws_sdk_backup::types::CopyJob {
    world
        .primary_backup
        .describe_copy_job()
        .copy_job_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe copy job {id}: {e:?}"))
        .copy_job
        .expect("a copy job")
}

async fn recovery_points_in(
    client: &aws_sdk_backup::Client,
    vault: &str,
) -> Vec<aws_sdk_backup::types::RecoveryPointByBackupVault> {
    client
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list {vault}: {e:?}"))
        .recovery_points
        .unwrap_or_default()
}

/// A completed backup job leaves a recovery point with the ARN AWS makes for the resource type
/// and the ResourceType AWS names it with.
#[tokio::test]
async fn backup_jobs_leave_recovery_points_named_by_resource_type() {
    let world = world().await;
    let account = world.account.id.clone();
    world.backup_vault(PRIMARY, "Default").await;
    world.db_instance("orders", None, &[]).await;
    world.db_cluster("tracking", None, &[]).await;
    let cases = [
        (
            ec2_instance(&world, "i-0123456789abcdef0"),
            "EC2",
            format!("arn:aws:ec2:{PRIMARY}::image/ami-"),
        ),
        (
            format!("arn:aws:ec2:{PRIMARY}:{account}:volume/vol-0123456789abcdef0"),
            "EBS",
            format!("arn:aws:ec2:{PRIMARY}::snapshot/snap-"),
        ),
        (
            format!("arn:aws:rds:{PRIMARY}:{account}:db:orders"),
            "RDS",
            format!("arn:aws:rds:{PRIMARY}:{account}:snapshot:awsbackup:job-"),
        ),
        (
            format!("arn:aws:rds:{PRIMARY}:{account}:cluster:tracking"),
            "Aurora",
            format!("arn:aws:rds:{PRIMARY}:{account}:cluster-snapshot:awsbackup:job-"),
        ),
        (
            format!("arn:aws:dynamodb:{PRIMARY}:{account}:table/parcels"),
            "DynamoDB",
            format!("arn:aws:backup:{PRIMARY}:{account}:recovery-point:"),
        ),
    ];
    for (resource, resource_type, prefix) in &cases {
        let job = world.backup_job(PRIMARY, "Default", resource).await;
        let described = world
            .primary_backup
            .describe_backup_job()
            .backup_job_id(&job)
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.state(),
            Some(&BackupJobState::Completed),
            "{resource}"
        );
        assert_eq!(described.resource_type(), Some(*resource_type));
        assert_eq!(described.account_id(), Some(account.as_str()));
        assert!(described.completion_date().is_some());
        let arn = described.recovery_point_arn().unwrap();
        assert!(
            arn.starts_with(prefix.as_str()),
            "{arn} for {resource_type}"
        );
        if matches!(*resource_type, "EC2" | "EBS") {
            let id = arn.rsplit('-').next().unwrap();
            assert_eq!(id.len(), 17, "{arn}");
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{arn}");
        }
        if matches!(*resource_type, "RDS" | "Aurora") {
            assert!(
                arn.ends_with(&job.to_lowercase()),
                "{arn} is named by its job {job}"
            );
        }
        let point = world
            .primary_backup
            .describe_recovery_point()
            .backup_vault_name("Default")
            .recovery_point_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(point.resource_arn(), Some(resource.as_str()));
        assert_eq!(point.status().map(|s| s.as_str()), Some("COMPLETED"));
        assert_eq!(point.storage_class().map(|s| s.as_str()), Some("WARM"));
        assert!(point.source_backup_vault_arn().is_none(), "not a copy");
    }
    let listed = recovery_points_in(&world.primary_backup, "Default").await;
    assert_eq!(listed.len(), cases.len());
    let vault = world
        .primary_backup
        .describe_backup_vault()
        .backup_vault_name("Default")
        .send()
        .await
        .unwrap();
    assert_eq!(vault.number_of_recovery_points(), cases.len() as i64);
}

/// Lifecycle → CalculatedLifecycle (DeleteAt = CreationDate + DeleteAfterDays); the reference's
/// 90-day rule between cold storage and deletion; StorageClass COLD once moved; a back-dated
/// recovery point keeps its lifecycle relative to its CreationDate.
#[tokio::test]
async fn lifecycle_is_calculated_from_the_creation_date() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let efs = format!(
        "arn:aws:elasticfilesystem:{PRIMARY}:{}:file-system/fs-0abc",
        world.account.id
    );
    let started = world
        .primary_backup
        .start_backup_job()
        .backup_vault_name("Default")
        .resource_arn(&efs)
        .iam_role_arn(backup_role(&world.account.id))
        .lifecycle(
            Lifecycle::builder()
                .move_to_cold_storage_after_days(30)
                .delete_after_days(120)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // "This field is only returned for Amazon EFS and Advanced DynamoDB resources."
    let arn = started
        .recovery_point_arn()
        .expect("EFS names its recovery point")
        .to_owned();
    let point = world
        .primary_backup
        .describe_recovery_point()
        .backup_vault_name("Default")
        .recovery_point_arn(&arn)
        .send()
        .await
        .unwrap();
    let created = point.creation_date().unwrap().as_secs_f64();
    let calculated = point.calculated_lifecycle().unwrap();
    let at = |d: Option<&DateTime>| d.unwrap().as_secs_f64() - created;
    assert!((at(calculated.delete_at()) - 120.0 * DAY).abs() < 1.0);
    assert!((at(calculated.move_to_cold_storage_at()) - 30.0 * DAY).abs() < 1.0);
    assert_eq!(point.lifecycle().unwrap().delete_after_days(), Some(120));

    world
        .move_recovery_point_to_cold(PRIMARY, "Default", &arn)
        .await;
    let point = world
        .primary_backup
        .describe_recovery_point()
        .backup_vault_name("Default")
        .recovery_point_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(point.storage_class().map(|s| s.as_str()), Some("COLD"));

    let ten_days_ago = SystemTime::now() - Duration::from_secs(10 * 86_400);
    world
        .set_recovery_point_creation_date(PRIMARY, "Default", &arn, ten_days_ago)
        .await;
    let point = world
        .primary_backup
        .describe_recovery_point()
        .backup_vault_name("Default")
        .recovery_point_arn(&arn)
        .send()
        .await
        .unwrap();
    let created = point.creation_date().unwrap().as_secs_f64();
    assert!((created - DateTime::from(ten_days_ago).as_secs_f64()).abs() < 1.0);
    let delete_at = point.calculated_lifecycle().unwrap().delete_at().unwrap();
    assert!((delete_at.as_secs_f64() - created - 120.0 * DAY).abs() < 1.0);

    // "DeleteAfterDays … must be at least 90 days after … MoveToColdStorageAfterDays."
    let refused = world
        .primary_backup
        .start_backup_job()
        .backup_vault_name("Default")
        .resource_arn(&efs)
        .iam_role_arn(backup_role(&world.account.id))
        .lifecycle(
            Lifecycle::builder()
                .move_to_cold_storage_after_days(30)
                .delete_after_days(60)
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(refused), "InvalidParameterValueException");
}

/// Five recovery points, MaxResults 2: three pages, NextToken absent on the last; the filters
/// ByResourceType, ByResourceArn, ByCreatedBefore and ByCreatedAfter.
#[tokio::test]
async fn recovery_points_page_and_filter() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let mut arns = Vec::new();
    for i in 0..4 {
        let resource = ec2_instance(&world, &format!("i-{i:017}"));
        arns.push(world.recovery_point(PRIMARY, "Default", &resource).await);
    }
    let volume = format!("arn:aws:ec2:{PRIMARY}:{}:volume/vol-1", world.account.id);
    arns.push(world.recovery_point(PRIMARY, "Default", &volume).await);

    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = world
            .primary_backup
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("Default")
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(
            out.recovery_points()
                .iter()
                .map(|p| p.recovery_point_arn().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    let mut seen: Vec<String> = pages.concat();
    seen.sort();
    let mut expected = arns.clone();
    expected.sort();
    assert_eq!(seen, expected, "every recovery point once");

    let list = |builder: aws_sdk_backup::operation::list_recovery_points_by_backup_vault::builders::ListRecoveryPointsByBackupVaultFluentBuilder| async move {
        builder
            .backup_vault_name("Default")
            .send()
            .await
            .unwrap()
            .recovery_points()
            .iter()
            .map(|p| p.recovery_point_arn().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let client = &world.primary_backup;
    assert_eq!(
        list(
            client
                .list_recovery_points_by_backup_vault()
                .by_resource_type("EBS")
        )
        .await,
        [arns[4].clone()]
    );
    assert_eq!(
        list(
            client
                .list_recovery_points_by_backup_vault()
                .by_resource_arn(ec2_instance(&world, "i-00000000000000002"))
        )
        .await,
        [arns[2].clone()]
    );
    // Back-date one recovery point by ten days: "younger than" bounds split it from the rest.
    let ten_days_ago = SystemTime::now() - Duration::from_secs(10 * 86_400);
    world
        .set_recovery_point_creation_date(PRIMARY, "Default", &arns[0], ten_days_ago)
        .await;
    let five_days_ago = DateTime::from(SystemTime::now() - Duration::from_secs(5 * 86_400));
    assert_eq!(
        list(
            client
                .list_recovery_points_by_backup_vault()
                .by_created_before(five_days_ago)
        )
        .await,
        [arns[0].clone()]
    );
    assert_eq!(
        list(
            client
                .list_recovery_points_by_backup_vault()
                .by_created_after(five_days_ago)
        )
        .await
        .len(),
        4
    );
    let by_resource = client
        .list_recovery_points_by_resource()
        .resource_arn(ec2_instance(&world, "i-00000000000000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_resource.recovery_points().len(), 1);
    assert_eq!(
        by_resource.recovery_points()[0].backup_vault_name(),
        Some("Default"),
        "EC2 recovery points name their vault"
    );
}

/// Errors as the reference names them: an unknown vault, recovery point or job is
/// ResourceNotFoundException; a missing required member MissingParameterValueException; a value
/// outside an enum InvalidParameterValueException.
#[tokio::test]
async fn errors_carry_the_reference_codes() {
    let world = world().await;
    let client = &world.primary_backup;
    let unknown_vault = client
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("nowhere")
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown_vault
            .into_service_error()
            .is_resource_not_found_exception(),
        "modelled error variant"
    );
    assert_eq!(
        code(
            client
                .start_backup_job()
                .backup_vault_name("nowhere")
                .resource_arn(ec2_instance(&world, "i-1"))
                .iam_role_arn(backup_role(&world.account.id))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    world.backup_vault(PRIMARY, "Default").await;
    assert_eq!(
        code(
            client
                .describe_recovery_point()
                .backup_vault_name("Default")
                .recovery_point_arn(format!(
                    "arn:aws:ec2:{PRIMARY}::image/ami-00000000000000000"
                ))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            client
                .describe_copy_job()
                .copy_job_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            client
                .describe_restore_job()
                .restore_job_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    // The SDK sends a request without a required body member; the service refuses it.
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    assert_eq!(
        code(
            client
                .start_copy_job()
                .source_backup_vault_name("Default")
                .recovery_point_arn(&point)
                .destination_backup_vault_arn(format!(
                    "arn:aws:backup:{RECOVERY}:{}:backup-vault:dr",
                    world.account.id
                ))
                .send()
                .await
        ),
        "MissingParameterValueException"
    );
    assert_eq!(
        code(
            client
                .list_copy_jobs()
                .by_state(CopyJobState::from("DONE"))
                .send()
                .await
        ),
        "InvalidParameterValueException"
    );
    assert_eq!(
        code(client.list_copy_jobs().max_results(0).send().await),
        "InvalidParameterValueException"
    );
    assert_eq!(
        code(
            client
                .start_backup_job()
                .backup_vault_name("Default")
                .resource_arn(format!(
                    "arn:aws:ec2:{RECOVERY}:{}:instance/i-1",
                    world.account.id
                ))
                .iam_role_arn(backup_role(&world.account.id))
                .send()
                .await
        ),
        "InvalidParameterValueException",
        "a resource of another Region"
    );
}

/// "Retrying a successful request with the same idempotency token results in a success message
/// with no action taken": the same job id, one job, one copy.
#[tokio::test]
async fn start_copy_job_is_idempotent_by_token() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let destination = world.backup_vault(RECOVERY, "dr").await;
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    let first = copy(&world, &point, &destination, Some("copy-i-1-today")).await;
    let again = copy(&world, &point, &destination, Some("copy-i-1-today")).await;
    assert_eq!(first, again);
    let jobs = world.primary_backup.list_copy_jobs().send().await.unwrap();
    assert_eq!(jobs.copy_jobs().len(), 1);
    assert_eq!(
        recovery_points_in(&world.recovery_backup, "dr").await.len(),
        1
    );
    let other = copy(&world, &point, &destination, Some("copy-i-1-tomorrow")).await;
    assert_ne!(first, other, "another token is another job");
}

/// A completed copy puts a recovery point into the destination vault of the other Region: an
/// AMI of that Region, SourceBackupVaultArn the source vault, the source's CreationDate ("the
/// creation date refers to when the source was created"), the destination vault's key; the
/// copy job names both recovery points.
#[tokio::test]
async fn a_completed_copy_lands_in_the_destination_vault_of_the_other_region() {
    let world = world().await;
    let source_vault = world.backup_vault(PRIMARY, "Default").await;
    let destination = world.backup_vault(RECOVERY, "dr").await;
    let resource = ec2_instance(&world, "i-1");
    let point = world.recovery_point(PRIMARY, "Default", &resource).await;
    let id = copy(&world, &point, &destination, None).await;

    let job = copy_job(&world, &id).await;
    assert_eq!(job.state(), Some(&CopyJobState::Completed));
    assert_eq!(job.source_recovery_point_arn(), Some(point.as_str()));
    assert_eq!(job.source_backup_vault_arn(), Some(source_vault.as_str()));
    assert_eq!(
        job.destination_backup_vault_arn(),
        Some(destination.as_str())
    );
    assert_eq!(job.resource_arn(), Some(resource.as_str()));
    assert_eq!(job.resource_type(), Some("EC2"));
    assert!(job.completion_date().is_some());
    let copied = job.destination_recovery_point_arn().unwrap();
    assert!(
        copied.starts_with(&format!("arn:aws:ec2:{RECOVERY}::image/ami-")),
        "{copied}"
    );

    let there = recovery_points_in(&world.recovery_backup, "dr").await;
    assert_eq!(there.len(), 1);
    let copy_point = &there[0];
    assert_eq!(copy_point.recovery_point_arn(), Some(copied));
    assert_eq!(
        copy_point.source_backup_vault_arn(),
        Some(source_vault.as_str())
    );
    assert_eq!(copy_point.resource_arn(), Some(resource.as_str()));
    assert!(
        copy_point
            .encryption_key_arn()
            .is_some_and(|k| k.starts_with(&format!("arn:aws:kms:{RECOVERY}:"))),
        "{:?}",
        copy_point.encryption_key_arn()
    );
    let source = world
        .primary_backup
        .describe_recovery_point()
        .backup_vault_name("Default")
        .recovery_point_arn(&point)
        .send()
        .await
        .unwrap();
    assert_eq!(copy_point.creation_date(), source.creation_date());
    assert!(
        recovery_points_in(&world.primary_backup, "Default")
            .await
            .len()
            == 1,
        "the source stays"
    );
}

/// A cross-account copy lands in the other account's vault. RDS and Aurora cannot copy across
/// Region and account in one step: the copy job fails, saying so.
#[tokio::test]
async fn a_cross_account_copy_lands_in_the_other_accounts_vault() {
    let world = world().await;
    let central = World::new(Emulator::shared().new_account().await);
    world.backup_vault(PRIMARY, "Default").await;
    let same_region = central.backup_vault(PRIMARY, "central").await;
    let other_region = central.backup_vault(RECOVERY, "central").await;
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    let id = copy(&world, &point, &same_region, None).await;
    assert_eq!(
        copy_job(&world, &id).await.state(),
        Some(&CopyJobState::Completed)
    );
    let landed = recovery_points_in(&central.primary_backup, "central").await;
    assert_eq!(landed.len(), 1);
    assert_eq!(
        landed[0].resource_arn(),
        Some(ec2_instance(&world, "i-1").as_str())
    );
    assert!(
        recovery_points_in(&world.primary_backup, "Default")
            .await
            .len()
            == 1
    );

    world.db_instance("orders", None, &[]).await;
    let db = format!("arn:aws:rds:{PRIMARY}:{}:db:orders", world.account.id);
    let snapshot = world.recovery_point(PRIMARY, "Default", &db).await;
    let id = copy(&world, &snapshot, &other_region, None).await;
    let job = copy_job(&world, &id).await;
    assert_eq!(job.state(), Some(&CopyJobState::Failed));
    assert!(
        job.status_message()
            .is_some_and(|m| m.contains("cross-Region and cross-account")),
        "{:?}",
        job.status_message()
    );
    assert!(
        recovery_points_in(&central.recovery_backup, "central")
            .await
            .is_empty()
    );
    // One step at a time works: cross-account in the same Region.
    let id = copy(&world, &snapshot, &same_region, None).await;
    let job = copy_job(&world, &id).await;
    assert_eq!(job.state(), Some(&CopyJobState::Completed));
    assert!(
        job.destination_recovery_point_arn()
            .unwrap()
            .starts_with(&format!(
                "arn:aws:rds:{PRIMARY}:{}:snapshot:awsbackup:copyjob-",
                central.account.id
            ))
    );
}

/// A copy to a vault that does not exist, and a cross-Region copy of a recovery point in cold
/// storage, fail as jobs (FAILED, with a StatusMessage), leaving nothing in the destination.
#[tokio::test]
async fn impossible_copies_fail_as_jobs() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let destination = world.backup_vault(RECOVERY, "dr").await;
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    let missing = format!(
        "arn:aws:backup:{RECOVERY}:{}:backup-vault:gone",
        world.account.id
    );
    let job = copy_job(&world, &copy(&world, &point, &missing, None).await).await;
    assert_eq!(job.state(), Some(&CopyJobState::Failed));
    assert!(
        job.status_message().is_some_and(|m| m.contains("gone")),
        "{:?}",
        job.status_message()
    );
    assert!(job.destination_recovery_point_arn().is_none());

    world
        .move_recovery_point_to_cold(PRIMARY, "Default", &point)
        .await;
    let job = copy_job(&world, &copy(&world, &point, &destination, None).await).await;
    assert_eq!(job.state(), Some(&CopyJobState::Failed));
    assert!(job.status_message().is_some_and(|m| m.contains("cold")));
    assert!(
        recovery_points_in(&world.recovery_backup, "dr")
            .await
            .is_empty()
    );
}

/// Jobs complete at once unless held: a held copy stays CREATED (nothing in the destination),
/// moves to RUNNING, and completes when released; a failed one is FAILED with the message; the
/// behaviour applies to `count` jobs only; a finished job cannot be moved again; the control
/// API refuses states the job's enum lacks (copy jobs have no ABORTED).
#[tokio::test]
async fn held_and_failed_jobs_follow_the_control_api() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let destination = world.backup_vault(RECOVERY, "dr").await;
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;

    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Copy, "CREATED", None, 1)
        .await;
    let held = copy(&world, &point, &destination, None).await;
    let job = copy_job(&world, &held).await;
    assert_eq!(job.state(), Some(&CopyJobState::Created));
    assert!(job.completion_date().is_none());
    assert!(job.destination_recovery_point_arn().is_none());
    assert!(
        recovery_points_in(&world.recovery_backup, "dr")
            .await
            .is_empty()
    );
    let next = copy(&world, &point, &destination, None).await;
    assert_eq!(
        copy_job(&world, &next).await.state(),
        Some(&CopyJobState::Completed),
        "count 1"
    );

    world
        .set_backup_job_state(&held, "RUNNING", None)
        .await
        .unwrap();
    assert_eq!(
        copy_job(&world, &held).await.state(),
        Some(&CopyJobState::Running)
    );
    world.complete_backup_job(&held).await.unwrap();
    let job = copy_job(&world, &held).await;
    assert_eq!(job.state(), Some(&CopyJobState::Completed));
    assert!(job.destination_recovery_point_arn().is_some());
    assert_eq!(
        recovery_points_in(&world.recovery_backup, "dr").await.len(),
        2
    );
    assert!(
        world.complete_backup_job(&held).await.is_err(),
        "already over"
    );

    world
        .hold_backup_jobs(
            PRIMARY,
            BackupJobKind::Copy,
            "FAILED",
            Some("Access denied to the destination vault"),
            2,
        )
        .await;
    for _ in 0..2 {
        let job = copy_job(&world, &copy(&world, &point, &destination, None).await).await;
        assert_eq!(job.state(), Some(&CopyJobState::Failed));
        assert_eq!(
            job.status_message(),
            Some("Access denied to the destination vault")
        );
        assert!(job.completion_date().is_some());
    }
    assert_eq!(
        recovery_points_in(&world.recovery_backup, "dr").await.len(),
        2
    );

    // A held backup job: RUNNING, with no recovery point until it completes.
    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Backup, "RUNNING", None, 1)
        .await;
    let backup = world
        .backup_job(PRIMARY, "Default", &ec2_instance(&world, "i-2"))
        .await;
    let state = |id: String| {
        let client = world.primary_backup.clone();
        async move {
            client
                .describe_backup_job()
                .backup_job_id(id)
                .send()
                .await
                .unwrap()
                .state
                .unwrap()
        }
    };
    assert_eq!(state(backup.clone()).await, BackupJobState::Running);
    assert_eq!(
        recovery_points_in(&world.primary_backup, "Default")
            .await
            .len(),
        1
    );
    world.complete_backup_job(&backup).await.unwrap();
    assert_eq!(state(backup).await, BackupJobState::Completed);
    assert_eq!(
        recovery_points_in(&world.primary_backup, "Default")
            .await
            .len(),
        2
    );

    let refused = world
        .try_hold_backup_jobs(PRIMARY, BackupJobKind::Copy, "ABORTED", None, 1)
        .await
        .unwrap_err();
    assert!(refused.contains("400"), "{refused}");
}

/// ListCopyJobs' filters: ByState, ByDestinationVaultArn, ByResourceType, ByResourceArn,
/// ByCreatedAfter/Before, ByAccountId; and paging.
#[tokio::test]
async fn list_copy_jobs_filters() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let dr = world.backup_vault(RECOVERY, "dr").await;
    let archive = world.backup_vault(RECOVERY, "archive").await;
    let ec2 = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    let volume = format!("arn:aws:ec2:{PRIMARY}:{}:volume/vol-1", world.account.id);
    let ebs = world.recovery_point(PRIMARY, "Default", &volume).await;
    copy(&world, &ec2, &dr, None).await;
    copy(&world, &ebs, &dr, None).await;
    copy(&world, &ebs, &archive, None).await;
    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Copy, "RUNNING", None, 1)
        .await;
    copy(&world, &ec2, &archive, None).await;

    let client = &world.primary_backup;
    let count =
        |b: aws_sdk_backup::operation::list_copy_jobs::builders::ListCopyJobsFluentBuilder| async move {
            b.send().await.unwrap().copy_jobs().len()
        };
    assert_eq!(count(client.list_copy_jobs()).await, 4);
    assert_eq!(
        count(client.list_copy_jobs().by_state(CopyJobState::Completed)).await,
        3
    );
    assert_eq!(
        count(client.list_copy_jobs().by_state(CopyJobState::Running)).await,
        1
    );
    assert_eq!(
        count(client.list_copy_jobs().by_destination_vault_arn(&archive)).await,
        2
    );
    assert_eq!(
        count(client.list_copy_jobs().by_resource_type("EBS")).await,
        2
    );
    assert_eq!(
        count(client.list_copy_jobs().by_resource_arn(&volume)).await,
        2
    );
    assert_eq!(
        count(client.list_copy_jobs().by_account_id(&world.account.id)).await,
        4
    );
    assert_eq!(
        count(client.list_copy_jobs().by_account_id("000000000000")).await,
        0
    );
    let hour = Duration::from_secs(3600);
    let future = DateTime::from(SystemTime::now() + hour);
    let past = DateTime::from(SystemTime::now() - hour);
    assert_eq!(
        count(client.list_copy_jobs().by_created_after(future)).await,
        0
    );
    assert_eq!(
        count(client.list_copy_jobs().by_created_after(past)).await,
        4
    );
    assert_eq!(
        count(client.list_copy_jobs().by_created_before(past)).await,
        0
    );
    assert_eq!(
        count(
            client
                .list_copy_jobs()
                .by_state(CopyJobState::Completed)
                .by_destination_vault_arn(&dr)
        )
        .await,
        2
    );
    let first = client.list_copy_jobs().max_results(3).send().await.unwrap();
    assert_eq!(first.copy_jobs().len(), 3);
    let rest = client
        .list_copy_jobs()
        .max_results(3)
        .next_token(first.next_token().expect("a second page"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.copy_jobs().len(), 1);
    assert!(rest.next_token().is_none());
    // Copy jobs belong to the source Region: the destination Region lists none.
    assert_eq!(count(world.recovery_backup.list_copy_jobs()).await, 0);
}

/// A restore of an RDS recovery point creates the DB instance in RDS (from the Metadata: the
/// new DBInstanceIdentifier) and names it in CreatedResourceArn; the restore metadata describes
/// the source; a restore whose identifier is taken fails with RDS's message. A copy restores in
/// the recovery Region.
#[tokio::test]
async fn restoring_an_rds_recovery_point_creates_the_instance() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let dr = world.backup_vault(RECOVERY, "dr").await;
    world.db_instance("orders", None, &[]).await;
    let db = format!("arn:aws:rds:{PRIMARY}:{}:db:orders", world.account.id);
    let point = world.recovery_point(PRIMARY, "Default", &db).await;

    let metadata = world
        .primary_backup
        .get_recovery_point_restore_metadata()
        .backup_vault_name("Default")
        .recovery_point_arn(&point)
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.resource_type(), Some("RDS"));
    let mut restore = metadata.restore_metadata().cloned().unwrap();
    assert_eq!(
        restore.get("DBInstanceIdentifier").map(String::as_str),
        Some("orders")
    );
    assert_eq!(restore.get("Engine").map(String::as_str), Some("postgres"));

    // The metadata as it came: the identifier is taken, so RDS refuses and the job fails.
    let taken = world
        .primary_backup
        .start_restore_job()
        .recovery_point_arn(&point)
        .set_metadata(Some(restore.clone()))
        .iam_role_arn(backup_role(&world.account.id))
        .send()
        .await
        .unwrap();
    let job = world
        .primary_backup
        .describe_restore_job()
        .restore_job_id(taken.restore_job_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(job.status(), Some(&RestoreJobStatus::Failed));
    assert!(job.status_message().is_some_and(|m| !m.is_empty()));
    assert!(job.created_resource_arn().is_none());

    restore.insert("DBInstanceIdentifier".into(), "orders-restored".into());
    let started = world
        .primary_backup
        .start_restore_job()
        .recovery_point_arn(&point)
        .set_metadata(Some(restore.clone()))
        .iam_role_arn(backup_role(&world.account.id))
        .resource_type("RDS")
        .send()
        .await
        .unwrap();
    let job = world
        .primary_backup
        .describe_restore_job()
        .restore_job_id(started.restore_job_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        job.status(),
        Some(&RestoreJobStatus::Completed),
        "{:?}",
        job.status_message()
    );
    assert_eq!(job.recovery_point_arn(), Some(point.as_str()));
    assert_eq!(job.source_resource_arn(), Some(db.as_str()));
    assert_eq!(
        job.created_resource_arn(),
        Some(
            format!(
                "arn:aws:rds:{PRIMARY}:{}:db:orders-restored",
                world.account.id
            )
            .as_str()
        )
    );
    let restored = world
        .primary_rds
        .describe_db_instances()
        .db_instance_identifier("orders-restored")
        .send()
        .await
        .unwrap();
    assert_eq!(restored.db_instances()[0].engine(), Some("postgres"));

    // The copy in the recovery Region restores there.
    let copied = copy_job(&world, &copy(&world, &point, &dr, None).await)
        .await
        .destination_recovery_point_arn()
        .unwrap()
        .to_owned();
    restore.insert("DBInstanceIdentifier".into(), "orders-dr".into());
    restore.remove("AvailabilityZone");
    let started = world
        .recovery_backup
        .start_restore_job()
        .recovery_point_arn(&copied)
        .set_metadata(Some(restore))
        .iam_role_arn(backup_role(&world.account.id))
        .send()
        .await
        .unwrap();
    let job = world
        .recovery_backup
        .describe_restore_job()
        .restore_job_id(started.restore_job_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        job.status(),
        Some(&RestoreJobStatus::Completed),
        "{:?}",
        job.status_message()
    );
    let dr_instances = world
        .recovery_rds
        .describe_db_instances()
        .send()
        .await
        .unwrap();
    assert!(
        dr_instances
            .db_instances()
            .iter()
            .any(|d| d.db_instance_identifier() == Some("orders-dr"))
    );
}

/// PutRestoreValidationResult: recorded on the restore job (ValidationStatus and its message);
/// "once a validation status is set, it cannot be changed"; a held (PENDING) restore cannot be
/// validated yet; an unknown job is ResourceNotFoundException.
#[tokio::test]
async fn a_restore_validation_result_is_set_once() {
    let world = world().await;
    world.backup_vault(PRIMARY, "Default").await;
    let point = world
        .recovery_point(PRIMARY, "Default", &ec2_instance(&world, "i-1"))
        .await;
    let start = || {
        world
            .primary_backup
            .start_restore_job()
            .recovery_point_arn(&point)
            .metadata("InstanceType", "t3.micro")
            .iam_role_arn(backup_role(&world.account.id))
            .send()
    };
    let id = start().await.unwrap().restore_job_id.unwrap();
    let client = &world.primary_backup;
    let job = client
        .describe_restore_job()
        .restore_job_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(job.status(), Some(&RestoreJobStatus::Completed));
    assert!(job.validation_status().is_none());
    assert!(
        job.created_resource_arn()
            .is_some_and(|a| a.starts_with(&format!(
                "arn:aws:ec2:{PRIMARY}:{}:instance/i-",
                world.account.id
            )))
    );

    client
        .put_restore_validation_result()
        .restore_job_id(&id)
        .validation_status("SUCCESSFUL".into())
        .validation_status_message("12 rows in shipments")
        .send()
        .await
        .unwrap();
    let job = client
        .describe_restore_job()
        .restore_job_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        job.validation_status().map(|s| s.as_str()),
        Some("SUCCESSFUL")
    );
    assert_eq!(
        job.validation_status_message(),
        Some("12 rows in shipments")
    );
    let again = client
        .put_restore_validation_result()
        .restore_job_id(&id)
        .validation_status("FAILED".into())
        .send()
        .await;
    assert_eq!(code(again), "InvalidRequestException");
    let job = client
        .describe_restore_job()
        .restore_job_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        job.validation_status().map(|s| s.as_str()),
        Some("SUCCESSFUL"),
        "unchanged"
    );

    world
        .hold_backup_jobs(PRIMARY, BackupJobKind::Restore, "PENDING", None, 1)
        .await;
    let pending = start().await.unwrap().restore_job_id.unwrap();
    let job = client
        .describe_restore_job()
        .restore_job_id(&pending)
        .send()
        .await
        .unwrap();
    assert_eq!(job.status(), Some(&RestoreJobStatus::Pending));
    let early = client
        .put_restore_validation_result()
        .restore_job_id(&pending)
        .validation_status("VALIDATING".into())
        .send()
        .await;
    assert_eq!(code(early), "InvalidRequestException");

    let unknown = client
        .put_restore_validation_result()
        .restore_job_id("00000000-0000-0000-0000-000000000000")
        .validation_status("SUCCESSFUL".into())
        .send()
        .await;
    assert_eq!(code(unknown), "ResourceNotFoundException");
}
