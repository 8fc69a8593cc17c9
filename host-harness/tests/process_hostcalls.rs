//! Hostcalls that reach past one VM, exercised by small WAT modules: shared data and shared
//! queues across the VMs of one [`Process`], and `proxy_http_call` to a loopback cluster.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use host_harness::host::{
    Clock, Host, HostOptions, HttpClusters, LogLine, PluginInfo, Process, VirtualClock, Vm, run_for,
};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

const PRELUDE: &str = r#"
 (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
 (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_header_map_value" (func $hval (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_get_shared_data" (func $sget (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_set_shared_data" (func $sset (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_register_shared_queue" (func $qreg (param i32 i32 i32) (result i32)))
 (import "env" "proxy_resolve_shared_queue" (func $qres (param i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_enqueue_shared_queue" (func $qput (param i32 i32 i32) (result i32)))
 (import "env" "proxy_dequeue_shared_queue" (func $qget (param i32 i32 i32) (result i32)))
 (import "env" "proxy_http_call" (func $http (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
 (import "env" "proxy_set_tick_period_milliseconds" (func $period (param i32) (result i32)))
 (memory (export "memory") 1)
 (global $heap (mut i32) (i32.const 32768))
 (func (export "malloc") (param $n i32) (result i32) (local $p i32)
   (local.set $p (global.get $heap))
   (global.set $heap (i32.add (global.get $heap) (local.get $n)))
   (local.get $p))
 (func (export "proxy_abi_version_0_2_1"))
 (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
 (func $note (param $s i32) (param $n i32) (drop (call $log (i32.const 2) (local.get $s) (local.get $n))))
 ;; logs the bytes a hostcall returned at (1000, 1004)
 (func $note_returned (call $note (i32.load (i32.const 1000)) (i32.load (i32.const 1004))))
 ;; logs "status N" for a hostcall status 0..9
 (data (i32.const 900) "status 0")
 (func $status (param $s i32)
   (i32.store8 (i32.const 907) (i32.add (i32.const 48) (local.get $s)))
   (call $note (i32.const 900) (i32.const 8)))
"#;

/// Plugin configuration `r`: register queue `q` and set shared `k`; `e`: on each tick read `k`
/// and enqueue `hi` to queue `q` of vm_id `v`. Queue-ready: dequeue and log the item.
const QUEUES: &str = r#"
 (data (i32.const 100) "q")
 (data (i32.const 110) "v")
 (data (i32.const 120) "k")
 (data (i32.const 130) "one")
 (data (i32.const 140) "hi")
 (data (i32.const 150) "ready")
 (func (export "proxy_on_configure") (param i32 i32) (result i32)
   (drop (call $buf (i32.const 7) (i32.const 0) (i32.const 1) (i32.const 1000) (i32.const 1004)))
   (if (i32.eq (i32.load8_u (i32.load (i32.const 1000))) (i32.const 114))
     (then
       (drop (call $qreg (i32.const 100) (i32.const 1) (i32.const 1020)))
       (drop (call $sset (i32.const 120) (i32.const 1) (i32.const 130) (i32.const 3) (i32.const 0))))
     (else (drop (call $period (i32.const 100)))))
   (i32.const 1))
 (func (export "proxy_on_tick") (param i32)
   (call $status (call $sget (i32.const 120) (i32.const 1) (i32.const 1000) (i32.const 1004) (i32.const 1008)))
   (call $note_returned)
   (call $status (call $qres (i32.const 110) (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 1024)))
   (call $status (call $qput (i32.load (i32.const 1024)) (i32.const 140) (i32.const 2))))
 (func (export "proxy_on_queue_ready") (param $ctx i32) (param $token i32)
   (call $note (i32.const 150) (i32.const 5))
   (call $status (call $qget (local.get $token) (i32.const 1000) (i32.const 1004)))
   (call $note_returned))
"#;

fn start(process: &Process, vm_id: &str, body: &str, config: &[u8]) -> Vm {
    let options = HostOptions {
        plugin: PluginInfo {
            vm_id: vm_id.into(),
            ..PluginInfo::default()
        },
        process: process.clone(),
        ..HostOptions::default()
    };
    let wasm = format!("(module {PRELUDE} {body})");
    Host::new(wasm.as_bytes(), options)
        .unwrap()
        .start(config)
        .unwrap()
}

fn messages(logs: &[LogLine]) -> Vec<String> {
    logs.iter().map(|l| l.message.clone()).collect()
}

#[test]
fn shared_data_and_queues_cross_vms_of_one_process_and_vm_id() {
    let process = Process::new();
    let mut registrant = start(&process, "v", QUEUES, b"r");
    let mut sender = start(&process, "v", QUEUES, b"e");
    sender.tick().unwrap();
    assert_eq!(
        messages(&sender.take_logs()),
        ["status 0", "one", "status 0", "status 0"],
        "shared data and the queue of the other VM are visible; the sender is not told"
    );
    registrant.pump().unwrap();
    assert_eq!(
        messages(&registrant.take_logs()),
        ["ready", "status 0", "hi"]
    );

    // Registering the same name again moves the notifications; queued items stay.
    let mut second = start(&process, "v", QUEUES, b"r");
    sender.tick().unwrap();
    sender.take_logs();
    registrant.pump().unwrap();
    assert!(registrant.take_logs().is_empty());
    second.pump().unwrap();
    assert_eq!(messages(&second.take_logs()), ["ready", "status 0", "hi"]);

    // Another vm_id does not see the data; queues are resolved by naming their vm_id, so it
    // can still reach `q` of `v` (as in Envoy).
    let mut stranger = start(&process, "w", QUEUES, b"e");
    stranger.tick().unwrap();
    assert_eq!(
        messages(&stranger.take_logs()),
        ["status 1", "e", "status 0", "status 0"]
    );
    second.pump().unwrap();
    assert_eq!(messages(&second.take_logs()), ["ready", "status 0", "hi"]);
    // So does a VM of another process with the same vm_id.
    let mut elsewhere = start(&Process::new(), "v", QUEUES, b"e");
    elsewhere.tick().unwrap();
    assert_eq!(messages(&elsewhere.take_logs())[0], "status 1");
    assert_eq!(
        process.shared_data("v", "k").map(|(v, _)| v),
        Some(b"one".to_vec())
    );
}

/// On each tick: an http_call to cluster `c` (`GET /x`, authority `a`, timeout 2 s) and one to
/// the unknown cluster `nope`; the response: log `:status`, the body, and the header count;
/// on the next tick the body must be gone (NotFound).
const HTTP: &str = r#"
 (data (i32.const 100) "c")
 (data (i32.const 104) "nope")
 (data (i32.const 110) ":status")
 (data (i32.const 120) "x-a")
 (data (i32.const 200) "\03\00\00\00\07\00\00\00\03\00\00\00\05\00\00\00\02\00\00\00\0a\00\00\00\01\00\00\00:method\00GET\00:path\00/x\00:authority\00a\00")
 (func (export "proxy_on_configure") (param i32 i32) (result i32)
   (drop (call $period (i32.const 100)))
   (i32.const 1))
 (func (export "proxy_on_tick") (param i32)
   (call $status (call $buf (i32.const 4) (i32.const 0) (i32.const 100) (i32.const 1000) (i32.const 1004)))
   (call $status (call $http (i32.const 104) (i32.const 4) (i32.const 200) (i32.const 62)
                             (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                             (i32.const 2000) (i32.const 1030)))
   (call $status (call $http (i32.const 100) (i32.const 1) (i32.const 200) (i32.const 62)
                             (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                             (i32.const 2000) (i32.const 1030))))
 (func (export "proxy_on_http_call_response") (param $ctx i32) (param $token i32) (param $headers i32) (param $body i32) (param $trailers i32)
   (call $status (local.get $token))
   (call $status (local.get $headers))
   (drop (call $hval (i32.const 6) (i32.const 110) (i32.const 7) (i32.const 1000) (i32.const 1004)))
   (call $note_returned)
   (drop (call $hval (i32.const 6) (i32.const 120) (i32.const 3) (i32.const 1000) (i32.const 1004)))
   (call $note_returned)
   (call $status (call $buf (i32.const 4) (i32.const 0) (local.get $body) (i32.const 1000) (i32.const 1004)))
   (call $note_returned))
"#;

#[test]
fn http_call_goes_to_the_loopback_cluster_and_answers_in_pump() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nx-a: b\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        String::from_utf8(head).unwrap()
    });
    let options = HostOptions {
        http_clusters: HttpClusters::new().with("c", addr).unwrap(),
        ..HostOptions::default()
    };
    let wasm = format!("(module {PRELUDE} {HTTP})");
    let mut vm = Host::new(wasm.as_bytes(), options)
        .unwrap()
        .start(b"")
        .unwrap();
    vm.tick().unwrap();
    assert_eq!(
        messages(&vm.take_logs()),
        ["status 1", "status 2", "status 0"],
        "no response body outside the callback; unknown cluster is BadArgument"
    );
    assert_eq!(vm.http_calls_in_flight(), 1);
    assert_eq!(vm.pump().unwrap(), 1);
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /x http/1.1\r\n"), "{head}");
    assert!(head.contains("host: a\r\n"), "{head}");
    let logs = messages(&vm.take_logs());
    // token 1, headers: :status, x-a, content-length
    assert_eq!(
        logs,
        ["status 1", "status 3", "200", "b", "status 0", "hello"]
    );
    assert_eq!(vm.pump().unwrap(), 0);
    vm.tick().unwrap();
    assert_eq!(messages(&vm.take_logs())[0], "status 1", "the body is gone");
}

/// Ticks every 100 ms (configuration `a`) or 250 ms (anything else) and logs its name.
const TICKS: &str = r#"
 (data (i32.const 100) "a")
 (data (i32.const 101) "b")
 (global $name (mut i32) (i32.const 101))
 (func (export "proxy_on_configure") (param i32 i32) (result i32)
   (drop (call $buf (i32.const 7) (i32.const 0) (i32.const 1) (i32.const 1000) (i32.const 1004)))
   (if (i32.eq (i32.load8_u (i32.load (i32.const 1000))) (i32.const 97))
     (then (global.set $name (i32.const 100)) (drop (call $period (i32.const 100))))
     (else (drop (call $period (i32.const 250)))))
   (i32.const 1))
 (func (export "proxy_on_tick") (param i32) (call $note (global.get $name) (i32.const 1)))
"#;

#[test]
fn run_for_fires_each_vms_ticks_at_its_period_in_virtual_time() {
    let clock = VirtualClock::new(1_000_000_000);
    let options = HostOptions {
        plugin: PluginInfo {
            clock: Clock::Virtual(clock.clone()),
            ..PluginInfo::default()
        },
        ..HostOptions::default()
    };
    let wasm = format!("(module {PRELUDE} {TICKS})");
    let host = Host::new(wasm.as_bytes(), options).unwrap();
    let (mut a, mut b) = (host.start(b"a").unwrap(), host.start(b"b").unwrap());
    assert_eq!(a.tick_period(), Some(Duration::from_millis(100)));
    let started = std::time::Instant::now();
    run_for(&clock, &mut [&mut a, &mut b], Duration::from_millis(550)).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "virtual, not real, time"
    );
    assert_eq!(clock.now_ns(), 1_550_000_000);
    assert_eq!(messages(&a.take_logs()), ["a"; 5]);
    assert_eq!(messages(&b.take_logs()), ["b"; 2]);
    // It carries on from where it stopped: a at 600 ms, b at 750 ms.
    run_for(&clock, &mut [&mut a, &mut b], Duration::from_millis(200)).unwrap();
    assert_eq!(messages(&a.take_logs()), ["a"; 2]);
    assert_eq!(messages(&b.take_logs()), ["b"]);
}
