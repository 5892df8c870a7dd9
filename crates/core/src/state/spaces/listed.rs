//! The in-progress and failed spaces by name, each with what a snapshot reads of it (its
//! `updatedAt`, pair and error class) beside the name, so that a snapshot never looks into the
//! big map of all spaces: its cost is these spaces, read in one pass over a small map, however
//! large the table. Kept up to date as entries change; a change touches these maps only when
//! the space's status was or is in progress or failed.

use super::entry::Entry;
use super::id::IdMap;
use super::{NO_CLASS, NO_TIME, SpaceId, TableState};
use crate::model::Status;

/// A listed space: its name and what a snapshot reads of its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listed {
    pub(super) name: Box<str>,
    /// Its `updatedAt` in ms ([`super::NO_TIME`] when it has none).
    pub(super) updated_ms: i64,
    /// Its instance/worker pair.
    pub(super) group: u32,
    /// Its error class ([`super::NO_CLASS`] unless failed).
    pub(super) class: u16,
}

/// The listed spaces of one status.
pub(super) type Names = IdMap<Listed>;

impl Listed {
    /// A space by its name, its fields to be filled by [`Listed::follow`].
    fn named(space: &str) -> Listed {
        Listed {
            name: space.into(),
            updated_ms: NO_TIME,
            group: 0,
            class: NO_CLASS,
        }
    }

    /// Takes the fields a snapshot reads from the space's entry as it is now.
    fn follow(&mut self, e: &Entry) {
        self.updated_ms = e.updated_ms;
        self.group = e.group;
        self.class = e.class;
    }
}

impl TableState {
    /// The listed spaces of `status`, if its spaces are listed.
    fn names_mut(&mut self, status: Status) -> Option<&mut Names> {
        match status {
            Status::InProgress => Some(&mut self.in_progress),
            Status::Failed => Some(&mut self.failed),
            _ => None,
        }
    }

    /// Keeps the listed spaces in step with `id` now held as `e` (before: `old`): listed with
    /// `e`'s fields under its status, and unlisted from the status it had, if another.
    pub(super) fn relist(&mut self, id: SpaceId, e: &Entry, old: Option<&Entry>, space: &str) {
        if let Some(old) = old.filter(|o| o.status != e.status) {
            self.unlist(id, old);
        }
        if let Some(names) = self.names_mut(e.status) {
            names
                .entry(id)
                .or_insert_with(|| Listed::named(space))
                .follow(e);
        }
    }

    /// Unlists `id`, held as `old` until now.
    pub(super) fn unlist(&mut self, id: SpaceId, old: &Entry) {
        if let Some(names) = self.names_mut(old.status) {
            names.remove(&id);
        }
    }

    /// Heap bytes of the listed spaces, roughly (name, fields and the map's slot).
    pub(super) fn listed_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(SpaceId, Listed)>() + 1;
        self.in_progress
            .values()
            .chain(self.failed.values())
            .map(|l| l.name.len() + slot)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::spaces::space_id;
    use crate::state::spaces::tests::rec;

    fn listed(st: &TableState, status: Status) -> Vec<(String, i64)> {
        let names = match status {
            Status::InProgress => &st.in_progress,
            _ => &st.failed,
        };
        let mut out: Vec<(String, i64)> = names
            .values()
            .map(|l| (l.name.to_string(), l.updated_ms / 1000))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_listed_space_follows_its_entry_and_leaves_when_its_status_does() {
        let mut st = TableState::new();
        st.apply(&rec("a", Status::InProgress, "w1", 1, 100));
        st.apply(&rec("a", Status::InProgress, "w2", 2, 150));
        assert_eq!(listed(&st, Status::InProgress), vec![("a".into(), 150)]);
        let held = &st.in_progress[&space_id("did:mailto:c", "a")];
        assert_eq!(st.groups[held.group as usize].key.worker_id, "w2");
        st.apply(&rec("a", Status::Failed, "w2", 2, 200));
        assert!(listed(&st, Status::InProgress).is_empty());
        assert_eq!(listed(&st, Status::Failed), vec![("a".into(), 200)]);
        st.apply(&rec("a", Status::Completed, "w2", 100, 300));
        assert!(listed(&st, Status::Failed).is_empty());
    }

    #[test]
    fn a_space_a_scan_did_not_see_is_unlisted() {
        let mut st = TableState::new();
        st.apply(&rec("gone", Status::Failed, "w1", 1, 100));
        st.apply(&rec("kept", Status::InProgress, "w1", 1, 100));
        st.begin_scan();
        st.apply_scanned(&rec("kept", Status::InProgress, "w1", 1, 100), None);
        assert_eq!(st.end_scan(), 1);
        assert!(listed(&st, Status::Failed).is_empty());
        assert_eq!(listed(&st, Status::InProgress), vec![("kept".into(), 100)]);
    }
}
