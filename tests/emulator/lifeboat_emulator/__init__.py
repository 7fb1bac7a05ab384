"""Lifeboat's extensions to moto: parts of the AWS API that moto 5.2.5 lacks, modelled on the
AWS API reference (never on what Lifeboat would like to hear). `server.py` installs them before
the server starts, so the tests, the demo and `demo --serve` all have them.

Each extension is a module with an `install()` function and is tested through the real AWS SDK
by `tests/tests/emulator.rs` (AWS Backup: `tests/tests/emulator_backup.rs`; restored databases
backed by the machine's PostgreSQL and MariaDB: `tests/tests/emulator_rds.rs`). `control` serves
Lifeboat's own `/lifeboat-api/` on the emulator's port for what tests drive by hand.
"""

from . import backup, control, rds_local_servers, rds_snapshot_option_group

EXTENSIONS = [control, rds_snapshot_option_group, rds_local_servers, backup]


def install() -> None:
    for extension in EXTENSIONS:
        extension.install()
