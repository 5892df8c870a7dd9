//! Keeping the state fresh. A [`Tracker`] reads the table for its [`Engine`] two ways
//! ([`RefreshKind`]): a full parallel Scan (at start, every `full_interval`, and whenever the
//! status index cannot be used, or was refused since it was checked), which replaces the state and
//! counts drift; and in between, an incremental refresh that queries the status index for each
//! status with `updatedAt` after the previous refresh's start minus an overlap. What each read
//! does to the state is the engine's; each refresh returns a [`RefreshReport`]; looping, backoff
//! and publishing are the exporter's business.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::engine::Engine;
pub use super::refresh::{RefreshReport, RefreshSettings};
use super::snapshot::Snapshot;
use super::spaces::TableState;
use crate::failure::Classifier;
use crate::model::{SpaceProgress, Status, Timestamp};
use crate::table::item;
use crate::table::{ErrorKind, IndexCheck, ProgressTable, Projection, TableError};

/// Which kind of refresh produced a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshKind {
    /// A parallel scan of the whole table.
    Full,
    /// Queries of the status index for recent changes.
    Incremental,
}

impl RefreshKind {
    pub const ALL: [RefreshKind; 2] = [RefreshKind::Full, RefreshKind::Incremental];

    pub fn as_str(self) -> &'static str {
        match self {
            RefreshKind::Full => "full",
            RefreshKind::Incremental => "incremental",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The per-space state of one table and how to refresh it: the [`Engine`] and the reads.
pub struct Tracker {
    table: ProgressTable,
    engine: Engine,
    /// `None` until checked (or when a check after a refused query failed); the check is
    /// repeated at each full scan while unusable, and after a query the index refused.
    index: Option<IndexCheck>,
    /// Whether a denied index check was logged (once).
    index_denied_logged: bool,
    last_full: Option<Instant>,
}

impl Tracker {
    /// A tracker reading `table` with `settings` (shared with whoever else reads them).
    pub fn new(table: ProgressTable, settings: impl Into<Arc<RefreshSettings>>) -> Self {
        Tracker {
            table,
            engine: Engine::new(settings.into()),
            index: None,
            index_denied_logged: false,
            last_full: None,
        }
    }

    /// The settings it refreshes with.
    pub fn settings(&self) -> &RefreshSettings {
        self.engine.settings()
    }

    /// The state held.
    pub fn state(&self) -> &TableState {
        self.engine.state()
    }

    /// Classifies failed spaces with `classifier` from now on; the next refresh is a full scan,
    /// which reads every failed space again and so reclassifies them all.
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.engine.set_classifier(classifier);
        self.last_full = None;
    }

    /// Whether incremental refreshes are possible (after a check).
    pub fn index_usable(&self) -> bool {
        self.index == Some(IndexCheck::Usable)
    }

    /// The kind of refresh due now.
    pub fn next_kind(&self) -> RefreshKind {
        let full_due = self
            .last_full
            .is_none_or(|t| t.elapsed() >= self.settings().full_interval);
        if full_due || !self.index_usable() || self.engine.last_started().is_none() {
            RefreshKind::Full
        } else {
            RefreshKind::Incremental
        }
    }

    /// Checks the status index (DescribeTable); logs once why it cannot be used.
    pub async fn check_index(&mut self) -> Result<(), TableError> {
        let check = self.table.check_status_index().await?;
        if let IndexCheck::Unusable(why) = &check
            && self.index.as_ref() != Some(&check)
        {
            tracing::warn!(reason = %why, "status index unusable: full scans only");
        }
        self.index = Some(check);
        Ok(())
    }

    /// Runs the refresh of `kind`.
    pub async fn refresh(&mut self, kind: RefreshKind) -> Result<RefreshReport, TableError> {
        match kind {
            RefreshKind::Full => self.full().await,
            RefreshKind::Incremental => self.incremental().await,
        }
    }

    /// A parallel scan of the whole table, authoritative: replaces every space's contribution,
    /// removes the spaces it did not see, and counts drift.
    pub async fn full(&mut self) -> Result<RefreshReport, TableError> {
        if !self.index_usable() {
            // A missing index may appear later; a failed check only costs the incremental path.
            self.try_check_index().await;
        }
        let started = Timestamp::now();
        let segments = self.settings().segments.max(1);
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<SpaceProgress>>();
        let mut tasks = JoinSet::new();
        for segment in 0..segments {
            let table = self.table.clone();
            let tx = tx.clone();
            tasks.spawn(async move {
                table
                    .scan_segment(segment, segments, Projection::Aggregate, |page| {
                        // Decoding runs in the segment's task; applying is cheap and sequential.
                        let _ = tx.send(page.iter().map(item::decode).collect());
                    })
                    .await
            });
        }
        drop(tx);
        let mut scan = self.engine.full_scan(started);
        let mut running = segments;
        let mut open = true;
        while open || running > 0 {
            tokio::select! {
                batch = rx.recv(), if open => match batch {
                    Some(batch) => scan.apply(&batch),
                    None => open = false,
                },
                joined = tasks.join_next(), if running > 0 => {
                    running -= 1;
                    match joined {
                        Some(Ok(Ok(()))) | None => {}
                        // Dropping `tasks` aborts the other segments.
                        Some(Ok(Err(e))) => return Err(e),
                        Some(Err(join)) => {
                            return Err(TableError {
                                operation: "Scan",
                                table: self.table.name().to_owned(),
                                kind: ErrorKind::Other,
                                message: format!("scan segment task failed: {join}"),
                            });
                        }
                    }
                }
            }
        }
        let report = scan.finish();
        self.last_full = Some(Instant::now());
        Ok(report)
    }

    /// Queries the status index for what changed since the previous refresh began (minus the
    /// overlap) and applies what is newer than the state holds.
    pub async fn incremental(&mut self) -> Result<RefreshReport, TableError> {
        let Some(since) = self.engine.since() else {
            return self.full().await;
        };
        let started = Timestamp::now();
        let table = &self.table;
        let query = |status: Status| async move {
            let mut found = Vec::new();
            table
                .query_status_since(status, since, |page| {
                    found.extend(page.iter().map(item::decode))
                })
                .await
                .map(|()| found)
        };
        let queried = tokio::try_join!(
            query(Status::Pending),
            query(Status::InProgress),
            query(Status::Completed),
            query(Status::Failed)
        );
        let (pending, in_progress, completed, failed) = match queried {
            Ok(found) => found,
            Err(e) => {
                self.recheck_index_after(&e).await;
                return Err(e);
            }
        };
        let read: [&[SpaceProgress]; 4] = [&pending, &in_progress, &completed, &failed];
        Ok(self.engine.incremental(started, read.into_iter().flatten()))
    }

    /// Checks the index again (one DescribeTable, no read units) after a query of it failed in
    /// a way that can mean it is gone or changed: DynamoDB answers a query of a deleted index
    /// with `ValidationException`, DynamoDB Local with `InternalFailure` (a server error). When
    /// it is unusable, or cannot be checked, the next refreshes are full scans until it is again.
    async fn recheck_index_after(&mut self, e: &TableError) {
        let suspect = matches!(
            e.kind,
            ErrorKind::Validation | ErrorKind::TableNotFound | ErrorKind::Service
        );
        if suspect && !self.try_check_index().await {
            self.index = None;
        }
    }

    /// Checks the index, saying why when the check itself fails; whether it could be checked.
    async fn try_check_index(&mut self) -> bool {
        let Err(e) = self.check_index().await else {
            return true;
        };
        // A denied DescribeTable is a policy to fix, not a passing fault: say it once.
        if e.kind == ErrorKind::AccessDenied && !self.index_denied_logged {
            self.index_denied_logged = true;
            tracing::warn!(error = %e, "status index unusable: access denied; full scans only");
        } else {
            tracing::debug!(error = %e, "cannot check the status index");
        }
        false
    }

    /// The snapshot of the state, as of the start of the last successful read (now, before
    /// any): the table is at least that fresh, and stuck spaces are judged at that instant.
    pub fn snapshot(&self) -> Snapshot {
        self.engine.snapshot()
    }

    /// The snapshot of the state with staleness judged at `now`.
    pub fn snapshot_at(&self, now: Timestamp) -> Snapshot {
        self.engine.snapshot_at(now)
    }
}

/// Reads the whole table once and returns its snapshot (the CLI's overview and instance views).
pub async fn full_scan(
    table: &ProgressTable,
    settings: &RefreshSettings,
) -> Result<Snapshot, TableError> {
    let mut tracker = Tracker::new(table.clone(), settings.clone());
    // The CLI needs no index check: one scan, no incremental refresh.
    tracker.index = Some(IndexCheck::Unusable("one-off scan".into()));
    tracker.full().await?;
    Ok(tracker.snapshot())
}
