//! `trieguard ab`: two (wasm, config) pairs over the same traffic — decision differences and a
//! Mann–Whitney U test of the in-VM latency.

use super::replay::{HostArgs, TrafficArgs, progress, start_vm, write_lines};
use anyhow::Context as _;
use host_harness::replay::{DecisionHeaders, OutcomeLine};
use host_harness::report::{Latency, micros};
use host_harness::stats::{MannWhitney, mann_whitney};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// `trieguard ab` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Requests run alternately through A and B (one VM each), so drift affects both \
alike. Exit status: 0 no decision differs, 1 some decisions differ, 2 usage, I/O or start-up errors."
)]
pub struct Args {
    /// Plugin A.
    #[arg(long = "a")]
    pub a: PathBuf,
    /// Configuration of A.
    #[arg(long = "a-config")]
    pub a_config: PathBuf,
    /// Plugin B.
    #[arg(long = "b")]
    pub b: PathBuf,
    /// Configuration of B.
    #[arg(long = "b-config")]
    pub b_config: PathBuf,
    #[command(flatten)]
    pub traffic: TrafficArgs,
    #[command(flatten)]
    pub host: HostArgs,
    /// Write every differing request (both outcomes) as JSONL here ("-" for stdout).
    #[arg(long)]
    pub diffs: Option<PathBuf>,
    /// How many differing requests to print in the table.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One request whose decision differs.
#[derive(Debug, Serialize)]
struct Diff {
    id: String,
    kind: String,
    a: OutcomeLine,
    b: OutcomeLine,
}

#[derive(Debug, Serialize)]
struct Report {
    requests: usize,
    malformed: usize,
    differing: usize,
    by_kind: BTreeMap<String, usize>,
    latency_a_ns: Latency,
    latency_b_ns: Latency,
    mann_whitney: Option<MannWhitney>,
    diffs: Vec<Diff>,
}

/// Fields whose values differ, joined by `+` (e.g. `route+cluster`).
fn kind(a: &OutcomeLine, b: &OutcomeLine) -> String {
    let mut k = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            k.push(name);
        }
    };
    check("action", a.action == b.action);
    check("status", a.status == b.status);
    check("reason", a.reason == b.reason);
    check("details", a.details == b.details);
    check("route", a.route == b.route);
    check("cluster", a.cluster == b.cluster);
    check("consumer", a.consumer == b.consumer);
    check("path", a.path == b.path);
    check("trap", a.trap == b.trap);
    k.join("+")
}

/// Runs `trieguard ab`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (records, malformed) = args.traffic.read()?;
    let mut vm_a = start_vm(&args.a, &args.a_config, &args.host).context("A")?;
    let mut vm_b = start_vm(&args.b, &args.b_config, &args.host).context("B")?;
    let names = DecisionHeaders {
        cluster: args.host.cluster_header.to_ascii_lowercase(),
        ..DecisionHeaders::default()
    };
    let pb = progress(records.len(), "a/b");
    let (mut lat_a, mut lat_b) = (
        Vec::with_capacity(records.len()),
        Vec::with_capacity(records.len()),
    );
    let mut diffs = Vec::new();
    let mut by_kind = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        let id = rec
            .request
            .id
            .clone()
            .unwrap_or_else(|| rec.line.to_string());
        let a = OutcomeLine::new(&id, &vm_a.handle(&rec.request), &names);
        let b = OutcomeLine::new(&id, &vm_b.handle(&rec.request), &names);
        lat_a.push(a.latency_ns);
        lat_b.push(b.latency_ns);
        if a.decision() != b.decision() {
            let k = kind(&a, &b);
            *by_kind.entry(k.clone()).or_insert(0usize) += 1;
            diffs.push(Diff { id, kind: k, a, b });
        }
        if let Some(pb) = pb.as_ref().filter(|_| i % 256 == 0) {
            pb.set_position(i as u64);
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let fa: Vec<f64> = lat_a.iter().map(|v| *v as f64).collect();
    let fb: Vec<f64> = lat_b.iter().map(|v| *v as f64).collect();
    let report = Report {
        requests: records.len(),
        malformed,
        differing: diffs.len(),
        by_kind,
        latency_a_ns: Latency::of(&lat_a),
        latency_b_ns: Latency::of(&lat_b),
        mann_whitney: mann_whitney(&fa, &fb),
        diffs,
    };
    if let Some(path) = &args.diffs {
        write_lines(path, &report.diffs)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report, args.show)?);
    }
    Ok(if report.differing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn table(r: &Report, show: usize) -> anyhow::Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "requests {}   malformed lines skipped {}   decisions differing {}",
        r.requests, r.malformed, r.differing
    )?;
    if !r.by_kind.is_empty() {
        writeln!(out, "differences by kind")?;
        for (k, v) in &r.by_kind {
            writeln!(out, "  {k:<30} {v:>8}")?;
        }
        writeln!(out, "first {} differing requests", show.min(r.diffs.len()))?;
        for d in r.diffs.iter().take(show) {
            writeln!(out, "  {} [{}]", d.id, d.kind)?;
            writeln!(out, "    A {}", serde_json::to_string(&d.a.decision())?)?;
            writeln!(out, "    B {}", serde_json::to_string(&d.b.decision())?)?;
        }
    }
    let (a, b) = (&r.latency_a_ns, &r.latency_b_ns);
    writeln!(
        out,
        "in-VM latency     p50          p95          p99          max"
    )?;
    writeln!(
        out,
        "  A         {:>12} {:>12} {:>12} {:>12}",
        micros(a.p50),
        micros(a.p95),
        micros(a.p99),
        micros(a.max)
    )?;
    writeln!(
        out,
        "  B         {:>12} {:>12} {:>12} {:>12}",
        micros(b.p50),
        micros(b.p95),
        micros(b.p99),
        micros(b.max)
    )?;
    if let Some(m) = &r.mann_whitney {
        writeln!(
            out,
            "Mann-Whitney U = {:.1} ({:?}), p = {:.3e}, rank-biserial r = {:+.3} (positive: A slower), median shift B-A = {:+.2} µs",
            m.u,
            m.method,
            m.p_value,
            m.rank_biserial,
            m.median_shift / 1000.0
        )?;
    }
    Ok(out)
}
