//! Property tests: `HashTrieMap` against `std::collections::HashMap` for random operation
//! sequences, with a good hasher and with hashers that force partial and full collisions.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it in tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use proptest::prelude::*;
use trie_routes::HashTrieMap;

/// Hashes a `u16` key to `f(key)`: a test hasher that controls collisions exactly.
#[derive(Clone, Copy)]
struct Forced(fn(u64) -> u64);

struct ForcedHasher(u64, fn(u64) -> u64);

impl BuildHasher for Forced {
    type Hasher = ForcedHasher;
    fn build_hasher(&self) -> ForcedHasher {
        ForcedHasher(0, self.0)
    }
}

impl Hasher for ForcedHasher {
    fn finish(&self) -> u64 {
        (self.1)(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, u32),
    Remove(u16),
    Get(u16),
}

fn ops(key_space: u16) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..key_space, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => (0..key_space).prop_map(Op::Remove),
        2 => (0..key_space).prop_map(Op::Get),
    ];
    prop::collection::vec(op, 0..400)
}

fn run<S: BuildHasher>(mut map: HashTrieMap<u16, u32, S>, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Insert(k, v) => prop_assert_eq!(map.insert(*k, *v), model.insert(*k, *v)),
            Op::Remove(k) => prop_assert_eq!(map.remove(k), model.remove(k)),
            Op::Get(k) => prop_assert_eq!(map.get(k), model.get(k)),
        }
        prop_assert_eq!(map.len(), model.len());
        if i % 50 == 0 {
            map.check_invariants().map_err(TestCaseError::fail)?;
        }
    }
    map.check_invariants().map_err(TestCaseError::fail)?;
    let mut items: Vec<(u16, u32)> = map.iter().map(|(k, v)| (*k, *v)).collect();
    items.sort_unstable();
    let mut want: Vec<(u16, u32)> = model.into_iter().collect();
    want.sort_unstable();
    prop_assert_eq!(map.iter().len(), want.len());
    prop_assert_eq!(items, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn default_hasher(ops in ops(300)) {
        run(HashTrieMap::new(), &ops)?;
    }

    #[test]
    fn presized(capacity in 0usize..600, ops in ops(300)) {
        // A table sized up front (smaller or larger than what the operations need) behaves
        // like one grown from empty, and grows past its size like one.
        run(HashTrieMap::with_capacity(capacity), &ops)?;
    }

    #[test]
    fn full_collisions(ops in ops(64)) {
        // Eight distinct full hashes: long collision leaves.
        run(HashTrieMap::with_hasher(Forced(|k| k % 8)), &ops)?;
    }

    #[test]
    fn collisions_in_high_bits(ops in ops(64)) {
        // Keys differ only in the top bits of the hash: branches nest to the deepest level,
        // and keys 0..64 share full hashes in pairs.
        run(HashTrieMap::with_hasher(Forced(|k| (k / 2) << 58)), &ops)?;
    }

    #[test]
    fn identity_hash(ops in ops(4096)) {
        run(HashTrieMap::with_hasher(Forced(|k| k)), &ops)?;
    }
}
