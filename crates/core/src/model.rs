//! The migration-progress record as typed Rust values: [`Status`], [`Timestamp`], [`SpaceKey`] and
//! [`SpaceProgress`], one per item of the table, with the [`InvalidReason`]s a record can carry
//! (they are part of what a record means: each becomes a `reason` label). Decoding from DynamoDB
//! attributes lives in the table layer; this module has no I/O and imports nothing of this crate.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A space's migration status, as the workers write it in the `status` attribute.
///
/// Anything the workers are not known to write (a typo, a future status, a missing or mistyped
/// attribute) is kept as [`Status::Unknown`] so that it is counted rather than dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pending,
    InProgress,
    Completed,
    Failed,
    Unknown,
}

impl Status {
    /// Every status, in display order; the index of each is [`Status::index`].
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Unknown,
    ];

    /// The statuses workers write (all but [`Status::Unknown`]).
    pub const KNOWN: [Status; 4] = [
        Status::Pending,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
    ];

    /// Parses the table's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "in-progress" => Some(Status::InProgress),
            "completed" => Some(Status::Completed),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }

    /// The table's spelling (and the `status` label value).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InProgress => "in-progress",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Unknown => "unknown",
        }
    }

    /// Position in [`Status::ALL`], for per-status arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in time with millisecond precision, as the workers' ISO 8601 strings carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Seconds since the Unix epoch, as Prometheus wants timestamps.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// From a `SystemTime` (times before 1970 clamp to the epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    /// As a `SystemTime` (negative times clamp to the epoch).
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.max(0) as u64)
    }

    /// Parses an RFC 3339 / ISO 8601 UTC time such as `2025-10-31T15:15:23.123Z`.
    pub fn parse_iso(s: &str) -> Option<Self> {
        humantime::parse_rfc3339(s).ok().map(Self::from_system_time)
    }

    /// Formats as the workers do (JavaScript's `toISOString()`): `2025-10-31T15:15:23.123Z`.
    pub fn to_iso(self) -> String {
        humantime::format_rfc3339_millis(self.to_system_time()).to_string()
    }

    /// This time moved back by `d`.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(d.as_millis() as i64))
    }
}

/// The primary key of one space's record: partition key `customer`, sort key `space`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpaceKey {
    pub customer: String,
    pub space: String,
}

impl SpaceKey {
    pub fn new(customer: impl Into<String>, space: impl Into<String>) -> Self {
        SpaceKey {
            customer: customer.into(),
            space: space.into(),
        }
    }
}

/// One record of the `migration-progress` table, decoded leniently: problems found while decoding
/// are listed in [`SpaceProgress::problems`] instead of failing the whole read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceProgress {
    pub key: SpaceKey,
    pub status: Status,
    pub total_uploads: u64,
    pub completed_uploads: u64,
    pub last_processed_upload: Option<String>,
    pub instance_id: Option<String>,
    pub worker_id: Option<String>,
    pub error: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub problems: Problems,
}

/// Why an item is not quite what the workers are meant to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidReason {
    /// `customer` or `space` is absent or not a string.
    MissingKey,
    /// No `status` attribute.
    MissingStatus,
    /// A `status` string that is not one of the four the workers write.
    UnknownStatus,
    /// An attribute of the wrong DynamoDB type (a number stored as a string, say).
    MistypedAttribute,
    /// An upload count that is negative, fractional, unparseable or absurdly large.
    InvalidNumber,
    /// `completedUploads` greater than `totalUploads`.
    CompletedExceedsTotal,
    /// No `updatedAt`, so staleness cannot be judged.
    MissingUpdatedAt,
    /// A `createdAt` or `updatedAt` that is not an ISO 8601 UTC time.
    InvalidTimestamp,
}

impl InvalidReason {
    /// Every reason, in a fixed order (the index of each is its bit in [`Problems`]).
    pub const ALL: [InvalidReason; 8] = [
        InvalidReason::MissingKey,
        InvalidReason::MissingStatus,
        InvalidReason::UnknownStatus,
        InvalidReason::MistypedAttribute,
        InvalidReason::InvalidNumber,
        InvalidReason::CompletedExceedsTotal,
        InvalidReason::MissingUpdatedAt,
        InvalidReason::InvalidTimestamp,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::MissingKey => "missing_key",
            InvalidReason::MissingStatus => "missing_status",
            InvalidReason::UnknownStatus => "unknown_status",
            InvalidReason::MistypedAttribute => "mistyped_attribute",
            InvalidReason::InvalidNumber => "invalid_number",
            InvalidReason::CompletedExceedsTotal => "completed_exceeds_total",
            InvalidReason::MissingUpdatedAt => "missing_updated_at",
            InvalidReason::InvalidTimestamp => "invalid_timestamp",
        }
    }

    /// Position in [`InvalidReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The set of [`InvalidReason`]s found on one item (a bit set: cheap to carry on every record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Problems(u16);

impl Problems {
    pub fn insert(&mut self, r: InvalidReason) {
        self.0 |= 1 << r.index();
    }

    pub fn contains(self, r: InvalidReason) -> bool {
        self.0 & (1 << r.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = InvalidReason> {
        InvalidReason::ALL
            .into_iter()
            .filter(move |r| self.contains(*r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_table_spelling() {
        for s in Status::KNOWN {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("paused"), None);
        assert_eq!(Status::parse("In-Progress"), None);
    }

    #[test]
    fn status_index_matches_position_in_all() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }

    #[test]
    fn timestamp_formats_like_javascript_to_iso_string() {
        let t = Timestamp::parse_iso("2025-10-31T15:15:23.123Z").unwrap();
        assert_eq!(t.to_iso(), "2025-10-31T15:15:23.123Z");
        assert_eq!(t.as_millis(), 1_761_923_723_123);
        let whole = Timestamp::parse_iso("2025-10-31T15:15:23Z").unwrap();
        assert_eq!(whole.to_iso(), "2025-10-31T15:15:23.000Z");
    }

    #[test]
    fn timestamp_rejects_garbage() {
        assert_eq!(Timestamp::parse_iso("yesterday"), None);
        assert_eq!(Timestamp::parse_iso(""), None);
    }
}
