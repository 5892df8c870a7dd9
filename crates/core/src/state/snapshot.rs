//! The immutable result of a refresh ([`Snapshot`]) and the sums it is made of: [`Totals`] per
//! status, [`WorkerStats`] per instance/worker pair, [`StuckSpace`]s, [`FailedSpace`]s, the
//! [`Transitions`] a refresh observed, and the [`FoldContext`]
//! that judges staleness. Built by [`super::spaces::TableState`]; renderers (the `/metrics`
//! collector, the status page, the CLI views) only read it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::failure::{ErrorClass, Retryable};
use crate::model::{InvalidReason, Status, Timestamp};

/// An (instance, worker) pair; missing ids are empty strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerKey {
    pub instance_id: String,
    pub worker_id: String,
}

/// The table's state as of one refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When the read that produced it started: the table is at least this fresh, so staleness
    /// (stuck spaces, data age) is judged against it.
    pub taken_at: Timestamp,
    /// The stuck threshold it was computed with.
    pub stuck_after: Duration,
    /// Per (instance, worker), sorted.
    pub workers: BTreeMap<WorkerKey, WorkerStats>,
    /// The oldest stuck spaces, oldest first, at most the configured number.
    pub stuck_spaces: Vec<StuckSpace>,
    /// The most recently failed spaces, newest first, at most the configured number.
    pub failed_spaces: Vec<FailedSpace>,
    /// The failed spaces by error class.
    pub failure_classes: FailureClasses,
    /// Completed spaces by how long they took, per instance (by id; only instances with a
    /// completed space).
    pub durations: BTreeMap<String, DurationHistogram>,
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
    /// The newest `updatedAt` among all the pair's spaces, whatever their status: when the
    /// worker last wrote anything (`None` when none of its spaces has a readable one).
    pub last_update: Option<Timestamp>,
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

/// A failed space, as listed in `migration_failed_space_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSpace {
    /// Its `updatedAt`: when it was marked failed.
    pub failed_at: Timestamp,
    pub space: String,
    pub instance_id: String,
    pub worker_id: String,
    /// The class of its error.
    pub class: ErrorClass,
}

/// The failed spaces by error class: the classes with the most failed spaces, and the rest
/// summed, so that the counts always add up to the failed spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureClasses {
    /// Most failed spaces first (ties by class), at most the configured number.
    pub top: Vec<ClassCount>,
    /// Failed spaces of the classes not in `top`, by [`Retryable::index`].
    pub other: [u64; Retryable::ALL.len()],
    /// Distinct classes among the failed spaces.
    pub distinct: u64,
}

impl FailureClasses {
    /// Failed spaces in all: the listed classes and the others.
    pub fn failed(&self) -> u64 {
        self.top.iter().map(|c| c.failed).sum::<u64>() + self.other.iter().sum::<u64>()
    }
}

/// Completed spaces by how long they took (`createdAt` to the completing `updatedAt`), as a
/// Prometheus histogram holds them: cumulative counts per upper bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationHistogram {
    /// Upper bounds, in seconds, increasing (`+Inf` is implied: it is `count`).
    pub bounds: std::sync::Arc<[u32]>,
    /// Spaces that took at most each bound.
    pub cumulative: Vec<u64>,
    /// Spaces measured.
    pub count: u64,
    /// Their durations' sum, in seconds (each rounded up to the second, as the buckets judge it).
    pub sum_seconds: u64,
    /// Completed spaces without a readable `createdAt` or `updatedAt`: not measured.
    pub missing_timestamps: u64,
    /// Completed spaces whose `updatedAt` is before their `createdAt`: not measured.
    pub completed_before_created: u64,
}

impl DurationHistogram {
    /// Adds every count of `other` (same bounds).
    pub fn merge(&mut self, other: &DurationHistogram) {
        for (a, b) in self.cumulative.iter_mut().zip(&other.cumulative) {
            *a += b;
        }
        self.count += other.count;
        self.sum_seconds += other.sum_seconds;
        self.missing_timestamps += other.missing_timestamps;
        self.completed_before_created += other.completed_before_created;
    }
}

/// One class's failed spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCount {
    pub class: ErrorClass,
    pub failed: u64,
    /// The newest `updatedAt` of its failed spaces (none when none has one).
    pub newest: Option<Timestamp>,
    /// Its newest failed spaces, newest first, at most a few.
    pub examples: Vec<String>,
}

impl FailedSpace {
    /// Newest first, then by space for determinism.
    pub fn order(&self, other: &FailedSpace) -> std::cmp::Ordering {
        other
            .failed_at
            .cmp(&self.failed_at)
            .then_with(|| self.space.cmp(&other.space))
    }
}

/// Status changes observed, counted by (from, to), indexed by [`Status::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transitions(pub [[u64; Status::ALL.len()]; Status::ALL.len()]);

impl Transitions {
    /// Counts one change of status (nothing when `from == to`).
    pub fn count(&mut self, from: Status, to: Status) {
        if from != to {
            self.0[from.index()][to.index()] += 1;
        }
    }

    /// Changes from `from` to `to`.
    pub fn get(&self, from: Status, to: Status) -> u64 {
        self.0[from.index()][to.index()]
    }

    /// Adds every count of `other`.
    pub fn add(&mut self, other: &Transitions) {
        for (row, o) in self.0.iter_mut().zip(&other.0) {
            for (a, b) in row.iter_mut().zip(o) {
                *a += b;
            }
        }
    }
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
    /// How many failed spaces to keep by name (the most recently failed).
    pub max_failed_spaces: usize,
    /// How many error classes to list (the rest are summed as other).
    pub max_error_classes: usize,
}

impl FoldContext {
    /// In-progress spaces last updated before this are stuck.
    pub fn stuck_cutoff(&self) -> Timestamp {
        self.now.minus(self.stuck_after)
    }
}
