//! Policies from a source in a real Envoy: a singleton service VM (`envoy.bootstrap.wasm`)
//! fetches the policy from nginx on loopback and hands it to the worker through shared data.
//!
//! Proven here: the policy from the source serves; an update applies while requests keep
//! flowing, each answered by the old or the new policy and never refused; an unchanged source
//! costs a `304` and no work; a bad policy and a digest that does not match are refused and
//! counted while the last good policy serves; a source that goes away leaves the last good
//! policy serving; a source down at start fails closed (503 `policy.not_loaded`) until it
//! comes up.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use host_harness::host::{FailurePolicy, Host, HostOptions, Routing};
use host_harness::replay::{self, DecisionHeaders, OutcomeLine};
use host_harness::traffic::{Record, parse_jsonl};
use integration::client::{get, send};
use integration::outcome::envoy_line;
use integration::policy_files::PolicyFiles;
use integration::static_server::{StaticServer, free_port};
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};
use integration::{corpus, paths};

/// How long anything the source drives may take to show (poll interval 200 ms).
const SOURCE_TIMEOUT: Duration = Duration::from_secs(20);

const SOURCE: &str = "trieguard.source.main";
const POLICY: &str = "trieguard.policy.main";

fn policy(cluster: &str) -> String {
    format!(
        r#"{{"hosts":[{{"domains":["*"],"routes":[
            {{"id":"orders","match":{{"prefix":"/orders"}},"upstream":{{"cluster":"{cluster}"}}}}]}}]}}"#
    )
}

/// Envoy with the worker reading source `main` and the service fetching it from `source`.
fn envoy_config(upstreams: &[&EchoUpstream], source: SocketAddr, path: &str) -> EnvoyConfig {
    let mut clusters = ClusterSpec::for_upstreams(upstreams);
    clusters.push(ClusterSpec {
        name: "policy_server".to_owned(),
        addr: source,
    });
    let mut config = EnvoyConfig::new(
        clusters,
        Some(PluginSpec::trieguard(
            r#"{"policy_source": {"name": "main"}}"#,
        )),
    );
    config.policy_service = Some(format!(
        r#"{{"fetch_policy": {{"name": "main", "cluster": "policy_server",
  "authority": "policy.internal", "path": "{path}",
  "poll_interval_ms": 200, "timeout_ms": 2000, "max_backoff_ms": 1000}}}}"#
    ));
    config
}

fn wasm_stat(envoy: &EnvoyProcess, name: &str) -> u64 {
    envoy.stat(&format!("wasmcustom.{name}")).unwrap()
}

fn wait_for_wasm_stat(envoy: &EnvoyProcess, name: &str, at_least: u64) {
    envoy
        .wait_for_stat(&format!("wasmcustom.{name}"), at_least, SOURCE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}\n{}", integration::envoy::log_excerpt(&envoy.log())));
}

/// The upstream `GET <url>/orders/1` reaches, or the refusal's status and reason.
fn orders_at(url: &str) -> Result<String, (u16, String)> {
    let reply = get(&format!("{url}/orders/1"), &[]).unwrap();
    if reply.status == 200 {
        Ok(reply.echoed().unwrap().upstream)
    } else {
        Err((
            reply.status,
            reply.header("x-trieguard-reason").unwrap_or("").to_owned(),
        ))
    }
}

fn orders(envoy: &EnvoyProcess) -> Result<String, (u16, String)> {
    orders_at(&envoy.url())
}

fn wait_for_upstream(envoy: &EnvoyProcess, upstream: &str) {
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    loop {
        let now = orders(envoy);
        if now.as_deref() == Ok(upstream) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {now:?}, not {upstream}, after {SOURCE_TIMEOUT:?}\n{}",
            integration::envoy::log_excerpt(&envoy.log())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `/orders/1` on a keep-alive connection until stopped; returns every outcome.
fn steady_client(
    url: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Result<String, (u16, String)>>> {
    std::thread::spawn(move || {
        let mut outcomes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            outcomes.push(orders_at(&url));
        }
        outcomes
    })
}

#[test]
fn a_policy_from_a_source_serves_updates_and_survives_bad_publications() {
    let a = EchoUpstream::start("cluster-a").unwrap();
    let b = EchoUpstream::start("cluster-b").unwrap();
    let mut files = PolicyFiles::new("policy.json").unwrap();
    let first = files.publish(policy("cluster-a").as_bytes()).unwrap();
    let source = StaticServer::start(files.root()).unwrap();
    let envoy =
        EnvoyProcess::start(&envoy_config(&[&a, &b], source.addr(), &files.url_path())).unwrap();

    // The policy from the source serves, and its digest is the serving version.
    wait_for_upstream(&envoy, "cluster-a");
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 1);
    assert_eq!(
        wasm_stat(&envoy, &format!("{POLICY}.digest")),
        first.gauge_value()
    );

    // Nothing changed at the source: each poll is a 304, nothing is fetched, published or
    // compiled. (`applied` counts per VM: Envoy runs the filter's root context on the main
    // thread as well as on each worker, and each applies the policy once.)
    let not_modified = wasm_stat(&envoy, &format!("{SOURCE}.not_modified"));
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.not_modified"), not_modified + 2);
    let applied = wasm_stat(&envoy, &format!("{POLICY}.applied"));
    assert!(applied >= 1);
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.not_modified"), not_modified + 5);
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 1);
    assert_eq!(wasm_stat(&envoy, &format!("{POLICY}.applied")), applied);

    // An update applies while a keep-alive client keeps sending: every request is answered
    // by the old policy or the new one, none is refused.
    let stop = Arc::new(AtomicBool::new(false));
    let client = steady_client(envoy.url(), stop.clone());
    let second = files.publish(policy("cluster-b").as_bytes()).unwrap();
    wait_for_upstream(&envoy, "cluster-b");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let outcomes = client.join().unwrap();
    assert!(!outcomes.is_empty());
    let first_new = outcomes
        .iter()
        .position(|o| o.as_deref() == Ok("cluster-b"))
        .expect("the client never saw the new policy");
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = if i < first_new {
            "cluster-a"
        } else {
            "cluster-b"
        };
        assert_eq!(
            outcome.as_deref(),
            Ok(expected),
            "request {i} of {} during the swap",
            outcomes.len()
        );
    }
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 2);
    assert_eq!(
        wasm_stat(&envoy, &format!("{POLICY}.digest")),
        second.gauge_value()
    );

    // A policy that does not compile is refused whole; the last good one serves.
    files
        .publish(policy("").as_bytes())
        .expect("publishing the bad policy");
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.rejected"), 1);
    assert_eq!(orders(&envoy).as_deref(), Ok("cluster-b"));
    wait_for_log(
        &envoy,
        "config error at hosts[0].routes[0].upstream.cluster",
    );

    // A digest that does not match what is served is refused and counted.
    files
        .publish_policy_only(policy("cluster-a").as_bytes())
        .unwrap();
    files
        .publish_digest_only(&first_of_something_else())
        .unwrap();
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.error.digest_mismatch"), 1);
    assert_eq!(orders(&envoy).as_deref(), Ok("cluster-b"));
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 2);

    // The serving policy announced again: no fetch, no publication, no compile.
    let applied = wasm_stat(&envoy, &format!("{POLICY}.applied"));
    files.publish(policy("cluster-b").as_bytes()).unwrap();
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.unchanged"), 1);
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 2);
    assert_eq!(wasm_stat(&envoy, &format!("{POLICY}.applied")), applied);

    // The source goes away: the last good policy keeps serving, the failures are counted as
    // `unreachable` (Envoy answers the call itself, with a 503 naming the connection failure).
    let unreachable = format!("{SOURCE}.error.unreachable");
    let errors_before = wasm_stat(&envoy, &unreachable);
    drop(source);
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while wasm_stat(&envoy, &unreachable) < errors_before + 2 {
        assert!(Instant::now() < deadline, "no failures counted");
        assert_eq!(orders(&envoy).as_deref(), Ok("cluster-b"));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(orders(&envoy).as_deref(), Ok("cluster-b"));
    assert_eq!(
        wasm_stat(&envoy, &format!("{POLICY}.digest")),
        second.gauge_value()
    );
}

#[test]
fn a_source_down_at_start_fails_closed_until_it_comes_up() {
    let a = EchoUpstream::start("cluster-a").unwrap();
    let mut files = PolicyFiles::new("policy.json").unwrap();
    files.publish(policy("cluster-a").as_bytes()).unwrap();
    let addr = free_port().unwrap();
    let envoy = EnvoyProcess::start(&envoy_config(&[&a], addr, &files.url_path())).unwrap();

    // No policy yet: every request is refused with a reason that says why.
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while wasm_stat(&envoy, &format!("{SOURCE}.error.unreachable")) < 2 {
        assert!(Instant::now() < deadline, "no failures counted");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(orders(&envoy), Err((503, "policy.not_loaded".to_owned())));

    // The source comes up where Envoy expects it: the policy serves.
    let _source = StaticServer::start_on(files.root(), addr).unwrap();
    wait_for_upstream(&envoy, "cluster-a");
    assert!(wasm_stat(&envoy, &format!("{POLICY}.applied")) >= 1);
}

/// The corpus policy with every route to cluster `orders` sent to `billing` instead.
fn rerouted(policy: &str) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key == "cluster" && v == "orders" {
                        *v = "billing".into();
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(policy).unwrap();
    walk(&mut value);
    value.to_string()
}

/// Sends a traffic record to Envoy and reads the outcome it implies.
fn envoy_outcome(url: &str, id: &str, record: &Record) -> OutcomeLine {
    let r = &record.request;
    let mut headers: Vec<(&str, &str)> = vec![("host", r.authority.as_str())];
    headers.extend(r.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let reply = send(&r.method, &format!("{url}{}", r.path), &headers)
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    envoy_line(id, &reply).unwrap().decision()
}

#[test]
fn every_request_during_a_swap_gets_the_old_or_the_new_policys_decision() {
    let old = corpus::policy().unwrap();
    let new = rerouted(&old);
    let traffic = parse_jsonl(&corpus::traffic().unwrap());
    let records = traffic.records;

    // What each policy decides for each request, by the harness.
    let options = HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: Some(corpus::CLUSTERS.iter().map(|c| (*c).to_owned()).collect()),
        },
        failure_policy: FailurePolicy::FailClosed,
        ..HostOptions::default()
    };
    let host = Host::from_file(&paths::plugin_wasm(), options).unwrap();
    let names = DecisionHeaders::default();
    let decide = |policy: &str| -> Vec<OutcomeLine> {
        let mut vm = host.start(policy.as_bytes()).unwrap();
        replay::run(&mut vm, &records, &names, |_| {})
            .lines
            .iter()
            .map(OutcomeLine::decision)
            .collect()
    };
    let (by_old, by_new) = (decide(&old), decide(&new));
    let telling: Vec<usize> = (0..records.len())
        .filter(|&i| by_old[i] != by_new[i])
        .collect();
    assert!(telling.len() >= 5, "the two policies barely differ");
    let probe = telling[0];

    let upstreams: Vec<EchoUpstream> = corpus::CLUSTERS
        .iter()
        .map(|c| EchoUpstream::start(c).unwrap())
        .collect();
    let refs: Vec<&EchoUpstream> = upstreams.iter().collect();
    let mut files = PolicyFiles::new("policy.json").unwrap();
    files.publish(old.as_bytes()).unwrap();
    let source = StaticServer::start(files.root()).unwrap();
    let mut config = envoy_config(&refs, source.addr(), &files.url_path());
    config.forward_client_cert_details = Some("ALWAYS_FORWARD_ONLY".into());
    let envoy = EnvoyProcess::start(&config).unwrap();
    let id = |i: usize| by_old[i].id.clone();
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while envoy_outcome(&envoy.url(), &id(probe), &records[probe]) != by_old[probe] {
        assert!(Instant::now() < deadline, "the first policy never served");
        std::thread::sleep(Duration::from_millis(50));
    }

    // One keep-alive client replays the corpus in a loop through the swap.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (url, stop, records) = (envoy.url(), stop.clone(), records.clone());
        let ids: Vec<String> = by_old.iter().map(|l| l.id.clone()).collect();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for i in (0..records.len()).cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                seen.push((i, envoy_outcome(&url, &ids[i], &records[i])));
            }
            seen
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    files.publish(new.as_bytes()).unwrap();
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while envoy_outcome(&envoy.url(), &id(probe), &records[probe]) != by_new[probe] {
        assert!(Instant::now() < deadline, "the new policy never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let seen = client.join().unwrap();

    let mut wrong = Vec::new();
    let mut first_new = None;
    let mut old_after_new = Vec::new();
    for (n, (i, outcome)) in seen.iter().enumerate() {
        let (is_old, is_new) = (*outcome == by_old[*i], *outcome == by_new[*i]);
        if !is_old && !is_new {
            wrong.push(format!(
                "request {n} ({}): envoy {}\n  old policy: {}\n  new policy: {}",
                by_old[*i].id,
                serde_json::to_string(outcome).unwrap(),
                serde_json::to_string(&by_old[*i]).unwrap(),
                serde_json::to_string(&by_new[*i]).unwrap()
            ));
        }
        if is_new && !is_old && first_new.is_none() {
            first_new = Some(n);
        }
        if is_old && !is_new && first_new.is_some() {
            old_after_new.push(n);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} requests:\n{}",
        wrong.len(),
        seen.len(),
        wrong.join("\n")
    );
    assert!(first_new.is_some(), "the client never saw the new policy");
    assert!(
        old_after_new.is_empty(),
        "requests {old_after_new:?} got the old policy after request {first_new:?} got the new one"
    );
    let telling_seen = seen
        .iter()
        .filter(|(i, _)| by_old[*i] != by_new[*i])
        .count();
    assert!(
        telling_seen >= 10,
        "only {telling_seen} telling requests were sent"
    );
}

/// A policy whose `/orders` needs one of `keys` ((consumer, key) pairs).
fn keyed_policy(keys: &[(&str, &str)]) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|(consumer, key)| {
            format!(
                r#"{{"consumer":"{consumer}","sha256":"{}"}}"#,
                trieguard::source::digest::PolicyDigest::of(key.as_bytes()).to_hex()
            )
        })
        .collect();
    format!(
        r#"{{"hosts":[{{"domains":["*"],"routes":[
            {{"id":"orders","match":{{"prefix":"/orders"}},"upstream":{{"cluster":"cluster-a"}},
              "auth":{{"any_of":["keys"]}}}}]}}],
          "auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}}}}}}"#,
        keys.join(",")
    )
}

/// `/orders/1` with API key `key`: the consumer the upstream was told, or the refusal.
fn with_key(envoy: &EnvoyProcess, key: &str) -> Result<String, (u16, String)> {
    let reply = get(&format!("{}/orders/1", envoy.url()), &[("x-api-key", key)]).unwrap();
    if reply.status == 200 {
        let echoed = reply.echoed().unwrap();
        Ok(echoed
            .header("x-trieguard-consumer")
            .unwrap_or("")
            .to_owned())
    } else {
        Err((
            reply.status,
            reply.header("x-trieguard-reason").unwrap_or("").to_owned(),
        ))
    }
}

fn wait_for_key(envoy: &EnvoyProcess, key: &str, expected: Result<&str, (u16, &str)>) {
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    loop {
        let now = with_key(envoy, key);
        let matches = match (&now, &expected) {
            (Ok(got), Ok(want)) => got == want,
            (Err((status, reason)), Err((want_status, want_reason))) => {
                status == want_status && reason == want_reason
            }
            _ => false,
        };
        if matches {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "key {key}: still {now:?}, not {expected:?}\n{}",
            integration::envoy::log_excerpt(&envoy.log())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn keys_added_reassigned_and_revoked_reach_every_worker_as_a_delta() {
    let a = EchoUpstream::start("cluster-a").unwrap();
    let mut files = PolicyFiles::new("policy.json").unwrap();
    files
        .publish(keyed_policy(&[("alice", "alice-key"), ("bob", "bob-key")]).as_bytes())
        .unwrap();
    let source = StaticServer::start(files.root()).unwrap();
    // Two workers: every filter VM (both workers and the main thread's) must apply the delta.
    let mut config = envoy_config(&[&a], source.addr(), &files.url_path());
    config.workers = 2;
    let envoy = EnvoyProcess::start(&config).unwrap();
    wait_for_key(&envoy, "bob-key", Ok("bob"));
    assert_eq!(with_key(&envoy, "alice-key").as_deref(), Ok("alice"));
    // Every filter VM compiled the first publication once.
    let not_modified = wasm_stat(&envoy, &format!("{SOURCE}.not_modified"));
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.not_modified"), not_modified + 2);
    let applied = wasm_stat(&envoy, &format!("{POLICY}.applied"));

    // bob's key revoked, alice's key re-assigned, carol's added: one delta, no recompile.
    let revised = files
        .publish(keyed_policy(&[("alice-2", "alice-key"), ("carol", "carol-key")]).as_bytes())
        .unwrap();
    wait_for_key(&envoy, "bob-key", Err((401, "auth.api_key.unknown")));
    wait_for_key(&envoy, "alice-key", Ok("alice-2"));
    assert_eq!(with_key(&envoy, "carol-key").as_deref(), Ok("carol"));
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.delta_published")), 1);
    assert_eq!(wasm_stat(&envoy, &format!("{SOURCE}.published")), 1);
    assert_eq!(
        wasm_stat(&envoy, &format!("{POLICY}.applied")),
        applied,
        "a key delta recompiles nothing"
    );
    wait_for_wasm_stat(&envoy, &format!("{POLICY}.key_delta_applied"), 3);
    wait_for_gauge(&envoy, &format!("{POLICY}.digest"), revised.gauge_value());

    // A route change is a full publication again, carrying the keys as they are now.
    let moved = keyed_policy(&[("alice-2", "alice-key"), ("carol", "carol-key")])
        .replace(r#""prefix":"/orders""#, r#""prefix":"/ord""#);
    files.publish(moved.as_bytes()).unwrap();
    wait_for_wasm_stat(&envoy, &format!("{SOURCE}.published"), 2);
    wait_for_wasm_stat(&envoy, &format!("{POLICY}.applied"), applied + 1);
    assert_eq!(with_key(&envoy, "carol-key").as_deref(), Ok("carol"));
    assert_eq!(
        with_key(&envoy, "bob-key"),
        Err((401, "auth.api_key.unknown".to_owned()))
    );
}

fn wait_for_gauge(envoy: &EnvoyProcess, name: &str, value: u64) {
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while wasm_stat(envoy, name) != value {
        assert!(
            Instant::now() < deadline,
            "{name} is {}, not {value}",
            wasm_stat(envoy, name)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `text` in Envoy's log (flushed every 100 ms).
fn wait_for_log(envoy: &EnvoyProcess, text: &str) {
    let deadline = Instant::now() + SOURCE_TIMEOUT;
    while !envoy.log().contains(text) {
        assert!(
            Instant::now() < deadline,
            "{text:?} is not in Envoy's log:\n{}",
            integration::envoy::log_excerpt(&envoy.log())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn first_of_something_else() -> trieguard::source::digest::PolicyDigest {
    trieguard::source::digest::PolicyDigest::of(b"not the policy being served")
}
