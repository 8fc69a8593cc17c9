//! Segment jumps: a hash table that takes the walk from a node `N` over a whole run of
//! path segments to a node `T` below it in one probe, instead of one dependent node load per
//! label on the way (tenant ids split into one-digit nodes, service names, versions).
//!
//! ```text
//!   N = "/tenants/t0000" (HAS_JUMP, segments = 3)
//!   path  /tenants/t0000 249/orders/v3/ 42/items/42
//!                        └── key ─────┘  the bytes after N up to its third '/'
//!   table[(N, "249/orders/v3/")] = T: node "3/", whose label ends the key
//!   walk:  N → "2" → "4" → "9/" → "orders/v" → "3/" → {id}    jump:  N → entry → {id}
//! ```
//!
//! (`T` = "3/" has nothing but its param edge, so the entry names the param node and the
//! walk continues there at the end of the key.)
//!
//! The table is a cache of the walk, never a replacement for it: an entry `(N, key) → T`
//! exists only if the static walk from `N` over `key` ends exactly at the end of `T`'s label
//! and every node strictly between `N` and `T` is *transparent* (no route slot, no param or
//! catch-all edge), so it could not have produced a candidate or a frame. On a miss (no
//! entry, fewer than `segments` slashes, a key longer than [`JUMP_KEY`] bytes, a `?` in the
//! key) the lookup walks the static children as before. A hit therefore changes only how
//! many nodes are loaded, never the candidates, their order or their parameters.
//!
//! A node's `segments` is fixed at freeze time (stored in its otherwise unused
//! `label_start`: only nodes with an inline label or param nodes get a table), so the lookup
//! knows where its key ends: at the `segments`-th `/` after `N` (1 to [`MAX_SEGMENTS`]). It
//! is chosen per node to skip the most node loads, weighted by the routes below each target;
//! a table is built only where it saves at least [`MIN_SAVED_PER_ROUTE`] node loads per route
//! on average, not inside the span of another node's table, and never at a root (the lookup
//! starts at a root's child).

use crate::path_trie::NONE;

use super::{
    FNode, HAS_ALTERNATIVE, HAS_JUMP, HAS_PREFIX, HAS_TERMINAL, INLINE_LABEL, PARAM_LABEL,
};

/// Longest key (path bytes from `N` to the end of `T`, slash included): three words, so a
/// probe compares three `u64`s and an entry fills half a cache line. Covers a tenant id with
/// a service and a version (`2499/shipping/v3/`, 17 bytes).
pub(crate) const JUMP_KEY: usize = 24;

/// Bits of [`Jump::to`] holding how many key bytes precede `T`'s label (less than
/// [`JUMP_KEY`] = 24 < 32).
const SKIP_BITS: u32 = 5;

/// Target node ids must fit in the bits above the skip; a trie with more nodes (2^27 nodes
/// are 8 GiB) simply gets no entries for the nodes past it.
const MAX_TARGET: u32 = 1 << (32 - SKIP_BITS);

/// A table is built at a node only if it saves at least this many node loads per route
/// below the node, on average: a probe costs one load of its own, so a jump over fewer than
/// three nodes gains nothing.
pub(crate) const MIN_SAVED_PER_ROUTE: u64 = 1;

/// Slots per entry, as a fraction (4/3: a load factor of 3/4 keeps linear probes short).
const SLOTS_NUM: usize = 4;
/// See [`SLOTS_NUM`].
const SLOTS_DEN: usize = 3;

/// Low bit of every byte lane.
const LO: u64 = u64::from_le_bytes([0x01; 8]);
/// High bit of every byte lane.
const HI: u64 = u64::from_le_bytes([0x80; 8]);

/// One entry: the key (zero-padded), the node it starts from and the target. 32 bytes, two
/// per cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
pub(crate) struct Jump {
    key: [u64; 3],
    /// [`NONE`] in an empty slot.
    from: u32,
    /// `X << SKIP_BITS | skip`: the walk continues at `X` = `T`, `skip` key bytes in (where
    /// `T`'s label starts), or, when `T` has nothing but a param edge, at `X` = its param
    /// node at the end of the key.
    to: u32,
}

const EMPTY: Jump = Jump {
    key: [0; 3],
    from: NONE,
    to: 0,
};

/// Which tables to build (tests force them everywhere, or into one slot).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JumpPolicy {
    /// Build no tables at all.
    pub(crate) off: bool,
    /// Minimum average node loads saved per route below a node; `None` builds a table
    /// wherever a node has a candidate.
    pub(crate) min_saved: Option<u64>,
    /// Home slots of the table (default: 4/3 of the entries); 1 puts every entry in one
    /// probe chain.
    pub(crate) slots: Option<usize>,
}

impl Default for JumpPolicy {
    fn default() -> Self {
        Self {
            off: false,
            min_saved: Some(MIN_SAVED_PER_ROUTE),
            slots: None,
        }
    }
}

/// All segment jumps of a [`super::FrozenPaths`]: one open-addressed table keyed by
/// `(N, key)`, linear probing, no wrap-around (the slots past the `home` range take the
/// overflow). A probe looks at no more than `probes` slots, fixed when the table is built:
/// request paths cannot make a lookup probe longer.
#[derive(Debug, Clone, Default)]
pub(crate) struct JumpTable {
    slots: Vec<Jump>,
    /// Number of home slots: a key's home is `hash × home / 2^64`.
    home: u64,
    /// Longest probe any entry needed (a lookup never probes further).
    probes: usize,
}

/// `(a × b)` as 128 bits, halves xored: a cheap, well-mixing step (as in foldhash).
#[inline(always)]
fn folded_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hash of a key (three zero-padded little-endian words) and the node it starts from: one
/// folded multiply (a collision costs a probe, never a wrong answer).
#[inline(always)]
fn hash(from: u32, key: &[u64; 3]) -> u64 {
    let [a, b, c] = *key;
    folded_mul(
        a ^ 0x243f_6a88_85a3_08d3,
        b ^ c.rotate_left(32) ^ u64::from(from) ^ 0x1319_8a2e_0370_7344,
    )
}

/// The eight bytes of `bytes` from `at`, zero-filled past the end.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let rest = bytes.get(at..).unwrap_or_default();
    if let Some(w) = rest.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    // Fewer than 8 bytes left: they are the top lanes of the path's last word.
    if let Some(last) = bytes.last_chunk::<8>() {
        let gone = 8 * (8 - rest.len() as u32);
        return u64::from_le_bytes(*last).checked_shr(gone).unwrap_or(0);
    }
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(rest) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

/// One bit per byte lane of `w` equal to `/` (bit `i` for lane `i`). Exact for every lane
/// (unlike the borrow trick): `(x & 0x7f) + 0x7f` never carries out of a lane.
#[inline(always)]
fn slash_lanes(w: u64) -> u32 {
    let x = w ^ (LO * u64::from(b'/'));
    let nonzero = ((x & !HI).wrapping_add(!HI) | x) & HI;
    let zero = (nonzero ^ HI) >> 7;
    // Lane bits sit at 8i; the multiply moves lane i to bit 56 + i, with no carries.
    (zero.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// Most slashes in a key: the lookup picks the key's end among the first four slashes
/// without a loop.
pub(crate) const MAX_SEGMENTS: u8 = 4;

/// `KEY_MASKS[n]` keeps the low `n` bytes of a three-word key.
// Evaluated at compile time: an index out of range would fail the build, not a lookup.
#[allow(clippy::indexing_slicing)]
const KEY_MASKS: [[u64; 3]; JUMP_KEY + 1] = {
    let mut m = [[0u64; 3]; JUMP_KEY + 1];
    let mut n = 0;
    while n <= JUMP_KEY {
        let mut i = 0;
        while i < 3 {
            let keep = n.saturating_sub(8 * i);
            m[n][i] = if keep >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * keep)) - 1
            };
            i += 1;
        }
        n += 1;
    }
    m
};

/// Little-endian word `i` of a fixed-size chunk (zero if the chunk ends before it).
#[inline(always)]
fn chunk_word<const N: usize>(c: &[u8; N], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = c.get(8 * i..8 * i + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

/// The [`JUMP_KEY`] bytes of `bytes` from `pos` as words, zero-filled past the end, and a
/// bit per byte equal to `/`.
#[inline(always)]
fn window(bytes: &[u8], pos: usize) -> ([u64; 3], u32) {
    match bytes.get(pos..).and_then(|r| r.first_chunk::<JUMP_KEY>()) {
        Some(c) => {
            let w = [chunk_word(c, 0), chunk_word(c, 1), chunk_word(c, 2)];
            (w, slashes(c, &w))
        }
        None => tail_window(bytes, pos),
    }
}

/// [`window`] within the last [`JUMP_KEY`] bytes of the path: while 16 bytes remain, those
/// as in [`window`] and the third word from the path's last eight bytes.
#[inline(always)]
fn tail_window(bytes: &[u8], pos: usize) -> ([u64; 3], u32) {
    match bytes.get(pos..).and_then(|r| r.first_chunk::<16>()) {
        Some(c) => {
            let hi = word_at(bytes, pos + 16);
            (
                [chunk_word(c, 0), chunk_word(c, 1), hi],
                slashes16(c) | slash_lanes(hi) << 16,
            )
        }
        None => short_window(bytes, pos),
    }
}

/// [`window`] within the last 16 bytes of the path.
#[inline(never)]
fn short_window(bytes: &[u8], pos: usize) -> ([u64; 3], u32) {
    let w = [word_at(bytes, pos), word_at(bytes, pos + 8), 0];
    // Zero lanes past the end of the path are never `/`.
    (w, slash_lanes(w[0]) | slash_lanes(w[1]) << 8)
}

/// A bit per byte of `c` equal to `/`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn slashes16(c: &[u8; 16]) -> u32 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // Safety: SSE2 is part of the x86-64 baseline; the load reads the 16 bytes of `c` and
    // has no alignment requirement.
    unsafe {
        let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8))) as u32
    }
}

/// A bit per byte of `c` equal to `/` (portable word form).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn slashes16(c: &[u8; 16]) -> u32 {
    slashes16_in_words(c)
}

/// A bit per byte of `c` equal to `/`, from two words.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn slashes16_in_words(c: &[u8; 16]) -> u32 {
    let (lo, hi) = c.split_at(8);
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    slash_lanes(word(lo)) | slash_lanes(word(hi)) << 8
}

/// A bit per byte of `c` equal to `/`: on x86-64 two SSE2 compares (baseline there).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn slashes(c: &[u8; JUMP_KEY], _: &[u64; 3]) -> u32 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadl_epi64, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // Safety: SSE2 is part of the x86-64 baseline; the loads read bytes 0..16 and 16..24
    // of `c` (24 bytes) and have no alignment requirement.
    unsafe {
        let slash = _mm_set1_epi8(b'/' as i8);
        let lo = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        let hi = _mm_loadl_epi64(c.as_ptr().wrapping_add(16).cast::<__m128i>());
        let lo = _mm_movemask_epi8(_mm_cmpeq_epi8(lo, slash)) as u32;
        let hi = _mm_movemask_epi8(_mm_cmpeq_epi8(hi, slash)) as u32;
        lo | (hi & 0xff) << 16
    }
}

/// A bit per byte of the window equal to `/` (portable word form).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn slashes(_: &[u8; JUMP_KEY], w: &[u64; 3]) -> u32 {
    slashes_in_words(w)
}

/// A bit per byte of three words equal to `/`.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn slashes_in_words(w: &[u64; 3]) -> u32 {
    let [a, b, c] = *w;
    slash_lanes(a) | slash_lanes(b) << 8 | slash_lanes(c) << 16
}

/// The key at `pos`: the path bytes up to and including the `segments`-th `/` (1 to
/// [`MAX_SEGMENTS`]), as three zero-padded words, and its length; `None` if that slash is
/// not within [`JUMP_KEY`] bytes.
#[inline(always)]
fn key_at(bytes: &[u8], pos: usize, segments: u32) -> Option<([u64; 3], usize)> {
    let (w, s1) = window(bytes, pos);
    let s2 = s1 & s1.wrapping_sub(1);
    let s3 = s2 & s2.wrapping_sub(1);
    let s4 = s3 & s3.wrapping_sub(1);
    let nth = match segments {
        1 => s1,
        2 => s2,
        3 => s3,
        _ => s4,
    };
    if nth == 0 {
        return None;
    }
    let len = nth.trailing_zeros() as usize + 1;
    let m = KEY_MASKS.get(len)?;
    Some(([w[0] & m[0], w[1] & m[1], w[2] & m[2]], len))
}

impl JumpTable {
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Jump>()
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.from != NONE).count()
    }

    /// The jump from node `from` (whose table keys span `segments` slashes) at path position
    /// `pos`: the node to continue at and the path position where it starts (its label, or
    /// for a param node its segment).
    #[inline(always)]
    pub(crate) fn get(
        &self,
        from: u32,
        segments: u32,
        bytes: &[u8],
        pos: usize,
    ) -> Option<(u32, usize)> {
        let (key, _) = key_at(bytes, pos, segments)?;
        let home = ((u128::from(hash(from, &key)) * u128::from(self.home)) >> 64) as usize;
        for e in self.slots.get(home..)?.iter().take(self.probes) {
            if e.from == from && e.key == key {
                return Some((
                    e.to >> SKIP_BITS,
                    pos + (e.to & ((1 << SKIP_BITS) - 1)) as usize,
                ));
            }
            if e.from == NONE {
                return None;
            }
        }
        None
    }

    fn insert(&mut self, e: Jump) {
        let home = ((u128::from(hash(e.from, &e.key)) * u128::from(self.home)) >> 64) as usize;
        let mut at = home;
        loop {
            match self.slots.get_mut(at) {
                Some(slot) if slot.from == NONE => {
                    *slot = e;
                    break;
                }
                Some(_) => at += 1,
                None => {
                    self.slots.push(e);
                    break;
                }
            }
        }
        self.probes = self.probes.max(at - home + 1);
    }

    /// Chooses the nodes that get a table, sets their [`HAS_JUMP`] flag and segment count
    /// (in `label_start`), and builds the table. `first` is the first-byte array of the
    /// frozen layout (children are found through it). In one call; builds use [`JumpBuild`].
    #[cfg(test)]
    pub(crate) fn build(
        nodes: &mut [FNode],
        first: &[u8],
        labels: &[u8],
        policy: JumpPolicy,
    ) -> Self {
        let mut build = JumpBuild::new(nodes.len(), policy);
        while !build.step(nodes, first, labels, usize::MAX) {}
        build.finish()
    }

    /// Checks every entry against the nodes: the static walk from `from` over the key ends at
    /// the end of `to`'s label, through transparent nodes only, after `segments` slashes.
    pub(crate) fn check(&self, nodes: &[FNode], first: &[u8], labels: &[u8]) -> Result<(), String> {
        for e in self.slots.iter().filter(|e| e.from != NONE) {
            let from = nodes
                .get(e.from as usize)
                .ok_or("jump from a dangling node")?;
            if from.flags & HAS_JUMP == 0 {
                return Err(format!("jump from node {} without the flag", e.from));
            }
            let key: Vec<u8> = e.key.iter().flat_map(|w| w.to_le_bytes()).collect();
            let len = key
                .iter()
                .rposition(|b| *b == b'/')
                .ok_or("key without '/'")?
                + 1;
            let key = key.get(..len).unwrap_or_default();
            if key.iter().filter(|b| **b == b'/').count() != from.label_start as usize {
                return Err(format!("jump from node {}: segment count differs", e.from));
            }
            let (mut at, mut off) = (*from, 0usize);
            let target = e.to >> SKIP_BITS;
            loop {
                let b = *key.get(off).ok_or("key ends inside the walk")?;
                let c = static_child(first, &at, b).ok_or("key leaves the trie")?;
                let child = nodes.get(c as usize).ok_or("dangling child")?;
                let label = label_of(child, labels);
                if key.get(off..off + label.len()) != Some(label) {
                    return Err(format!(
                        "jump from node {}: key differs from labels",
                        e.from
                    ));
                }
                let skip = (e.to & ((1 << SKIP_BITS) - 1)) as usize;
                if off + label.len() == len {
                    // `child` ends the key: the target is it, or its param node if it has
                    // nothing else.
                    let ok = if c == target {
                        off == skip
                    } else {
                        target == child.param && param_only(child) && skip == len
                    };
                    if !ok {
                        return Err(format!("jump from node {}: wrong target or skip", e.from));
                    }
                    break;
                }
                if !transparent(child) {
                    return Err(format!(
                        "jump from node {} over node {c} with a slot",
                        e.from
                    ));
                }
                off += label.len();
                at = *child;
            }
        }
        Ok(())
    }
}

/// [`JumpTable::build`] in bounded steps, so that a table for 100k routes can be built between
/// requests (`crate::RouteTrieFreeze`): each phase keeps its position and a step does at most
/// about `budget` nodes' (or entries') work.
#[derive(Debug)]
pub(crate) struct JumpBuild {
    policy: JumpPolicy,
    phase: JumpPhase,
    /// Routes at or below each node.
    weight: Vec<u64>,
    is_child: Vec<bool>,
    covered: Vec<bool>,
    entries: Vec<Jump>,
    found: Vec<Candidate>,
    stack: Vec<Frame>,
    /// The next node (or entry) the current phase looks at.
    next: usize,
    /// The node being looked at in [`JumpPhase::Select`], if its search is under way.
    job: Option<NodeJob>,
    table: JumpTable,
}

/// A node of [`JumpPhase::Select`] whose work spans steps.
#[derive(Debug, Clone, Copy)]
enum NodeJob {
    /// Finding the candidates below it (`JumpBuild::stack` holds the search).
    Explore { id: usize },
    /// Adding its entries for `segments`, from `JumpBuild::found[next]` on.
    Emit {
        id: usize,
        segments: usize,
        next: usize,
    },
}

/// Where a [`JumpBuild`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JumpPhase {
    /// Summing the routes below each node, last node first (`next` counts down).
    Weights,
    /// Choosing the nodes that get a table and collecting their entries.
    Select,
    /// Putting the entries into the open-addressed table.
    Insert,
    Done,
}

impl JumpBuild {
    /// A build for `nodes` nodes.
    pub(crate) fn new(nodes: usize, policy: JumpPolicy) -> Self {
        let skip = policy.off || nodes == 0;
        Self {
            policy,
            phase: if skip {
                JumpPhase::Done
            } else {
                JumpPhase::Weights
            },
            weight: if skip { Vec::new() } else { vec![0u64; nodes] },
            is_child: if skip { Vec::new() } else { vec![false; nodes] },
            covered: Vec::new(),
            entries: Vec::new(),
            found: Vec::new(),
            stack: Vec::new(),
            next: nodes,
            job: None,
            table: JumpTable::default(),
        }
    }

    /// Does at most about `budget` units of work; true once the table is complete.
    pub(crate) fn step(
        &mut self,
        nodes: &mut [FNode],
        first: &[u8],
        labels: &[u8],
        budget: usize,
    ) -> bool {
        let mut budget = budget.max(1);
        while budget > 0 {
            let done = match self.phase {
                JumpPhase::Weights => self.weights(nodes, &mut budget),
                JumpPhase::Select => self.select(nodes, first, labels, &mut budget),
                JumpPhase::Insert => self.insert_entries(&mut budget),
                JumpPhase::Done => return true,
            };
            if done {
                self.advance(nodes.len());
            }
        }
        self.phase == JumpPhase::Done
    }

    /// The table, once [`Self::step`] returned true (an empty one before).
    pub(crate) fn finish(self) -> JumpTable {
        self.table
    }

    fn advance(&mut self, nodes: usize) {
        self.phase = match self.phase {
            JumpPhase::Weights => {
                self.covered = vec![false; nodes];
                self.next = 0;
                JumpPhase::Select
            }
            JumpPhase::Select => {
                self.weight = Vec::new();
                self.is_child = Vec::new();
                self.covered = Vec::new();
                let home = self
                    .policy
                    .slots
                    .unwrap_or(self.entries.len() * SLOTS_NUM / SLOTS_DEN)
                    .max(1);
                self.table.home = home as u64;
                self.table.slots = vec![EMPTY; home];
                self.next = 0;
                JumpPhase::Insert
            }
            JumpPhase::Insert | JumpPhase::Done => {
                self.entries = Vec::new();
                self.table.slots.shrink_to_fit();
                JumpPhase::Done
            }
        };
    }

    /// Routes at or below each node. Children and params come after their parent in the
    /// frozen (breadth-first) order, so one backward pass sums them.
    fn weights(&mut self, nodes: &[FNode], budget: &mut usize) -> bool {
        while self.next > 0 {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            self.next -= 1;
            let i = self.next;
            let Some(n) = nodes.get(i) else { continue };
            let own = [n.terminal, n.catch_all, n.prefix, n.sep_prefix]
                .iter()
                .filter(|r| **r != NONE)
                .count() as u64;
            let kids = n.child_start as usize..n.child_start as usize + n.child_count as usize;
            let below: u64 = self
                .weight
                .get(kids.clone())
                .unwrap_or_default()
                .iter()
                .sum::<u64>()
                + if n.param != NONE {
                    self.weight.get(n.param as usize).copied().unwrap_or(0)
                } else {
                    0
                };
            if let Some(w) = self.weight.get_mut(i) {
                *w = own + below;
            }
            for k in kids.chain((n.param != NONE).then_some(n.param as usize)) {
                if let Some(c) = self.is_child.get_mut(k) {
                    *c = true;
                }
            }
        }
        true
    }

    /// Chooses the nodes that get a table, one node at a time; a node's search below it and
    /// the entries it adds are themselves done a budget at a time (below a node near the
    /// root of 100k routes there are 100k candidates).
    fn select(
        &mut self,
        nodes: &mut [FNode],
        first: &[u8],
        labels: &[u8],
        budget: &mut usize,
    ) -> bool {
        while *budget > 0 {
            match self.job {
                None => {
                    let id = self.next;
                    let Some(n) = nodes.get(id).copied() else {
                        return true;
                    };
                    self.next += 1;
                    *budget -= 1;
                    // Roots are skipped by the lookup when they have nothing of their own,
                    // and `label_start` must be free to hold the segment count.
                    if n.child_count == 0
                        || self.is_child.get(id) != Some(&true)
                        || self.covered.get(id) == Some(&true)
                        || (n.label_len as usize > INLINE_LABEL && n.label_len != PARAM_LABEL)
                    {
                        continue;
                    }
                    start_candidates(&n, &mut self.stack, &mut self.found);
                    self.job = Some(NodeJob::Explore { id });
                }
                Some(NodeJob::Explore { id }) => {
                    let visited = explore(nodes, labels, &mut self.stack, &mut self.found, *budget);
                    *budget = budget.saturating_sub(visited);
                    if self.stack.is_empty() {
                        self.job = self.choose(nodes, id);
                    }
                }
                Some(NodeJob::Emit { id, segments, next }) => {
                    let Some(n) = nodes.get(id).copied() else {
                        self.job = None;
                        continue;
                    };
                    let end = self.found.len().min(next.saturating_add(*budget));
                    for c in self.found.get(next..end).unwrap_or_default() {
                        if c.segments as usize != segments || c.to >= MAX_TARGET {
                            continue;
                        }
                        let mut key = [0u64; 3];
                        for (i, w) in key.iter_mut().enumerate() {
                            let mut b = [0u8; 8];
                            if let Some(src) = c.key.get(8 * i..8 * i + 8) {
                                b.copy_from_slice(src);
                            }
                            *w = u64::from_le_bytes(b);
                        }
                        // A target with nothing but a param edge is passed on to its param
                        // node at once: land there, at the end of the key.
                        let (to, skip) = match nodes.get(c.to as usize) {
                            Some(t) if param_only(t) && t.param < MAX_TARGET => (t.param, c.len),
                            _ => (c.to, c.skip),
                        };
                        self.entries.push(Jump {
                            key,
                            from: id as u32,
                            to: to << SKIP_BITS | u32::from(skip),
                        });
                        cover(nodes, first, labels, &n, c, &mut self.covered);
                    }
                    *budget = budget.saturating_sub((end - next).max(1));
                    self.job = (end < self.found.len()).then_some(NodeJob::Emit {
                        id,
                        segments,
                        next: end,
                    });
                }
            }
        }
        false
    }

    /// Once every candidate below node `id` is found: whether the node gets a table, and
    /// with which segment count (then its entries are emitted next).
    fn choose(&mut self, nodes: &mut [FNode], id: usize) -> Option<NodeJob> {
        // Node loads saved per segment count, weighted by the routes below each target: a
        // hit loads the entry and `T` instead of the `depth` nodes down to `T`.
        let mut gain = [None::<i64>; JUMP_KEY + 1];
        for c in &self.found {
            if let Some(g) = gain.get_mut(c.segments as usize) {
                let w = self.weight.get(c.to as usize).copied().unwrap_or(0) as i64;
                *g = Some(g.unwrap_or(0) + w * (i64::from(c.depth) - 2));
            }
        }
        let (segments, best) = gain
            .iter()
            .enumerate()
            .take(usize::from(MAX_SEGMENTS) + 1)
            .filter_map(|(s, g)| Some((s, (*g)?)))
            .max_by_key(|(s, g)| (*g, core::cmp::Reverse(*s)))?;
        if let Some(m) = self.policy.min_saved
            && (best <= 0 || best < (m * self.weight.get(id).copied().unwrap_or(0)) as i64)
        {
            return None;
        }
        let node = nodes.get_mut(id)?;
        node.flags |= HAS_JUMP;
        node.label_start = segments as u32;
        Some(NodeJob::Emit {
            id,
            segments,
            next: 0,
        })
    }

    fn insert_entries(&mut self, budget: &mut usize) -> bool {
        while let Some(e) = self.entries.get(self.next).copied() {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            self.next += 1;
            self.table.insert(e);
        }
        true
    }
}

/// A node that cannot produce a candidate or a frame when the walk passes through it.
fn transparent(n: &FNode) -> bool {
    n.flags & (HAS_TERMINAL | HAS_PREFIX | HAS_ALTERNATIVE) == 0
}

/// A static node whose only way on is its param edge (no route slot, no catch-all, no static
/// child): the walk goes from it straight to the param node at the same position, which
/// itself stops on an empty segment.
fn param_only(n: &FNode) -> bool {
    n.flags & (HAS_TERMINAL | HAS_PREFIX) == 0
        && n.catch_all == NONE
        && n.param != NONE
        && n.child_count == 0
        && n.label_len != PARAM_LABEL
}

fn label_of<'a>(n: &'a FNode, labels: &'a [u8]) -> &'a [u8] {
    match n.label_len {
        PARAM_LABEL => &[],
        len if len as usize <= INLINE_LABEL => n.inline.get(..len as usize).unwrap_or_default(),
        len => {
            let start = n.label_start as usize;
            labels.get(start..start + len as usize).unwrap_or_default()
        }
    }
}

fn static_child(first: &[u8], n: &FNode, b: u8) -> Option<u32> {
    let start = n.child_start as usize;
    let run = first.get(start..start + n.child_count as usize)?;
    run.iter()
        .position(|x| *x == b)
        .map(|i| n.child_start + i as u32)
}

/// A possible target below a node.
#[derive(Debug)]
struct Candidate {
    to: u32,
    /// Slashes in the key.
    segments: u8,
    /// Nodes loaded by the walk from `N` to `to` (`to` included).
    depth: u8,
    /// Key bytes before `to`'s label.
    skip: u8,
    /// Key bytes (`to`'s label ends the key).
    len: u8,
    key: [u8; JUMP_KEY],
}

/// A DFS step: `node` is reached with `len` key bytes (holding `segments` slashes) before
/// its label, at depth `depth`.
#[derive(Debug)]
struct Frame {
    node: u32,
    depth: u8,
    segments: u8,
    len: u8,
    key: [u8; JUMP_KEY],
}

/// The search for every target below a node — nodes whose label ends with `/`, reached
/// through transparent nodes with a key of at most [`JUMP_KEY`] bytes — in bounded steps:
/// [`start_candidates`], then [`explore`] until the stack is empty.
/// Starts the search below `n`.
fn start_candidates(n: &FNode, stack: &mut Vec<Frame>, found: &mut Vec<Candidate>) {
    found.clear();
    stack.clear();
    push_children(stack, n, (1, 0, 0, [0; JUMP_KEY]));
}

fn push_children(stack: &mut Vec<Frame>, n: &FNode, at: (u8, u8, u8, [u8; JUMP_KEY])) {
    for i in 0..n.child_count {
        stack.push(Frame {
            node: n.child_start + u32::from(i),
            depth: at.0,
            segments: at.1,
            len: at.2,
            key: at.3,
        });
    }
}

/// Continues the search for at most `budget` nodes; returns how many it
/// looked at (fewer than `budget`: the search is complete).
fn explore(
    nodes: &[FNode],
    labels: &[u8],
    stack: &mut Vec<Frame>,
    found: &mut Vec<Candidate>,
    budget: usize,
) -> usize {
    let mut visited = 0;
    while visited < budget {
        let Some(f) = stack.pop() else {
            break;
        };
        visited += 1;
        let Some(x) = nodes.get(f.node as usize) else {
            continue;
        };
        let label = label_of(x, labels);
        let start = f.len as usize;
        let end = start + label.len();
        let mut key = f.key;
        match key.get_mut(start..end) {
            Some(dst) => dst.copy_from_slice(label),
            None => continue,
        }
        let segments = f.segments + label.iter().filter(|b| **b == b'/').count() as u8;
        if label.last() == Some(&b'/') {
            found.push(Candidate {
                to: f.node,
                segments,
                depth: f.depth,
                skip: f.len,
                len: end as u8,
                key,
            });
        }
        if transparent(x) {
            push_children(stack, x, (f.depth + 1, segments, end as u8, key));
        }
    }
    visited
}

/// Marks the nodes strictly between `n` and the candidate's target as covered: they get no
/// table of their own (they are only walked after a miss).
fn cover(
    nodes: &[FNode],
    first: &[u8],
    labels: &[u8],
    n: &FNode,
    c: &Candidate,
    covered: &mut [bool],
) {
    let (mut at, mut off) = (*n, 0usize);
    while let Some(b) = c.key.get(off) {
        let Some(id) = static_child(first, &at, *b) else {
            return;
        };
        if id == c.to {
            return;
        }
        if let Some(slot) = covered.get_mut(id as usize) {
            *slot = true;
        }
        let Some(child) = nodes.get(id as usize) else {
            return;
        };
        off += label_of(child, labels).len();
        at = *child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_lanes_flags_exactly_the_slashes() {
        for bytes in [
            *b"/a/b//c/",
            *b"\0/\x2f\xaf\x2e/\0\0",
            *b"abcdefgh",
            [b'/'; 8],
        ] {
            let want = bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'/')
                .fold(0u32, |m, (i, _)| m | 1 << i);
            assert_eq!(slash_lanes(u64::from_le_bytes(bytes)), want, "{bytes:?}");
        }
    }

    #[test]
    fn the_portable_slash_masks_agree_with_the_target_ones() {
        let p = b"/a//bc/d/e////f/ghij/k/l/m/nopq/";
        for at in 0..p.len() - JUMP_KEY {
            let c: &[u8; JUMP_KEY] = p[at..].first_chunk().unwrap_or(&[0; JUMP_KEY]);
            let w = [word_at(p, at), word_at(p, at + 8), word_at(p, at + 16)];
            assert_eq!(slashes(c, &w), slashes_in_words(&w), "{at}");
            let c16: &[u8; 16] = p[at..].first_chunk().unwrap_or(&[0; 16]);
            assert_eq!(slashes16(c16), slashes16_in_words(c16), "{at}");
        }
    }

    #[test]
    fn word_at_zero_fills_past_the_end() {
        let p = b"/tenants/t1/x";
        for at in 0..20 {
            let mut want = [0u8; 8];
            for (i, d) in want.iter_mut().enumerate() {
                *d = p.get(at + i).copied().unwrap_or(0);
            }
            assert_eq!(word_at(p, at), u64::from_le_bytes(want), "{at}");
            assert_eq!(word_at(&p[..5], at), {
                let mut w = [0u8; 8];
                for (i, d) in w.iter_mut().enumerate() {
                    *d = p[..5].get(at + i).copied().unwrap_or(0);
                }
                u64::from_le_bytes(w)
            });
        }
    }

    #[test]
    fn key_at_ends_at_the_nth_slash_within_the_limit() {
        let p = b"249/orders/v3/42/items/42";
        let key = |s| key_at(p, 0, s).map(|(_, len)| len);
        assert_eq!(key(1), Some(4));
        assert_eq!(key(3), Some(14));
        assert_eq!(key(4), Some(17));
        // The fifth slash (byte 23) is past MAX_SEGMENTS: the fourth is taken.
        assert_eq!(key(5), Some(17));
        assert_eq!(key_at(b"a/b/c/d/", 0, 4).map(|(_, l)| l), Some(8));
        assert_eq!(key_at(b"a/b/c/d", 0, 4), None);
        // Every window shape (24+, 16..24, under 16 bytes left) gives the same key.
        let p = b"x/tenants/t0000249/orders/v3/42";
        for pos in 0..p.len() {
            for segments in 1..=4 {
                let rest = &p[pos..];
                let want = rest
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'/')
                    .nth(segments as usize - 1)
                    .map(|(i, _)| i + 1)
                    .filter(|len| *len <= JUMP_KEY);
                let got = key_at(p, pos, segments);
                assert_eq!(got.map(|(_, l)| l), want, "{pos} {segments}");
                if let Some((words, len)) = got {
                    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                    assert!(bytes[len..].iter().all(|b| *b == 0));
                    bytes.truncate(len);
                    assert_eq!(bytes, &rest[..len]);
                }
            }
        }
        let long = b"aaaaaaaaaaaaaaaaaaaaaaaa/"; // slash at byte 25: too long
        assert_eq!(key_at(long, 0, 1), None);
        let (words, len) = key_at(b"ab/cd", 0, 1).unwrap_or_default();
        assert_eq!(
            (words, len),
            ([u64::from(u32::from_le_bytes(*b"ab/\0")), 0, 0], 3)
        );
    }
}

#[cfg(test)]
mod walk_tests {
    //! Lookups with segment jumps against lookups without them: a table may change how many
    //! nodes a lookup loads, never what it returns.

    use super::JumpPolicy;
    use crate::{BuildError, MatchBuffer, MatchKind, PathMatch, RouteId, RouteSpec, RouteTrie};
    use proptest::prelude::*;

    type Found = Vec<(RouteId, MatchKind, Vec<(String, String)>)>;

    fn found(t: &RouteTrie<usize>, path: &str) -> Found {
        let mut buf = MatchBuffer::new();
        t.lookup("h", path, &mut buf)
            .iter()
            .map(|m| {
                let params = m.params.iter().map(|(k, v)| (k.into(), v.into())).collect();
                (m.route, m.kind, params)
            })
            .collect()
    }

    const OFF: JumpPolicy = JumpPolicy {
        off: true,
        min_saved: None,
        slots: None,
    };
    /// A table wherever a node has a target.
    const EVERYWHERE: JumpPolicy = JumpPolicy {
        off: false,
        min_saved: None,
        slots: None,
    };
    /// Every entry in one probe chain: every key collides.
    const ONE_SLOT: JumpPolicy = JumpPolicy {
        off: false,
        min_saved: None,
        slots: Some(1),
    };

    fn build(specs: Vec<RouteSpec<usize>>) -> Result<RouteTrie<usize>, BuildError> {
        RouteTrie::build(specs)
    }

    /// Builds `specs` under each policy and checks every path gives the same candidates as
    /// with no table; returns the entry count under each of `policies`.
    fn same_as_walk(
        specs: &[RouteSpec<usize>],
        paths: &[String],
        policies: &[JumpPolicy],
    ) -> Result<Vec<usize>, TestCaseError> {
        let Ok(mut t) = build(specs.to_vec()) else {
            return Ok(Vec::new());
        };
        t.paths.set_jump_policy(OFF);
        let want: Vec<Found> = paths.iter().map(|p| found(&t, p)).collect();
        let mut counts = Vec::new();
        for policy in policies {
            t.paths.set_jump_policy(*policy);
            prop_assert!(t.check_invariants().is_ok(), "{:?}", t.check_invariants());
            counts.push(t.paths.jump_count());
            for (p, w) in paths.iter().zip(&want) {
                prop_assert_eq!(&found(&t, p), w, "{} under {:?}", p, policy);
            }
        }
        Ok(counts)
    }

    fn tenant_routes(n: usize, services: &[&str]) -> Vec<String> {
        (0..n)
            .map(|i| {
                let k = services.len();
                let s = services[i % k];
                let (tenant, version) = (i / (4 * k), (i / k) % 4 + 1);
                format!("/tenants/t{tenant:05}/{s}/v{version}/{{id}}/items/{{item}}")
            })
            .collect()
    }

    fn templates(routes: &[String]) -> Vec<RouteSpec<usize>> {
        routes
            .iter()
            .enumerate()
            .map(|(i, r)| RouteSpec::new("*", PathMatch::Template(r.clone()), i))
            .collect()
    }

    fn fill(t: &str) -> String {
        t.replace("{id}", "42").replace("{item}", "7")
    }

    #[test]
    fn the_tenant_layout_gets_one_table_under_the_default_policy() {
        let routes = tenant_routes(2000, &["orders", "users", "billing", "cart"]);
        let t = build(templates(&routes)).unwrap_or_else(|e| panic!("{e}"));
        // One entry per (tenant, service, version): the jump reaches the version node.
        assert_eq!(t.paths.jump_count(), 2000);
        t.check_invariants().unwrap_or_else(|e| panic!("{e}"));
        let mut paths: Vec<String> = routes.iter().map(|r| fill(r)).collect();
        paths.extend(routes.iter().take(50).flat_map(|r| {
            let p = fill(r);
            [
                p.replace("/items/", "/item/"),
                format!("{p}?q=/a/b/c"),
                p.replacen("/v", "?/v", 1),
                p[..p.len() - 10].to_string(),
                p.replacen("/t0", "/t9", 1),
                // The jump lands on the `{id}` node at the end of its key: an empty or
                // missing `{id}` segment there must stop the walk as before.
                p.replacen("/42/", "//", 1),
                p[..p.find("/42/").unwrap_or(0) + 1].to_string(),
                format!("{}?/42/items/7", &p[..p.find("/42/").unwrap_or(0) + 1]),
            ]
        }));
        let mut buf = MatchBuffer::new();
        let p = fill(&routes[7]);
        let hit = t.lookup("h", &p, &mut buf);
        let params: Vec<_> = hit
            .first()
            .map(|m| m.params.iter().collect())
            .unwrap_or_default();
        assert_eq!(params, [("id", "42"), ("item", "7")], "{p}");
        same_as_walk(
            &templates(&routes),
            &paths,
            &[JumpPolicy::default(), ONE_SLOT],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn colliding_keys_are_all_found_in_one_probe_chain() {
        let routes = tenant_routes(300, &["orders", "users"]);
        let paths: Vec<String> = routes.iter().map(|r| fill(r)).collect();
        let counts = same_as_walk(&templates(&routes), &paths, &[ONE_SLOT, EVERYWHERE])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(counts.iter().all(|c| *c >= 300), "{counts:?}");
        // Keys that differ only past the first word, or in length, in one chain.
        let mut specs = templates(&[
            "/a/b0/c/{x}".into(),
            "/a/b00000000000/c/{x}".into(),
            "/a/b00000000001/c/{x}".into(),
            "/a/b0000000000/c/{x}".into(),
            "/a/b0000000000000000/{x}".into(),
            "/a/b0000000000000001/{x}".into(),
        ]);
        specs.push(RouteSpec::new(
            "*",
            PathMatch::Template("/a/{y}/c/{x}".into()),
            6,
        ));
        let paths: Vec<String> = [
            "/a/b0/c/1",
            "/a/b00000000000/c/1",
            "/a/b00000000001/c/1",
            "/a/b0000000000/c/1",
            "/a/b000000000000/c/1",
            "/a/b0000000000000000/1",
            "/a/b0000000000000001/1",
            "/a/b0000000000000002/1",
            "/a/b00/c/1",
        ]
        .map(String::from)
        .to_vec();
        same_as_walk(&specs, &paths, &[ONE_SLOT, EVERYWHERE]).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_prefix_ending_inside_a_segment_keeps_its_keys_out_of_the_table() {
        let routes = tenant_routes(800, &["orders", "users"]);
        let mut specs = templates(&routes);
        let plain =
            same_as_walk(&specs, &[], &[JumpPolicy::default()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain, [800]);
        // `t0001` is inside the tenant segment: the tenants t00010 .. t00019 (80 routes)
        // pass its node, so their keys must not skip it; the prefix must still be found.
        specs.push(RouteSpec::new(
            "*",
            PathMatch::Prefix("/tenants/t0001".into()),
            800,
        ));
        specs.push(RouteSpec::new(
            "*",
            PathMatch::PathSeparatedPrefix("/tenants/t00020".into()),
            801,
        ));
        let paths: Vec<String> = routes.iter().map(|r| fill(r)).collect();
        let with = same_as_walk(
            &specs,
            &paths,
            &[JumpPolicy::default(), EVERYWHERE, ONE_SLOT],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // The keys of t00010 .. t00019 and of t00020 (8 routes each) pass a node with a
        // prefix slot and are left out (the invariant check above verified no entry
        // crosses such a node); the t0001 subtree is too shallow to earn a table itself.
        assert_eq!(with[0], 800 - 80 - 8, "{with:?}");
        let t = build(specs).unwrap_or_else(|e| panic!("{e}"));
        let hit = found(&t, "/tenants/t00013/orders/v1/42/items/7");
        assert_eq!(hit.len(), 2, "{hit:?}");
        assert_eq!((hit[1].0.index(), hit[1].1), (800, MatchKind::Prefix));
        let hit = found(&t, "/tenants/t00020/orders/v1/42/items/7");
        assert_eq!(hit.len(), 2, "{hit:?}");
        assert_eq!(hit[1].0.index(), 801);
    }

    const PIECES: &[&str] = &[
        "t0", "t01", "t012", "t1", "t10", "ab", "a", "v1", "v2", "x/y",
    ];

    fn route() -> impl Strategy<Value = (u8, String)> {
        let seg = prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(String::from),
            1 => Just("{p}".to_string()),
        ];
        (0u8..6, prop::collection::vec(seg, 1..5), 0usize..8).prop_map(|(kind, segs, cut)| {
            let mut named = Vec::new();
            for (i, s) in segs.iter().enumerate() {
                named.push(if s == "{p}" {
                    format!("{{p{i}}}")
                } else {
                    s.clone()
                });
            }
            let mut path = format!("/{}", named.join("/"));
            match kind {
                // Prefixes: the static text cut anywhere, often inside a segment.
                0 | 1 => {
                    let stat: String = path.split('{').next().unwrap_or("/").into();
                    let keep = stat.len().saturating_sub(cut).max(1);
                    path = stat[..keep].to_string();
                    if kind == 1 {
                        // A path-separated prefix may not end with `/` (nor be `/`).
                        if path.ends_with('/') {
                            path.push('x');
                        }
                    }
                }
                2 => path.push_str("/{*rest}"),
                _ => {}
            }
            (kind, path)
        })
    }

    fn request() -> impl Strategy<Value = String> {
        let seg = prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(String::from),
            1 => prop::sample::select(&["42", "", "t01?q", "t0#f", "t0123"][..]).prop_map(String::from),
        ];
        prop::collection::vec(seg, 1..6).prop_map(|s| format!("/{}", s.join("/")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn segment_jumps_agree_with_the_plain_walk(
            routes in prop::collection::vec(route(), 1..40),
            requests in prop::collection::vec(request(), 1..24),
        ) {
            // Two templates of one shape, or two prefixes of one kind and text, conflict and
            // would fail the whole build: keep the first.
            let mut routes = routes;
            let mut seen = std::collections::HashSet::new();
            routes.retain(|(kind, p)| {
                let shape: String = p.split('{').map(|s| s.split_once('}').map_or(s, |x| x.1)).collect();
                seen.insert(((*kind).min(2), shape))
            });
            let specs: Vec<RouteSpec<usize>> = routes
                .iter()
                .enumerate()
                .map(|(i, (kind, p))| {
                    let m = match kind {
                        0 => PathMatch::Prefix(p.clone()),
                        1 => PathMatch::PathSeparatedPrefix(p.clone()),
                        _ => PathMatch::Template(p.clone()),
                    };
                    RouteSpec::new("*", m, i)
                })
                .collect();
            // Requests: the routes themselves with parameters filled, cut, and random ones.
            let mut paths = requests;
            for (_, p) in &routes {
                let filled = p.replace("{*rest}", "r/s").replace(['{', '}'], "");
                paths.push(filled.clone());
                paths.push(format!("{filled}/"));
                paths.push(filled[..filled.len() / 2].to_string());
            }
            same_as_walk(&specs, &paths, &[EVERYWHERE, ONE_SLOT, JumpPolicy::default()])?;
        }
    }
}
