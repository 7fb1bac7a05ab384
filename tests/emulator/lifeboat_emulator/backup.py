"""AWS Backup jobs and recovery points, which moto 5.2.5 lacks (it has vaults and plans).

The operations, their URIs, members, enums and errors follow the AWS Backup API reference
(botocore's `backup/2018-11-15/service-2.json`); behaviour the reference leaves open follows the
AWS Backup Developer Guide:

- `StartBackupJob`, `DescribeBackupJob`, `ListBackupJobs`: a completed backup job leaves a
  recovery point in its vault, with the ARN AWS makes for the resource type (an AMI for EC2, an
  EBS snapshot, an RDS `awsbackup:job-…` snapshot, else a Backup recovery point).
- `ListRecoveryPointsByBackupVault`, `ListRecoveryPointsByResource`, `DescribeRecoveryPoint`,
  `GetRecoveryPointRestoreMetadata`, `DeleteRecoveryPoint`. Lists are in ARN order: the
  reference promises no order, so callers must sort.
- `StartCopyJob`, `DescribeCopyJob`, `ListCopyJobs`: called in the source Region; a completed
  copy puts a recovery point into the destination vault, in the destination account's and
  Region's backend. "Copies retain their source configuration, including creation dates": the
  copy's CreationDate is the source's. The job fails (as AWS reports it, on the job) when the
  destination vault does not exist, for an RDS/Aurora/DocumentDB/Neptune copy that is both
  cross-Region and cross-account, and for a cross-Region copy of a recovery point in cold storage.
- `StartRestoreJob`, `DescribeRestoreJob`, `ListRestoreJobs`, `PutRestoreValidationResult`: an
  RDS restore creates the DB instance (Aurora: the DB cluster, with no instance) in moto's RDS of
  that account and Region; RDS's refusal (an identifier in use …) fails the job with RDS's message.
- Restore testing: AWS Backup starts a restore testing plan's jobs itself, on the plan's
  schedule; here a test starts one through the control API (`backup/restore-testing-jobs`). Such a
  job names its plan in `CreatedBy.RestoreTestingPlanArn` (`ListRestoreJobs` filters on it with
  `ByRestoreTestingPlanArn`), and the resource it creates carries the tag
  `awsbackup-restore-test` (its value, which the guide does not give, is the job's id here).
- `IdempotencyToken`: "Retrying a successful request with the same idempotency token results in
  a success message with no action taken": the same job comes back.

Jobs complete at once unless a test says otherwise through the control API
(`/lifeboat-api/backup/…`, see `install()`): hold the next jobs in a state, fail them with a
message, move a held job on, move a recovery point to cold storage or back-date it.
"""

import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import moto.backup.urls as backup_urls
from moto.backup.exceptions import InvalidRequestException
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse

from . import control, rds_local_servers
from .backup_models import (
    FINAL_STATES,
    JOB_STATES,
    NO_CROSS_REGION_AND_ACCOUNT,
    VALIDATION_STATUSES,
    BackupError,
    Behaviour,
    Job,
    RecoveryPoint,
    add_recovery_point,
    backend_of,
    check_lifecycle,
    compact,
    count_recovery_points,
    find_job,
    hex17,
    invalid_request,
    invalid_value,
    job_id,
    missing,
    not_found,
    now,
    page,
    parse_arn,
    rds_backend,
    rds_cluster,
    rds_instance,
    recovery_point_arn,
    resource_type_of,
    state,
    sweep,
    vault_arn_parts,
)

# ---- request context ----------------------------------------------------------------------


class Call:
    """One signed AWS Backup request: who, where, and what it carries."""

    def __init__(self, account: str, region: str, partition: str, query: dict, body: dict):
        self.account = account
        self.region = region
        self.partition = partition
        self.query = query
        self.body = body

    @property
    def backend(self) -> BackupBackend:
        return backend_of(self.account, self.region)

    def required(self, member: str) -> Any:
        value = self.body.get(member)
        if value is None or value == "":
            raise missing(member)
        return value

    def timestamp(self, name: str, member: str) -> float | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError as e:
            raise invalid_value(f"Invalid timestamp for {member}: {raw}", member) from e

    def max_results(self) -> int | None:
        raw = self.query.get("maxResults")
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError as e:
            raise invalid_value(f"Invalid MaxResults: {raw}", "MaxResults") from e

    def enum(self, name: str, member: str, allowed: list[str]) -> str | None:
        value = self.query.get(name)
        if value is not None and value not in allowed:
            raise invalid_value(
                f"Invalid value for {member}: {value}; valid values: {', '.join(allowed)}", member
            )
        return value


def _vault(backend: BackupBackend, name: str) -> Any:
    vault = backend.vaults.get(name)
    if vault is None:
        raise not_found(f"Backup vault {name} does not exist", "BackupVaultName")
    return vault


def _vault_key(vault: Any, region: str, account: str, partition: str) -> str:
    # A vault made without EncryptionKeyArn uses the AWS managed key `aws/backup`.
    if not vault.encryption_key_arn:
        key = f"arn:{partition}:kms:{region}:{account}:key/{uuid.uuid4()}"
        vault.__dict__.setdefault("_lifeboat_default_key", key)
        return vault.__dict__["_lifeboat_default_key"]
    return vault.encryption_key_arn


def _recovery_point(backend: BackupBackend, vault_name: str, arn: str) -> RecoveryPoint:
    _vault(backend, vault_name)
    sweep(backend)
    rp = state(backend).recovery_points.get(vault_name, {}).get(arn)
    if rp is None:
        raise not_found(
            f"Recovery point {arn} not found in backup vault {vault_name}", "RecoveryPointArn"
        )
    return rp


def _find_recovery_point(backend: BackupBackend, arn: str) -> RecoveryPoint:
    sweep(backend)
    for by_arn in state(backend).recovery_points.values():
        if arn in by_arn:
            return by_arn[arn]
    raise not_found(f"Recovery point {arn} not found", "RecoveryPointArn")


def _job(call: Call, kind: str, job_id_: str) -> Job:
    job = state(call.backend).jobs.get(job_id_)
    if job is None or job.kind != kind:
        label = {"backup": "Backup", "copy": "Copy", "restore": "Restore"}[kind]
        raise not_found(f"{label} job {job_id_} not found", f"{label}JobId")
    return job


def _idempotent(call: Call, kind: str) -> Job | None:
    token = call.body.get("IdempotencyToken")
    if not token:
        return None
    found = state(call.backend).tokens.get((kind, token))
    return state(call.backend).jobs.get(found) if found else None


def _start(call: Call, job: Job) -> None:
    st = state(call.backend)
    st.jobs[job.job_id] = job
    token = call.body.get("IdempotencyToken")
    if token:
        st.tokens[(job.kind, token)] = job.job_id
    behaviour = st.next_behaviour(job.kind)
    if behaviour is None:
        complete(job, "COMPLETED")
    else:
        move(job, behaviour.state, behaviour.message)


def _resource_name(arn: str) -> str:
    resource = arn.split(":", 5)[5]
    if resource.startswith(("db:", "cluster:")):
        return resource.split(":", 1)[1]
    return resource.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


# ---- job state changes --------------------------------------------------------------------


def move(job: Job, new_state: str, message: str | None) -> None:
    """Moves a job to `new_state`; COMPLETED and PARTIAL do the job's work."""
    if new_state in ("COMPLETED", "PARTIAL"):
        complete(job, new_state, message)
        return
    job.state = new_state
    job.status_message = message
    if new_state in FINAL_STATES:
        job.completion_date = now()


def _fail(job: Job, message: str) -> None:
    job.state = "FAILED"
    job.status_message = message
    job.completion_date = now()


def complete(job: Job, final: str, message: str | None = None) -> None:
    {"backup": _complete_backup, "copy": _complete_copy, "restore": _complete_restore}[job.kind](
        job, final, message
    )


def _finish(job: Job, final: str, message: str | None) -> None:
    job.state = final
    job.status_message = message
    job.completion_date = now()


def _complete_backup(job: Job, final: str, message: str | None) -> None:
    backend = backend_of(job.account, job.region)
    request = job.request
    vault = backend.vaults.get(request["BackupVaultName"])
    if vault is None:
        return _fail(job, f"Backup vault {request['BackupVaultName']} does not exist")
    resource_arn = job.resource_arn or ""
    source: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    key = None
    if job.resource_type == "RDS":
        db = rds_instance(job.account, job.region, job.resource_name or "")
        if db is None:
            return _fail(job, f"DB instance {job.resource_name} not found")
        source, metadata = _rds_instance_source(db)
        key = getattr(db, "kms_key_id", None) if getattr(db, "storage_encrypted", False) else None
    elif job.resource_type in ("Aurora", "DocumentDB", "Neptune"):
        cluster = rds_cluster(job.account, job.region, job.resource_name or "")
        if cluster is None:
            return _fail(job, f"DB cluster {job.resource_name} not found")
        source, metadata = _rds_cluster_source(cluster)
        encrypted = getattr(cluster, "storage_encrypted", False)
        key = getattr(cluster, "kms_key_id", None) if encrypted else None
    else:
        key = _vault_key(vault, job.region, job.account, _partition(job.region))
        metadata = {"ResourceArn": resource_arn}
    rp = RecoveryPoint(
        arn=job.recovery_point_arn or "",
        account=job.account,
        region=job.region,
        vault_name=vault.backup_vault_name,
        vault_arn=vault.backup_vault_arn,
        resource_arn=resource_arn,
        resource_type=job.resource_type or "",
        resource_name=job.resource_name,
        iam_role_arn=request["IamRoleArn"],
        creation_date=job.creation_date,
        completion_date=now(),
        lifecycle=job.extra.get("lifecycle"),
        encryption_key_arn=key,
        restore_metadata=metadata,
        source=source,
        status="COMPLETED" if final == "COMPLETED" else "PARTIAL",
        size=int(source.get("allocated_storage") or 1) * 1024**3,
    )
    add_recovery_point(backend, rp)
    _finish(job, final, message)


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _rds_instance_source(db: Any) -> tuple[dict[str, Any], dict[str, str]]:
    source = {
        "engine": db.engine,
        "engine_version": getattr(db, "engine_version", None),
        "allocated_storage": getattr(db, "allocated_storage", None),
        "db_instance_class": db.db_instance_class,
        "master_username": getattr(db, "master_username", None),
        "storage_type": getattr(db, "storage_type", None),
        "license_model": getattr(db, "license_model", None),
    }
    metadata = {
        "DBInstanceIdentifier": db.db_instance_identifier,
        "DBInstanceClass": db.db_instance_class,
        "Engine": db.engine,
        "Port": str(db.port) if getattr(db, "port", None) else None,
        "MultiAZ": _bool(getattr(db, "multi_az", False)),
        "AvailabilityZone": getattr(db, "availability_zone", None),
        # moto keeps the name write-only; the instance holds it as `_db_subnet_group_name`.
        "DBSubnetGroupName": db.__dict__.get("_db_subnet_group_name"),
        "VpcSecurityGroupIds": json.dumps(list(getattr(db, "vpc_security_group_ids", []) or [])),
        "StorageType": getattr(db, "storage_type", None),
        "LicenseModel": getattr(db, "license_model", None),
        "OptionGroupName": getattr(db, "option_group_name", None),
        "DBName": getattr(db, "db_name", None),
        "PubliclyAccessible": _bool(getattr(db, "publicly_accessible", False)),
        "AutoMinorVersionUpgrade": _bool(getattr(db, "auto_minor_version_upgrade", True)),
        "CopyTagsToSnapshot": _bool(getattr(db, "copy_tags_to_snapshot", False)),
    }
    return source, compact(metadata)


def _rds_cluster_source(cluster: Any) -> tuple[dict[str, Any], dict[str, str]]:
    source = {
        "engine": cluster.engine,
        "engine_version": getattr(cluster, "engine_version", None),
        "master_username": getattr(cluster, "master_username", None),
    }
    metadata = {
        "DBClusterIdentifier": cluster.db_cluster_identifier,
        "Engine": cluster.engine,
        "EngineVersion": getattr(cluster, "engine_version", None),
        "Port": str(cluster.port) if getattr(cluster, "port", None) else None,
        "DBSubnetGroupName": getattr(cluster, "db_subnet_group_name", None),
        "VpcSecurityGroupIds": json.dumps(
            list(getattr(cluster, "vpc_security_group_ids", []) or [])
        ),
    }
    return source, compact(metadata)


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _complete_copy(job: Job, final: str, message: str | None) -> None:
    extra = job.extra
    source_backend = backend_of(job.account, job.region)
    try:
        source = _recovery_point(source_backend, extra["source_vault_name"], extra["source_rp"])
    except BackupError:
        return _fail(job, f"Source recovery point {extra['source_rp']} not found")
    dest_account, dest_region, dest_name = extra["dest"]
    cross_region = dest_region != job.region
    cross_account = dest_account != job.account
    if cross_region and cross_account and source.resource_type in NO_CROSS_REGION_AND_ACCOUNT:
        return _fail(
            job,
            f"Copy job failed. {source.resource_type} does not support a single copy action "
            "that is both cross-Region and cross-account.",
        )
    if cross_region and source.storage_class() == "COLD":
        return _fail(
            job, "Copy job failed. Cross-Region copy of a recovery point in cold storage is not "
            "supported.",
        )
    dest_backend = backend_of(dest_account, dest_region)
    vault = dest_backend.vaults.get(dest_name)
    if vault is None:
        return _fail(
            job, f"Copy job failed. Backup vault {extra['dest_vault_arn']} does not exist."
        )
    lifecycle = extra.get("lifecycle") or source.lifecycle
    # Re-encrypted with the destination vault's key (AWS Backup Developer Guide, copy encryption).
    key = _vault_key(vault, dest_region, dest_account, _partition(dest_region))
    copy = RecoveryPoint(
        arn=recovery_point_arn(
            source.resource_type,
            _partition(dest_region),
            dest_region,
            dest_account,
            job.job_id,
            copy=True,
        ),
        account=dest_account,
        region=dest_region,
        vault_name=vault.backup_vault_name,
        vault_arn=vault.backup_vault_arn,
        resource_arn=source.resource_arn,
        resource_type=source.resource_type,
        resource_name=source.resource_name,
        iam_role_arn=job.request["IamRoleArn"],
        creation_date=source.creation_date,
        completion_date=now(),
        lifecycle=lifecycle,
        encryption_key_arn=key,
        restore_metadata=dict(source.restore_metadata),
        source=dict(source.source),
        status="COMPLETED" if final == "COMPLETED" else "PARTIAL",
        source_vault_arn=source.source_vault_arn or source.vault_arn,
        size=source.size,
    )
    add_recovery_point(dest_backend, copy)
    job.recovery_point_arn = copy.arn
    job.extra["size"] = source.size
    _finish(job, final, message)


def _complete_restore(job: Job, final: str, message: str | None) -> None:
    backend = backend_of(job.account, job.region)
    try:
        rp = _find_recovery_point(backend, job.request["RecoveryPointArn"])
    except BackupError:
        return _fail(job, f"Recovery point {job.request['RecoveryPointArn']} not found")
    metadata = job.request.get("Metadata") or {}
    partition = _partition(job.region)
    try:
        if rp.resource_type == "RDS":
            created = _restore_rds_instance(job, rp, metadata)
        elif rp.resource_type in ("Aurora", "DocumentDB", "Neptune"):
            created = _restore_rds_cluster(job, rp, metadata)
        elif rp.resource_type == "EC2":
            created = f"arn:{partition}:ec2:{job.region}:{job.account}:instance/i-{hex17()}"
        elif rp.resource_type == "EBS":
            created = f"arn:{partition}:ec2:{job.region}:{job.account}:volume/vol-{hex17()}"
        elif rp.resource_type == "DynamoDB":
            table = metadata.get("targetTableName") or f"{rp.resource_name}-restored-{hex17()}"
            created = f"arn:{partition}:dynamodb:{job.region}:{job.account}:table/{table}"
        elif rp.resource_type == "EFS":
            created = (
                f"arn:{partition}:elasticfilesystem:{job.region}:{job.account}:"
                f"file-system/fs-{hex17()}"
            )
        elif rp.resource_type == "S3":
            bucket = metadata.get("DestinationBucketName") or rp.resource_name
            created = f"arn:{partition}:s3:::{bucket}"
        else:
            created = f"{rp.resource_arn}-restored-{hex17()}"
    except RestoreRefused as e:
        return _fail(job, str(e))
    job.extra["created_resource_arn"] = created
    if job.extra.get("created_by") and rp.resource_type in ("RDS", "Aurora"):
        rds_backend(job.account, job.region).add_tags_to_resource(
            created, [{"Key": RESTORE_TEST_TAG, "Value": job.job_id}]
        )
    rp.last_restore_time = now()
    _finish(job, final, message)


class RestoreRefused(Exception):
    pass


_INSTANCE_METADATA = {
    "DBInstanceIdentifier": ("db_instance_identifier", str),
    "DBInstanceClass": ("db_instance_class", str),
    "Engine": ("engine", str),
    "Port": ("port", int),
    "MultiAZ": ("multi_az", lambda v: str(v).lower() == "true"),
    "AvailabilityZone": ("availability_zone", str),
    "DBSubnetGroupName": ("db_subnet_group_name", str),
    "VpcSecurityGroupIds": ("vpc_security_group_ids", json.loads),
    "StorageType": ("storage_type", str),
    "LicenseModel": ("license_model", str),
    "OptionGroupName": ("option_group_name", str),
    "DBName": ("db_name", str),
    "PubliclyAccessible": ("publicly_accessible", lambda v: str(v).lower() == "true"),
    "AutoMinorVersionUpgrade": ("auto_minor_version_upgrade", lambda v: str(v).lower() == "true"),
    "CopyTagsToSnapshot": ("copy_tags_to_snapshot", lambda v: str(v).lower() == "true"),
}

_CLUSTER_METADATA = {
    "DBClusterIdentifier": ("db_cluster_identifier", str),
    "Engine": ("engine", str),
    "EngineVersion": ("engine_version", str),
    "Port": ("port", int),
    "DBSubnetGroupName": ("db_subnet_group_name", str),
    "VpcSecurityGroupIds": ("vpc_security_group_ids", json.loads),
}


def _kwargs(source: dict, metadata: dict, table: dict) -> dict[str, Any]:
    kwargs = {k: v for k, v in source.items() if v is not None}
    for key, (name, convert) in table.items():
        if key in metadata and metadata[key] not in (None, ""):
            try:
                kwargs[name] = convert(metadata[key])
            except (ValueError, TypeError) as e:
                raise RestoreRefused(f"Invalid restore metadata {key}: {metadata[key]}") from e
    return kwargs


def _rds_call(what: Any) -> Any:
    try:
        return what()
    except Exception as e:  # moto's RDS refusals: the restore job fails with RDS's message
        raise RestoreRefused(getattr(e, "message", None) or str(e)) from e


def _restore_rds_instance(job: Job, rp: RecoveryPoint, metadata: dict) -> str:
    if not metadata.get("DBInstanceIdentifier"):
        raise RestoreRefused("DBInstanceIdentifier is required in the restore metadata")
    kwargs = _kwargs(rp.source, metadata, _INSTANCE_METADATA)
    kwargs.setdefault("master_user_password", "restored-by-aws-backup")
    if str(kwargs.get("option_group_name", "")).startswith("default:"):
        # The engine's default group exists in every Region on AWS; moto makes it only when
        # no group is named.
        del kwargs["option_group_name"]
    rds = rds_backend(job.account, job.region)
    db = _rds_call(lambda: rds.create_db_instance(kwargs))
    # A restored database answers on the machine's server for its engine (rds_local_servers).
    rds_local_servers.adopt_instance(db)
    return getattr(db, "db_instance_arn", None) or db.arn


def _restore_rds_cluster(job: Job, rp: RecoveryPoint, metadata: dict) -> str:
    if not metadata.get("DBClusterIdentifier"):
        raise RestoreRefused("DBClusterIdentifier is required in the restore metadata")
    kwargs = _kwargs(rp.source, metadata, _CLUSTER_METADATA)
    kwargs.setdefault("master_user_password", "restored-by-aws-backup")
    rds = rds_backend(job.account, job.region)
    if kwargs["db_cluster_identifier"] in rds.clusters:
        raise RestoreRefused(f"DB cluster {kwargs['db_cluster_identifier']} already exists")
    cluster = _rds_call(lambda: rds.create_db_cluster(kwargs))
    rds_local_servers.adopt_cluster(cluster)
    return cluster.db_cluster_arn


# ---- operations ---------------------------------------------------------------------------


def start_backup_job(call: Call) -> dict:
    vault_name = call.required("BackupVaultName")
    resource_arn = call.required("ResourceArn")
    call.required("IamRoleArn")
    vault = _vault(call.backend, vault_name)
    lifecycle = check_lifecycle(call.body.get("Lifecycle"))
    arn = parse_arn(resource_arn, "ResourceArn")
    if arn.region and arn.region != call.region:
        raise invalid_value(
            f"Resource {resource_arn} is not in the Region of the request ({call.region})",
            "ResourceArn",
        )
    resource_type = resource_type_of(arn, resource_arn)
    existing = _idempotent(call, "backup")
    if existing is None:
        id_ = job_id()
        existing = Job(
            kind="backup",
            job_id=id_,
            account=call.account,
            region=call.region,
            state="CREATED",
            creation_date=now(),
            request=dict(call.body),
            recovery_point_arn=recovery_point_arn(
                resource_type, call.partition, call.region, call.account, id_, copy=False
            ),
            resource_arn=resource_arn,
            resource_type=resource_type,
            resource_name=_resource_name(resource_arn),
            extra={"lifecycle": lifecycle, "vault_arn": vault.backup_vault_arn},
        )
        _start(call, existing)
    out: dict[str, Any] = {
        "BackupJobId": existing.job_id,
        "CreationDate": existing.creation_date,
        "IsParent": False,
    }
    # "This field is only returned for Amazon EFS and Advanced DynamoDB resources."
    if existing.resource_type in ("EFS", "DynamoDB"):
        out["RecoveryPointArn"] = existing.recovery_point_arn
    return out


def _backup_job(job: Job) -> dict:
    request = job.request
    return compact(
        {
            "AccountId": job.account,
            "BackupJobId": job.job_id,
            "BackupVaultName": request["BackupVaultName"],
            "BackupVaultArn": job.extra.get("vault_arn"),
            "VaultType": "BACKUP_VAULT",
            "RecoveryPointArn": job.recovery_point_arn,
            "RecoveryPointLifecycle": job.extra.get("lifecycle"),
            "ResourceArn": job.resource_arn,
            "CreationDate": job.creation_date,
            "CompletionDate": job.completion_date,
            "State": job.state,
            "StatusMessage": job.status_message,
            "PercentDone": "100.0" if job.state == "COMPLETED" else "0.0",
            "IamRoleArn": request["IamRoleArn"],
            "ResourceType": job.resource_type,
            "ResourceName": job.resource_name,
            "InitiationDate": job.creation_date,
            "BackupOptions": request.get("BackupOptions"),
            "IsParent": False,
            "StartBy": job.creation_date + 60 * float(request.get("StartWindowMinutes") or 480),
        }
    )


def describe_backup_job(call: Call, id_: str) -> dict:
    return _backup_job(_job(call, "backup", id_))


def _jobs(call: Call, kind: str) -> list[Job]:
    return [j for j in state(call.backend).jobs.values() if j.kind == kind]


def _common_job_filters(call: Call, jobs: list[Job]) -> list[Job]:
    q = call.query
    created_before = call.timestamp("createdBefore", "ByCreatedBefore")
    created_after = call.timestamp("createdAfter", "ByCreatedAfter")
    complete_before = call.timestamp("completeBefore", "ByCompleteBefore")
    complete_after = call.timestamp("completeAfter", "ByCompleteAfter")
    out = []
    for j in jobs:
        if "resourceArn" in q and j.resource_arn != q["resourceArn"]:
            continue
        if "resourceType" in q and j.resource_type != q["resourceType"]:
            continue
        if "accountId" in q and q["accountId"] != "*" and j.account != q["accountId"]:
            continue
        if "parentJobId" in q:
            continue  # no composite jobs here
        if created_before is not None and not j.creation_date < created_before:
            continue
        if created_after is not None and not j.creation_date > created_after:
            continue
        if complete_before is not None and not (
            j.completion_date is not None and j.completion_date < complete_before
        ):
            continue
        if complete_after is not None and not (
            j.completion_date is not None and j.completion_date > complete_after
        ):
            continue
        out.append(j)
    return out


def list_backup_jobs(call: Call) -> dict:
    wanted = call.enum("state", "ByState", JOB_STATES["backup"])
    jobs = _common_job_filters(call, _jobs(call, "backup"))
    vault = call.query.get("backupVaultName")
    jobs = [
        j
        for j in jobs
        if (wanted is None or j.state == wanted)
        and (vault is None or j.request["BackupVaultName"] == vault)
    ]
    shown, token = page(jobs, lambda j: j.job_id, call.max_results(), call.query.get("nextToken"))
    return compact({"BackupJobs": [_backup_job(j) for j in shown], "NextToken": token})


def list_recovery_points_by_backup_vault(call: Call, vault_name: str) -> dict:
    backend = call.backend
    account = call.query.get("backupVaultAccountId")
    if account and account != call.account:
        backend = backend_of(account, call.region)
    _vault(backend, vault_name)
    sweep(backend)
    q = call.query
    before = call.timestamp("createdBefore", "ByCreatedBefore")
    after = call.timestamp("createdAfter", "ByCreatedAfter")
    points = [
        rp
        for rp in state(backend).recovery_points.get(vault_name, {}).values()
        if ("resourceArn" not in q or rp.resource_arn == q["resourceArn"])
        and ("resourceType" not in q or rp.resource_type == q["resourceType"])
        and "backupPlanId" not in q  # on-demand recovery points belong to no plan
        and "parentRecoveryPointArn" not in q
        and (before is None or rp.creation_date < before)
        and (after is None or rp.creation_date > after)
    ]
    shown, token = page(points, lambda rp: rp.arn, call.max_results(), q.get("nextToken"))
    return compact({"RecoveryPoints": [rp.by_vault() for rp in shown], "NextToken": token})


def list_recovery_points_by_resource(call: Call, resource_arn: str) -> dict:
    parse_arn(resource_arn, "ResourceArn")
    backend = call.backend
    sweep(backend)
    points = [
        rp
        for by_arn in state(backend).recovery_points.values()
        for rp in by_arn.values()
        if rp.resource_arn == resource_arn
    ]
    max_results = call.max_results()
    if (
        max_results is not None
        and max_results < 20
        and any(rp.resource_type in ("RDS", "Aurora") for rp in points)
    ):
        # "Amazon RDS requires a value of at least 20."
        raise invalid_value("MaxResults must be at least 20 for Amazon RDS", "MaxResults")
    shown, token = page(points, lambda rp: rp.arn, max_results, call.query.get("nextToken"))
    return compact({"RecoveryPoints": [rp.by_resource() for rp in shown], "NextToken": token})


def _rp_backend(call: Call) -> BackupBackend:
    account = call.query.get("backupVaultAccountId")
    if account and account != call.account:
        return backend_of(account, call.region)
    return call.backend


def describe_recovery_point(call: Call, vault_name: str, arn: str) -> dict:
    return _recovery_point(_rp_backend(call), vault_name, arn).describe()


def get_recovery_point_restore_metadata(call: Call, vault_name: str, arn: str) -> dict:
    rp = _recovery_point(_rp_backend(call), vault_name, arn)
    return {
        "BackupVaultArn": rp.vault_arn,
        "RecoveryPointArn": rp.arn,
        "RestoreMetadata": rp.restore_metadata,
        "ResourceType": rp.resource_type,
    }


def delete_recovery_point(call: Call, vault_name: str, arn: str) -> None:
    backend = call.backend
    _recovery_point(backend, vault_name, arn)
    by_arn = state(backend).recovery_points[vault_name]
    del by_arn[arn]
    count_recovery_points(backend, vault_name)


def start_copy_job(call: Call) -> dict:
    rp_arn = call.required("RecoveryPointArn")
    source_vault = call.required("SourceBackupVaultName")
    dest_vault_arn = call.required("DestinationBackupVaultArn")
    call.required("IamRoleArn")
    vault = _vault(call.backend, source_vault)
    rp = _recovery_point(call.backend, source_vault, rp_arn)
    dest = vault_arn_parts(dest_vault_arn)
    lifecycle = check_lifecycle(call.body.get("Lifecycle"))
    existing = _idempotent(call, "copy")
    if existing is None:
        existing = Job(
            kind="copy",
            job_id=job_id(),
            account=call.account,
            region=call.region,
            state="CREATED",
            creation_date=now(),
            request=dict(call.body),
            resource_arn=rp.resource_arn,
            resource_type=rp.resource_type,
            resource_name=rp.resource_name,
            extra={
                "source_vault_name": source_vault,
                "source_vault_arn": vault.backup_vault_arn,
                "source_rp": rp_arn,
                "dest": dest,
                "dest_vault_arn": dest_vault_arn,
                "lifecycle": lifecycle,
                "size": rp.size,
            },
        )
        _start(call, existing)
    return {"CopyJobId": existing.job_id, "CreationDate": existing.creation_date, "IsParent": False}


def _copy_job(job: Job) -> dict:
    extra = job.extra
    return compact(
        {
            "AccountId": job.account,
            "CopyJobId": job.job_id,
            "SourceBackupVaultArn": extra["source_vault_arn"],
            "SourceRecoveryPointArn": extra["source_rp"],
            "DestinationBackupVaultArn": extra["dest_vault_arn"],
            "DestinationVaultType": "BACKUP_VAULT",
            "DestinationRecoveryPointArn": job.recovery_point_arn,
            "DestinationRecoveryPointLifecycle": extra.get("lifecycle"),
            "ResourceArn": job.resource_arn,
            "CreationDate": job.creation_date,
            "CompletionDate": job.completion_date,
            "State": job.state,
            "StatusMessage": job.status_message,
            "BackupSizeInBytes": extra.get("size"),
            "IamRoleArn": job.request["IamRoleArn"],
            "ResourceType": job.resource_type,
            "IsParent": False,
            "ResourceName": job.resource_name,
        }
    )


def describe_copy_job(call: Call, id_: str) -> dict:
    return {"CopyJob": _copy_job(_job(call, "copy", id_))}


def list_copy_jobs(call: Call) -> dict:
    wanted = call.enum("state", "ByState", JOB_STATES["copy"])
    q = call.query
    jobs = [
        j
        for j in _common_job_filters(call, _jobs(call, "copy"))
        if (wanted is None or j.state == wanted)
        and ("destinationVaultArn" not in q or j.extra["dest_vault_arn"] == q["destinationVaultArn"])
        and (
            "sourceRecoveryPointArn" not in q
            or j.extra["source_rp"] == q["sourceRecoveryPointArn"]
        )
    ]
    shown, token = page(jobs, lambda j: j.job_id, call.max_results(), q.get("nextToken"))
    return compact({"CopyJobs": [_copy_job(j) for j in shown], "NextToken": token})


def start_restore_job(call: Call) -> dict:
    rp_arn = call.required("RecoveryPointArn")
    metadata = call.body.get("Metadata")
    if metadata is None:
        raise missing("Metadata")
    if not isinstance(metadata, dict):
        raise invalid_value("Metadata must be a map of strings", "Metadata")
    rp = _find_recovery_point(call.backend, rp_arn)
    wanted_type = call.body.get("ResourceType")
    if wanted_type and wanted_type != rp.resource_type:
        raise invalid_value(
            f"ResourceType {wanted_type} does not match the recovery point's "
            f"{rp.resource_type}",
            "ResourceType",
        )
    existing = _idempotent(call, "restore")
    if existing is None:
        existing = _restore_job_of(call, rp)
        _start(call, existing)
    return {"RestoreJobId": existing.job_id}


def _restore_job_of(call: Call, rp: RecoveryPoint, created_by: str | None = None) -> Job:
    """A new restore job of `rp`, as `call` asks for it; `created_by`: the restore testing plan
    that started it."""
    extra = {"vault_arn": rp.vault_arn, "rp_creation_date": rp.creation_date, "size": rp.size}
    if created_by:
        extra["created_by"] = created_by
    return Job(
        kind="restore",
        job_id=job_id(),
        account=call.account,
        region=call.region,
        state="PENDING",
        creation_date=now(),
        request=dict(call.body),
        resource_arn=rp.resource_arn,
        resource_type=rp.resource_type,
        resource_name=rp.resource_name,
        extra=extra,
    )


RESTORE_TEST_TAG = "awsbackup-restore-test"


def _restore_job(job: Job) -> dict:
    extra = job.extra
    return compact(
        {
            "AccountId": job.account,
            "RestoreJobId": job.job_id,
            "RecoveryPointArn": job.request["RecoveryPointArn"],
            "SourceResourceArn": job.resource_arn,
            "BackupVaultArn": extra["vault_arn"],
            "CreationDate": job.creation_date,
            "CompletionDate": job.completion_date,
            "Status": job.state,
            "StatusMessage": job.status_message,
            "PercentDone": "100.00%" if job.state == "COMPLETED" else "0.00%",
            "BackupSizeInBytes": extra.get("size"),
            "IamRoleArn": job.request.get("IamRoleArn"),
            "CreatedResourceArn": extra.get("created_resource_arn"),
            "ResourceType": job.resource_type,
            "RecoveryPointCreationDate": extra["rp_creation_date"],
            "ValidationStatus": extra.get("validation_status"),
            "CreatedBy": (
                {"RestoreTestingPlanArn": extra["created_by"]} if extra.get("created_by") else None
            ),
            "ValidationStatusMessage": extra.get("validation_message"),
            "IsParent": False,
        }
    )


def describe_restore_job(call: Call, id_: str) -> dict:
    return _restore_job(_job(call, "restore", id_))


def list_restore_jobs(call: Call) -> dict:
    wanted = call.enum("status", "ByStatus", JOB_STATES["restore"])
    q = call.query
    testing_plan = q.get("restoreTestingPlanArn")
    jobs = [
        j
        for j in _common_job_filters(call, _jobs(call, "restore"))
        if (wanted is None or j.state == wanted)
        and (testing_plan is None or j.extra.get("created_by") == testing_plan)
    ]
    shown, token = page(jobs, lambda j: j.job_id, call.max_results(), q.get("nextToken"))
    return compact({"RestoreJobs": [_restore_job(j) for j in shown], "NextToken": token})


def put_restore_validation_result(call: Call, id_: str) -> None:
    job = _job(call, "restore", id_)
    status = call.required("ValidationStatus")
    if status not in VALIDATION_STATUSES:
        raise invalid_value(
            f"Invalid ValidationStatus {status}; valid values: {', '.join(VALIDATION_STATUSES)}",
            "ValidationStatus",
        )
    if job.state != "COMPLETED":
        raise invalid_request(
            f"Restore job {id_} is {job.state}: only a completed restore job can be validated",
            "RestoreJobId",
        )
    if job.extra.get("validation_status") is not None:
        # "Once a validation status is set, it cannot be changed."
        raise invalid_request(
            f"The validation status of restore job {id_} is already set "
            f"({job.extra['validation_status']}) and cannot be changed",
            "ValidationStatus",
        )
    job.extra["validation_status"] = status
    job.extra["validation_message"] = call.body.get("ValidationStatusMessage")


# ---- routing ------------------------------------------------------------------------------


def _route(method: str, s: list[str]) -> tuple[Any, list[str]]:
    """The operation for a method and the (decoded) path segments, as the reference's
    `requestUri`s lay them out."""
    n = len(s)
    trailing = n >= 1 and s[-1] == ""
    if trailing:
        s = s[:-1]
        n -= 1
    head = s[0] if s else ""
    if head in ("backup-jobs", "copy-jobs", "restore-jobs"):
        kind = head.split("-")[0]
        if n == 1 and method == "PUT":
            return {"backup": start_backup_job, "copy": start_copy_job}.get(
                kind, start_restore_job
            ), []
        if n == 1 and method == "GET":
            return {"backup": list_backup_jobs, "copy": list_copy_jobs}.get(
                kind, list_restore_jobs
            ), []
        if n == 2 and method == "GET":
            return {"backup": describe_backup_job, "copy": describe_copy_job}.get(
                kind, describe_restore_job
            ), [s[1]]
        if n == 3 and kind == "restore" and s[2] == "validations" and method == "PUT":
            return put_restore_validation_result, [s[1]]
    if head == "backup-vaults" and n >= 3 and s[2] == "recovery-points":
        if n == 3 and method == "GET":
            return list_recovery_points_by_backup_vault, [s[1]]
        if n == 4 and method == "GET":
            return describe_recovery_point, [s[1], s[3]]
        if n == 4 and method == "DELETE":
            return delete_recovery_point, [s[1], s[3]]
        if n == 5 and s[4] == "restore-metadata" and method == "GET":
            return get_recovery_point_restore_metadata, [s[1], s[3]]
    if head == "resources" and n == 3 and s[2] == "recovery-points" and method == "GET":
        return list_recovery_points_by_resource, [s[1]]
    raise BackupError("UnknownOperationException", f"No operation for {method} /{'/'.join(s)}")


def lifeboat_backup(request: Any, full_url: str, headers: Any) -> tuple[int, dict, str]:
    context = BackupResponse()
    context.setup_class(request, full_url, headers)
    url = urlparse(full_url)
    segments = [unquote(part) for part in url.path.split("/")[1:]]
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    try:
        body = json.loads(context.body) if context.body else {}
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError:
        return BackupError("SerializationException", "The request body is not JSON").response()
    call = Call(context.current_account, context.region, context.partition, query, body)
    try:
        operation, args = _route(request.method, segments)
        result = operation(call, *args)
    except BackupError as e:
        return e.response()
    if result is None:
        status = 204 if operation is put_restore_validation_result else 200
        return status, {}, ""
    return 200, {"Content-Type": "application/json"}, json.dumps(result)


ROUTES = {
    "{0}/backup-jobs(?P<tail>/?)$": lifeboat_backup,
    "{0}/backup-jobs/(?P<job>[^/]+)$": lifeboat_backup,
    "{0}/copy-jobs(?P<tail>/?)$": lifeboat_backup,
    "{0}/copy-jobs/(?P<job>[^/]+)$": lifeboat_backup,
    "{0}/restore-jobs(?P<tail>/?)$": lifeboat_backup,
    "{0}/restore-jobs/(?P<job>[^/]+)$": lifeboat_backup,
    "{0}/restore-jobs/(?P<job>[^/]+)/validations$": lifeboat_backup,
    "{0}/backup-vaults/(?P<vault>[^/]+)/recovery-points(?P<rest>.*)$": lifeboat_backup,
    "{0}/resources/(?P<resource>.+)/recovery-points(?P<tail>/?)$": lifeboat_backup,
}


# ---- control API --------------------------------------------------------------------------


def _job_summary(job: Job) -> dict:
    return compact(
        {
            "job_id": job.job_id,
            "operation": job.kind,
            "state": job.state,
            "message": job.status_message,
            "recovery_point_arn": job.recovery_point_arn,
        }
    )


@control.route("POST", r"backup/behaviour")
def _behaviour(_match: Any, body: dict) -> tuple[int, Any]:
    operation = body["operation"]
    if operation not in JOB_STATES:
        raise control.ControlError(400, f"operation must be one of {sorted(JOB_STATES)}")
    wanted = body["state"]
    allowed = [s for s in JOB_STATES[operation] if s != "COMPLETED"]
    if wanted not in allowed:
        raise control.ControlError(
            400, f"a {operation} job's state is one of {allowed} (COMPLETED is the default)"
        )
    count = int(body.get("count", 1))
    if count < 1:
        raise control.ControlError(400, "count must be at least 1")
    backend = backend_of(str(body["account_id"]), str(body["region"]))
    state(backend).behaviours.setdefault(operation, []).append(
        Behaviour(wanted, body.get("message"), count)
    )
    return 200, {}


@control.route("POST", r"backup/jobs/(?P<id>[^/]+)/(?P<verb>complete|state)")
def _job_state(match: Any, body: dict) -> tuple[int, Any]:
    job = find_job(match["id"])
    if job is None:
        raise control.ControlError(404, f"no job {match['id']}")
    wanted = "COMPLETED" if match["verb"] == "complete" else body["state"]
    if wanted not in JOB_STATES[job.kind]:
        raise control.ControlError(
            400, f"a {job.kind} job's state is one of {JOB_STATES[job.kind]}"
        )
    if job.state in FINAL_STATES:
        raise control.ControlError(409, f"job {job.job_id} is already {job.state}")
    move(job, wanted, body.get("message"))
    return 200, _job_summary(job)


@control.route("POST", r"backup/recovery-point")
def _recovery_point_update(_match: Any, body: dict) -> tuple[int, Any]:
    backend = backend_of(str(body["account_id"]), str(body["region"]))
    by_arn = state(backend).recovery_points.get(body["backup_vault_name"], {})
    rp = by_arn.get(body["recovery_point_arn"])
    if rp is None:
        raise control.ControlError(404, f"no recovery point {body['recovery_point_arn']}")
    if "storage_class" in body:
        if body["storage_class"] not in ("WARM", "COLD", None):
            raise control.ControlError(400, "storage_class is WARM or COLD")
        rp.storage_class_override = body["storage_class"]
    if "creation_date" in body:
        rp.creation_date = float(body["creation_date"])
    sweep(backend)
    return 200, rp.describe() if rp.arn in by_arn else {}


@control.route("POST", r"backup/restore-testing-jobs")
def _restore_testing_job(_match: Any, body: dict) -> tuple[int, Any]:
    """Starts a restore job as a restore testing plan does: AWS Backup's scheduler, not an API
    call, starts these. Body: account_id, region, restore_testing_plan_arn, recovery_point_arn,
    metadata (what AWS Backup would infer; an RDS restore needs its identifier) and, optionally,
    iam_role_arn."""
    plan_arn = str(body["restore_testing_plan_arn"])
    if ":restore-testing-plan:" not in plan_arn:
        raise control.ControlError(400, f"{plan_arn} is not a restore testing plan ARN")
    account, region = str(body["account_id"]), str(body["region"])
    call = Call(
        account,
        region,
        _partition(region),
        {},
        {
            "RecoveryPointArn": body["recovery_point_arn"],
            "Metadata": body.get("metadata") or {},
            "IamRoleArn": body.get(
                "iam_role_arn", f"arn:aws:iam::{account}:role/AWSBackupRestoreTestingRole"
            ),
        },
    )
    try:
        rp = _find_recovery_point(call.backend, call.body["RecoveryPointArn"])
    except BackupError as e:
        raise control.ControlError(404, str(e)) from e
    job = _restore_job_of(call, rp, created_by=plan_arn)
    _start(call, job)
    return 200, _restore_job(job)


# ---- installation -------------------------------------------------------------------------


def _delete_backup_vault(self: BackupBackend, backup_vault_name: str) -> None:
    # AWS refuses to delete a vault that still holds recovery points.
    points = state(self).recovery_points.get(backup_vault_name)
    if points:
        raise InvalidRequestException(
            msg=f"Backup vault {backup_vault_name} cannot be deleted because it contains "
            f"{len(points)} recovery points"
        )
    _original_delete(self, backup_vault_name)


_original_delete = BackupBackend.delete_backup_vault


def install() -> None:
    control.install()
    for path, handler in ROUTES.items():
        backup_urls.url_paths.setdefault(path, handler)
    BackupBackend.delete_backup_vault = _delete_backup_vault  # type: ignore[method-assign]
