//! What a lookup returns: the matching routes, most specific first, with captured parameters.
//!
//! A lookup writes into a caller-owned [`MatchBuffer`] instead of allocating: the buffer's
//! vectors grow to the largest lookup seen and are then reused, so a worker that keeps one
//! buffer per stream (or per thread) does no allocation on the request path after warm-up.
//! Candidates, routes and parameters are stored as indices and byte spans, so the buffer has
//! no lifetime and can be kept across requests.

use crate::host::HostId;
use crate::route::{RouteId, RouteTrie};

/// The class of a route's path match, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    /// [`PathMatch::Exact`](crate::PathMatch::Exact) or a template without parameters.
    Exact,
    /// [`PathMatch::Template`](crate::PathMatch::Template) with parameters.
    Template,
    /// [`PathMatch::Prefix`](crate::PathMatch::Prefix).
    Prefix,
    /// [`PathMatch::PathSeparatedPrefix`](crate::PathMatch::PathSeparatedPrefix).
    PathSeparatedPrefix,
}

/// A candidate as stored in the buffer: a route and its parameter spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawCandidate {
    pub(crate) route: u32,
    /// Range into [`MatchBuffer::params`].
    pub(crate) params_start: u32,
    pub(crate) params_end: u32,
}

/// One step of the depth-first search over the path trie.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame {
    /// Try node `node` at byte `pos`, with the parameter stack cut to `depth`.
    Visit { node: u32, pos: usize, depth: usize },
    /// The catch-all `route` takes `pos..` (non-empty), parameter stack cut to `depth`.
    CatchAll {
        route: u32,
        pos: usize,
        depth: usize,
    },
}

/// Reusable scratch space for lookups. Create one per worker or stream and pass it to every
/// [`RouteTrie::lookup`]; it never shrinks, so steady-state lookups do not allocate.
#[derive(Debug, Clone, Default)]
pub struct MatchBuffer {
    pub(crate) cands: Vec<RawCandidate>,
    /// Parameter spans of all candidates, each candidate's a contiguous range.
    pub(crate) params: Vec<(usize, usize)>,
    /// Parameter spans along the current search path.
    pub(crate) spans: Vec<(usize, usize)>,
    pub(crate) stack: Vec<Frame>,
    /// Prefix routes in increasing length (reversed into `cands` at the end).
    pub(crate) prefixes: Vec<u32>,
    /// The ASCII-lower-cased path, for hosts with case-insensitive routes.
    pub(crate) folded: String,
}

impl MatchBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn clear(&mut self) {
        self.cands.clear();
        self.params.clear();
        self.spans.clear();
        self.stack.clear();
        self.prefixes.clear();
    }
}

/// The routes matching one request, most specific first: the exact route, then templates
/// (at the first segment where two differ, static beats `{param}` beats `{*catch_all}`), then
/// prefixes, longest first, ties in declaration order.
#[derive(Debug)]
pub struct Candidates<'a, T> {
    pub(crate) trie: &'a RouteTrie<T>,
    pub(crate) host: Option<HostId>,
    /// The request path as given (parameter spans index into it; they end before `?`/`#`).
    pub(crate) path: &'a str,
    pub(crate) buf: &'a MatchBuffer,
}

impl<T> Clone for Candidates<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Candidates<'_, T> {}

impl<'a, T> Candidates<'a, T> {
    /// The virtual host the authority selected, if any.
    pub fn host(&self) -> Option<HostId> {
        self.host
    }

    /// The path that was matched: the request path up to (not including) `?` or `#`.
    pub fn path(&self) -> &'a str {
        crate::route::strip_query(self.path)
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.buf.cands.len()
    }

    /// True when nothing matched.
    pub fn is_empty(&self) -> bool {
        self.buf.cands.is_empty()
    }

    /// The most specific candidate.
    pub fn first(&self) -> Option<RouteMatch<'a, T>> {
        self.get(0)
    }

    /// The `i`-th candidate in precedence order.
    pub fn get(&self, i: usize) -> Option<RouteMatch<'a, T>> {
        let raw = self.buf.cands.get(i)?;
        let entry = self.trie.entry(raw.route)?;
        let spans = self
            .buf
            .params
            .get(raw.params_start as usize..raw.params_end as usize)?;
        Some(RouteMatch {
            route: RouteId(raw.route),
            kind: entry.kind,
            value: &entry.value,
            params: Params {
                names: &self.trie.param_names,
                ids: self
                    .trie
                    .param_ids
                    .get(entry.params_start as usize..)?
                    .get(..entry.params_len as usize)?,
                spans,
                path: self.path,
            },
        })
    }

    /// All candidates in precedence order.
    pub fn iter(&self) -> impl Iterator<Item = RouteMatch<'a, T>> + 'a {
        let this = *self;
        (0..self.len()).filter_map(move |i| this.get(i))
    }
}

/// One matching route.
#[derive(Debug)]
pub struct RouteMatch<'a, T> {
    /// The route (its index in the list the trie was built from).
    pub route: RouteId,
    /// Which kind of path match it is.
    pub kind: MatchKind,
    /// The value stored with the route.
    pub value: &'a T,
    /// Captured template parameters (empty for other kinds).
    pub params: Params<'a>,
}

impl<T> Clone for RouteMatch<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for RouteMatch<'_, T> {}

/// Template parameters captured by one match, in template order.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    /// The trie's interned names.
    names: &'a [Box<str>],
    /// This route's parameter-name ids, in template order.
    ids: &'a [u32],
    spans: &'a [(usize, usize)],
    path: &'a str,
}

impl<'a> Params<'a> {
    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the route captured nothing.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// `(name, value)` pairs in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (path, names) = (self.path, self.names);
        self.ids
            .iter()
            .zip(self.spans)
            .filter_map(move |(id, (s, e))| Some((&**names.get(*id as usize)?, path.get(*s..*e)?)))
    }
}
