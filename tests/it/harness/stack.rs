//! The monitoring stack around the exporter, as real processes for the dashboard and alerting
//! tests: Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`) on free
//! loopback ports with scratch storage, killed on drop; a webhook sink that records what
//! Alertmanager sends; a table loaded with every status; and (from [`super::promql`]) a PromQL scan
//! for metric names.

use migration_testkit::{SpaceRecord, WorkerWrites};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use migration_core::model::{SpaceProgress, Status, Timestamp};
use serde_json::Value;

use crate::harness::free_port;
use crate::harness::try_http_get;

/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A scratch directory, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(prefix: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch directory");
        Scratch { path }
    }

    /// Writes `text` to `name` (subdirectories created) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create scratch subdirectory");
        }
        std::fs::write(&path, text).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A server process (Prometheus or Alertmanager) with its scratch directory and log.
struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Server {
    /// `program` in a new scratch directory holding `config` (as `config_file`) and `files`, on a
    /// free loopback port, its storage under `data/` (`storage` gives the flags naming it), logging
    /// warnings only; ready, with its address and the scratch directory to keep until it is gone.
    fn in_scratch(
        program: &str,
        config_file: &str,
        config: &str,
        files: &[(&str, &str)],
        storage: impl FnOnce(&Path) -> Vec<String>,
    ) -> (Server, String, Scratch) {
        let scratch = Scratch::new(program);
        let config_path = scratch.write(config_file, config);
        for (name, text) in files {
            scratch.write(name, text);
        }
        let addr = format!("127.0.0.1:{}", free_port());
        let mut args = vec![format!("--config.file={}", config_path.display())];
        args.extend(storage(&scratch.path.join("data")));
        args.push(format!("--web.listen-address={addr}"));
        args.push("--log.level=warn".to_owned());
        let server = Server::start(program, args, &scratch, addr.clone());
        (server, addr, scratch)
    }

    fn start(program: &str, args: Vec<String>, scratch: &Scratch, addr: String) -> Server {
        let log = scratch.path.join(format!("{program}.log"));
        let out = std::fs::File::create(&log).expect("create server log");
        let child = Command::new(program)
            .args(&args)
            .current_dir(&scratch.path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} (scripts/install-deps installs it): {e}"));
        let mut server = Server { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((200, _)) = try_http_get(&server.addr, "/-/ready") {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{program} exited with {status}: {}", server.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{program} not ready within 30s: {}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get_json(&self, path: &str) -> Value {
        let (code, body) = try_http_get(&self.addr, path)
            .unwrap_or_else(|| panic!("GET {path} from {}: no answer", self.addr));
        assert_eq!(code, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real Prometheus with `config` (and `files` beside it, e.g. rule files named in the config)
/// in a scratch directory, on a free loopback port.
pub struct Prometheus {
    server: Server,
    pub addr: String,
    // Dropped after `server`: the process goes before its storage.
    _scratch: Scratch,
}

impl Prometheus {
    pub fn start(config: &str, files: &[(&str, &str)]) -> Prometheus {
        let (server, addr, scratch) =
            Server::in_scratch("prometheus", "prometheus.yml", config, files, |data| {
                vec![format!("--storage.tsdb.path={}", data.display())]
            });
        Prometheus {
            server,
            addr,
            _scratch: scratch,
        }
    }

    /// GET an API path; the `data` of a successful answer.
    pub fn api(&self, path: &str) -> Value {
        let v = self.server.get_json(path);
        assert_eq!(v["status"], "success", "GET {path}: {v}");
        v["data"].clone()
    }

    /// An instant query's result (`data.result`), evaluated now.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let path = format!("/api/v1/query?query={}", url_encode(expr));
        let (code, body) = try_http_get(&self.addr, &path).ok_or("no answer")?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if code != 200 || v["status"] != "success" {
            return Err(format!("HTTP {code}: {body}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// An instant query evaluated at `time` (seconds since the epoch): its result vector.
    pub fn query_at(&self, expr: &str, time: f64) -> Result<Vec<Value>, String> {
        let path = format!("/api/v1/query?query={}&time={time:.3}", url_encode(expr));
        let (code, body) = try_http_get(&self.addr, &path).ok_or("no answer")?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if code != 200 || v["status"] != "success" {
            return Err(format!("{code}: {body}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// The single value of an instant query returning one sample, if it does.
    pub fn value(&self, expr: &str) -> Option<f64> {
        let result = self.query(expr).ok()?;
        match result.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }
}

/// A real Alertmanager with `config` (and `files` beside it, e.g. templates) in a scratch
/// directory, on a free loopback port, clustering off.
pub struct Alertmanager {
    server: Server,
    pub addr: String,
    _scratch: Scratch,
}

impl Alertmanager {
    pub fn start(config: &str, files: &[(&str, &str)]) -> Alertmanager {
        let config_file = "alertmanager.yml";
        let (server, addr, scratch) =
            Server::in_scratch(alertmanager_program(), config_file, config, files, |data| {
                vec![
                    format!("--storage.path={}", data.display()),
                    "--cluster.listen-address=".to_owned(),
                ]
            });
        Alertmanager {
            server,
            addr,
            _scratch: scratch,
        }
    }

    /// Every alert Alertmanager holds (`/api/v2/alerts`), with its status.
    pub fn alerts(&self) -> Vec<Value> {
        self.server
            .get_json("/api/v2/alerts")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Debian names the Alertmanager binary `prometheus-alertmanager`; upstream calls it
/// `alertmanager` (scripts/install-deps accepts either).
fn alertmanager_program() -> &'static str {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    if !on_path("prometheus-alertmanager") && on_path("alertmanager") {
        "alertmanager"
    } else {
        "prometheus-alertmanager"
    }
}

/// One HTTP request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: String,
}

impl Received {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Every string in the JSON body, joined by newlines: what a reader of the notification sees.
    pub fn text(&self) -> String {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                Value::Object(o) => o.values().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.json(), &mut out);
        out.join("\n")
    }
}

/// An HTTP server on a free loopback port that answers every request `200 {}` and records it:
/// where the test points Alertmanager's receivers.
pub struct WebhookSink {
    pub addr: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WebhookSink {
    pub fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook sink");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, halt) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(r) = serve_one(stream) {
                            sink.lock().unwrap().push(r);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        WebhookSink {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request (headers, then a Content-Length body), answers 200 and closes.
fn serve_one(mut stream: TcpStream) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    Some(Received { path, body })
}

/// One space as a worker would have written it.
#[allow(clippy::too_many_arguments)]
pub fn space(
    space: &str,
    status: Status,
    instance: Option<&str>,
    worker: Option<&str>,
    total: u64,
    completed: u64,
    updated: Timestamp,
) -> SpaceProgress {
    let mut r = SpaceRecord::new("did:mailto:example.com:owner", space)
        .status(status)
        .assigned(instance, worker)
        .uploads(total, completed)
        .created(updated.minus(Duration::from_secs(600)))
        .updated(updated);
    if completed > 0 {
        r = r.last_upload("bafkreiexample");
    }
    if status == Status::Failed {
        r = r.error("Connection timeout after 3 retries");
    }
    r.build()
}

/// A new table holding `spaces`, and the real exporter over it (refreshing every second, stuck
/// after an hour), ready.
pub async fn exporter_over(
    prefix: &str,
    spaces: &[SpaceProgress],
) -> (
    migration_core::table::ProgressTable,
    crate::harness::Exporter,
) {
    let table = crate::harness::new_table(prefix).await;
    table
        .put_items(
            spaces
                .iter()
                .map(migration_core::table::item::encode)
                .collect(),
        )
        .await
        .unwrap();
    let exporter = crate::harness::Exporter::start(
        &crate::harness::dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--stuck-after", "1h"],
    );
    exporter.wait_ready(Duration::from_secs(60));
    (table, exporter)
}

/// A small migration with every status on two instances: completed, pending (some unassigned),
/// fresh in-progress, two stuck spaces on instance 1 worker 2 (no update for 2h and 3h), a failed
/// space on instance 2 worker 1, and one item with a status the exporter does not know.
#[allow(
    clippy::too_many_lines,
    reason = "one long table of test records, one per space"
)]
pub fn every_status_spaces(now: Timestamp) -> Vec<SpaceProgress> {
    let fresh = now.minus(Duration::from_secs(60));
    let hours = |h: u64| now.minus(Duration::from_secs(h * 3600));
    let (one, two) = (Some("1"), Some("2"));
    vec![
        space(
            "did:key:z6MkDone1",
            Status::Completed,
            one,
            one,
            120,
            120,
            fresh,
        ),
        space(
            "did:key:z6MkDone2",
            Status::Completed,
            one,
            one,
            80,
            80,
            fresh,
        ),
        space(
            "did:key:z6MkBusy1",
            Status::InProgress,
            one,
            one,
            500,
            200,
            fresh,
        ),
        space("did:key:z6MkWait1", Status::Pending, one, one, 50, 0, fresh),
        space(
            "did:key:z6MkStuck2h",
            Status::InProgress,
            one,
            two,
            900,
            300,
            hours(2),
        ),
        space(
            "did:key:z6MkStuck3h",
            Status::InProgress,
            one,
            two,
            700,
            100,
            hours(3),
        ),
        space(
            "did:key:z6MkDone3",
            Status::Completed,
            one,
            two,
            60,
            60,
            fresh,
        ),
        space(
            "did:key:z6MkFailed1",
            Status::Failed,
            two,
            one,
            400,
            150,
            fresh,
        ),
        space(
            "did:key:z6MkDone4",
            Status::Completed,
            two,
            one,
            30,
            30,
            fresh,
        ),
        space(
            "did:key:z6MkBusy2",
            Status::InProgress,
            two,
            one,
            1000,
            10,
            fresh,
        ),
        space("did:key:z6MkWait2", Status::Pending, two, two, 70, 0, fresh),
        space("did:key:z6MkOdd", Status::Unknown, two, two, 10, 0, fresh),
        space(
            "did:key:z6MkWait3",
            Status::Pending,
            None,
            None,
            40,
            0,
            fresh,
        ),
        space(
            "did:key:z6MkWait4",
            Status::Pending,
            None,
            None,
            45,
            0,
            fresh,
        ),
    ]
}

/// The `extra` of [`prometheus_config`] that loads the bundled rules ([`rule_files`]).
pub const RULE_FILES: &str = "rule_files:\n  - migration.rules.yml\n";

/// The bundled rules, to hand to [`Prometheus::start`] as `migration.rules.yml` with
/// [`RULE_FILES`].
pub fn bundled_rules() -> String {
    repo_file("alerts/migration.rules.yml")
}

/// Prometheus scrape and evaluation every second, one job for the exporter at `target`, plus
/// `extra` YAML appended at top level (rule files, alerting, ...).
pub fn prometheus_config(job: &str, target: &str, extra: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{extra}\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
    )
}

/// Reads a file of the repository.
pub fn repo_file(path: &str) -> String {
    let full = Path::new(ROOT).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}
