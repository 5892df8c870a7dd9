//! The monitor's views as data: the overview and instance views select their figures from the
//! read path's [`Report`] (the same figures the exporter's status page shows); the customer,
//! space, failed and stuck views are built from records. Serialisable as stable JSON, rendered
//! as text by the text layout. Pure code: no I/O.

use std::time::Duration;

use serde::Serialize;

use super::format;
use migration_core::failure::{Classifier, Retryable};
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::report::{
    DurationSummary, FailureClassReport, MigrationEta, Progress, Report, StatusCounts, Throughput,
    failures,
};
use migration_core::state::snapshot::FoldContext;
use migration_core::state::spaces::TableState;

/// One instance's line in the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary {
    pub instance_id: String,
    pub spaces: Progress,
    pub uploads: Progress,
    /// How long its completed spaces took (p50, p90); none before one.
    pub durations: Option<DurationSummary>,
}

/// The default view: the whole table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// When the read started (ISO 8601).
    pub taken_at: String,
    pub spaces: StatusCounts,
    pub uploads: Progress,
    pub stuck: u64,
    pub invalid_items: u64,
    pub instances: Vec<InstanceSummary>,
    /// Over the recent refreshes (watch mode), once there are two.
    pub throughput: Option<Throughput>,
    /// When each instance and the migration end (watch mode), once there are two refreshes.
    pub eta: Option<MigrationEta>,
    /// How long completed spaces took over the whole table (p50, p90); none before one.
    pub durations: Option<DurationSummary>,
}

impl Overview {
    /// The overview's figures, as the report has them.
    pub fn of(report: &Report) -> Overview {
        Overview {
            taken_at: report.taken_at.to_iso(),
            spaces: report.spaces,
            uploads: report.uploads,
            stuck: report.stuck,
            invalid_items: report.invalid_items,
            instances: report
                .instances
                .iter()
                .map(|i| InstanceSummary {
                    instance_id: i.instance_id.clone(),
                    spaces: i.spaces_progress,
                    uploads: i.uploads,
                    durations: i.durations.clone(),
                })
                .collect(),
            throughput: report.throughput.clone(),
            eta: report.eta.clone(),
            durations: report.durations.clone(),
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
    /// How long its completed spaces took (p50, p90); none before one.
    pub durations: Option<DurationSummary>,
    pub workers: Vec<WorkerSummary>,
}

impl InstanceView {
    /// One instance's figures, as the report has them (all zero for an instance with no space).
    pub fn of(report: &Report, instance_id: &str) -> InstanceView {
        let instance = report.instance(instance_id);
        InstanceView {
            instance_id: instance_id.to_owned(),
            taken_at: report.taken_at.to_iso(),
            spaces: instance.map(|i| i.spaces).unwrap_or_default(),
            uploads: instance.map(|i| i.uploads).unwrap_or_default(),
            stuck: instance.map_or(0, |i| i.stuck),
            durations: instance.and_then(|i| i.durations.clone()),
            workers: report
                .workers_of(instance_id)
                .map(|w| WorkerSummary {
                    worker_id: w.worker_id.clone(),
                    spaces: w.spaces,
                    uploads: w.uploads,
                    stuck: w.stuck,
                })
                .collect(),
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
            spaces: StatusCounts::of_statuses(records.iter().map(|r| r.status)),
            rows: records.iter().map(SpaceRow::from).collect(),
        }
    }
}

/// Failed spaces, most recently updated first, after their error classes (every class, most
/// failed first, from the same state and report code as the exporter's); `error_class` keeps
/// only the spaces of one class in the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedView {
    pub total: u64,
    pub classes: Vec<FailureClassReport>,
    /// The class the list is filtered to, if any.
    pub error_class: Option<String>,
    pub rows: Vec<FailedRow>,
}

/// A failed space and the class of its error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRow {
    #[serde(flatten)]
    pub space: SpaceRow,
    pub error_class: String,
    pub retryable: Retryable,
}

impl FailedView {
    /// The view of the failed `records`, classed by `classifier`, listing those of `only`.
    pub fn new(records: &[SpaceProgress], classifier: &Classifier, only: Option<&str>) -> Self {
        let mut state = TableState::new();
        state.set_classifier(classifier.clone());
        for r in records {
            state.apply(r);
        }
        let snapshot = state.snapshot(FoldContext {
            now: Timestamp::now(),
            stuck_after: Duration::MAX,
            max_stuck_spaces: 0,
            max_failed_spaces: 0,
            max_error_classes: usize::MAX,
        });
        let mut rows: Vec<FailedRow> = records
            .iter()
            .map(|p| {
                let class = classifier.classify(p.error.as_deref());
                FailedRow {
                    space: SpaceRow::from(p),
                    error_class: class.name.into(),
                    retryable: class.retryable,
                }
            })
            .filter(|r| only.is_none_or(|c| r.error_class == c))
            .collect();
        rows.sort_by(|a, b| {
            (b.space.updated_ms.cmp(&a.space.updated_ms)).then(a.space.space.cmp(&b.space.space))
        });
        FailedView {
            total: records.len() as u64,
            classes: failures::classes(&snapshot.failure_classes),
            error_class: only.map(str::to_owned),
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
