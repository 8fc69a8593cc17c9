//! The path trie: a byte-level radix tree with parameter and catch-all edges, one root per
//! virtual host, all hosts sharing one node arena and one label pool.
//!
//! This is the build-time form; [`PathArena::freeze`] turns it into the compact read-only
//! [`FrozenPaths`] that lookups use. Invariants (checked on the frozen form by
//! [`FrozenPaths::check`]):
//! - a node is reachable from exactly one root, by exactly one edge;
//! - a static node other than a root has a non-empty label; each `children` entry pairs a
//!   child with its label's first byte, and those bytes are distinct, so at most one static child can
//!   continue a given path;
//! - a param node has an empty label, no param or catch-all edge, no prefix slots, and its
//!   static children start with `/`;
//! - a param edge or catch-all slot hangs only below a static label ending in `/`;
//! - prefix slots sit only on nodes reached from the root through static edges; terminals
//!   are templates' and are reached through a param edge (exact routes are kept in hash
//!   tables by [`crate::RouteTrie`], never here);
//! - every non-root static node carries a slot or an edge beyond a single child (the tree is
//!   compressed).

use crate::frozen::{FNode, FrozenPaths, FrozenPathsBuild, INLINE_LABEL, JumpPolicy, PARAM_LABEL};

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
    /// The path ends here (a template ending in static text or a param).
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
    pub(crate) kind: NodeKind,
    /// Static children with the first byte of their label (one allocation per node).
    children: Vec<(u8, u32)>,
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
        self.children.iter().find(|(x, _)| *x == b).map(|(_, c)| *c)
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
                parent.children.push((first, child));
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
        node.children.push((first, t));
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
}

/// Copying the tries into the read-only lookup layout ([`FrozenPaths`]) in bounded steps: the
/// breadth-first copy, root by root, then the flags and segment jumps.
#[derive(Debug)]
pub(crate) struct Freeze {
    arena: PathArena,
    roots: Vec<u32>,
    /// The new index of each root copied so far.
    new_roots: Vec<u32>,
    copy: FrozenBuilder,
    /// The build form's nodes once copied, freed a bounded number per step (each owns its
    /// child list: 100k of them take milliseconds to free at once).
    discard: Vec<Node>,
    finishing: Option<FrozenPathsBuild>,
    failed: Option<InsertError>,
}

impl Freeze {
    /// A freeze of `arena`'s tries below `roots` (consumed: the copy frees it once done).
    pub(crate) fn new(arena: PathArena, roots: Vec<u32>) -> Self {
        Self {
            new_roots: Vec::with_capacity(roots.len()),
            arena,
            roots,
            copy: FrozenBuilder::default(),
            discard: Vec::new(),
            finishing: None,
            failed: None,
        }
    }

    /// Does at most about `budget` nodes' work; true once [`Self::finish`] may be called.
    pub(crate) fn step(&mut self, budget: usize) -> bool {
        if self.failed.is_some() {
            return true;
        }
        let mut budget = budget.max(1);
        if self.finishing.is_none() {
            match self.copy_some(&mut budget) {
                Ok(false) => return false,
                Ok(true) => {
                    self.discard = std::mem::take(&mut self.arena.nodes);
                    self.arena = PathArena::default();
                    let FrozenBuilder {
                        nodes,
                        first,
                        labels,
                        ..
                    } = std::mem::take(&mut self.copy);
                    self.finishing = Some(FrozenPathsBuild::new(
                        nodes,
                        first,
                        labels,
                        JumpPolicy::default(),
                    ));
                    if budget == 0 {
                        return false;
                    }
                }
                Err(error) => {
                    self.failed = Some(error);
                    return true;
                }
            }
        }
        if !self.discard.is_empty() {
            let keep = self.discard.len().saturating_sub(budget);
            budget -= self.discard.len() - keep;
            self.discard.truncate(keep);
            if budget == 0 {
                return false;
            }
        }
        self.finishing
            .as_mut()
            .is_none_or(|build| build.step(budget))
    }

    /// The layout and the new roots, once [`Self::step`] returned true.
    pub(crate) fn finish(self) -> Result<(FrozenPaths, Vec<u32>), InsertError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let build = self
            .finishing
            .ok_or(InsertError::Capacity("freeze not run to its end"))?;
        Ok((build.finish(), self.new_roots))
    }

    /// Copies nodes until the budget is spent (false) or every tree is copied (true).
    fn copy_some(&mut self, budget: &mut usize) -> Result<bool, InsertError> {
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            if !self.copy.queue.is_empty() {
                let spent = self.copy.copy_next(&self.arena)?;
                *budget = budget.saturating_sub(spent.max(1));
                continue;
            }
            let Some(&root) = self.roots.get(self.new_roots.len()) else {
                return Ok(true);
            };
            let new_root = self.copy.add(&self.arena, root)?;
            self.new_roots.push(new_root);
            *budget -= 1;
        }
    }
}

/// Breadth-first copy into [`FrozenPaths`]: the static children of a node become one
/// contiguous run of nodes (and of first bytes), and labels are laid out in the same order.
#[derive(Debug, Default)]
struct FrozenBuilder {
    nodes: Vec<FNode>,
    first: Vec<u8>,
    labels: Vec<u8>,
    queue: std::collections::VecDeque<(u32, u32)>,
}

impl FrozenBuilder {
    /// Appends a copy of `old` (children not yet linked) and returns its new index.
    fn add(&mut self, arena: &PathArena, old: u32) -> Result<u32, InsertError> {
        let n = arena
            .node(old)
            .ok_or(InsertError::Capacity("dangling node index"))?;
        let label = arena.label(n);
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|id| *id != NONE)
            .ok_or(InsertError::Capacity("path trie nodes"))?;
        let label_start = u32::try_from(self.labels.len())
            .map_err(|_| InsertError::Capacity("path label bytes"))?;
        let label_len = match n.kind {
            NodeKind::Param => PARAM_LABEL,
            // Labels are at most MAX_PATTERN_LEN bytes, far below the sentinel.
            NodeKind::Static => u16::try_from(label.len())
                .ok()
                .filter(|l| *l != PARAM_LABEL)
                .ok_or(InsertError::Capacity("label length"))?,
        };
        let mut inline = [0u8; INLINE_LABEL];
        match inline.get_mut(..label.len()) {
            Some(dst) => dst.copy_from_slice(label),
            None => self.labels.extend_from_slice(label),
        }
        self.first.push(label.first().copied().unwrap_or(0));
        self.nodes.push(FNode {
            inline,
            kids: [0; crate::frozen::INLINE_KIDS],
            label_start,
            label_len,
            child_count: 0,
            child_start: 0,
            param: NONE,
            catch_all: n.catch_all,
            terminal: n.terminal,
            prefix: n.prefix,
            sep_prefix: n.sep_prefix,
            flags: 0,
        });
        self.queue.push_back((old, id));
        Ok(id)
    }

    /// Links the next node of the queue to its copied children; returns the nodes it touched.
    fn copy_next(&mut self, arena: &PathArena) -> Result<usize, InsertError> {
        let Some((old, new)) = self.queue.pop_front() else {
            return Ok(0);
        };
        let n = arena
            .node(old)
            .ok_or(InsertError::Capacity("dangling node index"))?;
        let child_start = u32::try_from(self.nodes.len())
            .map_err(|_| InsertError::Capacity("path trie nodes"))?;
        for (_, c) in &n.children {
            self.add(arena, *c)?;
        }
        let param = if n.param != NONE {
            self.add(arena, n.param)?
        } else {
            NONE
        };
        let child_count =
            u16::try_from(n.children.len()).map_err(|_| InsertError::Capacity("children"))?;
        if let Some(f) = self.nodes.get_mut(new as usize) {
            f.child_start = child_start;
            f.child_count = child_count;
            f.param = param;
        }
        Ok(1 + n.children.len())
    }
}
