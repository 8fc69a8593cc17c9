//! Guest module: exports `setup`, `certs_verify(n)` and `libsm_verify(n)`; each verify export
//! checks the same SM2 signature `n` times and returns how many verified.

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
