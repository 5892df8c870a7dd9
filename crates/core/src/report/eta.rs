//! When the migration ends: an ETA per instance (its remaining uploads over its own rate in the
//! history's window) with a range, and the migration's ETA as its slowest instance's.
//!
//! The estimator: the window is cut into about [`SAMPLES`] consecutive intervals of equal length
//! (whole refreshes each), and the instance's rate over each is one sample. The expected ETA uses
//! the rate over the whole window; the range uses the 90th percentile of the samples (the
//! earliest finish) and the 10th (the latest). When progress stalls for part of the window the
//! slow samples pull the 10th percentile down and the range widens; when it stalls for more than
//! a tenth of it, the latest finish has no bound (`high_seconds` is none). When nothing moved in
//! the whole window the ETA is unknown. No rate of zero is ever divided by.
//!
//! Spaces on no instance yet (no `instanceId`) have no rate of their own: they are left out of
//! the ETAs and their uploads reported beside them.

use serde::{Deserialize, Serialize};

use super::rollup::{InstanceReport, id_order};
use crate::state::history::{History, Point};

/// The window is cut into about this many intervals for the range.
const SAMPLES: usize = 10;

/// How sure the ETA is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtaState {
    /// Nothing remains.
    Done,
    /// Estimated from the rate in the window.
    Estimated,
    /// Nothing moved in the window (or it is too short): no estimate.
    Unknown,
}

/// One ETA with its range; seconds from the newest snapshot. Reads back from its JSON, for
/// front ends that format what `/api/status` served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eta {
    pub state: EtaState,
    pub uploads_remaining: u64,
    /// Over the whole window.
    pub uploads_per_minute: f64,
    /// At the window's rate; none when unknown.
    pub seconds: Option<f64>,
    /// The earliest finish (the 90th percentile rate); none when unknown.
    pub low_seconds: Option<f64>,
    /// The latest finish (the 10th percentile rate); none when unknown or unbounded (progress
    /// stalled for part of the window).
    pub high_seconds: Option<f64>,
}

/// One instance's ETA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceEta {
    pub instance_id: String,
    #[serde(flatten)]
    pub eta: Eta,
}

/// The migration's ETA: its slowest instance's, with every instance's in id order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationEta {
    /// The instance that finishes last (or one that is not moving); none when all are done.
    pub slowest_instance: Option<String>,
    #[serde(flatten)]
    pub eta: Eta,
    pub window_seconds: f64,
    /// Uploads of spaces on no instance yet, in no ETA.
    pub unassigned_uploads: u64,
    pub instances: Vec<InstanceEta>,
}

impl MigrationEta {
    /// The ETAs of `instances` (with their remaining uploads) from `history`; none before two
    /// points.
    pub fn over(history: &History, instances: &[InstanceReport]) -> Option<MigrationEta> {
        let (first, last) = history.span()?;
        let window_ms = last.at.as_millis() - first.at.as_millis();
        if window_ms <= 0 {
            return None;
        }
        let points: Vec<&Point> = history.points().collect();
        let (assigned, unassigned): (Vec<&InstanceReport>, Vec<&InstanceReport>) =
            instances.iter().partition(|i| !i.instance_id.is_empty());
        let per_instance: Vec<InstanceEta> = assigned
            .into_iter()
            .map(|i| InstanceEta {
                instance_id: i.instance_id.clone(),
                eta: instance_eta(&points, &i.instance_id, i.uploads.remaining()),
            })
            .collect();
        let (slowest_instance, eta) = slowest(&per_instance);
        Some(MigrationEta {
            slowest_instance,
            eta,
            window_seconds: window_ms as f64 / 1000.0,
            unassigned_uploads: unassigned.iter().map(|i| i.uploads.remaining()).sum(),
            instances: per_instance,
        })
    }

    /// One instance's ETA, if it has any space.
    pub fn instance(&self, instance_id: &str) -> Option<&Eta> {
        self.instances
            .iter()
            .find(|i| i.instance_id == instance_id)
            .map(|i| &i.eta)
    }
}

/// The ETA of the instance `id` with `remaining` uploads, over `points` (oldest first).
fn instance_eta(points: &[&Point], id: &str, remaining: u64) -> Eta {
    let series: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| {
            let completed = *p.instances.get(id)?;
            Some((p.at.as_millis() as f64 / 60_000.0, completed as f64))
        })
        .collect();
    let rate = whole_rate(&series);
    if remaining == 0 {
        return Eta::done(rate);
    }
    if rate <= 0.0 {
        return Eta::unknown(remaining, rate);
    }
    let mut samples = interval_rates(&series);
    samples.sort_by(f64::total_cmp);
    let fast = percentile(&samples, 0.9).max(rate);
    let slow = percentile(&samples, 0.1).min(rate);
    let r = remaining as f64;
    Eta {
        state: EtaState::Estimated,
        uploads_remaining: remaining,
        uploads_per_minute: rate,
        seconds: Some(r / rate * 60.0),
        low_seconds: Some(r / fast * 60.0),
        high_seconds: (slow > 0.0).then(|| r / slow * 60.0),
    }
}

/// Uploads per minute from the first to the last of `series` (minute, completed); never
/// negative (a space deleted or reset lowers the count without undoing progress elsewhere).
fn whole_rate(series: &[(f64, f64)]) -> f64 {
    match (series.first(), series.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => ((b.1 - a.1) / (b.0 - a.0)).max(0.0),
        _ => 0.0,
    }
}

/// The rates over consecutive intervals of about a [`SAMPLES`]th of the series' span each; a
/// short tail joins the interval before it.
fn interval_rates(series: &[(f64, f64)]) -> Vec<f64> {
    let (Some(first), Some(last)) = (series.first(), series.last()) else {
        return Vec::new();
    };
    let step = (last.0 - first.0) / SAMPLES as f64;
    let mut bounds = vec![*first];
    for p in &series[1..] {
        if bounds.last().is_some_and(|b| p.0 - b.0 >= step) {
            bounds.push(*p);
        }
    }
    if bounds.last() != Some(last) {
        if bounds.len() > 1 {
            bounds.pop();
        }
        bounds.push(*last);
    }
    bounds
        .windows(2)
        .map(|w| whole_rate(&[w[0], w[1]]))
        .collect()
}

/// The `q` quantile of `sorted`, interpolated between neighbours; zero when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(top) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let pos = q * top as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The instance that ends last and the migration's ETA: an instance that does not move makes
/// it unknown; otherwise the latest expected finish, with the latest of each bound.
fn slowest(instances: &[InstanceEta]) -> (Option<String>, Eta) {
    let open = || instances.iter().filter(|i| i.eta.state != EtaState::Done);
    let remaining: u64 = open().map(|i| i.eta.uploads_remaining).sum();
    let rate: f64 = instances.iter().map(|i| i.eta.uploads_per_minute).sum();
    let stalled = open()
        .filter(|i| i.eta.state == EtaState::Unknown)
        .max_by(|a, b| {
            (
                a.eta.uploads_remaining,
                std::cmp::Reverse(id_order(&a.instance_id)),
            )
                .cmp(&(
                    b.eta.uploads_remaining,
                    std::cmp::Reverse(id_order(&b.instance_id)),
                ))
        });
    if let Some(s) = stalled {
        return (Some(s.instance_id.clone()), Eta::unknown(remaining, rate));
    }
    let Some(last) = open().max_by(|a, b| {
        a.eta
            .seconds
            .unwrap_or(0.0)
            .total_cmp(&b.eta.seconds.unwrap_or(0.0))
    }) else {
        return (None, Eta::done(rate));
    };
    let latest = |f: fn(&Eta) -> Option<f64>| {
        open()
            .map(|i| f(&i.eta))
            .try_fold(0.0_f64, |m, v| Some(m.max(v?)))
    };
    let eta = Eta {
        state: EtaState::Estimated,
        uploads_remaining: remaining,
        uploads_per_minute: rate,
        seconds: last.eta.seconds,
        low_seconds: latest(|e| e.low_seconds),
        high_seconds: latest(|e| e.high_seconds),
    };
    (Some(last.instance_id.clone()), eta)
}

impl Eta {
    fn done(rate: f64) -> Eta {
        Eta {
            state: EtaState::Done,
            uploads_remaining: 0,
            uploads_per_minute: rate,
            seconds: Some(0.0),
            low_seconds: Some(0.0),
            high_seconds: Some(0.0),
        }
    }

    fn unknown(remaining: u64, rate: f64) -> Eta {
        Eta {
            state: EtaState::Unknown,
            uploads_remaining: remaining,
            uploads_per_minute: rate,
            seconds: None,
            low_seconds: None,
            high_seconds: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::counts::{Progress, StatusCounts};
    use crate::state::history::test_instances_point as point;

    fn instance(id: &str, total: u64, completed: u64) -> InstanceReport {
        InstanceReport {
            instance_id: id.to_string(),
            spaces: StatusCounts::default(),
            spaces_progress: Progress::default(),
            uploads: Progress { completed, total },
            stuck: 0,
            durations: None,
        }
    }

    /// Ten minutes of points every 30 s, instance `a` at `rate_a(i)` uploads per interval and
    /// `b` at 60 per interval.
    fn history(rate_a: impl Fn(i64) -> u64) -> (History, u64, u64) {
        let mut h = History::default();
        let (mut a, mut b) = (0, 0);
        for i in 0..=20 {
            if i > 0 {
                a += rate_a(i);
                b += 60;
            }
            h.push(point(i * 30, &[("a", a), ("b", b)]));
        }
        (h, a, b)
    }

    #[test]
    fn a_steady_instance_has_a_narrow_range_around_its_eta() {
        let (h, a, b) = history(|_| 30);
        let eta = MigrationEta::over(&h, &[instance("a", a + 600, a), instance("b", b + 600, b)])
            .expect("two points");
        let a_eta = eta.instance("a").expect("a");
        assert_eq!(a_eta.state, EtaState::Estimated);
        assert_eq!(a_eta.uploads_per_minute, 60.0);
        assert_eq!(a_eta.seconds, Some(600.0));
        assert_eq!(a_eta.low_seconds, Some(600.0));
        assert_eq!(a_eta.high_seconds, Some(600.0));
        assert_eq!(
            eta.slowest_instance.as_deref(),
            Some("a"),
            "a runs at half b's rate"
        );
        assert_eq!(eta.eta.seconds, Some(600.0));
        assert_eq!(eta.eta.uploads_remaining, 1_200);
        assert_eq!(eta.window_seconds, 600.0);
    }

    #[test]
    fn an_uneven_rate_gives_a_range_that_holds_the_expected_eta() {
        let (h, a, _) = history(|i| if i <= 10 { 10 } else { 50 });
        let eta = MigrationEta::over(&h, &[instance("a", a + 1_200, a)]).expect("two points");
        let e = eta.instance("a").expect("a");
        let (low, mid, high) = (
            e.low_seconds.unwrap(),
            e.seconds.unwrap(),
            e.high_seconds.unwrap(),
        );
        assert!(low < mid && mid < high, "{low} < {mid} < {high}");
    }

    #[test]
    fn a_stall_for_part_of_the_window_leaves_the_latest_finish_unbounded() {
        let (h, a, _) = history(|i| if i > 16 { 0 } else { 30 });
        let eta = MigrationEta::over(&h, &[instance("a", a + 600, a)]).expect("two points");
        let e = eta.instance("a").expect("a");
        assert_eq!(e.state, EtaState::Estimated);
        assert!(
            e.seconds.unwrap() > 600.0,
            "the stall slows the expected finish"
        );
        assert_eq!(e.high_seconds, None);
    }

    #[test]
    fn an_instance_that_did_not_move_makes_the_migration_unknown_and_is_named() {
        let (h, a, b) = history(|_| 0);
        let eta = MigrationEta::over(&h, &[instance("a", a + 5, a), instance("b", b + 600, b)])
            .expect("two points");
        assert_eq!(eta.instance("a").unwrap().state, EtaState::Unknown);
        assert_eq!(eta.instance("a").unwrap().seconds, None);
        assert_eq!(eta.eta.state, EtaState::Unknown);
        assert_eq!(eta.slowest_instance.as_deref(), Some("a"));
        assert_eq!(eta.eta.seconds, None);
    }

    #[test]
    fn finished_instances_do_not_hold_the_migration_back() {
        let (h, a, b) = history(|_| 0);
        let eta = MigrationEta::over(&h, &[instance("a", a, a), instance("b", b + 60, b)])
            .expect("two points");
        assert_eq!(eta.instance("a").unwrap().state, EtaState::Done);
        assert_eq!(eta.slowest_instance.as_deref(), Some("b"));
        assert_eq!(eta.eta.seconds, Some(30.0));
        let done = MigrationEta::over(&h, &[instance("a", a, a), instance("b", b, b)]).unwrap();
        assert_eq!(
            (done.eta.state, done.slowest_instance),
            (EtaState::Done, None)
        );
    }

    #[test]
    fn spaces_on_no_instance_are_counted_beside_the_etas() {
        let (h, a, _) = history(|_| 30);
        let eta = MigrationEta::over(&h, &[instance("", 70, 0), instance("a", a + 600, a)])
            .expect("two points");
        assert_eq!(eta.unassigned_uploads, 70);
        assert_eq!(eta.instances.len(), 1);
        assert_eq!(eta.eta.state, EtaState::Estimated);
        assert_eq!(eta.slowest_instance.as_deref(), Some("a"));
    }

    #[test]
    fn one_point_or_no_time_is_no_eta() {
        let mut h = History::default();
        h.push(point(0, &[("a", 5)]));
        assert_eq!(MigrationEta::over(&h, &[instance("a", 10, 5)]), None);
    }

    #[test]
    fn an_instance_seen_only_once_in_the_window_is_unknown() {
        let mut h = History::default();
        h.push(point(0, &[("a", 5)]));
        h.push(point(30, &[("a", 9), ("new", 1)]));
        let eta = MigrationEta::over(&h, &[instance("a", 10, 9), instance("new", 3, 1)]).unwrap();
        assert_eq!(eta.instance("new").unwrap().state, EtaState::Unknown);
        assert_eq!(eta.instance("a").unwrap().seconds, Some(7.5));
    }

    #[test]
    fn percentiles_interpolate_between_neighbours() {
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[4.0], 0.1), 4.0);
        assert_eq!(percentile(&[0.0, 10.0], 0.9), 9.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }
}
