//! The master password a verification gives the restored database: fresh for every run, random,
//! never logged, never stored. It exists so the checks need no production secret.

use std::fmt;

/// A password that cannot leak by accident: `Debug` and `Display` print `****`, and it is not
/// `Serialize`, so it never reaches a log line, a report or a run record.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// 32 random hex characters (128 bits from the OS's generator, through UUID v4): within
    /// every engine's length limits, and free of the characters RDS forbids in a master
    /// password (`/`, `"`, `@`, space).
    pub fn random() -> Self {
        Password(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A password given by someone else (a test server's user).
    pub fn from_known(text: impl Into<String>) -> Self {
        Password(text.into())
    }

    /// The text itself, for the one place that must send it (`ModifyDBInstance`, the driver).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_random_valid_for_rds_and_never_printed() {
        let a = Password::random();
        let b = Password::random();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!format!("{a:?} {a}").contains(a.expose()));
    }
}
