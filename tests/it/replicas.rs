//! Two exporter replicas over one table, scraped by a real Prometheus under one job, give the same
//! answers as one: every dashboard panel query (but the exporter-health row, which is per replica
//! by design), every recording rule and every alert on the migration's data is evaluated on one
//! Prometheus scraping both replicas, at one instant, as written and with every raw selector
//! narrowed to one replica (`instance="..."`): what both replicas read against what one read,
//! from the same samples, for each replica. The results must match series for series: exactly,
//! and the same for each replica, where no range of raw samples is involved (they read one quiet
//! table); where one is (each replica is scraped at its own offset and its counters step at its
//! own refresh, so their rates differ a little), the two-replica answer must lie between the two
//! replicas' own, within 1e-9: never an answer neither replica gives, so a doubled total or a
//! halved one fails.
//! Every expression returns series on this table (a silent worker, stuck spaces, recent failures
//! of two classes, a completion) except those named in [`EMPTY_HERE`], with why.

use migration_testkit::WorkerWrites;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::dashboards::{all_panels, dashboards, substitute};
use crate::harness::promql::with_matcher;
use crate::harness::stack::{self, Prometheus, RULE_FILES, bundled_rules};
use crate::harness::wait_for;
use migration_core::model::{Status, Timestamp};
use migration_core::table::item;
use serde_json::Value;

const JOB: &str = "migration-exporter";

/// A Prometheus scraping `targets` under [`JOB`], with the bundled rules.
fn prometheus(targets: &[&str]) -> Prometheus {
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{RULE_FILES}\nscrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [{}]\n",
        list.join(", ")
    );
    Prometheus::start(&config, &[("migration.rules.yml", &bundled_rules())])
}

/// A result vector as labels (without `instance`) -> value.
fn by_labels(result: &[Value]) -> BTreeMap<String, f64> {
    result
        .iter()
        .map(|s| {
            let mut metric = s["metric"].as_object().cloned().unwrap_or_default();
            metric.remove("instance");
            let value = s["value"][1].as_str().unwrap().parse().unwrap();
            (Value::Object(metric).to_string(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_under_one_job_give_the_same_answers_as_one() {
    let now = Timestamp::now();
    let mut spaces = stack::every_status_spaces(now);
    // Worker 3/9 has written nothing for 30 minutes and still has a space in progress.
    spaces.push(stack::space(
        "did:key:z6MkSilent",
        Status::InProgress,
        Some("3"),
        Some("9"),
        300,
        30,
        now.minus(Duration::from_secs(1800)),
    ));
    // A permanent failure, and ten spaces in progress that fail below (a surge).
    let mut proof = stack::space(
        "did:key:z6MkProof",
        Status::Failed,
        Some("2"),
        Some("4"),
        50,
        10,
        now.minus(Duration::from_secs(120)),
    );
    proof.error = Some("invalid proof: delegation expired".into());
    spaces.push(proof);
    for i in 0..10 {
        spaces.push(stack::space(
            &format!("did:key:z6MkSurge{i}"),
            Status::InProgress,
            Some("1"),
            Some("2"),
            40,
            5,
            now.minus(Duration::from_secs(60)),
        ));
    }
    let (table, one) = stack::exporter_over("replicas", &spaces).await;
    // And an item no worker should write (more uploads done than it has): counted as invalid.
    // Its status is one the index shows, so the replica already running reads it too.
    let odd = item::encode(&stack::space(
        "did:key:z6MkOdd",
        Status::Pending,
        Some("1"),
        Some("1"),
        5,
        9,
        now,
    ));
    table.put_items(vec![odd]).await.unwrap();
    let two = crate::harness::Exporter::start(
        &crate::harness::dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--stuck-after", "1h"],
    );
    two.wait_ready(Duration::from_secs(60));
    let both = prometheus(&[&one.addr, &two.addr]);
    wait_for("three scrapes", Duration::from_secs(30), || {
        both.value(&format!(
            "min(count_over_time(up{{job=\"{JOB}\"}}[1m])) >= 3"
        ))
        .ok_or_else(|| both.log())
    });

    // A space completes and ten fail, so counters and slopes move.
    for s in spaces.iter_mut() {
        if s.key.space == "did:key:z6MkBusy1" {
            s.status = Status::Completed;
            s.completed_uploads = s.total_uploads;
        } else if s.key.space.starts_with("did:key:z6MkSurge") {
            s.status = Status::Failed;
            s.error = Some("Connection timeout after 3 retries".into());
        } else {
            continue;
        }
        s.updated_at = Some(Timestamp::now());
    }
    table
        .put_items(spaces.iter().map(item::encode).collect())
        .await
        .unwrap();
    wait_for(
        "the completion counted by both replicas",
        Duration::from_secs(30),
        || match both
            .value(r#"min(migration_space_transitions_total{from="in-progress",to="completed"})"#)
        {
            Some(v) if v >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    // Both replicas' refreshes and two scrapes of each after them, and the rules evaluated.
    std::thread::sleep(Duration::from_secs(5));

    // Every expression: panels (but exporter health), recording rules, data alerts.
    let mut exprs: Vec<(String, String)> = Vec::new();
    for (name, dash) in dashboards() {
        for p in all_panels(&dash) {
            let per_replica = p["gridPos"]["y"].as_i64().unwrap()
                >= dash["panels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["type"] == "row")
                    .map_or(i64::MAX, |r| r["gridPos"]["y"].as_i64().unwrap());
            if p["type"] == "row" || per_replica {
                continue;
            }
            for t in p["targets"].as_array().unwrap() {
                let expr = substitute(t["expr"].as_str().unwrap());
                exprs.push((format!("{name}: {}", p["title"]), expr));
            }
        }
    }
    let rules = both.api("/api/v1/rules");
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            if rule["labels"]["component"] == "exporter" {
                continue;
            }
            let name = rule["name"].as_str().unwrap().to_owned();
            exprs.push((name, rule["query"].as_str().unwrap().to_owned()));
        }
    }
    assert!(exprs.iter().any(|(n, _)| n == "MigrationWorkerSilent"));
    assert!(exprs.iter().any(|(n, _)| n == "job:migration_eta:seconds"));

    let at = Timestamp::now().minus(Duration::from_secs(2)).as_secs_f64();
    let narrow = |addr: &str, expr: &str| {
        let e = with_matcher(expr, &format!("instance=\"{addr}\""));
        by_labels(&both.query_at(&e, at).unwrap())
    };
    let mut empty = Vec::new();
    let mut differences = Vec::new();
    let mut spread = 0.0f64;
    for (owner, expr) in &exprs {
        let a = by_labels(&both.query_at(expr, at).unwrap());
        let (one_a, one_b) = (narrow(&one.addr, expr), narrow(&two.addr, expr));
        if one_a.is_empty() {
            empty.push(owner.as_str());
        }
        if a.keys().ne(one_a.keys()) || a.keys().ne(one_b.keys()) {
            differences.push(format!(
                "{owner}: series {a:?} vs each replica {one_a:?} {one_b:?}"
            ));
            continue;
        }
        // A range over raw samples: each replica is scraped at its own offset and its counters
        // step at its own refresh, so the replicas' rates differ a little; anything else the two
        // read from one quiet table is the same number.
        let raw_range = expr.contains('[') && *expr != with_matcher(expr, "x=\"\"");
        for (k, x) in &a {
            let (y, z) = (one_a[k], one_b[k]);
            let (lo, hi) = (y.min(z), y.max(z));
            let eps = 1e-9 * x.abs().max(hi.abs()).max(1e-12);
            let apart = (hi - lo) / hi.abs().max(1e-12);
            if raw_range {
                spread = spread.max(apart);
            }
            if *x < lo - eps || *x > hi + eps || (!raw_range && apart > 1e-9) {
                differences.push(format!(
                    "{owner}: {k} = {x} with two replicas; {y} and {z} from each alone"
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    eprintln!(
        "replicas: {} expressions compared; the replicas' rates at most {:.2}% apart",
        exprs.len(),
        spread * 100.0
    );
    // Not agreement on nothing: every expression returns series but those known to be empty.
    let known: Vec<&str> = EMPTY_HERE.iter().map(|(n, _)| *n).collect();
    assert_eq!(empty, known, "expressions without a series on this table");
}

/// Expressions that return nothing on this table, and why (the test fails when one of them
/// starts to return series, or another stops).
const EMPTY_HERE: &[(&str, &str)] = &[
    (
        "migration-overview.json: \"ETA (slowest instance)\"",
        "instance 3 has uploads left and has not moved: the migration's ETA is unknown",
    ),
    (
        "migration-overview.json: \"ETA per instance, with its range\"",
        "its latest-finish target: the 10th percentile of the last hour's rates is 0 in a \
         Prometheus younger than an hour (README: Noticed)",
    ),
    (
        "MigrationStalled",
        "needs ten minutes without progress; this table just moved",
    ),
    (
        "MigrationNewFailureClass",
        "compares with an hour ago (offset 1h); this Prometheus is seconds old",
    ),
    (
        "job_instance_id:migration_eta_high:seconds",
        "the 10th percentile of the last hour's rates is 0 in a Prometheus younger than an hour",
    ),
    (
        "job:migration_eta:seconds",
        "instance 3 has uploads left and has not moved",
    ),
    (
        "job:migration_eta_low:seconds",
        "instance 3 has uploads left and has not moved",
    ),
    (
        "job:migration_eta_high:seconds",
        "instance 3 has uploads left and has not moved",
    ),
];
