//! `cargo xtask bench <suite> [ARGS…]`: one crate's criterion benchmarks; extra arguments go
//! to criterion (e.g. `-- --measurement-time 2`). `envoy`, `vm`, `push` and `keys` run the
//! integration crate's benchmark binaries instead.

use anyhow::bail;
use xshell::{Shell, cmd};

use crate::step;

/// Benchmark suites: (name, package).
const SUITES: &[(&str, &str)] = &[
    ("trie", "trie-routes"),
    ("certs", "certs"),
    ("engine", "plugin"),
];

pub fn run(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    let Some((suite, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask bench <{}|envoy|vm|push|keys> [ARGS…]",
            suite_names()
        );
    };
    if suite == "envoy" {
        return envoy(sh, rest);
    }
    if suite == "push" {
        return push(sh, rest);
    }
    if suite == "keys" {
        crate::setup::run(sh)?;
        step("bench: Envoy's own api_key_auth with N keys");
        cmd!(
            sh,
            "cargo run --quiet --release -p integration --bin trieguard-keys-bench -- {rest...}"
        )
        .run()?;
        return Ok(());
    }
    if suite == "vm" {
        crate::build::run(sh)?;
        step("bench: policy compile and memory inside the wasm VM");
        cmd!(
            sh,
            "cargo run --quiet --release -p integration --bin trieguard-vm-footprint -- {rest...}"
        )
        .run()?;
        return Ok(());
    }
    let Some((_, package)) = SUITES.iter().find(|(name, _)| name == suite) else {
        bail!(
            "unknown benchmark suite '{suite}'; one of: {}",
            suite_names()
        );
    };
    step(&format!("bench: {package}"));
    cmd!(sh, "cargo bench -p {package} {rest...}").run()?;
    Ok(())
}

fn suite_names() -> String {
    SUITES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join("|")
}

/// Envoy with trieguard against Envoy's own route tables, under wrk (installed when missing
/// and running as root).
fn envoy(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    crate::setup::run(sh)?;
    if which_wrk(sh).is_none() {
        step("bench: installing wrk (Debian)");
        cmd!(sh, "apt-get install -y -qq wrk")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()?;
    }
    crate::build::run(sh)?;
    step("bench: Envoy variants under wrk");
    cmd!(
        sh,
        "cargo run --quiet --release -p integration --bin trieguard-envoy-bench -- {args...}"
    )
    .run()?;
    Ok(())
}

/// A policy push to a running Envoy under steady load: inline by LDS, from a policy source
/// (nginx, installed by setup), and Envoy's own routes by LDS.
fn push(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    crate::setup::run(sh)?;
    crate::build::run(sh)?;
    step("bench: policy push under load");
    cmd!(
        sh,
        "cargo run --quiet --release -p integration --bin trieguard-push-bench -- {args...}"
    )
    .run()?;
    Ok(())
}

fn which_wrk(sh: &Shell) -> Option<String> {
    cmd!(sh, "sh -c 'command -v wrk'")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .filter(|p| !p.trim().is_empty())
}
