//! The `migration-monitor` binary against DynamoDB Local, on a table built so that the original
//! monitor's single-page reads would be wrong: more than 1 MB of failed items, stuck items spread
//! over many scan pages, one customer whose spaces span several Query pages, instances spread over
//! the whole table. Counts equal the truth computed here; golden files pin the text layout.

use migration_testkit::{SpaceRecord, WorkerWrites};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::ProgressTable;
use migration_core::table::item;
use serde_json::Value;
use tokio::sync::OnceCell;

const BIG: &str = "did:mailto:example.com:big";

fn record(
    customer: &str,
    space: &str,
    status: Status,
    instance: u32,
    worker: u32,
    updated: Timestamp,
    total: u64,
) -> SpaceProgress {
    let completed = match status {
        Status::Completed => total,
        Status::Pending => 0,
        _ => total / 3,
    };
    let (i, w) = (instance.to_string(), worker.to_string());
    let mut p = crate::harness::record(customer, space, status, &i, &w, total, completed, updated);
    p.last_processed_upload =
        (status != Status::Pending).then(|| format!("bafkrei{}", "b".repeat(900)));
    p.error = match status {
        Status::Failed => Some(format!(
            "Connection timeout after 3 retries {}",
            "e".repeat(900)
        )),
        Status::Completed => Some(String::new()),
        _ => None,
    };
    p.created_at = Some(updated.minus(Duration::from_secs(3600)));
    p
}

/// The large table and every record in it, built once for this test binary.
struct Big {
    table: String,
    records: Vec<SpaceProgress>,
}

async fn big() -> &'static Big {
    static BIG_TABLE: OnceCell<Big> = OnceCell::const_new();
    BIG_TABLE
        .get_or_init(|| async {
            let table = crate::harness::new_table("monitor").await;
            let now = Timestamp::now();
            let fresh = now.minus(Duration::from_secs(120));
            let mut records = Vec::new();
            for i in 0..1300u32 {
                let status = [
                    Status::Completed,
                    Status::Pending,
                    Status::InProgress,
                    Status::Failed,
                ][i as usize % 4];
                records.push(record(
                    BIG,
                    &format!("did:key:z6MkBig{i:05}"),
                    status,
                    i % 5 + 1,
                    i % 10 + 1,
                    fresh,
                    100 + u64::from(i),
                ));
            }
            for i in 0..1200u32 {
                records.push(record(
                    &format!("did:mailto:example.com:f{}", i % 300),
                    &format!("did:key:z6MkFail{i:05}"),
                    Status::Failed,
                    i % 5 + 1,
                    i % 7 + 1,
                    fresh.minus(Duration::from_secs(u64::from(i))),
                    50,
                ));
            }
            for i in 0..700u32 {
                // 400 stuck (2-5 hours old), 300 fresh.
                let updated = if i < 400 {
                    now.minus(Duration::from_secs(7200 + u64::from(i) * 27))
                } else {
                    fresh
                };
                records.push(record(
                    &format!("did:mailto:example.com:p{}", i % 200),
                    &format!("did:key:z6MkProg{i:05}"),
                    Status::InProgress,
                    i % 5 + 1,
                    i % 10 + 1,
                    updated,
                    1000,
                ));
            }
            for i in 0..2000u32 {
                let status = if i % 3 == 0 {
                    Status::Pending
                } else {
                    Status::Completed
                };
                records.push(record(
                    &format!("did:mailto:example.com:c{}", i % 700),
                    &format!("did:key:z6MkDone{i:05}"),
                    status,
                    i % 5 + 1,
                    i % 10 + 1,
                    fresh,
                    10 + u64::from(i % 50),
                ));
            }
            table
                .put_items(records.iter().map(item::encode).collect())
                .await
                .unwrap();
            Big {
                table: table.name().to_owned(),
                records,
            }
        })
        .await
}

fn json(table: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = crate::harness::monitor(table, &all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e})"))
}

fn text(table: &str, args: &[&str]) -> String {
    let out = crate::harness::monitor(table, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(records: &[&SpaceProgress], status: Status) -> u64 {
    records.iter().filter(|r| r.status == status).count() as u64
}

fn status_counts(records: &[&SpaceProgress]) -> Value {
    serde_json::json!({
        "total": records.len(),
        "completed": count(records, Status::Completed),
        "in_progress": count(records, Status::InProgress),
        "pending": count(records, Status::Pending),
        "failed": count(records, Status::Failed),
        "unknown": 0,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn overview_and_instance_views_count_the_whole_table() {
    let big = big().await;
    let all: Vec<&SpaceProgress> = big.records.iter().collect();
    let v = json(&big.table, &[]);
    assert_eq!(v["spaces"], status_counts(&all));
    let uploads: u64 = all.iter().map(|r| r.total_uploads).sum();
    let done: u64 = all.iter().map(|r| r.completed_uploads).sum();
    assert_eq!(
        v["uploads"],
        serde_json::json!({"total": uploads, "completed": done})
    );
    assert_eq!(v["stuck"], 400);
    let instances = v["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 5);
    for (n, inst) in instances.iter().enumerate() {
        let id = (n + 1).to_string();
        let mine: Vec<&SpaceProgress> = all
            .iter()
            .copied()
            .filter(|r| r.instance_id.as_deref() == Some(&id))
            .collect();
        assert_eq!(inst["instance_id"], id.as_str());
        assert_eq!(inst["spaces"]["total"], mine.len());
        assert_eq!(inst["spaces"]["completed"], count(&mine, Status::Completed));
        assert_eq!(
            inst["uploads"]["total"],
            mine.iter().map(|r| r.total_uploads).sum::<u64>()
        );
    }

    let v = json(&big.table, &["--instance", "3"]);
    let mine: Vec<&SpaceProgress> = all
        .iter()
        .copied()
        .filter(|r| r.instance_id.as_deref() == Some("3"))
        .collect();
    assert_eq!(v["spaces"], status_counts(&mine));
    let workers = v["workers"].as_array().unwrap();
    let mut by_worker: BTreeMap<String, u64> = BTreeMap::new();
    for r in &mine {
        *by_worker.entry(r.worker_id.clone().unwrap()).or_default() += 1;
    }
    assert_eq!(workers.len(), by_worker.len());
    for w in workers {
        assert_eq!(
            w["spaces"]["total"],
            by_worker[w["worker_id"].as_str().unwrap()]
        );
    }
    // Workers in numeric order, as ids read.
    let ids: Vec<u64> = workers
        .iter()
        .map(|w| w["worker_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let t = text(&big.table, &["--instance", "3"]);
    assert!(t.starts_with("Instance 3 Progress\n"), "{t}");
    assert!(
        t.contains(&format!("Total Spaces: {}\n", thousands(mine.len() as u64))),
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_views_read_every_page() {
    let big = big().await;
    let all: Vec<&SpaceProgress> = big.records.iter().collect();

    let v = json(&big.table, &["--customer", BIG]);
    let mine: Vec<&SpaceProgress> = all
        .iter()
        .copied()
        .filter(|r| r.key.customer == BIG)
        .collect();
    assert_eq!(v["spaces"], status_counts(&mine));
    assert_eq!(v["rows"].as_array().unwrap().len(), 1300);

    let failed = count(&all, Status::Failed);
    let v = json(&big.table, &["--failed"]);
    assert_eq!(v["total"], failed);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len() as u64, failed);
    assert!(rows.iter().all(|r| {
        r["status"] == "failed"
            && r["error"]
                .as_str()
                .unwrap()
                .starts_with("Connection timeout")
    }));

    let v = json(&big.table, &["--stuck"]);
    assert_eq!(v["total"], 400);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 400);
    let minutes: Vec<i64> = rows
        .iter()
        .map(|r| r["stuck_minutes"].as_i64().unwrap())
        .collect();
    assert!(minutes.windows(2).all(|w| w[0] >= w[1]), "oldest first");
    assert!(
        minutes.iter().all(|m| (120..=310).contains(m)),
        "{minutes:?}"
    );
    // A tighter threshold finds fewer.
    let v = json(&big.table, &["--stuck", "--stuck-after", "4h"]);
    let expected = (0..400u64).filter(|i| 7200 + i * 27 > 4 * 3600).count();
    assert!(
        (v["total"].as_u64().unwrap() as i64 - expected as i64).abs() <= 1,
        "{} vs {expected}",
        v["total"]
    );

    // Text lists stop at --limit with a count of the rest; --limit 0 shows all.
    let t = text(&big.table, &["--failed"]);
    assert_eq!(t.lines().filter(|l| l.starts_with("✗ ")).count(), 20);
    assert!(t.contains(&format!("Total Failed: {}\n", thousands(failed))));
    assert!(
        t.trim_end()
            .ends_with(&format!("... and {} more", thousands(failed - 20))),
        "{}",
        &t[t.len() - 200..]
    );
    let t = text(&big.table, &["--failed", "--limit", "0"]);
    assert_eq!(
        t.lines().filter(|l| l.starts_with("✗ ")).count() as u64,
        failed
    );
    let t = text(&big.table, &["--customer", BIG, "--limit", "5"]);
    assert!(t.contains("Total Spaces: 1,300\n"));
    assert!(t.trim_end().ends_with("... and 1,295 more"));
}

/// `n` with comma thousands separators, as the seed's `toLocaleString()` writes it.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The seed documentation's examples, with fixed times.
pub(crate) async fn seed_table() -> ProgressTable {
    let table = crate::harness::new_table("golden").await;
    let t = |s: &str| Timestamp::parse_iso(s).unwrap();
    let user = "did:mailto:example.com:user";
    let other = "did:mailto:example.com:other";
    let mk = |customer: &str,
              space: &str,
              status: Status,
              done: u64,
              total: u64,
              inst: &str,
              worker: &str,
              updated: &str,
              error: Option<&str>,
              last: Option<&str>| {
        let mut r = SpaceRecord::new(customer, space)
            .status(status)
            .uploads(total, done)
            .on(inst, worker)
            .created(t("2025-10-31T14:00:00.000Z"))
            .updated(t(updated));
        if let Some(e) = error {
            r = r.error(e);
        }
        if let Some(cid) = last {
            r = r.last_upload(cid);
        }
        r.build()
    };
    let records = [
        mk(
            user,
            "did:key:z6Mkk1",
            Status::Completed,
            1234,
            1234,
            "1",
            "1",
            "2025-10-31T14:30:00.000Z",
            Some(""),
            Some("bafkreiaaa"),
        ),
        mk(
            user,
            "did:key:z6Mkj2",
            Status::Completed,
            5678,
            5678,
            "1",
            "2",
            "2025-10-31T14:40:00.000Z",
            Some(""),
            Some("bafkreibbb"),
        ),
        mk(
            user,
            "did:key:z6Mki3",
            Status::InProgress,
            234,
            1000,
            "2",
            "5",
            "2025-10-31T15:15:23.000Z",
            None,
            Some("bafkreiabc123"),
        ),
        mk(
            user,
            "did:key:z6Mkh4",
            Status::Pending,
            0,
            300,
            "2",
            "5",
            "2025-10-31T14:00:00.000Z",
            None,
            None,
        ),
        mk(
            user,
            "did:key:z6Mkf5",
            Status::Failed,
            10,
            400,
            "2",
            "5",
            "2025-10-31T14:45:12.000Z",
            Some("Connection timeout after 3 retries"),
            Some("bafkreiccc"),
        ),
        mk(
            other,
            "did:key:z6Mke6",
            Status::Failed,
            0,
            50,
            "3",
            "2",
            "2025-10-31T13:23:45.000Z",
            Some("Invalid delegation proof"),
            None,
        ),
        mk(
            other,
            "did:key:z6Mkd7",
            Status::InProgress,
            567,
            2000,
            "4",
            "8",
            "2025-10-31T13:42:15.000Z",
            None,
            Some("bafkreiddd"),
        ),
    ];
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    table
}

/// Masks what depends on the wall clock.
fn mask_clock(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("  Stuck for: ") {
            Some(_) => "  Stuck for: N minutes".to_owned(),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test(flavor = "multi_thread")]
async fn text_layout_matches_the_golden_files() {
    let table = seed_table().await;
    let cases: [(&str, &[&str]); 6] = [
        ("overview", &[]),
        ("customer", &["--customer", "did:mailto:example.com:user"]),
        (
            "space",
            &[
                "--customer",
                "did:mailto:example.com:user",
                "--space",
                "did:key:z6Mki3",
            ],
        ),
        ("instance", &["--instance", "2"]),
        ("failed", &["--failed"]),
        ("stuck", &["--stuck"]),
    ];
    for (name, args) in cases {
        let got = mask_clock(&text(table.name(), args));
        let path = format!(
            "{}/tests/golden/monitor/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        if migration_testkit::golden::update_golden() {
            std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            got, want,
            "{name}: layout changed; rerun with UPDATE_GOLDEN=1 if intended"
        );
        assert!(!got.contains('\x1b'), "{name}: no escape codes when piped");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_a_document_per_refresh_with_throughput_from_the_second() {
    let table = seed_table().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
        .args([
            "--dynamodb.endpoint-url",
            &crate::harness::dynamodb_local().endpoint,
            "--dynamodb.table",
            table.name(),
        ])
        .args(["--watch", "--interval", "1s", "--json"])
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .env("AWS_REGION", crate::harness::REGION)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["spaces"]["total"], 7);
    assert!(
        first["throughput"].is_null(),
        "no rate before a second refresh"
    );
    // A worker completes 766 uploads between refreshes.
    table
        .update_space_progress(
            &SpaceKey::new("did:mailto:example.com:user", "did:key:z6Mki3"),
            1000,
            "bafkreizzz",
            Timestamp::now(),
        )
        .await
        .unwrap();
    let mut rate = None;
    for _ in 0..5 {
        let doc: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if doc["uploads"]["completed"] == first["uploads"]["completed"].as_u64().unwrap() + 766 {
            rate = Some(doc);
            break;
        }
    }
    let doc = rate.expect("the change showed within five refreshes");
    let rate = &doc["throughput"];
    assert!(rate["uploads_per_minute"].as_f64().unwrap() > 0.0, "{rate}");
    // The instance that moved has an ETA; the others did not move, so the migration's is
    // unknown and names one of them as holding it back.
    let eta = &doc["eta"];
    let moved: Vec<&Value> = eta["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "estimated")
        .collect();
    assert_eq!(moved.len(), 1, "{eta}");
    assert!(moved[0]["seconds"].as_f64().unwrap() > 0.0, "{eta}");
    assert!(moved[0]["low_seconds"].as_f64() <= moved[0]["seconds"].as_f64());
    if eta["state"] == "unknown" {
        assert_ne!(eta["slowest_instance"], moved[0]["instance_id"], "{eta}");
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends a watch cleanly: {status:?}");
}
