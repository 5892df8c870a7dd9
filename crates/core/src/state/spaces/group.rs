//! An instance/worker pair of the state: its totals by status, and the short list of its newest
//! spaces that gives the pair's newest `updatedAt` (when its worker last wrote anything) without
//! a look at the pair's spaces; [`TableState::settle`] refills a list that lost every space it
//! named, and the snapshot's newest updates fall back to one pass while a list is unknown.

use super::durations::Histogram;
use super::{NO_TIME, SpaceId, TableState};
use crate::model::Status;
use crate::state::snapshot::{Totals, WorkerKey};

/// How many of a pair's newest spaces [`Group::newest`] lists.
pub const NEWEST_KEPT: usize = 16;

/// An instance/worker pair and its totals.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) key: WorkerKey,
    pub(super) by_status: [Totals; Status::ALL.len()],
    pub(super) members: u64,
    /// Some of its members as (`updatedAt` ms, id), newest first, at most [`NEWEST_KEPT`].
    /// Every member not listed is no newer than `floor`, and `floor` is no newer than any
    /// listed one, so the first listed is the pair's newest. Empty while `members > 0` when
    /// every listed one left: unknown until a newer write or [`TableState::settle`].
    pub(super) newest: Vec<(i64, SpaceId)>,
    /// No member outside [`Group::newest`] is newer than this (ms).
    pub(super) floor: i64,
    /// Its completed spaces by duration.
    pub(super) durations: Histogram,
}

impl Group {
    /// A pair with no members yet.
    pub(super) fn new(key: WorkerKey) -> Group {
        Group {
            key,
            by_status: Default::default(),
            members: 0,
            newest: Vec::new(),
            floor: NO_TIME,
            durations: Histogram::default(),
        }
    }

    /// Whether [`Group::newest`] lost every member it listed and must be refilled.
    pub(super) fn newest_unknown(&self) -> bool {
        self.newest.is_empty() && self.members > 0
    }

    /// Lists (ms, id) in newest-first order; what overflows [`NEWEST_KEPT`] raises the floor.
    pub(super) fn list(&mut self, ms: i64, id: SpaceId) {
        let at = self.newest.partition_point(|(m, _)| *m >= ms);
        self.newest.insert(at, (ms, id));
        if self.newest.len() > NEWEST_KEPT
            && let Some((dropped, _)) = self.newest.pop()
        {
            self.floor = self.floor.max(dropped);
        }
    }

    /// A member joined (or was rewritten): listed unless an unlisted member may be newer.
    pub(super) fn joined(&mut self, ms: i64, id: SpaceId) {
        if ms >= self.floor {
            self.list(ms, id);
        }
    }

    /// A member left (or is about to be rewritten); `members` already excludes it.
    pub(super) fn left(&mut self, ms: i64, id: SpaceId) {
        if let Some(i) = self.newest.iter().position(|x| *x == (ms, id)) {
            self.newest.remove(i);
        }
        if self.members == 0 {
            self.newest = Vec::new();
            self.floor = NO_TIME;
        }
    }
}

impl TableState {
    /// Refills the newest-spaces list of every pair that lost all those it listed, in one pass
    /// over the state (none when no pair did, the usual case). Called after each refresh, so
    /// that snapshots stay cheap; a snapshot taken before is still exact, only slower.
    pub fn settle(&mut self) {
        self.classes.sweep();
        let unknown: Vec<bool> = self.groups.iter().map(Group::newest_unknown).collect();
        if !unknown.contains(&true) {
            return;
        }
        for (g, unknown) in self.groups.iter_mut().zip(&unknown) {
            if *unknown {
                g.floor = NO_TIME;
            }
        }
        for (id, e) in self.entries.iter() {
            if unknown[e.group as usize] {
                self.groups[e.group as usize].list(e.updated_ms, id);
            }
        }
    }

    /// The newest `updatedAt` of each pair (by group index), exact whether settled or not.
    pub(super) fn newest_updates(&self) -> Vec<i64> {
        let mut newest: Vec<i64> = self
            .groups
            .iter()
            .map(|g| g.newest.first().map_or(NO_TIME, |(ms, _)| *ms))
            .collect();
        if self.groups.iter().any(Group::newest_unknown) {
            for e in self.entries.values() {
                let g = e.group as usize;
                if self.groups[g].newest_unknown() {
                    newest[g] = newest[g].max(e.updated_ms);
                }
            }
        }
        newest
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Status;
    use crate::state::snapshot::Snapshot;
    use crate::state::spaces::tests::{ctx, rec};

    fn last_update(s: &Snapshot, worker: &str) -> Option<i64> {
        s.workers
            .iter()
            .find(|(k, _)| k.worker_id == worker)
            .and_then(|(_, w)| w.last_update)
            .map(|t| t.as_millis() / 1000)
    }

    /// The newest updatedAt of each worker, computed the slow way from the contributions.
    fn newest_by_scan(st: &TableState) -> BTreeMap<String, Option<i64>> {
        let mut out: BTreeMap<String, Option<i64>> = BTreeMap::new();
        for c in st.contributions().values() {
            let t = c.updated_at.map(|t| t.as_millis() / 1000);
            let e = out.entry(c.worker_id.clone()).or_default();
            *e = (*e).max(t);
        }
        out
    }

    #[test]
    fn a_workers_last_update_is_its_newest_space_whatever_its_status() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::Completed, "w1", 100, 500));
        st.apply(&rec("b", Status::Pending, "w1", 0, 100));
        st.apply(&rec("c", Status::Failed, "w2", 3, 300));
        let s = st.snapshot(ctx(600));
        assert_eq!(last_update(&s, "w1"), Some(500));
        assert_eq!(last_update(&s, "w2"), Some(300));
        // w1's newest space is retried on w2: w1's last update falls back to its next newest.
        st.apply(&rec("a", Status::InProgress, "w2", 0, 700));
        st.settle();
        let s = st.snapshot(ctx(800));
        assert_eq!(last_update(&s, "w1"), Some(100));
        assert_eq!(last_update(&s, "w2"), Some(700));
    }

    #[test]
    fn last_update_stays_exact_when_a_workers_newest_spaces_all_leave() {
        // More spaces than the list keeps, then the newest ones move away one by one: the list
        // empties, and both an unsettled snapshot (slow path) and a settled one are exact.
        let mut st = TableState::new();
        let n = NEWEST_KEPT as i64 * 3;
        for i in 0..n {
            // Applied in an order that is neither ascending nor descending.
            let t = (i * 7) % n + 10;
            st.apply(&rec(&format!("s{t}"), Status::Completed, "w1", 100, t));
        }
        for (moved, t) in (10..n + 10).rev().enumerate() {
            st.apply(&rec(
                &format!("s{t}"),
                Status::Pending,
                "w2",
                0,
                10_000 + moved as i64,
            ));
            let want = newest_by_scan(&st);
            let s = st.snapshot(ctx(20_000));
            assert_eq!(last_update(&s, "w1"), want.get("w1").copied().flatten());
            if moved % 5 == 0 {
                st.settle();
            }
            let s = st.snapshot(ctx(20_000));
            assert_eq!(last_update(&s, "w1"), want.get("w1").copied().flatten());
            assert_eq!(last_update(&s, "w2"), Some(10_000 + moved as i64));
        }
        assert!(
            st.snapshot(ctx(20_000))
                .workers
                .keys()
                .all(|k| k.worker_id != "w1")
        );
    }

    #[test]
    fn a_full_scan_that_rewrites_a_space_older_lowers_the_last_update() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::InProgress, "w1", 10, 900));
        st.apply(&rec("b", Status::Completed, "w1", 100, 400));
        st.begin_scan();
        st.apply_scanned(&rec("a", Status::InProgress, "w1", 10, 200), None);
        st.apply_scanned(&rec("b", Status::Completed, "w1", 100, 400), None);
        st.end_scan();
        st.settle();
        assert_eq!(last_update(&st.snapshot(ctx(1000)), "w1"), Some(400));
    }
}
