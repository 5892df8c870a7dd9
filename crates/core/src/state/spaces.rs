//! The exporter's memory of the table: one compact [`Entry`] per space (interned instance/worker
//! pair, status, counts and `updatedAt` as integers, keyed by a 128-bit hash of the space's key),
//! with per-pair totals kept up to date as entries change. A refresh applies what it read; a
//! snapshot is built from the totals and the in-progress and failed spaces only, so its cost
//! follows the change rate, not the table size.
//!
//! Each pair's newest `updatedAt` (when its worker last wrote anything) comes from a short list
//! of the pair's [`NEWEST_KEPT`] newest spaces, kept as entries change: a change costs a look at
//! that list, not at the pair's spaces. Only when every listed space has left the pair (moved
//! to another worker, deleted, or rewritten older by a full scan) with no newer write in
//! between does [`TableState::settle`] refill the list with one pass over the state.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use super::snapshot::{
    FailedSpace, FoldContext, Snapshot, StuckSpace, Totals, WorkerKey, WorkerStats,
};
use crate::model::{InvalidReason, Problems, SpaceProgress, Status, Timestamp};

/// A space's identity: a 128-bit hash of (customer, space). Collisions need about 2^64 spaces.
pub type SpaceId = u128;

/// The id of a space.
pub fn space_id(customer: &str, space: &str) -> SpaceId {
    let half = |salt: u64| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        customer.hash(&mut h);
        space.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0x6d69_6772_6174_6531)) << 64) | u128::from(half(0x7370_6163_6573_3032))
}

/// Hashes a [`SpaceId`] by taking its low bits: it is a hash already.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type IdMap<V> = HashMap<SpaceId, V, BuildHasherDefault<IdHasher>>;

const NO_TIME: i64 = i64::MIN;

/// How many of a pair's newest spaces [`Group::newest`] lists.
pub const NEWEST_KEPT: usize = 16;

/// What one space contributes (40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    group: u32,
    /// The full scan that last saw it (mark and sweep).
    seen: u32,
    status: Status,
    problems: Problems,
    total: u64,
    completed: u64,
    /// `updatedAt` in ms, or [`NO_TIME`].
    updated_ms: i64,
}

impl Entry {
    fn totals(&self) -> Totals {
        Totals {
            spaces: 1,
            uploads: self.total,
            completed_uploads: self.completed,
        }
    }

    /// Same contribution (ignoring the scan mark).
    fn same(&self, other: &Entry) -> bool {
        Entry { seen: 0, ..*self } == Entry { seen: 0, ..*other }
    }
}

/// An instance/worker pair and its totals.
#[derive(Debug, Clone)]
struct Group {
    key: WorkerKey,
    by_status: [Totals; Status::ALL.len()],
    members: u64,
    /// Some of its members as (`updatedAt` ms, id), newest first, at most [`NEWEST_KEPT`].
    /// Every member not listed is no newer than `floor`, and `floor` is no newer than any
    /// listed one, so the first listed is the pair's newest. Empty while `members > 0` when
    /// every listed one left: unknown until a newer write or [`TableState::settle`].
    newest: Vec<(i64, SpaceId)>,
    /// No member outside [`Group::newest`] is newer than this (ms).
    floor: i64,
}

impl Group {
    /// Whether [`Group::newest`] lost every member it listed and must be refilled.
    fn newest_unknown(&self) -> bool {
        self.newest.is_empty() && self.members > 0
    }

    /// Lists (ms, id) in newest-first order; what overflows [`NEWEST_KEPT`] raises the floor.
    fn list(&mut self, ms: i64, id: SpaceId) {
        let at = self.newest.partition_point(|(m, _)| *m >= ms);
        self.newest.insert(at, (ms, id));
        if self.newest.len() > NEWEST_KEPT
            && let Some((dropped, _)) = self.newest.pop()
        {
            self.floor = self.floor.max(dropped);
        }
    }

    /// A member joined (or was rewritten): listed unless an unlisted member may be newer.
    fn joined(&mut self, ms: i64, id: SpaceId) {
        if ms >= self.floor {
            self.list(ms, id);
        }
    }

    /// A member left (or is about to be rewritten); `members` already excludes it.
    fn left(&mut self, ms: i64, id: SpaceId) {
        if let Some(i) = self.newest.iter().position(|x| *x == (ms, id)) {
            self.newest.remove(i);
        }
        if self.members == 0 {
            self.newest = Vec::new();
            self.floor = NO_TIME;
        }
    }
}

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A space not seen before.
    Inserted,
    /// A space whose contribution changed, with its status before and after.
    Replaced { from: Status, to: Status },
    /// The same contribution as held.
    Unchanged,
    /// Older than what is held (`updatedAt` before the held one): ignored.
    Older,
}

/// What applying a record read by a full scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// It differed from what was held (or was not held).
    pub changed: bool,
    /// The difference was visible before the previous refresh: an incremental refresh should
    /// have applied it already.
    pub drift: bool,
    /// The status it had before, if it was held with another status.
    pub transition: Option<(Status, Status)>,
}

/// A space's contribution, resolved for comparison in tests and tools.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Contribution {
    pub instance_id: String,
    pub worker_id: String,
    pub status: Status,
    pub total_uploads: u64,
    pub completed_uploads: u64,
    pub updated_at: Option<Timestamp>,
}

/// Per-space state of the whole table.
#[derive(Debug, Default)]
pub struct TableState {
    entries: IdMap<Entry>,
    groups: Vec<Group>,
    /// instance -> worker -> group index; nested so lookups need no allocation.
    group_ids: HashMap<String, HashMap<String, u32>>,
    /// Names of in-progress spaces: a snapshot looks at these one by one (stuck spaces).
    in_progress: IdMap<Box<str>>,
    /// Names of failed spaces: a snapshot looks at these one by one (the newest failures).
    failed: IdMap<Box<str>>,
    /// Current entries with each problem, and with any.
    invalid: [u64; InvalidReason::ALL.len()],
    invalid_items: u64,
    /// The current full scan's mark.
    generation: u32,
}

impl TableState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spaces held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn group_of(&mut self, instance: &str, worker: &str) -> u32 {
        if let Some(id) = self.group_ids.get(instance).and_then(|w| w.get(worker)) {
            return *id;
        }
        let id = self.groups.len() as u32;
        self.groups.push(Group {
            key: WorkerKey {
                instance_id: instance.to_owned(),
                worker_id: worker.to_owned(),
            },
            by_status: Default::default(),
            members: 0,
            newest: Vec::new(),
            floor: NO_TIME,
        });
        self.group_ids
            .entry(instance.to_owned())
            .or_default()
            .insert(worker.to_owned(), id);
        id
    }

    fn entry_for(&mut self, p: &SpaceProgress) -> Entry {
        let group = self.group_of(
            p.instance_id.as_deref().unwrap_or(""),
            p.worker_id.as_deref().unwrap_or(""),
        );
        Entry {
            group,
            seen: self.generation,
            status: p.status,
            problems: p.problems,
            total: p.total_uploads,
            completed: p.completed_uploads,
            updated_ms: p.updated_at.map_or(NO_TIME, Timestamp::as_millis),
        }
    }

    fn count(&mut self, id: SpaceId, e: &Entry, sign: i64) {
        let g = &mut self.groups[e.group as usize];
        let t = e.totals();
        if sign > 0 {
            g.by_status[e.status.index()].add(&t);
            g.joined(e.updated_ms, id);
            g.members += 1;
        } else {
            g.by_status[e.status.index()].sub(&t);
            g.members -= 1;
            g.left(e.updated_ms, id);
        }
        if !e.problems.is_empty() {
            for r in e.problems.iter() {
                self.invalid[r.index()] = self.invalid[r.index()].wrapping_add_signed(sign);
            }
            self.invalid_items = self.invalid_items.wrapping_add_signed(sign);
        }
    }

    fn put(&mut self, id: SpaceId, e: Entry, space: &str) {
        if let Some(old) = self.entries.insert(id, e) {
            self.count(id, &old, -1);
        }
        self.count(id, &e, 1);
        for (status, names) in [
            (Status::InProgress, &mut self.in_progress),
            (Status::Failed, &mut self.failed),
        ] {
            if e.status == status {
                names.entry(id).or_insert_with(|| space.into());
            } else {
                names.remove(&id);
            }
        }
    }

    /// Applies a record read from the status index: kept unless it is older than what is held.
    pub fn apply(&mut self, p: &SpaceProgress) -> Change {
        let id = space_id(&p.key.customer, &p.key.space);
        let mut new = self.entry_for(p);
        match self.entries.get(&id).copied() {
            Some(old) if new.updated_ms < old.updated_ms => Change::Older,
            Some(old) if old.same(&new) => Change::Unchanged,
            Some(old) => {
                new.seen = old.seen;
                self.put(id, new, &p.key.space);
                Change::Replaced {
                    from: old.status,
                    to: new.status,
                }
            }
            None => {
                self.put(id, new, &p.key.space);
                Change::Inserted
            }
        }
    }

    /// Starts a full scan: records applied with [`TableState::apply_scanned`] from now on are
    /// marked, and [`TableState::end_scan`] removes the unmarked.
    pub fn begin_scan(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Applies a record read by a full scan, which is authoritative. Returns whether it differed
    /// from what was held, whether that difference is drift (visible before `visible_before`,
    /// so an incremental refresh should have applied it already), and the status change.
    pub fn apply_scanned(
        &mut self,
        p: &SpaceProgress,
        visible_before: Option<Timestamp>,
    ) -> Scanned {
        let id = space_id(&p.key.customer, &p.key.space);
        let new = self.entry_for(p);
        let old = self.entries.get(&id).copied();
        let differs = !old.is_some_and(|o| o.same(&new));
        if differs {
            self.put(id, new, &p.key.space);
        } else if let Some(e) = self.entries.get_mut(&id) {
            e.seen = self.generation;
        }
        let drift = differs
            && visible_before
                .is_some_and(|t| new.updated_ms == NO_TIME || new.updated_ms < t.as_millis());
        Scanned {
            changed: differs,
            drift,
            transition: old
                .filter(|o| o.status != new.status)
                .map(|o| (o.status, new.status)),
        }
    }

    /// Ends a full scan: removes the spaces it did not see (deleted items) and returns how many.
    pub fn end_scan(&mut self) -> u64 {
        let generation = self.generation;
        let gone: Vec<SpaceId> = self
            .entries
            .iter()
            .filter(|(_, e)| e.seen != generation)
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            if let Some(old) = self.entries.remove(id) {
                self.count(*id, &old, -1);
                self.in_progress.remove(id);
                self.failed.remove(id);
            }
        }
        gone.len() as u64
    }

    /// Refills the newest-spaces list of every pair that lost all those it listed, in one pass
    /// over the state (none when no pair did, the usual case). Called after each refresh, so
    /// that snapshots stay cheap; a snapshot taken before is still exact, only slower.
    pub fn settle(&mut self) {
        let unknown: Vec<bool> = self.groups.iter().map(Group::newest_unknown).collect();
        if !unknown.contains(&true) {
            return;
        }
        for (g, unknown) in self.groups.iter_mut().zip(&unknown) {
            if *unknown {
                g.floor = NO_TIME;
            }
        }
        for (id, e) in &self.entries {
            if unknown[e.group as usize] {
                self.groups[e.group as usize].list(e.updated_ms, *id);
            }
        }
    }

    /// The newest `updatedAt` of each pair (by group index), exact whether settled or not.
    fn newest_updates(&self) -> Vec<i64> {
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

    /// The table's totals as of `ctx.now`. Costs the number of pairs plus in-progress and
    /// failed spaces (plus one pass over the state if it is not [settled](Self::settle)).
    pub fn snapshot(&self, ctx: FoldContext) -> Snapshot {
        let newest = self.newest_updates();
        let mut workers: BTreeMap<WorkerKey, WorkerStats> = self
            .groups
            .iter()
            .zip(newest)
            .filter(|(g, _)| g.members > 0)
            .map(|(g, newest)| {
                (
                    g.key.clone(),
                    WorkerStats {
                        by_status: g.by_status,
                        stuck: 0,
                        oldest_in_progress_update: None,
                        last_update: (newest != NO_TIME).then(|| Timestamp::from_millis(newest)),
                    },
                )
            })
            .collect();
        let cutoff = ctx.stuck_cutoff().as_millis();
        let mut stuck: BinaryHeap<StuckSpace> = BinaryHeap::new();
        for (id, space) in &self.in_progress {
            let Some(e) = self.entries.get(id) else {
                continue;
            };
            if e.updated_ms == NO_TIME {
                continue;
            }
            let key = &self.groups[e.group as usize].key;
            let Some(w) = workers.get_mut(key) else {
                continue;
            };
            let updated = Timestamp::from_millis(e.updated_ms);
            w.oldest_in_progress_update = Some(
                w.oldest_in_progress_update
                    .map_or(updated, |o| o.min(updated)),
            );
            if e.updated_ms < cutoff {
                w.stuck += 1;
                let candidate = (updated, space.as_ref());
                let keep = stuck.len() < ctx.max_stuck_spaces
                    || stuck.peek().is_some_and(|newest| {
                        candidate < (newest.updated_at, newest.space.as_str())
                    });
                if keep && ctx.max_stuck_spaces > 0 {
                    stuck.push(StuckSpace {
                        updated_at: updated,
                        space: space.to_string(),
                        instance_id: key.instance_id.clone(),
                        worker_id: key.worker_id.clone(),
                    });
                    if stuck.len() > ctx.max_stuck_spaces {
                        stuck.pop();
                    }
                }
            }
        }
        let mut stuck_spaces = stuck.into_vec();
        stuck_spaces.sort();
        Snapshot {
            taken_at: ctx.now,
            stuck_after: ctx.stuck_after,
            workers,
            stuck_spaces,
            failed_spaces: self.newest_failed(ctx.max_failed_spaces),
            invalid: self.invalid,
            items: self.entries.len() as u64,
            invalid_items: self.invalid_items,
        }
    }

    /// The `max` most recently failed spaces (by `updatedAt`), newest first; failed spaces
    /// without a readable `updatedAt` are counted but not named. Costs the failed spaces.
    fn newest_failed(&self, max: usize) -> Vec<FailedSpace> {
        if max == 0 {
            return Vec::new();
        }
        // A min-heap of the newest `max` by (updatedAt, reversed name).
        let mut heap: BinaryHeap<std::cmp::Reverse<(i64, std::cmp::Reverse<&str>, u32)>> =
            BinaryHeap::new();
        for (id, space) in &self.failed {
            let Some(e) = self.entries.get(id) else {
                continue;
            };
            if e.updated_ms == NO_TIME {
                continue;
            }
            let candidate = (e.updated_ms, std::cmp::Reverse(space.as_ref()), e.group);
            if heap.len() < max {
                heap.push(std::cmp::Reverse(candidate));
            } else if heap.peek().is_some_and(|oldest| candidate > oldest.0) {
                heap.pop();
                heap.push(std::cmp::Reverse(candidate));
            }
        }
        let mut out: Vec<FailedSpace> = heap
            .into_iter()
            .map(|std::cmp::Reverse((ms, std::cmp::Reverse(space), group))| {
                let key = &self.groups[group as usize].key;
                FailedSpace {
                    failed_at: Timestamp::from_millis(ms),
                    space: space.to_owned(),
                    instance_id: key.instance_id.clone(),
                    worker_id: key.worker_id.clone(),
                }
            })
            .collect();
        out.sort_by(FailedSpace::order);
        out
    }

    /// Every space's contribution, for comparing two states.
    pub fn contributions(&self) -> BTreeMap<SpaceId, Contribution> {
        self.entries
            .iter()
            .map(|(id, e)| {
                let key = &self.groups[e.group as usize].key;
                (
                    *id,
                    Contribution {
                        instance_id: key.instance_id.clone(),
                        worker_id: key.worker_id.clone(),
                        status: e.status,
                        total_uploads: e.total,
                        completed_uploads: e.completed,
                        updated_at: (e.updated_ms != NO_TIME)
                            .then(|| Timestamp::from_millis(e.updated_ms)),
                    },
                )
            })
            .collect()
    }

    /// Heap bytes this state holds, roughly (table capacity times bucket size, plus names and
    /// the pairs' newest-spaces lists).
    pub fn approx_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<(SpaceId, Entry)>() + 1;
        let names: usize = self
            .in_progress
            .values()
            .chain(self.failed.values())
            .map(|n| n.len() + 16 + 17)
            .sum();
        let newest: usize = self
            .groups
            .iter()
            .map(|g| g.newest.capacity() * std::mem::size_of::<(i64, SpaceId)>())
            .sum();
        self.entries.capacity() * bucket + names + newest
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::SpaceKey;

    fn rec(space: &str, status: Status, worker: &str, done: u64, updated_s: i64) -> SpaceProgress {
        SpaceProgress {
            key: SpaceKey::new("did:mailto:c", space),
            status,
            total_uploads: 100,
            completed_uploads: done,
            last_processed_upload: None,
            instance_id: Some("1".into()),
            worker_id: Some(worker.into()),
            error: None,
            created_at: None,
            updated_at: Some(Timestamp::from_millis(updated_s * 1000)),
            problems: Problems::default(),
        }
    }

    fn ctx(now_s: i64) -> FoldContext {
        FoldContext {
            now: Timestamp::from_millis(now_s * 1000),
            stuck_after: Duration::from_secs(3600),
            max_stuck_spaces: 2,
            max_failed_spaces: 2,
        }
    }

    fn spaces(s: &Snapshot, worker: &str, status: Status) -> u64 {
        s.workers
            .iter()
            .find(|(k, _)| k.worker_id == worker)
            .map_or(0, |(_, w)| w.status(status).spaces)
    }

    #[test]
    fn a_move_subtracts_the_old_contribution_and_adds_the_new() {
        let mut st = TableState::new();
        assert_eq!(
            st.apply(&rec("a", Status::InProgress, "w1", 10, 100)),
            Change::Inserted
        );
        assert_eq!(
            st.apply(&rec("a", Status::Completed, "w1", 100, 200)),
            Change::Replaced {
                from: Status::InProgress,
                to: Status::Completed
            }
        );
        let s = st.snapshot(ctx(300));
        assert_eq!(spaces(&s, "w1", Status::InProgress), 0);
        assert_eq!(spaces(&s, "w1", Status::Completed), 1);
        assert_eq!(
            s.workers
                .values()
                .next()
                .unwrap()
                .status(Status::Completed)
                .completed_uploads,
            100
        );
        assert_eq!(s.items, 1);
    }

    #[test]
    fn duplicates_and_older_versions_do_not_double_count() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::InProgress, "w1", 10, 100));
        assert_eq!(
            st.apply(&rec("a", Status::InProgress, "w1", 10, 100)),
            Change::Unchanged
        );
        st.apply(&rec("a", Status::Completed, "w1", 100, 200));
        assert_eq!(
            st.apply(&rec("a", Status::InProgress, "w1", 10, 100)),
            Change::Older
        );
        let s = st.snapshot(ctx(300));
        assert_eq!(spaces(&s, "w1", Status::Completed), 1);
        assert_eq!(spaces(&s, "w1", Status::InProgress), 0);
    }

    #[test]
    fn a_worker_whose_last_space_moves_leaves_the_snapshot() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::InProgress, "lonely", 10, 100));
        st.apply(&rec("a", Status::InProgress, "w2", 10, 200));
        let s = st.snapshot(ctx(300));
        assert!(s.workers.keys().all(|k| k.worker_id != "lonely"));
        assert_eq!(spaces(&s, "w2", Status::InProgress), 1);
    }

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
    fn a_full_scan_removes_unseen_spaces_and_reports_drift() {
        let mut st = TableState::new();
        st.apply(&rec("kept", Status::Completed, "w1", 100, 100));
        st.apply(&rec("deleted", Status::Pending, "w1", 0, 100));
        st.apply(&rec("missed", Status::InProgress, "w1", 5, 100));
        st.begin_scan();
        let seen_before = Some(Timestamp::from_millis(1_000_000));
        let outcome = |changed, drift, transition| Scanned {
            changed,
            drift,
            transition,
        };
        assert_eq!(
            st.apply_scanned(&rec("kept", Status::Completed, "w1", 100, 100), seen_before),
            outcome(false, false, None)
        );
        // Changed at 150 s, before the last incremental refresh: it should have been seen.
        assert_eq!(
            st.apply_scanned(
                &rec("missed", Status::Completed, "w1", 100, 150),
                seen_before
            ),
            outcome(true, true, Some((Status::InProgress, Status::Completed)))
        );
        // Changed after it: not drift, just news, and no transition (first seen).
        assert_eq!(
            st.apply_scanned(&rec("new", Status::Pending, "w1", 0, 2_000), seen_before),
            outcome(true, false, None)
        );
        assert_eq!(st.end_scan(), 1);
        let s = st.snapshot(ctx(3000));
        assert_eq!(s.items, 3);
        assert_eq!(spaces(&s, "w1", Status::Pending), 1);
        assert_eq!(spaces(&s, "w1", Status::Completed), 2);
    }

    #[test]
    fn invalid_counts_follow_the_entries() {
        let mut st = TableState::new();
        let mut bad = rec("bad", Status::Unknown, "w1", 0, 100);
        bad.problems.insert(InvalidReason::UnknownStatus);
        st.apply(&bad);
        assert_eq!(st.snapshot(ctx(200)).invalid_items, 1);
        st.apply(&rec("bad", Status::Pending, "w1", 0, 150));
        let s = st.snapshot(ctx(200));
        assert_eq!(s.invalid_items, 0);
        assert_eq!(s.invalid[InvalidReason::UnknownStatus.index()], 0);
    }

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

    #[test]
    fn ids_differ_by_customer_and_space() {
        assert_ne!(space_id("a", "bc"), space_id("ab", "c"));
        assert_eq!(space_id("a", "b"), space_id("a", "b"));
    }
}
