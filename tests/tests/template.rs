//! The deployable stack, checked offline: `template.yaml` (SAM, recovery Region) and
//! `forwarder.yaml` (CloudFormation, primary Region).
//!
//! - `cfn-lint` (pinned in `tests/emulator/requirements.txt`, installed into `.venv` on first use)
//!   must pass on both templates.
//! - cfn-lint 1.x validates SAM resources against SAM's schema without running the SAM transform,
//!   and so does not look inside a function's `Policies`, `Environment` or `Events`: a misspelt IAM
//!   action or a `!Ref` to a parameter that does not exist there lints clean. The tests below close
//!   that gap (every reference resolves, every IAM action exists in cfn-lint's IAM data) and pin
//!   the facts users and docs/deploy.md rely on: runtime, architecture, triggers, and that
//!   Lifeboat can only delete snapshots it tagged.
//!
//! The templates are parsed with cfn-lint's own YAML loader (it understands `!Ref`, `!Sub`,
//! `!GetAtt` and turns them into their `Ref` / `Fn::*` JSON form), so no YAML crate is needed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use lifeboat_shared::copy::model::tags;
use lifeboat_tests::venv::{tool, workspace_root};
use serde_json::Value;

/// The RDS events that mean "a snapshot now exists" (manual / automated, instance / cluster).
const SNAPSHOT_CREATED_EVENT_IDS: [&str; 4] = [
    "RDS-EVENT-0042",
    "RDS-EVENT-0091",
    "RDS-EVENT-0075",
    "RDS-EVENT-0169",
];

fn template_path(name: &str) -> PathBuf {
    workspace_root().join(name)
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a Python snippet with the virtualenv's interpreter (where cfn-lint is installed).
fn python(snippet: &str, args: &[&str]) -> Output {
    let output = Command::new(tool("python"))
        .arg("-c")
        .arg(snippet)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the virtualenv's python: {e}"));
    assert!(
        output.status.success(),
        "python snippet failed: {}",
        describe(&output)
    );
    output
}

/// A template as JSON, through cfn-lint's loader (short tags become `Ref` / `Fn::*`).
fn load(name: &str) -> Value {
    const DECODE: &str = "from cfnlint.decode import decode; import json,sys\n\
                          t,errors=decode(sys.argv[1])\n\
                          if t is None: sys.exit('\\n'.join(map(str, errors)))\n\
                          print(json.dumps(t, default=str))";
    let path = template_path(name);
    let output = python(DECODE, &[path.to_str().expect("UTF-8 path")]);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{name}: the loader printed no JSON: {e}"))
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn copy_function(template: &Value) -> &Value {
    let function = &template["Resources"]["CopySnapshotsFunction"];
    assert_eq!(
        function["Type"], "AWS::Serverless::Function",
        "CopySnapshotsFunction is missing or not a SAM function"
    );
    function
}

/// Every statement of the function's inline policies.
fn policy_statements(function: &Value) -> Vec<&Value> {
    let policies = function["Properties"]["Policies"]
        .as_array()
        .expect("Policies is a list");
    policies
        .iter()
        .filter_map(|policy| policy["Statement"].as_array())
        .flatten()
        .collect()
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

    // Deleting: only snapshots Lifeboat tagged, only in the recovery Region, and every statement
    // that allows a delete says so.
    let condition_key = format!("aws:ResourceTag/{}", tags::PLAN);
    let deletes: Vec<&Value> = policy_statements(function)
        .into_iter()
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with("rds:Delete") || *a == "rds:*")
        })
        .collect();
    assert!(
        !deletes.is_empty(),
        "no statement allows pruning (rds:DeleteDBSnapshot)"
    );
    for statement in deletes {
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(
            statement["Condition"]["StringLike"][condition_key.as_str()],
            "*",
            "a delete statement without the {condition_key} condition: {statement}"
        );
        let resources = match &statement["Resource"] {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for resource in resources {
            let arn = resource["Fn::Sub"]
                .as_str()
                .unwrap_or_else(|| panic!("delete resource is not a !Sub ARN: {resource}"));
            assert!(
                arn.contains(":${AWS::Region}:")
                    && (arn.ends_with(":snapshot:*") || arn.ends_with(":cluster-snapshot:*")),
                "deletes must be limited to recovery-Region snapshots: {arn}"
            );
        }
    }
}

#[test]
fn forwarder_forwards_exactly_what_the_function_listens_for() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let listened = &copy_function(&template)["Properties"]["Events"]["RdsSnapshotCreated"]["Properties"]
        ["Pattern"];
    let rule = &forwarder["Resources"]["RdsSnapshotForwardRule"]["Properties"];
    assert_eq!(
        &rule["EventPattern"], listened,
        "forwarder.yaml and template.yaml disagree on the RDS pattern"
    );
    assert_eq!(
        rule["EventBusName"], "default",
        "RDS emits its events on the primary Region's default bus"
    );
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], serde_json::json!({"Ref": "LifeboatBusArn"}));
    assert!(
        target["RoleArn"].is_object(),
        "a cross-Region bus target needs a role"
    );

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
    const CHECK: &str = "import sys, fnmatch\n\
                         from cfnlint.helpers import load_resource\n\
                         from cfnlint.data import AdditionalSpecs\n\
                         iam = load_resource(AdditionalSpecs, 'Policies.json')\n\
                         for action in sys.argv[1:]:\n\
                         \x20   service, _, name = action.partition(':')\n\
                         \x20   if not fnmatch.filter(iam.get(service, {}).get('Actions', {}), name.lower()): print(action)";
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let mut actions = BTreeSet::new();
    for statement in policy_statements(copy_function(&template)) {
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
    let args: Vec<&str> = actions.iter().map(String::as_str).collect();
    let output = python(CHECK, &args);
    let unknown = String::from_utf8_lossy(&output.stdout);
    assert!(
        unknown.trim().is_empty(),
        "IAM actions that do not exist:\n{unknown}"
    );
}
