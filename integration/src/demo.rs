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
    pub headers: &'static [(&'static str, &'static str)],
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

/// The sample requests, covering what the demo policy does.
pub const SAMPLES: &[Sample] = &[
    Sample {
        title: "prefix route to the orders cluster",
        host: "api.example.com",
        path: "/orders/42?expand=lines",
        headers: &[],
        expect: Expect::Served {
            upstream: "orders",
            route: "orders",
        },
    },
    Sample {
        title: "prefix route to the billing cluster, wildcard host",
        host: "eu.api.example.com",
        path: "/billing/invoices/7",
        headers: &[],
        expect: Expect::Served {
            upstream: "billing",
            route: "billing",
        },
    },
    Sample {
        title: "a client cannot pick the cluster itself",
        host: "api.example.com",
        path: "/orders/1",
        headers: &[("x-trieguard-cluster", "billing")],
        expect: Expect::Served {
            upstream: "orders",
            route: "orders",
        },
    },
    Sample {
        title: "default host entry, exact route",
        host: "status.example.net",
        path: "/healthz",
        headers: &[],
        expect: Expect::Served {
            upstream: "orders",
            route: "health",
        },
    },
    Sample {
        title: "no route: local reply from the plugin",
        host: "api.example.com",
        path: "/admin",
        headers: &[],
        expect: Expect::Denied {
            status: 404,
            reason: "route.no_match",
        },
    },
];

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
    let mut curl = format!("curl -si -H 'host: {}'", sample.host);
    for (name, value) in sample.headers {
        curl.push_str(&format!(" -H '{name}: {value}'"));
    }
    curl.push_str(&format!(" '{url}'"));
    let mut headers = vec![("host", sample.host)];
    headers.extend_from_slice(sample.headers);
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
