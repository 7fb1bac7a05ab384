//! The snapshot copy, end to end: the real SDK clients over HTTP against the emulator, one
//! emulated account per test.

use std::time::Duration;

use lifeboat_shared::copy::{CopyReport, Outcome, Scope, copy_snapshots};
use lifeboat_shared::record::{Report, RunHeader, RunOutcome};
use lifeboat_shared::state::{Lease, LeaseTiming, lease_name};
use lifeboat_shared::tasks::{
    COPY_SNAPSHOTS, Finished, RunOptions, handle_copy_snapshots_event, run_copy_snapshots,
};
use lifeboat_shared::trigger::Trigger;
use lifeboat_shared::{Error, context::Lifeboat};
use lifeboat_tests::world::{PRIMARY, RECOVERY};
use lifeboat_tests::{Emulator, World};
use time::OffsetDateTime;

async fn world() -> World {
    World::new(Emulator::shared().new_account().await)
}

async fn run(lifeboat: &Lifeboat) -> CopyReport {
    match run_copy_snapshots(lifeboat, &Trigger::Manual, RunOptions::default()).await {
        Ok(Finished::Ran { report, .. }) => report,
        other => panic!("the run did not happen: {other:?}"),
    }
}

/// RDS copy calls this test's account made so far.
fn copy_calls(world: &World) -> Vec<lifeboat_tests::RecordedCall> {
    Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.action == "CopyDBSnapshot" || c.action == "CopyDBClusterSnapshot")
        .collect()
}

fn mutating_rds_calls(world: &World) -> Vec<String> {
    Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.service == "rds" && c.region == RECOVERY)
        .map(|c| c.action)
        .filter(|a| !a.starts_with("Describe") && !a.starts_with("List"))
        .collect()
}

#[tokio::test]
async fn copies_the_newest_snapshot_of_each_db_with_tags_and_the_plan_key_then_does_nothing_twice()
{
    let world = world().await;
    let queue = world.recovery_stack("lifeboat").await;
    let primary_key = world.kms_key(PRIMARY).await;
    let recovery_key = world.kms_key(RECOVERY).await;
    world.db_instance("orders", None, &[]).await;
    world
        .db_instance("billing", Some(&primary_key), &[("team", "payments")])
        .await;
    world.db_cluster("phoenix", None, &[]).await;
    world.snapshot("orders", "orders-old").await;
    let orders_newest = world.snapshot("orders", "orders-new").await;
    let billing_newest = world.snapshot("billing", "billing-1").await;
    let phoenix_newest = world.cluster_snapshot("phoenix", "phoenix-1").await;

    let plan = world.plan(
        "tracking",
        &format!(
            r#"
            [[copy.rds]]
            db_instance = "orders"
            kms_key = "{recovery_key}"
            [[copy.rds]]
            db_instance = "billing"
            kms_key = "{recovery_key}"
            [[copy.rds]]
            db_cluster = "phoenix"
            "#
        ),
    );
    let lifeboat = world.lifeboat(plan);
    let report = run(&lifeboat).await;

    assert_eq!(
        report.run.outcome,
        Some(RunOutcome::Succeeded),
        "{report:#?}"
    );
    assert_eq!(report.count(Outcome::Started), 3, "{report:#?}");
    let copies = world.recovery_snapshots().await;
    assert_eq!(copies.len(), 3, "{copies:#?}");
    let copy_of = |arn: &str| {
        copies
            .iter()
            .find(|c| c.tags.get("lifeboat:source-arn").map(String::as_str) == Some(arn))
            .unwrap_or_else(|| panic!("no copy of {arn} in {copies:#?}"))
    };
    for (arn, db) in [
        (&orders_newest, "orders"),
        (&billing_newest, "billing"),
        (&phoenix_newest, "phoenix"),
    ] {
        let copy = copy_of(arn);
        assert_eq!(copy.tags["lifeboat:plan"], "tracking");
        assert_eq!(copy.tags["lifeboat:source-region"], PRIMARY);
        assert_eq!(copy.tags["lifeboat:source-db"], db);
        assert!(copy.tags.contains_key("lifeboat:source-created"));
    }
    // Both instance copies are encrypted with the plan's recovery-Region key (the unencrypted
    // source too).
    assert_eq!(
        copy_of(&orders_newest).kms_key.as_deref(),
        Some(recovery_key.as_str())
    );
    assert_eq!(
        copy_of(&billing_newest).kms_key.as_deref(),
        Some(recovery_key.as_str())
    );
    assert!(copy_of(&phoenix_newest).cluster);

    // Outside AWS GovCloud (US) RDS ignores PreSignedUrl, so none is sent, not even for the
    // encrypted source; the source is named by ARN.
    let calls = copy_calls(&world);
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|c| !c.body.contains("PreSignedUrl=")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().any(|c| c.body.contains("billing-1")
            && c.body
                .contains("SourceDBSnapshotIdentifier=arn%3Aaws%3Ards%3Aus-west-2")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().all(|c| c.region == RECOVERY),
        "copies are requested in the recovery Region"
    );

    // The run left its record: reports in the state bucket and an event on Lifeboat's bus.
    let key = format!("{}.json", report.run.key_stem());
    let stored: serde_json::Value =
        serde_json::from_str(&world.state_object(&key).await.expect("JSON report")).unwrap();
    assert_eq!(stored["run_id"], report.run.run_id.as_str());
    assert_eq!(stored["outcome"], "succeeded");
    let markdown = world
        .state_object(&format!("{}.md", report.run.key_stem()))
        .await
        .expect("Markdown report");
    assert!(
        markdown.contains("# Snapshot copy — tracking — succeeded"),
        "{markdown}"
    );
    assert!(
        world
            .state_object("runs/tracking/copy-snapshots/latest.json")
            .await
            .is_some()
    );
    let events = world.delivered_events(&queue).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["detail-type"], "Lifeboat Run Finished");
    assert_eq!(events[0]["detail"]["summary"]["copies_started"], 3);
    assert_eq!(
        events[0]["detail"]["report"]["json"],
        format!("s3://{}/{key}", world.state_bucket())
    );

    // The second run finds every copy and makes no copy call.
    let second = run(&lifeboat).await;
    assert_eq!(second.count(Outcome::AlreadyCopied), 3, "{second:#?}");
    assert_eq!(second.count(Outcome::Started), 0);
    assert_eq!(copy_calls(&world).len(), 3, "no new copy call");
    assert_eq!(world.recovery_snapshots().await.len(), 3);
    // Copy lag is measured for every database once copies exist.
    assert_eq!(second.copy_lag.len(), 3);
    assert!(
        second
            .copy_lag
            .iter()
            .all(|l| l.lag_seconds.is_some_and(|s| (0..600).contains(&s))),
        "{:#?}",
        second.copy_lag
    );
}

#[tokio::test]
async fn one_run_never_starts_more_copies_than_the_quota_and_the_next_run_takes_the_rest() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("events", None, &[]).await;
    world.snapshots("events", 30).await;
    // The default quota is 20 DB snapshot copies in flight per destination Region.
    let lifeboat = world.lifeboat(world.plan(
        "quota",
        "[[copy.rds]]\ndb_instance = \"events\"\nsnapshots = \"all\"\n",
    ));

    let first = run(&lifeboat).await;
    assert_eq!(first.slots.instance.copy_limit, 20);
    assert_eq!(first.count(Outcome::Started), 20, "{first:#?}");
    // 30 manual snapshots and the automated one moto made at creation.
    assert_eq!(first.count(Outcome::Deferred), 11);
    assert_eq!(copy_calls(&world).len(), 20);
    assert_eq!(
        first.run.outcome,
        Some(RunOutcome::Succeeded),
        "waiting for quota is not a failure"
    );

    let second = run(&lifeboat).await;
    assert_eq!(second.count(Outcome::Started), 11);
    assert_eq!(second.count(Outcome::AlreadyCopied), 20);
    assert_eq!(world.recovery_snapshots().await.len(), 31);
}

#[tokio::test]
async fn pruning_keeps_at_least_keep_at_least_and_never_deletes_what_lifeboat_did_not_make() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("ledger", None, &[]).await;
    world.snapshots("ledger", 5).await;
    let plan = world.plan(
        "prune",
        "[[copy.rds]]\ndb_instance = \"ledger\"\nsnapshots = \"all\"\nretain_days = 7\nkeep_at_least = 3\n",
    );
    let lifeboat = world.lifeboat(plan.clone());
    let first = run(&lifeboat).await;
    assert_eq!(first.count(Outcome::Started), 6); // 5 manual + 1 automated
    // A snapshot someone made by hand in the recovery Region, of the same DB.
    world
        .recovery_rds
        .create_db_instance()
        .db_instance_identifier("ledger-restored")
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("u")
        .master_user_password("not-a-real-password")
        .send()
        .await
        .unwrap();
    world
        .recovery_rds
        .create_db_snapshot()
        .db_instance_identifier("ledger-restored")
        .db_snapshot_identifier("hand-made")
        .send()
        .await
        .unwrap();

    // Ten days later every copy is older than retain_days.
    let later = OffsetDateTime::now_utc() + time::Duration::days(10);
    let header = RunHeader::start("copy-snapshots", &plan, "test", false, later);
    let report = copy_snapshots(&lifeboat.clients, &plan, &Scope::Everything, header, None)
        .await
        .unwrap();
    assert_eq!(report.count(Outcome::Pruned), 3, "{report:#?}");
    assert_eq!(
        report.count(Outcome::Started),
        0,
        "nothing younger than retain_days to copy"
    );

    let left = world.recovery_snapshots().await;
    let ours: Vec<_> = left
        .iter()
        .filter(|s| s.tags.contains_key("lifeboat:plan"))
        .collect();
    assert_eq!(ours.len(), 3, "keep_at_least copies stay: {left:#?}");
    assert!(
        left.iter().any(|s| s.id == "hand-made"),
        "a snapshot Lifeboat did not make is never pruned"
    );
    // The three kept are the newest three.
    let mut kept: Vec<&str> = ours
        .iter()
        .map(|s| s.tags["lifeboat:source-arn"].rsplit(':').next().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["ledger-2", "ledger-3", "ledger-4"]);
}

#[tokio::test]
async fn an_encrypted_source_without_a_recovery_key_is_refused_before_any_mutating_call() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let primary_key = world.kms_key(PRIMARY).await;
    world.db_instance("secrets", Some(&primary_key), &[]).await;
    world.snapshot("secrets", "secrets-1").await;
    let lifeboat = world.lifeboat(world.plan("nokey", "[[copy.rds]]\ndb_instance = \"secrets\"\n"));

    let report = run(&lifeboat).await;
    assert_eq!(report.run.outcome, Some(RunOutcome::Failed));
    let refused: Vec<_> = report.items_with(Outcome::Refused).collect();
    assert_eq!(refused.len(), 1, "{report:#?}");
    assert!(
        refused[0]
            .detail
            .starts_with("copy.rds[0].kms_key: snapshot secrets-1 is encrypted"),
        "{}",
        refused[0].detail
    );
    assert_eq!(mutating_rds_calls(&world), Vec::<String>::new());
    assert!(world.recovery_snapshots().await.is_empty());
}

#[tokio::test]
async fn the_same_rds_event_delivered_twice_gives_one_copy() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.db_instance("unrelated", None, &[]).await;
    world.snapshot("unrelated", "unrelated-1").await;
    // RDS-EVENT-0091 names an automated snapshot (`rds:orders-…`), made by RDS itself.
    let arn = world.automated_snapshot("orders").await;
    let id = arn.splitn(7, ':').nth(6).unwrap().to_owned();
    assert!(id.starts_with("rds:orders"), "{id}");
    let lifeboat = world.lifeboat(world.plan(
        "events",
        "[[copy.rds]]\ndb_instance = \"orders\"\n[[copy.rds]]\ndb_instance = \"unrelated\"\n",
    ));

    // The fixture Lambda receives, pointed at the snapshot RDS made.
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json")).unwrap();
    event["account"] = world.account.id.clone().into();
    event["resources"] = serde_json::json!([arn]);
    event["detail"]["SourceArn"] = arn.clone().into();
    event["detail"]["SourceIdentifier"] = id.clone().into();

    let first = handle_copy_snapshots_event(&lifeboat, &event)
        .await
        .unwrap();
    assert_eq!(first["summary"]["copies_started"], 1, "{first:#}");
    let second = handle_copy_snapshots_event(&lifeboat, &event)
        .await
        .unwrap();
    assert_eq!(second["summary"]["copies_started"], 0, "{second:#}");
    assert_eq!(second["summary"]["copies_skipped"], 1, "{second:#}");

    let calls = copy_calls(&world);
    assert_eq!(calls.len(), 1, "one copy for two deliveries: {calls:#?}");
    // The event scoped the run to its DB: the other DB's snapshots were not copied.
    let copies = world.recovery_snapshots().await;
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].tags["lifeboat:source-arn"], arn);

    // AWS finds an automated snapshot by identifier only with SnapshotType=automated (moto
    // finds it without), so the request itself is checked.
    let lookups: Vec<String> = Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.action == "DescribeDBSnapshots" && c.body.contains("DBSnapshotIdentifier="))
        .map(|c| c.body)
        .collect();
    assert_eq!(lookups.len(), 2, "one lookup per delivery: {lookups:#?}");
    for body in &lookups {
        assert!(body.contains("DBSnapshotIdentifier=rds%3Aorders"), "{body}");
        assert!(body.contains("SnapshotType=automated"), "{body}");
    }
}

#[tokio::test]
async fn a_malformed_event_is_refused_naming_the_field_and_changes_nothing() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let lifeboat = world.lifeboat(world.plan("bad", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json")).unwrap();
    event["detail"].as_object_mut().unwrap().remove("EventID");
    let error = handle_copy_snapshots_event(&lifeboat, &event)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid event: detail.EventID is missing"
    );
    assert!(!error.is_retryable());
    assert!(
        Emulator::shared()
            .calls_of(&world.account)
            .iter()
            .all(|c| c.service != "rds"),
        "no RDS call at all"
    );
}

#[tokio::test]
async fn an_unknown_db_is_named_and_the_other_entries_still_copy() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.snapshot("orders", "orders-1").await;
    let lifeboat = world.lifeboat(world.plan(
        "partial",
        "[[copy.rds]]\ndb_instance = \"ghost\"\n[[copy.rds]]\ndb_instance = \"orders\"\n[[copy.rds]]\ntag = { key = \"dr\", value = \"true\" }\n",
    ));
    let report = run(&lifeboat).await;
    assert_eq!(report.run.outcome, Some(RunOutcome::Partial), "{report:#?}");
    let failed: Vec<&str> = report
        .items_with(Outcome::Failed)
        .map(|i| i.detail.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "copy.rds[0].db_instance: DB instance ghost not found in us-west-2",
            "copy.rds[2].tag: DB instance or cluster tagged dr=true not found in us-west-2",
        ]
    );
    assert_eq!(report.count(Outcome::Started), 1);
}

#[tokio::test]
async fn a_tag_selector_copies_standalone_instances_and_clusters_with_the_tag() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("tagged", None, &[("dr", "true")]).await;
    world.db_instance("untagged", None, &[]).await;
    world
        .db_cluster("tagged-cluster", None, &[("dr", "true")])
        .await;
    let lifeboat = world.lifeboat(world.plan(
        "tags",
        "[[copy.rds]]\ntag = { key = \"dr\", value = \"true\" }\n",
    ));
    let report = run(&lifeboat).await;
    let mut dbs: Vec<&str> = report.copy_lag.iter().map(|l| l.db.as_str()).collect();
    dbs.sort();
    assert_eq!(dbs, ["tagged", "tagged-cluster"]);
    // Each has the automated snapshot moto made at creation; the newest of each is copied.
    assert_eq!(report.count(Outcome::Started), 2, "{report:#?}");
}

#[tokio::test]
async fn a_run_waits_for_the_copy_lease_and_gives_up_naming_its_holder() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let lifeboat = world.lifeboat(world.plan("locked", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let timing = LeaseTiming {
        time_to_live: Duration::from_secs(60),
        wait_at_most: Duration::from_millis(300),
        poll_every: Duration::from_millis(100),
    };
    let bucket = world.state_bucket();
    let held = Lease::acquire(
        &lifeboat.clients.recovery,
        &bucket,
        &lease_name(
            &world.account.id,
            &lifeboat.plan.recovery_region,
            COPY_SNAPSHOTS,
        ),
        "other-run",
        timing,
    )
    .await
    .unwrap();
    let options = RunOptions {
        dry_run: false,
        lease: timing,
    };
    let error = run_copy_snapshots(&lifeboat, &Trigger::Manual, options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Locked { ref holder, .. } if holder == "other-run"),
        "{error}"
    );
    assert!(error.is_retryable());

    held.release().await.unwrap();
    assert!(
        run_copy_snapshots(&lifeboat, &Trigger::Manual, options)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_dry_run_decides_but_copies_deletes_and_records_nothing() {
    let world = world().await;
    let queue = world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    let lifeboat = world.lifeboat(world.plan("dry", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let options = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    let Ok(Finished::Ran { report, record }) =
        run_copy_snapshots(&lifeboat, &Trigger::Manual, options).await
    else {
        panic!("dry run did not run")
    };
    assert_eq!(report.count(Outcome::WouldStart), 1);
    assert!(record.is_none());
    assert!(world.recovery_snapshots().await.is_empty());
    assert_eq!(mutating_rds_calls(&world), Vec::<String>::new());
    assert!(world.delivered_events(&queue).await.is_empty());
    assert!(
        world
            .state_object("runs/dry/copy-snapshots/latest.json")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn an_event_for_a_db_the_plan_does_not_copy_is_ignored_and_copies_nothing() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.db_instance("scratch", None, &[]).await;
    let arn = world.snapshot("scratch", "scratch-1").await;
    let lifeboat = world.lifeboat(world.plan("scoped", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json")).unwrap();
    event["resources"] = serde_json::json!([arn]);
    event["detail"]["SourceArn"] = arn.clone().into();

    let Finished::Ran { report, .. } = run_copy_snapshots(
        &lifeboat,
        &Trigger::from_event(&event).unwrap(),
        RunOptions::default(),
    )
    .await
    .unwrap() else {
        panic!("expected a run")
    };
    let ignored: Vec<&str> = report
        .items_with(Outcome::Ignored)
        .map(|i| i.detail.as_str())
        .collect();
    assert_eq!(
        ignored,
        ["snapshot scratch-1 is of DB instance scratch, which the plan does not copy"]
    );
    assert!(copy_calls(&world).is_empty());
}

#[tokio::test]
async fn a_copy_that_fails_names_the_key_and_the_other_copies_still_start() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.db_instance("billing", None, &[]).await;
    let good_key = world.kms_key(RECOVERY).await;
    // A well-formed key ARN in the right Region that does not exist: RDS refuses the copy.
    let missing_key = format!(
        "arn:aws:kms:{RECOVERY}:{}:key/00000000-0000-0000-0000-000000000000",
        world.account.id
    );
    let lifeboat = world.lifeboat(world.plan(
        "keys",
        &format!(
            "[[copy.rds]]\ndb_instance = \"orders\"\nkms_key = \"{missing_key}\"\n\
             [[copy.rds]]\ndb_instance = \"billing\"\nkms_key = \"{good_key}\"\n"
        ),
    ));
    let report = run(&lifeboat).await;
    assert_eq!(report.run.outcome, Some(RunOutcome::Partial), "{report:#?}");
    let failed: Vec<_> = report.items_with(Outcome::Failed).collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    assert!(failed[0].db.contains("orders"));
    assert!(
        failed[0].detail.starts_with(&format!(
            "KMS key {missing_key} cannot be used in {RECOVERY}"
        )),
        "{}",
        failed[0].detail
    );
    assert_eq!(report.count(Outcome::Started), 1);
    assert_eq!(world.recovery_snapshots().await.len(), 1);
}

#[tokio::test]
async fn the_plan_loads_from_the_state_bucket_as_the_lambda_reads_it() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let text = format!(
        "name = \"from-s3\"\nprimary_region = \"{PRIMARY}\"\nrecovery_region = \"{RECOVERY}\"\nstate_bucket = \"{}\"\n",
        world.state_bucket()
    );
    world
        .s3
        .put_object()
        .bucket(world.state_bucket())
        .key("plan.toml")
        .body(text.into_bytes().into())
        .send()
        .await
        .unwrap();
    let location = format!("s3://{}/plan.toml", world.state_bucket());
    let plan = lifeboat_shared::context::load_plan(&world.account.config, &location)
        .await
        .unwrap();
    assert_eq!(plan.name, "from-s3");

    let missing = format!("s3://{}/nope.toml", world.state_bucket());
    let error = lifeboat_shared::context::load_plan(&world.account.config, &missing)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot load the plan from {missing}: NoSuchKey")),
        "{error}"
    );

    world
        .s3
        .put_object()
        .bucket(world.state_bucket())
        .key("bad.toml")
        .body(b"name = 3".to_vec().into())
        .send()
        .await
        .unwrap();
    let bad = format!("s3://{}/bad.toml", world.state_bucket());
    let error = lifeboat_shared::context::load_plan(&world.account.config, &bad)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("plan {bad} is invalid")),
        "{error}"
    );
}

#[tokio::test]
async fn metrics_count_the_run_and_give_each_database_its_copy_lag() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("orders", None, &[]).await;
    world.db_cluster("phoenix", None, &[]).await;
    let lifeboat = world.lifeboat(world.plan(
        "metrics",
        "[[copy.rds]]\ndb_instance = \"orders\"\n[[copy.rds]]\ndb_cluster = \"phoenix\"\n",
    ));
    let first = run(&lifeboat).await;
    let counts = &first.metrics()[0];
    assert!(counts.values.contains(&(
        "CopiesStarted".to_owned(),
        2.0,
        lifeboat_shared::metrics::Unit::Count
    )));
    // Before the first copies exist, no database has a lag to publish.
    assert_eq!(first.metrics().len(), 1);

    let second = run(&lifeboat).await;
    let lags: Vec<(String, String)> = second
        .metrics()
        .iter()
        .filter(|m| m.values.iter().any(|(name, _, _)| name == "CopyLagSeconds"))
        .map(|m| (m.dimensions[1].0.clone(), m.dimensions[1].1.clone()))
        .collect();
    assert_eq!(
        lags,
        [
            ("Database".to_owned(), "orders".to_owned()),
            ("Database".to_owned(), "phoenix".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_recovery_regions_manual_snapshot_quota_is_never_overrun() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("audit", None, &[]).await;
    world.snapshots("audit", 4).await;
    let lifeboat = world.lifeboat(world.plan(
        "store",
        "[copy.limits]\nmanual_db_snapshots = 3\n[[copy.rds]]\ndb_instance = \"audit\"\nsnapshots = \"all\"\n",
    ));
    let report = run(&lifeboat).await;
    assert_eq!(report.count(Outcome::Started), 3, "{report:#?}");
    assert_eq!(report.count(Outcome::Deferred), 2);
    let deferred = report
        .items
        .iter()
        .find(|i| i.outcome == Outcome::Deferred)
        .unwrap();
    assert!(deferred.detail.starts_with("all 3 DB instance manual snapshots in us-east-2 are taken (copy.limits.manual_db_snapshots)"), "{}", deferred.detail);
    assert_eq!(world.recovery_snapshots().await.len(), 3);
}

#[tokio::test]
async fn a_snapshot_event_from_another_region_than_the_primary_is_ignored() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let lifeboat =
        world.lifeboat(world.plan("regions", "[[copy.rds]]\ndb_instance = \"orders\"\n"));
    // Lifeboat's own copies raise snapshot events in the recovery Region: never copy those back.
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rds-snapshot-created.json")).unwrap();
    let arn = format!(
        "arn:aws:rds:{RECOVERY}:{}:snapshot:lifeboat-orders-1-0a1b2c3d",
        world.account.id
    );
    event["region"] = RECOVERY.into();
    event["resources"] = serde_json::json!([arn]);
    event["detail"]["SourceArn"] = arn.into();
    let outcome = run_copy_snapshots(
        &lifeboat,
        &Trigger::from_event(&event).unwrap(),
        RunOptions::default(),
    )
    .await
    .unwrap();
    let Finished::Ignored { reason } = outcome else {
        panic!("expected the event to be ignored: {outcome:?}")
    };
    assert_eq!(
        reason,
        format!("snapshot is in {RECOVERY}; the plan copies from {PRIMARY}")
    );
    assert!(
        Emulator::shared()
            .calls_of(&world.account)
            .iter()
            .all(|c| c.service != "rds"),
        "no RDS call at all"
    );
}

#[tokio::test]
async fn a_snapshot_copied_with_lifeboats_tags_inside_the_recovery_region_is_never_pruned() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.db_instance("ledger", None, &[]).await;
    world.snapshots("ledger", 3).await;
    let plan = world.plan(
        "hold",
        "[[copy.rds]]\ndb_instance = \"ledger\"\nsnapshots = \"all\"\nretain_days = 7\nkeep_at_least = 2\n",
    );
    let lifeboat = world.lifeboat(plan.clone());
    assert_eq!(run(&lifeboat).await.count(Outcome::Started), 4); // 3 manual + 1 automated
    // A legal hold: the copy of the oldest manual snapshot, copied again inside the recovery
    // Region with CopyTags, so it carries every one of Lifeboat's tags under another name.
    let oldest = world
        .recovery_snapshots()
        .await
        .into_iter()
        .find(|s| s.tags["lifeboat:source-arn"].ends_with(":ledger-0"))
        .expect("the copy of ledger-0");
    world
        .recovery_rds
        .copy_db_snapshot()
        .source_db_snapshot_identifier(&oldest.id)
        .target_db_snapshot_identifier("legal-hold-ledger")
        .copy_tags(true)
        .send()
        .await
        .unwrap();
    let hold = world
        .recovery_snapshots()
        .await
        .into_iter()
        .find(|s| s.id == "legal-hold-ledger")
        .unwrap();
    assert_eq!(
        hold.tags["lifeboat:plan"], "hold",
        "CopyTags carried the tags"
    );

    // Ten days later every copy is older than retain_days.
    let later = OffsetDateTime::now_utc() + time::Duration::days(10);
    let header = RunHeader::start("copy-snapshots", &plan, "test", false, later);
    let report = copy_snapshots(&lifeboat.clients, &plan, &Scope::Everything, header, None)
        .await
        .unwrap();
    // The hold neither counts toward keep_at_least nor is pruned: 4 copies, 2 kept, 2 pruned.
    assert_eq!(report.count(Outcome::Pruned), 2, "{report:#?}");
    assert!(
        report
            .items
            .iter()
            .all(|i| i.target.as_deref() != Some("legal-hold-ledger")),
        "{report:#?}"
    );
    let left: Vec<String> = world
        .recovery_snapshots()
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left.len(), 3, "two copies and the hold: {left:?}");
    assert!(left.contains(&"legal-hold-ledger".to_owned()));
}

#[tokio::test]
async fn a_snapshot_with_a_custom_option_group_is_refused_before_any_call_without_option_group() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    world.sql_server_instance("shop", Some("shop-tde")).await;
    world.sql_server_instance("plain", None).await;
    let entries = "[[copy.rds]]\ndb_instance = \"shop\"\n[[copy.rds]]\ndb_instance = \"plain\"\n";
    let report = run(&world.lifeboat(world.plan("tde", entries))).await;
    let refused: Vec<&str> = report
        .items_with(Outcome::Refused)
        .map(|i| i.detail.as_str())
        .collect();
    assert_eq!(refused.len(), 1, "{report:#?}");
    assert!(
        refused[0].starts_with("copy.rds[0].option_group: snapshot rds:shop-")
            && refused[0].contains("uses option group shop-tde"),
        "{}",
        refused[0]
    );
    // The default option group needs nothing: that DB is copied, and only that one.
    assert_eq!(report.count(Outcome::Started), 1, "{report:#?}");
    let calls = copy_calls(&world);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].body.contains("rds%3Aplain"), "{calls:#?}");

    // With option_group set, the copy names it.
    let entries = "[[copy.rds]]\ndb_instance = \"shop\"\noption_group = \"shop-tde-dr\"\n";
    let report = run(&world.lifeboat(world.plan("tde", entries))).await;
    assert_eq!(report.count(Outcome::Started), 1, "{report:#?}");
    let calls = copy_calls(&world);
    assert!(
        calls[1].body.contains("OptionGroupName=shop-tde-dr"),
        "{:#?}",
        calls[1]
    );
}

#[tokio::test]
async fn a_steady_state_run_of_fifty_entries_makes_a_handful_of_primary_region_calls() {
    let world = world().await;
    world.recovery_stack("lifeboat").await;
    let mut entries = String::from("[copy.limits]\ndb_snapshot_copies = 100\n");
    for i in 0..50 {
        world.db_instance(&format!("shard-{i:02}"), None, &[]).await;
        entries.push_str(&format!("[[copy.rds]]\ndb_instance = \"shard-{i:02}\"\n"));
    }
    let lifeboat = world.lifeboat(world.plan("shards", &entries));
    assert_eq!(run(&lifeboat).await.count(Outcome::Started), 50);

    let primary_calls = || {
        Emulator::shared()
            .calls_of(&world.account)
            .into_iter()
            .filter(|c| c.service == "rds" && c.region == PRIMARY)
            .map(|c| c.action)
            .collect::<Vec<_>>()
    };
    let before = primary_calls().len();
    let steady = run(&lifeboat).await;
    assert_eq!(steady.count(Outcome::AlreadyCopied), 50, "{steady:#?}");
    // 50 DBs and their 50 snapshots fit one page (100 records) each: one listing of the DBs,
    // one of their snapshots, where a describe per entry made 100 calls.
    let calls = primary_calls()[before..].to_vec();
    assert_eq!(calls, ["DescribeDBInstances", "DescribeDBSnapshots"]);
}
