//! Odd corners of the ABI, exercised by small purpose-built modules written in WAT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use host_harness::host::{
    Action, FailurePolicy, Host, HostError, HostOptions, HttpRequest, MetricValue, Routing, Tls,
};
use std::collections::BTreeSet;

/// Imports, a bump allocator and helpers shared by every test module; `$note` logs a string.
const PRELUDE: &str = r#"
 (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
 (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_property" (func $prop (param i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_set_property" (func $setprop (param i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
 (import "env" "proxy_get_header_map_value" (func $hval (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_define_metric" (func $defm (param i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_increment_metric" (func $incm (param i32 i64) (result i32)))
 (import "env" "proxy_record_metric" (func $recm (param i32 i64) (result i32)))
 (import "env" "proxy_get_metric" (func $getm (param i32 i32) (result i32)))
 (import "env" "proxy_call_foreign_function" (func $ffi (param i32 i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
 (import "env" "proxy_http_call" (func $http (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_continue_stream" (func $cont (param i32) (result i32)))
 (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
 (memory (export "memory") 1)
 (global $heap (mut i32) (i32.const 32768))
 (func (export "malloc") (param $n i32) (result i32) (local $p i32)
   (local.set $p (global.get $heap))
   (global.set $heap (i32.add (global.get $heap) (local.get $n)))
   (local.get $p))
 (func (export "proxy_abi_version_0_2_1"))
 (func $note (param $s i32) (param $n i32) (drop (call $log (i32.const 2) (local.get $s) (local.get $n))))
 ;; reply(status) with an empty body and no headers
 (func $deny (param $status i32)
   (drop (call $reply (local.get $status) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                      (i32.const 0) (i32.const 0) (i32.const -1))))
"#;

fn module(body: &str) -> Vec<u8> {
    format!("(module {PRELUDE} {body})").into_bytes()
}

fn host(body: &str, policy: FailurePolicy) -> Host {
    let options = HostOptions {
        failure_policy: policy,
        ..HostOptions::default()
    };
    Host::new(&module(body), options).unwrap()
}

fn req(path: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        authority: "api.example.com".into(),
        path: path.into(),
        headers: vec![("user-agent".into(), "curl/8".into())],
        ..HttpRequest::default()
    }
}

fn messages(logs: &[host_harness::host::LogLine]) -> Vec<String> {
    logs.iter()
        .map(|l| format!("{}:{}", l.context_id, l.message))
        .collect()
}

const LIFECYCLE: &str = r#"
 (data (i32.const 100) "init")
 (data (i32.const 110) "create")
 (data (i32.const 120) "vm_start")
 (data (i32.const 130) "configure")
 (data (i32.const 140) "request_headers")
 (data (i32.const 160) "response_headers")
 (data (i32.const 180) "log")
 (data (i32.const 190) "done")
 (data (i32.const 200) "delete")
 (func (export "_initialize") (call $note (i32.const 100) (i32.const 4)))
 (func (export "proxy_on_context_create") (param i32 i32) (call $note (i32.const 110) (i32.const 6)))
 (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (call $note (i32.const 120) (i32.const 8)) (i32.const 1))
 (func (export "proxy_on_configure") (param i32 i32) (result i32) (call $note (i32.const 130) (i32.const 9)) (i32.const 1))
 (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (call $note (i32.const 140) (i32.const 15)) (i32.const 0))
 (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (call $note (i32.const 160) (i32.const 16)) (i32.const 0))
 (func (export "proxy_on_log") (param i32) (call $note (i32.const 180) (i32.const 3)))
 (func (export "proxy_on_done") (param i32) (result i32) (call $note (i32.const 190) (i32.const 4)) (i32.const 1))
 (func (export "proxy_on_delete") (param i32) (call $note (i32.const 200) (i32.const 6)))
"#;

#[test]
fn call_order_and_context_ids_follow_envoy() {
    let mut vm = host(LIFECYCLE, FailurePolicy::FailClosed)
        .start(b"{}")
        .unwrap();
    assert_eq!(
        messages(vm.start_logs()),
        ["1:init", "1:create", "1:vm_start", "1:configure"]
    );
    let a = vm.handle(&req("/a"));
    assert_eq!(a.action, Action::Continue);
    assert_eq!(
        messages(&a.logs),
        [
            "2:create",
            "2:request_headers",
            "2:response_headers",
            "2:log",
            "2:done",
            "2:delete"
        ]
    );
    let b = vm.handle(&req("/b"));
    assert_eq!(b.context_id, 3, "context ids are never reused");
    assert!(a.vm_time.as_nanos() > 0);
    assert!(vm.memory_bytes() >= 65536);
}

#[test]
fn bad_guest_pointers_answer_invalid_memory_access_not_a_host_panic() {
    // proxy_log with a pointer past the end of memory; the status comes back as reply 600 + status.
    let body = r#"
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (call $deny (i32.add (i32.const 600)
         (call $log (i32.const 2) (i32.const 0xfffffff0) (i32.const 100))))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    let o = vm.handle(&req("/"));
    assert_eq!(o.status, Some(606));
    assert_eq!(o.trap, None);

    // A return pointer outside memory for get_header_map_pairs, and ptr+len overflowing u32.
    let body = r#"
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (if (i32.ne (call $pairs (i32.const 0) (i32.const 0x7ffffff0) (i32.const 1000)) (i32.const 6))
         (then unreachable))
       (call $deny (i32.add (i32.const 600)
         (call $prop (i32.const 0xffffff00) (i32.const 0x200) (i32.const 1000) (i32.const 1004))))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    assert_eq!(vm.handle(&req("/")).status, Some(606));

    // WASI answers EFAULT (21) for a bad iovec.
    let body = r#"
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (call $deny (i32.add (i32.const 600)
         (call $fd_write (i32.const 1) (i32.const 0xfffffffc) (i32.const 1) (i32.const 1000))))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    assert_eq!(vm.handle(&req("/")).status, Some(621));
}

const TRAPS_ON_BOOM: &str = r#"
 (data (i32.const 100) "/boom")
 (data (i32.const 120) ":path")
 (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
   ;; trap when :path is /boom
   (drop (call $hval (i32.const 0) (i32.const 120) (i32.const 5) (i32.const 1000) (i32.const 1004)))
   (if (i32.eq (i32.load (i32.const 1004)) (i32.const 5))
     (then (if (i32.eq (i32.load8_u (i32.add (i32.load (i32.const 1000)) (i32.const 1))) (i32.const 98))
       (then unreachable))))
   (i32.const 0))
"#;

#[test]
fn a_trap_fails_closed_by_default() {
    let mut vm = host(TRAPS_ON_BOOM, FailurePolicy::FailClosed)
        .start(b"")
        .unwrap();
    assert_eq!(vm.handle(&req("/ok")).action, Action::Continue);
    let o = vm.handle(&req("/boom"));
    assert_eq!(
        (o.action, o.status, o.details.as_deref()),
        (Action::Error, Some(503), Some("wasm_fail_stream"))
    );
    assert!(
        o.trap.as_deref().unwrap().contains("unreachable"),
        "{:?}",
        o.trap
    );
    let later = vm.handle(&req("/ok"));
    assert_eq!((later.action, later.status), (Action::Error, Some(503)));
    assert!(vm.failed().is_some());
}

#[test]
fn a_trap_fails_open_or_reloads_per_policy() {
    let mut vm = host(TRAPS_ON_BOOM, FailurePolicy::FailOpen)
        .start(b"")
        .unwrap();
    let o = vm.handle(&req("/boom"));
    assert_eq!(o.action, Action::Continue);
    assert!(o.trap.is_some());
    let later = vm.handle(&req("/ok"));
    assert_eq!(later.action, Action::Continue);
    assert!(later.filter_skipped);

    let mut vm = host(TRAPS_ON_BOOM, FailurePolicy::FailReload)
        .start(b"")
        .unwrap();
    assert_eq!(vm.handle(&req("/boom")).status, Some(503));
    let later = vm.handle(&req("/ok"));
    assert_eq!(later.action, Action::Continue);
    assert!(!later.filter_skipped);
    assert_eq!(vm.reloads(), 1);
}

#[test]
fn fd_write_goes_to_the_log_and_proc_exit_does_not_trap() {
    let body = r#"
     (data (i32.const 100) "to stdout\n")
     (data (i32.const 120) "to stderr")
     (func $write (param $fd i32) (param $p i32) (param $n i32) (result i32)
       (i32.store (i32.const 200) (local.get $p))
       (i32.store (i32.const 204) (local.get $n))
       (call $fd_write (local.get $fd) (i32.const 200) (i32.const 1) (i32.const 208)))
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $write (i32.const 1) (i32.const 100) (i32.const 10)))
       (if (i32.ne (i32.load (i32.const 208)) (i32.const 10)) (then unreachable))
       (drop (call $write (i32.const 2) (i32.const 120) (i32.const 9)))
       (if (i32.ne (call $write (i32.const 3) (i32.const 120) (i32.const 9)) (i32.const 8)) (then unreachable))
       (call $exit (i32.const 3))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    let o = vm.handle(&req("/"));
    assert_eq!(o.trap, None);
    assert_eq!(o.action, Action::Continue);
    let lines: Vec<(String, String)> = o
        .logs
        .iter()
        .map(|l| (format!("{:?}", l.level), l.message.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            ("Info".to_owned(), "to stdout".to_owned()),
            ("Error".to_owned(), "to stderr".to_owned()),
            ("Error".to_owned(), "wasi_unstable proc_exit".to_owned())
        ]
    );
}

#[test]
fn metrics_use_envoy_names_and_rules() {
    let body = r#"
     (data (i32.const 100) "trieguard.requests")
     (data (i32.const 130) "trieguard.inflight")
     (data (i32.const 160) "trieguard.latency")
     (global $c (mut i32) (i32.const 0))
     (global $g (mut i32) (i32.const 0))
     (global $h (mut i32) (i32.const 0))
     (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
       (drop (call $defm (i32.const 0) (i32.const 100) (i32.const 18) (i32.const 1000)))
       (global.set $c (i32.load (i32.const 1000)))
       (drop (call $defm (i32.const 1) (i32.const 130) (i32.const 18) (i32.const 1000)))
       (global.set $g (i32.load (i32.const 1000)))
       (drop (call $defm (i32.const 2) (i32.const 160) (i32.const 17) (i32.const 1000)))
       (global.set $h (i32.load (i32.const 1000)))
       ;; a bad metric type is BadArgument
       (if (i32.ne (call $defm (i32.const 3) (i32.const 100) (i32.const 1) (i32.const 1000)) (i32.const 2))
         (then unreachable))
       (i32.const 1))
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $incm (global.get $c) (i64.const 1)))
       ;; counters only grow
       (if (i32.ne (call $incm (global.get $c) (i64.const -1)) (i32.const 2)) (then unreachable))
       (drop (call $incm (global.get $g) (i64.const 5)))
       (drop (call $incm (global.get $g) (i64.const -2)))
       (drop (call $recm (global.get $h) (i64.const 42)))
       ;; histograms cannot be read back
       (if (i32.ne (call $getm (global.get $h) (i32.const 1000)) (i32.const 2)) (then unreachable))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    for _ in 0..3 {
        assert_eq!(vm.handle(&req("/")).trap, None);
    }
    let m = vm.metrics();
    assert_eq!(
        m.value("wasmcustom.trieguard.requests"),
        Some(&MetricValue::Counter { value: 3 })
    );
    assert_eq!(
        m.value("wasmcustom.trieguard.inflight"),
        Some(&MetricValue::Gauge { value: 9 })
    );
    assert_eq!(
        m.value("wasmcustom.trieguard.latency"),
        Some(&MetricValue::Histogram {
            count: 3,
            sum: 126,
            min: 42,
            max: 42
        })
    );
}

#[test]
fn local_reply_is_deferred_wins_over_pause_and_the_plugin_sees_its_response_headers() {
    let body = r#"
     (data (i32.const 100) "x-trieguard-reason")
     (data (i32.const 120) "auth.missing")
     (data (i32.const 140) "x-seen")
     (data (i32.const 150) "yes")
     (data (i32.const 160) "{\"status\":401}")
     (data (i32.const 180) "no credentials")
     ;; serialised headers: 1 pair, "x-trieguard-reason" (18) -> "auth.missing" (12)
     (data (i32.const 300) "\01\00\00\00\12\00\00\00\0c\00\00\00x-trieguard-reason\00auth.missing\00")
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $reply (i32.const 401) (i32.const 180) (i32.const 14) (i32.const 160) (i32.const 14)
                          (i32.const 300) (i32.const 45) (i32.const -1)))
       (i32.const 1))
     (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
       (drop (call $add (i32.const 2) (i32.const 140) (i32.const 6) (i32.const 150) (i32.const 3)))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    let o = vm.handle(&req("/"));
    assert_eq!((o.action, o.status), (Action::Deny, Some(401)));
    assert_eq!(o.details.as_deref(), Some("no_credentials"));
    assert_eq!(
        o.response_header("x-trieguard-reason"),
        Some("auth.missing")
    );
    assert_eq!(
        o.response_header("x-seen"),
        Some("yes"),
        "{:?}",
        o.response_headers
    );
    assert_eq!(o.response_header("content-length"), Some("14"));
    assert_eq!(o.response_body, br#"{"status":401}"#);
}

#[test]
fn pause_without_reply_stalls_and_continue_stream_resumes() {
    let body = r#"
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    assert_eq!(vm.handle(&req("/")).action, Action::Stalled);
    let body = r#"
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $cont (i32.const 0))) (i32.const 1))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    assert_eq!(vm.handle(&req("/")).action, Action::Continue);
}

/// Copies property `path` (at 100, length in the call) into request header `x-prop`,
/// or replies 700 + status when the lookup fails.
fn property_probe(path: &str) -> String {
    let escaped: String = path.bytes().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"
     (data (i32.const 100) "{escaped}")
     (data (i32.const 200) "x-prop")
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (local $r i32)
       (local.set $r (call $prop (i32.const 100) (i32.const {len}) (i32.const 1000) (i32.const 1004)))
       (if (i32.ne (local.get $r) (i32.const 0))
         (then (call $deny (i32.add (i32.const 700) (local.get $r))) (return (i32.const 0))))
       (drop (call $add (i32.const 0) (i32.const 200) (i32.const 6)
                        (i32.load (i32.const 1000)) (i32.load (i32.const 1004))))
       (i32.const 0))"#,
        len = path.len()
    )
}

fn property(path: &str, r: &HttpRequest) -> Result<Vec<u8>, u32> {
    let mut vm = host(&property_probe(path), FailurePolicy::FailClosed)
        .start(b"")
        .unwrap();
    let o = vm.handle(r);
    match o.action {
        Action::Continue => Ok(o.request_header("x-prop").unwrap_or("").as_bytes().to_vec()),
        _ => Err(o.status.unwrap() - 700),
    }
}

#[test]
fn properties_use_envoy_encodings() {
    let mut tls = req("/v1/orders/42?x=1");
    tls.tls = Some(Tls {
        version: "TLSv1.3".into(),
        sni: None,
        mtls: false,
    });
    tls.source = Some("203.0.113.7:51234".into());
    assert_eq!(
        property("connection\0tls_version", &tls),
        Ok(b"TLSv1.3".to_vec())
    );
    assert_eq!(
        property("connection\0tls_version", &req("/")),
        Err(1),
        "absent on plaintext"
    );
    assert_eq!(
        property("source\0address", &tls),
        Ok(b"203.0.113.7:51234".to_vec())
    );
    assert_eq!(
        property("request\0path", &tls),
        Ok(b"/v1/orders/42?x=1".to_vec())
    );
    assert_eq!(
        property("request\0url_path", &tls),
        Ok(b"/v1/orders/42".to_vec())
    );
    assert_eq!(
        property("request\0host", &tls),
        Ok(b"api.example.com".to_vec())
    );
    assert_eq!(property("request\0scheme", &tls), Ok(b"https".to_vec()));
    assert_eq!(property("plugin_name", &tls), Ok(b"trieguard".to_vec()));
    assert_eq!(property("no\0such", &tls), Err(1));
    // Integers are 8-byte little-endian (port 65 = "A" then seven NULs).
    let mut low = req("/");
    low.source = Some("10.0.0.1:65".into());
    assert_eq!(
        property("source\0port", &low),
        Ok(b"A\0\0\0\0\0\0\0".to_vec())
    );
}

#[test]
fn cluster_header_is_resolved_after_the_last_header_change() {
    let body = r#"
     (data (i32.const 100) "x-trieguard-cluster")
     (data (i32.const 120) "billing")
     (data (i32.const 130) "clear_route_cache")
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $replace (i32.const 0) (i32.const 100) (i32.const 19) (i32.const 120) (i32.const 7)))
       (drop (call $ffi (i32.const 130) (i32.const 17) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 1004)))
       (i32.const 0))"#;
    let routing = |clusters: &[&str]| Routing {
        cluster_header: Some("x-trieguard-cluster".into()),
        clusters: Some(
            clusters
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>(),
        ),
    };
    let options = HostOptions {
        routing: routing(&["orders", "billing"]),
        ..HostOptions::default()
    };
    let mut vm = Host::new(&module(body), options)
        .unwrap()
        .start(b"")
        .unwrap();
    let mut r = req("/");
    r.headers
        .push(("x-trieguard-cluster".into(), "orders".into()));
    let o = vm.handle(&r);
    assert_eq!(o.cluster.as_deref(), Some("billing"));
    assert_eq!(o.foreign_calls, ["clear_route_cache"]);
    assert_eq!(
        o.request_headers
            .iter()
            .filter(|(k, _)| k == "x-trieguard-cluster")
            .count(),
        1,
        "replace removes the client's copy"
    );

    let options = HostOptions {
        routing: routing(&["orders"]),
        ..HostOptions::default()
    };
    let mut vm = Host::new(&module(body), options)
        .unwrap()
        .start(b"")
        .unwrap();
    let o = vm.handle(&r);
    assert_eq!(
        (o.action, o.status, o.details.as_deref()),
        (Action::Error, Some(503), Some("cluster_not_found"))
    );
}

#[test]
fn start_up_failures_are_reported() {
    let rejecting = r#"
     (data (i32.const 100) "config error at hosts[0]: empty")
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $log (i32.const 4) (i32.const 100) (i32.const 31))) (i32.const 0))"#;
    let err = host(rejecting, FailurePolicy::FailClosed)
        .start(b"{}")
        .unwrap_err();
    assert!(matches!(err, HostError::ConfigurationRejected { .. }));
    assert!(
        err.to_string().contains("config error at hosts[0]: empty"),
        "{err}"
    );

    let no_abi = Host::new(
        b"(module (memory (export \"memory\") 1))",
        HostOptions::default(),
    )
    .unwrap();
    assert!(matches!(no_abi.start(b""), Err(HostError::UnsupportedAbi)));

    // Only logging, clocks and randomness work inside _initialize.
    let early = r#"
     (data (i32.const 100) "plugin_name")
     (func (export "_initialize")
       (drop (call $now (i32.const 1000)))
       (drop (call $random (i32.const 1000) (i32.const 16)))
       (drop (call $prop (i32.const 100) (i32.const 11) (i32.const 1000) (i32.const 1004))))"#;
    let err = host(early, FailurePolicy::FailClosed)
        .start(b"")
        .unwrap_err();
    assert!(
        matches!(
            err,
            HostError::Trap {
                phase: "_initialize",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn configuration_buffer_is_readable_during_on_configure_only() {
    let body = r#"
     (global $size (mut i32) (i32.const -1))
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $buf (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 1000) (i32.const 1004)))
       ;; reject unless the whole 5-byte config came back
       (i32.eq (i32.load (i32.const 1004)) (i32.const 5)))
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $buf (i32.const 7) (i32.const 0) (i32.const -1) (i32.const 1000) (i32.const 1004)))
       (call $deny (i32.add (i32.const 600) (i32.load (i32.const 1004))))
       (i32.const 0))"#;
    let h = host(body, FailurePolicy::FailClosed);
    assert!(matches!(
        h.start(b"four"),
        Err(HostError::ConfigurationRejected { .. })
    ));
    let mut vm = h.start(b"fives").unwrap();
    assert_eq!(vm.handle(&req("/")).status, Some(600));
}

#[test]
fn http_call_answers_bad_argument_without_upstreams() {
    let body = r#"
     (data (i32.const 100) "authz")
     (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (call $deny (i32.add (i32.const 600)
         (call $http (i32.const 100) (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                     (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 1004))))
       (i32.const 0))"#;
    let mut vm = host(body, FailurePolicy::FailClosed).start(b"").unwrap();
    assert_eq!(vm.handle(&req("/")).status, Some(602));
}
