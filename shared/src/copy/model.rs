//! What the copy task knows about snapshots, and how it names and marks the copies it makes.

use std::collections::BTreeMap;
use std::fmt;

pub use crate::snapshots::SnapshotKind;
use time::OffsetDateTime;

pub(super) use crate::copies::tags;
pub use crate::copies::target_identifier;

/// An RDS resource has at most 50 tags.
const MAX_TAGS: usize = 50;

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
    /// The option group of a DB instance snapshot (cluster snapshots have none).
    pub option_group: Option<String>,
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

    /// Whether `plan` made this copy: see [`crate::copies::is_plans_copy`].
    pub fn is_plans_copy(&self, plan: &str) -> bool {
        crate::copies::is_plans_copy(plan, &self.id, &self.tags)
    }

    /// A non-default option group, which a cross-Region copy must replace with one of the
    /// recovery Region (AWS's default groups are named `default:<engine>-<version>`).
    pub fn custom_option_group(&self) -> Option<&str> {
        self.option_group
            .as_deref()
            .filter(|group| !group.is_empty() && !group.starts_with("default:"))
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

/// The tags of a copy: Lifeboat's ownership tags first, then the source's own tags (AWS does not
/// copy them when tags are given), within RDS's limit of 50.
pub(super) fn copy_tags(
    plan: &str,
    source: &Snapshot,
    source_region: &str,
) -> Vec<(String, String)> {
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
            option_group: None,
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
}
