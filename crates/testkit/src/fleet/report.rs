//! What the fleet reports (`"version": 1`, see the README): spaces and uploads by status, per
//! worker and in all, and the stuck and failed spaces by name, counted from the fleet's own
//! acknowledged writes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Fleet, WorkerState};
use migration_core::model::{Status, Timestamp};

/// Spaces by status, the monitor's field names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u64,
    pub pending: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Pending => self.pending += 1,
            Status::InProgress => self.in_progress += 1,
            Status::Completed => self.completed += 1,
            Status::Failed => self.failed += 1,
            Status::Unknown => {}
        }
    }
}

/// Uploads done of a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Uploads {
    pub completed: u64,
    pub total: u64,
}

/// One worker in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetWorkerReport {
    pub instance_id: String,
    pub worker_id: String,
    pub state: WorkerState,
    pub clock_skew_seconds: u64,
    pub spaces: Counts,
    pub uploads: Uploads,
    /// Spaces it abandoned mid-way in this run.
    pub stalled: u64,
    /// Its in-progress spaces whose `updatedAt` (as written) is older than `stuck_after`.
    pub stuck: u64,
}

/// A space named in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceReport {
    pub customer: String,
    pub space: String,
    pub instance_id: String,
    pub worker_id: String,
    pub completed_uploads: u64,
    pub total_uploads: u64,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the fleet did and what the table holds, by its own count (`"version": 1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub version: u32,
    pub seed: u64,
    pub at: String,
    pub elapsed_seconds: f64,
    /// `running`, `finished` (every worker idle or dead: the table no longer changes) or
    /// `stopped` (shut down before finishing).
    pub state: &'static str,
    pub stuck_after_seconds: u64,
    pub spaces: Counts,
    pub uploads: Uploads,
    pub stalled: u64,
    pub stuck: u64,
    pub workers: Vec<FleetWorkerReport>,
    /// Stuck spaces, oldest first.
    pub stuck_spaces: Vec<SpaceReport>,
    pub failed_spaces: Vec<SpaceReport>,
}

impl Fleet {
    /// What the fleet did and what the table holds now, by its own count.
    pub fn report(&self) -> FleetReport {
        let now = Timestamp::now();
        let cutoff = now.minus(self.config.stuck_after);
        let l = self.lock();
        let mut workers: Vec<FleetWorkerReport> = self
            .plan
            .workers
            .iter()
            .zip(&l.workers)
            .map(|(w, state)| FleetWorkerReport {
                instance_id: w.instance_id.clone(),
                worker_id: w.worker_id.clone(),
                state: *state,
                clock_skew_seconds: w.skew.as_secs(),
                spaces: Counts::default(),
                uploads: Uploads::default(),
                stalled: 0,
                stuck: 0,
            })
            .collect();
        let mut spaces = Counts::default();
        let mut uploads = Uploads::default();
        let (mut stuck_spaces, mut failed_spaces) = (BTreeMap::new(), Vec::new());
        for (s, k) in self.plan.spaces.iter().zip(&l.known) {
            let w = &mut workers[s.worker];
            w.spaces.add(k.status);
            spaces.add(k.status);
            for u in [&mut w.uploads, &mut uploads] {
                u.completed += k.completed;
                u.total += s.total;
            }
            w.stalled += u64::from(k.stalled);
            let named = || SpaceReport {
                customer: s.key.customer.clone(),
                space: s.key.space.clone(),
                instance_id: self.plan.workers[s.worker].instance_id.clone(),
                worker_id: self.plan.workers[s.worker].worker_id.clone(),
                completed_uploads: k.completed,
                total_uploads: s.total,
                updated_at: k.updated_at.to_iso(),
                error: k.error.clone(),
            };
            if k.status == Status::InProgress && k.updated_at < cutoff {
                w.stuck += 1;
                stuck_spaces.insert((k.updated_at, s.key.space.clone()), named());
            }
            if k.status == Status::Failed {
                failed_spaces.push(named());
            }
        }
        let all_done = l
            .workers
            .iter()
            .all(|s| matches!(s, WorkerState::Idle | WorkerState::Dead));
        FleetReport {
            version: 1,
            seed: self.config.seed,
            at: now.to_iso(),
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
            state: if all_done {
                "finished"
            } else if l.stopped || l.workers.contains(&WorkerState::Stopped) {
                "stopped"
            } else {
                "running"
            },
            stuck_after_seconds: self.config.stuck_after.as_secs(),
            spaces,
            uploads,
            stalled: workers.iter().map(|w| w.stalled).sum(),
            stuck: workers.iter().map(|w| w.stuck).sum(),
            workers,
            stuck_spaces: stuck_spaces.into_values().collect(),
            failed_spaces,
        }
    }
}
