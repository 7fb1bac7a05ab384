//! The machine's own PostgreSQL and MariaDB servers, which the emulator's restored DB instances
//! answer on (`tests/emulator/lifeboat_emulator/rds_local_servers.py`): where they are, a
//! database seeded for one test (dropped afterwards), and queries through the `psql` and `mysql`
//! command-line clients, as a given user.
//!
//! The addresses follow the emulator's: `LIFEBOAT_EMULATOR_POSTGRES` / `LIFEBOAT_EMULATOR_MYSQL`
//! (`host:port`), by default 127.0.0.1:5432 and 127.0.0.1:3306. The harness administers them as
//! the emulator does: `postgres` (the machine's PostgreSQL trusts local connections) and `root`
//! without a password.

use std::process::Command;

/// Which of the machine's servers: the one for PostgreSQL engines or the one for MySQL engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `postgres`, `aurora-postgresql`.
    Postgres,
    /// `mysql`, `mariadb`, `aurora-mysql` (the machine runs MariaDB).
    Mysql,
}

/// A server's address, as `Endpoint.Address` / `Endpoint.Port` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
}

impl Family {
    /// Where the server is (the emulator reads the same variables).
    pub fn server(self) -> Server {
        let (variable, default) = match self {
            Family::Postgres => ("LIFEBOAT_EMULATOR_POSTGRES", "127.0.0.1:5432"),
            Family::Mysql => ("LIFEBOAT_EMULATOR_MYSQL", "127.0.0.1:3306"),
        };
        let text = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
        let (host, port) = text
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{variable} must be host:port, not {text:?}"));
        Server {
            host: host.trim_matches(['[', ']']).to_owned(),
            port: port
                .parse()
                .unwrap_or_else(|_| panic!("{variable} must be host:port, not {text:?}")),
        }
    }

    fn admin(self) -> &'static str {
        match self {
            Family::Postgres => "postgres",
            Family::Mysql => "root",
        }
    }
}

/// Runs `sql` on `server` as `user` (with `password`, if any) in `database`, through the
/// machine's `psql` or `mysql` client; Ok holds the output rows (tab-separated, one a line),
/// Err the client's error. The password goes through the environment, never the command line.
pub fn query(
    family: Family,
    server: &Server,
    user: &str,
    password: Option<&str>,
    database: &str,
    sql: &str,
) -> Result<String, String> {
    let mut command = match family {
        Family::Postgres => {
            let mut c = Command::new("psql");
            c.args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .env("PGHOST", &server.host)
            .env("PGPORT", server.port.to_string())
            .env("PGUSER", user)
            .env("PGDATABASE", database)
            .env("PGCONNECT_TIMEOUT", "5")
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE");
            if let Some(password) = password {
                c.env("PGPASSWORD", password);
            }
            c
        }
        Family::Mysql => {
            let mut c = Command::new("mysql");
            c.args([
                "--no-defaults",
                "--protocol=TCP",
                "--connect-timeout=5",
                "-N",
                "-B",
            ])
            .arg(format!("--host={}", server.host))
            .arg(format!("--port={}", server.port))
            .arg(format!("--user={user}"))
            .args(["-e", sql])
            .env_remove("MYSQL_PWD");
            if !database.is_empty() {
                c.arg(database);
            }
            if let Some(password) = password {
                c.env("MYSQL_PWD", password);
            }
            c
        }
    };
    let output = command
        .output()
        .map_err(|e| format!("cannot run the {family:?} client: {e} (is it installed?)"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// Runs `sql` as the server's administrator; panics on an error.
pub fn admin(family: Family, database: &str, sql: &str) -> String {
    query(
        family,
        &family.server(),
        family.admin(),
        None,
        database,
        sql,
    )
    .unwrap_or_else(|e| panic!("{family:?} as {}: {sql}: {e}", family.admin()))
}

/// Three parcels, updated 30, 20 and 2 hours ago (PostgreSQL): what the verification tests'
/// checks count (3) and measure (the newest is 2 hours old).
pub const PARCELS_POSTGRES: &str =
    "CREATE TABLE parcels (id integer PRIMARY KEY, updated_at timestamptz NOT NULL);
     INSERT INTO parcels VALUES (1, now() - interval '30 hours'), (2, now() - interval '20 hours'),
                                (3, now() - interval '2 hours');";
/// The same three parcels, for MySQL / MariaDB.
pub const PARCELS_MYSQL: &str =
    "CREATE TABLE parcels (id INT PRIMARY KEY, updated_at DATETIME NOT NULL);
     INSERT INTO parcels VALUES (1, UTC_TIMESTAMP() - INTERVAL 30 HOUR),
                                (2, UTC_TIMESTAMP() - INTERVAL 20 HOUR),
                                (3, UTC_TIMESTAMP() - INTERVAL 2 HOUR);";

/// A database created on the machine's server for one test, seeded with known rows. Dropped,
/// with the logins named by [`SeededDatabase::drops_login`], when it goes out of scope (a failing
/// test too).
pub struct SeededDatabase {
    pub family: Family,
    pub name: String,
    logins: Vec<String>,
}

impl SeededDatabase {
    /// Creates database `name` (dropping a leftover of that name first) and runs `seed` in it.
    pub fn create(family: Family, name: &str, seed: &str) -> SeededDatabase {
        let database = SeededDatabase {
            family,
            name: name.to_owned(),
            logins: Vec::new(),
        };
        database.drop_database();
        match family {
            Family::Postgres => {
                admin(family, "postgres", &format!("CREATE DATABASE \"{name}\""));
            }
            Family::Mysql => {
                admin(family, "", &format!("CREATE DATABASE `{name}`"));
            }
        }
        admin(family, name, seed);
        database
    }

    /// Drops the login `user` (which the emulator creates on a master password change) with
    /// the database.
    pub fn drops_login(&mut self, user: &str) {
        self.logins.push(user.to_owned());
    }

    fn drop_statements(&self) -> Vec<(&'static str, String)> {
        let name = &self.name;
        let mut statements = match self.family {
            Family::Postgres => vec![(
                "postgres",
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )],
            Family::Mysql => vec![("", format!("DROP DATABASE IF EXISTS `{name}`"))],
        };
        for user in &self.logins {
            statements.push(match self.family {
                Family::Postgres => ("postgres", format!("DROP ROLE IF EXISTS \"{user}\"")),
                Family::Mysql => (
                    "",
                    format!("DROP USER IF EXISTS '{user}'@'%', '{user}'@'localhost'"),
                ),
            });
        }
        statements
    }

    fn drop_database(&self) {
        for (database, sql) in self.drop_statements() {
            admin(self.family, database, &sql);
        }
    }
}

impl Drop for SeededDatabase {
    fn drop(&mut self) {
        // No panic here: this runs while a failing test unwinds too.
        let family = self.family;
        for (database, sql) in self.drop_statements() {
            if let Err(e) = query(
                family,
                &family.server(),
                family.admin(),
                None,
                database,
                &sql,
            ) {
                eprintln!(
                    "lifeboat: cleaning up the test database {}: {sql}: {e}",
                    self.name
                );
            }
        }
    }
}

/// Whether `text` holds a run of exactly 32 hex digits: the shape of the master password a
/// verification gives a restored database, which must appear in no record, report or request.
pub fn holds_a_password(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .any(|run| run.len() == 32)
}
