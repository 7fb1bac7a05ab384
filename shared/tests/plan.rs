//! The plan contract: the example in the docs validates, and a bad plan gets every error at once,
//! each with its path.

use lifeboat_shared::plan::{AlarmRequirement, Plan, RdsSelector, SnapshotSelection};

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/tracking.toml"
    ))
    .unwrap()
}

fn errors_of(text: &str) -> Vec<String> {
    let errors = Plan::parse(text, "plan.toml").expect_err("the plan should be refused");
    errors.errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn the_documented_example_plan_is_valid() {
    let plan = Plan::parse(&example(), "tracking.toml").unwrap();
    assert_eq!(plan.name, "tracking");
    assert_eq!(plan.recovery_region.as_str(), "us-east-2");
    assert_eq!(plan.event_bus, "lifeboat");
    assert_eq!(plan.copy.rds.len(), 2);
    assert_eq!(
        plan.copy.rds[0].selector(),
        RdsSelector::Cluster("phoenix-aurora")
    );
    assert_eq!(plan.copy.rds[1].snapshots, SnapshotSelection::All);
    assert_eq!(plan.verify[0].checks.len(), 2);
    let failover = plan.failover.unwrap();
    assert_eq!(failover.require, AlarmRequirement::All);
    assert_eq!(failover.sustained_for.0.as_secs(), 300);
}

#[test]
fn defaults_fill_what_a_minimal_plan_leaves_out() {
    let plan = Plan::parse(
        r#"
        name = "mini"
        primary_region = "eu-west-1"
        recovery_region = "eu-central-1"
        state_bucket = "mini-dr"
        [[copy.rds]]
        db_instance = "orders"
        "#,
        "mini.toml",
    )
    .unwrap();
    assert_eq!(plan.event_bus, "lifeboat");
    assert_eq!(plan.copy.limits.db_snapshot_copies, 20);
    assert_eq!(plan.copy.limits.cluster_snapshot_copies, 5);
    let entry = &plan.copy.rds[0];
    assert_eq!(
        (entry.retain_days, entry.keep_at_least, entry.snapshots),
        (7, 3, SnapshotSelection::Newest)
    );
}

#[test]
fn a_bad_plan_lists_every_error_with_its_path() {
    let text = example()
        .replace("retain_days = 7", "retain_days = 7\nretian_days = 9")
        .replace("key/1234abcd-12ab-34cd-56ef-1234567890ab\"\nsnapshots = \"all\"", "key/x\"\nsnapshots = \"sometimes\"")
        .replace("keep_at_least = 2", "keep_at_least = 0")
        .replace("kms_key = \"arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"\nsnapshots = \"newest\"",
                 "kms_key = \"arn:aws:kms:us-west-2:111122223333:key/k\"\nsnapshots = \"newest\"")
        .replace("record = \"api.tracking.example.com.\"", "record = \"api..example.com\"");
    let errors = errors_of(&text);
    for expected in [
        "copy.rds[0].retian_days: unknown key",
        "copy.rds[0].kms_key: key is in us-west-2, the recovery Region is us-east-2",
        "copy.rds[1].snapshots:",
        "copy.rds[1].keep_at_least:",
        "failover.dns[0].record: \"api..example.com\" is not a DNS name",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "missing {expected:?} in {errors:#?}"
        );
    }
}

#[test]
fn schema_errors_and_cross_field_errors_come_together() {
    let errors = errors_of(
        r#"
        name = "x"
        primary_region = "us-east-2"
        recovery_region = "us-east-2"
        state_bucket = "b-x"
        colour = "blue"
        [[copy.rds]]
        db_instance = "a"
        db_cluster = "b"
        [[copy.rds]]
        kms_key = "arn:aws:s3:::not-a-key"
        "#,
    );
    assert_eq!(
        errors,
        [
            "colour: unknown key",
            "recovery_region: must differ from primary_region (both are us-east-2)",
            "copy.rds[0]: set only one of db_instance, db_cluster or tag",
            "copy.rds[1]: set one of db_instance, db_cluster or tag",
            "copy.rds[1].kms_key: arn:aws:s3:::not-a-key is not a kms ARN",
        ]
    );
}

#[test]
fn missing_required_keys_and_wrong_types_are_named() {
    let errors = errors_of(
        r#"
        primary_region = "us-west-2"
        recovery_region = 7
        state_bucket = "b-x"
        "#,
    );
    assert!(
        errors.contains(&"name: missing (this key is required)".to_owned()),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("recovery_region: 7 is not of type \"string\"")),
        "{errors:#?}"
    );
}

#[test]
fn toml_syntax_errors_give_line_and_column() {
    let errors = errors_of("name = \"x\"\nprimary_region = \n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("not valid TOML: line 2, column"),
        "{errors:?}"
    );
}

#[test]
fn references_between_sections_are_checked() {
    let errors = errors_of(
        r#"
        name = "x"
        primary_region = "us-west-2"
        recovery_region = "us-east-2"
        state_bucket = "b-x"
        [[copy.rds]]
        db_instance = "orders"
        [[verify]]
        name = "v"
        db_cluster = "phoenix"
        instance_class = "db.t4g.medium"
        subnet_group = "g"
        [[verify.checks]]
        sql = "SELECT 1"
        [failover]
        mode = "automatic"
        require = 3
        [[failover.promote]]
        aurora_global = "g"
        "#,
    );
    assert_eq!(
        errors,
        [
            "verify[0].db_cluster: \"phoenix\" is not copied by any [[copy.rds]] entry, so there is nothing to restore",
            "verify[0].checks[0]: sql and expect go together",
            "failover.require: requires 3 alarms but failover.alarms lists 0",
            "failover.alarms: automatic failover needs at least one alarm",
            "failover.promote[0].target_cluster: aurora_global needs the recovery-Region cluster that becomes the writer",
        ]
    );
}

#[test]
fn the_schema_is_generated_from_the_types_and_forbids_unknown_keys() {
    let schema = Plan::json_schema();
    assert_eq!(schema["title"], "Lifeboat plan");
    assert_eq!(schema["additionalProperties"], false);
    for key in ["name", "primary_region", "recovery_region", "state_bucket"] {
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == key),
            "{key} is required"
        );
    }
    let rds = &schema["$defs"]["RdsCopy"];
    assert_eq!(rds["additionalProperties"], false);
    assert_eq!(rds["properties"]["keep_at_least"]["minimum"], 1);
}

#[test]
fn the_published_schema_matches_the_types() {
    // docs/plan.schema.json is what editors and CI outside Rust validate plans with. If this
    // fails, regenerate it: cargo run -p lifeboat-cli -- plan schema > docs/plan.schema.json
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/plan.schema.json"
    ))
    .unwrap();
    let published: serde_json::Value = serde_json::from_str(&published).unwrap();
    assert_eq!(
        published,
        Plan::json_schema(),
        "docs/plan.schema.json is out of date"
    );
}

#[test]
fn entries_that_take_one_of_several_keys_must_set_exactly_one() {
    let errors = errors_of(
        r#"
        name = "x"
        primary_region = "us-west-2"
        recovery_region = "us-east-2"
        state_bucket = "b-x"
        [[copy.rds]]
        tag = { key = "dr", value = "true" }
        [[verify]]
        name = "v"
        db_instance = "a"
        db_cluster = "b"
        instance_class = "db.t4g.medium"
        subnet_group = "g"
        [failover]
        [[failover.promote]]
        target_cluster = "arn:aws:rds:us-east-2:111122223333:cluster:phoenix-dr"
        "#,
    );
    assert_eq!(
        errors,
        [
            "verify[0]: set only one of db_instance or db_cluster",
            "failover.promote[0]: set one of aurora_global, rds_replica or aurora_replica_cluster",
        ]
    );
}
