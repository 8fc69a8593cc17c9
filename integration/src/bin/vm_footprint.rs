//! `cargo xtask bench vm`: what a large policy costs inside the wasm VM, next to the same work
//! natively, in one run: compiling 100k routes + 100k API keys (`on_configure` in the wasmtime
//! harness vs `Engine::from_json` natively), the VM's linear memory afterwards, and what one
//! key revoked by a key delta costs next to that compile. `--routes N --keys N` size the
//! policy (100,000 each by default).

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use host_harness::host::{Host, HostOptions};
use integration::paths;
use integration::sha256_hex;

/// The system allocator, counting live bytes and their peak, so the native phases of
/// `on_configure` can be broken down (bytes requested, without the allocator's own overhead).
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// Safety: every method forwards to `System` with the caller's arguments unchanged; the
// counters are only statistics.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // Safety: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // Safety: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
        PEAK.fetch_max(live, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // Safety: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Live bytes now, and resets the peak to them.
fn live_and_reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

/// The native steps of `on_configure`, with live and peak bytes above the starting point.
fn native_memory_phases(policy: &[u8]) -> anyhow::Result<()> {
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let base = live_and_reset_peak();
    let bytes = policy.to_vec();
    let started = Instant::now();
    let parsed =
        trieguard::config::PolicyConfig::parse_json(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_time = started.elapsed();
    let parse_peak = PEAK.load(Ordering::Relaxed) - base;
    let after_parse = live_and_reset_peak() - base;
    drop(bytes);
    let parsed_only = live_and_reset_peak() - base;
    let started = Instant::now();
    let engine =
        trieguard::engine::Engine::from_config(parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let compile_time = started.elapsed();
    let compile_peak = PEAK.load(Ordering::Relaxed) - base;
    let engine_bytes = live_and_reset_peak() - base;
    println!("native allocations (bytes requested, above the start):");
    println!(
        "  peak while parsing                      {:>8.1} MiB",
        mib(parse_peak)
    );
    println!(
        "  JSON bytes + parsed configuration       {:>8.1} MiB",
        mib(after_parse)
    );
    println!(
        "  parsed configuration alone              {:>8.1} MiB",
        mib(parsed_only)
    );
    println!(
        "  peak while compiling                    {:>8.1} MiB",
        mib(compile_peak)
    );
    println!(
        "  compiled engine                         {:>8.1} MiB",
        mib(engine_bytes)
    );
    println!(
        "  (one run: parse, compiling routes and keys as read: {:.1} ms; joining, grouping, trie: {:.1} ms)\n",
        parse_time.as_secs_f64() * 1e3,
        compile_time.as_secs_f64() * 1e3
    );
    drop(engine);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trieguard-vm-footprint: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--routes N --keys N` (each 100,000 by default).
fn sizes() -> anyhow::Result<(usize, usize)> {
    let mut routes = 100_000;
    let mut keys = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = |args: &mut dyn Iterator<Item = String>| -> anyhow::Result<usize> {
            let text = args
                .next()
                .with_context(|| format!("{arg} needs a number"))?;
            text.replace('_', "")
                .parse()
                .with_context(|| format!("{arg} {text:?} is not a number"))
        };
        match arg.as_str() {
            // `cargo xtask bench vm -- --routes N` passes the separator through.
            "--" => {}
            "--routes" => routes = value(&mut args)?,
            "--keys" => keys = value(&mut args)?,
            other => anyhow::bail!("unknown argument {other:?} (expected --routes N, --keys N)"),
        }
    }
    Ok((routes, keys))
}

/// How long applying a one-key delta (one key revoked) takes on the compiled `policy`,
/// natively: the work a worker does on a tick for a revocation among all the keys.
fn key_delta_cost(policy: &[u8], keys: usize) -> anyhow::Result<f64> {
    use trieguard::source::key_delta::{KeyDelta, ProviderKeyDelta};
    let mut engine =
        trieguard::engine::Engine::from_json(policy).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut best = f64::MAX;
    for i in 0..keys.min(1_000) {
        let mut delta = KeyDelta::default();
        delta.providers.insert(
            "keys".to_owned(),
            ProviderKeyDelta {
                set: vec![],
                revoke: vec![sha256_hex(&format!("key-{i}"))],
            },
        );
        let t = Instant::now();
        engine
            .apply_key_delta(&delta)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The swap a policy source does (docs/policy-source.md), natively: the publication split as
/// the service splits it (frame, route set, key set), then loaded by a worker's
/// `PolicyLoad` one slice at a time. Returns the slowest slice (the frame's parse included
/// as the first), the median slice, the number of slices and their total time.
fn sliced_swap_costs(policy: &[u8]) -> anyhow::Result<(f64, f64, usize, f64)> {
    use std::collections::HashMap;
    use trieguard::source::handoff::{self, Manifest, PiecesRef};
    use trieguard::source::key_delta::policy_skeleton;
    use trieguard::source::key_sets::encode;
    use trieguard::source::load::{PolicyLoad, Progress};
    use trieguard::source::{digest::PolicyDigest, route_sets};
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    let skeleton = policy_skeleton(policy).map_err(|e| err(&e))?;
    let parts = route_sets::split(&skeleton).context("the skeleton does not split")?;
    let full = trieguard::engine::Engine::from_json(policy).map_err(|e| err(&e))?;
    let keys = encode(&full).context("the key set cannot be written")?;
    drop(full);
    let manifest = Manifest::for_parts(
        &parts.frame,
        Some(PiecesRef::of(&parts.routes)),
        Some(PiecesRef::of(&keys)),
        PolicyDigest::of(policy),
        1,
    );
    let mut shared: HashMap<String, Vec<u8>> = HashMap::new();
    for (i, piece) in handoff::set_pieces(&parts.routes).enumerate() {
        shared.insert(handoff::routes_piece_key("main", 1, i), piece.to_vec());
    }
    for (i, piece) in handoff::set_pieces(&keys).enumerate() {
        shared.insert(handoff::keys_piece_key("main", 1, i), piece.to_vec());
    }
    let mut read = |key: &str| shared.get(key).cloned();
    let mut slices = Vec::new();
    let t = Instant::now();
    let mut load = PolicyLoad::start("main", &manifest, &parts.frame).map_err(|e| err(&e))?;
    slices.push(t.elapsed().as_secs_f64());
    let mut stages = vec!["frame"];
    let engine = loop {
        stages.push(load.stage());
        let t = Instant::now();
        let progress = load.advance(true, &mut read).map_err(|e| err(&e))?;
        slices.push(t.elapsed().as_secs_f64());
        if let Progress::Done(engine) = progress {
            break engine;
        }
    };
    let total: f64 = slices.iter().sum();
    let count = slices.len();
    if std::env::var_os("TRIEGUARD_SLICES").is_some() {
        for (i, (t, stage)) in slices.iter().zip(&stages).enumerate() {
            println!("  slice {i} of {count} ({stage}): {:.3} ms", t * 1e3);
        }
    }
    // The engine it replaces is freed in slices too (`RetiredEngine`); freeing it in one call
    // is what a worker would otherwise do at the swap.
    let mut retired = trieguard::engine::RetiredEngine::new(*engine);
    let mut retire_slices = Vec::new();
    loop {
        let t = Instant::now();
        let done = retired.step(trieguard::source::load::SLICE_UNITS);
        retire_slices.push(t.elapsed().as_secs_f64());
        if done {
            break;
        }
    }
    let whole = trieguard::engine::Engine::from_json(policy).map_err(|e| err(&e))?;
    let t = Instant::now();
    drop(whole);
    let one_call_free = t.elapsed().as_secs_f64();
    println!(
        "freeing the replaced engine: {} slices, slowest {:.3} ms; in one call {:.3} ms",
        retire_slices.len(),
        retire_slices.iter().copied().fold(0.0, f64::max) * 1e3,
        one_call_free * 1e3
    );
    slices.sort_by(f64::total_cmp);
    let slowest = slices.last().copied().unwrap_or(0.0);
    let median = slices.get(count / 2).copied().unwrap_or(0.0);
    Ok((slowest, median, count, total))
}

fn run() -> anyhow::Result<()> {
    const RUNS: usize = 3;
    let (n_routes, n_keys) = sizes()?;
    let routes: Vec<_> = (0..n_routes)
        .map(|i| serde_json::json!({"id": format!("r{i}"), "match": {"path_separated_prefix": format!("/tenant-{i}/api")},
            "upstream": {"cluster": format!("c{}", i % 16)}, "auth": {"any_of": ["keys"]}}))
        .collect();
    let keys: Vec<_> = (0..n_keys)
        .map(|i| serde_json::json!({"consumer": format!("consumer-{i}"), "sha256": sha256_hex(&format!("key-{i}"))}))
        .collect();
    let policy = serde_json::json!({"hosts": [{"domains": ["*"], "routes": routes}],
        "auth_providers": {"keys": {"api_key": {"keys": keys}}}})
    .to_string();
    println!(
        "policy: {n_routes} routes + {n_keys} API keys, {} bytes of JSON; best of {RUNS} runs\n",
        policy.len()
    );

    native_memory_phases(policy.as_bytes())?;
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
    let delta = key_delta_cost(policy.as_bytes(), n_keys)?;
    let (slowest_slice, median_slice, slices, sliced_total) = sliced_swap_costs(policy.as_bytes())?;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "one key revoked by delta, natively (best of 1000) {:>8.2} µs   ({:.0}x faster than the compile)",
        delta * 1e6,
        native / delta
    );
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
        "swap from a source, natively: {slices} slices (frame parse first), {:.1} ms in all ({:.2}x the one-call compile)",
        sliced_total * 1e3,
        sliced_total / native
    );
    println!(
        "swap from a source, natively: slice median {:.3} ms, slowest {:.3} ms",
        median_slice * 1e3,
        slowest_slice * 1e3
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
