//! Seeding an emulated AWS world through the real SDK: what a user's primary Region would hold
//! (DB instances, Aurora clusters, snapshots, KMS keys) and what Lifeboat's stack would have made
//! in the recovery Region (the state bucket, the event bus).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_rds::types::Tag;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::plan::Plan;

use crate::databases::{Family, SeededDatabase};
use crate::emulator::Account;

pub const PRIMARY: &str = "us-west-2";
pub const RECOVERY: &str = "us-east-2";

/// An emulated account with clients for both Regions.
pub struct World {
    pub account: Account,
    pub primary_rds: aws_sdk_rds::Client,
    pub recovery_rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub primary_backup: aws_sdk_backup::Client,
    pub recovery_backup: aws_sdk_backup::Client,
}

/// Which AWS Backup jobs a control call holds or fails (`operation` of the emulator's
/// `/lifeboat-api/backup/behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupJobKind {
    Backup,
    Copy,
    Restore,
}

impl BackupJobKind {
    fn as_str(self) -> &'static str {
        match self {
            BackupJobKind::Backup => "backup",
            BackupJobKind::Copy => "copy",
            BackupJobKind::Restore => "restore",
        }
    }
}

/// A Route 53 change batch that sets the CNAME `name` to `value` (UPSERT).
pub fn cname_upsert(name: &str, value: &str, ttl: i64) -> aws_sdk_route53::types::ChangeBatch {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let record = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .expect("a value"),
        )
        .build()
        .expect("a record");
    ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(record)
                .build()
                .expect("a change"),
        )
        .build()
        .expect("a batch")
}

/// The IAM role tests pass to AWS Backup (the emulator checks no IAM).
pub fn backup_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole")
}

/// A snapshot in the recovery Region as a test looks at it.
#[derive(Debug, Clone)]
pub struct RecoverySnapshot {
    pub id: String,
    pub cluster: bool,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub tags: BTreeMap<String, String>,
}

fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

impl World {
    pub fn new(account: Account) -> World {
        let primary = in_region(&account.config, PRIMARY);
        let recovery = in_region(&account.config, RECOVERY);
        let s3_config = aws_sdk_s3::config::Builder::from(&recovery)
            .force_path_style(true)
            .build();
        World {
            primary_rds: aws_sdk_rds::Client::new(&primary),
            recovery_rds: aws_sdk_rds::Client::new(&recovery),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(&recovery),
            events: aws_sdk_eventbridge::Client::new(&recovery),
            primary_backup: aws_sdk_backup::Client::new(&primary),
            recovery_backup: aws_sdk_backup::Client::new(&recovery),
            account,
        }
    }

    /// The state bucket name this world's plans use.
    pub fn state_bucket(&self) -> String {
        format!("lifeboat-state-{}", self.account.id)
    }

    /// A plan for this world: `body` holds the sections after the header.
    pub fn plan(&self, name: &str, body: &str) -> Plan {
        let text = format!(
            "name = \"{name}\"\nprimary_region = \"{PRIMARY}\"\nrecovery_region = \"{RECOVERY}\"\n\
             state_bucket = \"{}\"\n{body}",
            self.state_bucket()
        );
        Plan::parse(&text, "test plan").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Lifeboat as the Lambda or the CLI would build it, acting in this world's account.
    pub fn lifeboat(&self, plan: Plan) -> Lifeboat {
        Lifeboat::new(&self.account.config, plan)
    }

    /// Lifeboat acting in this world's account through another endpoint (a [`FaultProxy`]).
    ///
    /// [`FaultProxy`]: crate::FaultProxy
    pub fn lifeboat_via(&self, plan: Plan, endpoint: &str) -> Lifeboat {
        let config = self
            .account
            .config
            .to_builder()
            .endpoint_url(endpoint)
            .build();
        Lifeboat::new(&config, plan)
    }

    pub async fn kms_key(&self, region: &str) -> String {
        let kms = aws_sdk_kms::Client::new(&in_region(&self.account.config, region));
        let key = kms
            .create_key()
            .description("lifeboat test key")
            .send()
            .await
            .expect("create key");
        key.key_metadata()
            .and_then(|m| m.arn())
            .expect("key ARN")
            .to_owned()
    }

    /// A PostgreSQL DB instance in the primary Region; encrypted with `kms_key` when given.
    pub async fn db_instance(&self, id: &str, kms_key: Option<&str>, tags: &[(&str, &str)]) {
        self.primary_rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username("lifeboat")
            .master_user_password("not-a-real-password")
            .set_storage_encrypted(kms_key.map(|_| true))
            .set_kms_key_id(kms_key.map(str::to_owned))
            .set_tags(Some(rds_tags(tags)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create DB instance {id}: {e:?}"));
    }

    /// A DB instance `id` of `engine` in the primary Region whose master user is `master`: the
    /// source of a verification, whose restored copy the checks log in to as that user.
    pub async fn db_instance_with_master(&self, id: &str, engine: &str, master: &str) {
        self.primary_rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine(engine)
            // moto knows no default MariaDB version: name one.
            .set_engine_version((engine == "mariadb").then(|| "10.11.6".to_owned()))
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username(master)
            .master_user_password("source-password-1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("create DB instance {id}: {e:?}"));
    }

    /// A SQL Server DB instance in the primary Region, with an option group of its own (one made
    /// here, as for TDE) or the engine's default.
    pub async fn sql_server_instance(&self, id: &str, option_group: Option<&str>) {
        if let Some(group) = option_group {
            self.primary_rds
                .create_option_group()
                .option_group_name(group)
                .engine_name("sqlserver-se")
                .major_engine_version("15.00")
                .option_group_description("TDE")
                .send()
                .await
                .unwrap_or_else(|e| panic!("create option group {group}: {e:?}"));
        }
        self.primary_rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("sqlserver-se")
            .license_model("license-included")
            .db_instance_class("db.m5.large")
            .allocated_storage(20)
            .master_username("lifeboat")
            .master_user_password("not-a-real-password")
            .set_option_group_name(option_group.map(str::to_owned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create DB instance {id}: {e:?}"));
    }

    /// An Aurora MySQL cluster in the primary Region.
    pub async fn db_cluster(&self, id: &str, kms_key: Option<&str>, tags: &[(&str, &str)]) {
        self.primary_rds
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine("aurora-mysql")
            .master_username("lifeboat")
            .master_user_password("not-a-real-password")
            .set_storage_encrypted(kms_key.map(|_| true))
            .set_kms_key_id(kms_key.map(str::to_owned))
            .set_tags(Some(rds_tags(tags)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create DB cluster {id}: {e:?}"));
    }

    /// A manual snapshot of a DB instance; returns its ARN.
    pub async fn snapshot(&self, db: &str, id: &str) -> String {
        let out = self
            .primary_rds
            .create_db_snapshot()
            .db_instance_identifier(db)
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("snapshot {db}: {e:?}"));
        out.db_snapshot()
            .and_then(|s| s.db_snapshot_arn())
            .expect("snapshot ARN")
            .to_owned()
    }

    /// The automated snapshot RDS took of a DB instance when it was created (`rds:<db>-…`);
    /// returns its ARN.
    pub async fn automated_snapshot(&self, db: &str) -> String {
        let out = self
            .primary_rds
            .describe_db_snapshots()
            .db_instance_identifier(db)
            .snapshot_type("automated")
            .send()
            .await
            .unwrap_or_else(|e| panic!("automated snapshots of {db}: {e:?}"));
        out.db_snapshots()
            .first()
            .and_then(|s| s.db_snapshot_arn())
            .unwrap_or_else(|| panic!("RDS made no automated snapshot of {db}"))
            .to_owned()
    }

    /// `count` manual snapshots of a DB instance, `<db>-0`, `<db>-1`, …, oldest first.
    pub async fn snapshots(&self, db: &str, count: usize) {
        for i in 0..count {
            self.snapshot(db, &format!("{db}-{i}")).await;
        }
    }

    /// A manual snapshot of an Aurora cluster; returns its ARN.
    pub async fn cluster_snapshot(&self, cluster: &str, id: &str) -> String {
        let out = self
            .primary_rds
            .create_db_cluster_snapshot()
            .db_cluster_identifier(cluster)
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("snapshot {cluster}: {e:?}"));
        out.db_cluster_snapshot()
            .and_then(|s| s.db_cluster_snapshot_arn())
            .expect("snapshot ARN")
            .to_owned()
    }

    /// What Lifeboat's stack creates in the recovery Region: the state bucket and the bus, plus
    /// a rule that delivers the bus's events to a queue, so a test can read them back.
    /// Returns the queue URL.
    pub async fn recovery_stack(&self, bus: &str) -> String {
        self.s3
            .create_bucket()
            .bucket(self.state_bucket())
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        RECOVERY,
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("create state bucket");
        self.events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("create bus");
        let queue = self
            .sqs
            .create_queue()
            .queue_name("lifeboat-events")
            .send()
            .await
            .expect("create queue");
        let queue_url = queue.queue_url().expect("queue URL").to_owned();
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue ARN")
            .clone();
        self.events
            .put_rule()
            .name("lifeboat-runs")
            .event_bus_name(bus)
            .event_pattern(r#"{"source": ["lifeboat"]}"#)
            .send()
            .await
            .expect("create rule");
        self.events
            .put_targets()
            .rule("lifeboat-runs")
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("add target");
        queue_url
    }

    /// The events delivered to the queue of [`World::recovery_stack`], parsed.
    pub async fn delivered_events(&self, queue_url: &str) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if out.messages().is_empty() {
                return events;
            }
            for message in out.messages() {
                events.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("event JSON"),
                );
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// Every manual snapshot (instance and cluster) in the recovery Region.
    pub async fn recovery_snapshots(&self) -> Vec<RecoverySnapshot> {
        let instances = self
            .recovery_rds
            .describe_db_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .expect("describe");
        let clusters = self
            .recovery_rds
            .describe_db_cluster_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .expect("describe");
        let tags = |list: &[Tag]| {
            list.iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        let mut all: Vec<RecoverySnapshot> = instances
            .db_snapshots()
            .iter()
            .map(|s| RecoverySnapshot {
                id: s.db_snapshot_identifier().unwrap_or_default().to_owned(),
                cluster: false,
                encrypted: s.encrypted().unwrap_or(false),
                kms_key: s.kms_key_id().map(str::to_owned),
                tags: tags(s.tag_list()),
            })
            .collect();
        all.extend(clusters.db_cluster_snapshots().iter().map(|s| {
            RecoverySnapshot {
                id: s
                    .db_cluster_snapshot_identifier()
                    .unwrap_or_default()
                    .to_owned(),
                cluster: true,
                encrypted: s.storage_encrypted().unwrap_or(false),
                kms_key: s.kms_key_id().map(str::to_owned),
                tags: tags(s.tag_list()),
            }
        }));
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// An object of the state bucket as text, if it exists.
    pub async fn state_object(&self, key: &str) -> Option<String> {
        let out = self
            .s3
            .get_object()
            .bucket(self.state_bucket())
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// An AWS Backup client of this account in any Region.
    pub fn backup(&self, region: &str) -> aws_sdk_backup::Client {
        aws_sdk_backup::Client::new(&in_region(&self.account.config, region))
    }

    /// A backup vault in `region`; returns its ARN.
    pub async fn backup_vault(&self, region: &str, name: &str) -> String {
        let out = self
            .backup(region)
            .create_backup_vault()
            .backup_vault_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create backup vault {name}: {e:?}"));
        out.backup_vault_arn().expect("vault ARN").to_owned()
    }

    /// An on-demand backup of `resource_arn` into `vault` (the emulator completes it at once
    /// unless told otherwise); returns the backup job id.
    pub async fn backup_job(&self, region: &str, vault: &str, resource_arn: &str) -> String {
        let out = self
            .backup(region)
            .start_backup_job()
            .backup_vault_name(vault)
            .resource_arn(resource_arn)
            .iam_role_arn(backup_role(&self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("start backup job of {resource_arn}: {e:?}"));
        out.backup_job_id().expect("backup job id").to_owned()
    }

    /// A completed recovery point of `resource_arn` in `vault`; returns its ARN.
    pub async fn recovery_point(&self, region: &str, vault: &str, resource_arn: &str) -> String {
        let job = self.backup_job(region, vault, resource_arn).await;
        let described = self
            .backup(region)
            .describe_backup_job()
            .backup_job_id(&job)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe backup job {job}: {e:?}"));
        assert_eq!(
            described.state(),
            Some(&aws_sdk_backup::types::BackupJobState::Completed),
            "backup of {resource_arn}: {:?}",
            described.status_message()
        );
        described
            .recovery_point_arn()
            .expect("a completed backup job names its recovery point")
            .to_owned()
    }

    /// Makes the next `count` jobs of `kind` that this account starts in `region` stop in
    /// `state` (`CREATED`, `RUNNING`, `PENDING`, `FAILED`, `ABORTED`, `PARTIAL`… as the job's
    /// state enum allows) with `message` as their StatusMessage.
    pub async fn hold_backup_jobs(
        &self,
        region: &str,
        kind: BackupJobKind,
        state: &str,
        message: Option<&str>,
        count: u32,
    ) {
        self.try_hold_backup_jobs(region, kind, state, message, count)
            .await
            .unwrap_or_else(|e| panic!("set the emulator's backup behaviour: {e}"));
    }

    /// [`World::hold_backup_jobs`], with the control API's refusal (a state the job's enum
    /// lacks, say) as Err.
    pub async fn try_hold_backup_jobs(
        &self,
        region: &str,
        kind: BackupJobKind,
        state: &str,
        message: Option<&str>,
        count: u32,
    ) -> Result<(), String> {
        self.control(
            "backup/behaviour",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "operation": kind.as_str(),
                "state": state,
                "message": message,
                "count": count,
            }),
        )
        .await
        .map(|_| ())
    }

    /// Moves a held AWS Backup job (backup, copy or restore) to `state`; COMPLETED (or
    /// PARTIAL) does the job's work then. Refused (Err) for a job that is already over.
    pub async fn set_backup_job_state(
        &self,
        job_id: &str,
        state: &str,
        message: Option<&str>,
    ) -> Result<serde_json::Value, String> {
        self.control(
            &format!("backup/jobs/{job_id}/state"),
            serde_json::json!({ "state": state, "message": message }),
        )
        .await
    }

    /// Completes a held AWS Backup job.
    pub async fn complete_backup_job(&self, job_id: &str) -> Result<serde_json::Value, String> {
        self.control(
            &format!("backup/jobs/{job_id}/complete"),
            serde_json::json!({}),
        )
        .await
    }

    /// Moves a recovery point to cold storage (StorageClass COLD), as its lifecycle would.
    pub async fn move_recovery_point_to_cold(&self, region: &str, vault: &str, arn: &str) {
        self.update_recovery_point(
            region,
            vault,
            arn,
            serde_json::json!({"storage_class": "COLD"}),
        )
        .await;
    }

    /// Back-dates (or forward-dates) a recovery point's CreationDate; its CalculatedLifecycle
    /// follows.
    pub async fn set_recovery_point_creation_date(
        &self,
        region: &str,
        vault: &str,
        arn: &str,
        created: std::time::SystemTime,
    ) {
        let secs = created
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        self.update_recovery_point(
            region,
            vault,
            arn,
            serde_json::json!({"creation_date": secs}),
        )
        .await;
    }

    async fn update_recovery_point(
        &self,
        region: &str,
        vault: &str,
        arn: &str,
        mut patch: serde_json::Value,
    ) {
        patch["account_id"] = self.account.id.clone().into();
        patch["region"] = region.into();
        patch["backup_vault_name"] = vault.into();
        patch["recovery_point_arn"] = arn.into();
        self.control("backup/recovery-point", patch)
            .await
            .unwrap_or_else(|e| panic!("update recovery point {arn}: {e}"));
    }

    /// What a verification of the PostgreSQL instance `orders` needs: `orders` with the master
    /// user `{prefix}{account}`, its data (`seed`) in the machine's PostgreSQL database
    /// `{prefix}_{account}` (dropped, with that login, with the returned value), its snapshot
    /// `orders-1`, Lifeboat's recovery stack (bus `lifeboat`; the second value is the queue it
    /// delivers to) and the subnet group `dr-isolated`.
    pub async fn verification_source(&self, prefix: &str, seed: &str) -> (SeededDatabase, String) {
        let account = &self.account.id;
        let master = format!("{prefix}{account}");
        let mut seeded =
            SeededDatabase::create(Family::Postgres, &format!("{prefix}_{account}"), seed);
        seeded.drops_login(&master);
        self.db_instance_with_master("orders", "postgres", &master)
            .await;
        self.snapshot("orders", "orders-1").await;
        let queue = self.recovery_stack("lifeboat").await;
        self.db_subnet_group(RECOVERY, "dr-isolated").await;
        (seeded, queue)
    }

    /// A recovery point of `resource_arn` (in the primary Region) in the recovery Region's vault
    /// `dr`, as a cross-Region copy puts it there: backed up into the primary's `Default` vault,
    /// then copied. Returns the copy's ARN.
    pub async fn recovery_point_in_recovery_vault(&self, resource_arn: &str) -> String {
        self.backup_vault(PRIMARY, "Default").await;
        let dr = self.backup_vault(RECOVERY, "dr").await;
        let source = self.recovery_point(PRIMARY, "Default", resource_arn).await;
        self.backup(PRIMARY)
            .start_copy_job()
            .recovery_point_arn(&source)
            .source_backup_vault_name("Default")
            .destination_backup_vault_arn(&dr)
            .iam_role_arn(backup_role(&self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {source} to {dr}: {e:?}"));
        let listed = self
            .backup(RECOVERY)
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("dr")
            .send()
            .await
            .expect("list the recovery vault");
        listed
            .recovery_points()
            .iter()
            .find(|rp| rp.resource_arn() == Some(resource_arn))
            .and_then(|rp| rp.recovery_point_arn())
            .unwrap_or_else(|| panic!("no copy of {resource_arn} in the dr vault"))
            .to_owned()
    }

    /// A restore job that the restore testing plan `testing_plan_arn` starts in `region` (AWS
    /// Backup's scheduler does; here the emulator's control API) from `recovery_point_arn`, with
    /// the restore `metadata` AWS Backup would infer. Returns the restore job as DescribeRestoreJob
    /// shows it.
    pub async fn restore_testing_job(
        &self,
        region: &str,
        testing_plan_arn: &str,
        recovery_point_arn: &str,
        metadata: serde_json::Value,
    ) -> serde_json::Value {
        self.control(
            "backup/restore-testing-jobs",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "restore_testing_plan_arn": testing_plan_arn,
                "recovery_point_arn": recovery_point_arn,
                "metadata": metadata,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("start a restore testing job: {e}"))
    }

    /// Makes the next `count` DB instances this account restores in `region` (from a DB
    /// snapshot, added to a restored cluster, or by an AWS Backup restore job; any engine) stay
    /// `creating`, with no endpoint, until [`World::make_db_instance_available`] releases them.
    /// `count` 0 cancels the holds not yet used.
    pub async fn hold_restores(&self, region: &str, count: u32) {
        self.control(
            "rds/hold-restores",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "count": count,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("hold restores: {e}"));
    }

    /// Releases a held restore: the DB instance becomes `available`, with its endpoint. Refused
    /// (Err) for an instance that is not `creating` or does not exist.
    pub async fn make_db_instance_available(
        &self,
        region: &str,
        id: &str,
    ) -> Result<serde_json::Value, String> {
        self.control(
            &format!("rds/instances/{id}/available"),
            serde_json::json!({ "account_id": self.account.id, "region": region }),
        )
        .await
    }

    /// An RDS client of this account in any Region.
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&in_region(&self.account.config, region))
    }

    /// A Route 53 client of this account (a global service: signed for us-east-1).
    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&in_region(&self.account.config, "us-east-1"))
    }

    /// A public hosted zone `name` (with the trailing dot) in Route 53; returns its ID (without
    /// `/hostedzone/`, as a plan names it).
    pub async fn hosted_zone(&self, name: &str) -> String {
        self.route53()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("lifeboat-{name}-{}", self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create hosted zone {name}: {e:?}"))
            .hosted_zone()
            .expect("the hosted zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_owned()
    }

    /// CloudWatch alarms `names` in the recovery Region (OK until set otherwise), each on a metric
    /// of its own name, as a plan's failover alarms would be.
    pub async fn failover_alarms(&self, names: &[&str]) {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
        for name in names {
            self.cloudwatch(RECOVERY)
                .put_metric_alarm()
                .alarm_name(*name)
                .namespace("Tracking")
                .metric_name(*name)
                .statistic(Statistic::Sum)
                .period(60)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put alarm {name}: {e:?}"));
        }
    }

    /// A CloudWatch client of this account in any Region.
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&in_region(&self.account.config, region))
    }

    /// A cross-Region read replica `replica` in the recovery Region of the primary Region's DB
    /// instance `source` (made by [`World::db_instance`]); returns the replica's ARN.
    pub async fn read_replica(&self, source: &str, replica: &str) -> String {
        let source_arn = self.db_instance_arn(PRIMARY, source).await;
        let out = self
            .recovery_rds
            .create_db_instance_read_replica()
            .db_instance_identifier(replica)
            .source_db_instance_identifier(source_arn)
            .db_instance_class("db.t4g.micro")
            .send()
            .await
            .unwrap_or_else(|e| panic!("create read replica {replica} of {source}: {e:?}"));
        out.db_instance()
            .and_then(|db| db.db_instance_arn())
            .expect("replica ARN")
            .to_owned()
    }

    /// DB instance `id` of `region`, as DescribeDBInstances shows it.
    pub async fn described_db_instance(
        &self,
        region: &str,
        id: &str,
    ) -> aws_sdk_rds::types::DbInstance {
        self.rds(region)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {id} in {region}: {e:?}"))
            .db_instances()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no DB instance {id} in {region}"))
    }

    /// DB cluster `id` of `region`, as DescribeDBClusters shows it.
    pub async fn described_db_cluster(
        &self,
        region: &str,
        id: &str,
    ) -> aws_sdk_rds::types::DbCluster {
        self.rds(region)
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe cluster {id} in {region}: {e:?}"))
            .db_clusters()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no DB cluster {id} in {region}"))
    }

    /// The ARN of DB instance `id` in `region`.
    pub async fn db_instance_arn(&self, region: &str, id: &str) -> String {
        let db = self.described_db_instance(region, id).await;
        db.db_instance_arn().expect("DBInstanceArn").to_owned()
    }

    /// The ARN of DB cluster `id` in `region`.
    pub async fn db_cluster_arn(&self, region: &str, id: &str) -> String {
        let cluster = self.described_db_cluster(region, id).await;
        cluster.db_cluster_arn().expect("DBClusterArn").to_owned()
    }

    /// An Aurora MySQL cross-Region replica cluster `replica` in the recovery Region of the
    /// primary Region's cluster `source` (made by [`World::db_cluster`]); returns its ARN. (moto
    /// wants a master user for it, which AWS takes from the source.)
    pub async fn replica_cluster(&self, source: &str, replica: &str) -> String {
        let source_arn = self.db_cluster_arn(PRIMARY, source).await;
        let out = self
            .recovery_rds
            .create_db_cluster()
            .db_cluster_identifier(replica)
            .engine("aurora-mysql")
            .replication_source_identifier(source_arn)
            .master_username("lifeboat")
            .master_user_password("not-a-real-password")
            .send()
            .await
            .unwrap_or_else(|e| panic!("create replica cluster {replica} of {source}: {e:?}"));
        out.db_cluster()
            .and_then(|c| c.db_cluster_arn())
            .expect("replica cluster ARN")
            .to_owned()
    }

    /// An Aurora MySQL global database `global`: the primary Region's cluster `primary` (with a
    /// writer instance) made its primary by `CreateGlobalCluster`, and the recovery Region's
    /// cluster `secondary` added to it with one instance (a headless secondary can't be failed
    /// over to). Returns the two clusters' ARNs.
    pub async fn global_database(
        &self,
        global: &str,
        primary: &str,
        secondary: &str,
    ) -> (String, String) {
        self.db_cluster(primary, None, &[]).await;
        self.cluster_instance(PRIMARY, primary, &format!("{primary}-1"))
            .await;
        let primary_arn = self.db_cluster_arn(PRIMARY, primary).await;
        self.primary_rds
            .create_global_cluster()
            .global_cluster_identifier(global)
            .source_db_cluster_identifier(&primary_arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create global cluster {global}: {e:?}"));
        let out = self
            .recovery_rds
            .create_db_cluster()
            .db_cluster_identifier(secondary)
            .engine("aurora-mysql")
            .global_cluster_identifier(global)
            .send()
            .await
            .unwrap_or_else(|e| panic!("add {secondary} to {global}: {e:?}"));
        let secondary_arn = out
            .db_cluster()
            .and_then(|c| c.db_cluster_arn())
            .expect("secondary ARN")
            .to_owned();
        self.cluster_instance(RECOVERY, secondary, &format!("{secondary}-1"))
            .await;
        (primary_arn, secondary_arn)
    }

    /// A DB instance `id` in the Aurora MySQL cluster `cluster` of `region`.
    pub async fn cluster_instance(&self, region: &str, cluster: &str, id: &str) {
        self.rds(region)
            .create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier(cluster)
            .engine("aurora-mysql")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .unwrap_or_else(|e| panic!("add instance {id} to {cluster}: {e:?}"));
    }

    /// A replication lag data point (milliseconds for `AuroraGlobalDBRPOLag`, seconds for
    /// `ReplicaLag` and `AuroraBinlogReplicaLag`, as CloudWatch's `AWS/RDS` metrics are) for
    /// `dimension` = `value` in the recovery Region, where RDS would publish it, now.
    pub async fn put_lag_metric(&self, metric: &str, dimension: &str, value: &str, lag: f64) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let unit = if metric == "AuroraGlobalDBRPOLag" {
            StandardUnit::Milliseconds
        } else {
            StandardUnit::Seconds
        };
        self.cloudwatch(RECOVERY)
            .put_metric_data()
            .namespace("AWS/RDS")
            .metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name(dimension).value(value).build())
                    .value(lag)
                    .unit(unit)
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(
                        std::time::SystemTime::now(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {metric}: {e:?}"));
    }

    /// Makes the next `count` promotions this account starts in `region` (`PromoteReadReplica`,
    /// `PromoteReadReplicaDBCluster`, `FailoverGlobalCluster`, `SwitchoverGlobalCluster` called
    /// there) stay in their in-between state (`modifying`, `promoting`, `failing-over`,
    /// `switching-over`) for `describes` describes of their kind, or (None) until
    /// [`World::finish_rds_operation`]. `count` 0 cancels the holds not yet used.
    pub async fn hold_promotions(&self, region: &str, count: u32, describes: Option<u32>) {
        self.control(
            "rds/hold-promotions",
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "count": count,
                "describes": describes,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("hold promotions: {e}"));
    }

    /// Puts the `available` DB instance `id` of `region` in `backing-up`, as RDS's automated
    /// backup window would, for `describes` DescribeDBInstances calls or (None) until
    /// [`World::finish_rds_operation`].
    pub async fn start_backing_up(
        &self,
        region: &str,
        id: &str,
        describes: Option<u32>,
    ) -> Result<serde_json::Value, String> {
        self.control(
            &format!("rds/instances/{id}/backing-up"),
            serde_json::json!({
                "account_id": self.account.id,
                "region": region,
                "describes": describes,
            }),
        )
        .await
    }

    /// Ends what is in progress on the DB instance, DB cluster or global cluster `id` (a held
    /// promotion, failover or switchover, a backup); Err when nothing is.
    pub async fn finish_rds_operation(
        &self,
        region: &str,
        id: &str,
    ) -> Result<serde_json::Value, String> {
        self.control(
            &format!("rds/operations/{id}/finish"),
            serde_json::json!({ "account_id": self.account.id, "region": region }),
        )
        .await
    }

    /// Makes every Route 53 change batch this account submits from now on stay `PENDING` for
    /// `reads` GetChange calls (0: `INSYNC` at once).
    pub async fn hold_route53_changes(&self, reads: u32) {
        self.control(
            "route53/hold-changes",
            serde_json::json!({ "account_id": self.account.id, "reads": reads }),
        )
        .await
        .unwrap_or_else(|e| panic!("hold Route 53 changes: {e}"));
    }

    /// A DB subnet group `name` in `region` (what a restore into the plan's isolated subnets
    /// names), over a VPC and two subnets of its own. There is no EC2 client in the workspace, so
    /// the virtualenv's boto3 makes them, acting in this account against the emulator.
    pub async fn db_subnet_group(&self, region: &str, name: &str) {
        use aws_credential_types::provider::ProvideCredentials;
        const SCRIPT: &str = r#"
import sys, boto3
name = sys.argv[1]
ec2 = boto3.client("ec2")
vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
    for i, zone in enumerate(zones)
]
boto3.client("rds").create_db_subnet_group(
    DBSubnetGroupName=name, DBSubnetGroupDescription="lifeboat verify", SubnetIds=subnets
)
"#;
        let credentials = self
            .account
            .config
            .credentials_provider()
            .expect("accounts have credentials")
            .provide_credentials()
            .await
            .expect("static credentials");
        let output = std::process::Command::new(crate::venv::python())
            .args(["-c", SCRIPT, name])
            .env(
                "AWS_ENDPOINT_URL",
                self.account
                    .config
                    .endpoint_url()
                    .expect("accounts act against the emulator"),
            )
            .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
            .env(
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default(),
            )
            .env("AWS_DEFAULT_REGION", region)
            .env("AWS_REGION", region)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run the virtualenv's python");
        assert!(
            output.status.success(),
            "create DB subnet group {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// POSTs to the emulator's control API (`/lifeboat-api/<path>`); Err holds the refusal.
    async fn control(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        use http_body_util::{BodyExt, Full};
        let endpoint = self
            .account
            .config
            .endpoint_url()
            .expect("accounts act against the emulator");
        let authority = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::post(format!("/lifeboat-api/{path}"))
            .header("host", &authority)
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!("{status}: {value}"))
        }
    }
}

fn rds_tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}
