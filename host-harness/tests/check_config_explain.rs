//! `trieguard check-config` and `trieguard explain`, run as a user runs them.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn trieguard(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trieguard"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_policy_and_plugin_config_in_the_repo_passes_check_config() {
    let mut checked = 0;
    for dir in ["examples", "docs"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".json") && !name.ends_with(".schema.json") && name.contains("policy")
            {
                let (code, text) = trieguard(&["check-config", path.to_str().unwrap()]);
                assert_eq!(code, 0, "{name}: {text}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 1);
}

/// Every `pluginConfig` of the Istio examples (`examples/istio/*.yaml`, all YAML documents of
/// each file) as JSON, which is what Istio hands the plugin, through `check-config`.
#[test]
fn every_istio_plugin_config_passes_check_config() {
    use serde::Deserialize as _;
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("examples/istio")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let doc = serde_json::Value::deserialize(document).unwrap();
            if doc["kind"] == "WasmPlugin" {
                let spec = &doc["spec"];
                let sha = spec["sha256"].as_str().unwrap_or_default();
                assert!(
                    sha.len() == 64
                        && sha
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{}: spec.sha256 must be 64 lower-case hex digits",
                    path.display()
                );
                assert_eq!(spec["failStrategy"], "FAIL_CLOSE", "{}", path.display());
                assert!(
                    spec["url"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("oci://")
                );
            }
            let Some(config) = doc.get("spec").and_then(|s| s.get("pluginConfig")) else {
                continue;
            };
            let json = dir.path().join(format!("plugin-config-{checked}.json"));
            std::fs::write(&json, serde_json::to_vec(config).unwrap()).unwrap();
            let (code, out) = trieguard(&["check-config", json.to_str().unwrap()]);
            assert_eq!(code, 0, "{} document {n}: {out}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn check_config_lists_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"hosts":[{"domains":["*"],"routes":[
        {"id":"a","match":{"prefix":"x"},"upstream":{"cluster":""}},
        {"id":"a","match":{"exact":"/y"},"upstream":{"split":{"clusters":[{"cluster":"c","weight":0}]}}}]}]}"#).unwrap();
    let (code, text) = trieguard(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    for line in [
        "hosts[0].routes[0].match.prefix: path must start with '/'",
        "hosts[0].routes[0].upstream.cluster: cluster name is empty",
        "hosts[0].routes[1].id: route id 'a' is already used by hosts[0].routes[0]",
        "hosts[0].routes[1].upstream.split.clusters: weights sum to 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(
        text.matches("hosts[0].routes[0].match").count(),
        1,
        "no duplicate report:\n{text}"
    );
    let (code, _) = trieguard(&["check-config", "no/such/file.json"]);
    assert_eq!(code, 2);
}

#[test]
fn policy_source_configurations_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let filter = dir.path().join("filter.json");
    std::fs::write(&filter, r#"{"policy_source": {"name": "main"}}"#).unwrap();
    let (code, text) = trieguard(&["check-config", filter.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("filter serving policy source 'main'"),
        "{text}"
    );
    let service = dir.path().join("service.json");
    std::fs::write(
        &service,
        r#"{"fetch_policy": {"name": "main", "cluster": "c", "authority": "a", "path": "p", "poll_interval_ms": 10}}"#,
    )
    .unwrap();
    let (code, text) = trieguard(&["check-config", service.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("fetch_policy.path: must start with '/'"),
        "{text}"
    );
    assert!(
        text.contains("fetch_policy.poll_interval_ms: must be at least 100"),
        "{text}"
    );
}

#[test]
fn explain_prints_each_step_and_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("request.json");
    std::fs::write(&request, r#"{"method":"GET","authority":"api.example.com","path":"/public/../orders/42/lines","headers":[["x-api-key","demo-key-bob"]]}"#).unwrap();
    let (code, text) = trieguard(&[
        "explain",
        "--config",
        "examples/policy.json",
        request.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let policy = std::fs::read(root().join("examples/policy.json")).unwrap();
    let version = trieguard::source::digest::PolicyDigest::of(&policy);
    assert!(
        text.starts_with(&format!("policy: {version} ({} bytes)\n", policy.len())),
        "{text}"
    );
    for needle in [
        "normalised to \"/orders/42/lines\"",
        "route 'orders' (path_separated_prefix `/orders`) taken",
        "auth provider 'partner-keys': authenticated 'bob'",
        "decision: deny 403 auth.forbidden",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
