//! The shipped IAM policy (`deploy/iam/policy.json`) is exactly what the exporter and the monitor
//! need, proven against a DynamoDB that enforces identity policies: moto's server (from
//! `scripts/install-deps deploy`), whose enforcement starts after `/moto-api/reset-auth`. Setup
//! (IAM users, the table with its `status-index`, the items) runs before enforcement; then the
//! exporter and every monitor view run with the keys of a user holding exactly the shipped actions
//! and must work completely, and, for each action, with a user holding all the others, and must
//! fail in the way that action explains, reporting the failed call by its name.
//!
//! moto matches actions only and checks every request against resource `*`, so the users'
//! policies carry the shipped actions on `*`; the shipped resources (the table ARN and its
//! `index/*`) are checked statically by `scripts/check-deploy`. moto answers a denial with HTTP
//! 403 and an XML body, where AWS answers `AccessDeniedException` in JSON.
//! Everything listens on loopback; moto is used nowhere else.

use migration_testkit::WorkerWrites;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::stack::{Scratch, url_encode};
use crate::harness::{Exporter, free_port, monitor_at, wait_for};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::table::ProgressTable;
use migration_core::table::item;
use serde_json::Value;

pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub(crate) const TABLE: &str = "migration-progress";
pub(crate) const ALICE: &str = "did:mailto:example.com:alice";
pub(crate) const BOB: &str = "did:mailto:example.com:bob";
pub(crate) const FAILURE: &str = "Connection timeout while copying a shard";

/// The actions of the shipped policy's only statement, as written there (`dynamodb:Scan`, ...).
pub(crate) fn shipped_actions() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/deploy/iam/policy.json")).unwrap();
    let policy: Value = serde_json::from_str(&text).expect("policy.json is JSON");
    let statements = policy["Statement"].as_array().expect("Statement list");
    assert_eq!(statements.len(), 1, "one statement expected: {policy}");
    statements[0]["Action"]
        .as_array()
        .expect("Action list")
        .iter()
        .map(|a| a.as_str().expect("action is a string").to_owned())
        .collect()
}

/// moto's server: `MOTO_SERVER`, else the one `scripts/install-deps deploy` puts in
/// `.cache/deploy-tools`, else the one on PATH.
fn moto_server_program() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(ROOT).join(".cache/deploy-tools/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// A moto server on a free loopback port, killed on drop.
pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
    _scratch: Scratch,
}

impl Moto {
    fn start() -> Moto {
        let scratch = Scratch::new("iam-moto");
        let port = free_port();
        let log = std::fs::File::create(scratch.path.join("moto.log")).unwrap();
        let program = moto_server_program();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // No enforcement during setup; `enforce` switches it on.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "1000000")
            .current_dir(&scratch.path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start {} (scripts/install-deps deploy installs moto[server]): {e}",
                    program.display()
                )
            });
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _scratch: scratch,
        };
        wait_for("moto_server listening", Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port))
                .map(drop)
                .map_err(|e| e.to_string())
        });
        moto
    }

    /// POSTs `body` to `path`; returns (status, response body).
    fn post(&self, path: &str, content_type: &str, headers: &str, body: &str) -> (u16, String) {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect to moto");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read moto response");
        let (code, _, body) = crate::harness::split_response(&raw);
        (code, body)
    }

    /// One IAM Query API call, before enforcement (the Authorization header only routes the
    /// request to moto's IAM; no signature is checked yet).
    fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", url_encode(v)));
        }
        let (code, text) = self.post(
            "/",
            "application/x-www-form-urlencoded",
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n",
            &body,
        );
        assert_eq!(code, 200, "IAM {params:?}: {text}");
        text
    }

    /// A user whose only policy allows `actions` on every resource; returns its keys.
    fn user(&self, name: &str, actions: &[String]) -> (String, String) {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        });
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]);
        self.iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "migration-exporter-read"),
            ("PolicyDocument", &policy.to_string()),
        ]);
        let out = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]);
        let between = |tag: &str| {
            let open = format!("<{tag}>");
            let start = out.find(&open).expect(tag) + open.len();
            let end = start + out[start..].find('<').unwrap();
            out[start..end].to_owned()
        };
        (between("AccessKeyId"), between("SecretAccessKey"))
    }

    /// From now on every request is authenticated and authorised.
    fn enforce(&self) {
        let (code, text) = self.post("/moto-api/reset-auth", "text/plain", "", "0");
        assert_eq!(code, 200, "reset-auth: {text}");
    }

    fn client(&self, keys: &(String, String)) -> Client {
        let conf = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .http_client(migration_core::table::client::http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(&keys.0, &keys.1, None, None, "iam-test"))
            .endpoint_url(&self.endpoint)
            .build();
        Client::from_conf(conf)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The migration the tests read: two customers, two instances, every status, one stuck space
/// (no update for 2h), one failed space.
pub(crate) fn records() -> Vec<SpaceProgress> {
    let now = Timestamp::now();
    let ago = |m: u64| now.minus(Duration::from_secs(m * 60));
    let mut failed = crate::harness::record(
        ALICE,
        "did:key:z6MkAlice3",
        Status::Failed,
        "1",
        "2",
        5,
        1,
        ago(20),
    );
    failed.error = Some(FAILURE.into());
    vec![
        crate::harness::record(
            ALICE,
            "did:key:z6MkAlice1",
            Status::Completed,
            "1",
            "1",
            10,
            10,
            ago(30),
        ),
        crate::harness::record(
            ALICE,
            "did:key:z6MkAlice2",
            Status::InProgress,
            "1",
            "1",
            8,
            3,
            ago(120),
        ),
        failed,
        crate::harness::record(
            BOB,
            "did:key:z6MkBob1",
            Status::InProgress,
            "2",
            "1",
            4,
            2,
            ago(1),
        ),
        crate::harness::record(
            BOB,
            "did:key:z6MkBob2",
            Status::Pending,
            "2",
            "1",
            6,
            0,
            ago(5),
        ),
        crate::harness::record(
            BOB,
            "did:key:z6MkBob3",
            Status::Completed,
            "2",
            "2",
            7,
            7,
            ago(10),
        ),
    ]
}

/// A moto with the table loaded and one user per entry of `users` (name, actions), enforcing.
pub(crate) async fn setup(users: &[(&str, Vec<String>)]) -> (Moto, Vec<(String, String)>) {
    let moto = Moto::start();
    let admin = moto.client(&("setup".into(), "setup".into()));
    let table = ProgressTable::new(admin, TABLE, "status-index");
    table.create_table().await.expect("create table in moto");
    table
        .put_items(records().iter().map(item::encode).collect())
        .await
        .expect("load items into moto");
    let keys = users.iter().map(|(n, a)| moto.user(n, a)).collect();
    moto.enforce();
    (moto, keys)
}

/// The environment of every run: the user's keys and a region, nothing else (no HOME, no
/// profile, no instance metadata).
/// The exporter with the user's keys, refreshing every second, logging every call.
pub(crate) fn start_exporter(moto: &Moto, keys: &(String, String)) -> Exporter {
    Exporter::spawn_as(
        &[
            "--dynamodb.endpoint-url",
            &moto.endpoint,
            "--dynamodb.table",
            TABLE,
            "--web.listen-address",
            "127.0.0.1:0",
            "--refresh.interval",
            "1s",
            "--scan.segments",
            "2",
            "--log.format",
            "logfmt",
            "--log.level",
            "debug",
        ],
        (&keys.0, &keys.1),
    )
}

/// Every monitor view: (name, arguments).
pub(crate) fn views() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("overview", vec![]),
        ("overview --json", vec!["--json"]),
        ("--instance", vec!["--instance", "1"]),
        ("--instance --json", vec!["--instance", "1", "--json"]),
        ("--customer", vec!["--customer", ALICE]),
        ("--customer --json", vec!["--customer", ALICE, "--json"]),
        (
            "--customer --space",
            vec!["--customer", ALICE, "--space", "did:key:z6MkAlice3"],
        ),
        (
            "--customer --space --json",
            vec![
                "--customer",
                ALICE,
                "--space",
                "did:key:z6MkAlice3",
                "--json",
            ],
        ),
        ("--failed", vec!["--failed"]),
        ("--failed --json", vec!["--failed", "--json"]),
        ("--stuck", vec!["--stuck"]),
        ("--stuck --json", vec!["--stuck", "--json"]),
    ]
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether `text` has a line saying that access was denied to the call `action`
/// (`dynamodb:Scan`), naming the action and pointing at the shipped policy, as the exporter logs
/// it (`Scan on migration-progress failed (access_denied): ... dynamodb:Scan ...`) and the monitor
/// prints it (`access denied: ... dynamodb:Scan on migration-progress ...`).
pub(crate) fn reports_failure_of(text: &str, action: &str) -> bool {
    text.lines().any(|l| {
        (l.contains("access_denied") || l.contains("access denied"))
            && l.contains(action)
            && l.contains("deploy/iam/policy.json")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn shipped_policy_lets_the_exporter_and_every_monitor_view_work() {
    let actions = shipped_actions();
    let expected: BTreeSet<&str> = [
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    ]
    .into();
    assert_eq!(
        actions.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    let (moto, keys) = setup(&[("reader", actions.clone())]).await;
    let keys = &keys[0];

    // Enforcement is on, and the user cannot write.
    let client = moto.client(keys);
    let put = client
        .put_item()
        .table_name(TABLE)
        .item("customer", AttributeValue::S(ALICE.into()))
        .item("space", AttributeValue::S("did:key:z6MkIntruder".into()))
        .send()
        .await;
    let err = put.expect_err("the read-only user wrote an item");
    let raw = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw, Some(403), "PutItem: {err:?}");
    let delete = client
        .delete_item()
        .table_name(TABLE)
        .key("customer", AttributeValue::S(ALICE.into()))
        .key("space", AttributeValue::S("did:key:z6MkAlice1".into()))
        .send()
        .await;
    assert_eq!(
        delete
            .expect_err("the read-only user deleted an item")
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(403)
    );

    // The exporter: ready, the table's values, and incremental refreshes (DescribeTable found
    // the index usable, Query on it works) without a single error.
    let mut exporter = start_exporter(&moto, keys);
    let m = wait_for(
        "ready, and two incremental refreshes",
        Duration::from_secs(60),
        || {
            let ready = exporter.get("/-/ready").0 == 200;
            let m = exporter.scrape();
            let inc = m
                .get(
                    "migration_exporter_refreshes_total",
                    &[("kind", "incremental")],
                )
                .unwrap_or(0.0);
            if ready && inc >= 2.0 {
                Ok(m)
            } else {
                Err(format!(
                    "ready={ready} incremental={inc}\n{}",
                    exporter.log.lock().unwrap().join("\n")
                ))
            }
        },
    );
    let spaces = |status: &str, inst: &str, worker: &str| {
        m.get(
            "migration_spaces",
            &[
                ("instance_id", inst),
                ("status", status),
                ("worker_id", worker),
            ],
        )
    };
    assert_eq!(spaces("completed", "1", "1"), Some(1.0));
    assert_eq!(spaces("in-progress", "1", "1"), Some(1.0));
    assert_eq!(spaces("failed", "1", "2"), Some(1.0));
    assert_eq!(spaces("pending", "2", "1"), Some(1.0));
    assert_eq!(spaces("completed", "2", "2"), Some(1.0));
    assert_eq!(m.family("migration_spaces").values().sum::<f64>(), 6.0);
    assert_eq!(
        m.family("migration_uploads_completed")
            .values()
            .sum::<f64>(),
        23.0
    );
    assert_eq!(m.family("migration_uploads").values().sum::<f64>(), 40.0);
    assert_eq!(
        m.get(
            "migration_spaces_stuck",
            &[("instance_id", "1"), ("worker_id", "1")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.family("migration_exporter_refresh_errors_total")
            .values()
            .sum::<f64>(),
        0.0,
        "{}",
        exporter.log.lock().unwrap().join("\n")
    );
    assert_eq!(
        m.get("migration_exporter_last_refresh_success", &[]),
        Some(1.0)
    );
    assert!(exporter.is_running());
    let log = exporter.log.lock().unwrap().join("\n");
    for action in &actions {
        assert!(!reports_failure_of(&log, action), "{action} failed:\n{log}");
    }

    // Every monitor view: exit 0, the table's values.
    for (name, args) in views() {
        let out = monitor_at(&moto.endpoint, (&keys.0, &keys.1), TABLE, &args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{name}: {:?}\n{stderr}", out.status);
        assert!(!stdout.trim().is_empty(), "{name}: no output");
        let json = || -> Value {
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: {e}\n{stdout}"))
        };
        match name {
            "overview" => assert!(stdout.contains("Total Spaces: 6"), "{stdout}"),
            "overview --json" => {
                let v = json();
                assert_eq!(
                    v["spaces"],
                    serde_json::json!({"total": 6, "completed": 2, "in_progress": 2,
                        "pending": 1, "failed": 1, "unknown": 0})
                );
                assert_eq!(
                    v["uploads"],
                    serde_json::json!({"total": 40, "completed": 23})
                );
                assert_eq!(v["stuck"], 1);
                assert_eq!(v["instances"].as_array().unwrap().len(), 2);
            }
            "--instance" => assert!(stdout.starts_with("Instance 1 Progress\n"), "{stdout}"),
            "--instance --json" => {
                let v = json();
                assert_eq!(v["spaces"]["total"], 3);
                assert_eq!(v["workers"].as_array().unwrap().len(), 2);
            }
            "--customer" => {
                for s in [
                    "did:key:z6MkAlice1",
                    "did:key:z6MkAlice2",
                    "did:key:z6MkAlice3",
                ] {
                    assert!(stdout.contains(s), "{name}: {s} missing\n{stdout}");
                }
            }
            "--customer --json" => {
                let v = json();
                assert_eq!(v["spaces"]["total"], 3);
                assert_eq!(v["rows"].as_array().unwrap().len(), 3);
            }
            "--customer --space" => {
                assert!(stdout.contains("did:key:z6MkAlice3"), "{stdout}");
                assert!(stdout.contains(FAILURE), "{stdout}");
            }
            "--customer --space --json" => {
                assert!(json().to_string().contains(FAILURE), "{stdout}");
            }
            "--failed" => assert!(stdout.contains(FAILURE), "{stdout}"),
            "--failed --json" => {
                let v = json();
                assert_eq!(v["total"], 1);
                assert_eq!(v["rows"][0]["error"], FAILURE);
            }
            "--stuck" => assert!(stdout.contains("did:key:z6MkAlice2"), "{stdout}"),
            "--stuck --json" => {
                let v = json();
                assert_eq!(v["total"], 1);
                assert!(v["rows"][0].to_string().contains("did:key:z6MkAlice2"));
            }
            other => unreachable!("{other}"),
        }
    }
}
