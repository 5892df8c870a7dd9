//! Sample-data loader for local development and demos: creates the `migration-progress` table
//! (with its `status-index`) on a DynamoDB endpoint such as DynamoDB Local, if it is missing, fills
//! it with [`migration_testkit::sample`]'s made-up migration, and prints the overview of what it
//! wrote (through the same aggregation and view code as the monitor).
//!
//! ```text
//! cargo run --release --example load_sample -- --endpoint-url http://127.0.0.1:8000 [--spaces N] [--seed S]
//! ```
//!
//! An endpoint is required on purpose: this must never write made-up records to a real table.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use migration_core::model::Timestamp;
use migration_core::state::snapshot::FoldContext;
use migration_core::state::spaces::TableState;
use migration_core::table::item::{self, Item};
use migration_testkit::sample::{self, SEED_SPACES};
use migration_testkit::table_args::TableArgs;

#[derive(Debug, Parser)]
#[command(
    name = "load_sample",
    about = "Create the migration-progress table on a DynamoDB endpoint (e.g. DynamoDB Local) and load a sample migration into it."
)]
struct Args {
    #[command(flatten)]
    table: TableArgs,
    /// Number of spaces to write.
    #[arg(long, default_value_t = SEED_SPACES, value_name = "N")]
    spaces: u64,
    /// Seed of the random generator; the same seed gives the same spaces.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Concurrent BatchWriteItem streams.
    #[arg(long, default_value_t = 4, value_name = "N")]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let table = args.table.open().await?;

    let now = Timestamp::now();
    let records = sample::generate(args.spaces, args.seed, now);
    let items: Vec<Item> = records.iter().map(item::encode).collect();
    println!(
        "loading {} spaces into {} at {} ({} concurrent writers)...",
        items.len(),
        args.table.table,
        args.table.endpoint_url,
        args.concurrency
    );
    let started = Instant::now();
    sample::load(&table, items, args.concurrency)
        .await
        .context("writing items")?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "loaded {} items in {took:.1}s ({:.0} items/s)\n",
        records.len(),
        records.len() as f64 / took.max(0.001)
    );
    let mut state = TableState::new();
    for r in &records {
        state.apply(r);
    }
    let snapshot = state.snapshot(FoldContext {
        now,
        stuck_after: Duration::from_secs(3600),
        max_stuck_spaces: 0,
        max_failed_spaces: 0,
        max_error_classes: 20,
    });
    print!("{}", migration_monitor::overview_text(&snapshot));
    Ok(())
}
