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
        errors.contains(
            &"recovery_region: wrong type: 7 is an integer where a string is expected".to_owned()
        ),
        "{errors:#?}"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_called_wrong_typed_not_missing() {
    let errors = errors_of(
        r#"
        name = "x"
        primary_region = "us-west-2"
        recovery_region = "us-east-2"
        state_bucket = "b-x"
        [[copy.rds]]
        db_instance = "orders"
        retain_days = "7"
        snapshots = 3
        "#,
    );
    // One error per key, saying what was found and what was expected (not also "3 is not one
    // of "newest" or "all"", and never "missing").
    assert_eq!(
        errors,
        [
            "copy.rds[0].retain_days: wrong type: \"7\" is a string where an integer is expected",
            "copy.rds[0].snapshots: wrong type: 3 is an integer where a string is expected",
        ]
    );
}

#[test]
fn cross_field_errors_are_reported_even_when_a_required_key_is_missing() {
    // A missing `name` means the plan as a whole cannot be read; the checks across fields still
    // run on what can be read, so every error comes in one pass.
    let errors = errors_of(
        r#"
        primary_region = "us-east-2"
        recovery_region = "us-east-2"
        state_bucket = "b-x"
        [[copy.rds]]
        db_instance = "a"
        db_cluster = "b"
        [[copy.rds]]
        tag = { key = "dr" }
        [[verify]]
        name = "v"
        db_cluster = "phoenix"
        subnet_group = "g"
        "#,
    );
    assert_eq!(
        errors,
        [
            "name: missing (this key is required)",
            "copy.rds[1].tag.value: missing (this key is required)",
            "verify[0].instance_class: missing (this key is required)",
            "recovery_region: must differ from primary_region (both are us-east-2)",
            "copy.rds[0]: set only one of db_instance, db_cluster or tag",
        ]
    );
}

fn with_regions(primary: &str, recovery: &str, rest: &str) -> String {
    format!(
        "name = \"x\"\nprimary_region = \"{primary}\"\nrecovery_region = \"{recovery}\"\n\
         state_bucket = \"b-x\"\n{rest}"
    )
}

#[test]
fn regions_in_different_partitions_are_refused() {
    for (primary, recovery) in [
        ("us-gov-west-1", "us-east-1"),
        ("us-east-1", "us-gov-east-1"),
        ("cn-north-1", "us-west-2"),
    ] {
        let errors = errors_of(&with_regions(primary, recovery, ""));
        assert!(
            errors.iter().any(|e| e.starts_with(&format!(
                "recovery_region: {recovery} is in partition {}, but primary_region {primary} is in {}",
                partition(recovery),
                partition(primary)
            ))),
            "{primary} → {recovery}: {errors:#?}"
        );
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

#[test]
fn govcloud_pairs_stay_valid_and_their_keys_must_be_govcloud_arns() {
    let copy = |partition: &str| {
        format!(
            "[[copy.rds]]\ndb_instance = \"orders\"\n\
             kms_key = \"arn:{partition}:kms:us-gov-east-1:111122223333:key/k\"\n"
        )
    };
    let plan = Plan::parse(
        &with_regions("us-gov-west-1", "us-gov-east-1", &copy("aws-us-gov")),
        "gov.toml",
    )
    .unwrap();
    assert_eq!(plan.recovery_region.partition(), "aws-us-gov");
    assert_eq!(
        errors_of(&with_regions(
            "us-gov-west-1",
            "us-gov-east-1",
            &copy("aws")
        )),
        [
            "copy.rds[0].kms_key: arn:aws:kms:us-gov-east-1:111122223333:key/k is in the aws partition, the recovery Region us-gov-east-1 is in aws-us-gov"
        ]
    );
}

#[test]
fn china_regions_are_refused_when_the_plan_copies_snapshots() {
    let copy = "[[copy.rds]]\ndb_instance = \"orders\"\n";
    let errors = errors_of(&with_regions("cn-north-1", "cn-northwest-1", copy));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("primary_region: cn-north-1 is a China Region, and RDS copies no snapshots to or from China Regions"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("recovery_region: cn-northwest-1 is a China Region"),
        "{errors:#?}"
    );
    // A China Region on one side only is refused too, naming that side.
    let errors = errors_of(&with_regions("cn-north-1", "ap-east-1", copy));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("primary_region: cn-north-1 is a China Region")),
        "{errors:#?}"
    );
    // A plan that copies nothing (failover only) may use China Regions.
    Plan::parse(
        &with_regions("cn-north-1", "cn-northwest-1", "[failover]\n"),
        "cn.toml",
    )
    .unwrap();
}

#[test]
fn an_option_group_with_a_tag_selector_is_refused() {
    let errors = errors_of(&with_regions(
        "us-west-2",
        "us-east-2",
        "[[copy.rds]]\ntag = { key = \"dr\", value = \"true\" }\noption_group = \"sqlserver-tde\"\n\
         [[copy.rds]]\ndb_instance = \"orders\"\noption_group = \"sqlserver-tde\"\n",
    ));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("copy.rds[0].option_group: an option group fits one engine"),
        "{errors:#?}"
    );
}

#[test]
fn an_option_group_on_a_cluster_entry_is_refused_not_ignored() {
    let errors = errors_of(&with_regions(
        "us-west-2",
        "us-east-2",
        "[[copy.rds]]\ndb_cluster = \"phoenix\"\noption_group = \"aurora-audit\"\n",
    ));
    assert_eq!(
        errors,
        [
            "copy.rds[0].option_group: Aurora cluster snapshot copies take no option group; remove it"
        ]
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

#[test]
fn a_verify_entry_that_validates_restore_tests_needs_no_subnet_group_and_no_copy() {
    let plan = |entry: &str| {
        with_regions(
            "us-west-2",
            "us-east-2",
            &format!(
                "[[verify]]\nname = \"v\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\n{entry}"
            ),
        )
    };
    // Restoring itself: the subnet group is required, and the DB must be copied.
    assert_eq!(
        errors_of(&plan("")),
        [
            "verify[0].subnet_group: is required: the verification restores into that isolated subnet group (only an entry with restore_testing_plan, whose restores AWS Backup makes, goes without)",
            "verify[0].db_instance: \"orders\" is not copied by any [[copy.rds]] entry, so there is nothing to restore",
        ]
    );
    // Validating AWS Backup's restore tests: neither.
    let validating = Plan::parse(
        &plan("restore_testing_plan = \"tracking_daily\"\nevery = \"7d\""),
        "plan.toml",
    )
    .expect("valid");
    assert_eq!(validating.verify[0].subnet_group, "");
    // Restore testing plan names are letters, digits and underscores.
    let errors = errors_of(&plan("restore_testing_plan = \"tracking-daily\""));
    assert_eq!(
        errors[0],
        "verify[0].restore_testing_plan: \"tracking-daily\" does not match \"^[A-Za-z0-9_]{1,50}$\"",
        "{errors:#?}"
    );
}

#[test]
fn a_verify_entry_restoring_a_recovery_point_needs_its_role_and_no_copy() {
    let plan = |entry: &str| {
        with_regions(
            "us-west-2",
            "us-east-2",
            &format!(
                "[[verify]]\nname = \"v\"\ndb_instance = \"orders\"\ninstance_class = \"db.t4g.micro\"\nsubnet_group = \"g\"\n{entry}"
            ),
        )
    };
    let role = "restore_role = \"arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole\"";
    assert!(Plan::parse(&plan(&format!("backup_vault = \"dr\"\n{role}")), "p").is_ok());
    assert_eq!(
        errors_of(&plan("backup_vault = \"dr\"")),
        [
            "verify[0].restore_role: is required with backup_vault: the IAM role AWS Backup restores the recovery point with"
        ]
    );
    assert_eq!(
        errors_of(&plan(&format!(
            "backup_vault = \"dr\"\n{role}\nrestore_testing_plan = \"daily\""
        ))),
        [
            "verify[0].backup_vault: set backup_vault (Lifeboat restores a recovery point) or restore_testing_plan (AWS Backup restores, Lifeboat checks), not both"
        ]
    );
    assert_eq!(
        errors_of(&plan(&format!("{role}\nrestore_testing_plan = \"daily\""))),
        ["verify[0].restore_role: goes with backup_vault only"]
    );
}
