//! The demo: Envoy on 127.0.0.1:10000 with the plugin and `examples/policy.json`, two echo
//! upstreams, and sample requests with their expected outcomes.
//!
//! `examples/envoy.yaml` is rendered from [`demo_envoy_config`]; a test keeps it fresh, so the
//! file an operator reads is exactly the one the demo runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::client::{Reply, send};
use crate::envoy_config::{ClusterSpec, EnvoyConfig, PluginSpec};
use crate::paths;

/// The demo listener port (fixed, so the printed `curl` lines work as they are).
pub const LISTENER_PORT: u16 = 10000;
/// The demo admin port.
pub const ADMIN_PORT: u16 = 9901;
/// The demo upstreams: (cluster name, loopback port).
pub const UPSTREAMS: &[(&str, u16)] = &[("orders", 18081), ("billing", 18082)];

/// `examples/policy.json`.
pub fn policy_path() -> PathBuf {
    paths::workspace_root().join("examples").join("policy.json")
}

/// `examples/envoy.yaml`.
pub fn envoy_yaml_path() -> PathBuf {
    paths::workspace_root().join("examples").join("envoy.yaml")
}

/// The Envoy bootstrap the demo runs, with `policy` as the plugin configuration.
pub fn demo_envoy_config(policy: &str) -> EnvoyConfig {
    let clusters = UPSTREAMS
        .iter()
        .map(|(name, port)| ClusterSpec {
            name: (*name).to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], *port)),
        })
        .collect();
    let mut config = EnvoyConfig::new(
        clusters,
        Some(PluginSpec {
            // Relative to the workspace root, where the demo starts Envoy.
            wasm: PathBuf::from("target/wasm32-wasip1/release/trieguard.wasm"),
            configuration: policy.to_owned(),
        }),
    );
    config.listener_port = LISTENER_PORT;
    config.admin_port = ADMIN_PORT;
    // The demo plays the front SM2 terminator itself: forward the XFCC it sends (the policy
    // trusts XFCC only from 127.0.0.1).
    config.forward_client_cert_details = Some("ALWAYS_FORWARD_ONLY".to_owned());
    config
}

/// One sample request and what must come back.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What it shows.
    pub title: &'static str,
    /// `:authority`.
    pub host: &'static str,
    /// Path and query.
    pub path: &'static str,
    /// Extra request headers.
    pub headers: Vec<(&'static str, String)>,
    /// Expected outcome.
    pub expect: Expect,
}

/// An expected outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200 from this upstream with this route.
    Served {
        /// Echo upstream (cluster) name.
        upstream: &'static str,
        /// Route id the upstream saw in `x-trieguard-route`.
        route: &'static str,
    },
    /// A local reply with this status and reason.
    Denied {
        /// HTTP status.
        status: u16,
        /// `x-trieguard-reason`.
        reason: &'static str,
    },
}

/// The demo's API keys (their SHA-256 digests are in `examples/policy.json`).
pub const DEMO_KEY_ALICE: &str = "demo-key-alice";
/// Bob's key: valid, but bob is not allowed on `/orders`.
pub const DEMO_KEY_BOB: &str = "demo-key-bob";

fn sample(
    title: &'static str,
    host: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    expect: Expect,
) -> Sample {
    Sample {
        title,
        host,
        path,
        headers,
        expect,
    }
}

fn served(upstream: &'static str, route: &'static str) -> Expect {
    Expect::Served { upstream, route }
}

fn denied(status: u16, reason: &'static str) -> Expect {
    Expect::Denied { status, reason }
}

/// The sample requests, covering what the demo policy does. JWTs are minted now with the
/// TEST-ONLY keys of `plugin/testdata/jwt` (the demo policy trusts their public JWKS).
pub fn samples() -> anyhow::Result<Vec<Sample>> {
    let now = crate::jwt_mint::now();
    let claims = |sub: &str, exp: u64| serde_json::json!({"iss": "https://idp.demo.example", "aud": "orders-api", "sub": sub, "iat": now, "exp": exp});
    let token = crate::jwt_mint::mint(
        crate::jwt_mint::TestKey::Es256,
        &claims("reports-service", now + 3600),
    )?;
    let expired = crate::jwt_mint::mint(
        crate::jwt_mint::TestKey::Rs256,
        &claims("reports-service", now.saturating_sub(600)),
    )?;
    let sm2_valid = crate::xfcc::element(&crate::xfcc::fixture("chains/sm2-valid.pem")?);
    let sm2_expired = crate::xfcc::element(&crate::xfcc::fixture("chains/expired.pem")?);
    let api = "api.example.com";
    Ok(vec![
        sample(
            "template route, no auth",
            api,
            "/orders/42",
            vec![],
            served("orders", "order"),
        ),
        sample(
            "protected prefix route: API key of an allowed consumer",
            api,
            "/orders/42/lines?expand=1",
            vec![("x-api-key", DEMO_KEY_ALICE.to_owned())],
            served("orders", "orders"),
        ),
        sample(
            "protected route: the same with an ES256 JWT",
            api,
            "/orders/42/lines",
            vec![("authorization", format!("Bearer {token}"))],
            served("orders", "orders"),
        ),
        sample(
            "no credentials",
            api,
            "/orders/42/lines",
            vec![],
            denied(401, "auth.missing"),
        ),
        sample(
            "valid key, but bob is not on the route's consumer list",
            api,
            "/orders/42/lines",
            vec![("x-api-key", DEMO_KEY_BOB.to_owned())],
            denied(403, "auth.forbidden"),
        ),
        sample(
            "expired JWT",
            "eu.api.example.com",
            "/billing/invoices",
            vec![("authorization", format!("Bearer {expired}"))],
            denied(401, "auth.jwt.expired"),
        ),
        sample(
            "sticky canary split on x-user-id (90/10)",
            api,
            "/shop/cart",
            vec![("x-user-id", "user-1".to_owned())],
            served("orders", "shop"),
        ),
        sample(
            "prefix rewrite /v1 -> /api/v1",
            api,
            "/v1/users/7",
            vec![],
            served("orders", "legacy"),
        ),
        sample(
            "header predicate",
            api,
            "/beta/feature",
            vec![("x-beta", "1".to_owned())],
            served("billing", "beta"),
        ),
        sample(
            "device trust below the minimum",
            api,
            "/kiosk/checkin",
            vec![("x-device-score", "40".to_owned())],
            denied(403, "device.untrusted"),
        ),
        sample(
            "a client cannot pick the cluster itself",
            api,
            "/orders/1",
            vec![("x-trieguard-cluster", "billing".to_owned())],
            served("orders", "order"),
        ),
        sample(
            "path confusion is normalised before matching",
            api,
            "/shop/../orders//7",
            vec![],
            served("orders", "order"),
        ),
        sample(
            "encoded slash is refused",
            api,
            "/orders%2F7",
            vec![],
            denied(400, "path.encoded_slash"),
        ),
        sample(
            "SM2 client chain forwarded in XFCC by a front terminator",
            "gov.example.cn",
            "/filings/2026",
            vec![("x-forwarded-client-cert", sm2_valid)],
            served("billing", "gov"),
        ),
        sample(
            "expired SM2 client certificate",
            "gov.example.cn",
            "/filings/2026",
            vec![("x-forwarded-client-cert", sm2_expired)],
            denied(401, "auth.sm2.chain_invalid"),
        ),
        sample(
            "host needs TLS 1.3; this is plaintext",
            "secure.example.com",
            "/",
            vec![],
            denied(426, "tls.too_old"),
        ),
        sample(
            "default host entry, exact route",
            "status.example.net",
            "/healthz",
            vec![],
            served("orders", "health"),
        ),
        sample(
            "no route",
            api,
            "/admin",
            vec![],
            denied(404, "route.no_match"),
        ),
    ])
}

/// What happened to one sample.
#[derive(Debug, Clone)]
pub struct SampleResult {
    /// The equivalent `curl` command line.
    pub curl: String,
    /// One-line summary of the real reply.
    pub summary: String,
    /// Whether it matched the expectation.
    pub ok: bool,
}

/// Sends one sample to `base` (e.g. `http://127.0.0.1:10000`).
pub fn run_sample(base: &str, sample: &Sample) -> SampleResult {
    let url = format!("{base}{}", sample.path);
    let mut curl = format!("curl -si --path-as-is -H 'host: {}'", sample.host);
    for (name, value) in &sample.headers {
        curl.push_str(&format!(" -H '{name}: {value}'"));
    }
    curl.push_str(&format!(" '{url}'"));
    let mut headers = vec![("host", sample.host)];
    headers.extend(sample.headers.iter().map(|(n, v)| (*n, v.as_str())));
    let (summary, ok) = match send("GET", &url, &headers) {
        Ok(reply) => judge(&reply, sample.expect),
        Err(error) => (format!("request failed: {error:#}"), false),
    };
    SampleResult { curl, summary, ok }
}

fn judge(reply: &Reply, expect: Expect) -> (String, bool) {
    match expect {
        Expect::Served { upstream, route } => match reply.echoed() {
            Ok(seen) => {
                let seen_route = seen.header("x-trieguard-route").unwrap_or("-");
                (
                    format!(
                        "{} from upstream '{}' (route '{}', path '{}')",
                        reply.status, seen.upstream, seen_route, seen.path
                    ),
                    reply.status == 200 && seen.upstream == upstream && seen_route == route,
                )
            }
            Err(_) => (format!("{} {}", reply.status, reply.body), false),
        },
        Expect::Denied { status, reason } => {
            let got_reason = reply.header("x-trieguard-reason").unwrap_or("-");
            (
                format!(
                    "{} x-trieguard-reason: {got_reason} body: {}",
                    reply.status, reply.body
                ),
                reply.status == status && got_reason == reason,
            )
        }
    }
}
