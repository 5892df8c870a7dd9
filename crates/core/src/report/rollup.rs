//! The per-instance and per-worker roll-ups of a snapshot, in the order people read ids
//! (numbers numerically, `2` before `10`, then text), with each worker's silence judged once.

use serde::Serialize;

use super::counts::{Progress, StatusCounts};
use super::durations::DurationSummary;
use super::{iso_opt, seconds_between};
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
    /// Seconds from `last_activity` to the report's `now` (negative when the worker's clock is
    /// ahead); none without a last activity.
    pub last_activity_age_seconds: Option<f64>,
    /// Written nothing for longer than the stuck threshold while it holds pending or
    /// in-progress spaces: the rule of the `MigrationWorkerSilent` alert. Never for the
    /// unassigned spaces (empty worker id) nor without a last activity.
    pub silent: bool,
}

impl WorkerReport {
    /// Whether a worker with these figures is silent, `stuck_after` judging its age.
    fn is_silent(&self, stuck_after: std::time::Duration) -> bool {
        let open = self.spaces.pending + self.spaces.in_progress;
        !self.worker_id.is_empty()
            && open > 0
            && self
                .last_activity_age_seconds
                .is_some_and(|age| age > stuck_after.as_secs_f64())
    }
}

/// Sorts ids numerically where they are numbers, then as text.
pub fn id_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

/// The workers of a snapshot, in id order, their silence as of `now`.
pub fn workers(snap: &Snapshot, now: Timestamp) -> Vec<WorkerReport> {
    let mut out: Vec<WorkerReport> = snap
        .workers
        .iter()
        .map(|(key, stats)| {
            let mut w = WorkerReport {
                instance_id: key.instance_id.clone(),
                worker_id: key.worker_id.clone(),
                spaces: StatusCounts::of_totals(&stats.by_status),
                uploads: Progress::uploads_of_worker(stats),
                stuck: stats.stuck,
                last_activity: stats.last_update,
                last_activity_age_seconds: stats.last_update.map(|t| seconds_between(t, now)),
                silent: false,
            };
            w.silent = w.is_silent(snap.stuck_after);
            w
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
    use std::time::Duration;

    use super::*;

    fn worker(worker_id: &str, pending: u64, in_progress: u64, age: Option<f64>) -> WorkerReport {
        WorkerReport {
            instance_id: "1".into(),
            worker_id: worker_id.into(),
            spaces: StatusCounts {
                pending,
                in_progress,
                completed: 3,
                ..StatusCounts::default()
            },
            uploads: Progress::default(),
            stuck: 0,
            last_activity: None,
            last_activity_age_seconds: age,
            silent: false,
        }
    }

    #[test]
    fn a_worker_is_silent_when_it_wrote_nothing_for_too_long_with_open_spaces() {
        let after = Duration::from_secs(300);
        assert!(worker("7", 0, 2, Some(301.0)).is_silent(after));
        assert!(
            worker("7", 4, 0, Some(301.0)).is_silent(after),
            "pending spaces count, as in the alert"
        );
        assert!(!worker("7", 0, 2, Some(300.0)).is_silent(after), "not yet");
        assert!(
            !worker("7", 0, 0, Some(9_999.0)).is_silent(after),
            "nothing left to do: idle, not silent"
        );
        assert!(
            !worker("", 0, 2, Some(9_999.0)).is_silent(after),
            "unassigned spaces are no worker's"
        );
        assert!(
            !worker("7", 0, 2, None).is_silent(after),
            "no readable updatedAt: no age to judge"
        );
    }

    #[test]
    fn ids_read_numerically_then_as_text() {
        let mut ids = vec!["10", "2", "b", "1", "a"];
        ids.sort_by_key(|id| id_order(id));
        assert_eq!(ids, ["1", "2", "10", "a", "b"]);
    }
}
