//! What a restore verification starts from (a source DB instance with its data seeded in the
//! machine's PostgreSQL, its snapshot, the subnet group it restores into), and the emulator's
//! restores held in `creating`.

use super::{RECOVERY, World};
use crate::databases::{Family, SeededDatabase};

impl World {
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
}
