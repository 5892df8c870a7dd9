//! Failure classes through the real binaries and DynamoDB Local: a classes file changed under a
//! running exporter reclassifies the failed spaces at the next full scan (and a bad one keeps the
//! rules it had), the class counts always add up to the failed spaces, the status page and
//! `/api/status` group the failures by class, `migration-monitor --failed --error-class` lists one
//! class, and a bad classes file at start is one line naming the flag and the key, exit 2.

use std::process::Command;
use std::time::Duration;

use crate::harness::stack::Scratch;
use crate::harness::{Exporter, Metrics};
use migration_core::model::{Status, Timestamp};
use migration_core::table::item;
use migration_testkit::{SpaceRecord, WorkerWrites};

/// Three spaces failed on a quota, two on timeouts, one with no error, and a completed one.
async fn failing_table() -> migration_core::table::ProgressTable {
    let table = crate::harness::new_table("classes").await;
    let now = Timestamp::now();
    let failed = |space: &str, error: Option<&str>| {
        let r = SpaceRecord::new("did:mailto:example.com:c", space)
            .status(Status::Failed)
            .on("1", "2")
            .uploads(10, 4)
            .at(now);
        match error {
            Some(e) => r.error(e),
            None => r,
        }
        .build()
    };
    let mut records = vec![
        failed("did:key:q1", Some("quota exceeded on shard 5")),
        failed("did:key:q2", Some("quota exceeded on shard 17")),
        failed("did:key:q3", Some("quota exceeded on shard 2")),
        failed("did:key:t1", Some("Connection timeout after 3 retries")),
        failed("did:key:t2", Some("Connection timeout after 4 retries")),
        failed("did:key:n1", None),
    ];
    records.push(
        SpaceRecord::new("did:mailto:example.com:c", "did:key:done")
            .status(Status::Completed)
            .on("1", "2")
            .uploads(10, 10)
            .at(now)
            .build(),
    );
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    table
}

fn class(m: &Metrics, name: &str, retryable: &str) -> Option<f64> {
    m.get(
        "migration_failed_spaces_by_class",
        &[("error_class", name), ("retryable", retryable)],
    )
}

fn sum_by_class(m: &Metrics) -> f64 {
    m.family("migration_failed_spaces_by_class").values().sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_classes_file_reclassifies_and_a_bad_one_keeps_the_rules() {
    let table = failing_table().await;
    let scratch = Scratch::new("classes-file");
    let file = scratch.write(
        "classes.yml",
        "classes:\n- {name: timeout, retryable: true, match: '(?i)timeout'}\n",
    );
    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let file_arg = file.display().to_string();
    let exporter = Exporter::start(
        &endpoint,
        table.name(),
        &[
            "--refresh.interval",
            "1s",
            "--failures.classes-file",
            &file_arg,
        ],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let m = exporter.wait_until("the first classes", Duration::from_secs(20), |m| {
        class(m, "timeout", "true") == Some(2.0)
    });
    assert_eq!(
        class(&m, "quota exceeded on shard <n>", "unknown"),
        Some(3.0)
    );
    assert_eq!(class(&m, "<no error>", "unknown"), Some(1.0));
    assert_eq!(sum_by_class(&m), 6.0, "every failed space, once");
    assert_eq!(m.get("migration_failed_error_classes", &[]), Some(3.0));

    // The file learns the quota: the next refresh is a full scan that reclassifies.
    std::fs::write(
        &file,
        "classes:\n- {name: timeout, retryable: true, match: '(?i)timeout'}\n- {name: quota, retryable: false, match: quota}\n",
    )
    .unwrap();
    let m = exporter.wait_until("the reclassification", Duration::from_secs(20), |m| {
        class(m, "quota", "false") == Some(3.0)
    });
    assert_eq!(class(&m, "quota exceeded on shard <n>", "unknown"), None);
    assert_eq!(sum_by_class(&m), 6.0);
    assert_eq!(
        m.get("migration_exporter_drift_items_total", &[]),
        Some(0.0),
        "a reclassification is no drift"
    );
    let info = m.family("migration_failed_space_info");
    assert_eq!(
        info.keys()
            .filter(|k| k.contains("error_class=\"quota\""))
            .count(),
        3,
        "{info:?}"
    );

    // A broken file is refused; the rules it had stay.
    std::fs::write(
        &file,
        "classes:\n- {name: quota, retryable: false, match: '('}\n",
    )
    .unwrap();
    exporter.wait_until("the refusal", Duration::from_secs(20), |_| {
        exporter.count("classes file not reloaded") >= 1
    });
    std::thread::sleep(Duration::from_secs(3));
    let m = exporter.scrape();
    assert_eq!(class(&m, "quota", "false"), Some(3.0));
    assert_eq!(
        exporter.count("classes file not reloaded"),
        1,
        "logged once"
    );

    // The page and its JSON group the failures by class.
    let (code, json) = exporter.get("/api/status");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let classes = v["failure_classes"].as_array().unwrap();
    assert_eq!(classes[0]["error_class"], "quota");
    assert_eq!(classes[0]["retryable"], "false");
    assert_eq!(classes[0]["failed"], 3);
    assert_eq!(classes[0]["examples"].as_array().unwrap().len(), 3);
    let (_, page) = exporter.get("/");
    assert!(page.contains("id=\"failure-classes\""), "{page}");
    assert!(page.contains("<td><code>quota</code></td><td class=\"retry-false\">false</td>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_lists_the_classes_and_one_class_on_request() {
    let table = failing_table().await;
    let out = crate::harness::monitor(table.name(), &["--failed", "--error-class", "timeout"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("By error class:\n  3  quota exceeded on shard <n> (retryable: unknown)\n  2  timeout (retryable: true)\n  1  <no error> (retryable: unknown)\n"), "{text}");
    assert!(text.contains("Showing error class timeout: 2\n"), "{text}");
    assert_eq!(text.matches("✗ ").count(), 2, "{text}");
    let out = crate::harness::monitor(
        table.name(),
        &["--failed", "--error-class", "timeout", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 6);
    assert_eq!(v["classes"].as_array().unwrap().len(), 3);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_eq!(v["rows"][0]["error_class"], "timeout");
    assert_eq!(v["rows"][0]["retryable"], "true");
}

#[test]
fn a_bad_classes_file_is_one_line_naming_the_flag_and_the_key() {
    let scratch = Scratch::new("bad-classes");
    for (text, key) in [
        (
            "classes:\n- {name: a, retryable: true, match: '(('}\n",
            "classes[0].match[0]",
        ),
        (
            "classes:\n- {name: a, retryable: maybe, match: x}\n",
            "classes[0]",
        ),
        (
            "classes:\n- {name: other, retryable: true, match: x}\n",
            "classes[0].name",
        ),
    ] {
        let file = scratch.write("classes.yml", text);
        for binary in [
            env!("CARGO_BIN_EXE_migration-exporter"),
            env!("CARGO_BIN_EXE_migration-monitor"),
        ] {
            let out = Command::new(binary)
                .args(["--failures.classes-file", &file.display().to_string()])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{binary} {text}: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(stderr.contains("--failures.classes-file"), "{stderr}");
            assert!(stderr.contains(key), "{key}: {stderr}");
        }
    }
}
