//! `cargo xtask bench push`: one policy push to a running Envoy 1.40 under steady load, done
//! the ways an operator can do it, each on a fresh Envoy with the same echo upstreams.
//!
//! - `a`: trieguard, the policy inline; the listener replaced by LDS.
//! - `b`: trieguard reading a policy source; nginx serves the policy, the service polls it.
//! - `c-list` / `c-map`: Envoy's own routes, replaced by LDS: a route list, a `prefix_match_map`.
//!
//! K keep-alive clients send the request matching the last route (with an API key for
//! trieguard) back to back. The old policy sends it to upstream `old`, the new one to `new`, so
//! every answer says which policy answered it. Per variant: the time from the push to the first
//! answer by the new policy, the longest request and p99 over the 10 s after the push (and over
//! the 5 s before, the baseline), errors (non-200 or no answer), and Envoy's RSS after the push.
//! `--json` prints one JSON object per variant on stdout (the human report goes to stderr).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use integration::bench_policies::{
    client_key, envoy_prefix_match_map, envoy_route_list, last_route_path, trieguard_policy,
};
use integration::keepalive::KeepAlive;
use integration::policy_files::PolicyFiles;
use integration::push_stats::{PushSummary, ms, summarise};
use integration::static_server::StaticServer;
use integration::steady_load::{LoadSpec, Outcome, SteadyLoad, classify};
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};

/// Load before the measured baseline starts (connections open, caches warm).
const WARM_UP: Duration = Duration::from_secs(2);
/// The baseline window before the push.
const BEFORE: Duration = Duration::from_secs(5);
/// The measured window after the push.
const AFTER: Duration = Duration::from_secs(10);
/// How long the old policy may take to serve after Envoy started (a policy source fetches
/// and compiles it first).
const FIRST_POLICY_TIMEOUT: Duration = Duration::from_secs(180);
/// Issue #12's targets for the policy source (variant b).
const TARGET_APPLIED: Duration = Duration::from_secs(1);
const TARGET_EXTRA_MAX: Duration = Duration::from_millis(10);

/// The push variants, in run order: (name, what it is).
const VARIANTS: &[(&str, &str)] = &[
    ("a", "trieguard, inline policy, listener replaced by LDS"),
    ("b", "trieguard, policy source (nginx), service polling"),
    ("c-list", "Envoy route list, listener replaced by LDS"),
    ("c-map", "Envoy prefix_match_map, listener replaced by LDS"),
];

struct Options {
    routes: usize,
    keys: usize,
    workers: u32,
    clients: usize,
    poll_ms: u64,
    apply_timeout: Duration,
    /// Variants whose name starts with one of these (all when empty).
    only: Vec<String>,
    json: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trieguard-push-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        routes: 100_000,
        keys: 100_000,
        workers: 1,
        clients: 4,
        poll_ms: 200,
        apply_timeout: Duration::from_secs(60),
        only: Vec::new(),
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            // `cargo xtask bench push -- --json` passes the separator through.
            "--" => continue,
            "--json" => {
                options.json = true;
                continue;
            }
            _ => {}
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{flag} {value}: not a number"))
        };
        match flag.as_str() {
            "--routes" => options.routes = usize::try_from(number()?)?,
            "--keys" => options.keys = usize::try_from(number()?)?,
            "--workers" => options.workers = u32::try_from(number()?)?,
            "--clients" => options.clients = usize::try_from(number()?)?,
            "--poll-ms" => options.poll_ms = number()?,
            "--apply-timeout-s" => options.apply_timeout = Duration::from_secs(number()?),
            "--only" => options.only = value.split(',').map(str::to_owned).collect(),
            other => bail!(
                "unknown flag {other}; flags: --routes N --keys N --workers N --clients K --poll-ms MS --apply-timeout-s S --only a,b,c --json"
            ),
        }
    }
    if options.routes == 0 || options.workers == 0 || options.clients == 0 {
        bail!("--routes, --workers and --clients must be at least 1");
    }
    if options.poll_ms < 100 {
        bail!("--poll-ms must be at least 100 (the service's minimum)");
    }
    Ok(options)
}

fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
    let old = EchoUpstream::start("old")?;
    let new = EchoUpstream::start("new")?;
    let clusters = ClusterSpec::for_upstreams(&[&old, &new]);
    let wanted = |name: &str| {
        options.only.is_empty() || options.only.iter().any(|o| name.starts_with(o.as_str()))
    };
    report(
        &options,
        format_args!(
            "Envoy 1.40, {} worker(s); {} keep-alive clients; {} routes, {} API keys (trieguard only); request {}; warm-up {WARM_UP:?}, baseline {BEFORE:?} before the push, {AFTER:?} after; policy source poll {} ms; load average {}",
            options.workers,
            options.clients,
            options.routes,
            options.keys,
            last_route_path(options.routes),
            options.poll_ms,
            load_average()
        ),
    );
    for (name, title) in VARIANTS.iter().filter(|(name, _)| wanted(name)) {
        let started = Instant::now();
        let load_before = load_average();
        let mut bed = Bed::start(name, &options, &clusters)
            .with_context(|| format!("starting variant {name}"))?;
        let measured = measure(&mut bed, &options)?;
        let rss_mib = integration::proc_status::vm_rss_kib(bed.envoy().pid())? as f64 / 1024.0;
        print_source_log(&options, bed.envoy());
        drop(bed);
        let keys = if name.starts_with('c') {
            0
        } else {
            options.keys
        };
        print_variant(
            name,
            title,
            &options,
            &measured,
            rss_mib,
            &load_before,
            started.elapsed(),
        );
        if options.json {
            let line = serde_json::json!({
                "variant": name,
                "routes": options.routes,
                "keys": keys,
                "workers": options.workers,
                "applied_s": measured.summary.applied.map(|d| round(d.as_secs_f64(), 3)),
                "max_ms": round(ms(measured.summary.after.max), 2),
                "p99_ms": round(ms(measured.summary.after.p99), 2),
                "errors": measured.summary.errors,
                "rss_mib": round(rss_mib, 1),
            });
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// A running Envoy set up for one variant, and how to push its new policy.
enum Bed {
    /// The listener (with its policy or routes) is replaced by LDS.
    Lds {
        envoy: EnvoyProcess,
        next: Box<EnvoyConfig>,
    },
    /// The policy is published to the source nginx serves.
    Source {
        envoy: EnvoyProcess,
        files: PolicyFiles,
        _nginx: StaticServer,
        next: String,
    },
}

impl Bed {
    fn start(name: &str, options: &Options, clusters: &[ClusterSpec]) -> anyhow::Result<Bed> {
        let (routes, keys) = (options.routes, options.keys);
        let config = |plugin: Option<PluginSpec>, body: Option<String>| {
            let mut config = EnvoyConfig::new(clusters.to_vec(), plugin);
            config.virtual_host_body = body;
            config.workers = options.workers;
            config
        };
        let lds = |first: EnvoyConfig, next: EnvoyConfig| -> anyhow::Result<Bed> {
            Ok(Bed::Lds {
                envoy: EnvoyProcess::start_with_lds(&first)?,
                next: Box::new(next),
            })
        };
        match name {
            "a" => {
                let plugin = |cluster| {
                    Some(PluginSpec::trieguard(&trieguard_policy(
                        routes, keys, cluster,
                    )))
                };
                lds(config(plugin("old"), None), config(plugin("new"), None))
            }
            "c-list" => lds(
                config(None, Some(envoy_route_list(routes, "old"))),
                config(None, Some(envoy_route_list(routes, "new"))),
            ),
            "c-map" => lds(
                config(None, Some(envoy_prefix_match_map(routes, "old"))),
                config(None, Some(envoy_prefix_match_map(routes, "new"))),
            ),
            "b" => {
                let mut files = PolicyFiles::new("policy.json")?;
                files.publish(trieguard_policy(routes, keys, "old").as_bytes())?;
                let nginx = StaticServer::start(files.root())?;
                let mut config = config(
                    Some(PluginSpec::trieguard(
                        r#"{"policy_source": {"name": "main"}}"#,
                    )),
                    None,
                );
                config.clusters.push(ClusterSpec {
                    name: "policy_server".to_owned(),
                    addr: nginx.addr(),
                });
                config.policy_service = Some(format!(
                    r#"{{"fetch_policy": {{"name": "main", "cluster": "policy_server",
  "authority": "policy.internal", "path": "{}", "poll_interval_ms": {}}}}}"#,
                    files.url_path(),
                    options.poll_ms
                ));
                Ok(Bed::Source {
                    envoy: EnvoyProcess::start(&config)?,
                    files,
                    _nginx: nginx,
                    next: trieguard_policy(routes, keys, "new"),
                })
            }
            other => bail!("unknown variant {other}"),
        }
    }

    fn envoy(&self) -> &EnvoyProcess {
        match self {
            Bed::Lds { envoy, .. } | Bed::Source { envoy, .. } => envoy,
        }
    }

    /// The stat that moves when Envoy (or the service) has taken the push, and what it means.
    fn push_stat(&self) -> (&'static str, &'static str) {
        match self {
            Bed::Lds { .. } => (
                "listener_manager.lds.update_success",
                "Envoy accepted the LDS update",
            ),
            Bed::Source { .. } => (
                "wasmcustom.trieguard.source.main.published",
                "the service published the policy",
            ),
        }
    }

    fn push(&mut self) -> anyhow::Result<()> {
        match self {
            Bed::Lds { envoy, next } => Ok(envoy.push_listener(next)?),
            Bed::Source { files, next, .. } => {
                files.publish(next.as_bytes())?;
                Ok(())
            }
        }
    }
}

/// One variant's run.
struct Measured {
    summary: PushSummary,
    /// How long the push itself took (writing the LDS file, or publishing the two files).
    push_call: Duration,
    /// How long Envoy took from start to answering with the old policy.
    first_policy: Duration,
    /// How long the load ran after the push.
    ran_for: Duration,
    /// What Envoy's own stat of the push says ("LDS update accepted", ...).
    stat_label: &'static str,
    /// When that stat moved, from the push (`None`: not while polled).
    stat_moved: Option<Duration>,
}

fn measure(bed: &mut Bed, options: &Options) -> anyhow::Result<Measured> {
    let addr = bed.envoy().listener();
    let path = last_route_path(options.routes);
    let headers: Vec<(String, String)> = client_key(options.keys)
        .map(|key| ("x-api-key".to_owned(), key))
        .into_iter()
        .collect();
    let first_policy = wait_for_old(addr, &path, &headers)?;
    let spec = LoadSpec {
        addr,
        path,
        headers,
        clients: options.clients,
        old_upstream: "old".into(),
        new_upstream: "new".into(),
    };
    let (stat, stat_label) = bed.push_stat();
    let stat_before = bed.envoy().stat(stat)?;
    let load = SteadyLoad::start(&spec)?;
    std::thread::sleep(WARM_UP + BEFORE);
    let push_instant = Instant::now();
    let push = load.elapsed();
    bed.push()?;
    let push_call = load.elapsed() - push;
    let envoy = bed.envoy();
    let stop_watching = AtomicBool::new(false);
    let stat_moved = std::thread::scope(|scope| {
        // Envoy's admin may stall while its main thread takes a large update: watch the stat
        // on its own thread so the load's clock is never held up by it.
        let watcher = scope.spawn(|| {
            while !stop_watching.load(Ordering::Relaxed) {
                if envoy.stat(stat).is_ok_and(|value| value > stat_before) {
                    return Some(push_instant.elapsed());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        });
        loop {
            let now = load.elapsed();
            let applied_or_given_up =
                load.first_new().is_some() || now >= push + options.apply_timeout;
            if now >= push + AFTER && applied_or_given_up {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop_watching.store(true, Ordering::Relaxed);
        watcher.join().ok().flatten()
    });
    let ran_for = load.elapsed() - push;
    let samples = load.stop()?;
    Ok(Measured {
        summary: summarise(&samples, options.clients, push, BEFORE, AFTER),
        push_call,
        first_policy,
        ran_for,
        stat_label,
        stat_moved,
    })
}

/// Sends the request until the old policy answers it; returns how long that took.
fn wait_for_old(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut client = KeepAlive::new(addr);
    let mut last = String::from("no answer yet");
    while started.elapsed() < FIRST_POLICY_TIMEOUT {
        match client.get(path, headers) {
            Ok(answer) if classify(answer.status, &answer.body, "old", "new") == Outcome::Old => {
                return Ok(started.elapsed());
            }
            Ok(answer) => {
                last = format!(
                    "{} {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            }
            Err(error) => last = error.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the old policy did not answer within {FIRST_POLICY_TIMEOUT:?}; last: {last}")
}

/// With `TRIEGUARD_PUSH_LOG` set, the plugin's policy-source lines of Envoy's log (what the
/// service and each worker say a publication cost).
fn print_source_log(options: &Options, envoy: &EnvoyProcess) {
    if std::env::var_os("TRIEGUARD_PUSH_LOG").is_none() {
        return;
    }
    for line in envoy
        .log()
        .lines()
        .filter(|l| l.contains("trieguard: source"))
    {
        report(options, format_args!("  log: {line}"));
    }
}

fn print_variant(
    name: &str,
    title: &str,
    options: &Options,
    measured: &Measured,
    rss_mib: f64,
    load_before: &str,
    took: Duration,
) {
    let s = &measured.summary;
    let secs = |d: Option<Duration>| {
        d.map_or_else(
            || {
                format!(
                    "not in the run ({:.1} s after the push)",
                    measured.ran_for.as_secs_f64()
                )
            },
            |d| format!("{:.3} s", d.as_secs_f64()),
        )
    };
    let mut text = format!(
        "\n{name}: {title}\n  old policy answering {:.1} s after Envoy was ready; push call {:.1} ms; {} after {}\n  applied (push to first answer by the new policy): {}; every client: {}; old-policy answers after the first new one: {}\n",
        measured.first_policy.as_secs_f64(),
        ms(measured.push_call),
        measured.stat_label,
        secs(measured.stat_moved),
        secs(s.applied),
        secs(s.all_clients_applied),
        s.old_after_new,
    );
    for (label, w) in [("before the push", s.before), ("after the push ", s.after)] {
        text.push_str(&format!(
            "  {label}: {:>7} requests, max {:>9.2} ms, p99 {:>8.2} ms, errors {}\n",
            w.requests,
            ms(w.max),
            ms(w.p99),
            w.errors
        ));
    }
    text.push_str(&format!(
        "  errors in the whole run: {}; Envoy VmRSS after the push: {rss_mib:.1} MiB; load average {load_before} -> {}; variant took {:.0} s",
        s.errors,
        load_average(),
        took.as_secs_f64()
    ));
    if name == "b" {
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        let applied_met = s.applied.is_some_and(|d| d <= TARGET_APPLIED);
        let max_met = s.after.max <= s.before.max + TARGET_EXTRA_MAX;
        text.push_str(&format!(
            "\n  issue #12 targets: applied within 1 s: {}; no request slower than before + 10 ms ({:.2} ms): {} (max {:.2} ms); zero errors: {}",
            verdict(applied_met),
            ms(s.before.max + TARGET_EXTRA_MAX),
            verdict(max_met),
            ms(s.after.max),
            verdict(s.errors == 0),
        ));
    }
    report(options, format_args!("{text}"));
}

/// The human report: stdout, or stderr when stdout carries JSON.
fn report(options: &Options, text: std::fmt::Arguments<'_>) {
    if options.json {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
