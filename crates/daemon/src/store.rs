//! What the exporter publishes to its renderers: the last good [`Snapshot`] and the exporter's
//! own [`Health`] (and the recent progress [`History`]), swapped atomically in a [`SnapshotStore`]. The refresh loop is the only writer;
//! the HTTP handlers only read, and never wait for a refresh.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use migration_core::model::{InvalidReason, Timestamp};
use migration_core::state::history::History;
use migration_core::state::snapshot::{Snapshot, Transitions};
use migration_core::state::tracker::{RefreshKind, RefreshReport};
use migration_core::table::ErrorKind;

/// The exporter's own health: counters since start and the outcome of the last refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Health {
    /// Whether the most recent refresh succeeded.
    pub(crate) last_refresh_ok: bool,
    /// When the last successful refresh finished.
    pub(crate) last_success: Option<Timestamp>,
    /// Duration of the last successful refresh of each kind, in seconds.
    pub(crate) last_duration_seconds: [Option<f64>; 2],
    /// Successful refreshes of each kind.
    pub(crate) refreshes: [u64; 2],
    /// Items read by refreshes of each kind.
    pub(crate) items_read: [u64; 2],
    /// Failed refreshes by [`ErrorKind`].
    pub(crate) errors: [u64; ErrorKind::ALL.len()],
    /// Invalid items read, by [`InvalidReason`].
    pub(crate) invalid_items: [u64; InvalidReason::ALL.len()],
    /// Items full scans found different from the incremental state.
    pub(crate) drift_items: u64,
    /// Status changes observed since start.
    pub(crate) transitions: Transitions,
}

impl Health {
    /// Accounts for a successful refresh.
    pub(crate) fn record_success(
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
        self.transitions.add(&report.transitions);
    }

    /// Accounts for a failed refresh.
    pub(crate) fn record_failure(&mut self, kind: ErrorKind) {
        self.last_refresh_ok = false;
        self.errors[kind.index()] += 1;
    }
}

/// What renderers see: the last good snapshot (none before the first success), health, and the
/// recent snapshots' progress (for rates).
#[derive(Debug, Clone, Default)]
pub(crate) struct Published {
    pub(crate) snapshot: Option<Arc<Snapshot>>,
    pub(crate) health: Health,
    pub(crate) history: History,
}

/// Holds the latest [`Published`] state; reads never wait for a refresh.
#[derive(Debug, Default)]
pub(crate) struct SnapshotStore {
    current: ArcSwap<Published>,
}

impl SnapshotStore {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The latest state.
    pub(crate) fn load(&self) -> Arc<Published> {
        self.current.load_full()
    }

    /// Replaces the state (refresh loop only).
    pub(crate) fn publish(&self, state: Published) {
        self.current.store(Arc::new(state));
    }

    /// Whether a first refresh has succeeded.
    pub(crate) fn is_ready(&self) -> bool {
        self.current.load().snapshot.is_some()
    }
}
