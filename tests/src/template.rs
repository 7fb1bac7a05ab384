//! The deployable stack, read and evaluated offline: what `tests/tests/it/template.rs` (the copy
//! functions, the notifications, the forwarder), `tests/tests/it/template_verify.rs` (the
//! verification) and `tests/tests/it/template_failover.rs` (the failover) need.
//!
//! - [`load`]: a template as JSON through cfn-lint's own YAML loader (it understands `!Ref`,
//!   `!Sub`, `!GetAtt` and turns them into their `Ref` / `Fn::*` form), so no YAML crate is
//!   needed; [`function`], [`policy_statements`], [`resources_of_type`] read it.
//! - [`deployment`] and [`resolve`]: the values one deployment gives the parameters, and what a
//!   template value stands for once deployed.
//! - [`Policy`] and [`Request`]: a small IAM evaluator for identity policies (wildcard ARNs,
//!   request and resource tag conditions, other condition keys such as `iam:PassedToService`).
//! - [`pattern_matches`]: EventBridge's event pattern matching, for the real payloads in
//!   `events/`; [`resolve_pattern`]: a pattern with a parameter in it, as deployed.
//! - [`condition_holds`], [`rule_holds`], [`assert_gated`]: `Conditions` and `Rules`, and which
//!   resources a condition gates.
//! - [`Alarm`], [`ExpectedAlarm`], [`check_alarm`]: a CloudWatch alarm's evaluation over its
//!   periods, and the checks every alarm of the stack passes.
//! - [`unknown_iam_actions`]: IAM actions that do not exist, by cfn-lint's IAM data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::venv::{tool, workspace_root};

pub const ACCOUNT: &str = "111122223333";
pub const PRIMARY: &str = "us-west-2";
pub const RECOVERY: &str = "us-east-2";
pub const PLAN: &str = "tracking";
pub const STATE_BUCKET: &str = "tracking-dr-state";
/// The plan's `[[copy.backup]]` iam_role, as the deployment passes it in `BackupCopyRoleArn`.
pub const BACKUP_COPY_ROLE: &str =
    "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";
/// The isolated subnets and the function's security group a deployment gives the verification
/// (`VerifySubnetIds`, `VerifySecurityGroupIds`).
pub const VERIFY_SUBNETS: &str = "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788";
pub const VERIFY_SECURITY_GROUPS: &str = "sg-0123456789abcdef0";
/// What a deployment names for the failover (`Failover*`): the example plan's alarms, global
/// database, its target cluster and hosted zone, and a read replica and a replica cluster besides
/// (the example has neither), so that every kind of promotion is evaluated.
pub const FAILOVER_ALARMS: &str = "tracking-api-5xx,tracking-db-unreachable";
pub const FAILOVER_REPLICA_INSTANCES: &str = "orders-dr";
pub const FAILOVER_REPLICA_CLUSTERS: &str = "parcels-dr";
pub const FAILOVER_GLOBAL_CLUSTERS: &str = "phoenix-global";
pub const FAILOVER_TARGET_CLUSTERS: &str = "phoenix-dr";
pub const FAILOVER_HOSTED_ZONES: &str = "Z0123456789";

pub fn template_path(name: &str) -> PathBuf {
    workspace_root().join(name)
}

pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a Python snippet with the virtualenv's interpreter (where cfn-lint is installed).
pub fn python(snippet: &str, args: &[&str]) -> Output {
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
pub fn load(name: &str) -> Value {
    const DECODE: &str = "from cfnlint.decode import decode; import json,sys\n\
                          t,errors=decode(sys.argv[1])\n\
                          if t is None: sys.exit('\\n'.join(map(str, errors)))\n\
                          print(json.dumps(t, default=str))";
    let path = template_path(name);
    let output = python(DECODE, &[path.to_str().expect("UTF-8 path")]);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{name}: the loader printed no JSON: {e}"))
}

/// A string or a list of strings, as a list.
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The SAM function `name` of the template.
pub fn function<'a>(template: &'a Value, name: &str) -> &'a Value {
    let function = &template["Resources"][name];
    assert_eq!(
        function["Type"], "AWS::Serverless::Function",
        "{name} is missing or not a SAM function"
    );
    function
}

/// The SAM function `name` runs as `CopySnapshotsFunction` does (runtime, architecture, handler,
/// memory, timeout), reads the plan from `PlanUri`, logs JSON, is built by SAM from the
/// workspace package `binary` (`functions/<binary>`), and keeps the invocations that still fail
/// after Lambda's two retries in the template's SQS queue `failures`. Returns its properties.
pub fn assert_runs_like_the_copy_function<'a>(
    template: &'a Value,
    name: &str,
    binary: &str,
    failures: &str,
) -> &'a Value {
    let snapshots = &function(template, "CopySnapshotsFunction")["Properties"];
    let function = function(template, name);
    let properties = &function["Properties"];
    for key in [
        "Runtime",
        "Architectures",
        "Handler",
        "MemorySize",
        "Timeout",
    ] {
        assert_eq!(properties[key], snapshots[key], "{name}: {key}");
    }
    assert_eq!(
        properties["Environment"]["Variables"]["LIFEBOAT_PLAN"],
        serde_json::json!({"Ref": "PlanUri"})
    );
    assert_eq!(properties["LoggingConfig"]["LogFormat"], "JSON");

    // SAM builds the workspace binary named here, the package of the same name.
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], binary);
    let manifest = format!("functions/{binary}/Cargo.toml");
    let manifest = std::fs::read_to_string(workspace_root().join(&manifest))
        .unwrap_or_else(|e| panic!("{manifest}: {e}"));
    assert!(manifest.contains(&format!("name = \"{binary}\"")));

    // Failures after retries are kept, in its own queue.
    let invoke = &properties["EventInvokeConfig"];
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"]["Destination"],
        serde_json::json!({"Fn::GetAtt": [failures, "Arn"]})
    );
    assert_eq!(template["Resources"][failures]["Type"], "AWS::SQS::Queue");
    properties
}

/// A function's triggers: its `Schedule` events' schedules, and its `EventBridgeRule` events
/// by name.
pub fn triggers(properties: &Value) -> (Vec<&Value>, Vec<(&String, &Value)>) {
    let events = properties["Events"].as_object().expect("Events");
    let schedules = events
        .values()
        .filter(|e| e["Type"] == "Schedule")
        .map(|e| &e["Properties"]["Schedule"])
        .collect();
    let rules = events
        .iter()
        .filter(|(_, e)| e["Type"] == "EventBridgeRule")
        .map(|(name, e)| (name, &e["Properties"]))
        .collect();
    (schedules, rules)
}

/// An event of `events/`, as AWS delivers it.
pub fn event_fixture(name: &str) -> Value {
    let path = workspace_root().join("events").join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every statement of the function's inline policies.
pub fn policy_statements(function: &Value) -> Vec<&Value> {
    let policies = function["Properties"]["Policies"]
        .as_array()
        .expect("Policies is a list");
    policies
        .iter()
        .filter_map(|policy| policy["Statement"].as_array())
        .flatten()
        .collect()
}

pub fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The notifications topic: the one the failed-run rule and the alarms send to.
pub fn notifications_topic(template: &Value) -> &str {
    let topics = resources_of_type(template, "AWS::SNS::Topic");
    assert_eq!(topics.len(), 1, "one notifications topic: {topics:?}");
    topics[0].0
}

/// IAM actions (`service:Action`, wildcards allowed) that match no action in the IAM data that
/// cfn-lint ships.
pub fn unknown_iam_actions<'a>(actions: impl IntoIterator<Item = &'a str>) -> String {
    const CHECK: &str = "import sys, fnmatch\n\
                         from cfnlint.helpers import load_resource\n\
                         from cfnlint.data import AdditionalSpecs\n\
                         iam = load_resource(AdditionalSpecs, 'Policies.json')\n\
                         for action in sys.argv[1:]:\n\
                         \x20   service, _, name = action.partition(':')\n\
                         \x20   if not fnmatch.filter(iam.get(service, {}).get('Actions', {}), name.lower()): print(action)";
    let args: Vec<&str> = actions.into_iter().collect();
    let output = python(CHECK, &args);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// For each action, the ARN formats of the resource types the service authorization reference
/// lists for it (as cfn-lint's IAM data has them), as IAM wildcards (`arn:*:rds:*:*:db:*`). An
/// empty list: the action has no resource types, and only `"*"` names it in a policy.
pub fn iam_resource_formats<'a>(
    actions: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, Vec<String>> {
    const FORMATS: &str = "import sys, json, re\n\
                           from cfnlint.helpers import load_resource\n\
                           from cfnlint.data import AdditionalSpecs\n\
                           iam = load_resource(AdditionalSpecs, 'Policies.json')\n\
                           out = {}\n\
                           for action in sys.argv[1:]:\n\
                           \x20   service, _, name = action.partition(':')\n\
                           \x20   data = iam[service]\n\
                           \x20   types = data['Actions'][name.lower()].get('Resources', [])\n\
                           \x20   kinds = {k.lower(): v for k, v in data.get('Resources', {}).items()}\n\
                           \x20   out[action] = [re.sub(r'\\$\\{[^}]*\\}', '*', f).replace('.*', '*') for t in types for f in kinds.get(t.lower(), {}).get('ARNFormats', [])]\n\
                           print(json.dumps(out))";
    let args: Vec<&str> = actions.into_iter().collect();
    let output = python(FORMATS, &args);
    serde_json::from_slice(&output.stdout).expect("the IAM data as JSON")
}

// ---------------------------------------------------------------------------------------------
// One deployment: parameters, resolved values.
// ---------------------------------------------------------------------------------------------

/// The values a deployment of `examples/tracking.toml` gives the parameters and pseudo parameters.
pub fn deployment() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("AWS::AccountId", ACCOUNT.to_owned()),
        ("AWS::Region", RECOVERY.to_owned()),
        ("AWS::Partition", "aws".to_owned()),
        ("PlanName", PLAN.to_owned()),
        ("PrimaryRegion", PRIMARY.to_owned()),
        ("StateBucketName", STATE_BUCKET.to_owned()),
        ("PlanUri", format!("s3://{STATE_BUCKET}/plan.toml")),
        ("EventBusName", "lifeboat".to_owned()),
        ("BackupCopyRoleArn", BACKUP_COPY_ROLE.to_owned()),
        ("VerifySubnetIds", VERIFY_SUBNETS.to_owned()),
        ("VerifySecurityGroupIds", VERIFY_SECURITY_GROUPS.to_owned()),
        (
            "VerifyRestoreRoleName",
            "service-role/AWSBackupDefaultServiceRole".to_owned(),
        ),
        ("Failover", "true".to_owned()),
        ("FailoverAlarmNames", FAILOVER_ALARMS.to_owned()),
        (
            "FailoverReplicaInstanceIds",
            FAILOVER_REPLICA_INSTANCES.to_owned(),
        ),
        (
            "FailoverReplicaClusterIds",
            FAILOVER_REPLICA_CLUSTERS.to_owned(),
        ),
        (
            "FailoverGlobalClusterIds",
            FAILOVER_GLOBAL_CLUSTERS.to_owned(),
        ),
        (
            "FailoverTargetClusterIds",
            FAILOVER_TARGET_CLUSTERS.to_owned(),
        ),
        ("FailoverHostedZoneIds", FAILOVER_HOSTED_ZONES.to_owned()),
    ])
}

/// The strings a template value stands for once deployed. `Ref`s to parameters and `${...}` in
/// `Fn::Sub` take the deployment's values (a `Ref` to a `CommaDelimitedList` is its list: the
/// deployment's values hold commas only there); `Fn::Join`, `Fn::Select` and `Fn::Split` are
/// computed; what only exists once deployed (a resource's `Ref` or attribute, other intrinsics)
/// becomes a `<placeholder>` that matches no real ARN.
pub fn resolve(value: &Value, params: &BTreeMap<&str, String>) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(|v| resolve(v, params)).collect(),
        Value::Object(map) if map.len() == 1 => {
            let (function, argument) = map.iter().next().expect("one entry");
            let part = |i: usize| &argument.as_array().expect("a list of arguments")[i];
            match (function.as_str(), argument) {
                ("Ref", Value::String(name)) => match params.get(name.as_str()) {
                    Some(value) => value.split(',').map(str::to_owned).collect(),
                    None => vec![format!("<{name}>")],
                },
                ("Fn::Sub", Value::String(text)) => {
                    vec![substitute(text, params, &BTreeMap::new())]
                }
                ("Fn::Sub", Value::Array(parts)) => {
                    let text = parts[0].as_str().expect("Fn::Sub text");
                    let variables: BTreeMap<String, String> = parts
                        .get(1)
                        .and_then(Value::as_object)
                        .map(|vars| {
                            vars.iter()
                                .map(|(k, v)| (k.clone(), resolve(v, params).join(",")))
                                .collect()
                        })
                        .unwrap_or_default();
                    vec![substitute(text, params, &variables)]
                }
                ("Fn::Join", Value::Array(_)) => {
                    let delimiter = part(0).as_str().expect("Fn::Join delimiter");
                    vec![resolve(part(1), params).join(delimiter)]
                }
                ("Fn::Split", Value::Array(_)) => {
                    let delimiter = part(0).as_str().expect("Fn::Split delimiter");
                    resolve(part(1), params)
                        .iter()
                        .flat_map(|s| s.split(delimiter).map(str::to_owned).collect::<Vec<_>>())
                        .collect()
                }
                ("Fn::Select", Value::Array(_)) => {
                    let index = part(0).as_u64().expect("Fn::Select index") as usize;
                    let list = resolve(part(1), params);
                    vec![
                        list.get(index)
                            .cloned()
                            .unwrap_or_else(|| "<Fn::Select>".into()),
                    ]
                }
                (other, _) => vec![format!("<{other}>")],
            }
        }
        other => vec![other.to_string()],
    }
}

fn substitute(
    text: &str,
    params: &BTreeMap<&str, String>,
    variables: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("closed ${");
        let name = &after[..end];
        match (variables.get(name), params.get(name)) {
            (Some(value), _) | (None, Some(value)) => out.push_str(value),
            (None, None) => out.push_str(&format!("<{name}>")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Evaluates `Conditions` (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`) and the
/// rule functions a template's `Rules` use (`Fn::EachMemberEquals`).
pub fn condition_holds(
    template: &Value,
    condition: &Value,
    params: &BTreeMap<&str, String>,
) -> bool {
    let map = condition.as_object().expect("a condition is a function");
    let (function, argument) = map.iter().next().expect("one function");
    let list = || argument.as_array().expect("a list of arguments");
    match function.as_str() {
        "Fn::Equals" => resolve(&list()[0], params) == resolve(&list()[1], params),
        "Fn::Not" => !condition_holds(template, &list()[0], params),
        "Fn::And" => list().iter().all(|c| condition_holds(template, c, params)),
        "Fn::Or" => list().iter().any(|c| condition_holds(template, c, params)),
        "Fn::EachMemberEquals" => {
            let wanted = resolve(&list()[1], params);
            resolve(&list()[0], params)
                .iter()
                .flat_map(|v| v.split(','))
                .all(|member| wanted.iter().any(|w| w == member))
        }
        "Condition" => {
            let name = argument.as_str().expect("condition name");
            condition_holds(template, &template["Conditions"][name], params)
        }
        other => panic!("the condition evaluator does not handle {other}"),
    }
}

/// Whether CloudFormation accepts a deployment under the template's rule `name`: the rule does
/// not apply (its `RuleCondition` is false) or every assertion holds.
pub fn rule_holds(template: &Value, name: &str, params: &BTreeMap<&str, String>) -> bool {
    let rule = &template["Rules"][name];
    assert!(rule.is_object(), "no rule {name}");
    if let Some(applies) = rule.get("RuleCondition")
        && !condition_holds(template, applies, params)
    {
        return true;
    }
    rule["Assertions"]
        .as_array()
        .expect("Assertions")
        .iter()
        .all(|assertion| condition_holds(template, &assertion["Assert"], params))
}

/// Every resource and output that is, or names, one of `gated` carries `Condition: condition`
/// (else the stack would not deploy without it). Returns their names.
pub fn assert_gated(template: &Value, condition: &str, gated: &[&str]) -> Vec<String> {
    let mut conditional = Vec::new();
    for section in ["Resources", "Outputs"] {
        for (name, entry) in template[section].as_object().expect(section) {
            let text = entry.to_string();
            if gated.contains(&name.as_str())
                || gated.iter().any(|g| text.contains(&format!("\"{g}\"")))
            {
                assert_eq!(
                    entry["Condition"], condition,
                    "{section}.{name} needs Condition: {condition}"
                );
                conditional.push(name.clone());
            }
        }
    }
    conditional
}

// ---------------------------------------------------------------------------------------------
// IAM: identity policies evaluated.
// ---------------------------------------------------------------------------------------------

/// IAM's wildcard match: `*` any run of characters, `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matches[j]: pattern[..i] matches text[..j]
    let mut matches = vec![false; t.len() + 1];
    matches[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        if pc == '*' {
            let mut seen = false;
            for j in 0..=t.len() {
                seen |= matches[j];
                next[j] = seen;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = matches[j - 1] && (pc == '?' || pc == t[j - 1]);
            }
        }
        matches = next;
    }
    matches[t.len()]
}

/// One API request as IAM authorises it: an action on a resource, with the tags the request sets
/// and the tags the resource already carries.
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub request_tags: &'a [(&'a str, &'a str)],
    pub resource_tags: &'a [(&'a str, &'a str)],
    /// Other condition keys of the request and their values (`iam:PassedToService`, …).
    pub context: &'a [(&'a str, &'a str)],
}

impl<'a> Request<'a> {
    /// A request that sets no tags, on a resource without tags, with other condition keys.
    pub fn with_context(
        action: &'a str,
        resource: &'a str,
        context: &'a [(&'a str, &'a str)],
    ) -> Self {
        Request {
            action,
            resource,
            request_tags: &[],
            resource_tags: &[],
            context,
        }
    }

    /// The values of a condition key in this request (empty: the key is absent).
    pub fn values(&self, key: &str) -> Vec<String> {
        let key = key.to_ascii_lowercase();
        let tag = |tags: &[(&str, &str)], name: &str| -> Vec<String> {
            tags.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_string())
                .collect()
        };
        if let Some(name) = key.strip_prefix("aws:requesttag/") {
            tag(self.request_tags, name)
        } else if let Some(name) = key
            .strip_prefix("aws:resourcetag/")
            .or_else(|| key.strip_prefix("rds:snapshot-tag/"))
            .or_else(|| key.strip_prefix("rds:cluster-snapshot-tag/"))
        {
            tag(self.resource_tags, name)
        } else if key == "aws:tagkeys" {
            self.request_tags
                .iter()
                .map(|(k, _)| k.to_string())
                .collect()
        } else {
            self.context
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(_, v)| v.to_string())
                .collect()
        }
    }
}

/// An identity policy's statements, resolved for one deployment.
pub struct Policy {
    pub statements: Vec<Value>,
    pub params: BTreeMap<&'static str, String>,
}

impl Policy {
    /// The inline policies of the SAM function `name` of `template.yaml`, for [`deployment`].
    pub fn of_function(name: &str) -> Self {
        let template = load("template.yaml");
        Policy {
            statements: policy_statements(function(&template, name))
                .into_iter()
                .cloned()
                .collect(),
            params: deployment(),
        }
    }

    /// Whether an Allow statement grants `events:PutEvents` on Lifeboat's bus (its ARN is only
    /// known once deployed).
    pub fn publishes_on_lifeboats_bus(&self) -> bool {
        self.statements.iter().any(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Action"]).contains(&"events:PutEvents")
                && s["Resource"] == serde_json::json!({"Fn::GetAtt": ["LifeboatBus", "Arn"]})
        })
    }

    /// Statements whose action and resource match, conditions aside.
    pub fn matching(&self, action: &str, resource: &str) -> Vec<&Value> {
        self.statements
            .iter()
            .filter(|statement| {
                for unsupported in ["NotAction", "NotResource", "NotPrincipal"] {
                    assert!(
                        statement.get(unsupported).is_none(),
                        "the evaluator does not handle {unsupported}: {statement}"
                    );
                }
                let actions = resolve(&statement["Action"], &self.params);
                let resources = resolve(&statement["Resource"], &self.params);
                actions
                    .iter()
                    .any(|a| wildcard(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                    && resources.iter().any(|r| wildcard(r, resource))
            })
            .collect()
    }

    /// IAM's decision for an identity policy: an explicit deny wins, else any allow.
    pub fn allows(&self, request: &Request) -> bool {
        let applying: Vec<&Value> = self
            .matching(request.action, request.resource)
            .into_iter()
            .filter(|s| self.conditions_hold(s, request))
            .collect();
        !applying.iter().any(|s| s["Effect"] == "Deny")
            && applying.iter().any(|s| s["Effect"] == "Allow")
    }

    /// Every operator of a statement's `Condition` holds (AND), every key of an operator holds
    /// (AND), a key holds when the request's value matches any of the listed values (OR).
    fn conditions_hold(&self, statement: &Value, request: &Request) -> bool {
        let Some(condition) = statement.get("Condition") else {
            return true;
        };
        condition
            .as_object()
            .expect("Condition is a map")
            .iter()
            .all(|(operator, keys)| {
                keys.as_object()
                    .expect("condition operator maps keys to values")
                    .iter()
                    .all(|(key, expected)| {
                        let expected = resolve(expected, &self.params);
                        evaluate_condition(operator, &request.values(key), &expected)
                    })
            })
    }
}

pub fn evaluate_condition(operator: &str, actual: &[String], expected: &[String]) -> bool {
    let (operator, if_exists) = match operator.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    if operator == "Null" {
        let wants_absent = expected.iter().any(|e| e == "true");
        return actual.is_empty() == wants_absent;
    }
    let (set, operator) = if let Some(op) = operator.strip_prefix("ForAllValues:") {
        ("all", op)
    } else if let Some(op) = operator.strip_prefix("ForAnyValue:") {
        ("any", op)
    } else {
        ("single", operator)
    };
    let (negated, test): (bool, fn(&str, &str) -> bool) = match operator {
        "StringEquals" | "ArnEquals" => (false, |e, a| e == a),
        "StringNotEquals" | "ArnNotEquals" => (true, |e, a| e == a),
        "StringEqualsIgnoreCase" => (false, |e, a| e.eq_ignore_ascii_case(a)),
        "StringLike" | "ArnLike" => (false, wildcard),
        "StringNotLike" | "ArnNotLike" => (true, wildcard),
        other => panic!("the evaluator does not handle the condition operator {other}"),
    };
    let matches = |value: &String| expected.iter().any(|e| test(e, value));
    match set {
        "all" => actual.iter().all(|v| matches(v) != negated),
        "any" => actual.iter().any(|v| matches(v) != negated),
        _ if actual.is_empty() => if_exists || negated,
        _ => actual.iter().any(|v| matches(v) != negated),
    }
}

pub fn rds_arn(region: &str, kind: &str, name: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:{kind}:{name}")
}

// ---------------------------------------------------------------------------------------------
// EventBridge: event patterns evaluated.
// ---------------------------------------------------------------------------------------------

/// An event pattern as deployed: every intrinsic in it (a `Ref` to a list parameter) becomes the
/// list of strings it stands for.
pub fn resolve_pattern(pattern: &Value, params: &BTreeMap<&str, String>) -> Value {
    match pattern {
        Value::Object(map)
            if map.len() == 1 && map.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            Value::Array(
                resolve(pattern, params)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            )
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_pattern(v, params)))
                .collect(),
        ),
        // An intrinsic among the alternatives stands for its strings, alongside the others.
        Value::Array(items) => Value::Array(
            items
                .iter()
                .flat_map(|v| match resolve_pattern(v, params) {
                    Value::Array(values) if v.is_object() => values,
                    value => vec![value],
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// EventBridge's pattern matching, for the pattern features Lifeboat's rules may use.
pub fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    pattern
        .as_object()
        .expect("an event pattern is a map")
        .iter()
        .all(|(field, wanted)| {
            let actual = event.get(field);
            match wanted {
                Value::Object(_) => {
                    actual.is_some_and(|a| a.is_object() && pattern_matches(wanted, a))
                }
                Value::Array(alternatives) => alternatives
                    .iter()
                    .any(|alternative| field_matches(alternative, actual)),
                other => panic!("pattern field {field} is neither a map nor a list: {other}"),
            }
        })
}

fn field_matches(alternative: &Value, actual: Option<&Value>) -> bool {
    let values: Vec<&Value> = match actual {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(value) => vec![value],
    };
    match alternative {
        Value::Object(matcher) => {
            let (kind, argument) = matcher.iter().next().expect("a content filter");
            let text = |v: &&Value| v.as_str().map(str::to_owned);
            match kind.as_str() {
                "exists" => argument.as_bool() == Some(actual.is_some()),
                "prefix" => values
                    .iter()
                    .filter_map(text)
                    .any(|v| v.starts_with(argument.as_str().unwrap_or_default())),
                "suffix" => values
                    .iter()
                    .filter_map(text)
                    .any(|v| v.ends_with(argument.as_str().unwrap_or_default())),
                "equals-ignore-case" => values
                    .iter()
                    .filter_map(text)
                    .any(|v| v.eq_ignore_ascii_case(argument.as_str().unwrap_or_default())),
                "wildcard" => values
                    .iter()
                    .filter_map(text)
                    .any(|v| wildcard(argument.as_str().unwrap_or_default(), &v)),
                "anything-but" => {
                    let excluded: Vec<&Value> = match argument {
                        Value::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    !values.is_empty() && values.iter().all(|v| !excluded.contains(v))
                }
                other => panic!("the pattern evaluator does not handle {other}"),
            }
        }
        literal => values.contains(&literal),
    }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch alarms evaluated.
// ---------------------------------------------------------------------------------------------

/// One alarm, found by its metric, with what it must do.
pub struct ExpectedAlarm {
    pub namespace: &'static str,
    pub metric: &'static str,
    pub dimensions: Value,
    pub statistic: &'static str,
    /// A value that fires the alarm when every evaluated period has it, and one that does not.
    pub fires_at: f64,
    pub quiet_at: f64,
    pub missing_data: &'static str,
}

/// The dimensions of a task's run metrics: `Plan` (the stack's `PlanName`) and `Task`.
pub fn plan_and_task(task: &str) -> Value {
    serde_json::json!([
        {"Name": "Plan", "Value": {"Ref": "PlanName"}},
        {"Name": "Task", "Value": task},
    ])
}

impl ExpectedAlarm {
    /// An alarm on a count of failures of a task's runs (namespace `Lifeboat`, `Plan` and
    /// `Task`): any failure fires it; no run, no data, no alarm.
    pub fn on_failures(metric: &'static str, task: &str) -> Self {
        ExpectedAlarm {
            namespace: lifeboat_shared::metrics::NAMESPACE,
            metric,
            dimensions: plan_and_task(task),
            statistic: "Sum",
            fires_at: 1.0,
            quiet_at: 0.0,
            missing_data: "notBreaching",
        }
    }
}

/// What every function's two operational alarms must do: its `AWS/Lambda` `Errors` (an
/// invocation failed) and the depth of its failure queue (an invocation failed for good).
pub fn function_alarms(function: &str, failures: &str) -> [ExpectedAlarm; 2] {
    [
        ExpectedAlarm {
            namespace: "AWS/Lambda",
            metric: "Errors",
            dimensions: serde_json::json!([
                {"Name": "FunctionName", "Value": {"Ref": function}}
            ]),
            statistic: "Sum",
            fires_at: 1.0,
            quiet_at: 0.0,
            missing_data: "notBreaching",
        },
        ExpectedAlarm {
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            dimensions: serde_json::json!([
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [failures, "QueueName"]}}
            ]),
            statistic: "Maximum",
            fires_at: 1.0,
            quiet_at: 0.0,
            missing_data: "notBreaching",
        },
    ]
}

/// An alarm's evaluation settings, resolved for one deployment.
#[derive(Debug)]
pub struct Alarm {
    pub period: u64,
    pub evaluation_periods: u64,
    pub datapoints_to_alarm: u64,
    pub threshold: f64,
    pub comparison: String,
    pub missing_data: String,
}

impl Alarm {
    /// The settings of an alarm's `Properties`.
    pub fn of(properties: &Value, params: &BTreeMap<&str, String>) -> Self {
        let number = |key: &str| -> Option<f64> {
            match &properties[key] {
                Value::Null => None,
                Value::Number(n) => n.as_f64(),
                other => Some(
                    resolve(other, params)[0]
                        .parse()
                        .unwrap_or_else(|e| panic!("{key} {other}: {e}")),
                ),
            }
        };
        let evaluation_periods = number("EvaluationPeriods").expect("EvaluationPeriods") as u64;
        Alarm {
            period: number("Period").expect("a Period") as u64,
            evaluation_periods,
            datapoints_to_alarm: number("DatapointsToAlarm")
                .map_or(evaluation_periods, |d| d as u64),
            threshold: number("Threshold").expect("Threshold"),
            comparison: properties["ComparisonOperator"]
                .as_str()
                .expect("ComparisonOperator")
                .to_owned(),
            missing_data: properties["TreatMissingData"]
                .as_str()
                .unwrap_or("missing")
                .to_owned(),
        }
    }

    fn breaches(&self, value: f64) -> bool {
        match self.comparison.as_str() {
            "GreaterThanThreshold" => value > self.threshold,
            "GreaterThanOrEqualToThreshold" => value >= self.threshold,
            "LessThanThreshold" => value < self.threshold,
            "LessThanOrEqualToThreshold" => value <= self.threshold,
            other => panic!("unexpected comparison {other}"),
        }
    }

    /// Whether the alarm is in ALARM given the statistic of each of its most recent periods,
    /// oldest first (`None`: no data in that period): `DatapointsToAlarm` of the last
    /// `EvaluationPeriods` periods breach, a period without data counting as `TreatMissingData`
    /// says (`breaching`, `notBreaching`; `ignore` and `missing` leave it out).
    pub fn fires(&self, periods: &[Option<f64>]) -> bool {
        let recent = &periods[periods
            .len()
            .saturating_sub(self.evaluation_periods as usize)..];
        let breaching = recent
            .iter()
            .filter(|value| match value {
                Some(v) => self.breaches(*v),
                None => self.missing_data == "breaching",
            })
            .count() as u64;
        breaching >= self.datapoints_to_alarm
    }

    /// [`Alarm::fires`] when every evaluated period has `value`.
    pub fn fires_at(&self, value: f64) -> bool {
        self.fires(&vec![Some(value); self.evaluation_periods as usize])
    }

    /// How far back the alarm looks: `Period` × `EvaluationPeriods`, in seconds.
    pub fn window(&self) -> u64 {
        self.period * self.evaluation_periods
    }
}

/// The one alarm of `alarms` on `want`'s metric passes what every alarm of the stack must:
/// its statistic, its threshold (fires at `fires_at`, quiet at `quiet_at`), its missing-data
/// treatment, the notifications topic as its action, and periods CloudWatch accepts. Returns its
/// settings for further checks.
pub fn check_alarm(
    alarms: &[(&String, &Value)],
    want: &ExpectedAlarm,
    topic: &str,
    params: &BTreeMap<&str, String>,
) -> Alarm {
    let found: Vec<&Value> = alarms
        .iter()
        .map(|(_, a)| &a["Properties"])
        .filter(|a| {
            a["Namespace"] == want.namespace
                && a["MetricName"] == want.metric
                && a["Dimensions"] == want.dimensions
        })
        .collect();
    let what = format!("{}/{} {}", want.namespace, want.metric, want.dimensions);
    assert_eq!(found.len(), 1, "one alarm on {what}");
    let properties = found[0];
    assert_eq!(
        properties["Dimensions"], want.dimensions,
        "{what}: dimensions"
    );
    assert_eq!(properties["Statistic"], want.statistic, "{what}: statistic");
    let alarm = Alarm::of(properties, params);
    assert!(
        alarm.fires_at(want.fires_at),
        "{what}: must fire at {}",
        want.fires_at
    );
    assert!(
        !alarm.fires_at(want.quiet_at),
        "{what}: must stay quiet at {}",
        want.quiet_at
    );
    assert_eq!(
        properties["TreatMissingData"], want.missing_data,
        "{what}: missing data"
    );
    assert!(
        properties["AlarmActions"]
            .as_array()
            .is_some_and(|a| a.contains(&serde_json::json!({"Ref": topic}))),
        "{what}: the alarm must notify the topic {topic}"
    );
    assert_ne!(
        properties["ActionsEnabled"], false,
        "{what}: actions disabled"
    );

    // Periods CloudWatch accepts (PutMetricAlarm, `Period`): a multiple of 60 s; Period x
    // EvaluationPeriods at most 7 days (604,800 s), and at most 1 day when the period is under
    // an hour; DatapointsToAlarm at most EvaluationPeriods.
    let (period, evaluations) = (alarm.period, alarm.evaluation_periods);
    assert_eq!(period % 60, 0, "{what}: period {period}");
    let window = alarm.window();
    assert!(
        window <= 604_800 && (period >= 3600 || window <= 86_400),
        "{what}: {period} s x {evaluations} is longer than CloudWatch allows"
    );
    assert!(
        (1..=evaluations).contains(&alarm.datapoints_to_alarm),
        "{what}: DatapointsToAlarm {} of {evaluations}",
        alarm.datapoints_to_alarm
    );
    if want.missing_data == "breaching" {
        assert!(
            window >= 86_400,
            "{what}: a {window} s window holds no daily run half of the time, and missing \
             data is breaching"
        );
    }
    alarm
}

/// The values a run's metrics (`Report::metrics`, as Embedded Metric Format) publish for the
/// alarm whose `Properties` these are: its metric, in its namespace, under exactly its dimensions
/// (whose values must be the deployment's).
pub fn published_for_alarm(
    alarm: &Value,
    metrics: &[lifeboat_shared::metrics::MetricSet],
    params: &BTreeMap<&str, String>,
) -> Vec<f64> {
    let metric = alarm["MetricName"].as_str().expect("MetricName");
    let dimensions: Vec<&str> = alarm["Dimensions"]
        .as_array()
        .expect("Dimensions")
        .iter()
        .map(|d| d["Name"].as_str().expect("a dimension name"))
        .collect();
    metrics
        .iter()
        .map(|set| serde_json::from_str::<Value>(&set.to_emf(0)).expect("EMF is JSON"))
        .filter(|doc| {
            let declared = &doc["_aws"]["CloudWatchMetrics"][0];
            declared["Namespace"] == alarm["Namespace"]
                && declared["Metrics"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["Name"] == metric))
                && declared["Dimensions"]
                    .as_array()
                    .is_some_and(|sets| sets.contains(&serde_json::json!(dimensions)))
        })
        .map(|doc| {
            for dimension in alarm["Dimensions"].as_array().expect("Dimensions") {
                let key = dimension["Name"].as_str().expect("name");
                assert_eq!(
                    resolve(&dimension["Value"], params),
                    [doc[key].as_str().expect("a dimension value")],
                    "{metric}: dimension {key}"
                );
            }
            doc[metric].as_f64().expect("a value")
        })
        .collect()
}

/// The SAM function `name`'s role grants exactly `actions` — no wildcard action, no other
/// action — each an action that exists, on resources of the types the service authorization
/// reference gives it: in each Allow statement every action names a resource of its types (an
/// action without resource types names `"*"` only, where anything narrower would match nothing
/// and deny the call), and every resource is of the types of one of its actions.
pub fn assert_grants_exactly_on_resources_of_their_types(
    template: &Value,
    name: &str,
    actions: &[&str],
) {
    let params = deployment();
    let mut granted = std::collections::BTreeSet::new();
    let statements: Vec<&Value> = policy_statements(function(template, name));
    for statement in &statements {
        for action in strings(&statement["Action"]) {
            assert!(
                !action.contains('*'),
                "a wildcard action grants more than the task calls: {statement}"
            );
            if statement["Effect"] == "Allow" {
                granted.insert(action);
            }
        }
    }
    let wanted: std::collections::BTreeSet<&str> = actions.iter().copied().collect();
    assert_eq!(granted, wanted, "{name}: the role's actions");
    let unknown = unknown_iam_actions(actions.iter().copied());
    assert!(
        unknown.is_empty(),
        "IAM actions that do not exist:\n{unknown}"
    );

    let formats = iam_resource_formats(actions.iter().copied());
    let of_types = |action: &str, resource: &str| {
        resource == "*" || formats[action].iter().any(|f| wildcard(f, resource))
    };
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let actions = strings(&statement["Action"]);
        // A resource of the stack (LifeboatBus) is only known once deployed.
        let resources: Vec<String> = resolve(&statement["Resource"], &params)
            .into_iter()
            .filter(|r| !r.starts_with('<'))
            .collect();
        for action in &actions {
            if formats[*action].is_empty() {
                assert_eq!(
                    resources,
                    ["*"],
                    "{action} has no resource types: {statement}"
                );
            } else if !resources.is_empty() {
                assert!(
                    resources.iter().any(|r| of_types(action, r)),
                    "{action} names no resource of its types {:?}: {statement}",
                    formats[*action]
                );
            }
        }
        for resource in &resources {
            assert!(
                actions.iter().any(|a| of_types(a, resource)),
                "{resource} is a resource of none of {actions:?}: {statement}"
            );
        }
    }
}

/// A function ticks on the schedule parameter `schedule` (default `every`) and has exactly the
/// EventBridge rules `rules` (by name, sorted), all on the recovery Region's default bus (no
/// `EventBusName`): the events of the recovery Region's own services.
pub fn assert_ticks_and_listens_on_the_default_bus(
    template: &Value,
    properties: &Value,
    schedule: &str,
    every: &str,
    rules: &[&str],
) {
    let (schedules, found) = triggers(properties);
    assert_eq!(schedules, [&serde_json::json!({"Ref": schedule})]);
    assert_eq!(template["Parameters"][schedule]["Default"], every);
    let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, rules, "{found:?}");
    for (name, rule) in found {
        assert!(
            rule.get("EventBusName").is_none(),
            "{name}: the recovery Region's services emit their events on its default bus"
        );
    }
}
