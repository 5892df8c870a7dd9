//! Renders the published state as Prometheus metrics. Every metric family is declared once in
//! [`families`](crate::families) and described once at start ([`Descriptors`]); small functions
//! fill values from the snapshot ([`fill_data`]), the exporter's health ([`fill_health`]), the
//! read meter ([`fill_reads`]) and the settings the bundled rules depend on ([`fill_settings`]);
//! the HTTP side's own counts, the one part written at every scrape, come from
//! [`HttpSection`].
//! Label sets are built fresh from the latest snapshot on each render, so a worker that leaves
//! the table leaves `/metrics` too; nothing here touches DynamoDB. What it renders is cached per
//! published state, with its gzip form, by [`page`](crate::page).

use std::sync::Arc;

use exporter_web::HttpStats;
use prometheus::proto::MetricFamily;

use super::exposition::{Descriptors, HistogramSample, Scrape};
use super::families::*;
use super::http_section::HttpSection;
use super::store::{Health, Published, SnapshotStore};
use migration_core::failure::{OTHER, Retryable};
use migration_core::model::{InvalidReason, Status};
use migration_core::state::snapshot::{DurationHistogram, FailureClasses, Snapshot};
use migration_core::state::tracker::{RefreshKind, RefreshSettings};
use migration_core::table::ErrorKind;
use migration_core::table::meter::{ReadMeter, ReadOp};

/// The migration's state, from the snapshot.
fn fill_data(snap: &Snapshot, out: &mut Scrape<'_>) {
    for (key, stats) in &snap.workers {
        let (i, w) = (key.instance_id.as_str(), key.worker_id.as_str());
        for status in Status::ALL {
            let t = stats.status(status);
            let l = [status.as_str(), i, w];
            out.set(&SPACES, &l, t.spaces as f64);
            out.set(&UPLOADS, &l, t.uploads as f64);
            out.set(&UPLOADS_COMPLETED, &l, t.completed_uploads as f64);
        }
        out.set(&SPACES_STUCK, &[i, w], stats.stuck as f64);
        if let Some(ts) = stats.oldest_in_progress_update {
            out.set(&OLDEST_UPDATE, &[i, w], ts.as_secs_f64());
        }
        if let Some(ts) = stats.last_update {
            out.set(&LAST_UPDATE, &[i, w], ts.as_secs_f64());
        }
    }
    for s in &snap.stuck_spaces {
        let l = [s.space.as_str(), &s.instance_id, &s.worker_id];
        out.set(&STUCK_SPACE_INFO, &l, s.updated_at.as_secs_f64());
    }
    for s in &snap.failed_spaces {
        let l = [
            s.space.as_str(),
            &s.instance_id,
            &s.worker_id,
            &s.class.name,
            s.class.retryable.as_str(),
        ];
        out.set(&FAILED_SPACE_INFO, &l, s.failed_at.as_secs_f64());
    }
    fill_classes(&snap.failure_classes, out);
    for (instance, h) in &snap.durations {
        fill_durations(instance, h, out);
    }
    for reason in InvalidReason::ALL {
        let v = snap.invalid[reason.index()] as f64;
        out.set(&INVALID_SPACES, &[reason.as_str()], v);
    }
}

/// Failed spaces by error class: the listed classes, then the rest as `other` by retryability.
fn fill_classes(classes: &FailureClasses, out: &mut Scrape<'_>) {
    for c in &classes.top {
        let l = [c.class.name.as_ref(), c.class.retryable.as_str()];
        out.set(&FAILED_BY_CLASS, &l, c.failed as f64);
    }
    for r in Retryable::ALL {
        let n = classes.other[r.index()];
        if n > 0 {
            out.set(&FAILED_BY_CLASS, &[OTHER, r.as_str()], n as f64);
        }
    }
    out.set(&ERROR_CLASSES, &[], classes.distinct as f64);
}

/// One instance's completed spaces by duration, and those that cannot be measured.
fn fill_durations(instance: &str, h: &DurationHistogram, out: &mut Scrape<'_>) {
    let sample = HistogramSample {
        buckets: h
            .bounds
            .iter()
            .zip(&h.cumulative)
            .map(|(b, n)| (f64::from(*b), *n))
            .collect(),
        count: h.count,
        sum: h.sum_seconds as f64,
    };
    out.set_histogram(&SPACE_DURATION, &[instance], sample);
    for (reason, n) in [
        ("missing_timestamp", h.missing_timestamps),
        ("completed_before_created", h.completed_before_created),
    ] {
        out.set(&DURATION_UNMEASURED, &[instance, reason], n as f64);
    }
}

/// The exporter's own health: build, refresh outcomes and counts.
fn fill_health(health: &Health, out: &mut Scrape<'_>) {
    out.set(&BUILD_INFO, &[env!("CARGO_PKG_VERSION")], 1.0);
    let ok = if health.last_refresh_ok { 1.0 } else { 0.0 };
    out.set(&LAST_REFRESH_SUCCESS, &[], ok);
    let last = health.last_success.map_or(0.0, |t| t.as_secs_f64());
    out.set(&LAST_SUCCESS_TIMESTAMP, &[], last);
    for kind in RefreshKind::ALL {
        let k = [kind.as_str()];
        if let Some(secs) = health.last_duration_seconds[kind.index()] {
            out.set(&REFRESH_DURATION, &k, secs);
        }
        out.set(&REFRESHES, &k, health.refreshes[kind.index()] as f64);
        out.set(&ITEMS_READ, &k, health.items_read[kind.index()] as f64);
    }
    for kind in ErrorKind::ALL {
        let v = health.errors[kind.index()] as f64;
        out.set(&REFRESH_ERRORS, &[kind.as_str()], v);
    }
    for reason in InvalidReason::ALL {
        let v = health.invalid_items[reason.index()] as f64;
        out.set(&INVALID_ITEMS, &[reason.as_str()], v);
    }
    out.set(&DRIFT_ITEMS, &[], health.drift_items as f64);
    for from in Status::ALL {
        for to in Status::ALL.into_iter().filter(|to| *to != from) {
            let v = health.transitions.get(from, to) as f64;
            out.set(&TRANSITIONS, &[from.as_str(), to.as_str()], v);
        }
    }
}

/// The settings the bundled rules depend on, so that thresholds can follow them.
fn fill_settings(settings: &RefreshSettings, out: &mut Scrape<'_>) {
    out.set(
        &STUCK_AFTER_SECONDS,
        &[],
        settings.stuck_after.as_secs_f64(),
    );
    out.set(
        &REFRESH_INTERVAL_SECONDS,
        &[],
        settings.interval.as_secs_f64(),
    );
    out.set(
        &FULL_REFRESH_INTERVAL_SECONDS,
        &[],
        settings.full_interval.as_secs_f64(),
    );
}

/// What reading the table cost, from the read meter.
fn fill_reads(meter: &ReadMeter, out: &mut Scrape<'_>) {
    for op in ReadOp::ALL {
        out.set(&READ_CAPACITY, &[op.as_str()], meter.capacity_units(op));
    }
    out.set(&DYNAMODB_ERRORS, &["throttled"], meter.throttled() as f64);
    out.set(&DYNAMODB_ERRORS, &["server"], meter.server_errors() as f64);
}

/// Collects the migration and exporter metrics from the published state and a [`ReadMeter`].
pub(crate) struct MigrationCollector {
    pub(crate) store: Arc<SnapshotStore>,
    meter: Arc<ReadMeter>,
    settings: Arc<RefreshSettings>,
    pub(crate) http: HttpSection,
    /// Every family's descriptor, built once.
    descriptors: Descriptors,
}

impl MigrationCollector {
    pub(crate) fn new(
        store: Arc<SnapshotStore>,
        meter: Arc<ReadMeter>,
        table: &str,
        settings: Arc<RefreshSettings>,
        http: Arc<HttpStats>,
    ) -> Self {
        let source = format!(
            "From a background read of DynamoDB table {table} every {}.",
            humantime::format_duration(settings.interval)
        );
        MigrationCollector {
            store,
            meter,
            descriptors: Descriptors::new(&source, settings.stuck_after),
            settings,
            http: HttpSection::new(http),
        }
    }

    /// The families of one published state (read once by the caller).
    pub(crate) fn families(&self, state: &Published) -> Vec<MetricFamily> {
        let mut out = Scrape::new(&self.descriptors);
        if let Some(snap) = &state.snapshot {
            fill_data(snap, &mut out);
        }
        fill_health(&state.health, &mut out);
        fill_reads(&self.meter, &mut out);
        fill_settings(&self.settings, &mut out);
        out.families()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::store::Health;
    use migration_core::failure::ErrorClass;
    use migration_core::model::Timestamp;
    use migration_core::state::snapshot::{
        ClassCount, DurationHistogram, FailedSpace, Snapshot, StuckSpace, Totals, Transitions,
        WorkerKey, WorkerStats,
    };
    use migration_core::table::ErrorKind;

    /// The golden exposition, at the workspace root beside the other golden files.
    const GOLDEN: &str = "../../tests/golden/metrics.prom";

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
        one.last_update = Some(t("2025-10-31T15:14:58.123Z"));
        let mut unassigned = WorkerStats::default();
        unassigned.by_status[Status::Pending.index()] = totals(12, 0, 0);
        unassigned.by_status[Status::Unknown.index()] = totals(1, 5, 0);
        let mut failed = WorkerStats::default();
        failed.by_status[Status::Failed.index()] = totals(3, 2_000, 567);
        failed.last_update = Some(t("2025-10-31T14:02:11.500Z"));
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
            failed_spaces: vec![FailedSpace {
                failed_at: t("2025-10-31T14:02:11.500Z"),
                space: "did:key:z6MkFailed".into(),
                instance_id: "2".into(),
                worker_id: "5".into(),
                class: ErrorClass::new("timeout", Retryable::Yes),
            }],
            failure_classes: FailureClasses {
                top: vec![ClassCount {
                    class: ErrorClass::new("timeout", Retryable::Yes),
                    failed: 2,
                    newest: Some(t("2025-10-31T14:02:11.500Z")),
                    examples: vec!["did:key:z6MkFailed".into()],
                }],
                other: [0, 1, 0],
                distinct: 2,
            },
            durations: BTreeMap::from([(
                "1".to_owned(),
                DurationHistogram {
                    bounds: [60u32, 3_600, 86_400].as_slice().into(),
                    cumulative: vec![3, 700, 823],
                    count: 823,
                    sum_seconds: 1_234_567,
                    missing_timestamps: 1,
                    completed_before_created: 0,
                },
            )]),
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
            Arc::new(RefreshSettings {
                interval: Duration::from_secs(30),
                full_interval: Duration::from_secs(900),
                overlap: Duration::from_secs(120),
                stuck_after: Duration::from_secs(3600),
                segments: 8,
                max_stuck_spaces: 50,
                max_failed_spaces: 50,
                max_error_classes: 20,
                duration_buckets: migration_core::state::spaces::DEFAULT_BOUNDS.to_vec(),
            }),
            Arc::new(HttpStats::default()),
        );
        // As the page renders it (page.rs): the families, then the HTTP side's lines.
        let mut out = Vec::new();
        let families = collector.families(&collector.store.load());
        prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, &mut out).unwrap();
        let mut text = String::from_utf8(out).unwrap();
        collector.http.write(&mut text);
        text
    }

    #[test]
    fn renders_the_golden_exposition() {
        let snap = snapshot();
        let mut health = Health::default();
        let mut report = migration_core::state::tracker::RefreshReport {
            items: snap.items,
            invalid: snap.invalid,
            ..Default::default()
        };
        report.drift = 3;
        let mut transitions = Transitions::default();
        transitions.count(Status::InProgress, Status::Completed);
        transitions.count(Status::InProgress, Status::Completed);
        transitions.count(Status::InProgress, Status::Failed);
        report.transitions = transitions;
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
                ..Published::default()
            },
            meter,
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if migration_testkit::golden::update_golden() {
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text, golden,
            "rendering changed; rerun with UPDATE_GOLDEN=1 if intended"
        );
    }

    #[test]
    fn every_family_is_declared_once_with_a_valid_name() {
        let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len(), "a family is declared twice");
        for f in FAMILIES {
            assert!(
                f.name.starts_with("migration_")
                    && f.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                f.name
            );
            assert_eq!(
                f.kind == Kind::Counter,
                f.name.ends_with("_total"),
                "{}",
                f.name
            );
        }
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
                ..Published::default()
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
