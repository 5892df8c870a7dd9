//! Benchmark of what a refresh costs as the table grows, in one run, as a markdown table:
//! full refresh time against the emulator's floor (a parallel `Select=COUNT` Scan over the same
//! segments), an incremental refresh after 1% of the spaces changed against a full one (time and
//! read units), freshness (a worker's write to the changed value on the real daemon's `/metrics`),
//! and resident memory of the daemon; then the per-space state alone at sizes DynamoDB Local cannot
//! hold, fed with generated records in a child process: its memory, the times of its build, of a
//! refresh applying 1% of the spaces changed and of a snapshot, and their growth with the size.
//!
//! `cargo bench --bench refresh_cost -- --sizes 10000,80000,300000 --state-sizes 1000000`.
//! Under `cargo test` it runs one small size so the code path stays exercised.

// The benches use part of the integration tests' harness (DynamoDB Local, tables, the exporter).
#[path = "support/args.rs"]
mod args;
#[path = "support/floor.rs"]
mod floor;
#[allow(dead_code)]
#[path = "../tests/it/harness/mod.rs"]
mod harness;
#[path = "support/memory.rs"]
mod memory;

use args::{arg, benching};
use migration_testkit::WorkerWrites;
use std::path::Path;
use std::time::{Duration, Instant};

use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::snapshot::FoldContext;
use migration_core::state::spaces::{Change, TableState, with_ids};
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::meter::ReadOp;
use migration_core::table::{ProgressTable, item};
use migration_testkit::sample;

const SEGMENTS: u32 = 8;
const INTERVAL_SECS: u64 = 5;

fn sizes(flag: &str, default: &str) -> Vec<u64> {
    arg(flag)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("sizes are numbers"))
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn settings() -> RefreshSettings {
    RefreshSettings {
        interval: Duration::from_secs(INTERVAL_SECS),
        full_interval: Duration::from_secs(900),
        overlap: Duration::from_secs(120),
        stuck_after: Duration::from_secs(3600),
        segments: SEGMENTS,
        max_stuck_spaces: 50,
        max_failed_spaces: 50,
        max_error_classes: 20,
        duration_buckets: migration_core::state::spaces::DEFAULT_BOUNDS.to_vec(),
    }
}

struct Row {
    n: u64,
    full: f64,
    floor: f64,
    full_units: f64,
    inc: f64,
    inc_units: f64,
    inc_items: u64,
    fresh_max: f64,
    rss: f64,
    hwm: f64,
}

/// One size: full refreshes against the floor, an incremental refresh after 1% of the spaces
/// changed, then freshness and memory on the real daemon.
async fn measure(n: u64, rounds: usize) -> Row {
    let table = harness::new_table("bench-refresh").await;
    let mut records = load_sample(&table, n).await;
    let mut tracker = Tracker::new(table.clone(), settings());
    let full = measure_full(&table, &mut tracker, n, rounds).await;
    let inc = measure_incremental(&table, &mut tracker, &mut records).await;
    let exporter = start_exporter(&table);
    let fresh_max = measure_freshness(&table, &exporter, &records).await;
    let (rss, hwm) = memory::rss_mib(exporter.pid());
    harness::client()
        .delete_table()
        .table_name(table.name())
        .send()
        .await
        .ok();
    Row {
        n,
        full: full.time,
        floor: full.floor,
        full_units: full.units,
        inc: inc.time,
        inc_units: inc.units,
        inc_items: inc.items,
        fresh_max,
        rss,
        hwm,
    }
}

/// Loads `n` generated spaces into `table` and warms the emulator up; the records loaded.
async fn load_sample(table: &ProgressTable, n: u64) -> Vec<SpaceProgress> {
    let now = Timestamp::now();
    let records = sample::generate(n, 7, now);
    let t = Instant::now();
    sample::load(table, records.iter().map(item::encode).collect(), 4)
        .await
        .expect("load");
    eprintln!("{n}: loaded in {:.1?}", t.elapsed());
    floor::count_scan(table, SEGMENTS).await; // warm the emulator up
    records
}

/// Medians over the rounds of a full refresh.
struct Full {
    /// Seconds of a full refresh.
    time: f64,
    /// Seconds of the `Select=COUNT` Scan over the same segments.
    floor: f64,
    /// Read units of a full refresh.
    units: f64,
}

/// `rounds` full refreshes of the `n` spaces in `table`, each followed by the floor's Scan.
async fn measure_full(table: &ProgressTable, tracker: &mut Tracker, n: u64, rounds: usize) -> Full {
    let (mut full, mut floor, mut units) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let before = table.meter().capacity_units(ReadOp::Scan);
        let t = Instant::now();
        let report = tracker.full().await.expect("full refresh");
        full.push(t.elapsed().as_secs_f64());
        units.push(table.meter().capacity_units(ReadOp::Scan) - before);
        assert_eq!(report.items, n);
        let t = Instant::now();
        assert_eq!(floor::count_scan(table, SEGMENTS).await, n);
        floor.push(t.elapsed().as_secs_f64());
    }
    Full {
        time: median(full),
        floor: median(floor),
        units: median(units),
    }
}

/// One incremental refresh.
struct Incremental {
    /// Seconds it took.
    time: f64,
    /// Read units it used.
    units: f64,
    /// Items it read.
    items: u64,
}

/// Changes 1% of `records` in `table`, then times the incremental refresh that reads them.
async fn measure_incremental(
    table: &ProgressTable,
    tracker: &mut Tracker,
    records: &mut [SpaceProgress],
) -> Incremental {
    // 1% of the spaces change: progress on in-progress or pending ones, as workers write it.
    let later = Timestamp::now();
    let step = 100;
    let mut changed = Vec::new();
    for r in records.iter_mut().step_by(step) {
        r.completed_uploads = r.total_uploads.min(r.completed_uploads + 1);
        r.updated_at = Some(later);
        changed.push(item::encode(r));
    }
    let changes = changed.len() as u64;
    sample::load(table, changed, 4).await.expect("changes");
    let before = table.meter().capacity_units(ReadOp::Query);
    let t = Instant::now();
    let report = tracker.incremental().await.expect("incremental refresh");
    let time = t.elapsed().as_secs_f64();
    let units = table.meter().capacity_units(ReadOp::Query) - before;
    assert!(
        report.items >= changes,
        "read {} of {changes} changes",
        report.items
    );
    Incremental {
        time,
        units,
        items: report.items,
    }
}

/// The real daemon over `table`, refreshing every [`INTERVAL_SECS`], ready.
fn start_exporter(table: &ProgressTable) -> harness::Exporter {
    let endpoint = harness::dynamodb_local().endpoint.clone();
    let interval = format!("{INTERVAL_SECS}s");
    let exporter = harness::Exporter::start(
        &endpoint,
        table.name(),
        &["--refresh.interval", &interval, "--scan.segments", "8"],
    );
    exporter.wait_ready(Duration::from_secs(600));
    exporter
}

/// Freshness through the real daemon: a write, then poll /metrics until it shows; the longest
/// wait of three, in seconds.
async fn measure_freshness(
    table: &ProgressTable,
    exporter: &harness::Exporter,
    records: &[SpaceProgress],
) -> f64 {
    let failed = |m: &harness::Metrics| -> f64 {
        m.family("migration_spaces")
            .iter()
            .filter(|(k, _)| k.contains("status=\"failed\""))
            .map(|(_, v)| v)
            .sum()
    };
    let mut fresh = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.status == Status::Pending)
        .take(3)
    {
        let before = failed(&exporter.scrape());
        let t = Instant::now();
        table
            .mark_space_failed(&r.key, "bench", Timestamp::now())
            .await
            .expect("write");
        loop {
            if failed(&exporter.scrape()) > before {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "change never showed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        fresh.push(t.elapsed().as_secs_f64());
    }
    fresh.into_iter().fold(0.0, f64::max)
}

/// Spaces generated (and dropped) at a time, so that the process peak is the state's.
const CHUNK: u64 = 10_000;

/// The `CHUNK` records of chunk `i`: the same for the same `i` and `now`.
fn chunk(i: u64, n: u64, now: Timestamp) -> Vec<SpaceProgress> {
    let start = i * CHUNK;
    sample::generate(CHUNK.min(n - start), 1000 + i, now)
}

/// Child mode: build the state of `n` generated spaces (streamed in chunks), print its memory
/// and the times of the build, of a refresh applying 1% of the spaces changed, and of a
/// snapshot: `n items state_rss_mib peak_mib estimate_mib build_s refresh_s snapshot_s`.
fn state_only(n: u64) {
    let now = Timestamp::now();
    // The generator's own leftovers (the allocator keeps a freed chunk's memory resident) are
    // not the state's: the baseline is taken after one chunk was generated and dropped.
    drop(sample::generate(CHUNK.min(n), 999, now));
    let (before, _) = memory::rss_mib(std::process::id());
    let mut state = TableState::new();
    let mut build = Duration::ZERO;
    for i in 0..n.div_ceil(CHUNK) {
        let records = chunk(i, n, now);
        let t = Instant::now();
        state.apply_each(with_ids(&records), |_, _| {});
        build += t.elapsed();
    }
    let t = Instant::now();
    state.settle();
    build += t.elapsed();
    let ctx = FoldContext {
        now,
        stuck_after: Duration::from_secs(3600),
        max_stuck_spaces: 50,
        max_failed_spaces: 50,
        max_error_classes: 20,
    };
    let snapshots: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(state.snapshot(ctx));
            t.elapsed().as_secs_f64()
        })
        .collect();
    let (rss, hwm) = memory::rss_mib(std::process::id());
    let estimate = state.approx_bytes() as f64 / 1048576.0;
    let refresh = median(
        (1..=5)
            .map(|round| refresh_1pct(&mut state, n, now, round))
            .collect(),
    );
    let snap = state.snapshot(ctx);
    println!(
        "{n} {} {:.1} {:.1} {:.1} {:.3} {:.4} {:.6}",
        snap.items,
        rss - before,
        hwm,
        estimate,
        build.as_secs_f64(),
        refresh,
        median(snapshots)
    );
}

/// Seconds of a refresh that applies 1% of the `n` spaces changed (progress and an `updatedAt`
/// `round` seconds on, as workers write it) and settles, as the tracker's incremental refresh
/// does.
fn refresh_1pct(state: &mut TableState, n: u64, now: Timestamp, round: i64) -> f64 {
    let want = (n / 100).max(1) as usize;
    let later = Timestamp::from_millis(now.as_millis() + 1000 * round);
    let mut changes: Vec<SpaceProgress> = Vec::with_capacity(want);
    for i in 0..n.div_ceil(CHUNK) {
        if changes.len() == want {
            break;
        }
        let take = want - changes.len();
        changes.extend(chunk(i, n, now).into_iter().take(take).map(|mut r| {
            r.completed_uploads = r.total_uploads.min(r.completed_uploads + round as u64);
            r.updated_at = Some(later);
            r
        }));
    }
    let t = Instant::now();
    let mut replaced = 0;
    state.apply_each(with_ids(&changes), |_, c| {
        replaced += usize::from(matches!(c, Change::Replaced { .. }));
    });
    state.settle();
    let took = t.elapsed().as_secs_f64();
    assert_eq!(replaced, changes.len(), "every change is applied");
    took
}

/// What to run, from the command line: a full run under `cargo bench`, a small one otherwise.
struct Plan {
    /// Table sizes to measure against DynamoDB Local.
    db_sizes: Vec<u64>,
    /// Sizes of the per-space state alone, each in a child process.
    state_sizes: Vec<u64>,
    /// Full refreshes per size, of which the median is reported.
    rounds: usize,
}

fn plan() -> Plan {
    let benching = benching();
    let db_sizes = sizes(
        "--sizes",
        if benching {
            "10000,80000,300000"
        } else {
            "2000"
        },
    );
    let state_sizes = sizes(
        "--state-sizes",
        if benching {
            "100000,1000000,3000000,10000000"
        } else {
            "20000"
        },
    );
    let rounds = if benching { 3 } else { 1 };
    Plan {
        db_sizes,
        state_sizes,
        rounds,
    }
}

#[tokio::main]
async fn main() {
    if let Some(n) = arg("--state-only") {
        state_only(n.parse().expect("a size"));
        return;
    }
    let plan = plan();
    let mut rows = Vec::new();
    for &n in &plan.db_sizes {
        rows.push(measure(n, plan.rounds).await);
    }
    print_refresh(&rows);
    print_growth(&rows);
    print_state(&plan.state_sizes);
}

/// The table of refresh cost, one row per size.
fn print_refresh(rows: &[Row]) {
    println!(
        "Against DynamoDB Local, {SEGMENTS} segments, refresh interval {INTERVAL_SECS}s, 1% of spaces changed:\n"
    );
    println!(
        "| spaces | full refresh s | COUNT floor s | full / floor | full read units | incremental s | incremental read units (items) | incremental / full units | freshness max s | daemon RSS MiB (peak) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.2} | {:.1} | {:.3} | {:.1} ({}) | {:.2}% | {:.2} | {:.1} ({:.1}) |",
            r.n,
            r.full,
            r.floor,
            r.full / r.floor,
            r.full_units,
            r.inc,
            r.inc_units,
            r.inc_items,
            r.inc_units / r.full_units * 100.0,
            r.fresh_max,
            r.rss,
            r.hwm
        );
    }
}

/// The table of growth between consecutive sizes, when there is more than one.
fn print_growth(rows: &[Row]) {
    if rows.len() > 1 {
        println!("\nGrowth between sizes (time and memory per size ratio; 1.0 = linear):\n");
        println!("| from | to | size x | full time x | per-space full time x | daemon RSS x |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for w in rows.windows(2) {
            let size = w[1].n as f64 / w[0].n as f64;
            let time = w[1].full / w[0].full;
            println!(
                "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} |",
                w[0].n,
                w[1].n,
                size,
                time,
                time / size,
                w[1].rss / w[0].rss
            );
        }
    }
}

/// The table of the per-space state alone, one child process (`--state-only`) per size, then
/// its growth between consecutive sizes.
fn print_state(state_sizes: &[u64]) {
    println!(
        "\nPer-space state alone (generated records streamed into the state in a child process; \
         refresh: 1% of the spaces changed):\n"
    );
    println!(
        "| spaces | state RSS MiB | bytes/space | process peak MiB | state estimate MiB | build s | refresh s | snapshot s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().expect("own path");
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for &n in state_sizes {
        let f = state_child(&exe, n);
        let v: Vec<f64> = f.iter().map(|x| x.parse().expect("a number")).collect();
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} |",
            f[0],
            f[2],
            v[2] * 1048576.0 / v[0],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7]
        );
        rows.push(v);
    }
    print_state_growth(&rows);
}

/// Growth of the state's memory and times between consecutive sizes (1.0 = linear).
fn print_state_growth(rows: &[Vec<f64>]) {
    if rows.len() < 2 {
        return;
    }
    println!("\nGrowth of the state between sizes (ratio over the size ratio; 1.0 = linear):\n");
    println!(
        "| from | to | size x | state RSS x / size x | build x / size x | refresh x / size x | snapshot x / size x |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for w in rows.windows(2) {
        let size = w[1][0] / w[0][0];
        let per = |i: usize| {
            let x = w[1][i] / w[0][i] / size;
            if x.is_finite() {
                format!("{x:.2}")
            } else {
                "-".to_owned()
            }
        };
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {} |",
            w[0][0],
            w[1][0],
            size,
            per(2),
            per(5),
            per(6),
            per(7)
        );
    }
}

/// Runs this bench as a `--state-only` child for `n` spaces; the fields of the line it printed.
fn state_child(exe: &Path, n: u64) -> Vec<String> {
    let out = std::process::Command::new(exe)
        .args(["--state-only", &n.to_string()])
        .output()
        .expect("child");
    let line = String::from_utf8_lossy(&out.stdout);
    let f: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    assert_eq!(
        f.len(),
        8,
        "child said: {line} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(f[1], n.to_string(), "every generated space is held");
    f
}
