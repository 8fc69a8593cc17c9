//! `trieguard replay`: run recorded traffic through a plugin in the harness.

use anyhow::{Context as _, bail};
use host_harness::host::{Clock, FailurePolicy, Host, HostOptions, PluginInfo, Routing, Vm};
use host_harness::replay::{self, DecisionHeaders, OutcomeLine};
use host_harness::report::Summary;
use host_harness::traffic::{self, Format, Record};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How the harness stands in for Envoy (shared by `replay` and `ab`).
#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// Request header the Envoy route's `cluster_header` names ("" for no routing step).
    #[arg(long, default_value = "x-trieguard-cluster")]
    pub cluster_header: String,
    /// Clusters Envoy knows, comma-separated (default: any name); others are Envoy's 503
    /// `cluster_not_found`.
    #[arg(long, value_delimiter = ',')]
    pub clusters: Vec<String>,
    /// What a trap does, like Envoy's `failure_policy`.
    #[arg(long, value_enum, default_value = "fail-closed")]
    pub failure_policy: PolicyArg,
    /// Fixed clock for the plugin, seconds since the Unix epoch (default: the real clock).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<u64>,
    /// `plugin_name` property.
    #[arg(long, default_value = "trieguard")]
    pub plugin_name: String,
    /// `plugin_root_id` property.
    #[arg(long, default_value = "")]
    pub root_id: String,
}

/// `failure_policy` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[allow(clippy::enum_variant_names)] // Envoy's own names: FAIL_CLOSED, FAIL_OPEN, FAIL_RELOAD.
pub enum PolicyArg {
    /// 503 for the trapping request and every later one.
    FailClosed,
    /// Skip the filter after a trap.
    FailOpen,
    /// 503, then a fresh VM for the next request.
    FailReload,
}

impl HostArgs {
    /// The host options these arguments describe.
    pub fn options(&self) -> HostOptions {
        HostOptions {
            plugin: PluginInfo {
                name: self.plugin_name.clone(),
                root_id: self.root_id.clone(),
                clock: self.now.map_or(Clock::System, |s| {
                    Clock::Fixed(s.saturating_mul(1_000_000_000))
                }),
                ..PluginInfo::default()
            },
            failure_policy: match self.failure_policy {
                PolicyArg::FailClosed => FailurePolicy::FailClosed,
                PolicyArg::FailOpen => FailurePolicy::FailOpen,
                PolicyArg::FailReload => FailurePolicy::FailReload,
            },
            routing: Routing {
                cluster_header: (!self.cluster_header.is_empty())
                    .then(|| self.cluster_header.to_ascii_lowercase()),
                clusters: (!self.clusters.is_empty())
                    .then(|| self.clusters.iter().cloned().collect()),
            },
            env: Vec::new(),
            // Each host its own process: A and B of `ab` must not share shared data.
            ..HostOptions::default()
        }
    }
}

/// Where the traffic comes from.
#[derive(Debug, clap::Args)]
pub struct TrafficArgs {
    /// Traffic format: jsonl (DESIGN.md), har (HAR 1.2), envoy-log (Envoy JSON access log in the
    /// format of examples/envoy-access-log-format.json).
    #[arg(long, default_value = "jsonl")]
    pub format: Format,
    /// Stop at the first malformed line instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Traffic file.
    pub traffic: PathBuf,
}

impl TrafficArgs {
    /// Reads the traffic; malformed lines are reported on stderr (fatal with `--strict`).
    pub fn read(&self) -> anyhow::Result<(Vec<Record>, usize)> {
        let text = std::fs::read_to_string(&self.traffic)
            .with_context(|| format!("reading {}", self.traffic.display()))?;
        let t = traffic::parse(self.format, &text);
        let file = self.traffic.display();
        if let (true, Some(first)) = (self.strict, t.malformed.first()) {
            bail!("{file}:{}: {} (--strict)", first.line, first.message);
        }
        for m in &t.malformed {
            eprintln!("{file}:{}: skipped: {}", m.line, m.message);
        }
        Ok((t.records, t.malformed.len()))
    }
}

/// `trieguard replay` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Outcome lines (--out) follow DESIGN.md; `action` is continue, deny, error (Envoy \
answered itself: status and details, e.g. 503 cluster_not_found or wasm_fail_stream) or stalled \
(paused, never resumed). Exit status: 0 done, 2 usage, I/O or plugin start-up errors."
)]
pub struct Args {
    /// The plugin (`trieguard.wasm`).
    #[arg(long, required_unless_present = "component")]
    pub wasm: Option<PathBuf>,
    /// Replay through the engine's WebAssembly component instead of the proxy-wasm module
    /// (`target/trieguard-component.wasm`, docs/component.md).
    #[arg(long, value_name = "FILE", conflicts_with = "wasm")]
    pub component: Option<PathBuf>,
    /// Plugin configuration handed to on_configure (the policy JSON).
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub traffic: TrafficArgs,
    #[command(flatten)]
    pub host: HostArgs,
    /// Write the outcome JSONL here ("-" for stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Compiles the module and starts a VM with the configuration.
pub fn start_vm(wasm: &Path, config: &Path, host: &HostArgs) -> anyhow::Result<Vm> {
    let module = Host::from_file(wasm, host.options())
        .with_context(|| format!("loading {}", wasm.display()))?;
    let config_bytes =
        std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
    module
        .start(&config_bytes)
        .with_context(|| format!("starting {} with {}", wasm.display(), config.display()))
}

/// A progress bar on stderr, only when stderr is a terminal.
pub fn progress(len: usize, label: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {per_sec} eta {eta}")
    {
        pb.set_style(style);
    }
    pb.set_message(label.to_owned());
    Some(pb)
}

/// Writes outcome lines as JSONL to `path` ("-": stdout).
pub fn write_lines<T: serde::Serialize>(path: &Path, lines: &[T]) -> anyhow::Result<()> {
    let mut out: Box<dyn std::io::Write> = if path == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )
    };
    let mut buf = std::io::BufWriter::new(&mut out);
    for l in lines {
        serde_json::to_writer(&mut buf, l)?;
        buf.write_all(b"\n")?;
    }
    buf.flush()?;
    Ok(())
}

/// Runs `trieguard replay`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let wasm = match (&args.component, &args.wasm) {
        (Some(component), _) => return super::replay_component::run(component, &args),
        (None, Some(wasm)) => wasm,
        (None, None) => bail!("--wasm or --component is required"),
    };
    let (records, malformed) = args.traffic.read()?;
    let mut vm = start_vm(wasm, &args.config, &args.host)?;
    let names = DecisionHeaders {
        cluster: args.host.cluster_header.to_ascii_lowercase(),
        ..DecisionHeaders::default()
    };
    let pb = progress(records.len(), "replay");
    let result = replay::run(&mut vm, &records, &names, |i| {
        if let Some(pb) = pb.as_ref().filter(|_| i % 256 == 0 || i == records.len()) {
            pb.set_position(i as u64);
        }
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    if let Some(out) = &args.out {
        write_lines::<OutcomeLine>(out, &result.lines)?;
    }
    let summary = Summary::new(&result.lines, malformed, result.wall, vm.memory_bytes());
    let stdout_taken = args.out.as_deref() == Some(Path::new("-"));
    let text = if args.json {
        serde_json::to_string_pretty(&summary)? + "\n"
    } else {
        summary.table()
    };
    if stdout_taken {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
