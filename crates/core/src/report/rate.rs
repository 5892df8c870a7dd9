//! The rate of the whole migration over the recent history (the ETA is per instance, in
//! [`super::eta`]).

use serde::Serialize;

use crate::state::history::History;

/// Rates over the history's span (the monitor's `--watch` and `/api/status` field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    pub window_seconds: f64,
    pub uploads_per_minute: f64,
    /// Spaces finished (completed or failed) per hour.
    pub spaces_per_hour: f64,
}

impl Throughput {
    /// The rate from the history's oldest to its newest point; `None` before two points or
    /// when no time passed.
    pub fn over(history: &History) -> Option<Throughput> {
        let (first, last) = history.span()?;
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::history::test_point as point;

    #[test]
    fn the_rate_spans_the_history() {
        let mut h = History::default();
        assert_eq!(Throughput::over(&h), None);
        h.push(point(0, 10, 1_000));
        assert_eq!(Throughput::over(&h), None, "one point is no rate");
        h.push(point(30, 12, 1_300));
        h.push(point(60, 15, 1_600));
        let t = Throughput::over(&h).expect("two points or more");
        assert_eq!(t.window_seconds, 60.0);
        assert_eq!(t.uploads_per_minute, 600.0);
        assert_eq!(t.spaces_per_hour, 300.0);
    }

    #[test]
    fn a_still_migration_has_a_rate_of_zero() {
        let mut h = History::default();
        h.push(point(0, 5, 500));
        h.push(point(60, 5, 500));
        let t = Throughput::over(&h).expect("a rate");
        assert_eq!(t.uploads_per_minute, 0.0);
    }
}
