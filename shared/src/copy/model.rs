//! What the copy task knows about snapshots, and how it names and marks the copies it makes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Tags Lifeboat puts on every copy. A snapshot without `lifeboat:plan` is not Lifeboat's and is
/// never pruned; the source ARN tag is how a later run knows a snapshot was already copied.
pub mod tags {
    pub const PLAN: &str = "lifeboat:plan";
    pub const SOURCE_ARN: &str = "lifeboat:source-arn";
    pub const SOURCE_REGION: &str = "lifeboat:source-region";
    pub const SOURCE_DB: &str = "lifeboat:source-db";
    /// When the source snapshot was taken: the age of the data in the copy.
    pub const SOURCE_CREATED: &str = "lifeboat:source-created";
    pub const PREFIX: &str = "lifeboat:";
}

/// An RDS resource has at most 50 tags.
const MAX_TAGS: usize = 50;

/// Instance snapshots or Aurora cluster snapshots: separate APIs, separate quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotKind {
    Instance,
    Cluster,
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnapshotKind::Instance => "DB instance",
            SnapshotKind::Cluster => "DB cluster",
        })
    }
}

/// A DB instance or cluster in the primary Region that a `[[copy.rds]]` entry selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceDb {
    /// Index of the `[[copy.rds]]` entry that selected it.
    pub entry: usize,
    pub kind: SnapshotKind,
    pub id: String,
}

impl fmt::Display for SourceDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// A DB or cluster snapshot as described by RDS, in either Region.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub kind: SnapshotKind,
    pub id: String,
    pub arn: String,
    /// The DB instance or cluster it was taken of.
    pub db: String,
    pub created: Option<OffsetDateTime>,
    pub status: String,
    pub encrypted: bool,
    pub tags: BTreeMap<String, String>,
    /// Set by RDS on a snapshot that was copied from another Region.
    pub source_region: Option<String>,
}

impl Snapshot {
    pub fn is_available(&self) -> bool {
        self.status == "available"
    }

    /// A copy still being made: it holds one of the Region's copy slots.
    pub fn is_copy_in_flight(&self) -> bool {
        let is_copy = self.source_region.is_some() || self.tags.contains_key(tags::SOURCE_ARN);
        let finished = matches!(
            self.status.as_str(),
            "available" | "failed" | "deleting" | "deleted"
        );
        is_copy && !finished
    }

    /// The plan that made this copy, if Lifeboat made it.
    pub fn owning_plan(&self) -> Option<&str> {
        self.tags.get(tags::PLAN).map(String::as_str)
    }

    /// When the data in this snapshot was taken: for a Lifeboat copy, the source's time.
    pub fn data_taken_at(&self) -> Option<OffsetDateTime> {
        self.tags
            .get(tags::SOURCE_CREATED)
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .or(self.created)
    }
}

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

/// The tags of a copy: Lifeboat's ownership tags first, then the source's own tags (AWS does not
/// copy them when tags are given), within RDS's limit of 50.
pub fn copy_tags(plan: &str, source: &Snapshot, source_region: &str) -> Vec<(String, String)> {
    let mut tags = vec![
        (tags::PLAN.to_owned(), plan.to_owned()),
        (tags::SOURCE_ARN.to_owned(), source.arn.clone()),
        (tags::SOURCE_REGION.to_owned(), source_region.to_owned()),
        (tags::SOURCE_DB.to_owned(), source.db.clone()),
    ];
    if let Some(created) = source.created
        && let Ok(text) = created.format(&time::format_description::well_known::Rfc3339)
    {
        tags.push((tags::SOURCE_CREATED.to_owned(), text));
    }
    let own = source
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with(tags::PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()));
    tags.extend(own);
    tags.truncate(MAX_TAGS);
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn copy_tags_mark_ownership_and_carry_the_sources_own_tags() {
        let source = Snapshot {
            kind: SnapshotKind::Instance,
            id: "orders-1".into(),
            arn: "arn:aws:rds:us-west-2:1:snapshot:orders-1".into(),
            db: "orders".into(),
            created: Some(time::macros::datetime!(2026-11-25 03:10 UTC)),
            status: "available".into(),
            encrypted: false,
            tags: [
                ("team", "payments"),
                ("aws:backup:source-resource", "x"),
                ("lifeboat:plan", "stale"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            source_region: None,
        };
        let tags: BTreeMap<String, String> = copy_tags("tracking", &source, "us-west-2")
            .into_iter()
            .collect();
        assert_eq!(
            tags[tags::PLAN],
            "tracking",
            "a source's own lifeboat: tags never override ownership"
        );
        assert_eq!(tags[tags::SOURCE_ARN], source.arn);
        assert_eq!(tags[tags::SOURCE_DB], "orders");
        assert_eq!(tags[tags::SOURCE_CREATED], "2026-11-25T03:10:00Z");
        assert_eq!(tags["team"], "payments");
        assert!(
            !tags.contains_key("aws:backup:source-resource"),
            "aws: tags cannot be set"
        );
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
