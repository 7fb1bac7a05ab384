//! What a Lifeboat process holds for its whole life: the plan and the AWS clients. A Lambda
//! builds it once per container, before the first event; the CLI once per command.

use aws_config::SdkConfig;

use crate::aws::{AwsClients, Tuning, load_config};
use crate::error::Error;
use crate::plan::Plan;

/// The environment variable that names the plan: an `s3://bucket/key` URI or a file path.
pub const PLAN_ENV: &str = "LIFEBOAT_PLAN";

pub struct Lifeboat {
    pub plan: Plan,
    pub clients: AwsClients,
}

impl Lifeboat {
    /// Loads the plan named by `LIFEBOAT_PLAN` and builds the clients.
    pub async fn from_env() -> Result<Self, Error> {
        let location = std::env::var(PLAN_ENV).map_err(|_| Error::PlanLocation {
            location: format!("${PLAN_ENV}"),
            message: "the variable is not set; set it to an s3:// URI or a file path".into(),
        })?;
        Lifeboat::load(&location, &Tuning::default()).await
    }

    pub async fn load(location: &str, tuning: &Tuning) -> Result<Self, Error> {
        let config = load_config(tuning).await;
        let plan = load_plan(&config, location).await?;
        Ok(Lifeboat::new(&config, plan))
    }

    pub fn new(config: &SdkConfig, plan: Plan) -> Self {
        let clients = AwsClients::new(config, &plan);
        Lifeboat { plan, clients }
    }
}

/// Reads a plan from `s3://bucket/key` (through the default Region's S3 client) or a file.
pub async fn load_plan(config: &SdkConfig, location: &str) -> Result<Plan, Error> {
    let Some(rest) = location.strip_prefix("s3://") else {
        return Ok(Plan::from_file(std::path::Path::new(location))?);
    };
    let fail = |message: String| Error::PlanLocation {
        location: location.to_owned(),
        message,
    };
    let (bucket, key) = rest
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| fail("an S3 location looks like s3://bucket/key".into()))?;
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            fail(e.code().map_or_else(
                || e.to_string(),
                |code| format!("{code}: {}", e.message().unwrap_or("")),
            ))
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .into_bytes();
    let text =
        String::from_utf8(bytes.to_vec()).map_err(|_| fail("the plan is not UTF-8 text".into()))?;
    Ok(Plan::parse(&text, location)?)
}
