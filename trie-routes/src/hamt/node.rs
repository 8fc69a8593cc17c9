//! Nodes of the hash-array-mapped trie and the recursive operations on them.
//!
//! Invariants (checked by [`check`]):
//! - `entries.len() == bitmap.count_ones()`, and entry `i` belongs to the `i`-th set bit;
//! - an entry at depth `d` (shift `6·d`) sits in the slot given by its hash bits
//!   `shift .. shift+6`, and agrees with all its ancestors' slots;
//! - a branch other than the root has at least one entry and never exactly one leaf or
//!   collision entry (those are lifted into the parent), so the shape is canonical;
//! - a collision leaf holds at least two entries, all with the same full hash and distinct keys;
//! - branches nest at most [`MAX_DEPTH`] deep, because two different 64-bit hashes differ in
//!   one of the 11 six-bit chunks.

use core::borrow::Borrow;

/// Hash bits consumed per level: 64 slots per node, one `u64` bitmap.
pub const BITS_PER_LEVEL: u32 = 6;

/// Most branch levels: 64 hash bits in 6-bit chunks (the last chunk has 4 bits).
pub const MAX_DEPTH: usize = 64_usize.div_ceil(BITS_PER_LEVEL as usize);

const MASK: u64 = (1 << BITS_PER_LEVEL) - 1;

/// One slot of a branch.
#[derive(Debug, Clone)]
pub(crate) enum Entry<K, V> {
    /// One key, stored inline in its parent's array.
    Leaf { hash: u64, key: K, value: V },
    /// Keys whose full 64-bit hashes are equal.
    Collision(Box<Collision<K, V>>),
    /// The next level, inline: one pointer hop per level (to its entry array).
    Branch(Branch<K, V>),
}

/// Keys sharing one full hash.
#[derive(Debug, Clone)]
pub(crate) struct Collision<K, V> {
    pub(crate) hash: u64,
    pub(crate) entries: Vec<(K, V)>,
}

/// A bitmap-compressed node: only the slots that exist are stored.
#[derive(Debug, Clone)]
pub(crate) struct Branch<K, V> {
    pub(crate) bitmap: u64,
    pub(crate) entries: Vec<Entry<K, V>>,
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
            entries: Vec::new(),
        }
    }
}

impl<K, V> Branch<K, V> {
    #[inline]
    fn index(&self, bit: u64) -> usize {
        (self.bitmap & (bit - 1)).count_ones() as usize
    }

    /// The value for `key`, whose hash is `hash`.
    ///
    /// On x86-64 the loop runs in a copy compiled with the `popcnt` instruction when the CPU
    /// has it (checked at run time, cached by std): the baseline x86-64 target has no
    /// hardware popcount, and the software one was a third of the instructions of a lookup
    /// and sat on the dependency chain of every level. wasm32 always has `i64.popcnt`.
    #[inline]
    pub(crate) fn get<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        #[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
        if std::is_x86_feature_detected!("popcnt") {
            // Safety: `get_popcnt` only requires the `popcnt` target feature, and the CPU
            // running this code was just checked to have it.
            return unsafe { self.get_popcnt(hash, key) };
        }
        self.get_loop(hash, key)
    }

    /// [`Self::get_loop`] compiled with hardware popcount.
    #[cfg(all(target_arch = "x86_64", not(target_feature = "popcnt")))]
    #[target_feature(enable = "popcnt")]
    fn get_popcnt<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.get_loop(hash, key)
    }

    /// The lookup loop: one bitmap test, one popcount and one entry load per level.
    #[inline(always)]
    fn get_loop<Q>(&self, hash: u64, key: &Q) -> Option<&V>
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
                Entry::Leaf {
                    hash: lh,
                    key: k,
                    value,
                } => {
                    return (*lh == hash && k.borrow() == key).then_some(value);
                }
                Entry::Branch(next) => {
                    branch = next;
                    h >>= BITS_PER_LEVEL;
                }
                Entry::Collision(c) => {
                    return if c.hash == hash {
                        c.entries
                            .iter()
                            .find(|(k, _)| k.borrow() == key)
                            .map(|(_, v)| v)
                    } else {
                        None
                    };
                }
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
            Entry::Leaf {
                hash: h,
                key: k,
                value,
            } => (*h == hash && (*k).borrow() == key).then_some(value),
            Entry::Collision(c) if c.hash == hash => c
                .entries
                .iter_mut()
                .find(|(k, _)| (*k).borrow() == key)
                .map(|(_, v)| v),
            Entry::Collision(_) => None,
            Entry::Branch(next) => next.get_mut(hash, key, shift + BITS_PER_LEVEL),
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
            self.entries.insert(i, Entry::Leaf { hash, key, value });
            return None;
        }
        let slot = self.entries.get_mut(i)?;
        match slot {
            Entry::Leaf {
                hash: h,
                key: k,
                value: v,
            } if *h == hash => {
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
            Entry::Leaf { .. } | Entry::Collision(_) => {}
        }
        // The slot holds a leaf or collision that must share the slot with the new key:
        // either a new collision (same full hash) or a new branch (hashes differ deeper).
        let old = self.entries.remove(i);
        let new = match old {
            Entry::Leaf {
                hash: h,
                key: k,
                value: v,
            } if h == hash => Entry::Collision(Box::new(Collision {
                hash,
                entries: vec![(k, v), (key, value)],
            })),
            other => {
                let other_hash = match &other {
                    Entry::Leaf { hash, .. } => *hash,
                    Entry::Collision(c) => c.hash,
                    Entry::Branch(_) => hash, // unreachable by the match above
                };
                pair(
                    shift + BITS_PER_LEVEL,
                    other,
                    other_hash,
                    Entry::Leaf { hash, key, value },
                    hash,
                )
            }
        };
        self.entries.insert(i, new);
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
            Entry::Leaf {
                hash: h, key: k, ..
            } => {
                if *h != hash || (*k).borrow() != key {
                    return None;
                }
                self.bitmap &= !b;
                match self.entries.remove(i) {
                    Entry::Leaf { value, .. } => Some(value),
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
                    *slot = Entry::Leaf {
                        hash,
                        key,
                        value: v,
                    };
                }
                Some(value)
            }
            Entry::Branch(child) => {
                let removed = child.remove(hash, key, shift + BITS_PER_LEVEL)?;
                if child.entries.len() == 1
                    && !matches!(child.entries.first(), Some(Entry::Branch(_)))
                    && let Some(lone) = child.entries.pop()
                {
                    *slot = lone;
                }
                Some(removed)
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
            entries: vec![pair(shift + BITS_PER_LEVEL, a, ha, b, hb)],
        }
    } else if ba < bb {
        Branch {
            bitmap: ba | bb,
            entries: vec![a, b],
        }
    } else {
        Branch {
            bitmap: ba | bb,
            entries: vec![b, a],
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
        match branch.entries.as_slice() {
            [] => return Err(format!("depth {depth}: empty branch")),
            [Entry::Leaf { .. } | Entry::Collision(_)] => {
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
    for e in &branch.entries {
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
            Entry::Leaf { hash, key, .. } => {
                check_hash(*hash)?;
                if hash_of(key) != *hash {
                    return Err("stored hash differs from the key's hash".into());
                }
                count += 1;
            }
            Entry::Collision(c) => {
                check_hash(c.hash)?;
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
                count += c.entries.len();
            }
            Entry::Branch(b) => count += check(b, depth + 1, here, hash_of)?,
        }
    }
    Ok(count)
}
