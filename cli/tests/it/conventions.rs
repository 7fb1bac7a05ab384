//! The CLI's conventions, as a user meets them: every command's `--help` has examples and its
//! exit status; colours on a terminal (a real pseudo-terminal, through util-linux `script`) and
//! never with `NO_COLOR` or when piped.

use std::process::Command;

const LIFEBOAT: &str = env!("CARGO_BIN_EXE_lifeboat");

fn help(args: &[&str]) -> String {
    let out = Command::new(LIFEBOAT)
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_command_helps_with_examples_and_its_exit_status() {
    for args in [
        &["copy", "snapshots"][..],
        &["copy", "backups"],
        &["verify"],
        &["failover"],
        &["failback"],
        &["status"],
        &["plan", "check"],
    ] {
        let text = help(args);
        assert!(text.contains("Example"), "{args:?}:\n{text}");
        assert!(text.contains("Exit status: 0 "), "{args:?}:\n{text}");
    }
    let top = help(&[]);
    for part in ["-v, --verbose", "-q, --quiet", "NO_COLOR", "--bin drill"] {
        assert!(top.contains(part), "{part}:\n{top}");
    }
}

/// `lifeboat plan check` in a pseudo-terminal: "valid" in green; with NO_COLOR, and piped, plain.
#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tracking.toml");
    let on_a_terminal = |no_color: bool| {
        let mut command = Command::new("script");
        command
            .args([
                "-qec",
                &format!("{LIFEBOAT} plan check {plan}"),
                "/dev/null",
            ])
            .env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.output().expect("util-linux script");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(false);
    assert!(coloured.contains("\x1b[32mvalid\x1b[0m"), "{coloured:?}");
    let plain = on_a_terminal(true);
    assert!(
        plain.contains("is valid") && !plain.contains('\x1b'),
        "{plain:?}"
    );
    let piped = Command::new(LIFEBOAT)
        .args(["plan", "check", plan])
        .output()
        .unwrap();
    let piped = String::from_utf8_lossy(&piped.stdout);
    assert!(
        piped.contains("is valid") && !piped.contains('\x1b'),
        "{piped:?}"
    );
}
