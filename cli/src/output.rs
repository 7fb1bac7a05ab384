//! How the CLI writes for people, and stays quiet for machines:
//!
//! - colours only when stdout is a terminal, never with `NO_COLOR` set (<https://no-color.org>),
//!   never in `--json` output;
//! - on a terminal, a spinner on stderr while a long run (a restore, a promotion) waits between
//!   steps, erased before each step line; nothing of it when stderr is piped;
//! - `-q` keeps the step lines quiet (the report or the answer is still printed);
//! - errors on stderr, each with what to do next when there is more to say.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Settings {
    quiet: bool,
    colour: bool,
    spinner: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// When the last step line was printed (milliseconds since the epoch).
static LAST_LINE_MS: AtomicU64 = AtomicU64::new(0);
static SPINNING: AtomicBool = AtomicBool::new(false);

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings {
        quiet: false,
        colour: false,
        spinner: false,
    })
}

/// Sets the output up once, from the global flags.
pub(crate) fn init(quiet: bool) {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = SETTINGS.set(Settings {
        quiet,
        colour: std::io::stdout().is_terminal() && !no_colour,
        spinner: std::io::stderr().is_terminal() && !quiet,
    });
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Colour {
    Green,
    Red,
    Bold,
}

/// `text` in `colour` when colours are on, else as it is.
pub(crate) fn paint(text: &str, colour: Colour) -> String {
    if !settings().colour {
        return text.to_owned();
    }
    let code = match colour {
        Colour::Green => "32",
        Colour::Red => "31",
        Colour::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Prints a step line of a long run (unless `-q`), erasing the spinner first.
pub(crate) fn step_line(line: &str) {
    if settings().quiet {
        return;
    }
    if SPINNING.load(Ordering::Relaxed) {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
    println!("{line}");
    LAST_LINE_MS.store(now_ms(), Ordering::Relaxed);
}

/// On a terminal, shows `label` and the time since the last step on stderr while nothing is
/// printed for a second or more; lasts as long as the process.
pub(crate) fn spinner(label: &'static str) {
    if !settings().spinner {
        return;
    }
    LAST_LINE_MS.store(now_ms(), Ordering::Relaxed);
    SPINNING.store(true, Ordering::Relaxed);
    std::thread::spawn(move || {
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        for frame in FRAMES.iter().cycle() {
            std::thread::sleep(Duration::from_millis(120));
            let quiet_for = now_ms().saturating_sub(LAST_LINE_MS.load(Ordering::Relaxed)) / 1000;
            if quiet_for >= 1 {
                eprint!("\r\x1b[2K{frame} {label} ({quiet_for} s since the last step)");
                let _ = std::io::stderr().flush();
            }
        }
    });
}

/// An error on stderr, with what to do next when there is more to say than the message.
pub(crate) fn error(error: &lifeboat_shared::Error) {
    eprintln!("lifeboat: {error}");
    if let Some(next) = error.next_step() {
        eprintln!("  next: {next}");
    }
}
