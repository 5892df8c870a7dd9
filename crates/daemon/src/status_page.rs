//! The status page (`/`) and its JSON twin (`/api/status`): the migration at a glance, built on
//! the server from the same published snapshot as `/metrics` (no read of DynamoDB of its own) and
//! the refresh loop's recent [`History`] (rate and ETA). [`StatusReport`] is the content, with
//! versioned field names; [`render_html`] lays it out as one self-contained page (inline style, no
//! external asset, readable without JavaScript; a few lines of script reload it every refresh
//! interval). Every string that comes from the table is escaped.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::store::Published;
use migration_core::format::thousands;
use migration_core::model::{Status, Timestamp};
use migration_core::state::history::Throughput;
use migration_core::state::snapshot::{Snapshot, WorkerStats};

/// The version of [`StatusReport`]'s field names; bumped when one changes meaning or goes.
pub(crate) const VERSION: u32 = 1;

/// Spaces by status (the monitor's `--json` field names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StatusCounts {
    pub(crate) total: u64,
    pub(crate) completed: u64,
    pub(crate) in_progress: u64,
    pub(crate) pending: u64,
    pub(crate) failed: u64,
    pub(crate) unknown: u64,
}

impl StatusCounts {
    fn of(stats: &WorkerStats) -> Self {
        let n = |s: Status| stats.status(s).spaces;
        StatusCounts {
            total: stats.all().spaces,
            completed: n(Status::Completed),
            in_progress: n(Status::InProgress),
            pending: n(Status::Pending),
            failed: n(Status::Failed),
            unknown: n(Status::Unknown),
        }
    }

    fn add(&mut self, o: &StatusCounts) {
        self.total += o.total;
        self.completed += o.completed;
        self.in_progress += o.in_progress;
        self.pending += o.pending;
        self.failed += o.failed;
        self.unknown += o.unknown;
    }
}

/// A part of a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Progress {
    pub(crate) completed: u64,
    pub(crate) total: u64,
}

impl Progress {
    fn percent(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.completed as f64 * 100.0 / self.total as f64
        }
    }
}

/// How fresh the data is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DataStatus {
    /// When the read behind the snapshot started (ISO 8601), none before the first success.
    pub(crate) taken_at: Option<String>,
    pub(crate) age_seconds: Option<f64>,
    /// End of the last successful refresh, in Unix seconds: the value of
    /// `migration_exporter_last_refresh_success_timestamp_seconds`.
    pub(crate) last_success_unix_seconds: f64,
    pub(crate) last_refresh_ok: bool,
    pub(crate) stuck_after_seconds: u64,
}

/// One instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InstanceStatus {
    pub(crate) instance_id: String,
    pub(crate) spaces: StatusCounts,
    pub(crate) spaces_progress: Progress,
    pub(crate) uploads: Progress,
    pub(crate) stuck: u64,
}

/// One (instance, worker) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WorkerStatus {
    pub(crate) instance_id: String,
    pub(crate) worker_id: String,
    pub(crate) spaces: StatusCounts,
    pub(crate) uploads: Progress,
    pub(crate) stuck: u64,
    /// ISO 8601.
    pub(crate) last_activity: Option<String>,
}

/// A stuck space (the capped list of `migration_stuck_space_info`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StuckSpaceStatus {
    pub(crate) space: String,
    pub(crate) instance_id: String,
    pub(crate) worker_id: String,
    pub(crate) updated_at: String,
    pub(crate) stuck_for_seconds: f64,
}

/// A recently failed space (the capped list of `migration_failed_space_info`). Its error message
/// is in the table only: `migration-monitor --failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FailedSpaceStatus {
    pub(crate) space: String,
    pub(crate) instance_id: String,
    pub(crate) worker_id: String,
    pub(crate) failed_at: String,
    pub(crate) failed_for_seconds: f64,
}

/// Everything the page shows; `/api/status` serves it as JSON (`"version": 1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StatusReport {
    pub(crate) version: u32,
    pub(crate) exporter_version: &'static str,
    pub(crate) table: String,
    pub(crate) generated_at: String,
    /// Whether a first refresh has succeeded; without one every figure below is 0 or empty.
    pub(crate) ready: bool,
    pub(crate) data: DataStatus,
    pub(crate) spaces: StatusCounts,
    pub(crate) spaces_progress: Progress,
    pub(crate) uploads: Progress,
    pub(crate) stuck: u64,
    pub(crate) invalid_items: u64,
    pub(crate) throughput: Option<Throughput>,
    pub(crate) instances: Vec<InstanceStatus>,
    pub(crate) workers: Vec<WorkerStatus>,
    /// Oldest first, at most `--metrics.max-space-series`.
    pub(crate) stuck_spaces: Vec<StuckSpaceStatus>,
    /// Newest first, at most `--metrics.max-failed-space-series`.
    pub(crate) failed_spaces: Vec<FailedSpaceStatus>,
}

/// A worker's last activity: the newest `updatedAt` of any of its spaces (what
/// `migration_worker_last_update_timestamp_seconds` exports).
fn last_activity(w: &WorkerStats) -> Option<Timestamp> {
    w.last_update
}

/// Sorts ids numerically where they are numbers, then as text (`2` before `10`).
fn id_order(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_owned())
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millis() - from.as_millis()) as f64 / 1000.0
}

impl StatusReport {
    /// The report of what is published, as of `now`.
    pub(crate) fn new(published: &Published, table: &str, now: Timestamp) -> StatusReport {
        let health = &published.health;
        let snapshot = published.snapshot.as_deref();
        let mut report = StatusReport {
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
            spaces: StatusCounts::default(),
            spaces_progress: Progress::default(),
            uploads: Progress::default(),
            stuck: 0,
            invalid_items: 0,
            throughput: None,
            instances: Vec::new(),
            workers: Vec::new(),
            stuck_spaces: Vec::new(),
            failed_spaces: Vec::new(),
        };
        if let Some(s) = snapshot {
            report.fill(s, now);
            let remaining = report
                .uploads
                .total
                .saturating_sub(report.uploads.completed);
            report.throughput = published.history.throughput(remaining);
        }
        report
    }

    fn fill(&mut self, snap: &Snapshot, now: Timestamp) {
        for (key, stats) in &snap.workers {
            let all = stats.all();
            let worker = WorkerStatus {
                instance_id: key.instance_id.clone(),
                worker_id: key.worker_id.clone(),
                spaces: StatusCounts::of(stats),
                uploads: Progress {
                    completed: all.completed_uploads,
                    total: all.uploads,
                },
                stuck: stats.stuck,
                last_activity: last_activity(stats).map(Timestamp::to_iso),
            };
            let at = match self
                .instances
                .iter()
                .position(|i| i.instance_id == key.instance_id)
            {
                Some(at) => at,
                None => {
                    self.instances.push(InstanceStatus {
                        instance_id: key.instance_id.clone(),
                        spaces: StatusCounts::default(),
                        spaces_progress: Progress::default(),
                        uploads: Progress::default(),
                        stuck: 0,
                    });
                    self.instances.len() - 1
                }
            };
            let instance = &mut self.instances[at];
            instance.spaces.add(&worker.spaces);
            instance.uploads.completed += worker.uploads.completed;
            instance.uploads.total += worker.uploads.total;
            instance.stuck += worker.stuck;
            self.spaces.add(&worker.spaces);
            self.uploads.completed += worker.uploads.completed;
            self.uploads.total += worker.uploads.total;
            self.workers.push(worker);
        }
        for i in &mut self.instances {
            i.spaces_progress = Progress {
                completed: i.spaces.completed,
                total: i.spaces.total,
            };
        }
        self.instances.sort_by_key(|i| id_order(&i.instance_id));
        self.workers.sort_by(|a, b| {
            id_order(&a.instance_id)
                .cmp(&id_order(&b.instance_id))
                .then_with(|| id_order(&a.worker_id).cmp(&id_order(&b.worker_id)))
        });
        self.spaces_progress = Progress {
            completed: self.spaces.completed,
            total: self.spaces.total,
        };
        self.stuck = snap.stuck_total();
        self.invalid_items = snap.invalid_items;
        self.stuck_spaces = snap
            .stuck_spaces
            .iter()
            .map(|s| StuckSpaceStatus {
                space: s.space.clone(),
                instance_id: s.instance_id.clone(),
                worker_id: s.worker_id.clone(),
                updated_at: s.updated_at.to_iso(),
                stuck_for_seconds: seconds_between(s.updated_at, now),
            })
            .collect();
        self.failed_spaces = snap
            .failed_spaces
            .iter()
            .map(|s| FailedSpaceStatus {
                space: s.space.clone(),
                instance_id: s.instance_id.clone(),
                worker_id: s.worker_id.clone(),
                failed_at: s.failed_at.to_iso(),
                failed_for_seconds: seconds_between(s.failed_at, now),
            })
            .collect();
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration for people: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
fn human(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A bar with its figures: `completed / total (pct%)`; `k` names the figures for scripts.
fn bar(p: Progress, k: &str) -> String {
    let pct = p.percent();
    format!(
        "<span class=\"bar\" role=\"img\" aria-label=\"{pct:.1}%\"><span style=\"width:{pct:.2}%\"></span></span>\
         <span data-k=\"{k}-completed\">{}</span> / <span data-k=\"{k}-total\">{}</span> ({pct:.1}%)",
        thousands(p.completed),
        thousands(p.total),
    )
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#1d2433;background:#fff}\
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .5em;border-bottom:1px solid #d8dde6}\
.meta{color:#556}.warn{background:#fff3cd;border:1px solid #e0b100;padding:.4em .7em}\
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px solid #d8dde6;border-radius:6px;padding:.5em .9em;min-width:8em}\
.card b{display:block;font-size:1.4em}.bad b{color:#b3261e}\
.bar{display:inline-block;vertical-align:middle;width:14em;height:.8em;background:#e6e9ef;border-radius:3px;margin-right:.5em;overflow:hidden}\
.bar span{display:block;height:100%;background:#2e7d32}\
table{border-collapse:collapse}th,td{padding:.2em .6em;border-bottom:1px solid #eceff4;text-align:right}\
th:first-child,td:first-child,td.id{text-align:left}td.stuck{color:#b3261e;font-weight:bold}code{word-break:break-all}";

/// The page, reloading itself every `refresh` when JavaScript runs.
pub(crate) fn render_html(r: &StatusReport, telemetry_path: &str, refresh: Duration) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Migration status: {table}</title><style>{STYLE}</style></head>\n<body>\n\
         <h1>Migration status</h1>\n<p class=\"meta\">migration-exporter {version}, table <code>{table}</code>. ",
        table = escape(&r.table),
        version = escape(r.exporter_version),
    );
    match (&r.data.taken_at, r.data.age_seconds) {
        (Some(taken), Some(age)) => {
            let _ = writeln!(
                h,
                "Data as of <span data-k=\"taken-at\">{}</span> (<span data-k=\"age\">{}</span> old); \
                 last successful refresh at <span data-k=\"refreshed-at\" data-v=\"{:.3}\">{}</span>.</p>",
                escape(taken),
                human(age),
                r.data.last_success_unix_seconds,
                escape(
                    &Timestamp::from_millis((r.data.last_success_unix_seconds * 1000.0) as i64)
                        .to_iso()
                ),
            );
        }
        _ => h.push_str("No data yet: waiting for the first successful read of the table.</p>\n"),
    }
    if !r.data.last_refresh_ok && r.ready {
        h.push_str("<p class=\"warn\" data-k=\"refresh-failed\">The latest refresh failed: these figures are from the last good one and may be stale.</p>\n");
    }

    let s = &r.spaces;
    let _ = write!(
        h,
        "<h2>Progress</h2>\n<p>Spaces: {}</p>\n<p>Uploads: {}</p>\n<div class=\"cards\">\
         <div class=\"card\">Pending<b data-k=\"spaces-pending\">{}</b></div>\
         <div class=\"card\">In progress<b data-k=\"spaces-in-progress\">{}</b></div>\
         <div class=\"card\">Completed<b data-k=\"spaces-completed-count\">{}</b></div>\
         <div class=\"card{}\">Failed<b data-k=\"spaces-failed\">{}</b></div>\
         <div class=\"card{}\">Stuck (no update for {})<b data-k=\"stuck\">{}</b></div>",
        bar(r.spaces_progress, "spaces"),
        bar(r.uploads, "uploads"),
        thousands(s.pending),
        thousands(s.in_progress),
        thousands(s.completed),
        if s.failed > 0 { " bad" } else { "" },
        thousands(s.failed),
        if r.stuck > 0 { " bad" } else { "" },
        human(r.data.stuck_after_seconds as f64),
        thousands(r.stuck),
    );
    if s.unknown > 0 || r.invalid_items > 0 {
        let _ = write!(
            h,
            "<div class=\"card bad\">Unknown status<b data-k=\"spaces-unknown\">{}</b></div>\
             <div class=\"card bad\">Invalid items<b data-k=\"invalid-items\">{}</b></div>",
            thousands(s.unknown),
            thousands(r.invalid_items)
        );
    }
    h.push_str("</div>\n");
    match &r.throughput {
        Some(t) => {
            let _ = writeln!(
                h,
                "<p>Rate over the last <span data-k=\"rate-window\">{}</span>: \
                 <span data-k=\"uploads-per-minute\">{}</span> uploads/min, \
                 <span data-k=\"spaces-per-hour\">{}</span> spaces/h finished. ETA: <b data-k=\"eta\">{}</b> \
                 ({} uploads to go).</p>",
                human(t.window_seconds),
                thousands(t.uploads_per_minute.round() as u64),
                thousands(t.spaces_per_hour.round() as u64),
                t.eta_seconds
                    .map_or_else(|| "none while nothing moves".to_owned(), human),
                thousands(t.uploads_remaining),
            );
        }
        None => h.push_str("<p>Rate and ETA: after the next refresh (needs two snapshots).</p>\n"),
    }

    h.push_str(
        "<h2>By instance</h2>\n<table id=\"instances\"><thead><tr><th>Instance</th><th>Spaces completed</th>\
         <th>Uploads completed</th><th>Failed</th><th>Stuck</th></tr></thead><tbody>\n",
    );
    for i in &r.instances {
        let id = escape(&i.instance_id);
        let _ = writeln!(
            h,
            "<tr data-instance=\"{id}\"><td class=\"id\">{id}</td><td>{}</td><td>{}</td>\
             <td data-k=\"failed\">{}</td><td data-k=\"stuck\"{}>{}</td></tr>",
            bar(i.spaces_progress, "spaces"),
            bar(i.uploads, "uploads"),
            thousands(i.spaces.failed),
            if i.stuck > 0 { " class=\"stuck\"" } else { "" },
            thousands(i.stuck),
        );
    }
    h.push_str("</tbody></table>\n");

    h.push_str(
        "<h2>Workers</h2>\n<table id=\"workers\"><thead><tr><th>Instance</th><th>Worker</th><th>Pending</th>\
         <th>In progress</th><th>Completed</th><th>Failed</th><th>Uploads</th><th>Last activity</th>\
         <th>Stuck</th></tr></thead><tbody>\n",
    );
    for w in &r.workers {
        let (i, wid) = (escape(&w.instance_id), escape(&w.worker_id));
        let _ = writeln!(
            h,
            "<tr data-instance=\"{i}\" data-worker=\"{wid}\"><td class=\"id\">{i}</td><td class=\"id\">{wid}</td>\
             <td data-k=\"pending\">{}</td><td data-k=\"in-progress\">{}</td><td data-k=\"completed\">{}</td>\
             <td data-k=\"failed\">{}</td><td><span data-k=\"uploads-completed\">{}</span> / \
             <span data-k=\"uploads-total\">{}</span></td><td>{}</td><td data-k=\"stuck\"{}>{}</td></tr>",
            thousands(w.spaces.pending),
            thousands(w.spaces.in_progress),
            thousands(w.spaces.completed),
            thousands(w.spaces.failed),
            thousands(w.uploads.completed),
            thousands(w.uploads.total),
            w.last_activity.as_deref().map_or("-".to_owned(), escape),
            if w.stuck > 0 { " class=\"stuck\"" } else { "" },
            thousands(w.stuck),
        );
    }
    h.push_str("</tbody></table>\n");

    let _ = write!(
        h,
        "<h2>Stuck spaces</h2>\n<p>In progress with no update for longer than {}: {} in all{}.</p>\n",
        human(r.data.stuck_after_seconds as f64),
        thousands(r.stuck),
        if (r.stuck_spaces.len() as u64) < r.stuck {
            format!(", the {} oldest named", r.stuck_spaces.len())
        } else {
            String::new()
        },
    );
    if !r.stuck_spaces.is_empty() {
        h.push_str("<ul id=\"stuck-spaces\">\n");
        for s in &r.stuck_spaces {
            let _ = writeln!(
                h,
                "<li data-k=\"stuck-space\"><code>{}</code> on instance {}, worker {}: no update for {} (since {})</li>",
                escape(&s.space),
                escape(&s.instance_id),
                escape(&s.worker_id),
                human(s.stuck_for_seconds),
                escape(&s.updated_at),
            );
        }
        h.push_str("</ul>\n");
    }

    let _ = write!(
        h,
        "<h2>Recently failed spaces</h2>\n<p>{} failed in all{}; read their errors with <code>migration-monitor --failed</code>.</p>\n",
        thousands(r.spaces.failed),
        if (r.failed_spaces.len() as u64) < r.spaces.failed {
            format!(", the {} newest named", r.failed_spaces.len())
        } else {
            String::new()
        },
    );
    if !r.failed_spaces.is_empty() {
        h.push_str("<ul id=\"failed-spaces\">\n");
        for s in &r.failed_spaces {
            let _ = writeln!(
                h,
                "<li data-k=\"failed-space\"><code>{}</code> on instance {}, worker {}: failed {} ago ({})</li>",
                escape(&s.space),
                escape(&s.instance_id),
                escape(&s.worker_id),
                human(s.failed_for_seconds),
                escape(&s.failed_at),
            );
        }
        h.push_str("</ul>\n");
    }

    let path = escape(telemetry_path);
    let _ = write!(
        h,
        "<h2>Endpoints</h2>\n<ul>\n<li><a href=\"{path}\">Metrics</a> ({path})</li>\n\
         <li><a href=\"/api/status\">Status as JSON</a> (/api/status)</li>\n\
         <li><a href=\"/-/healthy\">Health</a> (/-/healthy)</li>\n\
         <li><a href=\"/-/ready\">Readiness</a> (/-/ready)</li>\n</ul>\n\
         <p class=\"meta\">Generated at {}; reloads every {}.</p>\n\
         <script>setTimeout(function () {{ location.reload(); }}, {});</script>\n</body></html>\n",
        escape(&r.generated_at),
        human(refresh.as_secs_f64()),
        refresh.as_millis().max(1000),
    );
    h
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::store::Health;
    use migration_core::state::history::{History, Point};
    use migration_core::state::snapshot::{FailedSpace, StuckSpace, Totals, WorkerKey};

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
            }],
            invalid: Default::default(),
            items: 1237,
            invalid_items: 0,
        };
        let mut history = History::default();
        let mut first = Point::of(&snapshot);
        first.at = Timestamp::from_millis(NOW - 65_000);
        first.uploads_completed -= 600;
        history.push(first);
        history.push(Point::of(&snapshot));
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

    #[test]
    fn the_report_sums_workers_into_instances_and_the_whole_with_a_rate() {
        let r = StatusReport::new(
            &published("1", "7", "did:key:z6MkStuck"),
            "migration-progress",
            Timestamp::from_millis(NOW),
        );
        assert_eq!(r.version, 1);
        assert_eq!(
            (r.spaces.total, r.spaces.completed, r.spaces.failed),
            (1237, 1234, 1)
        );
        assert_eq!((r.uploads.completed, r.uploads.total), (50_103, 51_010));
        assert_eq!(r.instances.len(), 1);
        assert_eq!(r.instances[0].spaces_progress.completed, 1234);
        assert_eq!(r.workers[0].stuck, 1);
        assert_eq!(r.data.age_seconds, Some(5.0));
        assert_eq!(r.stuck_spaces[0].stuck_for_seconds, 7200.0);
        let t = r.throughput.expect("two points");
        assert_eq!(t.uploads_per_minute, 600.0);
        assert_eq!(t.eta_seconds, Some(907.0 / 600.0 * 60.0));
        let json = serde_json::to_value(StatusReport::new(
            &published("1", "7", "s"),
            "t",
            Timestamp::from_millis(NOW),
        ))
        .expect("serialisable");
        assert_eq!(json["version"], 1);
        assert_eq!(json["spaces"]["in_progress"], 2);
        assert_eq!(json["data"]["last_refresh_ok"], false);
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
        assert!(html.contains("did:key:&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            html.contains("<code>did:key:&lt;script&gt;alert(1)&lt;/script&gt;-failed</code>"),
            "the failed space is named, escaped"
        );
        assert!(html.contains("data-instance=\"&quot;&gt;&lt;img src=x onerror=alert(2)&gt;\""));
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
    fn numbers_and_durations_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(80_304), "80,304");
        assert_eq!(thousands(37_088_337), "37,088,337");
        assert_eq!(human(59.4), "59s");
        assert_eq!(human(725.0), "12m 5s");
        assert_eq!(human(12_000.0), "3h 20m");
        assert_eq!(human(187_200.0), "2d 4h");
    }
}
