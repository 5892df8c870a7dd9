//! One report, three front ends: from one snapshot of a generated migration, the status page's
//! HTML, `/api/status` and `migration-monitor --json` (overview and every instance view) show
//! the same figures, and those figures equal a count made straight from the records. No
//! DynamoDB: the snapshot is folded from the records as a refresh would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use migration_core::format::thousands;
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::report::{Eta, Report};
use migration_core::state::history::{History, Point};
use migration_core::state::snapshot::{FoldContext, Snapshot};
use migration_core::state::spaces::TableState;
use migration_daemon::status_page::{DataStatus, StatusReport, VERSION, render_html};
use migration_testkit::sample;

const NOW: i64 = 1_800_000_000_000;
const STUCK_AFTER: Duration = Duration::from_secs(3600);

fn snapshot_of(records: &[SpaceProgress]) -> Snapshot {
    let mut state = TableState::new();
    for r in records {
        state.apply(r);
    }
    state.snapshot(FoldContext {
        now: Timestamp::from_millis(NOW),
        stuck_after: STUCK_AFTER,
        max_stuck_spaces: 50,
        max_failed_spaces: 50,
        max_error_classes: 20,
    })
}

/// A history of two points a minute apart, 600 uploads and 3 spaces apart.
fn history_to(snap: &Snapshot) -> History {
    let last = Point::of(snap);
    let first = Point {
        at: last.at.minus(Duration::from_secs(60)),
        spaces_finished: last.spaces_finished - 3,
        uploads_completed: last.uploads_completed - 600,
        uploads_total: last.uploads_total,
        // Each instance 40 uploads back, so each has its own rate and ETA.
        instances: Arc::new(
            last.instances
                .iter()
                .map(|(id, c)| (id.clone(), c.saturating_sub(40)))
                .collect(),
        ),
    };
    let mut h = History::default();
    h.push(first);
    h.push(last);
    h
}

/// Per instance, from the records themselves: (spaces, completed, failed, uploads, done).
fn oracle(records: &[SpaceProgress]) -> BTreeMap<String, [u64; 5]> {
    let mut out: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for r in records {
        let e = out
            .entry(r.instance_id.clone().unwrap_or_default())
            .or_default();
        e[0] += 1;
        e[1] += u64::from(r.status == Status::Completed);
        e[2] += u64::from(r.status == Status::Failed);
        e[3] += r.total_uploads;
        e[4] += r.completed_uploads;
    }
    out
}

/// The text of the element carrying `data-k="key"` at or after `from` in `html`.
fn figure(html: &str, from: usize, key: &str) -> String {
    let marker = format!("data-k=\"{key}\"");
    let at = from
        + html[from..]
            .find(&marker)
            .unwrap_or_else(|| panic!("no {key}"));
    let start = at + html[at..].find('>').expect("tag ends") + 1;
    let end = start + html[start..].find('<').expect("element ends");
    html[start..end].to_owned()
}

fn n(v: &Value) -> String {
    thousands(v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")))
}

#[test]
fn the_page_the_api_and_the_monitor_show_one_reports_figures() {
    let now = Timestamp::from_millis(NOW);
    let records = sample::generate(3_000, 7, now);
    let snap = snapshot_of(&records);
    let report = Report::new(&snap, &history_to(&snap), now);
    let status = StatusReport {
        version: VERSION,
        exporter_version: "test",
        table: "migration-progress".into(),
        generated_at: now.to_iso(),
        ready: true,
        data: DataStatus {
            taken_at: Some(now.to_iso()),
            age_seconds: Some(0.0),
            last_success_unix_seconds: now.as_secs_f64(),
            last_refresh_ok: true,
            stuck_after_seconds: STUCK_AFTER.as_secs(),
        },
        report: report.clone(),
    };
    let api = serde_json::to_value(&status).expect("serialisable");
    let html = render_html(&status, "/metrics", Duration::from_secs(30));
    let overview = migration_monitor::overview_json(&report);

    // The whole table: the API and the monitor agree, and both agree with the records.
    for field in ["spaces", "uploads", "stuck", "invalid_items", "throughput"] {
        assert_eq!(api[field], overview[field], "{field}");
    }
    assert_eq!(api["spaces"]["total"], json!(records.len()));
    assert!(api["throughput"]["uploads_per_minute"].as_f64() == Some(600.0));
    for (key, status_name) in [
        ("spaces-pending", "pending"),
        ("spaces-in-progress", "in_progress"),
        ("spaces-completed-count", "completed"),
        ("spaces-failed", "failed"),
    ] {
        assert_eq!(
            figure(&html, 0, key),
            n(&api["spaces"][status_name]),
            "{key}"
        );
    }
    assert_eq!(figure(&html, 0, "stuck"), n(&api["stuck"]));
    assert_eq!(
        figure(&html, 0, "uploads-completed"),
        n(&api["uploads"]["completed"])
    );
    assert_eq!(figure(&html, 0, "eta"), eta_text(&api["eta"]));
    assert_eq!(
        figure(&html, 0, "slowest-instance"),
        api["eta"]["slowest_instance"]
            .as_str()
            .expect("one is slowest")
    );
    let slowest_eta = api["eta"]["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .find(|i| i["instance_id"] == api["eta"]["slowest_instance"])
        .expect("the slowest is one of them");
    assert_eq!(api["eta"]["seconds"], slowest_eta["seconds"]);
    for i in api["eta"]["instances"].as_array().expect("instances") {
        assert!(
            i["seconds"].as_f64() <= api["eta"]["seconds"].as_f64(),
            "no instance ends after the slowest: {i}"
        );
    }

    // Every instance: the page's row, the API's entry, the monitor's overview line and its
    // instance view, and the records.
    let truth = oracle(&records);
    let instances = api["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), truth.len());
    assert!(truth.len() > 1, "the sample spreads over several instances");
    for (i, entry) in instances.iter().enumerate() {
        let id = entry["instance_id"].as_str().expect("id");
        let t = truth[id];
        assert_eq!(entry["spaces"]["total"], json!(t[0]), "instance {id}");
        assert_eq!(entry["spaces"]["completed"], json!(t[1]));
        assert_eq!(entry["spaces"]["failed"], json!(t[2]));
        assert_eq!(entry["uploads"], json!({"completed": t[4], "total": t[3]}));
        assert_eq!(
            overview["instances"][i]["instance_id"],
            entry["instance_id"]
        );
        assert_eq!(overview["instances"][i]["spaces"], entry["spaces_progress"]);
        assert_eq!(overview["instances"][i]["uploads"], entry["uploads"]);
        let view = migration_monitor::instance_json(&report, id);
        assert_eq!(view["spaces"], entry["spaces"]);
        assert_eq!(view["uploads"], entry["uploads"]);
        assert_eq!(view["stuck"], entry["stuck"]);
        let api_workers: Vec<&Value> = api["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .filter(|w| w["instance_id"] == entry["instance_id"])
            .collect();
        let view_workers = view["workers"].as_array().expect("workers");
        assert_eq!(view_workers.len(), api_workers.len());
        for (v, a) in view_workers.iter().zip(&api_workers) {
            assert_eq!(v["worker_id"], a["worker_id"]);
            assert_eq!(
                (&v["spaces"], &v["uploads"], &v["stuck"]),
                (&a["spaces"], &a["uploads"], &a["stuck"])
            );
        }
        let row = html
            .find(&format!("<tr data-instance=\"{id}\">"))
            .unwrap_or_else(|| panic!("no row for instance {id}"));
        assert_eq!(figure(&html, row, "spaces-completed"), thousands(t[1]));
        assert_eq!(figure(&html, row, "spaces-total"), thousands(t[0]));
        assert_eq!(figure(&html, row, "uploads-completed"), thousands(t[4]));
        assert_eq!(figure(&html, row, "failed"), thousands(t[2]));
        assert_eq!(figure(&html, row, "stuck"), n(&entry["stuck"]));
        assert_eq!(
            figure(&html, row, "eta"),
            eta_text(&api["eta"]["instances"][i]),
            "instance {id}"
        );
        assert_eq!(overview["eta"]["instances"][i], api["eta"]["instances"][i]);
    }
}

/// An ETA as the page writes it, from its `/api/status` JSON.
fn eta_text(v: &Value) -> String {
    let eta: Eta = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    migration_core::format::eta(&eta)
}
