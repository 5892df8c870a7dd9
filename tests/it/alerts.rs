//! The alerting configuration against the real programs: the rules pass `promtool check rules` and
//! their unit tests (`promtool test rules alerts/tests/*.yml`), every alert has a firing and a
//! silent case there; the Alertmanager example passes `amtool check-config`, routes by severity
//! and renders its template; every alert has a severity, a runbook section and a README row; and
//! every metric the rules and dashboards name is one the real exporter emits over a table with
//! every status (or `up`, `scrape_*`, `ALERTS`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::harness::run;

use crate::harness::promql::{promql_metric_names, template_queries};
use crate::harness::stack::{self, Prometheus, ROOT, Scratch, repo_file};
use migration_core::model::Timestamp;
use serde_json::Value;

const RULES: &str = "alerts/migration.rules.yml";
const ALERTMANAGER: &str = "alerts/alertmanager.yml";

/// The unit test files, alerts/tests/*.yml, sorted.
fn unit_test_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(format!("{ROOT}/alerts/tests"))
        .expect("alerts/tests exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| p.strip_prefix(ROOT).unwrap().display().to_string())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no unit tests in alerts/tests");
    files
}

/// Recording rule names in the rule file, in order.
fn record_names() -> Vec<String> {
    repo_file(RULES)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|n| n.trim().to_owned())
        .collect()
}

/// Alert names in the rule file, in order.
fn alert_names() -> Vec<String> {
    repo_file(RULES)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|n| n.trim().to_owned())
        .collect()
}

#[test]
fn rules_pass_promtool_check() {
    let (ok, out) = run(Command::new("promtool").args(["check", "rules", RULES]));
    assert!(ok, "{out}");
    let expected = format!(
        "SUCCESS: {} rules found",
        alert_names().len() + record_names().len()
    );
    assert!(out.contains(&expected), "{out}");
}

#[test]
fn promtool_unit_tests_pass() {
    let (ok, out) = run(Command::new("promtool")
        .args(["test", "rules"])
        .args(unit_test_files()));
    assert!(ok, "{out}");
    for file in unit_test_files() {
        assert!(out.contains(&format!("Unit Testing:  {file}")), "{out}");
    }
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn every_alert_has_a_firing_and_a_silent_unit_test() {
    // alertname -> (cases expecting alerts, cases expecting none)
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in unit_test_files() {
        let text = repo_file(&file);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = line.strip_prefix("alertname: ") else {
                continue;
            };
            let exp = lines[i + 1..]
                .iter()
                .find(|l| l.starts_with("exp_alerts:"))
                .unwrap_or_else(|| panic!("{file}: {name} has no exp_alerts"));
            let entry = cases.entry(name.to_owned()).or_default();
            if exp.trim_end() == "exp_alerts: []" {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
        }
    }
    for name in alert_names() {
        let (firing, silent) = cases.get(&name).copied().unwrap_or_default();
        assert!(
            firing > 0 && silent > 0,
            "{name}: {firing} firing and {silent} silent unit test cases; want both"
        );
    }
    let unknown: Vec<&String> = cases
        .keys()
        .filter(|n| !alert_names().contains(n))
        .collect();
    assert!(
        unknown.is_empty(),
        "unit tests for unknown alerts: {unknown:?}"
    );
}

#[test]
fn alertmanager_config_passes_amtool() {
    let (ok, out) = run(Command::new("amtool").args(["check-config", ALERTMANAGER]));
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
    assert!(
        out.contains("1 templates"),
        "the template file is found: {out}"
    );
}

#[test]
fn routes_page_on_critical_and_ticket_warnings() {
    for (labels, receiver) in [
        (
            vec!["alertname=MigrationSpacesStuck", "severity=critical"],
            "migration-pager",
        ),
        (
            vec!["alertname=MigrationExporterDown", "severity=critical"],
            "migration-pager",
        ),
        (
            vec!["alertname=MigrationSpacesFailed", "severity=warning"],
            "migration-tickets",
        ),
        (
            vec!["alertname=MigrationPermanentFailures", "severity=warning"],
            "migration-tickets",
        ),
        (
            vec!["alertname=MigrationNewFailureClass", "severity=warning"],
            "migration-tickets",
        ),
        (vec!["alertname=Unlabelled"], "migration-tickets"),
    ] {
        let out = Command::new("amtool")
            .args(["config", "routes", "test", "--config.file", ALERTMANAGER])
            .args(&labels)
            .current_dir(ROOT)
            .output()
            .expect("amtool is installed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert_eq!(stdout.trim(), receiver, "{labels:?}");
    }
}

#[test]
fn alertmanager_names_only_alerts_that_exist() {
    let config = repo_file(ALERTMANAGER);
    let names = alert_names();
    let mut mentioned = BTreeSet::new();
    for part in config.split("alertname").skip(1) {
        // alertname="A" or alertname=~"A|B"
        let Some(value) = part
            .trim_start_matches(['=', '~'])
            .strip_prefix('"')
            .and_then(|v| v.split('"').next())
        else {
            continue;
        };
        mentioned.extend(value.split('|').map(str::to_owned));
    }
    assert!(!mentioned.is_empty());
    for m in &mentioned {
        assert!(
            names.contains(m),
            "alertmanager.yml names {m}, which is not an alert"
        );
    }
}

#[test]
fn notification_template_lists_each_worker_with_its_stuck_spaces() {
    let scratch = Scratch::new("template");
    let alert = |worker: &str, status: &str, spaces: &str| {
        serde_json::json!({
            "status": status,
            "labels": {"alertname": "MigrationSpacesStuck", "instance_id": "1", "worker_id": worker, "severity": "critical"},
            "annotations": {
                "summary": format!("2 stuck space(s) on instance 1, worker {worker}"),
                "description": format!("In-progress spaces of instance 1, worker {worker} have had no update. Oldest: {spaces}."),
                "runbook_url": "docs/runbook.md#migrationspacesstuck"
            },
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-01-01T01:00:00Z" }
        })
    };
    let data = serde_json::json!({
        "receiver": "migration-pager",
        "status": "firing",
        "alerts": [
            alert("2", "firing", "did:key:z6MkA (no update for 2h 0m 0s), did:key:z6MkB (no update for 1h 30m 0s)"),
            alert("5", "firing", "did:key:z6MkC (no update for 1h 5m 0s)"),
            alert("7", "resolved", "did:key:z6MkD (no update for 1h 1m 0s)")
        ],
        "groupLabels": {"alertname": "MigrationSpacesStuck", "instance_id": "1"},
        "commonLabels": {"alertname": "MigrationSpacesStuck", "instance_id": "1", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org"
    });
    let path = scratch.write("data.json", &data.to_string());
    let (ok, out) = run(Command::new("amtool").args([
        "template",
        "render",
        &format!("--template.glob={ROOT}/alerts/templates/*.tmpl"),
        &format!("--template.data={}", path.display()),
        "--template.text={{ template \"migration.title\" . }}\n{{ template \"migration.text\" . }}",
    ]));
    assert!(ok, "{out}");
    let expected = "\
[FIRING:2] MigrationSpacesStuck on instance 1
Firing:
- 2 stuck space(s) on instance 1, worker 2
  In-progress spaces of instance 1, worker 2 have had no update. Oldest: did:key:z6MkA (no update for 2h 0m 0s), did:key:z6MkB (no update for 1h 30m 0s).
  Runbook: docs/runbook.md#migrationspacesstuck
- 2 stuck space(s) on instance 1, worker 5
  In-progress spaces of instance 1, worker 5 have had no update. Oldest: did:key:z6MkC (no update for 1h 5m 0s).
  Runbook: docs/runbook.md#migrationspacesstuck
Resolved:
- 2 stuck space(s) on instance 1, worker 7
";
    assert_eq!(out.trim_end(), expected.trim_end());
}

/// `for:` as the README writes it: 300 -> 5m, 3600 -> 1h.
fn duration_text(seconds: u64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The job name the deployment's scrape config gives the exporter.
fn deployed_job() -> String {
    repo_file("deploy/prometheus/prometheus.yml")
        .lines()
        .find_map(|l| l.trim().strip_prefix("- job_name: "))
        .expect("deploy/prometheus/prometheus.yml has a job")
        .trim()
        .to_owned()
}

/// Every PromQL expression of the dashboards: panel targets and variable queries' selectors.
fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("{ROOT}/grafana/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut panels: Vec<&Value> = Vec::new();
        for p in dash["panels"].as_array().unwrap() {
            panels.push(p);
            panels.extend(p["panels"].as_array().into_iter().flatten());
        }
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                out.push((
                    format!("{file}: {}", p["title"]),
                    t["expr"].as_str().unwrap().to_owned(),
                ));
            }
        }
        for v in dash["templating"]["list"].as_array().unwrap() {
            let q = v["query"]["query"].as_str().or(v["query"].as_str());
            if let Some(sel) = q
                .and_then(|q| q.strip_prefix("label_values("))
                .and_then(|q| q.rsplit_once(','))
                .map(|(sel, _)| sel)
            {
                out.push((format!("{file}: variable {}", v["name"]), sel.to_owned()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_documented_and_name_only_metrics_the_exporter_emits() {
    // The real exporter over a table with every status, so every family it can emit is present.
    let spaces = stack::every_status_spaces(Timestamp::now());
    let (_table, exporter) = stack::exporter_over("alerts", &spaces).await;
    let scraped = exporter.scrape();
    let emitted: BTreeSet<String> = scraped
        .0
        .keys()
        .map(|k| k.split('{').next().unwrap().to_owned())
        .collect();
    for family in [
        "migration_stuck_space_info",
        "migration_in_progress_oldest_update_timestamp_seconds",
        "migration_worker_last_update_timestamp_seconds",
        "migration_failed_space_info",
        "migration_failed_spaces_by_class",
        "migration_failed_error_classes",
        "migration_space_transitions_total",
        "migration_exporter_refresh_interval_seconds",
    ] {
        assert!(
            emitted.contains(family),
            "the table should make the exporter emit {family}"
        );
    }

    // The rules as Prometheus itself loaded them.
    let prometheus = Prometheus::start(
        "global:\n  evaluation_interval: 1m\nrule_files:\n  - migration.rules.yml\n",
        &[("migration.rules.yml", &repo_file(RULES))],
    );
    let groups = prometheus.api("/api/v1/rules");
    let rules: Vec<&Value> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert_eq!(rules.len(), alert_names().len() + record_names().len());

    let runbook = repo_file("docs/runbook.md");
    let readme = repo_file("README.md");
    let mut exprs: Vec<(String, String)> = dashboard_exprs();
    let recorded: Vec<String> = record_names();
    for rule in rules.iter().filter(|r| r["type"] == "recording") {
        let name = rule["name"].as_str().unwrap();
        // Mixin style: level:metric:operation, and a README row.
        assert_eq!(name.split(':').count(), 3, "{name}: level:metric:operation");
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with(&format!("| `{name}` |"))),
            "README has no row for the recording rule {name}"
        );
        exprs.push((name.to_owned(), rule["query"].as_str().unwrap().to_owned()));
    }
    for rule in rules.iter().filter(|r| r["type"] != "recording") {
        let name = rule["name"].as_str().unwrap();
        assert_eq!(rule["type"], "alerting", "{name}");
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        let component = rule["labels"]["component"].as_str().unwrap_or("");
        assert!(
            ["migration", "exporter"].contains(&component),
            "{name}: component {component:?}"
        );
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                !rule["annotations"][key].as_str().unwrap_or("").is_empty(),
                "{name}: no {key}"
            );
        }
        let anchor = name.to_lowercase();
        assert_eq!(
            rule["annotations"]["runbook_url"],
            format!("{{{{ $externalLabels.runbook_base_url }}}}docs/runbook.md#{anchor}"),
            "{name}"
        );
        assert!(
            runbook.lines().any(|l| l == format!("## {name}")),
            "docs/runbook.md has no section `## {name}` (anchor #{anchor})"
        );
        let for_text = duration_text(rule["duration"].as_u64().unwrap());
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("README has no row for {name} in its alerts table"));
        assert!(
            row.contains(&format!("| {severity} |")) && row.ends_with(&format!("| {for_text} |")),
            "README row for {name} should say {severity} and `for:` {for_text}: {row}"
        );
        exprs.push((name.to_owned(), rule["query"].as_str().unwrap().to_owned()));
        for annotation in rule["annotations"].as_object().unwrap().values() {
            for q in template_queries(annotation.as_str().unwrap()) {
                exprs.push((format!("{name} (annotation)"), q));
            }
        }
        // Data alerts keep `job`, which the inhibition rules match on.
        if component == "migration" {
            let query = rule["query"].as_str().unwrap();
            assert!(
                query
                    .match_indices(" by (")
                    .all(|(i, m)| query[i + m.len()..].starts_with("job")),
                "{name}: aggregations must keep `job` for inhibition: {query}"
            );
        }
    }
    assert!(
        exprs
            .iter()
            .any(|(_, e)| e.contains("migration_stuck_space_info")),
        "annotation queries were found"
    );

    let allowed = |name: &str| {
        emitted.contains(name)
            || recorded.iter().any(|r| r == name)
            || name == "up"
            || name.starts_with("scrape_")
            || name == "ALERTS"
            || name == "ALERTS_FOR_STATE"
    };
    let mut unknown = Vec::new();
    for (owner, expr) in &exprs {
        let names = promql_metric_names(expr);
        assert!(!names.is_empty(), "{owner}: no metric in {expr}");
        for n in names.iter().filter(|n| !allowed(n)) {
            unknown.push(format!("{owner}: {n}"));
        }
    }
    assert!(
        unknown.is_empty(),
        "metrics the exporter does not emit: {unknown:?}; it emits {emitted:?}"
    );

    // One job name everywhere: the scrape config, the exporter-down rule, the dashboards' default.
    let job = deployed_job();
    assert!(repo_file(RULES).contains(&format!("up{{job=\"{job}\"}}")));
    for entry in std::fs::read_dir(format!("{ROOT}/grafana/dashboards")).unwrap() {
        let dash: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let var = dash["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "job")
            .expect("a job variable");
        assert_eq!(var["current"]["value"], job.as_str());
    }
}

#[test]
fn metric_name_scan_finds_names_and_skips_the_rest() {
    // The scanner the test above relies on.
    let names = promql_metric_names(
        r#"sum by (job, instance_id) (last_over_time(migration_spaces{status="in-progress", job=~"$job"}[10m] offset 30m)) > 0
           and on (job) time() - foo:bar_total{x="a{b}"} unless absent(up{job="x"}) or 1e3 * scrape_duration_seconds[$__rate_interval]"#,
    );
    let want: BTreeSet<String> = [
        "migration_spaces",
        "foo:bar_total",
        "up",
        "scrape_duration_seconds",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(names, want);
    assert_eq!(
        template_queries(
            r#"x {{ with query (printf `topk(3, a{j=%q})` $labels.job) }}y{{ end }} {{ query "b" }}"#
        ),
        vec![r#"topk(3, a{j="x"})"#.to_owned(), "b".to_owned()]
    );
}
