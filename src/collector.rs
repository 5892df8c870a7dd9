//! Renders the published state as Prometheus metrics. The [`MigrationCollector`] builds every label
//! set fresh from the latest snapshot on each scrape, so a worker that leaves the table leaves
//! `/metrics` too; it never touches DynamoDB. This is the only place metric values are set.

use std::sync::Arc;
use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::error::ErrorKind;
use crate::item::InvalidReason;
use crate::meter::{ReadMeter, ReadOp};
use crate::model::Status;
use crate::snapshot::{RefreshKind, SnapshotStore};

/// Collects the migration and exporter metrics from a [`SnapshotStore`] and a [`ReadMeter`].
pub struct MigrationCollector {
    store: Arc<SnapshotStore>,
    meter: Arc<ReadMeter>,
    /// Appended to data metrics' HELP: where the values come from and how often.
    source: String,
}

impl MigrationCollector {
    pub fn new(
        store: Arc<SnapshotStore>,
        meter: Arc<ReadMeter>,
        table: &str,
        interval: Duration,
    ) -> Self {
        let source = format!(
            "From a background read of DynamoDB table {table} every {}.",
            humantime::format_duration(interval)
        );
        MigrationCollector {
            store,
            meter,
            source,
        }
    }

    fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        GaugeVec::new(Opts::new(name, format!("{help} {}", self.source)), labels)
            .expect("metric names and labels are valid")
    }
}

fn own_gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("metric names and labels are valid")
}

fn own_counter(name: &str, help: &str, labels: &[&str]) -> CounterVec {
    CounterVec::new(Opts::new(name, help), labels).expect("metric names and labels are valid")
}

impl Collector for MigrationCollector {
    fn desc(&self) -> Vec<&Desc> {
        // Label sets change with the table, so this collector is unchecked, as Prometheus'
        // Go client calls it: families are described by what `collect` returns.
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.store.load();
        let mut families = Vec::new();

        if let Some(snap) = &state.snapshot {
            let labels = ["status", "instance_id", "worker_id"];
            let spaces = self.gauge("migration_spaces", "Spaces by migration status.", &labels);
            let uploads = self.gauge(
                "migration_uploads",
                "Uploads (sum of totalUploads) of the spaces in each status.",
                &labels,
            );
            let completed = self.gauge(
                "migration_uploads_completed",
                "Uploads migrated (sum of completedUploads) of the spaces in each status.",
                &labels,
            );
            let pair = ["instance_id", "worker_id"];
            let stuck = self.gauge(
                "migration_spaces_stuck",
                &format!(
                    "In-progress spaces whose updatedAt was older than {} when read.",
                    humantime::format_duration(snap.stuck_after)
                ),
                &pair,
            );
            let oldest = self.gauge(
                "migration_in_progress_oldest_update_timestamp_seconds",
                "Oldest updatedAt among in-progress spaces, in seconds since the epoch; staleness is time() minus this.",
                &pair,
            );
            let info = self.gauge(
                "migration_stuck_space_info",
                "A stuck space (oldest first, capped by --metrics.max-space-series); the value is its updatedAt in seconds since the epoch.",
                &["space", "instance_id", "worker_id"],
            );
            for (key, stats) in &snap.workers {
                let (i, w) = (key.instance_id.as_str(), key.worker_id.as_str());
                for status in Status::ALL {
                    let t = stats.status(status);
                    let l = [status.as_str(), i, w];
                    spaces.with_label_values(&l).set(t.spaces as f64);
                    uploads.with_label_values(&l).set(t.uploads as f64);
                    completed
                        .with_label_values(&l)
                        .set(t.completed_uploads as f64);
                }
                stuck.with_label_values(&[i, w]).set(stats.stuck as f64);
                if let Some(ts) = stats.oldest_in_progress_update {
                    oldest.with_label_values(&[i, w]).set(ts.as_secs_f64());
                }
            }
            for s in &snap.stuck_spaces {
                info.with_label_values(&[&s.key.space, &s.instance_id, &s.worker_id])
                    .set(s.updated_at.as_secs_f64());
            }
            for v in [spaces, uploads, completed, stuck, oldest, info] {
                families.extend(v.collect());
            }
        }

        let health = &state.health;
        let build = own_gauge(
            "migration_exporter_build_info",
            "The exporter's version; always 1.",
            &["version"],
        );
        build
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        let ok = own_gauge(
            "migration_exporter_last_refresh_success",
            "Whether the most recent refresh succeeded (1) or failed (0, the previous snapshot is still served).",
            &[],
        );
        ok.with_label_values::<&str>(&[])
            .set(if health.last_refresh_ok { 1.0 } else { 0.0 });
        let last = own_gauge(
            "migration_exporter_last_refresh_success_timestamp_seconds",
            "When the last successful refresh finished, in seconds since the epoch (0 before the first).",
            &[],
        );
        last.with_label_values::<&str>(&[])
            .set(health.last_success.map_or(0.0, |t| t.as_secs_f64()));
        let duration = own_gauge(
            "migration_exporter_refresh_duration_seconds",
            "How long the last successful refresh of each kind took.",
            &["kind"],
        );
        let refreshes = own_counter(
            "migration_exporter_refreshes_total",
            "Successful refreshes, by kind.",
            &["kind"],
        );
        let items = own_counter(
            "migration_exporter_items_read_total",
            "Items read from DynamoDB by refreshes, by kind.",
            &["kind"],
        );
        for kind in RefreshKind::ALL {
            let k = [kind.as_str()];
            if let Some(secs) = health.last_duration_seconds[kind.index()] {
                duration.with_label_values(&k).set(secs);
            }
            refreshes
                .with_label_values(&k)
                .inc_by(health.refreshes[kind.index()] as f64);
            items
                .with_label_values(&k)
                .inc_by(health.items_read[kind.index()] as f64);
        }
        let capacity = own_counter(
            "migration_exporter_read_capacity_units_total",
            "DynamoDB read capacity units consumed, as reported by ReturnConsumedCapacity, by operation.",
            &["operation"],
        );
        for op in ReadOp::ALL {
            capacity
                .with_label_values(&[op.as_str()])
                .inc_by(self.meter.capacity_units(op));
        }
        let errors = own_counter(
            "migration_exporter_refresh_errors_total",
            "Failed refreshes, by kind of error.",
            &["kind"],
        );
        for kind in ErrorKind::ALL {
            errors
                .with_label_values(&[kind.as_str()])
                .inc_by(health.errors[kind.index()] as f64);
        }
        let invalid = own_counter(
            "migration_exporter_invalid_items_total",
            "Items read that had missing, mistyped or absurd attributes, by reason (an item can have several).",
            &["reason"],
        );
        for reason in InvalidReason::ALL {
            invalid
                .with_label_values(&[reason.as_str()])
                .inc_by(health.invalid_items[reason.index()] as f64);
        }
        for v in [build, ok, last, duration] {
            families.extend(v.collect());
        }
        for v in [refreshes, items, capacity, errors, invalid] {
            families.extend(v.collect());
        }
        families
    }
}

/// A registry holding one collector, rendering the text exposition format.
pub struct MetricsRenderer {
    registry: Registry,
}

impl MetricsRenderer {
    pub fn new(collector: MigrationCollector) -> Self {
        let registry = Registry::new();
        registry
            .register(Box::new(collector))
            .expect("a fresh registry accepts one collector");
        MetricsRenderer { registry }
    }

    /// The content type of [`MetricsRenderer::render`]'s output.
    pub fn content_type(&self) -> String {
        TextEncoder::new().format_type().to_owned()
    }

    /// The current metrics in the text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}
