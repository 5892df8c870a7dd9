//! The plain model the engine is checked against: a map of the records the engine should hold
//! (the table itself after a full scan; after an incremental refresh, what the index showed
//! laid over what was held), what each refresh should report, and the snapshot computed the
//! obvious way, by looking at every record.

use std::collections::{BTreeMap, HashMap};

use crate::failure::{Classifier, ErrorClass, OTHER, Retryable};
use crate::model::{InvalidReason, Problems, SpaceProgress, Status, Timestamp};
use crate::state::snapshot::{
    ClassCount, DurationHistogram, FailedSpace, FailureClasses, FoldContext, Snapshot, StuckSpace,
    Totals, Transitions, WorkerKey, WorkerStats,
};
use crate::state::spaces::{Contribution, EXAMPLES, id_of};

/// What the engine keeps of a record: two records the same here are the same to it.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    pair: WorkerKey,
    status: Status,
    problems: Problems,
    class: Option<ErrorClass>,
    duration: Option<Duration>,
    total: u64,
    completed: u64,
    updated: Option<Timestamp>,
}

/// A completed space's duration, or why it has none.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Duration {
    Seconds(u64),
    Missing,
    Negative,
}

fn pair(p: &SpaceProgress) -> WorkerKey {
    WorkerKey {
        instance_id: p.instance_id.clone().unwrap_or_default(),
        worker_id: p.worker_id.clone().unwrap_or_default(),
    }
}

fn duration(p: &SpaceProgress) -> Option<Duration> {
    if p.status != Status::Completed {
        return None;
    }
    Some(match (p.created_at, p.updated_at) {
        (Some(c), Some(u)) if u < c => Duration::Negative,
        // Whole seconds, rounded up.
        (Some(c), Some(u)) => {
            Duration::Seconds((u.as_millis() - c.as_millis() + 999) as u64 / 1000)
        }
        _ => Duration::Missing,
    })
}

/// The records the engine should hold, and the counts its reports should add up to.
#[derive(Debug)]
pub(super) struct Model {
    pub expected: BTreeMap<usize, SpaceProgress>,
    pub transitions: Transitions,
    pub last_started: Option<Timestamp>,
    classifier: Classifier,
}

/// What one refresh should report.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Expected {
    pub items: u64,
    pub changed: u64,
    pub drift: u64,
}

impl Model {
    /// An empty model classifying failures with `classifier`, as the engine does.
    pub fn new(classifier: Classifier) -> Self {
        Model {
            expected: BTreeMap::new(),
            transitions: Transitions::default(),
            last_started: None,
            classifier,
        }
    }

    fn held(&self, p: &SpaceProgress) -> Held {
        Held {
            pair: pair(p),
            status: p.status,
            problems: p.problems,
            class: (p.status == Status::Failed)
                .then(|| self.classifier.classify(p.error.as_deref())),
            duration: duration(p),
            total: p.total_uploads,
            completed: p.completed_uploads,
            updated: p.updated_at,
        }
    }

    /// Lays `p` over what is held; returns whether the engine's view changed.
    fn put(&mut self, space: usize, p: &SpaceProgress) -> bool {
        let changed = match self.expected.get(&space) {
            Some(old) if self.held(old) == self.held(p) => false,
            Some(old) => {
                self.transitions.count(old.status, p.status);
                true
            }
            None => true,
        };
        self.expected.insert(space, p.clone());
        changed
    }

    /// A full scan read `items` (each space once) starting at `started`.
    pub fn full(&mut self, items: &[(usize, SpaceProgress)], started: Timestamp) -> Expected {
        let before = self.last_started;
        let drifted =
            |p: &SpaceProgress| before.is_some_and(|t| p.updated_at.is_none_or(|u| u < t));
        let mut out = Expected::default();
        let mut read = BTreeMap::new();
        for (space, p) in items {
            out.items += 1;
            read.insert(*space, ());
            if self.put(*space, p) {
                out.changed += 1;
                out.drift += u64::from(drifted(p));
            }
        }
        let gone: Vec<usize> = self
            .expected
            .keys()
            .filter(|s| !read.contains_key(s))
            .copied()
            .collect();
        for s in &gone {
            self.expected.remove(s);
        }
        out.changed += gone.len() as u64;
        out.drift += if before.is_some() {
            gone.len() as u64
        } else {
            0
        };
        self.last_started = Some(started);
        out
    }

    /// An incremental refresh starting at `started` read `records` (in this order, perhaps
    /// some twice): per space, the newest by `updatedAt` (the first on a tie) is the space now.
    pub fn incremental(
        &mut self,
        records: &[(usize, SpaceProgress)],
        started: Timestamp,
    ) -> Expected {
        let mut newest: Vec<(usize, &SpaceProgress)> = Vec::new();
        for (space, p) in records {
            match newest.iter_mut().find(|(s, _)| s == space) {
                Some((_, held)) if p.updated_at > held.updated_at => *held = p,
                Some(_) => {}
                None => newest.push((*space, p)),
            }
        }
        let mut out = Expected {
            items: records.len() as u64,
            ..Expected::default()
        };
        for (space, p) in newest {
            out.changed += u64::from(self.put(space, p));
        }
        self.last_started = Some(started);
        out
    }

    /// Every held space's contribution, as the engine lists them.
    pub fn contributions(&self) -> BTreeMap<u128, Contribution> {
        self.expected
            .values()
            .map(|p| {
                let k = pair(p);
                let c = Contribution {
                    instance_id: k.instance_id,
                    worker_id: k.worker_id,
                    status: p.status,
                    total_uploads: p.total_uploads,
                    completed_uploads: p.completed_uploads,
                    updated_at: p.updated_at,
                };
                (id_of(p), c)
            })
            .collect()
    }

    /// The snapshot of the held records, each looked at.
    pub fn snapshot(&self, ctx: FoldContext, bounds: &[u32]) -> Snapshot {
        let records: Vec<&SpaceProgress> = self.expected.values().collect();
        let mut invalid = [0u64; InvalidReason::ALL.len()];
        for r in records.iter().flat_map(|p| p.problems.iter()) {
            invalid[r.index()] += 1;
        }
        Snapshot {
            taken_at: ctx.now,
            stuck_after: ctx.stuck_after,
            workers: workers(&records, ctx),
            stuck_spaces: stuck(&records, ctx),
            failed_spaces: failed(&records, ctx.max_failed_spaces, &self.classifier),
            failure_classes: classes(&records, ctx.max_error_classes, &self.classifier),
            durations: durations(&records, bounds),
            invalid,
            items: records.len() as u64,
            invalid_items: records.iter().filter(|p| !p.problems.is_empty()).count() as u64,
        }
    }
}

fn is_stuck(p: &SpaceProgress, ctx: FoldContext) -> bool {
    p.status == Status::InProgress && p.updated_at.is_some_and(|u| u < ctx.stuck_cutoff())
}

fn workers(records: &[&SpaceProgress], ctx: FoldContext) -> BTreeMap<WorkerKey, WorkerStats> {
    let mut out: BTreeMap<WorkerKey, WorkerStats> = BTreeMap::new();
    for p in records {
        let w = out.entry(pair(p)).or_default();
        w.by_status[p.status.index()].add(&Totals {
            spaces: 1,
            uploads: p.total_uploads,
            completed_uploads: p.completed_uploads,
        });
        w.stuck += u64::from(is_stuck(p, ctx));
        if p.status == Status::InProgress && p.updated_at.is_some() {
            w.oldest_in_progress_update = w
                .oldest_in_progress_update
                .min(p.updated_at)
                .or(p.updated_at);
        }
        w.last_update = w.last_update.max(p.updated_at);
    }
    out
}

fn stuck(records: &[&SpaceProgress], ctx: FoldContext) -> Vec<StuckSpace> {
    let mut all: Vec<StuckSpace> = records
        .iter()
        .filter(|p| is_stuck(p, ctx))
        .map(|p| {
            let k = pair(p);
            StuckSpace {
                updated_at: p.updated_at.unwrap_or(ctx.now),
                space: p.key.space.clone(),
                instance_id: k.instance_id,
                worker_id: k.worker_id,
            }
        })
        .collect();
    all.sort();
    all.truncate(ctx.max_stuck_spaces);
    all
}

fn failed(records: &[&SpaceProgress], max: usize, classifier: &Classifier) -> Vec<FailedSpace> {
    let mut all: Vec<FailedSpace> = records
        .iter()
        .filter(|p| p.status == Status::Failed)
        .filter_map(|p| {
            let k = pair(p);
            Some(FailedSpace {
                failed_at: p.updated_at?,
                space: p.key.space.clone(),
                instance_id: k.instance_id,
                worker_id: k.worker_id,
                class: classifier.classify(p.error.as_deref()),
            })
        })
        .collect();
    all.sort_by(FailedSpace::order);
    all.truncate(max);
    all
}

fn classes(records: &[&SpaceProgress], max: usize, classifier: &Classifier) -> FailureClasses {
    let mut by_class: HashMap<ErrorClass, Vec<&SpaceProgress>> = HashMap::new();
    for p in records.iter().filter(|p| p.status == Status::Failed) {
        by_class
            .entry(classifier.classify(p.error.as_deref()))
            .or_default()
            .push(p);
    }
    let distinct = by_class.len() as u64;
    let mut ranked: Vec<(ErrorClass, Vec<&SpaceProgress>)> = by_class.into_iter().collect();
    ranked.sort_by(|(a, x), (b, y)| y.len().cmp(&x.len()).then_with(|| a.cmp(b)));
    let mut out = FailureClasses {
        distinct,
        ..FailureClasses::default()
    };
    for (class, mut spaces) in ranked {
        if out.top.len() >= max || class.name.as_ref() == OTHER {
            out.other[class.retryable.index()] += spaces.len() as u64;
            continue;
        }
        // Newest first (no updatedAt last), then by name.
        spaces.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.key.space.cmp(&b.key.space))
        });
        out.top.push(ClassCount {
            class,
            failed: spaces.len() as u64,
            newest: spaces[0].updated_at,
            examples: spaces
                .iter()
                .take(EXAMPLES)
                .map(|p| p.key.space.clone())
                .collect(),
        });
    }
    debug_assert!(Retryable::ALL.len() == out.other.len());
    out
}

fn durations(records: &[&SpaceProgress], bounds: &[u32]) -> BTreeMap<String, DurationHistogram> {
    let mut out: BTreeMap<String, DurationHistogram> = BTreeMap::new();
    for p in records {
        let Some(d) = duration(p) else { continue };
        let h = out
            .entry(pair(p).instance_id)
            .or_insert_with(|| DurationHistogram {
                bounds: bounds.into(),
                cumulative: vec![0; bounds.len()],
                count: 0,
                sum_seconds: 0,
                missing_timestamps: 0,
                completed_before_created: 0,
            });
        match d {
            Duration::Missing => h.missing_timestamps += 1,
            Duration::Negative => h.completed_before_created += 1,
            Duration::Seconds(s) => {
                h.count += 1;
                h.sum_seconds += s;
                for (c, b) in h.cumulative.iter_mut().zip(bounds) {
                    *c += u64::from(s <= u64::from(*b));
                }
            }
        }
    }
    out
}
