//! The status page (`/`) and its JSON twin (`/api/status`): the migration at a glance, built on
//! the server from the same published snapshot as `/metrics` (no read of DynamoDB of its own) and
//! the refresh loop's recent history. Every figure comes from the read path's report model
//! ([`Report`]); this file adds only the exporter's own facts (version, table, data age) and
//! formats. [`StatusReport`] is the JSON, with versioned field names; [`render_html`] lays it out
//! through a compile-time-checked askama template (`templates/status.html`, with its style and
//! reload script beside it, embedded in the binary), which escapes every value from the table;
//! the pictures are inline SVG from [`crate::svg`], which escapes its own text.

use std::time::Duration;

use askama::Template;
use serde::Serialize;

use super::store::Published;
use super::svg;
use migration_core::format::{self, duration, thousands};
use migration_core::model::Timestamp;
use migration_core::report::{
    Burndown, DurationSummary, Eta, MigrationEta, Progress, Report, seconds_between,
};

/// An instance id in a picture's text is cut to this many characters.
const ID_CHARS: usize = 40;

/// The version of [`StatusReport`]'s field names; bumped when one changes meaning or goes.
pub const VERSION: u32 = 1;

/// How fresh the data is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataStatus {
    /// When the read behind the snapshot started (ISO 8601), none before the first success.
    pub taken_at: Option<String>,
    pub age_seconds: Option<f64>,
    /// End of the last successful refresh, in Unix seconds: the value of
    /// `migration_exporter_last_refresh_success_timestamp_seconds`.
    pub last_success_unix_seconds: f64,
    pub last_refresh_ok: bool,
    pub stuck_after_seconds: u64,
}

/// Everything the page shows; `/api/status` serves it as JSON (`"version": 1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub version: u32,
    pub exporter_version: &'static str,
    pub table: String,
    pub generated_at: String,
    /// Whether a first refresh has succeeded; without one every figure below is 0 or empty.
    pub ready: bool,
    pub data: DataStatus,
    /// The figures, from the report model.
    #[serde(flatten)]
    pub report: Report,
}

impl StatusReport {
    /// The report of what is published, as of `now`.
    pub(crate) fn new(published: &Published, table: &str, now: Timestamp) -> StatusReport {
        let health = &published.health;
        let snapshot = published.snapshot.as_deref();
        StatusReport {
            version: VERSION,
            exporter_version: env!("CARGO_PKG_VERSION"),
            table: table.to_owned(),
            generated_at: now.to_iso(),
            ready: snapshot.is_some(),
            data: DataStatus {
                taken_at: snapshot.map(|s| s.taken_at.to_iso()),
                age_seconds: snapshot.map(|s| seconds_between(s.taken_at, now)),
                last_success_unix_seconds: health.last_success.map_or(0.0, Timestamp::as_secs_f64),
                last_refresh_ok: health.last_refresh_ok,
                stuck_after_seconds: snapshot.map_or(0, |s| s.stuck_after.as_secs()),
            },
            report: snapshot.map_or_else(
                || Report::empty(now),
                |s| Report::new(s, &published.history, now),
            ),
        }
    }
}

/// The page: the report and how it is reached and reloaded.
#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    s: &'a StatusReport,
    telemetry_path: &'a str,
    refresh_seconds: f64,
    reload_ms: u128,
    style: &'static str,
    script: &'static str,
}

impl StatusPage<'_> {
    fn n(&self, n: &u64) -> String {
        thousands(*n)
    }

    fn rounded(&self, x: &f64) -> String {
        thousands(x.max(0.0).round() as u64)
    }

    fn dur(&self, seconds: &f64) -> String {
        duration(*seconds)
    }

    fn stuck_after(&self) -> String {
        duration(self.s.data.stuck_after_seconds as f64)
    }

    fn eta(&self, e: &Eta) -> String {
        format::eta(e)
    }

    /// One instance's ETA with its range, or when there will be one.
    fn instance_eta(&self, eta: &Option<MigrationEta>, instance_id: &str) -> String {
        match eta.as_ref().and_then(|e| e.instance(instance_id)) {
            Some(e) => format::eta(e),
            None => "after the next refresh".to_owned(),
        }
    }

    /// `p50 12m 5s, p90 3h 20m (823 spaces)`, or that there is none yet.
    fn durations(&self, d: &Option<DurationSummary>) -> String {
        d.as_ref().map_or_else(
            || "no completed space yet".to_owned(),
            format::time_per_space,
        )
    }

    /// The burn-down plot and its caption (the same figures as text), once there are two
    /// snapshots. The SVG escapes its own text; the template escapes the caption.
    fn burndown(&self) -> Option<(String, String)> {
        let r = &self.s.report;
        let b = r.burndown.as_ref()?;
        let caption = burndown_caption(b, r.eta.as_ref());
        let title = format!(
            "Burn-down: uploads remaining over the last {}, and the projected finish",
            duration(b.window_seconds)
        );
        let eta = r.eta.as_ref().map(|e| &e.eta);
        Some((svg::burndown(b, eta, &title, &caption), caption))
    }

    /// One instance's sparkline of uploads completed over the window, or nothing before two
    /// snapshots.
    fn sparkline(&self, instance_id: &str) -> String {
        let Some(b) = self.s.report.burndown.as_ref() else {
            return String::new();
        };
        let Some(series) = b.instance(instance_id) else {
            return String::new();
        };
        let Some((first, last)) = series.ends() else {
            return String::new();
        };
        let label = format!(
            "uploads completed: {} → {} over {}",
            thousands(first.uploads_completed),
            thousands(last.uploads_completed),
            duration(first.seconds_ago)
        );
        svg::sparkline(series, b.window_seconds, &label)
    }

    fn ago(&self, age: &Option<f64>) -> String {
        age.map_or_else(String::new, format::ago)
    }

    fn when(&self, t: &Option<Timestamp>) -> String {
        t.map_or_else(|| "-".to_owned(), Timestamp::to_iso)
    }

    /// When the data was read and how old it is, once there is data.
    fn data_as_of(&self) -> Option<(&str, f64)> {
        Some((self.s.data.taken_at.as_deref()?, self.s.data.age_seconds?))
    }

    fn last_success(&self) -> String {
        Timestamp::from_millis((self.s.data.last_success_unix_seconds * 1000.0) as i64).to_iso()
    }

    /// A bar with its figures: `completed / total (pct%)`; `k` names the figures for scripts.
    /// Numbers only, so the template may insert it unescaped.
    fn bar(&self, p: &Progress, k: &str) -> String {
        let pct = p.percent();
        format!(
            "<span class=\"bar\" role=\"img\" aria-label=\"{pct:.1}%\"><span style=\"width:{pct:.2}%\"></span></span>\
             <span data-k=\"{k}-completed\">{}</span> / <span data-k=\"{k}-total\">{}</span> ({pct:.1}%)",
            thousands(p.completed),
            thousands(p.total),
        )
    }
}

/// The burn-down's figures as text: uploads remaining and spaces finished at both ends of the
/// window, and the projected finish with its range.
fn burndown_caption(b: &Burndown, eta: Option<&MigrationEta>) -> String {
    let Some((first, last)) = b.ends() else {
        return String::new();
    };
    let mut out = format!(
        "Uploads remaining: {} {} ago, {} now ({} completed in the window); spaces finished: {} → {}.",
        thousands(first.uploads_remaining),
        duration(first.seconds_ago),
        thousands(last.uploads_remaining),
        thousands(
            last.uploads_completed
                .saturating_sub(first.uploads_completed)
        ),
        thousands(first.spaces_finished),
        thousands(last.spaces_finished),
    );
    if let Some(e) = eta {
        let slowest = e
            .slowest_instance
            .as_deref()
            .map(|id| format!(" (slowest instance {})", svg::bounded(id, ID_CHARS)))
            .unwrap_or_default();
        out.push_str(&format!(
            " Projected finish{slowest}: {}.",
            format::eta(&e.eta)
        ));
    }
    out
}

/// The page, reloading itself every `refresh` when JavaScript runs.
pub fn render_html(r: &StatusReport, telemetry_path: &str, refresh: Duration) -> String {
    let page = StatusPage {
        s: r,
        telemetry_path,
        refresh_seconds: refresh.as_secs_f64(),
        reload_ms: refresh.as_millis().max(1000),
        style: include_str!("../templates/status.css"),
        script: include_str!("../templates/status.js"),
    };
    page.render()
        .unwrap_or_else(|e| format!("<!doctype html><p>cannot render the status page: {e}</p>"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::store::Health;
    use migration_core::failure::{ErrorClass, Retryable};
    use migration_core::model::Status;
    use migration_core::state::history::{History, Point};
    use migration_core::state::snapshot::{
        ClassCount, DurationHistogram, FailedSpace, FailureClasses, Snapshot, StuckSpace, Totals,
        WorkerKey, WorkerStats,
    };

    const NOW: i64 = 1_800_000_000_000;

    fn published(instance: &str, worker: &str, space: &str) -> Published {
        let mut stats = WorkerStats::default();
        stats.by_status[Status::Completed.index()] = Totals {
            spaces: 1234,
            uploads: 50_000,
            completed_uploads: 50_000,
        };
        stats.by_status[Status::InProgress.index()] = Totals {
            spaces: 2,
            uploads: 1_000,
            completed_uploads: 100,
        };
        stats.by_status[Status::Failed.index()] = Totals {
            spaces: 1,
            uploads: 10,
            completed_uploads: 3,
        };
        stats.stuck = 1;
        let key = WorkerKey {
            instance_id: instance.into(),
            worker_id: worker.into(),
        };
        let snapshot = Snapshot {
            taken_at: Timestamp::from_millis(NOW - 5_000),
            stuck_after: Duration::from_secs(3600),
            workers: BTreeMap::from([(key, stats)]),
            stuck_spaces: vec![StuckSpace {
                updated_at: Timestamp::from_millis(NOW - 7_200_000),
                space: space.into(),
                instance_id: instance.into(),
                worker_id: worker.into(),
            }],
            failed_spaces: vec![FailedSpace {
                failed_at: Timestamp::from_millis(NOW - 60_000),
                space: format!("{space}-failed"),
                instance_id: instance.into(),
                worker_id: worker.into(),
                class: ErrorClass::new(format!("{worker} <n>"), Retryable::No),
            }],
            failure_classes: FailureClasses {
                top: vec![ClassCount {
                    class: ErrorClass::new(format!("{worker} <n>"), Retryable::No),
                    failed: 1,
                    newest: Some(Timestamp::from_millis(NOW - 60_000)),
                    examples: vec![format!("{space}-failed")],
                }],
                other: [0; 3],
                distinct: 1,
            },
            durations: BTreeMap::from([(
                instance.to_owned(),
                DurationHistogram {
                    bounds: [60u32, 3_600].as_slice().into(),
                    cumulative: vec![234, 1234],
                    count: 1234,
                    sum_seconds: 1_000_000,
                    missing_timestamps: 0,
                    completed_before_created: 0,
                },
            )]),
            invalid: Default::default(),
            items: 1237,
            invalid_items: 0,
        };
        let history = a_minute_of(&snapshot);
        Published {
            snapshot: Some(Arc::new(snapshot)),
            health: Health {
                last_refresh_ok: false,
                last_success: Some(Timestamp::from_millis(NOW - 4_000)),
                ..Health::default()
            },
            history,
        }
    }

    /// A history of a minute before `snapshot`, 600 uploads (every one on its one instance)
    /// ago.
    fn a_minute_of(snapshot: &Snapshot) -> History {
        let mut history = History::default();
        let mut first = Point::of(snapshot);
        first.at = Timestamp::from_millis(NOW - 65_000);
        first.uploads_completed -= 600;
        let mut earlier = (*first.instances).clone();
        earlier.values_mut().for_each(|c| *c -= 600);
        first.instances = Arc::new(earlier);
        history.push(first);
        history.push(Point::of(snapshot));
        history
    }

    #[test]
    fn the_report_sums_workers_into_instances_and_the_whole_with_a_rate() {
        let r = StatusReport::new(
            &published("1", "7", "did:key:z6MkStuck"),
            "migration-progress",
            Timestamp::from_millis(NOW),
        );
        assert_eq!(r.version, 1);
        assert_eq!(
            (
                r.report.spaces.total,
                r.report.spaces.completed,
                r.report.spaces.failed
            ),
            (1237, 1234, 1)
        );
        assert_eq!(
            (r.report.uploads.completed, r.report.uploads.total),
            (50_103, 51_010)
        );
        assert_eq!(r.report.instances.len(), 1);
        assert_eq!(r.report.instances[0].spaces_progress.completed, 1234);
        assert_eq!(r.report.workers[0].stuck, 1);
        assert_eq!(r.data.age_seconds, Some(5.0));
        assert_eq!(r.report.stuck_spaces[0].stuck_for_seconds, 7200.0);
        let t = r.report.throughput.expect("two points");
        assert_eq!(t.uploads_per_minute, 600.0);
        let eta = r.report.eta.as_ref().expect("two points");
        assert_eq!(eta.slowest_instance.as_deref(), Some("1"));
        assert_eq!(eta.eta.seconds, Some(907.0 / 600.0 * 60.0));
        let json = serde_json::to_value(StatusReport::new(
            &published("1", "7", "s"),
            "t",
            Timestamp::from_millis(NOW),
        ))
        .expect("serialisable");
        assert_eq!(json["version"], 1);
        assert_eq!(json["spaces"]["in_progress"], 2);
        assert_eq!(json["data"]["last_refresh_ok"], false);
        assert_eq!(json["failure_classes"][0]["error_class"], "7 <n>");
        assert_eq!(json["failure_classes"][0]["retryable"], "false");
        assert_eq!(json["failure_classes"][0]["examples"][0], "s-failed");
        assert_eq!(json["failed_spaces"][0]["error_class"], "7 <n>");
        // 1,234 measured: the median's rank 617 lies in (60 s, 3600 s], which holds 1,000.
        let p50 = 60.0 + 3540.0 * (617.0 - 234.0) / 1000.0;
        assert_eq!(json["instances"][0]["durations"]["p50_seconds"], p50);
        assert_eq!(json["durations"]["measured"], 1234);
    }

    #[test]
    fn the_page_escapes_every_value_from_the_table() {
        let evil = "<script>alert(1)</script>";
        let r = StatusReport::new(
            &published(
                "\"><img src=x onerror=alert(2)>",
                evil,
                &format!("did:key:{evil}"),
            ),
            "<b>table</b>",
            Timestamp::from_millis(NOW),
        );
        let html = render_html(&r, "/metrics", Duration::from_secs(30));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the reload script"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>table"), "{html}");
        assert!(html.contains("did:key:&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(
            html.contains("<code>did:key:&#60;script&#62;alert(1)&#60;/script&#62;-failed</code>"),
            "the failed space is named, escaped"
        );
        assert!(html.contains("data-instance=\"&#34;&#62;&#60;img src=x onerror=alert(2)&#62;\""));
        assert!(
            html.contains("<td><code>&#60;script&#62;alert(1)&#60;/script&#62; &#60;n&#62;</code></td><td class=\"retry-false\">false</td>"),
            "the failure class is shown, escaped: {html}"
        );
        assert!(html.contains("<span data-k=\"spaces-completed\">1,234</span>"));
        assert!(
            html.contains("data-k=\"refresh-failed\""),
            "the failed refresh shows"
        );
        assert!(html.contains("href=\"/metrics\"") && html.contains("href=\"/-/ready\""));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external asset"
        );
    }

    #[test]
    fn the_page_draws_the_burn_down_the_sparklines_and_marks_a_silent_worker() {
        let mut p = published("1", "7", "s");
        let mut snap = (**p.snapshot.as_ref().expect("a snapshot")).clone();
        if let Some(stats) = snap.workers.values_mut().next() {
            stats.last_update = Some(Timestamp::from_millis(NOW - 4 * 3_600_000));
        }
        p.snapshot = Some(Arc::new(snap));
        let r = StatusReport::new(&p, "t", Timestamp::from_millis(NOW));
        let w = &r.report.workers[0];
        assert!(
            w.silent,
            "4 h without a write, 2 spaces in progress, --stuck-after 1h"
        );
        assert_eq!(w.last_activity_age_seconds, Some(14_400.0));
        assert_eq!(r.report.silent_workers, 1);
        let json = serde_json::to_value(&r).expect("serialisable");
        assert_eq!(json["workers"][0]["silent"], true);
        assert_eq!(json["burndown"]["points"][1]["uploads_remaining"], 907);
        let html = render_html(&r, "/metrics", Duration::from_secs(30));
        assert!(html.contains("<svg id=\"burndown\""), "{html}");
        assert!(html.contains("<path class=\"line\" d=\"M"));
        assert!(html.contains(
            "<figcaption data-k=\"burndown-caption\">Uploads remaining: 1,507 1m 0s ago, 907 now \
             (600 completed in the window); spaces finished: 1,235 → 1,235. Projected finish \
             (slowest instance 1): 1m 31s (1m 31s to 1m 31s).</figcaption>"
        ), "{html}");
        assert_eq!(
            html.matches("<svg class=\"spark\"").count(),
            1,
            "one per instance"
        );
        assert!(html.contains("aria-label=\"uploads completed: 49,503 → 50,103 over 1m 0s\""));
        assert!(html.contains("class=\"silent\"") && html.contains("data-k=\"silent\">silent</b>"));
        assert!(html.contains("<span class=\"ago\" data-k=\"ago\">4 h ago</span>"));
        assert!(html.contains("<span data-k=\"silent-workers\">1</span> silent"));
    }
}
