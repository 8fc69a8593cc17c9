//! The real modules: `trieguard.wasm` itself and the route-cache probe.
//!
//! They are built by `cargo xtask build` (into `target/wasm32-wasip1/release/`) or by
//! `cargo build -p plugin -p route-cache-probe --target wasm32-wasip1 --release`; the tests look in
//! `$TRIEGUARD_WASM_DIR`, `$CARGO_TARGET_DIR/wasm32-wasip1/release` and the workspace's `target/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::artefact;
use host_harness::host::{
    Action, FailurePolicy, Host, HostError, HostOptions, HttpRequest, Routing, Tls,
};

fn options() -> HostOptions {
    HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: Some(
                ["orders", "billing"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        },
        failure_policy: FailurePolicy::FailClosed,
        ..HostOptions::default()
    }
}

fn req(authority: &str, path: &str, headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        authority: authority.into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        tls: Some(Tls {
            version: "TLSv1.3".into(),
            sni: None,
            mtls: false,
        }),
        source: Some("203.0.113.7:51234".into()),
        ..HttpRequest::default()
    }
}

/// A small policy of our own (the demo's `examples/policy.json` evolves with the plugin).
const POLICY: &[u8] = br#"{"hosts":[
  {"domains":["api.example.com"],"routes":[
    {"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":"orders"}},
    {"id":"billing","match":{"prefix":"/billing"},"upstream":{"cluster":"billing"}}]},
  {"domains":["*"],"routes":[
    {"id":"health","match":{"exact":"/healthz"},"upstream":{"cluster":"orders"}}]}]}"#;

/// Compiling trieguard.wasm takes seconds in a debug build of wasmtime: do it once.
fn trieguard() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| Host::from_file(&artefact("trieguard.wasm"), options()).unwrap())
}

#[test]
fn trieguard_routes_and_denies_the_example_policy() {
    let mut vm = trieguard().start(POLICY).unwrap();

    let o = vm.handle(&req(
        "api.example.com",
        "/orders/42?x=1",
        &[("x-trieguard-route", "forged")],
    ));
    assert_eq!(o.action, Action::Continue, "{o:?}");
    assert_eq!(o.request_header("x-trieguard-route"), Some("orders"));
    assert_eq!(o.cluster.as_deref(), Some("orders"));
    assert_eq!(
        o.request_headers
            .iter()
            .filter(|(k, _)| k == "x-trieguard-route")
            .count(),
        1
    );
    // `clear_route_cache: "auto"` (the default): Envoy selects the route again by itself for
    // this module's ABI, so no foreign call is made.
    assert!(o.foreign_calls.is_empty(), "{:?}", o.foreign_calls);

    let o = vm.handle(&req("api.example.com", "/billing/7", &[]));
    assert_eq!(o.cluster.as_deref(), Some("billing"));

    let o = vm.handle(&req("other.example.org", "/nowhere", &[]));
    assert_eq!((o.action, o.status), (Action::Deny, Some(404)), "{o:?}");
    let reason = o.response_header("x-trieguard-reason").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&o.response_body).unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["reason"], reason);

    // The VM is reused: context ids keep growing, memory stays.
    assert_eq!(o.context_id, 4);
    assert!(vm.memory_bytes() > 0);
    assert!(vm.failed().is_none());
}

#[test]
fn trieguard_rejects_an_invalid_policy_with_its_messages() {
    let host = trieguard();
    let err = host.start(br#"{"hosts":[{"domains":["a"],"routes":[{"id":"r","match":{"prefix":"/"},"upstream":{"cluster":""}}]}]}"#).unwrap_err();
    match &err {
        HostError::ConfigurationRejected { logs } => assert!(!logs.is_empty(), "{err}"),
        other => panic!("expected a rejected configuration, got {other}"),
    }
    assert!(host.start(b"not json").is_err());
}

#[test]
fn route_cache_probe_routes_by_the_header_it_sets() {
    let host = Host::from_file(&artefact("route_cache_probe.wasm"), options()).unwrap();
    for (mode, calls) in [("keep", 0), ("clear", 1)] {
        let mut vm = host.start(format!("billing {mode}").as_bytes()).unwrap();
        let o = vm.handle(&req(
            "api.example.com",
            "/",
            &[("x-trieguard-cluster", "orders")],
        ));
        assert_eq!(o.action, Action::Continue);
        assert_eq!(o.cluster.as_deref(), Some("billing"), "mode {mode}");
        assert_eq!(o.foreign_calls.len(), calls);
    }
    assert!(matches!(
        host.start(b"billing sometimes"),
        Err(HostError::ConfigurationRejected { .. })
    ));
}

/// `decision_headers.clear_route_cache: "auto"` relies on Envoy selecting the route again by
/// itself for modules of this ABI (docs/envoy-facts.md): an SDK upgrade that changes the
/// declared ABI must revisit that.
#[test]
fn the_module_declares_abi_0_2_1() {
    assert_eq!(
        trieguard().abi_version(),
        Some(trieguard::config::PROXY_WASM_ABI)
    );
    assert_eq!(trieguard::config::PROXY_WASM_ABI, "0.2.1");
}

#[test]
fn clear_route_cache_is_called_only_when_the_policy_asks() {
    for (setting, calls) in [("auto", 0), ("never", 0), ("always", 1)] {
        let policy = String::from_utf8_lossy(POLICY).replacen(
            '{',
            &format!(r#"{{"decision_headers":{{"clear_route_cache":"{setting}"}},"#),
            1,
        );
        let mut vm = trieguard().start(policy.as_bytes()).unwrap();
        let o = vm.handle(&req("api.example.com", "/orders/42", &[]));
        assert_eq!(o.cluster.as_deref(), Some("orders"), "{setting}");
        let made = o
            .foreign_calls
            .iter()
            .filter(|f| *f == "clear_route_cache")
            .count();
        assert_eq!(made, calls, "{setting}: {:?}", o.foreign_calls);
    }
}
