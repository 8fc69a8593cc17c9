//! SM2 client-certificate chains forwarded in XFCC, verified by trieguard inside real Envoy.
//!
//! The fixtures (from `certs/testdata/generate.sh`) are valid until 2027-06-01; regenerate them
//! after that.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::client::send;
use integration::xfcc::{element, fixture};
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};

fn policy() -> String {
    serde_json::json!({
        "hosts": [{"domains": ["*"], "routes": [
            {"id": "gov", "match": {"prefix": "/"}, "upstream": {"cluster": "gov"},
             "auth": {"any_of": ["gov-sm2"]}}
        ]}],
        "auth_providers": {"gov-sm2": {"client_cert": {
            "roots_pem": fixture("sm2-root.crt.pem").unwrap(),
            "trusted_proxies": ["127.0.0.1"]
        }}}
    })
    .to_string()
}

fn envoy(gov: &EchoUpstream, xfcc_mode: Option<&str>) -> EnvoyProcess {
    let mut config = EnvoyConfig::new(
        ClusterSpec::for_upstreams(&[gov]),
        Some(PluginSpec::trieguard(&policy())),
    );
    config.forward_client_cert_details = xfcc_mode.map(str::to_owned);
    EnvoyProcess::start(&config).unwrap()
}

#[test]
fn sm2_chains_in_xfcc_are_verified_in_envoy() {
    let gov = EchoUpstream::start("gov").unwrap();
    let envoy = envoy(&gov, Some("ALWAYS_FORWARD_ONLY"));
    let call = |chain: &str| {
        let value = element(&fixture(chain).unwrap());
        send(
            "GET",
            &format!("{}/filings", envoy.url()),
            &[("x-forwarded-client-cert", &value)],
        )
        .unwrap()
    };

    let reply = call("chains/sm2-valid.pem");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = reply.echoed().unwrap();
    assert_eq!(
        seen.header("x-trieguard-consumer"),
        Some("spiffe://trieguard.test/client/alice")
    );

    for (chain, needle) in [
        ("chains/expired.pem", "expired"),
        ("chains/bad-signature.pem", "signature"),
    ] {
        let reply = call(chain);
        assert_eq!(
            (reply.status, reply.header("x-trieguard-reason")),
            (401, Some("auth.sm2.chain_invalid")),
            "{chain}"
        );
        assert!(
            reply.json().unwrap()["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(needle),
            "{}",
            reply.body
        );
    }
    assert_eq!(gov.requests_served(), 1);
}

/// Envoy's default `forward_client_cert_details` (SANITIZE) removes a client's XFCC before the
/// plugin runs, so a chain can only arrive from a front proxy Envoy is told to trust.
#[test]
fn envoy_sanitizes_client_xfcc_by_default() {
    let gov = EchoUpstream::start("gov").unwrap();
    let envoy = envoy(&gov, None);
    let value = element(&fixture("chains/sm2-valid.pem").unwrap());
    let reply = send(
        "GET",
        &format!("{}/filings", envoy.url()),
        &[("x-forwarded-client-cert", &value)],
    )
    .unwrap();
    assert_eq!(
        (reply.status, reply.header("x-trieguard-reason")),
        (401, Some("auth.missing"))
    );
}
