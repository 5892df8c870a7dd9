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
                info.with_label_values(&[&s.space, &s.instance_id, &s.worker_id])
                    .set(s.updated_at.as_secs_f64());
            }
            let invalid = self.gauge(
                "migration_invalid_spaces",
                "Spaces whose record has a missing, mistyped or absurd attribute, by reason (a space can have several).",
                &["reason"],
            );
            for reason in InvalidReason::ALL {
                invalid
                    .with_label_values(&[reason.as_str()])
                    .set(snap.invalid[reason.index()] as f64);
            }
            for v in [spaces, uploads, completed, stuck, oldest, info, invalid] {
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
        let attempts = own_counter(
            "migration_exporter_dynamodb_errors_total",
            "DynamoDB attempts answered with a throttling error or a server error, by kind, including those the SDK retried successfully.",
            &["kind"],
        );
        attempts
            .with_label_values(&["throttled"])
            .inc_by(self.meter.throttled() as f64);
        attempts
            .with_label_values(&["server"])
            .inc_by(self.meter.server_errors() as f64);
        families.extend(attempts.collect());
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
        let drift = own_counter(
            "migration_exporter_drift_items_total",
            "Items a full scan found different from the state incremental refreshes kept (missed changes and deletions).",
            &[],
        );
        drift
            .with_label_values::<&str>(&[])
            .inc_by(health.drift_items as f64);
        for v in [refreshes, items, capacity, errors, invalid, drift] {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aggregate::{StuckSpace, Totals, WorkerStats};
    use crate::model::Timestamp;
    use crate::snapshot::{Health, Published, Snapshot, WorkerKey};

    const GOLDEN: &str = "tests/golden/metrics.prom";

    fn totals(spaces: u64, uploads: u64, completed_uploads: u64) -> Totals {
        Totals {
            spaces,
            uploads,
            completed_uploads,
        }
    }

    fn snapshot() -> Snapshot {
        let t = |s: &str| Timestamp::parse_iso(s).unwrap();
        let mut one = WorkerStats::default();
        one.by_status[Status::Completed.index()] = totals(823, 400_123, 400_123);
        one.by_status[Status::InProgress.index()] = totals(2, 3_000, 1_234);
        one.by_status[Status::Pending.index()] = totals(781, 390_000, 0);
        one.stuck = 1;
        one.oldest_in_progress_update = Some(t("2025-10-31T13:08:23.000Z"));
        let mut unassigned = WorkerStats::default();
        unassigned.by_status[Status::Pending.index()] = totals(12, 0, 0);
        unassigned.by_status[Status::Unknown.index()] = totals(1, 5, 0);
        let mut failed = WorkerStats::default();
        failed.by_status[Status::Failed.index()] = totals(1, 2_000, 567);
        let workers = BTreeMap::from([
            (key("1", "1"), one),
            (key("", ""), unassigned),
            (key("2", "5"), failed),
        ]);
        let mut invalid = [0; InvalidReason::ALL.len()];
        invalid[InvalidReason::UnknownStatus.index()] = 1;
        Snapshot {
            taken_at: t("2025-10-31T15:15:00.000Z"),
            stuck_after: Duration::from_secs(3600),
            workers,
            stuck_spaces: vec![StuckSpace {
                updated_at: t("2025-10-31T13:08:23.000Z"),
                space: "did:key:z6Mkk".into(),
                instance_id: "1".into(),
                worker_id: "1".into(),
            }],
            invalid,
            items: 1_621,
            invalid_items: 1,
        }
    }

    fn key(i: &str, w: &str) -> WorkerKey {
        WorkerKey {
            instance_id: i.into(),
            worker_id: w.into(),
        }
    }

    fn render(published: Published, meter: ReadMeter) -> String {
        let store = Arc::new(SnapshotStore::new());
        store.publish(published);
        let collector = MigrationCollector::new(
            store,
            Arc::new(meter),
            "migration-progress",
            Duration::from_secs(30),
        );
        MetricsRenderer::new(collector).render()
    }

    #[test]
    fn renders_the_golden_exposition() {
        let snap = snapshot();
        let mut health = Health::default();
        let mut report = crate::refresh::RefreshReport {
            items: snap.items,
            invalid: snap.invalid,
            ..Default::default()
        };
        report.drift = 3;
        health.record_success(
            RefreshKind::Full,
            &report,
            Duration::from_millis(1_250),
            Timestamp::parse_iso("2025-10-31T15:15:01.250Z").unwrap(),
        );
        health.record_failure(ErrorKind::Throttled);
        let meter = ReadMeter::default();
        meter.record(ReadOp::Scan, Some(55.5), 1_621);
        meter.record(ReadOp::Describe, None, 0);
        let text = render(
            Published {
                snapshot: Some(Arc::new(snap)),
                health,
            },
            meter,
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text, golden,
            "rendering changed; rerun with UPDATE_GOLDEN=1 if intended"
        );
    }

    #[test]
    fn before_the_first_refresh_only_exporter_health_is_shown() {
        let text = render(Published::default(), ReadMeter::default());
        assert!(!text.contains("migration_spaces"));
        assert!(text.contains("migration_exporter_last_refresh_success 0\n"));
        assert!(text.contains("migration_exporter_last_refresh_success_timestamp_seconds 0\n"));
        assert!(text.contains("migration_exporter_refresh_errors_total{kind=\"throttled\"} 0\n"));
    }

    #[test]
    fn every_status_is_present_for_every_worker_seen() {
        let text = render(
            Published {
                snapshot: Some(Arc::new(snapshot())),
                health: Health::default(),
            },
            ReadMeter::default(),
        );
        for (i, w) in [("1", "1"), ("", ""), ("2", "5")] {
            for s in Status::ALL {
                let series = format!(
                    "migration_spaces{{instance_id=\"{i}\",status=\"{}\",worker_id=\"{w}\"}}",
                    s.as_str()
                );
                assert!(text.contains(&series), "missing {series}");
            }
        }
    }
}
