//! `trieguard import-envoy`, run as a user runs it: a YAML route configuration in, a policy
//! out that `check-config` accepts and `explain` routes first-match; `--strict` refuses.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

fn trieguard(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trieguard"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const ROUTES: &str = r#"
name: gateway
ignore_port_in_host_matching: true
virtual_hosts:
- name: api
  domains: ["api.example.com", "*.api.example.com"]
  routes:
  - name: everything
    match: { prefix: "/" , headers: [ { name: x-debug, present_match: true } ] }
    route: { cluster: debug }
  - name: regex
    match: { safe_regex: { regex: "/r.*" } }
    route: { cluster: regex }
  - name: orders
    match: { path_separated_prefix: /orders }
    route: { cluster: orders, prefix_rewrite: /v2/orders }
  - name: order-one
    match: { path: /orders/1 }
    route: { cluster: order-one }
"#;

#[test]
fn import_writes_a_first_match_policy_that_check_config_and_explain_accept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("routes.yaml"), ROUTES).unwrap();
    let (code, stdout, stderr) = trieguard(
        dir.path(),
        &["import-envoy", "routes.yaml", "--out", "policy.json"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("imported 3 route(s) from gateway"),
        "{stderr}"
    );
    assert!(
        stderr.contains("virtual_hosts[0].routes[1].match.safe_regex"),
        "{stderr}"
    );

    let (code, stdout, _) = trieguard(dir.path(), &["check-config", "policy.json"]);
    assert_eq!(code, 0, "{stdout}");

    // Envoy's order: /orders/1 goes to `orders` (declared before `order-one`).
    std::fs::write(
        dir.path().join("request.json"),
        r#"{"method":"GET","authority":"api.example.com","path":"/orders/1","headers":[]}"#,
    )
    .unwrap();
    let (code, stdout, _) = trieguard(
        dir.path(),
        &["explain", "--config", "policy.json", "request.json"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("precedence first_match"), "{stdout}");
    assert!(
        stdout.contains("decision: allow route=orders cluster=orders consumer=- path=/v2/orders/1"),
        "{stdout}"
    );
}

#[test]
fn strict_refuses_with_every_path_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("routes.yaml"), ROUTES).unwrap();
    let (code, stdout, stderr) = trieguard(
        dir.path(),
        &[
            "import-envoy",
            "--strict",
            "routes.yaml",
            "--out",
            "policy.json",
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("virtual_hosts[0].routes[1].match.safe_regex"),
        "{stderr}"
    );
    assert!(!dir.path().join("policy.json").exists());
}

#[test]
fn a_file_without_routes_is_an_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.json"), r#"{"admin": {}}"#).unwrap();
    let (code, _, stderr) = trieguard(dir.path(), &["import-envoy", "x.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no RouteConfiguration found"), "{stderr}");
}
