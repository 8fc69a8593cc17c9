//! `cargo xtask bench <suite> [ARGS…]`: one crate's criterion benchmarks; extra arguments go
//! to criterion (e.g. `-- --measurement-time 2`).

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
        bail!("usage: cargo xtask bench <{}> [ARGS…]", suite_names());
    };
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
