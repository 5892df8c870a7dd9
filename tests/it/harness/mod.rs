//! Shared test harness: one DynamoDB Local per test binary on a free loopback port (stopped by a
//! watchdog when the test process exits), a fresh table per test with the production schema, the
//! exporter binary as a child process, and a small parser for the text exposition format.
//! [`stack`] adds Prometheus, Alertmanager and a webhook sink for the dashboard and alert tests.

pub mod promql;
pub mod proxy;
pub mod stack;

use migration_testkit::{SpaceRecord, WorkerWrites};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use migration_core::table::ProgressTable;

pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "test";
pub const REGION: &str = "us-east-1";

/// A running DynamoDB Local.
pub struct DynamoLocal {
    pub endpoint: String,
    /// The watchdog shell; it outlives this process only by its polling interval.
    _watchdog: Child,
}

/// Starts DynamoDB Local once for this test binary.
pub fn dynamodb_local() -> &'static DynamoLocal {
    static LOCAL: OnceLock<DynamoLocal> = OnceLock::new();
    LOCAL.get_or_init(start_dynamodb_local)
}

pub fn dynamodb_local_dir() -> PathBuf {
    std::env::var_os("DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/dynamodb-local"))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

fn start_dynamodb_local() -> DynamoLocal {
    let dir = dynamodb_local_dir();
    assert!(
        dir.join("DynamoDBLocal.jar").exists(),
        "DynamoDB Local not found in {}: run scripts/get-dynamodb-local (scripts/test does)",
        dir.display()
    );
    let port = free_port();
    // The watchdog shell stops DynamoDB Local once this test process is gone, since statics are
    // never dropped.
    // The emulator holds everything on the Java heap: about 6 GiB at 300,000 items.
    let heap = std::env::var("DYNAMODB_LOCAL_HEAP").unwrap_or_else(|_| "2g".into());
    let script = format!(
        "java -Xmx{heap} -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -port {port} >/dev/null 2>&1 & child=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done; kill $child 2>/dev/null",
        parent = std::process::id()
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start DynamoDB Local");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "DynamoDB Local did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    DynamoLocal {
        endpoint: format!("http://127.0.0.1:{port}"),
        _watchdog: watchdog,
    }
}

/// A client for DynamoDB Local with the test credentials.
pub fn client() -> Client {
    client_for(&dynamodb_local().endpoint)
}

/// A client for any endpoint (a fault proxy, say) with the test credentials.
pub fn client_for(endpoint: &str) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .http_client(migration_core::table::client::http_client())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

/// A new, empty table with the production schema and a name unique to this call.
pub async fn new_table(prefix: &str) -> ProgressTable {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed));
    let table = ProgressTable::new(client(), name, "status-index");
    table.create_table().await.expect("create table");
    table
}

/// Deletes DynamoDB Local's table `name` (under a running exporter, say).
pub async fn delete_table(name: &str) {
    client()
        .delete_table()
        .table_name(name)
        .send()
        .await
        .expect("delete table");
}

/// A well-formed record as a worker writes it, for loading test tables (the positional form of
/// [`SpaceRecord`], which the older tests use).
#[allow(clippy::too_many_arguments)]
pub fn record(
    customer: &str,
    space: &str,
    status: migration_core::model::Status,
    instance: &str,
    worker: &str,
    total: u64,
    completed: u64,
    updated: migration_core::model::Timestamp,
) -> migration_core::model::SpaceProgress {
    SpaceRecord::new(customer, space)
        .status(status)
        .on(instance, worker)
        .uploads(total, completed)
        .at(updated)
        .build()
}

/// A test identity's keys: (access key id, secret access key).
pub type Keys<'a> = (&'a str, &'a str);

/// DynamoDB Local's keys (it accepts any, but every client must use the same).
pub const LOCAL_KEYS: Keys<'static> = (ACCESS_KEY, SECRET_KEY);

/// Gives a binary exactly these AWS settings and nothing else from this environment (no profile,
/// no instance metadata).
pub fn aws_env(cmd: &mut Command, keys: Keys<'_>) {
    cmd.env_clear()
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// Runs `migration-monitor` on DynamoDB Local's `table` with `args` to the end.
pub fn monitor(table: &str, args: &[&str]) -> std::process::Output {
    monitor_at(&dynamodb_local().endpoint, LOCAL_KEYS, table, args)
}

/// Runs `migration-monitor` on `endpoint`'s `table` as `keys` with `args` (UTC, no colour).
pub fn monitor_at(
    endpoint: &str,
    keys: Keys<'_>,
    table: &str,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration-monitor"));
    cmd.args([
        "--dynamodb.endpoint-url",
        endpoint,
        "--dynamodb.table",
        table,
    ])
    .args(args);
    aws_env(&mut cmd, keys);
    cmd.env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run migration-monitor")
}

/// An exporter that exited instead of listening: its exit code and its log.
#[derive(Debug)]
pub struct Exited {
    pub code: Option<i32>,
    pub stderr: String,
}

/// The exporter binary running as a child process.
pub struct Exporter {
    child: Child,
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts `migration-exporter` against `endpoint`/`table` on a free port; `extra` flags are
    /// appended. Waits until it is listening.
    pub fn start(endpoint: &str, table: &str, extra: &[&str]) -> Exporter {
        let mut args = vec![
            "--dynamodb.endpoint-url",
            endpoint,
            "--dynamodb.table",
            table,
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.format",
            "logfmt",
        ];
        args.extend_from_slice(extra);
        Exporter::spawn(&args)
    }

    /// Starts the exporter with exactly `args` (which must keep it on loopback and log in
    /// logfmt) and waits for it to log its address.
    pub fn spawn(args: &[&str]) -> Exporter {
        Exporter::spawn_as(args, LOCAL_KEYS)
    }

    /// [`Exporter::spawn`] with another identity's keys.
    pub fn spawn_as(args: &[&str], keys: Keys<'_>) -> Exporter {
        Exporter::try_spawn_as(args, keys)
            .unwrap_or_else(|e| panic!("exporter did not log its address: {e:?}"))
    }

    /// Starts the exporter with exactly `args` and waits until it listens or exits (a refused
    /// flag or file, say): the exit is returned with what it logged.
    pub fn try_spawn(args: &[&str]) -> Result<Exporter, Exited> {
        Exporter::try_spawn_as(args, LOCAL_KEYS)
    }

    fn try_spawn_as(args: &[&str], keys: Keys<'_>) -> Result<Exporter, Exited> {
        Exporter::try_spawn_env(args, &[], keys)
    }

    /// [`Exporter::spawn`] with these environment variables besides the AWS ones (and none
    /// other from this process): `args` and `env` must keep it on loopback and log in logfmt.
    pub fn spawn_env(args: &[&str], env: &[(&str, String)]) -> Exporter {
        Exporter::try_spawn_env(args, env, LOCAL_KEYS)
            .unwrap_or_else(|e| panic!("exporter did not log its address: {e:?}"))
    }

    fn try_spawn_env(
        args: &[&str],
        env: &[(&str, String)],
        keys: Keys<'_>,
    ) -> Result<Exporter, Exited> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration-exporter"));
        cmd.args(args);
        aws_env(&mut cmd, keys);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start migration-exporter");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("message=listening") {
                    let addr = line
                        .split_whitespace()
                        .find_map(|kv| kv.strip_prefix("address="))
                        .map(|a| a.trim_matches('"').to_owned());
                    if let (Some(tx), Some(addr)) = (tx.take(), addr) {
                        let _ = tx.send(Some(addr));
                    }
                }
                sink.lock().unwrap().push(line);
            }
            if let Some(tx) = tx {
                let _ = tx.send(None);
            }
        });
        let outcome = rx.recv_timeout(Duration::from_secs(30));
        if let Ok(Some(addr)) = outcome {
            return Ok(Exporter { child, addr, log });
        }
        if outcome.is_err() {
            let _ = child.kill();
        }
        let code = child.wait().expect("wait for exporter").code();
        let stderr = log.lock().unwrap().join("\n");
        Err(Exited { code, stderr })
    }

    /// Every log line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many log lines so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The port it listens on (the first address).
    pub fn port(&self) -> u16 {
        self.addr
            .parse::<std::net::SocketAddr>()
            .expect("a socket address")
            .port()
    }

    /// GET `path`: (status code, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.addr, path)
    }

    /// The parsed `/metrics` page.
    pub fn scrape(&self) -> Metrics {
        let (code, body) = self.get("/metrics");
        assert_eq!(code, 200, "{body}");
        Metrics::parse(&body)
    }

    /// Polls `/-/ready` until it answers 200.
    pub fn wait_ready(&self, within: Duration) {
        wait_for("exporter ready", within, || match self.get("/-/ready").0 {
            200 => Ok(()),
            _ => Err(self.log_tail()),
        });
    }

    /// Scrapes until `ok` holds for the metrics, and returns them.
    pub fn wait_until(
        &self,
        what: &str,
        within: Duration,
        ok: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        wait_for(what, within, || {
            let m = self.scrape();
            if ok(&m) { Ok(m) } else { Err(self.log_tail()) }
        })
    }

    /// The last log lines, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(10)..].join("\n")
    }

    /// Sends SIGTERM and waits for the exit status (bounded).
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for exporter") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not exit within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Log lines so far at `level` (`error`, `warn`, ...).
    pub fn log_lines_at(&self, level: &str) -> usize {
        let needle = format!("level={level}");
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(&needle))
            .count()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll exporter").is_none()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET over loopback that reports a refused connection instead of panicking.
pub fn try_http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// A minimal HTTP/1.0 GET over loopback: (status code, body); panics when nothing answers.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    try_http_get(addr, path).unwrap_or_else(|| panic!("GET {path} from {addr}: no answer"))
}

/// Polls `probe` every 200 ms until it returns `Some`, for at most `within`; panics naming `what`
/// and the last state `probe` described (its `Err`).
pub fn wait_for<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "{what}: not within {within:?}; last: {last}"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs a tool from the repository root: (success, stdout and stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("tool is installed (scripts/install-deps installs it)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A raw HTTP/1.1 response split into (status code, head in lower case, body); code 0 when
/// the status line cannot be read.
pub fn split_response(raw: &str) -> (u16, String, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_owned())
}

/// Samples of one exposition, keyed by `name{label="value",...}` with labels sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics(pub BTreeMap<String, f64>);

impl Metrics {
    /// Parses the text format (comments skipped; no timestamps expected).
    pub fn parse(text: &str) -> Metrics {
        let mut out = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.trim_end_matches('}'))),
                None => (series, Vec::new()),
            };
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            out.insert(series_key(name, &labels), value);
        }
        Metrics(out)
    }

    /// The value of one series, if present.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0.get(&series_key(name, &labels)).copied()
    }

    /// Every series of one metric name.
    pub fn family(&self, name: &str) -> BTreeMap<String, f64> {
        let prefix = format!("{name}{{");
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) || k.as_str() == name)
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        value.push(match e {
                            'n' => '\n',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((name.trim_start_matches(',').trim().to_owned(), value));
        rest = &after[end..];
    }
    out
}

/// The canonical key of a series.
pub fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

/// Runs `promtool check metrics` on an exposition; returns its complaints (empty when clean).
pub fn promtool_check_metrics(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (scripts/install-deps installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut complaints = String::from_utf8_lossy(&out.stdout).into_owned();
    complaints.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() && complaints.trim().is_empty() {
        complaints = format!("promtool exited with {}", out.status);
    }
    complaints
}
