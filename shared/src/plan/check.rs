//! Plan validation in three passes, each reporting every problem it finds:
//! 1. TOML syntax (stops here: nothing else can be read);
//! 2. the JSON Schema generated from the plan types (unknown keys, types, ranges, patterns);
//! 3. checks across fields that a schema cannot express (Regions of ARNs, one-of selectors,
//!    references between sections).
//!
//! Keys refused in pass 2 are removed before pass 3, and pass 3 reads the plan part by part (a
//! top-level key, an array entry), so it runs even when the plan cannot be read whole: a plan
//! with a missing key, a typo and a KMS key in the wrong Region gets every error in one go.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::OnceLock;

use jsonschema::JsonType;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

use serde::de::DeserializeOwned;

use super::{
    Arn, BackupCopy, DnsFlip, Failover, Plan, Promotion, RdsCopy, RdsSelector, Region, SqlCheck,
    VerifyJob,
};

/// One problem with a plan, at a path such as `copy.rds[2].kms_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// Where in the plan; empty for the plan as a whole.
    pub path: String,
    pub message: String,
}

impl PlanError {
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError {
            path: path.into(),
            message: message.into(),
        }
    }
    pub fn whole(message: impl Into<String>) -> Self {
        PlanError::at("", message)
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanErrors {
    /// The file (or URI) the plan came from.
    pub origin: String,
    pub errors: Vec<PlanError>,
}

impl PlanErrors {
    pub fn single(origin: &str, error: PlanError) -> Self {
        PlanErrors {
            origin: origin.to_owned(),
            errors: vec![error],
        }
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(
            f,
            "plan {} is invalid ({count} error{}):",
            self.origin,
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

pub(super) fn parse(text: &str, origin: &str) -> Result<Plan, PlanErrors> {
    let fail = |errors: Vec<PlanError>| PlanErrors {
        origin: origin.to_owned(),
        errors,
    };

    let document: Value = toml::from_str(text).map_err(|e| {
        let place = e.span().map(|span| line_and_column(text, span.start));
        let message = match place {
            Some((line, column)) => format!("line {line}, column {column}: {}", e.message()),
            None => e.message().to_owned(),
        };
        fail(vec![PlanError::whole(format!("not valid TOML: {message}"))])
    })?;

    let (mut errors, refused) = schema_errors(&document);
    // Drop what the schema refused so the rest can be read and checked across fields. Where that
    // leaves a required key missing, the same part is read again keeping the refused values (a
    // badly formatted name is still a string).
    let unknown_only: Vec<&Refusal> = refused.iter().filter(|r| r.unknown).collect();
    let readings = [refused.iter().collect::<Vec<_>>(), unknown_only].map(|removals| {
        let mut cleaned = document.clone();
        remove_all(&mut cleaned, &removals);
        cleaned
    });
    let mut first_failure = None;
    let plan = readings.iter().find_map(|reading| {
        serde_path_to_error::deserialize::<_, Plan>(reading)
            .map_err(|error| {
                first_failure.get_or_insert(error);
            })
            .ok()
    });

    // The cross-field checks run on every part of the plan that can be read, even when the whole
    // cannot (a required key is missing), so one pass reports everything. A check about a key the
    // schema already refused, or about the entry holding it, would only repeat the error.
    let refused_paths: Vec<String> = errors.iter().map(|e| e.path.clone()).collect();
    let parts = Parts::read(&readings);
    let findings = cross_field_errors(&parts).0.into_iter();
    errors.extend(
        findings
            .filter(|finding| {
                !finding.about.iter().any(|path| {
                    refused_paths
                        .iter()
                        .any(|r| is_within(r, path) || is_within(path, r))
                })
            })
            .map(|finding| finding.error),
    );

    match plan {
        Some(plan) if errors.is_empty() => Ok(plan),
        Some(_) => Err(fail(errors)),
        None => {
            // The schema should already have said why; this covers values only the parser
            // can judge.
            if errors.is_empty()
                && let Some(error) = first_failure
            {
                errors.push(PlanError::at(
                    dotted(&error.path().to_string()),
                    error.inner().to_string(),
                ));
            }
            Err(fail(errors))
        }
    }
}

/// The parts of a plan the cross-field checks look at, each read on its own: a top-level key,
/// or one entry of an array. A part that cannot be read (the schema has said why) is left out,
/// and only the checks that need it are skipped.
struct Parts {
    primary_region: Option<Region>,
    recovery_region: Option<Region>,
    /// `[[copy.rds]]` entries with their index; `all_rds` says whether every entry was read.
    rds: Vec<(usize, RdsCopy)>,
    all_rds: bool,
    backup: Vec<(usize, BackupCopy)>,
    verify: Vec<(usize, VerifyJob)>,
    /// `[failover]` without its arrays, which are read entry by entry below.
    failover: Option<Failover>,
    promote: Vec<(usize, Promotion)>,
    dns: Vec<(usize, DnsFlip)>,
}

impl Parts {
    /// Reads each part from the first of `readings` (the plan with refused keys removed, then
    /// with only unknown keys removed) that holds a readable one.
    fn read(readings: &[Value]) -> Parts {
        let (rds, all_rds) = entries(readings, "/copy/rds");
        let failover = readings.iter().find_map(|reading| {
            let mut section = reading.pointer("/failover")?.clone();
            let map = section.as_object_mut()?;
            map.remove("promote");
            map.remove("dns");
            serde_json::from_value(section).ok()
        });
        Parts {
            primary_region: part(readings, "/primary_region"),
            recovery_region: part(readings, "/recovery_region"),
            rds,
            all_rds,
            backup: entries(readings, "/copy/backup").0,
            verify: entries(readings, "/verify").0,
            failover,
            promote: entries(readings, "/failover/promote").0,
            dns: entries(readings, "/failover/dns").0,
        }
    }
}

fn part<T: DeserializeOwned>(readings: &[Value], pointer: &str) -> Option<T> {
    readings
        .iter()
        .find_map(|reading| T::deserialize(reading.pointer(pointer)?).ok())
}

/// The readable entries of the array at `pointer`, with their indexes, and whether all were.
fn entries<T: DeserializeOwned>(readings: &[Value], pointer: &str) -> (Vec<(usize, T)>, bool) {
    let count = readings
        .iter()
        .filter_map(|reading| reading.pointer(pointer)?.as_array().map(Vec::len))
        .max()
        .unwrap_or(0);
    let read: Vec<(usize, T)> = (0..count)
        .filter_map(|i| Some((i, part(readings, &format!("{pointer}/{i}"))?)))
        .collect();
    let all = read.len() == count;
    (read, all)
}

/// Whether `path` is `outer` or lies inside it (`copy.rds[0].kms_key` lies inside `copy.rds[0]`).
fn is_within(path: &str, outer: &str) -> bool {
    !outer.is_empty()
        && (path == outer
            || path
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('[')))
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// serde_path_to_error writes `copy.rds[2].kms_key` already; only the root needs care.
fn dotted(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(&Plan::json_schema()).expect("the generated schema is valid")
    })
}

/// A key the schema refused: unknown, or with a value it does not accept.
struct Refusal {
    parent: Vec<PathStep>,
    key: String,
    unknown: bool,
}

/// Validates against the generated schema: every error, and what to remove to read the rest.
fn schema_errors(document: &Value) -> (Vec<PlanError>, Vec<Refusal>) {
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    let mut wrong_typed = Vec::new();
    for error in validator().iter_errors(document) {
        let steps: Vec<PathStep> = error.instance_path().iter().map(PathStep::from).collect();
        let path = render(&steps);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    errors.push(PlanError::at(join(&path, key), "unknown key"));
                    refused.push(Refusal {
                        parent: steps.clone(),
                        key: key.clone(),
                        unknown: true,
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let key = property.as_str().unwrap_or_default();
                errors.push(PlanError::at(
                    join(&path, key),
                    "missing (this key is required)",
                ));
            }
            _ => {
                if let Some((PathStep::Key(key), parent)) = steps.split_last() {
                    refused.push(Refusal {
                        parent: parent.to_vec(),
                        key: key.clone(),
                        unknown: false,
                    });
                }
                let message = match error.kind() {
                    ValidationErrorKind::Type { kind } => {
                        wrong_typed.push(path.clone());
                        wrong_type_message(error.instance(), kind)
                    }
                    _ => friendly_message(error.schema_path().as_str(), error.instance())
                        .unwrap_or_else(|| error.to_string()),
                };
                errors.push(PlanError::at(path, message));
            }
        }
    }
    // Of a value of the wrong type, say only that: "3 is not one of ..." adds nothing.
    errors.retain(|error| {
        !wrong_typed.contains(&error.path) || error.message.starts_with(WRONG_TYPE)
    });
    errors.dedup();
    (errors, refused)
}

const WRONG_TYPE: &str = "wrong type: ";

/// `wrong type: "7" is a string where an integer is expected`, in TOML's words.
fn wrong_type_message(instance: &Value, expected: &TypeKind) -> String {
    let found = match instance {
        Value::String(_) => "a string",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::Bool(_) => "a boolean",
        Value::Array(_) => "an array",
        // The TOML reader hands dates and times over as a table with one private key.
        Value::Object(map) if map.keys().any(|k| k.contains("toml_private_datetime")) => {
            "a date-time"
        }
        Value::Object(_) => "a table",
        Value::Null => "empty",
    };
    let expected: Vec<&str> = match expected {
        TypeKind::Single(one) => vec![type_in_words(*one)],
        TypeKind::Multiple(set) => set.iter().map(type_in_words).collect(),
    };
    let expected = match expected.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "another type".to_owned(),
    };
    let shown = match instance {
        Value::Object(_) | Value::Array(_) => String::new(),
        value => format!("{value} "),
    };
    format!("{WRONG_TYPE}{shown}is {found} where {expected} is expected")
}

fn type_in_words(kind: JsonType) -> &'static str {
    match kind {
        JsonType::Array => "an array",
        JsonType::Boolean => "a boolean",
        JsonType::Integer => "an integer",
        JsonType::Null => "nothing",
        JsonType::Number => "a number",
        JsonType::Object => "a table",
        JsonType::String => "a string",
    }
}

fn remove_all(document: &mut Value, removals: &[&Refusal]) {
    for refusal in removals {
        if let Some(Value::Object(map)) = walk(document, &refusal.parent) {
            map.remove(&refusal.key);
        }
    }
}

/// Says what a refused string should look like, in the words of the type that parses it, where
/// the schema's own message would only quote a regular expression.
fn friendly_message(schema_path: &str, instance: &Value) -> Option<String> {
    let text = instance.as_str();
    let parse_error = |result: Result<(), String>| result.err();
    if schema_path.contains("/$defs/Duration/") {
        return parse_error(text?.parse::<super::PlanDuration>().map(drop));
    }
    if schema_path.contains("/$defs/Region/") {
        return parse_error(text?.parse::<Region>().map(drop));
    }
    if schema_path.contains("/$defs/Arn/") {
        return parse_error(text?.parse::<Arn>().map(drop));
    }
    if schema_path.contains("/$defs/Expectation/") {
        return parse_error(text?.parse::<super::Expectation>().map(drop));
    }
    if schema_path.contains("/$defs/AlarmRequirement/") {
        return Some(format!(
            "{instance} is not \"any\", \"all\" or a number of alarms (1 or more)"
        ));
    }
    let rule = [
        (
            "/name/pattern",
            "must be 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit",
        ),
        ("/state_bucket/pattern", "is not a valid S3 bucket name"),
        (
            "/instance_class/pattern",
            "is not a DB instance class like \"db.t4g.medium\"",
        ),
        (
            "/hosted_zone_id/pattern",
            "is not a Route 53 hosted zone ID like \"Z0123456789\"",
        ),
    ];
    let (_, rule) = rule
        .iter()
        .find(|(suffix, _)| schema_path.ends_with(suffix))?;
    Some(format!("{instance} {rule}"))
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

impl From<LocationSegment<'_>> for PathStep {
    fn from(segment: LocationSegment<'_>) -> Self {
        match segment {
            LocationSegment::Property(key) => PathStep::Key(key.into_owned()),
            LocationSegment::Index(index) => PathStep::Index(index),
        }
    }
}

fn render(steps: &[PathStep]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            PathStep::Key(key) => path = join(&path, key),
            PathStep::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk<'a>(document: &'a mut Value, steps: &[PathStep]) -> Option<&'a mut Value> {
    steps.iter().try_fold(document, |value, step| match step {
        PathStep::Key(key) => value.get_mut(key.as_str()),
        PathStep::Index(index) => value.get_mut(*index),
    })
}

/// A cross-field error and the keys it is about. It is left out when the schema refused one of
/// them (or a key inside one), since it would only repeat that error.
struct Finding {
    error: PlanError,
    about: Vec<String>,
}

impl Finding {
    /// An error about an entry as a whole, which depends on only some of its keys.
    fn about(error: PlanError, keys: &[&str]) -> Self {
        let about = keys.iter().map(|key| join(&error.path, key)).collect();
        Finding { error, about }
    }
}

impl From<PlanError> for Finding {
    fn from(error: PlanError) -> Self {
        let about = vec![error.path.clone()];
        Finding { error, about }
    }
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, finding: impl Into<Finding>) {
        self.0.push(finding.into());
    }
    fn extend<F: Into<Finding>>(&mut self, findings: impl IntoIterator<Item = F>) {
        self.0.extend(findings.into_iter().map(Into::into));
    }
}

/// The checks across fields, one per part of the plan, in the plan's order: errors are listed
/// in it.
const CROSS_FIELD_CHECKS: [fn(&Parts) -> Findings; 7] = [
    region_pair_errors,
    rds_errors,
    backup_errors,
    verify_errors,
    failover_errors,
    promote_errors,
    dns_errors,
];

/// Checks that span fields or sections.
fn cross_field_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    for check in CROSS_FIELD_CHECKS {
        errors.0.extend(check(plan).0);
    }
    errors
}

/// Region pairs AWS cannot serve: the same Region twice, Regions in two partitions (nothing is
/// copied, replicated or failed over between `aws`, `aws-us-gov` and `aws-cn`), and RDS snapshot
/// copies to or from a China Region, which RDS does not offer.
fn region_pair_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    let (Some(primary), Some(recovery)) = (&plan.primary_region, &plan.recovery_region) else {
        return errors;
    };
    if primary == recovery {
        errors.push(PlanError::at(
            "recovery_region",
            format!("must differ from primary_region (both are {recovery})"),
        ));
    }
    if primary.partition() != recovery.partition() {
        errors.push(PlanError::at(
            "recovery_region",
            format!(
                "{recovery} is in partition {}, but primary_region {primary} is in {}: AWS \
                 copies snapshots and replicates databases only within one partition",
                recovery.partition(),
                primary.partition()
            ),
        ));
    }
    if !plan.rds.is_empty() || !plan.all_rds {
        for (key, region) in [("primary_region", primary), ("recovery_region", recovery)] {
            if region.partition() == "aws-cn" {
                errors.push(PlanError::at(
                    key,
                    format!(
                        "{region} is a China Region, and RDS copies no snapshots to or from \
                         China Regions: remove the [[copy.rds]] entries or choose another Region"
                    ),
                ));
            }
        }
    }
    errors
}

/// `[[copy.rds]]`: one selector per entry, each DB selected once, the KMS key in the recovery
/// Region, an option group only where it can apply.
fn rds_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    let mut copied_dbs = HashSet::new();
    for (i, entry) in &plan.rds {
        let path = format!("copy.rds[{i}]");
        match rds_selector_error(&path, entry) {
            Some(error) => errors.push(error),
            None => {
                let selector = entry.selector();
                if !copied_dbs.insert(selector.clone()) {
                    errors.push(Finding::about(
                        PlanError::at(
                            &path,
                            format!("{selector} is already selected by an earlier entry"),
                        ),
                        &["db_instance", "db_cluster", "tag"],
                    ));
                }
            }
        }
        if let Some(key) = &entry.kms_key {
            errors.extend(kms_key_error(
                &format!("{path}.kms_key"),
                key,
                plan.recovery_region.as_ref(),
            ));
        }
        errors.extend(option_group_errors(&path, entry));
    }
    errors
}

fn rds_selector_error(path: &str, entry: &RdsCopy) -> Option<Finding> {
    exactly_one(
        path,
        &[
            ("db_instance", entry.db_instance.is_some()),
            ("db_cluster", entry.db_cluster.is_some()),
            ("tag", entry.tag.is_some()),
        ],
    )
    .err()
}

fn option_group_errors(path: &str, entry: &RdsCopy) -> Vec<PlanError> {
    let mut errors = Vec::new();
    if entry.option_group.is_none() {
        return errors;
    }
    // An option group belongs to one engine (and version); a tag can match DBs of several.
    if entry.tag.is_some() {
        errors.push(PlanError::at(
            format!("{path}.option_group"),
            "an option group fits one engine, but a tag selector can match DBs of \
             several; give each DB that needs an option group its own db_instance entry",
        ));
    }
    // Aurora cluster snapshot copies take no option group: it would be silently ignored.
    if entry.db_cluster.is_some() {
        errors.push(PlanError::at(
            format!("{path}.option_group"),
            "Aurora cluster snapshot copies take no option group; remove it",
        ));
    }
    errors
}

/// `[[copy.backup]]`: the destination vault in the recovery Region, the role an IAM role.
fn backup_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    for (i, entry) in &plan.backup {
        let path = format!("copy.backup[{i}]");
        errors.extend(arn_error(
            &format!("{path}.destination_vault"),
            &entry.destination_vault,
            "backup",
            Some("backup-vault:"),
            plan.recovery_region.as_ref(),
        ));
        errors.extend(arn_error(
            &format!("{path}.iam_role"),
            &entry.iam_role,
            "iam",
            Some("role/"),
            None,
        ));
    }
    errors
}

/// `[[verify]]`: unique names, a restore source, one DB each that something copies, and checks
/// that each set one kind of query.
fn verify_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    let copied = CopiedDbs::of(plan);
    let mut verify_names = BTreeSet::new();
    for (i, job) in &plan.verify {
        let path = format!("verify[{i}]");
        if !verify_names.insert(job.name.as_str()) {
            errors.push(PlanError::at(
                format!("{path}.name"),
                format!("{:?} is used twice", job.name),
            ));
        }
        errors.extend(restore_source_error(&path, job));
        errors.extend(subnet_group_error(&path, job));
        errors.extend(verify_db_error(&path, job, &copied));
        for (j, check) in job.checks.iter().enumerate() {
            errors.extend(check_error(&format!("{path}.checks[{j}]"), check));
        }
    }
    errors
}

/// The DBs the `[[copy.rds]]` entries copy, as far as the plan alone tells.
struct CopiedDbs<'a> {
    by_name: HashSet<&'a str>,
    /// A tag selector cannot be resolved offline, and an entry that cannot be read may name the
    /// DB: either way, whether a verify job's DB is copied cannot be told.
    known: bool,
}

impl<'a> CopiedDbs<'a> {
    fn of(plan: &'a Parts) -> Self {
        CopiedDbs {
            by_name: plan
                .rds
                .iter()
                .filter_map(|(_, entry)| {
                    entry.db_instance.as_deref().or(entry.db_cluster.as_deref())
                })
                .collect(),
            known: plan.all_rds && plan.rds.iter().all(|(_, entry)| entry.tag.is_none()),
        }
    }
}

/// Where a job's restore comes from: the newest copy, a recovery point (with the role to restore
/// it), or AWS Backup's restore testing.
fn restore_source_error(path: &str, job: &VerifyJob) -> Option<PlanError> {
    match (
        &job.backup_vault,
        &job.restore_role,
        &job.restore_testing_plan,
    ) {
        (Some(_), _, Some(_)) => Some(PlanError::at(
            format!("{path}.backup_vault"),
            "set backup_vault (Lifeboat restores a recovery point) or restore_testing_plan \
             (AWS Backup restores, Lifeboat checks), not both",
        )),
        (Some(_), None, None) => Some(PlanError::at(
            format!("{path}.restore_role"),
            "is required with backup_vault: the IAM role AWS Backup restores the recovery point with",
        )),
        (None, Some(_), _) => Some(PlanError::at(
            format!("{path}.restore_role"),
            "goes with backup_vault only",
        )),
        _ => None,
    }
}

fn subnet_group_error(path: &str, job: &VerifyJob) -> Option<PlanError> {
    let restores_itself = job.restore_testing_plan.is_none();
    (restores_itself && job.subnet_group.is_empty()).then(|| {
        PlanError::at(
            format!("{path}.subnet_group"),
            "is required: the verification restores into that isolated subnet group \
             (only an entry with restore_testing_plan, whose restores AWS Backup makes, goes without)",
        )
    })
}

/// A job names one DB; a job that restores the newest copy needs something to copy it.
fn verify_db_error(path: &str, job: &VerifyJob, copied: &CopiedDbs<'_>) -> Option<Finding> {
    let choice = exactly_one(
        path,
        &[
            ("db_instance", job.db_instance.is_some()),
            ("db_cluster", job.db_cluster.is_some()),
        ],
    );
    let named = match (&job.db_instance, &job.db_cluster) {
        (Some(db), _) => Some(("db_instance", db)),
        (None, Some(db)) => Some(("db_cluster", db)),
        (None, None) => None,
    };
    // A job that restores AWS Backup's recovery points needs no snapshot copies.
    let needs_copies = job.restore_testing_plan.is_none() && job.backup_vault.is_none();
    match (choice, named) {
        (Err(error), _) => Some(error),
        // A verify job restores the newest copy, so something must make copies of it.
        (Ok(()), Some((key, db)))
            if needs_copies && copied.known && !copied.by_name.contains(db.as_str()) =>
        {
            Some(
                PlanError::at(
                    format!("{path}.{key}"),
                    format!("{db:?} is not copied by any [[copy.rds]] entry, so there is nothing to restore"),
                )
                .into(),
            )
        }
        (Ok(()), _) => None,
    }
}

/// A check is `sql` with `expect`, or `freshness_sql` with `max_age`.
fn check_error(path: &str, check: &SqlCheck) -> Option<Finding> {
    let plain = check.sql.is_some() || check.expect.is_some();
    let freshness = check.freshness_sql.is_some() || check.max_age.is_some();
    let message = match (plain, freshness) {
        (true, true) => "set either sql with expect, or freshness_sql with max_age, not both",
        (false, false) => "set sql with expect, or freshness_sql with max_age",
        (true, false) if check.sql.is_none() || check.expect.is_none() => {
            "sql and expect go together"
        }
        (false, true) if check.freshness_sql.is_none() || check.max_age.is_none() => {
            "freshness_sql and max_age go together"
        }
        _ => return None,
    };
    Some(Finding::about(
        PlanError::at(path, message),
        &["sql", "expect", "freshness_sql", "max_age"],
    ))
}

/// `[failover]`: as many alarms as it requires, and at least one for automatic failover.
fn failover_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    let Some(failover) = &plan.failover else {
        return errors;
    };
    if let super::AlarmRequirement::AtLeast(n) = failover.require
        && n as usize > failover.alarms.len()
    {
        errors.push(PlanError::at(
            "failover.require",
            format!(
                "requires {n} alarms but failover.alarms lists {}",
                failover.alarms.len()
            ),
        ));
    }
    if failover.mode == super::FailoverMode::Automatic && failover.alarms.is_empty() {
        errors.push(PlanError::at(
            "failover.alarms",
            "automatic failover needs at least one alarm",
        ));
    }
    errors
}

/// `[[failover.promote]]`: one kind of target each; a global database's target cluster in the
/// recovery Region.
fn promote_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    for (i, promotion) in &plan.promote {
        let path = format!("failover.promote[{i}]");
        errors.extend(
            exactly_one(
                &path,
                &[
                    ("aurora_global", promotion.aurora_global.is_some()),
                    ("rds_replica", promotion.rds_replica.is_some()),
                    (
                        "aurora_replica_cluster",
                        promotion.aurora_replica_cluster.is_some(),
                    ),
                ],
            )
            .err(),
        );
        match (&promotion.aurora_global, &promotion.target_cluster) {
            (Some(_), None) => errors.push(PlanError::at(
                format!("{path}.target_cluster"),
                "aurora_global needs the recovery-Region cluster that becomes the writer",
            )),
            (_, Some(target)) => errors.extend(arn_error(
                &format!("{path}.target_cluster"),
                target,
                "rds",
                Some("cluster:"),
                plan.recovery_region.as_ref(),
            )),
            (None, None) => {}
        }
    }
    errors
}

/// `[[failover.dns]]`: a DNS name, and a flip that changes something.
fn dns_errors(plan: &Parts) -> Findings {
    let mut errors = Findings::default();
    for (i, flip) in &plan.dns {
        let path = format!("failover.dns[{i}]");
        if !is_dns_name(&flip.record) {
            errors.push(PlanError::at(
                format!("{path}.record"),
                format!("{:?} is not a DNS name", flip.record),
            ));
        }
        if flip.primary == flip.recovery {
            errors.push(PlanError::at(
                format!("{path}.recovery"),
                "is the same as primary, so a flip would change nothing",
            ));
        }
    }
    errors
}

/// Entries that take one of several keys ("db_instance, db_cluster or tag") must set exactly one.
fn exactly_one(path: &str, keys: &[(&str, bool)]) -> Result<(), Finding> {
    let names: Vec<&str> = keys.iter().map(|(name, _)| *name).collect();
    let listed = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let error = match keys.iter().filter(|(_, set)| *set).count() {
        1 => return Ok(()),
        0 => PlanError::at(path, format!("set one of {listed}")),
        _ => PlanError::at(path, format!("set only one of {listed}")),
    };
    Err(Finding::about(error, &names))
}

/// KMS key ARNs must be in the recovery Region: a copy re-encrypts there, and a key from another
/// Region fails the copy with a fault that does not name the key.
fn kms_key_error(path: &str, key: &Arn, recovery: Option<&Region>) -> Option<PlanError> {
    arn_error(path, key, "kms", None, recovery)
}

fn arn_error(
    path: &str,
    arn: &Arn,
    service: &str,
    resource_prefix: Option<&str>,
    region: Option<&Region>,
) -> Option<PlanError> {
    if arn.service != service {
        return Some(PlanError::at(path, format!("{arn} is not a {service} ARN")));
    }
    if let Some(prefix) = resource_prefix
        && !arn.resource.starts_with(prefix)
    {
        return Some(PlanError::at(
            path,
            format!(
                "{arn} does not name a {}",
                prefix.trim_end_matches([':', '/'])
            ),
        ));
    }
    if let Some(region) = region
        && arn.region != region.as_str()
    {
        let found = if arn.region.is_empty() {
            "no Region"
        } else {
            arn.region.as_str()
        };
        let what = if service == "kms" { "key" } else { "resource" };
        return Some(PlanError::at(
            path,
            format!("{what} is in {found}, the recovery Region is {region}"),
        ));
    }
    if let Some(region) = region
        && arn.partition != region.partition()
    {
        return Some(PlanError::at(
            path,
            format!(
                "{arn} is in the {} partition, the recovery Region {region} is in {}",
                arn.partition,
                region.partition()
            ),
        ));
    }
    None
}

fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && (label == "*"
                    || label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

impl std::hash::Hash for RdsSelector<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            RdsSelector::Instance(id) => ("instance", id).hash(state),
            RdsSelector::Cluster(id) => ("cluster", id).hash(state),
            RdsSelector::Tag(tag) => ("tag", &tag.key, &tag.value).hash(state),
        }
    }
}
