//! Builds a `RouteTrie` from arbitrary host and path patterns, then looks up arbitrary
//! requests (some routes ignoring case): no panics, the layout invariants hold, candidates come in precedence order and
//! their parameters are slices of the path.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trie_routes::{MatchBuffer, MatchKind, PathMatch, RouteSpec, RouteTrie};

#[derive(Arbitrary, Debug)]
struct Route {
    host: String,
    kind: u8,
    path: String,
}

#[derive(Arbitrary, Debug)]
struct Input {
    routes: Vec<Route>,
    requests: Vec<(String, String)>,
}

fuzz_target!(|input: Input| {
    let specs = input.routes.into_iter().enumerate().map(|(i, r)| {
        // Bit 2 asks for a case-insensitive route (templates refuse it: a build error).
        let ignore_case = r.kind & 4 != 0;
        let path = match r.kind % 4 {
            0 => PathMatch::Exact(r.path),
            1 => PathMatch::Prefix(r.path),
            2 => PathMatch::PathSeparatedPrefix(r.path),
            _ => PathMatch::Template(r.path),
        };
        RouteSpec::new(r.host, path, i).ignoring_case(ignore_case)
    });
    let Ok(trie) = RouteTrie::build(specs) else { return };
    trie.check_invariants().unwrap();
    let mut buf = MatchBuffer::new();
    for (authority, path) in &input.requests {
        let c = trie.lookup(authority, path, &mut buf);
        let matched = c.path();
        assert!(path.starts_with(matched));
        let rank = |k: MatchKind| match k {
            MatchKind::Exact => 0,
            MatchKind::Template => 1,
            MatchKind::Prefix | MatchKind::PathSeparatedPrefix => 2,
        };
        let mut last = 0;
        for m in c.iter() {
            assert_eq!(*m.value, m.route.index());
            assert!(rank(m.kind) >= last);
            last = rank(m.kind);
            for (_, v) in m.params.iter() {
                assert!(!v.is_empty());
                let off = v.as_ptr() as usize - matched.as_ptr() as usize;
                assert!(off + v.len() <= matched.len());
            }
        }
    }
});
