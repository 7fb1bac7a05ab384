//! Seeding an emulated AWS world through the real SDK: what a user's primary Region would hold
//! (DB instances, Aurora clusters, snapshots, KMS keys) and what Lifeboat's stack would have made
//! in the recovery Region (the state bucket, the event bus).
//!
//! [`World`] is one type; its methods sit beside the service they seed, one file each:
//!
//! - `rds`: DB instances, Aurora clusters, their snapshots and KMS keys, and how RDS describes
//!   them;
//! - `replicas`: what a failover promotes (read replicas, replica clusters, global databases) and
//!   the emulator's promotions and backups held in their in-between states;
//! - `restores`: what a restore verification starts from (the source, the subnet group) and the
//!   emulator's restores held in `creating`;
//! - `backup`: AWS Backup vaults, jobs, recovery points and restore tests, and the emulator's
//!   control of job states;
//! - `route53`: hosted zones and record changes, and changes held `PENDING`;
//! - `alarms`: CloudWatch alarms and the replication-lag metrics;
//! - `stack`: Lifeboat's stack in the recovery Region (the state bucket, the bus, the events it
//!   delivered).
//!
//! This file holds the account's clients, the plans and the Lifeboat built for it, and the
//! emulator's control API that the files above call.

use aws_config::SdkConfig;
use lifeboat_shared::context::Lifeboat;
use lifeboat_shared::plan::Plan;

use crate::emulator::Account;

mod alarms;
mod backup;
mod rds;
mod replicas;
mod restores;
mod route53;
mod stack;

pub use backup::{BackupJobKind, backup_role};
pub use rds::RecoverySnapshot;
pub use route53::cname_upsert;

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
