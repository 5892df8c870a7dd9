//! The error classes of the failed spaces, interned: each distinct [`ErrorClass`] is held once
//! with the number of failed spaces that have it, and an entry keeps only its small id (no
//! text), so a class costs memory once, not per space, and counting follows the changes. At most
//! [`MAX_CLASSES`] distinct classes are held; past that, new ones share one overflow class (the
//! counts stay exact). A class no space has any more is freed when the state settles.
//!
//! The snapshot's [`FailureClasses`] are built here: the classes with the most failed spaces,
//! each with its newest failure and a few example spaces, and the rest summed by retryability.

use std::collections::HashMap;

use super::{NO_TIME, TableState};
use crate::failure::{ErrorClass, OTHER, Retryable};
use crate::model::Timestamp;
use crate::state::snapshot::{ClassCount, FailureClasses};

/// The id of "no class" (spaces that have not failed).
pub(super) const NO_CLASS: u16 = 0;
/// The id of the class new classes share once [`MAX_CLASSES`] are held.
const OVERFLOW: u16 = 1;
/// Distinct classes held at most (a bound on what hostile error texts can cost).
pub const MAX_CLASSES: usize = 4_096;
/// The overflow class's name.
pub const OVERFLOW_NAME: &str = "<more error classes than the exporter keeps>";
/// Example spaces named per class.
pub const EXAMPLES: usize = 3;

#[derive(Debug)]
struct ClassSlot {
    class: ErrorClass,
    /// Failed spaces with this class.
    failed: u64,
}

/// The interned classes.
#[derive(Debug)]
pub(super) struct ClassTable {
    /// By id; ids 0 and 1 are reserved ([`NO_CLASS`], [`OVERFLOW`]).
    slots: Vec<Option<ClassSlot>>,
    ids: HashMap<ErrorClass, u16>,
    free: Vec<u16>,
}

impl Default for ClassTable {
    fn default() -> Self {
        let overflow = ErrorClass::new(OVERFLOW_NAME, Retryable::Unknown);
        ClassTable {
            slots: vec![
                None,
                Some(ClassSlot {
                    class: overflow,
                    failed: 0,
                }),
            ],
            ids: HashMap::new(),
            free: Vec::new(),
        }
    }
}

impl ClassTable {
    /// The id of `class`, interning it (or the overflow id when the table is full).
    pub(super) fn intern(&mut self, class: ErrorClass) -> u16 {
        if let Some(id) = self.ids.get(&class) {
            return *id;
        }
        if self.ids.len() >= MAX_CLASSES {
            return OVERFLOW;
        }
        let slot = Some(ClassSlot {
            class: class.clone(),
            failed: 0,
        });
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[usize::from(id)] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u16
            }
        };
        self.ids.insert(class, id);
        id
    }

    /// Counts a failed space of class `id` in (`sign` 1) or out (-1).
    pub(super) fn count(&mut self, id: u16, sign: i64) {
        if let Some(Some(slot)) = self.slots.get_mut(usize::from(id)) {
            slot.failed = slot.failed.wrapping_add_signed(sign);
        }
    }

    /// The class of `id`.
    pub(super) fn get(&self, id: u16) -> Option<&ErrorClass> {
        self.slots.get(usize::from(id))?.as_ref().map(|s| &s.class)
    }

    /// Frees the classes no failed space has (interned for a record that was then not kept,
    /// or whose spaces all left): their ids are reused.
    pub(super) fn sweep(&mut self) {
        for id in 2..self.slots.len() {
            let unused = self.slots[id].as_ref().is_some_and(|s| s.failed == 0);
            if unused && let Some(slot) = self.slots[id].take() {
                self.ids.remove(&slot.class);
                self.free.push(id as u16);
            }
        }
    }

    /// Classes held with at least one failed space: (id, count).
    fn counted(&self) -> impl Iterator<Item = (u16, &ClassSlot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| s.as_ref().map(|s| (id as u16, s)))
            .filter(|(_, s)| s.failed > 0)
    }

    /// Bytes held, roughly.
    pub(super) fn approx_bytes(&self) -> usize {
        self.ids
            .keys()
            .map(|c| c.name.len() * 2 + 64)
            .sum::<usize>()
            + self.slots.capacity() * 40
    }
}

impl TableState {
    /// The `max` classes with the most failed spaces (ties by name), each with its newest
    /// failure and up to [`EXAMPLES`] of its newest failed spaces; the rest summed by
    /// retryability. Costs the classes plus the failed spaces.
    pub(super) fn failure_classes(&self, max: usize) -> FailureClasses {
        let mut ranked: Vec<(u16, &ClassSlot)> = self.classes.counted().collect();
        let distinct = ranked.len() as u64;
        ranked
            .sort_by(|(_, a), (_, b)| b.failed.cmp(&a.failed).then_with(|| a.class.cmp(&b.class)));
        let mut other = [0u64; Retryable::ALL.len()];
        let mut top: Vec<ClassCount> = Vec::new();
        let mut place: HashMap<u16, usize> = HashMap::new();
        for (id, slot) in ranked {
            // OTHER is the sum's name: a class that happens to be called so joins it.
            if top.len() >= max || slot.class.name.as_ref() == OTHER {
                other[slot.class.retryable.index()] += slot.failed;
                continue;
            }
            place.insert(id, top.len());
            top.push(ClassCount {
                class: slot.class.clone(),
                failed: slot.failed,
                newest: None,
                examples: Vec::new(),
            });
        }
        self.fill_examples(&mut top, &place);
        FailureClasses {
            top,
            other,
            distinct,
        }
    }

    /// Each listed class's newest failure and newest example spaces, in one pass over the
    /// failed spaces.
    fn fill_examples(&self, top: &mut [ClassCount], place: &HashMap<u16, usize>) {
        let mut newest: Vec<Vec<(i64, &str)>> = vec![Vec::new(); top.len()];
        for e in self.failed.values() {
            let Some(&at) = place.get(&e.class) else {
                continue;
            };
            let list = &mut newest[at];
            let candidate = (e.updated_ms, e.name.as_ref());
            // Newest first, then by name; a space without updatedAt sorts last.
            let pos = list.partition_point(|x| {
                (x.0, std::cmp::Reverse(x.1)) > (candidate.0, std::cmp::Reverse(candidate.1))
            });
            if pos < EXAMPLES {
                list.insert(pos, candidate);
                list.truncate(EXAMPLES);
            }
        }
        for (count, list) in top.iter_mut().zip(newest) {
            count.newest = list
                .first()
                .filter(|(ms, _)| *ms != NO_TIME)
                .map(|(ms, _)| Timestamp::from_millis(*ms));
            count.examples = list.into_iter().map(|(_, s)| s.to_owned()).collect();
        }
    }

    /// The class of a failed entry's id, for naming it.
    pub(super) fn class_of(&self, id: u16) -> ErrorClass {
        self.classes
            .get(id)
            .cloned()
            .unwrap_or_else(|| ErrorClass::new(OVERFLOW_NAME, Retryable::Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Classifier, Rules};
    use crate::model::{SpaceProgress, Status};
    use crate::state::snapshot::{FoldContext, Snapshot};
    use crate::state::spaces::tests::{ctx, rec};

    fn failed(space: &str, error: &str, at: i64) -> SpaceProgress {
        let mut p = rec(space, Status::Failed, "w1", 1, at);
        p.error = Some(error.into());
        p
    }

    fn counts(s: &Snapshot) -> Vec<(String, &'static str, u64)> {
        s.failure_classes
            .top
            .iter()
            .map(|c| {
                (
                    c.class.name.to_string(),
                    c.class.retryable.as_str(),
                    c.failed,
                )
            })
            .collect()
    }

    #[test]
    fn failed_spaces_are_counted_by_class_and_leave_it_when_retried() {
        let mut st = TableState::new();
        st.apply(&failed("a", "Connection timeout after 3 retries", 100));
        st.apply(&failed("b", "Connection timeout after 5 retries", 200));
        st.apply(&failed("c", "disk 7 full", 300));
        let s = st.snapshot(ctx(400));
        assert_eq!(
            counts(&s),
            [
                ("timeout".into(), "true", 2),
                ("disk <n> full".into(), "unknown", 1)
            ]
        );
        assert_eq!(s.failure_classes.distinct, 2);
        assert_eq!(s.failed_spaces[0].class.name.as_ref(), "disk <n> full");
        st.apply(&rec("a", Status::InProgress, "w1", 1, 500));
        st.apply(&rec("b", Status::InProgress, "w1", 1, 500));
        st.settle();
        let s = st.snapshot(ctx(600));
        assert_eq!(counts(&s), [("disk <n> full".into(), "unknown", 1)]);
        assert_eq!(st.classes.ids.len(), 1, "the timeout class was freed");
    }

    #[test]
    fn classes_past_the_cap_are_summed_by_retryability_and_the_sum_is_exact() {
        let mut st = TableState::new();
        for (i, e) in [
            "timed out",
            "timed out",
            "timed out",
            "ECONNRESET",
            "ECONNRESET",
            "not found",
            "odd one",
        ]
        .iter()
        .enumerate()
        {
            st.apply(&failed(&format!("s{i}"), e, 100 + i as i64));
        }
        let s = st.snapshot(ctx(200)); // max_error_classes: 2
        assert_eq!(
            counts(&s),
            [
                ("timeout".into(), "true", 3),
                ("connection".into(), "true", 2)
            ]
        );
        assert_eq!(s.failure_classes.other[Retryable::No.index()], 1);
        assert_eq!(s.failure_classes.other[Retryable::Unknown.index()], 1);
        assert_eq!(s.failure_classes.failed(), 7);
        assert_eq!(s.failure_classes.distinct, 4);
    }

    #[test]
    fn a_class_lists_its_newest_failure_and_newest_examples() {
        let mut st = TableState::new();
        for (space, at) in [("x", 10), ("y", 40), ("z", 30), ("w", 20)] {
            st.apply(&failed(space, "timed out", at));
        }
        let s = st.snapshot(ctx(100));
        let c = &s.failure_classes.top[0];
        assert_eq!(c.examples, ["y", "z", "w"]);
        assert_eq!(c.newest, Some(Timestamp::from_millis(40_000)));
    }

    #[test]
    fn new_rules_reclassify_at_the_next_full_scan_without_counting_drift() {
        let mut st = TableState::new();
        st.apply(&failed("a", "quota hit", 100));
        let rules =
            Rules::parse("classes:\n- {name: quota, retryable: false, match: quota}\n").unwrap();
        st.set_classifier(Classifier::new(rules));
        st.begin_scan();
        let scanned = st.apply_scanned(
            &failed("a", "quota hit", 100),
            Some(Timestamp::from_millis(1_000_000)),
        );
        assert!(scanned.changed && !scanned.drift, "{scanned:?}");
        st.end_scan();
        st.settle();
        assert_eq!(
            counts(&st.snapshot(ctx(200))),
            [("quota".into(), "false", 1)]
        );
    }

    #[test]
    fn a_hostile_table_of_distinct_errors_costs_at_most_the_class_bound() {
        let mut st = TableState::new();
        for i in 0..(MAX_CLASSES + 100) {
            st.apply(&failed(
                &format!("s{i}"),
                &format!("error-word-{}", to_letters(i)),
                100,
            ));
        }
        let s = st.snapshot(FoldContext {
            max_error_classes: usize::MAX,
            ..ctx(200)
        });
        assert_eq!(st.classes.ids.len(), MAX_CLASSES);
        assert_eq!(s.failure_classes.failed(), (MAX_CLASSES + 100) as u64);
        let overflow = s
            .failure_classes
            .top
            .iter()
            .find(|c| &*c.class.name == OVERFLOW_NAME);
        assert_eq!(overflow.map(|c| c.failed), Some(100));
    }

    /// A number as letters, so that the normaliser keeps it apart.
    fn to_letters(mut n: usize) -> String {
        let mut s = String::new();
        loop {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                return s;
            }
        }
    }

    fn class(n: &str) -> ErrorClass {
        ErrorClass::new(n, Retryable::Unknown)
    }

    #[test]
    fn a_class_is_interned_once_and_freed_when_unused() {
        let mut t = ClassTable::default();
        let a = t.intern(class("a"));
        assert_eq!(t.intern(class("a")), a);
        let b = t.intern(class("b"));
        assert_ne!(a, b);
        t.count(a, 1);
        t.sweep();
        assert_eq!(t.get(a), Some(&class("a")));
        assert_eq!(t.get(b), None, "b had no failed space");
        assert_eq!(t.intern(class("c")), b, "its id is reused");
    }

    #[test]
    fn past_the_bound_new_classes_share_the_overflow_class() {
        let mut t = ClassTable::default();
        for i in 0..MAX_CLASSES {
            let id = t.intern(class(&i.to_string()));
            t.count(id, 1);
        }
        let id = t.intern(class("one more"));
        assert_eq!(id, OVERFLOW);
        assert_eq!(t.get(id).map(|c| &*c.name), Some(OVERFLOW_NAME));
    }
}
