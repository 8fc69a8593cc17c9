//! Policies from a source (issue #12) in the harness, with the real `trieguard.wasm`: one
//! `fetch_policy` service VM and two `policy_source` worker VMs of one simulated Envoy process
//! (same `vm_id`, so they share shared data), a loopback static file server behind the
//! `policy_server` cluster, and a virtual clock that fires the ticks the plugin asked for.
//!
//! The module is found as in `real_modules.rs` (`cargo build -p plugin --target wasm32-wasip1
//! --release` builds it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::artefact;
use host_harness::host::{
    Action, Clock, FailurePolicy, Host, HostOptions, HttpClusters, HttpRequest, MetricValue,
    PluginInfo, Process, Routing, VirtualClock, Vm, run_for,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trieguard::source::digest::PolicyDigest;

/// trieguard.wasm compiled once; every test gets its own process, clock and cluster from it.
fn trieguard() -> &'static Host {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        Host::from_file(&artefact("trieguard.wasm"), HostOptions::default()).unwrap()
    })
}

// ---------------------------------------------------------------------------------------------
// A static file server: ETag, If-None-Match → 304, Range → 206, one request per connection.

/// Longest a test server lives, whatever happens to the test.
const SERVER_LIFETIME: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Files {
    by_path: HashMap<String, (Vec<u8>, String)>,
    version: u64,
    /// Read each request, then wait this long and close without answering.
    stall: Option<Duration>,
}

impl Files {
    fn put(&mut self, path: &str, body: Vec<u8>) {
        self.version += 1;
        let etag = format!("\"{:x}-{:x}\"", self.version, body.len());
        self.by_path.insert(path.to_owned(), (body, etag));
    }
}

struct StaticServer {
    addr: SocketAddr,
    files: Arc<Mutex<Files>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    requests: Arc<AtomicU64>,
}

impl StaticServer {
    /// Serves `files` on `addr` (port 0: any free port).
    fn start(addr: SocketAddr, files: Arc<Mutex<Files>>) -> Self {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let thread = {
            let (files, stop, requests) = (files.clone(), stop.clone(), requests.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::SeqCst) && started.elapsed() < SERVER_LIFETIME {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            requests.fetch_add(1, Ordering::SeqCst);
                            let _ = serve(stream, &files);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Self {
            addr,
            files,
            stop,
            thread: Some(thread),
            requests,
        }
    }

    /// Stops listening: the port refuses connections from now on.
    fn stop(mut self) -> (SocketAddr, Arc<Mutex<Files>>) {
        self.shutdown();
        (self.addr, self.files.clone())
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(stream: TcpStream, files: &Mutex<Files>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let stall = files.lock().unwrap().stall;
    if let Some(stall) = stall {
        std::thread::sleep(stall);
        return Ok(());
    }
    let file = files.lock().unwrap().by_path.get(&path).cloned();
    let mut out = stream;
    let Some((body, etag)) = file else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    if headers.get("if-none-match") == Some(&etag) {
        let head =
            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n");
        return out.write_all(head.as_bytes());
    }
    let range = headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
    let (status, extra, slice) = match range {
        Some((start, end)) if start < body.len() && start <= end => {
            let end = end.min(body.len() - 1);
            (
                "206 Partial Content",
                format!("Content-Range: bytes {start}-{end}/{}\r\n", body.len()),
                &body[start..=end],
            )
        }
        Some(_) => ("416 Range Not Satisfiable", String::new(), &body[..0]),
        None => ("200 OK", String::new(), &body[..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nETag: {etag}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        slice.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(slice)
}

// ---------------------------------------------------------------------------------------------
// Policies and the simulated Envoy.

/// A policy bigger than one 4 KiB piece, so the service fetches it in several Range requests;
/// `/orders` goes to `orders_cluster`.
fn policy(orders_cluster: &str) -> Vec<u8> {
    let text = policy_with(orders_cluster, 120);
    assert!(text.len() > 8 * 1024, "{} bytes", text.len());
    text
}

/// `/orders` to `orders_cluster`, plus `extra` routes `/svc<i>`.
fn policy_with(orders_cluster: &str, extra: usize) -> Vec<u8> {
    let mut routes = vec![format!(
        r#"{{"id":"orders","match":{{"prefix":"/orders"}},"upstream":{{"cluster":"{orders_cluster}"}}}}"#
    )];
    for i in 0..extra {
        routes.push(format!(
            r#"{{"id":"svc{i}","match":{{"prefix":"/svc{i}"}},"upstream":{{"cluster":"orders"}}}}"#
        ));
    }
    format!(
        r#"{{"hosts":[{{"domains":["api.example.com"],"routes":[{}]}}]}}"#,
        routes.join(",")
    )
    .into_bytes()
}

fn digest_file(policy: &[u8]) -> Vec<u8> {
    format!("{}  policy.json\n", PolicyDigest::of(policy).to_hex()).into_bytes()
}

/// Publishes `policy` as an operator should: the policy first, its digest file last.
fn publish(files: &Mutex<Files>, policy: &[u8]) {
    let mut files = files.lock().unwrap();
    files.put("/policy.json", policy.to_vec());
    files.put("/policy.json.sha256", digest_file(policy));
}

const FETCH: &[u8] = br#"{"fetch_policy":{"name":"main","cluster":"policy_server","authority":"policy.internal","path":"/policy.json","poll_interval_ms":100,"timeout_ms":2000,"piece_bytes":4096,"max_backoff_ms":400}}"#;
/// The same with the default 1 MiB pieces.
const FETCH_MIB: &[u8] = br#"{"fetch_policy":{"name":"main","cluster":"policy_server","authority":"policy.internal","path":"/policy.json","poll_interval_ms":100,"timeout_ms":5000,"max_backoff_ms":400}}"#;
const SOURCE: &[u8] = br#"{"policy_source":{"name":"main","check_interval_ms":100}}"#;

/// One Envoy: the service and two workers sharing vm_id `trieguard`, on one virtual clock.
struct Envoy {
    clock: VirtualClock,
    process: Process,
    /// Starts more VMs of this Envoy (a late worker, a reloaded service).
    host: Host,
    service: Vm,
    workers: [Vm; 2],
}

impl Envoy {
    fn start(server: SocketAddr) -> Self {
        Self::start_with(server, FETCH)
    }

    fn start_with(server: SocketAddr, fetch: &[u8]) -> Self {
        let clock = VirtualClock::new(1_700_000_000_000_000_000);
        let process = Process::new();
        let options = HostOptions {
            plugin: PluginInfo {
                vm_id: "trieguard".into(),
                clock: Clock::Virtual(clock.clone()),
                ..PluginInfo::default()
            },
            routing: Routing {
                cluster_header: Some("x-trieguard-cluster".into()),
                clusters: None,
            },
            failure_policy: FailurePolicy::FailClosed,
            process: process.clone(),
            http_clusters: HttpClusters::new().with("policy_server", server).unwrap(),
            ..HostOptions::default()
        };
        let host = trieguard().with_options(options);
        let service = host.start(fetch).unwrap();
        let workers = [host.start(SOURCE).unwrap(), host.start(SOURCE).unwrap()];
        Self {
            clock,
            process,
            host,
            service,
            workers,
        }
    }

    fn run(&mut self, ms: u64) {
        let [w1, w2] = &mut self.workers;
        run_for(
            &self.clock,
            &mut [&mut self.service, w1, w2],
            Duration::from_millis(ms),
        )
        .unwrap();
    }

    /// `/orders/1` through each worker: the cluster it routes to, or the deny reason.
    fn orders(&mut self) -> [String; 2] {
        let request = HttpRequest {
            method: "GET".into(),
            authority: "api.example.com".into(),
            path: "/orders/1".into(),
            ..HttpRequest::default()
        };
        self.workers.each_mut().map(|w| {
            let o = w.handle(&request);
            match o.action {
                Action::Continue => o.cluster.unwrap(),
                Action::Deny => format!(
                    "{} {}",
                    o.status.unwrap(),
                    o.response_header("x-trieguard-reason").unwrap()
                ),
                other => panic!("{other:?}: {o:?}"),
            }
        })
    }

    fn service_counter(&self, outcome: &str) -> u64 {
        counter(&self.service, &format!("trieguard.source.main.{outcome}"))
    }
}

fn counter(vm: &Vm, name: &str) -> u64 {
    match vm.metrics().value(&format!("wasmcustom.{name}")) {
        Some(MetricValue::Counter { value }) => *value,
        None => 0,
        Some(other) => panic!("{name} is {other:?}"),
    }
}

fn gauge(vm: &Vm, name: &str) -> Option<u64> {
    match vm.metrics().value(&format!("wasmcustom.{name}")) {
        Some(MetricValue::Gauge { value }) => Some(*value),
        _ => None,
    }
}

const NOT_LOADED: &str = "503 policy.not_loaded";

/// Runs the Envoy a virtual millisecond at a time, asking `answer` after each, until it says
/// `billing` (the new policy); every answer before must be `orders` (the old one). Returns how
/// many requests the old policy answered meanwhile.
fn old_answers_until_switch(
    envoy: &mut Envoy,
    max_ms: usize,
    mut answer: impl FnMut(&mut Envoy) -> String,
) -> usize {
    let mut old_answers = 0;
    for step in 0..max_ms {
        envoy.run(1);
        match answer(envoy).as_str() {
            "orders" => old_answers += 1,
            "billing" => {
                eprintln!(
                    "the old policy answered {old_answers} requests (one per virtual ms) during the load"
                );
                return old_answers;
            }
            other => panic!("step {step}: {other}"),
        }
    }
    panic!("the new policy never served in {max_ms} virtual ms");
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_policy_source_feeds_every_worker_and_survives_bad_updates_and_outages() {
    let files = Arc::new(Mutex::new(Files::default()));
    let v1 = policy("orders");
    publish(&files, &v1);
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start(server.addr);

    // Before the first fetch: fail closed with the documented reason.
    assert_eq!(envoy.orders(), [NOT_LOADED, NOT_LOADED]);
    let o = envoy.workers[0].handle(&HttpRequest {
        authority: "api.example.com".into(),
        path: "/orders/1".into(),
        ..HttpRequest::default()
    });
    let body: serde_json::Value = serde_json::from_slice(&o.response_body).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("source 'main'"),
        "{body}"
    );

    // The service fetches (digest, then three 4 KiB pieces), publishes; both workers take it.
    envoy.run(300);
    assert_eq!(envoy.orders(), ["orders", "orders"]);
    assert_eq!(envoy.service_counter("published"), 1);
    let digest = PolicyDigest::of(&v1).gauge_value();
    assert_eq!(
        gauge(&envoy.service, "trieguard.source.main.digest"),
        Some(digest)
    );
    for w in &envoy.workers {
        assert_eq!(counter(w, "trieguard.policy.main.applied"), 1);
        assert_eq!(gauge(w, "trieguard.policy.main.digest"), Some(digest));
        assert_eq!(gauge(w, "trieguard.policy.main.generation"), Some(1));
    }
    let pieces = envoy.process.shared_keys("trieguard");
    assert_eq!(
        pieces,
        [
            "trieguard.policy.main",
            "trieguard.policy.main.1.0",
            "trieguard.policy.main.1.routes.0"
        ],
        "one shared-data piece holds the frame, one the route set"
    );
    assert!(envoy.process.shared_keys("other-vm-id").is_empty());

    // Nothing changed: the digest is polled with If-None-Match, 304, nothing republished.
    let (_, manifest_cas) = envoy
        .process
        .shared_data("trieguard", "trieguard.policy.main")
        .unwrap();
    let not_modified = envoy.service_counter("not_modified");
    envoy.run(500);
    assert!(
        envoy.service_counter("not_modified") >= not_modified + 3,
        "{}",
        envoy.service_counter("not_modified")
    );
    assert_eq!(envoy.service_counter("published"), 1);
    assert_eq!(
        envoy
            .process
            .shared_data("trieguard", "trieguard.policy.main")
            .unwrap()
            .1,
        manifest_cas,
        "the manifest was not written again"
    );
    assert_eq!(
        counter(&envoy.workers[0], "trieguard.policy.main.applied"),
        1
    );

    // A new policy (new content, new ETags): both workers switch.
    let v2 = policy("billing");
    publish(&files, &v2);
    envoy.run(300);
    assert_eq!(envoy.orders(), ["billing", "billing"]);
    assert_eq!(envoy.service_counter("published"), 2);
    for w in &envoy.workers {
        assert_eq!(gauge(w, "trieguard.policy.main.generation"), Some(2));
    }
    // The previous generation's piece was emptied.
    assert_eq!(
        envoy
            .process
            .shared_data("trieguard", "trieguard.policy.main.1.0")
            .unwrap()
            .0,
        b""
    );

    // Invalid JSON, then a policy that does not compile: rejected, v2 keeps serving.
    publish(&files, b"{\"hosts\": [");
    envoy.run(300);
    assert_eq!(envoy.service_counter("rejected"), 1);
    let bad_cluster = String::from_utf8(policy("")).unwrap();
    publish(&files, bad_cluster.as_bytes());
    envoy.run(600);
    assert_eq!(envoy.service_counter("rejected"), 2);
    assert_eq!(envoy.service_counter("published"), 2);
    assert_eq!(envoy.orders(), ["billing", "billing"]);

    // A digest file that does not match the policy: counted, retried, v2 keeps serving.
    {
        let mut f = files.lock().unwrap();
        f.put("/policy.json", policy("orders"));
        f.put("/policy.json.sha256", digest_file(b"something else"));
    }
    envoy.run(300);
    assert!(envoy.service_counter("error.digest_mismatch") >= 1);
    assert_eq!(envoy.orders(), ["billing", "billing"]);

    // The source goes down: the last good policy keeps serving, failures are counted as
    // unreachable (Envoy answers the call with its own 503).
    let (addr, files) = server.stop();
    let unreachable = envoy.service_counter("error.unreachable");
    envoy.run(1_000);
    assert!(
        envoy.service_counter("error.unreachable") > unreachable,
        "{:?}",
        envoy.service.metrics().snapshot()
    );
    assert_eq!(envoy.orders(), ["billing", "billing"]);

    // It comes back with a good policy: served again within the back-off.
    let v3 = policy("orders");
    publish(&files, &v3);
    let server = StaticServer::start(addr, files);
    envoy.run(1_000);
    assert_eq!(envoy.orders(), ["orders", "orders"]);
    assert_eq!(envoy.service_counter("published"), 3);
    assert!(server.requests.load(Ordering::SeqCst) > 0);
    assert_eq!(envoy.service.http_calls_in_flight(), 0);
}

#[test]
fn a_source_down_at_start_answers_not_loaded_until_it_comes_up() {
    // A port nothing listens on (yet).
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut envoy = Envoy::start(addr);
    envoy.run(700);
    assert!(envoy.service_counter("error.unreachable") >= 2);
    assert_eq!(envoy.service_counter("published"), 0);
    assert_eq!(envoy.orders(), [NOT_LOADED, NOT_LOADED]);
    let logs = envoy.service.take_logs();
    assert!(
        logs.iter()
            .any(|l| l.message.contains("no response from the source")),
        "{logs:?}"
    );

    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy("orders"));
    let _server = StaticServer::start(addr, files);
    envoy.run(1_000);
    assert_eq!(envoy.orders(), ["orders", "orders"]);
    assert_eq!(envoy.service_counter("published"), 1);
}

#[test]
fn a_worker_started_after_the_publication_serves_it_from_its_first_request() {
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy("billing"));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files);
    let mut envoy = Envoy::start(server.addr);
    envoy.run(300);
    let mut late = envoy.host.start(SOURCE).unwrap();
    let o = late.handle(&HttpRequest {
        authority: "api.example.com".into(),
        path: "/orders/9".into(),
        ..HttpRequest::default()
    });
    assert_eq!(o.cluster.as_deref(), Some("billing"), "{o:?}");

    // Another vm_id is another scope: nothing published there.
    let other = trieguard().with_options(HostOptions {
        plugin: PluginInfo {
            vm_id: "other".into(),
            ..PluginInfo::default()
        },
        process: envoy.process.clone(),
        ..HostOptions::default()
    });
    let mut stranger = other.start(SOURCE).unwrap();
    let o = stranger.handle(&HttpRequest {
        authority: "api.example.com".into(),
        path: "/orders/9".into(),
        ..HttpRequest::default()
    });
    assert_eq!(o.status, Some(503));
}

#[test]
fn a_policy_larger_than_one_shared_data_piece_is_fetched_and_assembled() {
    // Just over 5 MiB: six 1 MiB Range requests.
    let big = policy_with("billing", 66_000);
    assert!(big.len() > 5 * 1024 * 1024, "{} bytes", big.len());
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &big);
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files);
    let mut envoy = Envoy::start_with(server.addr, FETCH_MIB);
    envoy.run(300);
    assert_eq!(envoy.orders(), ["billing", "billing"]);
    // The frame in one piece; the route set in 256 KiB pieces.
    let keys = envoy.process.shared_keys("trieguard");
    let split = trieguard::source::route_sets::split(&big).unwrap();
    let route_pieces = split
        .routes
        .len()
        .div_ceil(trieguard::source::handoff::SET_PIECE_BYTES);
    assert!(route_pieces > 16, "{route_pieces}");
    let mut expected = vec![
        "trieguard.policy.main".to_owned(),
        "trieguard.policy.main.1.0".to_owned(),
    ];
    expected.extend((0..route_pieces).map(|i| format!("trieguard.policy.main.1.routes.{i}")));
    expected.sort();
    assert_eq!(keys, expected);
    // The digest file, six Range requests, then 304s.
    assert!(server.requests.load(Ordering::SeqCst) > 6);
    assert_eq!(envoy.service_counter("published"), 1);
}

#[test]
fn a_source_that_does_not_answer_in_time_is_unreachable_and_the_policy_stays() {
    const FETCH_300MS: &[u8] = br#"{"fetch_policy":{"name":"main","cluster":"policy_server","authority":"policy.internal","path":"/policy.json","poll_interval_ms":100,"timeout_ms":300,"max_backoff_ms":400}}"#;
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy("billing"));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start_with(server.addr, FETCH_300MS);
    envoy.run(300);
    assert_eq!(envoy.orders(), ["billing", "billing"]);

    // Envoy answers the call itself with 504 after the timeout.
    files.lock().unwrap().stall = Some(Duration::from_millis(700));
    let started = Instant::now();
    envoy.run(300);
    assert!(envoy.service_counter("error.unreachable") >= 1);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the timeout is real"
    );
    assert_eq!(envoy.orders(), ["billing", "billing"]);
    let logs = envoy.service.take_logs();
    assert!(
        logs.iter()
            .any(|l| l.message.contains("no response from the source")),
        "{logs:?}"
    );
}

/// `/orders` behind API-key provider `keys` holding `keys` ((consumer, key) pairs), plus
/// `extra` unrelated routes.
fn keyed_policy(keys: &[(&str, &str)], extra: usize) -> Vec<u8> {
    let keys: Vec<String> = keys
        .iter()
        .map(|(consumer, key)| {
            format!(
                r#"{{"consumer":"{consumer}","sha256":"{}"}}"#,
                PolicyDigest::of(key.as_bytes()).to_hex()
            )
        })
        .collect();
    let mut routes = vec![
        r#"{"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":"orders"},"auth":{"any_of":["keys"]}}"#
            .to_owned(),
    ];
    for i in 0..extra {
        routes.push(format!(
            r#"{{"id":"svc{i}","match":{{"prefix":"/svc{i}"}},"upstream":{{"cluster":"orders"}}}}"#
        ));
    }
    format!(
        r#"{{"hosts":[{{"domains":["api.example.com"],"routes":[{}]}}],"auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}}}}}}"#,
        routes.join(","),
        keys.join(",")
    )
    .into_bytes()
}

/// `/orders/1` with `key` through `vm`: the consumer, or the deny status and reason.
fn consumer_of(vm: &mut Vm, key: &str) -> String {
    let o = vm.handle(&HttpRequest {
        authority: "api.example.com".into(),
        path: "/orders/1".into(),
        headers: vec![("x-api-key".into(), key.into())],
        ..HttpRequest::default()
    });
    match o.action {
        Action::Continue => o.request_header("x-trieguard-consumer").unwrap().to_owned(),
        _ => format!(
            "{} {}",
            o.status.unwrap(),
            o.response_header("x-trieguard-reason").unwrap()
        ),
    }
}

#[test]
fn key_changes_reach_every_worker_as_deltas_and_a_late_worker_applies_them_all() {
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &keyed_policy(&[("alice", "ka"), ("bob", "kb")], 50));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start(server.addr);
    envoy.run(400);
    for w in &mut envoy.workers {
        assert_eq!(consumer_of(w, "kb"), "bob");
    }
    let applied: Vec<u64> = envoy
        .workers
        .iter()
        .map(|w| counter(w, "trieguard.policy.main.applied"))
        .collect();

    // Two key-only changes: each a delta; no worker recompiles.
    publish(
        &files,
        &keyed_policy(&[("alice", "ka"), ("carol", "kc")], 50),
    );
    envoy.run(400);
    let last = keyed_policy(&[("alice-2", "ka"), ("carol", "kc")], 50);
    publish(&files, &last);
    envoy.run(400);
    assert_eq!(envoy.service_counter("delta_published"), 2);
    assert_eq!(envoy.service_counter("published"), 1);
    for (w, before) in envoy.workers.iter_mut().zip(&applied) {
        assert_eq!(consumer_of(w, "kb"), "401 auth.api_key.unknown");
        assert_eq!(consumer_of(w, "kc"), "carol");
        assert_eq!(consumer_of(w, "ka"), "alice-2");
        assert_eq!(counter(w, "trieguard.policy.main.applied"), *before);
        assert_eq!(counter(w, "trieguard.policy.main.key_delta_applied"), 2);
        assert_eq!(
            gauge(w, "trieguard.policy.main.digest"),
            Some(PolicyDigest::of(&last).gauge_value())
        );
    }

    // A worker started now compiles the base publication and applies both deltas.
    let mut late = envoy.host.start(SOURCE).unwrap();
    assert_eq!(consumer_of(&mut late, "kb"), "401 auth.api_key.unknown");
    assert_eq!(consumer_of(&mut late, "ka"), "alice-2");
    assert_eq!(consumer_of(&mut late, "kc"), "carol");

    // A route change is published whole and carries the keys as they are.
    publish(
        &files,
        &keyed_policy(&[("alice-2", "ka"), ("carol", "kc")], 51),
    );
    envoy.run(400);
    assert_eq!(envoy.service_counter("published"), 2);
    for w in &mut envoy.workers {
        assert_eq!(consumer_of(w, "kc"), "carol");
        assert_eq!(consumer_of(w, "kb"), "401 auth.api_key.unknown");
    }
}

#[test]
fn a_restarted_service_does_not_publish_the_serving_policy_again() {
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy("billing"));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start(server.addr);
    envoy.run(400);
    assert_eq!(envoy.service_counter("published"), 1);
    let applied: Vec<u64> = envoy
        .workers
        .iter()
        .map(|w| counter(w, "trieguard.policy.main.applied"))
        .collect();

    // The service VM is replaced (Envoy reloads a failed VM); the workers keep running.
    envoy.service = envoy.host.start(FETCH).unwrap();
    envoy.run(400);
    assert_eq!(envoy.service_counter("published"), 0);
    assert!(envoy.service_counter("unchanged") >= 1);
    for (w, before) in envoy.workers.iter().zip(&applied) {
        assert_eq!(counter(w, "trieguard.policy.main.applied"), *before);
    }

    // A real change is published as the next generation.
    publish(&files, &policy("orders"));
    envoy.run(400);
    assert_eq!(envoy.service_counter("published"), 1);
    assert_eq!(envoy.orders(), ["orders", "orders"]);
    for w in &envoy.workers {
        assert_eq!(gauge(w, "trieguard.policy.main.generation"), Some(2));
    }
}

#[test]
fn a_new_policys_keys_load_in_slices_while_the_old_policy_serves() {
    const KEYS: usize = 40_000;
    let keyed = |cluster: &str| -> Vec<u8> {
        let keys: Vec<String> = (0..KEYS)
            .map(|i| {
                format!(
                    r#"{{"consumer":"c{}","sha256":"{}"}}"#,
                    i % 100,
                    PolicyDigest::of(format!("key-{i}").as_bytes()).to_hex()
                )
            })
            .collect();
        format!(
            r#"{{"hosts":[{{"domains":["api.example.com"],"routes":[{{"id":"orders","match":{{"prefix":"/orders"}},"upstream":{{"cluster":"{cluster}"}},"auth":{{"any_of":["keys"]}}}}]}}],"auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}}}}}}"#,
            keys.join(",")
        )
        .into_bytes()
    };
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &keyed("orders"));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start_with(server.addr, FETCH_MIB);
    envoy.run(1_000);
    let route = |vm: &mut Vm| {
        let o = vm.handle(&HttpRequest {
            authority: "api.example.com".into(),
            path: "/orders/1".into(),
            headers: vec![("x-api-key".into(), format!("key-{}", KEYS - 1))],
            ..HttpRequest::default()
        });
        match &o.cluster {
            Some(cluster) => cluster.clone(),
            None => format!(
                "{:?} {:?}",
                o.status,
                o.response_header("x-trieguard-reason")
            ),
        }
    };
    assert_eq!(route(&mut envoy.workers[0]), "orders");

    // A route change: published whole; each worker loads the frame, the route, the compile,
    // 40,000 keys in slices of 1,366, serving the old policy until the last one is in.
    publish(&files, &keyed("billing"));
    let old_answers =
        old_answers_until_switch(&mut envoy, 2_000, |envoy| route(&mut envoy.workers[0]));
    assert!(
        old_answers >= 5,
        "only {old_answers} requests were answered during the load"
    );
    assert_eq!(
        gauge(&envoy.workers[0], "trieguard.policy.main.generation"),
        Some(2)
    );
    envoy.run(10);
    assert_eq!(route(&mut envoy.workers[1]), "billing");
    assert_eq!(envoy.service_counter("published"), 2);
}

#[test]
fn a_new_policys_routes_load_in_slices_while_the_old_policy_serves() {
    const ROUTES: usize = 20_000;
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy_with("orders", ROUTES));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start_with(server.addr, FETCH_MIB);
    envoy.run(1_000);
    assert_eq!(envoy.orders(), ["orders", "orders"]);

    // A route change: each worker parses the 20,001 routes of the route set, compiles and
    // freezes them in bounded slices, one per 1 ms tick, serving the old policy until the
    // new engine is complete.
    publish(&files, &policy_with("billing", ROUTES));
    let old_answers =
        old_answers_until_switch(&mut envoy, 5_000, |envoy| envoy.orders()[0].clone());
    // The service's poll and fetch take a few ticks; the rest is the worker's slices
    // (20,001 route lines at 342 a slice alone are 59 slices, up to 8 a tick).
    assert!(
        old_answers >= 10,
        "only {old_answers} requests were answered during the load"
    );
    envoy.run(10);
    assert_eq!(envoy.orders(), ["billing", "billing"]);
    let request = |path: &str| HttpRequest {
        method: "GET".into(),
        authority: "api.example.com".into(),
        path: path.into(),
        ..HttpRequest::default()
    };
    for worker in &mut envoy.workers {
        let last = worker.handle(&request(&format!("/svc{}/x", ROUTES - 1)));
        assert_eq!(last.cluster.as_deref(), Some("orders"));
        assert_eq!(
            last.request_header("x-trieguard-route"),
            Some(format!("svc{}", ROUTES - 1).as_str())
        );
        assert_eq!(
            worker.handle(&request("/nope")).status,
            Some(404),
            "a path no route matches"
        );
    }
}

/// Every swap retires the engine it replaces and frees it a slice per tick once no stream
/// holds it: a worker's memory (a wasm VM's linear memory never shrinks, so a leak would show
/// as growth) levels off after the first swaps however many follow. An engine of 5,000 routes
/// takes over a megabyte, so eight leaked ones would add several.
#[test]
fn replaced_engines_are_freed_so_swaps_do_not_grow_a_worker() {
    const ROUTES: usize = 5_000;
    let files = Arc::new(Mutex::new(Files::default()));
    publish(&files, &policy_with("orders", ROUTES));
    let server = StaticServer::start("127.0.0.1:0".parse().unwrap(), files.clone());
    let mut envoy = Envoy::start_with(server.addr, FETCH_MIB);
    envoy.run(1_000);
    let mut memory = Vec::new();
    for round in 0..12 {
        let cluster = if round % 2 == 0 { "billing" } else { "orders" };
        publish(&files, &policy_with(cluster, ROUTES));
        envoy.run(1_000);
        assert_eq!(envoy.orders(), [cluster, cluster], "round {round}");
        memory.push(envoy.workers[0].memory_bytes());
    }
    eprintln!("worker memory after each swap: {memory:?}");
    let grown = memory[11].saturating_sub(memory[3]);
    assert!(
        grown < 1024 * 1024,
        "the worker grew by {grown} bytes over swaps 5 to 12: {memory:?}"
    );
}
