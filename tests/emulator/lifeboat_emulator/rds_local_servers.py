"""Restored RDS databases that are real: the machine's own PostgreSQL and MariaDB stand in for them.

moto restores metadata, not data. What AWS gives after a restore is a database that answers on
`Endpoint.Address`:`Endpoint.Port` with the snapshot's data and the master user's credentials.
Here a DB instance restored

- by `RestoreDBInstanceFromDBSnapshot`,
- by `CreateDBInstance` inside a DB cluster restored by `RestoreDBClusterFromSnapshot` (Aurora
  gives a restored cluster no instance; the caller adds one),
- by an AWS Backup `StartRestoreJob` of an RDS recovery point (`backup.py` calls
  `adopt_instance`; an Aurora recovery point's cluster: `adopt_cluster`)

has as its endpoint the machine's server for its engine family: PostgreSQL (`postgres`,
`aurora-postgresql`) or MySQL (`mysql`, `mariadb`, `aurora-mysql`), configured by `configure()`
(`server.py` reads `LIFEBOAT_EMULATOR_POSTGRES` / `LIFEBOAT_EMULATOR_MYSQL`, `host:port`). A
restored cluster's `Endpoint`, `ReaderEndpoint` and `Port` name the same server. Other engines
(SQL Server, Oracle) keep moto's made-up endpoint. Tests seed that server with the data the
snapshot "holds".

A master password change (`ModifyDBInstance` / `ModifyDBCluster` with `MasterUserPassword`) on
such a database is applied to the server (the reference: "the change is asynchronously applied as
soon as possible"; here at once): the instance's `MasterUsername` becomes a login with that
password that can read every database (PostgreSQL: `pg_read_all_data`, not a superuser;
MariaDB: `SELECT ON *.*`, as `'user'@'%'` and `'user'@'localhost'`). The password is never
logged; the recorder keeps `MasterUserPassword=HIDDEN_DUE_TO_SECURITY_REASONS`, as CloudTrail
does. The servers' own administrators (`postgres`, `root`, …) and existing superusers are never
touched.

Also from the reference:

- `MasterUserPassword` on `ModifyDBInstance` "doesn't apply to ... Amazon Aurora. The password
  for the master user is managed by the DB cluster": refused (moto answers a 500) with
  `InvalidParameterCombination`, the way AWS refuses other cluster-managed settings.
- The password's constraints: printable ASCII except `/`, `"`, `@` and space; 8 to 41 characters
  (MySQL, MariaDB, every cluster), 128 (PostgreSQL, SQL Server), 30 (Oracle). `InvalidParameterValue`.
- "The endpoint might not be shown for instances with the status of `creating`."

Restores are `available` at once (moto). The control API holds them in `creating` so that a
restore that never becomes available can be tested: `POST /lifeboat-api/rds/hold-restores`
`{account_id, region, count}` makes the next `count` restored DB instances (any of the three
ways above, any engine) of that account and Region stay `creating`, with no endpoint and refusing
`ModifyDBInstance` (`InvalidDBInstanceState`), until `POST /lifeboat-api/rds/instances/<id>/available`
`{account_id, region}` releases one.
"""

import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

from moto.moto_api._internal.recorder.models import Recorder
from moto.rds.exceptions import (
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import DBCluster, DBInstance, DBInstanceClustered, RDSBackend, rds_backends

from . import control


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


# Engine → the family of the machine's server that stands in for it.
FAMILIES = {
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora-mysql": "mysql",
    "aurora": "mysql",
}

SERVERS: dict[str, Server] = {
    "postgres": Server("127.0.0.1", 5432),
    "mysql": Server("127.0.0.1", 3306),
}

# The accounts the emulator administers each server with (PostgreSQL: trust auth; MariaDB: root
# without a password). They, and the servers' own system accounts, are never given a password.
ADMINS = {"postgres": "postgres", "mysql": "root"}
RESERVED = {
    "postgres": {"postgres", "rdsadmin"},
    "mysql": {"root", "mysql", "mariadb.sys", "rdsadmin"},
}

ENVIRONMENT = {"postgres": "LIFEBOAT_EMULATOR_POSTGRES", "mysql": "LIFEBOAT_EMULATOR_MYSQL"}


def parse_server(text: str, variable: str) -> Server:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{variable} must be host:port, not {text!r}")
    return Server(host.strip("[]"), int(port))


def configure(environ: dict[str, str]) -> None:
    """Reads the servers' addresses from `LIFEBOAT_EMULATOR_POSTGRES` and
    `LIFEBOAT_EMULATOR_MYSQL` (`host:port`); unset keeps 127.0.0.1:5432 and 127.0.0.1:3306."""
    for family, variable in ENVIRONMENT.items():
        value = environ.get(variable)
        if value:
            SERVERS[family] = parse_server(value, variable)


# ---- which resources are restored --------------------------------------------------------------

# Set in the model's __dict__: the engine family ("" for an engine with no local server). moto
# copies __dict__ into the kwargs of a restore from a snapshot of it; the models ignore the key.
_MARK = "_lifeboat_restored"

_lock = threading.Lock()
_holds: dict[tuple[str, str], int] = {}


def _restored(resource: Any) -> bool:
    return _MARK in resource.__dict__


def _server(resource: Any) -> Server | None:
    family = resource.__dict__.get(_MARK)
    return SERVERS.get(family) if family else None


def adopt_instance(db: DBInstance) -> None:
    """Marks `db` as restored: its endpoint becomes the local server of its engine, and a held
    restore keeps it `creating`."""
    if _restored(db):
        return
    db.__dict__[_MARK] = FAMILIES.get(db.engine, "")
    key = (db.account_id, db.region)
    with _lock:
        if _holds.get(key, 0) > 0:
            _holds[key] -= 1
            db.status = "creating"


def adopt_cluster(cluster: DBCluster) -> None:
    """Marks `cluster` as restored: its endpoints become the local server of its engine, and
    instances created in it are restored instances."""
    if _restored(cluster):
        return
    cluster.__dict__[_MARK] = FAMILIES.get(cluster.engine, "")
    server = _server(cluster)
    if server is not None:
        cluster.port = server.port


# ---- the API ----------------------------------------------------------------------------------

_original = {
    "restore_instance": RDSBackend.restore_db_instance_from_db_snapshot,
    "restore_cluster": RDSBackend.restore_db_cluster_from_snapshot,
    "create_instance": RDSBackend.create_db_instance,
    "modify_instance": RDSBackend.modify_db_instance,
    "modify_cluster": RDSBackend.modify_db_cluster,
    "instance_endpoint": DBInstance.endpoint,
    "cluster_endpoint": DBCluster.endpoint,
    "cluster_reader_endpoint": DBCluster.reader_endpoint,
    "encode_body": Recorder._encode_body,
}


def _restore_db_instance_from_db_snapshot(
    self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]
) -> DBInstance:
    db = _original["restore_instance"](self, from_snapshot_id, overrides)
    adopt_instance(db)
    return db


def _restore_db_cluster_from_snapshot(
    self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]
) -> DBCluster:
    cluster = _original["restore_cluster"](self, from_snapshot_id, overrides)
    adopt_cluster(cluster)
    return cluster


def _create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db = _original["create_instance"](self, db_kwargs)
    if isinstance(db, DBInstanceClustered) and _restored(db.cluster):
        adopt_instance(db)
    return db


def _password_limit(engine: str) -> int:
    if engine.startswith("oracle"):
        return 30
    if engine == "postgres" or engine.startswith("sqlserver"):
        return 128
    return 41


def _check_password(password: str, limit: int) -> None:
    if any(c in '/"@ ' or not 32 <= ord(c) < 127 for c in password):
        raise InvalidParameterValue(
            "The parameter MasterUserPassword is not a valid password. Only printable ASCII "
            "characters besides '/', '@', '\"', ' ' may be used."
        )
    if len(password) < 8:
        raise InvalidParameterValue(
            "The parameter MasterUserPassword is not a valid password because it is shorter "
            "than 8 characters."
        )
    if len(password) > limit:
        raise InvalidParameterValue(
            "The parameter MasterUserPassword is not a valid password because it is longer "
            f"than {limit} characters."
        )


def _modify_db_instance(
    self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]
) -> DBInstance:
    db = self.describe_db_instances(db_instance_identifier)[0]
    if _restored(db) and db.status == "creating":
        raise RDSClientError(
            "InvalidDBInstanceState", "Database instance is not in available state."
        )
    password = db_kwargs.get("master_user_password")
    if password is not None:
        if isinstance(db, DBInstanceClustered):
            raise InvalidParameterCombination(
                "The specified DB Instance is a member of a cluster. Modify master user "
                "password for the DB Cluster using the ModifyDbCluster API"
            )
        _check_password(password, _password_limit(db.engine))
    result = _original["modify_instance"](self, db_instance_identifier, db_kwargs)
    if password is not None:
        _apply_password(db, db.master_username, password)
    return result


def _modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
    cluster = self.clusters.get(kwargs.get("db_cluster_identifier"))
    password = kwargs.get("master_user_password")
    if password is not None and cluster is not None:
        _check_password(password, 41)
    result = _original["modify_cluster"](self, kwargs)
    if password is not None and cluster is not None:
        _apply_password(cluster, cluster.master_username, password)
    return result


def _instance_endpoint(self: DBInstance) -> dict[str, Any] | None:
    if _restored(self):
        if self.status == "creating":
            return None  # "The endpoint might not be shown for instances ... creating."
        server = _server(self)
        if server is not None:
            return {"Address": server.host, "Port": server.port}
    return _original["instance_endpoint"].fget(self)


def _cluster_endpoint(self: DBCluster) -> str:
    server = _server(self)
    return server.host if server else _original["cluster_endpoint"].fget(self)


def _cluster_reader_endpoint(self: DBCluster) -> str:
    server = _server(self)
    return server.host if server else _original["cluster_reader_endpoint"].fget(self)


_PASSWORD_IN_FORM = re.compile(rb"(MasterUserPassword=)[^&]*")


def _encode_body(self: Recorder, body: Any) -> tuple[str, bool]:
    # CloudTrail records a password parameter as HIDDEN_DUE_TO_SECURITY_REASONS; so does the
    # recorder, so that no test log holds one.
    if isinstance(body, str) and "MasterUserPassword=" in body:
        body = _PASSWORD_IN_FORM.sub(
            rb"\1HIDDEN_DUE_TO_SECURITY_REASONS", body.encode()
        ).decode()
    elif isinstance(body, bytes) and b"MasterUserPassword=" in body:
        body = _PASSWORD_IN_FORM.sub(rb"\1HIDDEN_DUE_TO_SECURITY_REASONS", body)
    return _original["encode_body"](self, body)


# ---- the servers ------------------------------------------------------------------------------


def _note(message: str) -> None:
    print(f"lifeboat_emulator: {message}", file=sys.stderr, flush=True)


def _apply_password(resource: Any, user: str | None, password: str) -> None:
    family = resource.__dict__.get(_MARK)
    server = SERVERS.get(family) if family else None
    if server is None or not user:
        return
    if user in RESERVED[family] or user.startswith("pg_"):
        _note(f"not setting a password for {user!r} on {server}: a reserved account")
        return
    try:
        if family == "postgres":
            _postgres_login(server, user, password)
        else:
            _mysql_login(server, user, password)
    except Exception as e:  # the API call succeeded, as in AWS; the test sees the note
        detail = str(e).replace(password, "[password]")
        _note(f"cannot give {user!r} its new password on {server}: {type(e).__name__}: {detail}")


def _postgres_login(server: Server, user: str, password: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=server.host,
        port=server.port,
        user=ADMINS["postgres"],
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        if row is not None and row[0]:
            _note(f"not setting a password for {user!r} on {server}: a superuser")
            return
        verb = "ALTER" if row is not None else "CREATE"
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(user), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(user)))


def _mysql_login(server: Server, user: str, password: str) -> None:
    import pymysql

    conn = pymysql.connect(
        host=server.host,
        port=server.port,
        user=ADMINS["mysql"],
        password="",
        autocommit=True,
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Super_priv = 'Y'", (user,))
            if cur.fetchone() is not None:
                _note(f"not setting a password for {user!r} on {server}: a superuser")
                return
            for host in ("%", "localhost"):
                cur.execute(
                    "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password)
                )
                cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                cur.execute("GRANT SELECT ON *.* TO %s@%s", (user, host))
    finally:
        conn.close()


# ---- control API ------------------------------------------------------------------------------


def _backend(body: dict) -> RDSBackend:
    return rds_backends[str(body["account_id"])][str(body["region"])]


@control.route("POST", r"rds/hold-restores")
def _hold_restores(_match: Any, body: dict) -> tuple[int, Any]:
    count = int(body.get("count", 1))
    if count < 0:
        raise control.ControlError(400, "count must be 0 (no more holds) or more")
    key = (str(body["account_id"]), str(body["region"]))
    with _lock:
        _holds[key] = count if count == 0 else _holds.get(key, 0) + count
        return 200, {"held": _holds[key]}


@control.route("POST", r"rds/instances/(?P<id>[^/]+)/available")
def _make_available(match: Any, body: dict) -> tuple[int, Any]:
    db = _backend(body).databases.get(match["id"].lower())
    if db is None:
        raise control.ControlError(404, f"no DB instance {match['id']}")
    if db.status != "creating":
        raise control.ControlError(409, f"DB instance {match['id']} is {db.status}, not creating")
    db.status = "available"
    return 200, {"DBInstanceIdentifier": db.db_instance_identifier, "DBInstanceStatus": db.status}


# ---- installation -----------------------------------------------------------------------------


def install() -> None:
    control.install()
    RDSBackend.restore_db_instance_from_db_snapshot = _restore_db_instance_from_db_snapshot  # type: ignore[method-assign]
    RDSBackend.restore_db_cluster_from_snapshot = _restore_db_cluster_from_snapshot  # type: ignore[method-assign]
    RDSBackend.create_db_instance = _create_db_instance  # type: ignore[method-assign]
    RDSBackend.modify_db_instance = _modify_db_instance  # type: ignore[method-assign]
    RDSBackend.modify_db_cluster = _modify_db_cluster  # type: ignore[method-assign]
    DBInstance.endpoint = property(_instance_endpoint)  # type: ignore[assignment,method-assign]
    DBCluster.endpoint = property(_cluster_endpoint)  # type: ignore[assignment,method-assign]
    DBCluster.reader_endpoint = property(_cluster_reader_endpoint)  # type: ignore[assignment,method-assign]
    Recorder._encode_body = _encode_body  # type: ignore[method-assign]
