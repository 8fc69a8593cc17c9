//! Times the certs wasm-bench guest's `chain_verify` in wasmtime: full validation of the
//! unconstrained 3-level SM2 fixture chain against the baseline without the profile checks and
//! the name-constraint pass, interleaved validation by validation in one run; prints each round's
//! median time per chain and the ratio.
//!
//! ```text
//! (cd certs/wasm-bench && cargo build --release --target wasm32-wasip1 -p certs-wasm-guest)
//! cargo run -p host-harness --example certs_chain_bench -- \
//!     certs/wasm-bench/target/wasm32-wasip1/release/certs_wasm_guest.wasm [ROUNDS] [SECONDS]
//! ```
//!
//! The time is spent in the guest (compiled by Cranelift the same way in any build of the host),
//! so a debug build of this runner measures the same code as a release one.

use std::time::Instant;

use wasmtime::{Engine, Error, Linker, Module, Store, TypedFunc};

/// Validations per call: one, so that every validation is timed on its own (a call costs well
/// under a microsecond next to 3 SM2 verifications of about 180 µs each).
const PER_CALL: u32 = 1;

/// Seconds spent in one call of `chain_verify(PER_CALL, full)`.
fn timed_call(
    store: &mut Store<()>,
    f: &TypedFunc<(u32, u32), u32>,
    full: u32,
) -> wasmtime::Result<f64> {
    let t = Instant::now();
    if f.call(&mut *store, (PER_CALL, full))? != PER_CALL {
        return Err(Error::msg("the fixture chain did not validate"));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// The median of `samples` (sorted in place).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    match (
        samples.get(n / 2),
        n.checked_sub(1).and_then(|m| samples.get(m / 2)),
    ) {
        (Some(hi), Some(lo)) if n.is_multiple_of(2) => (hi + lo) / 2.0,
        (Some(mid), _) => *mid,
        _ => f64::NAN,
    }
}

/// One round of about `seconds`: calls of the two variants interleaved one by one (the order
/// swapped every pair), so a change in machine load hits both alike. Returns the median seconds
/// per validation of (full, baseline): a validation preempted by another process is an outlier
/// the median ignores.
fn round(
    store: &mut Store<()>,
    f: &TypedFunc<(u32, u32), u32>,
    seconds: f64,
) -> wasmtime::Result<(f64, f64)> {
    let (mut full, mut baseline) = (Vec::new(), Vec::new());
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < seconds {
        if full.len().is_multiple_of(2) {
            full.push(timed_call(store, f, 1)?);
            baseline.push(timed_call(store, f, 0)?);
        } else {
            baseline.push(timed_call(store, f, 0)?);
            full.push(timed_call(store, f, 1)?);
        }
    }
    Ok((median(&mut full), median(&mut baseline)))
}

fn main() -> wasmtime::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or_else(|| {
        Error::msg("usage: certs_chain_bench GUEST.wasm [ROUNDS] [SECONDS per round]")
    })?;
    let rounds: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(6);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let engine = Engine::default();
    let module = Module::from_file(&engine, &path)?;
    let mut linker: Linker<()> = Linker::new(&engine);
    // WASI imports (panic output, random for unused key generation) are never reached.
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let chain_verify = instance.get_typed_func::<(u32, u32), u32>(&mut store, "chain_verify")?;
    // Warm-up: parses the fixtures once (OnceLock) and runs both variants' code paths.
    round(&mut store, &chain_verify, seconds / 3.0)?;

    let mut ratios = Vec::new();
    for r in 0..rounds {
        let (full, baseline) = round(&mut store, &chain_verify, seconds)?;
        let ratio = full / baseline;
        ratios.push(ratio);
        println!(
            "round {r}: full {:.1} µs, baseline {:.1} µs per chain, time full/baseline {ratio:.4}",
            full * 1e6,
            baseline * 1e6
        );
    }
    let median_ratio = median(&mut ratios);
    println!(
        "time full/baseline: median {median_ratio:.4}, min {:.4}, max {:.4} over {} rounds",
        ratios.first().copied().unwrap_or(f64::NAN),
        ratios.last().copied().unwrap_or(f64::NAN),
        ratios.len()
    );
    Ok(())
}
