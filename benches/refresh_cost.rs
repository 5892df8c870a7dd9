//! Benchmark of what a refresh costs as the table grows, in one run, as a markdown table:
//! full refresh time against the emulator's floor (a parallel `Select=COUNT` Scan over the same
//! segments), an incremental refresh after 1% of the spaces changed against a full one (time and
//! read units), freshness (a worker's write to the changed value on the real daemon's `/metrics`),
//! and resident memory of the daemon; then the per-space state alone at sizes DynamoDB Local cannot
//! hold, fed with generated records in a child process.
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
use std::time::{Duration, Instant};

use migration_core::model::{Status, Timestamp};
use migration_core::state::snapshot::FoldContext;
use migration_core::state::spaces::TableState;
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::item;
use migration_core::table::meter::ReadOp;
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

async fn measure(n: u64, rounds: usize) -> Row {
    let table = harness::new_table("bench-refresh").await;
    let now = Timestamp::now();
    let mut records = sample::generate(n, 7, now);
    let t = Instant::now();
    sample::load(&table, records.iter().map(item::encode).collect(), 4)
        .await
        .expect("load");
    eprintln!("{n}: loaded in {:.1?}", t.elapsed());
    floor::count_scan(&table, SEGMENTS).await; // warm the emulator up

    let (mut full, mut floor, mut units) = (Vec::new(), Vec::new(), Vec::new());
    let mut tracker = Tracker::new(table.clone(), settings());
    for _ in 0..rounds {
        let before = table.meter().capacity_units(ReadOp::Scan);
        let t = Instant::now();
        let report = tracker.full().await.expect("full refresh");
        full.push(t.elapsed().as_secs_f64());
        units.push(table.meter().capacity_units(ReadOp::Scan) - before);
        assert_eq!(report.items, n);
        let t = Instant::now();
        assert_eq!(floor::count_scan(&table, SEGMENTS).await, n);
        floor.push(t.elapsed().as_secs_f64());
    }

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
    sample::load(&table, changed, 4).await.expect("changes");
    let before = table.meter().capacity_units(ReadOp::Query);
    let t = Instant::now();
    let report = tracker.incremental().await.expect("incremental refresh");
    let inc = t.elapsed().as_secs_f64();
    let inc_units = table.meter().capacity_units(ReadOp::Query) - before;
    assert!(
        report.items >= changes,
        "read {} of {changes} changes",
        report.items
    );

    // Freshness through the real daemon: a write, then poll /metrics until it shows.
    let endpoint = harness::dynamodb_local().endpoint.clone();
    let interval = format!("{INTERVAL_SECS}s");
    let exporter = harness::Exporter::start(
        &endpoint,
        table.name(),
        &["--refresh.interval", &interval, "--scan.segments", "8"],
    );
    exporter.wait_ready(Duration::from_secs(600));
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
    let (rss, hwm) = memory::rss_mib(exporter.pid());
    harness::client()
        .delete_table()
        .table_name(table.name())
        .send()
        .await
        .ok();
    Row {
        n,
        full: median(full),
        floor: median(floor),
        full_units: median(units),
        inc,
        inc_units,
        inc_items: report.items,
        fresh_max: fresh.into_iter().fold(0.0, f64::max),
        rss,
        hwm,
    }
}

/// Child mode: build the state of `n` generated spaces, print its memory.
fn state_only(n: u64) {
    let now = Timestamp::now();
    let (before, _) = memory::rss_mib(std::process::id());
    let t = Instant::now();
    let mut state = TableState::new();
    let chunk = 10_000;
    for (i, start) in (0..n).step_by(chunk as usize).enumerate() {
        for r in sample::generate(chunk.min(n - start), 1000 + i as u64, now) {
            state.apply(&r);
        }
    }
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let snap = state.snapshot(FoldContext {
        now,
        stuck_after: Duration::from_secs(3600),
        max_stuck_spaces: 50,
        max_failed_spaces: 50,
    });
    let snapshot = t.elapsed().as_secs_f64();
    let (rss, hwm) = memory::rss_mib(std::process::id());
    println!(
        "{n} {} {:.1} {:.1} {:.1} {:.3} {:.4}",
        snap.items,
        rss - before,
        hwm,
        state.approx_bytes() as f64 / 1048576.0,
        build,
        snapshot
    );
}

#[tokio::main]
async fn main() {
    if let Some(n) = arg("--state-only") {
        state_only(n.parse().expect("a size"));
        return;
    }
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
            "80000,300000,1000000"
        } else {
            "20000"
        },
    );
    let rounds = if benching { 3 } else { 1 };

    let mut rows = Vec::new();
    for &n in &db_sizes {
        rows.push(measure(n, rounds).await);
    }
    println!(
        "Against DynamoDB Local, {SEGMENTS} segments, refresh interval {INTERVAL_SECS}s, 1% of spaces changed:\n"
    );
    println!(
        "| spaces | full refresh s | COUNT floor s | full / floor | full read units | incremental s | incremental read units (items) | incremental / full units | freshness max s | daemon RSS MiB (peak) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
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

    println!(
        "\nPer-space state alone (generated records fed into the state in a child process):\n"
    );
    println!(
        "| spaces | state RSS MiB | process peak MiB | state estimate MiB | build s | snapshot s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().expect("own path");
    for n in state_sizes {
        let out = std::process::Command::new(&exe)
            .args(["--state-only", &n.to_string()])
            .output()
            .expect("child");
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            f.len(),
            7,
            "child said: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(f[1], n.to_string(), "every generated space is held");
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            f[0], f[2], f[3], f[4], f[5], f[6]
        );
    }
}
