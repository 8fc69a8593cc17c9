//! Property tests: `RouteTrie` against a naive linear matcher written straight from the
//! documented semantics (host selection, the four path kinds, case-insensitive matches,
//! precedence, conflicts).

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it in tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use trie_routes::{MatchBuffer, PathMatch, RouteError, RouteSpec, RouteTrie, RouteTrieBuilder};

const HOSTS: &[&str] = &[
    "*",
    "a.com",
    "*.a.com",
    "*.b.a.com",
    "b.a.com",
    "A.com.",
    "*-b.a.com",
    "*b.a.com",
];
const AUTHORITIES: &[&str] = &[
    "a.com",
    "x.a.com",
    "b.a.com",
    "c.b.a.com",
    "A.COM:80",
    "other",
    "a.com.",
    ".a.com",
    "x..a.com",
    "B.A.com:1",
    "x-b.a.com",
    "xb.a.com",
    "-b.a.com",
    "c.x-B.a.com",
    "x.-b.a.com",
];
const LITERALS: &[&str] = &["a", "b", "ab", "", "x", "A", "aB"];
const REQUEST_SEGMENTS: &[&str] = &[
    "a", "b", "a", "b", "ab", "", "x", "a?b", "b#c", "A", "AB", "aB", "B?A",
];

/// (host, path match, ignore case).
type Route = (&'static str, PathMatch, bool);

fn spec(i: usize, (h, m, ignore_case): &Route) -> RouteSpec<usize> {
    RouteSpec::new(*h, m.clone(), i).ignoring_case(*ignore_case)
}

#[derive(Debug, Clone)]
enum Seg {
    Lit(&'static str),
    Param,
}

fn literal_path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LITERALS), 0..4)
        .prop_map(|s| format!("/{}", s.join("/")))
}

fn template() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        prop::sample::select(&LITERALS[..3]).prop_map(Seg::Lit),
        Just(Seg::Param)
    ];
    (prop::collection::vec(seg, 1..4), any::<bool>()).prop_map(|(segs, catch_all)| {
        let mut parts: Vec<String> = segs
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Seg::Lit(l) => (*l).to_string(),
                Seg::Param => format!("{{p{i}}}"),
            })
            .collect();
        if catch_all {
            parts.push("{*rest}".into());
        }
        format!("/{}", parts.join("/"))
    })
}

fn path_match() -> impl Strategy<Value = PathMatch> {
    prop_oneof![
        1 => literal_path().prop_map(PathMatch::Exact),
        1 => literal_path().prop_map(PathMatch::Prefix),
        1 => literal_path().prop_map(|p| {
            let t = p.trim_end_matches('/');
            PathMatch::PathSeparatedPrefix(if t.is_empty() { "/a".into() } else { t.into() })
        }),
        3 => template().prop_map(PathMatch::Template),
    ]
}

/// Most routes go to two hosts, so that many routes compete for the same request.
fn host() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("*"), 4 => Just("a.com"), 2 => prop::sample::select(HOSTS)]
}

/// About a third of the non-template routes ignore case (templates cannot).
fn routes() -> impl Strategy<Value = Vec<Route>> {
    prop::collection::vec((host(), path_match(), prop::bool::weighted(0.35)), 0..32).prop_map(
        |routes| {
            routes
                .into_iter()
                .map(|(h, m, i)| {
                    let i = i && !matches!(m, PathMatch::Template(_));
                    (h, m, i)
                })
                .collect()
        },
    )
}

fn request() -> impl Strategy<Value = (&'static str, String)> {
    (
        prop_oneof![2 => Just("a.com"), 2 => Just("other"), 3 => prop::sample::select(AUTHORITIES)],
        prop::collection::vec(prop::sample::select(REQUEST_SEGMENTS), 0..5),
        prop::option::of(Just("?q=/a")),
    )
        .prop_map(|(a, segs, q)| (a, format!("/{}{}", segs.join("/"), q.unwrap_or(""))))
}

// ---- the naive model ----

fn norm_pattern(h: &str) -> String {
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

fn norm_authority(a: &str) -> String {
    let h = match a.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => a,
    };
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

/// Rank of `pattern` for `host` (lower is better), or None if it does not match.
fn host_rank(pattern: &str, host: &str) -> Option<(u8, usize)> {
    if pattern == "*" {
        return Some((2, 0));
    }
    // `*.suffix` and `*-partial.suffix`: something in front, and no empty label anywhere.
    if let Some(suffix) = pattern.strip_prefix('*') {
        let front = host.strip_suffix(suffix)?;
        let ok = !front.is_empty() && host.split('.').all(|l| !l.is_empty());
        return ok.then_some((1, usize::MAX - suffix.len()));
    }
    (pattern == host).then_some((0, 0))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Byte(u8),
    Param(String),
    CatchAll(String),
}

fn tokens(t: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').unwrap();
            let name = &r[..end];
            out.push(match name.strip_prefix('*') {
                Some(n) => Tok::CatchAll(n.into()),
                None => Tok::Param(name.into()),
            });
            rest = &r[end + 1..];
        } else {
            out.push(Tok::Byte(rest.as_bytes()[0]));
            rest = &rest[1..];
        }
    }
    out
}

fn match_tokens(toks: &[Tok], path: &str) -> Option<Vec<(String, String)>> {
    let mut pos = 0;
    let mut params = Vec::new();
    for t in toks {
        match t {
            Tok::Byte(b) => {
                if path.as_bytes().get(pos) != Some(b) {
                    return None;
                }
                pos += 1;
            }
            Tok::Param(n) => {
                let seg = path[pos..].find('/').unwrap_or(path.len() - pos);
                if seg == 0 {
                    return None;
                }
                params.push((n.clone(), path[pos..pos + seg].to_string()));
                pos += seg;
            }
            Tok::CatchAll(n) => {
                if pos == path.len() {
                    return None;
                }
                params.push((n.clone(), path[pos..].to_string()));
                pos = path.len();
            }
        }
    }
    (pos == path.len()).then_some(params)
}

fn rank(t: &Tok) -> u8 {
    match t {
        Tok::Byte(_) => 0,
        Tok::Param(_) => 1,
        Tok::CatchAll(_) => 2,
    }
}

/// Identity of a route for conflict detection.
fn key((host, m, ignore_case): &Route) -> (String, u8, String) {
    let h = norm_pattern(host);
    let fold = |s: &str| match ignore_case {
        true => format!("any case {}", s.to_ascii_lowercase()),
        false => s.to_string(),
    };
    match m {
        PathMatch::Exact(s) => (h, 0, fold(s)),
        PathMatch::Prefix(s) => (h, 2, fold(s)),
        PathMatch::PathSeparatedPrefix(s) => (h, 3, fold(s)),
        PathMatch::Template(t) => {
            let toks = tokens(t);
            if toks.iter().all(|t| matches!(t, Tok::Byte(_))) {
                return (h, 0, t.clone());
            }
            let shape: String = toks
                .iter()
                .map(|t| match t {
                    Tok::Byte(b) => (*b as char).to_string(),
                    Tok::Param(_) => "{}".into(),
                    Tok::CatchAll(_) => "{*}".into(),
                })
                .collect();
            (h, 1, shape)
        }
    }
}

/// (route id, params) in precedence order.
fn naive(routes: &[Route], authority: &str, path: &str) -> Vec<(usize, Vec<(String, String)>)> {
    let request_path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let lower_path = request_path.to_ascii_lowercase();
    let host = norm_authority(authority);
    let Some(best) = routes
        .iter()
        .filter_map(|(h, _, _)| host_rank(&norm_pattern(h), &host))
        .min()
    else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    for (id, (h, m, ignore_case)) in routes.iter().enumerate() {
        if host_rank(&norm_pattern(h), &host) != Some(best) {
            continue;
        }
        // Case-insensitive: both sides lower-cased (Envoy's ASCII `StartsWithIgnoreCase`).
        let lower_match;
        let (path, m) = match ignore_case {
            true => {
                lower_match = match m {
                    PathMatch::Exact(s) => PathMatch::Exact(s.to_ascii_lowercase()),
                    PathMatch::Prefix(s) => PathMatch::Prefix(s.to_ascii_lowercase()),
                    PathMatch::PathSeparatedPrefix(s) => {
                        PathMatch::PathSeparatedPrefix(s.to_ascii_lowercase())
                    }
                    PathMatch::Template(_) => unreachable!("templates never ignore case"),
                };
                (lower_path.as_str(), &lower_match)
            }
            false => (request_path, m),
        };
        // (class, template ranks, -prefix len, id)
        let (hit, class, toks, len) = match m {
            PathMatch::Exact(s) => ((s == path).then(Vec::new), 0, Vec::new(), 0),
            PathMatch::Prefix(s) => (
                path.starts_with(s.as_str()).then(Vec::new),
                2,
                Vec::new(),
                s.len(),
            ),
            PathMatch::PathSeparatedPrefix(s) => {
                let ok = path == s
                    || path
                        .strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('/'));
                (ok.then(Vec::new), 2, Vec::new(), s.len())
            }
            PathMatch::Template(t) => {
                let toks = tokens(t);
                let class = if toks.iter().all(|t| matches!(t, Tok::Byte(_))) {
                    0
                } else {
                    1
                };
                // A template without parameters is an exact route: it ranks with the
                // others (a case-insensitive exact route can match the same path) by id.
                let ranks = match class {
                    0 => Vec::new(),
                    _ => toks.iter().map(rank).collect(),
                };
                (match_tokens(&toks, path), class, ranks, 0)
            }
        };
        if let Some(params) = hit {
            hits.push(((class, toks, usize::MAX - len, id), params));
        }
    }
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    hits.into_iter().map(|(k, p)| (k.3, p)).collect()
}

fn dedup(routes: &[Route]) -> Vec<Route> {
    let mut seen = std::collections::HashSet::new();
    routes
        .iter()
        .filter(|r| seen.insert(key(r)))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn conflicts_are_exactly_the_identical_routes(routes in routes()) {
        let built = RouteTrie::build(routes.iter().enumerate().map(|(i, r)| spec(i, r)));
        let mut first = std::collections::HashMap::new();
        let mut expected = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            if let Some(prev) = first.get(&key(r)) {
                expected.push((*prev, i));
            } else {
                first.insert(key(r), i);
            }
        }
        match built {
            Ok(t) => {
                prop_assert!(expected.is_empty());
                t.check_invariants().map_err(TestCaseError::fail)?;
            }
            Err(e) => {
                let got: Vec<(usize, usize)> = e
                    .errors()
                    .iter()
                    .map(|e| match e {
                        RouteError::Conflict { existing, new, .. } => (existing.index(), new.index()),
                        other => panic!("unexpected {other}"),
                    })
                    .collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn lookups_agree_with_the_naive_matcher(
        routes in routes().prop_map(|r| dedup(&r)),
        requests in prop::collection::vec(request(), 1..16),
    ) {
        let trie = RouteTrie::build(routes.iter().enumerate().map(|(i, r)| spec(i, r))).unwrap();
        answers_like_the_model(&trie, &routes, &requests)?;
    }
}

/// The trie's invariants hold and every request gets the model's candidates and captures.
fn answers_like_the_model(
    trie: &RouteTrie<usize>,
    routes: &[Route],
    requests: &[(&'static str, String)],
) -> Result<(), TestCaseError> {
    trie.check_invariants().map_err(TestCaseError::fail)?;
    let mut buf = MatchBuffer::new();
    for (authority, path) in requests {
        let got: Vec<(usize, Vec<(String, String)>)> = trie
            .lookup(authority, path, &mut buf)
            .iter()
            .map(|m| {
                prop_assert_eq!(*m.value, m.route.index());
                Ok((
                    m.route.index(),
                    m.params
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                ))
            })
            .collect::<Result<_, TestCaseError>>()?;
        prop_assert_eq!(
            got,
            naive(routes, authority, path),
            "{} {}",
            authority,
            path
        );
    }
    Ok(())
}

/// Builds like [`RouteTrie::build`], finishing in steps of `budget` units.
fn build_in_steps(routes: &[Route], budget: usize) -> (RouteTrie<usize>, usize) {
    let mut builder = RouteTrieBuilder::new();
    for (i, r) in routes.iter().enumerate() {
        builder.push(spec(i, r));
    }
    let mut freeze = builder.freeze_in_steps().unwrap();
    let mut steps = 1;
    while !freeze.step(budget) {
        steps += 1;
    }
    (freeze.finish().unwrap(), steps)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_trie_frozen_in_small_steps_answers_like_the_model(
        routes in routes().prop_map(|r| dedup(&r)),
        budget in 1usize..24,
        requests in prop::collection::vec(request(), 1..16),
    ) {
        let (trie, _) = build_in_steps(&routes, budget);
        answers_like_the_model(&trie, &routes, &requests)?;
    }
}

/// A table large enough for segment jumps, frozen at once and in steps of a few units: the
/// same layout (size, jumps, invariants) and the same answers.
#[test]
fn a_large_trie_frozen_in_steps_equals_the_one_built_at_once() {
    let mut routes: Vec<Route> = Vec::new();
    for t in 0..3_000 {
        routes.push((
            "*",
            PathMatch::Template(format!("/tenant-{t}/api/orders/{{id}}")),
            false,
        ));
        routes.push((
            "a.com",
            PathMatch::Prefix(format!("/static/{t}/files")),
            false,
        ));
        routes.push(("a.com", PathMatch::Prefix(format!("/Static/{t}/")), true));
    }
    let whole = RouteTrie::build(routes.iter().enumerate().map(|(i, r)| spec(i, r))).unwrap();
    for budget in [1, 7, 500] {
        let (stepped, steps) = build_in_steps(&routes, budget);
        stepped.check_invariants().unwrap();
        assert!(steps > 6_000 / budget.max(1), "{steps} steps of {budget}");
        assert_eq!(stepped.heap_bytes(), whole.heap_bytes());
        let mut a = MatchBuffer::new();
        let mut b = MatchBuffer::new();
        for t in (0..3_000).step_by(37) {
            for (authority, path) in [
                ("x.org", format!("/tenant-{t}/api/orders/42")),
                ("a.com", format!("/static/{t}/files/x.css")),
                ("a.com", format!("/static/{t}/file")),
                ("a.com", format!("/STATIC/{t}/files/x.css")),
            ] {
                let got: Vec<usize> = stepped
                    .lookup(authority, &path, &mut a)
                    .iter()
                    .map(|m| m.route.index())
                    .collect();
                let want: Vec<usize> = whole
                    .lookup(authority, &path, &mut b)
                    .iter()
                    .map(|m| m.route.index())
                    .collect();
                assert_eq!(got, want, "{authority} {path}");
            }
        }
    }
}
