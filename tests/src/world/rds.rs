//! RDS in the account: DB instances and Aurora clusters in the primary Region, their snapshots
//! and the KMS keys that encrypt them, and any of them as RDS describes it.

use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;

use super::{World, in_region};

/// A snapshot in the recovery Region as a test looks at it.
#[derive(Debug, Clone)]
pub struct RecoverySnapshot {
    pub id: String,
    pub cluster: bool,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl World {
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

    /// An RDS client of this account in any Region.
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&in_region(&self.account.config, region))
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
}

fn rds_tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}
