//! What a failover promotes: cross-Region read replicas, replica clusters and Aurora global
//! databases, and the emulator's promotions (and backups) held in their in-between states.

use super::{PRIMARY, RECOVERY, World};

impl World {
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
}
