//! The truth the daemon tests hold `/metrics` to: what each item written should contribute
//! ([`Truth`], worked out by the test itself), the data families that follows for a set of items
//! at a given time, and the differences between a scrape and that truth.

use crate::harness::{Metrics, series_key};
use migration_core::failure::{Classifier, Retryable};
use migration_core::model::SpaceKey;
use migration_core::state::spaces::DEFAULT_BOUNDS;
use std::collections::{BTreeMap, BTreeSet};

/// What one item should contribute, worked out by the test itself.
#[derive(Debug, Clone)]
pub(crate) struct Truth {
    pub(crate) key: SpaceKey,
    pub(crate) status: &'static str,
    pub(crate) instance: String,
    pub(crate) worker: String,
    pub(crate) total: u64,
    pub(crate) completed: u64,
    /// updatedAt in ms, when readable.
    pub(crate) updated: Option<i64>,
    /// createdAt in ms, when readable.
    pub(crate) created: Option<i64>,
    /// The error text written.
    pub(crate) error: Option<String>,
}

pub(crate) const STUCK_AFTER_MS: i64 = 3_600_000;
pub(crate) const MAX_SPACE_SERIES: usize = 5;
pub(crate) const MAX_FAILED_SPACE_SERIES: usize = 4;
pub(crate) const MAX_ERROR_CLASSES: usize = 3;

pub(crate) fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    series_key(name, &labels)
}

/// The data families `/metrics` must show for `rows`, judged at `now` (ms).
pub(crate) fn expected(rows: &[Truth], now_ms: i64) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut fam: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let pairs: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.instance.clone(), r.worker.clone()))
        .collect();
    for (i, w) in &pairs {
        for status in ["pending", "in-progress", "completed", "failed", "unknown"] {
            let mine: Vec<&Truth> = rows
                .iter()
                .filter(|r| &r.instance == i && &r.worker == w && r.status == status)
                .collect();
            let l = [
                ("status", status),
                ("instance_id", i.as_str()),
                ("worker_id", w.as_str()),
            ];
            let put = |fam: &mut BTreeMap<String, BTreeMap<String, f64>>, name: &str, v: u64| {
                fam.entry(name.into())
                    .or_default()
                    .insert(key(name, &l), v as f64);
            };
            put(&mut fam, "migration_spaces", mine.len() as u64);
            put(
                &mut fam,
                "migration_uploads",
                mine.iter().map(|r| r.total).sum(),
            );
            put(
                &mut fam,
                "migration_uploads_completed",
                mine.iter().map(|r| r.completed).sum(),
            );
        }
        let in_progress: Vec<i64> = rows
            .iter()
            .filter(|r| &r.instance == i && &r.worker == w && r.status == "in-progress")
            .filter_map(|r| r.updated)
            .collect();
        let l = [("instance_id", i.as_str()), ("worker_id", w.as_str())];
        let stuck = in_progress
            .iter()
            .filter(|u| **u < now_ms - STUCK_AFTER_MS)
            .count();
        fam.entry("migration_spaces_stuck".into())
            .or_default()
            .insert(key("migration_spaces_stuck", &l), stuck as f64);
        if let Some(oldest) = in_progress.iter().min() {
            let name = "migration_in_progress_oldest_update_timestamp_seconds";
            fam.entry(name.into())
                .or_default()
                .insert(key(name, &l), *oldest as f64 / 1000.0);
        }
        // When the worker last wrote anything: its newest space, whatever the status.
        let newest = rows
            .iter()
            .filter(|r| &r.instance == i && &r.worker == w)
            .filter_map(|r| r.updated)
            .max();
        let name = "migration_worker_last_update_timestamp_seconds";
        let family = fam.entry(name.into()).or_default();
        if let Some(newest) = newest {
            family.insert(key(name, &l), newest as f64 / 1000.0);
        }
    }
    let mut failed: Vec<&Truth> = rows
        .iter()
        .filter(|r| r.status == "failed" && r.updated.is_some())
        .collect();
    failed.sort_by(|a, b| {
        b.updated
            .cmp(&a.updated)
            .then(a.key.space.cmp(&b.key.space))
    });
    let classifier = Classifier::default();
    let name = "migration_failed_space_info";
    let info = fam.entry(name.into()).or_default();
    for r in failed.iter().take(MAX_FAILED_SPACE_SERIES) {
        let class = classifier.classify(r.error.as_deref());
        let l = [
            ("space", r.key.space.as_str()),
            ("instance_id", r.instance.as_str()),
            ("worker_id", r.worker.as_str()),
            ("error_class", &class.name),
            ("retryable", class.retryable.as_str()),
        ];
        info.insert(key(name, &l), r.updated.unwrap() as f64 / 1000.0);
    }
    by_class(rows, &classifier, &mut fam);
    durations(rows, &mut fam);
    let mut stuck: Vec<&Truth> = rows
        .iter()
        .filter(|r| {
            r.status == "in-progress" && r.updated.is_some_and(|u| u < now_ms - STUCK_AFTER_MS)
        })
        .collect();
    stuck.sort_by_key(|r| (r.updated, r.key.clone()));
    let name = "migration_stuck_space_info";
    let info = fam.entry(name.into()).or_default();
    for r in stuck.iter().take(MAX_SPACE_SERIES) {
        let l = [
            ("space", r.key.space.as_str()),
            ("instance_id", r.instance.as_str()),
            ("worker_id", r.worker.as_str()),
        ];
        info.insert(key(name, &l), r.updated.unwrap() as f64 / 1000.0);
    }
    fam
}

/// `migration_failed_spaces_by_class` and `migration_failed_error_classes`, worked out the plain
/// way: count every failed row's class, keep the most frequent (ties by name, then retryable
/// true < false < unknown), sum the rest by retryability as "other".
fn by_class(
    rows: &[Truth],
    classifier: &Classifier,
    fam: &mut BTreeMap<String, BTreeMap<String, f64>>,
) {
    let mut counts: BTreeMap<(String, usize), u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == "failed") {
        let c = classifier.classify(r.error.as_deref());
        *counts
            .entry((c.name.to_string(), c.retryable.index()))
            .or_default() += 1;
    }
    let distinct = counts.len();
    let mut ranked: Vec<((String, usize), u64)> = counts.into_iter().collect();
    ranked.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    let name = "migration_failed_spaces_by_class";
    let family = fam.entry(name.into()).or_default();
    let mut other = [0u64; 3];
    let mut listed = 0;
    for ((class, retryable), n) in ranked {
        if listed < MAX_ERROR_CLASSES && class != "other" {
            listed += 1;
            let l = [
                ("error_class", class.as_str()),
                ("retryable", Retryable::ALL[retryable].as_str()),
            ];
            family.insert(key(name, &l), n as f64);
        } else {
            other[retryable] += n;
        }
    }
    for (r, n) in Retryable::ALL.iter().zip(other) {
        if n > 0 {
            let l = [("error_class", "other"), ("retryable", r.as_str())];
            family.insert(key(name, &l), n as f64);
        }
    }
    let name = "migration_failed_error_classes";
    fam.entry(name.into())
        .or_default()
        .insert(key(name, &[]), distinct as f64);
}

/// `migration_space_duration_seconds` (default buckets) and
/// `migration_space_duration_unmeasured_spaces`, per instance with a completed space, worked
/// out the plain way: each completed row's seconds from createdAt to updatedAt, rounded up.
fn durations(rows: &[Truth], fam: &mut BTreeMap<String, BTreeMap<String, f64>>) {
    let mut per_instance: BTreeMap<&str, (Vec<u64>, [u64; 2])> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == "completed") {
        let (measured, unmeasured) = per_instance.entry(&r.instance).or_default();
        match (r.created, r.updated) {
            (Some(c), Some(u)) if u >= c => measured.push((u - c).unsigned_abs().div_ceil(1000)),
            (Some(_), Some(_)) => unmeasured[1] += 1,
            _ => unmeasured[0] += 1,
        }
    }
    for (instance, (measured, unmeasured)) in per_instance {
        let mut put = |name: &str, labels: &[(&str, &str)], v: u64| {
            fam.entry(name.into())
                .or_default()
                .insert(key(name, labels), v as f64);
        };
        let name = "migration_space_duration_seconds_bucket";
        for bound in DEFAULT_BOUNDS {
            let n = measured.iter().filter(|d| **d <= u64::from(bound)).count();
            let le = bound.to_string();
            put(name, &[("instance_id", instance), ("le", &le)], n as u64);
        }
        let l = [("instance_id", instance)];
        put(name, &[l[0], ("le", "+Inf")], measured.len() as u64);
        put(
            "migration_space_duration_seconds_count",
            &l,
            measured.len() as u64,
        );
        put(
            "migration_space_duration_seconds_sum",
            &l,
            measured.iter().sum(),
        );
        let name = "migration_space_duration_unmeasured_spaces";
        for (reason, n) in ["missing_timestamp", "completed_before_created"]
            .iter()
            .zip(unmeasured)
        {
            put(name, &[l[0], ("reason", reason)], n);
        }
    }
}

/// Differences between what was scraped and what is expected, empty when they agree.
pub(crate) fn diff(
    scraped: &Metrics,
    want: &BTreeMap<String, BTreeMap<String, f64>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, series) in want {
        let got = scraped.family(name);
        for (k, v) in series {
            match got.get(k) {
                Some(g) if (g - v).abs() < 1e-3 => {}
                other => out.push(format!("{k}: want {v}, got {other:?}")),
            }
        }
        for k in got.keys().filter(|k| !series.contains_key(*k)) {
            out.push(format!("{k}: unexpected series"));
        }
    }
    out
}
