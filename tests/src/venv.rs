//! The project's Python virtualenvs, with pinned tools, installed on first use:
//!
//! - `.venv`: `tests/emulator/requirements.txt`, moto for the emulator (with psycopg and PyMySQL,
//!   through which it sets passwords on the machine's PostgreSQL and MariaDB) and cfn-lint for
//!   the templates;
//! - `.venv/checkov`: `tests/emulator/requirements-checkov.txt`, checkov for the templates. It
//!   lives apart because checkov pins boto3/botocore to versions older than the ones moto runs on
//!   (see that file); inside `.venv` so that it is ignored and removed with it.
//!
//! Installed by whichever test or demo needs one first; a file lock keeps parallel test processes
//! from installing twice, and a stamp of the requirements reinstalls when they change.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One virtualenv: where it lives and what goes in it (paths relative to the workspace root).
struct Venv {
    dir: &'static str,
    requirements: &'static str,
    tools: &'static str,
}

const MAIN: Venv = Venv {
    dir: ".venv",
    requirements: "tests/emulator/requirements.txt",
    tools: "moto, cfn-lint, psycopg, PyMySQL",
};

const CHECKOV: Venv = Venv {
    dir: ".venv/checkov",
    requirements: "tests/emulator/requirements-checkov.txt",
    tools: "checkov",
};

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The virtualenv's directory, installed and up to date.
pub fn ensure() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        install(&MAIN).unwrap_or_else(|e| panic!("cannot prepare the Python virtualenv: {e}"))
    })
}

/// The `checkov` program, in its own virtualenv (installed and up to date).
pub fn checkov() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        install(&CHECKOV)
            .unwrap_or_else(|e| panic!("cannot prepare checkov's Python virtualenv: {e}"))
    })
    .join("bin")
    .join("checkov")
}

/// The path of a program installed in the virtualenv, e.g. `tool("cfn-lint")`.
pub fn tool(name: &str) -> PathBuf {
    ensure().join("bin").join(name)
}

/// The virtualenv's Python interpreter.
pub fn python() -> PathBuf {
    tool("python")
}

fn install(spec: &Venv) -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = root.join(spec.dir);
    let requirements_path = root.join(spec.requirements);
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let stamp = venv.join(".lifeboat-requirements");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str()) {
        return Ok(venv);
    }

    let lock_path = root.join(".venv.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have installed while we waited for the lock.
    if fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str()) {
        return Ok(venv);
    }

    eprintln!(
        "lifeboat: installing the pinned Python tools ({}) into {} — first run only",
        spec.tools,
        venv.display()
    );
    let python = std::env::var("LIFEBOAT_PYTHON").unwrap_or_else(|_| "python3".into());
    if !venv.join("bin/python").exists() {
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "create the virtualenv",
        )?;
    }
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements_path),
        &format!("install {}", spec.requirements),
    )?;
    fs::write(&stamp, requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot {what}: {e} (is python3 installed?)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cannot {what}: {status}"))
    }
}
