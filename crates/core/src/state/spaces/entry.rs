//! What the state holds for one space, packed: 32 bytes, a 48-byte slot with its id. Upload
//! counts are held in 40 bits each, which is exact for every count the table decoder accepts
//! ([`MAX_UPLOADS`]); a record carrying a larger one (only a caller that builds records itself
//! can) is held as the decoder would have read it: count 0, with [`InvalidReason::InvalidNumber`].

use crate::model::{InvalidReason, Problems, Status};
use crate::state::snapshot::Totals;
use crate::table::item::MAX_UPLOADS;

/// `updatedAt` of an entry without one.
pub(super) const NO_TIME: i64 = i64::MIN;

/// An upload count in 40 bits (up to 1,099,511,627,775).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Count([u8; 5]);

const _: () = assert!(
    MAX_UPLOADS < 1 << 40,
    "every accepted count fits in 40 bits"
);

impl Count {
    /// `n`, which must be at most [`MAX_UPLOADS`] (see [`held_counts`]).
    fn new(n: u64) -> Count {
        debug_assert!(n <= MAX_UPLOADS);
        let b = n.to_le_bytes();
        Count([b[0], b[1], b[2], b[3], b[4]])
    }

    pub(super) fn get(self) -> u64 {
        let [a, b, c, d, e] = self.0;
        u64::from_le_bytes([a, b, c, d, e, 0, 0, 0])
    }
}

/// A record's (total, completed) upload counts as held, and its problems: a count above
/// [`MAX_UPLOADS`] is 0 and flagged, as the table decoder reads it.
pub(super) fn held_counts(
    total: u64,
    completed: u64,
    mut problems: Problems,
) -> (Count, Count, Problems) {
    let mut zeroed = false;
    let mut held = |n: u64| {
        if n <= MAX_UPLOADS {
            n
        } else {
            zeroed = true;
            0
        }
    };
    let (total, completed) = (held(total), held(completed));
    if zeroed {
        problems.insert(InvalidReason::InvalidNumber);
        if completed > total {
            problems.insert(InvalidReason::CompletedExceedsTotal);
        }
    }
    (Count::new(total), Count::new(completed), problems)
}

/// What one space contributes. Fields ordered by size so that they pack into 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// `updatedAt` in ms, or [`NO_TIME`].
    pub(super) updated_ms: i64,
    /// A completed space's duration code (see [`super::durations`]).
    pub(super) duration: u32,
    pub(super) group: u32,
    pub(super) total: Count,
    pub(super) completed: Count,
    /// A failed space's error class ([`super::classes::NO_CLASS`] for the others).
    pub(super) class: u16,
    pub(super) problems: Problems,
    pub(super) status: Status,
    /// The full scan that last saw it (mark and sweep; see [`super::TableState::begin_scan`]).
    pub(super) seen: u8,
}

impl Default for Entry {
    /// What an empty slot holds; never read as a space.
    fn default() -> Self {
        Entry {
            updated_ms: NO_TIME,
            duration: 0,
            group: 0,
            total: Count::default(),
            completed: Count::default(),
            class: 0,
            problems: Problems::default(),
            status: Status::Unknown,
            seen: 0,
        }
    }
}

impl Entry {
    pub(super) fn totals(&self) -> Totals {
        Totals {
            spaces: 1,
            uploads: self.total.get(),
            completed_uploads: self.completed.get(),
        }
    }

    /// Same contribution (ignoring the scan mark).
    pub(super) fn same(&self, other: &Entry) -> bool {
        Entry { seen: 0, ..*self } == Entry { seen: 0, ..*other }
    }

    /// Same record as far as the table says: only the class may differ (the rules changed).
    pub(super) fn same_record(&self, other: &Entry) -> bool {
        self.same(&Entry {
            class: self.class,
            ..*other
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::SpaceId;
    use super::super::dense::EntrySlot;
    use super::*;

    #[test]
    fn an_entry_is_32_bytes_and_a_slot_with_its_id_48() {
        // 40-bit counts, a one-byte scan mark and an 8-byte aligned id ([u64; 2], not u128:
        // no padding to 16) in a slot without control bytes: 48 bytes a space, 70% to 87.5%
        // of the slots in use, where a HashMap bucket was 64 bytes plus a control byte.
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<EntrySlot<Entry>>(), 48);
        assert_eq!(std::mem::size_of::<SpaceId>(), 16);
    }

    #[test]
    fn counts_are_exact_up_to_the_decoders_bound_and_flagged_beyond() {
        for n in [0, 1, 255, 256, u64::from(u32::MAX) + 1, MAX_UPLOADS] {
            let (t, c, p) = held_counts(n, n / 2, Problems::default());
            assert_eq!((t.get(), c.get(), p), (n, n / 2, Problems::default()));
        }
        let (t, c, p) = held_counts(MAX_UPLOADS + 1, 7, Problems::default());
        assert_eq!((t.get(), c.get()), (0, 7));
        assert!(p.contains(InvalidReason::InvalidNumber));
        assert!(p.contains(InvalidReason::CompletedExceedsTotal));
        let (t, c, p) = held_counts(9, u64::MAX, Problems::default());
        assert_eq!((t.get(), c.get()), (9, 0));
        assert!(p.contains(InvalidReason::InvalidNumber));
        assert!(!p.contains(InvalidReason::CompletedExceedsTotal));
    }
}
