//! trieguard: a policy-and-routing plugin for Envoy.
//!
//! For every HTTP request Envoy hands us, trieguard decides where it goes (route, upstream
//! cluster) and whether it may go. The crate has three layers, and only the last one knows
//! about proxy-wasm:
//!
//! ```text
//!   JSON policy ──config::PolicyConfig::from_json──▶ validated config
//!                 ──engine::Engine::compile────────▶ immutable tables (shared by all streams)
//!   request ─────▶ engine::Engine::decide(&Request) ─▶ Decision (allow + headers | deny reply)
//!   filter (wasm32 only): Envoy ABI ⇄ Request / Decision
//! ```
//!
//! The engine is pure Rust, so every rule is unit-tested natively; the filter is a thin
//! adapter built into `trieguard.wasm`.

pub mod config;
pub mod engine;

#[cfg(target_arch = "wasm32")]
mod filter;
