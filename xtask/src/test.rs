//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use xshell::{Shell, cmd};

use crate::{build, demo, setup, step};

/// Crates that must also pass clippy for the wasm target (they are linked into the plugin).
const WASM_CRATES: &[&str] = &["plugin", "trie-routes", "certs", "route-cache-probe"];

pub fn run(sh: &Shell) -> anyhow::Result<()> {
    setup::run(sh)?;
    step("test: formatting");
    cmd!(sh, "cargo fmt --all --check").run()?;
    step("test: clippy (host)");
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --locked -- -D warnings"
    )
    .run()?;
    step("test: clippy (wasm32-wasip1)");
    let mut packages = Vec::new();
    for package in WASM_CRATES {
        packages.push("-p");
        packages.push(package);
    }
    cmd!(
        sh,
        "cargo clippy --target wasm32-wasip1 --locked {packages...} -- -D warnings"
    )
    .run()?;
    step("test: clippy (wasm32-wasip2 component)");
    cmd!(
        sh,
        "cargo clippy --target wasm32-wasip2 --locked -p plugin --features component -- -D warnings"
    )
    .run()?;
    build::run(sh)?;
    step("test: every workspace test (unit, doc, property, harness, real Envoy)");
    cmd!(sh, "cargo test --workspace --locked").run()?;
    step("test: the component adapter (feature `component`)");
    cmd!(
        sh,
        "cargo test --locked -p plugin --features component --lib component"
    )
    .run()?;
    step("test: demo --once");
    demo::run_once_after_tests(sh)?;
    println!("\nxtask test: all checks passed");
    Ok(())
}
