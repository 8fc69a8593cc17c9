//! `precedence`: `most_specific` (the default) against `first_match` (Envoy's order), unit
//! cases and a property test of `first_match` against a linear scan written from the docs.

use proptest::prelude::*;

use super::*;

fn engine_with(precedence: &str, routes: &str) -> Engine {
    let policy = format!(
        r#"{{"precedence": "{precedence}", "hosts": [{{"domains": ["*"], "routes": [{routes}]}}]}}"#
    );
    Engine::from_json(policy.as_bytes()).unwrap()
}

fn route_of(engine: &Engine, method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let request = Request {
        method: method.into(),
        authority: "h".into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        ..Request::default()
    };
    match engine.decide(&request) {
        Decision::Allow(a) => a.route.to_owned(),
        Decision::Deny(d) => d.reason,
    }
}

/// A broad route declared before a narrow one: Envoy takes the broad one.
const SHADOWING: &str = r#"
    {"id": "all", "match": {"prefix": "/api"}, "upstream": {"cluster": "a"}},
    {"id": "orders", "match": {"path_separated_prefix": "/api/orders"}, "upstream": {"cluster": "o"}},
    {"id": "exact", "match": {"exact": "/api/orders/1"}, "upstream": {"cluster": "e"}}"#;

#[test]
fn default_precedence_is_most_specific() {
    let policy = format!(r#"{{"hosts": [{{"domains": ["*"], "routes": [{SHADOWING}]}}]}}"#);
    let engine = Engine::from_json(policy.as_bytes()).unwrap();
    assert_eq!(route_of(&engine, "GET", "/api/orders/1", &[]), "exact");
    assert_eq!(route_of(&engine, "GET", "/api/orders/2", &[]), "orders");
}

#[test]
fn first_match_takes_the_route_declared_first() {
    let engine = engine_with("first_match", SHADOWING);
    assert_eq!(route_of(&engine, "GET", "/api/orders/1", &[]), "all");
    assert_eq!(route_of(&engine, "GET", "/api/x", &[]), "all");
    assert_eq!(route_of(&engine, "GET", "/other", &[]), "route.no_match");
}

#[test]
fn first_match_skips_earlier_routes_whose_predicates_fail() {
    let engine = engine_with(
        "first_match",
        r#"
        {"id": "beta", "match": {"prefix": "/", "headers": [{"name": "x-beta", "present": true}]}, "upstream": {"cluster": "b"}},
        {"id": "post", "match": {"prefix": "/api", "methods": ["POST"]}, "upstream": {"cluster": "p"}},
        {"id": "exact", "match": {"exact": "/api/1"}, "upstream": {"cluster": "e"}},
        {"id": "api", "match": {"prefix": "/api"}, "upstream": {"cluster": "a"}},
        {"id": "api-get", "match": {"prefix": "/api", "methods": ["GET"]}, "upstream": {"cluster": "g"}}"#,
    );
    assert_eq!(
        route_of(&engine, "GET", "/api/1", &[("x-beta", "1")]),
        "beta"
    );
    assert_eq!(route_of(&engine, "POST", "/api/1", &[]), "post");
    assert_eq!(route_of(&engine, "GET", "/api/1", &[]), "exact");
    assert_eq!(route_of(&engine, "GET", "/api/2", &[]), "api");
}

#[test]
fn explain_names_the_precedence_rule_that_decided() {
    for (precedence, winner) in [("most_specific", "exact"), ("first_match", "all")] {
        let engine = engine_with(precedence, SHADOWING);
        let mut steps: Vec<String> = Vec::new();
        let request = Request {
            method: "GET".into(),
            authority: "h".into(),
            path: "/api/orders/1".into(),
            ..Request::default()
        };
        engine.decide_traced(&request, &mut steps);
        let taken = steps.iter().find(|s| s.contains("taken")).unwrap();
        assert!(
            taken.contains(&format!("'{winner}'")) && taken.contains(precedence),
            "{precedence}: {steps:?}"
        );
    }
}

#[test]
fn an_unknown_precedence_is_refused() {
    let policy = r#"{"precedence": "last_match", "hosts": []}"#;
    assert!(Engine::from_json(policy.as_bytes()).is_err());
}

#[test]
fn case_insensitive_routes_match_any_case_under_both_rules() {
    let routes = r#"
        {"id": "any", "match": {"prefix": "/Api", "case_sensitive": false}, "upstream": {"cluster": "a"}},
        {"id": "exact-case", "match": {"prefix": "/api/v1"}, "upstream": {"cluster": "e"}},
        {"id": "login", "match": {"exact": "/API/Login", "case_sensitive": false}, "upstream": {"cluster": "l"}},
        {"id": "docs", "match": {"path_separated_prefix": "/Docs", "case_sensitive": false}, "upstream": {"cluster": "d"}}"#;
    let most = engine_with("most_specific", routes);
    let first = engine_with("first_match", routes);
    assert_eq!(route_of(&most, "GET", "/api/v1/x", &[]), "exact-case");
    assert_eq!(route_of(&first, "GET", "/api/v1/x", &[]), "any");
    assert_eq!(route_of(&most, "GET", "/API/V1/x", &[]), "any");
    assert_eq!(route_of(&most, "GET", "/api/login", &[]), "login");
    assert_eq!(route_of(&first, "GET", "/api/login", &[]), "any");
    assert_eq!(route_of(&most, "GET", "/docs/x", &[]), "docs");
    assert_eq!(route_of(&most, "GET", "/DOCSX", &[]), "route.no_match");
}

#[test]
fn a_prefix_rewrite_of_a_case_insensitive_route_replaces_the_matched_length() {
    let engine = engine_with(
        "most_specific",
        r#"{"id": "v1", "match": {"prefix": "/V1/", "case_sensitive": false}, "upstream": {"cluster": "a"}, "rewrite": {"prefix": "/api/"}}"#,
    );
    let request = Request {
        method: "GET".into(),
        authority: "h".into(),
        path: "/v1/Orders?x=1".into(),
        ..Request::default()
    };
    let Decision::Allow(allow) = engine.decide(&request) else {
        panic!("denied");
    };
    assert_eq!(allow.new_path.as_deref(), Some("/api/Orders?x=1"));
}

#[test]
fn case_insensitive_routes_equal_but_for_case_conflict_and_case_sensitivity_distinguishes() {
    let policy =
        |routes: &str| format!(r#"{{"hosts": [{{"domains": ["*"], "routes": [{routes}]}}]}}"#);
    let twins = policy(
        r#"{"id": "a", "match": {"prefix": "/Api", "case_sensitive": false}, "upstream": {"cluster": "a"}},
           {"id": "b", "match": {"prefix": "/aPI", "case_sensitive": false}, "upstream": {"cluster": "a"}}"#,
    );
    let Err(err) = Engine::from_json(twins.as_bytes()) else {
        panic!("accepted");
    };
    assert!(
        err.to_string()
            .contains("route 'b' matches exactly the same requests as route 'a'"),
        "{err}"
    );
    let distinct = policy(
        r#"{"id": "a", "match": {"prefix": "/api", "case_sensitive": false}, "upstream": {"cluster": "a"}},
           {"id": "b", "match": {"prefix": "/api"}, "upstream": {"cluster": "a"}},
           {"id": "c", "match": {"prefix": "/API", "case_sensitive": false, "methods": ["GET"]}, "upstream": {"cluster": "a"}},
           {"id": "d", "match": {"prefix": "/api", "case_sensitive": true, "methods": ["POST"]}, "upstream": {"cluster": "a"}}"#,
    );
    let engine = Engine::from_json(distinct.as_bytes()).unwrap();
    assert_eq!(route_of(&engine, "POST", "/ApI", &[]), "a");
    let template = policy(
        r#"{"id": "t", "match": {"template": "/u/{id}", "case_sensitive": false}, "upstream": {"cluster": "a"}}"#,
    );
    let Err(err) = Engine::from_json(template.as_bytes()) else {
        panic!("accepted");
    };
    assert!(err.to_string().contains("case_sensitive"), "{err}");
}

// ---- property test: first_match against a linear scan ----

#[derive(Debug, Clone, PartialEq)]
enum Path {
    Exact(String),
    Prefix(String),
    Separated(String),
}

#[derive(Debug, Clone)]
struct ModelRoute {
    path: Path,
    /// `case_sensitive: false`.
    ignore_case: bool,
    method: Option<&'static str>,
    header: Option<(&'static str, Option<&'static str>)>,
}

const SEGMENTS: &[&str] = &["a", "b", "ab", "A", "aB"];

fn literal() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 0..4)
        .prop_map(|s| format!("/{}", s.join("/")))
}

fn model_route() -> impl Strategy<Value = ModelRoute> {
    let path = prop_oneof![
        literal().prop_map(Path::Exact),
        literal().prop_map(Path::Prefix),
        (literal(), prop::sample::select(&["", "a"][..]))
            .prop_map(|(p, tail)| Path::Prefix(format!("{p}{tail}"))),
        literal()
            .prop_filter("a separated prefix does not end in /", |p| p != "/")
            .prop_map(Path::Separated),
    ];
    let method = prop::option::of(prop::sample::select(&["GET", "POST"][..]));
    let header = prop::option::of((
        prop::sample::select(&["x-a", "x-b"][..]),
        prop::option::of(prop::sample::select(&["1", "2"][..])),
    ));
    let ignore_case = prop::bool::weighted(0.3);
    (path, ignore_case, method, header).prop_map(|(path, ignore_case, method, header)| ModelRoute {
        path,
        ignore_case,
        method,
        header,
    })
}

impl ModelRoute {
    fn key(&self) -> String {
        let path = format!("{:?}", self.path);
        let path = match self.ignore_case {
            true => format!("any case {}", path.to_ascii_lowercase()),
            false => path,
        };
        format!("{path}|{:?}|{:?}", self.method, self.header)
    }

    fn json(&self, id: usize) -> String {
        let path = match &self.path {
            Path::Exact(p) => format!(r#""exact": "{p}""#),
            Path::Prefix(p) => format!(r#""prefix": "{p}""#),
            Path::Separated(p) => format!(r#""path_separated_prefix": "{p}""#),
        };
        let method = self
            .method
            .map(|m| format!(r#", "methods": ["{m}"]"#))
            .unwrap_or_default();
        let header = match self.header {
            None => String::new(),
            Some((name, None)) => {
                format!(r#", "headers": [{{"name": "{name}", "present": true}}]"#)
            }
            Some((name, Some(v))) => {
                format!(r#", "headers": [{{"name": "{name}", "exact": "{v}"}}]"#)
            }
        };
        let case = match self.ignore_case {
            true => r#", "case_sensitive": false"#,
            false => "",
        };
        format!(
            r#"{{"id": "r{id}", "match": {{{path}{case}{method}{header}}}, "upstream": {{"cluster": "c"}}}}"#
        )
    }

    fn matches(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> bool {
        let fold = |s: &str| match self.ignore_case {
            true => s.to_ascii_lowercase(),
            false => s.to_owned(),
        };
        let folded = |p: &Path| match p {
            Path::Exact(p) => Path::Exact(fold(p)),
            Path::Prefix(p) => Path::Prefix(fold(p)),
            Path::Separated(p) => Path::Separated(fold(p)),
        };
        let (pattern, path) = (folded(&self.path), fold(path));
        let path = path.as_str();
        let path_ok = match &pattern {
            Path::Exact(p) => path == p,
            Path::Prefix(p) => path.starts_with(p.as_str()),
            Path::Separated(p) => {
                path == p
                    || path
                        .strip_prefix(p.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            }
        };
        let method_ok = self.method.is_none_or(|m| m == method);
        let header_ok = self.header.is_none_or(|(name, value)| {
            let first = headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            match value {
                None => first.is_some(),
                Some(v) => first == Some(v),
            }
        });
        path_ok && method_ok && header_ok
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn first_match_agrees_with_a_linear_scan(
        routes in prop::collection::vec(model_route(), 1..24),
        requests in prop::collection::vec((
            prop::sample::select(&["GET", "POST"][..]),
            literal(),
            prop::sample::select(&["", "a", "/", "/a", "A", "/AB"][..]),
            prop::option::of(prop::sample::select(&["x-a", "x-b"][..])),
            prop::sample::select(&["1", "2"][..]),
        ), 1..16),
    ) {
        // Identical matches are a configuration error; Envoy would never reach the second.
        let mut seen = std::collections::HashSet::new();
        let routes: Vec<ModelRoute> =
            routes.into_iter().filter(|r| seen.insert(r.key())).collect();
        let list: Vec<String> = routes.iter().enumerate().map(|(i, r)| r.json(i)).collect();
        let engine = engine_with("first_match", &list.join(","));
        for (method, base, tail, header, value) in requests {
            let path = format!("{base}{tail}").replace("//", "/");
            let headers: Vec<(&str, &str)> = header.map(|h| (h, value)).into_iter().collect();
            let expected = routes
                .iter()
                .position(|r| r.matches(method, &path, &headers))
                .map_or_else(|| "route.no_match".to_owned(), |i| format!("r{i}"));
            prop_assert_eq!(route_of(&engine, method, &path, &headers), expected, "{} {}", method, path);
        }
    }
}
