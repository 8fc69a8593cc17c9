//! `cargo xtask build`: the plugin module and the test modules, for wasm32-wasip1 in release,
//! and the engine as a WebAssembly component (wasm32-wasip2, `--features component`), copied to
//! `target/trieguard-component.wasm` (see docs/component.md).

use std::path::PathBuf;

use xshell::{Shell, cmd};

use crate::step;

/// Modules built for wasm32-wasip1: (package, file name).
const MODULES: &[(&str, &str)] = &[
    ("plugin", "trieguard.wasm"),
    ("route-cache-probe", "route_cache_probe.wasm"),
];

/// Builds every module and returns the path of `trieguard.wasm`.
pub fn run(sh: &Shell) -> anyhow::Result<PathBuf> {
    step("build: wasm32-wasip1 release modules");
    let mut packages = Vec::new();
    for (package, _) in MODULES {
        packages.push("-p");
        packages.push(package);
    }
    cmd!(
        sh,
        "cargo build --release --target wasm32-wasip1 {packages...}"
    )
    .run()?;
    let dir = target_dir(sh).join("wasm32-wasip1").join("release");
    for (_, file) in MODULES {
        let path = dir.join(file);
        let size = std::fs::metadata(&path)?.len();
        println!(
            "{}: {} bytes ({:.1} KiB)",
            path.strip_prefix(sh.current_dir())
                .unwrap_or(&path)
                .display(),
            size,
            size as f64 / 1024.0
        );
    }
    build_component(sh)?;
    Ok(dir.join("trieguard.wasm"))
}

/// Where the component is copied, under the target directory: a name that cannot be mistaken
/// for the proxy-wasm `trieguard.wasm`.
pub const COMPONENT_FILE: &str = "trieguard-component.wasm";

/// Builds the WIT component. `wasm32-wasip2` makes rustc's linker emit a component directly,
/// which is what `cargo component build -p plugin --release --features component` also produces
/// (that one builds for wasip1 and adapts), without needing cargo-component installed.
fn build_component(sh: &Shell) -> anyhow::Result<PathBuf> {
    step("build: the engine as a WebAssembly component (wasm32-wasip2)");
    cmd!(
        sh,
        "cargo build --release --target wasm32-wasip2 -p plugin --features component"
    )
    .run()?;
    let target = target_dir(sh);
    let built = target
        .join("wasm32-wasip2")
        .join("release")
        .join("trieguard.wasm");
    let component = target.join(COMPONENT_FILE);
    sh.copy_file(&built, &component)?;
    let size = std::fs::metadata(&component)?.len();
    println!(
        "{}: {} bytes ({:.1} KiB)",
        component
            .strip_prefix(sh.current_dir())
            .unwrap_or(&component)
            .display(),
        size,
        size as f64 / 1024.0
    );
    Ok(component)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` or the workspace's `target/`.
pub fn target_dir(sh: &Shell) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| sh.current_dir().join(dir))
        .unwrap_or_else(|| sh.current_dir().join("target"))
}
