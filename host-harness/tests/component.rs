//! The engine's WebAssembly component (`plugin/wit/policy.wit`) against the proxy-wasm module:
//! the traffic corpus `examples/traffic.jsonl` with `examples/policy.json` through both, same
//! decisions.
//!
//! Artefacts (`cargo xtask build`, or the commands in docs/component.md):
//! - the component: `$TRIEGUARD_COMPONENT`, else `trieguard-component.wasm` or
//!   `wasm32-wasip2/release/trieguard.wasm` under `$CARGO_TARGET_DIR` or the workspace's `target/`;
//! - the proxy-wasm module: `trieguard.wasm` in `$TRIEGUARD_WASM_DIR`,
//!   `$CARGO_TARGET_DIR/wasm32-wasip1/release` or `target/wasm32-wasip1/release`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use host_harness::component::{
    Decision, PolicyComponent, PolicyInstance, outcome_line, wit_request,
};
use host_harness::host::{Clock, Host, HostOptions, PluginInfo, Routing};
use host_harness::native::engine_request;
use host_harness::replay::{self, DecisionHeaders, OutcomeLine};
use host_harness::traffic::{self, Format, Record};

/// The corpus's fixed clock (2026-01-01T00:00:00Z): its JWTs are valid, expired or not yet
/// valid relative to it.
const NOW: u64 = 1_767_225_600;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(root().join("target"));
    dirs
}

fn find(candidates: Vec<PathBuf>, what: &str) -> PathBuf {
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("{what} not built: run `cargo xtask build` (looked at {candidates:?})")
        })
}

fn component_path() -> PathBuf {
    let mut c: Vec<PathBuf> = std::env::var("TRIEGUARD_COMPONENT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    for d in target_dirs() {
        c.push(d.join("trieguard-component.wasm"));
        c.push(d.join("wasm32-wasip2/release/trieguard.wasm"));
    }
    find(c, "the component")
}

fn module_path() -> PathBuf {
    let mut c: Vec<PathBuf> = std::env::var("TRIEGUARD_WASM_DIR")
        .map(|d| PathBuf::from(d).join("trieguard.wasm"))
        .into_iter()
        .collect();
    for d in target_dirs() {
        c.push(d.join("wasm32-wasip1/release/trieguard.wasm"));
    }
    find(c, "trieguard.wasm")
}

fn policy() -> String {
    std::fs::read_to_string(root().join("examples/policy.json")).unwrap()
}

fn corpus() -> Vec<Record> {
    let text = std::fs::read_to_string(root().join("examples/traffic.jsonl")).unwrap();
    let t = traffic::parse(Format::Jsonl, &text);
    assert!(t.malformed.is_empty(), "{:?}", t.malformed);
    assert!(t.records.len() >= 100);
    t.records
}

/// Compiled once per test binary: compiling is the slow part (debug builds of cranelift).
fn compiled() -> &'static PolicyComponent {
    static COMPILED: OnceLock<PolicyComponent> = OnceLock::new();
    COMPILED.get_or_init(|| PolicyComponent::from_file(&component_path()).unwrap())
}

fn configured() -> PolicyInstance {
    let mut instance = compiled().instantiate().unwrap();
    instance.configure(&policy()).unwrap().unwrap();
    instance
}

#[test]
fn corpus_decisions_are_identical_through_the_proxy_wasm_module_and_the_component() {
    let records = corpus();
    let options = HostOptions {
        plugin: PluginInfo {
            clock: Clock::Fixed(NOW * 1_000_000_000),
            ..PluginInfo::default()
        },
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: None,
        },
        ..HostOptions::default()
    };
    let mut vm = Host::from_file(&module_path(), options)
        .unwrap()
        .start(policy().as_bytes())
        .unwrap();
    let proxy = replay::run(&mut vm, &records, &DecisionHeaders::default(), |_| {}).lines;

    let mut instance = configured();
    let component: Vec<OutcomeLine> = records
        .iter()
        .map(|rec| {
            let request = wit_request(engine_request(&rec.request, NOW, 0));
            let decision = instance.decide(&request).unwrap();
            outcome_line(
                rec.request.id.as_deref().unwrap(),
                &rec.request.path,
                &decision,
                0,
            )
        })
        .collect();

    assert_eq!(proxy.len(), component.len());
    let mut differences = Vec::new();
    for (p, c) in proxy.iter().zip(&component) {
        if p.decision() != c.decision() {
            differences.push(format!("proxy-wasm {p:?}\ncomponent  {c:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );

    // The corpus exercises allows and every kind of refusal.
    let count = |f: &dyn Fn(&OutcomeLine) -> bool| component.iter().filter(|l| f(l)).count();
    assert!(count(&|l| l.action == "continue") >= 20);
    assert!(count(&|l| l.consumer.is_some()) >= 3);
    for status in [400, 401, 403, 404, 426] {
        assert!(
            count(&|l| l.status == Some(status)) >= 1,
            "no {status} in the corpus"
        );
    }
}

#[test]
fn component_agrees_with_the_native_engine_field_for_field() {
    let records = corpus();
    let engine = trieguard::engine::Engine::from_json(policy().as_bytes()).unwrap();
    let mut instance = configured();
    for rec in &records {
        for entropy in [0, u64::MAX / 3] {
            let native = engine.decide(&engine_request(&rec.request, NOW, entropy));
            let wit = instance
                .decide(&wit_request(engine_request(&rec.request, NOW, entropy)))
                .unwrap();
            let same = match (&native, &wit) {
                (trieguard::engine::Decision::Allow(n), Decision::Allow(w)) => {
                    let set: Vec<(String, String)> = n
                        .set_headers()
                        .map(|(name, value)| (name.to_owned(), value.to_owned()))
                        .collect();
                    n.route == w.route
                        && n.cluster == w.cluster
                        && n.consumer.as_deref() == w.consumer.as_deref()
                        && n.new_path == w.new_path
                        && n.remove_headers == w.remove_headers
                        && set == w.set_headers
                        && n.reason == w.reason
                }
                (trieguard::engine::Decision::Deny(n), Decision::Deny(w)) => {
                    (n.status, &n.reason, &n.message, &n.route)
                        == (w.status, &w.reason, &w.message, &w.route)
                }
                _ => false,
            };
            assert!(
                same,
                "{:?}\nnative    {native:?}\ncomponent {wit:?}",
                rec.request.id
            );
        }
    }
}

#[test]
fn decide_before_configure_denies_and_a_rejected_policy_lists_every_problem() {
    let component = compiled();
    // Time and entropy are request fields: the component asks its host only for hash-map seeds
    // (randomness, the wall clock); every other import is a trap here.
    let imports = component.imports();
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:random/")),
        "{imports:?}"
    );

    let mut instance = component.instantiate().unwrap();
    let request = wit_request(engine_request(&corpus()[0].request, NOW, 0));
    match instance.decide(&request).unwrap() {
        Decision::Deny(d) => {
            assert_eq!(
                (d.status, d.reason.as_str(), d.message.as_str()),
                (500, "internal", "not configured")
            );
        }
        other => panic!("{other:?}"),
    }
    let issues = instance
        .configure(
            r#"{"hosts":[{"domains":["*"],"routes":[
            {"id":"a","match":{"prefix":"x"},"upstream":{"cluster":""}}]}]}"#,
        )
        .unwrap()
        .unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"hosts[0].routes[0].match.prefix"),
        "{issues:?}"
    );
    assert!(
        paths.contains(&"hosts[0].routes[0].upstream.cluster"),
        "{issues:?}"
    );
    // Still unconfigured after a rejected policy; a good one then decides.
    assert!(
        matches!(instance.decide(&request).unwrap(), Decision::Deny(d) if d.message == "not configured")
    );
    instance.configure(&policy()).unwrap().unwrap();
    assert!(
        !matches!(instance.decide(&request).unwrap(), Decision::Deny(d) if d.message == "not configured")
    );
}

#[test]
fn replay_cli_with_component_matches_replay_with_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let run = |flag: &str, file: &Path, out: &Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_trieguard"))
            .current_dir(root())
            .args(["replay", flag])
            .arg(file)
            .args([
                "--config",
                "examples/policy.json",
                "--now",
                &NOW.to_string(),
                "--out",
            ])
            .arg(out)
            .arg("examples/traffic.jsonl")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lines: Vec<OutcomeLine> = std::fs::read_to_string(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (stdout, lines)
    };
    let (_, module) = run("--wasm", &module_path(), &dir.path().join("module.jsonl"));
    let (summary, component) = run(
        "--component",
        &component_path(),
        &dir.path().join("component.jsonl"),
    );
    assert!(summary.contains("requests"), "{summary}");
    assert_eq!(module.len(), corpus().len());
    let decisions = |v: &[OutcomeLine]| v.iter().map(OutcomeLine::decision).collect::<Vec<_>>();
    assert_eq!(decisions(&module), decisions(&component));
}
