//! The read-only path-trie layout that lookups walk (templates and prefixes; exact routes
//! live in the route table's hash tables).
//!
//! ```text
//!   nodes: [ root | c0 c1 c2 | p | d0 d1 | … ]     first: [ - | '/' 'u' 's' | - | … ]
//!            │      └──────┘                              parallel to `nodes`
//!            └ child_start=1, child_count=3, kids = ['/','u','s',FF,…,FF]: the
//!              static children are one contiguous run, and the first bytes of the first
//!              fifteen are copied into the parent, so picking the child for the next path
//!              byte is one comparison on the node already loaded.
//! ```
//!
//! Nodes with [`HAS_JUMP`] also have entries in the segment-jump table ([`jump`]), which
//! takes the walk over several labels at once.
//!
//! Invariants (checked by [`FrozenPaths::check`] and [`FrozenPaths::check_jumps`]), besides
//! those of the build form ([`crate::path_trie`]):
//! - `first[i]` is the first byte of node `i`'s label (0 for roots and param nodes), and
//!   `kids` holds `first` of the node's first fifteen children (unused lanes `0xFF`);
//! - `child_start .. child_start + child_count` and `param` stay inside `nodes`, and every
//!   node but a root is the child or param of exactly one node;
//! - a param node has `label_len == PARAM_LABEL` and the param flag, a static node's label
//!   lies inside `labels`;
//! - a jump entry `(N, key) → T` is the static walk from `N` over `key`, which ends at the
//!   end of `T`'s label through nodes without slots or alternatives.

use crate::candidates::{Frame, MatchBuffer, RawCandidate};
use crate::path_trie::{NONE, Slot};

mod jump;

pub(crate) use jump::JumpPolicy;
use jump::{JumpBuild, JumpTable};

/// `label_len` of a param node (static labels are at most `MAX_PATTERN_LEN` bytes).
pub(crate) const PARAM_LABEL: u16 = u16::MAX;

/// Labels up to this many bytes are stored in the node itself, saving a cache miss on the
/// label pool for most nodes (tenant and segment names are short), and are compared with the
/// path in one masked 16-byte comparison.
pub(crate) const INLINE_LABEL: usize = 16;

/// Static children whose first label bytes are kept in the node ([`FNode::kids`]): the child
/// for the next path byte is found without touching another cache line for fan-outs up to
/// 15 (a decimal digit position has 10).
pub(crate) const INLINE_KIDS: usize = 15;

/// Filler of unused [`FNode::kids`] lanes and of the `first` padding: `0xFF` never occurs in
/// UTF-8, so it never equals a path byte.
const NO_BYTE: u8 = 0xFF;

/// One node: 64 bytes (one cache line), no heap of its own.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct FNode {
    /// The label if it is at most [`INLINE_LABEL`] bytes long (zero-padded), else unused.
    pub(crate) inline: [u8; INLINE_LABEL],
    /// First label bytes of the first [`INLINE_KIDS`] static children in child order, unused
    /// lanes [`NO_BYTE`]. Computed by [`FrozenPathsBuild`]. With `flags` right after it, one
    /// 16-byte load (lane 15, the flags, is ignored).
    pub(crate) kids: [u8; INLINE_KIDS],
    /// Which of `terminal`, `prefix`/`sep_prefix`, `catch_all`/`param` are set, and whether
    /// this is a param node ([`HAS_TERMINAL`] …), so the lookup tests one byte on the many
    /// nodes that only pass the path on. Computed by [`FrozenPathsBuild`].
    pub(crate) flags: u8,
    /// Offset in the label pool of a label longer than [`INLINE_LABEL`]; on a node with
    /// [`HAS_JUMP`] (inline label or param node), the slashes in its jump keys.
    pub(crate) label_start: u32,
    pub(crate) child_start: u32,
    pub(crate) param: u32,
    pub(crate) catch_all: u32,
    pub(crate) terminal: u32,
    pub(crate) prefix: u32,
    pub(crate) sep_prefix: u32,
    pub(crate) label_len: u16,
    pub(crate) child_count: u16,
}

/// [`FNode::flags`]: `terminal` is set.
const HAS_TERMINAL: u8 = 1;
/// [`FNode::flags`]: `prefix` or `sep_prefix` is set.
const HAS_PREFIX: u8 = 2;
/// [`FNode::flags`]: `catch_all` or `param` is set.
const HAS_ALTERNATIVE: u8 = 4;
/// [`FNode::flags`]: the node is a param node (takes one segment, no label).
const IS_PARAM: u8 = 8;
/// [`FNode::flags`]: the label is one byte. A static node other than a root is only reached
/// through [`FrozenPaths::child_for`], which matched that byte already, so the walk compares
/// nothing (tenant ids and version numbers split into many one-digit nodes).
const ONE_BYTE: u8 = 16;
/// [`FNode::flags`]: the node has segment jumps ([`jump`]); `label_start` holds the number of
/// slashes in their keys (the label is inline or the node is a param node).
const HAS_JUMP: u8 = 32;

/// [`NO_BYTE`] bytes appended to `first`, so the child search can always load 8 bytes at once.
const FIRST_PAD: usize = 8;

/// All path tries of a route table, frozen.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrozenPaths {
    nodes: Vec<FNode>,
    first: Vec<u8>,
    labels: Vec<u8>,
    jumps: JumpTable,
}

/// Low bit of every byte lane.
const LO: u64 = u64::from_le_bytes([0x01; 8]);
/// High bit of every byte lane.
const HI: u64 = u64::from_le_bytes([0x80; 8]);

/// The lowest lane of `x` that is zero, as a lane index (8 if none). The borrow trick can
/// flag lanes above a true zero lane, never below one, so the lowest flag is exact.
#[inline(always)]
fn lowest_zero_lane(x: u64) -> u32 {
    (x.wrapping_sub(LO) & !x & HI).trailing_zeros() / 8
}

/// The first lane of `n.kids` equal to `b` ([`INLINE_KIDS`] if none). On x86-64 one SSE2
/// byte comparison of the 16 bytes `kids` + `flags` (baseline there), which costs fewer
/// instructions than the word trick of [`lowest_zero_lane`] (a multiply and three 64-bit
/// constants per word).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn kid_lane(n: &FNode, b: u8) -> u32 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cvtsi32_si128, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_shuffle_epi32,
    };
    // `kids` and `flags` are 16 adjacent bytes of the node.
    const _: () = assert!(
        core::mem::offset_of!(FNode, flags) == core::mem::offset_of!(FNode, kids) + INLINE_KIDS
            && INLINE_KIDS == 15
    );
    let at = (n as *const FNode)
        .cast::<u8>()
        .wrapping_add(core::mem::offset_of!(FNode, kids));
    // Safety: SSE2 is part of the x86-64 baseline. `at` points into `*n` (the pointer is
    // derived from the whole node), and the 16 bytes from it are `kids` and `flags` (checked
    // above), initialized `u8`s; the load has no alignment requirement.
    let mask = unsafe {
        _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128(at.cast::<__m128i>()),
            // Broadcast as one 32-bit multiply and a dword shuffle (`_mm_set1_epi8` is
            // a longer shuffle sequence without SSSE3).
            _mm_shuffle_epi32::<0>(_mm_cvtsi32_si128((u32::from(b) * 0x0101_0101) as i32)),
        ))
    };
    // Bit 15 (lane 15 holds the flags, not a kid) caps the answer at INLINE_KIDS.
    ((mask as u32) | 0x8000).trailing_zeros()
}

/// Length of the segment at `pos`: bytes up to the next `/`, `?`, `#` or the end. On x86-64
/// the 16 bytes from `pos` (or, near the end of a path of at least 16 bytes, its last 16)
/// are tested with SSE2 at once; segments of parameters are short.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn segment_len(bytes: &[u8], pos: usize) -> usize {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let stops = |w: &[u8; 16]| -> u32 {
        // Safety: SSE2 is part of the x86-64 baseline; `w` is 16 readable bytes and the
        // load has no alignment requirement.
        unsafe {
            let v = _mm_loadu_si128(w.as_ptr().cast::<__m128i>());
            let m = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'/' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'?' as i8)),
                ),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'#' as i8)),
            );
            _mm_movemask_epi8(m) as u32
        }
    };
    let rest = bytes.get(pos..).unwrap_or_default();
    if let Some(w) = rest.first_chunk::<16>() {
        let m = stops(w);
        if m != 0 {
            return m.trailing_zeros() as usize;
        }
    } else if let Some(tail) = bytes.last_chunk::<16>() {
        // `rest.len() < 16`: lane `16 - rest.len()` of the tail is `pos`; a stop bit at
        // `rest.len()` stands for the end.
        let left = rest.len() as u32;
        let m = (stops(tail) >> (16 - left)) | (1 << left);
        return m.trailing_zeros() as usize;
    }
    rest.iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// Length of the segment at `pos`: bytes up to the next `/`, `?`, `#` or the end.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn segment_len(bytes: &[u8], pos: usize) -> usize {
    let rest = bytes.get(pos..).unwrap_or_default();
    rest.iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// The first lane of `n.kids` equal to `b` ([`INLINE_KIDS`] if none).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn kid_lane(n: &FNode, b: u8) -> u32 {
    let mut lanes = [NO_BYTE; 16];
    if let Some(dst) = lanes.first_chunk_mut::<INLINE_KIDS>() {
        *dst = n.kids;
    }
    let pattern = LO * u64::from(b);
    let lo = u64::from_le_bytes(*lanes.first_chunk::<8>().unwrap_or(&[NO_BYTE; 8]));
    let lane = lowest_zero_lane(lo ^ pattern);
    if lane < 8 {
        return lane;
    }
    let hi = u64::from_le_bytes(*lanes.last_chunk::<8>().unwrap_or(&[NO_BYTE; 8]));
    8 + lowest_zero_lane(hi ^ pattern)
}

/// `LABEL_MASKS[n]` keeps the low `n` bytes of a 16-byte little-endian word.
const LABEL_MASKS: [u128; INLINE_LABEL + 1] = [
    low_bytes(0),
    low_bytes(1),
    low_bytes(2),
    low_bytes(3),
    low_bytes(4),
    low_bytes(5),
    low_bytes(6),
    low_bytes(7),
    low_bytes(8),
    low_bytes(9),
    low_bytes(10),
    low_bytes(11),
    low_bytes(12),
    low_bytes(13),
    low_bytes(14),
    low_bytes(15),
    low_bytes(16),
];

/// A mask of the low `n` bytes (`n` ≤ 16).
const fn low_bytes(n: u32) -> u128 {
    if n == 0 {
        0
    } else {
        u128::MAX >> (128 - 8 * n)
    }
}

/// True when the path ends at `b` (the end of the string, `?` or `#`): the query and the
/// fragment never take part in matching, and no label contains either byte.
#[inline(always)]
fn at_end(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b'?' | b'#'))
}

/// [`FrozenPaths::new`] in bounded steps: the node flags, then the segment jumps
/// ([`jump::JumpBuild`]).
#[derive(Debug)]
pub(crate) struct FrozenPathsBuild {
    nodes: Vec<FNode>,
    first: Vec<u8>,
    labels: Vec<u8>,
    /// Nodes whose flags and kid lanes are set.
    flagged: usize,
    jumps: JumpBuild,
}

impl FrozenPathsBuild {
    /// Starts from the copied layout (flags and kid lanes not yet computed).
    pub(crate) fn new(
        nodes: Vec<FNode>,
        mut first: Vec<u8>,
        labels: Vec<u8>,
        policy: JumpPolicy,
    ) -> Self {
        first.extend_from_slice(&[NO_BYTE; FIRST_PAD]);
        let jumps = JumpBuild::new(nodes.len(), policy);
        Self {
            nodes,
            first,
            labels,
            flagged: 0,
            jumps,
        }
    }

    /// Does at most about `budget` nodes' work; true once [`Self::finish`] may be called.
    pub(crate) fn step(&mut self, budget: usize) -> bool {
        let mut budget = budget.max(1);
        let end = self.nodes.len().min(self.flagged.saturating_add(budget));
        let first = &self.first;
        for n in self.nodes.get_mut(self.flagged..end).unwrap_or_default() {
            let flag = |set: bool, f: u8| if set { f } else { 0 };
            n.flags = flag(n.terminal != NONE, HAS_TERMINAL)
                | flag(n.prefix != NONE || n.sep_prefix != NONE, HAS_PREFIX)
                | flag(n.catch_all != NONE || n.param != NONE, HAS_ALTERNATIVE)
                | flag(n.label_len == PARAM_LABEL, IS_PARAM)
                | flag(n.label_len == 1, ONE_BYTE);
            let start = n.child_start as usize;
            let count = (n.child_count as usize).min(INLINE_KIDS);
            let mut lanes = [NO_BYTE; INLINE_KIDS];
            for (lane, b) in lanes
                .iter_mut()
                .zip(first.get(start..start + count).unwrap_or_default())
            {
                *lane = *b;
            }
            n.kids = lanes;
        }
        budget = budget.saturating_sub(end - self.flagged);
        self.flagged = end;
        if self.flagged < self.nodes.len() || budget == 0 {
            return false;
        }
        self.jumps
            .step(&mut self.nodes, &self.first, &self.labels, budget)
    }

    /// The frozen layout; complete once [`Self::step`] returned true.
    pub(crate) fn finish(self) -> FrozenPaths {
        let Self {
            mut nodes,
            mut first,
            mut labels,
            jumps,
            ..
        } = self;
        nodes.shrink_to_fit();
        first.shrink_to_fit();
        labels.shrink_to_fit();
        FrozenPaths {
            nodes,
            first,
            labels,
            jumps: jumps.finish(),
        }
    }
}

impl FrozenPaths {
    /// Rebuilds the segment jumps under another policy (tests compare lookups with and
    /// without them).
    #[cfg(test)]
    pub(crate) fn set_jump_policy(&mut self, policy: JumpPolicy) {
        for n in &mut self.nodes {
            if n.flags & HAS_JUMP != 0 {
                n.flags &= !HAS_JUMP;
                n.label_start = 0;
            }
        }
        self.jumps = JumpTable::build(&mut self.nodes, &self.first, &self.labels, policy);
    }

    /// Number of segment-jump entries.
    #[cfg(test)]
    pub(crate) fn jump_count(&self) -> usize {
        self.jumps.len()
    }

    /// Checks the segment jumps against the nodes (see [`jump`]).
    pub(crate) fn check_jumps(&self) -> Result<(), String> {
        self.jumps.check(&self.nodes, &self.first, &self.labels)
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<FNode>()
            + self.first.capacity()
            + self.labels.capacity()
            + self.jumps.heap_bytes()
    }

    #[inline]
    fn label<'a>(&'a self, n: &'a FNode) -> &'a [u8] {
        let start = n.label_start as usize;
        let len = if n.label_len == PARAM_LABEL {
            0
        } else {
            n.label_len as usize
        };
        if len <= INLINE_LABEL {
            return n.inline.get(..len).unwrap_or_default();
        }
        self.labels.get(start..start + len).unwrap_or_default()
    }

    /// Whether the static label of `n` occurs in `bytes` at `pos`. While 16 path bytes remain,
    /// an inline label is compared in one masked 16-byte comparison, with no branch on its
    /// length; near the end of the path, a label of up to 8 bytes in one masked 8-byte
    /// comparison. (Comparing with the path's last 16 bytes shifted down when fewer than 16
    /// remain cost more instructions per lookup than it saved.)
    #[inline(always)]
    fn label_at(&self, n: &FNode, bytes: &[u8], pos: usize) -> bool {
        let len = n.label_len as usize;
        if len <= INLINE_LABEL {
            let mask = LABEL_MASKS.get(len).copied().unwrap_or(0);
            let label = u128::from_le_bytes(n.inline);
            let rest = bytes.get(pos..).unwrap_or_default();
            if let Some(window) = rest.first_chunk::<16>() {
                return (u128::from_le_bytes(*window) ^ label) & mask == 0;
            }
            // Near the end of the path: a label of up to 8 bytes in one 8-byte comparison.
            if len <= 8
                && let Some(window) = rest.first_chunk::<8>()
            {
                return (u64::from_le_bytes(*window) ^ label as u64) & mask as u64 == 0;
            }
        }
        match bytes.get(pos..pos + len) {
            Some(seg) => same_bytes(seg, self.label(n)),
            None => false,
        }
    }

    /// The static child of `n` whose label starts with `b`: one comparison against the
    /// inline first bytes, then (past [`INLINE_KIDS`] children) eight at a time from `first`.
    /// On x86-64 the comparison is one SSE2 byte compare of the node's `kids` and `flags`.
    #[inline(always)]
    fn child_for(&self, n: &FNode, b: u8) -> Option<u32> {
        let lane = kid_lane(n, b);
        if (lane as usize) < INLINE_KIDS {
            return Some(n.child_start + lane);
        }
        if (n.child_count as usize) <= INLINE_KIDS {
            return None;
        }
        self.wide_child_for(n, LO * u64::from(b))
    }

    /// [`Self::child_for`] among the children past the first [`INLINE_KIDS`].
    #[inline(never)]
    fn wide_child_for(&self, n: &FNode, pattern: u64) -> Option<u32> {
        let mut start = n.child_start as usize + INLINE_KIDS;
        let mut left = (n.child_count as usize).saturating_sub(INLINE_KIDS);
        while left > 0 {
            // `first` carries FIRST_PAD trailing bytes, so eight bytes from any child index
            // exist; lanes past the run are ignored below.
            let chunk: [u8; 8] = self.first.get(start..start + 8)?.try_into().ok()?;
            let lane = lowest_zero_lane(u64::from_le_bytes(chunk) ^ pattern) as usize;
            if lane < left.min(8) {
                return u32::try_from(start + lane).ok();
            }
            start += 8;
            left = left.saturating_sub(8);
        }
        None
    }

    /// Writes `exact` (the exact route, found by the caller in its hash table) and then every
    /// route of the trie at `root` matching `path` to `buf`, in precedence order. Matching stops at the first `?` or `#` (the path is not cut first:
    /// no label contains those bytes, so only the end tests and segment scans look for them).
    pub(crate) fn lookup(&self, root: u32, path: &str, exact: Option<u32>, buf: &mut MatchBuffer) {
        buf.clear();
        if let Some(route) = exact {
            push_candidate(buf, route);
        }
        self.walk(root, path.as_bytes(), buf);
        if !buf.prefixes.is_empty() {
            let MatchBuffer {
                cands, prefixes, ..
            } = buf;
            cands.extend(prefixes.iter().rev().map(|r| RawCandidate {
                route: *r,
                params_start: 0,
                params_end: 0,
            }));
        }
    }

    /// The search below `root`: templates are appended to `buf.cands` in precedence order,
    /// prefix routes to `buf.prefixes` in increasing length (at one node, the higher route id
    /// first). Leaves `buf.stack` empty.
    pub(crate) fn walk(&self, root: u32, bytes: &[u8], buf: &mut MatchBuffer) {
        // A root has an empty label and (patterns start with `/`) normally no slot or edge:
        // start at its child for the first byte.
        let start = match (self.nodes.get(root as usize), bytes.first()) {
            (Some(r), Some(b)) if r.flags == 0 => self.child_for(r, *b),
            _ => Some(root),
        };
        // Depth-first, static edge before param edge before catch-all: a pre-order that lists
        // templates most specific first. The static edge is followed in the inner loop; only
        // the alternatives go on the stack, and a param edge with no static edge beside it is
        // followed at once (it would be the next frame popped). Each node is visited at most
        // once per lookup: a node fixes the sequence of labels and params, and a param always
        // takes a whole segment, so the position at which a node is reached is determined by
        // the path. Exact routes are not in the trie; every terminal reached here is a
        // template's.
        let mut visit = start.map(|node| (node, 0, 0));
        while let Some((mut id, mut pos, depth)) = visit {
            buf.spans.truncate(depth);
            while let Some(node) = self.nodes.get(id as usize) {
                let flags = node.flags;
                let end = if flags & ONE_BYTE != 0 {
                    pos + 1
                } else if flags & IS_PARAM != 0 {
                    let seg = segment_len(bytes, pos);
                    if seg == 0 {
                        break;
                    }
                    buf.spans.push((pos, pos + seg));
                    pos + seg
                } else if self.label_at(node, bytes, pos) {
                    pos + node.label_len as usize
                } else {
                    break;
                };
                if flags & (HAS_TERMINAL | HAS_PREFIX) != 0 {
                    let here = bytes.get(end);
                    if flags & HAS_TERMINAL != 0 && at_end(here) {
                        push_candidate(buf, node.terminal);
                    }
                    if flags & HAS_PREFIX != 0 {
                        push_prefixes(buf, node, at_end(here) || here == Some(&b'/'));
                    }
                }
                let Some(&next) = bytes.get(end) else { break };
                pos = end;
                if flags & (HAS_ALTERNATIVE | HAS_JUMP) == 0 {
                    match self.child_for(node, next) {
                        Some(c) => {
                            id = c;
                            continue;
                        }
                        None => break,
                    }
                }
                // The static child, and where its label starts: a segment jump lands on a
                // node several labels down (a miss walks the children as before).
                let mut child_pos = end;
                let child = match flags & HAS_JUMP != 0 {
                    true => match self.jumps.get(id, node.label_start, bytes, end) {
                        Some((c, at)) => {
                            child_pos = at;
                            Some(c)
                        }
                        None => self.child_for(node, next),
                    },
                    false => self.child_for(node, next),
                };
                let depth = buf.spans.len();
                if node.catch_all != NONE {
                    buf.stack.push(Frame::CatchAll {
                        route: node.catch_all,
                        pos,
                        depth,
                    });
                }
                id = match (child, node.param) {
                    (Some(c), NONE) => {
                        pos = child_pos;
                        c
                    }
                    (None, NONE) => break,
                    (Some(c), param) => {
                        buf.stack.push(Frame::Visit {
                            node: param,
                            pos,
                            depth,
                        });
                        pos = child_pos;
                        c
                    }
                    // The param edge is the next alternative anyway, with the parameter
                    // stack already at `depth`.
                    (None, param) => param,
                };
            }
            visit = next_visit(buf, bytes);
        }
    }

    /// Checks the layout invariants for the trie at `root`; `routes` receives every route id
    /// found with its slot and whether its node is reached through static edges only.
    pub(crate) fn check(
        &self,
        root: u32,
        seen: &mut Vec<bool>,
        routes: &mut Vec<(u32, Slot, bool)>,
    ) -> Result<(), String> {
        seen.resize(self.nodes.len(), false);
        if self.first.len() != self.nodes.len() + FIRST_PAD {
            return Err("first-byte array and nodes differ in length".into());
        }
        let mut stack = vec![(root, true, true)];
        while let Some((id, pure, is_root)) = stack.pop() {
            let node = self
                .nodes
                .get(id as usize)
                .ok_or_else(|| format!("dangling node {id}"))?;
            let slot = seen.get_mut(id as usize).ok_or("bad id")?;
            if *slot {
                return Err(format!("node {id} reachable twice"));
            }
            *slot = true;
            let is_param = node.label_len == PARAM_LABEL;
            let label = self.label(node);
            if !is_param && label.len() != node.label_len as usize {
                return Err(format!("node {id}: label out of pool"));
            }
            if self.first.get(id as usize) != Some(label.first().unwrap_or(&0)) {
                return Err(format!("node {id}: first byte differs from label"));
            }
            let start = node.child_start as usize;
            let mut lanes = [NO_BYTE; INLINE_KIDS];
            for (i, lane) in lanes.iter_mut().enumerate().take(node.child_count as usize) {
                *lane = self.first.get(start + i).copied().unwrap_or(NO_BYTE);
            }
            if node.kids != lanes {
                return Err(format!(
                    "node {id}: inline first bytes differ from children"
                ));
            }
            if (node.flags & IS_PARAM != 0) != (node.label_len == PARAM_LABEL) {
                return Err(format!("node {id}: param flag differs from label"));
            }
            if (node.flags & ONE_BYTE != 0) != (node.label_len == 1) {
                return Err(format!("node {id}: one-byte flag differs from label"));
            }
            if is_root && node.label_len != 0 {
                return Err(format!("root {id} has a label"));
            }
            let firsts = self
                .first
                .get(start..start + node.child_count as usize)
                .ok_or_else(|| format!("node {id}: children out of range"))?;
            for (i, b) in firsts.iter().enumerate() {
                let c = node.child_start + i as u32;
                let child = self.nodes.get(c as usize).ok_or("bad child")?;
                if child.label_len == PARAM_LABEL || child.label_len == 0 {
                    return Err(format!(
                        "node {id}: child {c} is not a static node with a label"
                    ));
                }
                if firsts.iter().filter(|x| *x == b).count() != 1 {
                    return Err(format!("node {id}: duplicate first byte {b}"));
                }
                if is_param && *b != b'/' {
                    return Err(format!("param node {id}: child does not start with '/'"));
                }
            }
            if is_param {
                if node.param != NONE || node.catch_all != NONE {
                    return Err(format!("param node {id}: param or catch-all edge"));
                }
                if node.prefix != NONE || node.sep_prefix != NONE {
                    return Err(format!("param node {id}: prefix slot"));
                }
                if node.terminal == NONE && node.child_count == 0 {
                    return Err(format!("param node {id}: leads nowhere"));
                }
            } else {
                if !is_root && label.is_empty() {
                    return Err(format!("node {id}: empty label"));
                }
                if (node.param != NONE || node.catch_all != NONE) && label.last() != Some(&b'/') {
                    return Err(format!(
                        "node {id}: param edge below a label not ending in '/'"
                    ));
                }
                let slots = [
                    node.terminal,
                    node.prefix,
                    node.sep_prefix,
                    node.catch_all,
                    node.param,
                ];
                if !is_root && slots.iter().all(|s| *s == NONE) && node.child_count < 2 {
                    return Err(format!("node {id}: not compressed"));
                }
                if !pure && (node.prefix != NONE || node.sep_prefix != NONE) {
                    return Err(format!("node {id}: prefix slot below a param"));
                }
            }
            if node.param != NONE {
                match self.nodes.get(node.param as usize) {
                    Some(p) if p.label_len == PARAM_LABEL => {}
                    _ => return Err(format!("node {id}: param edge to a non-param node")),
                }
            }
            for (r, s) in [
                (node.terminal, Slot::Terminal),
                (node.catch_all, Slot::CatchAll),
                (node.prefix, Slot::Prefix),
                (node.sep_prefix, Slot::SepPrefix),
            ] {
                if r != NONE {
                    routes.push((r, s, pure && s != Slot::CatchAll));
                }
            }
            for i in 0..node.child_count {
                stack.push((node.child_start + u32::from(i), pure, false));
            }
            if node.param != NONE {
                stack.push((node.param, false, false));
            }
        }
        Ok(())
    }
}

/// Byte equality of two slices. Labels are short, and a call to `memcmp` per node cost more
/// than the comparison itself: up to 16 bytes are compared with two overlapping fixed-size
/// loads (no loop), longer ones eight bytes at a time.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        if n <= 16 {
            return word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8);
        }
        let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
        for (x, y) in (&mut ca).zip(&mut cb) {
            if x != y {
                return false;
            }
        }
        return word8(a, n - 8) == word8(b, n - 8);
    }
    if n >= 4 {
        return word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4);
    }
    // 0 to 3 bytes: first, middle and last cover them all (`==` on slices calls memcmp).
    [0, n / 2, n.wrapping_sub(1)]
        .into_iter()
        .all(|i| n == 0 || a.get(i) == b.get(i))
}

/// The eight bytes of `s` from `at` as a word (`None` if out of range).
#[inline(always)]
fn word8(s: &[u8], at: usize) -> Option<u64> {
    let w: [u8; 8] = s.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_ne_bytes(w))
}

/// The four bytes of `s` from `at` as a word (`None` if out of range).
#[inline(always)]
fn word4(s: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = s.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(w))
}

/// Pops frames until the next node to visit (`(node, pos, depth)`), writing the catch-all
/// candidates popped on the way.
#[inline(always)]
fn next_visit(buf: &mut MatchBuffer, bytes: &[u8]) -> Option<(u32, usize, usize)> {
    loop {
        match buf.stack.pop()? {
            Frame::Visit { node, pos, depth } => return Some((node, pos, depth)),
            Frame::CatchAll { route, pos, depth } => {
                let rest = bytes.get(pos..).unwrap_or_default();
                let len = rest.iter().position(|b| matches!(b, b'?' | b'#'));
                let len = len.unwrap_or(rest.len());
                if len > 0 {
                    buf.spans.truncate(depth);
                    buf.spans.push((pos, pos + len));
                    push_candidate(buf, route);
                }
            }
        }
    }
}

fn push_candidate(buf: &mut MatchBuffer, route: u32) {
    let start = buf.params.len() as u32;
    // Templates rarely have more than two parameters: a copy of a fixed size is inlined,
    // where copying the slice calls `memcpy` (and an element loop is vectorized).
    match *buf.spans.as_slice() {
        [] => {}
        [a] => buf.params.push(a),
        [a, b] => buf.params.extend_from_slice(&[a, b]),
        _ => buf.params.extend_from_slice(&buf.spans),
    }
    let end = buf.params.len() as u32;
    buf.cands.push(RawCandidate {
        route,
        params_start: start,
        params_end: end,
    });
}

/// Prefix slots of one node, pushed with the higher route id first because the list is
/// reversed at the end (longest first, ties in declaration order).
fn push_prefixes(buf: &mut MatchBuffer, node: &FNode, at_boundary: bool) {
    let a = node.prefix;
    let b = if at_boundary { node.sep_prefix } else { NONE };
    let (hi, lo) = if a == NONE || (b != NONE && b > a) {
        (b, a)
    } else {
        (a, b)
    };
    for r in [hi, lo] {
        if r != NONE {
            buf.prefixes.push(r);
        }
    }
}
