//! AWS access: the clients for the primary and the recovery Region, built once from one
//! `SdkConfig`.
//!
//! `AWS_ENDPOINT_URL` (read by aws-config) points every client at an emulator, so tests, the demo
//! and production run the same code. Retries and timeouts are explicit: the SDK defaults (three
//! attempts, no operation timeout) are not what a DR tool should depend on without saying so.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

use crate::error::Error;
use crate::plan::{Plan, Region};

/// Retry and timeout settings for every client.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Attempts per call, the first included (standard retry mode, exponential backoff).
    pub max_attempts: u32,
    /// First retry backoff; doubles per attempt, with jitter.
    pub initial_backoff: Duration,
    /// Limit for one call, all attempts included.
    pub operation_timeout: Duration,
    /// Limit for one attempt.
    pub attempt_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            operation_timeout: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Loads the shared configuration from the environment (credentials, `AWS_ENDPOINT_URL`) with
/// Lifeboat's retry and timeout settings.
pub async fn load_config(tuning: &Tuning) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(tuning.max_attempts)
                .with_initial_backoff(tuning.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(tuning.operation_timeout)
                .operation_attempt_timeout(tuning.attempt_timeout)
                .connect_timeout(tuning.connect_timeout)
                .build(),
        )
        .load()
        .await
}

/// The clients Lifeboat uses in one Region.
#[derive(Debug, Clone)]
pub struct RegionalClients {
    pub region: Region,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub backup: aws_sdk_backup::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Route 53 is global (its control plane lives in us-east-1 whatever the client's Region).
    pub route53: aws_sdk_route53::Client,
}

impl RegionalClients {
    pub fn new(config: &SdkConfig, region: &Region) -> Self {
        let sdk_region = aws_config::Region::new(region.as_str().to_owned());
        let rds = aws_sdk_rds::config::Builder::from(config)
            .region(sdk_region.clone())
            .build();
        // Emulators (and some S3-compatible endpoints) only serve path-style addressing.
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .region(sdk_region.clone())
            .force_path_style(config.endpoint_url().is_some())
            .build();
        let events = aws_sdk_eventbridge::config::Builder::from(config)
            .region(sdk_region.clone())
            .build();
        let backup = aws_sdk_backup::config::Builder::from(config)
            .region(sdk_region.clone())
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(config)
            .region(sdk_region.clone())
            .build();
        let route53 = aws_sdk_route53::config::Builder::from(config)
            .region(sdk_region)
            .build();
        RegionalClients {
            region: region.clone(),
            rds: aws_sdk_rds::Client::from_conf(rds),
            s3: aws_sdk_s3::Client::from_conf(s3),
            events: aws_sdk_eventbridge::Client::from_conf(events),
            backup: aws_sdk_backup::Client::from_conf(backup),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
            route53: aws_sdk_route53::Client::from_conf(route53),
        }
    }
}

/// Everything a Lifeboat task needs to talk to AWS, built once per process (per Lambda
/// container) and passed by reference.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub primary: RegionalClients,
    pub recovery: RegionalClients,
    config: SdkConfig,
    /// STS in the recovery Region (a regional endpoint: nothing here depends on us-east-1).
    sts: aws_sdk_sts::Client,
    /// The account the credentials act in, asked once per process: it does not change for the
    /// life of a Lambda container or a CLI command.
    account_id: Arc<tokio::sync::OnceCell<String>>,
}

impl AwsClients {
    pub fn new(config: &SdkConfig, plan: &Plan) -> Self {
        let sts = aws_sdk_sts::config::Builder::from(config)
            .region(aws_config::Region::new(
                plan.recovery_region.as_str().to_owned(),
            ))
            .build();
        AwsClients {
            primary: RegionalClients::new(config, &plan.primary_region),
            recovery: RegionalClients::new(config, &plan.recovery_region),
            config: config.clone(),
            sts: aws_sdk_sts::Client::from_conf(sts),
            account_id: Arc::default(),
        }
    }

    /// The AWS account Lifeboat acts in (STS `GetCallerIdentity`, which needs no permission),
    /// asked on first use and kept. Copy quotas are per account and destination Region, so
    /// the copy lease is keyed by it.
    pub async fn account_id(&self) -> Result<String, Error> {
        self.account_id
            .get_or_try_init(|| async {
                let identity = self.sts.get_caller_identity().send().await.map_err(|e| {
                    Error::from_sdk(
                        e,
                        "sts:GetCallerIdentity",
                        "the caller's identity",
                        &self.recovery.region,
                    )
                })?;
                identity.account().map(str::to_owned).ok_or_else(|| {
                    Error::other(
                        "cannot tell which AWS account Lifeboat acts in",
                        "sts:GetCallerIdentity returned no account",
                    )
                })
            })
            .await
            .cloned()
    }

    /// The credentials in force now, for presigning requests that AWS forwards to another
    /// Region (see `shared/src/copy/presign.rs`).
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        let provider = self
            .config
            .credentials_provider()
            .ok_or_else(|| Error::Refused("no AWS credentials are configured".into()))?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| Error::other("cannot load AWS credentials", e))
    }
}

/// An RDS resource's tags as a map (a tag without a key is dropped), as every slice reads them.
pub fn tag_map(list: &[aws_sdk_rds::types::Tag]) -> std::collections::BTreeMap<String, String> {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// An SDK timestamp as a `time` one.
pub fn to_time(value: Option<&aws_smithy_types::DateTime>) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(value?.as_nanos()).ok()
}

/// The DB instance `id` of `clients`' Region as RDS describes it; `None` when it does not exist.
pub async fn db_instance(
    clients: &RegionalClients,
    id: &str,
) -> Result<Option<aws_sdk_rds::types::DbInstance>, crate::error::Error> {
    let out = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| {
            crate::error::Error::from_sdk(
                e,
                "rds:DescribeDBInstances",
                &format!("DB instance {id}"),
                &clients.region,
            )
        });
    match out {
        Ok(out) => Ok(out.db_instances().first().cloned()),
        Err(crate::error::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The DB cluster `id` of `clients`' Region as RDS describes it; `None` when it does not exist.
pub async fn db_cluster(
    clients: &RegionalClients,
    id: &str,
) -> Result<Option<aws_sdk_rds::types::DbCluster>, crate::error::Error> {
    let out = clients
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .map_err(|e| {
            crate::error::Error::from_sdk(
                e,
                "rds:DescribeDBClusters",
                &format!("DB cluster {id}"),
                &clients.region,
            )
        });
    match out {
        Ok(out) => Ok(out.db_clusters().first().cloned()),
        Err(crate::error::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
