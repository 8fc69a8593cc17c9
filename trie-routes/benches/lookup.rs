//! Route lookup, map lookup and build-time benchmarks, each beside its baseline in the same
//! run: `RouteTrie` vs `matchit` vs a linear scan; `HashTrieMap` vs `hashbrown` vs `im`.
//! Results are checked inside the measured loops.

// Benchmark harness code, not a request path: indexing and unwrapping are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{LinearRoutes, fill, github_routes, sample, specs, static_routes, templated_routes};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trie_routes::{HashTrieMap, MatchBuffer, RouteTrie};

/// Lookups per measured iteration (a spread of routes, so caches see a realistic mix).
const LOOKUPS: usize = 256;

fn build_matchit(routes: &[String]) -> matchit::Router<usize> {
    let mut r = matchit::Router::new();
    for (i, route) in routes.iter().enumerate() {
        r.insert(route.as_str(), i).unwrap();
    }
    r
}

/// Benchmarks one route set: trie, matchit and (when `linear`) the linear scan, on the same
/// paths; the trie's first candidate must equal matchit's match.
fn bench_routes(
    c: &mut Criterion,
    group: &str,
    label: &str,
    routes: &[String],
    paths: &[String],
    linear: bool,
) {
    let trie = RouteTrie::build(specs(routes)).unwrap();
    let router = build_matchit(routes);
    let expected: Vec<usize> = paths.iter().map(|p| *router.at(p).unwrap().value).collect();
    let mut buf = MatchBuffer::new();
    for (p, want) in paths.iter().zip(&expected) {
        assert_eq!(
            trie.lookup("api.example.com", p, &mut buf)
                .first()
                .map(|m| *m.value),
            Some(*want),
            "{p}"
        );
    }
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(paths.len() as u64));
    g.bench_function(BenchmarkId::new("trie", label), |b| {
        let mut buf = MatchBuffer::new();
        b.iter(|| {
            for (p, want) in paths.iter().zip(&expected) {
                let c = trie.lookup(black_box("api.example.com"), black_box(p), &mut buf);
                assert_eq!(c.first().map(|m| *m.value), Some(*want));
            }
        });
    });
    g.bench_function(BenchmarkId::new("matchit", label), |b| {
        b.iter(|| {
            for (p, want) in paths.iter().zip(&expected) {
                assert_eq!(*router.at(black_box(p)).unwrap().value, *want);
            }
        });
    });
    if linear {
        // First match in declaration order, as Envoy does (may differ from matchit's
        // priority where a `{param}` route is declared before a static sibling).
        let lin = LinearRoutes::new(routes);
        let first: Vec<usize> = paths.iter().map(|p| lin.find(p).unwrap()).collect();
        g.bench_function(BenchmarkId::new("linear", label), |b| {
            b.iter(|| {
                for (p, want) in paths.iter().zip(&first) {
                    assert_eq!(lin.find(black_box(p)), Some(*want));
                }
            });
        });
    }
    g.finish();
}

fn route_lookup(c: &mut Criterion) {
    let gh = github_routes();
    let gh_paths: Vec<String> = gh.iter().map(|r| fill(r)).collect();
    bench_routes(c, "route_lookup_github", "github", &gh, &gh_paths, true);

    for (kind, make) in [
        ("static", static_routes as fn(usize) -> Vec<String>),
        ("templated", templated_routes),
    ] {
        for (n, label) in [
            (1_000, "1k"),
            (10_000, "10k"),
            (100_000, "100k"),
            (1_000_000, "1M"),
        ] {
            let routes = make(n);
            let paths: Vec<String> = sample(n, LOOKUPS)
                .into_iter()
                .map(|i| fill(&routes[i]))
                .collect();
            // The linear scan is O(routes) per lookup; at 100k one sample takes seconds.
            bench_routes(
                c,
                &format!("route_lookup_{kind}"),
                label,
                &routes,
                &paths,
                n <= 10_000,
            );
        }
    }
}

fn map_get(c: &mut Criterion) {
    type Fold = foldhash::fast::RandomState;
    let mut g = c.benchmark_group("map_get");
    for (n, label) in [(1_000usize, "1k"), (100_000, "100k"), (1_000_000, "1M")] {
        let mut rng = common::Lcg(n as u64);
        let keys: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
        let probe: Vec<u64> = sample(n, 1024).into_iter().map(|i| keys[i]).collect();
        let hamt: HashTrieMap<u64, u64, Fold> = keys.iter().map(|k| (*k, *k)).collect();
        let hb: hashbrown::HashMap<u64, u64, Fold> = keys.iter().map(|k| (*k, *k)).collect();
        let im: im::HashMap<u64, u64, Fold> = keys.iter().map(|k| (*k, *k)).collect();
        g.throughput(Throughput::Elements(probe.len() as u64));
        g.bench_function(BenchmarkId::new("hash_trie_map", label), |b| {
            b.iter(|| {
                for k in &probe {
                    assert_eq!(hamt.get(black_box(k)), Some(k));
                }
            });
        });
        g.bench_function(BenchmarkId::new("hashbrown", label), |b| {
            b.iter(|| {
                for k in &probe {
                    assert_eq!(hb.get(black_box(k)), Some(k));
                }
            });
        });
        g.bench_function(BenchmarkId::new("im", label), |b| {
            b.iter(|| {
                for k in &probe {
                    assert_eq!(im.get(black_box(k)), Some(k));
                }
            });
        });
    }
    g.finish();
}

fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build_100k");
    g.sample_size(10);
    for (kind, routes) in [
        ("static", static_routes(100_000)),
        ("templated", templated_routes(100_000)),
    ] {
        // Parsed form: the specs exist before the clock starts; cloning them is part of neither.
        let parsed = specs(&routes);
        g.bench_function(BenchmarkId::new("trie", kind), |b| {
            b.iter_batched(
                || parsed.clone(),
                |s| RouteTrie::build(s).unwrap(),
                criterion::BatchSize::LargeInput,
            );
        });
        g.bench_function(BenchmarkId::new("matchit", kind), |b| {
            b.iter(|| build_matchit(black_box(&routes)));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = route_lookup, map_get, build
}
criterion_main!(benches);
