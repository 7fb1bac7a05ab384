//! Restore verification: restore the newest copy into an isolated place, run the plan's SQL
//! checks on it, measure restore time and data age, always clean up.
//!
//! Built in steps. Here today:
//! - [`checks`]: the SQL checks against a restored database through the real drivers, with the
//!   measured data age;
//! - [`secret`]: the throw-away master password;
//! - [`run`]: the run record that each invocation advances and saves;
//! - [`decide`]: the pure rules — which copy, what next, which leftovers to sweep.
//!
//! Still to come: the AWS calls that carry the actions out, the `verify-restore` function and
//! `lifeboat verify`.

pub mod checks;
pub mod decide;
pub mod run;
pub mod secret;
