//! Memory: heap bytes per route at 100k routes (static and templated) for `RouteTrie` and
//! `matchit`, and bytes per key for `HashTrieMap` and `hashbrown` at 100k keys, measured with
//! a counting global allocator (live bytes after building minus before).

// Benchmark harness code, not a request path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use trie_routes::{HashTrieMap, RouteTrie};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// Safety: every method forwards to `System` with the caller's arguments unchanged, and only
// adds bookkeeping on an atomic counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Safety: forwarded with the same layout, as the caller promised for us.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: `ptr` was allocated by `System` with `layout`, per the caller's contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Safety: forwarded unchanged; the caller guarantees `ptr`/`layout` came from us.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live heap bytes held by what `make` returns.
fn measure<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let value = make();
    let after = LIVE.load(Ordering::Relaxed);
    (value, after.saturating_sub(before))
}

const N: usize = 100_000;

fn main() {
    println!("memory: live heap bytes after building, {N} routes / keys");
    for (kind, routes) in [
        ("static", common::static_routes(N)),
        ("templated", common::templated_routes(N)),
    ] {
        let pattern_bytes: usize = routes.iter().map(String::len).sum();
        // `build` consumes and frees the specs, so add their bytes back to the difference.
        let (specs, spec_bytes) = measure(|| common::specs(&routes));
        let before = LIVE.load(Ordering::Relaxed);
        let trie = RouteTrie::build(specs).unwrap();
        let trie_bytes = (LIVE.load(Ordering::Relaxed) + spec_bytes).saturating_sub(before);
        let (router, matchit_bytes) = measure(|| {
            let mut r = matchit::Router::new();
            for (i, route) in routes.iter().enumerate() {
                r.insert(route.as_str(), i).unwrap();
            }
            r
        });
        println!(
            "routes {kind:<9} trie {:>6.1} B/route (own estimate {:>6.1})  matchit {:>6.1} B/route  ratio {:.3}  (pattern text {:.1} B/route)",
            trie_bytes as f64 / N as f64,
            trie.heap_bytes() as f64 / N as f64,
            matchit_bytes as f64 / N as f64,
            trie_bytes as f64 / matchit_bytes as f64,
            pattern_bytes as f64 / N as f64,
        );
        drop((trie, router));
    }
    type Fold = foldhash::fast::RandomState;
    let mut rng = common::Lcg(7);
    let keys: Vec<u64> = (0..N).map(|_| rng.next_u64()).collect();
    let (hamt, hamt_bytes) = measure(|| {
        keys.iter()
            .map(|k| (*k, *k))
            .collect::<HashTrieMap<u64, u64, Fold>>()
    });
    let (hb, hb_bytes) = measure(|| {
        keys.iter()
            .map(|k| (*k, *k))
            .collect::<hashbrown::HashMap<u64, u64, Fold>>()
    });
    println!(
        "map u64->u64 hash_trie_map {:>5.1} B/key  hashbrown {:>5.1} B/key  ratio {:.3}",
        hamt_bytes as f64 / N as f64,
        hb_bytes as f64 / N as f64,
        hamt_bytes as f64 / hb_bytes as f64
    );
    drop((hamt, hb));
}
