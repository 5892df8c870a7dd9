//! The refresh loop: runs the [`Tracker`] every interval (full or incremental as it decides),
//! publishes each snapshot with the exporter's health and a short history of recent progress,
//! and on failure keeps the last good snapshot, counts the failure by kind, logs once per failure
//! streak and retries with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::classes_reload::ClassesReload;
use super::store::{Health, Published, SnapshotStore};
use migration_core::failure::{Classifier, Rules};
use migration_core::model::Timestamp;
use migration_core::state::history::{History, Point};
use migration_core::state::snapshot::Snapshot;
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::ProgressTable;

/// The delay before retry number `failures` (1-based): 1s, 2s, 4s, ... capped at `max`.
pub(crate) fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(max.max(Duration::from_secs(1)))
}

/// The loop that keeps the [`SnapshotStore`] fresh.
pub(crate) struct Refresher {
    tracker: Tracker,
    store: Arc<SnapshotStore>,
    /// The classes file, re-read before each refresh (none: the bundled rules).
    classes: Option<ClassesReload>,
}

impl Refresher {
    /// Refreshes `table` into `store`, classing failures with `rules` (from `classes_file`,
    /// re-read before each refresh, when there is one).
    pub(crate) fn new(
        table: ProgressTable,
        settings: Arc<RefreshSettings>,
        store: Arc<SnapshotStore>,
        rules: Rules,
        classes_file: Option<std::path::PathBuf>,
    ) -> Self {
        let mut tracker = Tracker::new(table, settings);
        tracker.set_classifier(Classifier::new(rules));
        Refresher {
            tracker,
            store,
            classes: classes_file.map(ClassesReload::new),
        }
    }

    /// Runs until `shutdown` is cancelled; an in-flight read is abandoned at shutdown.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let mut health = Health::default();
        let mut snapshot: Option<Arc<Snapshot>> = None;
        let mut history = History::default();
        let mut failures: u32 = 0;
        loop {
            if let Some(reload) = &mut self.classes
                && let Some(classifier) = reload.poll().await
            {
                self.tracker.set_classifier(classifier);
            }
            let kind = self.tracker.next_kind();
            let started = Instant::now();
            let result = tokio::select! {
                r = self.tracker.refresh(kind) => r,
                () = shutdown.cancelled() => return,
            };
            let took = started.elapsed();
            let wait = match result {
                Ok(report) => {
                    if failures > 0 {
                        tracing::info!(failures, "refresh recovered");
                    }
                    failures = 0;
                    health.record_success(kind, &report, took, Timestamp::now());
                    let fresh = self.tracker.snapshot();
                    tracing::debug!(
                        kind = kind.as_str(),
                        items = report.items,
                        changed = report.changed,
                        drift = report.drift,
                        spaces = fresh.items,
                        seconds = took.as_secs_f64(),
                        "refreshed"
                    );
                    if report.drift > 0 {
                        tracing::info!(
                            drift = report.drift,
                            "full scan found changes the incremental refreshes missed"
                        );
                    }
                    history.push(Point::of(&fresh));
                    snapshot = Some(Arc::new(fresh));
                    self.tracker.settings().interval.saturating_sub(took)
                }
                Err(e) => {
                    failures += 1;
                    health.record_failure(e.kind);
                    if failures == 1 {
                        tracing::error!(error = %e, kind = %e.kind, "refresh failed; serving the last good snapshot and retrying");
                    } else {
                        tracing::debug!(error = %e, failures, "refresh failed again");
                    }
                    backoff(failures, self.tracker.settings().interval)
                }
            };
            self.store.publish(Published {
                snapshot: snapshot.clone(),
                health: health.clone(),
                history: history.clone(),
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
