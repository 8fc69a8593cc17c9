//! The lookup core of trieguard: [`RouteTrie`] picks the routes for a request by host and
//! path in time proportional to the path, not to the number of routes, and [`HashTrieMap`]
//! maps exact keys (API-key digests, consumers, cache entries) with growth in bounded steps.
//! No I/O and no proxy-wasm here: both are plain data structures, tested natively.
//!
//! # How a lookup works
//!
//! `:authority` selects one virtual host (a [`HostPattern`]), then the path is matched in that
//! host's path trie only (as in Envoy, there is no fallback to a less specific host):
//!
//! 1. the port and one trailing dot are dropped and the host is lower-cased; an exact name
//!    wins, else the longest `*.suffix` or `*-partial.suffix`, else the longest `prefix*`,
//!    else `*` (see [`host`]);
//! 2. the path up to `?` or `#` (the query string never takes part) is looked up in the
//!    host's hash table of exact routes (exact paths and templates without parameters);
//! 3. the host's path trie, which holds only templates and prefixes, is searched depth-first
//!    and every matching route is written to a reusable [`MatchBuffer`] (no allocation once
//!    the buffer has grown), in precedence order, after the exact route. The walk stops at
//!    `?` or `#` itself (no label contains them), so the path is not cut first.
//!
//! The path trie is a byte-level radix tree. Prefix routes end at static nodes; templates add
//! a param edge (`{id}`: one non-empty segment) and a catch-all slot (`{*rest}`: the
//! non-empty remainder). It is built in a growable form and then frozen into one array of
//! fixed-size nodes, addressed by `u32`, where the static children of a node are one
//! contiguous run:
//!
//! ```text
//!   ┌────────────── node (64 bytes = one cache line, no heap of its own) ──────────┐
//!   │ label: ≤ 16 bytes inline (one masked 16-byte compare), else (start, len) in   │
//!   │        the label pool; Param marker                                          │
//!   │ children: nodes[child_start .. child_start+child_count]                      │
//!   │ kids:  first label bytes of the first 15 children, one byte lane each: one   │
//!   │        16-byte compare picks the only static child that can continue the path│
//!   │        (more children: first[child_start+15 ..], eight at a time)             │
//!   │ param ─────► param node (takes one segment, children start with '/')         │
//!   │ catch_all: route id    ({*rest} below this node)                             │
//!   │ terminal:  route id    (a template ends here)                                │
//!   │ prefix / sep_prefix: route ids (a prefix ends here)                          │
//!   │ flags: which of the above are set, param node, segment jumps (one test on    │
//!   │        pass-through)                                                         │
//!   └──────────────────────────────────────────────────────────────────────────────┘
//!
//!   routes /users/{id}/orders, /users/me, /static/{*rest}, prefix /u
//!
//!   exact table: "/users/me" → route
//!   root "" ── "/" ─┬─ "u" [prefix] ── "sers/" ── {param} ── "/orders" [terminal]
//!                   └─ "static/" [catch_all]
//! ```
//!
//! The search is depth-first and follows the static edge in a loop, pushing only the param
//! and catch-all alternatives on a stack in the [`MatchBuffer`]; every node is visited at most
//! once per lookup, so the cost is bounded by the path length and the nodes it can reach,
//! never by the number of routes.
//!
//! Each step down is a dependent load, and a byte-level tree splits numbered names (tenant
//! ids, versions) into chains of one-digit nodes. Where that pays, a node has *segment
//! jumps*: one hash table, shared by all nodes, maps (node, the path bytes after it up to
//! its k-th `/`) to the node whose label ends at that `/` (or straight to its param node if
//! it has nothing else), provided no node in between holds a route or a param or catch-all
//! edge. The lookup hashes that stretch of the path once and lands there with one probe; on
//! a miss it walks the children as before, so a jump never changes what a lookup returns:
//!
//! ```text
//!   templates /tenants/t0000249/orders/v3/{id}/items/{item}, … (10k, 250 tenants)
//!
//!   walk: "/tenants/t0000" → "2" → "4" → "9/" → "orders/v" → "3/" → {id} → "/items/" → {item}
//!   jump: "/tenants/t0000" ══ ("249/orders/v3/", 3 slashes) ══════════► {id} → "/items/" → {item}
//! ```
//!
//! # Precedence
//!
//! A lookup returns every matching route, most specific first, so the engine can check
//! method and header predicates in order and take the first that holds:
//!
//! 1. the exact route (at most one: two identical matches are a build error; a template
//!    without parameters is an exact route);
//! 2. templates; at the first segment where two templates differ, a static segment beats
//!    `{param}`, which beats `{*catch_all}`;
//! 3. prefix and path-separated-prefix routes, longest first; equal lengths in declaration
//!    order.
//!
//! ```
//! use trie_routes::{MatchBuffer, MatchKind, PathMatch, RouteSpec, RouteTrie};
//!
//! let trie = RouteTrie::build([
//!     RouteSpec::new("*", PathMatch::Prefix("/".into()), "root"),
//!     RouteSpec::new("*", PathMatch::Template("/users/{*rest}".into()), "users-any"),
//!     RouteSpec::new("*", PathMatch::Template("/users/{id}".into()), "user"),
//!     RouteSpec::new("*", PathMatch::Exact("/users/me".into()), "me"),
//!     RouteSpec::new("*", PathMatch::PathSeparatedPrefix("/users".into()), "users-tree"),
//! ])?;
//! let mut buf = MatchBuffer::new();
//! let found: Vec<_> = trie.lookup("example.com", "/users/me?x=1", &mut buf).iter().map(|m| *m.value).collect();
//! assert_eq!(found, ["me", "user", "users-any", "users-tree", "root"]);
//!
//! let c = trie.lookup("example.com", "/users/42", &mut buf);
//! let first = c.first().unwrap();
//! assert_eq!((first.kind, first.params.get("id")), (MatchKind::Template, Some("42")));
//! # Ok::<(), trie_routes::BuildError>(())
//! ```
//!
//! Static beats a parameter at the first segment where templates differ, whatever comes later:
//!
//! ```
//! # use trie_routes::{MatchBuffer, PathMatch, RouteSpec, RouteTrie};
//! let t = |s: &str| PathMatch::Template(s.into());
//! let trie = RouteTrie::build([
//!     RouteSpec::new("*", t("/{org}/repos/{repo}"), 0),
//!     RouteSpec::new("*", t("/acme/{kind}/{name}"), 1),
//!     RouteSpec::new("*", t("/acme/{*path}"), 2),
//! ])?;
//! let mut buf = MatchBuffer::new();
//! let order: Vec<_> = trie.lookup("h", "/acme/repos/x", &mut buf).iter().map(|m| *m.value).collect();
//! assert_eq!(order, [1, 2, 0]);
//! # Ok::<(), trie_routes::BuildError>(())
//! ```
//!
//! Prefixes: `prefix` is a raw string prefix, `path_separated_prefix` stops at segment
//! boundaries, and parameters never match an empty segment:
//!
//! ```
//! # use trie_routes::{MatchBuffer, PathMatch, RouteSpec, RouteTrie};
//! let trie = RouteTrie::build([
//!     RouteSpec::new("*", PathMatch::Prefix("/api/dev".into()), "raw"),
//!     RouteSpec::new("*", PathMatch::PathSeparatedPrefix("/api/dev".into()), "separated"),
//!     RouteSpec::new("*", PathMatch::Template("/static/{*rest}".into()), "static"),
//! ])?;
//! let mut buf = MatchBuffer::new();
//! let mut hits = |p: &str| -> Vec<&str> { trie.lookup("h", p, &mut buf).iter().map(|m| *m.value).collect() };
//! assert_eq!(hits("/api/dev/x"), ["raw", "separated"]); // same length: declaration order
//! assert_eq!(hits("/api/developer"), ["raw"]);
//! assert_eq!(hits("/static/"), Vec::<&str>::new()); // a catch-all needs at least one byte
//! assert_eq!(hits("/static/a/b.css"), ["static"]);
//! # Ok::<(), trie_routes::BuildError>(())
//! ```
//!
//! Case-insensitive routes ([`RouteSpec::ignoring_case`], Envoy's `case_sensitive: false`;
//! exact, prefix and path-separated-prefix only) compare ASCII letters in any case. A host
//! that has any keeps them in a second exact table and path trie, keyed by the lower-cased
//! pattern and searched with the lower-cased path, so hosts without them never fold a path;
//! the two candidate lists merge into the order above (exact routes, then templates, then
//! prefixes longest first; equal ranks in declaration order). A route and its case-insensitive
//! twin are two routes; two case-insensitive routes equal but for case conflict:
//!
//! ```
//! # use trie_routes::{MatchBuffer, PathMatch, RouteSpec, RouteTrie};
//! let trie = RouteTrie::build([
//!     RouteSpec::new("*", PathMatch::Prefix("/api".into()), "exact-case"),
//!     RouteSpec::new("*", PathMatch::Prefix("/Api/V1".into()), "any-case").ignoring_case(true),
//! ])?;
//! let mut buf = MatchBuffer::new();
//! let mut hits = |p: &str| -> Vec<&str> { trie.lookup("h", p, &mut buf).iter().map(|m| *m.value).collect() };
//! assert_eq!(hits("/api/v1/x"), ["any-case", "exact-case"]); // longest prefix first
//! assert_eq!(hits("/API/v1"), ["any-case"]);
//! # Ok::<(), trie_routes::BuildError>(())
//! ```
//!
//! Hosts: exact beats the longest wildcard, which beats `*`; ports and case are ignored and a
//! wildcard never matches an empty label:
//!
//! ```
//! # use trie_routes::{MatchBuffer, PathMatch, RouteSpec, RouteTrie};
//! let p = || PathMatch::Prefix("/".into());
//! let trie = RouteTrie::build([
//!     RouteSpec::new("*", p(), "default"),
//!     RouteSpec::new("*.example.com", p(), "wild"),
//!     RouteSpec::new("*.api.example.com", p(), "api-wild"),
//!     RouteSpec::new("api.example.com", p(), "api"),
//! ])?;
//! let mut buf = MatchBuffer::new();
//! let mut host = |a: &str| *trie.lookup(a, "/", &mut buf).first().unwrap().value;
//! assert_eq!(host("API.example.com:8443"), "api");
//! assert_eq!(host("api.example.com."), "api");
//! assert_eq!(host("v2.api.example.com"), "api-wild");
//! assert_eq!(host("www.example.com"), "wild");
//! assert_eq!(host("example.com"), "default");
//! # Ok::<(), trie_routes::BuildError>(())
//! ```
//!
//! Two routes that match exactly the same requests are rejected, naming both:
//!
//! ```
//! # use trie_routes::{PathMatch, RouteError, RouteSpec, RouteTrie};
//! let err = RouteTrie::build([
//!     RouteSpec::new("*", PathMatch::Template("/users/{id}".into()), ()),
//!     RouteSpec::new("*", PathMatch::Template("/users/{name}".into()), ()),
//! ])
//! .unwrap_err();
//! assert_eq!(
//!     err.errors()[0].to_string(),
//!     "route #1 (* template `/users/{name}`) conflicts with route #0: both match exactly the same requests"
//! );
//! ```
//!
//! # `HashTrieMap`
//!
//! A hash-array-mapped trie under a directly indexed root table. The top hash bits pick a
//! root slot (about one key per slot), which holds a leaf, a bucket of up to 8 leaves, or a
//! bitmap branch: 6 hash bits per level pick one of 64 slots, and a 64-bit bitmap says which
//! slots exist, so a branch stores only the entries it has. The root table doubles when it is
//! full, and its slots are split into the new table two per later insert or remove, so no
//! insert rehashes the map: an insert touches a bounded number of root slots and one node
//! per level (at most [`hamt::MAX_DEPTH`]). See [`hamt`].

pub mod candidates;
pub mod error;
mod frozen;
pub mod hamt;
pub mod host;
pub mod limits;
mod path_trie;
pub mod pattern;
pub mod route;

pub use candidates::{Candidates, MatchBuffer, MatchKind, Params, RouteMatch};
pub use error::{BuildError, HostError, PatternError, RouteError};
pub use hamt::{FreeingMap, HashTrieMap};
pub use host::{HostId, HostPattern};
pub use pattern::{MatchKey, PathMatch};
pub use route::{RouteId, RouteSpec, RouteTrie, RouteTrieBuilder, RouteTrieFreeze, strip_query};
