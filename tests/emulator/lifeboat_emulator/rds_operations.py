"""RDS's in-between states, which moto never shows: a promotion in progress, a backup running.

AWS answers a promotion at once and does the work afterwards: the replica shows `modifying`
(a DB instance), `promoting` (a DB cluster) or its global cluster `failing-over` /
`switching-over` for minutes, then `available`. moto finishes everything before it answers.
Here an operation is registered while it is in its in-between state, and ends

- by default at once: the call's own response shows the in-between state (as AWS's does), and
  everything after it sees the end;
- if a test held it, after `describes` describes of its kind in the account (DescribeDBInstances
  for a DB instance, DescribeDBClusters for a DB cluster, DescribeGlobalClusters for a global
  cluster; in any Region), or when the test finishes it through the control API.

The RDS API reference also says a read replica "cannot be promoted to a standalone instance when
it is in the backing-up status"; a test puts an instance in `backing-up` here (moto never does),
for some describes or until finished.

Control API (`/lifeboat-api/…`, never signed):

- `POST rds/hold-promotions` `{account_id, region, count, describes?}`: the next `count`
  promotions started in that account and Region (`PromoteReadReplica`,
  `PromoteReadReplicaDBCluster`, `FailoverGlobalCluster`, `SwitchoverGlobalCluster` called in that
  Region) stay in their in-between state for `describes` describes, or (no `describes`) until
  finished. `count` 0 cancels the holds not yet used.
- `POST rds/instances/<id>/backing-up` `{account_id, region, describes?}`: the DB instance (which
  must be `available`: else 409) is `backing-up` for `describes` describes, or until finished.
- `POST rds/operations/<id>/finish` `{account_id, region}`: ends the operation in progress on the
  DB instance, DB cluster or global cluster `<id>` (a global cluster's is found from any Region).
  404 when nothing is in progress there.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.rds.responses import RDSResponse

from . import control

INSTANCE = "instance"
CLUSTER = "cluster"
GLOBAL = "global"


@dataclass
class Operation:
    account: str
    region: str  # "" for a global cluster's
    kind: str  # INSTANCE, CLUSTER or GLOBAL
    identifier: str  # lowercase, as RDS stores identifiers
    what: str  # "promotion", "backing-up", "failover", "switchover"
    finish: Callable[[], None]
    # Describes left before it ends; None: only the control API ends it.
    describes_left: int | None = None


_lock = threading.RLock()
_operations: dict[tuple[str, str, str, str], Operation] = {}
# (account, region) → the `describes` of each hold not yet used (None: until finished).
_holds: dict[tuple[str, str], list[int | None]] = {}


def _key(account: str, region: str, kind: str, identifier: str) -> tuple[str, str, str, str]:
    return (account, "" if kind == GLOBAL else region, kind, identifier.lower())


def in_progress(account: str, region: str, kind: str, identifier: str) -> Operation | None:
    with _lock:
        return _operations.get(_key(account, region, kind, identifier))


def start(
    account: str,
    region: str,
    kind: str,
    identifier: str,
    what: str,
    finish: Callable[[], None],
    hold_region: str | None = None,
) -> bool:
    """An operation enters its in-between state. If a hold set for `hold_region` (default:
    `region`) applies, it is registered and stays there (True); otherwise it ends now, `finish`
    having been called (False): the caller's response, built before, shows the in-between state."""
    with _lock:
        queue = _holds.get((account, hold_region or region))
        if queue:
            operation = Operation(account, region, kind, identifier.lower(), what, finish)
            operation.describes_left = queue.pop(0)
            _operations[_key(account, region, kind, identifier)] = operation
            return True
    finish()
    return False


def begin_backing_up(
    account: str, region: str, identifier: str, finish: Callable[[], None], describes: int | None
) -> Operation:
    with _lock:
        operation = Operation(
            account, region, INSTANCE, identifier.lower(), "backing-up", finish, describes
        )
        _operations[_key(account, region, INSTANCE, identifier)] = operation
        return operation


def end(operation: Operation) -> None:
    with _lock:
        key = _key(operation.account, operation.region, operation.kind, operation.identifier)
        if _operations.get(key) is operation:
            del _operations[key]
            operation.finish()


def _tick(account: str, kind: str) -> None:
    with _lock:
        for operation in [o for o in _operations.values() if o.account == account]:
            if operation.kind != kind or operation.describes_left is None:
                continue
            if operation.describes_left == 0:
                end(operation)
            else:
                operation.describes_left -= 1


# ---- describes move operations on ---------------------------------------------------------------

# The describes as installed before this module (other extensions may have replaced moto's).
_original: dict[str, Callable[[RDSResponse], Any]] = {}


def _describing(name: str, kind: str) -> Callable[[RDSResponse], Any]:
    def describe(self: RDSResponse) -> Any:
        _tick(self.current_account, kind)
        return _original[name](self)

    describe.__name__ = name
    return describe


# ---- control API ------------------------------------------------------------------------------


def _describes(body: dict) -> int | None:
    value = body.get("describes")
    if value is None:
        return None
    describes = int(value)
    if describes < 0:
        raise control.ControlError(400, "describes must be 0 or more")
    return describes


@control.route("POST", r"rds/hold-promotions")
def _hold_promotions(_match: Any, body: dict) -> tuple[int, Any]:
    count = int(body.get("count", 1))
    if count < 0:
        raise control.ControlError(400, "count must be 0 (no more holds) or more")
    describes = _describes(body)
    key = (str(body["account_id"]), str(body["region"]))
    with _lock:
        if count == 0:
            _holds.pop(key, None)
        else:
            _holds.setdefault(key, []).extend([describes] * count)
        return 200, {"held": len(_holds.get(key, []))}


@control.route("POST", r"rds/instances/(?P<id>[^/]+)/backing-up")
def _backing_up(match: Any, body: dict) -> tuple[int, Any]:
    from moto.rds.models import rds_backends

    account, region = str(body["account_id"]), str(body["region"])
    db = rds_backends[account][region].databases.get(match["id"])
    if db is None:
        raise control.ControlError(404, f"no DB instance {match['id']} in {region}")
    if db.status != "available":
        raise control.ControlError(409, f"DB instance {match['id']} is {db.status}, not available")
    db.status = "backing-up"

    def finish() -> None:
        if db.status == "backing-up":
            db.status = "available"

    begin_backing_up(account, region, db.db_instance_identifier, finish, _describes(body))
    return 200, {"DBInstanceIdentifier": db.db_instance_identifier, "DBInstanceStatus": db.status}


@control.route("POST", r"rds/operations/(?P<id>[^/]+)/finish")
def _finish(match: Any, body: dict) -> tuple[int, Any]:
    account, region = str(body["account_id"]), str(body.get("region", ""))
    with _lock:
        for kind in (INSTANCE, CLUSTER, GLOBAL):
            operation = _operations.get(_key(account, region, kind, match["id"]))
            if operation is not None:
                end(operation)
                return 200, {"finished": operation.what, "kind": kind}
    raise control.ControlError(404, f"nothing in progress on {match['id']} in {region}")


def install() -> None:
    control.install()
    if _original:
        return
    for name in ("describe_db_instances", "describe_db_clusters", "describe_global_clusters"):
        _original[name] = getattr(RDSResponse, name)
    RDSResponse.describe_db_instances = _describing("describe_db_instances", INSTANCE)  # type: ignore[method-assign]
    RDSResponse.describe_db_clusters = _describing("describe_db_clusters", CLUSTER)  # type: ignore[method-assign]
    RDSResponse.describe_global_clusters = _describing("describe_global_clusters", GLOBAL)  # type: ignore[method-assign]
