"""Aurora global databases across Regions: `FailoverGlobalCluster`, `SwitchoverGlobalCluster`, and
what moto 5.2.5 gets wrong around them.

moto keeps global clusters in its us-east-1 backend (so `DescribeGlobalClusters` answers the same
from every Region, as AWS does for a global resource) and marks members with `IsWriter`, but:
it has no `FailoverGlobalCluster` / `SwitchoverGlobalCluster` (an HTML 500); its
`CreateGlobalCluster` finds `SourceDBClusterIdentifier` only in us-east-1 and leaves that
cluster `IsWriter` false; and `DescribeGlobalClusters` ignores `GlobalClusterIdentifier`. From
the RDS API reference and the Aurora user guide ("Using switchover or failover in Amazon Aurora
Global Database"):

- `CreateGlobalCluster`: `SourceDBClusterIdentifier` is "The Amazon Resource Name (ARN) to use as
  the primary cluster", in its own Region; with it, "don't specify" `DatabaseName`, `Engine`,
  `EngineVersion`, `StorageEncrypted` (`InvalidParameterCombination`). A cluster already in a
  global database is `InvalidDBClusterStateFault`; an identifier in use
  `GlobalClusterAlreadyExistsFault`; no source and no `Engine` (`aurora-mysql` |
  `aurora-postgresql`) `InvalidParameterValue`.
- `DescribeGlobalClusters` with `GlobalClusterIdentifier`: that one, or `GlobalClusterNotFoundFault`.
- `FailoverGlobalCluster` (`GlobalClusterIdentifier`, `TargetDbClusterIdentifier` required; "Use
  the Amazon Resource Name (ARN) for the identifier so that Aurora can locate the cluster in its
  Amazon Web Services Region"): with `AllowDataLoss` a failover; otherwise a switchover;
  `AllowDataLoss` with `Switchover` is `InvalidParameterCombination` ("Can't be specified
  together"). `SwitchoverGlobalCluster`: the switchover.
- Both: "the secondary DB cluster ... becomes the new primary": the target's member gets
  `IsWriter` true and the old primary's false (a switchover "demotes the current primary cluster
  to a secondary"; after a failover AWS "automatically adds it back to the global cluster as a
  secondary Region" when its Region recovers — the emulator's Regions never fail, so at once).
  Meanwhile the global cluster's `Status` and `FailoverState.Status` are `failing-over` or
  `switching-over`, with `FromDbClusterArn`, `ToDbClusterArn`, `IsDataLossAllowed`; afterwards
  `available` and no `FailoverState` ("empty unless a switchover or failover operation is
  scheduled or is in progress").
- Refused: an unknown global cluster (`GlobalClusterNotFoundFault`) or one not `available`
  (`InvalidGlobalClusterStateFault`); an unknown target (`DBClusterNotFoundFault`); a target
  that is not a secondary of this global cluster, not `available`, or headless ("Before you can
  perform a switchover or failover to a headless secondary Aurora DB cluster, you must add a DB
  instance to it") — `InvalidDBClusterStateFault`; a primary and target whose engine versions
  differ ("only if the primary and secondary DB clusters have the same major and minor engine
  versions. Depending on the engine and engine versions, the patch levels might need to be
  identical": the emulator takes the strict side and wants the same version) —
  `InvalidGlobalClusterStateFault`; a switchover whose primary is not `available` (switchovers
  need "all the Aurora clusters ... in a healthy state") — `InvalidDBClusterStateFault`.
- After a failover with data loss, "Aurora attempts to take a snapshot of the old storage volume
  at the point of failure ... named `rds:unplanned-global-failover-name-of-old-primary-DB-cluster-timestamp`",
  "a system snapshot that's subject to the backup retention period": a DB cluster snapshot of
  `SnapshotType` `automated` in the old primary's Region (timestamp as moto's automated
  snapshots: `YYYY-MM-DD-HH-MM`).

In-between states end at once unless a test holds them (`rds_operations`: a hold set for the
Region the call is made in; `rds/operations/<global-id>/finish`).
"""

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import DBCluster, GlobalCluster, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from . import rds_operations
from .rds_promotion import ARN, required

# "This object is empty unless the SwitchoverGlobalCluster or FailoverGlobalCluster operation was
# called": absent until then (the serializer leaves out a None).
GlobalCluster.failover_state = None  # type: ignore[attr-defined]


def _global_backend(response: RDSResponse) -> RDSBackend:
    return response.global_backend


def _global_cluster(response: RDSResponse, identifier: str) -> GlobalCluster:
    found = _global_backend(response).global_clusters.get(identifier)
    if found is None:
        raise RDSClientError(
            "GlobalClusterNotFoundFault", f"Global cluster {identifier} doesn't exist."
        )
    return found


def _cluster(response: RDSResponse, identifier: str) -> DBCluster:
    match = ARN.match(identifier)
    if match is not None and match["kind"] == "cluster":
        backend = rds_backends[match["account"]][match["region"]]
        found = backend.clusters.get(match["id"])
    elif match is not None:
        found = None
    else:
        found = response.backend.clusters.get(identifier)
    if found is None:
        raise DBClusterNotFoundError(identifier)
    return found


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _view(gc: GlobalCluster) -> dict[str, Any]:
    """The global cluster as it is now, detached from later changes."""
    view = {
        "GlobalClusterIdentifier": gc.global_cluster_identifier,
        "GlobalClusterResourceId": gc.global_cluster_resource_id,
        "GlobalClusterArn": gc.global_cluster_arn,
        "Status": gc.status,
        "Engine": gc.engine,
        "EngineVersion": gc.engine_version,
        "StorageEncrypted": gc.storage_encrypted,
        "DeletionProtection": gc.deletion_protection,
        "GlobalClusterMembers": copy.deepcopy(gc.global_cluster_members),
        "Endpoint": gc.endpoint,
        "TagList": list(gc.tags or []),
    }
    if gc.failover_state:
        view["FailoverState"] = dict(gc.failover_state)
    return view


# ---- CreateGlobalCluster, DescribeGlobalClusters ------------------------------------------------


def create_global_cluster(self: RDSResponse) -> Any:
    identifier = required(self, "GlobalClusterIdentifier")
    backend = _global_backend(self)
    if identifier in backend.global_clusters:
        raise RDSClientError(
            "GlobalClusterAlreadyExistsFault", f"Global cluster {identifier} already exists."
        )
    source_id = self.params.get("SourceDBClusterIdentifier")
    engine = self.params.get("Engine")
    source = None
    if source_id:
        given = [
            m
            for m in ("DatabaseName", "Engine", "EngineVersion", "StorageEncrypted")
            if self.params.get(m) is not None
        ]
        if given:
            raise InvalidParameterCombination(
                f"When creating a global cluster from an existing DB cluster, don't specify "
                f"{', '.join(given)}: they are inherited from the source cluster."
            )
        if ARN.match(source_id) is None:
            raise InvalidParameterValue(
                f"The parameter SourceDBClusterIdentifier must be a DB cluster ARN: {source_id}"
            )
        source = _cluster(self, source_id)
        if source.global_cluster_identifier:
            raise RDSClientError(
                "InvalidDBClusterStateFault",
                f"DB cluster {source.db_cluster_arn} is already a member of global cluster "
                f"{source.global_cluster_identifier}.",
            )
    elif engine not in ("aurora-mysql", "aurora-postgresql"):
        raise InvalidParameterValue(
            "When creating a standalone global cluster, Engine must be aurora-mysql or "
            "aurora-postgresql."
        )
    gc = GlobalCluster(
        backend=backend,
        global_cluster_identifier=identifier,
        engine=source.engine if source else engine,
        engine_version=source.engine_version if source else self.params.get("EngineVersion"),
        storage_encrypted=(
            bool(source.storage_encrypted) if source else self.params.get("StorageEncrypted")
        ),
        deletion_protection=self.params.get("DeletionProtection"),
    )
    backend.global_clusters[identifier] = gc
    if source is not None:
        source.global_cluster_identifier = gc.global_cluster_identifier
        source.is_writer = True
        gc.members.append(source)
    return ActionResult({"GlobalCluster": gc})


def describe_global_clusters(self: RDSResponse) -> Any:
    identifier = self.params.get("GlobalClusterIdentifier")
    if identifier:
        return ActionResult({"GlobalClusters": [_global_cluster(self, identifier)]})
    return ActionResult(
        {"GlobalClusters": list(_global_backend(self).global_clusters.values())}
    )


# ---- FailoverGlobalCluster, SwitchoverGlobalCluster ---------------------------------------------


def _move_writer(self: RDSResponse, data_loss: bool) -> Any:
    gc = _global_cluster(self, required(self, "GlobalClusterIdentifier"))
    target = _cluster(self, required(self, "TargetDbClusterIdentifier"))
    if gc.status != "available":
        raise RDSClientError(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {gc.global_cluster_identifier} is {gc.status}, not available.",
        )
    primary = next((m for m in gc.members if m.is_writer), None)
    if target not in gc.members or target is primary:
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} is not a secondary cluster of global cluster "
            f"{gc.global_cluster_identifier}.",
        )
    if primary is None:
        raise RDSClientError(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {gc.global_cluster_identifier} has no primary cluster.",
        )
    if target.status != "available":
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} is {target.status}, not available.",
        )
    if not target.members:
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} has no DB instances: add a DB instance to a "
            "headless secondary cluster before switching over or failing over to it.",
        )
    if target.engine_version != primary.engine_version:
        raise RDSClientError(
            "InvalidGlobalClusterStateFault",
            f"The primary cluster {primary.db_cluster_arn} runs engine version "
            f"{primary.engine_version} and the target {target.db_cluster_arn} runs "
            f"{target.engine_version}: a managed switchover or failover needs the same version.",
        )
    if not data_loss and primary.status != "available":
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"The primary cluster {primary.db_cluster_arn} is {primary.status}: a switchover "
            "needs a healthy primary; fail over with AllowDataLoss instead.",
        )

    state = "failing-over" if data_loss else "switching-over"
    gc.status = state
    gc.failover_state = {  # type: ignore[attr-defined]
        "Status": state,
        "FromDbClusterArn": primary.db_cluster_arn,
        "ToDbClusterArn": target.db_cluster_arn,
        "IsDataLossAllowed": data_loss,
    }
    answer = _view(gc)

    def finish() -> None:
        primary.is_writer = False
        target.is_writer = True
        if data_loss:
            stamp = utcnow().strftime("%Y-%m-%d-%H-%M")
            snapshot = f"rds:unplanned-global-failover-{primary.db_cluster_identifier}-{stamp}"
            if snapshot not in primary.backend.cluster_snapshots:
                primary.backend.create_db_cluster_snapshot(
                    primary.db_cluster_identifier, snapshot, snapshot_type="automated"
                )
        gc.status = "available"
        gc.failover_state = None  # type: ignore[attr-defined]

    rds_operations.start(
        self.current_account,
        self.region,
        rds_operations.GLOBAL,
        gc.global_cluster_identifier,
        "failover" if data_loss else "switchover",
        finish,
    )
    return ActionResult({"GlobalCluster": answer})


def failover_global_cluster(self: RDSResponse) -> Any:
    allow_data_loss = self.params.get("AllowDataLoss")
    switchover = self.params.get("Switchover")
    if allow_data_loss is not None and switchover is not None:
        raise InvalidParameterCombination(
            "AllowDataLoss and Switchover can't be specified together."
        )
    return _move_writer(self, _truthy(allow_data_loss))


def switchover_global_cluster(self: RDSResponse) -> Any:
    return _move_writer(self, False)


def install() -> None:
    RDSResponse.create_global_cluster = create_global_cluster  # type: ignore[method-assign]
    RDSResponse.describe_global_clusters = describe_global_clusters  # type: ignore[method-assign]
    RDSResponse.failover_global_cluster = failover_global_cluster  # type: ignore[method-assign]
    RDSResponse.switchover_global_cluster = switchover_global_cluster  # type: ignore[method-assign]
