//! Locks in the state bucket: a lease object written with S3 conditional writes, so two runs of
//! the same task (a schedule and an event, the CLI and a Lambda) never decide at the same time.
//! Without it, two copy runs that both count the free copy slots would together start more copies
//! than the quota allows.
//!
//! A lease expires, so a run that died holding it blocks nobody for longer than its time to live.
//! Expiry cuts both ways: a run that outlives its lease (the CLI has no deadline) may find it taken
//! over. So every write of the lease remembers the ETag S3 gave it, and every later write or
//! delete is conditional on that ETag (`If-Match`): a holder can renew or release only the lease
//! it wrote, never the one another run took over after it expired. Long work asks
//! [`Lease::ensure_time_left`] before each step, which renews the lease or says it is lost.

use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::RegionalClients;
use crate::clock::rfc3339;
use crate::error::Error;
use crate::plan::Region;

/// The name (under `locks/` in the state bucket) of `task`'s lease for an account and a Region.
/// AWS's copy quotas are per account and destination Region, so the copy lease is too: plans of
/// one account and Region that share a state bucket take turns; another account, or another
/// recovery Region, has a lease of its own even in the same bucket.
pub fn lease_name(account_id: &str, region: &Region, task: &str) -> String {
    format!("{account_id}/{region}/{task}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseBody {
    holder: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// A held lease. Release it when done; if the holder dies it expires by itself.
///
/// Shared by reference (`&Lease` is `Sync`): concurrent work can call
/// [`ensure_time_left`](Lease::ensure_time_left), and only one renewal is made at a time.
#[derive(Debug)]
pub struct Lease {
    s3: aws_sdk_s3::Client,
    region: Region,
    bucket: String,
    key: String,
    holder: String,
    time_to_live: Duration,
    held: Mutex<Held>,
    /// Serializes renewals, so two callers short of time renew once, not twice.
    renewing: tokio::sync::Mutex<()>,
}

/// What this holder last wrote: the ETag S3 gave the write, and the expiry in it.
#[derive(Debug, Clone)]
struct Held {
    etag: String,
    expires_at: OffsetDateTime,
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
        // A Lambda invocation lasts 15 minutes at most; a copy run takes seconds. A longer run
        // (the CLI has no deadline) renews through `Lease::ensure_time_left`.
        LeaseTiming {
            time_to_live: Duration::from_secs(15 * 60),
            wait_at_most: Duration::from_secs(60),
            poll_every: Duration::from_secs(2),
        }
    }
}

enum Attempt {
    Acquired(Held),
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
                Attempt::Acquired(held) => {
                    return Ok(Lease {
                        s3: clients.s3.clone(),
                        region: clients.region.clone(),
                        bucket: bucket.to_owned(),
                        key,
                        holder: holder.to_owned(),
                        time_to_live: timing.time_to_live,
                        held: Mutex::new(held),
                        renewing: tokio::sync::Mutex::new(()),
                    });
                }
                Attempt::HeldBy(body) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Error::Locked {
                            name: format!("s3://{bucket}/{key}"),
                            holder: body.holder,
                            until: rfc3339(body.expires_at),
                        });
                    }
                    tokio::time::sleep(timing.poll_every).await;
                }
            }
        }
    }

    /// `s3://bucket/locks/….json`.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// When the lease runs out unless renewed, by this process's clock.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.held().expires_at
    }

    /// Makes sure the lease stays ours long enough for one more AWS call that must finish under
    /// it (starting a copy): two minutes — the call may take the SDK's 60 s operation timeout,
    /// and the rest absorbs the clock difference between runs — or half the lease's life when
    /// that is shorter. See [`Lease::ensure_time_left`].
    pub async fn ensure_time_for_a_call(&self) -> Result<(), Error> {
        self.ensure_time_left(Duration::from_secs(120).min(self.time_to_live / 2))
            .await
    }

    /// How long one acquisition or renewal holds the lease.
    pub fn time_to_live(&self) -> Duration {
        self.time_to_live
    }

    /// How long the lease is still ours without renewing (zero once expired).
    pub fn time_left(&self) -> Duration {
        let left = self.expires_at() - OffsetDateTime::now_utc();
        left.try_into().unwrap_or(Duration::ZERO)
    }

    /// Makes sure the lease stays ours for at least `needed`: returns at once when that much
    /// is left, otherwise renews it for another time to live. Call it before starting each
    /// piece of work that must finish under the lease, with how long that piece may take.
    ///
    /// `Err(Error::LeaseLost)` when another run has taken the lease over (it expired before
    /// this renewal): start nothing more. Asking for more than the time to live is a mistake
    /// in the caller and refused.
    pub async fn ensure_time_left(&self, needed: Duration) -> Result<(), Error> {
        if needed > self.time_to_live {
            return Err(Error::Refused(format!(
                "{} lives {:?} per renewal; {needed:?} can never be left",
                self.location(),
                self.time_to_live
            )));
        }
        if self.time_left() >= needed {
            return Ok(());
        }
        let _one_at_a_time = self.renewing.lock().await;
        // Another caller may have renewed while this one waited for its turn.
        if self.time_left() >= needed {
            return Ok(());
        }
        self.write_renewal().await
    }

    /// Extends the lease by its time to live from now, if it is still ours: a `PutObject` with
    /// `If-Match` on the ETag of our last write, so a lease another run took over is never
    /// overwritten. `Err(Error::LeaseLost)` when it is no longer ours.
    pub async fn renew(&self) -> Result<(), Error> {
        let _one_at_a_time = self.renewing.lock().await;
        self.write_renewal().await
    }

    async fn write_renewal(&self) -> Result<(), Error> {
        let current = self.held();
        let body = LeaseBody {
            holder: self.holder.clone(),
            expires_at: OffsetDateTime::now_utc() + self.time_to_live,
        };
        let written = conditional_put(
            &self.s3,
            &self.region,
            &self.bucket,
            &self.key,
            &body,
            Some(&current.etag),
        )
        .await?;
        match written {
            Some(etag) => {
                tracing::debug!(lease = %self.location(), until = %rfc3339(body.expires_at), "lease renewed");
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Held {
                    etag,
                    expires_at: body.expires_at,
                };
                Ok(())
            }
            None => Err(Error::LeaseLost {
                name: self.location(),
                holder: self.holder.clone(),
            }),
        }
    }

    /// Gives the lease back, if it is still ours: a `DeleteObject` with `If-Match` on the ETag of
    /// our last write. When the lease is no longer ours (it expired and another run took it
    /// over, or it is gone) S3 refuses the delete and the lease is left to its holder.
    pub async fn release(self) -> Result<(), Error> {
        let etag = self.held().etag;
        let result = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .if_match(&etag)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_lost_race(&error) => {
                tracing::warn!(
                    lease = %self.location(),
                    holder = %self.holder,
                    "the lease was no longer ours (it expired and another run took it over); left it to its holder"
                );
                Ok(())
            }
            Err(error) => Err(Error::from_sdk(
                error,
                "s3:DeleteObject",
                &self.location(),
                &self.region,
            )),
        }
    }

    fn held(&self) -> Held {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
    let acquired = |etag| {
        Attempt::Acquired(Held {
            etag,
            expires_at: body.expires_at,
        })
    };
    let (s3, region) = (&clients.s3, &clients.region);
    // Create only if absent.
    if let Some(etag) = conditional_put(s3, region, bucket, key, &body, None).await? {
        return Ok(acquired(etag));
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
    // Expired: replace it, but only if nobody replaced (or renewed) it first.
    match conditional_put(s3, region, bucket, key, &body, Some(&etag)).await? {
        Some(etag) => {
            tracing::warn!(lease = key, previous_holder = %current.holder, "took over an expired lease");
            Ok(acquired(etag))
        }
        None => Ok(Attempt::HeldBy(current)),
    }
}

/// `PutObject` with `If-None-Match: *` (no `etag`) or `If-Match: etag`. The ETag of the new
/// object when written; `None` when the condition failed, i.e. someone else holds, changed or
/// removed the lease.
async fn conditional_put(
    s3: &aws_sdk_s3::Client,
    region: &Region,
    bucket: &str,
    key: &str,
    body: &LeaseBody,
    etag: Option<&str>,
) -> Result<Option<String>, Error> {
    let location = format!("s3://{bucket}/{key}");
    let bytes =
        serde_json::to_vec(body).map_err(|e| Error::other("cannot serialize a lease", e))?;
    let request = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .content_type("application/json");
    let request = match etag {
        None => request.if_none_match("*"),
        Some(etag) => request.if_match(etag),
    };
    match request.send().await {
        // S3 always answers a PutObject with the new object's ETag; without it, the lease
        // could not later be renewed or released conditionally, so it is not taken.
        Ok(output) => output
            .e_tag()
            .map(|etag| Some(etag.to_owned()))
            .ok_or_else(|| {
                Error::other(
                    format!("cannot hold {location}"),
                    "s3:PutObject returned no ETag",
                )
            }),
        Err(error) if is_lost_race(&error) => Ok(None),
        Err(error) => Err(Error::from_sdk(error, "s3:PutObject", &location, region)),
    }
}

/// Whether S3 refused a conditional request because the object is not the one we named:
/// `412 PreconditionFailed` (another ETag), `409 ConditionalRequestConflict` (a concurrent
/// write won), or `NoSuchKey` (with `If-Match`, the object is gone). The Rust SDK does not
/// model these for PutObject / DeleteObject, so they are matched by code and status.
fn is_lost_race<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    let status = error.raw_response().map(|r| r.status().as_u16());
    matches!(status, Some(409 | 412))
        || matches!(
            error.code(),
            Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")
        )
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
