//! Random histories of the table and the table they build. A history is a list of [`Op`]s:
//! workers writing spaces (any status, counts, instance and worker, with an error text or not,
//! a clock behind or ahead, some items malformed), deletions, waits and refreshes. [`Table`]
//! plays them on a virtual clock and answers as DynamoDB does: a scan reads the items as they
//! are; the status index shows each item's newest version once it has propagated (each write
//! may reach the index late), only for the four statuses and a string `updatedAt`, compared as
//! strings after `since`.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use crate::table::item::{self, Item, attr};
use aws_sdk_dynamodb::types::AttributeValue;

/// 2026-01-01T00:00:00Z: where the virtual clock starts.
const EPOCH_MS: i64 = 1_767_225_600_000;
/// The error texts workers write (transient, permanent and unknown to the bundled rules).
const ERRORS: [&str; 5] = [
    "Timeout after 30000ms",
    "AccessDenied: not allowed to read bucket",
    "disk quota exceeded on shard 7",
    "unexpected EOF while reading car 12",
    "SlowDown: please reduce your request rate",
];

/// How a write can be malformed (and fixed by the next good write of the space).
#[derive(Debug, Clone, Copy)]
pub(super) enum Flaw {
    UnknownStatus,
    MissingStatus,
    MissingUpdatedAt,
    UnreadableUpdatedAt,
    CountAsString,
    CompletedOverTotal,
}

/// One write of a space by a worker.
#[derive(Debug, Clone)]
pub(super) struct Write {
    pub space: usize,
    pub status: Status,
    pub total: u64,
    pub done: u64,
    pub instance: usize,
    pub worker: usize,
    pub error: Option<usize>,
    /// Whether the item carries `createdAt` (the space's first write, on the writer's clock).
    pub created: bool,
    /// The writer's clock error: `updatedAt` is the write's time plus this.
    pub skew_ms: i64,
    /// How long after the write the index shows it.
    pub lag_ms: i64,
    pub flaw: Option<Flaw>,
}

/// A refresh and how the reads answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refresh {
    Full,
    Incremental,
}

/// One step of a history.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Write(Write),
    Delete {
        space: usize,
        lag_ms: i64,
    },
    Wait {
        ms: i64,
    },
    /// `order` shuffles the records read (any page order); `twice` repeats some of them.
    Refresh {
        kind: Refresh,
        order: u64,
        twice: u64,
    },
}

fn flaw() -> impl Strategy<Value = Option<Flaw>> {
    prop_oneof![
        24 => Just(None),
        1 => Just(Some(Flaw::UnknownStatus)),
        1 => Just(Some(Flaw::MissingStatus)),
        1 => Just(Some(Flaw::MissingUpdatedAt)),
        1 => Just(Some(Flaw::UnreadableUpdatedAt)),
        1 => Just(Some(Flaw::CountAsString)),
        1 => Just(Some(Flaw::CompletedOverTotal)),
    ]
}

/// Clocks mostly right, sometimes off within the overlap, rarely behind by more than it.
fn skew(overlap_ms: i64) -> impl Strategy<Value = i64> {
    let within = overlap_ms * 2 / 5;
    prop_oneof![
        12 => Just(0i64),
        6 => -within..=within,
        1 => -(overlap_ms * 4)..-(overlap_ms + 1),
    ]
}

fn write(spaces: usize, overlap_ms: i64) -> impl Strategy<Value = Write> {
    let status = prop::sample::select(Status::KNOWN.to_vec());
    // One worker holds most spaces, so that its newest-spaces list overflows and refills.
    let worker = prop_oneof![3 => Just(0usize), 2 => 0usize..3];
    (
        (0..spaces, status, 0u64..50, 0u64..60, 0usize..2, worker),
        (prop::option::weighted(0.6, 0..ERRORS.len()), any::<bool>()),
        (
            skew(overlap_ms),
            prop_oneof![3 => Just(0i64), 1 => 0..overlap_ms / 2],
            flaw(),
        ),
    )
        .prop_map(
            |((space, status, total, done, instance, worker), (error, created), (s, l, f))| Write {
                space,
                status,
                total,
                done: done.min(total),
                instance,
                worker,
                error,
                created,
                skew_ms: s,
                lag_ms: l,
                flaw: f,
            },
        )
}

fn op(spaces: usize, overlap_ms: i64) -> impl Strategy<Value = Op> {
    let refresh = prop_oneof![1 => Just(Refresh::Full), 3 => Just(Refresh::Incremental)];
    prop_oneof![
        10 => write(spaces, overlap_ms).prop_map(Op::Write),
        1 => (0..spaces, 0..overlap_ms / 2).prop_map(|(space, lag_ms)| Op::Delete { space, lag_ms }),
        3 => (0i64..overlap_ms).prop_map(|ms| Op::Wait { ms }),
        4 => (refresh, any::<u64>(), any::<u64>())
            .prop_map(|(kind, order, twice)| Op::Refresh { kind, order, twice }),
    ]
}

/// A history over up to `max_spaces` spaces, of up to `max_ops` steps.
pub(super) fn history(
    max_spaces: usize,
    max_ops: usize,
    overlap_ms: i64,
) -> impl Strategy<Value = Vec<Op>> {
    (1..=max_spaces).prop_flat_map(move |n| prop::collection::vec(op(n, overlap_ms), 1..max_ops))
}

/// A space's key: unique names, two customers.
pub(super) fn key(space: usize) -> SpaceKey {
    SpaceKey::new(
        format!("did:mailto:c{}", space % 2),
        format!("did:key:s{space}"),
    )
}

/// One version of an item as the index holds it.
#[derive(Debug, Clone)]
struct ItemVersion {
    /// `None`: deleted.
    item: Option<Item>,
    /// When the index shows it (never before the version it replaces).
    visible_ms: i64,
}

/// The table and its status index on a virtual clock.
#[derive(Debug, Default)]
pub(super) struct Table {
    elapsed_ms: i64,
    versions: BTreeMap<usize, Vec<ItemVersion>>,
    /// Each space's first write (on the writer's clock), its `createdAt`.
    created_ms: BTreeMap<usize, i64>,
}

impl Table {
    /// The clock now.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(EPOCH_MS + self.elapsed_ms)
    }

    pub fn wait(&mut self, ms: i64) {
        self.elapsed_ms += ms;
    }

    fn push(&mut self, space: usize, item: Option<Item>, lag_ms: i64) {
        let versions = self.versions.entry(space).or_default();
        let after = versions.last().map_or(i64::MIN, |v| v.visible_ms);
        versions.push(ItemVersion {
            item,
            visible_ms: (self.elapsed_ms + lag_ms).max(after),
        });
    }

    pub fn write(&mut self, w: &Write) {
        self.elapsed_ms += 1;
        let at = EPOCH_MS + self.elapsed_ms + w.skew_ms;
        let created = *self.created_ms.entry(w.space).or_insert(at);
        let p = SpaceProgress {
            key: key(w.space),
            status: w.status,
            total_uploads: w.total,
            completed_uploads: w.done,
            last_processed_upload: None,
            instance_id: Some(format!("i{}", w.instance)),
            worker_id: Some(format!("w{}", w.worker)),
            error: w.error.map(|e| ERRORS[e].to_owned()),
            created_at: w.created.then(|| Timestamp::from_millis(created)),
            updated_at: Some(Timestamp::from_millis(at)),
            problems: Default::default(),
        };
        let mut item = item::encode(&p);
        if let Some(f) = w.flaw {
            spoil(&mut item, f);
        }
        self.push(w.space, Some(item), w.lag_ms);
    }

    pub fn delete(&mut self, space: usize, lag_ms: i64) {
        if self.current(space).is_some() {
            self.push(space, None, lag_ms);
            self.created_ms.remove(&space);
        }
    }

    /// The item as it is now.
    pub fn current(&self, space: usize) -> Option<&Item> {
        self.versions.get(&space)?.last()?.item.as_ref()
    }

    /// The spaces ever written.
    pub fn spaces(&self) -> impl Iterator<Item = usize> + '_ {
        self.versions.keys().copied()
    }

    /// What a scan reads: every item as it is.
    pub fn scan(&self) -> Vec<(usize, SpaceProgress)> {
        self.spaces()
            .filter_map(|s| self.current(s).map(|i| (s, item::decode(i))))
            .collect()
    }

    /// The version of a space the index shows now, if it shows one.
    fn indexed(&self, space: usize) -> Option<&Item> {
        let now = self.elapsed_ms;
        let shown = self
            .versions
            .get(&space)?
            .iter()
            .rev()
            .find(|v| v.visible_ms <= now)?;
        shown.item.as_ref()
    }

    /// What the four status queries of an incremental refresh read: items with a known
    /// status and `updatedAt` (as a string) after `since`.
    pub fn query(&self, since: Timestamp) -> Vec<(usize, SpaceProgress)> {
        let after = since.to_iso();
        let after = after.as_str();
        Status::KNOWN
            .iter()
            .flat_map(|status| {
                self.spaces().filter_map(move |s| {
                    let item = self.indexed(s)?;
                    let in_partition = matches!(item.get(attr::STATUS), Some(AttributeValue::S(v)) if v == status.as_str());
                    let after_since = matches!(item.get(attr::UPDATED_AT), Some(AttributeValue::S(u)) if u.as_str() > after);
                    (in_partition && after_since).then(|| (s, item::decode(item)))
                })
            })
            .collect()
    }

    /// Why a space's newest version did not reach an incremental refresh after `since`, if it
    /// did not: the reasons the README lists for what waits for the next full scan.
    pub fn unseen_because(&self, space: usize, since: Timestamp) -> Option<&'static str> {
        let Some(item) = self.current(space) else {
            return Some("deleted");
        };
        let newest_shown = self.versions[&space]
            .last()
            .is_some_and(|v| v.visible_ms <= self.elapsed_ms);
        let status = match item.get(attr::STATUS) {
            Some(AttributeValue::S(s)) => Status::parse(s),
            _ => None,
        };
        match item.get(attr::UPDATED_AT) {
            _ if status.is_none() => Some("status outside the four"),
            Some(AttributeValue::S(u)) if *u <= since.to_iso() => {
                Some("updatedAt before the window")
            }
            Some(AttributeValue::S(_)) if !newest_shown => Some("not in the index yet"),
            Some(AttributeValue::S(_)) => None,
            _ => Some("no updatedAt string"),
        }
    }
}

/// Makes an item malformed as `flaw` says.
fn spoil(item: &mut Item, flaw: Flaw) {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    match flaw {
        Flaw::UnknownStatus => {
            item.insert(attr::STATUS.into(), s("paused"));
        }
        Flaw::MissingStatus => {
            item.remove(attr::STATUS);
        }
        Flaw::MissingUpdatedAt => {
            item.remove(attr::UPDATED_AT);
        }
        Flaw::UnreadableUpdatedAt => {
            item.insert(attr::UPDATED_AT.into(), s("yesterday"));
        }
        Flaw::CountAsString => {
            item.insert(attr::TOTAL_UPLOADS.into(), s("12"));
        }
        Flaw::CompletedOverTotal => {
            item.insert(
                attr::COMPLETED_UPLOADS.into(),
                AttributeValue::N("999".into()),
            );
        }
    }
}
