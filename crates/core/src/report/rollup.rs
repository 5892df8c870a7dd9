//! The per-instance and per-worker roll-ups of a snapshot, in the order people read ids
//! (numbers numerically, `2` before `10`, then text).

use serde::Serialize;

use super::counts::{Progress, StatusCounts};
use super::durations::DurationSummary;
use super::iso_opt;
use crate::model::Timestamp;
use crate::state::snapshot::Snapshot;

/// One instance: the sum of its workers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceReport {
    pub instance_id: String,
    pub spaces: StatusCounts,
    pub spaces_progress: Progress,
    pub uploads: Progress,
    pub stuck: u64,
    /// How long its completed spaces took; none before one.
    pub durations: Option<DurationSummary>,
}

/// One (instance, worker) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerReport {
    pub instance_id: String,
    pub worker_id: String,
    pub spaces: StatusCounts,
    pub uploads: Progress,
    pub stuck: u64,
    /// The newest `updatedAt` of any of its spaces (what
    /// `migration_worker_last_update_timestamp_seconds` exports); ISO 8601 in JSON.
    #[serde(serialize_with = "iso_opt")]
    pub last_activity: Option<Timestamp>,
}

/// Sorts ids numerically where they are numbers, then as text.
pub fn id_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

/// The workers of a snapshot, in id order.
pub fn workers(snap: &Snapshot) -> Vec<WorkerReport> {
    let mut out: Vec<WorkerReport> = snap
        .workers
        .iter()
        .map(|(key, stats)| WorkerReport {
            instance_id: key.instance_id.clone(),
            worker_id: key.worker_id.clone(),
            spaces: StatusCounts::of_totals(&stats.by_status),
            uploads: Progress::uploads_of_worker(stats),
            stuck: stats.stuck,
            last_activity: stats.last_update,
        })
        .collect();
    out.sort_by(|a, b| {
        id_order(&a.instance_id)
            .cmp(&id_order(&b.instance_id))
            .then_with(|| id_order(&a.worker_id).cmp(&id_order(&b.worker_id)))
    });
    out
}

/// The instances the `workers` (in id order) belong to, each their sum, in id order, with their
/// durations from `snap`.
pub fn instances(workers: &[WorkerReport], snap: &Snapshot) -> Vec<InstanceReport> {
    let mut out: Vec<InstanceReport> = Vec::new();
    for w in workers {
        if out.last().is_none_or(|i| i.instance_id != w.instance_id) {
            out.push(InstanceReport {
                instance_id: w.instance_id.clone(),
                spaces: StatusCounts::default(),
                spaces_progress: Progress::default(),
                uploads: Progress::default(),
                stuck: 0,
                durations: snap.durations.get(&w.instance_id).map(DurationSummary::of),
            });
        }
        if let Some(i) = out.last_mut() {
            i.spaces.merge(&w.spaces);
            i.uploads.merge(w.uploads);
            i.stuck += w.stuck;
            i.spaces_progress = i.spaces.progress();
        }
    }
    out
}

/// How long completed spaces took over the whole table: the instances' histograms summed.
pub fn overall_durations(snap: &Snapshot) -> Option<DurationSummary> {
    let mut all = snap.durations.values();
    let mut sum = all.next()?.clone();
    for h in all {
        sum.merge(h);
    }
    Some(DurationSummary::of(&sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_numerically_then_as_text() {
        let mut ids = vec!["10", "2", "b", "1", "a"];
        ids.sort_by_key(|id| id_order(id));
        assert_eq!(ids, ["1", "2", "10", "a", "b"]);
    }
}
