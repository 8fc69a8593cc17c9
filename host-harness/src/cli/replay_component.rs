//! `trieguard replay --component FILE`: the same replay through the engine's WebAssembly
//! component (`plugin/wit/policy.wit`) on wasmtime's component API instead of the proxy-wasm
//! module in the Envoy-like host.
//!
//! Outcome lines have the format of the proxy-wasm replay: `continue` (route, cluster, consumer,
//! forwarded path) or `deny` (status, reason); with `--clusters`, an allowed cluster Envoy would
//! not know is Envoy's 503 `cluster_not_found` (`action: error`), as in the proxy-wasm replay.
//! `latency_ns` is the time of one `decide` call (lifting and lowering the WIT values included).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use host_harness::component::{self, Decision, PolicyComponent};
use host_harness::native::engine_request;
use host_harness::replay::OutcomeLine;
use host_harness::report::Summary;

use super::replay::{Args, progress, write_lines};

/// Runs `trieguard replay --component FILE`.
pub fn run(component_path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let (records, malformed) = args.traffic.read()?;
    let policy = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let compiled = PolicyComponent::from_file(component_path)
        .with_context(|| format!("loading {}", component_path.display()))?;
    let mut instance = compiled
        .instantiate()
        .with_context(|| format!("instantiating {}", component_path.display()))?;
    if let Err(issues) = instance.configure(&policy)? {
        let mut text = format!(
            "{} rejected {}:",
            component_path.display(),
            args.config.display()
        );
        for issue in issues {
            text.push_str(&format!("\n  {}: {}", issue.path, issue.message));
        }
        bail!(text);
    }
    let clusters = &args.host.clusters;
    let routing = !args.host.cluster_header.is_empty();
    let pb = progress(records.len(), "replay (component)");
    let t0 = Instant::now();
    let mut lines = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        let now = args.host.now.unwrap_or_else(unix_now);
        let request = component::wit_request(engine_request(&rec.request, now, entropy()?));
        let started = Instant::now();
        let decision = instance.decide(&request)?;
        let latency = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let id = rec
            .request
            .id
            .clone()
            .unwrap_or_else(|| rec.line.to_string());
        let mut line = component::outcome_line(&id, &rec.request.path, &decision, latency);
        if let Decision::Allow(a) = &decision
            && routing
            && !clusters.is_empty()
            && !clusters.contains(&a.cluster)
        {
            line = OutcomeLine {
                action: "error".to_owned(),
                status: Some(503),
                details: Some("cluster_not_found".to_owned()),
                route: None,
                cluster: None,
                consumer: None,
                path: None,
                ..line
            };
        }
        lines.push(line);
        if let Some(pb) = &pb
            && ((i + 1) % 256 == 0 || i + 1 == records.len())
        {
            pb.set_position((i + 1) as u64);
        }
    }
    let wall = t0.elapsed();
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    if let Some(out) = &args.out {
        write_lines::<OutcomeLine>(out, &lines)?;
    }
    // The component's linear memory is not reported (0): it is not an Envoy VM.
    let summary = Summary::new(&lines, malformed, wall, 0);
    let text = if args.json {
        serde_json::to_string_pretty(&summary)? + "\n"
    } else {
        summary.table()
    };
    if args.out.as_deref() == Some(Path::new("-")) {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Per-request randomness for keyless splits, as the filter draws it.
fn entropy() -> anyhow::Result<u64> {
    getrandom::u64().map_err(|e| anyhow::anyhow!("no randomness: {e}"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
