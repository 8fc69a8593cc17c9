//! trieguard: a policy-and-routing plugin for Envoy.
//!
//! For every HTTP request Envoy hands us, trieguard decides where it goes (route, upstream
//! cluster, canary split, rewrite) and whether it may go (API key, JWT, client-certificate
//! chain, minimum TLS, device trust). The crate has layers, and only the last knows about
//! proxy-wasm:
//!
//! ```text
//!   JSON policy ──config::PolicyConfig::from_json──▶ validated config (every error, with its path);
//!                                                   routes and API keys already compiled as parsed
//!               ──engine::Engine::compile───────────▶ immutable tables: RouteTrie, key HAMT, JWKS, trust stores
//!   request ────▶ engine::Engine::decide(&Request) ─▶ Decision (allow + header/path changes | deny reply)
//!   filter (wasm32 only): Envoy ABI ⇄ Request (header_pairs: refilled in place) / Decision, metrics
//! ```
//!
//! The engine is pure Rust, so every rule is unit-tested natively; the filter is a thin
//! adapter built into `trieguard.wasm`.

pub mod config;
pub mod engine;
pub mod header_pairs;
pub mod jwt;
pub mod metrics;
pub mod source;

#[cfg(feature = "component")]
pub mod component;

#[cfg(all(target_arch = "wasm32", not(feature = "component")))]
mod filter;
