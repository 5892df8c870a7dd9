//! The sums a snapshot is made of: [`Totals`] per status, [`WorkerStats`] per instance/worker
//! pair, [`StuckSpace`]s, and the [`FoldContext`] that judges staleness. Kept up to date by
//! [`crate::state::TableState`].

use std::time::Duration;

use crate::model::{Status, Timestamp};

/// Sums over a set of spaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub spaces: u64,
    pub uploads: u64,
    pub completed_uploads: u64,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.spaces += other.spaces;
        self.uploads += other.uploads;
        self.completed_uploads += other.completed_uploads;
    }

    pub fn sub(&mut self, other: &Totals) {
        self.spaces -= other.spaces;
        self.uploads -= other.uploads;
        self.completed_uploads -= other.completed_uploads;
    }
}

/// What one (instance, worker) pair holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Indexed by [`Status::index`].
    pub by_status: [Totals; Status::ALL.len()],
    /// In-progress spaces not updated since the stuck cutoff.
    pub stuck: u64,
    /// The oldest `updatedAt` among in-progress spaces, if any.
    pub oldest_in_progress_update: Option<Timestamp>,
}

impl WorkerStats {
    pub fn status(&self, s: Status) -> &Totals {
        &self.by_status[s.index()]
    }

    /// Totals over every status.
    pub fn all(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.by_status {
            t.add(s);
        }
        t
    }
}

/// A stuck space, as listed in `migration_stuck_space_info`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StuckSpace {
    /// First field: the order is oldest first, then by space for determinism.
    pub updated_at: Timestamp,
    pub space: String,
    pub instance_id: String,
    pub worker_id: String,
}

/// What a fold needs to know besides the records.
#[derive(Debug, Clone, Copy)]
pub struct FoldContext {
    /// When the read started; staleness is judged against it.
    pub now: Timestamp,
    /// In-progress spaces not updated for this long are stuck.
    pub stuck_after: Duration,
    /// How many stuck spaces to keep by name (the oldest).
    pub max_stuck_spaces: usize,
}

impl FoldContext {
    /// In-progress spaces last updated before this are stuck.
    pub fn stuck_cutoff(&self) -> Timestamp {
        self.now.minus(self.stuck_after)
    }
}
