//! The request path allocates nothing once warm (issue: "zero allocations on the allow path"):
//! refilling the request from the host's header map, deciding an allowed request with an API
//! key, and finding its counter. Counted by a global allocator, per thread.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use trieguard::engine::{Decision, Engine};
use trieguard::header_pairs::{RequestBuffer, serialize};
use trieguard::metrics::MetricIds;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// Safety: every call is forwarded to the system allocator unchanged; the counter is a
// const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // Safety: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // Safety: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(run: impl FnOnce() -> T) -> (u64, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = run();
    (ALLOCATIONS.with(Cell::get) - before, result)
}

fn sha256_hex(key: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()))
}

fn engine(decision_headers: serde_json::Value) -> Engine {
    let routes: Vec<_> = (0..1_000)
        .map(|i| {
            serde_json::json!({
                "id": format!("r{i}"),
                "match": {"path_separated_prefix": format!("/tenant-{i}/api")},
                "upstream": {"cluster": format!("c{}", i % 16)},
                "auth": {"any_of": ["keys"]}
            })
        })
        .collect();
    let keys: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"consumer": format!("consumer-{i}"), "sha256": sha256_hex(&format!("key-{i}"))}))
        .collect();
    let policy = serde_json::json!({
        "hosts": [{"domains": ["api.example.com"], "routes": routes}],
        "auth_providers": {"keys": {"api_key": {"keys": keys}}},
        "decision_headers": decision_headers,
    });
    Engine::from_json(policy.to_string().as_bytes()).unwrap()
}

/// What Envoy hands the filter for the benchmark's request.
fn header_map(path: &str) -> Vec<u8> {
    let pairs: [(&str, &str); 8] = [
        (":authority", "api.example.com"),
        (":path", path),
        (":method", "GET"),
        (":scheme", "http"),
        ("user-agent", "wrk"),
        ("x-api-key", "key-7"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
    ];
    serialize(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

#[test]
fn an_allowed_request_is_read_decided_and_counted_without_allocating() {
    for decision_headers in [
        serde_json::json!({}),
        serde_json::json!({"emit_route": false, "emit_consumer": false}),
    ] {
        let engine = engine(decision_headers);
        let mut buffer = RequestBuffer::default();
        let mut metrics = MetricIds::new(64);
        let define = |_: &str| Some(1);
        let maps = [
            header_map("/tenant-999/api/orders/42?x=1"),
            header_map("/tenant-3/api/orders"),
        ];
        // Warm-up: the buffer's strings and the counter's entry are made once.
        for map in &maps {
            let request = buffer.refill(map).unwrap();
            let decision = engine.decide(request);
            assert!(matches!(decision, Decision::Allow(_)), "{decision:?}");
            metrics.id(decision.route().unwrap(), decision.reason(), define);
        }
        for map in maps.iter().cycle().take(10) {
            let (count, (route, consumer, headers)) = allocations_during(|| {
                let request = buffer.refill(map).unwrap();
                let Decision::Allow(allow) = engine.decide(request) else {
                    panic!("denied");
                };
                assert!(metrics.id(allow.route, allow.reason, define).is_some());
                (
                    allow.route.len(),
                    allow.consumer.as_deref().map(str::len),
                    allow.set_headers().count(),
                )
            });
            assert_eq!(count, 0, "allocations on the allow path");
            assert!(route > 0);
            assert_eq!(consumer, Some("consumer-7".len()));
            assert!(headers >= 1);
        }
    }
}

#[test]
fn the_counting_allocator_sees_allocations() {
    let (count, boxed) = allocations_during(|| Box::new([7u8; 32]));
    assert_eq!(boxed[0], 7);
    assert!(count >= 1, "this test would pass vacuously otherwise");
}
