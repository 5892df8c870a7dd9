//! The real `migration-exporter` binary when things go wrong: a failed refresh keeps the last
//! snapshot and says so, an unreachable DynamoDB is retried without a crash (and not ready), and
//! bad flags are one line naming the flag with exit code 2.

use crate::daemon::{load, wait_for_truth};
use crate::harness::Exporter;
use migration_core::model::Timestamp;
use std::process::Command;
use std::time::{Duration, Instant};

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
            "--metrics.max-error-classes",
            "3",
        ],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let before = wait_for_truth(&exporter, &rows, Duration::from_secs(10));

    crate::harness::delete_table(table.name()).await;
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
