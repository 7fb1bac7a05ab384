"""AWS Backup jobs and recovery points: the state behind `backup.py`.

Modelled on the AWS Backup API reference (botocore's `backup/2018-11-15/service-2.json`) and the
AWS Backup Developer Guide. Everything hangs off moto's `BackupBackend` of one account and Region
(`state(backend)`), so `POST /moto-api/reset` clears it with the rest of moto.
"""

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.backup.models import BackupBackend, backup_backends
from moto.moto_api._internal import mock_random

DAY = 86400.0

BACKUP_JOB_STATES = [
    "CREATED",
    "PENDING",
    "RUNNING",
    "ABORTING",
    "ABORTED",
    "COMPLETED",
    "FAILED",
    "EXPIRED",
    "PARTIAL",
]
COPY_JOB_STATES = ["CREATED", "RUNNING", "COMPLETED", "FAILED", "PARTIAL"]
RESTORE_JOB_STATES = ["PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"]
JOB_STATES = {"backup": BACKUP_JOB_STATES, "copy": COPY_JOB_STATES, "restore": RESTORE_JOB_STATES}
# A job in one of these states is over: no control call moves it again.
FINAL_STATES = {"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"}
VALIDATION_STATUSES = ["FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING"]

# Resource types whose recovery points move to cold storage by their lifecycle (the Developer
# Guide's "Feature availability by resource"; EBS only with OptInToArchiveForSupportedResources).
# "Backup ignores this expression for other resource types."
COLD_CAPABLE = {"EFS", "DynamoDB", "Timestream", "SAP HANA on Amazon EC2", "VirtualMachine"}
# "RDS, Aurora, DocumentDB, and Neptune do not support a single copy action that performs both
# cross-Region AND cross-account backup."
NO_CROSS_REGION_AND_ACCOUNT = {"RDS", "Aurora", "DocumentDB", "Neptune"}


class BackupError(Exception):
    """An AWS Backup error, answered in the REST-JSON error shape (HTTP 400)."""

    def __init__(self, code: str, message: str, context: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = context
        self.status = status

    def response(self) -> tuple[int, dict[str, str], str]:
        body: dict[str, str] = {"Code": self.code, "Message": self.message, "Type": "User"}
        if self.context:
            body["Context"] = self.context
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code}
        return self.status, headers, json.dumps(body)


def not_found(message: str, context: str | None = None) -> BackupError:
    return BackupError("ResourceNotFoundException", message, context)


def invalid_value(message: str, context: str | None = None) -> BackupError:
    return BackupError("InvalidParameterValueException", message, context)


def missing(member: str) -> BackupError:
    return BackupError("MissingParameterValueException", f"{member} is required", member)


def invalid_request(message: str, context: str | None = None) -> BackupError:
    return BackupError("InvalidRequestException", message, context)


def now() -> float:
    return round(time.time(), 3)


def job_id() -> str:
    return str(mock_random.uuid4()).upper()


def hex17() -> str:
    return uuid.uuid4().hex[:17]


# ---- ARNs and resource types ---------------------------------------------------------------


@dataclass
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(arn: str, member: str) -> Arn:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise invalid_value(f"Invalid ARN: {arn}", member)
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def resource_type_of(arn: Arn, raw: str) -> str:
    """ResourceType as AWS Backup names it (the reference's list under ByResourceType)."""
    service, resource = arn.service, arn.resource
    if service == "ec2":
        if resource.startswith("instance/"):
            return "EC2"
        if resource.startswith("volume/"):
            return "EBS"
    elif service == "rds":
        if resource.startswith("db:"):
            return "RDS"
        if resource.startswith("cluster:"):
            return _cluster_type(arn, resource.split(":", 1)[1])
    elif service == "dynamodb" and resource.startswith("table/"):
        return "DynamoDB"
    elif service == "elasticfilesystem" and resource.startswith("file-system/"):
        return "EFS"
    elif service == "s3":
        return "S3"
    elif service == "fsx":
        return "FSx"
    elif service == "storagegateway":
        return "Storage Gateway"
    elif service == "redshift" and resource.startswith("cluster:"):
        return "Redshift"
    elif service == "timestream":
        return "Timestream"
    elif service == "cloudformation" and resource.startswith("stack/"):
        return "CloudFormation"
    elif service == "eks" and resource.startswith("cluster/"):
        return "EKS"
    elif service == "backup-gateway":
        return "VirtualMachine"
    elif service == "ssm-sap":
        return "SAP HANA on Amazon EC2"
    raise invalid_value(f"Resource type of {raw} is not supported by AWS Backup", "ResourceArn")


def _cluster_type(arn: Arn, cluster_id: str) -> str:
    cluster = rds_cluster(arn.account, arn.region, cluster_id)
    engine = getattr(cluster, "engine", "") or ""
    if engine == "docdb":
        return "DocumentDB"
    if engine == "neptune":
        return "Neptune"
    return "Aurora"


def rds_backend(account: str, region: str) -> Any:
    from moto.rds.models import rds_backends

    return rds_backends[account][region]


def rds_instance(account: str, region: str, db_id: str) -> Any:
    return rds_backend(account, region).databases.get(db_id)


def rds_cluster(account: str, region: str, cluster_id: str) -> Any:
    return rds_backend(account, region).clusters.get(cluster_id)


def recovery_point_arn(
    resource_type: str, partition: str, region: str, account: str, job: str, copy: bool
) -> str:
    """The recovery point ARN AWS makes for a resource type: an AMI for EC2, an EBS snapshot,
    an RDS (cluster) snapshot named `awsbackup:job-…` (`awsbackup:copyjob-…` for a copy), else
    a Backup recovery point."""
    if resource_type == "EC2":
        return f"arn:{partition}:ec2:{region}::image/ami-{hex17()}"
    if resource_type == "EBS":
        return f"arn:{partition}:ec2:{region}::snapshot/snap-{hex17()}"
    prefix = "copyjob" if copy else "job"
    if resource_type == "RDS":
        return f"arn:{partition}:rds:{region}:{account}:snapshot:awsbackup:{prefix}-{job.lower()}"
    if resource_type in ("Aurora", "DocumentDB", "Neptune"):
        return (
            f"arn:{partition}:rds:{region}:{account}:cluster-snapshot:awsbackup:"
            f"{prefix}-{job.lower()}"
        )
    return f"arn:{partition}:backup:{region}:{account}:recovery-point:{job.upper()}"


def vault_arn_parts(vault_arn: str) -> tuple[str, str, str]:
    """(account, Region, vault name) of a backup vault ARN."""
    arn = parse_arn(vault_arn, "DestinationBackupVaultArn")
    if arn.service != "backup" or not arn.resource.startswith("backup-vault:"):
        raise invalid_value(f"Invalid backup vault ARN: {vault_arn}", "DestinationBackupVaultArn")
    return arn.account, arn.region, arn.resource.split(":", 1)[1]


# ---- lifecycle ----------------------------------------------------------------------------


def check_lifecycle(lifecycle: Any) -> dict[str, Any] | None:
    if lifecycle is None:
        return None
    if not isinstance(lifecycle, dict):
        raise invalid_value("Lifecycle must be an object", "Lifecycle")
    cold = lifecycle.get("MoveToColdStorageAfterDays")
    delete = lifecycle.get("DeleteAfterDays")
    for name, value in (("MoveToColdStorageAfterDays", cold), ("DeleteAfterDays", delete)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise invalid_value(f"{name} must be a positive number of days", "Lifecycle")
    if cold is not None and delete is not None and delete < cold + 90:
        raise invalid_value(
            "DeleteAfterDays must be at least 90 days greater than MoveToColdStorageAfterDays",
            "Lifecycle",
        )
    return {k: v for k, v in lifecycle.items() if k != "DeleteAfterEvent"}


# ---- recovery points ----------------------------------------------------------------------


@dataclass
class RecoveryPoint:
    arn: str
    account: str
    region: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    resource_name: str | None
    iam_role_arn: str
    creation_date: float
    completion_date: float
    lifecycle: dict[str, Any] | None
    encryption_key_arn: str | None
    restore_metadata: dict[str, str]
    # What a restore needs of the source (engine, storage …), carried along by copies.
    source: dict[str, Any]
    status: str = "COMPLETED"
    source_vault_arn: str | None = None
    storage_class_override: str | None = None
    last_restore_time: float | None = None
    size: int = 0

    def calculated_lifecycle(self) -> dict[str, float]:
        out: dict[str, float] = {}
        lifecycle = self.lifecycle or {}
        cold = lifecycle.get("MoveToColdStorageAfterDays")
        if cold is not None and self.cold_capable():
            out["MoveToColdStorageAt"] = self.creation_date + cold * DAY
        delete = lifecycle.get("DeleteAfterDays")
        if delete is not None:
            out["DeleteAt"] = self.creation_date + delete * DAY
        return out

    def cold_capable(self) -> bool:
        if self.resource_type == "EBS":
            return bool((self.lifecycle or {}).get("OptInToArchiveForSupportedResources"))
        return self.resource_type in COLD_CAPABLE

    def storage_class(self) -> str:
        if self.storage_class_override:
            return self.storage_class_override
        cold_at = self.calculated_lifecycle().get("MoveToColdStorageAt")
        return "COLD" if cold_at is not None and now() >= cold_at else "WARM"

    def expired(self) -> bool:
        delete_at = self.calculated_lifecycle().get("DeleteAt")
        return delete_at is not None and now() >= delete_at

    def _common(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "SourceBackupVaultArn": self.source_vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "ResourceName": self.resource_name,
            "IamRoleArn": self.iam_role_arn,
            "Status": self.status,
            "CreationDate": self.creation_date,
            "InitiationDate": self.creation_date,
            "CompletionDate": self.completion_date,
            "BackupSizeInBytes": self.size,
            "CalculatedLifecycle": self.calculated_lifecycle() or None,
            "Lifecycle": self.lifecycle or None,
            "EncryptionKeyArn": self.encryption_key_arn,
            "IsEncrypted": self.encryption_key_arn is not None,
            "LastRestoreTime": self.last_restore_time,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }
        return out

    def by_vault(self) -> dict[str, Any]:
        return compact(self._common())

    def describe(self) -> dict[str, Any]:
        out = self._common()
        out["StorageClass"] = self.storage_class()
        return compact(out)

    def by_resource(self) -> dict[str, Any]:
        out = {
            "RecoveryPointArn": self.arn,
            "CreationDate": self.creation_date,
            "Status": self.status,
            "EncryptionKeyArn": self.encryption_key_arn,
            "BackupSizeBytes": self.size,
            "IsParent": False,
            "ResourceName": self.resource_name,
            "VaultType": "BACKUP_VAULT",
        }
        # "Only Amazon EFS and Amazon EC2 recovery points return BackupVaultName."
        if self.resource_type in ("EFS", "EC2"):
            out["BackupVaultName"] = self.vault_name
        return compact(out)


def compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# ---- jobs ---------------------------------------------------------------------------------


@dataclass
class Job:
    kind: str  # "backup" | "copy" | "restore"
    job_id: str
    account: str
    region: str
    state: str
    creation_date: float
    request: dict[str, Any]
    status_message: str | None = None
    completion_date: float | None = None
    # backup and copy: the recovery point made (backup: in the job's vault; copy: destination)
    recovery_point_arn: str | None = None
    resource_arn: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Behaviour:
    state: str
    message: str | None
    count: int


@dataclass
class State:
    # vault name -> recovery point ARN -> recovery point
    recovery_points: dict[str, dict[str, RecoveryPoint]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    # (kind, idempotency token) -> job id
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    # kind -> behaviours for the next jobs, oldest first
    behaviours: dict[str, list[Behaviour]] = field(default_factory=dict)

    def next_behaviour(self, kind: str) -> Behaviour | None:
        queue = self.behaviours.get(kind) or []
        if not queue:
            return None
        head = queue[0]
        head.count -= 1
        if head.count <= 0:
            queue.pop(0)
        return head


def state(backend: BackupBackend) -> State:
    # Created on first use: moto's reset replaces the backend's __dict__, and so this too.
    existing = backend.__dict__.get("_lifeboat_state")
    if existing is None:
        existing = State()
        backend.__dict__["_lifeboat_state"] = existing
    return existing


def backend_of(account: str, region: str) -> BackupBackend:
    return backup_backends[account][region]


def sweep(backend: BackupBackend) -> None:
    """Deletes recovery points past their lifecycle's DeleteAt, as AWS Backup does."""
    points = state(backend).recovery_points
    for vault_name, by_arn in points.items():
        for arn in [arn for arn, rp in by_arn.items() if rp.expired()]:
            del by_arn[arn]
        count_recovery_points(backend, vault_name)


def add_recovery_point(backend: BackupBackend, rp: RecoveryPoint) -> None:
    by_arn = state(backend).recovery_points.setdefault(rp.vault_name, {})
    by_arn[rp.arn] = rp
    count_recovery_points(backend, rp.vault_name)


def count_recovery_points(backend: BackupBackend, vault_name: str) -> None:
    """Keeps the vault's NumberOfRecoveryPoints (ListBackupVaults, DescribeBackupVault) true."""
    vault = backend.vaults.get(vault_name)
    if vault is not None:
        count = len(state(backend).recovery_points.get(vault_name, {}))
        # moto lists `num_of_recovery_points`; DescribeBackupVault serialises the attribute
        # named after the member.
        vault.num_of_recovery_points = count
        vault.number_of_recovery_points = count


def find_job(job_id_: str) -> Job | None:
    for account in list(backup_backends.keys()):
        for backend in list(backup_backends[account].values()):
            job = state(backend).jobs.get(job_id_)
            if job is not None:
                return job
    return None


# ---- paging -------------------------------------------------------------------------------


def page(
    items: list[Any], key: Any, max_results: int | None, token: str | None
) -> tuple[list[Any], str | None]:
    """One page of `items` ordered by `key`; the token names the last key handed out."""
    items = sorted(items, key=key)
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["after"]
        except (ValueError, KeyError, TypeError) as e:
            raise invalid_value(f"Invalid NextToken: {token}", "NextToken") from e
        items = [item for item in items if key(item) > after]
    if max_results is None:
        max_results = 1000
    if max_results < 1 or max_results > 1000:
        raise invalid_value("MaxResults must be between 1 and 1000", "MaxResults")
    if len(items) <= max_results:
        return items, None
    shown = items[:max_results]
    next_token = base64.urlsafe_b64encode(json.dumps({"after": key(shown[-1])}).encode())
    return shown, next_token.decode()
