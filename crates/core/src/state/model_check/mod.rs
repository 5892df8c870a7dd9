//! Model-based tests of the refresh engine: random histories ([`history`]) played on a table
//! with a lagging status index, refreshed by the real [`Engine`] in random interleavings of
//! full and incremental refreshes, and checked after every refresh against a plain model
//! ([`oracle`]): the engine holds exactly the model's records, its snapshot equals the model's
//! fold, its reports count what the model counts, and the transitions counter sums to the
//! model's. After a full refresh the model is the table; after an incremental one, every
//! space where the two differ is one the README says waits for the next full scan, for a reason
//! [`history::Table::unseen_because`] names. `PROPTEST_CASES` raises the case count; a failure
//! prints the shrunk history and proptest's seed.

mod history;
mod oracle;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::engine::Engine;
use super::refresh::RefreshSettings;
use super::snapshot::{FoldContext, Transitions};
use crate::failure::Classifier;
use crate::model::SpaceProgress;
use history::{Op, Refresh, Table};
use oracle::{Expected, Model};

const OVERLAP_MS: i64 = 5_000;
const BOUNDS: [u32; 4] = [1, 5, 30, 120];

fn settings() -> RefreshSettings {
    RefreshSettings {
        interval: Duration::from_secs(1),
        full_interval: Duration::from_secs(60),
        overlap: Duration::from_millis(OVERLAP_MS as u64),
        stuck_after: Duration::from_secs(20),
        segments: 1,
        max_stuck_spaces: 3,
        max_failed_spaces: 3,
        max_error_classes: 2,
        duration_buckets: BOUNDS.to_vec(),
    }
}

/// A small deterministic generator for the read order and the repeats of one refresh.
fn shuffled(
    mut records: Vec<(usize, SpaceProgress)>,
    order: u64,
    twice: u64,
) -> Vec<(usize, SpaceProgress)> {
    let mut state = order | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let repeats: Vec<_> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| twice >> (i % 64) & 1 == 1 && twice.is_multiple_of(3))
        .map(|(_, r)| r.clone())
        .collect();
    records.extend(repeats);
    for i in (1..records.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        records.swap(i, j);
    }
    records
}

/// Plays `history` and checks the engine after every refresh, and after a last full one.
fn check(history: &[Op]) -> Result<(), TestCaseError> {
    let settings = Arc::new(settings());
    let mut engine = Engine::new(settings.clone());
    let mut table = Table::default();
    let mut model = Model::new(Classifier::default());
    let mut counted = Transitions::default();
    let last = Op::Refresh {
        kind: Refresh::Full,
        order: 7,
        twice: 0,
    };
    for op in history.iter().chain([&last]) {
        match op {
            Op::Write(w) => table.write(w),
            Op::Delete { space, lag_ms } => table.delete(*space, *lag_ms),
            Op::Wait { ms } => table.wait(*ms),
            Op::Refresh { kind, order, twice } => {
                let started = table.now();
                let since = model.last_started.map(|t| t.minus(settings.overlap));
                prop_assert_eq!(
                    engine.since(),
                    since,
                    "the window starts at the last start less the overlap"
                );
                let (report, want) = match since {
                    Some(since) if *kind == Refresh::Incremental => {
                        let read = shuffled(table.query(since), *order, *twice);
                        let report = engine.incremental(started, read.iter().map(|(_, p)| p));
                        let want = model.incremental(&read, started);
                        waiting_is_explained(&table, &model, since)?;
                        (report, want)
                    }
                    _ => {
                        let read = shuffled(table.scan(), *order, 0);
                        let mut scan = engine.full_scan(started);
                        scan.apply(read.iter().map(|(_, p)| p));
                        let report = scan.finish();
                        let want = model.full(&read, started);
                        prop_assert_eq!(
                            &model.expected,
                            &truth(&table),
                            "a full scan holds the table"
                        );
                        (report, want)
                    }
                };
                let got = Expected {
                    items: report.items,
                    changed: report.changed,
                    drift: report.drift,
                };
                prop_assert_eq!(got, want, "the refresh's report");
                counted.add(&report.transitions);
                prop_assert_eq!(counted, model.transitions, "transitions counted");
                prop_assert_eq!(engine.state().contributions(), model.contributions());
                let ctx = fold_context(&settings, started);
                prop_assert_eq!(engine.snapshot_at(started), model.snapshot(ctx, &BOUNDS));
                table.wait(1);
            }
        }
    }
    Ok(())
}

fn fold_context(settings: &RefreshSettings, now: crate::model::Timestamp) -> FoldContext {
    FoldContext {
        now,
        stuck_after: settings.stuck_after,
        max_stuck_spaces: settings.max_stuck_spaces,
        max_failed_spaces: settings.max_failed_spaces,
        max_error_classes: settings.max_error_classes,
    }
}

/// After an incremental refresh, each space where the model (what the engine holds) differs
/// from the table must be one the index could not show since `since`, for a listed reason.
fn waiting_is_explained(
    table: &Table,
    model: &Model,
    since: crate::model::Timestamp,
) -> Result<(), TestCaseError> {
    let truth = truth(table);
    let spaces = table.spaces().chain(model.expected.keys().copied());
    for space in spaces {
        let (held, now) = (model.expected.get(&space), truth.get(&space));
        if held != now {
            prop_assert!(
                table.unseen_because(space, since).is_some(),
                "space {} differs from the table although the index showed it: held {:?}, table {:?}",
                space,
                held,
                now
            );
        }
    }
    Ok(())
}

/// The table's items as they are.
fn truth(table: &Table) -> BTreeMap<usize, SpaceProgress> {
    table.scan().into_iter().collect()
}

fn config() -> ProptestConfig {
    crate::proptest_cases::cases(512)
}

/// A write of space 0 at the clock's time plus `skew_ms`.
fn rewrite(status: crate::model::Status, skew_ms: i64) -> Op {
    Op::Write(history::Write {
        space: 0,
        status,
        total: 10,
        done: 0,
        instance: 0,
        worker: 0,
        error: None,
        created: false,
        skew_ms,
        lag_ms: 0,
        flaw: None,
    })
}

#[test]
fn a_rewrite_by_a_clock_behind_within_the_overlap_is_applied_at_once() {
    // Found by the property: the engine dropped an index record older than the one it held,
    // so a space retried by a worker whose clock was 3 ms behind kept its old status until the
    // next full scan.
    use crate::model::Status;
    let incremental = Op::Refresh {
        kind: Refresh::Incremental,
        order: 0,
        twice: 0,
    };
    let full = Op::Refresh {
        kind: Refresh::Full,
        order: 0,
        twice: 0,
    };
    let h = [
        rewrite(Status::Failed, 0),
        full,
        rewrite(Status::InProgress, -3),
        incremental.clone(),
        rewrite(Status::Completed, -(OVERLAP_MS / 2)),
        incremental,
    ];
    check(&h).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_engine_matches_the_model_under_any_history(h in history::history(40, 120, OVERLAP_MS)) {
        check(&h)?;
    }
}
