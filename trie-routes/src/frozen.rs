//! The read-only path-trie layout that lookups walk.
//!
//! ```text
//!   nodes: [ root | c0 c1 c2 | p | d0 d1 | … ]     first: [ - | '/' 'u' 's' | - | … ]
//!            │      └──────┘                              parallel to `nodes`
//!            └ child_start=1, child_count=3: the static children are one contiguous run,
//!              so picking the child for the next path byte scans `first[1..4]`.
//! ```
//!
//! Invariants (checked by [`FrozenPaths::check`]), besides those of the build form
//! ([`crate::path_trie`]):
//! - `first[i]` is the first byte of node `i`'s label (0 for roots and param nodes);
//! - `child_start .. child_start + child_count` and `param` stay inside `nodes`, and every
//!   node but a root is the child or param of exactly one node;
//! - a param node has `label_len == PARAM_LABEL`, a static node's label lies inside `labels`.

use crate::candidates::{Frame, MatchBuffer, RawCandidate};
use crate::path_trie::{NONE, Slot};

/// `label_len` of a param node (static labels are at most `MAX_PATTERN_LEN` bytes).
pub(crate) const PARAM_LABEL: u16 = u16::MAX;

/// Labels up to this many bytes are stored in the node itself, saving a cache miss on the
/// label pool for most nodes (tenant and segment names are short).
pub(crate) const INLINE_LABEL: usize = 12;

/// One node: 48 bytes, no heap of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FNode {
    /// The label if it is at most [`INLINE_LABEL`] bytes long, else unused.
    pub(crate) inline: [u8; INLINE_LABEL],
    /// Offset in the label pool of a label longer than [`INLINE_LABEL`].
    pub(crate) label_start: u32,
    pub(crate) label_len: u16,
    pub(crate) child_count: u16,
    pub(crate) child_start: u32,
    pub(crate) param: u32,
    pub(crate) catch_all: u32,
    pub(crate) terminal: u32,
    pub(crate) prefix: u32,
    pub(crate) sep_prefix: u32,
    /// Which of `terminal`, `prefix`/`sep_prefix`, `catch_all`, `param` are set
    /// ([`HAS_TERMINAL`] …), so the lookup tests one byte on the many nodes that only pass
    /// the path on. Computed by [`FrozenPaths::new`].
    pub(crate) flags: u8,
}

/// [`FNode::flags`]: `terminal` is set.
const HAS_TERMINAL: u8 = 1;
/// [`FNode::flags`]: `prefix` or `sep_prefix` is set.
const HAS_PREFIX: u8 = 2;
/// [`FNode::flags`]: `catch_all` or `param` is set.
const HAS_ALTERNATIVE: u8 = 4;

/// Zero bytes appended to `first`, so the child search can always load 8 bytes at once.
const FIRST_PAD: usize = 8;

/// All path tries of a route table, frozen.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrozenPaths {
    nodes: Vec<FNode>,
    first: Vec<u8>,
    labels: Vec<u8>,
}

impl FrozenPaths {
    pub(crate) fn new(mut nodes: Vec<FNode>, mut first: Vec<u8>, mut labels: Vec<u8>) -> Self {
        for n in &mut nodes {
            let flag = |set: bool, f: u8| if set { f } else { 0 };
            n.flags = flag(n.terminal != NONE, HAS_TERMINAL)
                | flag(n.prefix != NONE || n.sep_prefix != NONE, HAS_PREFIX)
                | flag(n.catch_all != NONE || n.param != NONE, HAS_ALTERNATIVE);
        }
        first.extend_from_slice(&[0; FIRST_PAD]);
        nodes.shrink_to_fit();
        first.shrink_to_fit();
        labels.shrink_to_fit();
        Self {
            nodes,
            first,
            labels,
        }
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<FNode>()
            + self.first.capacity()
            + self.labels.capacity()
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

    /// The static child of `n` whose label starts with `b`: the children's first bytes are
    /// compared eight at a time (one load and a zero-byte test per eight children).
    #[inline]
    fn child_for(&self, n: &FNode, b: u8) -> Option<u32> {
        const LO: u64 = u64::from_le_bytes([0x01; 8]);
        const HI: u64 = u64::from_le_bytes([0x80; 8]);
        let pattern = LO * u64::from(b);
        let mut start = n.child_start as usize;
        let mut left = n.child_count as usize;
        while left > 0 {
            // `first` carries FIRST_PAD trailing bytes, so eight bytes from any child index
            // exist; bytes past the run are masked off below.
            let chunk: [u8; 8] = self.first.get(start..start + 8)?.try_into().ok()?;
            let x = u64::from_le_bytes(chunk) ^ pattern;
            // Exact zero-byte test (no false positives, unlike the borrow trick).
            let mut hits = !(((x & !HI) + !HI) | x) & HI;
            if left < 8 {
                hits &= (1u64 << (8 * left)) - 1;
            }
            if hits != 0 {
                let i = (hits.trailing_zeros() / 8) as usize;
                return u32::try_from(start + i).ok();
            }
            start += 8;
            left = left.saturating_sub(8);
        }
        None
    }

    /// Finds every route of the trie at `root` matching `path` (already cut at `?`/`#`) and
    /// writes them to `buf` in precedence order.
    pub(crate) fn lookup(&self, root: u32, path: &str, buf: &mut MatchBuffer) {
        buf.clear();
        let bytes = path.as_bytes();
        let len = bytes.len();
        let mut exact = NONE;
        buf.stack.push(Frame::Visit {
            node: root,
            pos: 0,
            depth: 0,
        });
        // Depth-first, static edge before param edge before catch-all: a pre-order that lists
        // templates most specific first. The static edge is followed in the inner loop; only
        // the alternatives go on the stack. Each node is visited at most once per lookup: a
        // node fixes the sequence of labels and params, and a param always takes a whole
        // segment, so the position at which a node is reached is determined by the path.
        while let Some(frame) = buf.stack.pop() {
            let (mut id, mut pos, depth) = match frame {
                Frame::Visit { node, pos, depth } => (node, pos, depth),
                Frame::CatchAll { route, pos, depth } => {
                    buf.spans.truncate(depth);
                    buf.spans.push((pos, len));
                    push_candidate(buf, route);
                    continue;
                }
            };
            buf.spans.truncate(depth);
            while let Some(node) = self.nodes.get(id as usize) {
                let end = if node.label_len == PARAM_LABEL {
                    let rest = bytes.get(pos..).unwrap_or_default();
                    let seg = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
                    if seg == 0 {
                        break;
                    }
                    buf.spans.push((pos, pos + seg));
                    pos + seg
                } else {
                    let label = self.label(node);
                    match bytes.get(pos..pos + label.len()) {
                        Some(seg) if same_bytes(seg, label) => pos + label.len(),
                        _ => break,
                    }
                };
                let flags = node.flags;
                if flags & (HAS_TERMINAL | HAS_PREFIX) != 0 {
                    if end == len && flags & HAS_TERMINAL != 0 {
                        if buf.spans.is_empty() {
                            exact = node.terminal;
                        } else {
                            push_candidate(buf, node.terminal);
                        }
                    }
                    if flags & HAS_PREFIX != 0 {
                        push_prefixes(buf, node, matches!(bytes.get(end), None | Some(b'/')));
                    }
                }
                let Some(&next) = bytes.get(end) else { break };
                if flags & HAS_ALTERNATIVE != 0 {
                    let depth = buf.spans.len();
                    if node.catch_all != NONE {
                        buf.stack.push(Frame::CatchAll {
                            route: node.catch_all,
                            pos: end,
                            depth,
                        });
                    }
                    if node.param != NONE {
                        buf.stack.push(Frame::Visit {
                            node: node.param,
                            pos: end,
                            depth,
                        });
                    }
                }
                match self.child_for(node, next) {
                    Some(c) => {
                        id = c;
                        pos = end;
                    }
                    None => break,
                }
            }
        }
        if exact != NONE {
            buf.cands.insert(
                0,
                RawCandidate {
                    route: exact,
                    params_start: 0,
                    params_end: 0,
                },
            );
        }
        let MatchBuffer {
            cands, prefixes, ..
        } = buf;
        cands.extend(prefixes.iter().rev().map(|r| RawCandidate {
            route: *r,
            params_start: 0,
            params_end: 0,
        }));
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

fn push_candidate(buf: &mut MatchBuffer, route: u32) {
    let start = buf.params.len() as u32;
    buf.params.extend_from_slice(&buf.spans);
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
