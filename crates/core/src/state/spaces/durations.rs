//! How long spaces take, from `createdAt` to the completing write (`updatedAt` of a completed
//! space), kept as spaces change: each completed entry holds its duration in whole seconds
//! (rounded up, so that `le` buckets of whole seconds judge it exactly), and each pair a
//! histogram over the bucket bounds, updated as entries come and go. Completed spaces missing
//! either timestamp, or completed before they were created (clock skew), are counted apart,
//! never guessed. No read of its own: both timestamps come with the records.

use std::sync::Arc;

use crate::model::Timestamp;
use crate::state::snapshot::DurationHistogram;

/// Not completed: not in any histogram.
pub(super) const NOT_DONE: u32 = u32::MAX;
/// Completed without a readable `createdAt` or `updatedAt`.
const MISSING: u32 = u32::MAX - 1;
/// Completed before it was created.
const NEGATIVE: u32 = u32::MAX - 2;
/// The longest duration held (136 years; longer ones are held as this).
const LONGEST: u32 = u32::MAX - 3;

/// The default bucket bounds, in seconds: a minute to two weeks, for a heavy tail.
pub const DEFAULT_BOUNDS: [u32; 14] = [
    60, 300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 172_800, 345_600, 604_800,
    1_209_600,
];

/// The duration code of a space: its duration in seconds, or why it has none.
pub(super) fn measure(
    completed: bool,
    created: Option<Timestamp>,
    updated: Option<Timestamp>,
) -> u32 {
    if !completed {
        return NOT_DONE;
    }
    let (Some(c), Some(u)) = (created, updated) else {
        return MISSING;
    };
    let ms = u.as_millis().saturating_sub(c.as_millis());
    if ms < 0 {
        return NEGATIVE;
    }
    let secs = (ms as u64).div_ceil(1000);
    secs.min(u64::from(LONGEST)) as u32
}

/// One pair's completed spaces by duration.
#[derive(Debug, Clone, Default)]
pub(super) struct Histogram {
    /// Spaces per bucket (not cumulative), one more than the bounds (the last is past them).
    counts: Vec<u64>,
    sum_seconds: u64,
    missing: u64,
    negative: u64,
}

impl Histogram {
    /// Counts a space with duration code `code` in (`sign` 1) or out (-1).
    pub(super) fn count(&mut self, code: u32, bounds: &[u32], sign: i64) {
        match code {
            NOT_DONE => {}
            MISSING => self.missing = self.missing.wrapping_add_signed(sign),
            NEGATIVE => self.negative = self.negative.wrapping_add_signed(sign),
            secs => {
                if self.counts.len() != bounds.len() + 1 {
                    self.counts = vec![0; bounds.len() + 1];
                }
                let at = bounds.partition_point(|b| *b < secs);
                self.counts[at] = self.counts[at].wrapping_add_signed(sign);
                let s = i64::from(secs) * sign;
                self.sum_seconds = self.sum_seconds.wrapping_add_signed(s);
            }
        }
    }

    /// Adds this pair's counts to an instance's histogram.
    pub(super) fn add_to(&self, out: &mut DurationHistogram) {
        let mut running = 0;
        for (i, n) in self.counts.iter().enumerate() {
            running += n;
            if let Some(c) = out.cumulative.get_mut(i) {
                *c += running;
            }
        }
        out.count += self.counts.iter().sum::<u64>();
        out.sum_seconds += self.sum_seconds;
        out.missing_timestamps += self.missing;
        out.completed_before_created += self.negative;
    }

    /// Whether it holds any completed space, measured or not.
    pub(super) fn is_empty(&self) -> bool {
        self.counts.iter().all(|n| *n == 0) && self.missing == 0 && self.negative == 0
    }
}

/// An empty histogram over `bounds`.
pub(super) fn empty(bounds: &Arc<[u32]>) -> DurationHistogram {
    DurationHistogram {
        bounds: bounds.clone(),
        cumulative: vec![0; bounds.len()],
        count: 0,
        sum_seconds: 0,
        missing_timestamps: 0,
        completed_before_created: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::state::spaces::TableState;
    use crate::state::spaces::tests::{ctx, rec};

    #[test]
    fn the_histogram_follows_spaces_as_they_complete_are_retried_and_move() {
        let mut st = TableState::with_duration_bounds(&[60, 3_600]);
        let done = |space: &str, instance: &str, created_s: i64, updated_s: i64| {
            let mut p = rec(space, Status::Completed, "w1", 100, updated_s);
            p.instance_id = Some(instance.into());
            p.created_at = Some(Timestamp::from_millis(created_s * 1000));
            p
        };
        st.apply(&done("a", "1", 0, 30));
        st.apply(&done("b", "1", 0, 600));
        st.apply(&done("c", "2", 0, 7_200));
        let mut odd = done("d", "2", 500, 400);
        st.apply(&odd);
        odd.key.space = "e".into();
        odd.created_at = None;
        st.apply(&odd);
        let s = st.snapshot(ctx(10_000));
        let one = &s.durations["1"];
        assert_eq!(
            (one.cumulative.clone(), one.count, one.sum_seconds),
            (vec![1, 2], 2, 630)
        );
        let two = &s.durations["2"];
        assert_eq!((two.cumulative.clone(), two.count), (vec![0, 0], 1));
        assert_eq!(
            (two.completed_before_created, two.missing_timestamps),
            (1, 1)
        );
        // b is retried: it leaves the histogram; c moves to instance 1.
        st.apply(&rec("b", Status::InProgress, "w1", 0, 700));
        st.apply(&done("c", "1", 0, 7_300));
        let s = st.snapshot(ctx(10_000));
        assert_eq!(s.durations["1"].cumulative, [1, 1]);
        assert_eq!(s.durations["1"].count, 2);
        assert_eq!(s.durations["2"].count, 0);
    }

    fn t(s: i64) -> Option<Timestamp> {
        Some(Timestamp::from_millis(s))
    }

    #[test]
    fn a_duration_is_rounded_up_to_the_second_and_the_odd_ones_are_kept_apart() {
        assert_eq!(measure(true, t(0), t(60_000)), 60);
        assert_eq!(measure(true, t(0), t(60_001)), 61);
        assert_eq!(measure(true, t(0), t(0)), 0);
        assert_eq!(measure(false, t(0), t(5)), NOT_DONE);
        assert_eq!(measure(true, None, t(5)), MISSING);
        assert_eq!(measure(true, t(10), t(5)), NEGATIVE);
        assert_eq!(measure(true, t(i64::MIN), t(i64::MAX)), LONGEST);
    }

    #[test]
    fn buckets_are_cumulative_and_le_is_inclusive() {
        let bounds: Arc<[u32]> = Arc::from(&[60u32, 300][..]);
        let mut h = Histogram::default();
        for secs in [0, 60, 61, 300, 301, 9_999] {
            h.count(secs, &bounds, 1);
        }
        h.count(MISSING, &bounds, 1);
        h.count(61, &bounds, -1);
        let mut out = empty(&bounds);
        h.add_to(&mut out);
        assert_eq!(out.cumulative, [2, 3]);
        assert_eq!(out.count, 5);
        assert_eq!(out.sum_seconds, 60 + 300 + 301 + 9_999);
        assert_eq!(out.missing_timestamps, 1);
    }
}
