//! `cargo xtask bench vm`: what a large policy costs inside the wasm VM, next to the same work
//! natively, in one run: compiling 100k routes + 100k API keys (`on_configure` in the wasmtime
//! harness vs `Engine::from_json` natively) and the VM's linear memory afterwards.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use host_harness::host::{Host, HostOptions};
use integration::paths;
use integration::sha256_hex;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trieguard-vm-footprint: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    const N: usize = 100_000;
    const RUNS: usize = 3;
    let routes: Vec<_> = (0..N)
        .map(|i| serde_json::json!({"id": format!("r{i}"), "match": {"path_separated_prefix": format!("/tenant-{i}/api")},
            "upstream": {"cluster": format!("c{}", i % 16)}, "auth": {"any_of": ["keys"]}}))
        .collect();
    let keys: Vec<_> = (0..N)
        .map(|i| serde_json::json!({"consumer": format!("consumer-{i}"), "sha256": sha256_hex(&format!("key-{i}"))}))
        .collect();
    let policy = serde_json::json!({"hosts": [{"domains": ["*"], "routes": routes}],
        "auth_providers": {"keys": {"api_key": {"keys": keys}}}})
    .to_string();
    println!(
        "policy: {N} routes + {N} API keys, {} bytes of JSON; best of {RUNS} runs\n",
        policy.len()
    );

    let mut native = f64::MAX;
    for _ in 0..RUNS {
        let t = Instant::now();
        let engine = trieguard::engine::Engine::from_json(policy.as_bytes())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        native = native.min(t.elapsed().as_secs_f64());
        drop(engine);
    }
    let host = Host::from_file(&paths::plugin_wasm(), HostOptions::default())
        .context("loading trieguard.wasm")?;
    let empty = host.start(br#"{"hosts":[{"domains":["*"],"routes":[]}]}"#)?;
    let baseline_memory = empty.memory_bytes();
    let mut in_vm = f64::MAX;
    let mut memory = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let vm = host.start(policy.as_bytes())?;
        in_vm = in_vm.min(t.elapsed().as_secs_f64());
        memory = vm.memory_bytes();
    }
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "compile natively (Engine::from_json)         {:>8.1} ms",
        native * 1e3
    );
    println!(
        "compile in the VM (VM start + on_configure)  {:>8.1} ms   ({:.2}x native)",
        in_vm * 1e3,
        in_vm / native
    );
    println!(
        "VM linear memory, tiny policy                {:>8.1} MiB",
        mib(baseline_memory)
    );
    println!(
        "VM linear memory, this policy                {:>8.1} MiB",
        mib(memory)
    );
    Ok(())
}
