//! End to end, with every program real: DynamoDB Local holding a stuck space and (a little later) a
//! failed one, the exporter, Prometheus evaluating the bundled rules, and Alertmanager running the
//! example configuration with its template. The page for the stuck space and the ticket for the
//! failed one reach receivers inside the test and name the instance, the worker and the space;
//! then the exporter stops, the exporter-down page goes out, and Alertmanager holds back the data
//! alerts (inhibited) while it fires.
//!
//! What the test changes, and why: every `for:` of alerts/migration.rules.yml becomes 3s (the
//! expressions, windows and thresholds are untouched), Prometheus scrapes and evaluates every
//! second, and alerts/alertmanager.yml gets its PagerDuty and Slack URLs pointed at the test's
//! webhook sink and its group_wait/group_interval shortened to seconds. Each rewrite asserts that
//! the text it replaces is there, so a change to the shipped files cannot silently bypass it.

use migration_testkit::WorkerWrites;
use std::time::{Duration, Instant};

use crate::harness::stack::{self, Alertmanager, Prometheus, Received, WebhookSink, repo_file};
use crate::harness::wait_for;
use migration_core::model::{Status, Timestamp};
use migration_core::table::item;
use serde_json::Value;

const JOB: &str = "migration-exporter";
const SHORT_FOR: &str = "3s";
const RUNBOOK_BASE: &str = "https://runbooks.example.org/migration-exporter/";
const WAIT: Duration = Duration::from_secs(90);

/// Replaces the one occurrence of `from` in `text`.
fn rewrite(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected `{from}` once in the shipped file"
    );
    text.replace(from, to)
}

/// The bundled rules with every `for:` shortened to [`SHORT_FOR`].
fn fast_rules() -> String {
    let rules = repo_file("alerts/migration.rules.yml");
    let alerts = rules
        .lines()
        .filter(|l| l.trim().starts_with("- alert: "))
        .count();
    let mut rewritten = 0;
    let out: Vec<String> = rules
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => {
                rewritten += 1;
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}for: {SHORT_FOR}")
            }
            None => l.to_owned(),
        })
        .collect();
    assert_eq!(rewritten, alerts, "one `for:` per alert");
    out.join("\n") + "\n"
}

/// The example Alertmanager configuration, delivering to `sink` within seconds.
fn test_alertmanager_config(sink: &str) -> String {
    let mut config = repo_file("alerts/alertmanager.yml");
    config = rewrite(
        &config,
        "url: https://events.pagerduty.com/v2/enqueue",
        &format!("url: http://{sink}/pagerduty"),
    );
    config = rewrite(
        &config,
        "api_url: https://hooks.slack.com/services/REPLACE/WITH/WEBHOOK",
        &format!("api_url: http://{sink}/slack"),
    );
    config = rewrite(&config, "group_wait: 30s", "group_wait: 1s");
    rewrite(&config, "group_interval: 5m", "group_interval: 2s")
}

/// The first notification to `path` whose text contains every one of `needles`.
fn notification(sink: &WebhookSink, path: &str, needles: &[&str]) -> Result<Received, String> {
    let received = sink.received();
    received
        .iter()
        .find(|r| r.path == path && needles.iter().all(|n| r.text().contains(n)))
        .cloned()
        .ok_or_else(|| {
            let seen: Vec<String> = received
                .iter()
                .map(|r| format!("{} {}", r.path, r.text()))
                .collect();
            format!("received so far: {seen:#?}")
        })
}

/// The alerts Alertmanager holds under `alertname`.
fn held<'a>(alerts: &'a [Value], alertname: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == alertname)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn stuck_and_failed_spaces_notify_and_are_inhibited_while_the_exporter_is_down() {
    let started = Instant::now();
    let now = Timestamp::now();
    let fresh = now.minus(Duration::from_secs(30));
    let two_hours_ago = now.minus(Duration::from_secs(2 * 3600));
    let (one, two, three) = (Some("1"), Some("2"), Some("3"));
    let mut spaces = vec![
        stack::space(
            "did:key:z6MkStuckE2e",
            Status::InProgress,
            one,
            two,
            900,
            300,
            two_hours_ago,
        ),
        stack::space(
            "did:key:z6MkBusyE2e",
            Status::InProgress,
            one,
            two,
            500,
            100,
            fresh,
        ),
        stack::space(
            "did:key:z6MkDoneE2e",
            Status::Completed,
            one,
            three,
            80,
            80,
            fresh,
        ),
        stack::space(
            "did:key:z6MkOtherE2e",
            Status::InProgress,
            two,
            one,
            300,
            30,
            fresh,
        ),
    ];
    let (table, mut exporter) = stack::exporter_over("alerting", &spaces).await;

    let sink = WebhookSink::start();
    let alertmanager = Alertmanager::start(
        &test_alertmanager_config(&sink.addr),
        &[(
            "templates/migration.tmpl",
            &repo_file("alerts/templates/migration.tmpl"),
        )],
    );
    let extra = format!(
        "  external_labels:\n    runbook_base_url: {RUNBOOK_BASE}\n\
         rule_files:\n  - migration.rules.yml\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
        alertmanager.addr
    );
    let prometheus = Prometheus::start(
        &stack::prometheus_config(JOB, &exporter.addr, &extra),
        &[("migration.rules.yml", &fast_rules())],
    );
    let rules = prometheus.api("/api/v1/rules");
    assert!(
        rules.to_string().contains("MigrationSpacesStuck"),
        "{rules}"
    );

    // Worker 1/3 has had no failed space for a few scrapes; then one of its spaces fails.
    wait_for("three scrapes with no failure on 1/3", WAIT, || {
        prometheus
            .value(
                "count_over_time(migration_spaces{instance_id=\"1\",worker_id=\"3\",status=\"failed\"}[1m]) >= 3",
            )
            .ok_or_else(|| prometheus.log())
    });
    spaces.push(stack::space(
        "did:key:z6MkFailedE2e",
        Status::Failed,
        one,
        three,
        400,
        120,
        Timestamp::now(),
    ));
    table
        .put_items(spaces.iter().map(item::encode).collect())
        .await
        .unwrap();

    // The page for the stuck space names its instance, worker and space, and links the runbook.
    let page = wait_for("the stuck-space page", WAIT, || {
        notification(
            &sink,
            "/pagerduty",
            &[
                "[FIRING:1] MigrationSpacesStuck on instance 1",
                "1 stuck space(s) on instance 1, worker 2",
                "Oldest: did:key:z6MkStuckE2e (no update for 2h",
                &format!("Runbook: {RUNBOOK_BASE}docs/runbook.md#migrationspacesstuck"),
            ],
        )
    });
    assert_eq!(page.json()["event_action"], "trigger", "{}", page.body);
    assert_eq!(
        page.json()["payload"]["severity"],
        "critical",
        "{}",
        page.body
    );
    assert!(
        !page.text().contains("did:key:z6MkBusyE2e"),
        "{}",
        page.text()
    );

    // The new failure is a ticket, naming the space, its instance and worker.
    let ticket = wait_for("the failed-space ticket", WAIT, || {
        notification(
            &sink,
            "/slack",
            &[
                "[FIRING:1] MigrationSpacesFailed on instance 1",
                "Space did:key:z6MkFailedE2e failed on instance 1, worker 3",
                &format!("Runbook: {RUNBOOK_BASE}docs/runbook.md#migrationspacesfailed"),
            ],
        )
    });
    assert_eq!(ticket.json()["channel"], "#migration", "{}", ticket.body);
    // Routing by severity: no page for the warning, no ticket for the critical alert.
    for r in sink.received() {
        let text = r.text();
        assert!(
            !(r.path == "/pagerduty" && text.contains("MigrationSpacesFailed")),
            "{text}"
        );
        assert!(
            !(r.path == "/slack" && text.contains("MigrationSpacesStuck")),
            "{text}"
        );
    }

    // The exporter stops: exporter-down pages, and the data alerts are held back.
    let status = exporter.terminate(Duration::from_secs(10));
    assert!(status.success(), "exporter exit: {status}");
    let alerts = wait_for(
        "data alerts inhibited by MigrationExporterDown",
        WAIT,
        || {
            let alerts = alertmanager.alerts();
            let down = held(&alerts, "MigrationExporterDown");
            let Some(down) = down.iter().find(|a| a["status"]["state"] == "active") else {
                return Err(format!("no active MigrationExporterDown: {alerts:#?}"));
            };
            for name in ["MigrationSpacesStuck", "MigrationSpacesFailed"] {
                let data = held(&alerts, name);
                let inhibited = !data.is_empty()
                    && data.iter().all(|a| {
                        a["status"]["state"] == "suppressed"
                            && a["status"]["inhibitedBy"]
                                .as_array()
                                .is_some_and(|by| by.contains(&down["fingerprint"]))
                    });
                if !inhibited {
                    return Err(format!("{name} not inhibited: {data:#?}"));
                }
            }
            Ok(alerts)
        },
    );
    let down = held(&alerts, "MigrationExporterDown")[0];
    assert_eq!(down["labels"]["job"], JOB);
    assert_eq!(down["labels"]["instance"], exporter.addr.as_str());
    assert_eq!(down["labels"]["severity"], "critical");

    wait_for("the exporter-down page", WAIT, || {
        notification(
            &sink,
            "/pagerduty",
            &[
                "[FIRING:1] MigrationExporterDown",
                &format!("Prometheus has failed to scrape {}", exporter.addr),
                &format!("Runbook: {RUNBOOK_BASE}docs/runbook.md#migrationexporterdown"),
            ],
        )
    });
    // Nothing about the data went out while the exporter was down (no false "resolved" either):
    // the stuck page and the failed ticket are still the only data notifications.
    let data_notifications: Vec<Received> = sink
        .received()
        .into_iter()
        .filter(|r| {
            let text = r.text();
            text.contains("MigrationSpaces") && !text.contains("MigrationExporterDown")
        })
        .collect();
    assert_eq!(
        data_notifications.len(),
        2,
        "one page and one ticket in all: {data_notifications:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "took {:?}",
        started.elapsed()
    );
}
