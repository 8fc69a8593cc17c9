//! `trieguard explain --config C REQUEST.json [--at RFC3339]`: runs the engine natively on one
//! request (a traffic line) and prints every step — host entry, route candidates and why each
//! was taken or skipped, auth steps — and the decision. The first line names the policy's
//! version: its SHA-256, as `sha256sum` prints it and a policy source publishes it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use trieguard::engine::{Decision, Engine};
use trieguard::source::digest::PolicyDigest;

use host_harness::host::HttpRequest;
use host_harness::native::engine_request;

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy (JSON).
    #[arg(long)]
    config: PathBuf,
    /// Evaluate at this time (RFC 3339) instead of now (JWT and certificate validity).
    #[arg(long)]
    at: Option<String>,
    /// The request: one traffic-file line (JSON object).
    request: PathBuf,
}

/// Runs `explain`; exit 0 whatever the decision (it is an explanation, not a verdict).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = std::fs::read(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let engine = Engine::from_json(&config).map_err(|e| anyhow!("{e}"))?;
    // The version a policy source would publish and a worker would report in its
    // `trieguard.policy.<name>.digest` gauge (the gauge holds the first 12 hex digits).
    println!(
        "policy: {} ({} bytes)",
        PolicyDigest::of(&config),
        config.len()
    );
    let text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("reading {}", args.request.display()))?;
    let record: HttpRequest = serde_json::from_str(text.trim())
        .with_context(|| format!("{} is not a traffic-line request", args.request.display()))?;
    let now = match &args.at {
        Some(at) => {
            let t =
                certs::parse_rfc3339(at).ok_or_else(|| anyhow!("--at {at:?} is not RFC 3339"))?;
            u64::try_from(t).map_err(|_| anyhow!("--at {at:?} is before 1970"))?
        }
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let request = engine_request(&record, now, 0);
    println!(
        "request: {} {} {} ({}, source {})",
        request.method,
        request.authority,
        request.path,
        request.tls_version.as_deref().unwrap_or("plaintext"),
        request.source.as_deref().unwrap_or("-")
    );
    let mut steps: Vec<String> = Vec::new();
    let decision = engine.decide_traced(&request, &mut steps);
    for (i, step) in steps.iter().enumerate() {
        println!("  {}. {step}", i + 1);
    }
    match &decision {
        Decision::Allow(a) => println!(
            "decision: allow route={} cluster={} consumer={} path={}",
            a.route,
            a.cluster,
            a.consumer.as_deref().unwrap_or("-"),
            a.new_path.as_deref().unwrap_or(&request.path)
        ),
        Decision::Deny(d) => println!("decision: deny {} {} — {}", d.status, d.reason, d.message),
    }
    Ok(ExitCode::SUCCESS)
}
