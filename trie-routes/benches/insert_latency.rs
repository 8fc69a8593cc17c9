//! Insert tail latency: insert 1M keys one by one, timing each insert, for `HashTrieMap`
//! and `hashbrown::HashMap` (whose resizes rehash everything at once). Prints p50, p99,
//! p99.99 and max per map, and hashbrown's slowest inserts (its resize points).

// Benchmark harness code, not a request path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use trie_routes::HashTrieMap;

type Fold = foldhash::fast::RandomState;

const KEYS: usize = 1_000_000;

/// Nanoseconds per insert, in insert order.
fn time_inserts(keys: &[u64], mut insert: impl FnMut(u64)) -> Vec<u64> {
    keys.iter()
        .map(|k| {
            let t = Instant::now();
            insert(black_box(*k));
            t.elapsed().as_nanos() as u64
        })
        .collect()
}

/// This thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`: user + system time
/// of this thread only; time spent descheduled does not count).
#[cfg(target_os = "linux")]
fn thread_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `ts` is a valid, writable timespec (64-bit Linux layout); the call only writes it.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Thread CPU nanoseconds per insert, in insert order: the cost of the insert itself, not
/// counting time the thread spent descheduled (but counting page faults it took, and the
/// two clock reads around it, ~0.1-0.3 µs).
#[cfg(target_os = "linux")]
fn cpu_time_inserts(keys: &[u64], mut insert: impl FnMut(u64)) -> Vec<u64> {
    keys.iter()
        .map(|k| {
            let t = thread_cpu_ns();
            insert(black_box(*k));
            thread_cpu_ns() - t
        })
        .collect()
}

fn report(name: &str, ns: &[u64]) -> u64 {
    let mut sorted = ns.to_vec();
    sorted.sort_unstable();
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let max = *sorted.last().unwrap();
    let total: u64 = ns.iter().sum();
    println!(
        "{name:<16} p50 {:>6} ns  p99 {:>6} ns  p99.99 {:>8} ns  max {:>10} ns  total {:>6.1} ms",
        q(0.5),
        q(0.99),
        q(0.9999),
        max,
        total as f64 / 1e6
    );
    max
}

fn main() {
    // `cargo bench` passes `--bench`; criterion-style filters are ignored here.
    let mut rng = common::Lcg(42);
    let keys: Vec<u64> = (0..KEYS).map(|_| rng.next_u64()).collect();
    println!(
        "insert_latency: {KEYS} inserts, each timed with Instant (includes ~20-40 ns timer overhead)"
    );

    // Warm the allocator and page cache once, untimed, so both maps start from the same state.
    drop(
        keys.iter()
            .map(|k| (*k, *k))
            .collect::<hashbrown::HashMap<u64, u64, Fold>>(),
    );

    let mut hamt: HashTrieMap<u64, u64, Fold> = HashTrieMap::default();
    let hamt_ns = time_inserts(&keys, |k| {
        hamt.insert(k, k);
    });
    assert_eq!(hamt.len(), KEYS);

    let mut hb: hashbrown::HashMap<u64, u64, Fold> = hashbrown::HashMap::default();
    let hb_ns = time_inserts(&keys, |k| {
        hb.insert(k, k);
    });
    assert_eq!(hb.len(), KEYS);

    let hamt_max = report("hash_trie_map", &hamt_ns);
    let hb_max = report("hashbrown", &hb_ns);
    println!(
        "max ratio hash_trie_map / hashbrown: {:.3}",
        hamt_max as f64 / hb_max as f64
    );

    let mut spikes: Vec<(u64, usize)> = hb_ns.iter().enumerate().map(|(i, ns)| (*ns, i)).collect();
    spikes.sort_unstable_by(|a, b| b.cmp(a));
    let mut at: Vec<(usize, u64)> = spikes.iter().take(6).map(|(ns, i)| (*i, *ns)).collect();
    at.sort_unstable();
    println!("hashbrown slowest inserts (index: ns): {at:?}");
    let mut hspikes: Vec<(u64, usize)> =
        hamt_ns.iter().enumerate().map(|(i, ns)| (*ns, i)).collect();
    hspikes.sort_unstable_by(|a, b| b.cmp(a));
    let hat: Vec<(usize, u64)> = hspikes.iter().take(6).map(|(ns, i)| (*i, *ns)).collect();
    println!("hash_trie_map slowest inserts (index: ns): {hat:?}");

    // The same inserts again into fresh maps, timed by this thread's CPU clock instead of the
    // wall clock: on a shared machine a wall-clock maximum is usually the thread being
    // descheduled in the middle of an insert; the CPU-time maximum is what the insert cost.
    #[cfg(target_os = "linux")]
    {
        println!(
            "thread CPU time per insert (CLOCK_THREAD_CPUTIME_ID, includes ~0.1-0.3 µs of clock reads):"
        );
        let mut hamt: HashTrieMap<u64, u64, Fold> = HashTrieMap::default();
        let hamt_cpu = cpu_time_inserts(&keys, |k| {
            hamt.insert(k, k);
        });
        let mut hb: hashbrown::HashMap<u64, u64, Fold> = hashbrown::HashMap::default();
        let hb_cpu = cpu_time_inserts(&keys, |k| {
            hb.insert(k, k);
        });
        let hamt_max = report("hash_trie_map", &hamt_cpu);
        let hb_max = report("hashbrown", &hb_cpu);
        println!(
            "cpu max ratio hash_trie_map / hashbrown: {:.3}",
            hamt_max as f64 / hb_max as f64
        );
        let mut top: Vec<(u64, usize)> = hamt_cpu
            .iter()
            .enumerate()
            .map(|(i, ns)| (*ns, i))
            .collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        let top: Vec<(usize, u64)> = top.iter().take(6).map(|(ns, i)| (*i, *ns)).collect();
        println!("hash_trie_map slowest inserts by CPU time (index: ns): {top:?}");
    }
}
