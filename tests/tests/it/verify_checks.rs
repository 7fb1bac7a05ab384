//! The verify task's SQL checks against the machine's real PostgreSQL and MariaDB, seeded with
//! known rows: the same drivers, TLS modes and text reading as against a restored RDS database.

use lifeboat_shared::plan::{SqlCheck, TlsMode};
use lifeboat_shared::verify::{
    CheckError, EngineFamily, Password, Target, endpoint_answers, run_checks,
};
use sqlx::{AssertSqlSafe, Connection, Executor};
use time::{Duration, OffsetDateTime};

const POSTGRES_PORT: u16 = 5432;
const MARIADB_PORT: u16 = 3306;

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn check(sql: &str, expect: &str) -> SqlCheck {
    SqlCheck {
        sql: Some(sql.into()),
        expect: Some(expect.parse().unwrap()),
        freshness_sql: None,
        max_age: None,
    }
}

fn freshness(sql: &str, max_age: &str) -> SqlCheck {
    SqlCheck {
        sql: None,
        expect: None,
        freshness_sql: Some(sql.into()),
        max_age: Some(max_age.parse().unwrap()),
    }
}

/// Runs statements as the server's administrator (PostgreSQL trust auth; MariaDB root).
async fn admin(family: &EngineFamily, database: Option<&str>, statements: &[String]) {
    match family {
        EngineFamily::Postgres => {
            let url = format!(
                "postgres://postgres@127.0.0.1:{POSTGRES_PORT}/{}",
                database.unwrap_or("postgres")
            );
            let mut c = sqlx::PgConnection::connect(&url)
                .await
                .expect("PostgreSQL at 127.0.0.1:5432");
            for s in statements {
                c.execute(AssertSqlSafe(s.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
        EngineFamily::MySql => {
            let url = format!(
                "mysql://root@127.0.0.1:{MARIADB_PORT}/{}",
                database.unwrap_or("")
            );
            let mut c = sqlx::MySqlConnection::connect(&url)
                .await
                .expect("MariaDB at 127.0.0.1:3306");
            for s in statements {
                c.execute(AssertSqlSafe(s.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
        EngineFamily::Other(_) => unreachable!(),
    }
}

/// A database with a `shipments` table: three rows, the newest updated two hours ago.
async fn seeded(family: &EngineFamily, name: &str, now: OffsetDateTime) {
    admin(family, None, &[format!("CREATE DATABASE {name}")]).await;
    let at = |hours: i64| {
        let t = now - Duration::hours(hours);
        format!(
            "'{:04}-{:02}-{:02} {:02}:{:02}:{:02}'",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let column = match family {
        EngineFamily::Postgres => "timestamptz",
        _ => "DATETIME",
    };
    let zone = match family {
        EngineFamily::Postgres => "SET TIME ZONE 'UTC'".to_owned(),
        _ => "SET time_zone = '+00:00'".to_owned(),
    };
    admin(
        family,
        Some(name),
        &[
            zone,
            format!("CREATE TABLE shipments (id INT PRIMARY KEY, updated_at {column} NOT NULL)"),
            format!(
                "INSERT INTO shipments VALUES (1, {}), (2, {}), (3, {})",
                at(50),
                at(26),
                at(2)
            ),
        ],
    )
    .await;
}

async fn drop(family: &EngineFamily, name: &str) {
    admin(family, None, &[format!("DROP DATABASE {name}")]).await;
}

#[tokio::test]
async fn checks_pass_and_fail_on_postgresql_over_tls_and_measure_the_data_age() {
    let family = EngineFamily::Postgres;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let database = unique("lifeboat_verify");
    seeded(&family, &database, now).await;
    let target = Target {
        family: family.clone(),
        host: "127.0.0.1".into(),
        port: POSTGRES_PORT,
        user: "postgres".into(),
        password: Password::random(),
        database: Some(database.clone()),
        // The machine's PostgreSQL serves TLS, as RDS does: the connection is encrypted.
        tls: TlsMode::Require,
    };
    let checks = [
        check("SELECT COUNT(*) FROM shipments", ">= 3"),
        check("SELECT COUNT(*) FROM shipments", "= 0"),
        freshness("SELECT MAX(updated_at) FROM shipments", "26h"),
        freshness("SELECT MAX(updated_at) FROM shipments", "1h"),
        check("SELECT COUNT(*) FROM no_such_table", ">= 1"),
        // The connection itself is encrypted, as the server sees it.
        check(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            "= 1",
        ),
    ];
    let snapshot_taken = now - Duration::hours(1);
    let results = run_checks(&target, &checks, now, Some(snapshot_taken))
        .await
        .unwrap();
    drop(&family, &database).await;

    assert_eq!(results.len(), 6);
    assert!(
        results[5].passed,
        "the connection is not encrypted: {:?}",
        results[5]
    );
    assert!(results[0].passed, "{:?}", results[0]);
    assert_eq!(results[0].value, Some(3.0));
    assert!(!results[1].passed);
    assert_eq!(results[1].detail, "returned 3; expected = 0 — not met");
    assert!(results[2].passed, "{:?}", results[2]);
    assert_eq!(results[2].newest_data, Some(now - Duration::hours(2)));
    assert_eq!(results[2].data_age_seconds, Some(7200));
    assert_eq!(results[2].data_age_at_snapshot_seconds, Some(3600));
    assert!(!results[3].passed);
    assert!(
        results[3].detail.ends_with("max_age = 1h — too old"),
        "{}",
        results[3].detail
    );
    assert!(!results[4].passed);
    assert!(
        results[4].detail.starts_with("the query failed:")
            && results[4].detail.contains("no_such_table"),
        "{}",
        results[4].detail
    );
}

#[tokio::test]
async fn checks_run_on_mariadb_with_the_password_they_were_given() {
    let family = EngineFamily::MySql;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let database = unique("lifeboat_verify");
    seeded(&family, &database, now).await;
    let user = unique("lb");
    let password = Password::random();
    admin(
        &family,
        None,
        &[
            format!(
                "CREATE USER '{user}'@'%' IDENTIFIED BY '{}'",
                password.expose()
            ),
            format!(
                "CREATE USER '{user}'@'localhost' IDENTIFIED BY '{}'",
                password.expose()
            ),
            format!("GRANT SELECT ON {database}.* TO '{user}'@'%'"),
            format!("GRANT SELECT ON {database}.* TO '{user}'@'localhost'"),
        ],
    )
    .await;
    let target = Target {
        family: family.clone(),
        host: "127.0.0.1".into(),
        port: MARIADB_PORT,
        user: user.clone(),
        password: password.clone(),
        database: Some(database.clone()),
        // The machine's MariaDB serves no TLS: `prefer` falls back to plain.
        tls: TlsMode::Prefer,
    };
    let checks = [
        check("SELECT COUNT(*) FROM shipments", ">= 3"),
        freshness("SELECT MAX(updated_at) FROM shipments", "26h"),
    ];
    let passed = run_checks(&target, &checks, now, None).await;

    // `require` refuses a server without TLS instead of sending the password in the clear.
    let required = run_checks(
        &Target {
            tls: TlsMode::Require,
            ..target.clone()
        },
        &checks,
        now,
        None,
    )
    .await;
    // A wrong password is refused, and the error says where, never what.
    let wrong = Password::random();
    let refused = run_checks(
        &Target {
            password: wrong.clone(),
            ..target.clone()
        },
        &checks,
        now,
        None,
    )
    .await;
    admin(
        &family,
        None,
        &[
            format!("DROP USER '{user}'@'%'"),
            format!("DROP USER '{user}'@'localhost'"),
        ],
    )
    .await;
    drop(&family, &database).await;

    let results = passed.unwrap();
    assert!(results.iter().all(|r| r.passed), "{results:#?}");
    assert_eq!(results[1].data_age_seconds, Some(7200));

    let error = required.unwrap_err();
    assert!(matches!(error, CheckError::Connect { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1:3306 as {user}:")),
        "{error}"
    );

    let error = refused.unwrap_err().to_string();
    assert!(error.contains("Access denied"), "{error}");
    assert!(
        !error.contains(wrong.expose()) && !error.contains(password.expose()),
        "{error}"
    );
}

#[tokio::test]
async fn engines_without_sql_checks_are_said_so() {
    let target = Target {
        family: EngineFamily::of("sqlserver-se"),
        host: "127.0.0.1".into(),
        port: 1433,
        user: "admin".into(),
        password: Password::random(),
        database: None,
        tls: TlsMode::Require,
    };
    let error = run_checks(
        &target,
        &[check("SELECT 1", "= 1")],
        OffsetDateTime::now_utc(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "sqlserver-se gets instance-level verification only: SQL checks run on PostgreSQL and MySQL / MariaDB engines"
    );
}

/// Instance-level verification (engines without SQL checks): the endpoint must accept a
/// connection on its port. The machine's PostgreSQL port answers; a port nobody listens on does
/// not, and the error names the endpoint.
#[tokio::test]
async fn instance_level_verification_asks_the_endpoint_to_answer() {
    let server = lifeboat_tests::databases::Family::Postgres.server();
    endpoint_answers(&server.host, server.port)
        .await
        .expect("the machine's PostgreSQL answers");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = endpoint_answers("127.0.0.1", closed).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1:{closed}: ")),
        "{error}"
    );
}
