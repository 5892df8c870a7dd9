//! Text layout of the monitor's views, as the original `migration-monitor.js` printed them:
//! titles over 70-character rules, thousands separators, status icons, local date-times. Long
//! lists stop at a limit with "... and N more".

use std::fmt::Write;

use super::format::{local_datetime, percent, plain, status_prefix};
use super::views::{CustomerView, FailedView, InstanceView, Overview, SpaceRow, StuckView};
use migration_core::format::{duration, eta as eta_text, thousands, time_per_space};
use migration_core::model::{Status, Timestamp};
use migration_core::report::{MigrationEta, StatusCounts, Throughput};

const WIDTH: usize = 70;

/// How views are laid out.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Rows to show of a long list; 0 shows all.
    pub limit: usize,
    /// Colour the status icons (ANSI), for a terminal.
    pub color: bool,
}

fn title(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}\n{}\n", "=".repeat(WIDTH));
}

fn section(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}\n{}", "-".repeat(WIDTH));
}

fn status_block(out: &mut String, counts: &StatusCounts, with_percent: bool, opts: TextOptions) {
    let completed = if with_percent {
        format!(
            "{} ({}%)",
            thousands(counts.completed),
            percent(counts.completed, counts.total)
        )
    } else {
        thousands(counts.completed)
    };
    let _ = writeln!(
        out,
        "  {}Completed: {completed}",
        status_prefix(Status::Completed, opts.color)
    );
    let _ = writeln!(
        out,
        "  {}In Progress: {}",
        status_prefix(Status::InProgress, opts.color),
        thousands(counts.in_progress)
    );
    let _ = writeln!(
        out,
        "  {}Pending: {}",
        status_prefix(Status::Pending, opts.color),
        thousands(counts.pending)
    );
    let _ = writeln!(
        out,
        "  {}Failed: {}",
        status_prefix(Status::Failed, opts.color),
        thousands(counts.failed)
    );
    if counts.unknown > 0 {
        let _ = writeln!(
            out,
            "  {}Unknown status: {}",
            status_prefix(Status::Unknown, opts.color),
            thousands(counts.unknown)
        );
    }
}

fn more(out: &mut String, shown: usize, total: usize) {
    if shown < total {
        let _ = writeln!(out, "... and {} more", thousands((total - shown) as u64));
    }
}

fn cut(limit: usize, len: usize) -> usize {
    if limit == 0 { len } else { limit.min(len) }
}

fn who(row: &SpaceRow) -> String {
    format!(
        "Instance: {}, Worker: {}",
        plain(row.instance_id.as_deref().unwrap_or("-")),
        plain(row.worker_id.as_deref().unwrap_or("-"))
    )
}

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "unknown".to_owned(),
        |ms| local_datetime(Timestamp::from_millis(ms)),
    )
}

/// The overview (no flag, and each `--watch` refresh).
pub fn overview(v: &Overview, opts: TextOptions) -> String {
    let mut out = String::new();
    title(&mut out, "Migration Progress Overview");
    let _ = writeln!(out, "Total Spaces: {}", thousands(v.spaces.total));
    status_block(&mut out, &v.spaces, true, opts);
    let _ = writeln!(out, "\nTotal Uploads: {}", thousands(v.uploads.total));
    let _ = writeln!(
        out,
        "  ✓ Completed: {} ({}%)",
        thousands(v.uploads.completed),
        percent(v.uploads.completed, v.uploads.total)
    );
    if v.stuck > 0 {
        let _ = writeln!(
            out,
            "\nStuck: {} in-progress spaces not updated recently (see --stuck)",
            thousands(v.stuck)
        );
    }
    if v.invalid_items > 0 {
        let _ = writeln!(
            out,
            "Invalid items: {} (missing or mistyped attributes)",
            thousands(v.invalid_items)
        );
    }
    if let Some(t) = &v.throughput {
        throughput(&mut out, t);
    }
    if let Some(e) = &v.eta {
        migration_eta(&mut out, e);
    }
    if let Some(d) = &v.durations {
        let _ = writeln!(out, "Time per space: {}", time_per_space(d));
    }
    let _ = writeln!(out);
    section(&mut out, "Progress by Instance:");
    for i in &v.instances {
        let name = if i.instance_id.is_empty() {
            "(none)"
        } else {
            &i.instance_id
        };
        let _ = writeln!(out, "\nInstance {}:", plain(name));
        let _ = writeln!(
            out,
            "  Spaces: {}/{} ({}%)",
            thousands(i.spaces.completed),
            thousands(i.spaces.total),
            percent(i.spaces.completed, i.spaces.total)
        );
        let _ = writeln!(
            out,
            "  Uploads: {}/{} ({}%)",
            thousands(i.uploads.completed),
            thousands(i.uploads.total),
            percent(i.uploads.completed, i.uploads.total)
        );
        if let Some(d) = &i.durations {
            let _ = writeln!(out, "  Time per space: {}", time_per_space(d));
        }
        if let Some(e) = v.eta.as_ref().and_then(|e| e.instance(&i.instance_id)) {
            let _ = writeln!(out, "  ETA: {}", eta_text(e));
        }
    }
    out
}

/// The overview's throughput and ETA (watch mode).
fn throughput(out: &mut String, t: &Throughput) {
    let _ = writeln!(out, "\nThroughput (last {}):", duration(t.window_seconds));
    let _ = writeln!(
        out,
        "  Uploads: {}/min",
        thousands(t.uploads_per_minute.round() as u64)
    );
    let _ = writeln!(
        out,
        "  Spaces: {}/hour",
        thousands(t.spaces_per_hour.round() as u64)
    );
}

/// The migration's ETA: its slowest instance's, with the range (watch mode).
fn migration_eta(out: &mut String, e: &MigrationEta) {
    let _ = writeln!(
        out,
        "  ETA: {} ({} uploads remaining)",
        eta_text(&e.eta),
        thousands(e.eta.uploads_remaining)
    );
    if let Some(slowest) = &e.slowest_instance {
        let _ = writeln!(out, "  Slowest instance: {}", plain(slowest));
    }
    if e.unassigned_uploads > 0 {
        let _ = writeln!(
            out,
            "  Not yet on an instance: {} uploads (in no ETA)",
            thousands(e.unassigned_uploads)
        );
    }
}

/// `--customer DID`.
pub fn customer(v: &CustomerView, opts: TextOptions) -> String {
    let mut out = String::new();
    title(&mut out, &format!("Customer: {}", v.customer));
    let _ = writeln!(out, "Total Spaces: {}\n", thousands(v.spaces.total));
    let _ = writeln!(out, "Status:");
    status_block(&mut out, &v.spaces, false, opts);
    let _ = writeln!(out);
    section(&mut out, "Spaces:");
    let shown = cut(opts.limit, v.rows.len());
    for row in &v.rows[..shown] {
        let prefix = status_prefix(row.status_kind, opts.color);
        match row.status_kind {
            Status::Pending => {
                let _ = writeln!(out, "  {prefix}{}", plain(&row.space));
            }
            status => {
                let _ = writeln!(
                    out,
                    "  {prefix}{} ({}/{} uploads)",
                    plain(&row.space),
                    thousands(row.completed_uploads),
                    thousands(row.total_uploads)
                );
                if status != Status::Completed {
                    let _ = writeln!(out, "     {}", who(row));
                    let _ = writeln!(out, "     Updated: {}", when(row.updated_ms));
                }
                if let Some(e) = row.error.as_deref().filter(|e| !e.is_empty()) {
                    let _ = writeln!(out, "     Error: {}", plain(e));
                }
            }
        }
    }
    more(&mut out, shown, v.rows.len());
    out
}

/// `--customer DID --space DID`.
pub fn space(row: &SpaceRow, opts: TextOptions) -> String {
    let mut out = String::new();
    title(&mut out, "Space Migration Status");
    let _ = writeln!(out, "Space: {}", plain(&row.space));
    let _ = writeln!(out, "Customer: {}", plain(&row.customer));
    let _ = writeln!(
        out,
        "Status: {}{}\n",
        status_prefix(row.status_kind, opts.color),
        row.status
    );
    let _ = writeln!(
        out,
        "Uploads: {}/{}\n",
        thousands(row.completed_uploads),
        thousands(row.total_uploads)
    );
    let _ = writeln!(
        out,
        "Instance: {}",
        plain(row.instance_id.as_deref().unwrap_or("-"))
    );
    let _ = writeln!(
        out,
        "Worker: {}\n",
        plain(row.worker_id.as_deref().unwrap_or("-"))
    );
    let _ = writeln!(out, "Created: {}", when(row.created_ms));
    let _ = writeln!(out, "Updated: {}", when(row.updated_ms));
    if let Some(last) = &row.last_processed_upload {
        let _ = writeln!(out, "\nLast Upload: {}", plain(last));
    }
    if let Some(e) = row.error.as_deref().filter(|e| !e.is_empty()) {
        let _ = writeln!(out, "\nError: {}", plain(e));
    }
    out
}

/// `--instance N`.
pub fn instance(v: &InstanceView, opts: TextOptions) -> String {
    let mut out = String::new();
    title(
        &mut out,
        &format!("Instance {} Progress", plain(&v.instance_id)),
    );
    let _ = writeln!(out, "Total Spaces: {}", thousands(v.spaces.total));
    status_block(&mut out, &v.spaces, false, opts);
    let _ = writeln!(out, "\nTotal Uploads: {}", thousands(v.uploads.total));
    let _ = writeln!(out, "  ✓ Completed: {}\n", thousands(v.uploads.completed));
    if let Some(d) = &v.durations {
        let _ = writeln!(out, "Time per space: {}\n", time_per_space(d));
    }
    section(&mut out, "Progress by Worker:");
    for w in &v.workers {
        let name = if w.worker_id.is_empty() {
            "(none)"
        } else {
            &w.worker_id
        };
        let _ = writeln!(
            out,
            "  Worker {}: {}/{} completed",
            plain(name),
            thousands(w.spaces.completed),
            thousands(w.spaces.total)
        );
        if w.spaces.in_progress > 0 {
            let _ = writeln!(out, "    In Progress: {}", thousands(w.spaces.in_progress));
        }
        if w.stuck > 0 {
            let _ = writeln!(out, "    Stuck: {}", thousands(w.stuck));
        }
        if w.spaces.failed > 0 {
            let _ = writeln!(out, "    Failed: {}", thousands(w.spaces.failed));
        }
    }
    out
}

/// `--failed`.
pub fn failed(v: &FailedView, opts: TextOptions) -> String {
    let mut out = String::new();
    title(&mut out, "Failed Migrations");
    let _ = writeln!(out, "Total Failed: {}\n", thousands(v.total));
    error_classes(&mut out, v);
    let shown = cut(opts.limit, v.rows.len());
    for r in &v.rows[..shown] {
        let row = &r.space;
        let _ = writeln!(out, "✗ {}", plain(&row.space));
        let _ = writeln!(out, "  Customer: {}", plain(&row.customer));
        let _ = writeln!(out, "  {}", who(row));
        let _ = writeln!(
            out,
            "  Error: {}",
            plain(
                row.error
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .unwrap_or("(none recorded)")
            )
        );
        let _ = writeln!(out, "  Updated: {}\n", when(row.updated_ms));
    }
    more(&mut out, shown, v.rows.len());
    out
}

/// The failed spaces by error class, before the list; and which class the list shows.
fn error_classes(out: &mut String, v: &FailedView) {
    if v.classes.is_empty() {
        return;
    }
    let _ = writeln!(out, "By error class:");
    let width = v
        .classes
        .iter()
        .map(|c| thousands(c.failed).len())
        .max()
        .unwrap_or(1);
    for c in &v.classes {
        let _ = writeln!(
            out,
            "  {:>width$}  {} (retryable: {})",
            thousands(c.failed),
            plain(&c.error_class),
            c.retryable
        );
    }
    let _ = writeln!(out);
    if let Some(class) = &v.error_class {
        let _ = writeln!(
            out,
            "Showing error class {}: {}\n",
            plain(class),
            thousands(v.rows.len() as u64)
        );
    }
}

/// "1 hour", "90 minutes", "2 hours".
fn threshold(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds.is_multiple_of(3600) {
        plural(seconds / 3600, "hour")
    } else if seconds.is_multiple_of(60) {
        plural(seconds / 60, "minute")
    } else {
        plural(seconds, "second")
    }
}

/// `--stuck`.
pub fn stuck(v: &StuckView, opts: TextOptions) -> String {
    let mut out = String::new();
    title(
        &mut out,
        &format!(
            "Stuck Migrations (in-progress >{})",
            threshold(v.stuck_after_seconds)
        ),
    );
    let _ = writeln!(out, "Total Stuck: {}\n", thousands(v.total));
    let shown = cut(opts.limit, v.rows.len());
    for r in &v.rows[..shown] {
        let row = &r.space;
        let _ = writeln!(out, "⏳ {}", plain(&row.space));
        let _ = writeln!(out, "  Customer: {}", plain(&row.customer));
        let _ = writeln!(out, "  {}", who(row));
        let _ = writeln!(
            out,
            "  Stuck for: {} minutes",
            thousands(r.stuck_minutes as u64)
        );
        let _ = writeln!(
            out,
            "  Progress: {}/{} uploads",
            thousands(row.completed_uploads),
            thousands(row.total_uploads)
        );
        let _ = writeln!(out, "  Last Update: {}\n", when(row.updated_ms));
    }
    more(&mut out, shown, v.rows.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_reads_naturally() {
        assert_eq!(threshold(3600), "1 hour");
        assert_eq!(threshold(7200), "2 hours");
        assert_eq!(threshold(5400), "90 minutes");
        assert_eq!(threshold(45), "45 seconds");
    }

    #[test]
    fn cut_zero_means_all() {
        assert_eq!(cut(0, 500), 500);
        assert_eq!(cut(20, 500), 20);
        assert_eq!(cut(20, 3), 3);
    }
}
