//! Benchmark: the exporter's full refresh (parallel Scan folded into a snapshot) against
//! DynamoDB Local, for several `--scan.segments` values, next to the emulator's floor (a parallel
//! Scan with `Select=COUNT` over the same segments: the server's own cost, no items returned).
//! Prints a markdown table. `cargo bench --bench scan_segments -- --spaces 80304`; under
//! `cargo test` it runs a small smoke size so the code path stays exercised.

// The benches use part of the integration tests' harness (DynamoDB Local, tables, the exporter).
#[path = "support/args.rs"]
mod args;
#[path = "support/floor.rs"]
mod floor;
#[allow(dead_code)]
#[path = "../tests/it/harness/mod.rs"]
mod harness;

use args::{arg, benching};
use std::time::{Duration, Instant};

use migration_core::model::Timestamp;
use migration_core::state::tracker::{RefreshSettings, full_scan};
use migration_core::table::item;
use migration_core::table::meter::ReadOp;
use migration_testkit::sample;

struct Options {
    spaces: usize,
    segments: Vec<u32>,
    rounds: usize,
}

fn options() -> Options {
    let benching = benching();
    let spaces = arg("--spaces")
        .map(|v| v.parse().expect("--spaces takes a number"))
        .unwrap_or(if benching { 80_304 } else { 2_000 });
    let segments = arg("--segments")
        .map(|v| {
            v.split(',')
                .map(|s| s.parse().expect("--segments takes numbers"))
                .collect()
        })
        .unwrap_or(if benching {
            vec![1, 2, 4, 8, 16, 32]
        } else {
            vec![1, 4]
        });
    let rounds = arg("--rounds")
        .map(|v| v.parse().expect("--rounds takes a number"))
        .unwrap_or(if benching { 3 } else { 1 });
    Options {
        spaces,
        segments,
        rounds,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let opts = options();
    let table = harness::new_table("bench-segments").await;
    let now = Timestamp::now();
    let started = Instant::now();
    let records = sample::generate(opts.spaces as u64, 1, now);
    let items: Vec<_> = records.iter().map(item::encode).collect();
    sample::load(&table, items, 4).await.expect("load sample");
    eprintln!("loaded {} spaces in {:.1?}", opts.spaces, started.elapsed());

    let settings = |segments| RefreshSettings::full_only(Duration::from_secs(3600), segments);
    // The emulator's first scans run slow (JIT); warm up before measuring.
    full_scan(&table, &settings(8)).await.expect("warm-up scan");
    floor::count_scan(&table, 8).await;

    println!(
        "| segments | full refresh (median s) | COUNT floor (median s) | refresh / floor | speed-up vs 1 segment | read units per refresh |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut first = None;
    for &segments in &opts.segments {
        let mut refresh = Vec::new();
        let mut floor = Vec::new();
        let units_before = table.meter().capacity_units(ReadOp::Scan);
        for _ in 0..opts.rounds {
            let t = Instant::now();
            let snap = full_scan(&table, &settings(segments))
                .await
                .expect("full scan");
            refresh.push(t.elapsed());
            assert_eq!(
                snap.items, opts.spaces as u64,
                "the refresh read every item"
            );
            let t = Instant::now();
            let counted = floor::count_scan(&table, segments).await;
            floor.push(t.elapsed());
            assert_eq!(counted, opts.spaces as u64);
        }
        let units =
            (table.meter().capacity_units(ReadOp::Scan) - units_before) / opts.rounds as f64;
        let (r, f) = (median(refresh), median(floor));
        let base = *first.get_or_insert(r);
        println!(
            "| {segments} | {:.3} | {:.3} | {:.2} | {:.1}x | {units:.1} |",
            r.as_secs_f64(),
            f.as_secs_f64(),
            r.as_secs_f64() / f.as_secs_f64(),
            base.as_secs_f64() / r.as_secs_f64(),
        );
    }
}
