//! The examples an operator reads are the ones the demo runs, and they are valid.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use integration::demo;

#[test]
fn examples_envoy_yaml_is_rendered_from_policy_json() {
    let policy = std::fs::read_to_string(demo::policy_path()).unwrap();
    let rendered = demo::demo_envoy_config(&policy).render();
    let path = demo::envoy_yaml_path();
    if std::env::var_os("TRIEGUARD_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "examples/envoy.yaml is stale: run `TRIEGUARD_BLESS=1 cargo test -p integration --test examples`"
    );
}

#[test]
fn example_policy_passes_validation() {
    let policy = std::fs::read(demo::policy_path()).unwrap();
    trieguard::config::PolicyConfig::from_json(&policy).unwrap();
}
