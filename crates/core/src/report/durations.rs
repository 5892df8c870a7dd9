//! How long spaces take, as people read it: the median and 90th percentile of the completed
//! spaces' durations, estimated from the histogram buckets as Prometheus' `histogram_quantile`
//! does (linear within the bucket that holds the rank; the highest finite bound when the rank
//! falls past it), so the page, the monitor and the board agree. Per instance and overall.

use serde::Serialize;

use crate::state::snapshot::DurationHistogram;

/// One set of spaces' durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DurationSummary {
    /// Completed spaces measured.
    pub measured: u64,
    /// Completed spaces without a usable `createdAt`/`updatedAt` pair (counted, not guessed).
    pub unmeasured: u64,
    /// Median, in seconds; none before a measured space.
    pub p50_seconds: Option<f64>,
    /// 90th percentile, in seconds.
    pub p90_seconds: Option<f64>,
}

impl DurationSummary {
    pub fn of(h: &DurationHistogram) -> DurationSummary {
        DurationSummary {
            measured: h.count,
            unmeasured: h.missing_timestamps + h.completed_before_created,
            p50_seconds: quantile(h, 0.5),
            p90_seconds: quantile(h, 0.9),
        }
    }
}

/// The `q` quantile (0 to 1) of `h`, as `histogram_quantile(q, ...)` estimates it.
pub fn quantile(h: &DurationHistogram, q: f64) -> Option<f64> {
    if h.count == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * h.count as f64;
    let mut lower = 0.0;
    let mut below = 0u64;
    for (bound, cumulative) in h.bounds.iter().zip(&h.cumulative) {
        let upper = f64::from(*bound);
        if *cumulative as f64 >= rank {
            let inside = (*cumulative - below) as f64;
            if inside == 0.0 {
                return Some(upper);
            }
            return Some(lower + (upper - lower) * (rank - below as f64) / inside);
        }
        lower = upper;
        below = *cumulative;
    }
    // Past the highest finite bound: Prometheus answers that bound.
    h.bounds.last().map(|b| f64::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(bounds: &[u32], cumulative: &[u64], count: u64) -> DurationHistogram {
        DurationHistogram {
            bounds: bounds.into(),
            cumulative: cumulative.to_vec(),
            count,
            sum_seconds: 0,
            missing_timestamps: 0,
            completed_before_created: 0,
        }
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_as_prometheus_does() {
        // 10 spaces: 2 took at most 60 s, 8 between 60 s and 300 s.
        let h = hist(&[60, 300], &[2, 10], 10);
        assert_eq!(quantile(&h, 0.5), Some(60.0 + 240.0 * 3.0 / 8.0));
        assert_eq!(quantile(&h, 0.1), Some(30.0));
        assert_eq!(quantile(&h, 0.9), Some(60.0 + 240.0 * 7.0 / 8.0));
    }

    #[test]
    fn a_rank_past_the_bounds_is_the_highest_bound_and_nothing_measured_is_none() {
        assert_eq!(quantile(&hist(&[60, 300], &[0, 1], 10), 0.9), Some(300.0));
        assert_eq!(quantile(&hist(&[60], &[0], 0), 0.5), None);
    }
}
