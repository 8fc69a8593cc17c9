//! Table-driven behaviour of `RouteTrie`: precedence, hosts, parameters, conflicts.
//! Every case also runs the layout invariant checker.

// Test helpers outside `#[test]` functions may unwrap too (clippy.toml allows it in tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use trie_routes::{MatchBuffer, MatchKind, PathMatch, RouteError, RouteSpec, RouteTrie};

fn exact(s: &str) -> PathMatch {
    PathMatch::Exact(s.into())
}
fn prefix(s: &str) -> PathMatch {
    PathMatch::Prefix(s.into())
}
fn sep(s: &str) -> PathMatch {
    PathMatch::PathSeparatedPrefix(s.into())
}
fn tpl(s: &str) -> PathMatch {
    PathMatch::Template(s.into())
}

/// Builds `routes` (values are their names) and checks the invariants.
fn trie(routes: &[(&str, PathMatch, &'static str)]) -> RouteTrie<&'static str> {
    let t = RouteTrie::build(
        routes
            .iter()
            .map(|(h, p, v)| RouteSpec::new(*h, p.clone(), *v)),
    )
    .unwrap();
    t.check_invariants().unwrap();
    t
}

fn names(t: &RouteTrie<&'static str>, authority: &str, path: &str) -> Vec<&'static str> {
    let mut buf = MatchBuffer::new();
    t.lookup(authority, path, &mut buf)
        .iter()
        .map(|m| *m.value)
        .collect()
}

#[test]
fn path_precedence_table() {
    let t = trie(&[
        ("*", prefix("/"), "p/"),
        ("*", prefix("/api"), "p/api"),
        ("*", sep("/api"), "s/api"),
        ("*", prefix("/api/v1/"), "p/api/v1/"),
        ("*", exact("/api/v1/users"), "e/users"),
        ("*", tpl("/api/v1/{res}"), "t/res"),
        ("*", tpl("/api/{ver}/users"), "t/ver/users"),
        ("*", tpl("/api/{*rest}"), "t/api*"),
        ("*", tpl("/{*all}"), "t/*"),
        ("*", tpl("/api/v1/users/{id}"), "t/users/id"),
        ("*", tpl("/api/v1/users/{id}/orders/{order}"), "t/orders"),
        ("*", exact("/"), "e/"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        ("/", &["e/", "p/"]),
        ("/api", &["t/*", "p/api", "s/api", "p/"]),
        ("/api/", &["t/*", "p/api", "s/api", "p/"]),
        ("/apiary", &["t/*", "p/api", "p/"]),
        (
            "/api/v1/users",
            &[
                "e/users",
                "t/res",
                "t/ver/users",
                "t/api*",
                "t/*",
                "p/api/v1/",
                "p/api",
                "s/api",
                "p/",
            ],
        ),
        (
            "/api/v1/users?limit=5#frag",
            &[
                "e/users",
                "t/res",
                "t/ver/users",
                "t/api*",
                "t/*",
                "p/api/v1/",
                "p/api",
                "s/api",
                "p/",
            ],
        ),
        (
            "/api/v2/users",
            &["t/ver/users", "t/api*", "t/*", "p/api", "s/api", "p/"],
        ),
        (
            "/api/v1/users/7",
            &[
                "t/users/id",
                "t/api*",
                "t/*",
                "p/api/v1/",
                "p/api",
                "s/api",
                "p/",
            ],
        ),
        (
            "/api/v1/users/7/orders/9",
            &[
                "t/orders",
                "t/api*",
                "t/*",
                "p/api/v1/",
                "p/api",
                "s/api",
                "p/",
            ],
        ),
        (
            "/api/v1/users/7/orders/",
            &["t/api*", "t/*", "p/api/v1/", "p/api", "s/api", "p/"],
        ),
        (
            "/api/v1/",
            &["t/api*", "t/*", "p/api/v1/", "p/api", "s/api", "p/"],
        ),
        ("/api//users", &["t/api*", "t/*", "p/api", "s/api", "p/"]),
        ("", &[]),
        ("?/api", &[]),
        ("x/api", &[]),
    ];
    for (path, want) in cases {
        assert_eq!(names(&t, "any", path), *want, "path {path:?}");
    }
}

#[test]
fn prefix_ties_follow_declaration_order() {
    let t = trie(&[("*", sep("/a"), "sep"), ("*", prefix("/a"), "raw")]);
    assert_eq!(names(&t, "h", "/a/b"), ["sep", "raw"]);
    assert_eq!(names(&t, "h", "/ab"), ["raw"]);
    let t = trie(&[("*", prefix("/a"), "raw"), ("*", sep("/a"), "sep")]);
    assert_eq!(names(&t, "h", "/a"), ["raw", "sep"]);
}

#[test]
fn params_are_captured() {
    let t = trie(&[
        ("*", tpl("/users/{id}/orders/{order}"), "orders"),
        ("*", tpl("/static/{*rest}"), "static"),
        ("*", tpl("/{a}/"), "slash"),
    ]);
    let mut buf = MatchBuffer::new();
    let c = t.lookup("h", "/users/42/orders/7?x=1", &mut buf);
    let m = c.first().unwrap();
    assert_eq!(m.kind, MatchKind::Template);
    assert_eq!(
        m.params.iter().collect::<Vec<_>>(),
        [("id", "42"), ("order", "7")]
    );
    assert_eq!(m.params.get("order"), Some("7"));
    assert_eq!(m.params.get("nope"), None);
    let c = t.lookup("h", "/static/css/a.css", &mut buf);
    assert_eq!(c.first().unwrap().params.get("rest"), Some("css/a.css"));
    let c = t.lookup("h", "/x/", &mut buf);
    assert_eq!(c.first().unwrap().params.get("a"), Some("x"));
    assert!(t.lookup("h", "//", &mut buf).is_empty());
    assert!(t.lookup("h", "/users//orders/7", &mut buf).is_empty());
}

#[test]
fn params_of_each_candidate_are_its_own() {
    let t = trie(&[
        ("*", tpl("/{a}/x/{b}"), "ab"),
        ("*", tpl("/{c}/{*d}"), "cd"),
    ]);
    let mut buf = MatchBuffer::new();
    let c = t.lookup("h", "/1/x/2", &mut buf);
    let got: Vec<Vec<(&str, &str)>> = c.iter().map(|m| m.params.iter().collect()).collect();
    assert_eq!(
        got,
        [vec![("a", "1"), ("b", "2")], vec![("c", "1"), ("d", "x/2")]]
    );
}

#[test]
fn template_without_params_is_exact() {
    let t = trie(&[("*", tpl("/a/b"), "t"), ("*", prefix("/a"), "p")]);
    let mut buf = MatchBuffer::new();
    let c = t.lookup("h", "/a/b", &mut buf);
    assert_eq!(c.first().unwrap().kind, MatchKind::Exact);
    let err = RouteTrie::build([
        RouteSpec::new("*", tpl("/a"), ()),
        RouteSpec::new("*", exact("/a"), ()),
    ])
    .unwrap_err();
    assert!(matches!(err.errors(), [RouteError::Conflict { .. }]));
}

#[test]
fn hosts_select_one_trie_without_fallback() {
    let t = trie(&[
        ("*", prefix("/"), "default"),
        ("*.example.com", prefix("/"), "wild"),
        ("*.example.com", exact("/only-wild"), "wild-exact"),
        ("api.example.com", exact("/x"), "api-x"),
        ("API.Example.com.", exact("/y"), "api-y"),
        ("[::1]", exact("/v6"), "v6"),
    ]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("api.example.com", "/x", &["api-x"]),
        ("api.example.com:443", "/y", &["api-y"]),
        ("Api.Example.Com.", "/y", &["api-y"]),
        ("api.example.com", "/only-wild", &[]),
        ("www.example.com", "/only-wild", &["wild-exact", "wild"]),
        ("a.b.example.com", "/", &["wild"]),
        ("example.com", "/", &["default"]),
        ("-.example.com", "/", &["wild"]),
        (".example.com", "/", &["default"]),
        ("a..example.com", "/", &["default"]),
        ("[::1]:8080", "/v6", &["v6"]),
        ("", "/", &["default"]),
    ];
    for (a, p, want) in cases {
        assert_eq!(names(&t, a, p), *want, "{a} {p}");
    }
    assert_eq!(t.host_count(), 4);
}

#[test]
fn no_host_matches_without_default() {
    let t = trie(&[("a.com", prefix("/"), "a")]);
    let mut buf = MatchBuffer::new();
    let c = t.lookup("b.com", "/", &mut buf);
    assert!(c.is_empty());
    assert_eq!(c.host(), None);
    assert!(t.lookup_host("A.com:1").is_some());
}

#[test]
fn conflicts_name_both_routes_and_all_are_reported() {
    let err = RouteTrie::build([
        RouteSpec::new("a.com", exact("/x"), ()),
        RouteSpec::new("A.COM.", exact("/x"), ()),
        RouteSpec::new("*", tpl("/u/{id}"), ()),
        RouteSpec::new("*", tpl("/u/{name}"), ()),
        RouteSpec::new("*", tpl("/s/{*a}"), ()),
        RouteSpec::new("*", tpl("/s/{*b}"), ()),
        RouteSpec::new("*", prefix("/p"), ()),
        RouteSpec::new("*", prefix("/p"), ()),
        RouteSpec::new("*", sep("/p"), ()),
        RouteSpec::new("*", sep("/p/"), ()),
        RouteSpec::new("bad host!/", exact("/"), ()),
        RouteSpec::new("*", tpl("/{a"), ()),
    ])
    .unwrap_err();
    let summary: Vec<String> = err.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        summary,
        [
            "route #1 (a.com exact `/x`) conflicts with route #0: both match exactly the same requests",
            "route #3 (* template `/u/{name}`) conflicts with route #2: both match exactly the same requests",
            "route #5 (* template `/s/{*b}`) conflicts with route #4: both match exactly the same requests",
            "route #7 (* prefix `/p`) conflicts with route #6: both match exactly the same requests",
            "route #9: invalid path path_separated_prefix `/p/`: path_separated_prefix must not end with `/`",
            "route #10: invalid host pattern \"bad host!/\": host pattern contains ' '; ports are ignored when matching, leave them out",
            "route #11: invalid path template `/{a`: unbalanced `{` or `}` at byte 1",
        ]
    );
    assert!(
        err.to_string()
            .starts_with("7 invalid route(s); first: route #1")
    );
}

#[test]
fn different_kinds_on_the_same_string_do_not_conflict() {
    let t = trie(&[
        ("*", exact("/a"), "e"),
        ("*", prefix("/a"), "p"),
        ("*", sep("/a"), "s"),
        ("*", tpl("/{x}"), "t"),
        ("*", tpl("/{*x}"), "c"),
    ]);
    assert_eq!(names(&t, "h", "/a"), ["e", "t", "c", "p", "s"]);
}

#[test]
fn buffer_is_reusable_across_lookups() {
    let t = trie(&[("*", tpl("/u/{id}"), "u"), ("*", prefix("/"), "root")]);
    let mut buf = MatchBuffer::new();
    for i in 0..100 {
        let path = format!("/u/{i}");
        let c = t.lookup("h", &path, &mut buf);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.first().unwrap().params.get("id"),
            Some(i.to_string().as_str())
        );
    }
    assert_eq!(t.lookup("h", "/zzz", &mut buf).len(), 1);
}

#[test]
fn routes_keep_their_declaration_index() {
    let t = trie(&[("*", exact("/a"), "a"), ("x.com", exact("/b"), "b")]);
    let mut buf = MatchBuffer::new();
    let m = t.lookup("x.com", "/b", &mut buf).first().unwrap();
    assert_eq!(m.route.index(), 1);
    assert_eq!(t.get(m.route), Some(&"b"));
    assert_eq!(t.host_of_route(m.route), t.lookup_host("x.com"));
    assert_eq!(t.len(), 2);
}

/// Fan-outs below, at and past the children whose first bytes the node keeps inline (15),
/// and the last lanes of the 8-at-a-time scan beyond them: every child is found, and a byte
/// no child starts with matches nothing.
#[test]
fn wide_fan_outs_find_every_child() {
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    for n in [1, 7, 8, 9, 14, 15, 16, 17, 22, 23, 24, 31, 36] {
        let routes: Vec<String> = alphabet[..n]
            .iter()
            .map(|c| format!("/w/{c}x/{{id}}"))
            .collect();
        let t = RouteTrie::build(
            routes
                .iter()
                .enumerate()
                .map(|(i, r)| RouteSpec::new("*", tpl(r), i)),
        )
        .unwrap();
        t.check_invariants().unwrap();
        let mut buf = MatchBuffer::new();
        for (i, c) in alphabet[..n].iter().enumerate() {
            let path = format!("/w/{c}x/42");
            let got = t.lookup("h", &path, &mut buf);
            assert_eq!(
                got.first().map(|m| *m.value),
                Some(i),
                "{n} children, {path}"
            );
            assert_eq!(got.first().unwrap().params.get("id"), Some("42"));
        }
        for missing in ["/w/-x/42", "/w/Zx/42", "/w/"] {
            assert!(
                t.lookup("h", missing, &mut buf).is_empty(),
                "{n}: {missing}"
            );
        }
    }
}
