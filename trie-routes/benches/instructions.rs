//! Instruction-count driver for `valgrind --tool=callgrind`: runs one workload of the lookup
//! benches (same route/key sets and probes) inside a `#[inline(never)]` loop, so callgrind's
//! `--toggle-collect` counts exactly the lookups. Wall time on a shared VM is noisy; executed
//! instructions are not.
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='instructions::measured*' \
//!     target/…/release/deps/instructions-<hash> <workload> <n>
//! ```
//!
//! Workloads: `trie-static`, `matchit-static`, `trie-templated`, `matchit-templated`,
//! `trie-github`, `matchit-github` (n ignored), `hamt`, `hashbrown`. Instructions per
//! operation = the collected `Ir` / (`ROUNDS` × probes), printed by the driver as the divisor.
//! Without arguments (as under `cargo bench`) it does nothing.

// Benchmark harness code, not a request path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;

use common::{fill, github_routes, sample, specs, static_routes, templated_routes};
use trie_routes::{HashTrieMap, MatchBuffer, RouteTrie};

type Fold = foldhash::fast::RandomState;

/// Passes over the probe list inside the measured function.
const ROUNDS: usize = 20;

#[inline(never)]
fn measured(f: &mut dyn FnMut()) {
    for _ in 0..ROUNDS {
        f();
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(workload), n) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        println!("instructions: pass <workload> <n> (see the file's docs); nothing to do");
        return;
    };
    let n: usize = n.unwrap_or(10_000);
    let (kind, set) = workload.split_once('-').unwrap_or((workload, ""));
    let routes = match set {
        "static" => static_routes(n),
        "templated" => templated_routes(n),
        "github" => github_routes(),
        _ => Vec::new(),
    };
    let picked: Vec<usize> = if set == "github" {
        (0..routes.len()).collect()
    } else if routes.is_empty() {
        Vec::new()
    } else {
        sample(n, 256)
    };
    let paths: Vec<String> = picked.iter().map(|i| fill(&routes[*i])).collect();
    let ops = match kind {
        "trie" => {
            let trie = RouteTrie::build(specs(&routes)).unwrap();
            let mut buf = MatchBuffer::new();
            let first = |p: &String| {
                trie.lookup("h", p, &mut MatchBuffer::new())
                    .first()
                    .map(|m| *m.value)
            };
            let want: Vec<usize> = paths.iter().map(|p| first(p).unwrap()).collect();
            measured(&mut || {
                for (p, w) in paths.iter().zip(&want) {
                    let c = trie.lookup(black_box("api.example.com"), black_box(p), &mut buf);
                    assert_eq!(c.first().map(|m| *m.value), Some(*w));
                }
            });
            paths.len()
        }
        "matchit" => {
            let mut router = matchit::Router::new();
            for (i, r) in routes.iter().enumerate() {
                router.insert(r.as_str(), i).unwrap();
            }
            let want: Vec<usize> = paths.iter().map(|p| *router.at(p).unwrap().value).collect();
            measured(&mut || {
                for (p, w) in paths.iter().zip(&want) {
                    assert_eq!(*router.at(black_box(p)).unwrap().value, *w);
                }
            });
            paths.len()
        }
        "hamt" | "hashbrown" => {
            let mut rng = common::Lcg(n as u64);
            let keys: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
            let probe: Vec<u64> = sample(n, 1024).into_iter().map(|i| keys[i]).collect();
            if kind == "hamt" {
                let m: HashTrieMap<u64, u64, Fold> = keys.iter().map(|k| (*k, *k)).collect();
                measured(&mut || {
                    for k in &probe {
                        assert_eq!(m.get(black_box(k)), Some(k));
                    }
                });
            } else {
                let m: hashbrown::HashMap<u64, u64, Fold> = keys.iter().map(|k| (*k, *k)).collect();
                measured(&mut || {
                    for k in &probe {
                        assert_eq!(m.get(black_box(k)), Some(k));
                    }
                });
            }
            probe.len()
        }
        _ => panic!("unknown workload {workload}"),
    };
    println!("operations measured: {}", ops * ROUNDS);
}
