//! The directly indexed root table of a [`HashTrieMap`](super::HashTrieMap) and its
//! incremental growth.
//!
//! The root is an array of `2^bits` slots (at least 2) indexed by the **top** `bits` of the
//! hash; a slot holds nothing, one leaf, one collision leaf, a bucket of up to
//! [`BUCKET_MAX`](super::node::BUCKET_MAX) leaves, or a bitmap branch whose levels consume
//! the hash from the **low** bits (see [`node`]). The table grows (doubles) when the map
//! holds as many keys as it has slots, so a slot holds about one key (between ½ and 1 on
//! average) and most lookups find their leaf in the table itself or in a short bucket.
//!
//! Growth is incremental. Doubling splits old slot `o` into new slots `2o` and `2o + 1` (one
//! more top bit), and the split is done [`MIGRATE_PER_OP`] old slots at a time by the
//! following inserts and removes. A lookup asks the old table first: a slot not yet split is
//! still there, a split one is in the new table. Splitting a slot re-inserts the keys of its
//! subtree (about one key) into the two new slots; a branch below the root never has to be
//! re-shaped because its levels use the low hash bits, which growth does not change.
//!
//! No step touches a whole table, and no step allocates or frees more than one chunk. A
//! table is stored in chunks of at most [`CHUNK`] slots (a small allocation from the heap,
//! never a multi-megabyte block whose allocation, first touch or release would cost one
//! insert a page-table walk over the whole table). A new table is filled by appending, and
//! the old one is consumed from its end, freeing each chunk as it empties. The split runs
//! through old slots in one direction and appends their new slots in the same order, which
//! works when consecutive generations are stored in opposite directions: the slot of logical
//! index `l` in a table of `n` slots sits at storage index `l ^ flip`, with `flip` either `0`
//! or `n - 1`, alternating per generation.
//!
//! ```text
//!   hash = t…t|………………|c1|c0    top `bits` bits t → root slot; low 6-bit chunks c0, c1 … → branches
//!
//!   old table, 2^(b-1) slots: unsplit slots     new table, 2^b slots: split ones, appended
//!   [chunk][chunk][chunk ▒▒▒]  ── pop the end ──►  [chunk][chunk][▒▒ 2o 2o+1]
//!   lookup: old slot (hash >> (64-b+1)) ^ old_flip still there? → it;  else new slot
//!           (hash >> (64-b)) ^ flip
//!   slot = None | Leaf | Collision | Bucket[≤ 8 leaves] | Branch{bitmap, [entries…]}
//! ```

use super::node::{self, Entry};

/// Old slots split per insert or remove while the table grows. Growth starts when the map
/// has as many keys as the new table has half-slots, and the next growth needs that many
/// more keys, so 2 per operation finishes the split with room to spare.
pub const MIGRATE_PER_OP: usize = 2;

/// log2 of [`CHUNK`].
const CHUNK_BITS: u32 = 9;

/// Slots per chunk of a table (a smaller table is one chunk of its size): 16 KiB for
/// `u64 → u64`, 32 KiB for a 32-byte key and a boxed string.
pub const CHUNK: usize = 1 << CHUNK_BITS;

/// A root slot.
pub(crate) type Slot<K, V> = Option<Entry<K, V>>;

/// A table stored in chunks, addressed by storage index; appended to and consumed at its end.
///
/// Every chunk but the last holds exactly `min(table size, CHUNK)` slots (appending fills
/// the last one to that length before starting another), so storage index `i` is slot
/// `i % CHUNK` of chunk `i / CHUNK`.
#[derive(Debug, Clone)]
pub(crate) struct Table<K, V> {
    /// Full chunks, then the last one (never an empty chunk).
    chunks: Vec<Vec<Slot<K, V>>>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<K, V> Table<K, V> {
    #[inline(always)]
    fn get(&self, i: usize) -> Option<&Slot<K, V>> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    #[inline(always)]
    fn get_mut(&mut self, i: usize) -> Option<&mut Slot<K, V>> {
        self.chunks
            .get_mut(i >> CHUNK_BITS)?
            .get_mut(i & (CHUNK - 1))
    }

    /// Appends an empty slot to a table of `size` slots (its final size).
    fn push_empty(&mut self, size: usize) {
        let chunk_len = size.min(CHUNK);
        match self.chunks.last_mut() {
            Some(last) if last.len() < chunk_len => last.push(None),
            _ => {
                let mut chunk = Vec::with_capacity(chunk_len);
                chunk.push(None);
                self.chunks.push(chunk);
            }
        }
    }

    /// Takes the last slot; frees its chunk when that empties.
    fn pop(&mut self) -> Option<Slot<K, V>> {
        let last = self.chunks.last_mut()?;
        let slot = last.pop();
        if last.is_empty() {
            self.chunks.pop();
        }
        slot
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// The chunks, in storage order.
    pub(crate) fn chunks(&self) -> core::slice::Iter<'_, Vec<Slot<K, V>>> {
        self.chunks.iter()
    }

    /// Slots with their storage index.
    fn enumerate(&self) -> impl Iterator<Item = (usize, &Slot<K, V>)> {
        self.chunks.iter().flatten().enumerate()
    }
}

/// The root table and, while it grows, the previous one.
#[derive(Debug, Clone)]
pub(crate) struct Root<K, V> {
    /// The current table: `2^bits` slots once grown; while growing, the first slots in its
    /// storage order (those split so far).
    slots: Table<K, V>,
    /// The previous table while it is being split (its unsplit slots), else empty.
    old: Table<K, V>,
    /// log2 of the current table's size.
    bits: u32,
    /// `hash >> shift` is the logical slot index in the current table (`shift` = 64 − `bits`;
    /// a table has at least 2 slots, so the shift is defined).
    shift: u32,
    /// Storage index = logical index `^ flip` in the current table.
    flip: usize,
    /// The same two for the old table.
    old_shift: u32,
    old_flip: usize,
}

impl<K, V> Root<K, V> {
    /// The chunks of both tables, for freeing them a chunk at a time.
    pub(crate) fn into_chunks(self) -> Vec<Vec<Slot<K, V>>> {
        let mut chunks = self.old.chunks;
        chunks.extend(self.slots.chunks);
        chunks
    }
}

impl<K, V> Default for Root<K, V> {
    fn default() -> Self {
        Self {
            slots: Table::default(),
            old: Table::default(),
            bits: 1,
            shift: 63,
            flip: 0,
            old_shift: 63,
            old_flip: 0,
        }
    }
}

impl<K, V> Root<K, V> {
    /// A root whose table already has a slot per key for `keys` keys (at least 2 slots), so
    /// the first `keys` inserts start no growth.
    pub(crate) fn with_capacity(keys: usize) -> Self {
        let bits = keys.max(2).next_power_of_two().trailing_zeros().min(63);
        let size = 1usize << bits;
        let mut slots = Table::default();
        slots.chunks.reserve_exact(size.div_ceil(CHUNK));
        for _ in 0..size {
            slots.push_empty(size);
        }
        Self {
            slots,
            bits,
            shift: 64 - bits,
            ..Self::default()
        }
    }

    /// The slot holding `hash`, if the table has been allocated.
    #[inline(always)]
    pub(crate) fn slot(&self, hash: u64) -> Option<&Slot<K, V>> {
        // Not growing (the common case): one test of the old table's chunk count.
        if !self.old.is_empty()
            && let Some(s) = self
                .old
                .get(((hash >> self.old_shift) as usize) ^ self.old_flip)
        {
            return Some(s);
        }
        self.slots.get(((hash >> self.shift) as usize) ^ self.flip)
    }

    /// The slot holding `hash`, mutably.
    pub(crate) fn slot_mut(&mut self, hash: u64) -> Option<&mut Slot<K, V>> {
        let old = ((hash >> self.old_shift) as usize) ^ self.old_flip;
        if self.old.get(old).is_some() {
            return self.old.get_mut(old);
        }
        self.slots
            .get_mut(((hash >> self.shift) as usize) ^ self.flip)
    }

    /// Number of slots of the current table once grown.
    fn capacity(&self) -> usize {
        1usize << self.bits
    }

    /// The current table's slots and the old table's unsplit slots.
    pub(crate) fn tables(&self) -> [&Table<K, V>; 2] {
        [&self.slots, &self.old]
    }

    /// Drops every entry and the tables.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

impl<K: Eq, V> Root<K, V> {
    /// Makes room before an insert into a map of `len` keys: allocates the first 2 slots,
    /// starts a growth when the table is full, and advances a growth in progress.
    pub(crate) fn before_insert(&mut self, len: usize) {
        if self.slots.is_empty() && self.old.is_empty() {
            self.slots.push_empty(2);
            self.slots.push_empty(2);
        } else if self.old.is_empty() && len >= self.capacity() {
            self.start_growth();
        }
        self.migrate();
    }

    /// Advances a growth in progress (before a remove).
    pub(crate) fn before_remove(&mut self) {
        self.migrate();
    }

    /// Starts doubling the table: the current one becomes the old one, consumed from its
    /// end, so the new one is stored in the opposite direction.
    fn start_growth(&mut self) {
        let size = self.capacity();
        self.old = core::mem::take(&mut self.slots);
        self.slots.chunks.reserve_exact((size * 2).div_ceil(CHUNK));
        self.old_shift = self.shift;
        self.old_flip = self.flip;
        self.bits += 1;
        self.shift -= 1;
        // The old table is consumed from its end: logical order when it is reversed
        // (`old_flip` = size - 1), reverse logical order when it is not.
        self.flip = if self.old_flip == 0 { size * 2 - 1 } else { 0 };
    }

    /// Splits up to [`MIGRATE_PER_OP`] old slots into the new table.
    fn migrate(&mut self) {
        for _ in 0..MIGRATE_PER_OP {
            let Some(slot) = self.old.pop() else {
                return;
            };
            // The two new slots of the popped old slot, stored next to each other at the end.
            self.slots.push_empty(self.capacity());
            self.slots.push_empty(self.capacity());
            if let Some(entry) = slot {
                let (shift, flip) = (self.shift, self.flip);
                let slots = &mut self.slots;
                node::drain(entry, &mut |hash, key, value| {
                    let i = ((hash >> shift) as usize) ^ flip;
                    if let Some(s) = slots.get_mut(i) {
                        node::slot_insert(s, hash, key, value);
                    }
                });
            }
            if self.old.is_empty() {
                self.old = Table::default();
                self.old_shift = 63;
                self.old_flip = 0;
            }
        }
    }

    /// Checks the slot of every stored hash and each subtree; returns the number of keys.
    pub(crate) fn check(&self, hash_of: &dyn Fn(&K) -> u64) -> Result<usize, String> {
        if self.slots.len() > self.capacity() {
            return Err(format!(
                "{} slots in a table of 2^{}",
                self.slots.len(),
                self.bits
            ));
        }
        if !self.old.is_empty() && self.slots.len() + 2 * self.old.len() != self.capacity() {
            return Err("growth: split and unsplit slots do not add up".into());
        }
        let old_size = self.capacity() / 2;
        for (table, size) in [(&self.slots, self.capacity()), (&self.old, old_size)] {
            let chunk_len = size.min(CHUNK);
            let full = table.chunks.len().saturating_sub(1);
            if table.chunks.iter().take(full).any(|c| c.len() != chunk_len) {
                return Err("a chunk other than the last is not full".into());
            }
            if table
                .chunks
                .iter()
                .any(|c| c.is_empty() || c.len() > chunk_len)
            {
                return Err("empty or overfull chunk".into());
            }
        }
        let mut count = 0;
        for (table, shift, flip) in [
            (&self.slots, self.shift, self.flip),
            (&self.old, self.old_shift, self.old_flip),
        ] {
            for (i, slot) in table.enumerate() {
                let Some(entry) = slot else { continue };
                let mut bad = None;
                node::visit(entry, &mut |hash| {
                    if ((hash >> shift) as usize) ^ flip != i {
                        bad = Some(hash);
                    }
                });
                if let Some(hash) = bad {
                    return Err(format!("hash {hash:#x} in root slot {i}"));
                }
                if let Entry::Branch(b) = entry {
                    match &*b.entries {
                        [] => return Err("empty branch in a root slot".into()),
                        [Entry::Leaf(_) | Entry::Collision(_)] => {
                            return Err("lone leaf below a root slot not lifted".into());
                        }
                        _ => {}
                    }
                    count += node::check(b, 0, 0, hash_of)?;
                } else if let Entry::Bucket(items) = entry {
                    count += node::check_bucket(items, hash_of)?;
                } else {
                    count += node::check_leaf(entry, hash_of)?;
                }
            }
        }
        Ok(count)
    }
}
