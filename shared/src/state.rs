//! Locks in the state bucket: a lease object written with S3 conditional writes, so two runs of
//! the same task (a schedule and an event, the CLI and a Lambda) never decide at the same time.
//! Without it, two copy runs that both count the free copy slots would together start more copies
//! than the quota allows.
//!
//! A lease expires, so a run that died holding it blocks nobody for longer than its time to live.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::RegionalClients;
use crate::error::Error;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseBody {
    holder: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// A held lease. Release it when done; if the holder dies it expires by itself.
#[derive(Debug)]
pub struct Lease {
    bucket: String,
    key: String,
    holder: String,
}

/// How to wait for a lease another run holds.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub time_to_live: Duration,
    pub wait_at_most: Duration,
    pub poll_every: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        // A Lambda invocation lasts 15 minutes at most; a copy run takes seconds.
        LeaseTiming {
            time_to_live: Duration::from_secs(15 * 60),
            wait_at_most: Duration::from_secs(60),
            poll_every: Duration::from_secs(2),
        }
    }
}

enum Attempt {
    Acquired,
    HeldBy(LeaseBody),
}

impl Lease {
    /// Takes the lease `locks/<name>.json`, waiting while another live holder has it.
    pub async fn acquire(
        clients: &RegionalClients,
        bucket: &str,
        name: &str,
        holder: &str,
        timing: LeaseTiming,
    ) -> Result<Lease, Error> {
        let key = format!("locks/{name}.json");
        let deadline = tokio::time::Instant::now() + timing.wait_at_most;
        loop {
            match try_acquire(clients, bucket, &key, holder, timing.time_to_live).await? {
                Attempt::Acquired => {
                    return Ok(Lease {
                        bucket: bucket.to_owned(),
                        key,
                        holder: holder.to_owned(),
                    });
                }
                Attempt::HeldBy(body) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Error::Locked {
                            name: format!("s3://{bucket}/{key}"),
                            holder: body.holder,
                            until: body
                                .expires_at
                                .format(&time::format_description::well_known::Rfc3339)
                                .unwrap_or_default(),
                        });
                    }
                    tokio::time::sleep(timing.poll_every).await;
                }
            }
        }
    }

    /// Gives the lease back, if it is still ours.
    pub async fn release(self, clients: &RegionalClients) -> Result<(), Error> {
        if let Some((body, _)) = read(clients, &self.bucket, &self.key).await?
            && body.holder == self.holder
        {
            clients
                .s3
                .delete_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await
                .map_err(|e| {
                    Error::from_sdk(e, "s3:DeleteObject", &self.location(), &clients.region)
                })?;
        }
        Ok(())
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

async fn try_acquire(
    clients: &RegionalClients,
    bucket: &str,
    key: &str,
    holder: &str,
    time_to_live: Duration,
) -> Result<Attempt, Error> {
    let body = LeaseBody {
        holder: holder.to_owned(),
        expires_at: OffsetDateTime::now_utc() + time_to_live,
    };
    let bytes =
        serde_json::to_vec(&body).map_err(|e| Error::other("cannot serialize a lease", e))?;
    // Create only if absent.
    if conditional_put(clients, bucket, key, bytes.clone(), None).await? {
        return Ok(Attempt::Acquired);
    }
    let Some((current, etag)) = read(clients, bucket, key).await? else {
        // Released between our write and our read: try again at once.
        return Ok(Attempt::HeldBy(LeaseBody {
            holder: "(just released)".into(),
            expires_at: OffsetDateTime::now_utc(),
        }));
    };
    if current.expires_at > OffsetDateTime::now_utc() {
        return Ok(Attempt::HeldBy(current));
    }
    // Expired: replace it, but only if nobody replaced it first.
    if conditional_put(clients, bucket, key, bytes, Some(&etag)).await? {
        tracing::warn!(lease = key, previous_holder = %current.holder, "took over an expired lease");
        Ok(Attempt::Acquired)
    } else {
        Ok(Attempt::HeldBy(current))
    }
}

/// `PutObject` with `If-None-Match: *` (no `etag`) or `If-Match: etag`. `false` when the condition
/// failed, i.e. someone else holds or just changed the lease.
async fn conditional_put(
    clients: &RegionalClients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    etag: Option<&str>,
) -> Result<bool, Error> {
    let request = clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .content_type("application/json");
    let request = match etag {
        None => request.if_none_match("*"),
        Some(etag) => request.if_match(etag),
    };
    match request.send().await {
        Ok(_) => Ok(true),
        Err(error) => {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            let status = error.raw_response().map(|r| r.status().as_u16());
            let code = error.code().map(str::to_owned);
            if matches!(status, Some(409 | 412))
                || matches!(
                    code.as_deref(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                )
            {
                Ok(false)
            } else {
                Err(Error::from_sdk(
                    error,
                    "s3:PutObject",
                    &format!("s3://{bucket}/{key}"),
                    &clients.region,
                ))
            }
        }
    }
}

async fn read(
    clients: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<(LeaseBody, String)>, Error> {
    let location = format!("s3://{bucket}/{key}");
    let output = match clients.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => output,
        Err(error) => {
            if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                return Ok(None);
            }
            return Err(Error::from_sdk(
                error,
                "s3:GetObject",
                &location,
                &clients.region,
            ));
        }
    };
    let etag = output.e_tag().unwrap_or_default().to_owned();
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| Error::other(format!("cannot read {location}"), e))?
        .into_bytes();
    let body = serde_json::from_slice(&bytes)
        .map_err(|e| Error::other(format!("{location} is not a Lifeboat lease"), e))?;
    Ok(Some((body, etag)))
}
