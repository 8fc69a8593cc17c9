//! Engine tests: one per rule and reason, on a policy that uses every feature but JWT and
//! client certificates (those have their own tests next to their providers).

use super::*;

/// `printf %s k-alice | sha256sum`
const ALICE_KEY: &str = "k-alice";
const BOB_KEY: &str = "k-bob";

fn sha256_hex(key: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()))
}

fn policy() -> String {
    format!(
        r#"{{
  "hosts": [
    {{
      "domains": ["api.example.com", "*.tenant.example.com"],
      "routes": [
        {{"id": "order-by-id", "match": {{"template": "/orders/{{id}}"}}, "upstream": {{"cluster": "orders-detail"}}}},
        {{"id": "orders-post", "match": {{"prefix": "/orders", "methods": ["POST"]}}, "upstream": {{"cluster": "orders-write"}}}},
        {{"id": "orders", "match": {{"prefix": "/orders"}}, "upstream": {{"cluster": "orders"}}}},
        {{"id": "health", "match": {{"exact": "/healthz"}}, "upstream": {{"cluster": "ops"}}}},
        {{"id": "beta", "match": {{"path_separated_prefix": "/beta", "headers": [{{"name": "x-beta", "exact": "1"}}]}}, "upstream": {{"cluster": "beta"}}}},
        {{"id": "v1", "match": {{"path_separated_prefix": "/v1"}}, "upstream": {{"cluster": "legacy"}}, "rewrite": {{"prefix": "/api/v1"}}}},
        {{"id": "keys", "match": {{"path_separated_prefix": "/keyed"}}, "upstream": {{"cluster": "keyed"}},
          "auth": {{"any_of": ["keys"]}}, "consumers": ["alice"]}},
        {{"id": "device", "match": {{"path_separated_prefix": "/device"}}, "upstream": {{"cluster": "dev"}},
          "device_trust": {{"header": "x-device-score", "min_score": 70}}}},
        {{"id": "canary", "match": {{"path_separated_prefix": "/shop"}},
          "upstream": {{"split": {{"key": {{"header": "x-user"}}, "clusters": [
            {{"cluster": "shop-v1", "weight": 90}}, {{"cluster": "shop-v2", "weight": 10}}]}}}}}},
        {{"id": "cookie-canary", "match": {{"path_separated_prefix": "/cart"}},
          "upstream": {{"split": {{"key": {{"cookie": "uid"}}, "clusters": [
            {{"cluster": "cart-a", "weight": 1}}, {{"cluster": "cart-b", "weight": 1}}]}}}}}}
      ]
    }},
    {{
      "domains": ["secure.example.com"],
      "min_tls": "TLSv1.3",
      "routes": [{{"id": "secure", "match": {{"prefix": "/"}}, "upstream": {{"cluster": "secure"}}}}]
    }}
  ],
  "auth_providers": {{
    "keys": {{"api_key": {{"keys": [
      {{"consumer": "alice", "sha256": "{alice}"}},
      {{"consumer": "bob", "sha256": "{bob}"}}]}}}}
  }}
}}"#,
        alice = sha256_hex(ALICE_KEY),
        bob = sha256_hex(BOB_KEY)
    )
}

fn engine() -> Engine {
    Engine::from_json(policy().as_bytes()).unwrap()
}

fn req(method: &str, authority: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    Request {
        method: method.into(),
        authority: authority.into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        ..Request::default()
    }
}

fn get(path: &str) -> Request {
    req("GET", "api.example.com", path, &[])
}

#[track_caller]
fn allowed(decision: Decision) -> Allow {
    match decision {
        Decision::Allow(a) => a,
        Decision::Deny(d) => panic!("denied: {d:?}"),
    }
}

#[track_caller]
fn denied(decision: Decision) -> Deny {
    match decision {
        Decision::Deny(d) => d,
        Decision::Allow(a) => panic!("allowed: {a:?}"),
    }
}

#[test]
fn most_specific_route_wins_then_declaration_order_with_predicates() {
    let e = engine();
    assert_eq!(allowed(e.decide(&get("/orders/42"))).route, "order-by-id");
    assert_eq!(allowed(e.decide(&get("/orders"))).route, "orders");
    assert_eq!(allowed(e.decide(&get("/orders/42/lines"))).route, "orders");
    let post = req("POST", "api.example.com", "/orders/42/lines", &[]);
    assert_eq!(allowed(e.decide(&post)).route, "orders-post");
    assert_eq!(allowed(e.decide(&get("/healthz?probe=1"))).route, "health");
}

#[test]
fn header_predicates_gate_a_route() {
    let e = engine();
    let with = req("GET", "api.example.com", "/beta/x", &[("x-beta", "1")]);
    assert_eq!(allowed(e.decide(&with)).cluster, "beta");
    let d = denied(e.decide(&get("/beta/x")));
    assert_eq!((d.status, d.reason.as_str()), (404, "route.no_match"));
}

#[test]
fn path_separated_prefix_does_not_match_a_longer_word() {
    let e = engine();
    assert_eq!(allowed(e.decide(&get("/v1"))).route, "v1");
    assert_eq!(denied(e.decide(&get("/v10"))).reason, "route.no_match");
}

#[test]
fn hosts_are_case_insensitive_ignore_port_and_trailing_dot() {
    let e = engine();
    for authority in [
        "API.EXAMPLE.COM",
        "api.example.com:443",
        "api.example.com.",
        "a.tenant.example.com",
    ] {
        let r = req("GET", authority, "/healthz", &[]);
        assert_eq!(allowed(e.decide(&r)).route, "health", "{authority}");
    }
    let d = denied(e.decide(&req("GET", "tenant.example.com", "/healthz", &[])));
    assert_eq!((d.status, d.reason.as_str()), (404, "route.no_host"));
}

#[test]
fn partial_label_suffix_wildcards_select_their_host_by_suffix_length() {
    let policy = r#"{"hosts": [
        {"domains": ["*.example.com"], "routes": [{"id": "dot", "match": {"prefix": "/"}, "upstream": {"cluster": "a"}}]},
        {"domains": ["*-shop.example.com"], "routes": [{"id": "partial", "match": {"prefix": "/"}, "upstream": {"cluster": "b"}}]}]}"#;
    let e = Engine::from_json(policy.as_bytes()).unwrap();
    for (authority, route) in [
        ("eu-shop.example.com", "partial"),
        ("A.EU-SHOP.example.com:8443", "partial"),
        ("shop.example.com", "dot"),
        ("-shop.example.com", "dot"),
    ] {
        let r = req("GET", authority, "/", &[]);
        assert_eq!(allowed(e.decide(&r)).route, route, "{authority}");
    }
    let bad = r#"{"hosts": [{"domains": ["a*b.example.com"], "routes": [{"id": "r", "match": {"prefix": "/"}, "upstream": {"cluster": "a"}}]}]}"#;
    assert!(Engine::from_json(bad.as_bytes()).is_err());
}

#[test]
fn prefix_rewrite_keeps_the_rest_and_the_query() {
    let e = engine();
    let a = allowed(e.decide(&get("/v1/users/7?x=1")));
    assert_eq!(a.new_path.as_deref(), Some("/api/v1/users/7?x=1"));
    assert_eq!(a.cluster, "legacy");
}

#[test]
fn normalised_path_is_forwarded_and_matched() {
    let e = engine();
    let a = allowed(e.decide(&get("//orders/./42/../43")));
    assert_eq!(a.route, "order-by-id");
    assert_eq!(a.new_path.as_deref(), Some("/orders/43"));
    assert_eq!(allowed(e.decide(&get("/orders/42"))).new_path, None);
}

#[test]
fn path_confusion_cannot_reach_a_protected_route_unauthenticated() {
    let e = engine();
    for path in [
        "/public/../keyed/x",
        "//keyed",
        "/%6Beyed/x",
        "/x/%2e%2e/keyed",
    ] {
        let d = denied(e.decide(&get(path)));
        assert_eq!(
            (d.status, d.reason.as_str()),
            (401, "auth.missing"),
            "{path}"
        );
    }
    for (path, reason) in [
        ("/keyed%2Fx", "path.encoded_slash"),
        ("/keyed%5Cx", "path.backslash"),
        ("/keyed%00", "path.nul"),
        ("/keyed;x=1", "path.semicolon"),
    ] {
        let d = denied(e.decide(&get(path)));
        assert_eq!((d.status, d.reason.as_str()), (400, reason), "{path}");
    }
}

#[test]
fn api_keys_authenticate_and_the_allow_list_applies() {
    let e = engine();
    let a = allowed(e.decide(&req(
        "GET",
        "api.example.com",
        "/keyed",
        &[("x-api-key", ALICE_KEY)],
    )));
    assert_eq!(a.consumer.as_deref(), Some("alice"));
    assert!(
        a.set_headers()
            .any(|header| header == ("x-trieguard-consumer", "alice"))
    );

    let d = denied(e.decide(&req(
        "GET",
        "api.example.com",
        "/keyed",
        &[("x-api-key", BOB_KEY)],
    )));
    assert_eq!((d.status, d.reason.as_str()), (403, "auth.forbidden"));
    let d = denied(e.decide(&req(
        "GET",
        "api.example.com",
        "/keyed",
        &[("x-api-key", "nope")],
    )));
    assert_eq!((d.status, d.reason.as_str()), (401, "auth.api_key.unknown"));
    assert!(
        !d.message.contains("nope"),
        "the message must not echo the key"
    );
    let d = denied(e.decide(&get("/keyed")));
    assert_eq!((d.status, d.reason.as_str()), (401, "auth.missing"));
    assert_eq!(d.route.as_deref(), Some("keys"));
}

#[test]
fn spoofed_decision_headers_are_removed_and_replaced() {
    let e = engine();
    let r = req(
        "GET",
        "api.example.com",
        "/healthz",
        &[
            ("x-trieguard-consumer", "admin"),
            ("x-trieguard-cluster", "secure"),
        ],
    );
    let a = allowed(e.decide(&r));
    assert_eq!(
        a.remove_headers,
        ["x-trieguard-cluster", "x-trieguard-consumer"]
    );
    assert_eq!(a.consumer, None);
    assert!(!a.set_headers().any(|(n, _)| n == "x-trieguard-consumer"));
    assert!(
        a.set_headers()
            .any(|header| header == ("x-trieguard-cluster", "ops"))
    );
}

#[test]
fn min_tls_refuses_old_and_plaintext_connections_with_426() {
    let e = engine();
    let mut r = req("GET", "secure.example.com", "/", &[]);
    for (tls, ok) in [
        (None, false),
        (Some("TLSv1.2"), false),
        (Some("TLSv1.3"), true),
    ] {
        r.tls_version = tls.map(str::to_owned);
        match e.decide(&r) {
            Decision::Allow(_) => assert!(ok, "{tls:?}"),
            Decision::Deny(d) => {
                assert!(!ok, "{tls:?}");
                assert_eq!((d.status, d.reason.as_str()), (426, "tls.too_old"));
            }
        }
    }
}

#[test]
fn device_trust_needs_a_well_formed_score_at_or_above_the_minimum() {
    let e = engine();
    for (score, ok) in [
        (None, false),
        (Some("69"), false),
        (Some("70"), true),
        (Some("100"), true),
        (Some("101"), false),
        (Some("high"), false),
    ] {
        let headers: Vec<(&str, &str)> = score.map(|s| ("x-device-score", s)).into_iter().collect();
        let d = e.decide(&req("GET", "api.example.com", "/device", &headers));
        match d {
            Decision::Allow(_) => assert!(ok, "{score:?}"),
            Decision::Deny(d) => {
                assert!(!ok, "{score:?}");
                assert_eq!((d.status, d.reason.as_str()), (403, "device.untrusted"));
            }
        }
    }
}

#[test]
fn canary_split_is_sticky_per_key_and_follows_the_weights() {
    let e = engine();
    let mut v2 = 0;
    for user in 0..1000 {
        let key = format!("user-{user}");
        let r = req("GET", "api.example.com", "/shop", &[("x-user", &key)]);
        let first = allowed(e.decide(&r)).cluster;
        assert_eq!(allowed(e.decide(&r)).cluster, first, "sticky for {key}");
        if first == "shop-v2" {
            v2 += 1;
        }
    }
    assert!(
        (70..=130).contains(&v2),
        "shop-v2 got {v2} of 1000 at weight 10%"
    );
}

#[test]
fn cookie_split_and_keyless_split_use_the_right_source() {
    let e = engine();
    let a = allowed(e.decide(&req(
        "GET",
        "api.example.com",
        "/cart",
        &[("cookie", "uid=u1")],
    )));
    let b = allowed(e.decide(&req(
        "GET",
        "api.example.com",
        "/cart",
        &[("cookie", "x=1; uid=u1")],
    )));
    assert_eq!(a.cluster, b.cluster);
    let mut seen = std::collections::BTreeSet::new();
    for entropy in 0..16 {
        let mut r = get("/cart");
        r.entropy = entropy;
        seen.insert(allowed(e.decide(&r)).cluster);
    }
    assert_eq!(seen.len(), 2, "key-less draws use the entropy");
}

#[test]
fn deny_body_is_the_documented_json() {
    let d = denied(engine().decide(&get("/nothing")));
    assert_eq!(
        d.body(),
        r#"{"status":404,"reason":"route.no_match","message":"no route matches GET /nothing"}"#
    );
}

#[test]
fn explain_trace_names_the_steps() {
    let e = engine();
    let mut trace: Vec<String> = Vec::new();
    e.decide_traced(&get("/beta/x"), &mut trace);
    let text = trace.join("\n");
    assert!(text.contains("route 'beta'"), "{text}");
    assert!(
        text.contains("header x-beta == \"1\" does not hold"),
        "{text}"
    );
}

#[test]
fn identical_routes_are_refused_naming_both() {
    let bad = r#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"a","match":{"prefix":"/x","methods":["GET"]},"upstream":{"cluster":"c"}},
        {"id":"b","match":{"prefix":"/x","methods":["GET"]},"upstream":{"cluster":"c"}},
        {"id":"c","match":{"prefix":"/x","methods":["POST"]},"upstream":{"cluster":"c"}}]}]}"#;
    let err = Engine::from_json(bad.as_bytes()).unwrap_err();
    assert_eq!(err.issues.len(), 1, "{err}");
    assert_eq!(err.issues[0].path, "hosts[0].routes[1].match");
    assert!(
        err.issues[0].message.contains("'b'") && err.issues[0].message.contains("'a'"),
        "{err}"
    );
}

#[test]
fn every_config_problem_is_reported_with_its_path() {
    let bad = r#"{"hosts":[{"domains":["*", "bad..name"],"routes":[
        {"id":"a b","match":{"prefix":"x","exact":"/y"},"upstream":{"split":{"clusters":[{"cluster":"c","weight":0}]}},
         "auth":{"any_of":["nobody"]}},
        {"id":"t","match":{"template":"/u/{id"},"upstream":{"cluster":"c"}}]}],
      "auth_providers":{"k":{"api_key":{"keys":[{"consumer":"","sha256":"XYZ"}]}}}}"#;
    let err = Engine::from_json(bad.as_bytes()).unwrap_err();
    let paths: Vec<&str> = err.issues.iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "hosts[0].domains[1]",
        "hosts[0].routes[0].id",
        "hosts[0].routes[0].match",
        "hosts[0].routes[0].match.prefix",
        "hosts[0].routes[0].upstream.split.clusters",
        "hosts[0].routes[0].auth.any_of[0]",
        "auth_providers.k.api_key.keys[0].consumer",
        "auth_providers.k.api_key.keys[0].sha256",
    ] {
        assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
    }
}

#[test]
fn duplicate_route_ids_and_key_digests_name_the_first_occurrence() {
    let digest = sha256_hex("k");
    let bad = format!(
        r#"{{"hosts":[{{"domains":["*"],"routes":[
        {{"id":"a","match":{{"prefix":"/x"}},"upstream":{{"cluster":"c"}}}},
        {{"id":"a","match":{{"prefix":"/y"}},"upstream":{{"cluster":"c"}}}}]}}],
      "auth_providers":{{"k":{{"api_key":{{"keys":[
        {{"consumer":"p","sha256":"{digest}"}},
        {{"consumer":"q","sha256":"{digest}"}}]}}}}}}}}"#
    );
    let err = Engine::from_json(bad.as_bytes()).unwrap_err();
    let issues: Vec<String> = err.issues.iter().map(ToString::to_string).collect();
    for expected in [
        "hosts[0].routes[1].id: route id 'a' is already used by hosts[0].routes[0]",
        "auth_providers.k.api_key.keys[1].sha256: same key digest as auth_providers.k.api_key.keys[0]",
    ] {
        assert!(
            issues.iter().any(|i| i == expected),
            "missing {expected} in {issues:?}"
        );
    }
}

#[test]
fn duplicate_headers_first_value_counts_and_every_spoofed_copy_goes() {
    let e = engine();
    let r = req(
        "GET",
        "api.example.com",
        "/keyed",
        &[
            ("x-api-key", ALICE_KEY),
            ("x-api-key", BOB_KEY),
            ("x-trieguard-consumer", "admin"),
            ("x-trieguard-consumer", "root"),
        ],
    );
    let a = allowed(e.decide(&r));
    assert_eq!(
        a.consumer.as_deref(),
        Some("alice"),
        "the first x-api-key is the credential"
    );
    assert_eq!(
        a.remove_headers,
        ["x-trieguard-consumer"],
        "removal drops every copy"
    );
    let r = req(
        "GET",
        "api.example.com",
        "/beta/x",
        &[("x-beta", "0"), ("x-beta", "1")],
    );
    assert_eq!(
        denied(e.decide(&r)).reason,
        "route.no_match",
        "predicates test the first value"
    );
}

#[test]
fn an_allow_carries_its_route_fail_mode() {
    let policy = r#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"strict","match":{"prefix":"/s"},"upstream":{"cluster":"c"}},
        {"id":"lenient","match":{"prefix":"/l"},"upstream":{"cluster":"c"},"fail_mode":"open"}]}]}"#;
    let e = Engine::from_json(policy.as_bytes()).unwrap();
    assert_eq!(
        allowed(e.decide(&get("/s/x"))).fail_mode,
        crate::config::FailMode::Closed
    );
    assert_eq!(
        allowed(e.decide(&get("/l/x"))).fail_mode,
        crate::config::FailMode::Open
    );
}

#[test]
fn routes_of_many_host_entries_keep_their_host_and_auth() {
    // Host entries are joined into one chunked route table: routes past the first chunk of
    // 1024 must still be told their own host entry and auth list.
    let mut hosts = Vec::new();
    for h in 0..40 {
        let routes: Vec<String> = (0..60)
            .map(|r| {
                let auth = if (h + r) % 2 == 0 {
                    r#","auth":{"any_of":["k"]}"#
                } else {
                    ""
                };
                format!(
                    r#"{{"id":"h{h}r{r}","match":{{"prefix":"/r{r}"}},"upstream":{{"cluster":"c{h}"}}{auth}}}"#
                )
            })
            .collect();
        hosts.push(format!(
            r#"{{"domains":["h{h}.example"],"routes":[{}]}}"#,
            routes.join(",")
        ));
    }
    let policy = format!(
        r#"{{"hosts":[{}],"auth_providers":{{"k":{{"api_key":{{"keys":[{{"consumer":"ann","sha256":"{}"}}]}}}}}}}}"#,
        hosts.join(","),
        sha256_hex("secret")
    );
    let e = Engine::from_json(policy.as_bytes()).unwrap();
    assert_eq!(e.route_count(), 2400);
    for (h, r) in [(0, 0), (17, 3), (39, 59), (38, 58)] {
        let open = req("GET", &format!("h{h}.example"), &format!("/r{r}/x"), &[]);
        let keyed = req(
            "GET",
            &format!("h{h}.example"),
            &format!("/r{r}/x"),
            &[("x-api-key", "secret")],
        );
        if (h + r) % 2 == 0 {
            let Decision::Deny(deny) = e.decide(&open) else {
                panic!("h{h}r{r} needs a key");
            };
            assert_eq!(deny.reason, "auth.missing");
            assert_eq!(allowed(e.decide(&keyed)).consumer.as_deref(), Some("ann"));
        } else {
            let allow = allowed(e.decide(&open));
            assert_eq!(allow.route, format!("h{h}r{r}"));
            assert_eq!(allow.cluster, format!("c{h}"));
        }
    }
}

#[test]
fn suffix_and_inverted_value_predicates_follow_envoy() {
    let engine = Engine::from_json(
        br#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"suffix","match":{"prefix":"/s","headers":[{"name":"x-t","suffix":"-2"}]},"upstream":{"cluster":"a"}},
        {"id":"not-beta","match":{"prefix":"/n","headers":[{"name":"x-t","exact":"beta","invert":true}]},"upstream":{"cluster":"a"}}]}]}"#,
    )
    .unwrap();
    let route = |path: &str, headers: &[(&str, &str)]| match engine
        .decide(&req("GET", "h", path, headers))
    {
        Decision::Allow(a) => a.route.to_string(),
        Decision::Deny(d) => d.reason.to_string(),
    };
    assert_eq!(route("/s", &[("x-t", "beta-2")]), "suffix");
    assert_eq!(route("/s", &[("x-t", "beta")]), "route.no_match");
    assert_eq!(route("/s", &[]), "route.no_match");
    assert_eq!(route("/n", &[("x-t", "gamma")]), "not-beta");
    assert_eq!(
        route("/n", &[]),
        "route.no_match",
        "an absent header never matches"
    );
    assert_eq!(route("/n", &[("x-t", "beta")]), "route.no_match");
    let refused = Engine::from_json(
        br#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"x","match":{"prefix":"/","headers":[{"name":"x-t","present":true,"invert":true}]},"upstream":{"cluster":"a"}}]}]}"#,
    )
    .err()
    .unwrap();
    assert!(
        refused.to_string().contains("headers[0].invert"),
        "{refused}"
    );
}
