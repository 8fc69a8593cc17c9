//! Nodes of the hash-array-mapped trie and the recursive operations on them, and the
//! operations on one root slot (`slot_*`).
//!
//! Invariants (checked by `check`, `check_leaf` and `check_bucket`); a branch directly in
//! a root slot starts at shift 0:
//! - `entries.len() == bitmap.count_ones()`, and entry `i` belongs to the `i`-th set bit;
//! - an entry at depth `d` (shift `6·d`) sits in the slot given by its hash bits
//!   `shift .. shift+6`, and agrees with all its ancestors' slots;
//! - a branch other than the root has at least one entry and never exactly one leaf or
//!   collision entry (those are lifted into the parent), so the shape is canonical;
//! - a collision leaf holds at least two entries, all with the same full hash and distinct keys;
//! - branches nest at most [`MAX_DEPTH`] deep, because two different 64-bit hashes differ in
//!   one of the 11 six-bit chunks;
//! - a bucket is only directly in a root slot and holds 2 to [`BUCKET_MAX`] leaves with
//!   distinct full hashes (keys sharing a full hash live in a collision leaf, in a branch).

use core::borrow::Borrow;

/// Hash bits consumed per level: 64 slots per node, one `u64` bitmap.
pub const BITS_PER_LEVEL: u32 = 6;

/// Most branch levels: 64 hash bits in 6-bit chunks (the last chunk has 4 bits).
pub const MAX_DEPTH: usize = 64_usize.div_ceil(BITS_PER_LEVEL as usize);

const MASK: u64 = (1 << BITS_PER_LEVEL) - 1;

/// One slot of a branch or of the root table.
///
/// `repr(u8)`: the variant is one tag byte in front of the fields (no niche in a field to
/// decode), and `Option<Entry>` uses a spare tag value for `None`. For `u64` keys and values
/// an entry is 32 bytes.
#[derive(Debug, Clone)]
#[repr(u8)]
pub(crate) enum Entry<K, V> {
    /// One key, stored inline in its parent's array.
    Leaf(Leaf<K, V>),
    /// Keys whose full 64-bit hashes are equal.
    Collision(Box<Collision<K, V>>),
    /// The next level, inline: one pointer hop per level (to its entry array).
    Branch(Branch<K, V>),
    /// Only directly in a root slot, never inside a branch: 2 to [`BUCKET_MAX`] leaves with
    /// distinct full hashes, found by comparing the stored hashes in order (no tag, no
    /// bitmap, no popcount). A bucket that would exceed [`BUCKET_MAX`] leaves, or hold two
    /// keys with the same full hash, becomes a branch.
    Bucket(Box<[Leaf<K, V>]>),
}

/// One key with its full hash.
#[derive(Debug, Clone)]
pub(crate) struct Leaf<K, V> {
    pub(crate) hash: u64,
    pub(crate) key: K,
    pub(crate) value: V,
}

/// Most entries of a bucket. A root slot holds about one key on average, so a bucket
/// rarely has more than 3; the bound keeps a scan short even for an unlucky slot.
pub const BUCKET_MAX: usize = 8;

/// Keys sharing one full hash.
#[derive(Debug, Clone)]
pub(crate) struct Collision<K, V> {
    pub(crate) hash: u64,
    pub(crate) entries: Vec<(K, V)>,
}

/// A bitmap-compressed node: only the slots that exist are stored, in an exactly sized array
/// (a boxed slice: 16 bytes, no spare capacity; an insert or remove reallocates it).
#[derive(Debug, Clone)]
pub(crate) struct Branch<K, V> {
    pub(crate) bitmap: u64,
    pub(crate) entries: Box<[Entry<K, V>]>,
}

/// The slot bit of `hash` at `shift`. `shift` is below 64 by the depth invariant; masking
/// keeps the shift defined even if it were not.
#[inline]
fn bit(hash: u64, shift: u32) -> u64 {
    1u64 << ((hash >> (shift & 63)) & MASK)
}

impl<K, V> Default for Branch<K, V> {
    fn default() -> Self {
        Self {
            bitmap: 0,
            entries: Box::default(),
        }
    }
}

impl<K, V> Branch<K, V> {
    /// Takes the entry of a branch left with one leaf or collision (to be lifted into the
    /// parent); `None`, and the branch unchanged, otherwise.
    fn take_lone(&mut self) -> Option<Entry<K, V>> {
        match &*self.entries {
            [Entry::Leaf(_) | Entry::Collision(_)] => {
                core::mem::take(&mut self.entries).into_vec().pop()
            }
            _ => None,
        }
    }

    #[inline]
    fn index(&self, bit: u64) -> usize {
        (self.bitmap & (bit - 1)).count_ones() as usize
    }

    /// The value for `key`, whose hash is `hash`, in this branch (at shift 0) or below.
    ///
    /// One bitmap test, one popcount and one entry load per level. On the baseline x86-64
    /// target `count_ones` is a dozen ALU instructions (no `popcnt`); a copy compiled for
    /// `popcnt` behind a run-time check cost more in call overhead than it saved, now that a
    /// lookup rarely reaches a branch (the root table and buckets answer most of them).
    #[inline(always)]
    pub(crate) fn get_loop<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let mut branch = self;
        let mut h = hash;
        loop {
            let b = 1u64 << (h & MASK);
            if branch.bitmap & b == 0 {
                return None;
            }
            match branch.entries.get(branch.index(b))? {
                Entry::Leaf(Leaf {
                    hash: lh,
                    key: k,
                    value,
                }) => {
                    return (*lh == hash && k.borrow() == key).then_some(value);
                }
                Entry::Branch(next) => {
                    branch = next;
                    h >>= BITS_PER_LEVEL;
                }
                Entry::Collision(c) => return collision_get(c, hash, key),
                Entry::Bucket(_) => return None, // never inside a branch
            }
        }
    }

    pub(crate) fn get_mut<Q>(&mut self, hash: u64, key: &Q, shift: u32) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let b = bit(hash, shift);
        if self.bitmap & b == 0 {
            return None;
        }
        let i = self.index(b);
        match self.entries.get_mut(i)? {
            Entry::Branch(next) => next.get_mut(hash, key, shift + BITS_PER_LEVEL),
            // A leaf or collision leaf (there is no bucket inside a branch).
            entry => leaf_get_mut(entry, hash, key),
        }
    }

    /// Inserts; returns the previous value of an equal key.
    pub(crate) fn insert(&mut self, hash: u64, key: K, value: V, shift: u32) -> Option<V>
    where
        K: Eq,
    {
        let b = bit(hash, shift);
        let i = self.index(b);
        if self.bitmap & b == 0 {
            self.bitmap |= b;
            let mut entries = core::mem::take(&mut self.entries).into_vec();
            entries.reserve_exact(1);
            entries.insert(i.min(entries.len()), Entry::Leaf(Leaf { hash, key, value }));
            self.entries = entries.into_boxed_slice();
            return None;
        }
        let slot = self.entries.get_mut(i)?;
        match slot {
            Entry::Leaf(Leaf {
                hash: h,
                key: k,
                value: v,
            }) if *h == hash => {
                if *k == key {
                    return Some(core::mem::replace(v, value));
                }
            }
            Entry::Collision(c) if c.hash == hash => {
                match c.entries.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => return Some(core::mem::replace(v, value)),
                    None => c.entries.push((key, value)),
                }
                return None;
            }
            Entry::Branch(next) => return next.insert(hash, key, value, shift + BITS_PER_LEVEL),
            Entry::Leaf(_) | Entry::Collision(_) | Entry::Bucket(_) => {}
        }
        // The slot holds a leaf or collision that must share the slot with the new key.
        // An empty branch is the placeholder while it is taken out: it owns no allocation.
        let old = core::mem::replace(slot, Entry::Branch(Branch::default()));
        *slot = join(old, hash, key, value, shift + BITS_PER_LEVEL);
        None
    }

    /// Removes; keeps the shape canonical by lifting lone leaves into the parent.
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q, shift: u32) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let b = bit(hash, shift);
        if self.bitmap & b == 0 {
            return None;
        }
        let i = self.index(b);
        let slot = self.entries.get_mut(i)?;
        match slot {
            Entry::Leaf(Leaf {
                hash: h, key: k, ..
            }) => {
                if *h != hash || (*k).borrow() != key {
                    return None;
                }
                self.bitmap &= !b;
                let mut entries = core::mem::take(&mut self.entries).into_vec();
                let removed = entries.remove(i);
                self.entries = entries.into_boxed_slice();
                match removed {
                    Entry::Leaf(Leaf { value, .. }) => Some(value),
                    _ => None,
                }
            }
            Entry::Collision(c) => {
                if c.hash != hash {
                    return None;
                }
                let pos = c.entries.iter().position(|(k, _)| k.borrow() == key)?;
                let (_, value) = c.entries.swap_remove(pos);
                if c.entries.len() == 1
                    && let Some((key, v)) = c.entries.pop()
                {
                    *slot = Entry::Leaf(Leaf {
                        hash,
                        key,
                        value: v,
                    });
                }
                Some(value)
            }
            Entry::Branch(child) => {
                let removed = child.remove(hash, key, shift + BITS_PER_LEVEL)?;
                if let Some(lone) = child.take_lone() {
                    *slot = lone;
                }
                Some(removed)
            }
            Entry::Bucket(_) => None, // never inside a branch
        }
    }
}

/// `old` (a leaf or a collision, never a branch) and the new key, whose hash differs from
/// every key of `old` or equals their common hash, merged into one entry: a collision when
/// the full hashes are equal, else a branch at `shift` (nested while their chunks agree).
fn join<K, V>(old: Entry<K, V>, hash: u64, key: K, value: V, shift: u32) -> Entry<K, V> {
    let old_hash = match &old {
        Entry::Leaf(Leaf { hash, .. }) => *hash,
        Entry::Collision(c) => c.hash,
        Entry::Branch(_) | Entry::Bucket(_) => hash ^ 1, // not reached: callers descend
    };
    match old {
        Entry::Leaf(Leaf {
            key: k, value: v, ..
        }) if old_hash == hash => Entry::Collision(Box::new(Collision {
            hash,
            entries: vec![(k, v), (key, value)],
        })),
        Entry::Collision(mut c) if old_hash == hash => {
            c.entries.push((key, value));
            Entry::Collision(c)
        }
        other => pair(
            shift,
            other,
            old_hash,
            Entry::Leaf(Leaf { hash, key, value }),
            hash,
        ),
    }
}

/// The full hash of a leaf or collision leaf.
#[inline(always)]
fn leaf_hash<K, V>(entry: &Entry<K, V>) -> Option<u64> {
    match entry {
        Entry::Leaf(Leaf { hash, .. }) => Some(*hash),
        Entry::Collision(c) => Some(c.hash),
        Entry::Branch(_) | Entry::Bucket(_) => None,
    }
}

/// Inserts into a leaf or collision leaf whose hash is `hash`: replaces the value of an
/// equal key, else the entry becomes (or grows) a collision leaf.
fn insert_same_hash<K: Eq, V>(entry: &mut Entry<K, V>, hash: u64, key: K, value: V) -> Option<V> {
    match entry {
        Entry::Leaf(Leaf {
            key: k, value: v, ..
        }) if *k == key => {
            return Some(core::mem::replace(v, value));
        }
        Entry::Collision(c) => {
            match c.entries.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => return Some(core::mem::replace(v, value)),
                None => c.entries.push((key, value)),
            }
            return None;
        }
        _ => {}
    }
    let old = core::mem::replace(entry, Entry::Branch(Branch::default()));
    *entry = join(old, hash, key, value, 0);
    None
}

/// Inserts into a root slot. Returns the previous value of an equal key.
///
/// A slot holds nothing, a leaf, a collision leaf, a [bucket](Entry::Bucket) of up to
/// [`BUCKET_MAX`] leaves, or a branch (levels from shift 0).
pub(crate) fn slot_insert<K: Eq, V>(
    slot: &mut Option<Entry<K, V>>,
    hash: u64,
    key: K,
    value: V,
) -> Option<V> {
    let entry = match slot {
        None => {
            *slot = Some(Entry::Leaf(Leaf { hash, key, value }));
            return None;
        }
        Some(entry) => entry,
    };
    match entry {
        Entry::Branch(b) => return b.insert(hash, key, value, 0),
        Entry::Bucket(items) => {
            let same = items.iter_mut().find(|l| l.hash == hash);
            if let Some(l) = same
                && l.key == key
            {
                return Some(core::mem::replace(&mut l.value, value));
            }
            let collides = items.iter().any(|l| l.hash == hash);
            let mut items = core::mem::take(items).into_vec();
            if items.len() < BUCKET_MAX && !collides {
                items.reserve_exact(1);
                items.push(Leaf { hash, key, value });
                *entry = Entry::Bucket(items.into_boxed_slice());
            } else {
                // A full bucket, or a full-hash collision, becomes a branch: at most
                // BUCKET_MAX + 1 keys re-inserted.
                let mut b = Branch::default();
                for l in items {
                    b.insert(l.hash, l.key, l.value, 0);
                }
                b.insert(hash, key, value, 0);
                *entry = Entry::Branch(b);
            }
            return None;
        }
        Entry::Leaf(_) | Entry::Collision(_) => {}
    }
    if leaf_hash(entry) == Some(hash) {
        return insert_same_hash(entry, hash, key, value);
    }
    let old = core::mem::replace(entry, Entry::Branch(Branch::default()));
    *entry = match old {
        Entry::Leaf(l) => Entry::Bucket(Box::new([l, Leaf { hash, key, value }])),
        // A collision leaf and a key with another hash: a branch below the slot.
        other => join(other, hash, key, value, 0),
    };
    None
}

/// Removes `key` from a leaf or collision leaf whose hash is `hash`. Returns the value, and
/// whether the entry is gone (a removed leaf); a collision left with one key becomes a leaf.
fn remove_same_hash<K, V, Q>(entry: &mut Entry<K, V>, hash: u64, key: &Q) -> Option<(V, bool)>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    match entry {
        Entry::Leaf(Leaf { key: k, .. }) => {
            if (*k).borrow() != key {
                return None;
            }
            match core::mem::replace(entry, Entry::Branch(Branch::default())) {
                Entry::Leaf(Leaf { value, .. }) => Some((value, true)),
                _ => None,
            }
        }
        Entry::Collision(c) => {
            let pos = c.entries.iter().position(|(k, _)| k.borrow() == key)?;
            let (_, value) = c.entries.swap_remove(pos);
            if c.entries.len() == 1
                && let Some((key, v)) = c.entries.pop()
            {
                *entry = Entry::Leaf(Leaf {
                    hash,
                    key,
                    value: v,
                });
            }
            Some((value, false))
        }
        Entry::Branch(_) | Entry::Bucket(_) => None,
    }
}

/// Removes from a root slot; a bucket or branch left with one leaf or collision becomes
/// that entry, an emptied slot becomes `None`.
pub(crate) fn slot_remove<K, V, Q>(slot: &mut Option<Entry<K, V>>, hash: u64, key: &Q) -> Option<V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    let entry = slot.as_mut()?;
    match entry {
        Entry::Branch(child) => {
            let removed = child.remove(hash, key, 0)?;
            if let Some(lone) = child.take_lone() {
                *entry = lone;
            }
            Some(removed)
        }
        Entry::Bucket(items) => {
            let pos = items
                .iter()
                .position(|l| l.hash == hash && l.key.borrow() == key)?;
            let mut rest = core::mem::take(items).into_vec();
            let removed = rest.remove(pos);
            *entry = match rest.len() {
                1 => Entry::Leaf(rest.pop()?),
                _ => Entry::Bucket(rest.into_boxed_slice()),
            };
            Some(removed.value)
        }
        Entry::Leaf(_) | Entry::Collision(_) => {
            if leaf_hash(entry) != Some(hash) {
                return None;
            }
            let (value, gone) = remove_same_hash(entry, hash, key)?;
            if gone {
                *slot = None;
            }
            Some(value)
        }
    }
}

/// The value for `key` in a root slot.
///
/// A lone leaf is scanned as a bucket of one: both common shapes take the same path (select
/// the entries, compare stored hashes in order), so the lookup does not branch on which of
/// the two the slot holds. Collisions and branches are rare and take a separate path.
#[inline(always)]
pub(crate) fn slot_get<'a, K, V, Q>(entry: &'a Entry<K, V>, hash: u64, key: &Q) -> Option<&'a V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    let leaves: &[Leaf<K, V>] = match entry {
        Entry::Bucket(items) => items,
        Entry::Leaf(leaf) => core::slice::from_ref(leaf),
        _ => return slot_get_rare(entry, hash, key),
    };
    for l in leaves {
        if l.hash == hash {
            return (l.key.borrow() == key).then_some(&l.value);
        }
    }
    None
}

/// [`slot_get`] for a slot holding a collision leaf or a branch.
#[inline(never)]
fn slot_get_rare<'a, K, V, Q>(entry: &'a Entry<K, V>, hash: u64, key: &Q) -> Option<&'a V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    match entry {
        Entry::Branch(b) => b.get_loop(hash, key),
        Entry::Collision(c) => collision_get(c, hash, key),
        Entry::Leaf(_) | Entry::Bucket(_) => None, // handled by `slot_get`
    }
}

/// The value for `key` in a collision leaf.
#[inline]
fn collision_get<'a, K, V, Q>(c: &'a Collision<K, V>, hash: u64, key: &Q) -> Option<&'a V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    if c.hash != hash {
        return None;
    }
    c.entries
        .iter()
        .find(|(k, _)| k.borrow() == key)
        .map(|(_, v)| v)
}

/// The value for `key` in a leaf or collision leaf, mutably.
fn leaf_get_mut<'a, K, V, Q>(entry: &'a mut Entry<K, V>, hash: u64, key: &Q) -> Option<&'a mut V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    match entry {
        Entry::Leaf(Leaf {
            hash: h,
            key: k,
            value,
        }) => (*h == hash && (*k).borrow() == key).then_some(value),
        Entry::Collision(c) if c.hash == hash => c
            .entries
            .iter_mut()
            .find(|(k, _)| (*k).borrow() == key)
            .map(|(_, v)| v),
        Entry::Collision(_) | Entry::Branch(_) | Entry::Bucket(_) => None,
    }
}

/// The value for `key` in a root slot, mutably.
pub(crate) fn slot_get_mut<'a, K, V, Q>(
    entry: &'a mut Entry<K, V>,
    hash: u64,
    key: &Q,
) -> Option<&'a mut V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    match entry {
        Entry::Branch(b) => b.get_mut(hash, key, 0),
        Entry::Bucket(items) => items
            .iter_mut()
            .find(|l| l.hash == hash && l.key.borrow() == key)
            .map(|l| &mut l.value),
        leaf => leaf_get_mut(leaf, hash, key),
    }
}

/// Calls `f` with every `(hash, key, value)` of `entry`, consuming it.
pub(crate) fn drain<K, V>(entry: Entry<K, V>, f: &mut impl FnMut(u64, K, V)) {
    match entry {
        Entry::Leaf(Leaf { hash, key, value }) => f(hash, key, value),
        Entry::Collision(c) => {
            let hash = c.hash;
            for (k, v) in c.entries {
                f(hash, k, v);
            }
        }
        Entry::Branch(b) => {
            for e in b.entries.into_vec() {
                drain(e, f);
            }
        }
        Entry::Bucket(items) => {
            for l in items.into_vec() {
                f(l.hash, l.key, l.value);
            }
        }
    }
}

/// A branch at `shift` holding two entries with different hashes (nested while their
/// 6-bit chunks agree).
fn pair<K, V>(shift: u32, a: Entry<K, V>, ha: u64, b: Entry<K, V>, hb: u64) -> Entry<K, V> {
    let (ba, bb) = (bit(ha, shift), bit(hb, shift));
    let branch = if ba == bb || shift >= u64::BITS {
        Branch {
            bitmap: ba,
            entries: Box::new([pair(shift + BITS_PER_LEVEL, a, ha, b, hb)]),
        }
    } else if ba < bb {
        Branch {
            bitmap: ba | bb,
            entries: Box::new([a, b]),
        }
    } else {
        Branch {
            bitmap: ba | bb,
            entries: Box::new([b, a]),
        }
    };
    Entry::Branch(branch)
}

/// Checks every invariant below `branch`; returns the number of keys.
pub(crate) fn check<K: Eq, V>(
    branch: &Branch<K, V>,
    depth: usize,
    path_bits: u64,
    hash_of: &dyn Fn(&K) -> u64,
) -> Result<usize, String> {
    if depth >= MAX_DEPTH {
        return Err(format!("branch at depth {depth}"));
    }
    if branch.entries.len() != branch.bitmap.count_ones() as usize {
        return Err(format!("depth {depth}: bitmap/entries mismatch"));
    }
    if depth > 0 {
        match &*branch.entries {
            [] => return Err(format!("depth {depth}: empty branch")),
            [Entry::Leaf(_) | Entry::Collision(_)] => {
                return Err(format!("depth {depth}: lone leaf not lifted"));
            }
            _ => {}
        }
    }
    let shift = depth as u32 * BITS_PER_LEVEL;
    let prefix_mask = if shift == 0 {
        0
    } else {
        u64::MAX >> (64 - shift)
    };
    let mut bits = branch.bitmap;
    let mut count = 0;
    for e in branch.entries.iter() {
        let slot_bit = bits & bits.wrapping_neg();
        bits &= !slot_bit;
        let slot = u64::from(slot_bit.trailing_zeros());
        let here = path_bits | (slot << shift);
        let check_hash = |h: u64| -> Result<(), String> {
            let mask = prefix_mask | (MASK << shift);
            if h & mask != here & mask {
                Err(format!("depth {depth}: hash {h:#x} in wrong slot"))
            } else {
                Ok(())
            }
        };
        match e {
            Entry::Leaf(Leaf { hash, .. }) => check_hash(*hash)?,
            Entry::Collision(c) => check_hash(c.hash)?,
            Entry::Branch(_) => {}
            Entry::Bucket(_) => return Err(format!("depth {depth}: bucket inside a branch")),
        }
        count += match e {
            Entry::Branch(b) => check(b, depth + 1, here, hash_of)?,
            leaf => check_leaf(leaf, hash_of)?,
        };
    }
    Ok(count)
}

/// Checks a leaf or collision leaf (stored hashes, distinct keys); returns its number of keys.
pub(crate) fn check_leaf<K: Eq, V>(
    entry: &Entry<K, V>,
    hash_of: &dyn Fn(&K) -> u64,
) -> Result<usize, String> {
    match entry {
        Entry::Leaf(Leaf { hash, key, .. }) => {
            if hash_of(key) != *hash {
                return Err("stored hash differs from the key's hash".into());
            }
            Ok(1)
        }
        Entry::Collision(c) => {
            if c.entries.len() < 2 {
                return Err("collision leaf with fewer than 2 entries".into());
            }
            for (i, (k, _)) in c.entries.iter().enumerate() {
                if hash_of(k) != c.hash {
                    return Err("collision entry with a different hash".into());
                }
                if c.entries.iter().skip(i + 1).any(|(k2, _)| k2 == k) {
                    return Err("duplicate key in collision leaf".into());
                }
            }
            Ok(c.entries.len())
        }
        Entry::Branch(_) | Entry::Bucket(_) => Err("branch where a leaf was expected".into()),
    }
}

/// Calls `f` with the stored hash of every key below `entry`.
pub(crate) fn visit<K, V>(entry: &Entry<K, V>, f: &mut impl FnMut(u64)) {
    match entry {
        Entry::Leaf(Leaf { hash, .. }) => f(*hash),
        Entry::Collision(c) => {
            for _ in &c.entries {
                f(c.hash);
            }
        }
        Entry::Branch(b) => {
            for e in b.entries.iter() {
                visit(e, f);
            }
        }
        Entry::Bucket(items) => {
            for l in items.iter() {
                f(l.hash);
            }
        }
    }
}

/// Checks a root slot's bucket: 2 to [`BUCKET_MAX`] leaves with distinct hashes; returns
/// its number of keys.
pub(crate) fn check_bucket<K: Eq, V>(
    items: &[Leaf<K, V>],
    hash_of: &dyn Fn(&K) -> u64,
) -> Result<usize, String> {
    if items.len() < 2 || items.len() > BUCKET_MAX {
        return Err(format!("bucket of {} entries", items.len()));
    }
    for (i, l) in items.iter().enumerate() {
        if items.iter().skip(i + 1).any(|l2| l2.hash == l.hash) {
            return Err("two bucket entries with the same hash".into());
        }
        if hash_of(&l.key) != l.hash {
            return Err("stored hash differs from the key's hash".into());
        }
    }
    Ok(items.len())
}
