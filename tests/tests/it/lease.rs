//! The copy lease in the state bucket, through the real S3 client against the emulator: a holder
//! renews and releases only the lease it wrote (conditional on its ETag), and the copy lease is
//! one per account and recovery Region, as AWS's copy quotas are.

use std::time::Duration;

use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::error::Error;
use lifeboat_shared::plan::Plan;
use lifeboat_shared::state::{Lease, LeaseTiming};
use lifeboat_shared::tasks::{Finished, RunOptions, run_copy_snapshots};
use lifeboat_shared::trigger::Trigger;
use lifeboat_tests::world::{PRIMARY, RECOVERY};
use lifeboat_tests::{Emulator, FaultProxy, World};

const ORDERS: &str = "[[copy.rds]]\ndb_instance = \"orders\"\n";

async fn world() -> World {
    let world = World::new(Emulator::shared().new_account().await);
    world.recovery_stack("lifeboat").await;
    world
}

fn timing(time_to_live: Duration, wait_at_most: Duration) -> LeaseTiming {
    LeaseTiming {
        time_to_live,
        wait_at_most,
        poll_every: Duration::from_millis(100),
    }
}

/// A plan named `name` acting in `world`'s account whose state lives in `bucket`.
fn plan_with_bucket(name: &str, bucket: &str) -> Plan {
    let text = format!(
        "name = \"{name}\"\nprimary_region = \"{PRIMARY}\"\nrecovery_region = \"{RECOVERY}\"\n\
         state_bucket = \"{bucket}\"\n{ORDERS}"
    );
    Plan::parse(&text, "test plan").unwrap_or_else(|e| panic!("{e}"))
}

/// Who the lease object at `key` names as its holder, if it exists.
async fn holder_of(world: &World, key: &str) -> Option<String> {
    let text = world.state_object(key).await?;
    let body: serde_json::Value = serde_json::from_str(&text).expect("a lease is JSON");
    Some(
        body["holder"]
            .as_str()
            .expect("a lease names its holder")
            .to_owned(),
    )
}

async fn acquire(
    lifeboat: &Lifeboat,
    name: &str,
    holder: &str,
    timing: LeaseTiming,
) -> Result<Lease, Error> {
    let bucket = &lifeboat.plan.state_bucket;
    Lease::acquire(&lifeboat.clients.recovery, bucket, name, holder, timing).await
}

#[tokio::test]
async fn a_renewed_lease_is_not_taken_over_by_a_second_acquirer() {
    let world = world().await;
    let lifeboat = world.lifeboat(world.plan("renew", ORDERS));
    let ttl = Duration::from_secs(3);
    let first = acquire(
        &lifeboat,
        "renewed",
        "first-run",
        timing(ttl, Duration::ZERO),
    )
    .await
    .unwrap();
    let first_expiry = first.expires_at();

    // Two thirds of the way: about a second left, less than the next step needs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(first.time_left() < Duration::from_secs(2));
    first
        .ensure_time_left(Duration::from_secs(2))
        .await
        .unwrap();
    assert!(
        first.expires_at() > first_expiry && first.time_left() >= Duration::from_secs(2),
        "renewing moves the expiry: {first_expiry} -> {}",
        first.expires_at()
    );

    // Past the first expiry: without the renewal, a second run would take the lease over now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(time::OffsetDateTime::now_utc() > first_expiry);
    let error = acquire(
        &lifeboat,
        "renewed",
        "second-run",
        timing(ttl, Duration::ZERO),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, Error::Locked { ref holder, .. } if holder == "first-run"),
        "{error}"
    );
    assert_eq!(
        holder_of(&world, "locks/renewed.json").await.as_deref(),
        Some("first-run")
    );
    first.release().await.unwrap();
    assert_eq!(holder_of(&world, "locks/renewed.json").await, None);
}

#[tokio::test]
async fn a_lease_with_time_left_is_not_rewritten_and_no_renewal_outlives_the_time_to_live() {
    let world = world().await;
    let lifeboat = world.lifeboat(world.plan("enough", ORDERS));
    let ttl = Duration::from_secs(60);
    let lease = acquire(&lifeboat, "enough", "a-run", timing(ttl, Duration::ZERO))
        .await
        .unwrap();
    let expiry = lease.expires_at();
    let writes = || {
        Emulator::shared()
            .calls_of(&world.account)
            .iter()
            .filter(|c| c.action == format!("PUT /{}/locks/enough.json", world.state_bucket()))
            .count()
    };
    let before = writes();

    lease
        .ensure_time_left(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.expires_at(), expiry);
    assert_eq!(
        writes(),
        before,
        "a lease with time enough left is not rewritten"
    );

    let error = lease
        .ensure_time_left(Duration::from_secs(61))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("locks/enough.json"), "{error}");
    lease.release().await.unwrap();
}

#[tokio::test]
async fn a_lease_taken_over_after_expiry_is_not_deleted_by_the_first_holders_release() {
    let world = world().await;
    let bucket = world.state_bucket();
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    // The first holder talks to S3 through the proxy, which holds its delete back long enough
    // for a second run to take the expired lease over in between: the race a release that
    // checks first and deletes after loses.
    let slow = world.lifeboat_via(world.plan("race", ORDERS), proxy.endpoint());
    let direct = world.lifeboat(world.plan("race", ORDERS));
    proxy.delay(
        &format!("DELETE /{bucket}/locks/race.json"),
        Duration::from_secs(2),
    );

    let first = acquire(
        &slow,
        "race",
        "first-run",
        timing(Duration::from_secs(1), Duration::ZERO),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(first.time_left(), Duration::ZERO);

    let release = tokio::spawn(first.release());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = acquire(
        &direct,
        "race",
        "second-run",
        timing(Duration::from_secs(60), Duration::ZERO),
    )
    .await
    .expect("an expired lease is taken over");

    release
        .await
        .unwrap()
        .expect("a lease no longer ours is left alone, not an error");
    assert_eq!(
        holder_of(&world, "locks/race.json").await.as_deref(),
        Some("second-run"),
        "the first holder's release deleted the lease of the run that took it over"
    );

    // The delete S3 refused was conditional on the first holder's ETag: the one the takeover
    // found on the expired lease and named in its own `If-Match`.
    let recording = std::fs::read_to_string(Emulator::shared().recording()).unwrap();
    let lease_requests: Vec<(String, String)> = recording
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| {
            entry["url"].as_str().is_some_and(|url| {
                url.split('?')
                    .next()
                    .unwrap_or(url)
                    .ends_with(&format!("/{bucket}/locks/race.json"))
            })
        })
        .map(|entry| {
            let method = entry["method"].as_str().unwrap_or("?").to_owned();
            let if_match = entry["headers"]["If-Match"].as_str().unwrap_or("");
            (method, if_match.to_owned())
        })
        .collect();
    let condition_of = |method: &str| {
        lease_requests
            .iter()
            .find(|(m, if_match)| m == method && !if_match.is_empty())
            .map(|(_, if_match)| if_match.clone())
    };
    let takeover = condition_of("PUT").expect("the takeover is conditional");
    assert_eq!(
        condition_of("DELETE"),
        Some(takeover),
        "the release was not conditional on the first holder's ETag: {lease_requests:?}"
    );

    // The run that holds it now still releases it.
    second.release().await.unwrap();
    assert_eq!(holder_of(&world, "locks/race.json").await, None);
}

#[tokio::test]
async fn renewing_a_lease_another_run_took_over_says_it_is_lost_and_changes_nothing() {
    let world = world().await;
    let lifeboat = world.lifeboat(world.plan("lost", ORDERS));
    let first = acquire(
        &lifeboat,
        "lost",
        "first-run",
        timing(Duration::from_secs(1), Duration::ZERO),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = acquire(
        &lifeboat,
        "lost",
        "second-run",
        timing(Duration::from_secs(60), Duration::ZERO),
    )
    .await
    .unwrap();

    let error = first
        .ensure_time_left(Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::LeaseLost { ref holder, .. } if holder == "first-run"),
        "{error}"
    );
    assert_eq!(error.kind(), "LeaseLost");
    assert!(matches!(first.renew().await, Err(Error::LeaseLost { .. })));
    assert_eq!(
        holder_of(&world, "locks/lost.json").await.as_deref(),
        Some("second-run")
    );
    first.release().await.unwrap();
    assert_eq!(
        holder_of(&world, "locks/lost.json").await.as_deref(),
        Some("second-run")
    );
    second.release().await.unwrap();
}

#[tokio::test]
async fn a_copy_run_holds_the_lease_of_its_account_and_recovery_region() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    let lifeboat = world.lifeboat(world.plan("keyed", ORDERS));
    let outcome = run_copy_snapshots(&lifeboat, &Trigger::Manual, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Finished::Ran { .. }), "{outcome:?}");

    let lease_calls: Vec<String> = Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.service == "s3" && c.action.contains("/locks/"))
        .map(|c| c.action)
        .collect();
    let key = format!(
        "/{}/locks/{}/{RECOVERY}/copy-snapshots.json",
        world.state_bucket(),
        world.account.id
    );
    assert_eq!(
        lease_calls,
        [format!("PUT {key}"), format!("DELETE {key}")],
        "taken and given back"
    );
}

#[tokio::test]
async fn plans_of_one_account_sharing_a_bucket_take_turns_and_another_account_does_not_wait() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    let other = World::new(Emulator::shared().new_account().await);
    // Its own bus for its run's event; its state goes to the first account's bucket.
    other.recovery_stack("lifeboat").await;
    other.db_instance("orders", None, &[]).await;
    let bucket = world.state_bucket();
    let alpha = world.lifeboat(plan_with_bucket("alpha", &bucket));
    let beta = world.lifeboat(plan_with_bucket("beta", &bucket));
    let gamma = other.lifeboat(plan_with_bucket("gamma", &bucket));

    // A run of plan alpha holds the copy lease of its account and Region, named as documented.
    let held = acquire(
        &alpha,
        &format!("{}/{RECOVERY}/copy-snapshots", world.account.id),
        "alpha-run",
        timing(Duration::from_secs(60), Duration::ZERO),
    )
    .await
    .unwrap();
    let options = RunOptions {
        dry_run: false,
        lease: timing(Duration::from_secs(60), Duration::from_millis(300)),
    };

    // Same account, same Region, same quota: plan beta waits, then gives up naming alpha's run.
    let error = run_copy_snapshots(&beta, &Trigger::Manual, options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Locked { ref holder, .. } if holder == "alpha-run"),
        "{error}"
    );

    // Another account has quotas of its own: its run goes ahead in the same bucket.
    let outcome = run_copy_snapshots(&gamma, &Trigger::Manual, options)
        .await
        .unwrap_or_else(|e| panic!("another account's run waited on this one's lease: {e}"));
    let Finished::Ran { report, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(report.count(lifeboat_shared::copy::Outcome::Started), 1);

    held.release().await.unwrap();
    assert!(
        run_copy_snapshots(&beta, &Trigger::Manual, options)
            .await
            .is_ok()
    );
}

/// A copy run through a proxy that makes each `CopyDBSnapshot` take `copy_takes`, holding a
/// lease of `time_to_live`: eleven copies (ten manual snapshots and the automated one), eight
/// calls at a time, so the last three start only after the first calls returned.
async fn slow_copy_run(
    world: &World,
    time_to_live: Duration,
    copy_takes: Duration,
) -> (Lifeboat, FaultProxy, RunOptions) {
    world.db_instance("orders", None, &[]).await;
    world.snapshots("orders", 10).await;
    let proxy = FaultProxy::start(Emulator::shared().endpoint()).await;
    proxy.delay("CopyDBSnapshot", copy_takes);
    let plan = world.plan(
        "long",
        "[[copy.rds]]\ndb_instance = \"orders\"\nsnapshots = \"all\"\n",
    );
    let lifeboat = world.lifeboat_via(plan, proxy.endpoint());
    let options = RunOptions {
        dry_run: false,
        lease: timing(time_to_live, Duration::from_secs(5)),
    };
    (lifeboat, proxy, options)
}

fn lease_writes(world: &World) -> usize {
    Emulator::shared()
        .calls_of(&world.account)
        .into_iter()
        .filter(|c| c.action.starts_with("PUT") && c.action.contains("/locks/"))
        .count()
}

#[tokio::test]
async fn a_copy_run_longer_than_its_lease_renews_it_before_starting_more_copies() {
    let world = world().await;
    // The first eight copies outlast half the lease; the ninth finds too little left.
    let (lifeboat, _proxy, options) =
        slow_copy_run(&world, Duration::from_secs(3), Duration::from_secs(2)).await;
    let report = match run_copy_snapshots(&lifeboat, &Trigger::Manual, options)
        .await
        .unwrap()
    {
        Finished::Ran { report, .. } => report,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        report.count(lifeboat_shared::copy::Outcome::Started),
        11,
        "{report:#?}"
    );
    assert!(
        lease_writes(&world) >= 2,
        "taken, then renewed before the ninth copy"
    );
}

#[tokio::test]
async fn a_copy_run_that_lost_its_lease_starts_nothing_more_and_defers_the_rest() {
    let world = world().await;
    let (lifeboat, _proxy, options) =
        slow_copy_run(&world, Duration::from_secs(1), Duration::from_millis(2500)).await;
    let usurper = world.lifeboat(world.plan("usurper", ORDERS));
    let name = lifeboat_shared::state::lease_name(
        &world.account.id,
        &lifeboat.plan.recovery_region,
        lifeboat_shared::tasks::COPY_SNAPSHOTS,
    );
    // While the first eight copies are in flight the run's one-second lease expires, and
    // another run takes it over.
    let (run, other) = tokio::join!(
        run_copy_snapshots(&lifeboat, &Trigger::Manual, options),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            acquire(
                &usurper,
                &name,
                "other-run",
                timing(Duration::from_secs(60), Duration::from_secs(5)),
            )
            .await
        }
    );
    let other = other.expect("the other run takes the expired lease");
    let report = match run.unwrap() {
        Finished::Ran { report, .. } => report,
        outcome => panic!("{outcome:?}"),
    };
    use lifeboat_shared::copy::Outcome;
    assert_eq!(report.count(Outcome::Started), 8, "{report:#?}");
    let deferred: Vec<&str> = report
        .items_with(Outcome::Deferred)
        .map(|i| i.detail.as_str())
        .collect();
    assert_eq!(deferred.len(), 3, "{report:#?}");
    assert!(
        deferred.iter().all(
            |d| d.starts_with("not started, the next run copies it: the lease")
                && d.contains("another run took it over")
        ),
        "{deferred:#?}"
    );
    // The other run's lease is untouched by the first run's release.
    let key = format!("locks/{name}.json");
    assert_eq!(holder_of(&world, &key).await.as_deref(), Some("other-run"));
    other.release().await.unwrap();
}
