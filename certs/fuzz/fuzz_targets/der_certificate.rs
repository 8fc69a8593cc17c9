//! Fuzzes the DER certificate parser and chain verification with arbitrary bytes as the leaf (and,
//! split at a marker, as an intermediate): must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// 2026-06-01T00:00:00Z, inside the fixtures' validity.
const NOW: i64 = 1_780_272_000;

fn store() -> &'static certs::TrustStore {
    static STORE: OnceLock<certs::TrustStore> = OnceLock::new();
    STORE.get_or_init(|| {
        certs::TrustStore::from_pem(include_bytes!("../../testdata/roots.pem"))
            .expect("fixture roots parse")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = certs::check_certificate_der(data);
    let (leaf, intermediate) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let _ = certs::verify_chain(store(), leaf, &[intermediate], NOW);
    let _ = certs::pem_certificates(data);
});
