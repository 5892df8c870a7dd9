//! Two exporter replicas over one table, scraped by a real Prometheus under one job, give the same
//! answers as one: every dashboard panel query (but the exporter-health row, which is per replica
//! by design), every recording rule and every alert on the migration's data is evaluated at the
//! same instant on a Prometheus scraping both replicas and on one scraping a single replica, and
//! the results must match series for series. Values match within 40% (two Prometheus servers
//! sample at different instants, which moves rates and slopes: up to 17% was seen on a loaded
//! machine); a doubled total is 100% off and a halved one 50%, so either still fails. The table has a silent worker, stuck spaces, a recent failure and a completion, so the
//! alert expressions return series rather than agreeing on nothing.

use migration_testkit::WorkerWrites;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::dashboards::{all_panels, dashboards, substitute};
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
    let (table, one) = stack::exporter_over("replicas", &spaces).await;
    let two = crate::harness::Exporter::start(
        &crate::harness::dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--stuck-after", "1h"],
    );
    two.wait_ready(Duration::from_secs(60));
    let both = prometheus(&[&one.addr, &two.addr]);
    let single = prometheus(&[&one.addr]);
    for p in [&both, &single] {
        wait_for("three scrapes", Duration::from_secs(30), || {
            p.value(&format!(
                "min(count_over_time(up{{job=\"{JOB}\"}}[1m])) >= 3"
            ))
            .ok_or_else(|| p.log())
        });
    }

    // A space completes, so counters and slopes move.
    for s in spaces
        .iter_mut()
        .filter(|s| s.key.space == "did:key:z6MkBusy1")
    {
        s.status = Status::Completed;
        s.completed_uploads = s.total_uploads;
        s.updated_at = Some(Timestamp::now());
    }
    table
        .put_items(spaces.iter().map(item::encode).collect())
        .await
        .unwrap();
    for p in [&both, &single] {
        wait_for(
            "the completion counted",
            Duration::from_secs(30),
            || match p.value(
                r#"min(migration_space_transitions_total{from="in-progress",to="completed"})"#,
            ) {
                Some(v) if v >= 1.0 => Ok(()),
                other => Err(format!("{other:?}")),
            },
        );
    }
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
    let rules = single.api("/api/v1/rules");
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
    let mut answered = 0;
    let mut differences = Vec::new();
    for (owner, expr) in &exprs {
        let a = by_labels(&both.query_at(expr, at).unwrap());
        let b = by_labels(&single.query_at(expr, at).unwrap());
        answered += usize::from(!b.is_empty());
        if a.keys().ne(b.keys()) {
            differences.push(format!("{owner}: series {a:?} vs one replica {b:?}"));
            continue;
        }
        for (k, x) in &a {
            let y = b[k];
            if (x - y).abs() > 0.4 * x.abs().max(y.abs()) + 1e-9 {
                differences.push(format!(
                    "{owner}: {k} = {x} with two replicas, {y} with one"
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // Not agreement on nothing: panels, rules and these alerts all return series.
    for alert in [
        "MigrationWorkerSilent",
        "MigrationSpacesStuck",
        "MigrationSpacesFailed",
    ] {
        let (_, expr) = exprs.iter().find(|(n, _)| n == alert).unwrap();
        assert!(
            !single.query_at(expr, at).unwrap().is_empty(),
            "{alert} returns a series over this table"
        );
    }
    assert!(
        answered * 10 >= exprs.len() * 8,
        "{answered} of {} answered",
        exprs.len()
    );
}
