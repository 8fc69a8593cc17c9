//! `cargo xtask demo [--once]`: setup, build, then the demo binary of the integration crate
//! (Envoy on 127.0.0.1:10000 + plugin + `examples/policy.json` + echo upstreams).

use xshell::{Shell, cmd};

use crate::{build, setup, step};

pub fn run(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    setup::run(sh)?;
    build::run(sh)?;
    step("demo");
    cmd!(
        sh,
        "cargo run --quiet -p integration --bin trieguard-demo -- {args...}"
    )
    .run()?;
    Ok(())
}

/// `demo --once` for `xtask test`: runs the demo binary `cargo test --workspace` has just built
/// (same features as the tests), instead of `cargo run`, whose different feature set would
/// rebuild the dependencies first. Falls back to [`run`] when the binary is not there.
pub fn run_once_after_tests(sh: &Shell) -> anyhow::Result<()> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target"));
    let binary = sh
        .current_dir()
        .join(target_dir)
        .join("debug")
        .join("trieguard-demo");
    if !binary.is_file() {
        return run(sh, &["--once".to_owned()]);
    }
    step("demo (the binary built by the tests)");
    cmd!(sh, "{binary} --once").run()?;
    Ok(())
}
