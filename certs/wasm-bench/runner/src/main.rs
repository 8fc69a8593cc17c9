//! Runs the guest in wasmtime (cranelift, default settings) and prints SM2 verifies/s for `certs`
//! and `libsm`, plus each one's first-call time (libsm builds its table lazily).

use std::time::Instant;

use wasmtime::{Engine, Error, Linker, Module, Store};

fn main() -> wasmtime::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| Error::msg("usage: certs-wasm-runner GUEST.wasm [SECONDS]"))?;
    let seconds: f64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let engine = Engine::default();
    let module = Module::from_file(&engine, &path)?;
    let mut linker: Linker<()> = Linker::new(&engine);
    // WASI imports (panic output, random for unused key generation) are never reached.
    linker.define_unknown_imports_as_traps(&module)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let setup = instance.get_typed_func::<(), u32>(&mut store, "setup")?;
    let t = Instant::now();
    setup.call(&mut store, ())?;
    println!(
        "wasm setup (sign the sample): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for name in ["certs_verify", "libsm_verify"] {
        let f = instance.get_typed_func::<u32, u32>(&mut store, name)?;
        let t = Instant::now();
        if f.call(&mut store, 1)? != 1 {
            return Err(Error::msg(format!("{name}: sample did not verify")));
        }
        println!(
            "{name}: first call {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let mut done = 0u64;
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < seconds {
            if f.call(&mut store, 50)? != 50 {
                return Err(Error::msg(format!("{name}: sample did not verify")));
            }
            done += 50;
        }
        println!(
            "{name}: {:.0} verify/s in wasmtime ({done} in {:.2} s)",
            done as f64 / t.elapsed().as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
