//! The certificate-profile fixtures of `certs/testdata/rules/` through the real `trieguard.wasm`
//! in the harness, passed in `x-forwarded-client-cert` the way a front TLS terminator does: every
//! chain the CLI calls invalid is a 401 with an `auth.sm2.*` reason and the precise message, never
//! a 500 or a trap; a root that cannot be a trust anchor rejects the configuration.
//!
//! Needs `trieguard.wasm` (`cargo build -p plugin --target wasm32-wasip1 --release`), looked for
//! where every test of the real modules looks (`tests/common`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::artefact;

use host_harness::host::{
    Action, Clock, FailurePolicy, Host, HostError, HostOptions, HttpRequest, Tls,
};

/// 2026-06-01T00:00:00Z, inside every fixture's validity window.
const NOW_NS: u64 = 1_780_272_000 * 1_000_000_000;
const ALGS: [&str; 2] = ["sm2", "p256"];

fn rules(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs/testdata/rules")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn host() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let mut options = HostOptions {
            failure_policy: FailurePolicy::FailClosed,
            ..HostOptions::default()
        };
        options.plugin.clock = Clock::Fixed(NOW_NS);
        Host::from_file(&artefact("trieguard.wasm"), options).unwrap()
    })
}

/// Three providers over the rules fixtures: the default options, `require_client_auth_eku`,
/// and the roots whose keyUsage lacks keyCertSign.
fn policy() -> Vec<u8> {
    let provider = |roots: String, extra: serde_json::Value| {
        let mut p = serde_json::json!({"roots_pem": roots, "consumer_from": "dns_san"});
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        serde_json::json!({ "client_cert": p })
    };
    let route = |id: &str, provider: &str| {
        serde_json::json!({"id": id, "match": {"prefix": format!("/{id}")},
            "upstream": {"cluster": "gov"}, "auth": {"any_of": [provider]}})
    };
    serde_json::json!({
        "hosts": [{"domains": ["*"], "routes": [
            route("default", "rules"), route("eku", "rules-eku"), route("nocertsign", "nocertsign")
        ]}],
        "auth_providers": {
            "rules": provider(rules("roots.pem"), serde_json::json!({})),
            "rules-eku": provider(rules("roots.pem"), serde_json::json!({"require_client_auth_eku": true})),
            "nocertsign": provider(
                rules("roots-sm2-no-certsign.pem") + &rules("roots-p256-no-certsign.pem"),
                serde_json::json!({})),
        }
    })
    .to_string()
    .into_bytes()
}

/// Envoy's URL encoding of a PEM value in XFCC.
fn url_encode(pem: &str) -> String {
    pem.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn request(route: &str, chain_pem: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        authority: "gov.example.cn".into(),
        path: format!("/{route}/x"),
        headers: vec![(
            "x-forwarded-client-cert".into(),
            format!(
                "By=spiffe://front.test;Hash=00;Chain=\"{}\"",
                url_encode(chain_pem)
            ),
        )],
        tls: Some(Tls {
            version: "TLSv1.3".into(),
            sni: None,
            mtls: false,
        }),
        source: Some("10.0.0.5:51234".into()),
        ..HttpRequest::default()
    }
}

/// (case, route, message fragment); every one must be 401 `auth.sm2.chain_invalid`.
const REFUSED: &[(&str, &str, &str)] = &[
    ("leaf-no-aki", "default", "lacks authorityKeyIdentifier"),
    (
        "leaf-critical-aki",
        "default",
        "authorityKeyIdentifier is marked critical",
    ),
    ("leaf-empty-aki-keyid", "default", "empty keyIdentifier"),
    ("int-no-aki", "default", "lacks authorityKeyIdentifier"),
    ("int-no-ski", "default", "lacks subjectKeyIdentifier"),
    (
        "int-critical-ski",
        "default",
        "subjectKeyIdentifier is marked critical",
    ),
    (
        "leaf-keycertsign",
        "default",
        "keyCertSign but basicConstraints cA is not TRUE",
    ),
    (
        "leaf-pathlen-not-ca",
        "default",
        "pathLenConstraint without basicConstraints cA TRUE",
    ),
    ("leaf-eku-server", "default", "lacks id-kp-clientAuth"),
    (
        "leaf-eku-any",
        "default",
        "does not accept anyExtendedKeyUsage",
    ),
    (
        "int-eku-server",
        "default",
        "issuer not valid for client authentication",
    ),
    ("san-empty", "default", "subjectAltName: empty"),
    ("san-empty-dns", "default", "empty dNSName"),
    ("san-non-ascii", "default", "non-ASCII dNSName"),
    (
        "cn-not-a-string",
        "default",
        "commonName is not a DirectoryString",
    ),
    (
        "cn-bad-printable",
        "default",
        "outside the PrintableString set",
    ),
    ("cn-bad-utf8", "default", "not valid UTF-8"),
    (
        "empty-subject-noncritical-san",
        "default",
        "empty subject with a non-critical subjectAltName",
    ),
    (
        "many-names",
        "default",
        "more than 65536 name constraint checks",
    ),
    ("leaf-no-eku", "eku", "(require_client_auth_eku)"),
    ("root-no-certsign", "nocertsign", "lacks keyCertSign"),
];

#[test]
fn every_refused_rule_fixture_is_a_401_with_its_reason_never_a_500_or_a_trap() {
    let mut vm = host().start(&policy()).unwrap();
    for alg in ALGS {
        for (case, route, message) in REFUSED {
            let o = vm.handle(&request(route, &rules(&format!("chains/{alg}-{case}.pem"))));
            assert_eq!(
                (o.action, o.status),
                (Action::Deny, Some(401)),
                "{alg}-{case}: {o:?}"
            );
            assert_eq!(
                o.response_header("x-trieguard-reason"),
                Some("auth.sm2.chain_invalid"),
                "{alg}-{case}"
            );
            let body: serde_json::Value = serde_json::from_slice(&o.response_body).unwrap();
            let text = body["message"].as_str().unwrap_or_default();
            assert!(text.contains(message), "{alg}-{case}: {text}");
            assert!(vm.failed().is_none(), "{alg}-{case}: the VM failed");
        }
    }
}

#[test]
fn accepted_rule_fixtures_pass_with_their_consumer() {
    let mut vm = host().start(&policy()).unwrap();
    for alg in ALGS {
        for (case, route) in [
            ("ok", "default"),
            ("ok", "eku"),
            ("leaf-no-eku", "default"),
            ("leaf-eku-any-client", "default"),
            ("leaf-aki-issuer-serial", "default"),
            ("int-eku-client", "default"),
            ("cn-printable", "default"),
            ("empty-subject-critical-san", "default"),
        ] {
            let o = vm.handle(&request(route, &rules(&format!("chains/{alg}-{case}.pem"))));
            assert_eq!(o.action, Action::Continue, "{alg}-{case} on {route}: {o:?}");
            assert_eq!(
                o.request_header("x-trieguard-consumer"),
                Some("alice.rules.example"),
                "{alg}-{case}"
            );
        }
    }
    assert!(vm.failed().is_none());
}

#[test]
fn a_root_that_cannot_be_a_trust_anchor_rejects_the_configuration_without_a_trap() {
    for roots in ["roots-sm2-huge.pem", "roots-p256-empty-san.pem"] {
        let policy = serde_json::json!({
            "hosts": [{"domains": ["*"], "routes": [{"id": "r", "match": {"prefix": "/"},
                "upstream": {"cluster": "gov"}, "auth": {"any_of": ["bad"]}}]}],
            "auth_providers": {"bad": {"client_cert": {"roots_pem": rules(roots)}}}
        });
        match host().start(policy.to_string().as_bytes()) {
            Err(HostError::ConfigurationRejected { logs }) => {
                assert!(
                    logs.iter().any(|l| l.message.contains("roots_pem")),
                    "{roots}: {logs:?}"
                );
            }
            Err(other) => panic!("{roots}: expected a rejected configuration, got {other}"),
            Ok(_) => panic!("{roots}: accepted"),
        }
    }
}
