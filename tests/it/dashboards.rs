//! The Grafana dashboards, without Grafana: every panel's queries are evaluated through the HTTP
//! API of a real Prometheus that scraped the real exporter over a DynamoDB Local table with every
//! status (template variables substituted as Grafana would), and each returns data; the JSON
//! follows the sharing conventions (one Prometheus datasource variable used everywhere, no
//! `__inputs`, fixed uid, recent schema, unique ids, no overlapping panels, units, descriptions,
//! `$__rate_interval` in rates); and the provisioning files agree with the deployment.

use migration_testkit::WorkerWrites;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::stack::{self, Prometheus, ROOT, repo_file, url_encode};
use crate::harness::wait_for;
use migration_core::model::{Status, Timestamp};
use migration_core::table::item;
use serde_json::{Value, json};

const JOB: &str = "migration-exporter";

/// Every dashboard file with its parsed JSON.
pub(crate) fn dashboards() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(format!("{ROOT}/grafana/dashboards"))
        .expect("grafana/dashboards exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, json)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no dashboards");
    out
}

/// Top-level panels and the panels inside rows (collapsed rows keep theirs in `panels`).
pub(crate) fn all_panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// An expression with the dashboard's variables replaced as Grafana would for the test's data:
/// the job the test Prometheus scrapes, every instance, and intervals that fit a short test
/// scraped every second.
pub(crate) fn substitute(expr: &str) -> String {
    let mut out = expr.to_owned();
    for (var, value) in [
        ("${__rate_interval}", "1m"),
        ("$__rate_interval", "1m"),
        ("${__interval}", "1s"),
        ("$__interval", "1s"),
        ("${__range}", "1h"),
        ("$__range", "1h"),
        ("${job}", JOB),
        ("$job", JOB),
        ("${instance_id}", ".*"),
        ("$instance_id", ".*"),
    ] {
        out = out.replace(var, value);
    }
    assert!(!out.contains('$'), "unknown variable left in {out}");
    out
}

/// The ranges (`[...]`) of an expression.
fn ranges(expr: &str) -> Vec<&str> {
    expr.split('[')
        .skip(1)
        .map(|s| s.split(']').next().unwrap())
        .collect()
}

#[test]
fn dashboards_follow_the_sharing_conventions() {
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    for (name, dash) in dashboards() {
        let text = serde_json::to_string(&dash).unwrap();
        assert!(dash.get("__inputs").is_none(), "{name}: __inputs");
        assert!(!text.contains("${DS_"), "{name}: ${{DS_...}} reference");
        assert!(
            dash["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{name}: fixed uid"
        );
        assert!(dash["id"].is_null(), "{name}: id must be null to import");
        assert!(
            dash["schemaVersion"].as_u64().unwrap_or(0) >= 39,
            "{name}: schemaVersion"
        );
        assert!(!dash["title"].as_str().unwrap_or("").is_empty());

        // One datasource variable, of type prometheus; a job variable defaulting to the job.
        let vars = dash["templating"]["list"].as_array().unwrap();
        let ds_vars: Vec<&Value> = vars.iter().filter(|v| v["type"] == "datasource").collect();
        assert_eq!(ds_vars.len(), 1, "{name}: one datasource variable");
        assert_eq!(ds_vars[0]["name"], "datasource");
        assert_eq!(ds_vars[0]["query"], "prometheus");
        let job = vars
            .iter()
            .find(|v| v["name"] == "job")
            .expect("job variable");
        assert_eq!(job["current"]["value"], JOB, "{name}: job default");
        for v in vars.iter().filter(|v| v["type"] == "query") {
            assert_eq!(
                v["datasource"], datasource,
                "{name}: variable {}",
                v["name"]
            );
        }

        let panels = all_panels(&dash);
        let mut ids = BTreeSet::new();
        let mut boxes: Vec<(String, [i64; 4])> = Vec::new();
        for p in &panels {
            let title = p["title"].as_str().unwrap_or("").to_owned();
            assert!(!title.is_empty(), "{name}: panel {} has no title", p["id"]);
            assert!(
                ids.insert(p["id"].as_i64().expect("numeric id")),
                "{name}: duplicate id {}",
                p["id"]
            );
            let g = &p["gridPos"];
            let b = ["x", "y", "w", "h"].map(|k| g[k].as_i64().expect("gridPos"));
            assert!(
                b[0] >= 0 && b[2] > 0 && b[3] > 0 && b[0] + b[2] <= 24,
                "{name}: {title}: gridPos {g}"
            );
            for (other, o) in &boxes {
                let overlap = b[0] < o[0] + o[2]
                    && o[0] < b[0] + b[2]
                    && b[1] < o[1] + o[3]
                    && o[1] < b[1] + b[3];
                assert!(!overlap, "{name}: {title} overlaps {other}");
            }
            boxes.push((title.clone(), b));

            if p["type"] == "row" {
                continue;
            }
            assert_eq!(p["datasource"], datasource, "{name}: {title}: datasource");
            assert!(
                !p["description"].as_str().unwrap_or("").trim().is_empty(),
                "{name}: {title}: description"
            );
            assert!(
                !p["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "{name}: {title}: unit"
            );
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{name}: {title}: no targets");
            let mut refs = BTreeSet::new();
            for t in targets {
                assert_eq!(
                    t["datasource"], datasource,
                    "{name}: {title}: target datasource"
                );
                assert!(
                    refs.insert(t["refId"].as_str().unwrap()),
                    "{name}: {title}: refId"
                );
                let expr = t["expr"].as_str().expect("expr");
                // Rates over $__rate_interval; a fixed hour only where the panel says so.
                for r in ranges(expr) {
                    let said = p["description"].as_str().unwrap().contains("last hour");
                    assert!(
                        r == "$__rate_interval" || (r == "1h" && said),
                        "{name}: {title}: range [{r}] in {expr}"
                    );
                }
            }
        }
        // The collapsed exporter-health row keeps its panels.
        let rows: Vec<&Value> = dash["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "row")
            .collect();
        assert!(
            rows.iter()
                .any(|r| r["collapsed"] == true
                    && r["panels"].as_array().is_some_and(|p| !p.is_empty())),
            "{name}: a collapsed row with panels"
        );
    }
}

#[test]
fn provisioning_agrees_with_the_dashboards_and_the_deployment() {
    let datasource = repo_file("grafana/provisioning/datasources/migration-prometheus.yml");
    let provider = repo_file("grafana/provisioning/dashboards/migration.yml");
    let scrape = repo_file("deploy/prometheus/prometheus.yml");
    assert!(datasource.starts_with('#') && provider.starts_with('#'));
    assert!(datasource.contains("apiVersion: 1") && provider.contains("apiVersion: 1"));
    assert!(datasource.contains("type: prometheus"));
    // $__rate_interval is computed from timeInterval: it must be the real scrape interval.
    let value = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key}"))
            .trim()
            .to_owned()
    };
    assert_eq!(
        value(&datasource, "timeInterval:"),
        value(&scrape, "scrape_interval:")
    );
    // The provider loads the folder the README says to mount the dashboards at.
    let path = value(&provider, "path:");
    assert!(
        repo_file("README.md").contains(&format!("grafana/dashboards:{path}")),
        "README mounts grafana/dashboards at {path}"
    );
    assert!(provider.contains("type: file"));
    // The dashboards bind to no provisioned datasource: they work with any Prometheus.
    let uid = value(&datasource, "uid:");
    for (name, dash) in dashboards() {
        assert!(
            !serde_json::to_string(&dash).unwrap().contains(&uid),
            "{name}"
        );
    }
}

/// Whether `expr` is the latest-finish bound of the ETA and has no data for the one reason it
/// may: every instance with an earliest finish had a 5-minute rate of zero in the hour (the
/// test's first scrapes, before the migration moved), which leaves the range unbounded.
fn unbounded(prometheus: &Prometheus, expr: &str) -> bool {
    if !expr.contains("migration_eta_high:seconds") {
        return false;
    }
    let count = |q: &str| prometheus.value(&format!("count({q})")).unwrap_or(0.0);
    let bounded = count("job_instance_id:migration_eta_low:seconds");
    bounded > 0.0
        && count("job_instance_id:migration_uploads_completed:rate5m_p10_1h == 0") >= bounded
}

#[tokio::test(flavor = "multi_thread")]
async fn every_panel_query_returns_data_from_a_real_prometheus() {
    let now = Timestamp::now();
    let mut spaces = stack::every_status_spaces(now);
    let (table, exporter) = stack::exporter_over("dashboards", &spaces).await;
    // With the bundled rules: panels read the recording rules.
    let prometheus = Prometheus::start(
        &stack::prometheus_config(JOB, &exporter.addr, stack::RULE_FILES),
        &[("migration.rules.yml", &stack::bundled_rules())],
    );
    wait_for(
        "three scrapes of the exporter",
        Duration::from_secs(30),
        || match prometheus.value(&format!("count_over_time(up{{job=\"{JOB}\"}}[1m]) >= 3")) {
            Some(_) => Ok(()),
            None => Err(prometheus.log()),
        },
    );

    // The migration moves on: throughput and the ETA need a change between scrapes.
    let later = Timestamp::now();
    for s in spaces.iter_mut() {
        match s.key.space.as_str() {
            "did:key:z6MkBusy1" => {
                s.status = Status::Completed;
                s.completed_uploads = s.total_uploads;
                s.updated_at = Some(later);
            }
            "did:key:z6MkBusy2" => {
                s.completed_uploads = 600;
                s.updated_at = Some(later);
            }
            _ => {}
        }
    }
    table
        .put_items(spaces.iter().map(item::encode).collect())
        .await
        .unwrap();
    let completed_spaces = spaces
        .iter()
        .filter(|s| s.status == Status::Completed)
        .count();
    wait_for(
        "Prometheus sees the progress",
        Duration::from_secs(30),
        || {
            let v = prometheus.value("sum(migration_spaces{status=\"completed\"})");
            match v {
                Some(v) if v == completed_spaces as f64 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    );

    for (name, dash) in dashboards() {
        // Every target of every panel returns data (retried while the new samples arrive).
        let panels = all_panels(&dash);
        let results = wait_for("every panel has data", Duration::from_secs(30), || {
            let mut results = Vec::new();
            let mut empty = Vec::new();
            for p in panels.iter().filter(|p| p["type"] != "row") {
                for t in p["targets"].as_array().unwrap() {
                    let expr = substitute(t["expr"].as_str().unwrap());
                    match prometheus.query(&expr) {
                        Ok(r) if !r.is_empty() => {
                            results.push((p["title"].as_str().unwrap().to_owned(), r))
                        }
                        Ok(_) if unbounded(&prometheus, &expr) => {}
                        Ok(_) => empty.push(format!("{}: {expr}", p["title"])),
                        Err(e) => panic!("{name}: {}: {expr}: {e}", p["title"]),
                    }
                }
            }
            if empty.is_empty() {
                Ok(results)
            } else {
                Err(format!("{name}: no data for {empty:#?}"))
            }
        });

        // Spot checks that the data is the right data.
        let of = |title: &str| -> Vec<&Value> {
            results
                .iter()
                .filter(|(t, _)| t == title)
                .flat_map(|(_, r)| r.iter())
                .collect()
        };
        let value = |v: &Value| -> f64 { v["value"][1].as_str().unwrap().parse().unwrap() };
        let stuck: BTreeSet<&str> = of("Stuck spaces")
            .iter()
            .map(|s| s["metric"]["space"].as_str().unwrap())
            .collect();
        assert_eq!(
            stuck,
            BTreeSet::from(["did:key:z6MkStuck2h", "did:key:z6MkStuck3h"])
        );
        assert!(of("Stuck spaces").iter().all(|s| value(s) > 7000.0));
        let failed = of("Failed spaces by instance and worker");
        assert_eq!(failed.len(), 1);
        assert_eq!(
            failed[0]["metric"],
            json!({"instance_id": "2", "worker_id": "1"})
        );
        assert_eq!(value(failed[0]), 1.0);
        assert_eq!(value(of("Spaces completed")[0]), completed_spaces as f64);
        assert_eq!(value(of("Stuck")[0]), 2.0);
        // The recently failed space, named.
        let failed: BTreeSet<&str> = of("Recently failed spaces")
            .iter()
            .map(|s| s["metric"]["space"].as_str().unwrap())
            .collect();
        assert_eq!(failed, BTreeSet::from(["did:key:z6MkFailed1"]));
        // Its error, "Connection timeout after 3 retries", is of the bundled class timeout.
        let info = of("Recently failed spaces");
        assert_eq!(info[0]["metric"]["error_class"], "timeout", "{info:?}");
        assert_eq!(info[0]["metric"]["retryable"], "true", "{info:?}");
        let by_class = of("Failed spaces by class");
        assert_eq!(by_class.len(), 1, "{by_class:?}");
        assert_eq!(
            by_class[0]["metric"],
            json!({"error_class": "timeout", "retryable": "true"})
        );
        assert_eq!(value(by_class[0]), 1.0);
        // Last activity of worker 1/2 is its newest space (fresh), whatever its stuck ones.
        let activity = of("Workers")
            .into_iter()
            .filter(|s| s["metric"] == json!({"instance_id": "1", "worker_id": "2"}))
            .map(value)
            .find(|v| *v > 30.0 && *v < 600.0);
        assert!(
            activity.is_some(),
            "last activity of 1/2: {:?}",
            of("Workers")
        );
        for title in [
            "Uploads completed per minute by instance",
            "Spaces completed and failed per minute",
            "ETA (slowest instance)",
            "ETA per instance, with its range",
            "Time per space by instance (p50 / p90)",
        ] {
            assert!(
                of(title).iter().any(|s| value(s) > 0.0),
                "{title}: some positive value: {:?}",
                of(title)
            );
        }

        // Query variables list values, and the job's default is among them.
        for v in dash["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["type"] == "query")
        {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap();
            let (selector, label) = q
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .and_then(|q| q.rsplit_once(','))
                .unwrap_or_else(|| panic!("{name}: variable query {q}"));
            let data = prometheus.api(&format!(
                "/api/v1/label/{}/values?match%5B%5D={}",
                label.trim(),
                url_encode(&substitute(selector))
            ));
            let values: Vec<&str> = data
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(
                !values.is_empty(),
                "{name}: variable {} has no values",
                v["name"]
            );
            if let Some(default) = v["current"]["value"]
                .as_str()
                .filter(|d| !d.starts_with('$'))
            {
                assert!(
                    values.contains(&default),
                    "{name}: {} = {default} in {values:?}",
                    v["name"]
                );
            }
        }
    }
}
