//! Harness vs real Envoy: the corpus of `integration::corpus` (200+ requests, every feature and
//! rejection reason) replayed through `trieguard.wasm` in the wasmtime harness and in Envoy 1.40
//! with echo upstreams; the outcome lines must be identical except for latency.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use host_harness::host::{FailurePolicy, Host, HostOptions, Routing};
use host_harness::replay::{self, DecisionHeaders};
use host_harness::traffic::parse_jsonl;
use integration::client::send;
use integration::outcome::envoy_line;
use integration::{
    ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec, corpus, paths,
};

#[test]
fn harness_and_envoy_decide_the_corpus_identically() {
    let policy = corpus::policy().unwrap();
    let traffic = parse_jsonl(&corpus::traffic().unwrap());
    assert!(traffic.malformed.is_empty(), "{:?}", traffic.malformed);
    assert!(
        traffic.records.len() >= 200,
        "only {} requests",
        traffic.records.len()
    );

    // The harness.
    let options = HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: Some(corpus::CLUSTERS.iter().map(|c| (*c).to_owned()).collect()),
        },
        failure_policy: FailurePolicy::FailClosed,
        ..HostOptions::default()
    };
    let host = Host::from_file(&paths::plugin_wasm(), options).unwrap();
    let mut vm = host.start(policy.as_bytes()).unwrap();
    let names = DecisionHeaders::default();
    let harness = replay::run(&mut vm, &traffic.records, &names, |_| {});

    // Real Envoy.
    let upstreams: Vec<EchoUpstream> = corpus::CLUSTERS
        .iter()
        .map(|c| EchoUpstream::start(c).unwrap())
        .collect();
    let refs: Vec<&EchoUpstream> = upstreams.iter().collect();
    let mut config = EnvoyConfig::new(
        ClusterSpec::for_upstreams(&refs),
        Some(PluginSpec::trieguard(&policy)),
    );
    config.forward_client_cert_details = Some("ALWAYS_FORWARD_ONLY".into());
    let envoy = EnvoyProcess::start(&config).unwrap();

    let mut differences = Vec::new();
    let mut reasons = std::collections::BTreeSet::new();
    for (record, from_harness) in traffic.records.iter().zip(&harness.lines) {
        let r = &record.request;
        let mut headers: Vec<(&str, &str)> = vec![("host", r.authority.as_str())];
        headers.extend(r.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let reply = send(&r.method, &format!("{}{}", envoy.url(), r.path), &headers)
            .unwrap_or_else(|e| panic!("{}: {e:#}", from_harness.id));
        let from_envoy = envoy_line(&from_harness.id, &reply).unwrap();
        reasons.insert(from_envoy.reason.clone().unwrap_or_else(|| "ok".into()));
        if from_envoy.decision() != from_harness.decision() {
            differences.push(format!(
                "{} {} {}{}\n  harness: {}\n  envoy:   {}",
                from_harness.id,
                r.method,
                r.authority,
                r.path,
                serde_json::to_string(&from_harness.decision()).unwrap(),
                serde_json::to_string(&from_envoy).unwrap()
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} requests differ:\n{}",
        differences.len(),
        traffic.records.len(),
        differences.join("\n")
    );
    // The corpus really covers the reasons it claims to.
    for reason in [
        "ok",
        "path.encoded_slash",
        "path.backslash",
        "path.nul",
        "path.semicolon",
        "path.invalid",
        "route.no_host",
        "route.no_match",
        "tls.too_old",
        "device.untrusted",
        "auth.missing",
        "auth.api_key.unknown",
        "auth.forbidden",
        "auth.jwt.expired",
        "auth.jwt.wrong_audience",
        "auth.jwt.bad_signature",
        "auth.jwt.malformed",
        "auth.sm2.chain_invalid",
        "auth.sm2.untrusted_proxy",
        "auth.sm2.xfcc_malformed",
    ] {
        assert!(
            reasons.contains(reason),
            "the corpus never produced {reason}; produced {reasons:?}"
        );
    }
}
