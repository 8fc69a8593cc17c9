//! [`HashTrieMap`]: a hash-array-mapped trie for exact keys, under a directly indexed root
//! table that grows incrementally.
//!
//! ```text
//!   hash = t…t|…|c1|c0     top bits t → root slot; 6-bit chunks c0 (lowest), c1 … → branches
//!
//!   root table (2^bits slots, ~1 key per slot, in chunks of 512 slots)
//!   ┌──────┬────────────────┬──────┬────────────────────────────┬────────────────────┬─────┐
//!   │ None │ Leaf{hash,k,v} │ None │ Bucket[Leaf, Leaf, …]      │ Branch{bitmap,[…]} │  …  │
//!   └──────┴────────────────┴──────┴────────────────────────────┴─────────┬──────────┴─────┘
//!   a lone key: one slot load, a hash compare, a key compare              │ more than 8 keys
//!   a bucket: up to 8 leaves, scanned by stored hash (a lone leaf too)    ▼ in one slot
//!                                      Branch  bitmap …  entries [Leaf, Collision, Branch …]
//!                                      (chunk c0 → popcount index, then c1 …)
//! ```
//!
//! Growth never rehashes the map in one step. The root table doubles when the map holds as
//! many keys as it has slots, and the old slots are split into the new table two per
//! following insert or remove; a lookup asks the old table first, then the new one (see
//! [`root`]). Below the root, an insert walks one branch per level and at most adds one entry
//! to a branch's array (at most 64 entries), replaces one leaf by a small nested branch, or
//! turns a full bucket (8 leaves) into a branch. So the slowest insert costs a few small
//! copies and at most one chunk allocation, not a table resize. Removal undoes this and keeps
//! the shape canonical (see [`node`]).
//!
//! The hasher is a type parameter. The default, `foldhash::fast::RandomState`, is fast, not
//! cryptographic, and seeded per map. trieguard keys these maps with SHA-256 digests of API
//! keys and with config-defined names, which a client cannot choose to collide; full-hash
//! collisions are still handled (collision leaves), they only cost a linear scan.

mod iter;
pub mod node;
pub mod root;

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};

pub use iter::Iter;
pub use node::{BITS_PER_LEVEL, MAX_DEPTH};
use root::Root;

/// The default hasher of [`HashTrieMap`].
pub type DefaultHashBuilder = foldhash::fast::RandomState;

/// A map from keys to values stored in a hash-array-mapped trie.
///
/// ```
/// use trie_routes::HashTrieMap;
///
/// let mut keys = HashTrieMap::new();
/// keys.insert("digest-a", "alice");
/// keys.insert("digest-b", "bob");
/// assert_eq!(keys.get("digest-a"), Some(&"alice"));
/// assert_eq!(keys.remove("digest-b"), Some("bob"));
/// assert_eq!(keys.len(), 1);
/// ```
#[derive(Clone)]
pub struct HashTrieMap<K, V, S = DefaultHashBuilder> {
    root: Root<K, V>,
    len: usize,
    hasher: S,
}

/// A [`HashTrieMap`] being freed, a chunk of its root table (and what hangs below those
/// slots) per [`FreeingMap::step`].
#[derive(Debug)]
pub struct FreeingMap<K, V> {
    chunks: Vec<Vec<root::Slot<K, V>>>,
}

impl<K, V> FreeingMap<K, V> {
    /// Frees whole chunks until about `slots` root slots are freed; true once all is freed.
    pub fn step(&mut self, slots: usize) -> bool {
        let mut freed = 0;
        while freed < slots.max(1) {
            let Some(chunk) = self.chunks.pop() else {
                break;
            };
            freed += chunk.len().max(1);
        }
        self.chunks.is_empty()
    }
}

impl<K, V> HashTrieMap<K, V, DefaultHashBuilder> {
    /// An empty map with the default hasher.
    pub fn new() -> Self {
        Self::with_hasher(DefaultHashBuilder::default())
    }

    /// An empty map with the default hasher and a root table sized for `keys` keys.
    pub fn with_capacity(keys: usize) -> Self {
        Self::with_capacity_and_hasher(keys, DefaultHashBuilder::default())
    }
}

impl<K, V, S: Default> Default for HashTrieMap<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K, V, S> HashTrieMap<K, V, S> {
    /// An empty map using `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        Self {
            root: Root::default(),
            len: 0,
            hasher,
        }
    }

    /// An empty map using `hasher`, its root table already sized for `keys` keys: building a
    /// map of known size then starts no growth (no slot is split, no chunk freed).
    ///
    /// ```
    /// use trie_routes::HashTrieMap;
    ///
    /// let mut map = HashTrieMap::with_capacity(1000);
    /// for i in 0..1000u32 {
    ///     map.insert(i, i * 2);
    /// }
    /// assert_eq!(map.get(&999), Some(&1998));
    /// assert!(map.check_invariants().is_ok());
    /// ```
    pub fn with_capacity_and_hasher(keys: usize, hasher: S) -> Self {
        Self {
            root: Root::with_capacity(keys),
            len: 0,
            hasher,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The map taken apart for freeing a bounded amount at a time ([`FreeingMap`]): a map of
    /// a million keys holds a million root slots and the buckets below them, which take tens
    /// of milliseconds to free in one call.
    pub fn into_freeing(self) -> FreeingMap<K, V> {
        FreeingMap {
            chunks: self.root.into_chunks(),
        }
    }

    /// True when the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.root.clear();
        self.len = 0;
    }

    /// The hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// All `(key, value)` pairs, in no specified order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(self.root.tables(), self.len)
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> HashTrieMap<K, V, S> {
    /// The value for `key`.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        node::slot_get(self.root.slot(hash)?.as_ref()?, hash, key)
    }

    /// The value for `key`, mutably.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        node::slot_get_mut(self.root.slot_mut(hash)?.as_mut()?, hash, key)
    }

    /// True when `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts `key`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hasher.hash_one(&key);
        self.root.before_insert(self.len);
        // `before_insert` allocated the table, so every hash has a slot: `?` never returns.
        let old = node::slot_insert(self.root.slot_mut(hash)?, hash, key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        self.root.before_remove();
        let old = node::slot_remove(self.root.slot_mut(hash)?, hash, key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Checks every structural invariant and the length; for tests and fuzzing.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let count = self.root.check(&|k: &K| self.hasher.hash_one(k))?;
        if count != self.len {
            return Err(format!("len {} but {count} keys stored", self.len));
        }
        Ok(())
    }
}

impl<K: core::fmt::Debug, V: core::fmt::Debug, S> core::fmt::Debug for HashTrieMap<K, V, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, K, V, S> IntoIterator for &'a HashTrieMap<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Extend<(K, V)> for HashTrieMap<K, V, S> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher + Default> FromIterator<(K, V)> for HashTrieMap<K, V, S> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Self::default();
        m.extend(iter);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::Hasher;

    #[test]
    fn a_map_is_freed_a_chunk_at_a_time() {
        let map: HashTrieMap<u64, String> = (0..20_000u64).map(|i| (i, i.to_string())).collect();
        let mut freeing = map.into_freeing();
        let mut steps = 1;
        while !freeing.step(root::CHUNK) {
            steps += 1;
        }
        // 32,768 root slots (the table doubles at 16,384 keys) in chunks of 512.
        assert!(steps >= 32, "{steps}");
        assert!(freeing.step(1));
    }

    /// Hashes every key to `key % buckets`, forcing full-hash collisions and deep branches.
    #[derive(Clone, Default)]
    struct Weak(u64);
    impl BuildHasher for Weak {
        type Hasher = WeakHasher;
        fn build_hasher(&self) -> WeakHasher {
            WeakHasher(0, self.0)
        }
    }
    struct WeakHasher(u64, u64);
    impl Hasher for WeakHasher {
        fn finish(&self) -> u64 {
            self.0 % self.1.max(1)
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(*b));
            }
        }
        fn write_u32(&mut self, n: u32) {
            self.0 = u64::from(n);
        }
    }

    #[test]
    fn insert_get_remove() {
        let mut m = HashTrieMap::new();
        for i in 0..10_000u32 {
            assert_eq!(m.insert(i, i * 2), None);
        }
        m.check_invariants().unwrap();
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.insert(7, 0), Some(14));
        for i in 0..10_000u32 {
            assert_eq!(m.get(&i).copied(), Some(if i == 7 { 0 } else { i * 2 }));
        }
        assert_eq!(m.get(&10_000), None);
        for i in (0..10_000u32).step_by(2) {
            assert!(m.remove(&i).is_some());
        }
        m.check_invariants().unwrap();
        assert_eq!(m.len(), 5_000);
        assert_eq!(m.iter().count(), 5_000);
        for i in 0..10_000u32 {
            assert_eq!(m.contains_key(&i), i % 2 == 1);
        }
        for i in 0..10_000u32 {
            m.remove(&i);
        }
        m.check_invariants().unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn invariants_hold_at_every_step_of_growth() {
        // Every insert may advance a growth; check the whole shape after each one, and
        // that every key inserted so far is found (in the old or the new table).
        let mut m = HashTrieMap::new();
        for i in 0..1_500u32 {
            assert_eq!(m.insert(i, i), None);
            m.check_invariants().unwrap();
            if i % 97 == 0 {
                for j in 0..=i {
                    assert_eq!(m.get(&j), Some(&j), "key {j} after inserting {i}");
                }
            }
            if i % 5 == 0 {
                assert_eq!(m.remove(&(i / 2)), Some(i / 2));
                m.check_invariants().unwrap();
                m.insert(i / 2, i / 2);
            }
        }
        assert_eq!(m.iter().count(), 1_500);
        let mut m2 = m.clone();
        for i in 0..1_500u32 {
            assert_eq!(m2.remove(&i), Some(i));
            m2.check_invariants().unwrap();
        }
        assert!(m2.is_empty());
        assert_eq!(m.len(), 1_500);
    }

    #[test]
    fn a_presized_table_starts_no_growth_until_it_is_full() {
        let mut m = HashTrieMap::with_capacity(1_000);
        let slots = m.root.tables()[0].len();
        assert_eq!(slots, 1_024);
        for i in 0..1_024u32 {
            m.insert(i, i);
            assert!(m.root.tables()[1].is_empty(), "growth started at key {i}");
        }
        m.check_invariants().unwrap();
        m.insert(5_000, 0);
        assert!(
            !m.root.tables()[1].is_empty(),
            "the 1025th key starts a growth"
        );
        for i in 0..1_024u32 {
            assert_eq!(m.get(&i), Some(&i));
        }
        m.check_invariants().unwrap();
        assert_eq!(
            HashTrieMap::<u8, u8>::with_capacity(0).root.tables()[0].len(),
            2
        );
    }

    #[test]
    fn clone_in_the_middle_of_a_growth_keeps_growing() {
        // Growth to 2048 slots starts at the 1024th key; clone halfway through the split.
        let mut m = HashTrieMap::new();
        for i in 0..1_300u32 {
            m.insert(i, i);
        }
        let mut c = m.clone();
        c.check_invariants().unwrap();
        for i in 1_300..3_000u32 {
            c.insert(i, i);
            c.check_invariants().unwrap();
        }
        for i in 0..3_000u32 {
            assert_eq!(c.get(&i), Some(&i));
        }
        assert_eq!(m.len(), 1_300);
    }

    #[test]
    fn one_root_slot_fills_a_bucket_then_a_branch() {
        // Small hashes: the top bits are all zero, so every key lands in root slot 0; its
        // bucket overflows into a branch, and removal lifts the keys back.
        let mut m: HashTrieMap<u32, u32, Weak> = HashTrieMap::with_hasher(Weak(u64::MAX));
        for i in 0..200u32 {
            m.insert(i, i);
            m.check_invariants().unwrap();
        }
        for i in 0..200u32 {
            assert_eq!(m.get(&i), Some(&i));
        }
        for i in 0..200u32 {
            assert_eq!(m.remove(&i), Some(i));
            m.check_invariants().unwrap();
            assert_eq!(m.get(&(i + 1)).copied(), (i < 199).then_some(i + 1));
        }
    }

    #[test]
    fn full_hash_collisions() {
        // Buckets 3: every key collides with a third of the others.
        let mut m: HashTrieMap<u32, u32, Weak> = HashTrieMap::with_hasher(Weak(3));
        for i in 0..100 {
            m.insert(i, i);
        }
        m.check_invariants().unwrap();
        assert_eq!(m.iter().count(), 100);
        for i in 0..100 {
            assert_eq!(m.get(&i), Some(&i));
        }
        *m.get_mut(&5).unwrap() = 55;
        assert_eq!(m.get(&5), Some(&55));
        for i in 0..99 {
            assert!(m.remove(&i).is_some());
            m.check_invariants().unwrap();
        }
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(&99), Some(&99));
    }

    #[test]
    fn hashes_sharing_long_prefixes_nest_deep() {
        // Buckets 2^63: hashes equal in the low 63 bits except the top: deepest branches.
        let mut m: HashTrieMap<u32, u32, Weak> = HashTrieMap::with_hasher(Weak(u64::MAX));
        for i in [0u32, 1, 2, 3] {
            m.insert(i, i);
        }
        m.check_invariants().unwrap();
        let mut deep: HashTrieMap<u64, u64, Weak> = HashTrieMap::with_hasher(Weak(u64::MAX));
        deep.insert(0, 0);
        deep.insert(1 << 62, 1);
        deep.check_invariants().unwrap();
        assert_eq!(deep.get(&(1 << 62)), Some(&1));
        assert_eq!(deep.remove(&0), Some(0));
        deep.check_invariants().unwrap();
    }
}
