//! trieguard's real-Envoy test bed.
//!
//! Every end-to-end test starts real processes on loopback and tears them down on drop:
//!
//! ```text
//!   test ──HTTP──▶ EnvoyProcess (official 1.40 binary, trieguard.wasm loaded)
//!                    │ cluster chosen by the `x-trieguard-cluster` header
//!                    ├──▶ EchoUpstream "orders"  ─┐ answer with JSON describing exactly
//!                    └──▶ EchoUpstream "billing" ─┘ what they received + their own name
//! ```
//!
//! - [`EnvoyProcess`] renders a config ([`EnvoyConfig`]), lets Envoy bind ephemeral loopback
//!   ports itself (no pick-then-bind race), waits for `/ready`, and kills and reaps Envoy on
//!   drop, printing its log when the test is failing.
//! - [`EchoUpstream`] is a hyper server on its own thread; several run at once as distinct
//!   clusters.
//! - [`paths`] finds the Envoy binary fetched by `cargo xtask setup` and the built plugin.

pub mod bench_policies;
pub mod client;
pub mod corpus;
pub mod demo;
pub mod echo;
pub mod envoy;
pub mod envoy_config;
pub mod jwt_mint;
pub mod keepalive;
pub mod outcome;
pub mod paths;
pub mod policy_files;
pub mod proc_status;
pub mod push_stats;
pub mod static_server;
pub mod steady_load;
pub mod tls;
pub mod xfcc;

pub use client::{EchoedRequest, Reply};

/// Lower-case hex SHA-256 of a string: how a policy stores an API key.
pub fn sha256_hex(key: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, key.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
pub use echo::EchoUpstream;
pub use envoy::EnvoyProcess;
pub use envoy_config::{ClusterSpec, EnvoyConfig, PluginSpec, TlsSpec};
