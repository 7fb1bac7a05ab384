//! Which RDS snapshots are Lifeboat's copies: how a copy is named and how it is marked.
//!
//! Every task that looks at copies in the recovery Region (copying and pruning them today,
//! restoring and reporting on them next) asks the same question, so it is answered once, here.
//! Tags alone cannot answer it: a snapshot copied *inside* the recovery Region with `CopyTags`
//! (a legal hold, a drill) carries every one of Lifeboat's tags. A copy is a plan's copy only if
//! its tags name the plan *and* its identifier is the deterministic name Lifeboat gives the copy
//! of the source its tags name; nobody else's snapshot can have both.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Tags Lifeboat puts on every copy. With the copy's name they say which plan made it
/// ([`is_plans_copy`]); the source ARN tag says what it is a copy of.
pub mod tags {
    pub const PLAN: &str = "lifeboat:plan";
    pub const SOURCE_ARN: &str = "lifeboat:source-arn";
    pub const SOURCE_REGION: &str = "lifeboat:source-region";
    pub const SOURCE_DB: &str = "lifeboat:source-db";
    /// When the source snapshot was taken: the age of the data in the copy.
    pub const SOURCE_CREATED: &str = "lifeboat:source-created";
    pub const PREFIX: &str = "lifeboat:";
}

/// How the identifier of every DB instance and cluster a verification creates begins: RDS events
/// about them are a verification's to act on, and nothing else's.
pub const VERIFY_IDENTIFIER_PREFIX: &str = "lifeboat-verify-";

/// The identifier of the copy of `source` in the recovery Region: the same for every run, so a
/// retried or duplicated run finds the copy instead of making another.
///
/// Automated snapshot identifiers (`rds:orders-2026-11-25-03-10`) are not valid manual snapshot
/// identifiers, and cluster snapshot identifiers are limited to 63 characters, so the source name
/// is cleaned and shortened; a hash of the full source ARN keeps two sources from ever sharing a
/// target.
pub fn target_identifier(source_arn: &str, source_id: &str) -> String {
    const MAX_LEN: usize = 63;
    let hash = &hex::encode(Sha256::digest(source_arn.as_bytes()))[..8];
    let mut cleaned = String::with_capacity(source_id.len());
    for c in source_id.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && cleaned.ends_with('-')) {
            cleaned.push(c);
        }
    }
    let room = MAX_LEN - "lifeboat-".len() - 1 - hash.len();
    let cleaned: String = cleaned.chars().take(room).collect();
    let cleaned = cleaned.trim_matches('-');
    if cleaned.is_empty() {
        format!("lifeboat-{hash}")
    } else {
        format!("lifeboat-{cleaned}-{hash}")
    }
}

/// Whether the snapshot `id` with `tags` is a copy `plan` made: its `lifeboat:plan` tag is the
/// plan and its identifier is the one Lifeboat gives the copy of its `lifeboat:source-arn`.
/// Only such snapshots are ever pruned, counted toward `keep_at_least`, or taken as a source's
/// copy.
pub fn is_plans_copy(plan: &str, id: &str, tags: &BTreeMap<String, String>) -> bool {
    if tags.get(tags::PLAN).map(String::as_str) != Some(plan) {
        return false;
    }
    tags.get(tags::SOURCE_ARN)
        .is_some_and(|source_arn| is_copy_of(id, source_arn))
}

/// Whether `id` is the name Lifeboat gives the copy of the snapshot `source_arn`, whichever plan
/// made it.
pub fn is_copy_of(id: &str, source_arn: &str) -> bool {
    snapshot_id_of(source_arn).is_some_and(|source_id| {
        // RDS stores snapshot identifiers in lower case.
        id.eq_ignore_ascii_case(&target_identifier(source_arn, source_id))
    })
}

/// The snapshot identifier in an RDS snapshot ARN
/// (`arn:aws:rds:us-west-2:111122223333:snapshot:rds:orders-2026-11-25-03-10` →
/// `rds:orders-2026-11-25-03-10`).
fn snapshot_id_of(arn: &str) -> Option<&str> {
    match arn.splitn(7, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "rds", _, _, "snapshot" | "cluster-snapshot", id] if !id.is_empty() => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "arn:aws:rds:us-west-2:111122223333:snapshot:rds:orders-2026-11-25-03-10";

    fn marked(plan: &str, source_arn: &str) -> BTreeMap<String, String> {
        [(tags::PLAN, plan), (tags::SOURCE_ARN, source_arn)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn a_plans_copy_has_its_tags_and_its_deterministic_name() {
        let id = target_identifier(SOURCE, "rds:orders-2026-11-25-03-10");
        assert!(is_plans_copy("tracking", &id, &marked("tracking", SOURCE)));
        assert!(
            !is_plans_copy("billing", &id, &marked("tracking", SOURCE)),
            "another plan's copy"
        );
    }

    #[test]
    fn a_snapshot_copied_with_lifeboats_tags_under_another_name_is_not_a_copy() {
        // A legal-hold copy made in the recovery Region with CopyTags = true.
        assert!(!is_plans_copy(
            "tracking",
            "legal-hold-2026",
            &marked("tracking", SOURCE)
        ));
        // Tags that name a source that is not an RDS snapshot ARN mark nothing.
        let id = target_identifier("not-an-arn", "not-an-arn");
        assert!(!is_plans_copy(
            "tracking",
            &id,
            &marked("tracking", "not-an-arn")
        ));
        assert!(!is_plans_copy("tracking", &id, &BTreeMap::new()));
    }

    #[test]
    fn cluster_snapshot_copies_are_recognised_too() {
        let source = "arn:aws:rds:us-west-2:111122223333:cluster-snapshot:phoenix-1";
        let id = target_identifier(source, "phoenix-1");
        assert!(is_copy_of(&id, source));
        assert!(is_copy_of(&id.to_uppercase(), source));
    }

    #[test]
    fn target_identifier_is_valid_stable_and_unique_per_source() {
        let arn = "arn:aws:rds:us-west-2:111122223333:snapshot:rds:orders-2026-11-25-03-10";
        let id = target_identifier(arn, "rds:orders-2026-11-25-03-10");
        assert!(
            id.starts_with("lifeboat-rds-orders-2026-11-25-03-10-"),
            "{id}"
        );
        assert_eq!(id, target_identifier(arn, "rds:orders-2026-11-25-03-10"));
        // A manual snapshot whose name looks the same after cleaning gets another target.
        let manual_arn = "arn:aws:rds:us-west-2:111122223333:snapshot:rds-orders-2026-11-25-03-10";
        assert_ne!(
            id,
            target_identifier(manual_arn, "rds-orders-2026-11-25-03-10")
        );
        // Valid RDS identifier: letter first, letters/digits/hyphens, no "--", no trailing "-".
        assert!(id.len() <= 63);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(!id.contains("--") && !id.ends_with('-'));
    }

    #[test]
    fn long_source_names_are_shortened_to_the_cluster_limit() {
        let long = "a".repeat(200);
        let id = target_identifier(
            &format!("arn:aws:rds:us-west-2:1:cluster-snapshot:{long}"),
            &long,
        );
        assert_eq!(id.len(), 63);
        assert!(!id.contains("--"));
    }
}
