//! The restore verification in `template.yaml`, checked offline like the copy functions
//! (`template.rs`; the loader and the evaluators are `lifeboat_tests::template`):
//!
//! - the `verify-restore` function exists exactly when the VPC parameters are given, and a
//!   deployment giving only one of them is refused;
//! - it runs like the copy functions, in the VPC, without reserved concurrency, ticking often;
//! - its rules, on the recovery Region's default bus, evaluated against AWS's payloads in
//!   `events/`: a verification's own RDS resources and completed AWS Backup restore tests only,
//!   each read by the task as what it acts on;
//! - its role, *evaluated*: what a run does is allowed, with the identifiers and tags the shared
//!   code gives what it creates and the keys it writes; restores outside Lifeboat's names or
//!   tags, changes and deletes of anything not the plan's verify resources (a production database,
//!   another plan's, AWS Backup's restore tests), and anything in the primary Region are not;
//!   every action exists and names resources of the types the service authorization reference
//!   gives it;
//! - its alarms, evaluated over their periods and against the metrics a finished run publishes:
//!   a failed verification, no verification succeeded within `VerifySuccessWithinHours`, the
//!   function's errors and its failure queue.

use lifeboat_shared::bucket::keys;
use lifeboat_shared::copies::{VERIFY_IDENTIFIER_PREFIX, tags, target_identifier};
use lifeboat_shared::metrics::NAMESPACE;
use lifeboat_shared::plan::Plan;
use lifeboat_shared::record::{Report, RunHeader};
use lifeboat_shared::state::lease_name;
use lifeboat_shared::tasks::VERIFY_RESTORE;
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::verify::{
    Figures, Verdict, VerifyReport, VerifyRun, identifiers, run_tags, verify_tags,
};
use lifeboat_tests::template::{
    ACCOUNT, Alarm, ExpectedAlarm, PLAN, PRIMARY, Policy, RECOVERY, Request, STATE_BUCKET,
    VERIFY_SECURITY_GROUPS, VERIFY_SUBNETS, assert_gated,
    assert_grants_exactly_on_resources_of_their_types, assert_runs_like_the_copy_function,
    assert_ticks_and_listens_on_the_default_bus, check_alarm, condition_holds, deployment,
    event_fixture, function, function_alarms, load, notifications_topic, pattern_matches,
    plan_and_task, published_for_alarm, rds_arn, resolve, resources_of_type, rule_holds,
};
use lifeboat_tests::venv::workspace_root;
use serde_json::Value;
use time::macros::datetime;

const FUNCTION: &str = "VerifyRestoreFunction";
const CONDITION: &str = "VerifyRestore";
/// The tag AWS Backup puts on what a restore testing job restores.
const RESTORE_TEST_TAG: &str = "awsbackup-restore-test";

/// Everything the role grants, and nothing else: the calls the verification makes.
const ACTIONS: [&str; 26] = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBClusterSnapshots",
    "rds:RestoreDBInstanceFromDBSnapshot",
    "rds:RestoreDBClusterFromSnapshot",
    "rds:CreateDBInstance",
    "rds:AddTagsToResource",
    "rds:ModifyDBInstance",
    "rds:ModifyDBCluster",
    "rds:DeleteDBInstance",
    "rds:DeleteDBCluster",
    "backup:DescribeRestoreJob",
    "backup:ListRestoreJobs",
    "backup:PutRestoreValidationResult",
    "backup:ListRecoveryPointsByBackupVault",
    "backup:StartRestoreJob",
    "iam:PassRole",
    "kms:CreateGrant",
    "kms:DescribeKey",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "events:PutEvents",
    "sts:GetCallerIdentity",
];

fn policy() -> Policy {
    Policy::of_function(FUNCTION)
}

/// One run of the example plan's `[[verify]]` job, as the shared code names and tags it.
struct Run {
    plan: Plan,
    job: String,
    run_id: String,
    /// The restored (or added) DB instance and the restored cluster.
    instance: String,
    cluster: String,
    tags: Vec<(String, String)>,
}

impl Run {
    fn new() -> Self {
        let plan = Plan::from_file(&workspace_root().join("examples/tracking.toml"))
            .expect("examples/tracking.toml is a valid plan");
        assert_eq!(plan.name, PLAN);
        assert_eq!(plan.state_bucket, STATE_BUCKET);
        assert_eq!(plan.recovery_region.to_string(), RECOVERY);
        let job = plan
            .verify
            .first()
            .expect("the example has a [[verify]] job");
        let now = datetime!(2026-11-26 07:00 UTC);
        let header = RunHeader::start(VERIFY_RESTORE, &plan, "schedule", false, now);
        let run = VerifyRun::start(&header.run_id, &plan.name, &job.name, now);
        let (cluster, instance) = identifiers(&job.name, &header.run_id);
        let tags = run_tags(&plan.name, job, &run, now)
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Run {
            job: job.name.clone(),
            run_id: header.run_id,
            instance,
            cluster,
            tags,
            plan,
        }
    }

    fn tags(&self) -> Vec<(&str, &str)> {
        self.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The same tags, claiming the plan `plan`.
    fn tags_of_plan<'a>(&'a self, plan: &'a str) -> Vec<(&'a str, &'a str)> {
        self.tags()
            .into_iter()
            .map(|(k, v)| if k == tags::PLAN { (k, plan) } else { (k, v) })
            .collect()
    }

    fn header(&self) -> RunHeader {
        let mut header = RunHeader::start(
            VERIFY_RESTORE,
            &self.plan,
            "schedule",
            false,
            datetime!(2026-11-26 07:00 UTC),
        );
        header.run_id = self.run_id.clone();
        header
    }
}

/// The ARN of the recovery-Region copy of a primary-Region snapshot, as the copy task names it.
fn copy_arn(kind: &str, source_id: &str) -> String {
    let source = rds_arn(PRIMARY, kind, source_id);
    rds_arn(RECOVERY, kind, &target_identifier(&source, source_id))
}

/// Tags, as (key, value).
type Tags<'a> = [(&'a str, &'a str)];

fn request<'a>(
    action: &'a str,
    resource: &'a str,
    request_tags: &'a [(&'a str, &'a str)],
    resource_tags: &'a [(&'a str, &'a str)],
) -> Request<'a> {
    Request {
        action,
        resource,
        request_tags,
        resource_tags,
        context: &[],
    }
}

// ---------------------------------------------------------------------------------------------
// When it exists, and how it runs.
// ---------------------------------------------------------------------------------------------

/// No subnets and security groups (the defaults): no verification. Both: all of it. One without
/// the other: CloudFormation refuses the deployment (rather than silently deploying nothing).
#[test]
fn the_verification_exists_exactly_when_subnets_and_security_groups_are_given() {
    let template = load("template.yaml");
    for parameter in ["VerifySubnetIds", "VerifySecurityGroupIds"] {
        assert_eq!(
            template["Parameters"][parameter]["Default"], "",
            "{parameter}"
        );
        assert_eq!(
            template["Parameters"][parameter]["Type"], "CommaDelimitedList",
            "{parameter}"
        );
    }
    let condition = &template["Conditions"][CONDITION];
    for (subnets, groups, exists, accepted) in [
        ("", "", false, true),
        (VERIFY_SUBNETS, VERIFY_SECURITY_GROUPS, true, true),
        (VERIFY_SUBNETS, "", false, false),
        ("", VERIFY_SECURITY_GROUPS, false, false),
    ] {
        let mut params = deployment();
        params.insert("VerifySubnetIds", subnets.to_owned());
        params.insert("VerifySecurityGroupIds", groups.to_owned());
        let what = format!("VerifySubnetIds={subnets:?} VerifySecurityGroupIds={groups:?}");
        assert_eq!(
            condition_holds(&template, condition, &params),
            exists,
            "{what}"
        );
        assert_eq!(
            rule_holds(&template, "VerifySubnetsAndSecurityGroupsTogether", &params),
            accepted,
            "{what}"
        );
    }

    let conditional = assert_gated(&template, CONDITION, &[FUNCTION, "VerifyRestoreFailures"]);
    for name in [
        "VerifyRestoreErrorsAlarm",
        "VerifyRestoreFailuresQueueAlarm",
        "VerifyRestoreFunctionArn",
        "VerifyRestoreFailuresQueueUrl",
    ] {
        assert!(
            conditional.contains(&name.to_owned()),
            "{name}: {conditional:?}"
        );
    }
    for alarm in ["VerificationFailedAlarm", "NoVerificationSucceededAlarm"] {
        assert_eq!(
            template["Resources"][alarm]["Condition"], CONDITION,
            "{alarm}: no verification, no verified run: without the condition it would alarm"
        );
    }
}

#[test]
fn template_declares_the_verify_function_as_documented() {
    let template = load("template.yaml");
    assert_eq!(function(&template, FUNCTION)["Condition"], CONDITION);
    let properties = assert_runs_like_the_copy_function(
        &template,
        FUNCTION,
        "verify-restore",
        "VerifyRestoreFailures",
    );
    assert_eq!(
        properties["Timeout"], 900,
        "Lambda's maximum, like the others"
    );
    assert!(
        properties.get("ReservedConcurrentExecutions").is_none(),
        "jobs advance in parallel, each under its own lease: no reserved concurrency"
    );
    assert_eq!(
        properties["VpcConfig"],
        serde_json::json!({
            "SubnetIds": {"Ref": "VerifySubnetIds"},
            "SecurityGroupIds": {"Ref": "VerifySecurityGroupIds"},
        }),
        "in the isolated subnets' VPC, to reach the restored databases"
    );

    // A frequent tick, and two rules on this Region's default bus (no EventBusName).
    assert_ticks_and_listens_on_the_default_bus(
        &template,
        properties,
        "VerifyScheduleExpression",
        "rate(15 minutes)",
        &["RestoreTestCompleted", "VerificationResourceEvent"],
    );
}

/// The RDS rule takes the events of what a verification creates (named by `identifiers`), and
/// nothing about another database; the AWS Backup rule takes completed restore *testing* jobs
/// only. Evaluated against AWS's payloads in `events/`.
#[test]
fn verify_rules_match_only_verifications_and_completed_restore_tests() {
    let template = load("template.yaml");
    let events = &function(&template, FUNCTION)["Properties"]["Events"];
    let rds_rule = &events["VerificationResourceEvent"]["Properties"]["Pattern"];
    let backup_rule = &events["RestoreTestCompleted"]["Properties"]["Pattern"];

    // The prefix is what every identifier a run gives its restores begins with.
    let prefix = rds_rule["detail"]["SourceIdentifier"][0]["prefix"]
        .as_str()
        .expect("a prefix match on detail.SourceIdentifier");
    assert_eq!(prefix, VERIFY_IDENTIFIER_PREFIX);
    let run = Run::new();
    for id in [&run.instance, &run.cluster] {
        assert!(id.starts_with(prefix), "{id} does not begin with {prefix}");
    }

    let instance = event_fixture("rds-verify-instance-event.json");
    let cluster = event_fixture("rds-verify-cluster-event.json");
    let restore_test = event_fixture("backup-restore-test-completed.json");
    let mut cases: Vec<(String, Value, bool, bool)> = vec![
        (
            "a verify instance's event".into(),
            instance.clone(),
            true,
            false,
        ),
        (
            "a verify cluster's event".into(),
            cluster.clone(),
            true,
            false,
        ),
        (
            "a restore test COMPLETED".into(),
            restore_test.clone(),
            false,
            true,
        ),
    ];
    let mut production = instance.clone();
    production["detail"]["SourceIdentifier"] = "orders".into();
    cases.push(("the production DB's event".into(), production, false, false));
    let mut containing = cluster.clone();
    containing["detail"]["SourceIdentifier"] = "orders-lifeboat-verify-1".into();
    cases.push((
        "an identifier with lifeboat-verify- inside".into(),
        containing,
        false,
        false,
    ));
    let mut other_source = instance.clone();
    other_source["source"] = "lifeboat".into();
    cases.push(("another source".into(), other_source, false, false));
    let mut not_a_test = restore_test.clone();
    not_a_test["detail"]
        .as_object_mut()
        .expect("detail")
        .remove("restoreTestingPlanArn");
    cases.push((
        "a restore job that is not a test".into(),
        not_a_test,
        false,
        false,
    ));
    for status in ["PENDING", "RUNNING", "FAILED", "ABORTED"] {
        let mut event = restore_test.clone();
        event["detail"]["status"] = status.into();
        cases.push((format!("a restore test {status}"), event, false, false));
    }
    for name in [
        "rds-db-instance-event.json",
        "rds-snapshot-created.json",
        "rds-cluster-snapshot-created.json",
        "backup-job-completed.json",
        "copy-job-failed.json",
        "schedule.json",
        "cloudwatch-alarm-state-change.json",
    ] {
        cases.push((name.into(), event_fixture(name), false, false));
    }
    for (what, event, by_rds_rule, by_backup_rule) in cases {
        assert_eq!(
            pattern_matches(rds_rule, &event),
            by_rds_rule,
            "{what}: VerificationResourceEvent {rds_rule}"
        );
        assert_eq!(
            pattern_matches(backup_rule, &event),
            by_backup_rule,
            "{what}: RestoreTestCompleted {backup_rule}"
        );
        // What reaches the function is what the task acts on, not what it ignores.
        if by_rds_rule || by_backup_rule {
            let trigger = Trigger::from_event(&event).unwrap_or_else(|e| panic!("{what}: {e}"));
            let acted_on = match &trigger {
                Trigger::VerificationResourceChanged { .. } => by_rds_rule,
                Trigger::RestoreJobCompleted {
                    restore_testing_plan_arn,
                    ..
                } => by_backup_rule && restore_testing_plan_arn.is_some(),
                _ => false,
            };
            assert!(
                acted_on,
                "{what} reaches the function but reads as {trigger:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The role, evaluated.
// ---------------------------------------------------------------------------------------------

/// What a verification does, allowed: find the copies and what it created, restore the plan's
/// copy into its verify names with its tags (and an instance into the restored cluster, or into
/// a cluster an AWS Backup restore test made), set the password, delete what it created,
/// validate a restore test, keep its run, lease and records, publish its events.
#[test]
fn verify_role_allows_what_a_verification_does() {
    let policy = policy();
    let run = Run::new();
    let run_tags = run.tags();
    let plan_copy = [(tags::PLAN, PLAN)];
    let test_tag = [(RESTORE_TEST_TAG, "tracking_daily")];
    let instance = rds_arn(RECOVERY, "db", &run.instance);
    let cluster = rds_arn(RECOVERY, "cluster", &run.cluster);
    let test_instance = rds_arn(RECOVERY, "db", "awsbackup-restore-test-orders-7f3a9c");
    let test_cluster = rds_arn(RECOVERY, "cluster", "awsbackup-restore-test-phoenix-1c2d3e");
    let snapshot = copy_arn("snapshot", "rds:orders-2026-11-25-03-10");
    let cluster_snapshot = copy_arn("cluster-snapshot", "rds:phoenix-aurora-2026-11-25-03-10");
    let job = &run.plan.verify[0];
    let subnet_group = rds_arn(RECOVERY, "subgrp", &job.subnet_group);
    let option_group = rds_arn(RECOVERY, "og", "sqlserver-tde-dr");
    let cluster_parameters = rds_arn(RECOVERY, "cluster-pg", "default.aurora-mysql8.0");

    let mut allowed: Vec<(&str, String, &Tags, &Tags)> = Vec::new();
    for (action, kind) in [
        ("rds:DescribeDBInstances", "db"),
        ("rds:DescribeDBClusters", "cluster"),
        ("rds:DescribeDBSnapshots", "snapshot"),
        ("rds:DescribeDBClusterSnapshots", "cluster-snapshot"),
    ] {
        // Listing (the sweep, the candidates) and one resource (what the run created).
        allowed.push((action, rds_arn(RECOVERY, kind, "*"), &[], &[]));
    }
    allowed.push(("rds:DescribeDBInstances", instance.clone(), &[], &[]));
    allowed.push(("rds:DescribeDBClusters", cluster.clone(), &[], &[]));
    // An instance restored from a DB snapshot copy.
    let restore = "rds:RestoreDBInstanceFromDBSnapshot";
    allowed.push((restore, snapshot, &[], &plan_copy));
    allowed.push((restore, instance.clone(), &run_tags, &[]));
    allowed.push((restore, subnet_group.clone(), &run_tags, &[]));
    allowed.push((restore, option_group, &run_tags, &[]));
    // An Aurora cluster restored from a cluster snapshot copy, and its instance.
    let restore = "rds:RestoreDBClusterFromSnapshot";
    allowed.push((restore, cluster_snapshot, &[], &plan_copy));
    allowed.push((restore, cluster.clone(), &run_tags, &[]));
    allowed.push((restore, subnet_group, &run_tags, &[]));
    allowed.push((restore, cluster_parameters, &run_tags, &[]));
    allowed.push(("rds:CreateDBInstance", instance.clone(), &run_tags, &[]));
    allowed.push((
        "rds:CreateDBInstance",
        cluster.clone(),
        &run_tags,
        &run_tags,
    ));
    allowed.push((
        "rds:CreateDBInstance",
        test_cluster.clone(),
        &run_tags,
        &test_tag,
    ));
    // Tag-on-create of both.
    for resource in [&instance, &cluster] {
        allowed.push(("rds:AddTagsToResource", resource.clone(), &run_tags, &[]));
    }
    // The fresh password, its own and AWS Backup's restore tests'.
    for (action, own, test) in [
        ("rds:ModifyDBInstance", &instance, &test_instance),
        ("rds:ModifyDBCluster", &cluster, &test_cluster),
    ] {
        allowed.push((action, own.clone(), &[], &run_tags));
        allowed.push((action, test.clone(), &[], &test_tag));
    }
    // Clean up.
    allowed.push(("rds:DeleteDBInstance", instance, &[], &run_tags));
    allowed.push(("rds:DeleteDBCluster", cluster, &[], &run_tags));
    for action in [
        "backup:DescribeRestoreJob",
        "backup:ListRestoreJobs",
        "backup:PutRestoreValidationResult",
        "sts:GetCallerIdentity",
    ] {
        allowed.push((action, "*".into(), &[], &[]));
    }
    // A recovery point of the vault, restored by AWS Backup with the restore role.
    allowed.push((
        "backup:ListRecoveryPointsByBackupVault",
        format!("arn:aws:backup:{RECOVERY}:{ACCOUNT}:backup-vault:dr"),
        &[],
        &[],
    ));
    for (action, resource, request_tags, resource_tags) in &allowed {
        assert!(
            policy.allows(&request(action, resource, request_tags, resource_tags)),
            "{action} on {resource} (request tags {request_tags:?}, resource tags \
             {resource_tags:?}) must be allowed: a verification does it"
        );
    }

    // The restore job, in the recovery Region only, with the one restore role, to AWS Backup only.
    let here = [("aws:RequestedRegion", RECOVERY)];
    let there = [("aws:RequestedRegion", PRIMARY)];
    assert!(policy.allows(&Request::with_context("backup:StartRestoreJob", "*", &here)));
    assert!(!policy.allows(&Request::with_context(
        "backup:StartRestoreJob",
        "*",
        &there
    )));
    let restore_role =
        format!("arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole");
    let to_backup = [("iam:PassedToService", "backup.amazonaws.com")];
    let to_ec2 = [("iam:PassedToService", "ec2.amazonaws.com")];
    assert!(policy.allows(&Request::with_context(
        "iam:PassRole",
        &restore_role,
        &to_backup
    )));
    assert!(!policy.allows(&Request::with_context(
        "iam:PassRole",
        &restore_role,
        &to_ec2
    )));
    let admin = format!("arn:aws:iam::{ACCOUNT}:role/Admin");
    assert!(!policy.allows(&Request::with_context("iam:PassRole", &admin, &to_backup)));

    // KMS, only through RDS in the recovery Region (an encrypted copy's key).
    let key = format!("arn:aws:kms:{RECOVERY}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let via_rds = [("kms:ViaService", "rds.us-east-2.amazonaws.com")];
    for action in ["kms:CreateGrant", "kms:DescribeKey"] {
        assert!(policy.allows(&Request::with_context(action, &key, &via_rds)));
        assert!(
            !policy.allows(&request(action, &key, &[], &[])),
            "{action} directly, not through RDS, must be denied"
        );
    }

    // The state bucket: the run in progress, the job's lease and a restore test's, the records.
    let bucket = format!("arn:aws:s3:::{STATE_BUCKET}");
    let header = run.header();
    let leases = [
        format!("{VERIFY_RESTORE}-{}", run.job),
        format!("{VERIFY_RESTORE}-test-D1E2F3A4-B5C6-7D8E-9F0A-1B2C3D4E5F60"),
    ]
    .map(|task| {
        format!(
            "locks/{}.json",
            lease_name(ACCOUNT, &run.plan.recovery_region, &task)
        )
    });
    // The run's saved summary and a restore test's saved run (store.rs in the task).
    let job_prefix = format!("verify/{PLAN}/{}/", run.job);
    let mut keys = vec![
        keys::verify_current(PLAN, &run.job),
        format!("{job_prefix}last.json"),
        format!("{job_prefix}restore-tests/D1E2F3A4-B5C6-7D8E-9F0A-1B2C3D4E5F60.json"),
        format!("{}.json", header.key_stem()),
        format!("{}.md", header.key_stem()),
        header.latest_key(),
    ];
    keys.extend(leases);
    for key in &keys {
        let object = format!("{bucket}/{key}");
        for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
            assert!(
                policy.allows(&request(action, &object, &[], &[])),
                "{action} on {object} must be allowed"
            );
        }
    }
    assert!(policy.allows(&request(
        "s3:GetObject",
        &format!("{bucket}/plan.toml"),
        &[],
        &[]
    )));
    // A missing run in progress reads as absent (404), not forbidden: ListBucket on its prefix.
    let current = keys::verify_current(PLAN, &run.job);
    // And the restore tests in progress are listed under their prefix.
    let restore_tests = format!("{job_prefix}restore-tests/");
    for prefix in [current.as_str(), &restore_tests, &format!("verify/{PLAN}/")] {
        assert!(
            policy.allows(&Request::with_context(
                "s3:ListBucket",
                &bucket,
                &[("s3:prefix", prefix)]
            )),
            "ListBucket with prefix {prefix}"
        );
    }
    // A schedule tick reads whether a failover paused the plan's schedules (`pause::paused`);
    // no pause reads as absent, not forbidden.
    let paused = format!("paused/{PLAN}.json");
    assert!(policy.allows(&request(
        "s3:GetObject",
        &format!("{bucket}/{paused}"),
        &[],
        &[]
    )));
    assert!(policy.allows(&Request::with_context(
        "s3:ListBucket",
        &bucket,
        &[("s3:prefix", paused.as_str())]
    )));
    for action in ["s3:PutObject", "s3:DeleteObject"] {
        assert!(
            !policy.allows(&request(action, &format!("{bucket}/{paused}"), &[], &[])),
            "{action} on the pause is the failover's"
        );
    }
    // The events go to Lifeboat's bus (its ARN is only known once deployed).
    assert!(
        policy.publishes_on_lifeboats_bus(),
        "events:PutEvents on LifeboatBus"
    );
}

/// A restore reads only the plan's own copies and creates only under `lifeboat-verify-*`, tagged
/// as the plan's verify resource; an instance joins only the plan's verify cluster or an AWS
/// Backup restore test's.
#[test]
fn verify_role_restores_only_the_plans_copies_into_its_verify_names_with_its_tags() {
    let policy = policy();
    let run = Run::new();
    let run_tags = run.tags();
    let other_plan = run.tags_of_plan("orders");
    let plan_only = [(tags::PLAN, PLAN)];
    let verify_only = [(verify_tags::JOB, run.job.as_str())];
    let instance = rds_arn(RECOVERY, "db", &run.instance);
    let cluster = rds_arn(RECOVERY, "cluster", &run.cluster);

    // What is created: the wrong name, or not the plan's verify tags.
    for (action, own) in [
        ("rds:RestoreDBInstanceFromDBSnapshot", &instance),
        ("rds:CreateDBInstance", &instance),
        ("rds:RestoreDBClusterFromSnapshot", &cluster),
        ("rds:AddTagsToResource", &instance),
        ("rds:AddTagsToResource", &cluster),
    ] {
        let kind = if own.contains(":cluster:") {
            "cluster"
        } else {
            "db"
        };
        let elsewhere = rds_arn(RECOVERY, kind, "orders-restored");
        let production = rds_arn(RECOVERY, kind, "orders");
        for (what, resource, request_tags) in [
            (
                "a name that is not a verify name",
                &elsewhere,
                &run_tags[..],
            ),
            ("the production name", &production, &run_tags[..]),
            ("no tags", own, &[][..]),
            ("the plan's tag without the verify tag", own, &plan_only[..]),
            ("the verify tag without the plan's", own, &verify_only[..]),
            ("another plan's tag", own, &other_plan[..]),
        ] {
            assert!(
                !policy.allows(&request(action, resource, request_tags, &[])),
                "{what}: {action} on {resource} with {request_tags:?} must be denied"
            );
        }
        assert!(
            policy.allows(&request(action, own, &run_tags, &[])),
            "{action} on {own} with the run's tags is the allowed case next to them"
        );
    }

    // Tagging cannot add a key Lifeboat's verification does not use (AWS Backup's restore-test
    // tag would open the restore tests' password change), nor re-tag another plan's resource.
    let mut with_test_tag = run_tags.clone();
    with_test_tag.push((RESTORE_TEST_TAG, "x"));
    assert!(!policy.allows(&request(
        "rds:AddTagsToResource",
        &instance,
        &with_test_tag,
        &[]
    )));
    assert!(!policy.allows(&request(
        "rds:AddTagsToResource",
        &instance,
        &run_tags,
        &other_plan
    )));

    // What is read: only the plan's copies in the recovery Region.
    for (action, kind) in [
        ("rds:RestoreDBInstanceFromDBSnapshot", "snapshot"),
        ("rds:RestoreDBClusterFromSnapshot", "cluster-snapshot"),
    ] {
        let copy = copy_arn(kind, "rds:orders-2026-11-25-03-10");
        let manual = rds_arn(RECOVERY, kind, "orders-before-upgrade");
        for (what, resource, resource_tags) in [
            (
                "a hand-made snapshot with the plan's tag",
                manual.as_str(),
                &[(tags::PLAN, PLAN)][..],
            ),
            (
                "another plan's copy",
                copy.as_str(),
                &[(tags::PLAN, "orders")][..],
            ),
            ("an untagged lifeboat-* snapshot", copy.as_str(), &[][..]),
        ] {
            assert!(
                !policy.allows(&request(action, resource, &[], resource_tags)),
                "{what}: {action} from {resource} ({resource_tags:?}) must be denied"
            );
        }
    }

    // The cluster an instance joins: the plan's verify cluster or a restore test's, nothing else.
    for (what, joined, resource_tags) in [
        (
            "the production cluster",
            rds_arn(RECOVERY, "cluster", "phoenix-aurora"),
            &[][..],
        ),
        (
            "the production cluster, tagged as the plan's copy source",
            rds_arn(RECOVERY, "cluster", "phoenix-aurora"),
            &[(tags::PLAN, PLAN)][..],
        ),
        (
            "another plan's verify cluster",
            cluster.clone(),
            &other_plan[..],
        ),
        ("an untagged verify name", cluster.clone(), &[][..]),
    ] {
        assert!(
            !policy.allows(&request(
                "rds:CreateDBInstance",
                &joined,
                &run_tags,
                resource_tags
            )),
            "adding an instance to {what} ({joined}) must be denied"
        );
    }
}

/// The password is changed, and things deleted, only on the plan's verify resources (and the
/// password on AWS Backup's restore tests too, which are never deleted): never on a production
/// database, another plan's resources, or anything untagged.
#[test]
fn verify_role_changes_and_deletes_only_the_plans_verify_resources() {
    let policy = policy();
    let run = Run::new();
    let run_tags = run.tags();
    let other_plan = run.tags_of_plan("orders");
    let plan_only = [(tags::PLAN, PLAN)];
    let test_tag = [(RESTORE_TEST_TAG, "tracking_daily")];
    let mut both = run_tags.clone();
    both.extend(test_tag);
    let instance = rds_arn(RECOVERY, "db", &run.instance);
    let cluster = rds_arn(RECOVERY, "cluster", &run.cluster);
    let orders = rds_arn(RECOVERY, "db", "orders");
    let phoenix = rds_arn(RECOVERY, "cluster", "phoenix-aurora");
    let test_instance = rds_arn(RECOVERY, "db", "awsbackup-restore-test-orders-7f3a9c");

    for (kind, modify, delete, own, production) in [
        (
            "db",
            "rds:ModifyDBInstance",
            "rds:DeleteDBInstance",
            &instance,
            &orders,
        ),
        (
            "cluster",
            "rds:ModifyDBCluster",
            "rds:DeleteDBCluster",
            &cluster,
            &phoenix,
        ),
    ] {
        let denied_both: [(&str, &String, &Tags); 6] = [
            ("the production database, untagged", production, &[]),
            (
                "the production database with the plan's tag",
                production,
                &plan_only,
            ),
            (
                "the production database with the verify tags",
                production,
                &run_tags,
            ),
            ("another plan's verify resource", own, &other_plan),
            ("an untagged verify name", own, &[]),
            ("a verify name with only the plan's tag", own, &plan_only),
        ];
        for (what, resource, resource_tags) in denied_both {
            for action in [modify, delete] {
                assert!(
                    !policy.allows(&request(action, resource, &[], resource_tags)),
                    "{what}: {action} on {resource} ({resource_tags:?}) must be denied"
                );
            }
        }
        for action in [modify, delete] {
            assert!(
                policy.allows(&request(action, own, &[], &run_tags)),
                "{action} on the run's own {own} must be allowed"
            );
        }
        // AWS Backup's restore tests: a new password yes, a delete never (AWS Backup deletes
        // them after their validation window), whatever else they carry.
        let test = rds_arn(RECOVERY, kind, "awsbackup-restore-test-x1y2z3");
        assert!(policy.allows(&request(modify, &test, &[], &test_tag)));
        for (what, resource, resource_tags) in [
            ("a restore test", &test, &test_tag[..]),
            (
                "a restore test that also carries the verify tags",
                own,
                &both[..],
            ),
        ] {
            assert!(
                !policy.allows(&request(delete, resource, &[], resource_tags)),
                "{what}: {delete} on {resource} must be denied"
            );
        }
    }
    assert!(!policy.allows(&request(
        "rds:DeleteDBInstance",
        &test_instance,
        &[],
        &test_tag
    )));
}

/// Nothing in the primary Region: every RDS and KMS resource the role names is in the recovery
/// Region, and each call a verification makes, aimed at the primary Region, is denied.
#[test]
fn verify_role_reaches_nothing_in_the_primary_region() {
    let policy = policy();
    let run = Run::new();
    let run_tags = run.tags();
    let test_tag = [(RESTORE_TEST_TAG, "x")];
    let mut everything = run_tags.clone();
    everything.extend(test_tag);
    for statement in policy.statements.iter().filter(|s| s["Effect"] == "Allow") {
        for resource in resolve(&statement["Resource"], &policy.params) {
            assert!(
                !resource.contains(PRIMARY),
                "a statement names the primary Region: {statement}"
            );
            if resource.starts_with("arn:aws:rds:") {
                assert!(
                    resource.starts_with(&format!("arn:aws:rds:{RECOVERY}:{ACCOUNT}:")),
                    "an RDS resource outside the recovery Region's account: {resource}"
                );
            }
        }
    }
    for (action, kind) in [
        ("rds:DescribeDBInstances", "db"),
        ("rds:RestoreDBInstanceFromDBSnapshot", "db"),
        ("rds:RestoreDBInstanceFromDBSnapshot", "snapshot"),
        ("rds:RestoreDBClusterFromSnapshot", "cluster"),
        ("rds:RestoreDBClusterFromSnapshot", "cluster-snapshot"),
        ("rds:CreateDBInstance", "db"),
        ("rds:CreateDBInstance", "cluster"),
        ("rds:AddTagsToResource", "db"),
        ("rds:ModifyDBInstance", "db"),
        ("rds:ModifyDBCluster", "cluster"),
        ("rds:DeleteDBInstance", "db"),
        ("rds:DeleteDBCluster", "cluster"),
    ] {
        let name = if kind.ends_with("snapshot") {
            target_identifier(&rds_arn(PRIMARY, kind, "orders"), "orders")
        } else {
            format!("lifeboat-verify-{}-1a2b3c4d", run.job)
        };
        let resource = rds_arn(PRIMARY, kind, &name);
        let resource_tags = if kind.ends_with("snapshot") {
            vec![(tags::PLAN, PLAN)]
        } else {
            everything.clone()
        };
        assert!(
            !policy.allows(&request(action, &resource, &run_tags, &resource_tags)),
            "{action} on {resource} in the primary Region must be denied"
        );
    }
    let key = format!("arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    assert!(!policy.allows(&Request::with_context(
        "kms:CreateGrant",
        &key,
        &[("kms:ViaService", "rds.us-west-2.amazonaws.com")]
    )));
}

/// The role grants exactly the calls a verification makes — no wildcard action, no other
/// action — each of them an action that exists, on resources of the types the service
/// authorization reference gives it (an action without resource types only on `"*"`, where
/// anything narrower would match nothing and deny the call).
#[test]
fn verify_role_grants_exactly_its_calls_on_resources_of_their_types() {
    assert_grants_exactly_on_resources_of_their_types(&load("template.yaml"), FUNCTION, &ACTIONS);
}

// ---------------------------------------------------------------------------------------------
// Alarms, evaluated over their periods.
// ---------------------------------------------------------------------------------------------

/// Hourly periods, oldest first, ending now, with `value` `hours_ago` hours back.
fn hourly(periods: usize, points: &[(usize, f64)]) -> Vec<Option<f64>> {
    let mut values = vec![None; periods];
    for &(hours_ago, value) in points {
        values[periods - 1 - hours_ago] = Some(value);
    }
    values
}

#[test]
fn verify_alarms_watch_failed_and_missing_verifications_errors_and_the_queue() {
    let template = load("template.yaml");
    let topic = notifications_topic(&template);
    let within = &template["Parameters"]["VerifySuccessWithinHours"];
    assert_eq!(within["Default"], 48);
    let longest = within["MaxValue"].as_u64().expect("MaxValue");
    assert!(
        within["MinValue"].as_u64().is_some_and(|m| m >= 1) && longest * 3600 <= 604_800,
        "hourly periods x VerifySuccessWithinHours must stay within CloudWatch's 7 days: {within}"
    );
    let mut params = deployment();
    params.insert("VerifySuccessWithinHours", "48".into());
    let expected = [
        ExpectedAlarm::on_failures("VerificationsFailed", VERIFY_RESTORE),
        ExpectedAlarm {
            namespace: NAMESPACE,
            metric: "VerificationsSucceeded",
            dimensions: plan_and_task(VERIFY_RESTORE),
            statistic: "Sum",
            fires_at: 0.0,
            quiet_at: 1.0,
            missing_data: "breaching",
        },
    ];
    let expected = expected
        .into_iter()
        .chain(function_alarms(FUNCTION, "VerifyRestoreFailures"))
        .collect::<Vec<_>>();
    // Exactly these are the verification's alarms (template.rs checks all the others).
    let alarms: Vec<(&String, &Value)> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| alarm["Condition"] == CONDITION)
        .collect();
    assert_eq!(
        alarms.len(),
        expected.len(),
        "{:?}",
        alarms.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    let checked: Vec<Alarm> = expected
        .iter()
        .map(|want| check_alarm(&alarms, want, topic, &params))
        .collect();

    // A run's metrics are stamped with the time it started, and a run lasts up to its
    // max_restore_minutes (at most a day, by the plan schema) and then some: the failure alarm
    // must still hold that data point when it arrives.
    let failed = &checked[0];
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("docs/plan.schema.json"))
            .expect("docs/plan.schema.json"),
    )
    .expect("the schema is JSON");
    let max_restore_minutes =
        schema["$defs"]["VerifyJob"]["properties"]["max_restore_minutes"]["maximum"]
            .as_u64()
            .expect("max_restore_minutes has a maximum");
    assert!(
        failed.window() > max_restore_minutes * 60,
        "VerificationsFailed looks back {} s, less than a run may take",
        failed.window()
    );
    let periods = failed.evaluation_periods as usize;
    assert!(
        failed.fires(&hourly(periods, &[(20, 1.0)])),
        "a run that started 20 h ago failed"
    );
    assert!(
        !failed.fires(&hourly(periods, &[(20, 0.0), (3, 0.0)])),
        "runs verified"
    );
    assert!(
        !failed.fires(&vec![None; periods]),
        "no run: no data, no alarm"
    );
    assert!(
        !failed.fires(&hourly(periods + 5, &[(periods + 2, 1.0)])),
        "a failure older than the window is no longer in alarm"
    );

    // No verification succeeded within VerifySuccessWithinHours.
    let succeeded = &checked[1];
    assert_eq!(succeeded.period, 3600);
    assert_eq!(
        (succeeded.evaluation_periods, succeeded.datapoints_to_alarm),
        (48, 48),
        "every hour of the 48 without a verified run"
    );
    let hours = 48;
    assert!(
        succeeded.fires(&vec![None; hours]),
        "no run reported for 48 h"
    );
    assert!(
        !succeeded.fires(&hourly(hours, &[(47, 1.0)])),
        "verified 47 h ago"
    );
    assert!(
        succeeded.fires(&hourly(hours + 2, &[(49, 1.0)])),
        "last verified 49 h ago"
    );
    assert!(
        succeeded.fires(&hourly(hours, &[(40, 0.0), (16, 0.0)])),
        "daily runs that all failed"
    );
    assert!(
        !succeeded.fires(&hourly(hours, &[(40, 1.0), (16, 0.0)])),
        "one verified run in the window is enough"
    );
    params.insert("VerifySuccessWithinHours", "168".into());
    let week = Alarm::of(
        &template["Resources"]["NoVerificationSucceededAlarm"]["Properties"],
        &params,
    );
    assert_eq!(week.window(), 604_800, "the bound follows the parameter");
    assert!(!week.fires(&hourly(168, &[(150, 1.0)])));
}

/// The alarms watch what a finished run publishes (`VerifyReport::metrics`, as Embedded Metric
/// Format): the metric in the alarm's namespace, under exactly the alarm's dimensions (the
/// per-plan rollup), with the plan's and the task's names; a failed run's values fire the
/// failure alarm and breach the success one, a verified run's do neither.
#[test]
fn verify_alarms_watch_the_metrics_a_verification_publishes() {
    let template = load("template.yaml");
    let mut params = deployment();
    params.insert("VerifySuccessWithinHours", "48".into());
    let run = Run::new();
    for (verdict, failure_alarm_fires, success_alarm_fires) in [
        (Verdict::Failed, true, true),
        (Verdict::Verified, false, false),
    ] {
        let header = run.header();
        let report = VerifyReport {
            verification: VerifyRun::start(&header.run_id, PLAN, &run.job, header.started_at),
            header,
            job: run.job.clone(),
            verdict: Some(verdict),
            figures: Figures::default(),
            recorded: false,
        };
        let metrics = report.metrics();
        for (name, fires) in [
            ("VerificationFailedAlarm", failure_alarm_fires),
            ("NoVerificationSucceededAlarm", success_alarm_fires),
        ] {
            let properties = &template["Resources"][name]["Properties"];
            let metric = properties["MetricName"].as_str().expect("MetricName");
            let published = published_for_alarm(properties, &metrics, &params);
            assert_eq!(published.len(), 1, "{verdict:?}: {metric} of {name}");
            let alarm = Alarm::of(properties, &params);
            assert_eq!(
                alarm.fires_at(published[0]),
                fires,
                "{name} after a {verdict:?} run ({metric} = {})",
                published[0]
            );
        }
    }
}
