//! High churn on a table: spaces walk pending -> in-progress -> (progress) -> completed or
//! failed, failed ones are retried, completed ones start over, each start on a random worker of
//! a random instance, every write with `updatedAt` now. The writer keeps what it wrote (its
//! ledger), so that an emptied table (a restarted DynamoDB Local) can be refilled exactly.

use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::{ProgressTable, item};
use migration_testkit::WorkerWrites;

const ERRORS: [&str; 3] = [
    "Timeout after 30000ms",
    "AccessDenied: not allowed to read bucket",
    "unexpected EOF while reading car 12",
];

/// The writer and what it wrote.
pub struct Churn {
    pub ledger: Vec<SpaceProgress>,
    rng: u64,
    pub writes: u64,
    pub failed_writes: u64,
}

impl Churn {
    /// `spaces` pending spaces over `instances` x `workers`, not written yet.
    pub fn new(spaces: usize, instances: u32, workers: u32, seed: u64) -> Churn {
        let now = Timestamp::now();
        let ledger = (0..spaces)
            .map(|i| SpaceProgress {
                key: SpaceKey::new(
                    format!("did:mailto:c{}", i % 7),
                    format!("did:key:soak{i:06}"),
                ),
                status: Status::Pending,
                total_uploads: 20 + (i as u64 * 7) % 80,
                completed_uploads: 0,
                last_processed_upload: None,
                instance_id: Some(format!("i{}", i as u32 % instances)),
                worker_id: Some(format!("w{}", (i as u32 / instances) % workers)),
                error: None,
                created_at: Some(now),
                updated_at: Some(now),
                problems: Default::default(),
            })
            .collect();
        Churn {
            ledger,
            rng: seed | 1,
            writes: 0,
            failed_writes: 0,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }

    /// Creates the table (with its index) and writes the whole ledger into it.
    pub async fn fill(&self, table: &ProgressTable) -> Result<(), String> {
        table.create_table().await.map_err(|e| e.to_string())?;
        let items = self.ledger.iter().map(item::encode).collect();
        migration_testkit::sample::load(table, items, 4)
            .await
            .map_err(|e| e.to_string())
    }

    /// The next record of a random space.
    fn next_record(&mut self) -> (usize, SpaceProgress) {
        let i = self.below(self.ledger.len() as u64) as usize;
        let mut p = self.ledger[i].clone();
        let step = self.below(100);
        match p.status {
            Status::Pending | Status::Failed => {
                p.status = Status::InProgress;
                p.error = None;
                p.instance_id = Some(format!("i{}", self.below(4)));
                p.worker_id = Some(format!("w{}", self.below(4)));
            }
            Status::InProgress if step < 10 => {
                p.status = Status::Failed;
                p.error = Some(ERRORS[self.below(ERRORS.len() as u64) as usize].to_owned());
            }
            Status::InProgress => {
                p.completed_uploads = (p.completed_uploads + 1 + step % 10).min(p.total_uploads);
                if p.completed_uploads == p.total_uploads {
                    p.status = Status::Completed;
                }
            }
            _ => {
                p.status = Status::Pending;
                p.completed_uploads = 0;
                p.created_at = Some(Timestamp::now());
            }
        }
        p.updated_at = Some(Timestamp::now());
        (i, p)
    }

    /// Writes `n` changes; a write that fails (the table is gone, say) is counted and not kept.
    pub async fn write(&mut self, table: &ProgressTable, n: usize) {
        let batch: Vec<(usize, SpaceProgress)> = (0..n).map(|_| self.next_record()).collect();
        for (i, p) in batch {
            match table.put_items(vec![item::encode(&p)]).await {
                Ok(()) => {
                    self.ledger[i] = p;
                    self.writes += 1;
                }
                Err(_) => self.failed_writes += 1,
            }
        }
    }
}
