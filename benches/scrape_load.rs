//! Benchmark of the HTTP side under scrape load, as a markdown table: the real daemon holding the
//! sample migration (80,000 spaces in DynamoDB Local) is scraped on `/metrics` by `wrk` (Debian's
//! `wrk`: `scripts/install-deps wrk`) from 16 concurrent connections, plain HTTP and then TLS with
//! basic auth (a cost-10 bcrypt hash, as `htpasswd -B` makes), with `Accept-Encoding: gzip` as
//! Prometheus sends it; requests per second, p50 and p99 latency, and the daemon's resident memory
//! before and after each run; then 640 scrapers at once, and 16 while other clients hold 500 idle
//! or 2,000 half-sent connections (reopened as the server closes them). First, on one daemon, the
//! gzip scrape against the identity one, alternating `--rounds` times: the ratio of their rates
//! (issue 19's target: gzip at least 0.80 of identity).
//!
//! `cargo bench --bench scrape_load [-- --spaces 80000 --seconds 20 --rounds 2]`. Under `cargo
//! test` it runs a small table for 2 seconds, and skips the load when wrk is not installed.

// The benches use part of the integration tests' harness (DynamoDB Local, tables, the exporter).
#[path = "support/args.rs"]
mod args;
#[allow(dead_code)]
#[path = "../tests/it/harness/mod.rs"]
mod harness;
#[path = "support/holder.rs"]
mod holder;
#[path = "support/memory.rs"]
mod memory;

use args::{arg, benching};
use holder::Hold;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use migration_core::model::Timestamp;
use migration_core::table::item;
use migration_testkit::sample;
use rcgen::{CertificateParams, KeyPair};

const CONNECTIONS: u32 = 16;

/// A wrk duration ("812.00us", "4.85ms", "1.02s") in milliseconds.
fn millis(s: &str) -> f64 {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * scale
}

struct Run {
    rps: f64,
    p50: f64,
    p99: f64,
    requests: u64,
    non_2xx: u64,
    errors: String,
}

fn wrk(url: &str, seconds: u64, connections: u32, headers: &[String]) -> Run {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--timeout",
        "5s",
        "--latency",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .map(millis)
            .unwrap_or(f64::NAN)
    };
    let number = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.trim_end_matches(',').parse::<f64>().ok())
    };
    Run {
        rps: number("Requests/sec:").unwrap_or(0.0),
        p50: percentile("50%"),
        p99: percentile("99%"),
        requests: text
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        non_2xx: number("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64,
        errors: text
            .lines()
            .find(|l| l.contains("Socket errors"))
            .unwrap_or("")
            .trim()
            .to_owned(),
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Polls `url` with curl (`extra` arguments) until it answers 200.
fn wait_200(url: &str, extra: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "5",
            ])
            .args(extra)
            .arg(url)
            .output()
            .expect("curl");
        if out.stdout == b"200" {
            return;
        }
        assert!(Instant::now() < deadline, "{url} not 200 within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sizes from the command line: a full run under `cargo bench`, a small one otherwise.
struct Options {
    /// Spaces in the table the daemon holds.
    spaces: u64,
    /// Seconds of load per row.
    seconds: u64,
    /// Identity/gzip pairs of the comparison.
    rounds: u32,
}

fn options() -> Options {
    let benching = benching();
    let spaces: u64 = arg("--spaces")
        .map(|s| s.parse().expect("a number"))
        .unwrap_or(if benching { 80_000 } else { 2_000 });
    let seconds: u64 = arg("--seconds")
        .map(|s| s.parse().expect("a number"))
        .unwrap_or(if benching { 20 } else { 2 });
    let rounds: u32 = arg("--rounds")
        .map(|s| s.parse().expect("a number"))
        .unwrap_or(2);
    Options {
        spaces,
        seconds,
        rounds,
    }
}

/// One way of scraping: its name in the table, over TLS with basic auth or plain HTTP, whether
/// every request opens a new connection, how many connections wrk keeps, and what other clients
/// hold open meanwhile.
struct Case {
    name: &'static str,
    tls: bool,
    reconnect: bool,
    connections: u32,
    hold: Hold,
}

const fn case(name: &'static str, tls: bool, reconnect: bool) -> Case {
    Case {
        name,
        tls,
        reconnect,
        connections: CONNECTIONS,
        hold: Hold::Nothing,
    }
}

const CASES: [Case; 7] = [
    case("plain HTTP, no gzip", false, false),
    case("plain HTTP", false, false),
    case("TLS + basic auth, keep-alive", true, false),
    case("TLS + basic auth, new connection per request", true, true),
    Case {
        connections: 640,
        ..case("plain HTTP, 640 scrapers", false, false)
    },
    Case {
        hold: Hold::Idle(500),
        ..case("plain HTTP, 500 idle connections held", false, false)
    },
    Case {
        hold: Hold::HalfSent(2_000),
        ..case("plain HTTP, 2,000 half-sent connections held", false, false)
    },
];

/// What every case shares: the table, the web configuration and the headers wrk may send.
struct Setup {
    endpoint: String,
    table: String,
    web_config: String,
    auth: String,
    gzip: String,
    seconds: u64,
}

/// One row of the table: the page size and the load run, with the daemon's memory around it.
struct Row {
    name: &'static str,
    size: u64,
    run: Run,
    before: f64,
    after: f64,
    peak: f64,
}

#[tokio::main]
async fn main() {
    let Options {
        spaces,
        seconds,
        rounds,
    } = options();
    if !on_path("wrk") {
        eprintln!("scrape_load: wrk is not installed (scripts/install-deps wrk); skipping");
        return;
    }

    let table = harness::new_table("bench-scrape").await;
    let records = sample::generate(spaces, 7, Timestamp::now());
    let t = Instant::now();
    sample::load(&table, records.iter().map(item::encode).collect(), 4)
        .await
        .expect("load");
    eprintln!("{spaces} spaces loaded in {:.1?}", t.elapsed());
    let endpoint = harness::dynamodb_local().endpoint.clone();

    let scratch = harness::stack::Scratch::new("bench-scrape");
    let web_config = write_web_config(&scratch);
    let setup = Setup {
        endpoint,
        table: table.name().to_owned(),
        web_config: web_config.display().to_string(),
        auth: format!(
            "Authorization: Basic {}",
            base64::engine::general_purpose::STANDARD.encode("prometheus:s3cret")
        ),
        gzip: "Accept-Encoding: gzip".to_owned(),
        seconds,
    };
    let pairs = compare_codings(&setup, rounds);
    let rows: Vec<Row> = CASES.iter().map(|case| run_case(&setup, case)).collect();
    print_comparison(spaces, seconds, &pairs);
    print_table(spaces, seconds, &rows);
}

/// One round of the comparison: the identity run, then the gzip run, with each page's size.
struct Pair {
    identity: Run,
    gzip: Run,
    sizes: (u64, u64),
}

/// On one plain-HTTP daemon, `rounds` times wrk without gzip then with it.
fn compare_codings(setup: &Setup, rounds: u32) -> Vec<Pair> {
    let mut exporter = harness::Exporter::start(
        &setup.endpoint,
        &setup.table,
        &["--refresh.interval", "30s"],
    );
    let base = format!("http://{}", exporter.addr);
    wait_200(&format!("{base}/-/ready"), &[], Duration::from_secs(120));
    let url = format!("{base}/metrics");
    let pairs = (0..rounds)
        .map(|round| {
            let identity = wrk(&url, setup.seconds, CONNECTIONS, &[]);
            let gzip = wrk(
                &url,
                setup.seconds,
                CONNECTIONS,
                std::slice::from_ref(&setup.gzip),
            );
            assert_eq!(identity.non_2xx + gzip.non_2xx, 0, "non-2xx answers");
            eprintln!(
                "round {}: identity {:.0}/s, gzip {:.0}/s: {:.2}",
                round + 1,
                identity.rps,
                gzip.rps,
                gzip.rps / identity.rps
            );
            let sizes = (page_size(&base, None), page_size(&base, Some(&setup.gzip)));
            Pair {
                identity,
                gzip,
                sizes,
            }
        })
        .collect();
    let status = exporter.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    pairs
}

/// The comparison's markdown table: a row per round, then the ratio of the summed rates.
fn print_comparison(spaces: u64, seconds: u64, pairs: &[Pair]) {
    println!(
        "\n{spaces} spaces, plain HTTP, {CONNECTIONS} connections (wrk -t2), {seconds} s per run, identity and gzip alternating on one daemon:\n"
    );
    println!(
        "| round | identity KiB | identity requests/s | gzip KiB | gzip requests/s | gzip p99 ms | gzip / identity |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, p) in pairs.iter().enumerate() {
        println!(
            "| {} | {:.1} | {:.0} | {:.1} | {:.0} | {:.2} | {:.2} |",
            i + 1,
            p.sizes.0 as f64 / 1024.0,
            p.identity.rps,
            p.sizes.1 as f64 / 1024.0,
            p.gzip.rps,
            p.gzip.p99,
            p.gzip.rps / p.identity.rps
        );
    }
    let sum = |f: fn(&Pair) -> f64| pairs.iter().map(f).sum::<f64>();
    let ratio = sum(|p| p.gzip.rps) / sum(|p| p.identity.rps);
    println!("\ngzip / identity over all rounds: {ratio:.2} (target: at least 0.80)");
}

/// TLS material and a web configuration with basic auth, as an operator would write it, in
/// `scratch`; the configuration's path.
fn write_web_config(scratch: &harness::stack::Scratch) -> PathBuf {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    scratch.write("server.pem", &cert.pem());
    scratch.write("server-key.pem", &key.serialize_pem());
    let hash = bcrypt::hash("s3cret", 10).unwrap();
    scratch.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
}

/// Starts a daemon for `case`, loads its `/metrics` with wrk, and stops it.
fn run_case(setup: &Setup, case: &Case) -> Row {
    let &Case {
        name,
        tls,
        reconnect,
        connections,
        hold,
    } = case;
    let mut extra = vec!["--refresh.interval", "30s"];
    if tls {
        extra.extend(["--web.config.file", setup.web_config.as_str()]);
    }
    let mut exporter = harness::Exporter::start(&setup.endpoint, &setup.table, &extra);
    let scheme = if tls { "https" } else { "http" };
    let base = format!("{scheme}://{}", exporter.addr);
    wait_200(
        &format!("{base}/-/ready"),
        &["-k", "-u", "prometheus:s3cret"],
        Duration::from_secs(120),
    );
    let gzip = !name.ends_with("no gzip");
    let size = page_size(&base, gzip.then_some(setup.gzip.as_str()));
    let (before, _) = memory::rss_mib(exporter.pid());
    let mut headers = Vec::new();
    if gzip {
        headers.push(setup.gzip.clone());
    }
    if tls {
        headers.push(setup.auth.clone());
    }
    if reconnect {
        headers.push("Connection: close".to_owned());
    }
    let held = holder::Holder::start(exporter.addr.parse().unwrap(), hold);
    let run = wrk(
        &format!("{base}/metrics"),
        setup.seconds,
        connections,
        &headers,
    );
    let (after, peak) = memory::rss_mib(exporter.pid());
    let reopened = held.stop();
    assert_eq!(run.non_2xx, 0, "{name}: non-2xx answers");
    eprintln!(
        "{name}: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms {} (held connections reopened: {reopened})",
        run.requests, run.rps, run.p50, run.p99, run.errors
    );
    let status = exporter.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    Row {
        name,
        size,
        run,
        before,
        after,
        peak,
    }
}

/// Bytes of one `/metrics` page under `base` as sent, fetched with curl sending the `gzip` header
/// if given (0 if unreadable).
fn page_size(base: &str, gzip: Option<&str>) -> u64 {
    let out = Command::new("curl")
        .args(["-sk", "-u", "prometheus:s3cret", "-o", "/dev/null"])
        .args(gzip.map(|h| ["-H", h]).into_iter().flatten())
        .args(["-w", "%{size_download}"])
        .arg(format!("{base}/metrics"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .parse::<u64>()
        .unwrap_or(0)
}

/// The markdown table, one row per case.
fn print_table(spaces: u64, seconds: u64, rows: &[Row]) {
    println!(
        "\n{spaces} spaces, {CONNECTIONS} connections (wrk -t2) unless said, {seconds} s per row, `Accept-Encoding: gzip` unless said:\n"
    );
    println!(
        "| scrape | page KiB sent | requests/s | p50 ms | p99 ms | RSS before MiB | RSS after MiB | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for Row {
        name,
        size,
        run,
        before,
        after,
        peak,
    } in rows
    {
        println!(
            "| {name} | {:.1} | {:.0} | {:.2} | {:.2} | {before:.1} | {after:.1} | {peak:.1} |",
            *size as f64 / 1024.0,
            run.rps,
            run.p50,
            run.p99,
        );
    }
}
