//! The trieguard demo: Envoy + plugin + `examples/policy.json` + echo upstreams on loopback.
//!
//! `trieguard-demo` serves until Ctrl-C; `trieguard-demo --once` sends the sample requests,
//! checks their outcomes, shuts everything down and exits 0 or 1. Run it through
//! `cargo xtask demo`, which builds the plugin and fetches Envoy first.

use std::process::ExitCode;

use anyhow::Context;
use integration::demo;
use integration::{EchoUpstream, EnvoyProcess};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("trieguard-demo: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let once = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--once") => true,
        Some(other) => anyhow::bail!("unknown argument '{other}'; usage: trieguard-demo [--once]"),
    };
    let _upstreams = demo::UPSTREAMS
        .iter()
        .map(|(name, port)| {
            EchoUpstream::start_on(name, *port)
                .with_context(|| format!("starting upstream '{name}' on 127.0.0.1:{port}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut envoy = EnvoyProcess::start_file(&demo::envoy_yaml_path())?;
    let base = envoy.url();
    println!("trieguard demo");
    println!(
        "  Envoy 1.40 listening on {base} (admin {})",
        envoy.admin_url()
    );
    println!("  policy: examples/policy.json   Envoy config: examples/envoy.yaml");
    for (name, port) in demo::UPSTREAMS {
        println!("  upstream cluster '{name}': echo server on 127.0.0.1:{port}");
    }
    println!();
    let mut all_ok = true;
    for sample in demo::samples()? {
        let result = demo::run_sample(&base, &sample);
        all_ok &= result.ok;
        println!("# {}", sample.title);
        println!("$ {}", result.curl);
        println!(
            "  -> {} [{}]",
            result.summary,
            if result.ok {
                "as expected"
            } else {
                "UNEXPECTED"
            }
        );
    }
    println!();
    if once {
        println!(
            "demo --once: {}",
            if all_ok {
                "all sample requests behaved as expected"
            } else {
                "some sample requests did NOT behave as expected"
            }
        );
        return Ok(all_ok);
    }
    println!(
        "Serving until Ctrl-C. Try the curl lines above, or: curl -s {}/stats/prometheus | grep trieguard",
        envoy.admin_url()
    );
    // Ctrl-C (SIGINT) or SIGTERM: stop Envoy and the upstreams cleanly (their Drop kills and
    // reaps Envoy), instead of dying and leaving Envoy behind.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })?;
    loop {
        if stopped
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_ok()
        {
            println!("\nstopping Envoy and the upstreams");
            break;
        }
        if let Some(status) = envoy.try_exit_status()? {
            println!("Envoy exited on its own ({status})");
            return Ok(false);
        }
    }
    Ok(all_ok)
}
