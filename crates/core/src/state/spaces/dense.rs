//! The map from [`SpaceId`] to a space's entry, dense enough for ten million spaces: open
//! addressing with Robin Hood linear probing over plain (key, value) slots, with no control
//! bytes (the all-zero key marks an empty slot; the space whose id is zero is held apart).
//!
//! Two things make a `HashMap` of the same entries about twice this size: its power-of-two
//! growth (just past 7/8 of 2^k buckets, as at 1,000,000 spaces, the table is 2^(k+1) buckets,
//! less than half full) and a resize that holds the old and the new table at once. Here the ids
//! (hashes already) are split by their top bits into [`SHARDS`] shards, each of which grows by a
//! quarter when more than [`MAX_LOAD_EIGHTHS`]/8 full, so the slots are 70% to 87.5% in use at
//! any size, and a resize holds one shard twice, not the whole table. A slot's home is its id's
//! low 64 bits scaled to the shard's size, which needs no power of two. Each shard's slots are
//! pages of one size, which the allocator reuses as shards grow (see [`Pages`]).

use std::fmt;
use std::ops::{Index, IndexMut};

use super::SpaceId;

/// Shards, chosen by an id's top bits.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;
/// A shard grows when an insert would make it fuller than this many eighths.
const MAX_LOAD_EIGHTHS: usize = 7;
/// Slots of a shard's first allocation.
const MIN_SLOTS: usize = 8;
/// The key of an empty slot.
const EMPTY: [u64; 2] = [0, 0];
/// Slots per page of a shard (48 KiB pages of 48-byte slots).
const PAGE_BITS: u32 = 10;
const PAGE: usize = 1 << PAGE_BITS;

/// A shard's slots in pages of [`PAGE`] (the last one shorter). A shard's slots are not one
/// block on purpose: blocks of every size as shards grow leave holes the allocator keeps
/// resident (about 20 MiB at 1,000,000 spaces, measured), where pages of one size are reused
/// by the next shard that grows.
#[derive(Clone)]
struct Pages<T> {
    pages: Vec<Box<[T]>>,
    len: usize,
}

impl<T: Copy> Pages<T> {
    fn filled(len: usize, value: T) -> Pages<T> {
        let pages = (0..len.div_ceil(PAGE))
            .map(|p| vec![value; PAGE.min(len - p * PAGE)].into_boxed_slice())
            .collect();
        Pages { pages, len }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.pages.iter().flat_map(|p| p.iter())
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.pages.iter_mut().flat_map(|p| p.iter_mut())
    }
}

impl<T> Index<usize> for Pages<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.pages[i >> PAGE_BITS][i & (PAGE - 1)]
    }
}

impl<T> IndexMut<usize> for Pages<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.pages[i >> PAGE_BITS][i & (PAGE - 1)]
    }
}

/// One slot: the id as two words (8-byte aligned, unlike `u128`), and the value.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntrySlot<V> {
    key: [u64; 2],
    value: V,
}

fn split(id: SpaceId) -> [u64; 2] {
    [(id >> 64) as u64, id as u64]
}

fn join(key: [u64; 2]) -> SpaceId {
    (u128::from(key[0]) << 64) | u128::from(key[1])
}

/// One shard: `slots.len()` is its capacity.
#[derive(Clone)]
struct Shard<V> {
    slots: Pages<EntrySlot<V>>,
    len: usize,
}

impl<V: Copy + Default> Shard<V> {
    fn home(&self, key: [u64; 2]) -> usize {
        ((u128::from(key[1]) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, at: usize) -> usize {
        if at + 1 == self.slots.len() {
            0
        } else {
            at + 1
        }
    }

    /// How far the occupied slot `at` is from its home.
    fn distance(&self, at: usize) -> usize {
        let home = self.home(self.slots[at].key);
        (at + self.slots.len() - home) % self.slots.len()
    }

    /// Where `key` is held. Robin Hood order ends the search at the first slot nearer its home
    /// than `key` would be.
    fn find(&self, key: [u64; 2]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut at = self.home(key);
        for d in 0..self.slots.len() {
            let slot = &self.slots[at];
            if slot.key == key {
                return Some(at);
            }
            if slot.key == EMPTY || self.distance(at) < d {
                return None;
            }
            at = self.next(at);
        }
        None
    }

    /// Places a key that is not held, growing first when the shard would be too full.
    fn insert_new(&mut self, key: [u64; 2], value: V) {
        if (self.len + 1) * 8 > self.slots.len() * MAX_LOAD_EIGHTHS {
            self.grow();
        }
        let mut carry = EntrySlot { key, value };
        let mut at = self.home(key);
        let mut d = 0;
        loop {
            if self.slots[at].key == EMPTY {
                self.slots[at] = carry;
                self.len += 1;
                return;
            }
            let theirs = self.distance(at);
            if theirs < d {
                std::mem::swap(&mut self.slots[at], &mut carry);
                d = theirs;
            }
            at = self.next(at);
            d += 1;
        }
    }

    /// Empties slot `at`, shifting the slots after it back towards their homes.
    fn remove_at(&mut self, at: usize) -> V {
        let value = self.slots[at].value;
        let mut hole = at;
        loop {
            let next = self.next(hole);
            if self.slots[next].key == EMPTY || self.distance(next) == 0 {
                break;
            }
            self.slots[hole] = self.slots[next];
            hole = next;
        }
        self.slots[hole] = EntrySlot {
            key: EMPTY,
            value: V::default(),
        };
        self.len -= 1;
        value
    }

    /// A quarter more slots (at least [`MIN_SLOTS`]), every held slot placed again.
    fn grow(&mut self) {
        let slots = (self.slots.len() + self.slots.len() / 4).max(MIN_SLOTS);
        let empty = EntrySlot {
            key: EMPTY,
            value: V::default(),
        };
        let old = std::mem::replace(&mut self.slots, Pages::filled(slots, empty));
        self.len = 0;
        for slot in old.iter().filter(|s| s.key != EMPTY) {
            self.insert_new(slot.key, slot.value);
        }
    }
}

/// A map from [`SpaceId`] to `V`, as dense as a hash table can reasonably be.
#[derive(Clone)]
pub(super) struct DenseMap<V> {
    shards: Vec<Shard<V>>,
    /// The value of the id zero, whose key marks empty slots.
    zero: Option<V>,
}

impl<V: Copy + Default> Default for DenseMap<V> {
    fn default() -> Self {
        let empty = Shard {
            slots: Pages {
                pages: Vec::new(),
                len: 0,
            },
            len: 0,
        };
        DenseMap {
            shards: vec![empty; SHARDS],
            zero: None,
        }
    }
}

impl<V: Copy + Default> DenseMap<V> {
    fn shard(key: [u64; 2]) -> usize {
        (key[0] >> (64 - SHARD_BITS)) as usize
    }

    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len).sum::<usize>() + usize::from(self.zero.is_some())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots allocated (held or empty), each `size_of::<EntrySlot<V>>()` bytes.
    pub(super) fn capacity(&self) -> usize {
        self.shards.iter().map(|s| s.slots.len()).sum::<usize>() + 1
    }

    pub(super) fn get(&self, id: SpaceId) -> Option<&V> {
        let key = split(id);
        if key == EMPTY {
            return self.zero.as_ref();
        }
        let shard = &self.shards[Self::shard(key)];
        shard.find(key).map(|at| &shard.slots[at].value)
    }

    pub(super) fn get_mut(&mut self, id: SpaceId) -> Option<&mut V> {
        let key = split(id);
        if key == EMPTY {
            return self.zero.as_mut();
        }
        let shard = &mut self.shards[Self::shard(key)];
        shard.find(key).map(|at| &mut shard.slots[at].value)
    }

    /// Holds `value` for `id`; the value it replaced, if any.
    pub(super) fn insert(&mut self, id: SpaceId, value: V) -> Option<V> {
        let key = split(id);
        if key == EMPTY {
            return self.zero.replace(value);
        }
        let shard = &mut self.shards[Self::shard(key)];
        match shard.find(key) {
            Some(at) => Some(std::mem::replace(&mut shard.slots[at].value, value)),
            None => {
                shard.insert_new(key, value);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, id: SpaceId) -> Option<V> {
        let key = split(id);
        if key == EMPTY {
            return self.zero.take();
        }
        let shard = &mut self.shards[Self::shard(key)];
        shard.find(key).map(|at| shard.remove_at(at))
    }

    /// Reads the home slot of each id, all together, so that the lookups of those ids that
    /// follow find their slots in the cache. The loads do not depend on one another, so the
    /// processor has them in flight at once instead of waiting on memory for each in turn.
    pub(super) fn prefetch(&self, ids: impl Iterator<Item = SpaceId>) {
        let mut sink = 0u64;
        for id in ids {
            let key = split(id);
            let shard = &self.shards[Self::shard(key)];
            if !shard.slots.is_empty() {
                sink ^= shard.slots[shard.home(key)].key[1];
            }
        }
        std::hint::black_box(sink);
    }

    /// Every (id, value), in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (SpaceId, &V)> {
        self.zero.iter().map(|v| (0, v)).chain(
            self.shards
                .iter()
                .flat_map(|s| s.slots.iter())
                .filter(|s| s.key != EMPTY)
                .map(|s| (join(s.key), &s.value)),
        )
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.zero.iter_mut().chain(
            self.shards
                .iter_mut()
                .flat_map(|s| s.slots.iter_mut())
                .filter(|s| s.key != EMPTY)
                .map(|s| &mut s.value),
        )
    }
}

impl<V: Copy + Default + fmt::Debug> fmt::Debug for DenseMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A reproducible stream of ids: random ones, some sharing a home (same low word), some
    /// in one shard, and zero.
    fn ids(n: usize) -> Vec<SpaceId> {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|i| match i % 7 {
                0 => (u128::from(next()) << 64) | 42,
                1 => (u128::from(next() >> SHARD_BITS) << 64) | u128::from(next()),
                2 if i % 700 == 2 => 0,
                _ => (u128::from(next()) << 64) | u128::from(next()),
            })
            .collect()
    }

    #[test]
    fn it_holds_what_a_hash_map_holds_through_inserts_updates_and_removals() {
        let mut dense: DenseMap<u64> = DenseMap::default();
        let mut model: HashMap<SpaceId, u64> = HashMap::new();
        let pool = ids(30_000);
        let picks = ids(120_000);
        for (step, pick) in picks.iter().enumerate() {
            // Grow to most of the pool first (several pages a shard), then mix inserts,
            // updates and removals.
            let id = pool[(*pick as u64 % pool.len() as u64) as usize];
            let step = step as u64;
            if step > 40_000 && step.is_multiple_of(3) {
                assert_eq!(dense.remove(id), model.remove(&id), "remove {id}");
            } else {
                assert_eq!(
                    dense.insert(id, step),
                    model.insert(id, step),
                    "insert {id}"
                );
            }
            let probe = pool[(step as usize * 7919) % pool.len()];
            assert_eq!(dense.get(probe), model.get(&probe), "get {probe}");
        }
        assert!(model.len() > 1000 && pool.contains(&0), "{}", model.len());
        assert_eq!(dense.len(), model.len());
        let held: HashMap<SpaceId, u64> = dense.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(held, model);
        for v in dense.values_mut() {
            *v += 1;
        }
        assert!(model.iter().all(|(k, v)| dense.get(*k) == Some(&(v + 1))));
        for id in &pool {
            assert_eq!(dense.remove(*id).is_some(), model.remove(id).is_some());
        }
        assert!(dense.is_empty() && dense.iter().next().is_none());
    }

    #[test]
    fn its_slots_stay_mostly_full_as_it_grows() {
        // At least 70% of the slots in use past the first allocations (a HashMap falls to
        // 44% just past a power of two), and never more than 7/8.
        let mut dense: DenseMap<u64> = DenseMap::default();
        for (i, id) in ids(200_000).into_iter().enumerate() {
            dense.insert(id, 0);
            let (len, cap) = (dense.len() as f64, dense.capacity() as f64);
            assert!(len <= cap * 0.875 + SHARDS as f64, "{len} in {cap}");
            if i >= 20_000 && i % 1000 == 0 {
                assert!(len >= cap * 0.69, "{len} in {cap} slots");
            }
        }
    }
}
