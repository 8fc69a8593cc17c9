//! Cross-check of the production SM2 backend (RustCrypto `sm2`, through [`certs::Sm2PublicKey`])
//! against the independent `libsm` implementation: signatures made by either verify under the
//! other, and a changed message or signature verifies under neither.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use certs::{DEFAULT_SM2_ID, Sm2PublicKey};
use libsm::sm2::signature::{SigCtx, Signature as LibsmSignature};
use proptest::prelude::*;
use sm2::dsa::signature::Signer as _;
use sm2::elliptic_curve::sec1::ToSec1Point as _;

fn config() -> ProptestConfig {
    // Unoptimised big-number code in test builds: keep the case count modest.
    ProptestConfig {
        cases: 8,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn libsm_signatures_verify_under_sm2(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..300)) {
        let ctx = SigCtx::new();
        prop_assume!(secret.iter().any(|&b| b != 0));
        let Ok(sk) = ctx.load_seckey(&secret) else { return Ok(()) };
        let pk = ctx.pk_from_sk(&sk).unwrap();
        let sig = ctx.sign(&msg, &sk, &pk).unwrap().der_encode();
        let point = ctx.serialize_pubkey(&pk, false).unwrap();
        let key = Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, &point).unwrap();
        prop_assert!(key.verify(&msg, &sig));
        let mut other = msg.clone();
        other.push(1);
        prop_assert!(!key.verify(&other, &sig));
        let other_id = Sm2PublicKey::from_sec1("another id", &point).unwrap();
        prop_assert!(!other_id.verify(&msg, &sig));
    }

    #[test]
    fn sm2_signatures_verify_under_libsm(secret in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..300)) {
        let Ok(signer) = sm2::dsa::SigningKey::from_slice(DEFAULT_SM2_ID, &secret) else { return Ok(()) };
        let sig: sm2::dsa::Signature = signer.sign(&msg);
        let der = sig.to_der();
        let point = signer.verifying_key().to_sec1_point(false);
        let ctx = SigCtx::new();
        let pk = ctx.load_pubkey(point.as_bytes()).unwrap();
        let decoded = LibsmSignature::der_decode(der.as_bytes()).unwrap();
        prop_assert!(ctx.verify(&msg, &pk, &decoded).unwrap());
        let mut other = msg.clone();
        other.push(1);
        prop_assert!(!ctx.verify(&other, &pk, &decoded).unwrap());
        // And the production path agrees.
        let key = Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, point.as_bytes()).unwrap();
        prop_assert!(key.verify(&msg, der.as_bytes()));
    }
}

#[test]
fn a_flipped_signature_bit_fails_under_both() {
    let ctx = SigCtx::new();
    let (pk, sk) = ctx.new_keypair().unwrap();
    let msg = b"trieguard";
    let mut sig = ctx.sign(msg, &sk, &pk).unwrap().der_encode();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    let point = ctx.serialize_pubkey(&pk, false).unwrap();
    assert!(
        !Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, &point)
            .unwrap()
            .verify(msg, &sig)
    );
    let decoded = LibsmSignature::der_decode(&sig).unwrap();
    assert!(!ctx.verify(msg, &pk, &decoded).unwrap());
}
