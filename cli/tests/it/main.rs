//! The `lifeboat` binary's tests, one test binary with a module per area: it links the
//! harness (and the AWS SDK) once, and one emulator serves every area. Run one area with
//! `cargo test -p lifeboat-cli --test it verify::`.

mod cli;
mod conventions;
mod failover;
mod status;
mod status_html;
mod verify;
