//! `cargo xtask bench keys`: what Envoy 1.40's own `api_key_auth` filter costs Envoy in memory
//! for N API keys (held as plain text, from its configuration), next to the same Envoy without
//! it, in one run. Issue #12 compares trieguard's per-worker VM memory for the same keys with
//! this (trieguard keeps SHA-256 digests; `cargo xtask bench vm -- --keys N` and `cargo xtask
//! bench push -- --keys N --only b` measure it). Each Envoy answers two checks before its RSS
//! is read: the last key is let through (200), a request without a key is refused (401).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use integration::keepalive::KeepAlive;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess};

/// Envoy settles (stats flushed, lazily allocated state in place) before its RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trieguard-keys-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn keys_option() -> anyhow::Result<usize> {
    let mut keys = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--" => continue,
            "--keys" => {
                keys = args
                    .next()
                    .context("--keys needs a number")?
                    .parse()
                    .context("--keys needs a number")?;
            }
            other => bail!("unknown flag {other}; flags: --keys N"),
        }
    }
    Ok(keys)
}

/// The `api_key_auth` filter with keys `key-0` … `key-<n-1>` for clients `consumer-<i>`, as
/// `http_filters` items.
fn api_key_auth_filter(keys: usize) -> String {
    let mut y = String::with_capacity(keys * 48 + 512);
    y.push_str(
        r#"          - name: envoy.filters.http.api_key_auth
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth
              key_sources:
              - header: x-api-key
              credentials:
"#,
    );
    for i in 0..keys {
        let _ = writeln!(y, "              - {{key: key-{i}, client: consumer-{i}}}");
    }
    y
}

/// Starts Envoy, checks it lets the last key through and refuses no key, settles, and
/// returns its RSS in MiB and how long it took to be ready.
fn measure(config: &EnvoyConfig, keys: usize, filter: bool) -> anyhow::Result<(f64, Duration)> {
    let started = Instant::now();
    let envoy = EnvoyProcess::start(config).context("starting Envoy")?;
    let ready = started.elapsed();
    let mut client = KeepAlive::new(envoy.listener());
    let route = ("x-trieguard-cluster".to_owned(), "app".to_owned());
    let key = (
        "x-api-key".to_owned(),
        format!("key-{}", keys.saturating_sub(1)),
    );
    let allowed = client.get("/orders/1", &[route.clone(), key])?;
    if allowed.status != 200 {
        bail!("the last key got {} instead of 200", allowed.status);
    }
    let refused = client.get("/orders/1", &[route])?;
    let expected = if filter { 401 } else { 200 };
    if refused.status != expected {
        bail!(
            "a request without a key got {} instead of {expected}",
            refused.status
        );
    }
    std::thread::sleep(SETTLE);
    let rss = integration::proc_status::vm_rss_kib(envoy.pid())? as f64 / 1024.0;
    Ok((rss, ready))
}

fn run() -> anyhow::Result<()> {
    let keys = keys_option()?;
    let upstream = EchoUpstream::start("app")?;
    let clusters = ClusterSpec::for_upstreams(&[&upstream]);
    let plain = EnvoyConfig::new(clusters.clone(), None);
    let mut with_keys = EnvoyConfig::new(clusters, None);
    with_keys.extra_http_filters = Some(api_key_auth_filter(keys));
    let config_bytes = with_keys.render().len();
    println!(
        "Envoy 1.40, 1 worker; {keys} API keys in api_key_auth ({config_bytes} bytes of bootstrap YAML)"
    );
    let (base, base_ready) = measure(&plain, keys, false)?;
    println!(
        "  Envoy without a filter:       RSS {base:>8.1} MiB (ready after {:.1} s)",
        base_ready.as_secs_f64()
    );
    let (rss, ready) = measure(&with_keys, keys, true)?;
    println!(
        "  Envoy with api_key_auth:      RSS {rss:>8.1} MiB (ready after {:.1} s)",
        ready.as_secs_f64()
    );
    println!(
        "  the keys cost Envoy {:.1} MiB, {:.0} bytes per key",
        rss - base,
        (rss - base) * 1024.0 * 1024.0 / keys.max(1) as f64
    );
    Ok(())
}
