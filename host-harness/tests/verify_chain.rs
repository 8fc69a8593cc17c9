//! `trieguard verify-chain` behaves per its contract (DESIGN.md): exit 0 `valid: …`, exit 1
//! `invalid: <reason>`, exit 2 on usage or I/O errors. Runs the built binary on the certs fixtures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::{Command, Output};

const AT: &str = "2026-06-01T00:00:00Z";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../certs/testdata")
        .join(name)
}

fn trieguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trieguard"))
        .args(args)
        .output()
        .expect("run trieguard")
}

fn verify(case: &str) -> Output {
    let roots = testdata("roots.pem");
    let chain = testdata(&format!("chains/{case}.pem"));
    trieguard(&[
        "verify-chain",
        "--roots",
        roots.to_str().unwrap(),
        "--at",
        AT,
        chain.to_str().unwrap(),
    ])
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn valid_chains_exit_0_with_subjects_leaf_to_root() {
    let o = verify("sm2-valid");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o),
        "valid: CN=alice,OU=Payments,O=Trieguard Test,C=CN -> \
         CN=Trieguard SM2 Intermediate 2,OU=Clients,O=Trieguard Test,C=CN -> \
         CN=Trieguard SM2 Intermediate 1,OU=Clients,O=Trieguard Test,C=CN -> \
         CN=Trieguard SM2 Root,O=Trieguard Test,C=CN\n"
    );
    for case in [
        "p256-valid",
        "rsa-valid",
        "sm2-twin-root",
        "sm2-renewed-intermediate",
    ] {
        let o = verify(case);
        assert_eq!(o.status.code(), Some(0), "{case}: {}", stdout(&o));
        assert!(stdout(&o).starts_with("valid: "));
    }
}

#[test]
fn invalid_chains_exit_1_with_the_reason() {
    let o = verify("expired");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "invalid: certificate expired: not after 2025-01-01T00:00:00Z, now 2026-06-01T00:00:00Z (CN=expired,O=Trieguard Test,C=CN)\n"
    );
    for case in [
        "not-yet-valid",
        "expired-intermediate",
        "unknown-issuer",
        "missing-intermediate",
        "bad-signature",
        "not-ca",
        "no-keycertsign",
        "path-len",
        "not-client-auth",
        "no-digital-signature",
        "unknown-critical",
        "unsupported-algorithm",
        "key-mismatch",
        "loop",
    ] {
        let o = verify(case);
        assert_eq!(o.status.code(), Some(1), "{case}: {}", stdout(&o));
        assert!(stdout(&o).starts_with("invalid: "), "{case}");
    }
}

#[test]
fn without_at_the_clock_is_used() {
    let roots = testdata("roots.pem");
    let chain = testdata("chains/expired.pem");
    let o = trieguard(&[
        "verify-chain",
        "--roots",
        roots.to_str().unwrap(),
        chain.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expired in 2025 whatever today is"
    );
}

#[test]
fn an_empty_chain_file_is_invalid() {
    let dir = std::env::temp_dir().join(format!("trieguard-verify-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let roots = testdata("roots.pem");
    let o = trieguard(&[
        "verify-chain",
        "--roots",
        roots.to_str().unwrap(),
        "--at",
        AT,
        empty.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "invalid: no certificate presented\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_and_io_errors_exit_2() {
    let roots = testdata("roots.pem");
    let chain = testdata("chains/sm2-valid.pem");
    let roots = roots.to_str().unwrap();
    let chain = chain.to_str().unwrap();
    // Missing argument, unknown flag, bad time: clap usage errors.
    assert_eq!(trieguard(&["verify-chain", chain]).status.code(), Some(2));
    assert_eq!(
        trieguard(&["verify-chain", "--roots", roots, "--bogus", chain])
            .status
            .code(),
        Some(2)
    );
    let o = trieguard(&["verify-chain", "--roots", roots, "--at", "yesterday", chain]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RFC 3339"));
    // Unreadable files and unusable roots: error with its cause chain.
    let o = trieguard(&["verify-chain", "--roots", "/nonexistent/roots.pem", chain]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: cannot read roots file"), "{err}");
    assert!(err.contains("caused by:"), "{err}");
    assert_eq!(
        trieguard(&["verify-chain", "--roots", roots, "/nonexistent/chain.pem"])
            .status
            .code(),
        Some(2)
    );
    let o = trieguard(&[
        "verify-chain",
        "--roots",
        chain
            .replace("sm2-valid.pem", "missing-intermediate.pem")
            .as_str(),
        "--sm2-id",
        "",
        chain,
    ]);
    assert_eq!(o.status.code(), Some(2));
}
