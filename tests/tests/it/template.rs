//! The deployable stack, checked offline: `template.yaml` (SAM, recovery Region) and
//! `forwarder.yaml` (CloudFormation, primary Region).
//!
//! - `cfn-lint` (pinned in `tests/emulator/requirements.txt`, installed into `.venv` on first use)
//!   must pass on both templates.
//! - cfn-lint 1.x validates SAM resources against SAM's schema without running the SAM transform,
//!   and so does not look inside a function's `Policies`, `Environment` or `Events`: a misspelt IAM
//!   action or a `!Ref` to a parameter that does not exist there lints clean. The tests below close
//!   that gap (every reference resolves, every IAM action exists in cfn-lint's IAM data) and pin
//!   the facts users and docs/deploy.md rely on: runtime, architecture, triggers.
//! - The copy functions' IAM policies are *evaluated*, not read: a small evaluator (wildcard ARNs,
//!   request and resource tag conditions, other condition keys such as `iam:PassedToService`,
//!   after substituting parameters with test values) shows what copy-snapshots may copy, tag and
//!   delete, what copy-backups may start and pass, and what neither may do.
//! - Event rules are evaluated against the real payloads in `events/`, and the forwarder must
//!   forward exactly what each function's rules listen for.
//! - The notifications are evaluated the same way: the failed-run rule's event pattern against
//!   sample run events, each alarm's metric, dimensions, threshold and missing-data treatment.
//! - `checkov` (pinned, in its own virtualenv) finds no failed check in either template, and
//!   every check a resource skips says why in its `Metadata`.
//!
//! The templates are parsed with cfn-lint's own YAML loader (it understands `!Ref`, `!Sub`,
//! `!GetAtt` and turns them into their `Ref` / `Fn::*` JSON form), so no YAML crate is needed.
//! The loader, the evaluators and the deployment's values are `lifeboat_tests::template`, which
//! the verification's template tests (`template_verify.rs`) use too.

use std::collections::BTreeSet;
use std::process::Command;

use lifeboat_shared::copies::{tags, target_identifier};
use lifeboat_shared::metrics::NAMESPACE;
use lifeboat_shared::record::{EVENT_SOURCE, RUN_FINISHED, RunOutcome};
use lifeboat_shared::tasks::{COPY_BACKUPS, COPY_SNAPSHOTS};
use lifeboat_tests::template::{
    ACCOUNT, BACKUP_COPY_ROLE, ExpectedAlarm, PLAN, PRIMARY, Policy, RECOVERY, Request,
    assert_gated, assert_runs_like_the_copy_function, check_alarm, condition_holds, deployment,
    describe, evaluate_condition, event_fixture, function, function_alarms, load,
    notifications_topic, pattern_matches, policy_statements, rds_arn, resources_of_type, strings,
    template_path, triggers, unknown_iam_actions, wildcard,
};
use lifeboat_tests::venv::{tool, workspace_root};
use serde_json::Value;

/// The RDS events that mean "a snapshot now exists" (manual / automated, instance / cluster).
const SNAPSHOT_CREATED_EVENT_IDS: [&str; 4] = [
    "RDS-EVENT-0042",
    "RDS-EVENT-0091",
    "RDS-EVENT-0075",
    "RDS-EVENT-0169",
];

fn copy_function(template: &Value) -> &Value {
    function(template, "CopySnapshotsFunction")
}

fn backup_function(template: &Value) -> &Value {
    function(template, "CopyBackupsFunction")
}

fn copy_policy() -> Policy {
    Policy::of_function("CopySnapshotsFunction")
}

#[test]
fn template_passes_cfn_lint() {
    let output = Command::new(tool("cfn-lint"))
        .arg("--")
        .arg(template_path("template.yaml"))
        .arg(template_path("forwarder.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run cfn-lint: {e}"));
    assert!(
        output.status.success(),
        "cfn-lint found problems: {}",
        describe(&output)
    );
}

#[test]
fn template_declares_the_copy_function_as_documented() {
    let template = load("template.yaml");
    assert_eq!(template["Transform"], "AWS::Serverless-2016-10-31");
    let function = copy_function(&template);
    let properties = &function["Properties"];

    assert_eq!(properties["Runtime"], "provided.al2023");
    assert_eq!(properties["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(properties["Handler"], "bootstrap");
    assert_eq!(
        properties["ReservedConcurrentExecutions"], 1,
        "copy runs must not run concurrently"
    );
    assert_eq!(
        properties["Environment"]["Variables"]["LIFEBOAT_PLAN"],
        serde_json::json!({"Ref": "PlanUri"})
    );
    assert_eq!(properties["LoggingConfig"]["LogFormat"], "JSON");

    // SAM builds the workspace binary named here; it must be a package of the workspace.
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    let binary = function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .expect("BuildProperties.Binary");
    let manifest = std::fs::read_to_string(
        workspace_root()
            .join("functions")
            .join(binary)
            .join("Cargo.toml"),
    )
    .unwrap_or_else(|e| panic!("Binary {binary:?} is not a package under functions/: {e}"));
    assert!(
        manifest.contains(&format!("name = \"{binary}\"")),
        "functions/{binary}/Cargo.toml names another package"
    );

    // Triggers: the daily reconcile and the forwarded RDS events.
    let events = properties["Events"].as_object().expect("Events");
    let schedules: Vec<&Value> = events
        .values()
        .filter(|e| e["Type"] == "Schedule")
        .collect();
    assert_eq!(
        schedules.len(),
        1,
        "one `Schedule` event (an EventBridge rule: it delivers the `aws.events` / `Scheduled Event` \
         envelope the function recognises; EventBridge Scheduler's ScheduleV2 does not): {events:?}"
    );
    assert_eq!(
        schedules[0]["Properties"]["Schedule"],
        serde_json::json!({"Ref": "CopyScheduleExpression"})
    );

    let rules: Vec<&Value> = events
        .values()
        .filter(|e| e["Type"] == "EventBridgeRule")
        .collect();
    assert_eq!(rules.len(), 1, "one EventBridgeRule event: {events:?}");
    let rule = &rules[0]["Properties"];
    assert_eq!(
        rule["EventBusName"],
        serde_json::json!({"Ref": "LifeboatBus"}),
        "the rule listens on Lifeboat's bus"
    );
    let pattern = &rule["Pattern"];
    assert_eq!(strings(&pattern["source"]), ["aws.rds"]);
    let event_ids: BTreeSet<&str> = strings(&pattern["detail"]["EventID"]).into_iter().collect();
    assert_eq!(event_ids, BTreeSet::from(SNAPSHOT_CREATED_EVENT_IDS));

    // Failures after retries are kept, not lost.
    let invoke = &properties["EventInvokeConfig"];
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"]["Destination"],
        serde_json::json!({"Fn::GetAtt": ["CopySnapshotsFailures", "Arn"]})
    );
}

#[test]
fn forwarder_forwards_exactly_what_the_function_listens_for() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let forward_rules = resources_of_type(&forwarder, "AWS::Events::Rule");

    // Every event rule of the copy functions listens on Lifeboat's bus, where only forwarded
    // events arrive; each has a forwarding rule with exactly its pattern (a narrower forwarder
    // would starve the function, a wider one would forward events nobody reads). The
    // verification's rules listen to this Region's own events on its default bus, and nothing
    // forwards to them (template_verify.rs). Nor to the failover's alarm rule: the plan's alarms
    // live in the recovery Region (template_failover.rs).
    let mut covered = Vec::new();
    for (name, resource) in resources_of_type(&template, "AWS::Serverless::Function") {
        for (event_name, event) in resource["Properties"]["Events"]
            .as_object()
            .expect("Events")
        {
            if event["Type"] != "EventBridgeRule" {
                continue;
            }
            if ["VerifyRestoreFunction", "FailoverFunction"].contains(&name.as_str())
                && event["Properties"].get("EventBusName").is_none()
            {
                let listened = &event["Properties"]["Pattern"];
                assert!(
                    forward_rules
                        .iter()
                        .all(|(_, rule)| &rule["Properties"]["EventPattern"] != listened),
                    "{name}.{event_name} listens to the recovery Region's own events: \
                     forwarder.yaml must not forward them"
                );
                continue;
            }
            assert_eq!(
                event["Properties"]["EventBusName"],
                serde_json::json!({"Ref": "LifeboatBus"}),
                "{name}.{event_name} listens on Lifeboat's bus"
            );
            let listened = &event["Properties"]["Pattern"];
            let forwarding: Vec<&String> = forward_rules
                .iter()
                .filter(|(_, rule)| &rule["Properties"]["EventPattern"] == listened)
                .map(|(rule_name, _)| *rule_name)
                .collect();
            assert_eq!(
                forwarding.len(),
                1,
                "forwarder.yaml must forward {name}.{event_name}'s pattern exactly once: {listened}"
            );
            covered.push(format!("{name}.{event_name} <- {}", forwarding[0]));
        }
    }
    assert!(
        covered
            .iter()
            .any(|c| c == "CopySnapshotsFunction.RdsSnapshotCreated <- RdsSnapshotForwardRule"),
        "{covered:?}"
    );
    for event in ["BackupJobCompleted", "CopyJobEnded"] {
        assert!(
            covered
                .iter()
                .any(|c| c.starts_with(&format!("CopyBackupsFunction.{event} <- "))),
            "{event} is not forwarded: {covered:?}"
        );
    }
    assert_eq!(
        covered.len(),
        forward_rules.len(),
        "a forwarding rule that no function listens for: {covered:?}"
    );

    for (rule_name, rule) in &forward_rules {
        let rule = &rule["Properties"];
        assert_eq!(
            rule["EventBusName"], "default",
            "{rule_name}: RDS and AWS Backup emit their events on the primary Region's default bus"
        );
        let target = &rule["Targets"][0];
        assert_eq!(target["Arn"], serde_json::json!({"Ref": "LifeboatBusArn"}));
        assert!(
            target["RoleArn"].is_object(),
            "{rule_name}: a cross-Region bus target needs a role"
        );
    }

    let outputs = template["Outputs"].as_object().expect("Outputs");
    assert_eq!(
        outputs["LifeboatBusArn"]["Value"],
        serde_json::json!({"Fn::GetAtt": ["LifeboatBus", "Arn"]})
    );
}

/// Every `Ref`, `Fn::GetAtt` and `${...}` of `Fn::Sub` in both templates names a parameter, a
/// resource, a pseudo parameter or a `Fn::Sub` variable (cfn-lint skips SAM function properties).
#[test]
fn every_reference_resolves() {
    for name in ["template.yaml", "forwarder.yaml"] {
        let template = load(name);
        let mut known: BTreeSet<String> = [
            "AWS::AccountId",
            "AWS::Partition",
            "AWS::Region",
            "AWS::StackName",
            "AWS::StackId",
            "AWS::URLSuffix",
            "AWS::NoValue",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for section in ["Parameters", "Resources"] {
            if let Some(entries) = template[section].as_object() {
                known.extend(entries.keys().cloned());
            }
        }
        let mut unknown = Vec::new();
        check_references(&template["Resources"], &known, &mut unknown);
        check_references(&template["Outputs"], &known, &mut unknown);
        assert!(
            unknown.is_empty(),
            "{name}: references to nothing: {unknown:?}"
        );
    }
}

fn check_references(value: &Value, known: &BTreeSet<String>, unknown: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("Ref", Value::String(target)) if !known.contains(target) => {
                        unknown.push(format!("Ref {target}"))
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(target) = parts.first().and_then(Value::as_str)
                            && !known.contains(target)
                        {
                            unknown.push(format!("GetAtt {target}"));
                        }
                    }
                    ("Fn::Sub", Value::String(text)) => check_sub(text, known, unknown),
                    ("Fn::Sub", Value::Array(parts)) => {
                        let mut scope = known.clone();
                        if let Some(variables) = parts.get(1).and_then(Value::as_object) {
                            scope.extend(variables.keys().cloned());
                            for variable in variables.values() {
                                check_references(variable, known, unknown);
                            }
                        }
                        if let Some(text) = parts.first().and_then(Value::as_str) {
                            check_sub(text, &scope, unknown);
                        }
                        continue;
                    }
                    _ => {}
                }
                check_references(inner, known, unknown);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| check_references(item, known, unknown)),
        _ => {}
    }
}

fn check_sub(text: &str, known: &BTreeSet<String>, unknown: &mut Vec<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let variable = &after[..end];
        // `${!Literal}` is an escaped dollar; `${Resource.Attribute}` names a resource.
        let target = variable.split('.').next().unwrap_or(variable);
        if !variable.starts_with('!') && !known.contains(target) {
            unknown.push(format!("Sub ${{{variable}}}"));
        }
        rest = &after[end + 1..];
    }
}

/// Every IAM action the templates grant exists (a typo would lint clean inside a SAM function and
/// fail only in AWS, as AccessDenied, at the worst time). Checked against the IAM data that
/// cfn-lint ships; wildcards such as `kms:ReEncrypt*` must match at least one action.
#[test]
fn every_iam_action_exists() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let mut actions = BTreeSet::new();
    for statement in policy_statements(copy_function(&template))
        .into_iter()
        .chain(policy_statements(backup_function(&template)))
    {
        actions.extend(strings(&statement["Action"]).into_iter().map(String::from));
    }
    let role_policies = forwarder["Resources"]["ForwarderRole"]["Properties"]["Policies"]
        .as_array()
        .expect("ForwarderRole policies");
    for policy in role_policies {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .expect("Statement list")
        {
            actions.extend(strings(&statement["Action"]).into_iter().map(String::from));
        }
    }
    assert!(
        actions.len() > 10,
        "found too few actions to be checking the right thing: {actions:?}"
    );
    let unknown = unknown_iam_actions(actions.iter().map(String::as_str));
    assert!(
        unknown.is_empty(),
        "IAM actions that do not exist:\n{unknown}"
    );
}

// ---------------------------------------------------------------------------------------------
// Evaluating the templates: parameters, IAM statements, event patterns, conditions.
// ---------------------------------------------------------------------------------------------

#[test]
fn iam_evaluator_matches_like_iam() {
    assert!(wildcard(
        "arn:aws:rds:*:1:snapshot:lifeboat-*",
        "arn:aws:rds:us-east-2:1:snapshot:lifeboat-x"
    ));
    assert!(!wildcard(
        "arn:aws:rds:us-east-2:1:snapshot:lifeboat-*",
        "arn:aws:rds:us-east-2:1:snapshot:my-manual"
    ));
    assert!(wildcard("kms:reencrypt*", "kms:reencryptfrom"));
    assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
    let tagged = [("lifeboat:plan", "tracking")];
    assert!(evaluate_condition(
        "StringEquals",
        &["tracking".into()],
        &["tracking".into()]
    ));
    assert!(!evaluate_condition(
        "StringEquals",
        &[],
        &["tracking".into()]
    ));
    assert!(evaluate_condition(
        "StringEqualsIfExists",
        &[],
        &["tracking".into()]
    ));
    assert!(!evaluate_condition(
        "StringEqualsIfExists",
        &["other".into()],
        &["tracking".into()]
    ));
    let request = Request {
        action: "rds:AddTagsToResource",
        resource: "x",
        request_tags: &tagged,
        context: &[],
        resource_tags: &[],
    };
    assert_eq!(request.values("aws:RequestTag/lifeboat:plan"), ["tracking"]);
    assert!(request.values("aws:ResourceTag/lifeboat:plan").is_empty());
    assert!(request.values("iam:PassedToService").is_empty());
    let passing = Request {
        action: "iam:PassRole",
        resource: "x",
        request_tags: &[],
        resource_tags: &[],
        context: &[("iam:PassedToService", "backup.amazonaws.com")],
    };
    assert_eq!(
        passing.values("iam:passedtoservice"),
        ["backup.amazonaws.com"],
        "condition keys are case-insensitive"
    );
}

/// What the copy function does, allowed: read a source in the primary Region, create a tagged
/// copy under Lifeboat's name in the recovery Region (CopyDBSnapshot with Tags is also authorised
/// as AddTagsToResource on the new copy), name an option group, prune its own copy.
#[test]
fn copy_role_allows_what_the_copy_task_does() {
    let policy = copy_policy();
    let plan_tag = [(tags::PLAN, PLAN)];
    for (kind, copy_action, delete_action, source_id) in [
        (
            "snapshot",
            "rds:CopyDBSnapshot",
            "rds:DeleteDBSnapshot",
            "rds:orders-2026-11-25-03-10",
        ),
        (
            "cluster-snapshot",
            "rds:CopyDBClusterSnapshot",
            "rds:DeleteDBClusterSnapshot",
            "rds:phoenix-aurora-2026-11-25-03-10",
        ),
    ] {
        let source = rds_arn(PRIMARY, kind, source_id);
        let target = rds_arn(RECOVERY, kind, &target_identifier(&source, source_id));
        let allowed = [
            (copy_action, source.as_str(), &plan_tag[..], &[][..]),
            (copy_action, target.as_str(), &plan_tag[..], &[][..]),
            (
                "rds:AddTagsToResource",
                target.as_str(),
                &plan_tag[..],
                &[][..],
            ),
            (delete_action, target.as_str(), &[][..], &plan_tag[..]),
        ];
        for (action, resource, request_tags, resource_tags) in allowed {
            assert!(
                policy.allows(&Request {
                    action,
                    resource,
                    request_tags,
                    context: &[],
                    resource_tags
                }),
                "{action} on {resource} (request tags {request_tags:?}, resource tags \
                 {resource_tags:?}) must be allowed: the copy task does it"
            );
        }
    }
    let option_group = rds_arn(RECOVERY, "og", "sqlserver-tde-dr");
    assert!(policy.allows(&Request {
        action: "rds:CopyDBSnapshot",
        resource: &option_group,
        request_tags: &plan_tag,
        context: &[],
        resource_tags: &[],
    }));
}

/// Copies only under Lifeboat's names in the recovery Region, and only tagged as this plan's.
#[test]
fn copy_role_creates_copies_only_under_lifeboat_names_tagged_with_its_plan() {
    let policy = copy_policy();
    let target = rds_arn(RECOVERY, "snapshot", "lifeboat-x");
    for (what, resource, request_tags) in [
        ("an untagged copy", target.as_str(), &[][..]),
        (
            "a copy claiming another plan",
            target.as_str(),
            &[(tags::PLAN, "orders")][..],
        ),
        (
            "a copy under a name that is not Lifeboat's",
            &*rds_arn(RECOVERY, "snapshot", "my-copy"),
            &[(tags::PLAN, PLAN)][..],
        ),
    ] {
        for action in ["rds:CopyDBSnapshot", "rds:AddTagsToResource"] {
            assert!(
                !policy.allows(&Request {
                    action,
                    resource,
                    request_tags,
                    context: &[],
                    resource_tags: &[]
                }),
                "{what}: {action} on {resource} with {request_tags:?} must be denied"
            );
        }
    }
    // And the allowed case next to them, so the denials are not an accident of the ARN.
    assert!(policy.allows(&Request {
        action: "rds:CopyDBSnapshot",
        resource: &target,
        request_tags: &[(tags::PLAN, PLAN)],
        context: &[],
        resource_tags: &[],
    }));
}

/// Pruning can't reach a hand-made snapshot, another plan's copy, or the primary Region.
#[test]
fn copy_role_deletes_only_its_own_plans_copies_in_the_recovery_region() {
    let policy = copy_policy();
    for (kind, action) in [
        ("snapshot", "rds:DeleteDBSnapshot"),
        ("cluster-snapshot", "rds:DeleteDBClusterSnapshot"),
    ] {
        // A hand-made snapshot matches no delete statement at all, whatever its tags.
        let manual = rds_arn(RECOVERY, kind, "my-manual");
        assert!(
            policy.matching(action, &manual).is_empty(),
            "{action} statements match the hand-made {manual}: {:?}",
            policy.matching(action, &manual)
        );
        let own = rds_arn(RECOVERY, kind, "lifeboat-orders-1a2b3c4d");
        let primary_copy = rds_arn(PRIMARY, kind, "lifeboat-orders-1a2b3c4d");
        for (what, resource, resource_tags) in [
            (
                "a hand-made snapshot carrying the plan's tag",
                manual.as_str(),
                &[(tags::PLAN, PLAN)][..],
            ),
            (
                "another plan's copy",
                own.as_str(),
                &[(tags::PLAN, "orders")][..],
            ),
            ("an untagged lifeboat-* snapshot", own.as_str(), &[][..]),
            (
                "a snapshot in the primary Region",
                primary_copy.as_str(),
                &[(tags::PLAN, PLAN)][..],
            ),
        ] {
            assert!(
                !policy.allows(&Request {
                    action,
                    resource,
                    request_tags: &[],
                    context: &[],
                    resource_tags
                }),
                "{what}: {action} on {resource} (tags {resource_tags:?}) must be denied"
            );
        }
        assert!(
            policy.allows(&Request {
                action,
                resource: &own,
                request_tags: &[],
                context: &[],
                resource_tags: &[(tags::PLAN, PLAN)],
            }),
            "{action} of the plan's own copy {own} must be allowed (pruning)"
        );
    }
}

/// Tagging could otherwise make anything look like the plan's copy, and so deletable.
#[test]
fn copy_role_tags_nothing_in_the_primary_region_nor_what_is_not_its_own() {
    let policy = copy_policy();
    let plan_tag = [(tags::PLAN, PLAN)];
    for arn in [
        rds_arn(PRIMARY, "snapshot", "lifeboat-x"),
        rds_arn(PRIMARY, "snapshot", "rds:orders-2026-11-25-03-10"),
        rds_arn(PRIMARY, "cluster-snapshot", "lifeboat-x"),
        rds_arn(PRIMARY, "cluster-snapshot", "phoenix-manual"),
        rds_arn(PRIMARY, "db", "orders"),
        rds_arn(PRIMARY, "cluster", "phoenix-aurora"),
        rds_arn(PRIMARY, "og", "sqlserver-tde"),
    ] {
        assert!(
            policy.matching("rds:AddTagsToResource", &arn).is_empty(),
            "a statement allows tagging {arn} in the primary Region: {:?}",
            policy.matching("rds:AddTagsToResource", &arn)
        );
        assert!(!policy.allows(&Request {
            action: "rds:AddTagsToResource",
            resource: &arn,
            request_tags: &plan_tag,
            context: &[],
            resource_tags: &plan_tag,
        }));
    }
    for (what, resource, resource_tags) in [
        (
            "a hand-made snapshot",
            rds_arn(RECOVERY, "snapshot", "my-manual"),
            &[][..],
        ),
        (
            "another plan's copy",
            rds_arn(RECOVERY, "cluster-snapshot", "lifeboat-x"),
            &[(tags::PLAN, "orders")][..],
        ),
        (
            "a database",
            rds_arn(RECOVERY, "db", "orders-restored"),
            &[][..],
        ),
    ] {
        assert!(
            !policy.allows(&Request {
                action: "rds:AddTagsToResource",
                resource: &resource,
                request_tags: &plan_tag,
                context: &[],
                resource_tags,
            }),
            "tagging {what} ({resource}) as the plan's must be denied"
        );
    }
}

/// A `Lifeboat Run Finished` event as `record::publish` puts it on the bus.
fn run_finished_event(outcome: RunOutcome) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "source": EVENT_SOURCE,
        "detail-type": RUN_FINISHED,
        "account": ACCOUNT,
        "region": RECOVERY,
        "time": "2026-11-25T05:00:40Z",
        "resources": [],
        "detail": {
            "run_id": "20261125T050012Z-3f9c",
            "task": COPY_SNAPSHOTS,
            "plan": PLAN,
            "trigger": "schedule",
            "outcome": serde_json::to_value(outcome).expect("outcome serialises"),
            "started_at": "2026-11-25T05:00:12Z",
            "summary": {"started": 2, "failed": 1},
            "report": {"bucket": "tracking-dr-state", "json": "runs/tracking/copy-snapshots/latest.json"},
        },
    })
}

/// Failed and partial runs reach the topic, successful ones do not; EventBridge may publish to
/// the (encrypted) topic for that rule; an e-mail subscription exists exactly when an address is
/// given.
#[test]
fn failed_and_partial_runs_reach_the_notifications_topic() {
    let template = load("template.yaml");
    let topic = notifications_topic(&template);
    let topic_ref = serde_json::json!({"Ref": topic});

    // Two rules send to the topic: this one, for runs, and the failover's for its approvals and
    // ends (template_failover.rs).
    let to_topic: Vec<(&String, &Value)> = resources_of_type(&template, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, rule)| {
            rule["Properties"]["Targets"]
                .as_array()
                .is_some_and(|targets| targets.iter().any(|t| t["Arn"] == topic_ref))
        })
        .collect();
    let mut names: Vec<&str> = to_topic.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["FailedRunsRule", "FailoverEventsRule"],
        "the rules that send to the topic {topic}"
    );
    let rules: Vec<(&String, &Value)> = to_topic
        .iter()
        .copied()
        .filter(|(_, rule)| {
            strings(&rule["Properties"]["EventPattern"]["detail-type"]).contains(&RUN_FINISHED)
        })
        .collect();
    assert_eq!(rules.len(), 1, "one rule sends failed runs: {rules:?}");
    let (rule_name, rule) = rules[0];
    let properties = &rule["Properties"];
    assert_eq!(
        properties["EventBusName"],
        serde_json::json!({"Ref": "LifeboatBus"}),
        "runs publish on Lifeboat's bus"
    );
    assert_ne!(properties["State"], "DISABLED");
    let pattern = &properties["EventPattern"];
    for (outcome, notified) in [
        (RunOutcome::Failed, true),
        (RunOutcome::Partial, true),
        (RunOutcome::Succeeded, false),
    ] {
        assert_eq!(
            pattern_matches(pattern, &run_finished_event(outcome)),
            notified,
            "a run with outcome {outcome} must {}be notified; pattern {pattern}",
            if notified { "" } else { "not " }
        );
    }
    let mut foreign = run_finished_event(RunOutcome::Failed);
    foreign["source"] = "aws.rds".into();
    assert!(
        !pattern_matches(pattern, &foreign),
        "only Lifeboat's own run events are notified"
    );
    let target = properties["Targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["Arn"] == topic_ref))
        .expect("the topic target");
    assert!(
        target.get("RoleArn").is_none(),
        "SNS targets are authorised by the topic policy; a RoleArn breaks encrypted topics"
    );

    // The topic policy lets EventBridge publish, for these rules only, this one included.
    let policies: Vec<&Value> = resources_of_type(&template, "AWS::SNS::TopicPolicy")
        .into_iter()
        .map(|(_, p)| &p["Properties"])
        .filter(|p| {
            p["Topics"]
                .as_array()
                .is_some_and(|t| t.contains(&topic_ref))
        })
        .collect();
    assert_eq!(policies.len(), 1, "one policy on the topic");
    let rule_arn = serde_json::json!({"Fn::GetAtt": [rule_name, "Arn"]});
    let rule_arns: Vec<Value> = to_topic
        .iter()
        .map(|(name, _)| serde_json::json!({"Fn::GetAtt": [name, "Arn"]}))
        .collect();
    let mut scoped_to = Vec::new();
    let statements = policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    let from_events: Vec<&Value> = statements
        .iter()
        .filter(|s| strings(&s["Principal"]["Service"]).contains(&"events.amazonaws.com"))
        .collect();
    assert!(
        !from_events.is_empty(),
        "no statement lets EventBridge publish"
    );
    for statement in from_events {
        assert_eq!(statement["Effect"], "Allow");
        assert!(strings(&statement["Action"]).contains(&"sns:Publish"));
        assert_eq!(statement["Resource"], topic_ref);
        let source = statement["Condition"]
            .as_object()
            .and_then(|c| {
                c.iter()
                    .filter(|(op, _)| op.starts_with("ArnEquals") || op.starts_with("StringEquals"))
                    .find_map(|(_, keys)| keys.get("aws:SourceArn"))
            })
            .unwrap_or_else(|| {
                panic!("EventBridge's publish is not scoped to the rule: {statement}")
            });
        assert!(
            rule_arns.contains(source),
            "scoped to a rule that does not send to the topic: {source}"
        );
        scoped_to.push(source.clone());
    }
    assert!(
        scoped_to.contains(&rule_arn),
        "no statement lets {rule_name} publish"
    );
    assert!(
        statements
            .iter()
            .any(|s| strings(&s["Principal"]["Service"]).contains(&"cloudwatch.amazonaws.com")),
        "no statement lets CloudWatch alarms publish"
    );

    // An encrypted topic needs a key whose policy lets both publishers use it.
    let topic_properties = &template["Resources"][topic]["Properties"];
    if let Some(key_ref) = topic_properties.get("KmsMasterKeyId") {
        let key = key_ref["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("the topic's key must be the stack's own (AWS managed keys refuse EventBridge): {key_ref}"));
        let key_statements = template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
            .as_array()
            .expect("key policy statements");
        for service in ["events.amazonaws.com", "cloudwatch.amazonaws.com"] {
            let grants = |action: &str| {
                key_statements.iter().any(|s| {
                    s["Effect"] == "Allow"
                        && strings(&s["Principal"]["Service"]).contains(&service)
                        && strings(&s["Action"]).iter().any(|a| {
                            wildcard(&a.to_ascii_lowercase(), &action.to_ascii_lowercase())
                        })
                })
            };
            assert!(
                grants("kms:GenerateDataKey") && grants("kms:Decrypt"),
                "the topic's key does not let {service} publish"
            );
        }
    }

    // The e-mail subscription, exactly when an address is given.
    let subscriptions = resources_of_type(&template, "AWS::SNS::Subscription");
    assert_eq!(subscriptions.len(), 1, "one e-mail subscription");
    let subscription = subscriptions[0].1;
    assert_eq!(subscription["Properties"]["TopicArn"], topic_ref);
    assert_eq!(subscription["Properties"]["Protocol"], "email");
    assert_eq!(
        subscription["Properties"]["Endpoint"],
        serde_json::json!({"Ref": "NotificationEmail"})
    );
    let condition_name = subscription["Condition"]
        .as_str()
        .expect("the subscription is conditional");
    let condition = &template["Conditions"][condition_name];
    for (email, subscribed) in [("", false), ("dr-oncall@example.com", true)] {
        let mut params = deployment();
        params.insert("NotificationEmail", email.to_owned());
        assert_eq!(
            condition_holds(&template, condition, &params),
            subscribed,
            "NotificationEmail={email:?}"
        );
    }
    assert_eq!(
        template["Parameters"]["NotificationEmail"]["Default"], "",
        "no subscription unless asked for"
    );
}

#[test]
fn alarms_watch_failures_copy_lag_errors_and_the_failure_queue() {
    let template = load("template.yaml");
    let topic = notifications_topic(&template);
    let mut params = deployment();
    let lag_threshold: f64 = template["Parameters"]["CopyLagThresholdSeconds"]["Default"]
        .as_f64()
        .expect("CopyLagThresholdSeconds has a numeric default");
    params.insert("CopyLagThresholdSeconds", lag_threshold.to_string());
    let backup_lag_threshold: f64 =
        template["Parameters"]["BackupCopyLagThresholdSeconds"]["Default"]
            .as_f64()
            .expect("BackupCopyLagThresholdSeconds has a numeric default");
    // Distinct from the snapshot threshold here, so that each alarm is seen to use its own.
    let backup_lag_threshold = backup_lag_threshold + 7200.0;
    params.insert(
        "BackupCopyLagThresholdSeconds",
        backup_lag_threshold.to_string(),
    );
    let expected = [
        ExpectedAlarm::on_failures("CopiesFailed", COPY_SNAPSHOTS),
        ExpectedAlarm::on_failures("PrunesFailed", COPY_SNAPSHOTS),
        ExpectedAlarm {
            namespace: NAMESPACE,
            metric: "CopyLagSeconds",
            dimensions: serde_json::json!([{"Name": "Plan", "Value": {"Ref": "PlanName"}}]),
            statistic: "Maximum",
            fires_at: lag_threshold + 1.0,
            quiet_at: lag_threshold - 1.0,
            missing_data: "breaching",
        },
        // The AWS Backup copy (copy-backups), with the metrics `BackupReport::metrics` publishes.
        ExpectedAlarm::on_failures("CopyJobsFailed", COPY_BACKUPS),
        ExpectedAlarm {
            namespace: NAMESPACE,
            metric: "BackupCopyLagSeconds",
            dimensions: serde_json::json!([{"Name": "Plan", "Value": {"Ref": "PlanName"}}]),
            statistic: "Maximum",
            fires_at: backup_lag_threshold + 1.0,
            quiet_at: backup_lag_threshold - 1.0,
            missing_data: "breaching",
        },
    ];
    let expected = expected
        .into_iter()
        .chain(function_alarms(
            "CopySnapshotsFunction",
            "CopySnapshotsFailures",
        ))
        .chain(function_alarms(
            "CopyBackupsFunction",
            "CopyBackupsFailures",
        ))
        .collect::<Vec<_>>();
    // The verification's alarms (Condition: VerifyRestore) are template_verify.rs's, the
    // failover's (Condition: Failover) template_failover.rs's.
    let alarms: Vec<(&String, &Value)> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| {
            !["VerifyRestore", "Failover"]
                .contains(&alarm["Condition"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        alarms.len(),
        expected.len(),
        "every alarm is one of the expected ones: {:?}",
        alarms.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for want in expected {
        check_alarm(&alarms, &want, topic, &params);
    }
}

// ---------------------------------------------------------------------------------------------
// The AWS Backup copy (copy-backups): function, rules, role, and when it exists.
// ---------------------------------------------------------------------------------------------

#[test]
fn template_declares_the_backup_copy_function_as_documented() {
    let template = load("template.yaml");
    assert_eq!(backup_function(&template)["Condition"], "CopyBackups");
    // Runs as the snapshot copy does, its failures in its own queue.
    let properties = assert_runs_like_the_copy_function(
        &template,
        "CopyBackupsFunction",
        "copy-backups",
        "CopyBackupsFailures",
    );
    assert_eq!(
        properties["ReservedConcurrentExecutions"], 1,
        "backup copy runs must not run concurrently (one count of the copy job places)"
    );

    // Triggers: its own daily reconcile and the two AWS Backup rules on Lifeboat's bus.
    let (schedules, rules) = triggers(properties);
    assert_eq!(
        schedules,
        [&serde_json::json!({"Ref": "BackupCopyScheduleExpression"})]
    );
    let names: Vec<&String> = rules.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["BackupJobCompleted", "CopyJobEnded"], "{rules:?}");
    for (rule, rule_properties) in rules {
        assert_eq!(
            rule_properties["EventBusName"],
            serde_json::json!({"Ref": "LifeboatBus"}),
            "{rule} listens on Lifeboat's bus"
        );
    }
}

/// The rules' patterns, evaluated against AWS's own payloads (`events/`): a completed backup job
/// and a copy job that ended without a full copy reach the function, nothing else of AWS Backup
/// does; and what reaches it is what the task acts on (the trigger reads it, not ignores it).
#[test]
fn backup_rules_match_exactly_the_aws_backup_events_the_task_acts_on() {
    use lifeboat_shared::backup::JobState;
    use lifeboat_shared::trigger::Trigger;

    let template = load("template.yaml");
    let events = &backup_function(&template)["Properties"]["Events"];
    let backup_rule = &events["BackupJobCompleted"]["Properties"]["Pattern"];
    let copy_rule = &events["CopyJobEnded"]["Properties"]["Pattern"];

    let completed = event_fixture("backup-job-completed.json");
    let copy_failed = event_fixture("copy-job-failed.json");
    let with_state = |event: &Value, state: &str| {
        let mut event = event.clone();
        event["detail"]["state"] = state.into();
        event
    };
    let mut cases: Vec<(String, Value, bool, bool)> = vec![
        (
            "backup job COMPLETED".into(),
            completed.clone(),
            true,
            false,
        ),
        ("copy job FAILED".into(), copy_failed.clone(), false, true),
    ];
    for state in [
        "CREATED", "PENDING", "RUNNING", "FAILED", "ABORTED", "EXPIRED",
    ] {
        cases.push((
            format!("backup job {state}"),
            with_state(&completed, state),
            false,
            false,
        ));
    }
    for (state, acted_on) in [
        ("PARTIAL", true),
        ("ABORTED", true),
        ("CREATED", false),
        ("RUNNING", false),
        ("COMPLETED", false),
    ] {
        cases.push((
            format!("copy job {state}"),
            with_state(&copy_failed, state),
            false,
            acted_on,
        ));
    }
    for name in [
        "rds-snapshot-created.json",
        "schedule.json",
        "cloudwatch-alarm-state-change.json",
    ] {
        cases.push((name.into(), event_fixture(name), false, false));
    }
    let mut restore = with_state(&completed, "COMPLETED");
    restore["detail-type"] = "Restore Job State Change".into();
    cases.push(("restore job COMPLETED".into(), restore, false, false));

    for (what, event, by_backup_rule, by_copy_rule) in cases {
        assert_eq!(
            pattern_matches(backup_rule, &event),
            by_backup_rule,
            "{what}: BackupJobCompleted {backup_rule}"
        );
        assert_eq!(
            pattern_matches(copy_rule, &event),
            by_copy_rule,
            "{what}: CopyJobEnded {copy_rule}"
        );
        if by_backup_rule || by_copy_rule {
            let trigger = Trigger::from_event(&event).unwrap_or_else(|e| panic!("{what}: {e}"));
            let acted_on = match &trigger {
                Trigger::BackupJobCompleted { .. } => by_backup_rule,
                Trigger::CopyJobChanged { state, .. } => {
                    by_copy_rule && JobState::parse(state).is_failure()
                }
                _ => false,
            };
            assert!(
                acted_on,
                "{what} reaches the function but reads as {trigger:?}"
            );
        }
    }
}

/// Recovery point ARNs as AWS Backup names them (the service's own ARN: an AMI, an EBS snapshot,
/// an RDS snapshot; or a backup recovery point for EFS, DynamoDB, S3, …) in `region`.
fn recovery_points(region: &str) -> Vec<String> {
    vec![
        format!("arn:aws:ec2:{region}::image/ami-0f1e2d3c4b5a69788"),
        format!("arn:aws:ec2:{region}::snapshot/snap-03886bc8d6ef3a1f9"),
        format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:awsbackup:job-4ece7121-d60e-00c2"),
        format!("arn:aws:rds:{region}:{ACCOUNT}:cluster-snapshot:awsbackup:job-1a2bcd34"),
        format!("arn:aws:backup:{region}:{ACCOUNT}:recovery-point:1EB3B5E7-9EB0-435A-A80B"),
    ]
}

/// What the backup copy task does, allowed: list the copy jobs and a source vault's recovery
/// points, start a copy job of a primary-Region recovery point passing the plan's role to AWS
/// Backup, keep its lease and records, publish its run.
#[test]
fn backup_copy_role_allows_what_the_backup_task_does() {
    let policy = Policy::of_function("CopyBackupsFunction");
    let to_backup = [("iam:PassedToService", "backup.amazonaws.com")];
    let source_vault = format!("arn:aws:backup:{PRIMARY}:{ACCOUNT}:backup-vault:Default");
    let lease =
        format!("arn:aws:s3:::tracking-dr-state/locks/{ACCOUNT}/{RECOVERY}/copy-backups.json");
    let record = "arn:aws:s3:::tracking-dr-state/runs/tracking/copy-backups/latest.json";
    let mut allowed = vec![
        ("backup:ListCopyJobs", "*".to_owned(), &[][..]),
        (
            "backup:ListRecoveryPointsByBackupVault",
            source_vault,
            &[][..],
        ),
        ("iam:PassRole", BACKUP_COPY_ROLE.to_owned(), &to_backup[..]),
        ("s3:GetObject", lease.clone(), &[][..]),
        ("s3:PutObject", lease.clone(), &[][..]),
        ("s3:DeleteObject", lease, &[][..]),
        ("s3:PutObject", record.to_owned(), &[][..]),
        (
            "s3:GetObject",
            "arn:aws:s3:::tracking-dr-state/plan.toml".to_owned(),
            &[][..],
        ),
        (
            "s3:ListBucket",
            "arn:aws:s3:::tracking-dr-state".to_owned(),
            &[][..],
        ),
    ];
    for point in recovery_points(PRIMARY) {
        allowed.push(("backup:StartCopyJob", point, &[][..]));
    }
    for (action, resource, context) in &allowed {
        assert!(
            policy.allows(&Request::with_context(action, resource, context)),
            "{action} on {resource} ({context:?}) must be allowed: the backup copy does it"
        );
    }
    // The run event goes to Lifeboat's bus (its ARN is only known once deployed).
    assert!(
        policy.publishes_on_lifeboats_bus(),
        "events:PutEvents on LifeboatBus"
    );
}

/// PassRole is the dangerous one: only the plan's copy role, and only to AWS Backup.
#[test]
fn backup_copy_role_passes_only_the_plans_role_and_only_to_aws_backup() {
    let policy = Policy::of_function("CopyBackupsFunction");
    for (what, role, context) in [
        (
            "the plan's role to EC2",
            BACKUP_COPY_ROLE,
            &[("iam:PassedToService", "ec2.amazonaws.com")][..],
        ),
        (
            "the plan's role to Lambda",
            BACKUP_COPY_ROLE,
            &[("iam:PassedToService", "lambda.amazonaws.com")][..],
        ),
        (
            "AWS Backup's restore testing service",
            BACKUP_COPY_ROLE,
            &[(
                "iam:PassedToService",
                "restore-testing.backup.amazonaws.com",
            )][..],
        ),
        (
            "the plan's role, no service named",
            BACKUP_COPY_ROLE,
            &[][..],
        ),
        (
            "another role to AWS Backup",
            "arn:aws:iam::111122223333:role/Admin",
            &[("iam:PassedToService", "backup.amazonaws.com")][..],
        ),
        (
            "a role of another account to AWS Backup",
            "arn:aws:iam::444455556666:role/service-role/AWSBackupDefaultServiceRole",
            &[("iam:PassedToService", "backup.amazonaws.com")][..],
        ),
    ] {
        assert!(
            !policy.allows(&Request::with_context("iam:PassRole", role, context)),
            "passing {what} ({role}, {context:?}) must be denied"
        );
    }
    // The copy-snapshots role passes no role and touches no AWS Backup resource at all.
    let snapshots = copy_policy();
    for action in ["iam:PassRole", "backup:StartCopyJob", "backup:ListCopyJobs"] {
        assert!(
            snapshots.matching(action, BACKUP_COPY_ROLE).is_empty()
                && snapshots.matching(action, "*").is_empty(),
            "copy-snapshots' role grants {action}"
        );
    }
}

/// The backup copy changes nothing in AWS Backup but starting copy jobs: no delete, no policy,
/// lifecycle, lock or restore, in either Region; and it copies from the primary Region only.
#[test]
fn backup_copy_role_deletes_nothing_and_copies_only_from_the_primary_region() {
    let policy = Policy::of_function("CopyBackupsFunction");
    for statement in &policy.statements {
        for action in strings(&statement["Action"]) {
            assert!(
                !action.contains('*'),
                "a wildcard action grants more than the task calls: {statement}"
            );
        }
    }
    for point in recovery_points(RECOVERY) {
        assert!(
            !policy.allows(&Request::with_context("backup:StartCopyJob", &point, &[])),
            "StartCopyJob of the recovery Region's {point} must be denied"
        );
    }
    assert!(!policy.allows(&Request::with_context(
        "backup:ListRecoveryPointsByBackupVault",
        &format!("arn:aws:backup:{RECOVERY}:{ACCOUNT}:backup-vault:dr"),
        &[],
    )));
    let vaults = [
        format!("arn:aws:backup:{PRIMARY}:{ACCOUNT}:backup-vault:Default"),
        format!("arn:aws:backup:{RECOVERY}:{ACCOUNT}:backup-vault:dr"),
    ];
    let mut resources: Vec<String> = recovery_points(PRIMARY);
    resources.extend(recovery_points(RECOVERY));
    resources.extend(vaults);
    for action in [
        "backup:DeleteRecoveryPoint",
        "backup:DeleteBackupVault",
        "backup:DeleteBackupVaultAccessPolicy",
        "backup:PutBackupVaultAccessPolicy",
        "backup:PutBackupVaultLockConfiguration",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:UpdateRecoveryPointLifecycle",
        "backup:DisassociateRecoveryPoint",
        "backup:StartRestoreJob",
        "backup:StartBackupJob",
        "backup:StopBackupJob",
        "backup:TagResource",
        "backup:UntagResource",
        "backup:CopyIntoBackupVault",
    ] {
        for resource in &resources {
            assert!(
                policy.matching(action, resource).is_empty(),
                "{action} on {resource} is granted: {:?}",
                policy.matching(action, resource)
            );
        }
    }
}

/// Without a copy role (`BackupCopyRoleArn` empty, the default) the stack has no backup copy;
/// with one, all of it. Every resource that names the backup function or its queue carries the
/// same condition, or the stack would not deploy without it.
#[test]
fn the_backup_copy_exists_exactly_when_a_copy_role_is_given() {
    let template = load("template.yaml");
    assert_eq!(template["Parameters"]["BackupCopyRoleArn"]["Default"], "");
    let condition = &template["Conditions"]["CopyBackups"];
    for (role, exists) in [("", false), (BACKUP_COPY_ROLE, true)] {
        let mut params = deployment();
        params.insert("BackupCopyRoleArn", role.to_owned());
        assert_eq!(
            condition_holds(&template, condition, &params),
            exists,
            "BackupCopyRoleArn={role:?}"
        );
    }
    let conditional = assert_gated(
        &template,
        "CopyBackups",
        &["CopyBackupsFunction", "CopyBackupsFailures"],
    );
    for name in [
        "CopyBackupsErrorsAlarm",
        "CopyBackupsFailuresQueueAlarm",
        "CopyBackupsFunctionArn",
        "CopyBackupsFailuresQueueUrl",
    ] {
        assert!(
            conditional.contains(&name.to_owned()),
            "{name}: {conditional:?}"
        );
    }
    assert_eq!(
        template["Resources"]["CopyJobsFailedAlarm"]["Condition"], "CopyBackups",
        "the backup copy's own metric alarm is gated too"
    );
    assert_eq!(
        template["Resources"]["BackupCopyLagAlarm"]["Condition"], "CopyBackups",
        "no backup copy, no backup lag: without the condition it would alarm forever"
    );
}

/// The stack's `PlanName` accepts exactly the plan names the plan schema accepts.
#[test]
fn plan_name_parameter_follows_the_plan_schema() {
    let template = load("template.yaml");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("docs/plan.schema.json"))
            .expect("docs/plan.schema.json"),
    )
    .expect("the schema is JSON");
    assert_eq!(
        template["Parameters"]["PlanName"]["AllowedPattern"],
        schema["properties"]["name"]["pattern"]
    );
}

/// checkov (offline) finds nothing in either template; what a resource skips, it justifies in
/// its `Metadata` where a reviewer sees it.
#[test]
fn templates_pass_checkov() {
    let files = [
        template_path("template.yaml"),
        template_path("forwarder.yaml"),
    ];
    let output = Command::new(lifeboat_tests::venv::checkov())
        .args([
            "--skip-download",
            "--framework",
            "cloudformation",
            "--output",
            "json",
        ])
        .args(files.iter().flat_map(|f| ["-f".as_ref(), f.as_os_str()]))
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run checkov: {e}"));
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON ({e}): {}", describe(&output)));
    let summary = &report["summary"];
    let results = &report["results"];
    let failed: Vec<String> = results["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} ({}): {}",
                c["check_id"], c["resource"], c["file_path"], c["check_name"]
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
    assert_eq!(
        summary["parsing_errors"], 0,
        "checkov could not parse: {summary}"
    );
    // Both files were really scanned (a file checkov skips would pass vacuously).
    for file in ["template.yaml", "forwarder.yaml"] {
        assert!(
            results["passed_checks"]
                .as_array()
                .is_some_and(|checks| checks
                    .iter()
                    .any(|c| c["file_path"].as_str().is_some_and(|p| p.ends_with(file)))),
            "checkov checked nothing in {file}: {summary}"
        );
    }
    for skipped in results["skipped_checks"].as_array().into_iter().flatten() {
        let comment = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            comment.split_whitespace().count() >= 8,
            "{} on {} is skipped without a real justification: {comment:?}",
            skipped["check_id"],
            skipped["resource"]
        );
    }
    assert!(output.status.success(), "checkov: {}", describe(&output));
}
