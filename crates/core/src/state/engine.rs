//! The refresh engine: what a full scan and an incremental refresh do to the state, apart from
//! reading the table. [`Engine`] holds the per-space [`TableState`] and the start of the last
//! successful refresh; a full scan ([`FullScan`]) applies every item it is given as the truth
//! and removes what it was not given, an incremental refresh applies what the status index
//! showed after [`Engine::since`]. The [`super::tracker::Tracker`] does the reading; the
//! model-based tests drive this same engine with histories of their own.
//!
//! What the index shows is taken as the item as it is now, whatever its `updatedAt`: a worker
//! whose clock runs behind rewrites a space with an older `updatedAt`, and that write is the
//! item's truth. Only among the records of one refresh does the newest `updatedAt` win, for an
//! item the index lists twice (once under its old status, once under its new one, while a
//! change propagates).

use std::collections::HashMap;
use std::sync::Arc;

use super::refresh::{RefreshReport, RefreshSettings};
use super::snapshot::{FoldContext, Snapshot};
use super::spaces::{Change, SpaceId, TableState, id_of, with_ids};
use crate::failure::Classifier;
use crate::model::{SpaceProgress, Timestamp};

/// The state and what its next refresh must read.
pub struct Engine {
    state: TableState,
    settings: Arc<RefreshSettings>,
    /// Start of the last successful refresh (the exporter's clock): what the state is as of.
    last_started: Option<Timestamp>,
}

impl Engine {
    /// An empty engine refreshing with `settings`.
    pub fn new(settings: Arc<RefreshSettings>) -> Self {
        Engine {
            state: TableState::with_duration_bounds(&settings.duration_buckets),
            settings,
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

    /// Classifies failed spaces with `classifier` from now on (spaces held keep their class
    /// until read again).
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.state.set_classifier(classifier);
    }

    /// Start of the last successful refresh, if any.
    pub fn last_started(&self) -> Option<Timestamp> {
        self.last_started
    }

    /// The `updatedAt` after which an incremental refresh must read the index: the previous
    /// refresh's start less the overlap. `None` before the first refresh (a full scan is due).
    pub fn since(&self) -> Option<Timestamp> {
        self.last_started.map(|t| t.minus(self.settings.overlap))
    }

    /// Starts a full scan that began reading at `started`.
    pub fn full_scan(&mut self, started: Timestamp) -> FullScan<'_> {
        self.state.begin_scan();
        FullScan {
            visible_before: self.last_started,
            engine: self,
            started,
            report: RefreshReport::default(),
        }
    }

    /// Applies what the status index showed to a refresh that began at `started`: for each
    /// space, the record with the newest `updatedAt` among those read (the first on a tie).
    pub fn incremental<'a>(
        &mut self,
        started: Timestamp,
        read: impl IntoIterator<Item = &'a SpaceProgress>,
    ) -> RefreshReport {
        let mut report = RefreshReport::default();
        let mut order = Vec::new();
        let mut newest: HashMap<SpaceId, &SpaceProgress> = HashMap::new();
        for p in read {
            report.read(p);
            let id = id_of(p);
            match newest.get_mut(&id) {
                Some(held) if p.updated_at > held.updated_at => *held = p,
                Some(_) => {}
                None => {
                    newest.insert(id, p);
                    order.push(id);
                }
            }
        }
        let records = order.iter().map(|id| (*id, newest[id]));
        self.state.apply_each(records, |_, change| match change {
            Change::Inserted => report.changed += 1,
            Change::Replaced { from, to } => {
                report.changed += 1;
                report.transitions.count(from, to);
            }
            Change::Unchanged => {}
        });
        self.state.settle();
        self.last_started = Some(started);
        report
    }

    /// The snapshot of the state, as of the start of the last successful refresh (now, before
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

/// A full scan in progress: every item read is applied as the truth; [`FullScan::finish`]
/// removes the spaces not read. Dropped unfinished (the scan failed), it removes nothing and
/// the engine keeps the start of the previous refresh.
pub struct FullScan<'a> {
    engine: &'a mut Engine,
    started: Timestamp,
    /// The previous refresh's start: differences older than it are drift.
    visible_before: Option<Timestamp>,
    report: RefreshReport,
}

impl FullScan<'_> {
    /// Applies items the scan read, in order.
    pub fn apply<'b>(&mut self, items: impl IntoIterator<Item = &'b SpaceProgress>) {
        let report = &mut self.report;
        let state = &mut self.engine.state;
        state.apply_scanned_each(with_ids(items), self.visible_before, |p, s| {
            report.read(p);
            report.changed += u64::from(s.changed);
            report.drift += u64::from(s.drift);
            if let Some((from, to)) = s.transition {
                report.transitions.count(from, to);
            }
        });
    }

    /// Ends the scan: removes what it did not read (deleted items; drift once a refresh came
    /// before) and makes its start the state's.
    pub fn finish(mut self) -> RefreshReport {
        let removed = self.engine.state.end_scan();
        self.engine.state.settle();
        if self.visible_before.is_some() {
            self.report.drift += removed;
        }
        self.report.changed += removed;
        self.engine.last_started = Some(self.started);
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpaceKey, Status};

    fn settings() -> Arc<RefreshSettings> {
        Arc::new(RefreshSettings::full_only(
            std::time::Duration::from_secs(60),
            1,
        ))
    }

    fn rec(status: Status, updated_s: i64) -> SpaceProgress {
        SpaceProgress {
            key: SpaceKey::new("did:mailto:c", "s"),
            status,
            total_uploads: 10,
            completed_uploads: 0,
            last_processed_upload: None,
            instance_id: Some("i".into()),
            worker_id: Some("w".into()),
            error: None,
            created_at: None,
            updated_at: Some(Timestamp::from_millis(updated_s * 1000)),
            problems: Default::default(),
        }
    }

    fn status_of(e: &Engine) -> Vec<Status> {
        e.state()
            .contributions()
            .values()
            .map(|c| c.status)
            .collect()
    }

    #[test]
    fn a_space_listed_under_two_statuses_in_one_refresh_takes_the_newer() {
        // While a change propagates, the index may list a space under its old status and its
        // new one; in whichever order the queries return them, the newer write wins.
        for order in [[0, 1], [1, 0]] {
            let mut e = Engine::new(settings());
            e.full_scan(Timestamp::from_millis(0)).finish();
            let read = [rec(Status::InProgress, 100), rec(Status::Completed, 200)];
            let report = e.incremental(Timestamp::from_millis(300_000), order.map(|i| &read[i]));
            assert_eq!(status_of(&e), vec![Status::Completed]);
            assert_eq!((report.items, report.changed), (2, 1));
        }
    }

    #[test]
    fn the_window_starts_at_the_last_start_less_the_overlap() {
        let mut s = RefreshSettings::full_only(std::time::Duration::from_secs(60), 1);
        s.overlap = std::time::Duration::from_secs(5);
        let mut e = Engine::new(Arc::new(s));
        assert_eq!(e.since(), None);
        e.full_scan(Timestamp::from_millis(60_000)).finish();
        assert_eq!(e.since(), Some(Timestamp::from_millis(55_000)));
        e.incremental(Timestamp::from_millis(70_000), []);
        assert_eq!(e.since(), Some(Timestamp::from_millis(65_000)));
    }

    #[test]
    fn a_full_scan_dropped_unfinished_removes_nothing_and_keeps_the_window() {
        let mut e = Engine::new(settings());
        e.incremental(Timestamp::from_millis(1_000), [&rec(Status::Pending, 1)]);
        {
            // The scan fails after one item: it is never finished.
            let mut scan = e.full_scan(Timestamp::from_millis(2_000));
            scan.apply([&rec(Status::Failed, 2)]);
        }
        assert_eq!(e.last_started(), Some(Timestamp::from_millis(1_000)));
        assert_eq!(status_of(&e), vec![Status::Failed]);
    }
}
