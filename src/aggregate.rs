//! Folds records into per-instance/worker totals as pages arrive, so memory follows the number of
//! workers, not the number of spaces. One [`Aggregator`] per scan segment; segments are merged,
//! then frozen into a [`Snapshot`].

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

use crate::item::{self, InvalidReason, Item};
use crate::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use crate::snapshot::{Snapshot, WorkerKey};

/// Sums over a set of spaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub spaces: u64,
    pub uploads: u64,
    pub completed_uploads: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.spaces += other.spaces;
        self.uploads += other.uploads;
        self.completed_uploads += other.completed_uploads;
    }
}

/// What one (instance, worker) pair holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Indexed by [`Status::index`].
    pub by_status: [Totals; Status::ALL.len()],
    /// In-progress spaces not updated since the stuck cutoff.
    pub stuck: u64,
    /// The oldest `updatedAt` among in-progress spaces, if any.
    pub oldest_in_progress_update: Option<Timestamp>,
}

impl WorkerStats {
    pub fn status(&self, s: Status) -> &Totals {
        &self.by_status[s.index()]
    }

    /// Totals over every status.
    pub fn all(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.by_status {
            t.add(s);
        }
        t
    }

    fn merge(&mut self, other: &WorkerStats) {
        for (a, b) in self.by_status.iter_mut().zip(&other.by_status) {
            a.add(b);
        }
        self.stuck += other.stuck;
        self.oldest_in_progress_update = min_some(
            self.oldest_in_progress_update,
            other.oldest_in_progress_update,
        );
    }
}

fn min_some(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A stuck space, as listed in `migration_stuck_space_info`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StuckSpace {
    /// First field: the order is oldest first, then by key for determinism.
    pub updated_at: Timestamp,
    pub key: SpaceKey,
    pub instance_id: String,
    pub worker_id: String,
}

/// What a fold needs to know besides the records.
#[derive(Debug, Clone, Copy)]
pub struct FoldContext {
    /// When the read started; staleness is judged against it.
    pub now: Timestamp,
    /// In-progress spaces not updated for this long are stuck.
    pub stuck_after: Duration,
    /// How many stuck spaces to keep by name (the oldest).
    pub max_stuck_spaces: usize,
}

impl FoldContext {
    fn stuck_cutoff(&self) -> Timestamp {
        self.now.minus(self.stuck_after)
    }
}

/// Accumulates records into totals.
#[derive(Debug)]
pub struct Aggregator {
    ctx: FoldContext,
    /// instance id -> worker id -> stats; nested so lookups need no allocation.
    workers: HashMap<String, HashMap<String, WorkerStats>>,
    /// The newest of the kept stuck spaces on top, so it is the one dropped when full.
    stuck: BinaryHeap<StuckSpace>,
    invalid: [u64; InvalidReason::ALL.len()],
    invalid_items: u64,
    items: u64,
}

impl Aggregator {
    pub fn new(ctx: FoldContext) -> Self {
        Aggregator {
            ctx,
            workers: HashMap::new(),
            stuck: BinaryHeap::new(),
            invalid: [0; InvalidReason::ALL.len()],
            invalid_items: 0,
            items: 0,
        }
    }

    /// Decodes and adds one raw item.
    pub fn add_item(&mut self, raw: &Item) {
        self.add(&item::decode(raw));
    }

    /// Adds one record. Problems found while decoding are counted and logged at debug level;
    /// the record is still counted under what could be read of it.
    pub fn add(&mut self, p: &SpaceProgress) {
        self.items += 1;
        if !p.problems.is_empty() {
            self.invalid_items += 1;
            for reason in p.problems.iter() {
                self.invalid[reason.index()] += 1;
            }
            tracing::debug!(
                customer = %p.key.customer,
                space = %p.key.space,
                reasons = ?p.problems.iter().map(InvalidReason::as_str).collect::<Vec<_>>(),
                "invalid item"
            );
        }
        let instance = p.instance_id.as_deref().unwrap_or("");
        let worker = p.worker_id.as_deref().unwrap_or("");
        let stats = stats_mut(&mut self.workers, instance, worker);
        let totals = &mut stats.by_status[p.status.index()];
        totals.spaces += 1;
        totals.uploads += p.total_uploads;
        totals.completed_uploads += p.completed_uploads;
        if p.status == Status::InProgress
            && let Some(updated) = p.updated_at
        {
            stats.oldest_in_progress_update =
                min_some(stats.oldest_in_progress_update, Some(updated));
            if updated < self.ctx.stuck_cutoff() {
                stats.stuck += 1;
                self.keep_stuck(StuckSpace {
                    updated_at: updated,
                    key: p.key.clone(),
                    instance_id: instance.to_owned(),
                    worker_id: worker.to_owned(),
                });
            }
        }
    }

    fn keep_stuck(&mut self, s: StuckSpace) {
        if self.ctx.max_stuck_spaces == 0 {
            return;
        }
        if self.stuck.len() < self.ctx.max_stuck_spaces {
            self.stuck.push(s);
        } else if self.stuck.peek().is_some_and(|newest| s < *newest) {
            self.stuck.pop();
            self.stuck.push(s);
        }
    }

    /// Adds everything another aggregator (another scan segment) saw.
    pub fn merge(&mut self, other: Aggregator) {
        for (instance, workers) in other.workers {
            for (worker, stats) in workers {
                stats_mut(&mut self.workers, &instance, &worker).merge(&stats);
            }
        }
        for s in other.stuck {
            self.keep_stuck(s);
        }
        for (a, b) in self.invalid.iter_mut().zip(other.invalid) {
            *a += b;
        }
        self.items += other.items;
        self.invalid_items += other.invalid_items;
    }

    /// Freezes the totals into a snapshot.
    pub fn finish(self) -> Snapshot {
        let mut workers = BTreeMap::new();
        for (instance_id, ws) in self.workers {
            for (worker_id, stats) in ws {
                workers.insert(
                    WorkerKey {
                        instance_id: instance_id.clone(),
                        worker_id,
                    },
                    stats,
                );
            }
        }
        let mut stuck_spaces = self.stuck.into_vec();
        stuck_spaces.sort();
        Snapshot {
            taken_at: self.ctx.now,
            stuck_after: self.ctx.stuck_after,
            workers,
            stuck_spaces,
            invalid: self.invalid,
            items: self.items,
            invalid_items: self.invalid_items,
        }
    }
}

/// The stats of one pair, created on first sight; allocates only for a new pair.
fn stats_mut<'a>(
    workers: &'a mut HashMap<String, HashMap<String, WorkerStats>>,
    instance: &str,
    worker: &str,
) -> &'a mut WorkerStats {
    if !workers.contains_key(instance) {
        workers.insert(instance.to_owned(), HashMap::new());
    }
    let ws = workers.get_mut(instance).expect("inserted above");
    if !ws.contains_key(worker) {
        ws.insert(worker.to_owned(), WorkerStats::default());
    }
    ws.get_mut(worker).expect("inserted above")
}
