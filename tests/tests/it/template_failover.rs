//! The failover in `template.yaml`, checked offline like the copy functions and the verification
//! (`template.rs`, `template_verify.rs`; the loader and the evaluators are
//! `lifeboat_tests::template`):
//!
//! - the `failover` function exists exactly with `Failover=true`, and a deployment naming failover
//!   resources without it is refused;
//! - it runs like the others, outside any VPC, one invocation at a time, on a one-minute tick and
//!   on the plan's alarms;
//! - its alarm rule, on the recovery Region's default bus, evaluated against AWS's payloads in
//!   `events/`: a plan alarm going to ALARM in the recovery Region, nothing else; every event it
//!   lets through is read by the task as an alarm change; the runbook payloads match no rule
//!   (they are direct invocations);
//! - its role, *evaluated*: every call of `lifeboat_shared::failover::calls` and the task on the
//!   plan's resources is allowed; promoting a replica, failing over a global database or
//!   changing a hosted zone the parameters do not name, a record change other than UPSERT,
//!   anything in the primary Region, and the state of other plans and tasks are not; it grants
//!   exactly the failover's actions, each on resources of its types;
//! - its alarms (a failed failover, against the metrics a finished run publishes; the function's
//!   errors; its failure queue) and the rule that sends the failover's approval requests and ends
//!   to the notifications topic.

use std::collections::BTreeSet;

use lifeboat_shared::failover::{
    FAILOVER_EVENT, FailoverReport, FailoverRun, Kind, Phase, Promotion, Target,
};
use lifeboat_shared::plan::Plan;
use lifeboat_shared::record::{EVENT_SOURCE, RUN_FINISHED, Report, RunHeader};
use lifeboat_shared::state::lease_name;
use lifeboat_shared::tasks::FAILOVER;
use lifeboat_shared::trigger::Trigger;
use lifeboat_tests::template::{
    ACCOUNT, Alarm, ExpectedAlarm, FAILOVER_ALARMS, FAILOVER_GLOBAL_CLUSTERS,
    FAILOVER_HOSTED_ZONES, FAILOVER_REPLICA_CLUSTERS, FAILOVER_REPLICA_INSTANCES,
    FAILOVER_TARGET_CLUSTERS, PLAN, PRIMARY, Policy, RECOVERY, Request, STATE_BUCKET, assert_gated,
    assert_grants_exactly_on_resources_of_their_types, assert_runs_like_the_copy_function,
    assert_ticks_and_listens_on_the_default_bus, check_alarm, condition_holds, deployment,
    event_fixture, function, function_alarms, load, notifications_topic, pattern_matches,
    published_for_alarm, rds_arn, resolve, resolve_pattern, resources_of_type, rule_holds, strings,
};
use lifeboat_tests::venv::workspace_root;
use serde_json::Value;
use time::macros::datetime;

const FUNCTION: &str = "FailoverFunction";
const CONDITION: &str = "Failover";
const FAILURES: &str = "FailoverFailures";
/// The list parameters that name what the failover may act on.
const LIST_PARAMETERS: [&str; 6] = [
    "FailoverAlarmNames",
    "FailoverReplicaInstanceIds",
    "FailoverReplicaClusterIds",
    "FailoverGlobalClusterIds",
    "FailoverTargetClusterIds",
    "FailoverHostedZoneIds",
];
/// Where Route 53's control plane is: what `aws:RequestedRegion` says for its calls.
const ROUTE53_REGION: &str = "us-east-1";

/// Everything the role grants, and nothing else: the calls the failover makes.
const ACTIONS: [&str; 21] = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeGlobalClusters",
    "rds:DescribeDBClusterSnapshots",
    "rds:CopyDBClusterSnapshot",
    "rds:AddTagsToResource",
    "rds:PromoteReadReplica",
    "rds:PromoteReadReplicaDBCluster",
    "rds:FailoverGlobalCluster",
    "rds:SwitchoverGlobalCluster",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricStatistics",
    "sts:GetCallerIdentity",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "events:PutEvents",
];

/// The example plan, with a read replica and a replica cluster besides its global database: the
/// plan the deployment's `Failover*` values are for.
fn plan() -> Plan {
    let path = workspace_root().join("examples/tracking.toml");
    let mut text = std::fs::read_to_string(&path).expect("examples/tracking.toml");
    text.push_str(&format!(
        "\n[[failover.promote]]\nrds_replica = \"{FAILOVER_REPLICA_INSTANCES}\"\n\
         \n[[failover.promote]]\naurora_replica_cluster = \"{FAILOVER_REPLICA_CLUSTERS}\"\n"
    ));
    let plan = Plan::parse(&text, "the example plan with every kind of promotion")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.name, PLAN);
    assert_eq!(plan.state_bucket, STATE_BUCKET);
    assert_eq!(plan.recovery_region.to_string(), RECOVERY);
    plan
}

fn targets(plan: &Plan) -> Vec<Target> {
    Target::all(
        plan.failover
            .as_ref()
            .expect("the example has a [failover]"),
    )
}

fn policy() -> Policy {
    Policy::of_function(FUNCTION)
}

/// Whether the role allows `action` on `resource`, called in `region` (`aws:RequestedRegion`),
/// with more context keys.
fn allows(
    policy: &Policy,
    action: &str,
    resource: &str,
    region: &str,
    more: &[(&str, &str)],
) -> bool {
    let mut context = vec![("aws:RequestedRegion", region)];
    context.extend_from_slice(more);
    policy.allows(&Request::with_context(action, resource, &context))
}

fn global_cluster_arn(name: &str) -> String {
    format!("arn:aws:rds::{ACCOUNT}:global-cluster:{name}")
}

fn zone_arn(zone: &str) -> String {
    format!("arn:aws:route53:::hostedzone/{zone}")
}

/// Each target's promotion calls, as IAM authorises them: (action, resource) pairs, in the
/// recovery Region. A global database's failover and switchover are authorised on the global
/// cluster and on the target cluster.
fn promotion_requests(target: &Target) -> Vec<(&'static str, String)> {
    match target {
        Target::RdsReplica { id } => vec![
            ("rds:DescribeDBInstances", rds_arn(RECOVERY, "db", id)),
            ("rds:PromoteReadReplica", rds_arn(RECOVERY, "db", id)),
        ],
        Target::AuroraReplicaCluster { id } => vec![
            ("rds:DescribeDBClusters", rds_arn(RECOVERY, "cluster", id)),
            (
                "rds:PromoteReadReplicaDBCluster",
                rds_arn(RECOVERY, "cluster", id),
            ),
        ],
        Target::AuroraGlobal {
            global,
            target_cluster_arn,
        } => {
            let mut requests = vec![("rds:DescribeGlobalClusters", global_cluster_arn(global))];
            for action in ["rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"] {
                requests.push((action, global_cluster_arn(global)));
                requests.push((action, target_cluster_arn.clone()));
            }
            requests
        }
    }
}

// ---------------------------------------------------------------------------------------------
// When it exists, and how it runs.
// ---------------------------------------------------------------------------------------------

/// `Failover=false` (the default): no failover. `true`: all of it. Failover resources named
/// without `Failover=true`: CloudFormation refuses the deployment. The deployment's values are
/// what the example plan names.
#[test]
fn the_failover_exists_exactly_when_the_plan_has_one() {
    let template = load("template.yaml");
    let parameter = &template["Parameters"]["Failover"];
    assert_eq!(parameter["Default"], "false");
    assert_eq!(
        parameter["AllowedValues"],
        serde_json::json!(["true", "false"])
    );
    for name in LIST_PARAMETERS {
        let parameter = &template["Parameters"][name];
        assert_eq!(parameter["Type"], "CommaDelimitedList", "{name}");
        assert_eq!(parameter["Default"], "", "{name}");
    }

    // The deployment's values are the plan's.
    let plan = plan();
    let failover = plan.failover.as_ref().expect("[failover]");
    assert_eq!(failover.alarms.join(","), FAILOVER_ALARMS);
    let zones: BTreeSet<&str> = failover
        .dns
        .iter()
        .map(|d| d.hosted_zone_id.as_str())
        .collect();
    assert_eq!(
        zones.into_iter().collect::<Vec<_>>().join(","),
        FAILOVER_HOSTED_ZONES
    );
    for target in targets(&plan) {
        match &target {
            Target::RdsReplica { id } => assert_eq!(id, FAILOVER_REPLICA_INSTANCES),
            Target::AuroraReplicaCluster { id } => assert_eq!(id, FAILOVER_REPLICA_CLUSTERS),
            Target::AuroraGlobal {
                global,
                target_cluster_arn,
            } => {
                assert_eq!(global, FAILOVER_GLOBAL_CLUSTERS);
                assert_eq!(
                    target_cluster_arn,
                    &rds_arn(RECOVERY, "cluster", FAILOVER_TARGET_CLUSTERS)
                );
            }
        }
    }

    let condition = &template["Conditions"][CONDITION];
    let rule = "FailoverParametersNeedFailover";
    let mut params = deployment();
    assert!(condition_holds(&template, condition, &params));
    assert!(rule_holds(&template, rule, &params));
    params.insert("Failover", "false".into());
    assert!(!condition_holds(&template, condition, &params));
    assert!(
        !rule_holds(&template, rule, &params),
        "failover resources without Failover=true must be refused"
    );
    for name in LIST_PARAMETERS {
        params.insert(name, String::new());
    }
    assert!(rule_holds(&template, rule, &params), "no failover at all");
    for name in LIST_PARAMETERS {
        let mut one = params.clone();
        one.insert(name, "x".into());
        assert!(
            !rule_holds(&template, rule, &one),
            "{name} without Failover=true"
        );
    }

    let conditional = assert_gated(&template, CONDITION, &[FUNCTION, FAILURES]);
    for name in [
        "FailoverErrorsAlarm",
        "FailoverFailuresQueueAlarm",
        "FailoverFunctionArn",
        "FailoverFailuresQueueUrl",
    ] {
        assert!(
            conditional.contains(&name.to_owned()),
            "{name}: {conditional:?}"
        );
    }
    assert_eq!(
        template["Resources"]["FailoverFailedAlarm"]["Condition"], CONDITION,
        "no failover function, no failover metric"
    );
    assert!(
        template["Resources"]["FailoverEventsRule"]
            .get("Condition")
            .is_none(),
        "the CLI's failovers put the same events: notified with or without the function"
    );
}

#[test]
fn template_declares_the_failover_function_as_documented() {
    let template = load("template.yaml");
    assert_eq!(function(&template, FUNCTION)["Condition"], CONDITION);
    let properties = assert_runs_like_the_copy_function(&template, FUNCTION, "failover", FAILURES);
    assert_eq!(
        properties["Timeout"], 900,
        "Lambda's maximum, like the others"
    );
    assert_eq!(
        properties["ReservedConcurrentExecutions"], 1,
        "one failover at a time (the lease guards it too)"
    );
    assert!(
        properties.get("VpcConfig").is_none(),
        "it calls only AWS APIs: no VPC on the failover path"
    );

    // A one-minute tick, and the alarm rule on this Region's default bus. The runbook is
    // invoked directly: no rule.
    assert_ticks_and_listens_on_the_default_bus(
        &template,
        properties,
        "FailoverScheduleExpression",
        "rate(1 minute)",
        &["PlanAlarm"],
    );
}

/// The alarm rule takes a plan alarm going to ALARM in the recovery Region, and nothing else;
/// what it takes, the task reads as that alarm's change. Evaluated against AWS's payloads.
#[test]
fn the_alarm_rule_takes_only_the_plans_alarms_going_to_alarm_here() {
    let template = load("template.yaml");
    let params = deployment();
    let pattern = resolve_pattern(
        &function(&template, FUNCTION)["Properties"]["Events"]["PlanAlarm"]["Properties"]["Pattern"],
        &params,
    );
    let alarm = event_fixture("cloudwatch-alarm-recovery-region.json");
    let mut cases: Vec<(String, Value, bool)> =
        vec![("a plan alarm in ALARM".into(), alarm.clone(), true)];
    let plan = plan();
    for name in &plan.failover.as_ref().expect("[failover]").alarms {
        let mut event = alarm.clone();
        event["detail"]["alarmName"] = name.as_str().into();
        cases.push((format!("the plan's alarm {name} in ALARM"), event, true));
    }
    for state in ["OK", "INSUFFICIENT_DATA"] {
        let mut event = alarm.clone();
        event["detail"]["state"]["value"] = state.into();
        cases.push((format!("a plan alarm going to {state}"), event, false));
    }
    let mut other = alarm.clone();
    other["detail"]["alarmName"] = "tracking-disk-full".into();
    cases.push(("another alarm in ALARM".into(), other, false));
    let mut other_source = alarm.clone();
    other_source["source"] = "lifeboat".into();
    cases.push(("another source".into(), other_source, false));
    // A plan alarm's name, but in the primary Region (as if forwarded here).
    cases.push((
        "an alarm of the primary Region".into(),
        event_fixture("cloudwatch-alarm-state-change.json"),
        false,
    ));
    for name in [
        "schedule.json",
        "rds-db-instance-event.json",
        "rds-snapshot-created.json",
        "backup-job-completed.json",
        "runbook-dry-run.json",
        "runbook-execute.json",
        "runbook-approve.json",
        "runbook-failback.json",
    ] {
        cases.push((name.into(), event_fixture(name), false));
    }
    for (what, event, taken) in cases {
        assert_eq!(
            pattern_matches(&pattern, &event),
            taken,
            "{what}: {pattern}"
        );
        if taken {
            let trigger = Trigger::from_event(&event).unwrap_or_else(|e| panic!("{what}: {e}"));
            let Trigger::AlarmChanged {
                alarm_name,
                state,
                region,
                at,
            } = &trigger
            else {
                panic!("{what} reaches the function but reads as {trigger:?}");
            };
            assert!(
                FAILOVER_ALARMS.split(',').any(|a| a == alarm_name),
                "{what}"
            );
            assert_eq!(
                (state.as_str(), region.as_str()),
                ("ALARM", RECOVERY),
                "{what}"
            );
            assert!(
                at.is_some(),
                "{what}: the event's time starts the RTO measure"
            );
        }
    }

    // The runbook's payloads are direct invocations, read as the operator's requests.
    for name in [
        "runbook-dry-run.json",
        "runbook-execute.json",
        "runbook-approve.json",
        "runbook-failback.json",
    ] {
        let trigger =
            Trigger::from_event(&event_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            matches!(trigger, Trigger::Runbook(_)),
            "{name}: {trigger:?}"
        );
    }

    // No alarm names (a plan failing over by runbook only): no alarm event invokes it.
    let mut params = deployment();
    params.insert("FailoverAlarmNames", String::new());
    let pattern = resolve_pattern(
        &function(&template, FUNCTION)["Properties"]["Events"]["PlanAlarm"]["Properties"]["Pattern"],
        &params,
    );
    assert!(!pattern_matches(&pattern, &alarm));
}

// ---------------------------------------------------------------------------------------------
// The role, evaluated.
// ---------------------------------------------------------------------------------------------

/// What a failover does, allowed: describe and promote each of the plan's targets (a global
/// database both ways), read and UPSERT the plan's records and follow the change, read the
/// alarms and the lag, keep its run, lease, records and the pause, publish its events.
#[test]
fn failover_role_allows_what_a_failover_does() {
    let policy = policy();
    let plan = plan();
    let kinds: BTreeSet<String> = targets(&plan).iter().map(|t| t.key()).collect();
    assert_eq!(kinds.len(), 3, "every kind of promotion: {kinds:?}");
    for target in targets(&plan) {
        for (action, resource) in promotion_requests(&target) {
            assert!(
                allows(&policy, action, &resource, RECOVERY, &[]),
                "{action} on {resource} must be allowed: the failover of {} does it",
                target.key()
            );
        }
    }
    // Describe calls of the recovery Region (a target that does not exist yet reads as absent).
    for (action, kind) in [
        ("rds:DescribeDBInstances", "db"),
        ("rds:DescribeDBClusters", "cluster"),
    ] {
        assert!(allows(
            &policy,
            action,
            &rds_arn(RECOVERY, kind, "phoenix-dr"),
            RECOVERY,
            &[]
        ));
    }

    // The records, in the plan's hosted zones: read, UPSERT, the change's status.
    let failover = plan.failover.as_ref().expect("[failover]");
    for flip in &failover.dns {
        let zone = zone_arn(&flip.hosted_zone_id);
        assert!(allows(
            &policy,
            "route53:ListResourceRecordSets",
            &zone,
            ROUTE53_REGION,
            &[]
        ));
        assert!(allows(
            &policy,
            "route53:ChangeResourceRecordSets",
            &zone,
            ROUTE53_REGION,
            &[("route53:ChangeResourceRecordSetsActions", "UPSERT")]
        ));
    }
    assert!(allows(
        &policy,
        "route53:GetChange",
        "arn:aws:route53:::change/C2682N5HXP0BZ4",
        ROUTE53_REGION,
        &[]
    ));

    // The alarms, read back in the recovery Region, and the replication lag.
    for name in &failover.alarms {
        let alarm = format!("arn:aws:cloudwatch:{RECOVERY}:{ACCOUNT}:alarm:{name}");
        assert!(allows(
            &policy,
            "cloudwatch:DescribeAlarms",
            &alarm,
            RECOVERY,
            &[]
        ));
    }
    assert!(allows(
        &policy,
        "cloudwatch:GetMetricStatistics",
        "*",
        RECOVERY,
        &[]
    ));
    assert!(allows(&policy, "sts:GetCallerIdentity", "*", RECOVERY, &[]));

    // The state bucket: the run in progress and the last one, the lease, the records, the pause.
    let bucket = format!("arn:aws:s3:::{STATE_BUCKET}");
    let lease = format!(
        "locks/{}.json",
        lease_name(ACCOUNT, &plan.recovery_region, FAILOVER)
    );
    for key in [
        format!("failover/{PLAN}/current.json"),
        lifeboat_shared::bucket::keys::failover_last(PLAN),
        lease,
    ] {
        for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
            let object = format!("{bucket}/{key}");
            assert!(
                allows(&policy, action, &object, RECOVERY, &[]),
                "{action} on {object}"
            );
        }
    }
    let header = RunHeader::start(
        FAILOVER,
        &plan,
        "schedule",
        false,
        datetime!(2026-11-26 03:13 UTC),
    );
    for key in [
        format!("{}.json", header.key_stem()),
        format!("{}.md", header.key_stem()),
        header.latest_key(),
    ] {
        assert!(
            allows(
                &policy,
                "s3:PutObject",
                &format!("{bucket}/{key}"),
                RECOVERY,
                &[]
            ),
            "{key}"
        );
    }
    let paused = format!("{bucket}/paused/{PLAN}.json");
    for action in ["s3:PutObject", "s3:DeleteObject"] {
        assert!(
            allows(&policy, action, &paused, RECOVERY, &[]),
            "{action} on {paused}"
        );
    }
    assert!(allows(
        &policy,
        "s3:GetObject",
        &format!("{bucket}/plan.toml"),
        RECOVERY,
        &[]
    ));
    // No run in progress reads as absent (404), not forbidden.
    assert!(allows(
        &policy,
        "s3:ListBucket",
        &bucket,
        RECOVERY,
        &[("s3:prefix", &format!("failover/{PLAN}/current.json"))]
    ));
    assert!(
        policy.publishes_on_lifeboats_bus(),
        "events:PutEvents on LifeboatBus"
    );
}

/// Only the plan's replicas, global databases and target clusters are promoted, only the plan's
/// hosted zones are read and changed (by UPSERT only), and nothing of the state bucket beyond the
/// failover's own.
#[test]
fn failover_role_promotes_only_the_plans_replicas_and_changes_only_its_zones() {
    let policy = policy();
    let denied: Vec<(&str, String)> = vec![
        // A DB instance the parameters do not name: the production database, another replica.
        ("rds:PromoteReadReplica", rds_arn(RECOVERY, "db", "orders")),
        (
            "rds:PromoteReadReplica",
            rds_arn(RECOVERY, "db", "orders-dr-2"),
        ),
        (
            "rds:PromoteReadReplica",
            rds_arn(RECOVERY, "db", "lifeboat-verify-orders-1a2b3c4d"),
        ),
        // A DB cluster the parameters do not name, or a replica cluster named as an instance.
        (
            "rds:PromoteReadReplicaDBCluster",
            rds_arn(RECOVERY, "cluster", "phoenix-aurora"),
        ),
        (
            "rds:PromoteReadReplicaDBCluster",
            rds_arn(RECOVERY, "cluster", FAILOVER_TARGET_CLUSTERS),
        ),
        (
            "rds:PromoteReadReplica",
            rds_arn(RECOVERY, "db", FAILOVER_REPLICA_CLUSTERS),
        ),
        // Another global database, or the plan's to another cluster.
        (
            "rds:FailoverGlobalCluster",
            global_cluster_arn("orders-global"),
        ),
        (
            "rds:SwitchoverGlobalCluster",
            global_cluster_arn("orders-global"),
        ),
        (
            "rds:FailoverGlobalCluster",
            rds_arn(RECOVERY, "cluster", "phoenix-aurora"),
        ),
        (
            "rds:SwitchoverGlobalCluster",
            rds_arn(RECOVERY, "cluster", "orders-dr-cluster"),
        ),
        (
            "rds:DescribeGlobalClusters",
            global_cluster_arn("orders-global"),
        ),
    ];
    for (action, resource) in &denied {
        assert!(
            !allows(&policy, action, resource, RECOVERY, &[]),
            "{action} on {resource} must be denied: the parameters do not name it"
        );
    }

    // Another hosted zone; another change than UPSERT in the plan's own.
    let own = zone_arn(FAILOVER_HOSTED_ZONES);
    let other = zone_arn("Z9876543210XYZ");
    let upsert = [("route53:ChangeResourceRecordSetsActions", "UPSERT")];
    assert!(!allows(
        &policy,
        "route53:ChangeResourceRecordSets",
        &other,
        ROUTE53_REGION,
        &upsert
    ));
    assert!(!allows(
        &policy,
        "route53:ListResourceRecordSets",
        &other,
        ROUTE53_REGION,
        &[]
    ));
    for action in ["CREATE", "DELETE"] {
        assert!(
            !allows(
                &policy,
                "route53:ChangeResourceRecordSets",
                &own,
                ROUTE53_REGION,
                &[
                    ("route53:ChangeResourceRecordSetsActions", "UPSERT"),
                    ("route53:ChangeResourceRecordSetsActions", action)
                ]
            ),
            "a batch with a {action} must be denied"
        );
    }

    // The state bucket beyond the failover's own: other plans, other tasks, their leases.
    let bucket = format!("arn:aws:s3:::{STATE_BUCKET}");
    for key in [
        "failover/orders/current.json".to_owned(),
        "paused/orders.json".to_owned(),
        format!("runs/{PLAN}/copy-snapshots/latest.json"),
        "runs/orders/failover/latest.json".to_owned(),
        format!("locks/{ACCOUNT}/{RECOVERY}/copy-snapshots.json"),
        format!("verify/{PLAN}/aurora-weekly/current.json"),
        "plan-of-orders.toml".to_owned(),
    ] {
        for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
            let object = format!("{bucket}/{key}");
            assert!(
                !allows(&policy, action, &object, RECOVERY, &[]),
                "{action} on {object}"
            );
        }
    }
    assert!(!allows(
        &policy,
        "s3:ListBucket",
        &bucket,
        RECOVERY,
        &[("s3:prefix", "failover/orders/")]
    ));
}

/// Nothing in the primary Region but failback's keeping of the unplanned-failover snapshot
/// (the Region is back by then): every other RDS, CloudWatch and S3 resource the role allows is
/// the recovery Region's (or global), every call of the failover aimed at the primary Region is
/// denied, and a primary-Region resource carrying a name the parameters give is denied even
/// through the recovery Region's endpoint (the explicit deny).
#[test]
fn failover_role_reaches_nothing_in_the_primary_region() {
    let policy = policy();
    const FAILBACK: [&str; 2] = ["KeepUnplannedFailoverSnapshots", "TagTheKeptSnapshots"];
    // Failback: the old primary's system snapshot copied to Lifeboat's name, tagged with the plan;
    // no other snapshot, no delete.
    let snapshot = |id: &str| format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster-snapshot:{id}");
    let unplanned = snapshot("rds:unplanned-global-failover-phoenix-2026-11-26-09-00");
    let kept = snapshot("lifeboat-kept-unplanned-global-failover-phoenix-2026-11-26-09-00");
    assert!(allows(
        &policy,
        "rds:CopyDBClusterSnapshot",
        &unplanned,
        PRIMARY,
        &[]
    ));
    assert!(allows(
        &policy,
        "rds:CopyDBClusterSnapshot",
        &kept,
        PRIMARY,
        &[]
    ));
    assert!(!allows(
        &policy,
        "rds:CopyDBClusterSnapshot",
        &snapshot("rds:phoenix-2026-11-26-03-10"),
        PRIMARY,
        &[]
    ));
    assert!(!allows(
        &policy,
        "rds:DeleteDBClusterSnapshot",
        &unplanned,
        PRIMARY,
        &[]
    ));
    for statement in policy
        .statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| !FAILBACK.contains(&s["Sid"].as_str().unwrap_or_default()))
    {
        for resource in resolve(&statement["Resource"], &policy.params) {
            assert!(
                !resource.contains(PRIMARY),
                "a statement names the primary Region: {statement}"
            );
        }
    }
    let plan = plan();
    for target in targets(&plan) {
        for (action, resource) in promotion_requests(&target) {
            // Failback reads the global database in the primary Region (which is back by then)
            // to find the old primary's snapshot: a read, asserted above with the copy.
            if action == "rds:DescribeGlobalClusters" {
                assert!(allows(&policy, action, &resource, PRIMARY, &[]));
                continue;
            }
            // A regional resource: the primary Region's namesake, through either endpoint. A
            // global cluster (its ARN has no Region): called in the primary Region.
            let there = resource.replace(&format!(":{RECOVERY}:"), &format!(":{PRIMARY}:"));
            let regions: &[&str] = if there == resource {
                &[PRIMARY]
            } else {
                &[PRIMARY, RECOVERY]
            };
            for region in regions {
                assert!(
                    !allows(&policy, action, &there, region, &[]),
                    "{action} on {there} (called in {region}) must be denied"
                );
            }
        }
    }
    for (action, resource) in [
        (
            "cloudwatch:DescribeAlarms",
            format!("arn:aws:cloudwatch:{PRIMARY}:{ACCOUNT}:alarm:tracking-api-5xx"),
        ),
        ("cloudwatch:GetMetricStatistics", "*".to_owned()),
        ("rds:DescribeDBInstances", rds_arn(PRIMARY, "db", "orders")),
        (
            "rds:DescribeDBClusters",
            rds_arn(PRIMARY, "cluster", "phoenix-aurora"),
        ),
    ] {
        assert!(
            !allows(&policy, action, &resource, PRIMARY, &[]),
            "{action} on {resource} in the primary Region must be denied"
        );
    }
}

/// The role grants exactly the failover's calls (every AWS call `failover::calls`, the pause and
/// the records make, and nothing else), no wildcard action, each an action that exists, on
/// resources of the types the service authorization reference gives it.
#[test]
fn failover_role_grants_exactly_its_calls_on_resources_of_their_types() {
    // The calls the code names (each AWS call's error names its action).
    let mut called = BTreeSet::new();
    for file in [
        "shared/src/failover/calls.rs",
        "shared/src/pause.rs",
        "shared/src/tasks/failover.rs",
    ] {
        let text = std::fs::read_to_string(workspace_root().join(file)).expect(file);
        for quoted in text.split('"').skip(1).step_by(2) {
            let is_action = quoted.split_once(':').is_some_and(|(service, name)| {
                ["rds", "route53", "cloudwatch", "s3"].contains(&service)
                    && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && name.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if is_action {
                called.insert(quoted.to_owned());
            }
        }
    }
    assert!(
        called.len() >= 11,
        "the calls found in the code: {called:?}"
    );
    for action in &called {
        assert!(
            ACTIONS.contains(&action.as_str()),
            "the code calls {action}, the role must grant it"
        );
    }

    assert_grants_exactly_on_resources_of_their_types(&load("template.yaml"), FUNCTION, &ACTIONS);
}

// ---------------------------------------------------------------------------------------------
// Alarms and notifications.
// ---------------------------------------------------------------------------------------------

fn finished_report(failure: Option<&str>) -> FailoverReport {
    let plan = plan();
    let now = datetime!(2026-11-26 03:13 UTC);
    let header = RunHeader::start(FAILOVER, &plan, "alarm", false, now);
    FailoverReport {
        failover: FailoverRun {
            run_id: header.run_id.clone(),
            plan: PLAN.into(),
            kind: Kind::Outage,
            failback: false,
            plan_hash: "0123456789abcdef".into(),
            phase: Phase::Finished,
            triggered_at: now,
            reason: "2 of 2 alarms in ALARM for 5m".into(),
            data_loss_estimate_seconds: Some(1.5),
            approval: None,
            promotions: targets(&plan)
                .into_iter()
                .map(|target| Promotion {
                    target,
                    requested_at: Some(now),
                    writable_at: None,
                })
                .collect(),
            dns: Vec::new(),
            steps: Vec::new(),
            failure: failure.map(str::to_owned),
        },
        header,
    }
}

/// A failed failover, the function's errors and its failure queue alarm; the failure alarm
/// against what a finished run publishes (`FailoverReport::metrics`, as Embedded Metric Format):
/// a failed run fires it, a run that succeeded does not.
#[test]
fn failover_alarms_watch_failed_failovers_errors_and_the_queue() {
    let template = load("template.yaml");
    let topic = notifications_topic(&template);
    let params = deployment();
    let expected: Vec<ExpectedAlarm> = [ExpectedAlarm::on_failures("FailoversFailed", FAILOVER)]
        .into_iter()
        .chain(function_alarms(FUNCTION, FAILURES))
        .collect();
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
    for want in &expected {
        check_alarm(&alarms, want, topic, &params);
    }

    let properties = &template["Resources"]["FailoverFailedAlarm"]["Properties"];
    let metric = properties["MetricName"].as_str().expect("MetricName");
    let alarm = Alarm::of(properties, &params);
    for (failure, fires) in [
        (Some("rds:PromoteReadReplica: refused"), true),
        (None, false),
    ] {
        let published =
            published_for_alarm(properties, &finished_report(failure).metrics(), &params);
        assert_eq!(published.len(), 1, "{metric}");
        assert_eq!(alarm.fires_at(published[0]), fires, "failure {failure:?}");
    }
}

/// A `Lifeboat Failover` event as the task announces it on Lifeboat's bus.
fn failover_event(status: &str) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "8d2f6b1e-4c3a-4e7b-9f10-2a5c7d9e0b13",
        "source": EVENT_SOURCE,
        "detail-type": FAILOVER_EVENT,
        "account": ACCOUNT,
        "region": RECOVERY,
        "time": "2026-11-26T03:13:05Z",
        "resources": [],
        "detail": {
            "run_id": "20261126T031305Z-5e6f7a8b",
            "plan": PLAN,
            "status": status,
            "failback": false,
            "kind": "outage",
            "reason": "2 of 2 alarms in ALARM for 5m",
            "plan_hash": "0123456789abcdef",
            "approval": {"because": "the plan's failover mode is approval"},
            "data_loss_estimate_seconds": 1.5,
            "failure": null,
        },
    })
}

/// A failover waiting for approval and one that finished reach the topic (people must see the
/// first to approve it, and know of the second); one that merely started does not (it reaches it
/// when it finishes), nor does anything else; EventBridge may publish to the topic for this rule.
#[test]
fn failover_approval_requests_and_ends_reach_the_notifications_topic() {
    let template = load("template.yaml");
    let topic = notifications_topic(&template);
    let topic_ref = serde_json::json!({"Ref": topic});
    let rule = &template["Resources"]["FailoverEventsRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule");
    let properties = &rule["Properties"];
    assert_eq!(
        properties["EventBusName"],
        serde_json::json!({"Ref": "LifeboatBus"}),
        "the failover announces on Lifeboat's bus"
    );
    assert_ne!(properties["State"], "DISABLED");
    let targets = properties["Targets"].as_array().expect("Targets");
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["Arn"], topic_ref);
    assert!(
        targets[0].get("RoleArn").is_none(),
        "SNS targets are authorised by the topic policy"
    );

    let pattern = &properties["EventPattern"];
    for (status, notified) in [
        ("awaiting-approval", true),
        ("finished", true),
        ("started", false),
    ] {
        assert_eq!(
            pattern_matches(pattern, &failover_event(status)),
            notified,
            "a failover {status}: {pattern}"
        );
    }
    let mut foreign = failover_event("finished");
    foreign["source"] = "aws.rds".into();
    assert!(
        !pattern_matches(pattern, &foreign),
        "only Lifeboat's own events"
    );
    let mut run_finished = failover_event("finished");
    run_finished["detail-type"] = RUN_FINISHED.into();
    assert!(
        !pattern_matches(pattern, &run_finished),
        "runs are FailedRunsRule's"
    );
    let failed_runs = &template["Resources"]["FailedRunsRule"]["Properties"]["EventPattern"];
    for status in ["awaiting-approval", "finished"] {
        assert!(
            !pattern_matches(failed_runs, &failover_event(status)),
            "notified once"
        );
    }

    // The topic policy lets EventBridge publish for this rule.
    let rule_arn = serde_json::json!({"Fn::GetAtt": ["FailoverEventsRule", "Arn"]});
    let policies = resources_of_type(&template, "AWS::SNS::TopicPolicy");
    let statements = policies[0].1["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    assert!(
        statements.iter().any(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Principal"]["Service"]).contains(&"events.amazonaws.com")
                && strings(&s["Action"]).contains(&"sns:Publish")
                && s["Resource"] == topic_ref
                && s["Condition"]["ArnEquals"]["aws:SourceArn"] == rule_arn
        }),
        "no statement lets FailoverEventsRule publish to the topic"
    );
}
