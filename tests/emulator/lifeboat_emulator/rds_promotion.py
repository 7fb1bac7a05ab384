"""Read replica promotion as AWS does it: `PromoteReadReplica` and `PromoteReadReplicaDBCluster`.

moto 5.2.5's `PromoteReadReplica` changes nothing visible (the replica keeps
`ReadReplicaSourceDBInstanceIdentifier`, the source keeps listing it), promotes a DB instance
that is no replica, and answers an unknown identifier with an HTML 500. Its
`PromoteReadReplicaDBCluster` unlinks the clusters but answers a cluster that is no replica (or
an unknown one) with a 500. From the RDS API reference and the RDS / Aurora user guides:

- `PromoteReadReplica` "Promotes a read replica DB instance to a standalone DB instance";
  `DBInstanceIdentifier` (required) "Must match the identifier of an existing read replica DB
  instance": an unknown one is `DBInstanceNotFound`, one that is no read replica
  `InvalidDBInstanceState` (the operation's two errors). "A read replica cannot be promoted to a
  standalone instance when it is in the backing-up status": `InvalidDBInstanceState`, as for any
  state but `available`. "This command doesn't apply to Aurora MySQL, Aurora PostgreSQL":
  an Aurora cluster member is no read replica. `BackupRetentionPeriod` "Must be a value from 0
  to 35", "Default: 1", "Can't be set to 0 if the DB instance is a source to read replicas";
  `PreferredBackupWindow` "Must be in the format hh24:mi-hh24:mi", "at least 30 minutes"
  (`InvalidParameterValue`).
- After it, the replica is standalone: no `ReadReplicaSourceDBInstanceIdentifier`, and its source
  (in another Region for a cross-Region replica: found through the ARN) no longer lists it in
  `ReadReplicaDBInstanceIdentifiers`. "RDS reboots the DB instance before making it available.
  The promotion process can take several minutes": the replica is `modifying` meanwhile (the
  response shows it so), still linked to its source, then `available`.
- `PromoteReadReplicaDBCluster`: `DBClusterIdentifier` (required) "Must match the identifier of
  an existing DB cluster read replica": unknown is `DBClusterNotFoundFault`, no replica (no
  `ReplicationSourceIdentifier`) or not `available` is `InvalidDBClusterStateFault`. After it the
  cluster has no `ReplicationSourceIdentifier` and its source's `ReadReplicaIdentifiers` drops
  it; meanwhile it is `promoting` (an Aurora DB cluster status).

In-between states end at once unless a test holds them (`rds_operations`: `rds/hold-promotions`,
`rds/instances/<id>/backing-up`, `rds/operations/<id>/finish`).
"""

import copy
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBInstanceNotFoundError,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import DBCluster, DBInstance, DBInstanceClustered, rds_backends
from moto.rds.responses import RDSResponse

from . import rds_operations

ARN = re.compile(r"^arn:[\w-]+:rds:(?P<region>[\w-]+):(?P<account>\d{12}):(?P<kind>db|cluster):(?P<id>.+)$")
WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def missing(member: str) -> RDSClientError:
    return RDSClientError("MissingParameter", f"The request must contain the parameter {member}")


def required(response: RDSResponse, member: str) -> str:
    value = response.params.get(member)
    if value is None or value == "":
        raise missing(member)
    return str(value)


def _source_instance(db: DBInstance) -> DBInstance | None:
    source_id = db.source_db_instance_identifier or ""
    match = ARN.match(source_id)
    if match:
        backend = rds_backends[match["account"]][match["region"]]
        return backend.databases.get(match["id"])
    return db.backend.databases.get(source_id)


def _source_cluster(cluster: DBCluster) -> DBCluster | None:
    match = ARN.match(cluster.replication_source_identifier or "")
    if match is None:
        return cluster.backend.clusters.get(cluster.replication_source_identifier or "")
    return rds_backends[match["account"]][match["region"]].clusters.get(match["id"])


def _check_window(window: str | None) -> None:
    if window is None:
        return
    match = WINDOW.match(window)
    if match is None:
        raise InvalidParameterValue(
            "The parameter PreferredBackupWindow must be in the format hh24:mi-hh24:mi."
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    length = (h2 * 60 + m2 - h1 * 60 - m1) % (24 * 60)
    if length < 30:
        raise InvalidParameterValue("The backup window must be at least 30 minutes.")


def promote_read_replica(self: RDSResponse) -> Any:
    identifier = required(self, "DBInstanceIdentifier")
    db = self.backend.databases.get(identifier)
    if db is None:
        raise DBInstanceNotFoundError(identifier)
    if isinstance(db, DBInstanceClustered) or not (db.is_replica and db.source_db_instance_identifier):
        raise RDSClientError(
            "InvalidDBInstanceState", f"DB instance {db.db_instance_identifier} is not a read replica."
        )
    if db.status != "available":
        raise RDSClientError(
            "InvalidDBInstanceState",
            f"DB instance {db.db_instance_identifier} is not in available state: it is "
            f"{db.status}, and a read replica can't be promoted while {db.status}.",
        )
    retention = self.params.get("BackupRetentionPeriod")
    if retention is not None:
        retention = int(retention)
        if not 0 <= retention <= 35:
            raise InvalidParameterValue(
                f"Invalid backup retention period: {retention}. It must be from 0 to 35."
            )
        if retention == 0 and db.replicas:
            raise InvalidParameterCombination(
                "The backup retention period can't be 0 for a DB instance that is a source to "
                "read replicas."
            )
    window = self.params.get("PreferredBackupWindow")
    _check_window(window)

    db.status = "modifying"
    answer = copy.copy(db)

    def finish() -> None:
        source = _source_instance(db)
        if source is not None:
            for entry in (db.db_instance_arn, db.db_instance_identifier):
                if entry in source.replicas:
                    source.replicas.remove(entry)
        db.is_replica = False
        db.source_db_instance_identifier = None
        db.backup_retention_period = 1 if retention is None else retention
        if window is not None:
            db.preferred_backup_window = window
        db.status = "available"

    rds_operations.start(
        self.current_account,
        self.region,
        rds_operations.INSTANCE,
        db.db_instance_identifier,
        "promotion",
        finish,
    )
    return ActionResult({"DBInstance": answer})


def promote_read_replica_db_cluster(self: RDSResponse) -> Any:
    identifier = required(self, "DBClusterIdentifier")
    cluster = self.backend.clusters.get(identifier)
    if cluster is None:
        raise DBClusterNotFoundError(identifier)
    if not cluster.replication_source_identifier:
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {cluster.db_cluster_identifier} is not a read replica.",
        )
    if cluster.status != "available":
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {cluster.db_cluster_identifier} is not in available state: it is "
            f"{cluster.status}.",
        )
    cluster.status = "promoting"
    answer = copy.copy(cluster)

    def finish() -> None:
        source = _source_cluster(cluster)
        if source is not None and cluster.db_cluster_arn in source.read_replica_identifiers:
            source.read_replica_identifiers.remove(cluster.db_cluster_arn)
        cluster.replication_source_identifier = None
        cluster.status = "available"

    rds_operations.start(
        self.current_account,
        self.region,
        rds_operations.CLUSTER,
        cluster.db_cluster_identifier,
        "promotion",
        finish,
    )
    return ActionResult({"DBCluster": answer})


def install() -> None:
    RDSResponse.promote_read_replica = promote_read_replica  # type: ignore[method-assign]
    RDSResponse.promote_read_replica_db_cluster = promote_read_replica_db_cluster  # type: ignore[method-assign]
