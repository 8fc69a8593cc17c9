//! `HashTrieMap` against `std::collections::HashMap` for arbitrary insert/remove/get
//! sequences, with a hasher that keeps only a few hash bits so collisions are common.
#![no_main]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trie_routes::HashTrieMap;

#[derive(Arbitrary, Debug)]
enum Op {
    Insert(u16, u8),
    Remove(u16),
    Get(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Which hash bits survive: few bits mean many full collisions.
    mask: u64,
    ops: Vec<Op>,
}

#[derive(Clone, Copy)]
struct Masked(u64);
struct MaskedHasher(u64, u64);
impl BuildHasher for Masked {
    type Hasher = MaskedHasher;
    fn build_hasher(&self) -> MaskedHasher {
        MaskedHasher(0xcbf2_9ce4_8422_2325, self.0)
    }
}
impl Hasher for MaskedHasher {
    fn finish(&self) -> u64 {
        self.0 & self.1
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fuzz_target!(|input: Input| {
    let mut map = HashTrieMap::with_hasher(Masked(input.mask));
    let mut model = HashMap::new();
    for op in &input.ops {
        match op {
            Op::Insert(k, v) => assert_eq!(map.insert(*k, *v), model.insert(*k, *v)),
            Op::Remove(k) => assert_eq!(map.remove(k), model.remove(k)),
            Op::Get(k) => assert_eq!(map.get(k), model.get(k)),
        }
        assert_eq!(map.len(), model.len());
    }
    map.check_invariants().unwrap();
    assert_eq!(map.iter().count(), model.len());
    for (k, v) in &map {
        assert_eq!(model.get(k), Some(v));
    }
});
