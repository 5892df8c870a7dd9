//! The real `migration-exporter` binary against DynamoDB Local: every value on `/metrics` equals
//! the truth computed here from the items the test wrote, across many 1 MB pages, malformed items
//! included; the next refresh follows changes; failures keep the last snapshot; flags and signals
//! behave.

use migration_testkit::{SpaceRecord, WorkerWrites};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::daemon_truth::{Truth, diff, expected};
use crate::harness::{Exporter, Metrics};
use aws_sdk_dynamodb::types::AttributeValue;
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::ProgressTable;
use migration_core::table::item::{self, Item};

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
    // Durations from seconds to days (a heavy tail over every default bucket), with one
    // completed space in 50 created after its completion (a clock behind).
    let took = Duration::from_millis(((i as u64 * 7_919) % 97).pow(4) * 13 + i as u64);
    let created = if i % 50 == 3 {
        Timestamp::from_millis(updated.as_millis() + 60_000)
    } else {
        updated.minus(took)
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
    .created(created)
    .updated(updated);
    let error = (status == Status::Failed)
        .then(|| failure_text(i))
        .flatten();
    if let Some(e) = &error {
        built = built.error(e);
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
        created: Some(created.as_millis()),
        error,
    };
    (record, truth)
}

/// The error of failed space `i`: timeouts differing by their count (one class), bad proofs, a
/// masked unknown class, none at all, hostile markup, and one-off texts that only the summed
/// "other" class can hold under --metrics.max-error-classes 3.
fn failure_text(i: usize) -> Option<String> {
    let letters: String = i
        .to_string()
        .bytes()
        .map(|b| (b'a' + b - b'0') as char)
        .collect();
    match (i / 10) % 7 {
        0 | 1 => Some(format!("Connection timeout after {} retries", i % 5)),
        2 => Some(format!("Invalid delegation proof for did:key:z6Mk{i}")),
        3 => Some(format!("disk {} full on node {}", i % 97, i % 3)),
        4 => None,
        5 => Some(format!("<script>alert('{i}')</script>\u{1b}[2J {letters}")),
        _ => Some(format!("mystery {letters}")),
    }
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
        created: None,
        error: None,
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

/// Polls `/metrics` until the data families equal `rows`' truth (bounded).
pub(crate) fn wait_for_truth(exporter: &Exporter, rows: &[Truth], within: Duration) -> Metrics {
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

pub(crate) async fn load(
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
        created: Some(now.as_millis()),
        error: None,
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
            "--metrics.max-error-classes",
            "3",
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
    moved.created = Some(now.as_millis());
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
            r.error = Some("Invalid delegation proof".into());
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
