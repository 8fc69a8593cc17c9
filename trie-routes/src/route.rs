//! [`RouteTrie`]: virtual hosts, each with a path trie, built in one pass from route specs.

use crate::PathMatch;
use crate::candidates::{Candidates, MatchBuffer, MatchKind, RawCandidate};
use crate::error::PatternError;
use crate::error::{BuildError, RouteError};
use crate::frozen::FrozenPaths;
use crate::host::{HostId, HostPattern, HostTable};
use crate::limits::MAX_ROUTES;
use crate::path_trie::{Freeze, InsertError, PathArena, Slot};
use crate::pattern::{Piece, check_common, parse_template};

/// A route's index in the list the trie was built from (declaration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub(crate) u32);

impl RouteId {
    /// The index in declaration order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl core::fmt::Display for RouteId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One route as the config describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec<T> {
    /// Host pattern: `api.example.com`, `*.example.com` or `*`.
    pub host: String,
    /// How the path must match.
    pub path: PathMatch,
    /// What the lookup hands back (the engine stores its route index).
    pub value: T,
    /// The path pattern is compared ASCII-case-insensitively (Envoy's `case_sensitive:
    /// false`); exact, prefix and path-separated-prefix matches only. False by default.
    pub ignore_case: bool,
}

impl<T> RouteSpec<T> {
    /// A route spec (case-sensitive).
    pub fn new(host: impl Into<String>, path: PathMatch, value: T) -> Self {
        Self {
            host: host.into(),
            path,
            value,
            ignore_case: false,
        }
    }

    /// The same spec, comparing its path pattern ASCII-case-insensitively when `yes`.
    pub fn ignoring_case(mut self, yes: bool) -> Self {
        self.ignore_case = yes;
        self
    }
}

/// A path match as error messages show it: `prefix `/Api``, or `prefix `/Api` (any case)`.
fn describe(path: &PathMatch, ignore_case: bool) -> String {
    match ignore_case {
        true => format!("{path} (any case)"),
        false => path.to_string(),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RouteEntry<T> {
    pub(crate) value: T,
    pub(crate) kind: MatchKind,
    pub(crate) host: HostId,
    /// Template parameter names in order: `param_ids[params_start..][..params_len]` of the
    /// trie, each an index into its interned `param_names`; empty for other kinds.
    pub(crate) params_start: u32,
    pub(crate) params_len: u32,
    /// Pattern length in bytes: how a prefix route ranks when two candidate lists merge.
    pub(crate) len: u32,
    /// Found in its host's case-folded trie (see [`FoldedRoutes`]).
    pub(crate) ignore_case: bool,
}

/// The case-insensitive routes of one host: a second path trie and exact table, keyed by the
/// ASCII-lower-cased pattern and searched with the lower-cased path. Only hosts with such
/// routes have one, so the others never fold a path.
#[derive(Debug, Clone)]
struct FoldedRoutes {
    host: HostId,
    /// Root in the shared path layout (during the build: in the arena).
    root: u32,
    exact: ExactRoutes,
}

/// `RouteTrie::folded_of` entry of a host without case-insensitive routes.
const NOT_FOLDED: u32 = u32::MAX;

/// The exact routes of one host: path → route id.
type ExactRoutes = std::collections::HashMap<Box<str>, u32, foldhash::fast::RandomState>;

/// Routes for many virtual hosts, matched by `:authority` and `:path`.
///
/// See the [crate docs](crate) for the matching and precedence rules.
#[derive(Debug, Clone)]
pub struct RouteTrie<T> {
    hosts: HostTable,
    /// Path-trie root of each host, indexed by [`HostId`].
    roots: Vec<u32>,
    /// Crate-visible so tests can rebuild its segment jumps under other policies.
    pub(crate) paths: FrozenPaths,
    /// Exact routes (and templates without parameters) of each host, by path, indexed by
    /// [`HostId`]: found with one hash lookup, they never enter the path trie, which holds
    /// only templates and prefixes.
    exact: Vec<ExactRoutes>,
    /// Per host ([`HostId`]): its index in `folded`, or [`NOT_FOLDED`].
    folded_of: Vec<u32>,
    /// Case-insensitive routes of the hosts that have any.
    folded: Vec<FoldedRoutes>,
    /// Indexed by [`RouteId`].
    routes: Vec<RouteEntry<T>>,
    /// Parameter-name ids of all templates, each route's a contiguous run.
    pub(crate) param_ids: Vec<u32>,
    /// Distinct parameter names (interned: 100k templates usually share a handful).
    pub(crate) param_names: Vec<Box<str>>,
}

impl<T> Default for RouteTrie<T> {
    fn default() -> Self {
        Self {
            hosts: HostTable::default(),
            roots: Vec::new(),
            paths: FrozenPaths::default(),
            exact: Vec::new(),
            folded_of: Vec::new(),
            folded: Vec::new(),
            routes: Vec::new(),
            param_ids: Vec::new(),
            param_names: Vec::new(),
        }
    }
}

impl<T> RouteTrie<T> {
    /// Builds a trie from routes in declaration order, in one pass. Fails with every problem
    /// found (invalid patterns, conflicts naming both routes).
    pub fn build(routes: impl IntoIterator<Item = RouteSpec<T>>) -> Result<Self, BuildError> {
        let mut b = RouteTrieBuilder::new();
        for r in routes {
            b.push(r);
        }
        b.build()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Number of distinct host patterns.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// The value of a route.
    pub fn get(&self, route: RouteId) -> Option<&T> {
        self.routes.get(route.index()).map(|r| &r.value)
    }

    /// The host a route belongs to.
    pub fn host_of_route(&self, route: RouteId) -> Option<HostId> {
        self.routes.get(route.index()).map(|r| r.host)
    }

    /// The normalised pattern of a host.
    pub fn host_pattern(&self, host: HostId) -> Option<&HostPattern> {
        self.hosts.pattern(host)
    }

    pub(crate) fn entry(&self, route: u32) -> Option<&RouteEntry<T>> {
        self.routes.get(route as usize)
    }

    /// The most specific host for an authority: exact name, else longest `*.suffix`, else `*`.
    /// The port is ignored, case does not matter, one trailing dot is dropped.
    pub fn lookup_host(&self, authority: &str) -> Option<HostId> {
        self.hosts.lookup(authority)
    }

    /// All routes matching a request, most specific first. `buf` is reusable scratch space;
    /// see [`MatchBuffer`].
    pub fn lookup<'a>(
        &'a self,
        authority: &str,
        path: &'a str,
        buf: &'a mut MatchBuffer,
    ) -> Candidates<'a, T> {
        match self.lookup_host(authority) {
            Some(host) => self.lookup_path(host, path, buf),
            None => {
                buf.clear();
                Candidates {
                    trie: self,
                    host: None,
                    path,
                    buf,
                }
            }
        }
    }

    /// All routes of one host matching `path`, most specific first.
    pub fn lookup_path<'a>(
        &'a self,
        host: HostId,
        path: &'a str,
        buf: &'a mut MatchBuffer,
    ) -> Candidates<'a, T> {
        let folded = match self.folded_of.get(host.index()) {
            Some(&i) if i != NOT_FOLDED => self.folded.get(i as usize),
            _ => None,
        };
        if let Some(folded) = folded {
            self.lookup_both(host, folded, path, buf);
            return Candidates {
                trie: self,
                host: Some(host),
                path,
                buf,
            };
        }
        let exact = match self.exact.get(host.index()) {
            Some(m) if !m.is_empty() => m.get(strip_query(path)).copied(),
            _ => None,
        };
        // The path trie stops at `?` / `#` itself; `Candidates::path` cuts on demand.
        match self.roots.get(host.index()) {
            Some(root) => self.paths.lookup(*root, path, exact, buf),
            None => buf.clear(),
        }
        Candidates {
            trie: self,
            host: Some(host),
            path,
            buf,
        }
    }

    /// The lookup of a host with case-insensitive routes: both exact tables, then the
    /// templates and prefixes of its path trie (the request path) and of its folded trie (the
    /// lower-cased path), merged into the one precedence order. The folded trie holds no
    /// templates, so only exact routes and prefixes merge: exact routes in declaration order,
    /// prefixes longest first and equal lengths in declaration order, as within one trie.
    fn lookup_both(&self, host: HostId, folded: &FoldedRoutes, path: &str, buf: &mut MatchBuffer) {
        buf.clear();
        let stripped = strip_query(path);
        let mut lower = std::mem::take(&mut buf.folded);
        lower.clear();
        lower.push_str(stripped);
        lower.make_ascii_lowercase();
        let exact = |map: Option<&ExactRoutes>, p: &str| match map {
            Some(m) if !m.is_empty() => m.get(p).copied(),
            _ => None,
        };
        let mut exacts = [
            exact(self.exact.get(host.index()), stripped),
            exact(Some(&folded.exact), &lower),
        ];
        exacts.sort_unstable_by_key(|r| r.unwrap_or(u32::MAX));
        buf.cands
            .extend(exacts.into_iter().flatten().map(|route| RawCandidate {
                route,
                params_start: 0,
                params_end: 0,
            }));
        if let Some(root) = self.roots.get(host.index()) {
            self.paths.walk(*root, stripped.as_bytes(), buf);
        }
        self.paths.walk(folded.root, lower.as_bytes(), buf);
        buf.folded = lower;
        let MatchBuffer {
            cands, prefixes, ..
        } = buf;
        let start = cands.len();
        cands.extend(prefixes.iter().map(|r| RawCandidate {
            route: *r,
            params_start: 0,
            params_end: 0,
        }));
        let len = |r: u32| self.routes.get(r as usize).map_or(0, |e| e.len);
        if let Some(tail) = cands.get_mut(start..) {
            tail.sort_unstable_by_key(|c| (core::cmp::Reverse(len(c.route)), c.route));
        }
    }

    /// Approximate heap bytes of the trie, excluding the values' own heap data.
    pub fn heap_bytes(&self) -> usize {
        self.paths.heap_bytes()
            + self
                .exact
                .iter()
                .chain(self.folded.iter().map(|f| &f.exact))
                .map(|m| {
                    m.capacity() * (core::mem::size_of::<(Box<str>, u32)>() + 1)
                        + m.keys().map(|k| k.len()).sum::<usize>()
                })
                .sum::<usize>()
            + self.routes.capacity() * core::mem::size_of::<RouteEntry<T>>()
            + self.roots.capacity() * 4
            + self.folded_of.capacity() * 4
            + self.folded.capacity() * core::mem::size_of::<FoldedRoutes>()
            + self.param_ids.capacity() * 4
            + self
                .param_names
                .iter()
                .map(|n| n.len() + core::mem::size_of::<Box<str>>())
                .sum::<usize>()
    }

    /// Checks every layout invariant; for tests, fuzzing and debugging.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut found = Vec::new();
        let mut seen = Vec::new();
        if self.folded_of.len() != self.roots.len() {
            return Err("folded_of and roots differ in length".into());
        }
        for (i, f) in self.folded.iter().enumerate() {
            if self.folded_of.get(f.host.index()) != Some(&(i as u32)) {
                return Err(format!("folded routes {i} not found from their host"));
            }
        }
        let tries = self.roots.iter().enumerate().map(|(h, r)| (h, *r, false));
        let folded = self.folded.iter().map(|f| (f.host.index(), f.root, true));
        for (h, root, ignore_case) in tries.chain(folded) {
            let before = found.len();
            self.paths.check(root, &mut seen, &mut found)?;
            for (r, slot, pure) in found.get(before..).unwrap_or_default() {
                let e = self
                    .routes
                    .get(*r as usize)
                    .ok_or("route id out of range")?;
                if e.host.index() != h || e.ignore_case != ignore_case {
                    return Err(format!(
                        "route {r} found under host {h} (folded: {ignore_case}), belongs to {} \
                         (folded: {})",
                        e.host.index(),
                        e.ignore_case
                    ));
                }
                let ok = match (slot, e.kind) {
                    (Slot::Terminal | Slot::CatchAll, MatchKind::Template) => !*pure,
                    (Slot::Prefix, MatchKind::Prefix)
                    | (Slot::SepPrefix, MatchKind::PathSeparatedPrefix) => *pure,
                    _ => false,
                };
                if !ok {
                    return Err(format!(
                        "route {r} ({:?}) in slot {slot:?}, static path {pure}",
                        e.kind
                    ));
                }
            }
        }
        self.paths.check_jumps()?;
        let mut ids: Vec<u32> = found.iter().map(|f| f.0).collect();
        let tables = self.exact.iter().enumerate().map(|(h, m)| (h, m, false));
        let folded = self.folded.iter().map(|f| (f.host.index(), &f.exact, true));
        for (h, map, ignore_case) in tables.chain(folded) {
            for (key, r) in map {
                let e = self
                    .routes
                    .get(*r as usize)
                    .ok_or("route id out of range")?;
                if ignore_case && key.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(format!("folded exact key {key:?} has upper-case letters"));
                }
                if e.host.index() != h || e.kind != MatchKind::Exact || e.ignore_case != ignore_case
                {
                    return Err(format!(
                        "exact table of host {h} holds route {r} ({:?})",
                        e.kind
                    ));
                }
                ids.push(*r);
            }
        }
        ids.sort_unstable();
        if ids.len() != self.routes.len() || ids.iter().enumerate().any(|(i, r)| *r as usize != i) {
            return Err(format!(
                "{} routes stored, {} found in the tries",
                self.routes.len(),
                ids.len()
            ));
        }
        Ok(())
    }
}

/// The part of a request path that takes part in matching: everything before `?` or `#`.
pub fn strip_query(path: &str) -> &str {
    match find_query(path.as_bytes()) {
        Some(i) => path.get(..i).unwrap_or(path),
        None => path,
    }
}

/// Index of the first `?` or `#`, eight bytes at a time (this runs on every lookup of a
/// host with exact routes). A path of 8 bytes or more ends with one overlapping word instead
/// of a byte loop.
fn find_query(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = u64::from_le_bytes([0x01; 8]);
    const HI: u64 = u64::from_le_bytes([0x80; 8]);
    const Q: u64 = u64::from_le_bytes([b'?'; 8]);
    const H: u64 = u64::from_le_bytes([b'#'; 8]);
    // Flags every lane equal to `?` or `#` (and possibly lanes above one): the lowest flag
    // is always exact.
    let marks = |w: u64| {
        let (q, h) = (w ^ Q, w ^ H);
        (q.wrapping_sub(LO) & !q | h.wrapping_sub(LO) & !h) & HI
    };
    let word = |at: usize| -> Option<u64> {
        let w: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(w))
    };
    let n = bytes.len();
    if n < 8 {
        return bytes.iter().position(|b| matches!(b, b'?' | b'#'));
    }
    let mut at = 0;
    while at + 8 <= n {
        let m = marks(word(at)?);
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at < n {
        let m = marks(word(n - 8)?);
        if m != 0 {
            return Some(n - 8 + (m.trailing_zeros() / 8) as usize);
        }
    }
    None
}

/// Builds a [`RouteTrie`] route by route, collecting every error.
#[derive(Debug)]
pub struct RouteTrieBuilder<T> {
    /// Hosts and routes; its `paths` stay empty until [`Self::build`] freezes `arena`.
    trie: RouteTrie<T>,
    arena: PathArena,
    errors: Vec<RouteError>,
    /// Routes pushed so far, including rejected ones: ids are positions.
    count: usize,
    /// Interning table for parameter names.
    name_ids: std::collections::HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl<T> Default for RouteTrieBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> RouteTrieBuilder<T> {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            trie: RouteTrie::default(),
            arena: PathArena::default(),
            errors: Vec::new(),
            count: 0,
            name_ids: std::collections::HashMap::default(),
        }
    }

    /// An empty builder with room for `routes` routes.
    pub fn with_capacity(routes: usize) -> Self {
        let mut b = Self::new();
        b.trie.routes.reserve(routes);
        b
    }

    /// Adds the next route; its id is its position. Problems are reported by [`Self::build`].
    pub fn push(&mut self, spec: RouteSpec<T>) -> RouteId {
        let n = self.count;
        self.count += 1;
        let id = RouteId(u32::try_from(n).unwrap_or(u32::MAX));
        if n >= MAX_ROUTES {
            self.errors.push(RouteError::CapacityExceeded {
                what: "routes",
                limit: MAX_ROUTES,
            });
            return id;
        }
        if let Err(e) = self.insert(id, spec) {
            self.errors.push(e);
        }
        id
    }

    fn insert(&mut self, id: RouteId, spec: RouteSpec<T>) -> Result<(), RouteError> {
        let RouteSpec {
            host,
            path,
            value,
            ignore_case,
        } = spec;
        let pattern = HostPattern::parse(&host).map_err(|reason| RouteError::InvalidHost {
            route: id,
            host: host.clone(),
            reason,
        })?;
        let invalid = |reason: PatternError| RouteError::InvalidPath {
            route: id,
            path: describe(&path, ignore_case),
            reason,
        };
        let capacity = |what| RouteError::CapacityExceeded {
            what,
            limit: u32::MAX as usize,
        };
        let (host_id, fresh) = self.trie.hosts.intern(pattern).ok_or(capacity("hosts"))?;
        if fresh {
            let root = self
                .arena
                .new_root()
                .map_err(|_| capacity("path trie nodes"))?;
            self.trie.roots.push(root);
            self.trie.exact.push(ExactRoutes::default());
            self.trie.folded_of.push(NOT_FOLDED);
        }
        if ignore_case && matches!(path, PathMatch::Template(_)) {
            return Err(invalid(PatternError::CaseInsensitiveTemplate));
        }
        let (root, exact) = match ignore_case {
            false => (
                *self
                    .trie
                    .roots
                    .get(host_id.index())
                    .ok_or(capacity("hosts"))?,
                self.trie
                    .exact
                    .get_mut(host_id.index())
                    .ok_or(capacity("hosts"))?,
            ),
            true => {
                let slot = self
                    .trie
                    .folded_of
                    .get_mut(host_id.index())
                    .ok_or(capacity("hosts"))?;
                if *slot == NOT_FOLDED {
                    *slot = u32::try_from(self.trie.folded.len()).map_err(|_| capacity("hosts"))?;
                    let root = self
                        .arena
                        .new_root()
                        .map_err(|_| capacity("path trie nodes"))?;
                    self.trie.folded.push(FoldedRoutes {
                        host: host_id,
                        root,
                        exact: ExactRoutes::default(),
                    });
                }
                let f = self
                    .trie
                    .folded
                    .get_mut(*slot as usize)
                    .ok_or(capacity("hosts"))?;
                (f.root, &mut f.exact)
            }
        };
        let arena = &mut self.arena;
        // A case-insensitive route is stored under its lower-cased pattern (same length).
        let folded;
        let path_key = match ignore_case {
            true => {
                folded = path.pattern().to_ascii_lowercase();
                folded.as_str()
            }
            false => path.pattern(),
        };
        let (kind, params, result) = match &path {
            PathMatch::Exact(p) => {
                check_common(p).map_err(invalid)?;
                (
                    MatchKind::Exact,
                    Vec::new(),
                    claim_exact(exact, path_key, id),
                )
            }
            PathMatch::Prefix(p) => {
                check_common(p).map_err(invalid)?;
                (
                    MatchKind::Prefix,
                    Vec::new(),
                    claim_static(arena, root, path_key, Slot::Prefix, id),
                )
            }
            PathMatch::PathSeparatedPrefix(p) => {
                check_common(p).map_err(invalid)?;
                if p.ends_with('/') {
                    return Err(invalid(PatternError::SeparatedPrefixTrailingSlash));
                }
                (
                    MatchKind::PathSeparatedPrefix,
                    Vec::new(),
                    claim_static(arena, root, path_key, Slot::SepPrefix, id),
                )
            }
            PathMatch::Template(t) => {
                let mut pieces = Vec::new();
                parse_template(t, &mut pieces).map_err(invalid)?;
                let names = pieces.iter().filter_map(|p| match p {
                    Piece::Param(n) | Piece::CatchAll(n) => Some(*n),
                    Piece::Static(_) => None,
                });
                let kind = if names.clone().next().is_none() {
                    MatchKind::Exact
                } else {
                    MatchKind::Template
                };
                let result = if kind == MatchKind::Exact {
                    claim_exact(exact, t, id)
                } else {
                    insert_template(arena, root, &pieces, id)
                };
                (kind, names.collect(), result)
            }
        };
        match result {
            Ok(()) => {}
            Err(InsertError::Conflict(existing)) => {
                return Err(RouteError::Conflict {
                    existing: RouteId(existing),
                    new: id,
                    host: self
                        .trie
                        .hosts
                        .pattern(host_id)
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    path: describe(&path, ignore_case),
                });
            }
            Err(InsertError::Capacity(what)) => return Err(capacity(what)),
        }
        let params_start =
            u32::try_from(self.trie.param_ids.len()).map_err(|_| capacity("parameter names"))?;
        for name in &params {
            let next = u32::try_from(self.trie.param_names.len())
                .map_err(|_| capacity("parameter names"))?;
            let id = match self.name_ids.get(*name) {
                Some(id) => *id,
                None => {
                    self.name_ids.insert((*name).into(), next);
                    self.trie.param_names.push((*name).into());
                    next
                }
            };
            self.trie.param_ids.push(id);
        }
        self.trie.routes.push(RouteEntry {
            value,
            kind,
            host: host_id,
            params_start,
            // At most MAX_TEMPLATE_PARAMS.
            params_len: params.len() as u32,
            // At most MAX_PATTERN_LEN (checked above).
            len: path.pattern().len() as u32,
            ignore_case,
        });
        Ok(())
    }

    /// Finishes the build: the trie, or every problem found.
    pub fn build(self) -> Result<RouteTrie<T>, BuildError> {
        let mut freeze = self.freeze_in_steps()?;
        while !freeze.step(usize::MAX) {}
        freeze.finish()
    }

    /// Finishes the build in bounded steps ([`RouteTrieFreeze`]), or fails with every
    /// problem found while pushing.
    pub fn freeze_in_steps(self) -> Result<RouteTrieFreeze<T>, BuildError> {
        let Self {
            mut trie,
            arena,
            errors,
            ..
        } = self;
        if !errors.is_empty() {
            return Err(BuildError::new(errors));
        }
        // The folded roots are laid out with the others, after them.
        let mut roots = std::mem::take(&mut trie.roots);
        let hosts = roots.len();
        roots.extend(trie.folded.iter().map(|f| f.root));
        Ok(RouteTrieFreeze {
            trie,
            hosts,
            freeze: Freeze::new(arena, roots),
        })
    }
}

/// The last part of a build — laying the path tries out for lookups and building their segment
/// jumps — done a bounded amount at a time, so that a worker can build a large table between
/// requests while another one serves. [`RouteTrieBuilder::build`] is this run to its end.
#[derive(Debug)]
pub struct RouteTrieFreeze<T> {
    trie: RouteTrie<T>,
    /// Number of hosts: the roots after them are the folded tries'.
    hosts: usize,
    freeze: Freeze,
}

impl<T> RouteTrieFreeze<T> {
    /// Does at most about `budget` units of work (a unit is one trie node copied, flagged or
    /// examined for jumps, or one jump entry placed); true once [`Self::finish`] may be called.
    pub fn step(&mut self, budget: usize) -> bool {
        self.freeze.step(budget)
    }

    /// The trie, once [`Self::step`] returned true.
    pub fn finish(self) -> Result<RouteTrie<T>, BuildError> {
        let Self {
            mut trie,
            hosts,
            freeze,
        } = self;
        match freeze.finish() {
            Ok((paths, mut roots)) => {
                let folded_roots = roots.split_off(hosts.min(roots.len()));
                for (f, root) in trie.folded.iter_mut().zip(folded_roots) {
                    f.root = root;
                }
                trie.paths = paths;
                trie.roots = roots;
                trie.routes.shrink_to_fit();
                trie.param_ids.shrink_to_fit();
                for m in trie
                    .exact
                    .iter_mut()
                    .chain(trie.folded.iter_mut().map(|f| &mut f.exact))
                {
                    m.shrink_to_fit();
                }
                Ok(trie)
            }
            Err(_) => Err(BuildError::new(vec![RouteError::CapacityExceeded {
                what: "path trie nodes",
                limit: u32::MAX as usize,
            }])),
        }
    }
}

/// Puts an exact route (or a template without parameters) into its host's table.
fn claim_exact(exact: &mut ExactRoutes, path: &str, id: RouteId) -> Result<(), InsertError> {
    match exact.entry(path.into()) {
        std::collections::hash_map::Entry::Occupied(o) => Err(InsertError::Conflict(*o.get())),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(id.0);
            Ok(())
        }
    }
}

fn claim_static(
    arena: &mut PathArena,
    root: u32,
    p: &str,
    slot: Slot,
    id: RouteId,
) -> Result<(), InsertError> {
    let n = arena.insert_static(root, p.as_bytes())?;
    arena.claim(n, slot, id.0)
}

fn insert_template(
    arena: &mut PathArena,
    root: u32,
    pieces: &[Piece<'_>],
    id: RouteId,
) -> Result<(), InsertError> {
    let mut n = root;
    for piece in pieces {
        match piece {
            Piece::Static(s) => n = arena.insert_static(n, s.as_bytes())?,
            Piece::Param(_) => n = arena.param_child(n)?,
            Piece::CatchAll(_) => return arena.claim(n, Slot::CatchAll, id.0),
        }
    }
    arena.claim(n, Slot::Terminal, id.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits<T: Copy>(trie: &RouteTrie<T>, host: &str, path: &str) -> Vec<T> {
        let mut buf = MatchBuffer::new();
        trie.lookup(host, path, &mut buf)
            .iter()
            .map(|m| *m.value)
            .collect()
    }

    fn any_case<T>(path: PathMatch, value: T) -> RouteSpec<T> {
        RouteSpec::new("*", path, value).ignoring_case(true)
    }

    #[test]
    fn case_insensitive_routes_match_any_ascii_case() {
        let trie = RouteTrie::build([
            any_case(PathMatch::Prefix("/Api".into()), "prefix"),
            any_case(PathMatch::Exact("/API/Login".into()), "exact"),
            any_case(PathMatch::PathSeparatedPrefix("/Docs".into()), "docs"),
        ])
        .unwrap();
        trie.check_invariants().unwrap();
        assert_eq!(hits(&trie, "h", "/api/login?X=Y"), ["exact", "prefix"]);
        assert_eq!(hits(&trie, "h", "/aPI/LOGIN"), ["exact", "prefix"]);
        assert_eq!(hits(&trie, "h", "/APIs"), ["prefix"]);
        assert_eq!(hits(&trie, "h", "/DOCS/x"), ["docs"]);
        assert_eq!(hits(&trie, "h", "/docsx"), Vec::<&str>::new());
        assert_eq!(hits(&trie, "h", "/ap"), Vec::<&str>::new());
        // Only ASCII letters fold.
        let trie = RouteTrie::build([any_case(PathMatch::Prefix("/é".into()), "e")]).unwrap();
        assert_eq!(hits(&trie, "h", "/é"), ["e"]);
        assert_eq!(hits(&trie, "h", "/É"), Vec::<&str>::new());
    }

    #[test]
    fn case_sensitive_and_insensitive_candidates_merge_in_precedence_order() {
        let trie = RouteTrie::build([
            RouteSpec::new("*", PathMatch::Prefix("/a".into()), 0),
            any_case(PathMatch::Prefix("/A/B".into()), 1),
            RouteSpec::new("*", PathMatch::Template("/a/{x}".into()), 2),
            any_case(PathMatch::Prefix("/a".into()), 3),
            RouteSpec::new("*", PathMatch::Exact("/a/b".into()), 4),
            any_case(PathMatch::Exact("/a/B".into()), 5),
            RouteSpec::new("*", PathMatch::PathSeparatedPrefix("/a/b".into()), 6),
        ])
        .unwrap();
        trie.check_invariants().unwrap();
        // Exact routes in declaration order, templates, then prefixes longest first with
        // equal lengths in declaration order, whichever trie they come from.
        assert_eq!(hits(&trie, "h", "/a/b"), [4, 5, 2, 1, 6, 0, 3]);
        assert_eq!(hits(&trie, "h", "/A/b"), [5, 1, 3]);
        let mut buf = MatchBuffer::new();
        let c = trie.lookup("h", "/a/B", &mut buf);
        assert_eq!(hits(&trie, "h", "/a/B"), [5, 2, 1, 0, 3]);
        assert_eq!(c.get(1).unwrap().params.get("x"), Some("B"));
    }

    #[test]
    fn routes_differing_only_in_case_sensitivity_are_distinct() {
        let trie = RouteTrie::build([
            RouteSpec::new("*", PathMatch::Prefix("/api".into()), "sensitive"),
            any_case(PathMatch::Prefix("/api".into()), "any"),
        ])
        .unwrap();
        assert_eq!(hits(&trie, "h", "/api"), ["sensitive", "any"]);
        assert_eq!(hits(&trie, "h", "/API"), ["any"]);
    }

    #[test]
    fn equal_folded_patterns_conflict() {
        let err = RouteTrie::build([
            any_case(PathMatch::Prefix("/Api".into()), "a"),
            any_case(PathMatch::Prefix("/aPI".into()), "b"),
            any_case(PathMatch::Exact("/X".into()), "c"),
            any_case(PathMatch::Exact("/x".into()), "d"),
        ])
        .unwrap_err();
        let messages: Vec<String> = err.errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "route #1 (* prefix `/aPI` (any case)) conflicts with route #0: both match \
                 exactly the same requests",
                "route #3 (* exact `/x` (any case)) conflicts with route #2: both match exactly \
                 the same requests",
            ]
        );
    }

    #[test]
    fn templates_cannot_ignore_case() {
        let err =
            RouteTrie::build([any_case(PathMatch::Template("/u/{id}".into()), "t")]).unwrap_err();
        assert_eq!(
            err.errors(),
            [RouteError::InvalidPath {
                route: RouteId(0),
                path: "template `/u/{id}` (any case)".into(),
                reason: PatternError::CaseInsensitiveTemplate,
            }]
        );
    }

    #[test]
    fn hosts_without_case_insensitive_routes_never_fold() {
        let trie = RouteTrie::build([
            RouteSpec::new("a.com", PathMatch::Prefix("/x".into()), "a"),
            any_case(PathMatch::Prefix("/X".into()), "any"),
        ])
        .unwrap();
        trie.check_invariants().unwrap();
        let mut buf = MatchBuffer::new();
        let _ = trie.lookup("a.com", "/X", &mut buf);
        assert!(buf.folded.is_empty());
        assert_eq!(hits(&trie, "b.com", "/x"), ["any"]);
        assert!(trie.heap_bytes() > 0);
    }

    #[test]
    fn match_keys_fold_only_case_insensitive_patterns() {
        use std::hash::BuildHasher;
        let s = foldhash::fast::FixedState::default();
        let p = |x: &str| PathMatch::Prefix(x.into());
        assert_eq!(p("/Api").key(true), p("/aPI").key(true));
        assert_eq!(
            s.hash_one(p("/Api").key(true)),
            s.hash_one(p("/aPI").key(true))
        );
        assert_ne!(p("/Api").key(false), p("/aPI").key(false));
        assert_ne!(p("/api").key(false), p("/api").key(true));
        assert_ne!(
            p("/api").key(true),
            PathMatch::Exact("/api".into()).key(true)
        );
    }

    #[test]
    fn strip_query_finds_the_first_marker_at_any_offset() {
        for len in 0..40 {
            let base = "a".repeat(len);
            assert_eq!(strip_query(&base), base);
            for (marker, tail) in [('?', "x?y#z"), ('#', "x#y?z")] {
                let path = format!("{base}{marker}{tail}");
                assert_eq!(strip_query(&path), base, "{path}");
            }
        }
        assert_eq!(strip_query("/é?ü"), "/é");
    }
}
