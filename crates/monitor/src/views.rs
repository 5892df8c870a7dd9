//! The monitor's views as data: built from a [`Snapshot`] (overview, instance) or from records
//! (customer, space, failed, stuck), serialisable as stable JSON, and rendered as text by
//! the text layout. Pure code: no I/O.

use std::time::Duration;

use serde::Serialize;

use super::format;
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::snapshot::{Snapshot, Totals};

/// Spaces by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub total: u64,
    pub completed: u64,
    pub in_progress: u64,
    pub pending: u64,
    pub failed: u64,
    /// Missing or unrecognised status.
    pub unknown: u64,
}

impl StatusCounts {
    fn add(&mut self, status: Status, n: u64) {
        self.total += n;
        match status {
            Status::Completed => self.completed += n,
            Status::InProgress => self.in_progress += n,
            Status::Pending => self.pending += n,
            Status::Failed => self.failed += n,
            Status::Unknown => self.unknown += n,
        }
    }

    fn from_totals(by_status: &[Totals]) -> Self {
        let mut c = StatusCounts::default();
        for (status, t) in Status::ALL.iter().zip(by_status) {
            c.add(*status, t.spaces);
        }
        c
    }

    /// Counts of a list of records.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a SpaceProgress>) -> Self {
        let mut c = StatusCounts::default();
        for r in records {
            c.add(r.status, 1);
        }
        c
    }
}

/// A part of a whole (spaces or uploads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub completed: u64,
    pub total: u64,
}

fn uploads_of(by_status: &[Totals]) -> Progress {
    Progress {
        total: by_status.iter().map(|t| t.uploads).sum(),
        completed: by_status.iter().map(|t| t.completed_uploads).sum(),
    }
}

/// One instance's line in the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary {
    pub instance_id: String,
    pub spaces: Progress,
    pub uploads: Progress,
}

/// Rates between two refreshes, and what they predict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    pub window_seconds: f64,
    pub uploads_per_minute: f64,
    pub spaces_per_hour: f64,
    pub uploads_remaining: u64,
    /// Seconds until the remaining uploads are done at this rate; none while nothing moves.
    pub eta_seconds: Option<f64>,
}

impl Throughput {
    /// The rate from `before` to `after`; `None` when no time passed.
    pub fn between(before: &Overview, after: &Overview) -> Option<Throughput> {
        let window_ms = after.taken_at_ms - before.taken_at_ms;
        if window_ms <= 0 {
            return None;
        }
        let minutes = window_ms as f64 / 60_000.0;
        let uploads = after
            .uploads
            .completed
            .saturating_sub(before.uploads.completed) as f64;
        let spaces = after
            .spaces
            .completed
            .saturating_sub(before.spaces.completed) as f64;
        let uploads_per_minute = uploads / minutes;
        let uploads_remaining = after.uploads.total.saturating_sub(after.uploads.completed);
        Some(Throughput {
            window_seconds: window_ms as f64 / 1000.0,
            uploads_per_minute,
            spaces_per_hour: spaces / minutes * 60.0,
            uploads_remaining,
            eta_seconds: (uploads_per_minute > 0.0)
                .then(|| uploads_remaining as f64 / uploads_per_minute * 60.0),
        })
    }
}

/// The default view: the whole table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// When the read started (ISO 8601).
    pub taken_at: String,
    #[serde(skip)]
    pub taken_at_ms: i64,
    pub spaces: StatusCounts,
    pub uploads: Progress,
    pub stuck: u64,
    pub invalid_items: u64,
    pub instances: Vec<InstanceSummary>,
    /// Since the previous refresh (watch mode), once known.
    pub throughput: Option<Throughput>,
}

/// Sorts ids numerically where they are numbers, then as text (`2` before `10`).
fn id_order(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_owned())
}

impl Overview {
    pub fn from_snapshot(snap: &Snapshot) -> Overview {
        let by_status = snap.by_status();
        let mut instances: Vec<InstanceSummary> = Vec::new();
        for (key, stats) in &snap.workers {
            let idx = match instances
                .iter()
                .position(|i| i.instance_id == key.instance_id)
            {
                Some(i) => i,
                None => {
                    instances.push(InstanceSummary {
                        instance_id: key.instance_id.clone(),
                        spaces: Progress::default(),
                        uploads: Progress::default(),
                    });
                    instances.len() - 1
                }
            };
            let all = stats.all();
            let i = &mut instances[idx];
            i.spaces.total += all.spaces;
            i.spaces.completed += stats.status(Status::Completed).spaces;
            i.uploads.total += all.uploads;
            i.uploads.completed += all.completed_uploads;
        }
        instances.sort_by_key(|i| id_order(&i.instance_id));
        Overview {
            taken_at: snap.taken_at.to_iso(),
            taken_at_ms: snap.taken_at.as_millis(),
            spaces: StatusCounts::from_totals(&by_status),
            uploads: uploads_of(&by_status),
            stuck: snap.stuck_total(),
            invalid_items: snap.invalid_items,
            instances,
            throughput: None,
        }
    }
}

/// One worker's line in the instance view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerSummary {
    pub worker_id: String,
    pub spaces: StatusCounts,
    pub uploads: Progress,
    pub stuck: u64,
}

/// One instance, grouped by worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceView {
    pub instance_id: String,
    pub taken_at: String,
    pub spaces: StatusCounts,
    pub uploads: Progress,
    pub stuck: u64,
    pub workers: Vec<WorkerSummary>,
}

impl InstanceView {
    pub fn from_snapshot(snap: &Snapshot, instance_id: &str) -> InstanceView {
        let mut workers: Vec<WorkerSummary> = snap
            .workers
            .iter()
            .filter(|(k, _)| k.instance_id == instance_id)
            .map(|(k, stats)| WorkerSummary {
                worker_id: k.worker_id.clone(),
                spaces: StatusCounts::from_totals(&stats.by_status),
                uploads: uploads_of(&stats.by_status),
                stuck: stats.stuck,
            })
            .collect();
        workers.sort_by_key(|w| id_order(&w.worker_id));
        let mut spaces = StatusCounts::default();
        let mut uploads = Progress::default();
        for w in &workers {
            for (status, n) in [
                (Status::Completed, w.spaces.completed),
                (Status::InProgress, w.spaces.in_progress),
                (Status::Pending, w.spaces.pending),
                (Status::Failed, w.spaces.failed),
                (Status::Unknown, w.spaces.unknown),
            ] {
                spaces.add(status, n);
            }
            uploads.total += w.uploads.total;
            uploads.completed += w.uploads.completed;
        }
        InstanceView {
            instance_id: instance_id.to_owned(),
            taken_at: snap.taken_at.to_iso(),
            spaces,
            uploads,
            stuck: workers.iter().map(|w| w.stuck).sum(),
            workers,
        }
    }
}

/// A space as the list views show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceRow {
    pub customer: String,
    pub space: String,
    pub status: String,
    pub total_uploads: u64,
    pub completed_uploads: u64,
    pub instance_id: Option<String>,
    pub worker_id: Option<String>,
    pub error: Option<String>,
    pub last_processed_upload: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(skip)]
    pub status_kind: Status,
    #[serde(skip)]
    pub created_ms: Option<i64>,
    #[serde(skip)]
    pub updated_ms: Option<i64>,
}

impl From<&SpaceProgress> for SpaceRow {
    fn from(p: &SpaceProgress) -> Self {
        SpaceRow {
            customer: p.key.customer.clone(),
            space: p.key.space.clone(),
            status: p.status.as_str().to_owned(),
            total_uploads: p.total_uploads,
            completed_uploads: p.completed_uploads,
            instance_id: p.instance_id.clone(),
            worker_id: p.worker_id.clone(),
            error: p.error.clone(),
            last_processed_upload: p.last_processed_upload.clone(),
            created_at: p.created_at.map(Timestamp::to_iso),
            updated_at: p.updated_at.map(Timestamp::to_iso),
            status_kind: p.status,
            created_ms: p.created_at.map(Timestamp::as_millis),
            updated_ms: p.updated_at.map(Timestamp::as_millis),
        }
    }
}

/// One customer's spaces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerView {
    pub customer: String,
    pub spaces: StatusCounts,
    pub rows: Vec<SpaceRow>,
}

impl CustomerView {
    pub fn new(customer: &str, records: &[SpaceProgress]) -> Self {
        CustomerView {
            customer: customer.to_owned(),
            spaces: StatusCounts::of(records),
            rows: records.iter().map(SpaceRow::from).collect(),
        }
    }
}

/// Failed spaces, most recently updated first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedView {
    pub total: u64,
    pub rows: Vec<SpaceRow>,
}

impl FailedView {
    pub fn new(records: &[SpaceProgress]) -> Self {
        let mut rows: Vec<SpaceRow> = records.iter().map(SpaceRow::from).collect();
        rows.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(a.space.cmp(&b.space)));
        FailedView {
            total: rows.len() as u64,
            rows,
        }
    }
}

/// A stuck space and for how long.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StuckRow {
    #[serde(flatten)]
    pub space: SpaceRow,
    pub stuck_minutes: i64,
}

/// In-progress spaces not updated for the threshold, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StuckView {
    pub stuck_after_seconds: u64,
    pub total: u64,
    pub rows: Vec<StuckRow>,
}

impl StuckView {
    pub fn new(records: &[SpaceProgress], stuck_after: Duration, now: Timestamp) -> Self {
        let mut rows: Vec<StuckRow> = records
            .iter()
            .map(|p| StuckRow {
                space: SpaceRow::from(p),
                stuck_minutes: format::minutes(
                    now.as_millis() - p.updated_at.map_or(now.as_millis(), Timestamp::as_millis),
                ),
            })
            .collect();
        rows.sort_by(|a, b| {
            a.space
                .updated_ms
                .cmp(&b.space.updated_ms)
                .then(a.space.space.cmp(&b.space.space))
        });
        StuckView {
            stuck_after_seconds: stuck_after.as_secs(),
            total: rows.len() as u64,
            rows,
        }
    }
}
