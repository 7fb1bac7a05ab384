//! Restored databases that are real (`tests/emulator/lifeboat_emulator/rds_local_servers.py`),
//! through the real `aws-sdk-rds` client and the machine's real PostgreSQL and MariaDB: a
//! restored DB instance's endpoint is the machine's server for its engine, a master password
//! change makes the master user a login there, restores can be held in `creating`, and the RDS
//! API reference's rules on the master password and on endpoints while `creating` hold.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::DbInstance;
use lifeboat_tests::Emulator;
use lifeboat_tests::databases::{Family, SeededDatabase, Server, query};
use lifeboat_tests::world::{PRIMARY, World, backup_role};

const SEED_POSTGRES: &str =
    "CREATE TABLE parcels (id integer PRIMARY KEY, updated_at timestamptz NOT NULL);
     INSERT INTO parcels VALUES (1, '2024-05-01 10:00:00+00'), (2, '2024-05-02 10:00:00+00'),
                                (3, '2024-05-03 10:00:00+00');";
const SEED_MYSQL: &str = "CREATE TABLE parcels (id INT PRIMARY KEY, updated_at DATETIME NOT NULL);
     INSERT INTO parcels VALUES (1, '2024-05-01 10:00:00'), (2, '2024-05-02 10:00:00'),
                                (3, '2024-05-03 10:00:00');";

async fn world() -> World {
    World::new(Emulator::shared().new_account().await)
}

/// A DB instance in the primary Region with `master` as its master user.
async fn source_instance(
    world: &World,
    id: &str,
    engine: &str,
    version: Option<&str>,
    master: &str,
) {
    world
        .primary_rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine(engine)
        .set_engine_version(version.map(str::to_owned))
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username(master)
        .master_user_password("source-password-1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create DB instance {id}: {e:?}"));
}

async fn restore(world: &World, snapshot: &str, id: &str) -> DbInstance {
    world
        .primary_rds
        .restore_db_instance_from_db_snapshot()
        .db_snapshot_identifier(snapshot)
        .db_instance_identifier(id)
        .db_instance_class("db.t4g.micro")
        .publicly_accessible(false)
        .send()
        .await
        .unwrap_or_else(|e| panic!("restore {snapshot} as {id}: {e:?}"))
        .db_instance
        .expect("the restored DB instance")
}

async fn described(world: &World, id: &str) -> DbInstance {
    world
        .primary_rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"))
        .db_instances()
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no DB instance {id}"))
}

/// `Endpoint.Address`:`Endpoint.Port`, as a client connects to it.
fn endpoint(db: &DbInstance) -> Option<Server> {
    db.endpoint().map(|e| Server {
        host: e.address().expect("Endpoint.Address").to_owned(),
        port: u16::try_from(e.port().expect("Endpoint.Port")).expect("a port"),
    })
}

async fn set_master_password(world: &World, id: &str, password: &str) -> Result<(), String> {
    world
        .primary_rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .master_user_password(password)
        .apply_immediately(true)
        .send()
        .await
        .map(|_| ())
        .map_err(error_code)
}

fn error_code<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("not a service error")
        .to_owned()
}

/// A PostgreSQL instance's restore answers on the machine's PostgreSQL; its source keeps moto's
/// endpoint. The master user is no login there until a master password change, after which it
/// reads the seeded rows — and only reads. The recorder keeps no password.
#[tokio::test]
async fn a_restored_postgresql_instance_is_the_machines_postgresql() {
    let world = world().await;
    let account = world.account.id.clone();
    let master = format!("lb{account}");
    let mut seeded =
        SeededDatabase::create(Family::Postgres, &format!("lb_{account}"), SEED_POSTGRES);
    seeded.drops_login(&master);
    source_instance(&world, "orders", "postgres", None, &master).await;
    world.snapshot("orders", "orders-snap").await;

    let restored = restore(&world, "orders-snap", "orders-check").await;
    assert_eq!(restored.db_instance_status(), Some("available"));
    assert_eq!(endpoint(&restored), Some(Family::Postgres.server()));
    let restored = described(&world, "orders-check").await;
    let server = endpoint(&restored).expect("an available instance has an endpoint");
    assert_eq!(server, Family::Postgres.server());
    assert_eq!(restored.master_username(), Some(master.as_str()));
    let source = endpoint(&described(&world, "orders").await).unwrap();
    assert!(
        source.host.ends_with(".rds.amazonaws.com"),
        "only restores are real: {source:?}"
    );

    let password = format!("Verify-{account}-pg");
    let count = "SELECT count(*) FROM parcels";
    let before = query(
        Family::Postgres,
        &server,
        &master,
        Some(&password),
        &seeded.name,
        count,
    );
    assert!(
        before.is_err(),
        "no login before the password change: {before:?}"
    );

    set_master_password(&world, "orders-check", &password)
        .await
        .unwrap();
    let rows = query(
        Family::Postgres,
        &server,
        &master,
        Some(&password),
        &seeded.name,
        count,
    );
    assert_eq!(rows.as_deref(), Ok("3"));
    let newest = query(
        Family::Postgres,
        &server,
        &master,
        Some(&password),
        &seeded.name,
        "SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM parcels",
    );
    assert_eq!(newest.as_deref(), Ok("2024-05-03 10:00"));
    let write = query(
        Family::Postgres,
        &server,
        &master,
        Some(&password),
        &seeded.name,
        "INSERT INTO parcels VALUES (4, now())",
    );
    assert!(write.is_err(), "the login reads, never writes: {write:?}");
    let superuser = lifeboat_tests::databases::admin(
        Family::Postgres,
        "postgres",
        &format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{master}'"),
    );
    assert_eq!(superuser, "f");

    let calls = Emulator::shared().calls_of(&world.account);
    let modify = calls
        .iter()
        .find(|c| c.action == "ModifyDBInstance")
        .expect("the ModifyDBInstance call is recorded");
    assert!(
        modify
            .body
            .contains("MasterUserPassword=HIDDEN_DUE_TO_SECURITY_REASONS"),
        "{}",
        modify.body
    );
    assert!(
        calls.iter().all(|c| !c.body.contains(&password)),
        "a password in the recording"
    );
}

/// A MariaDB instance's restore answers on the machine's MariaDB, which checks passwords: the
/// master password works, a wrong one is refused, and a second change replaces the first.
#[tokio::test]
async fn a_restored_mariadb_instance_is_the_machines_mariadb_and_checks_the_password() {
    let world = world().await;
    let account = world.account.id.clone();
    let master = format!("lb{account}");
    let mut seeded = SeededDatabase::create(Family::Mysql, &format!("lb_{account}"), SEED_MYSQL);
    seeded.drops_login(&master);
    // moto knows no default MariaDB version: name one.
    source_instance(&world, "shop", "mariadb", Some("10.11.6"), &master).await;
    world.snapshot("shop", "shop-snap").await;

    restore(&world, "shop-snap", "shop-check").await;
    let server = endpoint(&described(&world, "shop-check").await).expect("an endpoint");
    assert_eq!(server, Family::Mysql.server());

    let first = format!("Verify-{account}-m1");
    set_master_password(&world, "shop-check", &first)
        .await
        .unwrap();
    let count = "SELECT count(*) FROM parcels";
    let rows = query(
        Family::Mysql,
        &server,
        &master,
        Some(&first),
        &seeded.name,
        count,
    );
    assert_eq!(rows.as_deref(), Ok("3"));
    let wrong = query(
        Family::Mysql,
        &server,
        &master,
        Some("not-the-password"),
        &seeded.name,
        count,
    );
    assert!(
        wrong.as_ref().is_err_and(|e| e.contains("Access denied")),
        "{wrong:?}"
    );
    let write = query(
        Family::Mysql,
        &server,
        &master,
        Some(&first),
        &seeded.name,
        "INSERT INTO parcels VALUES (4, NOW())",
    );
    assert!(write.is_err(), "the login reads, never writes: {write:?}");

    let second = format!("Verify-{account}-m2");
    set_master_password(&world, "shop-check", &second)
        .await
        .unwrap();
    let old = query(
        Family::Mysql,
        &server,
        &master,
        Some(&first),
        &seeded.name,
        count,
    );
    assert!(old.is_err(), "the old password is gone: {old:?}");
    let rows = query(
        Family::Mysql,
        &server,
        &master,
        Some(&second),
        &seeded.name,
        count,
    );
    assert_eq!(rows.as_deref(), Ok("3"));
}

/// An Aurora cluster restore has no instance; one added to it answers on the machine's server
/// for the cluster's engine, as do the cluster's Endpoint, ReaderEndpoint and Port. The master
/// password is the cluster's (ModifyDBCluster); ModifyDBInstance refuses it for a member.
#[tokio::test]
async fn an_aurora_cluster_restore_and_the_instance_added_to_it_are_real() {
    let world = world().await;
    let account = world.account.id.clone();
    let master = format!("lb{account}");
    let mut seeded = SeededDatabase::create(Family::Mysql, &format!("lb_{account}"), SEED_MYSQL);
    seeded.drops_login(&master);
    let rds = &world.primary_rds;
    for (cluster, engine) in [
        ("tracking", "aurora-mysql"),
        ("ledger", "aurora-postgresql"),
    ] {
        rds.create_db_cluster()
            .db_cluster_identifier(cluster)
            .engine(engine)
            .master_username(&master)
            .master_user_password("source-password-1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("create cluster {cluster}: {e:?}"));
        world
            .cluster_snapshot(cluster, &format!("{cluster}-snap"))
            .await;
        rds.restore_db_cluster_from_snapshot()
            .snapshot_identifier(format!("{cluster}-snap"))
            .db_cluster_identifier(format!("{cluster}-check"))
            .engine(engine)
            .send()
            .await
            .unwrap_or_else(|e| panic!("restore {cluster}: {e:?}"));
    }

    let clusters = rds.describe_db_clusters().send().await.unwrap();
    let cluster = |id: &str| {
        clusters
            .db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(id))
            .unwrap_or_else(|| panic!("no cluster {id}"))
            .clone()
    };
    let mysql = Family::Mysql.server();
    let postgres = Family::Postgres.server();
    for (id, server) in [("tracking-check", &mysql), ("ledger-check", &postgres)] {
        let c = cluster(id);
        assert_eq!(c.endpoint(), Some(server.host.as_str()), "{id}");
        assert_eq!(c.reader_endpoint(), Some(server.host.as_str()), "{id}");
        assert_eq!(c.port(), Some(i32::from(server.port)), "{id}");
        assert!(c.db_cluster_members().is_empty(), "AWS adds no instance");
    }
    assert!(
        cluster("tracking")
            .endpoint()
            .is_some_and(|e| e.ends_with(".rds.amazonaws.com")),
        "the source cluster is not real"
    );

    for (cluster, instance) in [
        ("tracking-check", "tracking-check-1"),
        ("tracking", "tracking-1"),
    ] {
        rds.create_db_instance()
            .db_cluster_identifier(cluster)
            .db_instance_identifier(instance)
            .engine("aurora-mysql")
            .db_instance_class("db.t4g.medium")
            .send()
            .await
            .unwrap_or_else(|e| panic!("add {instance} to {cluster}: {e:?}"));
    }
    let added = described(&world, "tracking-check-1").await;
    assert_eq!(added.db_instance_status(), Some("available"));
    assert_eq!(endpoint(&added), Some(mysql.clone()));
    let in_source = endpoint(&described(&world, "tracking-1").await).unwrap();
    assert!(
        in_source.host.ends_with(".rds.amazonaws.com"),
        "{in_source:?}"
    );

    let password = format!("Verify-{account}-au");
    assert_eq!(
        set_master_password(&world, "tracking-check-1", &password).await,
        Err("InvalidParameterCombination".to_owned()),
        "Aurora: the password is the cluster's"
    );
    rds.modify_db_cluster()
        .db_cluster_identifier("tracking-check")
        .master_user_password(&password)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let rows = query(
        Family::Mysql,
        &mysql,
        &master,
        Some(&password),
        &seeded.name,
        "SELECT count(*) FROM parcels",
    );
    assert_eq!(rows.as_deref(), Ok("3"));
}

/// A held restore is `creating`, shows no endpoint ("The endpoint might not be shown for
/// instances with the status of creating") and refuses ModifyDBInstance until released; the
/// hold covers only as many restores as asked for.
#[tokio::test]
async fn a_held_restore_stays_creating_until_released() {
    let world = world().await;
    world.db_instance("orders", None, &[]).await;
    world.snapshot("orders", "orders-snap").await;
    world.hold_restores(PRIMARY, 1).await;

    let held = restore(&world, "orders-snap", "orders-held").await;
    assert_eq!(held.db_instance_status(), Some("creating"));
    assert!(held.endpoint().is_none(), "{:?}", held.endpoint());
    for _ in 0..3 {
        let again = described(&world, "orders-held").await;
        assert_eq!(again.db_instance_status(), Some("creating"));
        assert!(again.endpoint().is_none());
    }
    assert_eq!(
        set_master_password(&world, "orders-held", "Verify-held-1").await,
        Err("InvalidDBInstanceState".to_owned())
    );

    let next = restore(&world, "orders-snap", "orders-next").await;
    assert_eq!(
        next.db_instance_status(),
        Some("available"),
        "one hold only"
    );

    world
        .make_db_instance_available(PRIMARY, "orders-held")
        .await
        .unwrap();
    let released = described(&world, "orders-held").await;
    assert_eq!(released.db_instance_status(), Some("available"));
    assert_eq!(endpoint(&released), Some(Family::Postgres.server()));
    set_master_password(&world, "orders-held", "Verify-held-1")
        .await
        .expect("an available instance takes a new password");
    assert!(
        world
            .make_db_instance_available(PRIMARY, "orders-held")
            .await
            .is_err_and(|e| e.starts_with("409")),
        "only a creating instance is released"
    );
    assert!(
        world
            .make_db_instance_available(PRIMARY, "no-such-db")
            .await
            .is_err_and(|e| e.starts_with("404"))
    );

    // Holds can be cancelled.
    world.hold_restores(PRIMARY, 2).await;
    world.hold_restores(PRIMARY, 0).await;
    let free = restore(&world, "orders-snap", "orders-free").await;
    assert_eq!(free.db_instance_status(), Some("available"));

    // A restore that never becomes available can still be cleaned up.
    world.hold_restores(PRIMARY, 1).await;
    restore(&world, "orders-snap", "orders-stuck").await;
    world
        .primary_rds
        .delete_db_instance()
        .db_instance_identifier("orders-stuck")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("a creating instance can be deleted");
    let gone = world
        .primary_rds
        .describe_db_instances()
        .db_instance_identifier("orders-stuck")
        .send()
        .await
        .map(|_| ())
        .map_err(error_code);
    assert_eq!(gone, Err("DBInstanceNotFound".to_owned()));
}

/// An AWS Backup restore of an RDS recovery point creates a real instance too, and a hold
/// applies to it.
#[tokio::test]
async fn an_aws_backup_restore_of_an_rds_recovery_point_is_real() {
    let world = world().await;
    let account = world.account.id.clone();
    world.backup_vault(PRIMARY, "Default").await;
    world.db_instance("orders", None, &[]).await;
    let recovery_point = world
        .recovery_point(
            PRIMARY,
            "Default",
            &format!("arn:aws:rds:{PRIMARY}:{account}:db:orders"),
        )
        .await;

    for (id, held) in [("orders-restored", false), ("orders-held", true)] {
        if held {
            world.hold_restores(PRIMARY, 1).await;
        }
        let job = world
            .primary_backup
            .start_restore_job()
            .recovery_point_arn(&recovery_point)
            .iam_role_arn(backup_role(&account))
            .metadata("DBInstanceIdentifier", id)
            .send()
            .await
            .unwrap()
            .restore_job_id
            .expect("a restore job id");
        let described_job = world
            .primary_backup
            .describe_restore_job()
            .restore_job_id(&job)
            .send()
            .await
            .unwrap();
        assert_eq!(
            described_job.created_resource_arn(),
            Some(format!("arn:aws:rds:{PRIMARY}:{account}:db:{id}").as_str())
        );
        let db = described(&world, id).await;
        if held {
            assert_eq!(db.db_instance_status(), Some("creating"));
            assert!(db.endpoint().is_none());
            world.make_db_instance_available(PRIMARY, id).await.unwrap();
        }
        let db = described(&world, id).await;
        assert_eq!(db.db_instance_status(), Some("available"));
        assert_eq!(endpoint(&db), Some(Family::Postgres.server()), "{id}");
    }
}

/// Engines with no server on the machine (SQL Server, Oracle) keep moto's endpoint: their
/// verification is instance-level.
#[tokio::test]
async fn a_restored_sql_server_instance_keeps_its_emulated_endpoint() {
    let world = world().await;
    world.sql_server_instance("shop", None).await;
    world.snapshot("shop", "shop-snap").await;
    restore(&world, "shop-snap", "shop-check").await;
    let server = endpoint(&described(&world, "shop-check").await).unwrap();
    assert!(server.host.ends_with(".rds.amazonaws.com"), "{server:?}");
    assert_eq!(server.port, 1433);
}

/// MasterUserPassword, as the reference constrains it: printable ASCII except "/", "\"", "@"
/// and space; at least 8 characters; at most 41 for MySQL and MariaDB, 128 for PostgreSQL.
#[tokio::test]
async fn master_passwords_follow_the_references_constraints() {
    let world = world().await;
    source_instance(&world, "pg", "postgres", None, "lbconstraints").await;
    source_instance(&world, "maria", "mariadb", Some("10.11.6"), "lbconstraints").await;
    for bad in [
        "has/slash1",
        "has\"quote1",
        "has@at-sign",
        "has space1",
        "short1",
        "ünïcode-pass",
    ] {
        assert_eq!(
            set_master_password(&world, "pg", bad).await,
            Err("InvalidParameterValue".to_owned()),
            "{bad}"
        );
    }
    let long = "p".repeat(42);
    assert_eq!(
        set_master_password(&world, "maria", &long).await,
        Err("InvalidParameterValue".to_owned())
    );
    assert_eq!(set_master_password(&world, "pg", &long).await, Ok(()));
    assert_eq!(
        set_master_password(&world, "pg", &"p".repeat(129)).await,
        Err("InvalidParameterValue".to_owned())
    );
    assert_eq!(
        set_master_password(&world, "maria", "Pr1nt4ble-!#$%^&*()_+=~").await,
        Ok(())
    );
}
