//! The path trie: a byte-level radix tree with parameter and catch-all edges, one root per
//! virtual host, all hosts sharing one node arena and one label pool.
//!
//! Invariants (checked by [`PathArena::check`]):
//! - a node is reachable from exactly one root, by exactly one edge;
//! - a static node other than a root has a non-empty label; `indices[i]` is the first byte of
//!   `children[i]`'s label, and the `indices` are distinct, so at most one static child can
//!   continue a given path;
//! - a param node has an empty label, no param or catch-all edge, no prefix slots, and its
//!   static children start with `/`;
//! - a param edge or catch-all slot hangs only below a static label ending in `/`;
//! - prefix slots and exact terminals sit only on nodes reached from the root through static
//!   edges; terminals reached through a param edge are templates;
//! - every non-root static node carries a slot or an edge beyond a single child (the tree is
//!   compressed).

use crate::candidates::{Frame, MatchBuffer, RawCandidate};

/// The empty-slot sentinel for node and route indices.
pub(crate) const NONE: u32 = u32::MAX;

/// Node kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// Consumes its label.
    Static,
    /// Consumes one non-empty segment (up to the next `/` or the end).
    Param,
}

/// Where on a node a route ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The path ends here (exact route, or a template ending in static text or a param).
    Terminal,
    /// A `{*rest}` taking the non-empty remainder.
    CatchAll,
    /// A raw prefix ends here.
    Prefix,
    /// A path-separated prefix ends here.
    SepPrefix,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// `label_len` bytes of the label pool, from `label_start`.
    label_start: u32,
    label_len: u32,
    kind: NodeKind,
    /// First label byte of each static child, parallel to `children`.
    indices: Vec<u8>,
    children: Vec<u32>,
    param: u32,
    catch_all: u32,
    terminal: u32,
    prefix: u32,
    sep_prefix: u32,
}

impl Node {
    fn new(kind: NodeKind, label_start: u32, label_len: u32) -> Self {
        Self {
            label_start,
            label_len,
            kind,
            indices: Vec::new(),
            children: Vec::new(),
            param: NONE,
            catch_all: NONE,
            terminal: NONE,
            prefix: NONE,
            sep_prefix: NONE,
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut u32 {
        match slot {
            Slot::Terminal => &mut self.terminal,
            Slot::CatchAll => &mut self.catch_all,
            Slot::Prefix => &mut self.prefix,
            Slot::SepPrefix => &mut self.sep_prefix,
        }
    }

    fn child_for(&self, b: u8) -> Option<u32> {
        let i = self.indices.iter().position(|x| *x == b)?;
        self.children.get(i).copied()
    }
}

/// Why an insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// The slot already holds this route.
    Conflict(u32),
    /// Node or label indices would overflow `u32`.
    Capacity(&'static str),
}

/// All path tries of a route table.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathArena {
    nodes: Vec<Node>,
    labels: Vec<u8>,
}

impl PathArena {
    /// Adds an empty root.
    pub(crate) fn new_root(&mut self) -> Result<u32, InsertError> {
        self.push(Node::new(NodeKind::Static, 0, 0))
    }

    fn push(&mut self, node: Node) -> Result<u32, InsertError> {
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|id| *id != NONE)
            .ok_or(InsertError::Capacity("path trie nodes"))?;
        self.nodes.push(node);
        Ok(id)
    }

    fn node(&self, id: u32) -> Option<&Node> {
        self.nodes.get(id as usize)
    }

    fn node_mut(&mut self, id: u32) -> Result<&mut Node, InsertError> {
        self.nodes
            .get_mut(id as usize)
            .ok_or(InsertError::Capacity("dangling node index"))
    }

    fn label(&self, n: &Node) -> &[u8] {
        let start = n.label_start as usize;
        self.labels
            .get(start..start + n.label_len as usize)
            .unwrap_or_default()
    }

    /// Heap bytes held by the arena (for the memory report).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<Node>()
            + self.labels.capacity()
            + self
                .nodes
                .iter()
                .map(|n| n.indices.capacity() + n.children.capacity() * 4)
                .sum::<usize>()
    }

    /// Walks or creates the static path `s` below node `n`; returns the node where `s` ends.
    pub(crate) fn insert_static(&mut self, mut n: u32, mut s: &[u8]) -> Result<u32, InsertError> {
        while let Some(&first) = s.first() {
            let Some(c) = self.node(n).and_then(|node| node.child_for(first)) else {
                let start = u32::try_from(self.labels.len())
                    .ok()
                    .filter(|st| st.checked_add(s.len() as u32).is_some())
                    .ok_or(InsertError::Capacity("path label bytes"))?;
                self.labels.extend_from_slice(s);
                let child = self.push(Node::new(NodeKind::Static, start, s.len() as u32))?;
                let parent = self.node_mut(n)?;
                parent.indices.push(first);
                parent.children.push(child);
                return Ok(child);
            };
            let (common, label_len) = match self.node(c) {
                Some(node) => {
                    let label = self.label(node);
                    (
                        label.iter().zip(s).take_while(|(a, b)| a == b).count(),
                        label.len(),
                    )
                }
                None => return Err(InsertError::Capacity("dangling node index")),
            };
            if common < label_len {
                self.split(c, common)?;
            }
            n = c;
            s = s.get(common..).unwrap_or_default();
        }
        Ok(n)
    }

    /// Splits node `c` after `at` label bytes (0 < at < label length): `c` keeps the head
    /// and gets one child holding the tail and everything `c` had.
    fn split(&mut self, c: u32, at: usize) -> Result<(), InsertError> {
        let at32 = at as u32;
        let node = self.node_mut(c)?;
        let mut tail = Node::new(
            NodeKind::Static,
            node.label_start + at32,
            node.label_len - at32,
        );
        core::mem::swap(&mut tail.indices, &mut node.indices);
        core::mem::swap(&mut tail.children, &mut node.children);
        tail.param = core::mem::replace(&mut node.param, NONE);
        tail.catch_all = core::mem::replace(&mut node.catch_all, NONE);
        tail.terminal = core::mem::replace(&mut node.terminal, NONE);
        tail.prefix = core::mem::replace(&mut node.prefix, NONE);
        tail.sep_prefix = core::mem::replace(&mut node.sep_prefix, NONE);
        node.label_len = at32;
        let first = self
            .labels
            .get((tail.label_start) as usize)
            .copied()
            .unwrap_or_default();
        let t = self.push(tail)?;
        let node = self.node_mut(c)?;
        node.indices.push(first);
        node.children.push(t);
        Ok(())
    }

    /// The param child of `n`, created if absent.
    pub(crate) fn param_child(&mut self, n: u32) -> Result<u32, InsertError> {
        let existing = self.node_mut(n)?.param;
        if existing != NONE {
            return Ok(existing);
        }
        let p = self.push(Node::new(NodeKind::Param, 0, 0))?;
        self.node_mut(n)?.param = p;
        Ok(p)
    }

    /// Puts `route` into `slot` of node `n`, unless another route is there.
    pub(crate) fn claim(&mut self, n: u32, slot: Slot, route: u32) -> Result<(), InsertError> {
        let s = self.node_mut(n)?.slot_mut(slot);
        if *s != NONE {
            return Err(InsertError::Conflict(*s));
        }
        *s = route;
        Ok(())
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
        // templates most specific first. Each node is visited at most once per lookup, because
        // a node fixes the sequence of labels and params, and a param always takes a whole
        // segment, so the position at which a node is reached is determined by the path.
        while let Some(frame) = buf.stack.pop() {
            let (node_id, pos, depth) = match frame {
                Frame::Visit { node, pos, depth } => (node, pos, depth),
                Frame::CatchAll { route, pos, depth } => {
                    buf.spans.truncate(depth);
                    buf.spans.push((pos, len));
                    push_candidate(buf, route);
                    continue;
                }
            };
            let Some(node) = self.node(node_id) else {
                continue;
            };
            buf.spans.truncate(depth);
            let end = match node.kind {
                NodeKind::Static => {
                    let label = self.label(node);
                    match bytes.get(pos..pos + label.len()) {
                        Some(seg) if seg == label => pos + label.len(),
                        _ => continue,
                    }
                }
                NodeKind::Param => {
                    let rest = bytes.get(pos..).unwrap_or_default();
                    let seg = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
                    if seg == 0 {
                        continue;
                    }
                    buf.spans.push((pos, pos + seg));
                    pos + seg
                }
            };
            let depth = buf.spans.len();
            if end == len && node.terminal != NONE {
                if depth == 0 {
                    exact = node.terminal;
                } else {
                    push_candidate(buf, node.terminal);
                }
            }
            // Prefix slots: pushed with the higher route id first, because the list is
            // reversed at the end (longest first, ties in declaration order).
            let sep_ok = node.sep_prefix != NONE && matches!(bytes.get(end), None | Some(b'/'));
            let (a, b) = (node.prefix, if sep_ok { node.sep_prefix } else { NONE });
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
            if let Some(&next) = bytes.get(end) {
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
                if let Some(c) = node.child_for(next) {
                    buf.stack.push(Frame::Visit {
                        node: c,
                        pos: end,
                        depth,
                    });
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
        routes: &mut Vec<(u32, Slot, bool)>,
    ) -> Result<(), String> {
        let mut seen = vec![false; self.nodes.len()];
        // (node, parent label ends with '/', reached statically, is root)
        let mut stack = vec![(root, true)];
        let mut is_root = true;
        while let Some((id, pure)) = stack.pop() {
            let node = self.node(id).ok_or_else(|| format!("dangling node {id}"))?;
            let slot = seen.get_mut(id as usize).ok_or("bad id")?;
            if *slot {
                return Err(format!("node {id} reachable twice"));
            }
            *slot = true;
            let label = self.label(node);
            if label.len() != node.label_len as usize {
                return Err(format!("node {id}: label out of pool"));
            }
            if node.indices.len() != node.children.len() {
                return Err(format!("node {id}: indices/children length differ"));
            }
            for (i, (b, c)) in node.indices.iter().zip(&node.children).enumerate() {
                let child = self.node(*c).ok_or_else(|| format!("dangling child {c}"))?;
                if child.kind != NodeKind::Static || self.label(child).first() != Some(b) {
                    return Err(format!("node {id}: index {i} does not match child {c}"));
                }
                if node.indices.iter().filter(|x| *x == b).count() != 1 {
                    return Err(format!("node {id}: duplicate index byte {b}"));
                }
                if node.kind == NodeKind::Param && *b != b'/' {
                    return Err(format!("param node {id}: child does not start with '/'"));
                }
            }
            match node.kind {
                NodeKind::Param => {
                    if node.label_len != 0 || node.param != NONE || node.catch_all != NONE {
                        return Err(format!("param node {id}: label, param or catch-all edge"));
                    }
                    if node.prefix != NONE || node.sep_prefix != NONE {
                        return Err(format!("param node {id}: prefix slot"));
                    }
                    if node.terminal == NONE && node.children.is_empty() {
                        return Err(format!("param node {id}: leads nowhere"));
                    }
                }
                NodeKind::Static => {
                    if !is_root && label.is_empty() {
                        return Err(format!("node {id}: empty label"));
                    }
                    if (node.param != NONE || node.catch_all != NONE) && label.last() != Some(&b'/')
                    {
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
                    if !is_root && slots.iter().all(|s| *s == NONE) && node.children.len() < 2 {
                        return Err(format!("node {id}: not compressed"));
                    }
                    if !pure && (node.prefix != NONE || node.sep_prefix != NONE) {
                        return Err(format!("node {id}: prefix slot below a param"));
                    }
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
            is_root = false;
            for c in &node.children {
                stack.push((*c, pure));
            }
            if node.param != NONE {
                stack.push((node.param, false));
            }
        }
        Ok(())
    }
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
