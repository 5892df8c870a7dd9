//! Records applied many at a time: the home slots of the next few spaces are read together
//! before any is applied, so that in a map far larger than the caches the lookups wait on
//! memory once per batch rather than once per space. What a batch does is exactly what the
//! same records applied one by one do, in the same order.

use super::{Change, Scanned, SpaceId, TableState};
use crate::model::{SpaceProgress, Timestamp};

/// Records looked up ahead together: enough loads in flight to cover a memory access's
/// latency, few enough for the slots read to stay in the cache until they are used.
const AHEAD: usize = 16;

impl TableState {
    /// Applies each (id, record) as [`TableState::apply`] does, in order, and tells `each` the
    /// record and what it did. Each id is the record's [`super::id_of`] ([`super::with_ids`]).
    pub fn apply_each<'a>(
        &mut self,
        records: impl IntoIterator<Item = (SpaceId, &'a SpaceProgress)>,
        mut each: impl FnMut(&'a SpaceProgress, Change),
    ) {
        self.in_batches(records, |st, id, p| each(p, st.apply_id(id, p)));
    }

    /// Applies each (id, record) read by a full scan as [`TableState::apply_scanned`] does, in
    /// order, and tells `each` the record and what it did.
    pub fn apply_scanned_each<'a>(
        &mut self,
        records: impl IntoIterator<Item = (SpaceId, &'a SpaceProgress)>,
        visible_before: Option<Timestamp>,
        mut each: impl FnMut(&'a SpaceProgress, Scanned),
    ) {
        self.in_batches(records, |st, id, p| {
            each(p, st.apply_scanned_id(id, p, visible_before));
        });
    }

    fn in_batches<'a>(
        &mut self,
        records: impl IntoIterator<Item = (SpaceId, &'a SpaceProgress)>,
        mut apply: impl FnMut(&mut TableState, SpaceId, &'a SpaceProgress),
    ) {
        let mut records = records.into_iter();
        let mut batch: Vec<(SpaceId, &SpaceProgress)> = Vec::with_capacity(AHEAD);
        loop {
            batch.clear();
            batch.extend(records.by_ref().take(AHEAD));
            if batch.is_empty() {
                return;
            }
            self.entries.prefetch(batch.iter().map(|(id, _)| *id));
            for (id, p) in &batch {
                apply(self, *id, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::state::spaces::tests::{ctx, rec};
    use crate::state::spaces::with_ids;

    /// Records spanning several batches, some of them the same space twice in one batch.
    fn history() -> Vec<SpaceProgress> {
        let statuses = [
            Status::Pending,
            Status::InProgress,
            Status::Failed,
            Status::Completed,
        ];
        (0..100)
            .map(|i| {
                let status = statuses[i % statuses.len()];
                rec(
                    &format!("s{}", i % 37),
                    status,
                    &format!("w{}", i % 3),
                    1,
                    100 + i as i64,
                )
            })
            .collect()
    }

    #[test]
    fn a_batch_does_what_the_same_records_one_by_one_do() {
        let records = history();
        let mut one = TableState::new();
        let singly: Vec<Change> = records.iter().map(|p| one.apply(p)).collect();
        let mut many = TableState::new();
        let mut batched = Vec::new();
        many.apply_each(with_ids(&records), |_, c| batched.push(c));
        assert_eq!(batched, singly);
        assert_eq!(many.contributions(), one.contributions());
        assert_eq!(many.snapshot(ctx(500)), one.snapshot(ctx(500)));
    }

    #[test]
    fn a_scanned_batch_does_what_the_same_records_one_by_one_do() {
        let records = history();
        let mut one = TableState::new();
        let mut many = TableState::new();
        for st in [&mut one, &mut many] {
            st.apply(&rec("gone", Status::Failed, "w1", 1, 50));
            st.begin_scan();
        }
        let before = Some(Timestamp::from_millis(150_000));
        let singly: Vec<Scanned> = records
            .iter()
            .map(|p| one.apply_scanned(p, before))
            .collect();
        let mut batched = Vec::new();
        many.apply_scanned_each(with_ids(&records), before, |_, s| batched.push(s));
        assert_eq!(batched, singly);
        assert_eq!((many.end_scan(), one.end_scan()), (1, 1));
        assert_eq!(many.snapshot(ctx(500)), one.snapshot(ctx(500)));
    }
}
