//! The report model: every figure a person reads about the migration, computed once from a
//! snapshot and its history. The status page, `/api/status`, `migration-monitor --json` and the
//! monitor's text views take their figures from a [`Report`] and only format them; a new figure
//! is added here, once, and each front end shows it.
//!
//! [`counts`] holds the shapes (spaces by status, part of a whole), [`rollup`] the per-instance
//! and per-worker sums in id order, [`rate`] the throughput over the history, [`eta`] when each
//! instance and the migration end, [`series`] the recent window as a burn-down and per-instance
//! series for the page's pictures, [`durations`] how long spaces take, [`lists`] the named stuck
//! and failed spaces, [`failures`] the failed spaces by error class. Every type serialises with
//! the field names of `/api/status` (version 1) and `--json`.

pub mod counts;
pub mod durations;
pub mod eta;
pub mod failures;
pub mod lists;
pub mod rate;
pub mod rollup;
pub mod series;

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::model::Timestamp;
use crate::state::history::History;
use crate::state::snapshot::Snapshot;
pub use counts::{Progress, StatusCounts};
pub use durations::DurationSummary;
pub use eta::{Eta, EtaState, InstanceEta, MigrationEta};
pub use failures::FailureClassReport;
pub use lists::{FailedSpaceReport, StuckSpaceReport};
pub use rate::Throughput;
pub use rollup::{InstanceReport, WorkerReport};
pub use series::{Burndown, BurndownPoint, InstanceSeries, SeriesPoint};

/// The migration as of one snapshot. Serialises as the figures' part of `/api/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// When the read behind the snapshot started.
    #[serde(skip)]
    pub taken_at: Timestamp,
    /// The stuck threshold the snapshot was judged with.
    #[serde(skip)]
    pub stuck_after: Duration,
    pub spaces: StatusCounts,
    pub spaces_progress: Progress,
    pub uploads: Progress,
    pub stuck: u64,
    pub invalid_items: u64,
    /// Over the history's span; `None` before two snapshots.
    pub throughput: Option<Throughput>,
    /// When each instance and the migration end, over the history's span; `None` before two
    /// snapshots.
    pub eta: Option<MigrationEta>,
    /// The history's window as series (the burn-down and each instance's uploads completed);
    /// `None` before two snapshots.
    pub burndown: Option<Burndown>,
    /// How long completed spaces took, over the whole table; none before a completed space.
    pub durations: Option<DurationSummary>,
    /// In id order.
    pub instances: Vec<InstanceReport>,
    /// In (instance, worker) id order.
    pub workers: Vec<WorkerReport>,
    /// Workers marked `silent`.
    pub silent_workers: u64,
    /// Oldest first, at most `--metrics.max-space-series`.
    pub stuck_spaces: Vec<StuckSpaceReport>,
    /// Newest first, at most `--metrics.max-failed-space-series`.
    pub failed_spaces: Vec<FailedSpaceReport>,
    /// The failed spaces by error class: most first, at most `--metrics.max-error-classes`,
    /// then `other`.
    pub failure_classes: Vec<FailureClassReport>,
}

impl Report {
    /// The report of `snap`, with rates over `history`, as of `now` (for how long a space has
    /// been stuck or failed).
    pub fn new(snap: &Snapshot, history: &History, now: Timestamp) -> Report {
        let by_status = snap.by_status();
        let spaces = StatusCounts::of_totals(&by_status);
        let uploads = Progress::uploads_of(&by_status);
        let workers = rollup::workers(snap, now);
        let instances = rollup::instances(&workers, snap);
        Report {
            taken_at: snap.taken_at,
            stuck_after: snap.stuck_after,
            spaces,
            spaces_progress: spaces.progress(),
            uploads,
            stuck: snap.stuck_total(),
            invalid_items: snap.invalid_items,
            throughput: Throughput::over(history),
            eta: MigrationEta::over(history, &instances),
            burndown: Burndown::over(history, &instances),
            durations: rollup::overall_durations(snap),
            instances,
            silent_workers: workers.iter().filter(|w| w.silent).count() as u64,
            workers,
            stuck_spaces: lists::stuck(snap, now),
            failed_spaces: lists::failed(snap, now),
            failure_classes: failures::classes(&snap.failure_classes),
        }
    }

    /// The report before any snapshot: every figure zero, every list empty.
    pub fn empty(now: Timestamp) -> Report {
        Report {
            taken_at: now,
            stuck_after: Duration::ZERO,
            spaces: StatusCounts::default(),
            spaces_progress: Progress::default(),
            uploads: Progress::default(),
            stuck: 0,
            invalid_items: 0,
            throughput: None,
            eta: None,
            burndown: None,
            durations: None,
            instances: Vec::new(),
            workers: Vec::new(),
            silent_workers: 0,
            stuck_spaces: Vec::new(),
            failed_spaces: Vec::new(),
            failure_classes: Vec::new(),
        }
    }

    /// One instance's roll-up, if it has any space.
    pub fn instance(&self, instance_id: &str) -> Option<&InstanceReport> {
        self.instances.iter().find(|i| i.instance_id == instance_id)
    }

    /// One instance's workers, in id order.
    pub fn workers_of<'a>(
        &'a self,
        instance_id: &'a str,
    ) -> impl Iterator<Item = &'a WorkerReport> {
        self.workers
            .iter()
            .filter(move |w| w.instance_id == instance_id)
    }
}

/// Seconds from `from` to `to` (negative when `to` is earlier).
pub fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millis() - from.as_millis()) as f64 / 1000.0
}

/// Serialises a timestamp as ISO 8601.
fn iso<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_iso())
}

/// Serialises an optional timestamp as ISO 8601 or `null`.
fn iso_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&t.to_iso()),
        None => s.serialize_none(),
    }
}
