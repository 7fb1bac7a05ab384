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

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::RegionalClients;
use crate::bucket::{self, Condition, keys};
use crate::clock::rfc3339;
use crate::error::Error;

/// The name (under `locks/` in the state bucket) of `task`'s lease for an account and a Region.
/// AWS's copy quotas are per account and destination Region, so the copy lease is too: plans of
/// one account and Region that share a state bucket take turns; another account, or another
/// recovery Region, has a lease of its own even in the same bucket.
pub use crate::bucket::keys::lease_name;

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
    clients: RegionalClients,
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
        let key = keys::lock(name);
        let deadline = tokio::time::Instant::now() + timing.wait_at_most;
        loop {
            match try_acquire(clients, bucket, &key, holder, timing.time_to_live).await? {
                Attempt::Acquired(held) => {
                    return Ok(Lease {
                        clients: clients.clone(),
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
                            name: bucket::location(bucket, &key),
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
        bucket::location(&self.bucket, &self.key)
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
        let written = put_lease(
            &self.clients,
            &self.bucket,
            &self.key,
            &body,
            Condition::Unchanged(&current.etag),
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
        if !bucket::delete_if_unchanged(&self.clients, &self.bucket, &self.key, &etag).await? {
            tracing::warn!(
                lease = %self.location(),
                holder = %self.holder,
                "the lease was no longer ours (it expired and another run took it over); left it to its holder"
            );
        }
        Ok(())
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
    // Create only if absent.
    if let Some(etag) = put_lease(clients, bucket, key, &body, Condition::Absent).await? {
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
    match put_lease(clients, bucket, key, &body, Condition::Unchanged(&etag)).await? {
        Some(etag) => {
            tracing::warn!(lease = key, previous_holder = %current.holder, "took over an expired lease");
            Ok(acquired(etag))
        }
        None => Ok(Attempt::HeldBy(current)),
    }
}

/// Writes the lease if `condition` holds: its new ETag, or `None` when someone else holds,
/// changed or removed it.
async fn put_lease(
    clients: &RegionalClients,
    bucket: &str,
    key: &str,
    body: &LeaseBody,
    condition: Condition<'_>,
) -> Result<Option<String>, Error> {
    let bytes =
        serde_json::to_vec(body).map_err(|e| Error::other("cannot serialize a lease", e))?;
    bucket::put_if(clients, bucket, key, bytes, condition).await
}

/// The lease as it stands, with its ETag.
async fn read(
    clients: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<(LeaseBody, String)>, Error> {
    let Some((bytes, etag)) = bucket::get_versioned(clients, bucket, key).await? else {
        return Ok(None);
    };
    let body = bucket::parse(bucket, key, &bytes, "a Lifeboat lease")?;
    Ok(Some((body, etag)))
}
