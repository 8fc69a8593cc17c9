//! Minimum TLS per host, on a real TLS listener: a TLS 1.2 client is refused with 426 where the
//! host needs 1.3, and served where it needs 1.2.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::tls::{PinnedTls, TestCertificate, scratch_dir, tls_get};
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};

const POLICY: &str = r#"{"hosts":[
  {"domains":["modern.example.com"],"min_tls":"TLSv1.3",
   "routes":[{"id":"modern","match":{"prefix":"/"},"upstream":{"cluster":"app"}}]},
  {"domains":["classic.example.com"],"min_tls":"TLSv1.2",
   "routes":[{"id":"classic","match":{"prefix":"/"},"upstream":{"cluster":"app"}}]}]}"#;

#[test]
fn tls12_client_is_refused_with_426_where_the_host_needs_tls13() {
    let app = EchoUpstream::start("app").unwrap();
    let (_keep, dir) = scratch_dir().unwrap();
    let cert =
        TestCertificate::generate(&dir, &["modern.example.com", "classic.example.com"]).unwrap();
    let mut config = EnvoyConfig::new(
        ClusterSpec::for_upstreams(&[&app]),
        Some(PluginSpec::trieguard(POLICY)),
    );
    config.tls = Some(cert.spec.clone());
    let envoy = EnvoyProcess::start(&config).unwrap();

    let old = tls_get(
        envoy.listener(),
        "modern.example.com",
        "/x",
        PinnedTls::V12,
        &cert.der,
    )
    .unwrap();
    assert_eq!(old.status, 426, "{}", old.body);
    assert_eq!(old.header("x-trieguard-reason"), Some("tls.too_old"));
    assert!(old.body.contains("TLSv1.2"), "{}", old.body);

    let new = tls_get(
        envoy.listener(),
        "modern.example.com",
        "/x",
        PinnedTls::V13,
        &cert.der,
    )
    .unwrap();
    assert_eq!(new.status, 200, "{}", new.body);
    assert_eq!(
        new.echoed().unwrap().header("x-trieguard-route"),
        Some("modern")
    );

    let classic = tls_get(
        envoy.listener(),
        "classic.example.com",
        "/x",
        PinnedTls::V12,
        &cert.der,
    )
    .unwrap();
    assert_eq!(classic.status, 200, "{}", classic.body);
    assert_eq!(app.requests_served(), 2);
}
