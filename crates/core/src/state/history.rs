//! A short memory of recent snapshots (spaces finished, uploads completed and in all at each
//! refresh, overall and per instance), kept by the exporter's refresh loop and the monitor's
//! `--watch`, from which the report computes rates, an ETA and the burn-down without reading
//! DynamoDB again.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::snapshot::Snapshot;
use crate::model::{Status, Timestamp};

/// At most this many points are kept ...
pub const CAPACITY: usize = 120;
/// ... and none older than this before the newest: the rate is over the last few minutes.
const WINDOW: Duration = Duration::from_secs(10 * 60);

/// What one snapshot contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub at: Timestamp,
    /// Spaces completed or failed: finished either way.
    pub spaces_finished: u64,
    pub uploads_completed: u64,
    /// Uploads in all (`totalUploads` summed): what remained is this minus the completed.
    pub uploads_total: u64,
    /// Uploads completed per instance, by instance id (shared: clones of a history are cheap).
    pub instances: Arc<BTreeMap<String, u64>>,
}

impl Point {
    pub fn of(snapshot: &Snapshot) -> Point {
        let by_status = snapshot.by_status();
        let mut instances: BTreeMap<String, u64> = BTreeMap::new();
        for (key, stats) in &snapshot.workers {
            let completed: u64 = stats.by_status.iter().map(|t| t.completed_uploads).sum();
            *instances.entry(key.instance_id.clone()).or_default() += completed;
        }
        Point {
            at: snapshot.taken_at,
            spaces_finished: by_status[Status::Completed.index()].spaces
                + by_status[Status::Failed.index()].spaces,
            uploads_completed: by_status.iter().map(|t| t.completed_uploads).sum(),
            uploads_total: by_status.iter().map(|t| t.uploads).sum(),
            instances: Arc::new(instances),
        }
    }
}

impl Point {
    /// Uploads not yet completed at this point.
    pub fn uploads_remaining(&self) -> u64 {
        self.uploads_total.saturating_sub(self.uploads_completed)
    }
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
        let oldest_kept = point.at.minus(WINDOW);
        self.points.push_back(point);
        while self.points.len() > CAPACITY
            || self.points.front().is_some_and(|p| p.at < oldest_kept)
        {
            self.points.pop_front();
        }
    }

    /// The oldest and the newest point, when there are two or more.
    pub fn span(&self) -> Option<(&Point, &Point)> {
        match (self.points.front(), self.points.back()) {
            (Some(first), Some(last)) if self.points.len() > 1 => Some((first, last)),
            _ => None,
        }
    }

    /// Every point kept, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.points.iter()
    }

    /// Points kept.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point is kept.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// A point `second`s after a fixed instant with nothing remaining, for this crate's tests.
#[cfg(test)]
pub(crate) fn test_point(second: i64, spaces: u64, uploads: u64) -> Point {
    Point {
        at: Timestamp::from_millis(1_800_000_000_000 + second * 1000),
        spaces_finished: spaces,
        uploads_completed: uploads,
        uploads_total: uploads,
        instances: Arc::default(),
    }
}

/// A point `second`s after a fixed instant with uploads completed per instance, for this
/// crate's tests.
#[cfg(test)]
pub(crate) fn test_instances_point(second: i64, instances: &[(&str, u64)]) -> Point {
    let map = instances
        .iter()
        .map(|&(id, completed)| (id.to_string(), completed))
        .collect();
    Point {
        instances: Arc::new(map),
        ..test_point(second, 0, instances.iter().map(|i| i.1).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::test_point as point;
    use super::*;

    #[test]
    fn the_span_runs_from_the_oldest_to_the_newest_point() {
        let mut h = History::default();
        assert_eq!(h.span(), None);
        h.push(point(0, 10, 1_000));
        assert_eq!(h.span(), None, "one point is no span");
        h.push(point(30, 12, 1_300));
        h.push(point(60, 15, 1_600));
        assert_eq!(
            h.span(),
            Some((&point(0, 10, 1_000), &point(60, 15, 1_600)))
        );
        h.push(point(60, 16, 1_700));
        assert_eq!(
            h.len(),
            3,
            "a point at the same instant replaces the newest"
        );
    }

    #[test]
    fn old_points_leave_the_ring() {
        let mut h = History::default();
        for s in 0..2_000 {
            h.push(point(s, 5, 500));
        }
        assert!(h.len() <= CAPACITY);
        let (first, last) = h.span().expect("a span");
        assert!(last.at.as_millis() - first.at.as_millis() <= WINDOW.as_millis() as i64);
    }
}
