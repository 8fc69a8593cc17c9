//! `trieguard check-config FILE`: exit 0 when the policy compiles, else every problem with its
//! JSON path (exit 1); exit 2 when the file cannot be read. FILE may also be a policy-source
//! plugin configuration (`{"policy_source": …}` for the filter, `{"fetch_policy": …}` for the
//! singleton service), checked the way the plugin checks it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use trieguard::config::ConfigError;
use trieguard::engine::Engine;
use trieguard::source::PluginConfiguration;

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
    let checked = PluginConfiguration::parse(&bytes).and_then(|configuration| {
        Ok(match configuration {
            PluginConfiguration::Inline(policy) => {
                let engine = Engine::from_config(*policy)?;
                format!("{} routes", engine.route_count())
            }
            PluginConfiguration::Source(source) => {
                format!("filter serving policy source '{}'", source.name)
            }
            PluginConfiguration::Fetch(fetch) => format!(
                "service fetching policy source '{}' from cluster '{}' ({})",
                fetch.name, fetch.cluster, fetch.path
            ),
        })
    });
    match checked {
        Ok(what) => {
            println!("valid: {} ({what})", args.config.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(report(&args, &error)),
    }
}

fn report(args: &Args, error: &ConfigError) -> ExitCode {
    println!(
        "invalid: {} ({} problem(s))",
        args.config.display(),
        error.issues.len()
    );
    for issue in &error.issues {
        println!("  {issue}");
    }
    ExitCode::from(1)
}
