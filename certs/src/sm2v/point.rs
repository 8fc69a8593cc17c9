//! Points of the SM2 curve y² = x³ − 3x + b over GF(p) (GM/T 0003.5), in affine and Jacobian
//! coordinates, with variable-time formulas for a = −3.
//!
//! A Jacobian point (X, Y, Z) is the affine point (X/Z², Y/Z³); Z = 0 is the identity. The
//! additions detect their exceptional cases (equal inputs, opposite inputs, the identity) by
//! branching, which is fine because verification handles only public points.
//!
//! Like `field.rs`, this file is also compiled into the build script, which generates the
//! generator table with it; it refers only to `super::field`.

use super::field::Fe;

/// An affine point on the curve (never the identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine {
    /// x.
    pub(crate) x: Fe,
    /// y.
    pub(crate) y: Fe,
}

/// A point in Jacobian coordinates; `z = 0` is the identity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

/// The generator G (GM/T 0003.5), little-endian words.
#[allow(
    dead_code,
    reason = "used by build.rs and tests; verification uses the generated table"
)]
pub(crate) const G: Affine = Affine {
    x: Fe([
        0x334c_74c7,
        0x715a_4589,
        0xf266_0be1,
        0x8fe3_0bbf,
        0x6a39_c994,
        0x5f99_0446,
        0x1f19_8119,
        0x32c4_ae2c,
    ]),
    y: Fe([
        0x2139_f0a0,
        0x02df_32e5,
        0xc62a_4740,
        0xd0a9_877c,
        0x6b69_2153,
        0x59bd_cee3,
        0xf4f6_779c,
        0xbc37_36a2,
    ]),
};

impl Affine {
    /// `−self`.
    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

impl From<Affine> for Jacobian {
    fn from(p: Affine) -> Self {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }
}

impl Jacobian {
    /// The identity (point at infinity).
    pub(crate) const IDENTITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    /// A point from raw coordinates, unchecked (tests build off-curve values for B7).
    #[cfg(test)]
    pub(crate) fn from_raw(x: Fe, y: Fe, z: Fe) -> Jacobian {
        Jacobian { x, y, z }
    }

    /// Whether this is the identity.
    pub(crate) fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    /// `−self`.
    pub(crate) fn neg(&self) -> Jacobian {
        Jacobian {
            x: self.x,
            y: self.y.neg(),
            z: self.z,
        }
    }

    /// Whether this point is not the identity and its affine x equals `x` (`X = x·Z²`, no
    /// inversion).
    pub(crate) fn has_affine_x(&self, x: &Fe) -> bool {
        !self.is_identity() && self.x == x.mul(&self.z.square())
    }

    /// The affine form (one inversion), or `None` for the identity.
    #[allow(dead_code, reason = "used by build.rs and tests, not by verification")]
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.is_identity() {
            return None;
        }
        let zinv = self.z.invert();
        let zinv2 = zinv.square();
        Some(Affine {
            x: self.x.mul(&zinv2),
            y: self.y.mul(&zinv2.mul(&zinv)),
        })
    }

    /// `2·self`: 3M + 5S ("dbl-2001-b", using a = −3).
    pub(crate) fn double(&self) -> Jacobian {
        if self.is_identity() {
            return *self;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        // alpha = 3·(X − δ)·(X + δ) = 3X² + a·Z⁴ with a = −3.
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2_8 = gamma.square().double().double().double();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2_8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` for an affine `q`: 8M + 3S.
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_identity() {
            return Jacobian::from(*q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z.mul(&z1z1));
        self.finish_add(&self.x, &self.y, &u2, &s2, &self.z)
    }

    /// `self + q`: 12M + 4S.
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_identity() {
            return *q;
        }
        if q.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&q.z.mul(&z2z2));
        let s2 = q.y.mul(&self.z.mul(&z1z1));
        self.finish_add(&u1, &s1, &u2, &s2, &self.z.mul(&q.z))
    }

    /// The common end of both additions, from the two points brought to one denominator
    /// (`u1`, `s1` for `self`, `u2`, `s2` for the other) and the product `z1z2` of their `Z`s:
    /// `self + self` when they are equal, the identity when they are opposite.
    #[inline(always)]
    fn finish_add(&self, u1: &Fe, s1: &Fe, u2: &Fe, s2: &Fe, z1z2: &Fe) -> Jacobian {
        let h = u2.sub(u1);
        let r = s2.sub(s1);
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::IDENTITY
            };
        }
        let hh = h.square();
        let hhh = h.mul(&hh);
        let v = u1.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&hhh));
        Jacobian {
            x: x3,
            y: y3,
            z: z1z2.mul(&h),
        }
    }
}

/// `[P, 3P, 5P, …, (2N − 1)P]`.
pub(crate) fn odd_multiples<const N: usize>(p: &Affine) -> [Jacobian; N] {
    let first = Jacobian::from(*p);
    let twice = first.double();
    let mut table = [first; N];
    let mut acc = first;
    for slot in table.iter_mut().skip(1) {
        acc = acc.add(&twice);
        *slot = acc;
    }
    table
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use proptest::prelude::*;
    use sm2::elliptic_curve::group::Group as _;
    use sm2::elliptic_curve::sec1::{FromSec1Point as _, ToSec1Point as _};
    use sm2::{AffinePoint, ProjectivePoint, Scalar};

    /// Our affine form of a RustCrypto point (None for the identity).
    pub(crate) fn ours(p: &ProjectivePoint) -> Option<Affine> {
        let encoded = p.to_affine().to_sec1_point(false);
        let bytes = encoded.as_bytes();
        if bytes.len() != 65 {
            return None;
        }
        Some(Affine {
            x: Fe::from_be_bytes(bytes[1..33].try_into().unwrap()).unwrap(),
            y: Fe::from_be_bytes(bytes[33..65].try_into().unwrap()).unwrap(),
        })
    }

    /// A RustCrypto point from ours.
    fn theirs(p: &Jacobian) -> ProjectivePoint {
        let Some(a) = p.to_affine() else {
            return ProjectivePoint::IDENTITY;
        };
        let mut bytes = vec![4u8];
        bytes.extend_from_slice(&a.x.to_be_bytes());
        bytes.extend_from_slice(&a.y.to_be_bytes());
        let point = sm2::Sec1Point::from_bytes(&bytes).unwrap();
        ProjectivePoint::from(AffinePoint::from_sec1_point(&point).unwrap())
    }

    fn scalar(k: u64) -> Scalar {
        Scalar::from(k)
    }

    /// k·G for a small k, on RustCrypto's side.
    fn multiple(k: &Scalar) -> ProjectivePoint {
        ProjectivePoint::generator() * k
    }

    /// A scalar from 32 bytes (reduced mod n), plus edges 1, 2, n − 1, n − 2.
    fn any_scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| {
                <Scalar as sm2::elliptic_curve::ops::Reduce<sm2::FieldBytes>>::reduce(&b.into())
            }),
            (1u64..3).prop_map(scalar),
            (1u64..3).prop_map(|k| -scalar(k)),
        ]
    }

    #[test]
    fn generator_matches_rustcrypto() {
        assert_eq!(ours(&ProjectivePoint::generator()), Some(G));
    }

    #[test]
    fn exceptional_cases() {
        let g = Jacobian::from(G);
        assert!(g.add(&g.neg()).is_identity());
        assert!(g.add_affine(&G.neg()).is_identity());
        assert_eq!(theirs(&g.add(&g)), multiple(&scalar(2)));
        assert_eq!(theirs(&g.add_affine(&G)), multiple(&scalar(2)));
        assert!(Jacobian::IDENTITY.double().is_identity());
        assert_eq!(theirs(&Jacobian::IDENTITY.add(&g)), multiple(&scalar(1)));
        assert_eq!(theirs(&g.add(&Jacobian::IDENTITY)), multiple(&scalar(1)));
        assert_eq!(
            theirs(&Jacobian::IDENTITY.add_affine(&G)),
            multiple(&scalar(1))
        );
        assert!(Jacobian::IDENTITY.to_affine().is_none());
        assert!(!Jacobian::IDENTITY.has_affine_x(&Fe::ONE));
        // (n − 1)·G + G = identity, through a Jacobian with Z ≠ 1.
        let minus_g = theirs_to_jacobian(&multiple(&-scalar(1)));
        assert!(minus_g.add_affine(&G).is_identity());
    }

    /// A Jacobian form of a RustCrypto point with a Z ≠ 1 (scaled by Z = 7).
    fn theirs_to_jacobian(p: &ProjectivePoint) -> Jacobian {
        let a = ours(p).unwrap();
        let z = Fe::from_words([7, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        let z2 = z.square();
        Jacobian {
            x: a.x.mul(&z2),
            y: a.y.mul(&z2.mul(&z)),
            z,
        }
    }

    #[test]
    fn odd_multiples_match_rustcrypto() {
        let table: [Jacobian; 8] = odd_multiples(&G);
        for (i, p) in table.iter().enumerate() {
            assert_eq!(theirs(p), multiple(&scalar(2 * i as u64 + 1)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn formulas_match_rustcrypto(a in any_scalar(), b in any_scalar()) {
            let (pa, pb) = (multiple(&a), multiple(&b));
            prop_assume!(!bool::from(pa.is_identity()) && !bool::from(pb.is_identity()));
            let (ja, jb) = (theirs_to_jacobian(&pa), theirs_to_jacobian(&pb));
            let affine_b = ours(&pb).unwrap();
            prop_assert_eq!(theirs(&ja.double()), pa.double());
            prop_assert_eq!(theirs(&ja.add(&jb)), pa + pb);
            prop_assert_eq!(theirs(&ja.add_affine(&affine_b)), pa + pb);
            prop_assert_eq!(theirs(&ja.add(&jb.neg())), pa - pb);
            prop_assert_eq!(theirs(&ja.add_affine(&affine_b.neg())), pa - pb);
            prop_assert!(ja.has_affine_x(&ours(&pa).unwrap().x));
            prop_assert_eq!(ja.has_affine_x(&affine_b.x), pa == pb || pa == -pb);
        }
    }
}
