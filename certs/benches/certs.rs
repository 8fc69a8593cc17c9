//! certs benchmarks (`cargo bench -p certs`, also `cargo xtask bench certs`).
//!
//! 1. SM2 verifications per second through the production path ([`certs::Sm2PublicKey`]),
//!    measured for a fixed wall-clock time next to `openssl speed -seconds 3 sm2`, which this
//!    bench runs itself in the same run, so the ratio compares like with like on the same machine.
//! 2. Criterion groups: one SM2 verify; whole-chain verification uncached (SM2 4-level, P-256,
//!    RSA); cached (DER key and XFCC element); a new leaf under known intermediates.

// A benchmark aborts loudly on a broken fixture.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use certs::{
    CacheLimits, ChainVerifier, ElementSelector, Sm2PublicKey, TrustStore, VerificationCache, Xfcc,
};
use criterion::Criterion;
use sm2::dsa::signature::Signer as _;
use sm2::elliptic_curve::sec1::ToSec1Point as _;

/// 2026-06-01T00:00:00Z, inside the fixtures' validity.
const NOW: i64 = 1_780_272_000;

/// How long each side of the SM2 ratio runs (the same as `openssl speed -seconds 3`).
const RATIO_SECONDS: u64 = 3;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .expect("fixture")
}

fn chain(case: &str) -> Vec<Vec<u8>> {
    certs::pem_certificates(&read(&format!("chains/{case}.pem"))).expect("fixture chain")
}

fn store() -> TrustStore {
    TrustStore::from_pem(&read("roots.pem"))
        .expect("fixture roots")
        .with_generation(1)
}

/// A key, a certificate-sized message and its signature.
fn sm2_sample() -> (Sm2PublicKey, Vec<u8>, Vec<u8>) {
    let signer = sm2::dsa::SigningKey::from_slice(certs::DEFAULT_SM2_ID, &[0x5a; 32]).expect("key");
    let message = vec![0xa5u8; 600];
    let signature: sm2::dsa::Signature = signer.sign(&message);
    let point = signer.verifying_key().to_sec1_point(false);
    let key = Sm2PublicKey::from_sec1(certs::DEFAULT_SM2_ID, point.as_bytes()).expect("point");
    (key, message, signature.to_der().as_bytes().to_vec())
}

/// Runs `openssl speed -seconds 3 sm2` and returns its verify/s (the last column of the SM2 row).
fn openssl_sm2_verifies_per_second() -> Result<f64, String> {
    let openssl = std::env::var("OPENSSL").unwrap_or_else(|_| "openssl".to_owned());
    let out = std::process::Command::new(&openssl)
        .args(["speed", "-seconds", &RATIO_SECONDS.to_string(), "sm2"])
        .output()
        .map_err(|e| format!("cannot run {openssl}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("SM2") && l.contains("bits"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no SM2 row in `openssl speed` output:\n{text}"))
}

/// CPU time this thread has used, from Linux's `/proc/thread-self/schedstat` (nanoseconds on CPU),
/// or `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// Verifies per second of CPU time (what `openssl speed` reports by default: it divides by user
/// CPU time, so both sides are comparable on a busy machine), plus per second of wall time.
fn native_sm2_verifies_per_second() -> (f64, f64) {
    let (key, message, signature) = sm2_sample();
    let budget = Duration::from_secs(RATIO_SECONDS);
    let cpu_start = thread_cpu_time();
    let start = Instant::now();
    let mut count = 0u64;
    loop {
        for _ in 0..32 {
            assert!(key.verify(black_box(&message), black_box(&signature)));
        }
        count += 32;
        let cpu = match (cpu_start, thread_cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => start.elapsed(),
        };
        if cpu >= budget || start.elapsed() >= budget * 4 {
            let wall = start.elapsed().as_secs_f64();
            return (count as f64 / cpu.as_secs_f64(), count as f64 / wall);
        }
    }
}

/// Native and OpenSSL measured alternately, twice each, both per CPU second, so that load from
/// other processes affects both sides alike; every pair is printed and the best of each compared.
fn sm2_ratio() {
    let mut best_native: f64 = 0.0;
    let mut best_openssl: f64 = 0.0;
    for round in 1..=2 {
        let (native, wall) = native_sm2_verifies_per_second();
        best_native = best_native.max(native);
        println!(
            "certs/sm2-ratio: round {round}: certs sm2 verify {native:.0} verify/s of CPU time ({wall:.0}/s of wall time)"
        );
        match openssl_sm2_verifies_per_second() {
            Ok(openssl) => {
                best_openssl = best_openssl.max(openssl);
                println!(
                    "certs/sm2-ratio: round {round}: openssl speed -seconds {RATIO_SECONDS} sm2 {openssl:.0} verify/s (per CPU second, its default)"
                );
            }
            Err(e) => println!("certs/sm2-ratio: openssl not measured: {e}"),
        }
    }
    if best_openssl > 0.0 {
        println!(
            "certs/sm2-ratio: best native {best_native:.0} / best openssl {best_openssl:.0} = {:.2} (target >= 1.00)",
            best_native / best_openssl
        );
    }
}

fn bench_signatures(c: &mut Criterion) {
    let (key, message, signature) = sm2_sample();
    c.bench_function("sm2_verify_600B", |b| {
        b.iter(|| assert!(key.verify(black_box(&message), black_box(&signature))))
    });
    // The same through RustCrypto's own constant-time `sm2::dsa::VerifyingKey`, for comparison.
    use sm2::dsa::signature::Verifier as _;
    let signer = sm2::dsa::SigningKey::from_slice(certs::DEFAULT_SM2_ID, &[0x5a; 32]).expect("key");
    let sig = sm2::dsa::Signature::from_der(&signature).expect("der");
    let vk = signer.verifying_key().clone();
    c.bench_function("sm2_verify_600B_rustcrypto_dsa", |b| {
        b.iter(|| assert!(vk.verify(black_box(&message), black_box(&sig)).is_ok()))
    });
}

fn bench_chains(c: &mut Criterion) {
    let store = store();
    let mut group = c.benchmark_group("chain_uncached");
    for case in ["sm2-valid", "p256-valid", "rsa-valid"] {
        let ders = chain(case);
        group.bench_function(case, |b| {
            b.iter(|| {
                certs::verify_chain(&store, black_box(&ders[0]), black_box(&ders[1..]), NOW)
                    .expect("valid")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("chain_cached");
    let ders = chain("sm2-valid");
    let mut verifier = ChainVerifier::new(store.clone(), CacheLimits::default());
    verifier
        .verify_der(&ders[0], &ders[1..], NOW)
        .expect("valid");
    group.bench_function("sm2-valid_der", |b| {
        b.iter(|| {
            verifier
                .verify_der(black_box(&ders[0]), black_box(&ders[1..]), NOW)
                .expect("valid")
        })
    });
    let header = xfcc_header("sm2-valid");
    let element = Xfcc::parse_selected(&header, ElementSelector::Last).expect("xfcc");
    verifier.verify_xfcc_element(&element, NOW).expect("valid");
    group.bench_function("sm2-valid_xfcc_element", |b| {
        b.iter(|| {
            verifier
                .verify_xfcc_element(black_box(&element), NOW)
                .expect("valid")
        })
    });
    group.bench_function("sm2-valid_xfcc_parse_and_lookup", |b| {
        b.iter(|| {
            let element =
                Xfcc::parse_selected(black_box(&header), ElementSelector::Last).expect("xfcc");
            verifier.verify_xfcc_element(&element, NOW).expect("valid")
        })
    });
    group.finish();

    // Verdict misses. "all_links_known": every issuer link (leaf's included) was verified before,
    // so no signature is checked (decode, parse, SHA-256 link keys). "new_leaf": a cache that knows
    // alice's chain sees erin, a new leaf under the same intermediates: one SM2 signature.
    let mut group = c.benchmark_group("chain_miss");
    group.sample_size(30);
    let erin = chain("sm2-second-leaf");
    let mut cache = VerificationCache::default();
    cache
        .verify_der(&store, &erin[0], &erin[1..], NOW)
        .expect("valid");
    let mut n = 0u64;
    group.bench_function("sm2_all_links_known", |b| {
        b.iter(|| {
            n += 1;
            let presented = n.to_le_bytes();
            cache
                .verify_presented(&store, &[&presented], NOW, || {
                    Ok((erin[0].clone(), erin[1..].to_vec()))
                })
                .expect("valid")
        })
    });
    group.bench_function("sm2_new_leaf_known_intermediates", |b| {
        b.iter_batched(
            || {
                let mut cache = VerificationCache::default();
                cache
                    .verify_der(&store, &ders[0], &ders[1..], NOW)
                    .expect("valid");
                cache
            },
            |mut cache| {
                cache
                    .verify_der(&store, &erin[0], &erin[1..], NOW)
                    .expect("valid")
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Percent-encodes as Envoy does for `Cert` and `Chain`.
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

fn xfcc_header(case: &str) -> String {
    let pem = String::from_utf8(read(&format!("chains/{case}.pem"))).expect("utf-8");
    let end =
        pem.find("-----END CERTIFICATE-----").expect("pem") + "-----END CERTIFICATE-----".len();
    let leaf = format!("{}\n", &pem[..end]);
    format!(
        "By=spiffe://trieguard.test/front;Hash=00;Cert=\"{}\";Chain=\"{}\";Subject=\"CN=alice\";URI=spiffe://trieguard.test/client/alice",
        url_encode(&leaf),
        url_encode(&pem)
    )
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_signatures(&mut c);
    bench_chains(&mut c);
    c.final_summary();
    sm2_ratio();
}
