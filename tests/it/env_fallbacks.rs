//! Every environment variable the binaries read stands in for its flag: the variables are
//! enumerated from the flags themselves (clap's `get_env` on every argument of both binaries,
//! and they must be the README's), each is set to a valid value other than its default with no
//! flag, and its effect is shown in what the exporter does, serves or logs. A variable that no
//! case sets and checks fails the test, so a new one comes with its case.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::harness::stack::Scratch;
use crate::harness::{Exporter, Metrics, dynamodb_local, wait_for};
use migration_core::model::{Status, Timestamp};
use migration_core::table::{ProgressTable, item};
use migration_testkit::{SpaceRecord, WorkerWrites};

/// Every `env = ` of the two binaries' flags.
fn variables_in_the_code() -> BTreeSet<String> {
    let commands = [
        migration_daemon::ExporterFlags::command(),
        migration_monitor::MonitorFlags::command(),
    ];
    commands
        .iter()
        .flat_map(|c| c.get_arguments())
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect()
}

/// Every variable of the README's flag tables (rows opening with a flag).
fn variables_in_the_readme() -> BTreeSet<String> {
    let readme = include_str!("../../README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .flat_map(|l| l.split('`'))
        .filter(|w| w.starts_with("MIGRATION_EXPORTER_"))
        .map(str::to_owned)
        .collect()
}

/// The variables one exporter runs with, and those whose effect was seen.
struct Run {
    env: Vec<(&'static str, String)>,
    seen: BTreeSet<String>,
}

impl Run {
    fn new(env: Vec<(&'static str, String)>) -> Run {
        Run {
            env,
            seen: BTreeSet::new(),
        }
    }

    /// Asserts the effect of `var` (`NAME` for `MIGRATION_EXPORTER_NAME`), set in this run.
    fn saw(&mut self, var: &str, effect: bool, what: &str) {
        let var = format!("MIGRATION_EXPORTER_{var}");
        let value = self
            .env
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| v.clone());
        let value = value.unwrap_or_else(|| panic!("{var} is not set in this run"));
        assert!(effect, "{var}={value}: {what}");
        self.seen.insert(var);
    }
}

fn var(name: &str, value: impl Into<String>) -> (&'static str, String) {
    let name: &'static str = format!("MIGRATION_EXPORTER_{name}").leak();
    (name, value.into())
}

/// A table whose status index has a name of its own: three in-progress spaces, three failed
/// ones (two on a quota, one on a full disk) and a completed one that took 20 minutes, all last
/// written 10 minutes ago.
async fn table() -> ProgressTable {
    let name = format!("env-{}", std::process::id());
    let table = ProgressTable::new(crate::harness::client(), name, "progress-by-status");
    table.create_table().await.unwrap();
    let ago = |m: u64| Timestamp::now().minus(Duration::from_secs(60 * m));
    let space = |s: &str, status: Status| {
        SpaceRecord::new("did:mailto:c", s)
            .status(status)
            .on("1", "1")
            .uploads(10, 5)
            .created(ago(30))
            .updated(ago(10))
    };
    let records = [
        space("did:key:p1", Status::InProgress).build(),
        space("did:key:p2", Status::InProgress).build(),
        space("did:key:p3", Status::InProgress).build(),
        space("did:key:f1", Status::Failed)
            .error("quota exceeded on shard 1")
            .build(),
        space("did:key:f2", Status::Failed)
            .error("quota exceeded on shard 2")
            .build(),
        space("did:key:f3", Status::Failed)
            .error("disk full")
            .build(),
        space("did:key:c1", Status::Completed)
            .uploads(10, 10)
            .build(),
    ];
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    table
}

/// GET `path` over HTTP/1.0: (status, lower-cased head, body).
fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: t\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> (u16, String, String) {
    crate::harness::split_response(&String::from_utf8_lossy(raw))
}

/// Sends `request` on a new connection and reads the answer to its end.
fn exchange(addr: &str, request: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw).0
}

/// How long the server takes to close `s` (nothing more is sent), at most 10 s.
fn closed_after(mut s: TcpStream) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    started.elapsed()
}

/// The exposition at `path`, once `ok` holds for it.
fn wait_metrics(e: &Exporter, path: &str, what: &str, ok: impl Fn(&Metrics) -> bool) -> Metrics {
    wait_for(what, Duration::from_secs(30), || {
        let (code, _, body) = get(&e.addr, path);
        let m = Metrics::parse(&body);
        if code == 200 && ok(&m) {
            Ok(m)
        } else {
            Err(format!("{code}: {}", e.log_tail()))
        }
    })
}

fn sum(m: &Metrics, family: &str) -> f64 {
    m.family(family).values().sum()
}

/// Three exporters: one started with no argument at all (every variable of reading and serving),
/// one with the read budget, one logging JSON. The variables the monitor shares with the
/// exporter are the same clap arguments (`migration_cli::flags`), shown here on the exporter.
#[tokio::test(flavor = "multi_thread")]
async fn every_environment_variable_stands_in_for_its_flag() {
    let code = variables_in_the_code();
    assert_eq!(
        code,
        variables_in_the_readme(),
        "the flags' variables are the README's"
    );
    let table = table().await;
    let scratch = Scratch::new("env-fallbacks");
    let mut seen = reading_and_serving(&table, &scratch);
    seen.extend(read_budget().await);
    seen.extend(log_format(&table));
    let missing: Vec<&String> = code.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "no case shows the effect of {missing:?}"
    );
    assert_eq!(seen, code);
}

fn reading_and_serving(table: &ProgressTable, scratch: &Scratch) -> BTreeSet<String> {
    let port = crate::harness::free_port();
    let web = scratch.write("web.yml", &web_config("deny"));
    let classes = scratch.write(
        "classes.yml",
        "classes:\n- {name: quota, retryable: false, match: quota}\n- {name: disk, retryable: true, match: disk}\n",
    );
    let mut run = Run::new(vec![
        var("DYNAMODB_ENDPOINT_URL", dynamodb_local().endpoint.clone()),
        var("DYNAMODB_TABLE", table.name()),
        var("DYNAMODB_STATUS_INDEX", "progress-by-status"),
        var("STUCK_AFTER", "5m"),
        var("SCAN_SEGMENTS", "3"),
        var("FAILURES_CLASSES_FILE", classes.display().to_string()),
        var("LOG_LEVEL", "debug"),
        var("WEB_TELEMETRY_PATH", "/custom-metrics"),
        var("REFRESH_INTERVAL", "1s"),
        var("REFRESH_FULL_INTERVAL", "3s"),
        var("REFRESH_OVERLAP", "1h"),
        var("METRICS_MAX_SPACE_SERIES", "1"),
        var("METRICS_MAX_FAILED_SPACE_SERIES", "1"),
        var("METRICS_MAX_ERROR_CLASSES", "1"),
        var("METRICS_DURATION_BUCKETS", "1m,1h"),
        var("WEB_LISTEN_ADDRESS", format!("127.0.0.1:{port}")),
        var("WEB_CONFIG_FILE", web.display().to_string()),
        var("WEB_CONFIG_RELOAD_INTERVAL", "1h"),
        var("WEB_READ_HEADER_TIMEOUT", "1s"),
        var("WEB_IDLE_TIMEOUT", "1s"),
        var("WEB_MAX_CONNECTIONS", "100"),
        var("WEB_MAX_REQUESTS", "7"),
        var("WEB_MAX_REQUEST_BYTES", "1KiB"),
        var("WEB_MAX_HEADER_BYTES", "8KiB"),
        var("WEB_SHUTDOWN_TIMEOUT", "1s"),
    ]);
    let mut e = Exporter::spawn_env(&[], &run.env);
    // Changed under the exporter: reloaded at the next check (every 5 s by default; not for an
    // hour here).
    std::fs::write(&web, web_config("sameorigin")).unwrap();
    let rewritten = Instant::now();
    run.saw("WEB_LISTEN_ADDRESS", e.port() == port, "listens there");
    let m = wait_metrics(&e, "/custom-metrics", "three full refreshes", |m| {
        m.get("migration_exporter_refreshes_total", &[("kind", "full")]) >= Some(2.0)
            && m.get(
                "migration_exporter_refreshes_total",
                &[("kind", "incremental")],
            ) >= Some(1.0)
    });
    table_effects(&mut run, &e, &m);
    metric_effects(&mut run, &m);
    log_effects(&mut run, &e);
    web_effects(&mut run, &e);
    wait_for("5.5 s after the rewrite", Duration::from_secs(10), || {
        (rewritten.elapsed() > Duration::from_millis(5500))
            .then_some(())
            .ok_or_else(String::new)
    });
    let (_, head, _) = get(&e.addr, "/custom-metrics");
    run.saw(
        "WEB_CONFIG_RELOAD_INTERVAL",
        head.contains("x-frame-options: deny") && e.count("web configuration reloaded") == 0,
        "the changed file is not reloaded within 5.5 s",
    );
    shutdown_effect(&mut run, &mut e);
    run.seen
}

fn web_config(frame_options: &str) -> String {
    format!("http_server_config:\n  headers:\n    X-Frame-Options: {frame_options}\n")
}

/// What the table variables change: which table, endpoint and index are read, and how.
fn table_effects(run: &mut Run, e: &Exporter, m: &Metrics) {
    run.saw(
        "DYNAMODB_ENDPOINT_URL",
        m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0),
        "refreshes succeed against DynamoDB Local",
    );
    run.saw(
        "DYNAMODB_TABLE",
        sum(m, "migration_spaces") == 7.0,
        "the table's seven spaces are served",
    );
    run.saw(
        "DYNAMODB_STATUS_INDEX",
        m.get(
            "migration_exporter_refreshes_total",
            &[("kind", "incremental")],
        ) >= Some(1.0),
        "the index of that name serves incremental refreshes",
    );
    run.saw(
        "REFRESH_OVERLAP",
        m.get(
            "migration_exporter_items_read_total",
            &[("kind", "incremental")],
        ) >= Some(7.0),
        "incremental refreshes read again what was written 10 minutes ago",
    );
    // The first full scan: one Scan per segment (the table is one page), before any "refreshed".
    let log = e.log_lines();
    let first = log
        .iter()
        .position(|l| l.contains("message=refreshed"))
        .expect("a refreshed line");
    let scans = log[..first]
        .iter()
        .filter(|l| l.contains("operation=Scan"))
        .count();
    run.saw("SCAN_SEGMENTS", scans == 3, &format!("{scans} Scan calls"));
}

/// What the metrics variables change in `/metrics`.
fn metric_effects(run: &mut Run, m: &Metrics) {
    run.saw(
        "STUCK_AFTER",
        sum(m, "migration_spaces_stuck") == 3.0
            && m.get("migration_exporter_stuck_after_seconds", &[]) == Some(300.0),
        "spaces silent for 10 minutes are stuck",
    );
    run.saw(
        "REFRESH_INTERVAL",
        m.get("migration_exporter_refresh_interval_seconds", &[]) == Some(1.0),
        "the interval is served",
    );
    run.saw(
        "REFRESH_FULL_INTERVAL",
        m.get("migration_exporter_full_refresh_interval_seconds", &[]) == Some(3.0),
        "the full interval is served (and two full refreshes ran)",
    );
    let stuck = m.family("migration_stuck_space_info").len();
    run.saw(
        "METRICS_MAX_SPACE_SERIES",
        stuck == 1,
        &format!("{stuck} stuck spaces named"),
    );
    let failed = m.family("migration_failed_space_info").len();
    run.saw(
        "METRICS_MAX_FAILED_SPACE_SERIES",
        failed == 1,
        &format!("{failed} failed spaces named"),
    );
    let class = |c: &str, r: &str| {
        m.get(
            "migration_failed_spaces_by_class",
            &[("error_class", c), ("retryable", r)],
        )
    };
    run.saw(
        "FAILURES_CLASSES_FILE",
        class("quota", "false") == Some(2.0),
        "the file's quota class",
    );
    let classes = m.family("migration_failed_spaces_by_class");
    run.saw(
        "METRICS_MAX_ERROR_CLASSES",
        classes.len() == 2
            && classes
                .iter()
                .any(|(k, v)| k.contains("other") && *v == 1.0),
        &format!("one class and other: {classes:?}"),
    );
    let bounds: BTreeSet<String> = m
        .family("migration_space_duration_seconds_bucket")
        .keys()
        .filter_map(|k| k.split("le=\"").nth(1))
        .map(|v| v.trim_end_matches(['"', '}']).to_owned())
        .collect();
    run.saw(
        "METRICS_DURATION_BUCKETS",
        bounds == BTreeSet::from(["60".into(), "3600".into(), "+Inf".into()]),
        &format!("bounds {bounds:?}"),
    );
    run.saw(
        "WEB_MAX_CONNECTIONS",
        m.get("migration_exporter_http_connections_max", &[]) == Some(100.0),
        "the connection bound is served",
    );
}

fn log_effects(run: &mut Run, e: &Exporter) {
    run.saw(
        "LOG_LEVEL",
        e.log_lines_at("debug") > 0,
        "debug lines are logged",
    );
    run.saw(
        "WEB_MAX_REQUESTS",
        e.count("max_requests=7") == 1,
        "the request bound is logged at start",
    );
}

/// What the web variables change in how requests and connections are served.
fn web_effects(run: &mut Run, e: &Exporter) {
    let (code, head, body) = get(&e.addr, "/custom-metrics");
    run.saw(
        "WEB_TELEMETRY_PATH",
        code == 200 && body.contains("migration_spaces") && get(&e.addr, "/metrics").0 == 404,
        "metrics are served there, not at /metrics",
    );
    run.saw(
        "WEB_CONFIG_FILE",
        head.contains("x-frame-options: deny"),
        "the file's header is sent",
    );
    let mut body = b"POST /custom-metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n".to_vec();
    body.extend([b'x'; 2000]);
    let code = exchange(&e.addr, &body);
    run.saw("WEB_MAX_REQUEST_BYTES", code == 413, &format!("{code}"));
    let head = format!(
        "GET /custom-metrics HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "z".repeat(10_000)
    );
    let code = exchange(&e.addr, head.as_bytes());
    run.saw("WEB_MAX_HEADER_BYTES", code == 431, &format!("{code}"));
    let mut half = TcpStream::connect(&e.addr).unwrap();
    half.write_all(b"GET /custom-metrics HTTP/1.1\r\n").unwrap();
    let after = closed_after(half);
    run.saw(
        "WEB_READ_HEADER_TIMEOUT",
        after < Duration::from_secs(3),
        &format!("a half-sent head closed after {after:?}"),
    );
    let mut idle = TcpStream::connect(&e.addr).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(idle.read(&mut buf).unwrap() > 0);
    let after = closed_after(idle);
    run.saw(
        "WEB_IDLE_TIMEOUT",
        after < Duration::from_secs(3),
        &format!("an idle kept-alive connection closed after {after:?}"),
    );
}

/// SIGTERM while a response is stuck on a client that reads nothing: the exporter waits the
/// shutdown timeout (1 s, not 5), then closes it.
fn shutdown_effect(run: &mut Run, e: &mut Exporter) {
    let mut stuck = TcpStream::connect(&e.addr).unwrap();
    let request = b"GET /custom-metrics HTTP/1.1\r\nHost: t\r\n\r\n".repeat(2000);
    stuck
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let _ = stuck.write_all(&request);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let status = e.terminate(Duration::from_secs(10));
    let took = started.elapsed();
    run.saw(
        "WEB_SHUTDOWN_TIMEOUT",
        status.success() && took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        &format!("exit {status:?} {took:?} after SIGTERM"),
    );
}

/// The read budget: a full scan of about 88 read units, then an incremental refresh that waits
/// until they are paid for at 20 units a second (the scan's pages all go at once, one per
/// segment, since their cost is known only after).
async fn read_budget() -> BTreeSet<String> {
    let table = crate::harness::new_table("env-budget").await;
    let now = Timestamp::now();
    let records: Vec<_> = (0..600)
        .map(|i| {
            SpaceRecord::new("did:mailto:c", &format!("did:key:b{i}"))
                .status(Status::Completed)
                .on("1", "1")
                .uploads(10, 10)
                .at(now)
                .last_upload(&"x".repeat(1000))
                .build()
        })
        .collect();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    let budget = 20.0;
    let mut run = Run::new(vec![var("DYNAMODB_MAX_READ_UNITS_PER_SECOND", "20")]);
    let endpoint = dynamodb_local().endpoint.clone();
    let e = Exporter::spawn_env(
        &[
            "--dynamodb.endpoint-url",
            &endpoint,
            "--dynamodb.table",
            table.name(),
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "logfmt",
            "--refresh.interval",
            "1s",
        ],
        &run.env,
    );
    let m = e.wait_until("an incremental refresh", Duration::from_secs(60), |m| {
        m.get(
            "migration_exporter_refreshes_total",
            &[("kind", "incremental")],
        ) >= Some(1.0)
    });
    let scanned = m
        .get(
            "migration_exporter_read_capacity_units_total",
            &[("operation", "scan")],
        )
        .unwrap_or(0.0);
    let waited = m
        .get(
            "migration_exporter_refresh_duration_seconds",
            &[("kind", "incremental")],
        )
        .unwrap();
    // A second's worth was allowed up front, and the second between the refreshes refilled
    // another; the rest is paid for before the first query goes.
    let debt = ((scanned - budget) / budget - 1.0) * 0.9;
    run.saw(
        "DYNAMODB_MAX_READ_UNITS_PER_SECOND",
        scanned >= 80.0 && waited >= debt,
        &format!("{scanned} units scanned, then an incremental refresh of {waited:.2} s, expected at least {debt:.2} s"),
    );
    run.seen
}

/// JSON logs: the first line the exporter writes is a JSON object.
fn log_format(table: &ProgressTable) -> BTreeSet<String> {
    let mut run = Run::new(vec![var("LOG_FORMAT", "json")]);
    let endpoint = dynamodb_local().endpoint.clone();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration-exporter"));
    cmd.args(["--dynamodb.endpoint-url", &endpoint])
        .args(["--dynamodb.table", table.name()])
        .args(["--web.listen-address", "127.0.0.1:0"]);
    crate::harness::aws_env(&mut cmd, crate::harness::LOCAL_KEYS);
    let mut child = cmd
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let json: Option<serde_json::Value> = serde_json::from_str(&line).ok();
    run.saw(
        "LOG_FORMAT",
        json.is_some_and(|j| j.is_object() && line.contains("starting")),
        &format!("the first line is JSON: {line}"),
    );
    run.seen
}
