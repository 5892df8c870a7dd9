//! What a refresh is told and what it tells: the [`RefreshSettings`] the loop reads and judges
//! the table with, and the [`RefreshReport`] of what one refresh read and changed.

use std::time::Duration;

use super::snapshot::Transitions;
use super::spaces::DEFAULT_BOUNDS;
use crate::model::{InvalidReason, SpaceProgress};

/// How the refresh loop reads and judges the table.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// Time from the start of one refresh to the start of the next.
    pub interval: Duration,
    /// Time between full scans; incremental refreshes in between.
    pub full_interval: Duration,
    /// How far before the previous refresh's start an incremental refresh looks, for index
    /// propagation delay and worker clock skew.
    pub overlap: Duration,
    /// In-progress spaces not updated for this long are stuck.
    pub stuck_after: Duration,
    /// Parallel scan segments.
    pub segments: u32,
    /// How many stuck spaces to name in metrics.
    pub max_stuck_spaces: usize,
    /// How many recently failed spaces to name in metrics.
    pub max_failed_spaces: usize,
    /// How many error classes to name in metrics (the rest are summed as other).
    pub max_error_classes: usize,
    /// Upper bounds of the duration histograms, in seconds, increasing.
    pub duration_buckets: Vec<u32>,
}

impl RefreshSettings {
    /// Settings for one-off full scans (the CLI).
    pub fn full_only(stuck_after: Duration, segments: u32) -> Self {
        RefreshSettings {
            interval: Duration::ZERO,
            full_interval: Duration::ZERO,
            overlap: Duration::ZERO,
            stuck_after,
            segments,
            max_stuck_spaces: 0,
            max_failed_spaces: 0,
            max_error_classes: usize::MAX,
            duration_buckets: DEFAULT_BOUNDS.to_vec(),
        }
    }
}

/// What one refresh read and changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Items read.
    pub items: u64,
    /// Items read with each problem (by [`InvalidReason::index`]).
    pub invalid: [u64; InvalidReason::ALL.len()],
    /// Spaces whose contribution changed (or appeared, or were removed).
    pub changed: u64,
    /// Differences a full scan found that incremental refreshes should have applied
    /// (including deletions, which the index cannot show).
    pub drift: u64,
    /// Status changes this refresh applied: a held space read with another status. A space
    /// seen for the first time or deleted is no transition; a space that changed several times
    /// between two reads counts once, from the status held to the status read.
    pub transitions: Transitions,
}

impl RefreshReport {
    pub(super) fn read(&mut self, p: &SpaceProgress) {
        self.items += 1;
        for r in p.problems.iter() {
            self.invalid[r.index()] += 1;
        }
    }
}
