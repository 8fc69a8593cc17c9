//! `trieguard check-config FILE`: exit 0 when the policy compiles, else every problem with its
//! JSON path (exit 1); exit 2 when the file cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use trieguard::engine::Engine;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy (JSON).
    config: PathBuf,
}

/// Runs `check-config`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    match Engine::from_json(&bytes) {
        Ok(engine) => {
            println!(
                "valid: {} ({} routes)",
                args.config.display(),
                engine.route_count()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!(
                "invalid: {} ({} problem(s))",
                args.config.display(),
                error.issues.len()
            );
            for issue in &error.issues {
                println!("  {issue}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
