//! JWT providers inside real Envoy: HS256 / RS256 / ES256 valid, expired, wrong audience and
//! bad signature, with their precise reasons.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::client::send;
use integration::jwt_mint::{TestKey, jwks, mint, now};
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};
use serde_json::json;

const ISSUER: &str = "https://idp.test.example";

fn policy() -> String {
    json!({
        "hosts": [{"domains": ["*"], "routes": [
            {"id": "reports", "match": {"path_separated_prefix": "/reports"},
             "upstream": {"cluster": "reports"}, "auth": {"any_of": ["corp"]}}
        ]}],
        "auth_providers": {"corp": {"jwt": {
            "issuer": ISSUER, "audiences": ["reports-api"], "jwks": jwks().unwrap(), "clock_skew_seconds": 30
        }}}
    })
    .to_string()
}

fn claims(sub: &str, aud: &str, exp_offset: i64) -> serde_json::Value {
    let now = now() as i64;
    json!({"iss": ISSUER, "sub": sub, "aud": aud, "iat": now - 10, "exp": now + exp_offset})
}

#[test]
fn jwt_outcomes_in_envoy() {
    let reports = EchoUpstream::start("reports").unwrap();
    let envoy = EnvoyProcess::start(&EnvoyConfig::new(
        ClusterSpec::for_upstreams(&[&reports]),
        Some(PluginSpec::trieguard(&policy())),
    ))
    .unwrap();
    let call = |token: &str| {
        let bearer = format!("Bearer {token}");
        send(
            "GET",
            &format!("{}/reports/q3", envoy.url()),
            &[("authorization", &bearer)],
        )
        .unwrap()
    };

    for (key, sub) in [
        (TestKey::Hs256, "svc-hs"),
        (TestKey::Rs256, "svc-rs"),
        (TestKey::Es256, "svc-es"),
    ] {
        let reply = call(&mint(key, &claims(sub, "reports-api", 300)).unwrap());
        assert_eq!(reply.status, 200, "{key:?}: {}", reply.body);
        assert_eq!(
            reply.echoed().unwrap().header("x-trieguard-consumer"),
            Some(sub)
        );
    }

    let expired = mint(TestKey::Rs256, &claims("svc", "reports-api", -120)).unwrap();
    let wrong_aud = mint(TestKey::Es256, &claims("svc", "billing-api", 300)).unwrap();
    let good = mint(TestKey::Hs256, &claims("svc", "reports-api", 300)).unwrap();
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_payload = base64_claims(&claims("admin", "reports-api", 300));
    let bad_signature = format!("{head}.{forged_payload}.{signature}");
    for (token, reason) in [
        (expired.as_str(), "auth.jwt.expired"),
        (wrong_aud.as_str(), "auth.jwt.wrong_audience"),
        (bad_signature.as_str(), "auth.jwt.bad_signature"),
        ("not-a-jwt", "auth.jwt.malformed"),
    ] {
        let reply = call(token);
        assert_eq!(
            (reply.status, reply.header("x-trieguard-reason")),
            (401, Some(reason)),
            "{}",
            reply.body
        );
    }
    let reply = send("GET", &format!("{}/reports/q3", envoy.url()), &[]).unwrap();
    assert_eq!(reply.header("x-trieguard-reason"), Some("auth.missing"));
    assert_eq!(reports.requests_served(), 3);
}

fn base64_claims(claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
}
