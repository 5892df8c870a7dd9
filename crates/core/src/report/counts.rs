//! Spaces by status ([`StatusCounts`]) and a part of a whole ([`Progress`]): the two shapes
//! every figure of the report is made of, with the one definition of a percentage.

use serde::Serialize;

use crate::model::Status;
use crate::state::snapshot::{Totals, WorkerStats};

/// Spaces by status; `total` is their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub total: u64,
    pub completed: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub failed: u64,
    /// Missing or unrecognised status.
    pub unknown: u64,
}

impl StatusCounts {
    /// Adds `n` spaces of `status`.
    pub fn add(&mut self, status: Status, n: u64) {
        self.total += n;
        match status {
            Status::Completed => self.completed += n,
            Status::InProgress => self.in_progress += n,
            Status::Pending => self.pending += n,
            Status::Failed => self.failed += n,
            Status::Unknown => self.unknown += n,
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &StatusCounts) {
        for status in Status::ALL {
            self.add(status, other.get(status));
        }
    }

    /// The count of one status.
    pub fn get(&self, status: Status) -> u64 {
        match status {
            Status::Completed => self.completed,
            Status::InProgress => self.in_progress,
            Status::Pending => self.pending,
            Status::Failed => self.failed,
            Status::Unknown => self.unknown,
        }
    }

    /// The counts of per-status totals (indexed by [`Status::index`]).
    pub fn of_totals(by_status: &[Totals]) -> StatusCounts {
        let mut c = StatusCounts::default();
        for (status, t) in Status::ALL.iter().zip(by_status) {
            c.add(*status, t.spaces);
        }
        c
    }

    /// The counts of a list of records' statuses.
    pub fn of_statuses(statuses: impl IntoIterator<Item = Status>) -> StatusCounts {
        let mut c = StatusCounts::default();
        for s in statuses {
            c.add(s, 1);
        }
        c
    }

    /// Completed spaces of all spaces.
    pub fn progress(&self) -> Progress {
        Progress {
            completed: self.completed,
            total: self.total,
        }
    }
}

/// A part of a whole: spaces or uploads completed of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub completed: u64,
    pub total: u64,
}

impl Progress {
    /// Uploads completed of all uploads, over per-status totals.
    pub fn uploads_of(by_status: &[Totals]) -> Progress {
        Progress {
            completed: by_status.iter().map(|t| t.completed_uploads).sum(),
            total: by_status.iter().map(|t| t.uploads).sum(),
        }
    }

    /// Uploads completed of all uploads of one worker.
    pub fn uploads_of_worker(stats: &WorkerStats) -> Progress {
        let all = stats.all();
        Progress {
            completed: all.completed_uploads,
            total: all.uploads,
        }
    }

    /// Adds `other` to this.
    pub fn merge(&mut self, other: Progress) {
        self.completed += other.completed;
        self.total += other.total;
    }

    /// What is left.
    pub fn remaining(self) -> u64 {
        self.total.saturating_sub(self.completed)
    }

    /// The percentage done, 0 of nothing.
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.completed as f64 * 100.0 / self.total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_to_their_total_and_merge_by_status() {
        let mut a = StatusCounts::of_statuses([Status::Completed, Status::Failed, Status::Unknown]);
        assert_eq!((a.total, a.completed, a.failed, a.unknown), (3, 1, 1, 1));
        a.merge(&StatusCounts::of_statuses([Status::Pending]));
        assert_eq!((a.total, a.pending), (4, 1));
        assert_eq!(
            a.progress(),
            Progress {
                completed: 1,
                total: 4
            }
        );
    }

    #[test]
    fn a_percentage_of_nothing_is_zero() {
        assert_eq!(Progress::default().percent(), 0.0);
        let p = Progress {
            completed: 1,
            total: 8,
        };
        assert_eq!(p.percent(), 12.5);
        assert_eq!(p.remaining(), 7);
    }
}
