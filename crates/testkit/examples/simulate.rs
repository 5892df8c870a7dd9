//! A simulated migration worker fleet for demos and local development: N instances x M workers
//! migrating spaces in a `migration-progress` table on a DynamoDB endpoint (e.g. DynamoDB Local)
//! through the project's own worker operations, with failures, stalled spaces, dying workers and
//! workers whose clock is behind ([`migration_testkit::fleet`]). Deterministic for a seed;
//! Ctrl-C stops it cleanly and a second run with the same flags resumes the table.
//!
//! ```text
//! cargo run --release --example simulate -- --endpoint-url http://127.0.0.1:8000 \
//!     [--instances 5] [--workers 4] [--spaces 2000] [--uploads-per-second 25] \
//!     [--failure-probability 0.02] [--stall-probability 0.02] [--dead-workers 1] \
//!     [--skewed-workers 1] [--stuck-after 1h] [--status-file PATH] [--json]
//! ```
//!
//! It reports what it did as JSON (`"version": 1`, see the README): written to `--status-file`
//! (atomically) every second and at exit, and with `--json` also one document per line on stdout
//! every `--report-every`; otherwise stdout gets one human line per report. An endpoint is
//! required on purpose: this must never write made-up records to a real table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use migration_testkit::fleet::{Fleet, FleetConfig, FleetReport};
use migration_testkit::table_args::TableArgs;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "simulate",
    about = "Simulate a migration worker fleet writing the migration-progress table on a DynamoDB endpoint (e.g. DynamoDB Local)."
)]
struct Args {
    #[command(flatten)]
    table: TableArgs,
    /// Migration instances (EC2 instances of the real fleet).
    #[arg(long, default_value_t = 5, value_name = "N")]
    instances: u32,
    /// Workers per instance.
    #[arg(long, default_value_t = 4, value_name = "N")]
    workers: u32,
    /// Spaces to migrate, shared equally by the workers.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    spaces: u64,
    /// Uploads each worker migrates per second.
    #[arg(long, default_value_t = 25.0, value_name = "R")]
    uploads_per_second: f64,
    /// Mean uploads per space (heavy-tailed: most spaces small, a few very large).
    #[arg(long, default_value_t = 462.0, value_name = "N")]
    mean_uploads: f64,
    /// A worker records its progress every this many uploads (the real workers: 1000).
    #[arg(long, default_value_t = 50, value_name = "N")]
    update_every: u64,
    /// Chance that a space fails at a random upload, with an error.
    #[arg(long, default_value_t = 0.02, value_name = "P")]
    failure_probability: f64,
    /// Chance that a worker stops updating a space mid-way (the space becomes stuck after
    /// --stuck-after) and goes on with its next space.
    #[arg(long, default_value_t = 0.02, value_name = "P")]
    stall_probability: f64,
    /// Workers that die (all their spaces stop) after --die-after.
    #[arg(long, default_value_t = 0, value_name = "N")]
    dead_workers: u32,
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    die_after: Duration,
    /// Workers whose clock is behind by --clock-skew (their updatedAt is that much in the past).
    #[arg(long, default_value_t = 0, value_name = "N")]
    skewed_workers: u32,
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    clock_skew: Duration,
    /// In-progress spaces not updated for this long count as stuck in the report (give the
    /// exporter's --stuck-after).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration, value_name = "DURATION")]
    stuck_after: Duration,
    /// Seed of every random choice: the same seed plans the same migration.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Write the JSON report here every second and at exit (atomically: write, then rename).
    #[arg(long, value_name = "PATH")]
    status_file: Option<PathBuf>,
    /// Print the JSON report on stdout, one line each --report-every, instead of a human line.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    report_every: Duration,
}

fn write_status(path: &Path, report: &FleetReport) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn print_report(report: &FleetReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        let s = &report.spaces;
        let dead = report
            .workers
            .iter()
            .filter(|w| w.state == migration_testkit::fleet::WorkerState::Dead)
            .count();
        println!(
            "simulate: {:>5.0}s {}: spaces {} completed, {} failed, {} in progress ({} stuck, {} stalled), {} pending of {}; uploads {}/{}; {} dead worker(s)",
            report.elapsed_seconds,
            report.state,
            s.completed,
            s.failed,
            s.in_progress,
            report.stuck,
            report.stalled,
            s.pending,
            s.total,
            report.uploads.completed,
            report.uploads.total,
            dead,
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let table = args.table.open().await?;
    let fleet = Fleet::prepare(
        &table,
        FleetConfig {
            instances: args.instances,
            workers_per_instance: args.workers,
            spaces: args.spaces,
            uploads_per_second: args.uploads_per_second,
            instance_speeds: Vec::new(),
            mean_uploads: args.mean_uploads,
            update_every: args.update_every,
            failure_probability: args.failure_probability,
            stall_probability: args.stall_probability,
            dead_workers: args.dead_workers,
            die_after: args.die_after,
            skewed_workers: args.skewed_workers,
            clock_skew: args.clock_skew,
            stuck_after: args.stuck_after,
            seed: args.seed,
        },
    )
    .await
    .context("preparing the fleet")?;

    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
        on_signal.cancel();
    });

    let running = {
        let fleet = fleet.clone();
        let table = table.clone();
        let stop = stop.clone();
        tokio::spawn(async move { fleet.run(&table, stop).await })
    };
    tokio::pin!(running);
    let mut status_tick = tokio::time::interval(Duration::from_secs(1));
    let mut report_tick = tokio::time::interval(args.report_every.max(Duration::from_secs(1)));
    let outcome = loop {
        tokio::select! {
            joined = &mut running => break joined.context("the fleet task failed")?,
            _ = status_tick.tick() => {
                if let Some(path) = &args.status_file {
                    write_status(path, &fleet.report())?;
                }
            }
            _ = report_tick.tick() => print_report(&fleet.report(), args.json)?,
        }
    };
    let last = fleet.report();
    if let Some(path) = &args.status_file {
        write_status(path, &last)?;
    }
    print_report(&last, args.json)?;
    outcome.context("simulating the fleet")?;
    if last.state == "stopped" {
        eprintln!("simulate: stopped; run again with the same flags to resume");
    }
    Ok(())
}
