//! Incremental refresh against DynamoDB Local: random sequences of the workers' operations, and
//! after each incremental refresh the state equals what a fresh full scan computes (apart from
//! deletions, which only the next full scan sees, and counts as drift). Also: the fallback to
//! full scans when the status index cannot serve, and the read budget.

use migration_testkit::WorkerWrites;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::state::spaces::{SpaceId, space_id};
use migration_core::state::tracker::RefreshKind;
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::ProgressTable;
use migration_core::table::item;
use migration_core::table::meter::ReadOp;
use migration_testkit::writes::NewSpace;

/// A space of customer `did:mailto:c` on instance 1, worker 1, with `padding` bytes of upload id.
fn space(i: usize, status: Status, updated: Timestamp, padding: usize) -> SpaceProgress {
    let done = if status == Status::Completed { 10 } else { 0 };
    let mut p = crate::harness::record(
        "did:mailto:c",
        &format!("did:key:s{i:05}"),
        status,
        "1",
        "1",
        10,
        done,
        updated,
    );
    p.last_processed_upload = (padding > 0).then(|| "x".repeat(padding));
    p
}

pub(crate) fn settings(overlap: Duration) -> RefreshSettings {
    RefreshSettings {
        interval: Duration::from_secs(1),
        full_interval: Duration::from_secs(3600),
        overlap,
        stuck_after: Duration::from_secs(3600),
        segments: 3,
        max_stuck_spaces: 10,
        max_failed_spaces: 10,
        max_error_classes: 20,
        duration_buckets: migration_core::state::spaces::DEFAULT_BOUNDS.to_vec(),
    }
}

/// A small seeded generator (xorshift), so a failing sequence can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the test did, so deletions can be told apart.
struct Workload {
    table: ProgressTable,
    rng: Rng,
    live: Vec<SpaceKey>,
    next: u64,
    deleted_since_full: BTreeSet<SpaceId>,
}

impl Workload {
    async fn step(&mut self) {
        let now = Timestamp::now();
        let op = if self.live.len() < 5 {
            0
        } else {
            self.rng.below(10)
        };
        match op {
            // A worker starts a space (sometimes one that exists: resume-safe create).
            0 | 1 => {
                let key = if op == 1 && !self.live.is_empty() {
                    self.live[self.rng.below(self.live.len() as u64) as usize].clone()
                } else {
                    self.next += 1;
                    let key = SpaceKey::new(
                        format!("did:mailto:c{}", self.next % 7),
                        format!("did:key:s{}", self.next),
                    );
                    self.live.push(key.clone());
                    key
                };
                let new = NewSpace {
                    key,
                    total_uploads: 1 + self.rng.below(5000),
                    instance_id: (1 + self.rng.below(3)).to_string(),
                    worker_id: (1 + self.rng.below(4)).to_string(),
                };
                self.table.create_space_progress(&new, now).await.unwrap();
            }
            // Progress every N uploads.
            2..=4 => {
                let key = self.pick();
                let done = self.rng.below(5000);
                let _ = self
                    .table
                    .update_space_progress(&key, done, "bafkreiprogress", now)
                    .await;
            }
            5 => {
                let key = self.pick();
                self.table.mark_space_completed(&key, now).await.unwrap();
            }
            6 => {
                let key = self.pick();
                self.table
                    .mark_space_failed(&key, "Connection timeout after 3 retries", now)
                    .await
                    .unwrap();
            }
            // A failed or finished space retried: rewritten as in progress on another worker.
            7 | 8 => {
                let key = self.pick();
                if let Some(mut p) = self.table.get_space_progress(&key).await.unwrap() {
                    p.status = Status::InProgress;
                    p.worker_id = Some((1 + self.rng.below(4)).to_string());
                    p.completed_uploads = 0;
                    p.updated_at = Some(now);
                    self.table.put_items(vec![item::encode(&p)]).await.unwrap();
                }
            }
            // An operator deletes a record.
            _ => {
                let i = self.rng.below(self.live.len() as u64) as usize;
                let key = self.live.swap_remove(i);
                crate::harness::client()
                    .delete_item()
                    .table_name(self.table.name())
                    .key(
                        "customer",
                        aws_sdk_dynamodb::types::AttributeValue::S(key.customer.clone()),
                    )
                    .key(
                        "space",
                        aws_sdk_dynamodb::types::AttributeValue::S(key.space.clone()),
                    )
                    .send()
                    .await
                    .unwrap();
                self.deleted_since_full
                    .insert(space_id(&key.customer, &key.space));
            }
        }
    }

    fn pick(&mut self) -> SpaceKey {
        self.live[self.rng.below(self.live.len() as u64) as usize].clone()
    }
}

async fn fresh_full(table: &ProgressTable) -> Tracker {
    let mut t = Tracker::new(table.clone(), settings(Duration::from_millis(50)));
    t.full().await.unwrap();
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_state_equals_a_full_scan_after_random_worker_operations() {
    for seed in [0x9e37_79b9_u64, 0x1234_5678, 0xdead_beef] {
        let table = crate::harness::new_table("prop").await;
        let mut w = Workload {
            table: table.clone(),
            rng: Rng(seed),
            live: Vec::new(),
            next: 0,
            deleted_since_full: BTreeSet::new(),
        };
        for _ in 0..10 {
            w.step().await;
        }
        let mut tracker = Tracker::new(table.clone(), settings(Duration::from_millis(50)));
        tracker.full().await.unwrap();
        assert!(
            tracker.index_usable(),
            "DynamoDB Local's table has the index"
        );
        for round in 0..12 {
            for _ in 0..15 {
                w.step().await;
            }
            let full_every = 4;
            if round % full_every == full_every - 1 {
                // Deleted spaces the state held (some were created and deleted between two
                // refreshes, never seen).
                let held = tracker.state().contributions();
                let deleted = w
                    .deleted_since_full
                    .iter()
                    .filter(|id| held.contains_key(id))
                    .count() as u64;
                let report = tracker.full().await.unwrap();
                // DynamoDB Local's index is consistent at once: only deletions are drift.
                assert_eq!(report.drift, deleted, "seed {seed:#x} round {round}: drift");
                w.deleted_since_full.clear();
            } else {
                assert_eq!(tracker.next_kind(), RefreshKind::Incremental);
                tracker.incremental().await.unwrap();
            }
            let truth = fresh_full(&table).await;
            let mut held = tracker.state().contributions();
            for id in &w.deleted_since_full {
                held.remove(id);
            }
            let want = truth.state().contributions();
            assert_eq!(
                diff(&held, &want),
                Vec::<String>::new(),
                "seed {seed:#x} round {round}: incremental state differs from a full scan"
            );
            if w.deleted_since_full.is_empty() {
                let now = Timestamp::now();
                assert_eq!(
                    tracker.snapshot_at(now),
                    truth.snapshot_at(now),
                    "seed {seed:#x} round {round}"
                );
            }
        }
    }
}

fn diff<V: PartialEq + std::fmt::Debug>(
    a: &BTreeMap<SpaceId, V>,
    b: &BTreeMap<SpaceId, V>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            Some(w) if w == v => {}
            other => out.push(format!("{k:x}: held {v:?}, full scan {other:?}")),
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(k)) {
        out.push(format!("{k:x}: missing, full scan has {:?}", b[k]));
    }
    out
}

/// Read units of every kind the meter of `table` recorded so far.
fn all_units(table: &ProgressTable) -> f64 {
    ReadOp::ALL
        .iter()
        .map(|op| table.meter().capacity_units(*op))
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_refresh_reads_only_what_changed() {
    // The README's target: after 1% of the spaces changed, an incremental refresh costs at most
    // 2% of a full scan's read units. A read is charged by the 4 KB block (0.5 unit), so the
    // table must be big enough for one block to be under 2% of a scan: 1,000 of these records
    // scan for 21 units, and the one block that holds their 10 changes is 2.4% of it; 2,000 scan
    // for 41.5 units, and their 20 changes (3.4 KB) are still one block.
    let n = 2000;
    let table = crate::harness::new_table("inc-cost").await;
    let old = Timestamp::now().minus(Duration::from_secs(86_400));
    let records: Vec<SpaceProgress> = (0..n).map(|i| space(i, Status::Pending, old, 0)).collect();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    let mut tracker = Tracker::new(table.clone(), settings(Duration::from_secs(120)));
    let full = tracker.full().await.unwrap();
    assert_eq!(full.items, n as u64);
    let scan_units = table.meter().capacity_units(ReadOp::Scan);
    let changed = n / 100;
    for r in &records[..changed] {
        table
            .mark_space_failed(&r.key, "boom", Timestamp::now())
            .await
            .unwrap();
    }
    let before = all_units(&table);
    let inc = tracker.incremental().await.unwrap();
    assert_eq!((inc.items, inc.changed), (changed as u64, changed as u64));
    let inc_units = all_units(&table) - before;
    assert!(
        inc_units * 50.0 <= scan_units,
        "after 1% of the spaces changed, an incremental refresh read {inc_units} units, {:.2}% \
         of a full scan's {scan_units} (target: at most 2%)",
        inc_units / scan_units * 100.0
    );
    let snap = tracker.snapshot_at(Timestamp::now());
    assert_eq!(
        snap.by_status()[Status::Failed.index()].spaces,
        changed as u64
    );
    assert_eq!(
        snap.by_status()[Status::Pending.index()].spaces,
        (n - changed) as u64
    );
    // Nothing changed: the next one reads nothing new (beyond the overlap window).
    let again = tracker.incremental().await.unwrap();
    assert_eq!(again.changed, 0);
}

async fn table_with_index(name: &str, projection: Option<ProjectionType>) -> ProgressTable {
    let client = crate::harness::client();
    let key = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
            .unwrap()
    };
    let def = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("customer", KeyType::Hash))
        .key_schema(key("space", KeyType::Range))
        .attribute_definitions(def("customer"))
        .attribute_definitions(def("space"));
    if let Some(p) = projection {
        create = create
            .attribute_definitions(def("status"))
            .attribute_definitions(def("updatedAt"))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("status-index")
                    .key_schema(key("status", KeyType::Hash))
                    .key_schema(key("updatedAt", KeyType::Range))
                    .projection(Projection::builder().projection_type(p).build())
                    .build()
                    .unwrap(),
            );
    }
    create.send().await.unwrap();
    ProgressTable::new(client, name, "status-index")
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_usable_index_every_refresh_is_a_full_scan() {
    for (name, projection) in [
        ("no-index", None),
        ("keys-only", Some(ProjectionType::KeysOnly)),
    ] {
        let table = table_with_index(name, projection).await;
        let p = space(0, Status::InProgress, Timestamp::now(), 0);
        table.put_items(vec![item::encode(&p)]).await.unwrap();
        let mut tracker = Tracker::new(table.clone(), settings(Duration::from_secs(120)));
        tracker.full().await.unwrap();
        assert!(!tracker.index_usable(), "{name}");
        assert_eq!(tracker.next_kind(), RefreshKind::Full, "{name}");
        assert_eq!(tracker.snapshot_at(Timestamp::now()).items, 1);
        assert_eq!(table.meter().requests(ReadOp::Describe), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_budget_paces_scans_by_consumed_capacity() {
    // About 4.4 MB: five pages of one segment, each page's cost known only once it is read.
    let table = crate::harness::new_table("budget").await;
    let now = Timestamp::now();
    let records: Vec<SpaceProgress> = (0..4000)
        .map(|i| space(i, Status::Completed, now, 1000))
        .collect();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    let one_segment = RefreshSettings {
        segments: 1,
        ..settings(Duration::from_secs(120))
    };
    let started = Instant::now();
    Tracker::new(table.clone(), one_segment.clone())
        .full()
        .await
        .unwrap();
    let unpaced = started.elapsed().as_secs_f64();

    let budget = 100.0;
    let paced = ProgressTable::new(crate::harness::client(), table.name(), "status-index")
        .with_read_budget(Some(budget));
    let started = Instant::now();
    Tracker::new(paced.clone(), one_segment)
        .full()
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    let units = paced.meter().capacity_units(ReadOp::Scan);
    let pages = paced.meter().requests(ReadOp::Scan) as f64;
    // A second's worth goes up front and the last page is never waited for; every other unit
    // at the budget's rate. Pages are 1 MB but the last, so none costs more than this.
    let largest_page = units / (pages - 1.0).max(1.0);
    let floor = (units - budget - largest_page) / budget;
    assert!(
        floor >= 2.0 * unpaced,
        "too little to tell pacing from reading: {units} units in {pages} pages, \
         {floor:.2}s paced against {unpaced:.2}s unpaced"
    );
    assert!(
        took >= floor * 0.95,
        "{units} units at {budget}/s took {took:.2}s, expected at least {floor:.2}s"
    );
    let ceiling = units / budget + unpaced + 2.0;
    assert!(
        took <= ceiling,
        "{units} units at {budget}/s took {took:.2}s: paced too slowly (at most {ceiling:.2}s)"
    );
}

/// Every (from, to) count of a report, as a map without the zeros.
fn transitions(
    report: &migration_core::state::tracker::RefreshReport,
) -> Vec<(Status, Status, u64)> {
    let mut out = Vec::new();
    for from in Status::ALL {
        for to in Status::ALL {
            let n = report.transitions.get(from, to);
            if n > 0 {
                out.push((from, to, n));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_space_moved_several_times_between_two_refreshes_is_one_transition_from_end_to_end() {
    // pending -> in-progress -> failed -> in-progress -> completed, all between two refreshes:
    // the exporter reads only the first and the last record, so one pending -> completed, by an
    // incremental refresh and, on another space, by a full scan alike.
    let table = crate::harness::new_table("transitions").await;
    let old = Timestamp::now().minus(Duration::from_secs(600));
    let by_query = space(1, Status::Pending, old, 0);
    let by_scan = space(2, Status::Pending, old, 0);
    let quiet = space(3, Status::Completed, old, 0);
    table
        .put_items([&by_query, &by_scan, &quiet].map(item::encode).to_vec())
        .await
        .unwrap();
    let mut tracker = Tracker::new(table.clone(), settings(Duration::from_secs(120)));
    let first = tracker.full().await.unwrap();
    assert_eq!(
        transitions(&first),
        vec![],
        "first sightings are no transitions"
    );

    let walk = |mut p: SpaceProgress| {
        let table = table.clone();
        async move {
            for status in [
                Status::InProgress,
                Status::Failed,
                Status::InProgress,
                Status::Completed,
            ] {
                p.status = status;
                p.updated_at = Some(Timestamp::now());
                table.put_items(vec![item::encode(&p)]).await.unwrap();
            }
        }
    };
    walk(by_query.clone()).await;
    let units_before = table.meter().capacity_units(ReadOp::Query)
        + table.meter().capacity_units(ReadOp::Scan)
        + table.meter().capacity_units(ReadOp::Get);
    let requests_before: u64 = ReadOp::ALL
        .iter()
        .map(|op| table.meter().requests(*op))
        .sum();
    let inc = tracker.incremental().await.unwrap();
    assert_eq!(
        transitions(&inc),
        vec![(Status::Pending, Status::Completed, 1)]
    );
    // The transitions and the last update come from what the refresh read anyway: four
    // queries (one per status, one page each), no other read; building a snapshot reads nothing.
    let requests: u64 = ReadOp::ALL
        .iter()
        .map(|op| table.meter().requests(*op))
        .sum();
    assert_eq!(requests - requests_before, 4);
    assert_eq!(table.meter().requests(ReadOp::Get), 0);
    let snap = tracker.snapshot_at(Timestamp::now());
    let units_after = table.meter().capacity_units(ReadOp::Query)
        + table.meter().capacity_units(ReadOp::Scan)
        + table.meter().capacity_units(ReadOp::Get);
    let after_snapshot: u64 = ReadOp::ALL
        .iter()
        .map(|op| table.meter().requests(*op))
        .sum();
    assert_eq!(after_snapshot, requests, "a snapshot reads nothing");
    assert!(
        units_after > units_before,
        "the queries themselves are metered"
    );
    let w = snap.workers.values().next().unwrap();
    let newest = table
        .get_space_progress(&by_query.key)
        .await
        .unwrap()
        .unwrap()
        .updated_at;
    assert_eq!(w.last_update, newest, "last update is the newest write");
    // Read again by the next refresh (overlap): nothing counted twice.
    let again = tracker.incremental().await.unwrap();
    assert_eq!(transitions(&again), vec![]);

    walk(by_scan.clone()).await;
    let full = tracker.full().await.unwrap();
    assert_eq!(
        transitions(&full),
        vec![(Status::Pending, Status::Completed, 1)]
    );
    let full_again = tracker.full().await.unwrap();
    assert_eq!(
        transitions(&full_again),
        vec![],
        "a full scan counts a change once"
    );
}
