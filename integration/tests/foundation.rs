//! Real-Envoy tests of the test bed itself: the plugin loads, a bad configuration is refused
//! with the plugin's own message, and the cluster header really picks the upstream.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::client::get;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec, paths};

const POLICY: &str = r#"{
  "hosts": [
    {
      "domains": ["*"],
      "routes": [
        {"id": "orders", "match": {"prefix": "/orders"}, "upstream": {"cluster": "orders"}},
        {"id": "billing", "match": {"prefix": "/billing"}, "upstream": {"cluster": "billing"}}
      ]
    }
  ]
}"#;

fn clusters(upstreams: &[&EchoUpstream]) -> Vec<ClusterSpec> {
    ClusterSpec::for_upstreams(upstreams)
}

fn trieguard(configuration: &str) -> Option<PluginSpec> {
    Some(PluginSpec::trieguard(configuration))
}

#[test]
fn plugin_header_picks_the_upstream_cluster() {
    let orders = EchoUpstream::start("orders").unwrap();
    let billing = EchoUpstream::start("billing").unwrap();
    let envoy = EnvoyProcess::start(&EnvoyConfig::new(
        clusters(&[&orders, &billing]),
        trieguard(POLICY),
    ))
    .unwrap();

    for (path, cluster) in [("/orders/42", "orders"), ("/billing/7?x=1", "billing")] {
        let reply = get(&format!("{}{path}", envoy.url()), &[]).unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let seen = reply.echoed().unwrap();
        assert_eq!(seen.upstream, cluster, "{path}");
        assert_eq!(seen.path, path);
        assert_eq!(seen.header("x-trieguard-route"), Some(cluster));
        assert_eq!(seen.header("x-trieguard-cluster"), Some(cluster));
    }
    assert_eq!(
        (orders.requests_served(), billing.requests_served()),
        (1, 1)
    );
}

#[test]
fn client_sent_cluster_header_cannot_steer_the_request() {
    let orders = EchoUpstream::start("orders").unwrap();
    let billing = EchoUpstream::start("billing").unwrap();
    let envoy = EnvoyProcess::start(&EnvoyConfig::new(
        clusters(&[&orders, &billing]),
        trieguard(POLICY),
    ))
    .unwrap();

    let reply = get(
        &format!("{}/orders/1", envoy.url()),
        &[
            ("x-trieguard-cluster", "billing"),
            ("x-trieguard-route", "billing"),
        ],
    )
    .unwrap();
    let seen = reply.echoed().unwrap();
    assert_eq!(seen.upstream, "orders");
    let cluster_headers: Vec<_> = seen
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("x-trieguard-"))
        .collect();
    assert_eq!(
        cluster_headers,
        [
            &("x-trieguard-route".to_owned(), "orders".to_owned()),
            &("x-trieguard-cluster".to_owned(), "orders".to_owned())
        ]
    );
}

#[test]
fn unmatched_request_gets_the_plugin_reply_and_never_reaches_an_upstream() {
    let orders = EchoUpstream::start("orders").unwrap();
    let envoy =
        EnvoyProcess::start(&EnvoyConfig::new(clusters(&[&orders]), trieguard(POLICY))).unwrap();

    let reply = get(&format!("{}/admin", envoy.url()), &[]).unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("x-trieguard-reason"), Some("route.no_match"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json().unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["reason"], "route.no_match");
    assert_eq!(orders.requests_served(), 0);
}

#[test]
fn invalid_configuration_stops_envoy_with_the_plugin_message() {
    let bad = r#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"orders","match":{"prefix":"orders"},"upstream":{"cluster":""}}]}]}"#;
    let exit =
        EnvoyProcess::start_expecting_exit(&EnvoyConfig::new(vec![], trieguard(bad))).unwrap();
    assert!(!exit.status.success());
    for expected in [
        "trieguard: config error at hosts[0].routes[0].match.prefix: path must start with '/'",
        "trieguard: config error at hosts[0].routes[0].upstream.cluster: cluster name is empty",
    ] {
        assert!(
            exit.log.contains(expected),
            "missing {expected:?} in:\n{}",
            exit.log
        );
    }

    let exit = EnvoyProcess::start_expecting_exit(&EnvoyConfig::new(
        vec![],
        trieguard(r#"{"hosts":[],"colour":"red"}"#),
    ))
    .unwrap();
    assert!(
        exit.log.contains("unknown field `colour`"),
        "missing the serde error in:\n{}",
        exit.log
    );
}

/// Settles whether Envoy 1.40 needs `clear_route_cache` for `cluster_header` to see a header
/// set in `on_http_request_headers` (recorded in docs/envoy-facts.md).
#[test]
fn cluster_header_set_by_a_module_routes_with_and_without_clear_route_cache() {
    let orders = EchoUpstream::start("orders").unwrap();
    let billing = EchoUpstream::start("billing").unwrap();
    for mode in ["keep", "clear"] {
        let probe = PluginSpec {
            wasm: paths::wasm_release_dir().join("route_cache_probe.wasm"),
            configuration: format!("billing {mode}"),
        };
        let envoy = EnvoyProcess::start(&EnvoyConfig::new(
            clusters(&[&orders, &billing]),
            Some(probe),
        ))
        .unwrap();
        // The client names `orders`; only the module's header can send it to `billing`.
        let reply = get(
            &format!("{}/anything", envoy.url()),
            &[("x-trieguard-cluster", "orders")],
        )
        .unwrap();
        assert_eq!(reply.status, 200, "{mode}: {}", reply.body);
        assert_eq!(reply.echoed().unwrap().upstream, "billing", "mode {mode}");
    }
}
