//! Soak run: the real daemon watches a table under high churn for a long time (30 minutes by
//! default; 2 under `cargo test`) with Prometheus scraping it every second through basic auth,
//! while DynamoDB Local is restarted and refilled, the fault proxy in front of it answers bursts
//! of throttling, 5xx and reset connections, the web configuration file is rewritten every
//! minute (a new password hash and header), and 100 idle and 100 slow (half-sent) clients stay
//! connected. At the end: resident memory and open descriptors at start and end with their slope
//! per hour, the scrape success rate and p99 from Prometheus, refreshes and their errors by kind,
//! and whether every gauge equals what a fresh exporter computes from a full scan.
//!
//! `cargo bench --bench soak [-- --minutes 30 --spaces 3000 --writes-per-second 40]`.

#[path = "support/args.rs"]
mod args;
#[path = "support/churn.rs"]
mod churn;
#[path = "support/dynamo.rs"]
mod dynamo;
#[allow(dead_code)]
#[path = "../tests/it/harness/mod.rs"]
mod harness;
#[allow(dead_code)]
#[path = "support/holder.rs"]
mod holder;
#[path = "support/memory.rs"]
mod memory;
#[path = "support/sampler.rs"]
mod sampler;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use args::{arg, benching};
use churn::Churn;
use dynamo::OwnDynamo;
use harness::proxy::{Fault, FaultProxy};
use harness::stack::{Prometheus, Scratch};
use harness::{Exporter, Metrics};
use holder::{Hold, Holder};
use migration_core::table::ProgressTable;
use sampler::Sampler;

const TABLE: &str = "soak-progress";
const PASSWORD: &str = "s3cret";

/// What the run is asked to do.
struct Options {
    minutes: f64,
    spaces: usize,
    writes_per_second: usize,
    restart_every: Duration,
}

fn options() -> Options {
    let num = |flag: &str, default: f64| arg(flag).and_then(|v| v.parse().ok()).unwrap_or(default);
    let full = benching();
    let minutes = num("--minutes", if full { 30.0 } else { 2.0 });
    Options {
        minutes,
        spaces: num("--spaces", if full { 3000.0 } else { 600.0 }) as usize,
        writes_per_second: num("--writes-per-second", 40.0) as usize,
        restart_every: Duration::from_secs_f64(
            num("--restart-every-minutes", if full { 10.0 } else { 0.75 }) * 60.0,
        ),
    }
}

/// The web configuration of generation `n`: basic auth with a fresh hash of the same password,
/// and a response header naming the generation (so a reload can be seen).
fn write_web_config(scratch: &Scratch, n: u32) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
    let text = format!(
        "basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    Content-Security-Policy: \"default-src 'self'; report-to soak-{n}\"\n"
    );
    // Written aside and renamed, as an operator's tooling (or a kubelet) replaces a file.
    scratch.write("web.yml.tmp", &text);
    let (tmp, path) = (
        scratch.path.join("web.yml.tmp"),
        scratch.path.join("web.yml"),
    );
    std::fs::rename(tmp, &path).expect("replace web.yml");
    path.display().to_string()
}

/// GET `path` from the daemon with the password (curl: the bench needs no HTTP client of its own).
fn get_auth(addr: &str, path: &str) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-D", "-", "-u", &format!("prometheus:{PASSWORD}")])
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("run curl");
    let (_, head, body) = harness::split_response(&String::from_utf8_lossy(&out.stdout));
    (head, body)
}

/// The gauges a fresh full scan must reproduce: the table's figures, not the exporter's own
/// counters, nor the transitions counter (which counts what this process observed).
fn table_gauges(m: &Metrics) -> BTreeMap<String, f64> {
    m.0.iter()
        .filter(|(k, _)| k.starts_with("migration_") && !k.starts_with("migration_exporter_"))
        .filter(|(k, _)| !k.starts_with("migration_space_transitions_total"))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// What the run measured.
struct Outcome {
    minutes: f64,
    sampler: Sampler,
    warmup_s: f64,
    scrapes: f64,
    scrapes_ok: f64,
    expected_scrapes: f64,
    p99_ms: f64,
    max_ms: f64,
    refreshes: BTreeMap<String, f64>,
    errors: BTreeMap<String, f64>,
    dynamodb_errors: BTreeMap<String, f64>,
    restarts: u32,
    rewrites: u32,
    reloads_seen: u32,
    writes: (u64, u64),
    mismatches: Vec<String>,
    compared: usize,
}

fn by_label(p: &Prometheus, expr: &str, label: &str) -> BTreeMap<String, f64> {
    p.query(expr)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let v = s["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            (s["metric"][label].as_str().unwrap_or("").to_owned(), v)
        })
        .collect()
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut dynamo = OwnDynamo::start();
    let proxy = FaultProxy::start(&dynamo.endpoint());
    let table = ProgressTable::new(
        harness::client_for(&dynamo.endpoint()),
        TABLE,
        "status-index",
    );
    let mut churn = Churn::new(o.spaces, 4, 4, 0x50a4);
    rt.block_on(churn.fill(&table)).expect("fill the table");

    let scratch = Scratch::new("soak");
    let web = write_web_config(&scratch, 0);
    let stuck_after = format!("{}m", o.minutes as u64 + 60);
    let flags = [
        "--refresh.interval",
        "1s",
        "--refresh.full-interval",
        "30s",
        "--stuck-after",
        &stuck_after,
    ];
    let mut daemon_flags = flags.to_vec();
    daemon_flags.extend([
        "--web.config.file",
        &web,
        "--web.config.reload-interval",
        "1s",
    ]);
    let daemon = Exporter::start(&proxy.addr, TABLE, &daemon_flags);
    let prom_config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: soak\n    basic_auth:\n      username: prometheus\n      password: {PASSWORD}\n    static_configs:\n      - targets: ['{}']\n",
        daemon.addr
    );
    let prometheus = Prometheus::start(&prom_config, &[]);
    let addr: std::net::SocketAddr = daemon.addr.parse().expect("daemon address");
    let (idle, slow) = (
        Holder::start(addr, Hold::Idle(100)),
        Holder::start(addr, Hold::HalfSent(100)),
    );

    let outcome = soak(
        &o,
        &rt,
        &mut dynamo,
        &proxy,
        &table,
        &mut churn,
        &scratch,
        &daemon,
    );
    let (idle_reopened, slow_reopened) = (idle.stop(), slow.stop());
    eprintln!("soak: idle clients reopened {idle_reopened}, slow clients reopened {slow_reopened}");
    let outcome = finish(outcome, &proxy, &daemon, &prometheus, &flags);
    print_table(&o, &outcome);
    assert!(
        outcome.mismatches.is_empty(),
        "gauges differ from a fresh full scan: {:#?}",
        outcome.mismatches
    );
    assert_eq!(outcome.scrapes, outcome.scrapes_ok, "every scrape served");
}

/// The run itself: churn, faults, restarts and web-config rewrites until the time is up.
#[allow(clippy::too_many_arguments)]
fn soak(
    o: &Options,
    rt: &tokio::runtime::Runtime,
    dynamo: &mut OwnDynamo,
    proxy: &FaultProxy,
    table: &ProgressTable,
    churn: &mut Churn,
    scratch: &Scratch,
    daemon: &Exporter,
) -> Outcome {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.minutes * 60.0);
    let mut sampler = Sampler::new(daemon.pid());
    let (mut next_sample, mut next_fault) = (start, start + Duration::from_secs(7));
    let (mut next_restart, mut next_config) =
        (start + o.restart_every, start + Duration::from_secs(60));
    let (mut restarts, mut generation, mut reloads_seen) = (0, 0, 0);
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_sample {
            sampler.sample();
            next_sample += Duration::from_secs(5);
        }
        if now >= next_fault {
            proxy.inject(&[
                Fault::Throttle,
                Fault::Throttle,
                Fault::Reset,
                Fault::ServerError,
                Fault::Throttle,
            ]);
            next_fault += Duration::from_secs(15);
        }
        if now >= next_config {
            generation += 1;
            write_web_config(scratch, generation);
            std::thread::sleep(Duration::from_secs(3));
            let (head, _) = get_auth(&daemon.addr, "/-/healthy");
            reloads_seen += u32::from(head.contains(&format!("report-to soak-{generation}\r")));
            next_config += Duration::from_secs(60);
        }
        if now >= next_restart && now + Duration::from_secs(40) < end {
            dynamo.restart(Duration::from_secs(2));
            rt.block_on(churn.fill(table)).expect("refill the table");
            restarts += 1;
            next_restart += o.restart_every;
        }
        // One tenth of a second's writes, then the rest of the tenth asleep.
        let tick = Instant::now();
        rt.block_on(churn.write(table, o.writes_per_second.div_ceil(10)));
        std::thread::sleep(Duration::from_millis(100).saturating_sub(tick.elapsed()));
    }
    Outcome {
        minutes: o.minutes,
        sampler,
        // The exporter's history (rates, ETA) fills for its first 10 minutes: a long run judges
        // memory after that; a short one after its first half minute.
        warmup_s: if o.minutes >= 20.0 { 660.0 } else { 30.0 },
        scrapes: 0.0,
        scrapes_ok: 0.0,
        expected_scrapes: start.elapsed().as_secs_f64(),
        p99_ms: 0.0,
        max_ms: 0.0,
        refreshes: BTreeMap::new(),
        errors: BTreeMap::new(),
        dynamodb_errors: BTreeMap::new(),
        restarts,
        rewrites: generation,
        reloads_seen,
        writes: (churn.writes, churn.failed_writes),
        mismatches: Vec::new(),
        compared: 0,
    }
}

/// After the churn: Prometheus's view of the run, then the gauges against a fresh exporter's
/// once the daemon has run a full refresh of the quiet table.
fn finish(
    mut out: Outcome,
    proxy: &FaultProxy,
    daemon: &Exporter,
    p: &Prometheus,
    flags: &[&str],
) -> Outcome {
    let range = format!("[{}s]", out.expected_scrapes.ceil() as u64);
    let one = |e: String| p.value(&e).unwrap_or(f64::NAN);
    out.scrapes = one(format!("count_over_time(up{{job=\"soak\"}}{range})"));
    out.scrapes_ok = one(format!("sum_over_time(up{{job=\"soak\"}}{range})"));
    out.p99_ms = 1000.0
        * one(format!(
            "quantile_over_time(0.99, scrape_duration_seconds{{job=\"soak\"}}{range})"
        ));
    out.max_ms = 1000.0
        * one(format!(
            "max_over_time(scrape_duration_seconds{{job=\"soak\"}}{range})"
        ));
    out.refreshes = by_label(p, "migration_exporter_refreshes_total", "kind");
    out.errors = by_label(p, "migration_exporter_refresh_errors_total", "kind");
    out.dynamodb_errors = by_label(p, "migration_exporter_dynamodb_errors_total", "kind");

    // Quiet table: wait for a full refresh that started after the last write, and no faults.
    while proxy.pending() > 0 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let full = |m: &Metrics| {
        m.get("migration_exporter_refreshes_total", &[("kind", "full")])
            .unwrap_or(0.0)
    };
    let scrape = || Metrics::parse(&get_auth(&daemon.addr, "/metrics").1);
    let before = full(&scrape());
    harness::wait_for(
        "a full refresh after the churn",
        Duration::from_secs(120),
        || {
            if full(&scrape()) >= before + 2.0 {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        },
    );
    let fresh = Exporter::start(&proxy.addr, TABLE, flags);
    fresh.wait_ready(Duration::from_secs(60));
    let (long, new) = (table_gauges(&scrape()), table_gauges(&fresh.scrape()));
    out.compared = new.len();
    for k in long
        .keys()
        .chain(new.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if long.get(k) != new.get(k) {
            out.mismatches.push(format!(
                "{k}: soaked {:?}, fresh {:?}",
                long.get(k),
                new.get(k)
            ));
        }
    }
    out
}

fn print_table(o: &Options, out: &Outcome) {
    let ((rss0, fd0), (rss1, fd1)) = out.sampler.ends(out.warmup_s);
    let (mem, fds) = (
        out.sampler.trend(1, out.warmup_s),
        out.sampler.trend(2, out.warmup_s),
    );
    let kinds = |m: &BTreeMap<String, f64>| {
        let counted: Vec<String> = m
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if counted.is_empty() {
            "none".to_owned()
        } else {
            counted.join(", ")
        }
    };
    println!(
        "\nSoak ({}): {:.0} min, {} spaces, {} writes/s ({} written, {} failed), DynamoDB Local restarted {} times, web config rewritten {} times (reload seen {} times)\n",
        migration_core::model::Timestamp::now().to_iso(),
        out.minutes,
        o.spaces,
        o.writes_per_second,
        out.writes.0,
        out.writes.1,
        out.restarts,
        out.rewrites,
        out.reloads_seen
    );
    println!("| measure | start | end | slope per hour (noise) |");
    println!("|---|---:|---:|---:|");
    println!(
        "| resident memory (MiB) | {rss0:.1} | {rss1:.1} | {:+.2} ({:.2}) |",
        mem.per_hour, mem.noise
    );
    println!(
        "| open file descriptors | {fd0:.0} | {fd1:.0} | {:+.2} ({:.2}) |",
        fds.per_hour, fds.noise
    );
    println!(
        "| scrapes served / made (1 s apart) | | {:.0} / {:.0} of ~{:.0} | p99 {:.1} ms, max {:.1} ms |",
        out.scrapes_ok, out.scrapes, out.expected_scrapes, out.p99_ms, out.max_ms
    );
    println!("| refreshes by kind | | {} | |", kinds(&out.refreshes));
    println!("| refresh errors by kind | | {} | |", kinds(&out.errors));
    println!(
        "| DynamoDB attempts failed by kind (retried) | | {} | |",
        kinds(&out.dynamodb_errors)
    );
    println!(
        "| gauges equal to a fresh full scan | | {} of {} series {} | |",
        out.compared - out.mismatches.len().min(out.compared),
        out.compared,
        if out.mismatches.is_empty() {
            "(exact)"
        } else {
            "(DIFFER)"
        }
    );
}
