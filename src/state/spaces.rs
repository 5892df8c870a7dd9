//! The exporter's memory of the table: one compact [`Entry`] per space (interned instance/worker
//! pair, status, counts and `updatedAt` as integers, keyed by a 128-bit hash of the space's key),
//! with per-pair totals kept up to date as entries change. A refresh applies what it read; a
//! snapshot is built from the totals and the in-progress spaces only, so its cost follows the
//! change rate, not the table size.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use super::snapshot::{FoldContext, Snapshot, StuckSpace, Totals, WorkerKey, WorkerStats};
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
}

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A space not seen before.
    Inserted,
    /// A space whose contribution changed.
    Replaced,
    /// The same contribution as held.
    Unchanged,
    /// Older than what is held (`updatedAt` before the held one): ignored.
    Older,
}

/// A space's contribution, resolved for comparison in tests and tools.
#[cfg(any(test, feature = "testing"))]
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
    /// Names of in-progress spaces: the only ones a snapshot looks at one by one.
    in_progress: IdMap<Box<str>>,
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
    #[cfg(any(test, feature = "testing"))]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(any(test, feature = "testing"))]
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

    fn count(&mut self, e: &Entry, sign: i64) {
        let g = &mut self.groups[e.group as usize];
        let t = e.totals();
        if sign > 0 {
            g.by_status[e.status.index()].add(&t);
            g.members += 1;
        } else {
            g.by_status[e.status.index()].sub(&t);
            g.members -= 1;
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
            self.count(&old, -1);
        }
        self.count(&e, 1);
        if e.status == Status::InProgress {
            self.in_progress.entry(id).or_insert_with(|| space.into());
        } else {
            self.in_progress.remove(&id);
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
                Change::Replaced
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
    /// from what was held, and whether that difference is drift: visible before
    /// `visible_before`, so an incremental refresh should have applied it already.
    pub fn apply_scanned(
        &mut self,
        p: &SpaceProgress,
        visible_before: Option<Timestamp>,
    ) -> (bool, bool) {
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
        (differs, drift)
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
                self.count(&old, -1);
                self.in_progress.remove(id);
            }
        }
        gone.len() as u64
    }

    /// The table's totals as of `ctx.now`. Costs the number of pairs plus in-progress spaces.
    pub fn snapshot(&self, ctx: FoldContext) -> Snapshot {
        let mut workers: BTreeMap<WorkerKey, WorkerStats> = self
            .groups
            .iter()
            .filter(|g| g.members > 0)
            .map(|g| {
                (
                    g.key.clone(),
                    WorkerStats {
                        by_status: g.by_status,
                        stuck: 0,
                        oldest_in_progress_update: None,
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
            invalid: self.invalid,
            items: self.entries.len() as u64,
            invalid_items: self.invalid_items,
        }
    }

    /// Every space's contribution, for comparing two states.
    #[cfg(any(test, feature = "testing"))]
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

    #[cfg(any(test, feature = "testing"))]
    /// Heap bytes this state holds, roughly (table capacity times bucket size, plus names).
    pub fn approx_bytes(&self) -> usize {
        let bucket = std::mem::size_of::<(SpaceId, Entry)>() + 1;
        let names: usize = self.in_progress.values().map(|n| n.len() + 16 + 17).sum();
        self.entries.capacity() * bucket + names
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
            Change::Replaced
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
        assert_eq!(
            st.apply_scanned(&rec("kept", Status::Completed, "w1", 100, 100), seen_before),
            (false, false)
        );
        // Changed at 150 s, before the last incremental refresh: it should have been seen.
        assert_eq!(
            st.apply_scanned(
                &rec("missed", Status::Completed, "w1", 100, 150),
                seen_before
            ),
            (true, true)
        );
        // Changed after it: not drift, just news.
        assert_eq!(
            st.apply_scanned(&rec("new", Status::Pending, "w1", 0, 2_000), seen_before),
            (true, false)
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

    #[test]
    fn ids_differ_by_customer_and_space() {
        assert_ne!(space_id("a", "bc"), space_id("ab", "c"));
        assert_eq!(space_id("a", "b"), space_id("a", "b"));
    }
}
