//! Fixture loading shared by the integration tests: paths under `testdata/`, trust stores, chains,
//! verification at the pinned instant, and the staleness check of the generation scripts.

// Each test crate uses its own subset of these helpers; helpers may panic (they are test code).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use certs::{ChainError, TrustStore, VerifiedPath, pem_certificates, verify_chain};

/// 2026-06-01T00:00:00Z: inside every "valid" fixture's validity window.
pub const NOW: i64 = 1_780_272_000;

/// The algorithms of the `constraints/` and `rules/` fixtures.
pub const ALGS: [&str; 2] = ["sm2", "p256"];

/// A path under `certs/testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// The bytes of a file under `certs/testdata/`.
pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(testdata(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A trust store of every certificate in the given PEM files (under `testdata/`).
pub fn store(roots: &[&str]) -> TrustStore {
    let pem: Vec<u8> = roots.iter().flat_map(|r| read(r)).collect();
    TrustStore::from_pem(&pem).unwrap()
}

/// The DER certificates of a PEM file under `testdata/`, in order.
pub fn chain(name: &str) -> Vec<Vec<u8>> {
    pem_certificates(&read(name)).unwrap()
}

/// Verifies DER certificates (leaf first) against `store` at [`NOW`].
pub fn verify_ders(store: &TrustStore, ders: &[Vec<u8>]) -> Result<VerifiedPath, ChainError> {
    let (leaf, rest) = ders.split_first().unwrap();
    verify_chain(store, leaf, rest, NOW)
}

/// Verifies the chain in a PEM file under `testdata/` against `store` at [`NOW`].
pub fn verify_pem(store: &TrustStore, name: &str) -> Result<VerifiedPath, ChainError> {
    verify_ders(store, &chain(name))
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fails when `<dir>/generate.sh` (with `lib.sh`, for the scripts that source it) changed since
/// its fixtures were generated: `generated-from.sha256` records the digest the script wrote.
pub fn assert_fixtures_fresh(dir: &str) {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut script = read(&format!("{prefix}generate.sh"));
    if String::from_utf8_lossy(&script).contains("lib.sh\"") {
        script.extend(read("lib.sh"));
    }
    let recorded = String::from_utf8(read(&format!("{prefix}generated-from.sha256"))).unwrap();
    assert_eq!(
        recorded.trim(),
        hex_sha256(&script),
        "testdata/{prefix}generate.sh changed since the fixtures were generated: run `bash certs/testdata/{prefix}generate.sh` and commit the result"
    );
}
