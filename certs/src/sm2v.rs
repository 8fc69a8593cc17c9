//! SM2 signature verification (GM/T 0003.2 §7.1, verification B1–B7) in variable time.
//!
//! Verification handles only public data (key, message, signature), so it may branch on it. The
//! arithmetic is our own and built for wasm32, where the plugin runs:
//!
//! ```text
//!  field.rs  GF(p) in eight 32-bit words: u32×u32→u64 products on wasm32 (one i64.mul each),
//!            u64×u64→u128 on 64-bit targets; Solinas-style reduction for
//!            p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1, no Montgomery form
//!  point.rs  Jacobian doubling (a = −3) and additions, exceptional cases by branching
//!  mult.rs   s·G + t·P_A with one shared chain of doublings: t in width-5 NAF over 8 odd
//!            multiples of P_A built per call; s in width-9 NAF over 128 affine odd multiples
//!            of G generated at compile time by build.rs (a static table, no start-up work)
//! ```
//!
//! B7 needs no inversion: `x1 ≡ r − e (mod n)` with `x1 < p < 2n` means `x1 = u` or `x1 = u + n`
//! for `u = (r − e) mod n`, and `x1 = X/Z²` is compared as `X = x1·Z²`.
//!
//! Scalars mod n (decoding r and s, `t = r + s`, `r − e`) and SEC1 key decoding use RustCrypto
//! `sm2`; `Z_A` is precomputed per key, so a verification hashes only the message. Cross-checked
//! against `sm2::dsa::VerifyingKey` and `libsm` in tests.

mod field;
mod mult;
mod point;

use field::{Fe, words_from_be_bytes};
use point::{Affine, Jacobian};
use sm2::elliptic_curve::sec1::ToSec1Point as _;
use sm2::{FieldBytes, PublicKey, Scalar};
use sm3::{Digest as _, Sm3};

/// Curve coefficient a (GM/T 0003.5).
const A: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc,
];
/// Curve coefficient b.
const B: [u8; 32] = [
    0x28, 0xe9, 0xfa, 0x9e, 0x9d, 0x9f, 0x5e, 0x34, 0x4d, 0x5a, 0x9e, 0x4b, 0xcf, 0x65, 0x09, 0xa7,
    0xf3, 0x97, 0x89, 0xf5, 0x15, 0xab, 0x8f, 0x92, 0xdd, 0xbc, 0xbd, 0x41, 0x4d, 0x94, 0x0e, 0x93,
];
/// Generator x.
const GX: [u8; 32] = [
    0x32, 0xc4, 0xae, 0x2c, 0x1f, 0x19, 0x81, 0x19, 0x5f, 0x99, 0x04, 0x46, 0x6a, 0x39, 0xc9, 0x94,
    0x8f, 0xe3, 0x0b, 0xbf, 0xf2, 0x66, 0x0b, 0xe1, 0x71, 0x5a, 0x45, 0x89, 0x33, 0x4c, 0x74, 0xc7,
];
/// Generator y.
const GY: [u8; 32] = [
    0xbc, 0x37, 0x36, 0xa2, 0xf4, 0xf6, 0x77, 0x9c, 0x59, 0xbd, 0xce, 0xe3, 0x6b, 0x69, 0x21, 0x53,
    0xd0, 0xa9, 0x87, 0x7c, 0xc6, 0x2a, 0x47, 0x40, 0x02, 0xdf, 0x32, 0xe5, 0x21, 0x39, 0xf0, 0xa0,
];

/// An SM2 public key ready for verification: the point and `Z_A` for one distinguishing ID.
#[derive(Debug, Clone)]
pub(crate) struct Sm2Key {
    point: Affine,
    z: [u8; 32],
}

impl Sm2Key {
    /// Decodes a SEC1 point on the SM2 curve (not the identity) and computes
    /// `Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)` (GM/T 0003.2 §5.5).
    pub(crate) fn from_sec1(id: &str, bytes: &[u8]) -> Option<Self> {
        let id_bits = u16::try_from(id.len().checked_mul(8)?).ok()?;
        let public = PublicKey::from_sec1_bytes(bytes).ok()?;
        let uncompressed = public.as_affine().to_sec1_point(false);
        let xy = uncompressed.as_bytes().get(1..65)?;
        let (x, y) = xy.split_at(32);
        let point = Affine {
            x: Fe::from_be_bytes(x.try_into().ok()?)?,
            y: Fe::from_be_bytes(y.try_into().ok()?)?,
        };
        let mut h = Sm3::new();
        h.update(id_bits.to_be_bytes());
        h.update(id.as_bytes());
        for part in [&A, &B, &GX, &GY] {
            h.update(part);
        }
        h.update(xy);
        let mut z = [0u8; 32];
        z.copy_from_slice(&h.finalize());
        Some(Self { point, z })
    }

    /// Verifies a DER `SM2Signature` over `message` (GM/T 0003.2 §7.1).
    pub(crate) fn verify(&self, message: &[u8], signature_der: &[u8]) -> bool {
        // B1, B2: r, s in [1, n-1] (checked when the signature is decoded).
        let Ok(signature) = sm2::dsa::Signature::from_der(signature_der) else {
            return false;
        };
        let (r, s) = (*signature.r(), *signature.s());
        // B3, B4: e = SM3(Z_A || M).
        let mut h = Sm3::new();
        h.update(self.z);
        h.update(message);
        let digest: FieldBytes = h.finalize();
        let e = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&digest);
        self.check(&e, &r, &s)
    }

    /// B5–B7 for `e` and a decoded signature (`r`, `s` in [1, n − 1]).
    fn check(&self, e: &Scalar, r: &Scalar, s: &Scalar) -> bool {
        // B5: t = r + s mod n, t != 0.
        let t = r + s;
        if bool::from(t.is_zero()) {
            return false;
        }
        // B6: (x1, y1) = [s]G + [t]P_A, not the identity (checked by `b7_holds`).
        let sum = mult::mul_g_add_mul_p(&scalar_words(s), &scalar_words(&t), &self.point);
        // B7: R = e + x1 mod n must equal r.
        b7_holds(&sum, &(r - e))
    }
}

/// A scalar's little-endian words.
fn scalar_words(k: &Scalar) -> [u32; 8] {
    words_from_be_bytes(&k.to_bytes().into())
}

/// n, the order of G, as little-endian words.
const N: [u32; 8] = [
    0x39d5_4123,
    0x53bb_f409,
    0x21c6_052b,
    0x7203_df6b,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_fffe,
];

/// Whether `sum` is not the identity and its affine x satisfies `x mod n = u` (B7 as
/// `(e + x1) mod n = r` with `u = r − e mod n`), without an inversion. Since `n < p < 2n`,
/// `x mod n = u` means `x = u` or, when `u + n < p`, `x = u + n`.
fn b7_holds(sum: &Jacobian, u: &Scalar) -> bool {
    let u = scalar_words(u);
    // u < n < p, so it is always a field element.
    if Fe::from_words(u).is_some_and(|x| sum.has_affine_x(&x)) {
        return true;
    }
    let mut plus_n = [0u32; 8];
    let mut carry = 0u64;
    for ((o, a), b) in plus_n.iter_mut().zip(u).zip(N) {
        let t = u64::from(a) + u64::from(b) + carry;
        *o = t as u32;
        carry = t >> 32;
    }
    carry == 0 && Fe::from_words(plus_n).is_some_and(|x| sum.has_affine_x(&x))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;
    use sm2::ProjectivePoint;
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    use sm2::elliptic_curve::group::Group as _;
    use sm2::elliptic_curve::point::AffineCoordinates as _;

    const ID: &str = "1234567812345678";

    fn reduce(bytes: &[u8; 32]) -> Scalar {
        <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&(*bytes).into())
    }

    fn big_words(words: &[u32; 8]) -> BigUint {
        let mut bytes = Vec::new();
        for w in words.iter().rev() {
            bytes.extend_from_slice(&w.to_be_bytes());
        }
        BigUint::from_bytes_be(&bytes)
    }

    fn fe_of(x: &BigUint) -> Fe {
        let bytes = x.to_bytes_be();
        let mut buf = [0u8; 32];
        buf[32 - bytes.len()..].copy_from_slice(&bytes);
        Fe::from_be_bytes(&buf).unwrap()
    }

    /// B5–B7 through RustCrypto's curve arithmetic: the reference for `Sm2Key::check`.
    fn reference_check(public: &ProjectivePoint, e: &Scalar, r: &Scalar, s: &Scalar) -> bool {
        let t = r + s;
        if bool::from(t.is_zero()) {
            return false;
        }
        let sum = ProjectivePoint::generator() * s + public * &t;
        if bool::from(sum.is_identity()) {
            return false;
        }
        *r == *e
            + <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&sum.to_affine().x())
    }

    fn make_key(d: &Scalar) -> (Sm2Key, ProjectivePoint) {
        let public = ProjectivePoint::generator() * d;
        let encoded = public.to_affine().to_sec1_point(false);
        (Sm2Key::from_sec1(ID, encoded.as_bytes()).unwrap(), public)
    }

    /// A signature (r, s) valid for `e` under key `d` with the chosen `s`: pick a nonce k, then
    /// `r = (k − s(1 + d))/d` satisfies `s = (1 + d)⁻¹(k − r·d)`, and `e = r − x1(kG)`. `None`
    /// where a signer would retry.
    fn signature_with_s(d: &Scalar, k: &Scalar, s: &Scalar) -> Option<(Scalar, Scalar)> {
        let r = (*k - *s * (Scalar::ONE + d)) * Option::<Scalar>::from(d.invert())?;
        let x1 = (ProjectivePoint::generator() * k).to_affine().x();
        let e = r - <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&x1);
        // r = 0 or r + s = 0 (t = 0) are the cases a signer rejects and retries.
        (!bool::from(r.is_zero()) && !bool::from((r + s).is_zero())).then_some((e, r))
    }

    #[test]
    fn agrees_with_rustcrypto_sm2() {
        for seed in 1u8..6 {
            let signer = sm2::dsa::SigningKey::from_slice(ID, &[seed; 32]).unwrap();
            let point = signer.verifying_key().to_sec1_point(false);
            let msg = vec![seed; 100 * usize::from(seed)];
            let sig: sm2::dsa::Signature = signer.sign(&msg);
            let der = sig.to_der();
            let key = Sm2Key::from_sec1(ID, point.as_bytes()).unwrap();
            assert!(signer.verifying_key().verify(&msg, &sig).is_ok());
            assert!(key.verify(&msg, der.as_bytes()));
            assert!(!key.verify(&msg[1..], der.as_bytes()));
            let other_id = Sm2Key::from_sec1("123456781234567", point.as_bytes()).unwrap();
            assert!(!other_id.verify(&msg, der.as_bytes()));
            let mut bad = der.as_bytes().to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(!key.verify(&msg, &bad));
        }
        assert!(Sm2Key::from_sec1(ID, &[4; 65]).is_none());
    }

    #[test]
    fn compressed_and_uncompressed_keys_agree() {
        let signer = sm2::dsa::SigningKey::from_slice(ID, &[7; 32]).unwrap();
        let msg = b"certificate".as_slice();
        let sig: sm2::dsa::Signature = signer.sign(msg);
        for compress in [false, true] {
            let point = signer.verifying_key().to_sec1_point(compress);
            let key = Sm2Key::from_sec1(ID, point.as_bytes()).unwrap();
            assert!(key.verify(msg, sig.to_der().as_bytes()));
        }
    }

    #[test]
    fn edge_scalars_behave_like_the_reference() {
        let d = reduce(&[0x42; 32]);
        let (ours, public) = make_key(&d);
        let minus_one = -Scalar::ONE;
        for s in [
            Scalar::ONE,
            Scalar::from(2u64),
            minus_one,
            minus_one - Scalar::ONE,
        ] {
            for k in [
                Scalar::ONE,
                Scalar::from(3u64),
                minus_one,
                reduce(&[0x99; 32]),
            ] {
                let Some((e, r)) = signature_with_s(&d, &k, &s) else {
                    continue;
                };
                assert!(reference_check(&public, &e, &r, &s));
                assert!(ours.check(&e, &r, &s), "s = {s:?}, k = {k:?}");
                assert!(!ours.check(&(e + Scalar::ONE), &r, &s));
            }
        }
        // t = r + s wraps to 0 (rejected at B5) and just past n.
        for r in [Scalar::ONE, minus_one, reduce(&[0x17; 32])] {
            let s = -r;
            assert!(!ours.check(&Scalar::ONE, &r, &s));
            for s in [Scalar::ONE - r + Scalar::ONE, minus_one] {
                let e = reduce(&[0x5c; 32]);
                assert_eq!(ours.check(&e, &r, &s), reference_check(&public, &e, &r, &s));
            }
        }
        // The key is G or −G: s·G and t·P_A collide or cancel inside the multiplication.
        for d in [Scalar::ONE, minus_one] {
            let (ours, public) = make_key(&d);
            for (r, s) in [(Scalar::ONE, Scalar::ONE), (Scalar::ONE, minus_one)] {
                for e in [Scalar::ZERO, Scalar::ONE, minus_one] {
                    assert_eq!(
                        ours.check(&e, &r, &s),
                        reference_check(&public, &e, &r, &s),
                        "d = {d:?}, r = {r:?}, s = {s:?}, e = {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn b7_accepts_x1_at_or_above_n() {
        // x1 in [n, p) reduces to x1 − n; such points are too rare to reach through a
        // signature, so B7 is checked on raw coordinates with Z ≠ 1.
        let n = big_words(&N);
        let p = BigUint::from_bytes_be(&Fe::ZERO.sub(&Fe::ONE).to_be_bytes()) + 1u32;
        let z = fe_of(&BigUint::from(12345u32));
        for x in [
            n.clone(),
            &n + 1u32,
            &p - 1u32,
            BigUint::from(5u32),
            &n - 1u32,
        ] {
            let sum = Jacobian::from_raw(fe_of(&x).mul(&z.square()), Fe::ONE, z);
            let reduced = &x % &n;
            let u = reduce(&fe_of(&reduced).to_be_bytes());
            assert!(b7_holds(&sum, &u), "x = {x:x}");
            assert!(!b7_holds(&sum, &(u + Scalar::ONE)));
        }
        let identity = Jacobian::from_raw(Fe::ONE, Fe::ONE, Fe::ZERO);
        assert!(!b7_holds(&identity, &Scalar::ZERO));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn b7_matches_x_mod_n(x in any::<[u8; 32]>(), z in any::<[u8; 32]>(), u in any::<[u8; 32]>()) {
            let Some(x) = Fe::from_be_bytes(&x) else { return Ok(()) };
            let Some(z) = Fe::from_be_bytes(&z) else { return Ok(()) };
            prop_assume!(!z.is_zero());
            let sum = Jacobian::from_raw(x.mul(&z.square()), Fe::ONE, z);
            let n = big_words(&N);
            let x_mod_n = BigUint::from_bytes_be(&x.to_be_bytes()) % &n;
            let right = reduce(&fe_of(&x_mod_n).to_be_bytes());
            prop_assert!(b7_holds(&sum, &right));
            let u = reduce(&u);
            prop_assert_eq!(b7_holds(&sum, &u), u == right);
        }

        #[test]
        fn random_signatures_match_the_reference(
            d in any::<[u8; 32]>(),
            e in any::<[u8; 32]>(),
            r in any::<[u8; 32]>(),
            s in any::<[u8; 32]>(),
        ) {
            let d = reduce(&d);
            prop_assume!(!bool::from(d.is_zero()));
            let (ours, public) = make_key(&d);
            let (e, r, s) = (reduce(&e), reduce(&r), reduce(&s));
            prop_assume!(!bool::from(r.is_zero()) && !bool::from(s.is_zero()));
            prop_assert_eq!(ours.check(&e, &r, &s), reference_check(&public, &e, &r, &s));
        }

        #[test]
        fn tampered_signatures_fail(
            secret in any::<[u8; 32]>(),
            msg in proptest::collection::vec(any::<u8>(), 0..200),
            which in 0usize..4,
            bit in 0usize..256,
        ) {
            let Ok(signer) = sm2::dsa::SigningKey::from_slice(ID, &secret) else { return Ok(()) };
            let sig: sm2::dsa::Signature = signer.sign(&msg);
            let point = signer.verifying_key().to_sec1_point(false);
            let key = Sm2Key::from_sec1(ID, point.as_bytes()).unwrap();
            prop_assert!(key.verify(&msg, sig.to_der().as_bytes()));
            let (mut r, mut s) = (sig.r().to_bytes(), sig.s().to_bytes());
            let mut msg = msg;
            let mut key = key;
            match which {
                0 => r[bit / 8] ^= 1 << (bit % 8),
                1 => s[bit / 8] ^= 1 << (bit % 8),
                2 => {
                    if msg.is_empty() {
                        msg.push(0);
                    } else {
                        let i = bit % msg.len();
                        msg[i] ^= 1 << (bit % 8);
                    }
                }
                _ => {
                    // Another key: the signer's secret plus one.
                    let d = reduce(&secret) + Scalar::ONE;
                    prop_assume!(!bool::from(d.is_zero()));
                    key = make_key(&d).0;
                }
            }
            let Ok(tampered) = sm2::dsa::Signature::from_scalars(r, s) else {
                return Ok(()); // out of range: rejected at decoding
            };
            prop_assert!(!key.verify(&msg, tampered.to_der().as_bytes()));
        }
    }
}
