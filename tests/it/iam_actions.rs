//! The shipped IAM policy lists exactly the DynamoDB actions the binaries call: the exporter
//! (full and incremental refreshes) and every monitor view run against DynamoDB Local with debug
//! logs, where the table layer's interceptor names each call it sends (`dynamodb call
//! operation=...`), and the set of operations must equal the policy's `dynamodb:` actions.

use migration_testkit::WorkerWrites;
use std::collections::BTreeSet;
use std::time::Duration;

use migration_core::model::{Status, Timestamp};
use migration_core::table::item;

use crate::harness::stack::repo_file;
use crate::harness::{Exporter, dynamodb_local, monitor, new_table, record};

/// The operations named in debug log lines.
fn operations(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter(|l| l.contains("dynamodb call"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix("operation="))
                .map(|op| op.trim_matches('"').to_owned())
        })
        .collect()
}

/// Every `dynamodb:` action the shipped policy allows, without the prefix.
fn policy_actions() -> BTreeSet<String> {
    let policy: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/iam/policy.json")).expect("policy is JSON");
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        let listed = match &statement["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().expect("action").to_owned())
                .collect(),
            other => panic!("Action: {other}"),
        };
        for a in listed {
            let op = a.strip_prefix("dynamodb:").expect("a DynamoDB action");
            assert!(!op.contains('*'), "no wildcard actions: {a}");
            actions.insert(op.to_owned());
        }
    }
    actions
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_allows_exactly_the_operations_the_binaries_call() {
    let table = new_table("iam").await;
    let now = Timestamp::now();
    let old = now.minus(Duration::from_secs(7200));
    let records = [
        record(
            "did:mailto:a",
            "did:key:done",
            Status::Completed,
            "1",
            "1",
            10,
            10,
            now,
        ),
        record(
            "did:mailto:a",
            "did:key:stuck",
            Status::InProgress,
            "1",
            "2",
            10,
            3,
            old,
        ),
        record(
            "did:mailto:b",
            "did:key:failed",
            Status::Failed,
            "2",
            "1",
            10,
            1,
            now,
        ),
        record(
            "did:mailto:b",
            "did:key:wait",
            Status::Pending,
            "",
            "",
            0,
            0,
            now,
        ),
    ];
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();

    let exporter = Exporter::start(
        &dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--log.level", "debug"],
    );
    exporter.wait_until("an incremental refresh", Duration::from_secs(30), |m| {
        m.get(
            "migration_exporter_refreshes_total",
            &[("kind", "incremental")],
        ) >= Some(1.0)
    });
    let mut called = operations(&exporter.log.lock().unwrap().join("\n"));

    for view in [
        &["--json"][..],
        &["--instance", "1"],
        &["--customer", "did:mailto:a"],
        &["--customer", "did:mailto:a", "--space", "did:key:done"],
        &["--failed"],
        &["--stuck"],
    ] {
        let mut args = view.to_vec();
        args.extend(["--log.level", "debug"]);
        let out = monitor(table.name(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{view:?}: {stderr}");
        let seen = operations(&stderr);
        assert!(!seen.is_empty(), "{view:?} logged no call: {stderr}");
        called.extend(seen);
    }
    assert_eq!(
        called,
        policy_actions(),
        "deploy/iam/policy.json must list exactly what the exporter and the monitor call"
    );
}
