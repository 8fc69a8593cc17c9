//! Helpers shared by the tests that load the real modules.

#![allow(clippy::panic)]

use std::path::PathBuf;

/// The built module `name`: looked up in `$TRIEGUARD_WASM_DIR`,
/// `$CARGO_TARGET_DIR/wasm32-wasip1/release` and the workspace's `target/`.
pub fn artefact(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("TRIEGUARD_WASM_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(d) = std::env::var("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(d).join("wasm32-wasip1/release"));
    }
    dirs.push(root.join("target/wasm32-wasip1/release"));
    dirs.push(root.join("target/h-harness/wasm32-wasip1/release"));
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not built: run `cargo xtask build` (looked in {dirs:?})"))
}
