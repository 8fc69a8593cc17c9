//! trieguard host-harness: the `.wasm` Envoy loads, run in a wasmtime host that behaves like
//! Envoy, to replay recorded traffic and compare builds and policies.
//!
//! - [`host`]: the proxy-wasm 0.2.1 host (hostcalls, WASI as Envoy provides it, call order).
//! - [`traffic`]: readers for JSONL traffic, HAR 1.2 and Envoy JSON access logs.
//! - [`component`]: the engine's WebAssembly component (WIT) on wasmtime's component API.
//! - [`import_envoy`]: an Envoy `RouteConfiguration` translated into a first-match policy.
//! - [`stats`]: percentiles and the Mann–Whitney U test used by `trieguard ab`.

pub mod component;
pub mod host;
pub mod import_envoy;
pub mod native;
pub mod replay;
pub mod report;
pub mod stats;
pub mod traffic;
