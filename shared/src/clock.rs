//! Time as every slice reads and writes it: the clock, timestamps in RFC 3339, ages in words,
//! and the wait between two looks at long work that must not outlast an invocation's deadline.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// The wall clock, in UTC: what records, reports and decisions are stamped with.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A timestamp as records and reports write it (`2026-12-02T10:42:00Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An age in seconds as people write it (`3h 12m 5s`), for reports and the CLI. A negative age
/// (a clock ahead of another) reads as none.
pub fn age_in_words(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    humantime::format_duration(Duration::from_secs(seconds)).to_string()
}

/// Sleeps `poll` when that ends before `deadline` and says so; returns false at once when it
/// would not, so long work saves its record and leaves the rest to the next invocation instead
/// of being killed mid-step.
pub async fn sleep_before(poll: Duration, deadline: Instant) -> bool {
    if Instant::now() + poll >= deadline {
        return false;
    }
    tokio::time::sleep(poll).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_write_them() {
        assert_eq!(age_in_words(3 * 3600 + 12 * 60 + 5), "3h 12m 5s");
        assert_eq!(age_in_words(-5), "0s");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let at = time::macros::datetime!(2026-12-02 10:42:00 UTC);
        assert_eq!(rfc3339(at), "2026-12-02T10:42:00Z");
    }

    #[tokio::test]
    async fn no_sleep_that_would_outlast_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(!sleep_before(Duration::from_secs(1), deadline).await);
        assert!(sleep_before(Duration::from_millis(1), deadline).await);
    }
}
