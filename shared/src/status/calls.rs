//! The posture read from the recovery Region only (it must work when the primary Region is
//! down): the tasks' records in the state bucket, and AWS through the slices' own calls. It
//! changes nothing.

use time::{Duration, OffsetDateTime};

use super::decide;
use super::model::*;
use crate::bucket::{self, keys};
use crate::context::Lifeboat;
use crate::error::Error;
use crate::failover::{
    FailoverReport, Target, describe_target, fqdn, lag_seconds, read_dns_record,
};
use crate::pause;
use crate::plan::Plan;
use crate::record::RunHeader;
use crate::snapshots::manual_snapshots;
use crate::verify::{LastRun, VerifyReport};
use crate::{backup, copy, failover, verify};

async fn json<T: serde::de::DeserializeOwned>(
    lifeboat: &Lifeboat,
    key: &str,
) -> Result<Option<T>, Error> {
    let plan = &lifeboat.plan;
    bucket::get_json(
        &lifeboat.clients.recovery,
        &plan.state_bucket,
        key,
        "what Lifeboat wrote",
    )
    .await
}

/// The databases the plan copies by name, and those its tag selectors made copies of.
fn copied_databases(plan: &Plan, found: &[(String, u32)]) -> Vec<(String, u32)> {
    let mut dbs: Vec<(String, u32)> = plan
        .copy
        .rds
        .iter()
        .filter_map(|e| {
            e.db_instance
                .clone()
                .or_else(|| e.db_cluster.clone())
                .map(|db| (db, e.retain_days))
        })
        .collect();
    for (db, retain) in found {
        if !dbs.iter().any(|(d, _)| d.eq_ignore_ascii_case(db)) {
            dbs.push((db.clone(), *retain));
        }
    }
    dbs
}

/// Reads the plan's posture (recovery Region and Route 53 only) and judges its budgets.
pub async fn posture(lifeboat: &Lifeboat) -> Result<Posture, Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let now = OffsetDateTime::now_utc();

    let snapshots = manual_snapshots(recovery).await?;
    let tag_retain = plan
        .copy
        .rds
        .iter()
        .find(|e| e.tag.is_some())
        .map_or(7, |e| e.retain_days);
    let found: Vec<(String, u32)> = snapshots
        .iter()
        .filter_map(|s| s.copy_of(&plan.name).map(|db| (db.to_owned(), tag_retain)))
        .collect();
    let copies = copied_databases(plan, &found)
        .into_iter()
        .map(|(db, retain_days)| {
            let of_db: Vec<_> = snapshots
                .iter()
                .filter(|s| s.status == "available")
                .filter(|s| {
                    s.copy_of(&plan.name)
                        .is_some_and(|d| d.eq_ignore_ascii_case(&db))
                })
                .collect();
            let newest = of_db.iter().max_by_key(|s| s.taken_at());
            CopyPosture {
                newest_copy: newest.map(|s| s.id.clone()),
                taken_at: newest.and_then(|s| s.taken_at()),
                age_seconds: newest
                    .and_then(|s| s.taken_at())
                    .map(|t| (now - t).whole_seconds()),
                copies: of_db.len(),
                db,
                retain_days,
            }
        })
        .collect();

    let mut backup_copies = Vec::new();
    for entry in &plan.copy.backup {
        let arn = entry.destination_vault.to_string();
        let Some((_, vault)) = arn.rsplit_once(":backup-vault:") else {
            continue;
        };
        let points = crate::snapshots::recovery_points(recovery, vault).await?;
        let mut resources: Vec<&str> = points
            .iter()
            .filter(|p| p.status == "COMPLETED")
            .map(|p| p.resource_arn.as_str())
            .collect();
        resources.sort();
        resources.dedup();
        for resource in resources {
            let of: Vec<_> = points
                .iter()
                .filter(|p| p.status == "COMPLETED" && p.resource_arn == resource)
                .collect();
            let newest = of.iter().max_by_key(|p| p.created).expect("one at least");
            backup_copies.push(BackupCopyPosture {
                vault: vault.to_owned(),
                resource_arn: resource.to_owned(),
                newest_recovery_point: newest.arn.clone(),
                created: newest.created,
                age_seconds: newest.created.map(|c| (now - c).whole_seconds()),
                recovery_points: of.len(),
            });
        }
    }

    let mut verifications = Vec::new();
    for job in &plan.verify {
        let last: Option<LastRun> =
            json(lifeboat, &keys::verify_last(&plan.name, &job.name)).await?;
        let last = match last {
            None => None,
            Some(last) => {
                let report: Option<VerifyReport> =
                    match bucket::key_of(&plan.state_bucket, &last.report.json) {
                        Some(key) => json(lifeboat, key).await?,
                        None => None,
                    };
                Some(LastVerification {
                    run_id: last.run_id,
                    started_at: last.started_at,
                    verdict: last.verdict,
                    data_age_seconds: report.as_ref().and_then(|r| r.figures.data_age_seconds),
                    restore_seconds: report.as_ref().and_then(|r| r.figures.restore_seconds),
                    report: last.report.markdown,
                })
            }
        };
        let current: Option<VerifyReport> =
            json(lifeboat, &keys::verify_current(&plan.name, &job.name)).await?;
        verifications.push(VerificationPosture {
            job: job.name.clone(),
            last,
            in_progress: current
                .filter(|c| !c.recorded)
                .map(|c| format!("{} ({:?})", c.header.run_id, c.verification.phase)),
            every_seconds: job.every.0.as_secs(),
            restore_tests: job.restore_testing_plan.is_some(),
        });
    }

    let mut replicas = Vec::new();
    let mut dns = Vec::new();
    let mut failover_in_progress = None;
    if let Some(failover) = &plan.failover {
        for target in Target::all(failover) {
            let seen = describe_target(recovery, &target).await?;
            let lag = lag_seconds(recovery, &target, now).await?;
            replicas.push(ReplicaPosture {
                target: target.key(),
                status: seen.as_ref().map(|s| s.status.clone()),
                writable: seen.is_some_and(|s| s.writable),
                lag_seconds: lag,
            });
        }
        for flip in &failover.dns {
            let record = read_dns_record(
                recovery,
                &flip.hosted_zone_id,
                &flip.record,
                flip.record_type.as_str(),
            )
            .await?;
            let values = record.map(|r| r.values).unwrap_or_default();
            let points_to = if values.is_empty() {
                "missing"
            } else if values == [flip.recovery.clone()] {
                "recovery"
            } else if values == [flip.primary.clone()] {
                "primary"
            } else {
                "other"
            };
            dns.push(DnsPosture {
                hosted_zone_id: flip.hosted_zone_id.clone(),
                record: fqdn(&flip.record),
                values,
                points_to: points_to.to_owned(),
            });
        }
        let current: Option<FailoverReport> =
            json(lifeboat, &keys::failover_current(&plan.name)).await?;
        failover_in_progress =
            current.map(|c| format!("{} ({:?})", c.header.run_id, c.failover.phase));
    }

    let mut last_runs = Vec::new();
    for task in [copy::TASK, backup::TASK, verify::TASK, failover::TASK] {
        let latest: Option<RunHeader> = json(lifeboat, &keys::latest_run(&plan.name, task)).await?;
        if let Some(run) = latest {
            last_runs.push(RunPosture {
                task: task.to_owned(),
                run_id: run.run_id,
                outcome: run.outcome,
                finished_at: run.finished_at,
            });
        }
    }
    let paused = pause::paused(recovery, plan).await?;

    let mut posture = Posture {
        plan: plan.name.clone(),
        recovery_region: plan.recovery_region.to_string(),
        at: now,
        copies,
        backup_copies,
        verifications,
        replicas,
        dns,
        last_runs,
        failover_in_progress,
        paused,
        broken: Vec::new(),
    };
    posture.broken = decide::broken_budgets(&posture);
    Ok(posture)
}

/// The copy lag recorded by the plan's recent snapshot copy runs (the last [`RECENT_RUNS`] of
/// the last [`RECENT_DAYS`] days), oldest first: one listing of the state bucket per day, then
/// each run's JSON record.
pub async fn copy_lag_history(
    lifeboat: &Lifeboat,
    now: OffsetDateTime,
) -> Result<Vec<RunLags>, Error> {
    let plan = &lifeboat.plan;
    let recovery = &lifeboat.clients.recovery;
    let state_bucket = &plan.state_bucket;
    let mut run_keys = Vec::new();
    // Newest day first, so the listing stops once it has enough runs.
    for days_back in 0..=RECENT_DAYS {
        let day = now - Duration::days(days_back);
        let prefix = keys::runs_of_day(&plan.name, copy::TASK, day);
        let mut of_day: Vec<String> = bucket::list(recovery, state_bucket, &prefix)
            .await?
            .into_iter()
            .filter(|k| k.ends_with(".json"))
            .collect();
        // Run ids start with their time: the names sort as the runs started.
        of_day.sort();
        run_keys.extend(of_day.into_iter().rev());
        if run_keys.len() >= RECENT_RUNS {
            break;
        }
    }
    run_keys.truncate(RECENT_RUNS);
    let since = now - Duration::days(RECENT_DAYS);
    let mut runs = Vec::new();
    for key in run_keys {
        let Some(bytes) = bucket::get(recovery, state_bucket, &key).await? else {
            continue;
        };
        match serde_json::from_slice::<RunLags>(&bytes) {
            Ok(run) if run.started_at >= since => runs.push(run),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, key, "not a copy run record; left out of the chart")
            }
        }
    }
    runs.sort_by_key(|r| r.started_at);
    Ok(runs)
}
