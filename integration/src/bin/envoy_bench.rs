//! `cargo xtask bench envoy`: Envoy throughput with trieguard against Envoy's own options, side
//! by side in one run, each variant on a fresh Envoy (1 worker) with the same echo upstream
//! and the same `wrk` load on loopback.
//!
//! Variants: no filter; a no-op proxy-wasm filter; trieguard with N routes and API-key auth
//! (the matching route declared last); Envoy's own N-route list (last route matches); Envoy's
//! `prefix_match_map` matcher tree. Prints requests/s, ratios and the per-request plugin cost.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use integration::sha256_hex;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec, paths};

struct Options {
    routes: usize,
    seconds: u32,
    connections: u32,
}

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
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--routes" => options.routes = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--connections" => options.connections = value.parse()?,
            other => bail!("unknown flag {other}; flags: --routes N --seconds S --connections C"),
        }
    }
    if options.routes == 0 {
        bail!("--routes must be at least 1");
    }
    Ok(options)
}

fn run() -> anyhow::Result<()> {
    let options = parse_options()?;
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
    for i in 0..n {
        route_list.push_str(&format!(
            "              - match: {{ prefix: \"/tenant-{i}/api\" }}\n                route: {{ cluster: app }}\n"
        ));
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
    ];
    println!(
        "Envoy 1.40, 1 worker; wrk -t1 -c{} -d{}s on loopback; {n} routes; request path {path}\n",
        options.connections, options.seconds
    );
    let mut results = Vec::new();
    for (name, config) in &variants {
        let envoy =
            EnvoyProcess::start(config).with_context(|| format!("starting Envoy for '{name}'"))?;
        let url = format!("{}{path}", envoy.url());
        let check = integration::client::send("GET", &url, &[("x-api-key", "key-7")])?;
        if check.status != 200 {
            bail!("variant '{name}' answered {} {}", check.status, check.body);
        }
        wrk(&url, 1, options.connections)?; // warm-up
        let rps = wrk(&url, options.seconds, options.connections)?;
        println!("{name:<42} {rps:>10.0} req/s");
        results.push(rps);
        drop(envoy);
    }
    let harness_rps = harness_replay(&policy, &path)?;
    println!(
        "{:<42} {harness_rps:>10.0} req/s (same request, replayed in the wasmtime harness)",
        "trieguard in the harness"
    );
    if let [none, noop, ours, list, map] = results[..] {
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

/// Runs wrk and returns its requests/s.
fn wrk(url: &str, seconds: u32, connections: u32) -> anyhow::Result<f64> {
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
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))
}
