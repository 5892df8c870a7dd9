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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::sample::{self, BASE58, ERRORS, Rng};
use crate::writes::WorkerWrites;
use crate::writes::{Created, NewSpace, WriteError};
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::item;
use migration_core::table::{ProgressTable, TableError};

/// What the fleet is asked to do.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub instances: u32,
    pub workers_per_instance: u32,
    pub spaces: u64,
    /// Uploads each worker migrates per second.
    pub uploads_per_second: f64,
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

/// How a space ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Completes,
    /// Fails once this many uploads are done, with `ERRORS[error]`.
    FailsAt {
        upload: u64,
        error: usize,
    },
    /// Its worker stops updating it once this many uploads are done.
    StallsAt {
        upload: u64,
    },
}

/// One space of the plan.
#[derive(Debug, Clone)]
struct PlannedSpace {
    key: SpaceKey,
    total: u64,
    worker: usize,
    fate: Fate,
}

/// One worker of the plan.
#[derive(Debug, Clone)]
struct PlannedWorker {
    instance_id: String,
    worker_id: String,
    /// When it dies, after the start.
    dies_after: Option<Duration>,
    /// How far behind its clock is.
    skew: Duration,
}

/// Everything drawn from the seed.
#[derive(Debug, Clone)]
struct Plan {
    spaces: Vec<PlannedSpace>,
    workers: Vec<PlannedWorker>,
}

fn plan(config: &FleetConfig) -> Plan {
    let mut rng = Rng::new(config.seed);
    let mut workers = Vec::new();
    for i in 1..=config.instances {
        for w in 1..=config.workers_per_instance {
            workers.push(PlannedWorker {
                instance_id: i.to_string(),
                worker_id: w.to_string(),
                dies_after: None,
                skew: Duration::ZERO,
            });
        }
    }
    // Dying and skewed workers: disjoint sets drawn in one shuffled order.
    let mut order: Vec<usize> = (0..workers.len()).collect();
    rng.shuffle(&mut order);
    let dead = (config.dead_workers as usize).min(order.len());
    let skewed = (config.skewed_workers as usize).min(order.len() - dead);
    for &w in &order[..dead] {
        workers[w].dies_after = Some(config.die_after);
    }
    for &w in &order[dead..dead + skewed] {
        workers[w].skew = config.clock_skew;
    }

    let mut spaces = Vec::with_capacity(config.spaces as usize);
    let mut customer_no = 0u64;
    let mut left = 0u64;
    for n in 0..config.spaces {
        if left == 0 {
            customer_no += 1;
            left = 1 + rng.below(4);
        }
        left -= 1;
        let key = SpaceKey::new(
            format!("did:mailto:example.com:user{customer_no}"),
            format!("did:key:z6Mk{}", rng.chars(BASE58, 44)),
        );
        let total = sample::heavy_tailed_uploads(&mut rng, config.mean_uploads);
        let roll = rng.unit();
        let at = rng.below(total.max(1));
        let fate = if roll < config.failure_probability {
            Fate::FailsAt {
                upload: at,
                error: rng.below(ERRORS.len() as u64) as usize,
            }
        } else if roll < config.failure_probability + config.stall_probability {
            Fate::StallsAt { upload: at.max(1) }
        } else {
            Fate::Completes
        };
        spaces.push(PlannedSpace {
            key,
            total,
            // Round robin: every worker gets an equal share, in draw order.
            worker: (n % workers.len() as u64) as usize,
            fate,
        });
    }
    Plan { spaces, workers }
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
pub struct WorkerReport {
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
pub struct Report {
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
    pub workers: Vec<WorkerReport>,
    /// Stuck spaces, oldest first.
    pub stuck_spaces: Vec<SpaceReport>,
    pub failed_spaces: Vec<SpaceReport>,
}

/// A running (or finished) fleet.
#[derive(Clone)]
pub struct Fleet {
    config: FleetConfig,
    plan: Arc<Plan>,
    ledger: Arc<Mutex<Ledger>>,
    started: Instant,
}

/// How many times a write is tried before the worker gives up.
const WRITE_ATTEMPTS: u32 = 5;

impl Fleet {
    /// Plans the fleet, queues the spaces the table does not hold yet (as `pending` records)
    /// and learns the state of those it does (resume). Writes nothing else.
    pub async fn prepare(table: &ProgressTable, config: FleetConfig) -> Result<Fleet, FleetError> {
        if config.instances == 0 || config.workers_per_instance == 0 {
            return Err(FleetError::Config(
                "instances and workers per instance must be at least 1".into(),
            ));
        }
        if !(config.uploads_per_second > 0.0 && config.uploads_per_second.is_finite()) {
            return Err(FleetError::Config(
                "uploads per second must be positive".into(),
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
        let me = &self.plan.workers[w];
        let death = me.dies_after.map(|d| self.started + d);
        let mine: Vec<usize> = (0..self.plan.spaces.len())
            .filter(|&i| self.plan.spaces[i].worker == w)
            .collect();
        let now = || Timestamp::now().minus(me.skew);
        for i in mine {
            let space = &self.plan.spaces[i];
            let (status, mut done) = {
                let l = self.lock();
                (l.known[i].status, l.known[i].completed)
            };
            if matches!(status, Status::Completed | Status::Failed) {
                continue;
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
                let pause = Duration::from_secs_f64(batch as f64 / self.config.uploads_per_second);
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => {
                        self.set_state(w, WorkerState::Stopped);
                        return Ok(());
                    }
                }
                if death.is_some_and(|d| Instant::now() >= d) {
                    self.set_state(w, WorkerState::Dead);
                    return Ok(());
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
            if stop.is_cancelled() {
                self.set_state(w, WorkerState::Stopped);
                return Ok(());
            }
            if death.is_some_and(|d| Instant::now() >= d) {
                self.set_state(w, WorkerState::Dead);
                return Ok(());
            }
        }
        self.set_state(w, WorkerState::Idle);
        Ok(())
    }

    fn record(&self, i: usize, status: Status, completed: u64, at: Timestamp, error: Option<&str>) {
        let mut l = self.lock();
        let k = &mut l.known[i];
        k.status = status;
        k.completed = completed;
        k.updated_at = at;
        k.error = error.map(str::to_owned);
    }

    /// What the fleet did and what the table holds now, by its own count.
    pub fn report(&self) -> Report {
        let now = Timestamp::now();
        let cutoff = now.minus(self.config.stuck_after);
        let l = self.lock();
        let mut workers: Vec<WorkerReport> = self
            .plan
            .workers
            .iter()
            .zip(&l.workers)
            .map(|(w, state)| WorkerReport {
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
        Report {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_fleet() {
        let config = FleetConfig {
            failure_probability: 0.2,
            stall_probability: 0.2,
            dead_workers: 1,
            skewed_workers: 2,
            ..FleetConfig::default()
        };
        let (a, b) = (plan(&config), plan(&config));
        let keys = |p: &Plan| {
            p.spaces
                .iter()
                .map(|s| (s.key.clone(), s.total, s.worker, s.fate))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&a), keys(&b));
        let other = plan(&FleetConfig {
            seed: 2,
            ..config.clone()
        });
        assert_ne!(keys(&a), keys(&other));
        assert_eq!(
            a.workers.iter().filter(|w| w.dies_after.is_some()).count(),
            1
        );
        assert_eq!(a.workers.iter().filter(|w| !w.skew.is_zero()).count(), 2);
        assert!(
            a.workers
                .iter()
                .all(|w| w.dies_after.is_none() || w.skew.is_zero())
        );
    }

    #[test]
    fn fates_follow_the_probabilities_and_every_worker_gets_a_share() {
        let config = FleetConfig {
            spaces: 4000,
            failure_probability: 0.1,
            stall_probability: 0.05,
            ..FleetConfig::default()
        };
        let p = plan(&config);
        let failing = p
            .spaces
            .iter()
            .filter(|s| matches!(s.fate, Fate::FailsAt { .. }))
            .count();
        let stalling = p
            .spaces
            .iter()
            .filter(|s| matches!(s.fate, Fate::StallsAt { .. }))
            .count();
        assert!((330..=470).contains(&failing), "{failing}");
        assert!((140..=260).contains(&stalling), "{stalling}");
        for w in 0..p.workers.len() {
            let n = p.spaces.iter().filter(|s| s.worker == w).count();
            assert!((666..=667).contains(&n), "worker {w}: {n}");
        }
        let mean = p.spaces.iter().map(|s| s.total).sum::<u64>() as f64 / 4000.0;
        let max = p.spaces.iter().map(|s| s.total).max().unwrap_or(0) as f64;
        assert!((300.0..700.0).contains(&mean), "{mean}");
        assert!(max > 10.0 * mean, "heavy tail: max {max}, mean {mean}");
    }
}
