//! The ETA against a simulated fleet whose instances run at known, different speeds (one worker
//! each, at 60, 30 and 15 uploads a second): while the fleet runs, `/api/status` names the
//! instance that then finishes last, and that instance's ETA range, taken from the snapshot's
//! read, holds the moment its last space completed.

use std::collections::BTreeMap;
use std::time::Duration;

use migration_core::model::{Status, Timestamp};
use migration_testkit::fleet::{Fleet, FleetConfig};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::harness::{Exporter, dynamodb_local, new_table};

/// The exporter refreshes this often: the finish is measured to within one refresh.
const REFRESH_SECONDS: f64 = 1.0;

/// `/api/status` once the migration's ETA is estimated, with the Unix time (ms) of the read
/// behind it.
async fn estimated(exporter: &Exporter) -> (Value, f64) {
    for _ in 0..40 {
        let (code, body) = exporter.get("/api/status");
        let read_at = Timestamp::now().as_millis() as f64;
        assert_eq!(code, 200, "{body}");
        let api: Value = serde_json::from_str(&body).expect("JSON");
        if api["eta"]["state"] == "estimated" {
            let age = api["data"]["age_seconds"].as_f64().expect("an age");
            return (api, read_at - age * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no estimated ETA within 20 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eta_names_the_slowest_instance_and_its_range_holds_its_finish() {
    let table = new_table("eta").await;
    let config = FleetConfig {
        instances: 3,
        workers_per_instance: 1,
        spaces: 60,
        uploads_per_second: 60.0,
        instance_speeds: vec![1.0, 0.5, 0.25],
        mean_uploads: 40.0,
        update_every: 5,
        failure_probability: 0.0,
        stall_probability: 0.0,
        seed: 17,
        ..FleetConfig::default()
    };
    let fleet = Fleet::prepare(&table, config).await.expect("prepare");
    let exporter = Exporter::start(
        &dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s"],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let running = {
        let (fleet, table) = (fleet.clone(), table.clone());
        tokio::spawn(async move { fleet.run(&table, CancellationToken::new()).await })
    };

    // Ten seconds of history, then the estimate.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (api, taken_at_ms) = estimated(&exporter).await;
    let eta = &api["eta"];
    let slowest = eta["slowest_instance"].as_str().expect("one is slowest");
    let of_slowest = eta["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .find(|i| i["instance_id"] == slowest)
        .expect("the slowest has an ETA");
    assert_eq!(of_slowest["seconds"], eta["seconds"], "{eta}");
    // Each instance runs at its own speed, as measured: 60, 30 and 15 uploads/s (3,600, 1,800,
    // 900 a minute), less the time its writes take.
    let rates: Vec<f64> = eta["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["uploads_per_minute"].as_f64().expect("a rate"))
        .collect();
    assert_eq!(rates.len(), 3, "{eta}");
    for (rate, nominal) in rates.iter().zip([3_600.0, 1_800.0, 900.0]) {
        assert!(
            *rate > nominal * 0.5 && *rate <= nominal * 1.05,
            "{rates:?}"
        );
    }

    tokio::time::timeout(Duration::from_secs(240), running)
        .await
        .expect("the fleet finishes")
        .expect("joined")
        .expect("the fleet ran");
    // Each instance's finish: the completing write of its last space.
    let mut finish: BTreeMap<String, i64> = BTreeMap::new();
    for r in table.scan_all_progress().await.expect("scan") {
        assert_eq!(r.status, Status::Completed, "{:?}", r.key);
        let at = r.updated_at.expect("written").as_millis();
        let f = finish
            .entry(r.instance_id.clone().unwrap_or_default())
            .or_default();
        *f = (*f).max(at);
    }
    let (last, last_finish) = finish
        .iter()
        .max_by_key(|(_, at)| **at)
        .map(|(id, at)| (id.clone(), *at as f64))
        .expect("instances");
    assert_eq!(
        slowest, last,
        "named the one that finished last: {finish:?}\n{eta}"
    );

    let bound = |key: &str| {
        eta[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} bounded for a steady instance: {eta}"))
    };
    let in_seconds = (last_finish - taken_at_ms) / 1000.0;
    let (low, expected, high) = (
        bound("low_seconds"),
        bound("seconds"),
        bound("high_seconds"),
    );
    assert!(
        low - REFRESH_SECONDS <= in_seconds && in_seconds <= high + REFRESH_SECONDS,
        "finished {in_seconds:.1} s after the read; predicted {expected:.1} s in \
         [{low:.1}, {high:.1}]\n{eta}"
    );
    eprintln!(
        "slowest instance {slowest}: finished {in_seconds:.1} s after the read, predicted \
         {expected:.1} s in [{low:.1}, {high:.1}]; finishes {finish:?}"
    );
}
