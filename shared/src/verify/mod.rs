//! Restore verification: restore the newest copy into an isolated place, run the plan's SQL
//! checks on it, measure restore time and data age, always clean up.
//!
//! Built in steps. Here today: [`checks`], the SQL checks against a restored database through
//! the real drivers, with the measured data age; [`secret`], the throw-away master password.

pub mod checks;
pub mod secret;
