//! `docs/config.schema.json` is generated from the config types; this keeps it fresh.
//! `docs/policy-source.schema.json` likewise, from the policy-source shapes.
//! Regenerate with `TRIEGUARD_BLESS=1 cargo test -p plugin --test config_schema`.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

#[test]
fn committed_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/config.schema.json");
    let generated = trieguard::config::json_schema();
    if std::env::var_os("TRIEGUARD_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/config.schema.json is stale: run `TRIEGUARD_BLESS=1 cargo test -p plugin --test config_schema`"
    );
}

#[test]
fn committed_source_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/policy-source.schema.json");
    let generated = trieguard::source::json_schema();
    if std::env::var_os("TRIEGUARD_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/policy-source.schema.json is stale: run `TRIEGUARD_BLESS=1 cargo test -p plugin --test config_schema`"
    );
    for field in [
        "policy_source",
        "fetch_policy",
        "poll_interval_ms",
        "piece_bytes",
        "check_interval_ms",
    ] {
        assert!(generated.contains(field), "source schema lacks {field}");
    }
}

#[test]
fn schema_describes_the_documented_fields() {
    let schema: serde_json::Value =
        serde_json::from_str(&trieguard::config::json_schema()).unwrap();
    let text = schema.to_string();
    for field in [
        "hosts",
        "auth_providers",
        "path_separated_prefix",
        "min_tls",
        "device_trust",
        "any_of",
        "roots_pem",
        "clock_skew_seconds",
    ] {
        assert!(text.contains(field), "schema lacks {field}");
    }
}
