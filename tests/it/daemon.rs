//! The real `migration-exporter` binary against DynamoDB Local: every value on `/metrics` equals
//! the truth computed here from the items the test wrote, across many 1 MB pages, malformed items
//! included; the next refresh follows changes; failures keep the last snapshot; flags and signals
//! behave.

use migration_testkit::{SpaceRecord, WorkerWrites};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Exporter, Metrics, series_key};
use aws_sdk_dynamodb::types::AttributeValue;
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::ProgressTable;
use migration_core::table::item::{self, Item};

/// What one item should contribute, worked out by the test itself.
#[derive(Debug, Clone)]
struct Truth {
    key: SpaceKey,
    status: &'static str,
    instance: String,
    worker: String,
    total: u64,
    completed: u64,
    /// updatedAt in ms, when readable.
    updated: Option<i64>,
}

const STUCK_AFTER_MS: i64 = 3_600_000;
const MAX_SPACE_SERIES: usize = 5;
const MAX_FAILED_SPACE_SERIES: usize = 4;

fn good(i: usize, now: Timestamp) -> (SpaceProgress, Truth) {
    let status = match i % 10 {
        0..=4 => Status::Completed,
        5 | 6 => Status::Pending,
        8 => Status::Failed,
        _ => Status::InProgress,
    };
    let total = 50 + (i as u64 * 37) % 900;
    let completed = match status {
        Status::Completed => total,
        Status::Pending => 0,
        Status::Failed => total / 2,
        _ => total / 3,
    };
    let updated = if status == Status::InProgress && (i / 10).is_multiple_of(3) {
        now.minus(Duration::from_secs(2 * 3600 + i as u64))
    } else {
        now.minus(Duration::from_secs(300))
    };
    // A hundred spaces have no instance or worker yet.
    let (instance, worker) = if i % 40 == 5 {
        (None, None)
    } else {
        (
            Some(((i % 3) + 1).to_string()),
            Some(((i / 3) % 4 + 1).to_string()),
        )
    };
    let mut built = SpaceRecord::new(
        &format!("did:mailto:example.com:user{}", i % 500),
        &format!("did:key:z6Mk{i:06}"),
    )
    .status(status)
    .uploads(total, completed)
    // ~1.3 KB per item: 4,000 items span several 1 MB pages per scan segment.
    .last_upload(&format!("bafkrei{}", "a".repeat(1300)))
    .assigned(instance.as_deref(), worker.as_deref())
    .created(now.minus(Duration::from_secs(86_400)))
    .updated(updated);
    if status == Status::Failed {
        built = built.error("Connection timeout after 3 retries");
    }
    let record = built.build();
    let truth = Truth {
        key: record.key.clone(),
        status: status.as_str(),
        instance: instance.unwrap_or_default(),
        worker: worker.unwrap_or_default(),
        total,
        completed,
        updated: Some(updated.as_millis()),
    };
    (record, truth)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

/// Malformed items with what each should contribute, and the reasons they should be counted under.
fn malformed(now: Timestamp) -> (Vec<Item>, Vec<Truth>, BTreeMap<&'static str, u64>) {
    let fresh = now.minus(Duration::from_secs(60));
    let base = |space: &str| -> Item {
        Item::from([
            ("customer".into(), s("did:mailto:bad")),
            ("space".into(), s(space)),
            ("instanceId".into(), s("1")),
            ("workerId".into(), s("1")),
            ("updatedAt".into(), s(&fresh.to_iso())),
        ])
    };
    let row = |space: &str,
               status: &'static str,
               total: u64,
               completed: u64,
               updated: Option<Timestamp>| Truth {
        key: SpaceKey::new("did:mailto:bad", space),
        status,
        instance: "1".into(),
        worker: "1".into(),
        total,
        completed,
        updated: updated.map(Timestamp::as_millis),
    };
    let mut items = Vec::new();
    let mut rows = Vec::new();

    let mut i = base("bad:no-status");
    i.insert("totalUploads".into(), n("5"));
    items.push(i);
    rows.push(row("bad:no-status", "unknown", 5, 0, Some(fresh)));

    let mut i = base("bad:paused");
    i.insert("status".into(), s("paused"));
    i.insert("totalUploads".into(), n("7"));
    i.insert("completedUploads".into(), n("3"));
    items.push(i);
    rows.push(row("bad:paused", "unknown", 7, 3, Some(fresh)));

    let mut i = base("bad:string-total");
    i.insert("status".into(), s("pending"));
    i.insert("totalUploads".into(), s("12"));
    items.push(i);
    rows.push(row("bad:string-total", "pending", 0, 0, Some(fresh)));

    let mut i = base("bad:negative");
    i.insert("status".into(), s("in-progress"));
    i.insert("totalUploads".into(), n("40"));
    i.insert("completedUploads".into(), n("-4"));
    items.push(i);
    rows.push(row("bad:negative", "in-progress", 40, 0, Some(fresh)));

    let mut i = base("bad:garbage-time");
    i.insert("status".into(), s("in-progress"));
    i.insert("totalUploads".into(), n("9"));
    i.insert("updatedAt".into(), s("last tuesday"));
    items.push(i);
    rows.push(row("bad:garbage-time", "in-progress", 9, 0, None));

    let mut i = base("bad:overdone");
    i.insert("status".into(), s("completed"));
    i.insert("totalUploads".into(), n("10"));
    i.insert("completedUploads".into(), n("20"));
    items.push(i);
    rows.push(row("bad:overdone", "completed", 10, 20, Some(fresh)));

    let mut i = base("bad:absurd");
    i.insert("status".into(), s("failed"));
    i.insert("totalUploads".into(), n("1e40"));
    items.push(i);
    rows.push(row("bad:absurd", "failed", 0, 0, Some(fresh)));

    let mut i = base("bad:no-updated");
    i.insert("status".into(), s("failed"));
    i.insert("totalUploads".into(), n("3"));
    i.remove("updatedAt");
    items.push(i);
    rows.push(row("bad:no-updated", "failed", 3, 0, None));

    let reasons = BTreeMap::from([
        ("missing_key", 0),
        ("missing_status", 1),
        ("unknown_status", 1),
        ("mistyped_attribute", 1),
        ("invalid_number", 2),
        ("completed_exceeds_total", 1),
        ("missing_updated_at", 1),
        ("invalid_timestamp", 1),
    ]);
    (items, rows, reasons)
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    series_key(name, &labels)
}

/// The data families `/metrics` must show for `rows`, judged at `now` (ms).
fn expected(rows: &[Truth], now_ms: i64) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut fam: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let pairs: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.instance.clone(), r.worker.clone()))
        .collect();
    for (i, w) in &pairs {
        for status in ["pending", "in-progress", "completed", "failed", "unknown"] {
            let mine: Vec<&Truth> = rows
                .iter()
                .filter(|r| &r.instance == i && &r.worker == w && r.status == status)
                .collect();
            let l = [
                ("status", status),
                ("instance_id", i.as_str()),
                ("worker_id", w.as_str()),
            ];
            let put = |fam: &mut BTreeMap<String, BTreeMap<String, f64>>, name: &str, v: u64| {
                fam.entry(name.into())
                    .or_default()
                    .insert(key(name, &l), v as f64);
            };
            put(&mut fam, "migration_spaces", mine.len() as u64);
            put(
                &mut fam,
                "migration_uploads",
                mine.iter().map(|r| r.total).sum(),
            );
            put(
                &mut fam,
                "migration_uploads_completed",
                mine.iter().map(|r| r.completed).sum(),
            );
        }
        let in_progress: Vec<i64> = rows
            .iter()
            .filter(|r| &r.instance == i && &r.worker == w && r.status == "in-progress")
            .filter_map(|r| r.updated)
            .collect();
        let l = [("instance_id", i.as_str()), ("worker_id", w.as_str())];
        let stuck = in_progress
            .iter()
            .filter(|u| **u < now_ms - STUCK_AFTER_MS)
            .count();
        fam.entry("migration_spaces_stuck".into())
            .or_default()
            .insert(key("migration_spaces_stuck", &l), stuck as f64);
        if let Some(oldest) = in_progress.iter().min() {
            let name = "migration_in_progress_oldest_update_timestamp_seconds";
            fam.entry(name.into())
                .or_default()
                .insert(key(name, &l), *oldest as f64 / 1000.0);
        }
        // When the worker last wrote anything: its newest space, whatever the status.
        let newest = rows
            .iter()
            .filter(|r| &r.instance == i && &r.worker == w)
            .filter_map(|r| r.updated)
            .max();
        let name = "migration_worker_last_update_timestamp_seconds";
        let family = fam.entry(name.into()).or_default();
        if let Some(newest) = newest {
            family.insert(key(name, &l), newest as f64 / 1000.0);
        }
    }
    let mut failed: Vec<&Truth> = rows
        .iter()
        .filter(|r| r.status == "failed" && r.updated.is_some())
        .collect();
    failed.sort_by(|a, b| {
        b.updated
            .cmp(&a.updated)
            .then(a.key.space.cmp(&b.key.space))
    });
    let name = "migration_failed_space_info";
    let info = fam.entry(name.into()).or_default();
    for r in failed.iter().take(MAX_FAILED_SPACE_SERIES) {
        let l = [
            ("space", r.key.space.as_str()),
            ("instance_id", r.instance.as_str()),
            ("worker_id", r.worker.as_str()),
        ];
        info.insert(key(name, &l), r.updated.unwrap() as f64 / 1000.0);
    }
    let mut stuck: Vec<&Truth> = rows
        .iter()
        .filter(|r| {
            r.status == "in-progress" && r.updated.is_some_and(|u| u < now_ms - STUCK_AFTER_MS)
        })
        .collect();
    stuck.sort_by_key(|r| (r.updated, r.key.clone()));
    let name = "migration_stuck_space_info";
    let info = fam.entry(name.into()).or_default();
    for r in stuck.iter().take(MAX_SPACE_SERIES) {
        let l = [
            ("space", r.key.space.as_str()),
            ("instance_id", r.instance.as_str()),
            ("worker_id", r.worker.as_str()),
        ];
        info.insert(key(name, &l), r.updated.unwrap() as f64 / 1000.0);
    }
    fam
}

/// Differences between what was scraped and what is expected, empty when they agree.
fn diff(scraped: &Metrics, want: &BTreeMap<String, BTreeMap<String, f64>>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, series) in want {
        let got = scraped.family(name);
        for (k, v) in series {
            match got.get(k) {
                Some(g) if (g - v).abs() < 1e-3 => {}
                other => out.push(format!("{k}: want {v}, got {other:?}")),
            }
        }
        for k in got.keys().filter(|k| !series.contains_key(*k)) {
            out.push(format!("{k}: unexpected series"));
        }
    }
    out
}

/// Polls `/metrics` until the data families equal `rows`' truth (bounded).
fn wait_for_truth(exporter: &Exporter, rows: &[Truth], within: Duration) -> Metrics {
    crate::harness::wait_for("metrics equal to the truth", within, || {
        let scraped = exporter.scrape();
        let problems = diff(&scraped, &expected(rows, Timestamp::now().as_millis()));
        if problems.is_empty() {
            Ok(scraped)
        } else {
            Err(format!(
                "{} differences, first: {:?}",
                problems.len(),
                &problems[..problems.len().min(10)]
            ))
        }
    })
}

async fn load(
    table: &ProgressTable,
    count: usize,
    now: Timestamp,
) -> (Vec<Truth>, BTreeMap<&'static str, u64>, usize) {
    let mut items = Vec::new();
    let mut rows = Vec::new();
    for i in 0..count {
        let (record, truth) = good(i, now);
        items.push(item::encode(&record));
        rows.push(truth);
    }
    let lonely = crate::harness::record(
        "did:mailto:lonely",
        "did:key:lonely",
        Status::InProgress,
        "9",
        "lonely",
        77,
        7,
        now,
    );
    items.push(item::encode(&lonely));
    rows.push(Truth {
        key: lonely.key.clone(),
        status: "in-progress",
        instance: "9".into(),
        worker: "lonely".into(),
        total: 77,
        completed: 7,
        updated: Some(now.as_millis()),
    });
    let (bad_items, bad_rows, reasons) = malformed(now);
    items.extend(bad_items);
    rows.extend(bad_rows);
    let n = items.len();
    table.put_items(items).await.unwrap();
    (rows, reasons, n)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_equal_the_table_and_follow_its_changes() {
    let table = crate::harness::new_table("daemon").await;
    let now = Timestamp::now();
    let (mut rows, reasons, item_count) = load(&table, 4000, now).await;

    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let mut exporter = Exporter::start(
        &endpoint,
        table.name(),
        &[
            "--refresh.interval",
            "1s",
            "--scan.segments",
            "4",
            "--metrics.max-space-series",
            "5",
            "--metrics.max-failed-space-series",
            "4",
            "--stuck-after",
            "1h",
        ],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let scraped = wait_for_truth(&exporter, &rows, Duration::from_secs(10));
    // The settings the rules depend on.
    for (name, value) in [
        ("migration_exporter_stuck_after_seconds", 3600.0),
        ("migration_exporter_refresh_interval_seconds", 1.0),
        ("migration_exporter_full_refresh_interval_seconds", 900.0),
    ] {
        assert_eq!(scraped.get(name, &[]), Some(value), "{name}");
    }
    // Every space was seen for the first time: no transition yet, every pair present at 0.
    let transitions = scraped.family("migration_space_transitions_total");
    assert_eq!(transitions.len(), 20, "{transitions:?}");
    assert!(transitions.values().all(|v| *v == 0.0), "{transitions:?}");

    // The page is valid exposition.
    let (_, text) = exporter.get("/metrics");
    assert_eq!(
        crate::harness::promtool_check_metrics(&text),
        "",
        "promtool check metrics"
    );
    assert!(text.contains("# HELP migration_spaces Spaces by migration status. From a background read of DynamoDB table"));

    // Self-metrics: counters are consistent with the number of refreshes in the same scrape.
    let refreshes = scraped
        .get("migration_exporter_refreshes_total", &[("kind", "full")])
        .unwrap();
    assert!(refreshes >= 1.0);
    assert_eq!(
        scraped.get("migration_exporter_items_read_total", &[("kind", "full")]),
        Some(item_count as f64 * refreshes)
    );
    for (reason, count) in &reasons {
        assert_eq!(
            scraped.get("migration_invalid_spaces", &[("reason", reason)]),
            Some(*count as f64),
            "spaces with {reason} now"
        );
        // Every full scan reads each bad item once; incremental refreshes may read some again.
        let read = scraped
            .get(
                "migration_exporter_invalid_items_total",
                &[("reason", reason)],
            )
            .unwrap();
        if *count == 0 {
            assert_eq!(read, 0.0, "reason {reason}");
        } else {
            assert!(read >= *count as f64 * refreshes, "reason {reason}: {read}");
        }
    }
    assert_eq!(
        scraped.get("migration_exporter_last_refresh_success", &[]),
        Some(1.0)
    );
    let last = scraped
        .get(
            "migration_exporter_last_refresh_success_timestamp_seconds",
            &[],
        )
        .unwrap();
    assert!((Timestamp::now().as_secs_f64() - last).abs() < 30.0);
    assert!(
        scraped
            .get(
                "migration_exporter_refresh_duration_seconds",
                &[("kind", "full")]
            )
            .unwrap()
            > 0.0
    );
    // ~5 MB of items cost far more than one page of read units per refresh.
    let units = scraped
        .get(
            "migration_exporter_read_capacity_units_total",
            &[("operation", "scan")],
        )
        .unwrap();
    assert!(
        units / refreshes > 500.0,
        "read units per refresh: {}",
        units / refreshes
    );
    assert_eq!(
        scraped.get(
            "migration_exporter_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    for kind in ["throttled", "timeout", "network", "service"] {
        assert_eq!(
            scraped.get("migration_exporter_refresh_errors_total", &[("kind", kind)]),
            Some(0.0)
        );
    }

    // Workers keep writing: the next refreshes follow.
    let later = Timestamp::now();
    let lonely_idx = rows.iter().position(|r| r.worker == "lonely").unwrap();
    let mut moved = rows[lonely_idx].clone();
    table
        .put_items(vec![item::encode(
            &SpaceRecord::new(&moved.key.customer, &moved.key.space)
                .status(Status::Completed)
                .on("1", "1")
                .uploads(77, 77)
                .error("")
                .created(now)
                .updated(later)
                .build(),
        )])
        .await
        .unwrap();
    moved.status = "completed";
    moved.instance = "1".into();
    moved.worker = "1".into();
    moved.completed = 77;
    moved.updated = Some(later.as_millis());
    rows[lonely_idx] = moved;

    let mut done = 0;
    let mut progressed = 0;
    let mut failed = 0;
    for r in rows
        .iter_mut()
        .filter(|r| r.key.customer != "did:mailto:bad")
    {
        if r.status == "in-progress" && r.worker != "lonely" {
            if done < 50 {
                table.mark_space_completed(&r.key, later).await.unwrap();
                r.status = "completed";
                r.updated = Some(later.as_millis());
                done += 1;
            } else if progressed < 30 {
                table
                    .update_space_progress(&r.key, r.total - 1, "bafkreinext", later)
                    .await
                    .unwrap();
                r.completed = r.total - 1;
                r.updated = Some(later.as_millis());
                progressed += 1;
            }
        } else if r.status == "pending" && failed < 10 {
            table
                .mark_space_failed(&r.key, "Invalid delegation proof", later)
                .await
                .unwrap();
            r.status = "failed";
            r.updated = Some(later.as_millis());
            failed += 1;
        }
    }
    assert_eq!((done, progressed, failed), (50, 30, 10));
    let after = wait_for_truth(&exporter, &rows, Duration::from_secs(15));
    // Exactly the status changes made: the lonely space and 50 others completed, 10 failed.
    // Progress within a status is no transition; the overlap re-reads count nothing twice.
    for (from, to) in [
        ("pending", "in-progress"),
        ("pending", "completed"),
        ("pending", "failed"),
        ("in-progress", "completed"),
        ("in-progress", "failed"),
        ("in-progress", "pending"),
        ("completed", "in-progress"),
        ("failed", "in-progress"),
    ] {
        let want = match (from, to) {
            ("in-progress", "completed") => 51.0,
            ("pending", "failed") => 10.0,
            _ => 0.0,
        };
        assert_eq!(
            after.get(
                "migration_space_transitions_total",
                &[("from", from), ("to", to)]
            ),
            Some(want),
            "{from} -> {to}"
        );
    }
    let total: f64 = after
        .family("migration_space_transitions_total")
        .values()
        .sum();
    assert_eq!(total, 61.0);
    assert!(
        after.0.keys().all(|k| !k.contains("worker_id=\"lonely\"")),
        "the worker whose last space moved away has left /metrics"
    );
    // Between full scans (every 15m by default) the changes came from the status index.
    assert_eq!(
        after.get("migration_exporter_refreshes_total", &[("kind", "full")]),
        Some(1.0)
    );
    assert!(
        after
            .get(
                "migration_exporter_refreshes_total",
                &[("kind", "incremental")]
            )
            .unwrap()
            >= 1.0
    );
    assert!(
        after
            .get(
                "migration_exporter_read_capacity_units_total",
                &[("operation", "query")]
            )
            .unwrap()
            > 0.0
    );

    let status = exporter.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_refresh_keeps_the_last_snapshot_and_says_so() {
    let table = crate::harness::new_table("stale").await;
    let now = Timestamp::now();
    let (rows, _, _) = load(&table, 200, now).await;
    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let exporter = Exporter::start(
        &endpoint,
        table.name(),
        &[
            "--refresh.interval",
            "1s",
            "--metrics.max-space-series",
            "5",
            "--metrics.max-failed-space-series",
            "4",
        ],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let before = wait_for_truth(&exporter, &rows, Duration::from_secs(10));

    crate::harness::client()
        .delete_table()
        .table_name(table.name())
        .send()
        .await
        .unwrap();
    let stale = exporter.wait_until("the refresh failure", Duration::from_secs(20), |m| {
        m.get("migration_exporter_last_refresh_success", &[]) == Some(0.0)
    });
    assert!(
        stale
            .get(
                "migration_exporter_refresh_errors_total",
                &[("kind", "table_not_found")]
            )
            .unwrap()
            >= 1.0
    );
    assert_eq!(
        stale.family("migration_spaces"),
        before.family("migration_spaces"),
        "last good snapshot still served"
    );
    assert_eq!(
        exporter.get("/-/ready").0,
        200,
        "still ready: it has data to serve"
    );
    let errors = exporter.log_lines_at("error");
    assert_eq!(
        errors,
        1,
        "the failure is logged once: {:?}",
        exporter.log.lock().unwrap()
    );
}

#[test]
fn unreachable_dynamodb_is_retried_without_crashing_and_not_ready() {
    let closed = format!("http://127.0.0.1:{}", crate::harness::free_port());
    let mut exporter =
        Exporter::start(&closed, "migration-progress", &["--refresh.interval", "2s"]);
    let m = exporter.wait_until("two retries", Duration::from_secs(30), |m| {
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "network")],
        ) >= Some(2.0)
    });
    assert_eq!(
        m.get("migration_exporter_last_refresh_success", &[]),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "migration_exporter_last_refresh_success_timestamp_seconds",
            &[]
        ),
        Some(0.0)
    );
    assert!(
        m.family("migration_spaces").is_empty(),
        "no data before a first success"
    );
    assert!(exporter.is_running());
    assert_eq!(exporter.get("/-/healthy").0, 200);
    assert_eq!(exporter.get("/-/ready").0, 503);
    let (code, page) = exporter.get("/");
    assert_eq!(code, 200);
    assert!(page.contains("href=\"/metrics\""), "{page}");
    let started = Instant::now();
    let status = exporter.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn bad_flags_exit_2_with_one_line_naming_the_flag() {
    for (args, flag) in [
        (vec!["--refresh.interval", "soon"], "--refresh.interval"),
        (vec!["--stuck-after=-5m"], "--stuck-after"),
        (vec!["--stuck-after", "0s"], "--stuck-after"),
        (vec!["--scan.segments", "0"], "--scan.segments"),
        (
            vec!["--web.listen-address", "nowhere"],
            "--web.listen-address",
        ),
        (vec!["--log.format", "xml"], "--log.format"),
        (vec!["--no-such-flag"], "--no-such-flag"),
        (
            vec!["--dynamodb.endpoint-url", "localhost:8000"],
            "--dynamodb.endpoint-url",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_migration-exporter"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    let version = Command::new(env!("CARGO_BIN_EXE_migration-exporter"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}
