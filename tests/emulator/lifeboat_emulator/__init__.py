"""Lifeboat's extensions to moto: parts of the AWS API that moto 5.2.5 lacks, modelled on the
AWS API reference (never on what Lifeboat would like to hear). `server.py` installs them before
the server starts, so the tests, the demo and `demo --serve` all have them.

Each extension is a module with an `install()` function and is tested through the real AWS SDK
by `tests/tests/emulator.rs` (AWS Backup: `tests/tests/emulator_backup.rs`). `control` serves
Lifeboat's own `/lifeboat-api/` on the emulator's port for what tests drive by hand.
"""

from . import backup, control, rds_snapshot_option_group

EXTENSIONS = [control, rds_snapshot_option_group, backup]


def install() -> None:
    for extension in EXTENSIONS:
        extension.install()
