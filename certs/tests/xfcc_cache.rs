//! XFCC headers carrying the fixture chains, verified through `ChainVerifier` and its cache.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use certs::{CacheLimits, ChainVerifier, ElementSelector, TrustStore, VerificationCache, Xfcc};
use common::NOW;

fn read(name: &str) -> String {
    String::from_utf8(common::read(name)).unwrap()
}

fn store(generation: u64) -> TrustStore {
    common::store(&["roots.pem"]).with_generation(generation)
}

/// Percent-encodes everything but unreserved characters, as Envoy does for `Cert` and `Chain`.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first PEM block of a file.
fn first_block(pem: &str) -> String {
    let end = pem.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    format!("{}\n", &pem[..end])
}

/// An element as Envoy writes it for a client presenting `case`.
fn element(case: &str) -> String {
    let chain = read(&format!("chains/{case}.pem"));
    format!(
        "By=spiffe://trieguard.test/front;Hash=00;Cert=\"{}\";Chain=\"{}\";Subject=\"CN=x\";URI=spiffe://trieguard.test/client/alice",
        url_encode(&first_block(&chain)),
        url_encode(&chain)
    )
}

#[test]
fn xfcc_elements_decode_to_leaf_and_intermediates() {
    let header = format!("{},{}", element("sm2-valid"), element("p256-valid"));
    let elements = Xfcc::parse(&header).unwrap();
    assert_eq!(elements.len(), 2);
    let (leaf, intermediates) = ElementSelector::FromEnd(1)
        .select(&elements)
        .unwrap()
        .certificates()
        .unwrap();
    assert_eq!(intermediates.len(), 2, "the leaf copy in Chain is dropped");
    let path = certs::verify_chain(&store(1), &leaf, &intermediates, NOW).unwrap();
    assert_eq!(path.subject_cn(), Some("alice"));
    let (leaf, _) = ElementSelector::Last
        .select(&elements)
        .unwrap()
        .certificates()
        .unwrap();
    assert_ne!(leaf.len(), 0);
    // Chain alone: its first certificate is the leaf.
    let chain_only = format!("Chain={}", url_encode(&read("chains/sm2-valid.pem")));
    let e = Xfcc::parse_selected(&chain_only, ElementSelector::Last).unwrap();
    let (leaf2, ints2) = e.certificates().unwrap();
    assert_eq!((leaf2.len(), ints2.len()), (leaf.len().max(leaf2.len()), 2));
    // No certificate at all.
    let e = Xfcc::parse_selected("By=x;Hash=00", ElementSelector::First).unwrap();
    assert_eq!(e.certificates().unwrap_err().code(), "no_certificate");
    let e = Xfcc::parse_selected("Cert=%ZZ", ElementSelector::First).unwrap();
    assert_eq!(e.certificates().unwrap_err().code(), "malformed");
}

#[test]
fn verifier_caches_valid_and_invalid_verdicts_per_generation() {
    let mut verifier = ChainVerifier::new(store(1), CacheLimits::default());
    let good = element("sm2-valid");
    let good = Xfcc::parse_selected(&good, ElementSelector::Last).unwrap();
    let first = verifier.verify_xfcc_element(&good, NOW).unwrap();
    let again = verifier.verify_xfcc_element(&good, NOW).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "served from the cache"
    );
    assert_eq!(verifier.cache().stats().hits, 1);

    let bad = element("expired");
    let bad = Xfcc::parse_selected(&bad, ElementSelector::Last).unwrap();
    assert_eq!(
        verifier.verify_xfcc_element(&bad, NOW).unwrap_err().code(),
        "expired"
    );
    assert_eq!(
        verifier.verify_xfcc_element(&bad, NOW).unwrap_err().code(),
        "expired"
    );
    assert_eq!(verifier.cache().stats().hits, 2);

    // Invalid verdicts expire sooner than valid ones.
    let later = NOW + certs::DEFAULT_INVALID_TTL_SECONDS + 1;
    let misses = verifier.cache().stats().misses;
    verifier.verify_xfcc_element(&bad, later).unwrap_err();
    verifier.verify_xfcc_element(&good, later).unwrap();
    let stats = verifier.cache().stats();
    assert_eq!((stats.misses - misses, stats.hits), (1, 3));

    // A new trust-store generation never sees the old verdicts.
    verifier.set_store(store(2));
    let misses = verifier.cache().stats().misses;
    verifier.verify_xfcc_element(&good, NOW).unwrap();
    assert_eq!(verifier.cache().stats().misses, misses + 1);
}

#[test]
fn a_valid_verdict_never_outlives_the_chain() {
    let mut cache = VerificationCache::new(CacheLimits {
        valid_ttl_seconds: i64::MAX / 4,
        ..CacheLimits::default()
    });
    let store = store(1);
    let ders = certs::pem_certificates(read("chains/sm2-valid.pem").as_bytes()).unwrap();
    let path = cache.verify_der(&store, &ders[0], &ders[1..], NOW).unwrap();
    let after = path.valid_until() + 1;
    assert_eq!(
        cache
            .verify_der(&store, &ders[0], &ders[1..], after)
            .unwrap_err()
            .code(),
        "expired"
    );
}

#[test]
fn a_new_leaf_under_known_intermediates_costs_one_signature() {
    let mut cache = VerificationCache::default();
    let store = store(1);
    let alice = certs::pem_certificates(read("chains/sm2-valid.pem").as_bytes()).unwrap();
    let erin = certs::pem_certificates(read("chains/sm2-second-leaf.pem").as_bytes()).unwrap();
    cache
        .verify_der(&store, &alice[0], &alice[1..], NOW)
        .unwrap();
    assert_eq!(cache.stats().link_hits, 0);
    let path = cache.verify_der(&store, &erin[0], &erin[1..], NOW).unwrap();
    assert_eq!(path.subject_cn(), Some("erin"));
    assert_eq!(
        cache.stats().link_hits,
        2,
        "int2->int1 and int1->root were remembered; only erin->int2 was checked"
    );
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let mut cache = VerificationCache::new(CacheLimits {
        verdict_capacity: 16,
        ..CacheLimits::default()
    });
    let store = store(1);
    for i in 0u32..200 {
        let junk = i.to_be_bytes();
        assert!(
            cache
                .verify_der(&store, &junk, &[] as &[&[u8]], NOW)
                .is_err()
        );
    }
    assert!(cache.len() <= 16);
}
