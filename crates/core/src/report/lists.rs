//! The named spaces of the report: the stuck ones (oldest first) and the recently failed ones
//! (newest first), each with how long it has been so, as the capped lists of the snapshot hold
//! them (`--metrics.max-space-series`, `--metrics.max-failed-space-series`).

use serde::Serialize;

use super::{iso, seconds_between};
use crate::failure::Retryable;
use crate::model::Timestamp;
use crate::state::snapshot::Snapshot;

/// A stuck space: in progress, with no update for longer than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StuckSpaceReport {
    pub space: String,
    pub instance_id: String,
    pub worker_id: String,
    #[serde(serialize_with = "iso")]
    pub updated_at: Timestamp,
    pub stuck_for_seconds: f64,
}

/// A recently failed space, with its error class. Its error message is in the table only:
/// `migration-monitor --failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedSpaceReport {
    pub space: String,
    pub instance_id: String,
    pub worker_id: String,
    #[serde(serialize_with = "iso")]
    pub failed_at: Timestamp,
    pub failed_for_seconds: f64,
    /// The class of its error, and whether a retry can help.
    pub error_class: String,
    pub retryable: Retryable,
}

/// The snapshot's stuck spaces as of `now`, oldest first.
pub fn stuck(snap: &Snapshot, now: Timestamp) -> Vec<StuckSpaceReport> {
    snap.stuck_spaces
        .iter()
        .map(|s| StuckSpaceReport {
            space: s.space.clone(),
            instance_id: s.instance_id.clone(),
            worker_id: s.worker_id.clone(),
            updated_at: s.updated_at,
            stuck_for_seconds: seconds_between(s.updated_at, now),
        })
        .collect()
}

/// The snapshot's recently failed spaces as of `now`, newest first.
pub fn failed(snap: &Snapshot, now: Timestamp) -> Vec<FailedSpaceReport> {
    snap.failed_spaces
        .iter()
        .map(|s| FailedSpaceReport {
            space: s.space.clone(),
            instance_id: s.instance_id.clone(),
            worker_id: s.worker_id.clone(),
            failed_at: s.failed_at,
            failed_for_seconds: seconds_between(s.failed_at, now),
            error_class: s.class.name.to_string(),
            retryable: s.class.retryable,
        })
        .collect()
}
