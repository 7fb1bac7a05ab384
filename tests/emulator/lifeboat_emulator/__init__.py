"""Lifeboat's extensions to moto: parts of the AWS API that moto 5.2.5 lacks, modelled on the
AWS API reference (never on what Lifeboat would like to hear). `server.py` installs them before
the server starts, so the tests, the demo and `demo --serve` all have them.

Each extension is a module with an `install()` function and is tested through the real AWS SDK
by `tests/tests/it/emulator.rs` (AWS Backup: `tests/tests/it/emulator_backup.rs`; restored
databases backed by the machine's PostgreSQL and MariaDB: `tests/tests/it/emulator_rds.rs`;
promotion, global database failover and switchover, Route 53 change status:
`tests/tests/it/emulator_failover.rs`).
`control` serves Lifeboat's own `/lifeboat-api/` on the emulator's port for what tests drive by
hand. `rds_operations` keeps RDS's in-between states (a promotion in progress, `backing-up`),
which `rds_promotion` (`PromoteReadReplica`, `PromoteReadReplicaDBCluster`) and `rds_global`
(`CreateGlobalCluster` across Regions, `DescribeGlobalClusters`, `FailoverGlobalCluster`,
`SwitchoverGlobalCluster`) use; `route53_changes` gives each change batch its id and `PENDING`; `rpcv2_cbor` lets the SDKs'
Smithy RPC v2 CBOR calls (CloudWatch) reach moto, which serves only JSON and query.
"""

from . import (
    backup,
    control,
    rds_global,
    rds_local_servers,
    rds_operations,
    rds_promotion,
    rds_snapshot_option_group,
    route53_changes,
    rpcv2_cbor,
)

# rds_operations wraps the describes as the extensions before it left them (rds_global replaces
# DescribeGlobalClusters), so it comes after them.
EXTENSIONS = [
    control,
    rds_snapshot_option_group,
    rds_local_servers,
    backup,
    rds_promotion,
    rds_global,
    rds_operations,
    route53_changes,
    rpcv2_cbor,
]


def install() -> None:
    for extension in EXTENSIONS:
        extension.install()
