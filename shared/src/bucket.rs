//! The state bucket: everything Lifeboat keeps between runs, in the recovery Region. This module
//! is the one owner of its key layout ([`keys`]) and of the S3 calls on it; a change to the
//! layout touches this file only.
//!
//! # Layout
//!
//! | key | what | written by |
//! | --- | --- | --- |
//! | `runs/<plan>/<task>/<yyyy>/<mm>/<dd>/<run-id>.{json,md,html}` | every run's reports | [`crate::record`] |
//! | `runs/<plan>/<task>/latest.json` | the newest run of each task | [`crate::record`] |
//! | `failover/<plan>/current.json` | a failover in progress or awaiting approval | the failover |
//! | `failover/<plan>/last.json` | the last finished failover or failback | the failover |
//! | `paused/<plan>.json` | the schedules a failover paused | [`crate::pause`] |
//! | `verify/<plan>/<job>/current.json` | a verification in progress | the verification |
//! | `verify/<plan>/<job>/last.json` | a job's last verdict (when the next is due) | the verification |
//! | `verify/<plan>/<job>/restore-tests/<restore-job-id>.json` | restore tests being validated | the verification |
//! | `locks/<account-id>/<region>/<task>.json` | leases | [`crate::state`] |
//!
//! The plan's name comes first under each prefix, so plans that share a bucket keep apart; the
//! leases are per account and Region instead, as the AWS quotas they protect are.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::RegionalClients;
use crate::error::Error;

/// The keys of the state bucket, one function per kind of object.
pub mod keys {
    use time::OffsetDateTime;

    use crate::plan::Region;

    /// Where a run's reports go, without the extension (`.json`, `.md`, `.html`): under the day
    /// the run started, so a listing of one day finds its runs.
    pub fn run_stem(plan: &str, task: &str, started_at: OffsetDateTime, run_id: &str) -> String {
        format!("{}{run_id}", runs_of_day(plan, task, started_at))
    }

    /// The prefix of the runs of `task` started on `day` (UTC).
    pub fn runs_of_day(plan: &str, task: &str, day: OffsetDateTime) -> String {
        let d = day.to_offset(time::UtcOffset::UTC);
        format!(
            "runs/{plan}/{task}/{:04}/{:02}/{:02}/",
            d.year(),
            d.month() as u8,
            d.day()
        )
    }

    /// The newest run of a plan's task, for `lifeboat status`.
    pub fn latest_run(plan: &str, task: &str) -> String {
        format!("runs/{plan}/{task}/latest.json")
    }

    /// A failover run in progress or awaiting approval.
    pub fn failover_current(plan: &str) -> String {
        format!("failover/{plan}/current.json")
    }

    /// The last finished failover (or failback) of a plan: its start is the cooldown's, its DNS
    /// values are what failback puts back.
    pub fn failover_last(plan: &str) -> String {
        format!("failover/{plan}/last.json")
    }

    /// The plan's schedules paused by a failover.
    pub fn paused(plan: &str) -> String {
        format!("paused/{plan}.json")
    }

    /// A verification job's run in progress.
    pub fn verify_current(plan: &str, job: &str) -> String {
        format!("verify/{plan}/{job}/current.json")
    }

    /// A verification job's last finished run, in short.
    pub fn verify_last(plan: &str, job: &str) -> String {
        format!("verify/{plan}/{job}/last.json")
    }

    /// The prefix of a job's restore tests being validated; each is
    /// [`restore_test`] under it.
    pub fn restore_tests(plan: &str, job: &str) -> String {
        format!("verify/{plan}/{job}/restore-tests/")
    }

    /// The validation of one AWS Backup restore testing job while it runs.
    pub fn restore_test(plan: &str, job: &str, restore_job_id: &str) -> String {
        format!("{}{restore_job_id}.json", restore_tests(plan, job))
    }

    /// The name of `task`'s lease for an account and a Region (see [`lock`]).
    pub fn lease_name(account_id: &str, region: &Region, task: &str) -> String {
        format!("{account_id}/{region}/{task}")
    }

    /// A lease, by its name ([`lease_name`]).
    pub fn lock(name: &str) -> String {
        format!("locks/{name}.json")
    }
}

/// `s3://<bucket>/<key>`, as errors and records name an object.
pub fn location(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// The key of an object named by its `s3://` location in `bucket` (a record's location), or
/// `None` when it is in another bucket.
pub fn key_of<'a>(bucket: &str, location: &'a str) -> Option<&'a str> {
    location
        .strip_prefix("s3://")?
        .strip_prefix(bucket)?
        .strip_prefix('/')
}

/// One object, if it exists.
pub async fn get(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(get_versioned(recovery, bucket, key)
        .await?
        .map(|(bytes, _)| bytes))
}

/// One object read as `what` (JSON), if it exists; one that is not is an error naming it.
pub async fn get_json<T: DeserializeOwned>(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    what: &str,
) -> Result<Option<T>, Error> {
    match get(recovery, bucket, key).await? {
        None => Ok(None),
        Some(bytes) => parse(bucket, key, &bytes, what).map(Some),
    }
}

/// One object with its ETag, if it exists: what a conditional write ([`put_if`]) names.
pub async fn get_versioned(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, String)>, Error> {
    let output = match recovery
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return Ok(None);
        }
        Err(error) => {
            return Err(Error::from_sdk(
                error,
                "s3:GetObject",
                &location(bucket, key),
                &recovery.region,
            ));
        }
    };
    let etag = output.e_tag().unwrap_or_default().to_owned();
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| Error::other(format!("cannot read {}", location(bucket, key)), e))?
        .into_bytes();
    Ok(Some((bytes.to_vec(), etag)))
}

/// `bytes` read as `what` (JSON); an error names the object.
pub fn parse<T: DeserializeOwned>(
    bucket: &str,
    key: &str,
    bytes: &[u8],
    what: &str,
) -> Result<T, Error> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::other(format!("{} is not {what}", location(bucket, key)), e))
}

/// Puts one object.
pub async fn put(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), Error> {
    recovery
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(e, "s3:PutObject", &location(bucket, key), &recovery.region))
}

/// Puts `value` as pretty JSON; `what` names it in the error if it cannot be serialized.
pub async fn put_json<T: Serialize>(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    value: &T,
    what: &str,
) -> Result<(), Error> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::other(format!("cannot serialize {what}"), e))?;
    put(recovery, bucket, key, body, "application/json").await
}

/// What a conditional write requires of the object it replaces.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// No object at the key (`If-None-Match: *`).
    Absent,
    /// The object we last read or wrote (`If-Match: <etag>`).
    Unchanged(&'a str),
}

/// Puts one object if `condition` holds: the new ETag when written, `None` when S3 refused
/// because the object is not the one named (another writer got there first).
pub async fn put_if(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    condition: Condition<'_>,
) -> Result<Option<String>, Error> {
    let request = recovery
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .content_type("application/json");
    let request = match condition {
        Condition::Absent => request.if_none_match("*"),
        Condition::Unchanged(etag) => request.if_match(etag),
    };
    match request.send().await {
        // S3 always answers a PutObject with the new object's ETag; without it, the object
        // could not later be replaced or deleted conditionally.
        Ok(output) => output
            .e_tag()
            .map(|etag| Some(etag.to_owned()))
            .ok_or_else(|| {
                Error::other(
                    format!("cannot hold {}", location(bucket, key)),
                    "s3:PutObject returned no ETag",
                )
            }),
        Err(error) if is_lost_race(&error) => Ok(None),
        Err(error) => Err(Error::from_sdk(
            error,
            "s3:PutObject",
            &location(bucket, key),
            &recovery.region,
        )),
    }
}

/// Deletes one object (deleting one that is gone is no error, as in S3).
pub async fn delete(recovery: &RegionalClients, bucket: &str, key: &str) -> Result<(), Error> {
    recovery
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            Error::from_sdk(
                e,
                "s3:DeleteObject",
                &location(bucket, key),
                &recovery.region,
            )
        })
}

/// Deletes one object if it is still the one with `etag`: true when deleted, false when S3
/// refused because it is not (replaced, or gone).
pub async fn delete_if_unchanged(
    recovery: &RegionalClients,
    bucket: &str,
    key: &str,
    etag: &str,
) -> Result<bool, Error> {
    let result = recovery
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .if_match(etag)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_lost_race(&error) => Ok(false),
        Err(error) => Err(Error::from_sdk(
            error,
            "s3:DeleteObject",
            &location(bucket, key),
            &recovery.region,
        )),
    }
}

/// The keys under `prefix`, every page of them.
pub async fn list(
    recovery: &RegionalClients,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, Error> {
    let mut keys = Vec::new();
    let mut pages = recovery
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            Error::from_sdk(
                e,
                "s3:ListObjectsV2",
                &location(bucket, prefix),
                &recovery.region,
            )
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
    }
    Ok(keys)
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_layout_is_as_documented() {
        let started = datetime!(2026-11-26 07:00:00 UTC);
        assert_eq!(
            keys::run_stem("tracking", "copy-snapshots", started, "R1"),
            "runs/tracking/copy-snapshots/2026/11/26/R1"
        );
        assert_eq!(
            keys::latest_run("tracking", "failover"),
            "runs/tracking/failover/latest.json"
        );
        assert_eq!(
            keys::failover_current("tracking"),
            "failover/tracking/current.json"
        );
        assert_eq!(
            keys::failover_last("tracking"),
            "failover/tracking/last.json"
        );
        assert_eq!(keys::paused("tracking"), "paused/tracking.json");
        assert_eq!(
            keys::verify_current("tracking", "weekly"),
            "verify/tracking/weekly/current.json"
        );
        assert_eq!(
            keys::verify_last("tracking", "weekly"),
            "verify/tracking/weekly/last.json"
        );
        assert_eq!(
            keys::restore_test("tracking", "weekly", "J1"),
            "verify/tracking/weekly/restore-tests/J1.json"
        );
        let region = "us-east-2".parse().unwrap();
        assert_eq!(
            keys::lock(&keys::lease_name("111122223333", &region, "copy-snapshots")),
            "locks/111122223333/us-east-2/copy-snapshots.json"
        );
    }

    #[test]
    fn a_run_started_late_in_another_offset_is_filed_under_its_utc_day() {
        let started = datetime!(2026-11-26 23:30:00 -05:00);
        assert_eq!(
            keys::runs_of_day("tracking", "failover", started),
            "runs/tracking/failover/2026/11/27/"
        );
    }

    #[test]
    fn a_records_location_gives_its_key_in_its_own_bucket_only() {
        assert_eq!(
            key_of("dr-state", "s3://dr-state/runs/t/failover/latest.json"),
            Some("runs/t/failover/latest.json")
        );
        assert_eq!(key_of("dr-state", "s3://dr-state-2/runs/x.json"), None);
        assert_eq!(key_of("dr-state", "runs/x.json"), None);
    }
}
