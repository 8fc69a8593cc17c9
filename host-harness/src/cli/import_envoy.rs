//! `trieguard import-envoy ROUTES.{yaml,json} [--strict] [--route-config NAME] [--out POLICY.json]`:
//! an Envoy route configuration as a first-match trieguard policy (`host_harness::import_envoy`).
//!
//! The policy goes to `--out` (or stdout); what was skipped and the notes go to stderr. Exit 0
//! when a policy was written, 1 when `--strict` found constructs it cannot translate (nothing
//! written), 2 on I/O errors or when nothing could be imported.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use host_harness::import_envoy::{self, ImportError, Options};

/// Arguments of `import-envoy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Envoy v3 RouteConfiguration, bootstrap, LDS/RDS file or /config_dump output (JSON or YAML).
    routes: PathBuf,
    /// Fail (exit 1) when any construct cannot be translated faithfully, instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// The route configuration to import (by name) when the file holds several.
    #[arg(long)]
    route_config: Option<String>,
    /// Where to write the policy (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `import-envoy`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.routes)
        .with_context(|| format!("reading {}", args.routes.display()))?;
    let options = Options {
        strict: args.strict,
        route_config: args.route_config,
    };
    let import = match import_envoy::import(&text, &options) {
        Ok(import) => import,
        Err(ImportError::Untranslatable(findings)) => {
            eprintln!(
                "not imported (--strict): {} construct(s) cannot be translated faithfully",
                findings.len()
            );
            for finding in &findings {
                eprintln!("  {finding}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(anyhow!("{}: {error}", args.routes.display())),
    };
    let mut policy = serde_json::to_string_pretty(&import.policy)?;
    policy.push('\n');
    match &args.out {
        Some(out) => {
            std::fs::write(out, &policy).with_context(|| format!("writing {}", out.display()))?
        }
        None => print!("{policy}"),
    }
    eprintln!(
        "imported {} route(s) from {} with precedence first_match",
        import.routes, import.source
    );
    if !import.skipped.is_empty() {
        eprintln!(
            "skipped ({}): not translated faithfully",
            import.skipped.len()
        );
        for finding in &import.skipped {
            eprintln!("  {finding}");
        }
    }
    if !import.notes.is_empty() {
        eprintln!("notes ({}):", import.notes.len());
        for note in &import.notes {
            eprintln!("  {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
