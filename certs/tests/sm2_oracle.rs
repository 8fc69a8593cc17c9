//! Cross-check of the production SM2 verification (`certs::Sm2PublicKey`: our own variable-time
//! arithmetic in `sm2v`) against the independent `libsm` implementation: signatures made by either
//! side verify under the other, and a changed message, ID or signature verifies under neither.
//!
//! `libsm`'s own `sign`/`verify` first build an 8192-point generator table, which takes about a
//! minute in an unoptimised test build. The property tests therefore drive libsm's SM3, `Z_A`
//! hash and curve arithmetic (`EccCtx::mul`, `add`, `inv_n`) through GM/T 0003.2 §6.1/§7.1 here,
//! and the tests that call `SigCtx::sign`/`verify` as they are run in optimised builds
//! (`cargo test --release -p certs --test sm2_oracle`) and are ignored otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use certs::{DEFAULT_SM2_ID, Sm2PublicKey};
use libsm::sm2::ecc::{EccCtx, Point};
use libsm::sm2::signature::{SigCtx, Signature as LibsmSignature};
use num_bigint::BigUint;
use proptest::prelude::*;
use sm2::dsa::signature::Signer as _;
use sm2::elliptic_curve::sec1::ToSec1Point as _;

fn n(curve: &EccCtx) -> BigUint {
    curve.get_n().clone()
}

/// libsm signing, GM/T 0003.2 §6.1, with a caller-chosen nonce `k` (A1–A7).
fn libsm_sign(
    curve: &EccCtx,
    ctx: &SigCtx,
    d: &BigUint,
    pk: &Point,
    k: &BigUint,
    msg: &[u8],
) -> Option<Vec<u8>> {
    let n = n(curve);
    let e = BigUint::from_bytes_be(&ctx.hash(DEFAULT_SM2_ID, pk, msg).unwrap());
    let (x1, _) = curve
        .to_affine(&curve.mul(k, &curve.generator().unwrap()).unwrap())
        .unwrap();
    let r = (e + x1.to_biguint()) % &n;
    if r == BigUint::default() || (&r + k) % &n == BigUint::default() {
        return None;
    }
    let inv = curve.inv_n(&((d + 1u32) % &n)).unwrap();
    let rd = (&r * d) % &n;
    let s = (inv * ((k + &n - rd) % &n)) % &n;
    if s == BigUint::default() {
        return None;
    }
    Some(LibsmSignature::new(&r.to_bytes_be(), &s.to_bytes_be()).der_encode())
}

/// libsm verification, GM/T 0003.2 §7.1 (B1–B7).
fn libsm_verify(curve: &EccCtx, ctx: &SigCtx, pk: &Point, msg: &[u8], der: &[u8]) -> bool {
    let n = n(curve);
    let Ok(sig) = LibsmSignature::der_decode(der) else {
        return false;
    };
    let (r, s) = (sig.get_r().clone(), sig.get_s().clone());
    let zero = BigUint::default();
    if r == zero || s == zero || r >= n || s >= n {
        return false;
    }
    let e = BigUint::from_bytes_be(&ctx.hash(DEFAULT_SM2_ID, pk, msg).unwrap());
    let t = (&r + &s) % &n;
    if t == zero {
        return false;
    }
    let p1 = curve
        .add(
            &curve.mul(&s, &curve.generator().unwrap()).unwrap(),
            &curve.mul(&t, pk).unwrap(),
        )
        .unwrap();
    let (x1, _) = curve.to_affine(&p1).unwrap();
    (e + x1.to_biguint()) % &n == r
}

/// A libsm key pair from 32 secret bytes (None for 0 or ≥ n - 1).
fn libsm_key(curve: &EccCtx, secret: &[u8; 32]) -> Option<(BigUint, Point, Vec<u8>)> {
    let d = BigUint::from_bytes_be(secret);
    if d == BigUint::default() || d >= n(curve) - 1u32 {
        return None;
    }
    let pk = curve.mul(&d, &curve.generator().unwrap()).unwrap();
    let bytes = curve.point_to_bytes(&pk, false).unwrap();
    Some((d, pk, bytes))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn libsm_signatures_verify_under_certs(
        secret in any::<[u8; 32]>(),
        nonce in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let curve = EccCtx::new();
        let ctx = SigCtx::new();
        let Some((d, pk, point)) = libsm_key(&curve, &secret) else { return Ok(()) };
        let k = BigUint::from_bytes_be(&nonce) % n(&curve);
        prop_assume!(k != BigUint::default());
        let Some(sig) = libsm_sign(&curve, &ctx, &d, &pk, &k, &msg) else { return Ok(()) };
        let key = Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, &point).unwrap();
        prop_assert!(key.verify(&msg, &sig));
        let mut other = msg.clone();
        other.push(1);
        prop_assert!(!key.verify(&other, &sig));
        prop_assert!(!Sm2PublicKey::from_sec1("another id", &point).unwrap().verify(&msg, &sig));
        // libsm's own verification agrees with itself.
        prop_assert!(libsm_verify(&curve, &ctx, &pk, &msg, &sig));
    }

    #[test]
    fn certs_and_rustcrypto_signatures_verify_under_libsm(
        secret in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
        flip in any::<u8>(),
    ) {
        let Ok(signer) = sm2::dsa::SigningKey::from_slice(DEFAULT_SM2_ID, &secret) else { return Ok(()) };
        let sig: sm2::dsa::Signature = signer.sign(&msg);
        let der = sig.to_der();
        let point = signer.verifying_key().to_sec1_point(false);
        let curve = EccCtx::new();
        let ctx = SigCtx::new();
        let pk = ctx.load_pubkey(point.as_bytes()).unwrap();
        prop_assert!(libsm_verify(&curve, &ctx, &pk, &msg, der.as_bytes()));
        let key = Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, point.as_bytes()).unwrap();
        prop_assert!(key.verify(&msg, der.as_bytes()));
        // A flipped bit in r or s: rejected by both.
        let mut bad = der.as_bytes().to_vec();
        let i = bad.len() - 1 - usize::from(flip % 16);
        bad[i] ^= 1 << (flip % 8);
        prop_assert!(!libsm_verify(&curve, &ctx, &pk, &msg, &bad));
        prop_assert!(!key.verify(&msg, &bad));
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "libsm's generator table takes about a minute unoptimised; run with --release"
)]
fn libsm_sign_and_verify_as_shipped() {
    let ctx = SigCtx::new();
    for i in 0..16u8 {
        let (pk, sk) = ctx.new_keypair().unwrap();
        let msg = vec![i; 37 * usize::from(i)];
        let point = ctx.serialize_pubkey(&pk, false).unwrap();
        let key = Sm2PublicKey::from_sec1(DEFAULT_SM2_ID, &point).unwrap();
        let sig = ctx.sign(&msg, &sk, &pk).unwrap().der_encode();
        assert!(key.verify(&msg, &sig), "libsm SigCtx::sign -> certs");
        let signer =
            sm2::dsa::SigningKey::from_slice(DEFAULT_SM2_ID, &ctx.serialize_seckey(&sk).unwrap())
                .unwrap();
        let ours: sm2::dsa::Signature = signer.sign(&msg);
        let decoded = LibsmSignature::der_decode(ours.to_der().as_bytes()).unwrap();
        assert!(
            ctx.verify(&msg, &pk, &decoded).unwrap(),
            "RustCrypto sign -> libsm SigCtx::verify"
        );
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!key.verify(&msg, &bad));
        assert!(
            !ctx.verify(&msg, &pk, &LibsmSignature::der_decode(&bad).unwrap())
                .unwrap()
        );
    }
}
