//! The recent window as series a person reads as pictures: the burn-down (uploads remaining and
//! spaces finished at each refresh of the history) and, per instance, its uploads completed.
//! Times are seconds before the newest point, as the ETA's are seconds after it, so the plot
//! runs from `-window` to `now` to `+ETA`. At most [`MAX_POINTS`] points per series.

use serde::Serialize;

use super::rollup::InstanceReport;
use crate::state::history::{self, History, Point};

/// A series never has more points than this (the history keeps no more).
pub const MAX_POINTS: usize = history::CAPACITY;

/// The whole table at one refresh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurndownPoint {
    pub seconds_ago: f64,
    pub uploads_completed: u64,
    pub uploads_remaining: u64,
    /// Completed or failed.
    pub spaces_finished: u64,
}

/// One instance's uploads completed at one refresh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub seconds_ago: f64,
    pub uploads_completed: u64,
}

/// One instance's uploads completed over the window, oldest first (only the refreshes that saw
/// it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSeries {
    pub instance_id: String,
    pub points: Vec<SeriesPoint>,
}

/// The history's window as series; `None` before two points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burndown {
    pub window_seconds: f64,
    /// Oldest first; the last is now (`seconds_ago` 0).
    pub points: Vec<BurndownPoint>,
    /// In the report's instance order.
    pub instances: Vec<InstanceSeries>,
}

impl Burndown {
    /// The series of `history` for the whole table and each of `instances`.
    pub fn over(history: &History, instances: &[InstanceReport]) -> Option<Burndown> {
        let (first, last) = history.span()?;
        let newest = last.at.as_millis();
        let ago = |p: &Point| (newest - p.at.as_millis()) as f64 / 1000.0;
        let all: Vec<&Point> = thin(&history.points().collect::<Vec<_>>());
        let points = all
            .iter()
            .map(|p| BurndownPoint {
                seconds_ago: ago(p),
                uploads_completed: p.uploads_completed,
                uploads_remaining: p.uploads_remaining(),
                spaces_finished: p.spaces_finished,
            })
            .collect();
        let instances = instances
            .iter()
            .map(|i| InstanceSeries {
                instance_id: i.instance_id.clone(),
                points: all
                    .iter()
                    .filter_map(|p| {
                        Some(SeriesPoint {
                            seconds_ago: ago(p),
                            uploads_completed: *p.instances.get(&i.instance_id)?,
                        })
                    })
                    .collect(),
            })
            .collect();
        Some(Burndown {
            window_seconds: ago(first),
            points,
            instances,
        })
    }

    /// One instance's series, if it has any space.
    pub fn instance(&self, instance_id: &str) -> Option<&InstanceSeries> {
        self.instances.iter().find(|i| i.instance_id == instance_id)
    }

    /// The oldest and the newest point.
    pub fn ends(&self) -> Option<(&BurndownPoint, &BurndownPoint)> {
        Some((self.points.first()?, self.points.last()?))
    }
}

impl InstanceSeries {
    /// The oldest and the newest point.
    pub fn ends(&self) -> Option<(&SeriesPoint, &SeriesPoint)> {
        Some((self.points.first()?, self.points.last()?))
    }
}

/// At most [`MAX_POINTS`] of `points`, evenly spread, the first and the last always kept.
fn thin<T: Copy>(points: &[T]) -> Vec<T> {
    let n = points.len();
    if n <= MAX_POINTS {
        return points.to_vec();
    }
    (0..MAX_POINTS)
        .map(|i| points[i * (n - 1) / (MAX_POINTS - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::report::counts::{Progress, StatusCounts};
    use crate::state::history::test_instances_point;

    fn instance(id: &str) -> InstanceReport {
        InstanceReport {
            instance_id: id.to_string(),
            spaces: StatusCounts::default(),
            spaces_progress: Progress::default(),
            uploads: Progress::default(),
            stuck: 0,
            durations: None,
        }
    }

    #[test]
    fn the_burn_down_counts_back_from_the_newest_point() {
        let mut h = History::default();
        assert_eq!(Burndown::over(&h, &[]), None);
        for (s, a, b, finished) in [(0, 100, 0, 1), (30, 150, 10, 2), (60, 210, 30, 4)] {
            let mut p = test_instances_point(s, &[("a", a), ("b", b)]);
            p.uploads_total = 1_000;
            p.spaces_finished = finished;
            if s == 0 {
                p.instances = Arc::new([("a".to_string(), a)].into());
            }
            h.push(p);
        }
        let b = Burndown::over(&h, &[instance("a"), instance("b"), instance("c")]).expect("two");
        assert_eq!(b.window_seconds, 60.0);
        let ago: Vec<f64> = b.points.iter().map(|p| p.seconds_ago).collect();
        assert_eq!(ago, [60.0, 30.0, 0.0]);
        let remaining: Vec<u64> = b.points.iter().map(|p| p.uploads_remaining).collect();
        assert_eq!(remaining, [900, 840, 760]);
        assert_eq!(b.points[2].spaces_finished, 4);
        let a = b.instance("a").expect("a");
        assert_eq!(
            a.ends()
                .map(|(f, l)| (f.uploads_completed, l.uploads_completed)),
            Some((100, 210))
        );
        assert_eq!(
            b.instance("b").expect("b").points.len(),
            2,
            "b joined later"
        );
        assert!(b.instance("c").expect("c").points.is_empty());
    }

    #[test]
    fn a_long_series_is_thinned_keeping_both_ends() {
        let v: Vec<usize> = (0..1_000).collect();
        let t = thin(&v);
        assert_eq!(t.len(), MAX_POINTS);
        assert_eq!((t[0], t[MAX_POINTS - 1]), (0, 999));
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(thin(&[1, 2, 3]), [1, 2, 3]);
    }
}
