//! A moving migration, end to end: the simulated worker fleet (`table::fleet`, what
//! `examples/simulate` runs) writes DynamoDB Local while the real exporter, Prometheus with the
//! bundled rules and Alertmanager with the example configuration watch it. While the fleet runs,
//! the exporter's figures stay between the fleet's own counts before and after each read; once
//! it has finished, the exporter's gauges and status API, the monitor's overview, stuck and failed
//! views, and the notifications all agree with what the fleet says it did.
//!
//! Shortened for the test, derived from the shipped files at run time (whatever alerts they
//! hold): every `for:` of alerts/*.rules.yml becomes 3s; Alertmanager's receiver URLs point at
//! the test's webhook sink and its group_wait/group_interval become seconds. `--stuck-after` is 10s.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use migration_testkit::fleet::{Fleet, FleetConfig, FleetReport};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::harness::stack::{self, Alertmanager, Prometheus, WebhookSink, repo_file};
use crate::harness::wait_for;
use crate::harness::{Exporter, Metrics, dynamodb_local};

const JOB: &str = "migration-exporter";
const STUCK_AFTER: &str = "10s";

/// Every rule file of alerts/ (`*.rules.yml`), with every `for:` shortened to `short`.
pub fn short_for_rule_files(short: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(stack::ROOT).join("alerts");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("read alerts/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rules.yml"))
        .map(|n| {
            let text = repo_file(&format!("alerts/{n}"));
            let short_text: Vec<String> = text
                .lines()
                .map(|l| {
                    let body = l.trim_start();
                    let indent = &l[..l.len() - body.len()];
                    if body.starts_with("for: ") {
                        format!("{indent}for: {short}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            (n, short_text.join("\n") + "\n")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no alerts/*.rules.yml");
    files
}

/// The example Alertmanager configuration with every receiver URL (`url:`, `api_url:`) pointed
/// at `sink` under the receiver's name, and group_wait/group_interval in seconds.
pub fn local_alertmanager_config(sink: &str) -> String {
    let mut receiver = String::from("receiver");
    let mut pointed = 0;
    let lines: Vec<String> = repo_file("alerts/alertmanager.yml")
        .lines()
        .map(|l| {
            let body = l.trim_start();
            let indent = &l[..l.len() - body.len()];
            if let Some(name) = body.strip_prefix("- name: ") {
                receiver = name.trim().trim_matches(['\'', '"']).to_owned();
            }
            // A receiver URL, also as the first key of a list item (`- api_url: ...`).
            let (item, key_part) = match body.strip_prefix("- ") {
                Some(rest) => ("- ", rest),
                None => ("", body),
            };
            for key in ["url: ", "api_url: "] {
                if key_part.starts_with(key) {
                    pointed += 1;
                    return format!("{indent}{item}{key}http://{sink}/{receiver}");
                }
            }
            if body.starts_with("group_wait: ") {
                return format!("{indent}group_wait: 1s");
            }
            if body.starts_with("group_interval: ") {
                return format!("{indent}group_interval: 2s");
            }
            l.to_owned()
        })
        .collect();
    assert!(pointed > 0, "no receiver URL to point at the sink");
    lines.join("\n") + "\n"
}

/// Runs the fleet on its own thread and runtime (the test's own waits block).
fn run_fleet(
    fleet: Fleet,
    table: migration_core::table::ProgressTable,
    stop: CancellationToken,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("fleet runtime");
        rt.block_on(fleet.run(&table, stop))
            .expect("the fleet runs");
    })
}

/// `sum(metric{status=...})` over every pair.
fn sum_status(m: &Metrics, name: &str, status: &str) -> f64 {
    m.family(name)
        .iter()
        .filter(|(k, _)| k.contains(&format!("status=\"{status}\"")))
        .map(|(_, v)| v)
        .sum()
}

fn monitor_json(table: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
        .args([
            "--dynamodb.endpoint-url",
            &dynamodb_local().endpoint,
            "--dynamodb.table",
            table,
            "--json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .env("AWS_REGION", crate::harness::REGION)
        .output()
        .expect("run migration-monitor");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("monitor JSON")
}

/// Every mismatch between the exporter (gauges and status API) and the fleet's report.
fn disagreements(m: &Metrics, api: &Value, r: &FleetReport) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: String, got: f64, want: u64| {
        if got != want as f64 {
            out.push(format!("{what}: exporter {got}, fleet {want}"));
        }
    };
    for w in &r.workers {
        let pair = [
            ("instance_id", w.instance_id.as_str()),
            ("worker_id", w.worker_id.as_str()),
        ];
        for (status, want) in [
            ("pending", w.spaces.pending),
            ("in-progress", w.spaces.in_progress),
            ("completed", w.spaces.completed),
            ("failed", w.spaces.failed),
        ] {
            let labels = [pair[0], pair[1], ("status", status)];
            let got = m.get("migration_spaces", &labels).unwrap_or(-1.0);
            check(
                format!("{}/{} {status}", w.instance_id, w.worker_id),
                got,
                want,
            );
        }
        let uploads: f64 = ["pending", "in-progress", "completed", "failed"]
            .iter()
            .map(|s| {
                m.get(
                    "migration_uploads_completed",
                    &[pair[0], pair[1], ("status", s)],
                )
                .unwrap_or(0.0)
            })
            .sum();
        check(
            format!("{}/{} uploads completed", w.instance_id, w.worker_id),
            uploads,
            w.uploads.completed,
        );
        let stuck = m.get("migration_spaces_stuck", &pair).unwrap_or(-1.0);
        check(
            format!("{}/{} stuck", w.instance_id, w.worker_id),
            stuck,
            w.stuck,
        );
    }
    for (field, want) in [
        ("completed", r.spaces.completed),
        ("failed", r.spaces.failed),
        ("in_progress", r.spaces.in_progress),
        ("pending", r.spaces.pending),
        ("total", r.spaces.total),
    ] {
        check(
            format!("status API spaces.{field}"),
            api["spaces"][field].as_f64().unwrap_or(-1.0),
            want,
        );
    }
    check(
        "status API uploads.completed".into(),
        api["uploads"]["completed"].as_f64().unwrap_or(-1.0),
        r.uploads.completed,
    );
    let mut extra = None;
    let named: BTreeSet<String> = api["stuck_spaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["space"].as_str().map(str::to_owned))
        .collect();
    let stuck: BTreeSet<String> = r.stuck_spaces.iter().map(|s| s.space.clone()).collect();
    if named != stuck {
        extra = Some(format!(
            "stuck spaces: status API {named:?}, fleet {stuck:?}"
        ));
    }
    out.extend(extra);
    out
}

#[test]
fn a_simulated_fleet_agrees_with_the_exporter_the_monitor_and_the_notifications() {
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let table = rt.block_on(crate::harness::new_table("fleet"));
    let config = FleetConfig {
        instances: 2,
        workers_per_instance: 3,
        spaces: 48,
        uploads_per_second: 60.0,
        instance_speeds: Vec::new(),
        mean_uploads: 120.0,
        update_every: 15,
        failure_probability: 0.12,
        stall_probability: 0.1,
        dead_workers: 1,
        die_after: Duration::from_secs(15),
        skewed_workers: 1,
        clock_skew: Duration::from_secs(3),
        stuck_after: Duration::from_secs(10),
        seed: 7,
    };
    let fleet = rt
        .block_on(Fleet::prepare(&table, config))
        .expect("prepare the fleet");
    let before = fleet.report();
    assert_eq!((before.spaces.total, before.spaces.pending), (48, 48));

    let exporter = Exporter::start(
        &dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--stuck-after", STUCK_AFTER],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let sink = WebhookSink::start();
    let alertmanager = Alertmanager::start(
        &local_alertmanager_config(&sink.addr),
        &[(
            "templates/migration.tmpl",
            &repo_file("alerts/templates/migration.tmpl"),
        )],
    );
    let rules = short_for_rule_files("3s");
    let rule_list: String = rules.iter().map(|(n, _)| format!("  - {n}\n")).collect();
    let extra = format!(
        "rule_files:\n{rule_list}alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
        alertmanager.addr
    );
    let files: Vec<(&str, &str)> = rules
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let prometheus = Prometheus::start(
        &stack::prometheus_config(JOB, &exporter.addr, &extra),
        &files,
    );
    // A few scrapes of the all-pending table before the first failure: "more failed than at its
    // lowest" needs the lowest.
    wait_for(
        "three scrapes of the queued table",
        Duration::from_secs(60),
        || {
            prometheus
                .value(&format!("count_over_time(up{{job=\"{JOB}\"}}[1m]) >= 3"))
                .ok_or_else(|| prometheus.log())
        },
    );

    let stop = CancellationToken::new();
    let worker_thread = run_fleet(fleet.clone(), table.clone(), stop.clone());

    // While it runs: the exporter never shows more than the fleet has written, nor less than it
    // had written before the exporter's read began.
    let mut checked_while_running = 0;
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let r0 = fleet.report();
        std::thread::sleep(Duration::from_millis(2_500));
        let (code, body) = exporter.get("/api/status");
        assert_eq!(code, 200);
        let api: Value = serde_json::from_str(&body).expect("status JSON");
        let r1 = fleet.report();
        for (field, lo, hi) in [
            ("completed", r0.spaces.completed, r1.spaces.completed),
            ("failed", r0.spaces.failed, r1.spaces.failed),
        ] {
            let got = api["spaces"][field].as_u64().expect("a count");
            assert!(
                (lo..=hi).contains(&got),
                "{field}: exporter {got}, fleet {lo} before and {hi} after"
            );
        }
        let uploads = api["uploads"]["completed"].as_u64().expect("uploads");
        assert!(
            (r0.uploads.completed..=r1.uploads.completed).contains(&uploads),
            "uploads: exporter {uploads}, fleet {} to {}",
            r0.uploads.completed,
            r1.uploads.completed
        );
        if r1.state == "running" {
            checked_while_running += 1;
        }
        if r1.state == "finished" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fleet did not finish: {r1:#?}"
        );
    }
    worker_thread.join().expect("fleet thread");
    assert!(
        checked_while_running >= 3,
        "only {checked_while_running} checks while running"
    );

    // Once every in-progress space is older than --stuck-after, the table stands still.
    std::thread::sleep(Duration::from_secs(11));
    let finished = fleet.report();
    assert!(
        finished.stalled >= 1,
        "the seed stalls a space: {finished:#?}"
    );
    assert!(finished.spaces.failed >= 1, "the seed fails a space");
    assert!(
        finished
            .workers
            .iter()
            .any(|w| w.state == migration_testkit::fleet::WorkerState::Dead),
        "a worker died"
    );
    assert_eq!(finished.stuck, finished.spaces.in_progress, "{finished:#?}");
    wait_for(
        "the exporter agrees with the fleet",
        Duration::from_secs(30),
        || {
            let m = exporter.scrape();
            let api: Value =
                serde_json::from_str(&exporter.get("/api/status").1).map_err(|e| e.to_string())?;
            let d = disagreements(&m, &api, &finished);
            if d.is_empty() {
                Ok(())
            } else {
                Err(format!("{d:#?}"))
            }
        },
    );
    let m = exporter.scrape();
    assert_eq!(
        sum_status(&m, "migration_spaces", "completed"),
        finished.spaces.completed as f64
    );

    // The monitor's views, read from the table, say the same.
    let overview = monitor_json(table.name(), &[]);
    assert_eq!(overview["spaces"]["completed"], finished.spaces.completed);
    assert_eq!(overview["spaces"]["failed"], finished.spaces.failed);
    assert_eq!(
        overview["spaces"]["in_progress"],
        finished.spaces.in_progress
    );
    assert_eq!(overview["spaces"]["pending"], finished.spaces.pending);
    assert_eq!(overview["uploads"]["completed"], finished.uploads.completed);
    let stuck = monitor_json(table.name(), &["--stuck", "--stuck-after", STUCK_AFTER]);
    let listed: BTreeSet<&str> = stuck["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["space"].as_str())
        .collect();
    let want: BTreeSet<&str> = finished
        .stuck_spaces
        .iter()
        .map(|s| s.space.as_str())
        .collect();
    assert_eq!(listed, want);
    let failed = monitor_json(table.name(), &["--failed"]);
    let listed: BTreeSet<(String, String)> = failed["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["space"].as_str().unwrap_or("").to_owned(),
                r["error"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = finished
        .failed_spaces
        .iter()
        .map(|s| (s.space.clone(), s.error.clone().unwrap_or_default()))
        .collect();
    assert_eq!(listed, want);

    // Every worker with stuck spaces was paged, naming its instance, worker and oldest space;
    // every worker with failed spaces got a ticket naming its instance and worker.
    for w in &finished.workers {
        let oldest = finished
            .stuck_spaces
            .iter()
            .find(|s| s.instance_id == w.instance_id && s.worker_id == w.worker_id);
        if let Some(oldest) = oldest {
            let needles = [
                format!("MigrationSpacesStuck on instance {}", w.instance_id),
                format!("on instance {}, worker {}", w.instance_id, w.worker_id),
                oldest.space.clone(),
            ];
            wait_for("a stuck-space page", Duration::from_secs(60), || {
                sink.received()
                    .iter()
                    .find(|r| {
                        r.path == "/migration-pager"
                            && needles.iter().all(|n| r.text().contains(n.as_str()))
                    })
                    .map(|_| ())
                    .ok_or_else(|| {
                        format!(
                            "{needles:?} in {:#?}",
                            sink.received().iter().map(|r| r.text()).collect::<Vec<_>>()
                        )
                    })
            });
        }
        if w.spaces.failed > 0 {
            let needles = [
                format!("MigrationSpacesFailed on instance {}", w.instance_id),
                format!("on instance {}, worker {}", w.instance_id, w.worker_id),
            ];
            wait_for("a failed-space ticket", Duration::from_secs(60), || {
                sink.received()
                    .iter()
                    .find(|r| {
                        r.path == "/migration-tickets"
                            && needles.iter().all(|n| r.text().contains(n.as_str()))
                    })
                    .map(|_| ())
                    .ok_or_else(|| {
                        let held: Vec<String> = alertmanager
                            .alerts()
                            .iter()
                            .map(|a| {
                                format!(
                                    "{} {}/{} {}",
                                    a["labels"]["alertname"],
                                    a["labels"]["instance_id"],
                                    a["labels"]["worker_id"],
                                    a["status"]["state"]
                                )
                            })
                            .collect();
                        format!(
                            "{needles:?}; Alertmanager holds {held:?}; received {:#?}",
                            sink.received()
                                .iter()
                                .map(|r| (
                                    r.path.clone(),
                                    r.text().lines().last().unwrap_or("").to_owned()
                                ))
                                .collect::<Vec<_>>()
                        )
                    })
            });
        }
    }
    // No worker without a stuck space was paged for one.
    for r in sink
        .received()
        .iter()
        .filter(|r| r.text().contains("MigrationSpacesStuck"))
    {
        for w in finished.workers.iter().filter(|w| w.stuck == 0) {
            let text = r.text();
            assert!(
                !text.contains(&format!(
                    "stuck space(s) on instance {}, worker {}\n",
                    w.instance_id, w.worker_id
                )),
                "{text}"
            );
        }
    }
    stop.cancel();
    eprintln!(
        "fleet: {} completed, {} failed, {} stuck ({} stalled), {} pending; {} notifications; {:?}",
        finished.spaces.completed,
        finished.spaces.failed,
        finished.stuck,
        finished.stalled,
        finished.spaces.pending,
        sink.received().len(),
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "took {:?}",
        started.elapsed()
    );
}
