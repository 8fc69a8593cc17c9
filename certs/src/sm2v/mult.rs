//! `s·G + t·P` in variable time: one chain of 256 doublings shared by both scalars (Straus–Shamir),
//! each scalar in width-w NAF.
//!
//! - `t·P`: P is a new key each time, so its odd multiples P, 3P, …, 15P (w = 5) are built per
//!   call in Jacobian coordinates (one doubling, seven additions); about 256/6 ≈ 43 additions.
//! - `s·G`: the odd multiples G, 3G, …, (2^(w−1) − 1)·G for a wide window are affine points
//!   generated at compile time by `build.rs` (`$OUT_DIR/sm2_g_table.rs`, a `static`, so there is
//!   no start-up work), and each non-zero digit is one mixed addition: about 256/(w + 1)
//!   additions and no doublings of its own.

use super::point::{Affine, Jacobian, odd_multiples};

#[allow(unused_imports, reason = "the generated table names `Fe`")]
use super::field::Fe;

// Defines `G_WINDOW` (the wNAF width for s) and `G_ODD_MULTIPLES: [Affine; 1 << (G_WINDOW − 2)]`.
include!(concat!(env!("OUT_DIR"), "/sm2_g_table.rs"));

/// wNAF width for t·P: 8 precomputed points per call; w = 6 would save ≈ 6 additions for 8 more.
const P_WINDOW: u32 = 5;

/// Number of odd multiples of P: P, 3P, …, (2^(P_WINDOW−1) − 1)·P.
const P_TABLE_LEN: usize = 1 << (P_WINDOW - 2);

/// Digits of a 256-bit scalar in width-w NAF (one more digit for the final carry).
type Digits = [i16; 257];

/// The width-`w` NAF of `k` (little-endian words), `2 ≤ w ≤ 15`: every digit is 0 or odd with
/// `|d| < 2^(w−1)`, any `w` consecutive digits hold at most one non-zero, and
/// `k = Σ digits[i]·2^i`.
pub(crate) fn wnaf(k: &[u32; 8], w: u32) -> Digits {
    let mut digits = [0i16; 257];
    // `carry` is a pending +1 at position `bit` left by a negative digit below it.
    let mut carry = 0u32;
    let mut bit = 0usize;
    while bit < 256 {
        if bit_at(k, bit) == carry {
            // bit + carry is 0 or 2: digit 0, and the carry (if any) moves up.
            bit += 1;
            continue;
        }
        // bit + carry = 1: take a w-bit window starting here (it is odd).
        let width = w.min(256 - bit as u32);
        let window = bits_at(k, bit, width) + carry;
        let digit = if window >> (w - 1) != 0 {
            carry = 1;
            window as i32 - (1i32 << w)
        } else {
            carry = 0;
            window as i32
        };
        if let Some(d) = digits.get_mut(bit) {
            *d = digit as i16;
        }
        bit += width as usize;
    }
    if let Some(d) = digits.get_mut(256) {
        *d = carry as i16;
    }
    digits
}

/// Bit `i` of `k` (0 past the end).
fn bit_at(k: &[u32; 8], i: usize) -> u32 {
    k.get(i / 32).map_or(0, |w| (w >> (i % 32)) & 1)
}

/// Bits `i .. i + width` of `k` (`width ≤ 32`; 0 past the end).
fn bits_at(k: &[u32; 8], i: usize, width: u32) -> u32 {
    let lo = u64::from(k.get(i / 32).copied().unwrap_or(0));
    let hi = u64::from(k.get(i / 32 + 1).copied().unwrap_or(0));
    let both = (lo | (hi << 32)) >> (i % 32);
    (both & ((1u64 << width) - 1)) as u32
}

/// The table entry for an odd digit `d` (`table[(|d| − 1)/2]`), negated if `d < 0`.
fn entry<T: Copy>(table: &[T], d: i16, neg: impl Fn(&T) -> T) -> Option<T> {
    let point = table.get(usize::from(d.unsigned_abs() / 2))?;
    Some(if d < 0 { neg(point) } else { *point })
}

/// `s·G + t·P` for scalars given as little-endian words (any values below 2²⁵⁶).
pub(crate) fn mul_g_add_mul_p(s: &[u32; 8], t: &[u32; 8], p: &Affine) -> Jacobian {
    let s_digits = wnaf(s, G_WINDOW);
    let t_digits = wnaf(t, P_WINDOW);
    let p_table: [Jacobian; P_TABLE_LEN] = odd_multiples(p);
    let mut acc = Jacobian::IDENTITY;
    for (ds, dt) in s_digits.iter().zip(&t_digits).rev() {
        acc = acc.double();
        if *dt != 0
            && let Some(q) = entry(&p_table, *dt, Jacobian::neg)
        {
            acc = acc.add(&q);
        }
        if *ds != 0
            && let Some(q) = entry(&G_ODD_MULTIPLES, *ds, Affine::neg)
        {
            acc = acc.add_affine(&q);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::super::field::words_from_be_bytes;
    use super::*;
    use num_bigint::{BigInt, BigUint};
    use proptest::prelude::*;
    use sm2::elliptic_curve::group::Group as _;
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    use sm2::{ProjectivePoint, Scalar};

    fn affine_bytes(p: &Affine) -> Vec<u8> {
        let mut out = vec![4u8];
        out.extend_from_slice(&p.x.to_be_bytes());
        out.extend_from_slice(&p.y.to_be_bytes());
        out
    }

    fn scalar_words(k: &Scalar) -> [u32; 8] {
        words_from_be_bytes(&k.to_bytes().into())
    }

    /// The generated table holds exactly (2i + 1)·G, computed here by RustCrypto.
    #[test]
    fn generator_table_is_odd_multiples_of_g() {
        assert_eq!(G_ODD_MULTIPLES.len(), 1 << (G_WINDOW - 2));
        let g = ProjectivePoint::generator();
        let twice = g.double();
        let mut expected = g;
        for entry in &G_ODD_MULTIPLES {
            assert_eq!(
                affine_bytes(entry),
                expected.to_affine().to_sec1_point(false).as_bytes()
            );
            expected += twice;
        }
    }

    #[test]
    fn wnaf_of_edges() {
        for w in [2, 5, G_WINDOW, 15] {
            for k in [[0u32; 8], [u32::MAX; 8], [1, 0, 0, 0, 0, 0, 0, 0], {
                let mut k = [0u32; 8];
                k[7] = 1 << 31;
                k
            }] {
                check_wnaf(&k, w);
            }
        }
    }

    fn check_wnaf(k: &[u32; 8], w: u32) {
        let digits = wnaf(k, w);
        let mut value = BigInt::default();
        for (i, d) in digits.iter().enumerate() {
            value += BigInt::from(*d) << i;
            assert!(*d == 0 || (d % 2 != 0 && d.unsigned_abs() < 1 << (w - 1)));
        }
        let mut bytes = Vec::new();
        for word in k.iter().rev() {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        assert_eq!(value, BigInt::from(BigUint::from_bytes_be(&bytes)));
        for window in digits.windows(w as usize) {
            assert!(window.iter().filter(|d| **d != 0).count() <= 1);
        }
    }

    proptest! {
        #[test]
        fn wnaf_represents_the_scalar(k in any::<[u32; 8]>(), w in 2u32..16) {
            check_wnaf(&k, w);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn double_scalar_matches_rustcrypto(
            s in any::<[u8; 32]>(),
            t in any::<[u8; 32]>(),
            d in any::<[u8; 32]>(),
            edge in 0usize..6,
        ) {
            let reduce = |b: [u8; 32]| {
                <Scalar as sm2::elliptic_curve::ops::Reduce<sm2::FieldBytes>>::reduce(&b.into())
            };
            let (mut s, mut t, d) = (reduce(s), reduce(t), reduce(d));
            // Edges: s or t of 0, 1 and n − 1; P = ±G makes s·G and t·P collide or cancel.
            match edge {
                1 => s = Scalar::ONE,
                2 => s = -Scalar::ONE,
                3 => t = Scalar::ZERO,
                4 => t = -Scalar::ONE,
                _ => {}
            }
            let d = if edge == 5 { Scalar::ONE } else { d };
            let public = ProjectivePoint::generator() * d;
            prop_assume!(!bool::from(public.is_identity()));
            let p = crate::sm2v::point::tests::ours(&public).unwrap();
            let expected = ProjectivePoint::generator() * s + public * t;
            let got = mul_g_add_mul_p(&scalar_words(&s), &scalar_words(&t), &p);
            match got.to_affine() {
                None => prop_assert!(bool::from(expected.is_identity())),
                Some(a) => prop_assert_eq!(
                    affine_bytes(&a),
                    expected.to_affine().to_sec1_point(false).as_bytes().to_vec()
                ),
            }
        }

        #[test]
        fn cancelling_scalars_give_the_identity(s in any::<[u8; 32]>()) {
            // s·G + (n − s)·G = identity, with P = G.
            let s = <Scalar as sm2::elliptic_curve::ops::Reduce<sm2::FieldBytes>>::reduce(&s.into());
            let got = mul_g_add_mul_p(&scalar_words(&s), &scalar_words(&-s), &super::super::point::G);
            prop_assert!(got.is_identity());
        }
    }
}
