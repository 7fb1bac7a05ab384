//! The plan's SQL checks, run on a restored database through the real drivers (sqlx):
//! PostgreSQL and Aurora PostgreSQL, MySQL, MariaDB and Aurora MySQL.
//!
//! Each check's SQL is the user's, so its result can be of any type (a `COUNT(*)` is `int8` in
//! PostgreSQL, a `SUM` is `numeric`, a `MAX(updated_at)` a `timestamptz` or a `DATETIME`). The
//! checks run through each engine's *text* protocol (`sqlx::raw_sql`: PostgreSQL's simple query,
//! MySQL's COM_QUERY), where every value arrives as the server's own text; Lifeboat reads that
//! text as a number or a time. No type mapping to keep up with, and the number compared is the
//! one the server printed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Connection as _, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::secret::Password;
use crate::clock::rfc3339;
use crate::plan::{SqlCheck, TlsMode};

/// How long connecting may take before the check run gives up: a restored database in an
/// isolated subnet either answers at once or is unreachable (routes, security groups).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one check may run.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// The engines SQL checks run on, by family; anything else gets instance-level verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineFamily {
    Postgres,
    MySql,
    /// SQL Server, Oracle, Db2…: no SQL checks, only "available, and its endpoint answers".
    Other(String),
}

impl EngineFamily {
    /// The family of an RDS engine name (`postgres`, `aurora-postgresql`, `mysql`, `mariadb`,
    /// `aurora-mysql`, `aurora` (Aurora MySQL 1), `sqlserver-se`, …).
    pub fn of(engine: &str) -> Self {
        match engine {
            "postgres" | "aurora-postgresql" => EngineFamily::Postgres,
            "mysql" | "mariadb" | "aurora-mysql" | "aurora" => EngineFamily::MySql,
            other => EngineFamily::Other(other.to_owned()),
        }
    }
}

/// Where and how to connect to a restored database.
#[derive(Debug, Clone)]
pub struct Target {
    pub family: EngineFamily,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Password,
    /// PostgreSQL: the database (default `postgres`); MySQL: the default schema, if any.
    pub database: Option<String>,
    pub tls: TlsMode,
}

impl Target {
    fn describe(&self) -> String {
        format!("{}:{} as {}", self.host, self.port, self.user)
    }
}

/// What one check came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's SQL, as the plan writes it.
    pub sql: String,
    pub passed: bool,
    /// What was found and what was expected, or why the check could not run.
    pub detail: String,
    /// The number a `sql` check read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The newest data a `freshness_sql` check found.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub newest_data: Option<OffsetDateTime>,
    /// Its age when the checks ran: the RPO a failover at that moment would have given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_seconds: Option<i64>,
    /// Its age when the restored copy's source snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_at_snapshot_seconds: Option<i64>,
}

/// Why the checks could not run at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error(
        "{engine} gets instance-level verification only: SQL checks run on PostgreSQL and MySQL / MariaDB engines"
    )]
    Unsupported { engine: String },
}

/// Runs `checks` on the database at `target`, in order, each on its own (a failing check does
/// not stop the others). `snapshot_taken` is when the source snapshot of the restored copy was
/// taken, for the data age at that time.
pub async fn run_checks(
    target: &Target,
    checks: &[SqlCheck],
    now: OffsetDateTime,
    snapshot_taken: Option<OffsetDateTime>,
) -> Result<Vec<CheckResult>, CheckError> {
    let mut connection = connect(target).await?;
    let mut results = Vec::with_capacity(checks.len());
    for check in checks {
        let (sql, kind) = match (&check.sql, &check.freshness_sql) {
            (Some(sql), _) => (sql.as_str(), Kind::Value),
            (None, Some(sql)) => (sql.as_str(), Kind::Freshness),
            (None, None) => continue, // `plan check` refuses such a check
        };
        let text = connection.first_value(sql).await;
        results.push(judge(check, sql, kind, text, now, snapshot_taken));
    }
    connection.close().await;
    Ok(results)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Value,
    Freshness,
}

/// A check's result from the first value of its first row, read as text (`Ok(None)`: no row,
/// or NULL).
fn judge(
    check: &SqlCheck,
    sql: &str,
    kind: Kind,
    text: Result<Option<String>, String>,
    now: OffsetDateTime,
    snapshot_taken: Option<OffsetDateTime>,
) -> CheckResult {
    let mut result = CheckResult {
        sql: sql.to_owned(),
        passed: false,
        detail: String::new(),
        value: None,
        newest_data: None,
        data_age_seconds: None,
        data_age_at_snapshot_seconds: None,
    };
    let text = match text {
        Ok(Some(text)) => text,
        Ok(None) => {
            result.detail = "returned no value (no row, or NULL)".into();
            return result;
        }
        Err(message) => {
            result.detail = format!("the query failed: {message}");
            return result;
        }
    };
    match kind {
        Kind::Value => {
            let Some(value) = number(&text) else {
                result.detail = format!("returned {text:?}, which is not a number");
                return result;
            };
            result.value = Some(value);
            match check.expect {
                Some(expect) => {
                    result.passed = expect.holds_for(value);
                    result.detail = format!(
                        "returned {text}; expected {expect}{}",
                        if result.passed { "" } else { " — not met" }
                    );
                }
                None => {
                    result.passed = true;
                    result.detail = format!("returned {text}");
                }
            }
        }
        Kind::Freshness => {
            let Some(newest) = timestamp(&text) else {
                result.detail = format!("returned {text:?}, which is not a time");
                return result;
            };
            let age = (now - newest).whole_seconds();
            result.newest_data = Some(newest);
            result.data_age_seconds = Some(age);
            result.data_age_at_snapshot_seconds =
                snapshot_taken.map(|t| (t - newest).whole_seconds());
            let words = crate::clock::age_in_words(age);
            match check.max_age {
                Some(max_age) => {
                    result.passed = i128::from(age.max(0)) <= max_age.0.as_secs() as i128;
                    result.detail = format!(
                        "newest data from {} ({words} old); max_age = {max_age}{}",
                        rfc3339(newest),
                        if result.passed { "" } else { " — too old" }
                    );
                }
                None => {
                    result.passed = true;
                    result.detail = format!("newest data from {} ({words} old)", rfc3339(newest));
                }
            }
        }
    }
    result
}

/// A number as a server prints one: `42`, `-3.5`, `1e3`; PostgreSQL's booleans `t` / `f`.
fn number(text: &str) -> Option<f64> {
    match text.trim() {
        "t" | "true" | "TRUE" => Some(1.0),
        "f" | "false" | "FALSE" => Some(0.0),
        other => other.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

/// A time as a server prints one. PostgreSQL: `2026-11-25 03:10:00.123+00` (timestamptz, in the
/// session's zone, UTC by default here), `2026-11-25 03:10:00` (timestamp); MySQL / MariaDB:
/// `2026-11-25 03:10:00[.ffffff]` (DATETIME / TIMESTAMP); RFC 3339. A time without an offset is
/// taken as UTC, the zone Lifeboat's checks connections use.
fn timestamp(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let with_offset = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:[offset_minute]]]"
    );
    if let Ok(t) = OffsetDateTime::parse(text, &with_offset) {
        return Some(t);
    }
    let without_offset = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day][first [ ][T]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(text, &without_offset)
        .ok()
        .map(|t| t.assume_utc())
}

/// One connection of either family.
enum Connection {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

async fn connect(target: &Target) -> Result<Connection, CheckError> {
    let failed = |message: String| CheckError::Connect {
        target: target.describe(),
        message,
    };
    let attempt = async {
        match &target.family {
            EngineFamily::Postgres => {
                let options = sqlx::postgres::PgConnectOptions::new()
                    .host(&target.host)
                    .port(target.port)
                    .username(&target.user)
                    .password(target.password.expose())
                    .database(target.database.as_deref().unwrap_or("postgres"))
                    .ssl_mode(match target.tls {
                        TlsMode::Require => sqlx::postgres::PgSslMode::Require,
                        TlsMode::Prefer => sqlx::postgres::PgSslMode::Prefer,
                    })
                    // Times print in UTC, so `timestamptz` text needs no zone lookup.
                    .options([("timezone", "UTC")])
                    .application_name("lifeboat-verify");
                sqlx::PgConnection::connect_with(&options)
                    .await
                    .map(Connection::Postgres)
            }
            EngineFamily::MySql => {
                let mut options = sqlx::mysql::MySqlConnectOptions::new()
                    .host(&target.host)
                    .port(target.port)
                    .username(&target.user)
                    .password(target.password.expose())
                    .ssl_mode(match target.tls {
                        TlsMode::Require => sqlx::mysql::MySqlSslMode::Required,
                        TlsMode::Prefer => sqlx::mysql::MySqlSslMode::Preferred,
                    })
                    .timezone(Some("+00:00".to_owned()));
                if let Some(database) = &target.database {
                    options = options.database(database);
                }
                sqlx::MySqlConnection::connect_with(&options)
                    .await
                    .map(Connection::MySql)
            }
            EngineFamily::Other(engine) => Err(sqlx::Error::Configuration(
                format!("{engine} has no SQL checks").into(),
            )),
        }
    };
    if let EngineFamily::Other(engine) = &target.family {
        return Err(CheckError::Unsupported {
            engine: engine.clone(),
        });
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(connection)) => Ok(connection),
        // The driver's message never holds the password (sqlx does not echo it).
        Ok(Err(error)) => Err(failed(error.to_string())),
        Err(_) => Err(failed(format!(
            "no answer within {}s (route, security group, or the database is not up)",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// Instance-level verification, for engines without SQL checks: the restored database's
/// endpoint accepts a TCP connection on its port (within the connect timeout).
pub async fn endpoint_answers(host: &str, port: u16) -> Result<(), CheckError> {
    let failed = |message: String| CheckError::Connect {
        target: format!("{host}:{port}"),
        message,
    };
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(error)) => Err(failed(error.to_string())),
        Err(_) => Err(failed(format!(
            "no answer within {}s (route, security group, or the database is not up)",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

impl Connection {
    /// The first value of the first row of `sql`, as the server printed it.
    async fn first_value(&mut self, sql: &str) -> Result<Option<String>, String> {
        let query = async {
            // `raw_sql` runs the statement through the text protocol: values arrive as text,
            // so reading them as `String` without a type check is exact. The SQL is the plan's,
            // written by the operator who owns the database; nothing else is spliced into it.
            let sql = || AssertSqlSafe(sql.to_owned());
            match self {
                Connection::Postgres(c) => {
                    sqlx::raw_sql(sql()).fetch_optional(c).await.map(|row| {
                        row.and_then(|r| r.try_get_unchecked::<Option<String>, _>(0).ok().flatten())
                    })
                }
                Connection::MySql(c) => sqlx::raw_sql(sql()).fetch_optional(c).await.map(|row| {
                    row.and_then(|r| r.try_get_unchecked::<Option<String>, _>(0).ok().flatten())
                }),
            }
        };
        match tokio::time::timeout(QUERY_TIMEOUT, query).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no result within {}s", QUERY_TIMEOUT.as_secs())),
        }
    }

    async fn close(self) {
        let _ = match self {
            Connection::Postgres(c) => c.close().await,
            Connection::MySql(c) => c.close().await,
        };
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn numbers_and_times_read_as_the_servers_print_them() {
        assert_eq!(number("42"), Some(42.0));
        assert_eq!(number(" 12.50 "), Some(12.5));
        assert_eq!(number("t"), Some(1.0));
        assert_eq!(number("abc"), None);
        assert_eq!(number("NaN"), None);
        let expected = datetime!(2026-11-25 03:10:00 UTC);
        for text in [
            "2026-11-25 03:10:00+00",
            "2026-11-25 03:10:00",
            "2026-11-25T03:10:00Z",
            "2026-11-25 04:10:00+01:00",
        ] {
            assert_eq!(timestamp(text), Some(expected), "{text}");
        }
        assert_eq!(
            timestamp("2026-11-25 03:10:00.250000"),
            Some(datetime!(2026-11-25 03:10:00.25 UTC))
        );
        assert_eq!(timestamp("yesterday"), None);
    }

    #[test]
    fn engines_fall_in_families() {
        assert_eq!(
            EngineFamily::of("aurora-postgresql"),
            EngineFamily::Postgres
        );
        assert_eq!(EngineFamily::of("mariadb"), EngineFamily::MySql);
        assert_eq!(EngineFamily::of("aurora-mysql"), EngineFamily::MySql);
        assert_eq!(
            EngineFamily::of("sqlserver-se"),
            EngineFamily::Other("sqlserver-se".into())
        );
    }
}
