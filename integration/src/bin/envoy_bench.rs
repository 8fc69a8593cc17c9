//! `cargo xtask bench envoy`: Envoy throughput with trieguard against Envoy's own options, side
//! by side in one run, each variant on a fresh Envoy (1 worker) with the same echo upstream
//! and the same `wrk` load on loopback.
//!
//! Variants: no filter; a no-op proxy-wasm filter; trieguard with N routes and API-key auth
//! (the matching route declared last); Envoy's own N-route list (last route matches); Envoy's
//! `prefix_match_map` matcher tree; trieguard running the policy `trieguard import-envoy` makes
//! from that same route list (first match, no auth). Prints requests/s, ratios and the
//! per-request plugin cost.
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
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--" {
            // `cargo xtask bench envoy -- --rounds 3` passes the separator through.
            continue;
        }
        if flag == "--hostcall-costs" {
            options.hostcall_costs = true;
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
            "--only" => options.only = value.split(',').map(str::to_owned).collect(),
            other => bail!(
                "unknown flag {other}; flags: --routes N --seconds S --connections C --rounds R --only NAME,… --hostcall-costs"
            ),
        }
    }
    if options.routes == 0 || options.rounds == 0 {
        bail!("--routes and --rounds must be at least 1");
    }
    Ok(options)
}

fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
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
    let noop = PluginSpec {
        wasm: paths::wasm_release_dir().join("route_cache_probe.wasm"),
        configuration: "- pass".to_owned(),
    };

    let variant = |body: Option<String>, plugin: Option<PluginSpec>| {
        let mut config = EnvoyConfig::new(clusters.clone(), plugin);
        config.virtual_host_body = body;
        config
    };
    let variants = [
        ("no filter", variant(Some(direct.clone()), None)),
        ("no-op wasm filter", variant(Some(direct), Some(noop))),
        (
            "trieguard: routes + API key, last route",
            variant(None, Some(PluginSpec::trieguard(&policy))),
        ),
        (
            "Envoy route list, last route",
            variant(Some(route_list), None),
        ),
        ("Envoy prefix_match_map", variant(Some(match_map), None)),
        (
            "trieguard imported from the route list",
            variant(None, Some(PluginSpec::trieguard(&imported))),
        ),
    ];
    println!(
        "Envoy 1.40, 1 worker; wrk -t1 -c{} -d{}s on loopback; best of {} round(s); {n} routes; request path {path}\n",
        options.connections, options.seconds, options.rounds
    );
    let results = measure(&variants, &path, &options)?;
    let harness_rps = harness_replay(&policy, &path)?;
    println!(
        "{:<42} {harness_rps:>10.0} req/s (same request, replayed in the wasmtime harness)",
        "trieguard in the harness"
    );
    let wanted =
        |name: &str| options.only.is_empty() || options.only.iter().any(|o| name.contains(o));
    if let ([.., list, _, imported], true, true) = (
        &results[..],
        wanted("Envoy route list"),
        wanted("trieguard imported"),
    ) {
        println!(
            "\ntrieguard imported / Envoy route list it came from {:.1}x (same table, last route)",
            imported.rps / list.rps
        );
    }
    if let ([none, noop, ours, list, map, _], true) = (&results[..], options.only.is_empty()) {
        let cpu_cost = ours.cpu_us - noop.cpu_us;
        let (none, noop, ours, list, map) = (none.rps, noop.rps, ours.rps, list.rps, map.rps);
        println!();
        println!(
            "harness replay / Envoy with trieguard {:.1}x",
            harness_rps / ours
        );
        println!("trieguard / no-op wasm filter      {:.3}x", ours / noop);
        println!("trieguard / no filter              {:.3}x", ours / none);
        println!("trieguard / Envoy route list       {:.1}x", ours / list);
        println!("trieguard / Envoy prefix_match_map {:.3}x", ours / map);
        println!(
            "plugin cost per request            {:.2} µs (1/rps - 1/rps of the no-op filter)",
            (1.0 / ours - 1.0 / noop) * 1e6
        );
        println!(
            "plugin cost per request            {cpu_cost:.2} µs (Envoy CPU/request - that of the no-op filter)"
        );
    }
    Ok(())
}

/// One variant's best run.
#[derive(Clone, Copy, Default)]
struct Measured {
    /// Requests per second (the highest of the rounds).
    rps: f64,
    /// Envoy CPU microseconds per request (the lowest of the rounds).
    cpu_us: f64,
}

/// Runs every variant `options.rounds` times, interleaved, each on a fresh Envoy; prints and
/// returns each variant's best requests/s and lowest Envoy CPU time per request.
fn measure(
    variants: &[(&str, EnvoyConfig)],
    path: &str,
    options: &Options,
) -> anyhow::Result<Vec<Measured>> {
    let mut best = vec![
        Measured {
            rps: 0.0,
            cpu_us: f64::INFINITY
        };
        variants.len()
    ];
    let wanted =
        |name: &str| options.only.is_empty() || options.only.iter().any(|o| name.contains(o));
    for round in 1..=options.rounds {
        for ((name, config), best) in variants.iter().zip(&mut best) {
            if !wanted(name) {
                continue;
            }
            let envoy = EnvoyProcess::start(config)
                .with_context(|| format!("starting Envoy for '{name}'"))?;
            let url = format!("{}{path}", envoy.url());
            let check = integration::client::send("GET", &url, &[("x-api-key", "key-7")])?;
            if check.status != 200 {
                bail!("variant '{name}' answered {} {}", check.status, check.body);
            }
            wrk(&url, 1, options.connections)?; // warm-up
            let cpu_before = process_cpu_ns(envoy.pid())?;
            let run = wrk(&url, options.seconds, options.connections)?;
            let cpu_after = process_cpu_ns(envoy.pid())?;
            let cpu_us = cpu_after.saturating_sub(cpu_before) as f64 / 1e3 / run.requests as f64;
            println!(
                "round {round}: {name:<42} {:>10.0} req/s {cpu_us:>8.2} µs Envoy CPU/request",
                run.rps
            );
            best.rps = best.rps.max(run.rps);
            best.cpu_us = best.cpu_us.min(cpu_us);
            drop(envoy);
        }
    }
    println!();
    for ((name, _), m) in variants.iter().zip(&best) {
        if !wanted(name) {
            continue;
        }
        println!(
            "{name:<42} {:>10.0} req/s {:>8.2} µs Envoy CPU/request",
            m.rps, m.cpu_us
        );
    }
    Ok(best)
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
        let by_rps = (1.0 / m.rps - 1.0 / noop.rps) * 1e6 / calls;
        let by_cpu = (m.cpu_us - noop.cpu_us) / calls;
        println!("{op:<20} {by_rps:>9.2} µs {by_cpu:>11.2} µs");
    }
    println!();
    println!("once per request, against the no-op module:");
    for ((name, _), m) in routed.iter().zip(per_routed) {
        let by_rps = (1.0 / m.rps - 1.0 / noop.rps) * 1e6;
        let by_cpu = m.cpu_us - noop.cpu_us;
        println!("{name:<46} {by_rps:>9.2} µs {by_cpu:>11.2} µs");
    }
    Ok(())
}

/// Replays the benchmark request through `trieguard.wasm` in the harness; returns requests/s.
fn harness_replay(policy: &str, path: &str) -> anyhow::Result<f64> {
    use host_harness::host::{Host, HostOptions, HttpRequest, Routing};
    const REQUESTS: usize = 50_000;
    let options = HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: None,
        },
        ..HostOptions::default()
    };
    let host = Host::from_file(&paths::plugin_wasm(), options)?;
    let mut vm = host.start(policy.as_bytes())?;
    let request = HttpRequest {
        method: "GET".into(),
        authority: "127.0.0.1".into(),
        path: path.to_owned(),
        headers: vec![("x-api-key".into(), "key-7".into())],
        ..HttpRequest::default()
    };
    let records: Vec<host_harness::traffic::Record> = (0..REQUESTS)
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
    Ok(REQUESTS as f64 / replay.wall.as_secs_f64())
}

/// What one wrk run reports.
struct WrkRun {
    rps: f64,
    requests: u64,
}

/// Runs wrk and returns its requests/s and request count.
fn wrk(url: &str, seconds: u32, connections: u32) -> anyhow::Result<WrkRun> {
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["-H", "x-api-key: key-7"])
        .arg(url)
        .output()
        .context("running wrk (cargo xtask bench envoy installs it)")?;
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
