//! Policy pushes to a running Envoy (file-based LDS): a valid policy takes effect without a
//! restart; a rejected one is refused as a whole, with the plugin's errors in Envoy's log, and
//! the previous policy keeps serving.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use integration::client::get;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec};

const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

fn policy(cluster: &str) -> String {
    format!(
        r#"{{"hosts":[{{"domains":["*"],"routes":[
            {{"id":"orders","match":{{"prefix":"/orders"}},"upstream":{{"cluster":"{cluster}"}}}}]}}]}}"#
    )
}

#[test]
fn valid_pushes_apply_and_rejected_pushes_keep_the_previous_policy() {
    let a = EchoUpstream::start("cluster-a").unwrap();
    let b = EchoUpstream::start("cluster-b").unwrap();
    let config = |policy: &str| {
        EnvoyConfig::new(
            ClusterSpec::for_upstreams(&[&a, &b]),
            Some(PluginSpec::trieguard(policy)),
        )
    };
    let envoy = EnvoyProcess::start_with_lds(&config(&policy("cluster-a"))).unwrap();
    let upstream = || {
        get(&format!("{}/orders/1", envoy.url()), &[])
            .unwrap()
            .echoed()
            .unwrap()
            .upstream
    };
    assert_eq!(upstream(), "cluster-a");
    let accepted = envoy.stat("listener_manager.lds.update_success").unwrap();

    // A valid policy: applied to the running Envoy.
    envoy.push_listener(&config(&policy("cluster-b"))).unwrap();
    envoy
        .wait_for_stat(
            "listener_manager.lds.update_success",
            accepted + 1,
            PUSH_TIMEOUT,
        )
        .unwrap();
    let deadline = std::time::Instant::now() + PUSH_TIMEOUT;
    while upstream() != "cluster-b" {
        assert!(
            std::time::Instant::now() < deadline,
            "the new policy never took effect"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // An invalid policy: refused as a whole; the previous one keeps serving.
    let bad = r#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":""}}]}]}"#;
    let rejected = envoy.stat("listener_manager.lds.update_rejected").unwrap();
    envoy.push_listener(&config(bad)).unwrap();
    envoy
        .wait_for_stat(
            "listener_manager.lds.update_rejected",
            rejected + 1,
            PUSH_TIMEOUT,
        )
        .unwrap();
    for _ in 0..20 {
        assert_eq!(upstream(), "cluster-b");
    }
    let log = envoy.log();
    assert!(
        log.contains(
            "trieguard: config error at hosts[0].routes[0].upstream.cluster: cluster name is empty"
        ),
        "the plugin's error is not in Envoy's log:\n{}",
        integration::envoy::log_excerpt(&log)
    );
}
