//! The background refresh loop: reads the table with a parallel scan every interval, folds it into
//! a [`Snapshot`], and publishes it with the exporter's [`Health`]. A failed refresh keeps the last
//! good snapshot, is counted by kind, logged once per failure streak, and retried with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::aggregate::{Aggregator, FoldContext};
use crate::error::{ErrorKind, TableError};
use crate::model::Timestamp;
use crate::snapshot::{Health, Published, RefreshKind, Snapshot, SnapshotStore};
use crate::table::{ProgressTable, ScanProjection};

/// How the refresh loop reads and judges the table.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// Time from the start of one refresh to the start of the next.
    pub interval: Duration,
    /// In-progress spaces not updated for this long are stuck.
    pub stuck_after: Duration,
    /// Parallel scan segments.
    pub segments: u32,
    /// How many stuck spaces to name in metrics.
    pub max_stuck_spaces: usize,
}

/// Reads the whole table with a parallel scan and folds it into a snapshot. Shared by the daemon
/// and the CLI.
pub async fn full_scan(
    table: &ProgressTable,
    settings: &RefreshSettings,
) -> Result<Snapshot, TableError> {
    let ctx = FoldContext {
        now: Timestamp::now(),
        stuck_after: settings.stuck_after,
        max_stuck_spaces: settings.max_stuck_spaces,
    };
    let segments = settings.segments.max(1);
    let mut tasks = JoinSet::new();
    for segment in 0..segments {
        let table = table.clone();
        tasks.spawn(async move {
            let mut agg = Aggregator::new(ctx);
            table
                .scan_segment(segment, segments, ScanProjection::Aggregate, |page| {
                    page.iter().for_each(|item| agg.add_item(item))
                })
                .await
                .map(|()| agg)
        });
    }
    let mut total = Aggregator::new(ctx);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(agg)) => total.merge(agg),
            // Dropping `tasks` aborts the other segments.
            Ok(Err(e)) => return Err(e),
            Err(join) => {
                return Err(TableError {
                    operation: "Scan",
                    table: table.name().to_owned(),
                    kind: ErrorKind::Other,
                    message: format!("scan segment task failed: {join}"),
                });
            }
        }
    }
    Ok(total.finish())
}

/// The delay before retry number `failures` (1-based): 1s, 2s, 4s, ... capped at `max`.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(max.max(Duration::from_secs(1)))
}

/// The loop that keeps the [`SnapshotStore`] fresh.
pub struct Refresher {
    table: ProgressTable,
    settings: RefreshSettings,
    store: Arc<SnapshotStore>,
}

impl Refresher {
    pub fn new(table: ProgressTable, settings: RefreshSettings, store: Arc<SnapshotStore>) -> Self {
        Refresher {
            table,
            settings,
            store,
        }
    }

    /// Runs until `shutdown` is cancelled; an in-flight read is abandoned at shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut health = Health::default();
        let mut snapshot: Option<Arc<Snapshot>> = None;
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = full_scan(&self.table, &self.settings) => r,
                () = shutdown.cancelled() => return,
            };
            let took = started.elapsed();
            let wait = match result {
                Ok(fresh) => {
                    if failures > 0 {
                        tracing::info!(failures, "refresh recovered");
                    }
                    failures = 0;
                    health.record_success(RefreshKind::Full, &fresh, took, Timestamp::now());
                    tracing::debug!(
                        items = fresh.items,
                        workers = fresh.workers.len(),
                        seconds = took.as_secs_f64(),
                        "refreshed"
                    );
                    snapshot = Some(Arc::new(fresh));
                    self.settings.interval.saturating_sub(took)
                }
                Err(e) => {
                    failures += 1;
                    health.record_failure(e.kind);
                    if failures == 1 {
                        tracing::error!(error = %e, kind = %e.kind, "refresh failed; serving the last good snapshot and retrying");
                    } else {
                        tracing::debug!(error = %e, failures, "refresh failed again");
                    }
                    backoff(failures, self.settings.interval)
                }
            };
            self.store.publish(Published {
                snapshot: snapshot.clone(),
                health: health.clone(),
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let max = Duration::from_secs(30);
        let got: Vec<u64> = (1..=7).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(1000, max), max);
    }

    #[test]
    fn backoff_never_spins_faster_than_a_second() {
        assert_eq!(
            backoff(1, Duration::from_millis(10)),
            Duration::from_secs(1)
        );
    }
}
