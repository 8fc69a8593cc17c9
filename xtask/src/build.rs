//! `cargo xtask build`: the plugin module and the test modules, for wasm32-wasip1 in release.

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
    let dir = sh
        .current_dir()
        .join("target")
        .join("wasm32-wasip1")
        .join("release");
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
    Ok(dir.join("trieguard.wasm"))
}
