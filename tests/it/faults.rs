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

    // Throttled beyond the SDK's three attempts (of every request in flight): the refresh fails
    // as throttled, and the data stays.
    proxy.inject(&[Fault::Throttle; 12]);
    let m = exporter.wait_until("a throttled refresh", Duration::from_secs(60), |m| {
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "throttled")],
        ) >= Some(1.0)
    });
    assert_eq!(spaces(&m), 50.0, "the last good snapshot is still served");

    // The throttling ends: the next refresh succeeds, which ends the first failure streak.
    exporter.wait_until("recovery from throttling", Duration::from_secs(60), |m| {
        proxy.pending() == 0 && m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0)
    });

    // Connections reset on every attempt: a network error, and nothing else.
    proxy.inject(&[Fault::Reset; 12]);
    let m = exporter.wait_until("a reset refresh", Duration::from_secs(60), |m| {
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "network")],
        ) >= Some(1.0)
    });
    assert_eq!(spaces(&m), 50.0);
    assert_eq!(
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "service")]
        ),
        Some(0.0),
        "a reset connection is a network error"
    );

    // Faults over: the next refresh succeeds and says so.
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
