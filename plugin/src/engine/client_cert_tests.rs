//! Client-certificate provider tests on the `certs` fixtures, at a pinned time.

use super::*;

const NOW_2026_01_01: u64 = 1_767_225_600;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../certs/testdata")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Envoy's XFCC encoding of a PEM value: URL-encoded, quoted.
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

fn xfcc(chain_pem: &str) -> String {
    let leaf_end =
        chain_pem.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----\n".len();
    let leaf = &chain_pem[..leaf_end.min(chain_pem.len())];
    format!(
        "By=spiffe://front.test;Hash=00;Cert=\"{}\";Chain=\"{}\";Subject=\"CN=alice\";URI=spiffe://trieguard.test/client/alice",
        url_encode(leaf),
        url_encode(chain_pem)
    )
}

fn engine(trusted_proxies: Option<&[&str]>) -> Engine {
    let mut store = serde_json::json!({"roots_pem": fixture("sm2-root.crt.pem")});
    if let Some(proxies) = trusted_proxies {
        store["trusted_proxies"] = serde_json::json!(proxies);
    }
    engine_with_store(store)
}

/// One route behind one `client_cert` provider configured as `store`.
fn engine_with_store(store: serde_json::Value) -> Engine {
    let policy = serde_json::json!({
        "hosts": [{"domains": ["*"], "routes": [
            {"id": "gov", "match": {"prefix": "/"}, "upstream": {"cluster": "gov"}, "auth": {"any_of": ["gov-sm2"]}}
        ]}],
        "auth_providers": {"gov-sm2": {"client_cert": store}}
    });
    Engine::from_json(policy.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// `engine_with_store` for the roots in fixture `roots`, consumers named by DNS SAN, with the
/// store fields of `options` added.
fn engine_with_options(roots: &str, options: serde_json::Value) -> Engine {
    let mut store = serde_json::json!({"roots_pem": fixture(roots), "consumer_from": "dns_san"});
    if let (Some(s), Some(o)) = (store.as_object_mut(), options.as_object()) {
        s.extend(o.clone());
    }
    engine_with_store(store)
}

fn request(xfcc_value: Option<String>, source: &str) -> Request {
    Request {
        method: "GET".into(),
        authority: "gov.example.cn".into(),
        path: "/x".into(),
        headers: xfcc_value
            .map(|v| vec![("x-forwarded-client-cert".to_owned(), v)])
            .unwrap_or_default(),
        source: Some(source.into()),
        now_unix_seconds: NOW_2026_01_01,
        ..Request::default()
    }
}

fn outcome(decision: Decision) -> (u16, String, String) {
    match decision {
        Decision::Allow(a) => (200, a.consumer.unwrap_or_default().into(), String::new()),
        Decision::Deny(d) => (d.status, d.reason, d.message),
    }
}

#[test]
fn a_valid_sm2_chain_names_the_consumer_by_uri_san() {
    let e = engine(None);
    let valid = xfcc(&fixture("chains/sm2-valid.pem"));
    for _ in 0..2 {
        let (status, consumer, _) =
            outcome(e.decide(&request(Some(valid.clone()), "127.0.0.1:5000")));
        assert_eq!(
            (status, consumer.as_str()),
            (200, "spiffe://trieguard.test/client/alice")
        );
    }
}

#[test]
fn invalid_chains_say_exactly_why() {
    let e = engine(None);
    for (chain, needle) in [
        ("chains/expired.pem", "expired"),
        ("chains/bad-signature.pem", "signature"),
        ("chains/missing-intermediate.pem", "issuer"),
    ] {
        let (status, reason, message) =
            outcome(e.decide(&request(Some(xfcc(&fixture(chain))), "127.0.0.1:5000")));
        assert_eq!(
            (status, reason.as_str()),
            (401, "auth.sm2.chain_invalid"),
            "{chain}"
        );
        assert!(
            message.to_lowercase().contains(needle),
            "{chain}: {message}"
        );
    }
}

#[test]
fn xfcc_from_an_untrusted_source_is_refused() {
    let e = engine(Some(&["10.0.0.5"]));
    let valid = xfcc(&fixture("chains/sm2-valid.pem"));
    let (_, reason, _) = outcome(e.decide(&request(Some(valid.clone()), "127.0.0.1:5000")));
    assert_eq!(reason, "auth.sm2.untrusted_proxy");
    let (status, _, _) = outcome(e.decide(&request(Some(valid), "10.0.0.5:443")));
    assert_eq!(status, 200);
}

#[test]
fn malformed_and_absent_xfcc() {
    let e = engine(None);
    let (_, reason, _) =
        outcome(e.decide(&request(Some("Cert=\"unterminated".into()), "127.0.0.1:1")));
    assert_eq!(reason, "auth.sm2.xfcc_malformed");
    let (status, reason, _) = outcome(e.decide(&request(None, "127.0.0.1:1")));
    assert_eq!((status, reason.as_str()), (401, "auth.missing"));
}

#[test]
fn bad_roots_are_a_config_error_at_their_path() {
    let policy = r#"{"hosts":[{"domains":["*"],"routes":[]}],
        "auth_providers":{"gov":{"client_cert":{"roots_pem":"not a certificate"}}}}"#;
    let err = Engine::from_json(policy.as_bytes()).unwrap_err();
    assert_eq!(
        err.issues[0].path, "auth_providers.gov.client_cert.roots_pem",
        "{err}"
    );
}

/// The profile options of a `client_cert` store (docs/cert-rules.md) reach its trust store:
/// `require_client_auth_eku` off by default, the key-identifier rules on by default.
#[test]
fn the_profile_options_reach_the_trust_store() {
    let engine_with = |options| engine_with_options("rules/roots.pem", options);
    let decide = |e: &Engine, chain: &str| {
        outcome(e.decide(&request(
            Some(xfcc(&fixture(&format!("rules/chains/{chain}.pem")))),
            "127.0.0.1:5000",
        )))
    };
    let default = engine_with(serde_json::json!({}));
    assert_eq!(decide(&default, "sm2-leaf-no-eku").0, 200);
    let (status, reason, message) = decide(&default, "sm2-leaf-no-aki");
    assert_eq!((status, reason.as_str()), (401, "auth.sm2.chain_invalid"));
    assert!(message.contains("authorityKeyIdentifier"), "{message}");

    let strict = engine_with(serde_json::json!({"require_client_auth_eku": true}));
    let (status, reason, message) = decide(&strict, "sm2-leaf-no-eku");
    assert_eq!((status, reason.as_str()), (401, "auth.sm2.chain_invalid"));
    assert!(message.contains("require_client_auth_eku"), "{message}");
    assert_eq!(decide(&strict, "sm2-ok").0, 200);

    let lenient = engine_with(serde_json::json!({
        "require_authority_key_id": false, "require_subject_key_id": false,
        "allow_any_extended_key_usage": true}));
    for chain in ["sm2-leaf-no-aki", "sm2-int-no-ski", "p256-leaf-eku-any"] {
        assert_eq!(decide(&lenient, chain).0, 200, "{chain}");
    }
}

/// `require_critical_basic_constraints` (docs/cert-rules.md, x509-limbo
/// `rfc5280::root-non-critical-basic-constraints`) reaches the trust store: a root whose
/// basicConstraints is not critical is refused by default with a 401 and accepted when off.
#[test]
fn a_non_critical_basic_constraints_root_is_a_401_unless_allowed() {
    for alg in ["sm2", "p256"] {
        let roots = format!("anchors/roots-{alg}-root-noncritical-bc.pem");
        let engine_with = |options| engine_with_options(&roots, options);
        let chain = fixture(&format!("anchors/chains/{alg}-root-noncritical-bc.pem"));
        let decide = |e: &Engine| outcome(e.decide(&request(Some(xfcc(&chain)), "127.0.0.1:5000")));
        let (status, reason, message) = decide(&engine_with(serde_json::json!({})));
        assert_eq!(
            (status, reason.as_str()),
            (401, "auth.sm2.chain_invalid"),
            "{alg}"
        );
        assert!(message.contains("basicConstraints"), "{alg}: {message}");
        let lenient = engine_with(serde_json::json!({"require_critical_basic_constraints": false}));
        assert_eq!(decide(&lenient).0, 200, "{alg}");
    }
}
