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

fn verify_in(dir: &str, roots: &str, case: &str, flags: &[&str]) -> Output {
    let roots = testdata(&format!("{dir}/{roots}"));
    let chain = testdata(&format!("{dir}/chains/{case}.pem"));
    let mut args = vec![
        "verify-chain",
        "--roots",
        roots.to_str().unwrap(),
        "--at",
        AT,
    ];
    args.extend_from_slice(flags);
    args.push(chain.to_str().unwrap());
    trieguard(&args)
}

const ALGS: [&str; 2] = ["sm2", "p256"];

#[test]
fn a_root_with_ca_true_but_no_key_cert_sign_is_invalid_not_an_error() {
    for alg in ALGS {
        let o = verify_in(
            "rules",
            &format!("roots-{alg}-no-certsign.pem"),
            &format!("{alg}-root-no-certsign"),
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{alg}: {o:?}");
        assert_eq!(
            stdout(&o),
            format!(
                "invalid: issuer keyUsage lacks keyCertSign (CN=Trieguard Rules {alg} Root no-certsign,O=Trieguard Test,C=CN)\n"
            )
        );
    }
}

#[test]
fn thousands_of_names_and_subtrees_hit_the_budget_and_are_invalid() {
    for alg in ALGS {
        let o = verify_in("rules", "roots.pem", &format!("{alg}-many-names"), &[]);
        assert_eq!(o.status.code(), Some(1), "{alg}: {o:?}");
        assert_eq!(
            stdout(&o),
            "invalid: verification budget exceeded: more than 65536 name constraint checks\n"
        );
    }
}

#[test]
fn roots_that_cannot_be_trust_anchors_are_invalid_with_the_reason() {
    for alg in ALGS {
        let o = verify_in(
            "rules",
            &format!("roots-{alg}-huge.pem"),
            &format!("{alg}-root-huge"),
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{alg}: {o:?}");
        assert_eq!(
            stdout(&o),
            "invalid: unusable trust anchor: trust anchor #0: certificate larger than MAX_CERTIFICATE_BYTES\n"
        );
        let o = verify_in(
            "rules",
            &format!("roots-{alg}-empty-san.pem"),
            &format!("{alg}-root-empty-san"),
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{alg}: {o:?}");
        assert_eq!(
            stdout(&o),
            "invalid: unusable trust anchor: trust anchor #0: subjectAltName: empty\n"
        );
    }
}

#[test]
fn every_profile_rule_fixture_gets_a_verdict() {
    // (case, exit code under the default options, start of the reason).
    let cases = [
        ("ok", 0, "valid: "),
        (
            "leaf-no-aki",
            1,
            "invalid: certificate lacks authorityKeyIdentifier",
        ),
        (
            "leaf-critical-aki",
            1,
            "invalid: authorityKeyIdentifier is marked critical",
        ),
        (
            "leaf-empty-aki-keyid",
            1,
            "invalid: malformed certificate #0",
        ),
        (
            "int-no-aki",
            1,
            "invalid: certificate lacks authorityKeyIdentifier",
        ),
        (
            "int-no-ski",
            1,
            "invalid: CA certificate lacks subjectKeyIdentifier",
        ),
        (
            "int-critical-ski",
            1,
            "invalid: subjectKeyIdentifier is marked critical",
        ),
        ("leaf-keycertsign", 1, "invalid: inconsistent CA extensions"),
        (
            "leaf-pathlen-not-ca",
            1,
            "invalid: inconsistent CA extensions",
        ),
        ("leaf-no-eku", 0, "valid: "),
        (
            "leaf-eku-server",
            1,
            "invalid: certificate not valid for client authentication",
        ),
        (
            "leaf-eku-any",
            1,
            "invalid: certificate not valid for client authentication",
        ),
        (
            "int-eku-server",
            1,
            "invalid: issuer not valid for client authentication",
        ),
        ("san-empty", 1, "invalid: malformed certificate #0"),
        ("san-empty-dns", 1, "invalid: malformed certificate #0"),
        ("san-non-ascii", 1, "invalid: malformed certificate #0"),
        ("cn-printable", 0, "valid: "),
        ("cn-not-a-string", 1, "invalid: malformed subject name"),
        ("cn-bad-printable", 1, "invalid: malformed subject name"),
        ("cn-bad-utf8", 1, "invalid: malformed subject name"),
        ("empty-subject-critical-san", 0, "valid: "),
        (
            "empty-subject-noncritical-san",
            1,
            "invalid: malformed subject name: empty subject with a non-critical subjectAltName",
        ),
    ];
    for alg in ALGS {
        for (case, code, reason) in cases {
            let o = verify_in("rules", "roots.pem", &format!("{alg}-{case}"), &[]);
            assert_eq!(o.status.code(), Some(code), "{alg}-{case}: {o:?}");
            assert!(
                stdout(&o).starts_with(reason),
                "{alg}-{case}: {}",
                stdout(&o)
            );
        }
    }
}

#[test]
fn option_flags_relax_or_tighten_the_profile() {
    for alg in ALGS {
        let case = |c: &str| format!("{alg}-{c}");
        let code = |c: &str, flags: &[&str]| {
            verify_in("rules", "roots.pem", &case(c), flags)
                .status
                .code()
        };
        assert_eq!(code("leaf-no-eku", &["--require-client-auth-eku"]), Some(1));
        let o = verify_in(
            "rules",
            "roots.pem",
            &case("leaf-no-eku"),
            &["--require-client-auth-eku"],
        );
        assert!(
            stdout(&o).contains("(require_client_auth_eku)"),
            "{}",
            stdout(&o)
        );
        assert_eq!(code("ok", &["--require-client-auth-eku"]), Some(0));
        assert_eq!(
            code("leaf-eku-any", &["--allow-any-extended-key-usage"]),
            Some(0)
        );
        assert_eq!(
            code("leaf-no-aki", &["--no-require-authority-key-id"]),
            Some(0)
        );
        assert_eq!(
            code("int-no-aki", &["--no-require-authority-key-id"]),
            Some(0)
        );
        assert_eq!(
            code("int-no-ski", &["--no-require-subject-key-id"]),
            Some(0)
        );
    }
}

#[test]
fn a_roots_file_without_certificates_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("trieguard-verify-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("roots.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let chain = testdata("chains/sm2-valid.pem");
    let o = trieguard(&[
        "verify-chain",
        "--roots",
        empty.to_str().unwrap(),
        "--at",
        AT,
        chain.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no certificate found"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A root whose basicConstraints is not critical (x509-limbo
/// `rfc5280::root-non-critical-basic-constraints`, docs/cert-rules.md): refused with its reason
/// by default, accepted with `--no-require-critical-basic-constraints`, SM2 and P-256 alike.
#[test]
fn a_non_critical_basic_constraints_root_is_refused_unless_allowed() {
    for alg in ALGS {
        let roots = format!("roots-{alg}-root-noncritical-bc.pem");
        let case = format!("{alg}-root-noncritical-bc");
        let refused = verify_in("anchors", &roots, &case, &[]);
        assert_eq!(refused.status.code(), Some(1), "{alg}: {refused:?}");
        assert!(
            stdout(&refused).contains("basicConstraints"),
            "{alg}: {}",
            stdout(&refused)
        );
        let allowed = verify_in(
            "anchors",
            &roots,
            &case,
            &["--no-require-critical-basic-constraints"],
        );
        assert_eq!(allowed.status.code(), Some(0), "{alg}: {allowed:?}");
    }
}
