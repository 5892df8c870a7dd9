//! A space's identity: a 128-bit hash of its key, and the hasher that takes it as it is.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use crate::model::SpaceProgress;

/// A space's identity: a 128-bit hash of (customer, space). Collisions need about 2^64 spaces.
pub type SpaceId = u128;

/// The id of a space.
pub fn space_id(customer: &str, space: &str) -> SpaceId {
    let half = |salt: u64| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        customer.hash(&mut h);
        space.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0x6d69_6772_6174_6531)) << 64) | u128::from(half(0x7370_6163_6573_3032))
}

/// The id of a record's space.
pub fn id_of(p: &SpaceProgress) -> SpaceId {
    space_id(&p.key.customer, &p.key.space)
}

/// Records with their ids, as [`super::TableState::apply_each`] takes them.
pub fn with_ids<'a>(
    records: impl IntoIterator<Item = &'a SpaceProgress>,
) -> impl Iterator<Item = (SpaceId, &'a SpaceProgress)> {
    records.into_iter().map(|p| (id_of(p), p))
}

/// Hashes a [`SpaceId`] by taking its low bits: it is a hash already.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

pub(super) type IdMap<V> = HashMap<SpaceId, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_by_customer_and_space() {
        assert_ne!(space_id("a", "bc"), space_id("ab", "c"));
        assert_eq!(space_id("a", "b"), space_id("a", "b"));
    }
}
