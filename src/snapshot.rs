//! The immutable result of a refresh ([`Snapshot`]), the exporter's own health ([`Health`]), and
//! the [`SnapshotStore`] that publishes both atomically. The refresh loop is the only writer;
//! renderers (the `/metrics` collector, the CLI views) only read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::aggregate::{StuckSpace, Totals, WorkerStats};
use crate::error::ErrorKind;
use crate::item::InvalidReason;
use crate::model::{Status, Timestamp};
use crate::refresh::RefreshReport;

/// An (instance, worker) pair; missing ids are empty strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerKey {
    pub instance_id: String,
    pub worker_id: String,
}

/// The table's state as of one refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When the read that produced it started.
    pub taken_at: Timestamp,
    /// The stuck threshold it was computed with.
    pub stuck_after: Duration,
    /// Per (instance, worker), sorted.
    pub workers: BTreeMap<WorkerKey, WorkerStats>,
    /// The oldest stuck spaces, oldest first, at most the configured number.
    pub stuck_spaces: Vec<StuckSpace>,
    /// Items read with each [`InvalidReason`] (by index).
    pub invalid: [u64; InvalidReason::ALL.len()],
    /// Items read.
    pub items: u64,
    /// Items read with at least one problem.
    pub invalid_items: u64,
}

impl Snapshot {
    /// Totals over all workers, per status (by [`Status::index`]).
    pub fn by_status(&self) -> [Totals; Status::ALL.len()] {
        let mut out = [Totals::default(); Status::ALL.len()];
        for stats in self.workers.values() {
            for (o, t) in out.iter_mut().zip(&stats.by_status) {
                o.spaces += t.spaces;
                o.uploads += t.uploads;
                o.completed_uploads += t.completed_uploads;
            }
        }
        out
    }

    /// Stuck spaces over all workers.
    pub fn stuck_total(&self) -> u64 {
        self.workers.values().map(|w| w.stuck).sum()
    }
}

/// Which kind of refresh produced a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshKind {
    /// A parallel scan of the whole table.
    Full,
    /// Queries of the status index for recent changes.
    Incremental,
}

impl RefreshKind {
    pub const ALL: [RefreshKind; 2] = [RefreshKind::Full, RefreshKind::Incremental];

    pub fn as_str(self) -> &'static str {
        match self {
            RefreshKind::Full => "full",
            RefreshKind::Incremental => "incremental",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The exporter's own health: counters since start and the outcome of the last refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// Whether the most recent refresh succeeded.
    pub last_refresh_ok: bool,
    /// When the last successful refresh finished.
    pub last_success: Option<Timestamp>,
    /// Duration of the last successful refresh of each kind, in seconds.
    pub last_duration_seconds: [Option<f64>; 2],
    /// Successful refreshes of each kind.
    pub refreshes: [u64; 2],
    /// Items read by refreshes of each kind.
    pub items_read: [u64; 2],
    /// Failed refreshes by [`ErrorKind`].
    pub errors: [u64; ErrorKind::ALL.len()],
    /// Invalid items read, by [`InvalidReason`].
    pub invalid_items: [u64; InvalidReason::ALL.len()],
    /// Items full scans found different from the incremental state.
    pub drift_items: u64,
}

impl Health {
    /// Accounts for a successful refresh.
    pub fn record_success(
        &mut self,
        kind: RefreshKind,
        report: &RefreshReport,
        took: Duration,
        at: Timestamp,
    ) {
        self.last_refresh_ok = true;
        self.last_success = Some(at);
        self.last_duration_seconds[kind.index()] = Some(took.as_secs_f64());
        self.refreshes[kind.index()] += 1;
        self.items_read[kind.index()] += report.items;
        for (a, b) in self.invalid_items.iter_mut().zip(report.invalid) {
            *a += b;
        }
        self.drift_items += report.drift;
    }

    /// Accounts for a failed refresh.
    pub fn record_failure(&mut self, kind: ErrorKind) {
        self.last_refresh_ok = false;
        self.errors[kind.index()] += 1;
    }
}

/// What renderers see: the last good snapshot (none before the first success) and health.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub snapshot: Option<Arc<Snapshot>>,
    pub health: Health,
}

/// Holds the latest [`Published`] state; reads never wait for a refresh.
#[derive(Debug, Default)]
pub struct SnapshotStore {
    current: ArcSwap<Published>,
}

impl SnapshotStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest state.
    pub fn load(&self) -> Arc<Published> {
        self.current.load_full()
    }

    /// Replaces the state (refresh loop only).
    pub fn publish(&self, state: Published) {
        self.current.store(Arc::new(state));
    }

    /// Whether a first refresh has succeeded.
    pub fn is_ready(&self) -> bool {
        self.current.load().snapshot.is_some()
    }
}
