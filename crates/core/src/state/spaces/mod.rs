//! The exporter's memory of the table: one compact [`Entry`] per space (interned instance/worker
//! pair, status, counts and `updatedAt` as integers, keyed by a 128-bit hash of the space's key;
//! 48 bytes with its key, in a [`DenseMap`] whose slots are 70% to 87.5% in use), with per-pair
//! totals kept up to date as entries change. A refresh applies what it read; a
//! snapshot is built from the totals and the in-progress and failed spaces only, so its cost
//! follows the change rate, not the table size.
//!
//! Each pair's newest `updatedAt` (when its worker last wrote anything) comes from a short list
//! of the pair's [`NEWEST_KEPT`] newest spaces, kept as entries change: a change costs a look at
//! that list, not at the pair's spaces. Only when every listed space has left the pair (moved
//! to another worker, deleted, or rewritten with an older `updatedAt`) with no newer write in
//! between does [`TableState::settle`] refill the list with one pass over the state.

mod batch;
mod classes;
mod dense;
mod durations;
mod entry;
mod fold;
mod group;
mod id;
mod listed;

use std::collections::{BTreeMap, HashMap};

use crate::failure::Classifier;
use crate::model::{InvalidReason, SpaceProgress, Status, Timestamp};
use crate::state::snapshot::WorkerKey;
use classes::{ClassTable, NO_CLASS};
pub use classes::{EXAMPLES, MAX_CLASSES, OVERFLOW_NAME};
use dense::DenseMap;
pub use durations::DEFAULT_BOUNDS;
use entry::{Entry, NO_TIME, held_counts};
use group::Group;
pub use group::NEWEST_KEPT;
pub use id::{IdHasher, SpaceId, id_of, space_id, with_ids};
use listed::Names;

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A space not seen before.
    Inserted,
    /// A space whose contribution changed, with its status before and after.
    Replaced { from: Status, to: Status },
    /// The same contribution as held.
    Unchanged,
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
#[derive(Debug)]
pub struct TableState {
    /// Every space held, in a map dense enough for ten million of them (see [`dense`]).
    entries: DenseMap<Entry>,
    groups: Vec<Group>,
    /// instance -> worker -> group index; nested so lookups need no allocation.
    group_ids: HashMap<String, HashMap<String, u32>>,
    /// The in-progress spaces: a snapshot looks at these one by one (stuck spaces).
    in_progress: Names,
    /// The failed spaces: a snapshot looks at these one by one (the newest failures).
    failed: Names,
    /// Current entries with each problem, and with any.
    invalid: [u64; InvalidReason::ALL.len()],
    invalid_items: u64,
    /// The current full scan's mark. Every entry's mark is this one outside a scan (a scan
    /// removes those it did not mark), so a byte is enough: see [`TableState::begin_scan`].
    generation: u8,
    /// A scan was begun and not ended (it failed part way).
    scan_open: bool,
    /// The failed spaces' error classes, and how new ones are named.
    classes: ClassTable,
    classifier: Classifier,
    /// Duration bucket bounds, in seconds, increasing.
    bounds: std::sync::Arc<[u32]>,
}

impl Default for TableState {
    fn default() -> Self {
        TableState::with_duration_bounds(&DEFAULT_BOUNDS)
    }
}

impl TableState {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state whose duration histograms have these bounds (seconds, increasing).
    pub fn with_duration_bounds(bounds: &[u32]) -> Self {
        TableState {
            entries: DenseMap::default(),
            groups: Vec::new(),
            group_ids: HashMap::new(),
            in_progress: Names::default(),
            failed: Names::default(),
            invalid: [0; InvalidReason::ALL.len()],
            invalid_items: 0,
            generation: 0,
            scan_open: false,
            classes: ClassTable::default(),
            classifier: Classifier::default(),
            bounds: bounds.into(),
        }
    }

    /// Classifies failed spaces with `classifier` from now on. Spaces already held keep their
    /// class until they are read again (the next full scan reads them all).
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.classifier = classifier;
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
        self.groups.push(Group::new(WorkerKey {
            instance_id: instance.to_owned(),
            worker_id: worker.to_owned(),
        }));
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
        let class = if p.status == Status::Failed {
            let class = self.classifier.classify(p.error.as_deref());
            self.classes.intern(class)
        } else {
            NO_CLASS
        };
        let (total, completed, problems) =
            held_counts(p.total_uploads, p.completed_uploads, p.problems);
        Entry {
            group,
            seen: self.generation,
            status: p.status,
            problems,
            class,
            duration: durations::measure(p.status == Status::Completed, p.created_at, p.updated_at),
            total,
            completed,
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
        if e.class != NO_CLASS {
            self.classes.count(e.class, sign);
        }
        let bounds = &self.bounds;
        self.groups[e.group as usize]
            .durations
            .count(e.duration, bounds, sign);
        if !e.problems.is_empty() {
            for r in e.problems.iter() {
                self.invalid[r.index()] = self.invalid[r.index()].wrapping_add_signed(sign);
            }
            self.invalid_items = self.invalid_items.wrapping_add_signed(sign);
        }
    }

    fn put(&mut self, id: SpaceId, e: Entry, space: &str) {
        let old = self.entries.insert(id, e);
        if let Some(old) = &old {
            self.count(id, old, -1);
        }
        self.count(id, &e, 1);
        self.relist(id, &e, old.as_ref(), space);
    }

    /// Applies a record as the space is now (read from the status index, or loaded whole),
    /// whatever its `updatedAt`: a worker whose clock runs behind may rewrite a space older.
    pub fn apply(&mut self, p: &SpaceProgress) -> Change {
        self.apply_id(id_of(p), p)
    }

    /// [`TableState::apply`] of a record whose id is known.
    fn apply_id(&mut self, id: SpaceId, p: &SpaceProgress) -> Change {
        let mut new = self.entry_for(p);
        match self.entries.get(id).copied() {
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
    ///
    /// Outside a scan every entry holds the current mark; a new one differs from it, however
    /// small the mark. After a scan that was begun and never ended, entries hold this mark or
    /// the one before: they are all given this one first (one pass, only then), so that no
    /// number of failed scans can bring an old mark round to the new one.
    pub fn begin_scan(&mut self) {
        if self.scan_open {
            let generation = self.generation;
            for e in self.entries.values_mut() {
                e.seen = generation;
            }
        }
        self.generation = self.generation.wrapping_add(1);
        self.scan_open = true;
    }

    /// Applies a record read by a full scan, which is authoritative. Returns whether it differed
    /// from what was held, whether that difference is drift (visible before `visible_before`,
    /// so an incremental refresh should have applied it already), and the status change.
    pub fn apply_scanned(
        &mut self,
        p: &SpaceProgress,
        visible_before: Option<Timestamp>,
    ) -> Scanned {
        self.apply_scanned_id(id_of(p), p, visible_before)
    }

    /// [`TableState::apply_scanned`] of a record whose id is known.
    fn apply_scanned_id(
        &mut self,
        id: SpaceId,
        p: &SpaceProgress,
        visible_before: Option<Timestamp>,
    ) -> Scanned {
        let new = self.entry_for(p);
        let old = self.entries.get(id).copied();
        let differs = !old.is_some_and(|o| o.same(&new));
        if differs {
            self.put(id, new, &p.key.space);
        } else if let Some(e) = self.entries.get_mut(id) {
            e.seen = self.generation;
        }
        let drift = differs
            && !old.is_some_and(|o| o.same_record(&new))
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
        self.scan_open = false;
        let gone: Vec<SpaceId> = self
            .entries
            .iter()
            .filter(|(_, e)| e.seen != generation)
            .map(|(id, _)| id)
            .collect();
        for id in &gone {
            if let Some(old) = self.entries.remove(*id) {
                self.count(*id, &old, -1);
                self.unlist(*id, &old);
            }
        }
        gone.len() as u64
    }

    /// Every space's contribution, for comparing two states.
    pub fn contributions(&self) -> BTreeMap<SpaceId, Contribution> {
        self.entries
            .iter()
            .map(|(id, e)| {
                let key = &self.groups[e.group as usize].key;
                (
                    id,
                    Contribution {
                        instance_id: key.instance_id.clone(),
                        worker_id: key.worker_id.clone(),
                        status: e.status,
                        total_uploads: e.total.get(),
                        completed_uploads: e.completed.get(),
                        updated_at: (e.updated_ms != NO_TIME)
                            .then(|| Timestamp::from_millis(e.updated_ms)),
                    },
                )
            })
            .collect()
    }

    /// Heap bytes this state holds, roughly (slots times slot size, plus names and the pairs'
    /// newest-spaces lists).
    pub fn approx_bytes(&self) -> usize {
        let slot = std::mem::size_of::<dense::EntrySlot<Entry>>();
        let newest: usize = self
            .groups
            .iter()
            .map(|g| g.newest.capacity() * std::mem::size_of::<(i64, SpaceId)>())
            .sum();
        self.entries.capacity() * slot + self.listed_bytes() + newest + self.classes.approx_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{Problems, SpaceKey};
    use crate::state::snapshot::{FoldContext, Snapshot};
    use crate::table::item::MAX_UPLOADS;

    pub(super) fn rec(
        space: &str,
        status: Status,
        worker: &str,
        done: u64,
        updated_s: i64,
    ) -> SpaceProgress {
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

    pub(super) fn ctx(now_s: i64) -> FoldContext {
        FoldContext {
            now: Timestamp::from_millis(now_s * 1000),
            stuck_after: Duration::from_secs(3600),
            max_stuck_spaces: 2,
            max_failed_spaces: 2,
            max_error_classes: 2,
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
    fn duplicates_do_not_double_count_and_an_older_rewrite_replaces() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::InProgress, "w1", 10, 100));
        assert_eq!(
            st.apply(&rec("a", Status::InProgress, "w1", 10, 100)),
            Change::Unchanged
        );
        st.apply(&rec("a", Status::Completed, "w1", 100, 200));
        // A worker whose clock is behind retries it: its write is the space as it is now.
        assert_eq!(
            st.apply(&rec("a", Status::InProgress, "w2", 10, 150)),
            Change::Replaced {
                from: Status::Completed,
                to: Status::InProgress
            }
        );
        let s = st.snapshot(ctx(300));
        assert_eq!(spaces(&s, "w1", Status::Completed), 0);
        assert_eq!(spaces(&s, "w2", Status::InProgress), 1);
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

    #[test]
    fn a_scan_removes_what_it_did_not_see_however_many_scans_failed_before_it() {
        // "old" holds mark 0; 255 failed scans (begun, never ended), then the 256th, whose
        // one-byte mark comes round to 0 again: it must still count "old" as unseen.
        let mut st = TableState::new();
        st.apply(&rec("old", Status::Completed, "w1", 100, 100));
        st.apply(&rec("kept", Status::Completed, "w1", 100, 100));
        for _ in 0..u8::MAX {
            st.begin_scan();
        }
        st.begin_scan();
        st.apply_scanned(&rec("kept", Status::Completed, "w1", 100, 100), None);
        assert_eq!(st.end_scan(), 1);
        let held: Vec<SpaceId> = st.contributions().into_keys().collect();
        assert_eq!(held, vec![space_id("did:mailto:c", "kept")]);
    }

    #[test]
    fn counts_beyond_what_the_decoder_accepts_are_invalid_not_wrapped() {
        let mut st = TableState::new();
        let mut big = rec("big", Status::InProgress, "w1", 10, 100);
        big.total_uploads = MAX_UPLOADS;
        big.completed_uploads = MAX_UPLOADS - 1;
        st.apply(&big);
        let mut absurd = rec("absurd", Status::InProgress, "w1", 10, 100);
        absurd.total_uploads = (1 << 40) + 5;
        st.apply(&absurd);
        let s = st.snapshot(ctx(200));
        let w = s
            .workers
            .values()
            .next()
            .unwrap()
            .status(Status::InProgress);
        assert_eq!(w.uploads, MAX_UPLOADS);
        assert_eq!(w.completed_uploads, MAX_UPLOADS - 1 + 10);
        assert_eq!(s.invalid_items, 1);
        assert_eq!(s.invalid[InvalidReason::InvalidNumber.index()], 1);
        assert_eq!(s.invalid[InvalidReason::CompletedExceedsTotal.index()], 1);
    }
}
