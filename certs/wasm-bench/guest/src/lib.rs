//! Guest module: exports `setup`, `certs_verify(n)` and `libsm_verify(n)`; each verify export
//! checks the same SM2 signature `n` times and returns how many verified. `chain_verify(n, full)`
//! validates the unconstrained 3-level SM2 fixture chain `n` times with every check (`full` = 1)
//! or without the profile checks and the name-constraint pass (`full` = 0, the baseline).

use std::sync::OnceLock;

use sm2::dsa::signature::Signer as _;
use sm2::elliptic_curve::sec1::ToSec1Point as _;

struct Sample {
    message: Vec<u8>,
    signature: Vec<u8>,
    point: Vec<u8>,
    certs_key: certs::Sm2PublicKey,
}

static SAMPLE: OnceLock<Sample> = OnceLock::new();

fn sample() -> &'static Sample {
    SAMPLE.get_or_init(|| {
        let signer = sm2::dsa::SigningKey::from_slice(certs::DEFAULT_SM2_ID, &[0x5a; 32]).unwrap();
        let message = vec![0xa5u8; 600];
        let sig: sm2::dsa::Signature = signer.sign(&message);
        let point = signer
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        let certs_key = certs::Sm2PublicKey::from_sec1(certs::DEFAULT_SM2_ID, &point).unwrap();
        Sample {
            message,
            signature: sig.to_der().as_bytes().to_vec(),
            point,
            certs_key,
        }
    })
}

/// Prepares the sample (signing happens here, outside the timed calls).
#[unsafe(no_mangle)]
pub extern "C" fn setup() -> u32 {
    sample().signature.len() as u32
}

/// Verifies the sample `n` times through `certs`.
#[unsafe(no_mangle)]
pub extern "C" fn certs_verify(n: u32) -> u32 {
    let s = sample();
    (0..n)
        .filter(|_| {
            s.certs_key
                .verify(std::hint::black_box(&s.message), &s.signature)
        })
        .count() as u32
}

/// Verifies the sample `n` times through `libsm` (its first call builds libsm's generator table).
#[unsafe(no_mangle)]
pub extern "C" fn libsm_verify(n: u32) -> u32 {
    let s = sample();
    let ctx = libsm::sm2::signature::SigCtx::new();
    let pk = ctx.load_pubkey(&s.point).unwrap();
    let sig = libsm::sm2::signature::Signature::der_decode(&s.signature).unwrap();
    (0..n)
        .filter(|_| {
            ctx.verify(std::hint::black_box(&s.message), &pk, &sig)
                .unwrap_or(false)
        })
        .count() as u32
}

/// 2026-06-01T00:00:00Z, inside the fixture chain's validity.
const CHAIN_NOW: i64 = 1_780_272_000;

struct ChainSample {
    full: certs::TrustStore,
    baseline: certs::TrustStore,
    ders: Vec<Vec<u8>>,
}

static CHAIN: OnceLock<ChainSample> = OnceLock::new();

fn chain_sample() -> &'static ChainSample {
    CHAIN.get_or_init(|| {
        let roots = include_bytes!("../../../testdata/roots.pem");
        let full = certs::TrustStore::from_pem(roots).unwrap();
        let baseline = full.clone().with_options(
            certs::ValidationOptions::default().bench_baseline_without_profile_checks(),
        );
        let ders =
            certs::pem_certificates(include_bytes!("../../../testdata/chains/sm2-valid.pem"))
                .unwrap();
        ChainSample {
            full,
            baseline,
            ders,
        }
    })
}

/// Validates the SM2 chain `n` times (`full` 1: every check, 0: the baseline); returns how many
/// validated.
#[unsafe(no_mangle)]
pub extern "C" fn chain_verify(n: u32, full: u32) -> u32 {
    let s = chain_sample();
    let store = if full == 1 { &s.full } else { &s.baseline };
    let Some((leaf, rest)) = s.ders.split_first() else {
        return 0;
    };
    (0..n)
        .filter(|_| {
            certs::verify_chain(store, std::hint::black_box(leaf), rest, CHAIN_NOW).is_ok()
        })
        .count() as u32
}
