//! A Rust host deciding one request with the engine's WebAssembly component (wasmtime).
//! `cargo xtask build && cargo run -p host-harness --example embed-component [COMPONENT] [POLICY]`

use host_harness::component::{Decision, PolicyComponent, Request};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let wasm = args
        .next()
        .unwrap_or("target/trieguard-component.wasm".into());
    let policy = std::fs::read_to_string(args.next().unwrap_or("examples/policy.json".into()))?;
    let mut engine = PolicyComponent::from_file(wasm.as_ref())?.instantiate()?;
    if let Err(issues) = engine.configure(&policy)? {
        anyhow::bail!("policy rejected: {issues:?}");
    }
    let request = Request {
        method: "GET".into(),
        authority: "api.example.com".into(),
        path: "/v1/items?page=2".into(),
        headers: vec![("user-agent".into(), "embed-component".into())],
        tls_version: Some("TLSv1.3".into()),
        source: Some("203.0.113.7:51234".into()),
        now_unix_seconds: std::time::UNIX_EPOCH.elapsed()?.as_secs(),
        entropy: 0,
    };
    match engine.decide(&request)? {
        Decision::Allow(a) => println!(
            "allow: route {} → cluster {}, path {:?}",
            a.route, a.cluster, a.new_path
        ),
        Decision::Deny(d) => println!("deny: {} {} ({})", d.status, d.reason, d.message),
    }
    Ok(())
}
