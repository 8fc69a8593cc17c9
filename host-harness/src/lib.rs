//! trieguard host-harness: the `.wasm` Envoy loads, run in a wasmtime host that behaves like
//! Envoy, to replay recorded traffic and compare builds and policies.
//!
//! - [`host`]: the proxy-wasm 0.2.1 host (hostcalls, WASI as Envoy provides it, call order).

pub mod host;
