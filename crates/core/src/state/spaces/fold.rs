//! The snapshot of the state: workers' totals from the pairs, stuck spaces from the in-progress
//! ones and the most recently failed spaces from the failed ones, so that its cost follows the
//! pairs and those spaces, not the table size.

use std::collections::{BTreeMap, BinaryHeap};

use super::{NO_TIME, TableState, durations};
use crate::model::Timestamp;
use crate::state::snapshot::{
    DurationHistogram, FailedSpace, FoldContext, Snapshot, StuckSpace, WorkerKey, WorkerStats,
};

impl TableState {
    /// The table's totals as of `ctx.now`. Costs the number of pairs plus in-progress and
    /// failed spaces (plus one pass over the state if it is not [settled](Self::settle)).
    pub fn snapshot(&self, ctx: FoldContext) -> Snapshot {
        let newest = self.newest_updates();
        // By pair index, so that each in-progress space finds its pair without a search.
        let mut by_group: Vec<Option<WorkerStats>> = self
            .groups
            .iter()
            .zip(newest)
            .map(|(g, newest)| {
                (g.members > 0).then(|| WorkerStats {
                    by_status: g.by_status,
                    stuck: 0,
                    oldest_in_progress_update: None,
                    last_update: (newest != NO_TIME).then(|| Timestamp::from_millis(newest)),
                })
            })
            .collect();
        let cutoff = ctx.stuck_cutoff().as_millis();
        let mut stuck: BinaryHeap<StuckSpace> = BinaryHeap::new();
        for listed in self.in_progress.values() {
            if listed.updated_ms == NO_TIME {
                continue;
            }
            let Some(w) = by_group[listed.group as usize].as_mut() else {
                continue;
            };
            let updated = Timestamp::from_millis(listed.updated_ms);
            w.oldest_in_progress_update = Some(
                w.oldest_in_progress_update
                    .map_or(updated, |o| o.min(updated)),
            );
            if listed.updated_ms < cutoff {
                w.stuck += 1;
                let candidate = (updated, listed.name.as_ref());
                let keep = stuck.len() < ctx.max_stuck_spaces
                    || stuck.peek().is_some_and(|newest| {
                        candidate < (newest.updated_at, newest.space.as_str())
                    });
                if keep && ctx.max_stuck_spaces > 0 {
                    let key = &self.groups[listed.group as usize].key;
                    stuck.push(StuckSpace {
                        updated_at: updated,
                        space: listed.name.to_string(),
                        instance_id: key.instance_id.clone(),
                        worker_id: key.worker_id.clone(),
                    });
                    if stuck.len() > ctx.max_stuck_spaces {
                        stuck.pop();
                    }
                }
            }
        }
        let workers: BTreeMap<WorkerKey, WorkerStats> = self
            .groups
            .iter()
            .zip(by_group)
            .filter_map(|(g, w)| w.map(|w| (g.key.clone(), w)))
            .collect();
        let mut stuck_spaces = stuck.into_vec();
        stuck_spaces.sort();
        Snapshot {
            taken_at: ctx.now,
            stuck_after: ctx.stuck_after,
            workers,
            stuck_spaces,
            failed_spaces: self.newest_failed(ctx.max_failed_spaces),
            failure_classes: self.failure_classes(ctx.max_error_classes),
            durations: self.durations(),
            invalid: self.invalid,
            items: self.entries.len() as u64,
            invalid_items: self.invalid_items,
        }
    }

    /// Completed spaces by duration, per instance: a sum over the pairs.
    fn durations(&self) -> BTreeMap<String, DurationHistogram> {
        let mut out: BTreeMap<String, DurationHistogram> = BTreeMap::new();
        for g in self.groups.iter().filter(|g| !g.durations.is_empty()) {
            let h = out
                .entry(g.key.instance_id.clone())
                .or_insert_with(|| durations::empty(&self.bounds));
            g.durations.add_to(h);
        }
        out
    }

    /// The `max` most recently failed spaces (by `updatedAt`), newest first; failed spaces
    /// without a readable `updatedAt` are counted but not named. Costs the failed spaces.
    fn newest_failed(&self, max: usize) -> Vec<FailedSpace> {
        if max == 0 {
            return Vec::new();
        }
        // A min-heap of the newest `max` by (updatedAt, reversed name).
        type Candidate<'a> = (i64, std::cmp::Reverse<&'a str>, u32, u16);
        let mut heap: BinaryHeap<std::cmp::Reverse<Candidate<'_>>> = BinaryHeap::new();
        for e in self.failed.values() {
            if e.updated_ms == NO_TIME {
                continue;
            }
            let candidate = (
                e.updated_ms,
                std::cmp::Reverse(e.name.as_ref()),
                e.group,
                e.class,
            );
            if heap.len() < max {
                heap.push(std::cmp::Reverse(candidate));
            } else if heap.peek().is_some_and(|oldest| candidate > oldest.0) {
                heap.pop();
                heap.push(std::cmp::Reverse(candidate));
            }
        }
        let mut out: Vec<FailedSpace> = heap
            .into_iter()
            .map(
                |std::cmp::Reverse((ms, std::cmp::Reverse(space), group, class))| {
                    let key = &self.groups[group as usize].key;
                    FailedSpace {
                        failed_at: Timestamp::from_millis(ms),
                        space: space.to_owned(),
                        instance_id: key.instance_id.clone(),
                        worker_id: key.worker_id.clone(),
                        class: self.class_of(class),
                    }
                },
            )
            .collect();
        out.sort_by(FailedSpace::order);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::state::spaces::tests::{ctx, rec};

    #[test]
    fn stuck_spaces_are_the_oldest_in_progress_capped() {
        let mut st = TableState::new();
        for (i, t) in [100, 50, 75, 4000].iter().enumerate() {
            st.apply(&rec(&format!("s{i}"), Status::InProgress, "w1", 0, *t));
        }
        let s = st.snapshot(ctx(3800));
        let w = s.workers.values().next().unwrap();
        assert_eq!(w.stuck, 3);
        assert_eq!(
            w.oldest_in_progress_update,
            Some(Timestamp::from_millis(50_000))
        );
        let names: Vec<&str> = s.stuck_spaces.iter().map(|x| x.space.as_str()).collect();
        assert_eq!(names, vec!["s1", "s2"]);
    }

    #[test]
    fn failed_spaces_are_the_most_recently_failed_capped_newest_first() {
        let mut st = TableState::new();
        for (space, t) in [("f1", 100), ("f2", 400), ("f3", 300), ("f4", 200)] {
            st.apply(&rec(space, Status::Failed, "w1", 1, t));
        }
        let names = |s: &Snapshot| -> Vec<(String, i64)> {
            s.failed_spaces
                .iter()
                .map(|f| (f.space.clone(), f.failed_at.as_millis() / 1000))
                .collect()
        };
        let s = st.snapshot(ctx(500));
        assert_eq!(names(&s), vec![("f2".into(), 400), ("f3".into(), 300)]);
        // f2 is retried: no longer failed, and the next most recent takes its place.
        st.apply(&rec("f2", Status::InProgress, "w1", 0, 450));
        let s = st.snapshot(ctx(500));
        assert_eq!(names(&s), vec![("f3".into(), 300), ("f4".into(), 200)]);
        assert_eq!(s.failed_spaces[0].worker_id, "w1");
    }
}
