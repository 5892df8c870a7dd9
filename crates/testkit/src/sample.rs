//! A made-up migration shaped like the seed's overview (80,304 spaces by default, about 56%
//! completed, a few hundred in progress of which some are stuck, a handful failed, the rest
//! pending; 5 instances of 10 workers each), for demos and benchmarks, and a loader that writes
//! it. Deterministic for a given seed and size; only timestamps follow the clock.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::TableStatus;

use crate::writes::WorkerWrites;
use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::item::Item;
use migration_core::table::{ErrorKind, ProgressTable, TableError};

/// The seed overview's numbers, which the default run reproduces and other sizes scale.
pub const SEED_SPACES: u64 = 80_304;
const SEED_COMPLETED: u64 = 45_123;
const SEED_IN_PROGRESS: u64 = 234;
const SEED_STUCK: u64 = 7;
const SEED_FAILED: u64 = 12;
/// Mean uploads per space in the seed overview (37,088,337 / 80,304).
const MEAN_UPLOADS: f64 = 462.0;
/// Spread of the log-normal upload counts: most spaces are small, a few are very large.
const UPLOADS_SIGMA: f64 = 1.6;
const MAX_UPLOADS: u64 = 2_000_000;

const INSTANCES: u64 = 5;
const WORKERS: u64 = 10;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// How far back the sample migration started.
const MIGRATION_AGE: i64 = 48 * HOUR;

/// How the instances differ in speed: each one's completion rate relative to the average.
const INSTANCE_SPEED: [f64; INSTANCES as usize] = [0.913, 1.011, 1.030, 0.980, 1.066];

pub(crate) const ERRORS: [&str; 7] = [
    "Connection timeout after 3 retries",
    "Invalid delegation proof",
    "Upload not found in source bucket",
    "AccessDenied: not authorized to read source shard",
    "Rate exceeded while copying blob (SlowDown)",
    "Failed to index blob: unexpected end of CAR file",
    "Space has no valid storage provider allocation",
];

pub(crate) const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A small xorshift64* generator: enough for sample data, and reproducible from a seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // One splitmix64 step spreads small seeds over the whole state (and avoids zero).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)`; `n` must be positive.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[lo, hi)` milliseconds; `lo` when the range is empty.
    fn millis_between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    /// A standard normal deviate (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: keeps ln finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub(crate) fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// What one space is to become, before its details are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Completed,
    Running,
    Stuck,
    Failed,
    Pending,
}

/// `base` scaled from the seed's 80,304 spaces to `spaces`, and at least one when any are asked.
fn scaled(base: u64, spaces: u64) -> u64 {
    if base == 0 || spaces == 0 {
        return 0;
    }
    ((base as f64 * spaces as f64 / SEED_SPACES as f64).round() as u64).max(1)
}

/// How many spaces the customer being generated owns: 1 to 8, mostly few.
fn spaces_per_customer(rng: &mut Rng) -> u64 {
    const WEIGHTS: [u64; 8] = [30, 22, 15, 11, 8, 6, 4, 4];
    let mut pick = rng.below(WEIGHTS.iter().sum());
    for (i, w) in WEIGHTS.iter().enumerate() {
        if pick < *w {
            return i as u64 + 1;
        }
        pick -= w;
    }
    1
}

/// A skewed upload count averaging about [`MEAN_UPLOADS`].
fn upload_count(rng: &mut Rng) -> u64 {
    heavy_tailed_uploads(rng, MEAN_UPLOADS)
}

/// A log-normal upload count averaging about `mean` (the seed's spread: most spaces are small, a
/// few very large), at least 1.
pub(crate) fn heavy_tailed_uploads(rng: &mut Rng, mean: f64) -> u64 {
    let mu = mean.max(1.0).ln() - UPLOADS_SIGMA * UPLOADS_SIGMA / 2.0;
    let x = (mu + UPLOADS_SIGMA * rng.normal()).exp().round();
    (x as u64).clamp(1, MAX_UPLOADS)
}

pub(crate) fn cid(rng: &mut Rng) -> String {
    format!("bafkrei{}", rng.chars(BASE32, 52))
}

/// The status of every space, in space order: exact counts of failed, in-progress and stuck
/// spaces at random positions; of the rest, each instance completes its own share.
fn plan_statuses(rng: &mut Rng, spaces: u64, instances: &[u64]) -> Vec<Plan> {
    let failed = scaled(SEED_FAILED, spaces).min(spaces);
    let in_progress = scaled(SEED_IN_PROGRESS, spaces).min(spaces - failed);
    let stuck = scaled(SEED_STUCK, spaces).min(in_progress);
    let rest = spaces - failed - in_progress;
    let completed_target = (SEED_COMPLETED as f64 * spaces as f64 / SEED_SPACES as f64).round();
    let rate = if rest == 0 {
        0.0
    } else {
        (completed_target / rest as f64).min(1.0)
    };

    let mut special: Vec<Plan> = Vec::with_capacity(spaces as usize);
    special.extend((0..failed).map(|_| Plan::Failed));
    special.extend((0..stuck).map(|_| Plan::Stuck));
    special.extend((stuck..in_progress).map(|_| Plan::Running));
    special.extend((0..rest).map(|_| Plan::Pending));
    rng.shuffle(&mut special);

    special
        .into_iter()
        .zip(instances)
        .map(|(plan, &instance)| {
            let p = (rate * INSTANCE_SPEED[instance as usize]).min(1.0);
            if plan == Plan::Pending && rng.unit() < p {
                Plan::Completed
            } else {
                plan
            }
        })
        .collect()
}

/// What a space planned as `plan` has done by `now`: (completed uploads, createdAt, updatedAt,
/// error), in ms; a started space's createdAt is when its worker began it, after `queued`.
fn draw_progress(
    rng: &mut Rng,
    plan: Plan,
    total: u64,
    queued: i64,
    (start, now): (i64, i64),
) -> (u64, i64, i64, Option<String>) {
    let partial = |rng: &mut Rng| rng.below(total);
    match plan {
        Plan::Pending => (0, queued, queued, None),
        Plan::Completed => {
            let created = rng.millis_between(queued, now - 10 * MINUTE);
            // About 20 ms per upload, plus a few seconds of setup.
            let took = 2_000 + rng.millis_between(0, 5_000) + total as i64 * 20;
            let updated = (created + took).min(now - 1_000);
            (total, created, updated, Some(String::new()))
        }
        Plan::Running => {
            let updated = rng.millis_between(now - 30 * MINUTE, now - 1_000);
            let created = rng.millis_between((updated - 6 * HOUR).max(queued), updated);
            (partial(rng), created, updated, None)
        }
        Plan::Stuck => {
            let updated = now - 2 * HOUR - rng.millis_between(5 * MINUTE, 3 * HOUR);
            let created = rng.millis_between((updated - 6 * HOUR).max(queued), updated);
            (partial(rng), created, updated, None)
        }
        Plan::Failed => {
            let updated = rng.millis_between(start + HOUR, now - MINUTE);
            let created = rng.millis_between((updated - 6 * HOUR).max(queued), updated);
            let error = ERRORS[rng.below(ERRORS.len() as u64) as usize].to_owned();
            (partial(rng), created, updated, Some(error))
        }
    }
}

/// Draws every space's record.
pub fn generate(spaces: u64, seed: u64, now: Timestamp) -> Vec<SpaceProgress> {
    let mut rng = Rng::new(seed);
    let now = now.as_millis();
    let start = now - MIGRATION_AGE;

    // Instances get equal shares of the spaces (as in the seed's overview), in random order.
    let mut instances: Vec<u64> = (0..spaces).map(|i| i % INSTANCES).collect();
    rng.shuffle(&mut instances);
    let plans = plan_statuses(&mut rng, spaces, &instances);

    let mut out = Vec::with_capacity(spaces as usize);
    let mut customer_no = 0u64;
    let mut left_for_customer = 0u64;
    let mut customer = String::new();
    for (plan, instance) in plans.into_iter().zip(instances) {
        if left_for_customer == 0 {
            customer_no += 1;
            customer = format!("did:mailto:example.com:user{customer_no}");
            left_for_customer = spaces_per_customer(&mut rng);
        }
        left_for_customer -= 1;
        let space = format!("did:key:z6Mk{}", rng.chars(BASE58, 44));

        let mut total = upload_count(&mut rng);
        if matches!(plan, Plan::Running | Plan::Stuck) {
            // Big spaces take longest, so more of them are caught in progress.
            total = total.max(upload_count(&mut rng));
        }
        // Every space was queued for its worker in the first hour of the migration.
        let queued = rng.millis_between(start, start + HOUR);
        let drawn = draw_progress(&mut rng, plan, total, queued, (start, now));
        let (completed, created, updated, error) = drawn;
        let status = match plan {
            Plan::Pending => Status::Pending,
            Plan::Completed => Status::Completed,
            Plan::Running | Plan::Stuck => Status::InProgress,
            Plan::Failed => Status::Failed,
        };
        let last_processed_upload = (completed > 0).then(|| cid(&mut rng));
        // Pending spaces are already assigned to a worker, which has not started them yet.
        let worker = rng.below(WORKERS) + 1;
        out.push(SpaceProgress {
            key: SpaceKey::new(customer.clone(), space),
            status,
            total_uploads: total,
            completed_uploads: completed,
            last_processed_upload,
            instance_id: Some((instance + 1).to_string()),
            worker_id: Some(worker.to_string()),
            error,
            created_at: Some(Timestamp::from_millis(created)),
            updated_at: Some(Timestamp::from_millis(updated)),
            problems: Default::default(),
        });
    }
    out
}

/// How long [`ensure_table`] waits for the table to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// What one look at the table's status means while waiting for it.
#[derive(Debug, PartialEq, Eq)]
enum Wait {
    Active,
    Again,
    /// Not active by the deadline: an error, never a silent success.
    TimedOut,
}

fn judge(status: Option<&TableStatus>, now: Instant, deadline: Instant) -> Wait {
    if status == Some(&TableStatus::Active) {
        Wait::Active
    } else if now >= deadline {
        Wait::TimedOut
    } else {
        Wait::Again
    }
}

/// Creates the table unless it exists, then waits until it is active; an error when it is not
/// active within two minutes.
pub async fn ensure_table(table: &ProgressTable) -> Result<(), TableError> {
    match table.create_table().await {
        Ok(()) => {}
        Err(e) if e.message.contains("ResourceInUse") || e.message.contains("preexisting") => {}
        Err(e) => return Err(e),
    }
    let deadline = Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let out = table
            .client()
            .describe_table()
            .table_name(table.name())
            .send()
            .await
            .map_err(|e| TableError::from_sdk("DescribeTable", table.name(), e))?;
        match judge(
            out.table().and_then(|t| t.table_status()),
            Instant::now(),
            deadline,
        ) {
            Wait::Active => return Ok(()),
            Wait::Again => {}
            Wait::TimedOut => {
                return Err(TableError {
                    operation: "DescribeTable",
                    table: table.name().to_owned(),
                    kind: ErrorKind::Timeout,
                    message: format!(
                        "table not active after {}",
                        humantime::format_duration(ACTIVE_TIMEOUT)
                    ),
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Writes the items with `concurrency` BatchWriteItem streams, one contiguous chunk each.
pub async fn load(
    table: &ProgressTable,
    items: Vec<Item>,
    concurrency: usize,
) -> Result<(), TableError> {
    let per_task = items.len().div_ceil(concurrency.max(1)).max(1);
    let mut items = items;
    let mut tasks = tokio::task::JoinSet::new();
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(per_task));
        let chunk = std::mem::replace(&mut items, rest);
        let table = table.clone();
        tasks.spawn(async move { table.put_items(chunk).await });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| TableError {
            operation: "BatchWriteItem",
            table: table.name().to_owned(),
            kind: ErrorKind::Other,
            message: format!("loader task failed: {e}"),
        })??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration_core::table::item;

    #[test]
    fn waiting_for_an_inactive_table_past_the_deadline_is_an_error() {
        let start = Instant::now();
        let deadline = start + ACTIVE_TIMEOUT;
        let creating = Some(&TableStatus::Creating);
        assert_eq!(judge(creating, start, deadline), Wait::Again);
        assert_eq!(judge(creating, deadline, deadline), Wait::TimedOut);
        assert_eq!(judge(None, deadline, deadline), Wait::TimedOut);
        assert_eq!(
            judge(Some(&TableStatus::Active), deadline, deadline),
            Wait::Active
        );
    }

    #[test]
    fn default_size_matches_the_seed_overview() {
        let records = generate(SEED_SPACES, 1, Timestamp::from_millis(1_761_923_723_123));
        let count = |s: Status| records.iter().filter(|r| r.status == s).count() as u64;
        assert_eq!(records.len() as u64, SEED_SPACES);
        assert_eq!(count(Status::InProgress), SEED_IN_PROGRESS);
        assert_eq!(count(Status::Failed), SEED_FAILED);
        let completed = count(Status::Completed) as f64 / SEED_SPACES as f64;
        assert!((completed - 0.562).abs() < 0.01, "{completed}");
        assert!(records.iter().all(|r| item::decode(&item::encode(r)) == *r));
    }
}
