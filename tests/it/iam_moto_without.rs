//! The shipped IAM policy, one action at a time: with a user holding every shipped action but
//! one (on moto's enforcing server, see [`super::iam_moto`]), the exporter and the monitor fail
//! in the way that action explains, reporting the failed call by its name.

use crate::harness::monitor_at;
use crate::iam_moto::{
    TABLE, reports_failure_of, setup, shipped_actions, start_exporter, text, views,
};
use std::time::{Duration, Instant};

/// What removing one action must break: the monitor views that fail, and whether the exporter
/// is ever ready and ever refreshes incrementally.
struct Needs {
    failing_views: &'static [&'static str],
    exporter_ready: bool,
    exporter_incremental: bool,
}

fn needs(action: &str) -> Needs {
    match action {
        // Full refreshes and the views built from a full scan.
        "dynamodb:Scan" => Needs {
            failing_views: &[
                "overview",
                "overview --json",
                "--instance",
                "--instance --json",
            ],
            exporter_ready: false,
            exporter_incremental: false,
        },
        // Incremental refreshes (status-index) and the views that query.
        "dynamodb:Query" => Needs {
            failing_views: &[
                "--customer",
                "--customer --json",
                "--failed",
                "--failed --json",
                "--stuck",
                "--stuck --json",
            ],
            exporter_ready: true,
            exporter_incremental: false,
        },
        // One space's record.
        "dynamodb:GetItem" => Needs {
            failing_views: &["--customer --space", "--customer --space --json"],
            exporter_ready: true,
            exporter_incremental: true,
        },
        // The index check: without it the exporter runs full scans only.
        "dynamodb:DescribeTable" => Needs {
            failing_views: &[],
            exporter_ready: true,
            exporter_incremental: false,
        },
        other => panic!("{other} is in policy.json but not known to this test"),
    }
}

async fn without(action: &str) {
    let actions: Vec<String> = shipped_actions()
        .into_iter()
        .filter(|a| a != action)
        .collect();
    assert_eq!(actions.len(), 3, "{action} is not a shipped action");
    let needs = needs(action);
    let (moto, keys) = setup(&[("reader", actions)]).await;
    let keys = &keys[0];

    let mut exporter = start_exporter(&moto, keys);
    // Six refresh intervals (1s) after start: long enough for a first full refresh and several
    // incremental ones, or several failures with their backoff (1s, 2s, ...).
    let started = Instant::now();
    let mut ever_ready = false;
    while started.elapsed() < Duration::from_secs(6) {
        ever_ready |= exporter.get("/-/ready").0 == 200;
        std::thread::sleep(Duration::from_millis(200));
    }
    let m = exporter.scrape();
    let log = exporter.log.lock().unwrap().join("\n");
    let incremental = m
        .get(
            "migration_exporter_refreshes_total",
            &[("kind", "incremental")],
        )
        .unwrap_or(0.0);
    assert!(exporter.is_running(), "the exporter exited:\n{log}");
    assert_eq!(exporter.get("/-/healthy").0, 200);
    assert_eq!(ever_ready, needs.exporter_ready, "ready?\n{log}");
    assert_eq!(
        incremental > 0.0,
        needs.exporter_incremental,
        "incremental refreshes: {incremental}\n{log}"
    );
    let exporter_failed = reports_failure_of(&log, action);
    match action {
        "dynamodb:GetItem" => assert!(!exporter_failed, "the exporter needs no GetItem:\n{log}"),
        _ => assert!(exporter_failed, "no denied {action} in the log:\n{log}"),
    }
    if action == "dynamodb:DescribeTable" {
        // It costs the incremental path only: one warning, then a full scan every interval.
        let warnings = log
            .lines()
            .filter(|l| l.contains("level=warn") && reports_failure_of(l, action))
            .count();
        assert_eq!(warnings, 1, "warned once:\n{log}");
    }
    if action == "dynamodb:Scan" || action == "dynamodb:Query" {
        let denied = m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "access_denied")],
        );
        assert!(denied >= Some(1.0), "denials not counted as such:\n{log}");
        assert_eq!(
            m.get("migration_exporter_last_refresh_success", &[]),
            Some(0.0)
        );
    }

    for (name, args) in views() {
        let out = monitor_at(&moto.endpoint, (&keys.0, &keys.1), TABLE, &args);
        let stderr = text(&out.stderr);
        if needs.failing_views.contains(&name) {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name} without {action}: {stderr}"
            );
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{name}: one line: {stderr}"
            );
            assert!(
                reports_failure_of(&stderr, action),
                "{name}: the failed {action} is not named: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{name} printed a partial view");
        } else {
            assert!(
                out.status.success(),
                "{name} needs no {action}, yet: {stderr}"
            );
        }
    }
    // Removing the action broke something: every action of the policy is needed.
    assert!(
        !needs.failing_views.is_empty() || !needs.exporter_ready || !needs.exporter_incremental
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_scan() {
    without("dynamodb:Scan").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_query() {
    without("dynamodb:Query").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_get_item() {
    without("dynamodb:GetItem").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_describe_table() {
    without("dynamodb:DescribeTable").await;
}
