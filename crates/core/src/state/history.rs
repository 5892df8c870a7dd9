//! A short memory of the exporter's own recent snapshots (completed spaces and uploads at each
//! refresh), kept by the refresh loop and published with the snapshot, from which the status
//! page computes a rate and an ETA without reading DynamoDB again.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::snapshot::Snapshot;
use crate::model::{Status, Timestamp};

/// At most this many points are kept ...
const CAPACITY: usize = 120;
/// ... and none older than this before the newest: the rate is over the last few minutes.
const WINDOW: Duration = Duration::from_secs(10 * 60);

/// What one snapshot contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub at: Timestamp,
    /// Spaces completed or failed: finished either way.
    pub spaces_finished: u64,
    pub uploads_completed: u64,
}

impl Point {
    pub fn of(snapshot: &Snapshot) -> Point {
        let by_status = snapshot.by_status();
        Point {
            at: snapshot.taken_at,
            spaces_finished: by_status[Status::Completed.index()].spaces
                + by_status[Status::Failed.index()].spaces,
            uploads_completed: by_status.iter().map(|t| t.completed_uploads).sum(),
        }
    }
}

/// Rates over the ring and what they predict (the monitor's `--watch` field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    pub window_seconds: f64,
    pub uploads_per_minute: f64,
    pub spaces_per_hour: f64,
    pub uploads_remaining: u64,
    /// Seconds until the remaining uploads are done at this rate; none while nothing moves.
    pub eta_seconds: Option<f64>,
}

/// The ring of recent points, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    points: VecDeque<Point>,
}

impl History {
    /// Adds the newest point, dropping what falls out of the window or the capacity.
    pub fn push(&mut self, point: Point) {
        if self.points.back().is_some_and(|p| p.at >= point.at) {
            self.points.pop_back();
        }
        self.points.push_back(point);
        let oldest_kept = point.at.minus(WINDOW);
        while self.points.len() > CAPACITY
            || self.points.front().is_some_and(|p| p.at < oldest_kept)
        {
            self.points.pop_front();
        }
    }

    /// The rate from the oldest to the newest point, with `uploads_remaining` left; `None`
    /// with fewer than two points.
    pub fn throughput(&self, uploads_remaining: u64) -> Option<Throughput> {
        let (first, last) = (self.points.front()?, self.points.back()?);
        let window_ms = last.at.as_millis() - first.at.as_millis();
        if window_ms <= 0 {
            return None;
        }
        let minutes = window_ms as f64 / 60_000.0;
        let uploads_per_minute = last
            .uploads_completed
            .saturating_sub(first.uploads_completed) as f64
            / minutes;
        let spaces_per_hour =
            last.spaces_finished.saturating_sub(first.spaces_finished) as f64 / minutes * 60.0;
        Some(Throughput {
            window_seconds: window_ms as f64 / 1000.0,
            uploads_per_minute,
            spaces_per_hour,
            uploads_remaining,
            eta_seconds: (uploads_per_minute > 0.0)
                .then(|| uploads_remaining as f64 / uploads_per_minute * 60.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: i64, spaces: u64, uploads: u64) -> Point {
        Point {
            at: Timestamp::from_millis(1_800_000_000_000 + second * 1000),
            spaces_finished: spaces,
            uploads_completed: uploads,
        }
    }

    #[test]
    fn the_rate_spans_the_ring_and_predicts_the_remaining_uploads() {
        let mut h = History::default();
        assert_eq!(h.throughput(100), None);
        h.push(point(0, 10, 1_000));
        assert_eq!(h.throughput(100), None, "one point is no rate");
        h.push(point(30, 12, 1_300));
        h.push(point(60, 15, 1_600));
        let t = h.throughput(1_200).expect("two points or more");
        assert_eq!(t.window_seconds, 60.0);
        assert_eq!(t.uploads_per_minute, 600.0);
        assert_eq!(t.spaces_per_hour, 300.0);
        assert_eq!(t.eta_seconds, Some(120.0));
    }

    #[test]
    fn old_points_leave_the_ring_and_a_still_migration_has_no_eta() {
        let mut h = History::default();
        for s in 0..2_000 {
            h.push(point(s, 5, 500));
        }
        assert!(h.points.len() <= CAPACITY);
        let t = h.throughput(10).expect("a rate");
        assert!(t.window_seconds <= WINDOW.as_secs_f64());
        assert_eq!(t.uploads_per_minute, 0.0);
        assert_eq!(t.eta_seconds, None);
    }
}
