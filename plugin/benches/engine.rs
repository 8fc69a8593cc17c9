//! Engine benchmarks (run with `cargo xtask bench engine`):
//! - compiling a policy of 100k routes + 100k API keys from JSON, against parsing the same
//!   bytes into a `serde_json::Value` (the floor any JSON config pays), in one run;
//! - `decide` on a 10k-route policy with API-key auth, matching route declared last, against
//!   a linear scan of the same route prefixes (what Envoy's route list does).

// A benchmark crate: failing loudly is right here, and criterion's macros generate items.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use trieguard::engine::{Decision, Engine, Request};

fn sha256_hex(key: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()))
}

/// A policy with `routes` path-separated-prefix routes and `keys` API keys; every route needs
/// a key.
fn policy(routes: usize, keys: usize) -> String {
    let routes: Vec<_> = (0..routes)
        .map(|i| {
            serde_json::json!({
                "id": format!("r{i}"),
                "match": {"path_separated_prefix": format!("/tenant-{i}/api")},
                "upstream": {"cluster": format!("c{}", i % 16)},
                "auth": {"any_of": ["keys"]}
            })
        })
        .collect();
    let keys: Vec<_> = (0..keys)
        .map(|i| serde_json::json!({"consumer": format!("consumer-{i}"), "sha256": sha256_hex(&format!("key-{i}"))}))
        .collect();
    serde_json::json!({
        "hosts": [{"domains": ["api.example.com"], "routes": routes}],
        "auth_providers": {"keys": {"api_key": {"keys": keys}}}
    })
    .to_string()
}

/// Total time of `iterations` calls of `routine`, each result dropped untimed.
fn timed_without_drop<T>(iterations: u64, mut routine: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let started = Instant::now();
        let output = black_box(routine());
        total += started.elapsed();
        drop(output);
    }
    total
}

fn compile(c: &mut Criterion) {
    let json = policy(100_000, 100_000);
    let mut group = c.benchmark_group("compile_100k_routes_100k_keys");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    // Each result is freed after its timing stops: freeing 30 MB of small allocations is not
    // compiling (it costs up to half as much again). The next iteration then reuses the freed
    // memory, as a second compile in a process does.
    group.bench_function("baseline_json_parse_only", |b| {
        b.iter_custom(|iterations| {
            timed_without_drop(iterations, || {
                serde_json::from_str::<serde_json::Value>(&json).ok()
            })
        })
    });
    group.bench_function("trieguard_engine_from_json", |b| {
        b.iter_custom(|iterations| {
            timed_without_drop(iterations, || Engine::from_json(json.as_bytes()).ok())
        })
    });
    group.finish();
}

fn decide(c: &mut Criterion) {
    const ROUTES: usize = 10_000;
    let engine =
        Engine::from_json(policy(ROUTES, 1_000).as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let last = ROUTES - 1;
    let request = Request {
        method: "GET".into(),
        authority: "api.example.com".into(),
        path: format!("/tenant-{last}/api/orders/42?x=1"),
        headers: vec![
            ("x-api-key".into(), "key-7".into()),
            ("user-agent".into(), "bench".into()),
        ],
        ..Request::default()
    };
    assert!(matches!(engine.decide(&request), Decision::Allow(_)));
    let prefixes: Vec<String> = (0..ROUTES).map(|i| format!("/tenant-{i}/api")).collect();
    let path = request
        .path
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();

    let mut group = c.benchmark_group("decide_10k_routes_api_key_last_route");
    group.bench_function("baseline_linear_prefix_scan", |b| {
        b.iter(|| {
            black_box(prefixes.iter().position(|p| {
                path.starts_with(p.as_str())
                    && path.as_bytes().get(p.len()).is_none_or(|&c| c == b'/')
            }))
        })
    });
    group.bench_function("trieguard_decide", |b| {
        b.iter(|| black_box(engine.decide(black_box(&request))))
    });
    group.finish();
}

criterion_group!(benches, compile, decide);
criterion_main!(benches);
