//! DynamoDB faults through a fault-injecting proxy in front of DynamoDB Local: throttling answers,
//! 5xx answers and reset connections, the way the real service produces them. The SDK's retries
//! ride out short bursts (counted in `migration_exporter_dynamodb_errors_total`); longer ones fail
//! the refresh, which keeps the last snapshot, counts the error by kind and recovers.

use migration_testkit::WorkerWrites;
use std::time::Duration;

use crate::harness::Exporter;
use crate::harness::proxy::{DELAY, Fault, FaultProxy};
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::{ProgressTable, item};

async fn small_table() -> migration_core::table::ProgressTable {
    let table = crate::harness::new_table("faults").await;
    let now = Timestamp::now();
    let records: Vec<SpaceProgress> = (0..50)
        .map(|i| {
            let status = [Status::Completed, Status::InProgress][i % 2];
            crate::harness::record(
                "did:mailto:c",
                &format!("did:key:s{i}"),
                status,
                "1",
                "1",
                10,
                5,
                now,
            )
        })
        .collect();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    table
}

#[tokio::test(flavor = "multi_thread")]
async fn retried_faults_are_counted_and_persistent_ones_fail_the_refresh_without_losing_data() {
    let table = small_table().await;
    let proxy = FaultProxy::start(&crate::harness::dynamodb_local().endpoint);
    let exporter = Exporter::start(
        &proxy.addr,
        table.name(),
        &["--refresh.interval", "1s", "--scan.segments", "1"],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let spaces = |m: &crate::harness::Metrics| m.family("migration_spaces").values().sum::<f64>();
    let first = exporter.scrape();
    assert_eq!(spaces(&first), 50.0);

    // One throttle and one 500: the SDK retries both, the refresh succeeds, both are counted.
    proxy.inject(&[Fault::Throttle, Fault::ServerError]);
    let m = exporter.wait_until("retried faults", Duration::from_secs(30), |m| {
        m.get(
            "migration_exporter_dynamodb_errors_total",
            &[("kind", "throttled")],
        ) == Some(1.0)
            && m.get(
                "migration_exporter_dynamodb_errors_total",
                &[("kind", "server")],
            ) == Some(1.0)
    });
    assert_eq!(
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "throttled")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get("migration_exporter_last_refresh_success", &[]),
        Some(1.0)
    );

    // Throttled on every request, beyond the SDK's three attempts: refreshes fail as throttled,
    // one after another, and the data stays. One error line for the streak, however long.
    proxy.fail_every_request(Some(Fault::Throttle));
    let m = failure_streak(&exporter, "throttled", 3);
    assert_eq!(spaces(&m), 50.0, "the last good snapshot is still served");
    assert_eq!(
        streak_lines(&exporter),
        1,
        "one error line for a streak of three failures: {}",
        exporter.log_tail()
    );

    // The throttling ends: the next refresh succeeds, which ends the first failure streak.
    proxy.fail_every_request(None);
    exporter.wait_until("recovery from throttling", Duration::from_secs(60), |m| {
        m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0)
    });
    assert_eq!(exporter.count("message=\"refresh recovered\""), 1);

    // Connections reset on every attempt: a new streak of network errors, and nothing else.
    proxy.fail_every_request(Some(Fault::Reset));
    let m = failure_streak(&exporter, "network", 3);
    assert_eq!(spaces(&m), 50.0);
    assert_eq!(
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "service")]
        ),
        Some(0.0),
        "a reset connection is a network error"
    );
    assert_eq!(
        streak_lines(&exporter),
        2,
        "one more error line for the second streak: {}",
        exporter.log_tail()
    );

    // Faults over: the next refresh succeeds and says so.
    proxy.fail_every_request(None);
    exporter.wait_until("recovery", Duration::from_secs(60), |m| {
        proxy.pending() == 0 && m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0)
    });
    assert!(*proxy.forwarded.lock().unwrap() > 3);
    assert_eq!(
        exporter.log_lines_at("error"),
        2,
        "one error line per failure streak (throttled, then reset): {}",
        exporter.log_tail()
    );
}

/// Waits until the failure streak that begins now is `n` refreshes long, each failed as `kind`,
/// as the daemon's metrics count them: its first failure, then `n - 1` more with not one
/// successful refresh (of either kind) in between. (A refresh in flight when the faults began
/// may still succeed, before the first failure: refreshes run one at a time.)
fn failure_streak(exporter: &Exporter, kind: &str, n: u32) -> crate::harness::Metrics {
    let errors = |m: &crate::harness::Metrics| {
        m.get("migration_exporter_refresh_errors_total", &[("kind", kind)])
            .unwrap_or(0.0)
    };
    let successes = |m: &crate::harness::Metrics| {
        m.family("migration_exporter_refreshes_total")
            .values()
            .sum::<f64>()
    };
    let before = errors(&exporter.scrape());
    let first = exporter.wait_until(
        &format!("a first {kind} failure"),
        Duration::from_secs(60),
        |m| errors(m) > before,
    );
    let (first_errors, successes_then) = (errors(&first), successes(&first));
    exporter.wait_until(
        &format!("{n} {kind} failures in a row"),
        Duration::from_secs(90),
        |m| {
            assert_eq!(
                successes(m),
                successes_then,
                "a refresh succeeded during the {kind} streak"
            );
            errors(m) >= first_errors + f64::from(n - 1)
        },
    )
}

/// The error lines that open a failure streak, so far.
fn streak_lines(exporter: &Exporter) -> usize {
    exporter
        .log_lines()
        .iter()
        .filter(|l| l.contains("level=error") && l.contains("refresh failed;"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_is_as_of_the_start_of_its_read() {
    let table = small_table().await;
    let proxy = FaultProxy::start(&crate::harness::dynamodb_local().endpoint);
    let slow = ProgressTable::new(
        crate::harness::client_for(&proxy.addr),
        table.name(),
        "status-index",
    );
    let mut tracker = Tracker::new(
        slow,
        RefreshSettings::full_only(Duration::from_secs(3600), 1),
    );
    // The index check and the one-page scan each take half a second more.
    proxy.inject(&[Fault::Delay, Fault::Delay]);
    let before = Timestamp::now();
    tracker.full().await.unwrap();
    let after = Timestamp::now();
    assert_eq!(proxy.pending(), 0, "both requests went through the delay");
    let taken = tracker.snapshot().taken_at;
    assert!(taken >= before, "{taken:?} before {before:?}");
    assert!(
        after.as_millis() - taken.as_millis() >= DELAY.as_millis() as i64 - 50,
        "stamped when the read ended, not when it started: {} ms before the end",
        after.as_millis() - taken.as_millis()
    );
}
