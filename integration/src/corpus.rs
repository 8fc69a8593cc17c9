//! The differential corpus: one policy using every feature and a traffic file (the DESIGN
//! JSONL format) of more than 200 requests covering every decision and rejection reason.
//! Generated, not committed, because its JWTs must be fresh; deterministic otherwise.

use serde_json::{Value, json};

use crate::jwt_mint::{TestKey, jwks, mint, now};
use crate::sha256_hex;
use crate::xfcc::{element, fixture};

/// Clusters the corpus policy routes to (one echo upstream each).
pub const CLUSTERS: &[&str] = &["orders", "billing", "shop-v1", "shop-v2", "gov"];

/// API keys of the corpus (digests in the policy).
const KEYS: &[(&str, &str)] = &[("alice", "key-alice-1"), ("bob", "key-bob-2")];

/// The corpus policy.
pub fn policy() -> anyhow::Result<String> {
    let keys: Vec<Value> = KEYS
        .iter()
        .map(|(consumer, key)| json!({"consumer": consumer, "sha256": sha256_hex(key)}))
        .collect();
    let root = fixture("sm2-root.crt.pem")?;
    Ok(json!({
        "hosts": [
            {"domains": ["api.example.com", "*.api.example.com"], "routes": [
                {"id": "order", "match": {"template": "/orders/{id}", "methods": ["GET"]}, "upstream": {"cluster": "orders"}},
                {"id": "orders", "match": {"path_separated_prefix": "/orders"}, "upstream": {"cluster": "orders"},
                 "auth": {"any_of": ["keys", "corp"]}, "consumers": ["alice", "svc-hs", "svc-rs", "svc-es"]},
                {"id": "submit", "match": {"exact": "/submit", "methods": ["POST"]}, "upstream": {"cluster": "billing"}},
                {"id": "shop", "match": {"path_separated_prefix": "/shop"}, "upstream": {"split": {"key": {"header": "x-user"},
                    "clusters": [{"cluster": "shop-v1", "weight": 70}, {"cluster": "shop-v2", "weight": 30}]}}},
                {"id": "cart", "match": {"path_separated_prefix": "/cart"}, "upstream": {"split": {"key": {"cookie": "uid"},
                    "clusters": [{"cluster": "shop-v1", "weight": 1}, {"cluster": "shop-v2", "weight": 1}]}}},
                {"id": "legacy", "match": {"path_separated_prefix": "/v1"}, "upstream": {"cluster": "billing"}, "rewrite": {"prefix": "/api/v1"}},
                {"id": "beta", "match": {"prefix": "/beta", "headers": [{"name": "x-beta", "exact": "1"}]}, "upstream": {"cluster": "billing"}},
                {"id": "kiosk", "match": {"path_separated_prefix": "/kiosk"}, "upstream": {"cluster": "orders"},
                 "device_trust": {"header": "x-device-score", "min_score": 70}},
                {"id": "gov", "match": {"path_separated_prefix": "/gov"}, "upstream": {"cluster": "gov"}, "auth": {"any_of": ["gov-sm2"]}},
                {"id": "partner", "match": {"path_separated_prefix": "/partner"}, "upstream": {"cluster": "gov"}, "auth": {"any_of": ["partner-sm2"]}}
            ]},
            {"domains": ["secure.example.com"], "min_tls": "TLSv1.3", "routes": [
                {"id": "secure", "match": {"prefix": "/"}, "upstream": {"cluster": "billing"}}
            ]},
            {"domains": ["status.example.net", "*.status.example.org"], "routes": [
                {"id": "health", "match": {"exact": "/healthz"}, "upstream": {"cluster": "orders"}}
            ]}
        ],
        "auth_providers": {
            "keys": {"api_key": {"keys": keys}},
            "corp": {"jwt": {"issuer": "https://idp.corpus.example", "audiences": ["orders-api"], "jwks": jwks()?}},
            "gov-sm2": {"client_cert": {"roots_pem": root, "trusted_proxies": ["127.0.0.1"]}},
            "partner-sm2": {"client_cert": {"roots_pem": root, "trusted_proxies": ["10.9.9.9"]}}
        }
    })
    .to_string())
}

/// One traffic line (DESIGN's JSONL record) from parts.
fn record(id: usize, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> Value {
    let headers: Vec<[&str; 2]> = headers.iter().map(|(n, v)| [*n, *v]).collect();
    json!({"id": format!("r{id}"), "method": method, "authority": host, "path": path,
           "headers": headers, "source": "127.0.0.1:40000"})
}

/// The corpus as JSONL text.
pub fn traffic() -> anyhow::Result<String> {
    let api = "api.example.com";
    let now = now();
    let claims = |sub: &str, aud: &str, exp: u64| json!({"iss": "https://idp.corpus.example", "sub": sub, "aud": aud, "exp": exp, "iat": now});
    let bearer = |token: String| format!("Bearer {token}");
    let mut jwts = Vec::new();
    for (key, sub) in [
        (TestKey::Hs256, "svc-hs"),
        (TestKey::Rs256, "svc-rs"),
        (TestKey::Es256, "svc-es"),
    ] {
        jwts.push(bearer(mint(key, &claims(sub, "orders-api", now + 3600))?));
        jwts.push(bearer(mint(
            key,
            &claims(sub, "orders-api", now.saturating_sub(3600)),
        )?));
        jwts.push(bearer(mint(key, &claims(sub, "other-api", now + 3600))?));
        jwts.push(bearer(mint(
            key,
            &claims("intruder", "orders-api", now + 3600),
        )?));
    }
    let good = jwts.first().cloned().unwrap_or_default();
    let tampered = match good.rsplit_once('.') {
        Some((head, _)) => format!("{head}.AAAA"),
        None => good.clone(),
    };
    jwts.push(tampered);
    jwts.push("Bearer not.a.jwt".to_owned());
    jwts.push("Bearer x".to_owned());

    let sm2 = |name: &str| -> anyhow::Result<String> { Ok(element(&fixture(name)?)) };
    let chains = [
        sm2("chains/sm2-valid.pem")?,
        sm2("chains/sm2-second-leaf.pem")?,
        sm2("chains/expired.pem")?,
        sm2("chains/bad-signature.pem")?,
        sm2("chains/missing-intermediate.pem")?,
        sm2("chains/not-client-auth.pem")?,
        "Cert=\"unterminated".to_owned(),
    ];

    let mut lines: Vec<Value> = Vec::new();
    let mut push = |method: &str, host: &str, path: &str, headers: &[(&str, &str)]| {
        let id = lines.len() + 1;
        lines.push(record(id, method, host, path, headers));
    };
    for i in 0..30 {
        push("GET", api, &format!("/orders/{i}"), &[]);
    }
    for path in ["/orders/1/lines", "/orders", "/orders/"] {
        for (_, key) in KEYS {
            push("GET", api, path, &[("x-api-key", key)]);
        }
        push("GET", api, path, &[("x-api-key", "key-unknown")]);
        push("GET", api, path, &[]);
        push(
            "GET",
            api,
            &format!("{path}?apikey=x"),
            &[("x-api-key", "")],
        );
    }
    for token in &jwts {
        push("GET", api, "/orders/7/lines", &[("authorization", token)]);
    }
    for (i, chain) in chains.iter().enumerate() {
        push(
            "GET",
            api,
            &format!("/gov/filings/{i}"),
            &[("x-forwarded-client-cert", chain)],
        );
        push(
            "GET",
            api,
            &format!("/partner/{i}"),
            &[("x-forwarded-client-cert", chain)],
        );
    }
    push("GET", api, "/gov/none", &[]);
    for user in 0..50 {
        push(
            "GET",
            api,
            "/shop/cart",
            &[("x-user", &format!("user-{user}"))],
        );
    }
    for uid in 0..20 {
        push(
            "GET",
            api,
            "/cart",
            &[("cookie", &format!("theme=dark; uid=u{uid}"))],
        );
    }
    for path in ["/v1", "/v1/users/7?x=1", "/v1/a/b/../c", "/v10", "/v1/"] {
        push("GET", api, path, &[]);
    }
    for (path, headers) in [
        ("/beta/x", vec![("x-beta", "1")]),
        ("/beta/x", vec![]),
        ("/betamax", vec![("x-beta", "1")]),
        ("/beta", vec![("x-beta", "2")]),
    ] {
        push("GET", api, path, &headers);
    }
    for method in ["POST", "GET", "PUT"] {
        push(method, api, "/submit", &[]);
    }
    for score in ["95", "70", "69", "0", "101", "high", ""] {
        push("GET", api, "/kiosk/in", &[("x-device-score", score)]);
    }
    push("GET", api, "/kiosk/in", &[]);
    for path in [
        "//orders/1",
        "/orders/./2",
        "/x/../orders/3",
        "/orders/%2e%2e/orders/4",
        "/%6Frders/5",
        "/orders%2F6",
        "/orders%2f6",
        "/orders%5C6",
        "/orders%00",
        "/orders;jsessionid=1",
        "/orders%3B1",
        "/orders/%zz",
        "/orders/%4",
        "/shop/../../orders/8",
        "/orders/9?a=%2F&b=..",
        "/orders/10#frag",
        "/orders//11//",
        "/ORDERS/12",
    ] {
        push("GET", api, path, &[]);
    }
    for host in [
        "API.EXAMPLE.COM",
        "api.example.com.",
        "api.example.com:8443",
        "eu.api.example.com",
        "example.com",
        "status.example.net",
        "a.status.example.org",
        "status.example.org",
        "unknown.test",
    ] {
        push("GET", host, "/orders/1", &[]);
        push("GET", host, "/healthz", &[]);
    }
    for path in ["/admin", "/", "/order", "/healthz/x"] {
        push("GET", api, path, &[]);
    }
    for path in ["/", "/x", "/orders/1"] {
        push("GET", "secure.example.com", path, &[]);
    }
    for spoof in [
        "x-trieguard-cluster",
        "x-trieguard-route",
        "x-trieguard-consumer",
    ] {
        push("GET", api, "/orders/1", &[(spoof, "gov")]);
        push(
            "GET",
            api,
            "/orders/1/lines",
            &[(spoof, "admin"), ("x-api-key", "key-alice-1")],
        );
    }
    let mut text = String::new();
    for line in &lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    Ok(text)
}
