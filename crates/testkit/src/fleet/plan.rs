//! The fleet's plan, drawn from its seed before anything is written: every space (key, upload
//! count with the seed's heavy tail, worker, fate) and every worker (which die and when, which
//! run with a clock behind).

use std::time::Duration;

use super::FleetConfig;
use crate::sample::{self, BASE58, ERRORS, Rng};
use migration_core::model::SpaceKey;

/// How a space ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fate {
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
pub(super) struct PlannedSpace {
    pub(super) key: SpaceKey,
    pub(super) total: u64,
    pub(super) worker: usize,
    pub(super) fate: Fate,
}

/// One worker of the plan.
#[derive(Debug, Clone)]
pub(super) struct PlannedWorker {
    /// Its instance's index (instance ids are `1..=instances`).
    pub(super) instance_no: usize,
    pub(super) instance_id: String,
    pub(super) worker_id: String,
    /// When it dies, after the start.
    pub(super) dies_after: Option<Duration>,
    /// How far behind its clock is.
    pub(super) skew: Duration,
}

/// Everything drawn from the seed.
#[derive(Debug, Clone)]
pub(super) struct FleetPlan {
    pub(super) spaces: Vec<PlannedSpace>,
    pub(super) workers: Vec<PlannedWorker>,
}

pub(super) fn plan(config: &FleetConfig) -> FleetPlan {
    let mut rng = Rng::new(config.seed);
    let mut workers = Vec::new();
    for i in 1..=config.instances {
        for w in 1..=config.workers_per_instance {
            workers.push(PlannedWorker {
                instance_no: i as usize - 1,
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
    FleetPlan { spaces, workers }
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
        let keys = |p: &FleetPlan| {
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
