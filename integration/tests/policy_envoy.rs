//! The policy engine inside real Envoy: routing to several clusters, rewrite, sticky canary
//! split, API keys, device trust, spoofed decision headers, and metrics with labels.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::client::{get, send};
use integration::sha256_hex;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};

const ALICE_KEY: &str = "k-alice-5e5a";
const BOB_KEY: &str = "k-bob-77f1";

fn policy() -> String {
    policy_with(serde_json::json!({}))
}

fn policy_with(decision_headers: serde_json::Value) -> String {
    serde_json::json!({
        "decision_headers": decision_headers,
        "hosts": [{
            "domains": ["api.example.com"],
            "routes": [
                {"id": "orders", "match": {"path_separated_prefix": "/orders"}, "upstream": {"cluster": "orders"}},
                {"id": "billing", "match": {"template": "/billing/{account}/invoices"}, "upstream": {"cluster": "billing"}},
                {"id": "legacy", "match": {"path_separated_prefix": "/v1"}, "upstream": {"cluster": "orders"},
                 "rewrite": {"prefix": "/api/v1"}},
                {"id": "shop", "match": {"path_separated_prefix": "/shop"},
                 "upstream": {"split": {"key": {"header": "x-user"}, "clusters": [
                     {"cluster": "shop-v1", "weight": 80}, {"cluster": "shop-v2", "weight": 20}]}}},
                {"id": "keyed", "match": {"path_separated_prefix": "/keyed"}, "upstream": {"cluster": "billing"},
                 "auth": {"any_of": ["keys"]}, "consumers": ["alice"]},
                {"id": "kiosk", "match": {"path_separated_prefix": "/kiosk"}, "upstream": {"cluster": "orders"},
                 "device_trust": {"header": "x-device-score", "min_score": 70}}
            ]
        }],
        "auth_providers": {"keys": {"api_key": {"keys": [
            {"consumer": "alice", "sha256": sha256_hex(ALICE_KEY)},
            {"consumer": "bob", "sha256": sha256_hex(BOB_KEY)}
        ]}}}
    })
    .to_string()
}

struct Bed {
    _upstreams: Vec<EchoUpstream>,
    envoy: EnvoyProcess,
}

fn bed() -> Bed {
    bed_with(&policy())
}

fn bed_with(policy: &str) -> Bed {
    let upstreams: Vec<EchoUpstream> = ["orders", "billing", "shop-v1", "shop-v2"]
        .into_iter()
        .map(|name| EchoUpstream::start(name).unwrap())
        .collect();
    let refs: Vec<&EchoUpstream> = upstreams.iter().collect();
    let envoy = EnvoyProcess::start(&EnvoyConfig::new(
        ClusterSpec::for_upstreams(&refs),
        Some(PluginSpec::trieguard(policy)),
    ))
    .unwrap();
    Bed {
        _upstreams: upstreams,
        envoy,
    }
}

fn call(bed: &Bed, path: &str, headers: &[(&str, &str)]) -> integration::Reply {
    let mut all = vec![("host", "api.example.com")];
    all.extend_from_slice(headers);
    send("GET", &format!("{}{path}", bed.envoy.url()), &all).unwrap()
}

#[test]
fn routes_rewrites_and_denies_in_envoy() {
    let bed = bed();
    let seen = call(&bed, "/orders/1", &[]).echoed().unwrap();
    assert_eq!(
        (seen.upstream.as_str(), seen.path.as_str()),
        ("orders", "/orders/1")
    );
    let seen = call(&bed, "/billing/acme/invoices?page=2", &[])
        .echoed()
        .unwrap();
    assert_eq!(
        (seen.upstream.as_str(), seen.path.as_str()),
        ("billing", "/billing/acme/invoices?page=2")
    );

    let seen = call(&bed, "/v1/users/7?x=1", &[]).echoed().unwrap();
    assert_eq!(seen.path, "/api/v1/users/7?x=1", "prefix rewrite");
    let seen = call(&bed, "//orders/./a/../b", &[]).echoed().unwrap();
    assert_eq!(
        seen.path, "/orders/b",
        "the upstream sees the normalised path"
    );

    let reply = call(&bed, "/orders%2Fx", &[]);
    assert_eq!(
        (reply.status, reply.header("x-trieguard-reason")),
        (400, Some("path.encoded_slash"))
    );
    let reply = call(&bed, "/ordersx", &[]);
    assert_eq!(
        (reply.status, reply.header("x-trieguard-reason")),
        (404, Some("route.no_match"))
    );
    let reply = send(
        "GET",
        &format!("{}/orders", bed.envoy.url()),
        &[("host", "other.example.com")],
    )
    .unwrap();
    assert_eq!(
        (reply.status, reply.header("x-trieguard-reason")),
        (404, Some("route.no_host"))
    );
}

#[test]
fn canary_split_follows_weights_and_is_sticky_in_envoy() {
    let bed = bed();
    let mut v2 = 0;
    let mut first_choice = Vec::new();
    for user in 0..1000 {
        let key = format!("user-{user}");
        let seen = call(&bed, "/shop/cart", &[("x-user", &key)])
            .echoed()
            .unwrap();
        if seen.upstream == "shop-v2" {
            v2 += 1;
        }
        first_choice.push(seen.upstream);
    }
    let share = f64::from(v2) / 10.0;
    assert!(
        (17.0..=23.0).contains(&share),
        "shop-v2 got {share}% at weight 20%"
    );
    for user in (0..1000).step_by(50) {
        let key = format!("user-{user}");
        let seen = call(&bed, "/shop/cart", &[("x-user", &key)])
            .echoed()
            .unwrap();
        assert_eq!(
            seen.upstream, first_choice[user],
            "{key} must stay on its cluster"
        );
    }
}

#[test]
fn api_keys_and_consumer_allow_list_in_envoy() {
    let bed = bed();
    let reply = call(&bed, "/keyed/a", &[("x-api-key", ALICE_KEY)]);
    let seen = reply.echoed().unwrap();
    assert_eq!(seen.header("x-trieguard-consumer"), Some("alice"));
    assert_eq!(
        seen.header("x-api-key"),
        Some(ALICE_KEY),
        "the key itself is forwarded untouched"
    );

    for (headers, status, reason) in [
        (vec![("x-api-key", BOB_KEY)], 403, "auth.forbidden"),
        (vec![("x-api-key", "k-wrong")], 401, "auth.api_key.unknown"),
        (vec![], 401, "auth.missing"),
    ] {
        let reply = call(&bed, "/keyed/a", &headers);
        assert_eq!(
            (reply.status, reply.header("x-trieguard-reason")),
            (status, Some(reason)),
            "{headers:?}"
        );
        assert_eq!(reply.json().unwrap()["reason"], reason);
    }
}

#[test]
fn device_trust_in_envoy() {
    let bed = bed();
    assert_eq!(
        call(&bed, "/kiosk", &[("x-device-score", "85")]).status,
        200
    );
    let reply = call(&bed, "/kiosk", &[("x-device-score", "12")]);
    assert_eq!(
        (reply.status, reply.header("x-trieguard-reason")),
        (403, Some("device.untrusted"))
    );
    assert_eq!(call(&bed, "/kiosk", &[]).status, 403);
}

#[test]
fn spoofed_decision_headers_never_reach_the_upstream() {
    let bed = bed();
    let seen = call(
        &bed,
        "/orders/1",
        &[
            ("x-trieguard-consumer", "admin"),
            ("x-trieguard-route", "keyed"),
            ("x-trieguard-cluster", "billing"),
        ],
    )
    .echoed()
    .unwrap();
    assert_eq!(seen.upstream, "orders");
    assert_eq!(seen.header("x-trieguard-consumer"), None);
    assert_eq!(seen.header("x-trieguard-route"), Some("orders"));
    let copies = seen
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("x-trieguard-"))
        .count();
    assert_eq!(copies, 2, "{:?}", seen.headers);
}

/// Route and consumer headers turned off: spoofed copies are still removed, none is sent, and
/// the cluster header still routes — with `clear_route_cache` never called (the default under
/// Envoy) and called after every change.
#[test]
fn optional_decision_headers_can_be_left_out() {
    for clear in ["auto", "always"] {
        let bed = bed_with(&policy_with(serde_json::json!({
            "emit_route": false, "emit_consumer": false, "clear_route_cache": clear
        })));
        let seen = call(
            &bed,
            "/keyed/1",
            &[
                ("x-api-key", ALICE_KEY),
                ("x-trieguard-consumer", "admin"),
                ("x-trieguard-route", "orders"),
                ("x-trieguard-cluster", "orders"),
            ],
        )
        .echoed()
        .unwrap();
        assert_eq!(seen.upstream, "billing", "clear_route_cache {clear}");
        let ours: Vec<_> = seen
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("x-trieguard-"))
            .collect();
        assert_eq!(
            ours,
            [&("x-trieguard-cluster".to_owned(), "billing".to_owned())],
            "clear_route_cache {clear}"
        );
        assert_eq!(
            call(&bed, "/keyed/1", &[("x-api-key", BOB_KEY)]).status,
            403
        );
    }
}

#[test]
fn decisions_are_counted_with_prometheus_labels() {
    let bed = bed();
    for _ in 0..3 {
        call(&bed, "/orders/1", &[]);
    }
    call(&bed, "/keyed", &[]);
    let stats = bed.envoy.admin_get("/stats").unwrap();
    assert!(
        stats.contains("wasmcustom.trieguard.route.orders.reason.ok.requests: 3"),
        "{stats}"
    );
    let prometheus = bed.envoy.admin_get("/stats/prometheus").unwrap();
    let line = |route: &str, reason: &str| {
        prometheus
            .lines()
            .find(|l| {
                l.contains(&format!("trieguard_route=\"{route}\""))
                    && l.contains(&format!("trieguard_reason=\"{reason}\""))
            })
            .map(str::to_owned)
    };
    let ok = line("orders", "ok")
        .unwrap_or_else(|| panic!("no labelled orders/ok series in:\n{prometheus}"));
    assert!(ok.starts_with("trieguard_requests{"), "{ok}");
    assert!(ok.ends_with(" 3"), "{ok}");
    let missing = line("keyed", "auth_missing")
        .unwrap_or_else(|| panic!("no keyed/auth_missing in:\n{prometheus}"));
    assert!(missing.ends_with(" 1"), "{missing}");
}

#[test]
fn unknown_host_gets_no_host_reason_via_get_helper() {
    let bed = bed();
    let reply = get(&format!("{}/orders", bed.envoy.url()), &[]).unwrap();
    // ureq sends `host: 127.0.0.1:<port>`, which no host entry serves.
    assert_eq!(reply.header("x-trieguard-reason"), Some("route.no_host"));
}
