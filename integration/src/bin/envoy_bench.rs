//! `cargo xtask bench envoy`: Envoy throughput with trieguard against Envoy's own options, side
//! by side in one run, each variant on a fresh Envoy (1 worker) with the same echo upstream
//! and the same `wrk` load on loopback.
//!
//! Variants: no filter; a no-op proxy-wasm filter; the floor (the probe module reading the
//! request headers and routing by a header it sets, under trieguard's `cluster_header` route);
//! trieguard with N routes and API-key auth (the matching route declared last), with the
//! default decision headers and with only the cluster header; with `--baseline-wasm PATH`,
//! an earlier `trieguard.wasm` on the same policy (before/after in one interleaved run);
//! Envoy's own N-route list (last route matches); Envoy's `prefix_match_map` matcher tree;
//! trieguard running the policy `trieguard import-envoy` makes from that same route list
//! (first match, no auth). Prints requests/s, ratios, and each module's per-request cost
//! beyond the no-op filter, also as a multiple of the floor's.
//!
//! `--harness-only` replays the request in the wasmtime harness only (`--harness-requests N`;
//! `TRIEGUARD_WASM` picks the module).
//!
//! `--hostcall-costs` instead measures single hostcalls: the probe module performs one kind of
//! hostcall ten times per request, and the cost of one call is the difference to the probe's
//! no-op mode divided by ten. `--rounds R` runs every variant R times, interleaved, and keeps
//! each variant's best run (noise on a shared machine only ever lowers throughput).
//!
//! Beside requests/s, every run reports the CPU time Envoy's process spent per request (all its
//! threads, from `/proc/<pid>/task/*/schedstat`). On a shared machine that figure moves much
//! less than throughput, because time spent waiting for a core is not counted; the plugin
//! cost is reported both ways.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use host_harness::import_envoy;
use integration::sha256_hex;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec, paths};

struct Options {
    routes: usize,
    seconds: u32,
    connections: u32,
    rounds: u32,
    hostcall_costs: bool,
    /// Only replays the benchmark request in the wasmtime harness (no Envoy).
    harness_only: bool,
    /// Requests the harness replays.
    harness_requests: usize,
    /// An earlier `trieguard.wasm` measured beside the current one (before/after in one run).
    baseline_wasm: Option<std::path::PathBuf>,
    /// Envoy on core 0, this process (upstream) and wrk on core 1 (`--pin`).
    pin: bool,
    /// Each round loads every variant at once instead of one after another (`--concurrent`).
    concurrent: bool,
    /// Runs only the variants whose name contains one of these (all when empty).
    only: Vec<String>,
}

/// How many times the cost mode repeats one hostcall per request.
const CALLS_PER_REQUEST: u32 = 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trieguard-envoy-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        routes: 10_000,
        seconds: 5,
        connections: 16,
        rounds: 1,
        hostcall_costs: false,
        harness_only: false,
        harness_requests: 50_000,
        baseline_wasm: None,
        pin: false,
        concurrent: false,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--" {
            // `cargo xtask bench envoy -- --rounds 3` passes the separator through.
            continue;
        }
        let switch = match flag.as_str() {
            "--concurrent" => Some(&mut options.concurrent),
            "--pin" => Some(&mut options.pin),
            "--harness-only" => Some(&mut options.harness_only),
            "--hostcall-costs" => Some(&mut options.hostcall_costs),
            _ => None,
        };
        if let Some(switch) = switch {
            *switch = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--routes" => options.routes = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--connections" => options.connections = value.parse()?,
            "--rounds" => options.rounds = value.parse()?,
            "--harness-requests" => options.harness_requests = value.parse()?,
            "--baseline-wasm" => options.baseline_wasm = Some(value.into()),
            "--only" => options.only = value.split(',').map(str::to_owned).collect(),
            other => bail!(
                "unknown flag {other}; flags: --routes N --seconds S --connections C --rounds R --only NAME,… --hostcall-costs --harness-only --harness-requests N --baseline-wasm PATH --pin --concurrent"
            ),
        }
    }
    if options.routes == 0 || options.rounds == 0 {
        bail!("--routes and --rounds must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    options.pin &= cores >= 2;
    Ok(options)
}

fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
    if options.pin {
        // Before any upstream thread or wrk starts: they inherit core 1.
        pin(std::process::id(), LOAD_CORE)?;
    }
    if options.hostcall_costs {
        return hostcall_costs(&options);
    }
    let n = options.routes;
    let last = n - 1;
    let path = format!("/tenant-{last}/api/orders/42");
    let app = EchoUpstream::start("app")?;
    let clusters = ClusterSpec::for_upstreams(&[&app]);

    let direct = "              routes:\n              - match: { prefix: \"/\" }\n                route: { cluster: app }".to_owned();
    let mut route_list = String::from("              routes:\n");
    let mut match_map = String::from(
        "              matcher:\n                matcher_tree:\n                  input:\n                    name: request-headers\n                    typed_config:\n                      \"@type\": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput\n                      header_name: \":path\"\n                  prefix_match_map:\n                    map:\n",
    );
    // Envoy's route list, as Envoy runs it and as the importer reads it.
    let envoy_routes: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"match": {"prefix": format!("/tenant-{i}/api")}, "route": {"cluster": "app"}}))
        .collect();
    for route in &envoy_routes {
        route_list.push_str(&format!("              - {route}\n"));
    }
    let imported = import_envoy::import(
        &serde_json::json!({"name": "bench", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": envoy_routes}]})
            .to_string(),
        &import_envoy::Options { strict: true, route_config: None },
    )?
    .policy
    .to_string();
    for i in 0..n {
        match_map.push_str(&format!(
            "                      \"/tenant-{i}/api\":\n                        action:\n                          name: route\n                          typed_config:\n                            \"@type\": type.googleapis.com/envoy.config.route.v3.Route\n                            match: {{ prefix: \"/\" }}\n                            route: {{ cluster: app }}\n"
        ));
    }
    let routes: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("r{i}"),
                "match": {"path_separated_prefix": format!("/tenant-{i}/api")},
                "upstream": {"cluster": "app"},
                "auth": {"any_of": ["keys"]}
            })
        })
        .collect();
    let keys: Vec<_> = (0..n)
        .map(|i| serde_json::json!({"consumer": format!("c{i}"), "sha256": sha256_hex(&format!("key-{i}"))}))
        .collect();
    let policy = serde_json::json!({
        "hosts": [{"domains": ["*"], "routes": routes}],
        "auth_providers": {"keys": {"api_key": {"keys": keys}}}
    })
    .to_string();
    if options.harness_only {
        let minimal_headers = cluster_header_only(&policy);
        let trieguard = paths::plugin_wasm();
        let probe = paths::wasm_release_dir().join("route_cache_probe.wasm");
        for (name, wasm, configuration) in [
            (TRIEGUARD, &trieguard, &policy),
            (TRIEGUARD_MINIMAL, &trieguard, &minimal_headers),
            (FLOOR, &probe, &"ops headers route_to_app".to_owned()),
        ] {
            let replay =
                harness_replay_timed(wasm, configuration, &path, options.harness_requests)?;
            println!(
                "{name:<46} in the harness: {:.0} req/s; inside the VM per request: median {:.3} µs, mean {:.3} µs ({} requests of {path})",
                replay.rps, replay.vm_median_us, replay.vm_mean_us, options.harness_requests
            );
            if let Some(ops) = replay.wasm_ops {
                println!(
                    "{name:<46} wasm operators per request: {ops} (TRIEGUARD_WASM_FUEL=1: times above include fuel counting)"
                );
            }
        }
        return Ok(());
    }
    let noop = PluginSpec {
        wasm: paths::wasm_release_dir().join("route_cache_probe.wasm"),
        configuration: "- pass".to_owned(),
    };

    let minimal_headers = cluster_header_only(&policy);
    let variant = |body: Option<String>, plugin: Option<PluginSpec>| {
        let mut config = EnvoyConfig::new(clusters.clone(), plugin);
        config.virtual_host_body = body;
        config
    };
    // The floor: a module that reads the request headers and routes by a header it sets,
    // under the same `cluster_header` route trieguard uses.
    let floor = PluginSpec {
        wasm: paths::wasm_release_dir().join("route_cache_probe.wasm"),
        configuration: "ops headers route_to_app".to_owned(),
    };
    let mut variants = vec![
        (NO_FILTER, variant(Some(direct.clone()), None)),
        (NO_OP, variant(Some(direct), Some(noop))),
        (FLOOR, variant(None, Some(floor))),
        (
            TRIEGUARD,
            variant(None, Some(PluginSpec::trieguard(&policy))),
        ),
        (
            TRIEGUARD_MINIMAL,
            variant(None, Some(PluginSpec::trieguard(&minimal_headers))),
        ),
        (ROUTE_LIST, variant(Some(route_list), None)),
        (MATCH_MAP, variant(Some(match_map), None)),
        (
            IMPORTED,
            variant(None, Some(PluginSpec::trieguard(&imported))),
        ),
    ];
    if let Some(wasm) = &options.baseline_wasm {
        let baseline = PluginSpec {
            wasm: wasm.clone(),
            configuration: policy.clone(),
        };
        variants.insert(3, (BASELINE, variant(None, Some(baseline))));
    }
    println!(
        "Envoy 1.40, 1 worker; wrk -t1 -c{} -d{}s on loopback; best of {} round(s); {n} routes; request path {path}\n",
        options.connections, options.seconds, options.rounds
    );
    let measured = measure(&variants, &path, &options)?;
    let results: Vec<(&str, Measured)> = variants
        .iter()
        .map(|(name, _)| *name)
        .zip(measured)
        .filter(|(_, m)| m.rps > 0.0)
        .collect();
    let get = |name: &str| results.iter().find(|(n, _)| *n == name).map(|(_, m)| m);
    let harness_rps = harness_replay(&policy, &path, options.harness_requests)?;
    println!(
        "{:<46} {harness_rps:>10.0} req/s (same request, replayed in the wasmtime harness)",
        "trieguard in the harness"
    );
    println!();
    if let (Some(list), Some(imported)) = (get(ROUTE_LIST), get(IMPORTED)) {
        println!(
            "trieguard imported / Envoy route list it came from {:.1}x (same table, last route)",
            imported.rps / list.rps
        );
    }
    let Some(noop) = get(NO_OP) else {
        return Ok(());
    };
    // What a module costs Envoy per request beyond the no-op filter, both ways: the median
    // over rounds of the difference to the no-op filter's run in the same round.
    let cost = |m: &Measured| {
        (
            paired_median(m, noop, |v, b| (1.0 / v.0 - 1.0 / b.0) * 1e6),
            paired_median(m, noop, |v, b| v.1 - b.1),
        )
    };
    let floor = get(FLOOR).map(cost);
    println!(
        "per-request cost beyond the no-op filter (median of the rounds' paired differences):"
    );
    for name in [FLOOR, BASELINE, TRIEGUARD, TRIEGUARD_MINIMAL, IMPORTED] {
        let Some(m) = get(name) else { continue };
        let (by_rps, by_cpu) = cost(m);
        let (q1, _, q3) = paired_quartiles(m, noop, |v, b| v.1 - b.1);
        print!(
            "  {name:<46} {by_rps:>6.2} µs by req/s, {by_cpu:>6.2} µs by Envoy CPU (quartiles {q1:.2}–{q3:.2})"
        );
        if let (Some((floor_rps, floor_cpu)), false) = (floor, name == FLOOR) {
            print!(
                "; {:.2}x / {:.2}x the floor",
                by_rps / floor_rps,
                by_cpu / floor_cpu
            );
        }
        println!();
    }
    if let (Some(none), Some(ours), Some(list), Some(map)) = (
        get(NO_FILTER),
        get(TRIEGUARD),
        get(ROUTE_LIST),
        get(MATCH_MAP),
    ) {
        println!(
            "harness replay / Envoy with trieguard {:.1}x",
            harness_rps / ours.rps
        );
        println!(
            "trieguard / no-op wasm filter      {:.3}x (best of each)",
            ours.rps / noop.rps
        );
        println!(
            "trieguard / no filter              {:.3}x",
            ours.rps / none.rps
        );
        println!(
            "trieguard / Envoy route list       {:.1}x",
            ours.rps / list.rps
        );
        println!(
            "trieguard / Envoy prefix_match_map {:.3}x",
            ours.rps / map.rps
        );
    }
    Ok(())
}

/// `policy` (compact JSON) with the route and consumer decision headers turned off.
fn cluster_header_only(policy: &str) -> String {
    policy.replacen(
        '{',
        r#"{"decision_headers":{"emit_route":false,"emit_consumer":false},"#,
        1,
    )
}

const NO_FILTER: &str = "no filter";
const NO_OP: &str = "no-op wasm filter";
const FLOOR: &str = "floor: read headers, route by a header set";
const BASELINE: &str = "trieguard (baseline module)";
const TRIEGUARD: &str = "trieguard: routes + API key, last route";
const TRIEGUARD_MINIMAL: &str = "trieguard, cluster header only";
const ROUTE_LIST: &str = "Envoy route list, last route";
const MATCH_MAP: &str = "Envoy prefix_match_map";
const IMPORTED: &str = "trieguard imported from the route list";

/// One variant's runs: the best, and every round's (for costs paired within a round).
#[derive(Clone, Default)]
struct Measured {
    /// Requests per second (the highest of the rounds).
    rps: f64,
    /// Envoy CPU microseconds per request (the lowest of the rounds).
    cpu_us: f64,
    /// Each round's (requests/s, Envoy CPU µs per request), in round order.
    rounds: Vec<(f64, f64)>,
}

/// Starts every wanted variant's Envoy first, then runs `options.rounds` rounds, each giving
/// every variant `options.seconds` of load in turn; prints and returns each variant's runs.
/// All Envoys live through the whole run, so a slow spell of a shared machine falls on every
/// variant of the rounds it spans, and costs compared within a round ([`paired_median`])
/// cancel it.
fn measure(
    variants: &[(&str, EnvoyConfig)],
    path: &str,
    options: &Options,
) -> anyhow::Result<Vec<Measured>> {
    let wanted =
        |name: &str| options.only.is_empty() || options.only.iter().any(|o| name.contains(o));
    let mut running = Vec::new();
    for (index, (name, config)) in variants.iter().enumerate() {
        if !wanted(name) {
            continue;
        }
        let envoy =
            EnvoyProcess::start(config).with_context(|| format!("starting Envoy for '{name}'"))?;
        if options.pin {
            pin(envoy.pid(), ENVOY_CORE)?;
        }
        let url = format!("{}{path}", envoy.url());
        let check = integration::client::send("GET", &url, &[("x-api-key", "key-7")])?;
        if check.status != 200 {
            bail!("variant '{name}' answered {} {}", check.status, check.body);
        }
        wrk(&url, 1, options.connections)?; // warm-up
        running.push((index, *name, envoy, url));
    }
    let mut measured = vec![Measured::default(); variants.len()];
    for round in 1..=options.rounds {
        // One after another, or (`--concurrent`) all at once: then every variant's CPU per
        // request is read over the same seconds of the machine's life.
        let batches: Vec<Vec<_>> = if options.concurrent {
            vec![running.iter().collect()]
        } else {
            running.iter().map(|one| vec![one]).collect()
        };
        for batch in batches {
            let mut started = Vec::new();
            for (index, name, envoy, url) in batch {
                let cpu_before = process_cpu_ns(envoy.pid())?;
                let child = spawn_wrk(url, options.seconds, options.connections)?;
                started.push((*index, *name, envoy, cpu_before, child));
            }
            for (index, name, envoy, cpu_before, child) in started {
                let run = wrk_result(child)?;
                let cpu_after = process_cpu_ns(envoy.pid())?;
                let cpu_us =
                    cpu_after.saturating_sub(cpu_before) as f64 / 1e3 / run.requests as f64;
                println!(
                    "round {round}: {name:<46} {:>10.0} req/s {cpu_us:>8.2} µs Envoy CPU/request",
                    run.rps
                );
                if let Some(m) = measured.get_mut(index) {
                    m.rounds.push((run.rps, cpu_us));
                }
            }
        }
    }
    drop(running);
    println!();
    for ((name, _), m) in variants.iter().zip(&mut measured) {
        if m.rounds.is_empty() {
            continue;
        }
        m.rps = m.rounds.iter().map(|r| r.0).fold(0.0, f64::max);
        m.cpu_us = m.rounds.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        println!(
            "{name:<46} {:>10.0} req/s {:>8.2} µs Envoy CPU/request (best of {})",
            m.rps,
            m.cpu_us,
            m.rounds.len()
        );
    }
    Ok(measured)
}

/// The median over rounds of `f(variant's round, baseline's same round)`.
fn paired_median(
    variant: &Measured,
    baseline: &Measured,
    f: impl Fn((f64, f64), (f64, f64)) -> f64,
) -> f64 {
    paired_quartiles(variant, baseline, f).1
}

/// The lower quartile, median and upper quartile over rounds of `f(variant's round,
/// baseline's same round)` (nearest rank; NaN without rounds).
fn paired_quartiles(
    variant: &Measured,
    baseline: &Measured,
    f: impl Fn((f64, f64), (f64, f64)) -> f64,
) -> (f64, f64, f64) {
    let mut values: Vec<f64> = variant
        .rounds
        .iter()
        .zip(&baseline.rounds)
        .map(|(v, b)| f(*v, *b))
        .collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = (q * (values.len().max(1) - 1) as f64).round() as usize;
        values.get(rank).copied().unwrap_or(f64::NAN)
    };
    (at(0.25), at(0.5), at(0.75))
}

/// With `--pin`: Envoy's core; the load (wrk, the echo upstream, this process) gets the
/// other, so they no longer trade cores mid-run.
const ENVOY_CORE: u32 = 0;
const LOAD_CORE: u32 = 1;

/// Pins every thread of process `pid` to `core` (`taskset -a -p`).
fn pin(pid: u32, core: u32) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset could not pin process {pid} to core {core}");
    }
    Ok(())
}

/// CPU time (ns) all threads of a process have run so far (first field of each task's
/// `schedstat`).
fn process_cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = std::fs::read_to_string(task?.path().join("schedstat"))?;
        let ns: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .context("unreadable schedstat")?;
        total += ns;
    }
    Ok(total)
}

/// Measures what one hostcall costs inside Envoy, through the probe module's `ops` mode.
fn hostcall_costs(options: &Options) -> anyhow::Result<()> {
    let app = EchoUpstream::start("app")?;
    let clusters = ClusterSpec::for_upstreams(&[&app]);
    let direct = "              routes:\n              - match: { prefix: \"/\" }\n                route: { cluster: app }".to_owned();
    let probe_routed = |configuration: String, body: Option<String>| {
        let mut config = EnvoyConfig::new(
            clusters.clone(),
            Some(PluginSpec {
                wasm: paths::wasm_release_dir().join("route_cache_probe.wasm"),
                configuration,
            }),
        );
        config.virtual_host_body = body;
        config
    };
    let probe = |configuration: String| probe_routed(configuration, Some(direct.clone()));
    let ops = [
        "headers",
        "property",
        "time",
        "metric",
        "set_header",
        "replace_headers",
        "clear_route_cache",
    ];
    let mut variants = vec![("no-op", probe("- pass".to_owned()))];
    for op in ops {
        variants.push((op, probe(format!("ops {op}*{CALLS_PER_REQUEST}"))));
    }
    println!(
        "Envoy 1.40, 1 worker, probe module; wrk -t1 -c{} -d{}s; best of {} round(s); each op {CALLS_PER_REQUEST}x per request\n",
        options.connections, options.seconds, options.rounds
    );
    // What routing by a header the module sets costs (trieguard's way): the same module
    // setting `x-trieguard-cluster` once under Envoy's `cluster_header` route, alone and after
    // reading the header map.
    let routed = [
        ("route_to_app (cluster_header route)", "ops route_to_app"),
        (
            "headers + route_to_app (cluster_header route)",
            "ops headers route_to_app",
        ),
    ];
    for (name, ops) in routed {
        variants.push((name, probe_routed(ops.to_owned(), None)));
    }
    let results = measure(&variants, "/bench", options)?;
    let Some((noop, rest)) = results.split_first() else {
        bail!("no results");
    };
    let (per_op, per_routed) = rest.split_at(ops.len());
    println!();
    println!(
        "{:<20} {:>12} {:>14}",
        "hostcall", "by req/s", "by Envoy CPU"
    );
    for (op, m) in ops.iter().zip(per_op) {
        let calls = f64::from(CALLS_PER_REQUEST);
        let by_rps = paired_median(m, noop, |v, b| (1.0 / v.0 - 1.0 / b.0) * 1e6) / calls;
        let by_cpu = paired_median(m, noop, |v, b| v.1 - b.1) / calls;
        println!("{op:<20} {by_rps:>9.2} µs {by_cpu:>11.2} µs");
    }
    println!();
    println!("once per request, against the no-op module:");
    for ((name, _), m) in routed.iter().zip(per_routed) {
        let by_rps = paired_median(m, noop, |v, b| (1.0 / v.0 - 1.0 / b.0) * 1e6);
        let by_cpu = paired_median(m, noop, |v, b| v.1 - b.1);
        println!("{name:<46} {by_rps:>9.2} µs {by_cpu:>11.2} µs");
    }
    Ok(())
}

/// Replays the benchmark request through `trieguard.wasm` in the harness; returns requests/s.
fn harness_replay(policy: &str, path: &str, requests: usize) -> anyhow::Result<f64> {
    Ok(harness_replay_timed(&paths::plugin_wasm(), policy, path, requests)?.rps)
}

/// A harness replay: requests/s, and the time spent inside the VM per request (the guest's
/// code and the harness's hostcalls, not the harness's own bookkeeping between requests).
struct HarnessReplay {
    rps: f64,
    vm_median_us: f64,
    vm_mean_us: f64,
    /// Wasm operators one more request runs, with `TRIEGUARD_WASM_FUEL=1` (deterministic).
    wasm_ops: Option<u64>,
}

fn harness_replay_timed(
    wasm: &std::path::Path,
    policy: &str,
    path: &str,
    requests: usize,
) -> anyhow::Result<HarnessReplay> {
    use host_harness::host::{Host, HostOptions, HttpRequest, Routing};
    let options = HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: None,
        },
        ..HostOptions::default()
    };
    let host = Host::from_file(wasm, options)?;
    let mut vm = host.start(policy.as_bytes())?;
    let request = HttpRequest {
        method: "GET".into(),
        authority: "127.0.0.1".into(),
        path: path.to_owned(),
        headers: vec![("x-api-key".into(), "key-7".into())],
        ..HttpRequest::default()
    };
    let records: Vec<host_harness::traffic::Record> = (0..requests)
        .map(|line| host_harness::traffic::Record {
            line,
            request: request.clone(),
        })
        .collect();
    let replay = host_harness::replay::run(&mut vm, &records, &Default::default(), |_| {});
    if replay.lines.iter().any(|l| l.action != "continue") {
        bail!(
            "the harness did not allow the benchmark request: {:?}",
            replay.lines.first()
        );
    }
    let wasm_ops = vm.handle(&request).wasm_ops;
    let mut vm_ns: Vec<u64> = replay.lines.iter().map(|l| l.latency_ns).collect();
    vm_ns.sort_unstable();
    let median = vm_ns.get(vm_ns.len() / 2).copied().unwrap_or_default();
    let mean = vm_ns.iter().sum::<u64>() as f64 / vm_ns.len().max(1) as f64;
    Ok(HarnessReplay {
        rps: requests as f64 / replay.wall.as_secs_f64(),
        vm_median_us: median as f64 / 1e3,
        vm_mean_us: mean / 1e3,
        wasm_ops,
    })
}

/// What one wrk run reports.
struct WrkRun {
    rps: f64,
    requests: u64,
}

/// Runs wrk and returns its requests/s and request count.
fn wrk(url: &str, seconds: u32, connections: u32) -> anyhow::Result<WrkRun> {
    let child = spawn_wrk(url, seconds, connections)?;
    wrk_result(child)
}

/// Starts wrk on `url` in the background.
fn spawn_wrk(url: &str, seconds: u32, connections: u32) -> anyhow::Result<std::process::Child> {
    Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["-H", "x-api-key: key-7"])
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running wrk (cargo xtask bench envoy installs it)")
}

/// Waits for a wrk started by [`spawn_wrk`] and reads its requests/s and request count.
fn wrk_result(child: std::process::Child) -> anyhow::Result<WrkRun> {
    let output = child.wait_with_output().context("waiting for wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk saw non-2xx answers:\n{text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    // "  123456 requests in 5.00s, …"
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .filter(|&n: &u64| n > 0)
        .with_context(|| format!("no request count in wrk output:\n{text}"))?;
    Ok(WrkRun { rps, requests })
}
