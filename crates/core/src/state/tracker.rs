//! Keeping the state fresh. A [`Tracker`] holds the per-space [`TableState`] and refreshes it
//! two ways ([`RefreshKind`]): a full parallel Scan (at start, every `full_interval`, and
//! whenever the status index cannot be used), which replaces the state and counts drift; and in
//! between, an incremental refresh that queries the status index for each status with
//! `updatedAt` after the previous refresh's start minus an overlap, and applies only what is
//! newer. Each refresh returns a [`RefreshReport`]; looping, backoff and publishing are the
//! exporter's business.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::snapshot::{FoldContext, Snapshot, Transitions};
use super::spaces::{Change, DEFAULT_BOUNDS, TableState};
use crate::failure::Classifier;
use crate::model::{InvalidReason, SpaceProgress, Status, Timestamp};
use crate::table::item;
use crate::table::{ErrorKind, IndexCheck, ProgressTable, Projection, TableError};

/// How the refresh loop reads and judges the table.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// Time from the start of one refresh to the start of the next.
    pub interval: Duration,
    /// Time between full scans; incremental refreshes in between.
    pub full_interval: Duration,
    /// How far before the previous refresh's start an incremental refresh looks, for index
    /// propagation delay and worker clock skew.
    pub overlap: Duration,
    /// In-progress spaces not updated for this long are stuck.
    pub stuck_after: Duration,
    /// Parallel scan segments.
    pub segments: u32,
    /// How many stuck spaces to name in metrics.
    pub max_stuck_spaces: usize,
    /// How many recently failed spaces to name in metrics.
    pub max_failed_spaces: usize,
    /// How many error classes to name in metrics (the rest are summed as other).
    pub max_error_classes: usize,
    /// Upper bounds of the duration histograms, in seconds, increasing.
    pub duration_buckets: Vec<u32>,
}

impl RefreshSettings {
    /// Settings for one-off full scans (the CLI).
    pub fn full_only(stuck_after: Duration, segments: u32) -> Self {
        RefreshSettings {
            interval: Duration::ZERO,
            full_interval: Duration::ZERO,
            overlap: Duration::ZERO,
            stuck_after,
            segments,
            max_stuck_spaces: 0,
            max_failed_spaces: 0,
            max_error_classes: usize::MAX,
            duration_buckets: DEFAULT_BOUNDS.to_vec(),
        }
    }
}

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

/// What one refresh read and changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Items read.
    pub items: u64,
    /// Items read with each problem (by [`InvalidReason::index`]).
    pub invalid: [u64; InvalidReason::ALL.len()],
    /// Spaces whose contribution changed (or appeared, or were removed).
    pub changed: u64,
    /// Differences a full scan found that incremental refreshes should have applied
    /// (including deletions, which the index cannot show).
    pub drift: u64,
    /// Status changes this refresh applied: a held space read with another status. A space
    /// seen for the first time or deleted is no transition; a space that changed several times
    /// between two reads counts once, from the status held to the status read.
    pub transitions: Transitions,
}

impl RefreshReport {
    fn read(&mut self, p: &SpaceProgress) {
        self.items += 1;
        for r in p.problems.iter() {
            self.invalid[r.index()] += 1;
        }
    }
}

/// The per-space state of one table and how to refresh it.
pub struct Tracker {
    table: ProgressTable,
    settings: Arc<RefreshSettings>,
    state: TableState,
    /// `None` until checked; the check is repeated at each full scan while unusable.
    index: Option<IndexCheck>,
    /// Whether a denied index check was logged (once).
    index_denied_logged: bool,
    last_full: Option<Instant>,
    /// Start of the last successful refresh (the exporter's clock): what its snapshot is as of.
    last_started: Option<Timestamp>,
}

impl Tracker {
    /// A tracker reading `table` with `settings` (shared with whoever else reads them).
    pub fn new(table: ProgressTable, settings: impl Into<Arc<RefreshSettings>>) -> Self {
        let settings = settings.into();
        Tracker {
            table,
            state: TableState::with_duration_bounds(&settings.duration_buckets),
            settings,
            index: None,
            index_denied_logged: false,
            last_full: None,
            last_started: None,
        }
    }

    /// The settings it refreshes with.
    pub fn settings(&self) -> &RefreshSettings {
        &self.settings
    }

    /// The state held.
    pub fn state(&self) -> &TableState {
        &self.state
    }

    /// Classifies failed spaces with `classifier` from now on; the next refresh is a full scan,
    /// which reads every failed space again and so reclassifies them all.
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.state.set_classifier(classifier);
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
            .is_none_or(|t| t.elapsed() >= self.settings.full_interval);
        if full_due || !self.index_usable() || self.last_started.is_none() {
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
            if let Err(e) = self.check_index().await {
                // A denied DescribeTable is a policy to fix, not a passing fault: say it once.
                if e.kind == ErrorKind::AccessDenied && !self.index_denied_logged {
                    self.index_denied_logged = true;
                    tracing::warn!(error = %e, "status index unusable: access denied; full scans only");
                } else {
                    tracing::debug!(error = %e, "cannot check the status index");
                }
            }
        }
        let started = Timestamp::now();
        let visible_before = self.last_started;
        let segments = self.settings.segments.max(1);
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
        self.state.begin_scan();
        let mut report = RefreshReport::default();
        let mut running = segments;
        let mut open = true;
        while open || running > 0 {
            tokio::select! {
                batch = rx.recv(), if open => match batch {
                    Some(batch) => {
                        for p in &batch {
                            report.read(p);
                            let scanned = self.state.apply_scanned(p, visible_before);
                            report.changed += u64::from(scanned.changed);
                            report.drift += u64::from(scanned.drift);
                            if let Some((from, to)) = scanned.transition {
                                report.transitions.count(from, to);
                            }
                        }
                    }
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
        let removed = self.state.end_scan();
        self.state.settle();
        report.drift += if visible_before.is_some() { removed } else { 0 };
        report.changed += removed;
        self.last_full = Some(Instant::now());
        self.last_started = Some(started);
        Ok(report)
    }

    /// Queries the status index for what changed since the previous refresh began (minus the
    /// overlap) and applies what is newer than the state holds.
    pub async fn incremental(&mut self) -> Result<RefreshReport, TableError> {
        let Some(previous) = self.last_started else {
            return self.full().await;
        };
        let started = Timestamp::now();
        let since = previous.minus(self.settings.overlap);
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
        let (pending, in_progress, completed, failed) = tokio::try_join!(
            query(Status::Pending),
            query(Status::InProgress),
            query(Status::Completed),
            query(Status::Failed)
        )?;
        let mut report = RefreshReport::default();
        for p in pending
            .iter()
            .chain(&in_progress)
            .chain(&completed)
            .chain(&failed)
        {
            report.read(p);
            match self.state.apply(p) {
                Change::Inserted => report.changed += 1,
                Change::Replaced { from, to } => {
                    report.changed += 1;
                    report.transitions.count(from, to);
                }
                Change::Unchanged | Change::Older => {}
            }
        }
        self.state.settle();
        self.last_started = Some(started);
        Ok(report)
    }

    /// The snapshot of the state, as of the start of the last successful read (now, before
    /// any): the table is at least that fresh, and stuck spaces are judged at that instant.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(self.last_started.unwrap_or_else(Timestamp::now))
    }

    /// The snapshot of the state with staleness judged at `now`.
    pub fn snapshot_at(&self, now: Timestamp) -> Snapshot {
        self.state.snapshot(FoldContext {
            now,
            stuck_after: self.settings.stuck_after,
            max_stuck_spaces: self.settings.max_stuck_spaces,
            max_failed_spaces: self.settings.max_failed_spaces,
            max_error_classes: self.settings.max_error_classes,
        })
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
