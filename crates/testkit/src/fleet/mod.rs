//! A simulated worker fleet: N instances x M workers migrating spaces through the table's own
//! worker operations ([`ProgressTable::create_space_progress`], `update_space_progress`,
//! `mark_space_completed`, `mark_space_failed`), for demos and tests. Every space, its upload
//! count (the seed's heavy tail), its worker and its fate (completes, fails at some upload with
//! an error, or is abandoned mid-way: a stall), which workers die and when, and which run with a
//! clock behind are drawn from one seed before anything is written; only the timing follows the
//! wall clock.
//!
//! The fleet queues every space as a `pending` record assigned to its worker, then each worker
//! takes its pending spaces in order. It resumes a table it left half done: records it finds are
//! kept, completed and failed spaces are skipped, in-progress ones are resumed from their
//! `completedUploads` (the workers' checkpoint). [`Fleet::report`] tells what it did and what the
//! table now holds, as counted from its own acknowledged writes, for comparing with the
//! exporter's gauges and the monitor's views.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::sample::{self, ERRORS, Rng};
use crate::writes::WorkerWrites;
use crate::writes::{Created, NewSpace, WriteError};
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::item;
use migration_core::table::{ProgressTable, TableError};
use plan::{Fate, FleetPlan, plan};
pub use report::{Counts, FleetReport, FleetWorkerReport, SpaceReport, Uploads};

mod plan;
mod report;

/// What the fleet is asked to do.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub instances: u32,
    pub workers_per_instance: u32,
    pub spaces: u64,
    /// Uploads each worker migrates per second ...
    pub uploads_per_second: f64,
    /// ... times this factor for the workers of instance `i + 1` (1 where none is given): a
    /// fleet whose instances run at known, different speeds.
    pub instance_speeds: Vec<f64>,
    /// Mean uploads per space (log-normal, heavy-tailed as in the seed).
    pub mean_uploads: f64,
    /// A worker records its progress every this many uploads.
    pub update_every: u64,
    /// Chance that a space fails (at a random upload, with an error).
    pub failure_probability: f64,
    /// Chance that a worker stops updating a space mid-way and moves on: the space stays
    /// in-progress and becomes stuck.
    pub stall_probability: f64,
    /// How many workers die (all their spaces stop) ...
    pub dead_workers: u32,
    /// ... this long after the start.
    pub die_after: Duration,
    /// How many workers write `updatedAt` from a clock that is behind ...
    pub skewed_workers: u32,
    /// ... by this much.
    pub clock_skew: Duration,
    /// In-progress spaces not updated for this long count as stuck in the report (use the
    /// exporter's `--stuck-after`).
    pub stuck_after: Duration,
    pub seed: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            instances: 2,
            workers_per_instance: 3,
            spaces: 200,
            uploads_per_second: 50.0,
            instance_speeds: Vec::new(),
            mean_uploads: 462.0,
            update_every: 50,
            failure_probability: 0.02,
            stall_probability: 0.02,
            dead_workers: 0,
            die_after: Duration::from_secs(60),
            skewed_workers: 0,
            clock_skew: Duration::from_secs(30),
            stuck_after: Duration::from_secs(3600),
            seed: 1,
        }
    }
}

/// Why the fleet could not run.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("invalid fleet configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What the fleet knows of one space: what its acknowledged writes left in the table.
#[derive(Debug, Clone)]
struct Known {
    status: Status,
    completed: u64,
    updated_at: Timestamp,
    error: Option<String>,
    /// Abandoned by its worker in this run.
    stalled: bool,
}

/// What a worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerState {
    Working,
    /// Done with every space it was given.
    Idle,
    /// Died as planned: its spaces stopped.
    Dead,
    /// Stopped by a shutdown (Ctrl-C).
    Stopped,
}

/// The fleet's shared ledger.
#[derive(Debug)]
struct Ledger {
    known: Vec<Known>,
    workers: Vec<WorkerState>,
    stopped: bool,
}

/// A running (or finished) fleet.
#[derive(Clone)]
pub struct Fleet {
    config: FleetConfig,
    plan: Arc<FleetPlan>,
    ledger: Arc<Mutex<Ledger>>,
    started: Instant,
}

/// How many times a write is tried before the worker gives up.
const WRITE_ATTEMPTS: u32 = 5;

impl Fleet {
    /// Plans the fleet, queues the spaces the table does not hold yet (as `pending` records)
    /// and learns the state of those it does (resume). Writes nothing else.
    pub async fn prepare(table: &ProgressTable, config: FleetConfig) -> Result<Fleet, FleetError> {
        check(&config)?;
        let plan = plan(&config);
        let existing: HashMap<SpaceKey, SpaceProgress> = table
            .scan_all_progress()
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let now = Timestamp::now();
        let mut queue = Vec::new();
        let mut known = Vec::with_capacity(plan.spaces.len());
        for s in &plan.spaces {
            let k = match existing.get(&s.key) {
                Some(r) => Known {
                    status: r.status,
                    completed: r.completed_uploads,
                    updated_at: r.updated_at.unwrap_or(now),
                    error: r.error.clone().filter(|e| !e.is_empty()),
                    stalled: false,
                },
                None => {
                    let w = &plan.workers[s.worker];
                    queue.push(item::encode(&SpaceProgress {
                        key: s.key.clone(),
                        status: Status::Pending,
                        total_uploads: s.total,
                        completed_uploads: 0,
                        last_processed_upload: None,
                        instance_id: Some(w.instance_id.clone()),
                        worker_id: Some(w.worker_id.clone()),
                        error: None,
                        created_at: Some(now),
                        updated_at: Some(now),
                        problems: Default::default(),
                    }));
                    Known {
                        status: Status::Pending,
                        completed: 0,
                        updated_at: now,
                        error: None,
                        stalled: false,
                    }
                }
            };
            known.push(k);
        }
        table.put_items(queue).await?;
        let workers = vec![WorkerState::Working; plan.workers.len()];
        Ok(Fleet {
            config,
            plan: Arc::new(plan),
            ledger: Arc::new(Mutex::new(Ledger {
                known,
                workers,
                stopped: false,
            })),
            started: Instant::now(),
        })
    }

    /// Runs every worker until each has finished its spaces or died, or until `stop` is
    /// cancelled (workers then leave their current space in progress, as a killed worker does).
    pub async fn run(
        &self,
        table: &ProgressTable,
        stop: CancellationToken,
    ) -> Result<(), FleetError> {
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..self.plan.workers.len() {
            let fleet = self.clone();
            let table = table.clone();
            let stop = stop.clone();
            tasks.spawn(async move { fleet.work(w, &table, stop).await });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined
                .unwrap_or_else(|e| Err(FleetError::Config(format!("worker task failed: {e}"))));
            if let Err(e) = outcome {
                stop.cancel();
                first_error.get_or_insert(e);
            }
        }
        if stop.is_cancelled() {
            self.lock().stopped = true;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_state(&self, worker: usize, state: WorkerState) {
        self.lock().workers[worker] = state;
    }

    /// One worker: its spaces in plan order.
    async fn work(
        &self,
        w: usize,
        table: &ProgressTable,
        stop: CancellationToken,
    ) -> Result<(), FleetError> {
        let death = self.plan.workers[w].dies_after.map(|d| self.started + d);
        let mine: Vec<usize> = (0..self.plan.spaces.len())
            .filter(|&i| self.plan.spaces[i].worker == w)
            .collect();
        for i in mine {
            if let Some(end) = self.migrate(w, i, table, &stop, death).await? {
                self.set_state(w, end);
                return Ok(());
            }
        }
        self.set_state(w, WorkerState::Idle);
        Ok(())
    }

    /// Worker `w` takes space `i` from its checkpoint to its fate; the state the worker ends
    /// in when it is stopped or dies on the way (or right after), `None` when it goes on.
    async fn migrate(
        &self,
        w: usize,
        i: usize,
        table: &ProgressTable,
        stop: &CancellationToken,
        death: Option<Instant>,
    ) -> Result<Option<WorkerState>, FleetError> {
        let me = &self.plan.workers[w];
        let now = || Timestamp::now().minus(me.skew);
        let dead = || death.is_some_and(|d| Instant::now() >= d);
        let space = &self.plan.spaces[i];
        let (status, mut done) = {
            let l = self.lock();
            (l.known[i].status, l.known[i].completed)
        };
        if matches!(status, Status::Completed | Status::Failed) {
            return Ok(None);
        }
        let new = NewSpace {
            key: space.key.clone(),
            total_uploads: space.total,
            instance_id: me.instance_id.clone(),
            worker_id: me.worker_id.clone(),
        };
        let at = now();
        let created = retry(|| table.create_space_progress(&new, at)).await?;
        if created == Created::Inserted {
            done = 0;
        }
        self.record(i, Status::InProgress, done, at, None);
        // A resumed space whose stall point is behind it goes on to its end.
        let stalls = matches!(space.fate, Fate::StallsAt { upload } if done < upload);
        let stop_at = match space.fate {
            Fate::StallsAt { upload } if stalls => upload,
            Fate::FailsAt { upload, .. } => upload.max(done),
            _ => space.total,
        };
        let mut uploads_rng = Rng::new(self.config.seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
        while done < stop_at {
            let batch = self.config.update_every.min(stop_at - done);
            let pause = Duration::from_secs_f64(batch as f64 / self.uploads_per_second(w));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stop.cancelled() => return Ok(Some(WorkerState::Stopped)),
            }
            if dead() {
                return Ok(Some(WorkerState::Dead));
            }
            done += batch;
            let at = now();
            let cid = sample::cid(&mut uploads_rng);
            retry(|| table.update_space_progress(&space.key, done, &cid, at)).await?;
            self.record(i, Status::InProgress, done, at, None);
        }
        match space.fate {
            // Abandoned: never touched again in this run.
            Fate::StallsAt { .. } if stalls => self.lock().known[i].stalled = true,
            Fate::FailsAt { error, .. } => {
                let at = now();
                retry(|| table.mark_space_failed(&space.key, ERRORS[error], at)).await?;
                self.record(i, Status::Failed, done, at, Some(ERRORS[error]));
            }
            _ => {
                let at = now();
                retry(|| table.mark_space_completed(&space.key, at)).await?;
                self.record(i, Status::Completed, done, at, None);
            }
        }
        Ok(if stop.is_cancelled() {
            Some(WorkerState::Stopped)
        } else if dead() {
            Some(WorkerState::Dead)
        } else {
            None
        })
    }

    /// How fast worker `w` migrates: the fleet's rate times its instance's speed.
    fn uploads_per_second(&self, w: usize) -> f64 {
        let instance = self.plan.workers[w].instance_no;
        let speed = self.config.instance_speeds.get(instance).copied();
        self.config.uploads_per_second * speed.unwrap_or(1.0)
    }

    fn record(&self, i: usize, status: Status, completed: u64, at: Timestamp, error: Option<&str>) {
        let mut l = self.lock();
        let k = &mut l.known[i];
        k.status = status;
        k.completed = completed;
        k.updated_at = at;
        k.error = error.map(str::to_owned);
    }
}

/// Refuses a configuration the fleet cannot run.
fn check(config: &FleetConfig) -> Result<(), FleetError> {
    if config.instances == 0 || config.workers_per_instance == 0 {
        return Err(FleetError::Config(
            "instances and workers per instance must be at least 1".into(),
        ));
    }
    let mut speeds = std::iter::once(&config.uploads_per_second).chain(&config.instance_speeds);
    if !speeds.all(|s| *s > 0.0 && s.is_finite()) {
        return Err(FleetError::Config(
            "uploads per second and instance speeds must be positive".into(),
        ));
    }
    for (name, p) in [
        ("failure probability", config.failure_probability),
        ("stall probability", config.stall_probability),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(FleetError::Config(format!("{name} must be in [0, 1]")));
        }
    }
    if config.update_every == 0 {
        return Err(FleetError::Config("update every must be at least 1".into()));
    }
    Ok(())
}

/// Tries a write up to [`WRITE_ATTEMPTS`] times (the SDK retries throttling itself; this rides
/// out a DynamoDB Local hiccup), 200 ms apart, doubling.
async fn retry<T, E, F, Fut>(mut write: F) -> Result<T, FleetError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Into<FleetError>,
{
    let mut pause = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= WRITE_ATTEMPTS => return Err(e.into()),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
        }
    }
}
