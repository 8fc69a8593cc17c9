//! The SM2 base field GF(p), p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1 (GM/T 0003.5), for verification.
//!
//! An element is eight little-endian 32-bit words, always fully reduced (`< p`), so equality is
//! word equality.
//!
//! A product is first formed as sixteen unpropagated 32-bit columns, chosen per target:
//!
//! - 32-bit targets (wasm32, where the plugin runs): 64 `u32 × u32 → u64` products, each one
//!   native `i64.mul` (64-bit words would need emulated 128-bit products there). Column k sums
//!   the low halves of its own products and the high halves of column k − 1's, so it stays
//!   below 2³⁶.
//! - 64-bit targets: 16 native `u64 × u64 → u128` products carried into eight 64-bit words, then
//!   split into 32-bit columns (measured about twice as fast natively as the 32-bit path).
//!
//! [`reduce`] then folds columns 8..15 into 0..7 with the identity
//! 2²⁵⁶ ≡ 2²²⁴ + 2⁹⁶ − 2⁶⁴ + 1 (mod p) applied to each 2^(32k): small signed coefficients (a
//! Solinas-style reduction, no Montgomery form, so no conversions). One signed carry pass and at
//! most two folds of the carry out of word 7 leave a value below 2²⁵⁶, and one conditional
//! subtraction of p finishes. Tests run both product paths natively.
//!
//! Everything here is variable time: verification handles only public data.
//!
//! This file is also compiled into the build script (`build.rs`), which uses it to generate the
//! generator table; it must not refer to anything outside itself.

/// An element of GF(p): little-endian 32-bit words, `< p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe(pub(crate) [u32; 8]);

/// p as little-endian words.
const P: [u32; 8] = [
    0xffff_ffff,
    0xffff_ffff,
    0x0000_0000,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_ffff,
    0xffff_fffe,
];

/// 2²⁵⁶ mod p = 2²²⁴ + 2⁹⁶ − 2⁶⁴ + 1, as signed coefficients of the words 0..7.
const TOP: [i64; 8] = [1, 0, -1, 1, 0, 0, 0, 1];

/// The low 32 bits of a column.
const LOW: u64 = 0xffff_ffff;

impl Fe {
    /// 0.
    pub(crate) const ZERO: Fe = Fe([0; 8]);
    /// 1.
    pub(crate) const ONE: Fe = Fe([1, 0, 0, 0, 0, 0, 0, 0]);

    /// The element with this big-endian encoding, or `None` if it is not below p.
    pub(crate) fn from_be_bytes(bytes: &[u8; 32]) -> Option<Fe> {
        let words = words_from_be_bytes(bytes);
        below_p(&words).then_some(Fe(words))
    }

    /// The element for these little-endian words, or `None` if they are not below p.
    pub(crate) fn from_words(words: [u32; 8]) -> Option<Fe> {
        below_p(&words).then_some(Fe(words))
    }

    /// The 32-byte big-endian encoding.
    #[cfg(test)]
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.rchunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Whether this is 0.
    pub(crate) fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }

    /// `self + rhs`.
    pub(crate) fn add(&self, rhs: &Fe) -> Fe {
        let mut out = [0u32; 8];
        let mut carry = 0u64;
        for ((o, a), b) in out.iter_mut().zip(self.0).zip(rhs.0) {
            let t = u64::from(a) + u64::from(b) + carry;
            *o = t as u32;
            carry = t >> 32;
        }
        // The sum is below 2p; if it overflowed 2²⁵⁶ or is at least p, one subtraction fits.
        if carry != 0 || !below_p(&out) {
            Fe(sub_p(out))
        } else {
            Fe(out)
        }
    }

    /// `2·self`.
    pub(crate) fn double(&self) -> Fe {
        self.add(self)
    }

    /// `self − rhs`.
    pub(crate) fn sub(&self, rhs: &Fe) -> Fe {
        let mut out = [0u32; 8];
        let mut borrow = 0i64;
        for ((o, a), b) in out.iter_mut().zip(self.0).zip(rhs.0) {
            let t = i64::from(a) - i64::from(b) + borrow;
            *o = t as u32;
            borrow = t >> 32;
        }
        if borrow != 0 {
            // The difference wrapped to `self − rhs + 2²⁵⁶`; adding p wraps it back.
            let mut carry = 0u64;
            for (o, p) in out.iter_mut().zip(P) {
                let t = u64::from(*o) + u64::from(p) + carry;
                *o = t as u32;
                carry = t >> 32;
            }
        }
        Fe(out)
    }

    /// `−self`.
    pub(crate) fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    /// `self · rhs`.
    pub(crate) fn mul(&self, rhs: &Fe) -> Fe {
        #[cfg(target_pointer_width = "64")]
        let product = mul_64(self, rhs);
        #[cfg(not(target_pointer_width = "64"))]
        let product = mul_32(self, rhs);
        reduce(product)
    }

    /// `self²`.
    pub(crate) fn square(&self) -> Fe {
        #[cfg(target_pointer_width = "64")]
        let product = square_64(self);
        #[cfg(not(target_pointer_width = "64"))]
        let product = square_32(self);
        reduce(product)
    }

    /// `self^(2^n)`.
    pub(crate) fn square_n(&self, n: u32) -> Fe {
        let mut x = *self;
        for _ in 0..n {
            x = x.square();
        }
        x
    }

    /// `self⁻¹` by Fermat (`self^(p−2)`); 0 maps to 0. Only the build script (normalising the
    /// generator table) and tests need it: verification avoids inversions.
    #[allow(dead_code, reason = "used by build.rs and tests, not by verification")]
    pub(crate) fn invert(&self) -> Fe {
        // p − 2 = 1^31 0 1^128 0^32 1^32 1^30 0 1 (bits from the top); x_k = self^(2^k − 1).
        let x1 = *self;
        let x2 = x1.square().mul(&x1);
        let x3 = x2.square().mul(&x1);
        let x6 = x3.square_n(3).mul(&x3);
        let x7 = x6.square().mul(&x1);
        let x14 = x7.square_n(7).mul(&x7);
        let x15 = x14.square().mul(&x1);
        let x30 = x15.square_n(15).mul(&x15);
        let x31 = x30.square().mul(&x1);
        let x32 = x31.square().mul(&x1);
        let mut t = x31.square();
        for _ in 0..4 {
            t = t.square_n(32).mul(&x32);
        }
        t = t.square_n(32);
        t = t.square_n(32).mul(&x32);
        t = t.square_n(30).mul(&x30);
        t.square_n(2).mul(&x1)
    }
}

/// Big-endian bytes to little-endian words (no range check).
pub(crate) fn words_from_be_bytes(bytes: &[u8; 32]) -> [u32; 8] {
    let mut words = [0u32; 8];
    for (word, chunk) in words.iter_mut().zip(bytes.rchunks_exact(4)) {
        if let [a, b, c, d] = *chunk {
            *word = u32::from_be_bytes([a, b, c, d]);
        }
    }
    words
}

/// `(Σ low halves, Σ high halves)` of the products `x·y` of one column.
macro_rules! column {
    ($($x:ident * $y:ident),+) => {{
        let (mut lo, mut hi) = (0u64, 0u64);
        $(
            let product = $x * $y;
            lo += product & LOW;
            hi += product >> 32;
        )+
        (lo, hi)
    }};
}

/// A column of a square: the cross products `x·y` (x ≠ y) twice, plus `d²` if given.
macro_rules! square_column {
    ($($x:ident * $y:ident),* $(; $d:ident)?) => {{
        let (mut lo, mut hi) = (0u64, 0u64);
        $(
            let product = $x * $y;
            lo += product & LOW;
            hi += product >> 32;
        )*
        lo <<= 1;
        hi <<= 1;
        $(
            let product = $d * $d;
            lo += product & LOW;
            hi += product >> 32;
        )?
        (lo, hi)
    }};
}

/// Sixteen unpropagated 32-bit columns from fifteen (low, high) column sums: each column's
/// high half moves one column up. Destructured, not indexed, so the columns stay in locals.
#[cfg_attr(
    target_pointer_width = "64",
    allow(dead_code, reason = "tested natively")
)]
#[inline(always)]
fn carry_columns(columns: [(u64, u64); 15]) -> [u64; 16] {
    let [
        (l0, h0),
        (l1, h1),
        (l2, h2),
        (l3, h3),
        (l4, h4),
        (l5, h5),
        (l6, h6),
        (l7, h7),
        (l8, h8),
        (l9, h9),
        (l10, h10),
        (l11, h11),
        (l12, h12),
        (l13, h13),
        (l14, h14),
    ] = columns;
    [
        l0,
        l1 + h0,
        l2 + h1,
        l3 + h2,
        l4 + h3,
        l5 + h4,
        l6 + h5,
        l7 + h6,
        l8 + h7,
        l9 + h8,
        l10 + h9,
        l11 + h10,
        l12 + h11,
        l13 + h12,
        l14 + h13,
        h14,
    ]
}

/// The product as sixteen unpropagated 32-bit columns, from 64 `u32 × u32` products (for
/// 32-bit targets such as wasm32, where each is one native multiply). Written out column by
/// column: as loops, LLVM kept the columns in memory on wasm32.
#[cfg_attr(
    target_pointer_width = "64",
    allow(dead_code, reason = "tested natively")
)]
#[inline(always)]
fn mul_32(a: &Fe, b: &Fe) -> [u64; 16] {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = a.0.map(u64::from);
    let [b0, b1, b2, b3, b4, b5, b6, b7] = b.0.map(u64::from);
    let (l0, h0) = column!(a0 * b0);
    let (l1, h1) = column!(a0 * b1, a1 * b0);
    let (l2, h2) = column!(a0 * b2, a1 * b1, a2 * b0);
    let (l3, h3) = column!(a0 * b3, a1 * b2, a2 * b1, a3 * b0);
    let (l4, h4) = column!(a0 * b4, a1 * b3, a2 * b2, a3 * b1, a4 * b0);
    let (l5, h5) = column!(a0 * b5, a1 * b4, a2 * b3, a3 * b2, a4 * b1, a5 * b0);
    let (l6, h6) = column!(
        a0 * b6,
        a1 * b5,
        a2 * b4,
        a3 * b3,
        a4 * b2,
        a5 * b1,
        a6 * b0
    );
    let (l7, h7) = column!(
        a0 * b7,
        a1 * b6,
        a2 * b5,
        a3 * b4,
        a4 * b3,
        a5 * b2,
        a6 * b1,
        a7 * b0
    );
    let (l8, h8) = column!(
        a1 * b7,
        a2 * b6,
        a3 * b5,
        a4 * b4,
        a5 * b3,
        a6 * b2,
        a7 * b1
    );
    let (l9, h9) = column!(a2 * b7, a3 * b6, a4 * b5, a5 * b4, a6 * b3, a7 * b2);
    let (l10, h10) = column!(a3 * b7, a4 * b6, a5 * b5, a6 * b4, a7 * b3);
    let (l11, h11) = column!(a4 * b7, a5 * b6, a6 * b5, a7 * b4);
    let (l12, h12) = column!(a5 * b7, a6 * b6, a7 * b5);
    let (l13, h13) = column!(a6 * b7, a7 * b6);
    let (l14, h14) = column!(a7 * b7);
    carry_columns([
        (l0, h0),
        (l1, h1),
        (l2, h2),
        (l3, h3),
        (l4, h4),
        (l5, h5),
        (l6, h6),
        (l7, h7),
        (l8, h8),
        (l9, h9),
        (l10, h10),
        (l11, h11),
        (l12, h12),
        (l13, h13),
        (l14, h14),
    ])
}

/// The square as sixteen unpropagated columns: 28 cross products counted twice and 8 squares.
#[cfg_attr(
    target_pointer_width = "64",
    allow(dead_code, reason = "tested natively")
)]
#[inline(always)]
fn square_32(a: &Fe) -> [u64; 16] {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = a.0.map(u64::from);
    let (l0, h0) = square_column!(; a0);
    let (l1, h1) = square_column!(a0 * a1);
    let (l2, h2) = square_column!(a0 * a2; a1);
    let (l3, h3) = square_column!(a0 * a3, a1 * a2);
    let (l4, h4) = square_column!(a0 * a4, a1 * a3; a2);
    let (l5, h5) = square_column!(a0 * a5, a1 * a4, a2 * a3);
    let (l6, h6) = square_column!(a0 * a6, a1 * a5, a2 * a4; a3);
    let (l7, h7) = square_column!(a0 * a7, a1 * a6, a2 * a5, a3 * a4);
    let (l8, h8) = square_column!(a1 * a7, a2 * a6, a3 * a5; a4);
    let (l9, h9) = square_column!(a2 * a7, a3 * a6, a4 * a5);
    let (l10, h10) = square_column!(a3 * a7, a4 * a6; a5);
    let (l11, h11) = square_column!(a4 * a7, a5 * a6);
    let (l12, h12) = square_column!(a5 * a7; a6);
    let (l13, h13) = square_column!(a6 * a7);
    let (l14, h14) = square_column!(; a7);
    carry_columns([
        (l0, h0),
        (l1, h1),
        (l2, h2),
        (l3, h3),
        (l4, h4),
        (l5, h5),
        (l6, h6),
        (l7, h7),
        (l8, h8),
        (l9, h9),
        (l10, h10),
        (l11, h11),
        (l12, h12),
        (l13, h13),
        (l14, h14),
    ])
}

/// The four little-endian 64-bit words of an element.
fn pack(a: &Fe) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (o, pair) in out.iter_mut().zip(a.0.chunks_exact(2)) {
        if let [lo, hi] = *pair {
            *o = u64::from(lo) | (u64::from(hi) << 32);
        }
    }
    out
}

/// A 512-bit value in eight 64-bit words as sixteen 32-bit columns.
fn columns(w: [u64; 8]) -> [u64; 16] {
    let mut col = [0u64; 16];
    for (pair, w) in col.chunks_exact_mut(2).zip(w) {
        if let [lo, hi] = pair {
            *lo = w & LOW;
            *hi = w >> 32;
        }
    }
    col
}

/// The product from sixteen `u64 × u64 → u128` products (native on 64-bit targets, emulated on
/// wasm32), carried into 64-bit words and split into 32-bit columns for [`reduce`].
#[cfg_attr(
    not(target_pointer_width = "64"),
    allow(dead_code, reason = "64-bit targets only")
)]
fn mul_64(a: &Fe, b: &Fe) -> [u64; 16] {
    let (a, b) = (pack(a), pack(b));
    let mut w = [0u64; 8];
    for (i, a) in a.iter().enumerate() {
        let a = u128::from(*a);
        let mut carry = 0u64;
        for (j, b) in b.iter().enumerate() {
            if let Some(wij) = w.get_mut(i + j) {
                let t = a * u128::from(*b) + u128::from(*wij) + u128::from(carry);
                *wij = t as u64;
                carry = (t >> 64) as u64;
            }
        }
        if let Some(top) = w.get_mut(i + 4) {
            *top = carry;
        }
    }
    columns(w)
}

/// The square from six cross products (doubled) and four squares of 64-bit words.
#[cfg_attr(
    not(target_pointer_width = "64"),
    allow(dead_code, reason = "64-bit targets only")
)]
fn square_64(a: &Fe) -> [u64; 16] {
    let a = pack(a);
    let mut w = [0u64; 8];
    for (i, x) in a.iter().enumerate() {
        let x = u128::from(*x);
        let mut carry = 0u64;
        for (j, y) in a.iter().enumerate().skip(i + 1) {
            if let Some(wij) = w.get_mut(i + j) {
                let t = x * u128::from(*y) + u128::from(*wij) + u128::from(carry);
                *wij = t as u64;
                carry = (t >> 64) as u64;
            }
        }
        if let Some(top) = w.get_mut(i + 4) {
            *top = carry;
        }
    }
    // Double the cross products (the top bit of w[7] is 0: they sum to less than 2^511).
    let mut shifted_out = 0u64;
    for word in &mut w {
        let next = *word >> 63;
        *word = (*word << 1) | shifted_out;
        shifted_out = next;
    }
    let mut carry = 0u128;
    for (pair, x) in w.chunks_exact_mut(2).zip(a) {
        if let [lo, hi] = pair {
            let square = u128::from(x) * u128::from(x);
            let t = u128::from(*lo) + (square & u128::from(u64::MAX)) + carry;
            *lo = t as u64;
            let t = u128::from(*hi) + (square >> 64) + (t >> 64);
            *hi = t as u64;
            carry = t >> 64;
        }
    }
    columns(w)
}

/// Whether `words < p`.
fn below_p(words: &[u32; 8]) -> bool {
    // p's top word is 2³² − 2: anything smaller there is below p (nearly every value).
    let [.., top] = *words;
    if top < 0xffff_fffe {
        return true;
    }
    for (w, p) in words.iter().zip(P).rev() {
        if *w != p {
            return *w < p;
        }
    }
    false
}

/// `words − p` modulo 2²⁵⁶.
fn sub_p(mut words: [u32; 8]) -> [u32; 8] {
    let mut borrow = 0i64;
    for (w, p) in words.iter_mut().zip(P) {
        let t = i64::from(*w) - i64::from(p) + borrow;
        *w = t as u32;
        borrow = t >> 32;
    }
    words
}

/// Reduces `Σ col[k]·2^(32k)` (columns below 2³⁷, unpropagated) modulo p.
#[inline(always)]
fn reduce(col: [u64; 16]) -> Fe {
    let [
        c0,
        c1,
        c2,
        c3,
        c4,
        c5,
        c6,
        c7,
        c8,
        c9,
        c10,
        c11,
        c12,
        c13,
        c14,
        c15,
    ] = col.map(|c| c as i64);
    // Row k of the fold is 2^(32k) mod p for k = 8..15, as signed coefficients of words 0..7
    // (k = 8 is `TOP`; k + 1 shifts row k up one word and folds its word 7 back with `TOP`).
    // Column j below is word j of Σ_k col[k]·row_k; every coefficient is in −1..=3, so each sum
    // stays below 2⁴¹ in magnitude.
    let r = [
        c0 + c8 + c9 + c10 + c11 + c12 + 2 * (c13 + c14 + c15),
        c1 + c9 + c10 + c11 + c12 + c13 + 2 * (c14 + c15),
        c2 - c8 - c9 - c13 - c14,
        c3 + c8 + c11 + c12 + 2 * c13 + c14 + c15,
        c4 + c9 + c12 + c13 + 2 * c14 + c15,
        c5 + c10 + c13 + c14 + 2 * c15,
        c6 + c11 + c14 + c15,
        c7 + c8 + c9 + c10 + c11 + 2 * (c12 + c13 + c14) + 3 * c15,
    ];
    let mut out = [0u32; 8];
    let mut carry = 0i64;
    for (o, r) in out.iter_mut().zip(r) {
        let t = r + carry;
        *o = t as u32;
        carry = t >> 32;
    }
    // Now value = out + carry·2²⁵⁶ with |carry| < 2¹⁰. The first fold leaves |carry| ≤ 1; a second
    // fold cannot carry again (out is then within 2²³⁵ of 0 or of 2²⁵⁶, and TOP < 2²²⁵).
    while carry != 0 {
        let c = carry;
        carry = 0;
        for (o, t) in out.iter_mut().zip(TOP) {
            let v = i64::from(*o) + c * t + carry;
            *o = v as u32;
            carry = v >> 32;
        }
    }
    if below_p(&out) {
        Fe(out)
    } else {
        Fe(sub_p(out))
    }
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

    fn p() -> BigUint {
        BigUint::from_bytes_be(&Fe(P).to_be_bytes())
    }

    fn big(x: &Fe) -> BigUint {
        BigUint::from_bytes_be(&x.to_be_bytes())
    }

    fn fe(x: &BigUint) -> Fe {
        let bytes = (x % p()).to_bytes_be();
        let mut buf = [0u8; 32];
        buf[32 - bytes.len()..].copy_from_slice(&bytes);
        Fe::from_be_bytes(&buf).unwrap()
    }

    /// Any 256-bit value reduced mod p, biased towards the edges (0, 1, p − 1, p − 2, words of
    /// all ones or zeros), where carries and the final subtraction happen.
    fn element() -> impl Strategy<Value = Fe> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| fe(&BigUint::from_bytes_be(&b))),
            (0u32..4).prop_map(|k| fe(&BigUint::from(k))),
            (1u32..4).prop_map(|k| fe(&(p() - k))),
            any::<[bool; 8]>().prop_map(|mask| {
                let mut words = [0u32; 8];
                for (w, m) in words.iter_mut().zip(mask) {
                    *w = if m { u32::MAX } else { 0 };
                }
                fe(&BigUint::from_bytes_be(&Fe(words).to_be_bytes()))
            }),
        ]
    }

    #[test]
    fn p_is_the_sm2_prime() {
        let two = BigUint::from(2u32);
        let expected = two.pow(256) - two.pow(224) - two.pow(96) + two.pow(64) - 1u32;
        assert_eq!(p(), expected);
        assert!(Fe::from_be_bytes(&Fe(P).to_be_bytes()).is_none());
        assert!(Fe::from_words(P).is_none());
        assert_eq!(Fe::from_words(sub_p(P)), Some(Fe::ZERO));
    }

    #[test]
    fn range_check_near_p() {
        let mut above = P;
        above[2] = 1; // p + 2⁶⁴
        let mut top_below = P;
        top_below[7] = 0xffff_fffd;
        for (words, below) in [
            (P, false),
            (sub_p([u32::MAX; 8]), true), // 2²⁵⁶ − 1 − p
            ([u32::MAX; 8], false),
            (above, false),
            (top_below, true),
            (sub_p([0; 8]), true), // 2²⁵⁶ − p
        ] {
            let value = BigUint::from_bytes_be(&Fe(words).to_be_bytes());
            assert_eq!(below_p(&words), value < p(), "{words:x?}");
            assert_eq!(Fe::from_words(words).is_some(), below, "{words:x?}");
        }
        let mut minus_one = P;
        minus_one[0] -= 1;
        assert!(below_p(&minus_one));
    }

    #[test]
    fn reduce_rows_are_powers_of_two_mod_p() {
        // Each column of `reduce` holds one unit; compare with 2^(32k) mod p through the reference.
        for k in 0..16 {
            let mut col = [0u64; 16];
            col[k] = 1;
            assert_eq!(
                big(&reduce(col)),
                BigUint::from(2u32).pow(32 * k as u32) % p()
            );
        }
    }

    #[test]
    fn reduce_handles_maximal_columns() {
        let col = [(1u64 << 37) - 1; 16];
        let mut expected = BigUint::default();
        for (k, c) in col.iter().enumerate() {
            expected += BigUint::from(*c) << (32 * k);
        }
        assert_eq!(big(&reduce(col)), expected % p());
    }

    #[test]
    fn invert_of_edges() {
        assert_eq!(Fe::ZERO.invert(), Fe::ZERO);
        assert_eq!(Fe::ONE.invert(), Fe::ONE);
        let minus_one = Fe::ONE.neg();
        assert_eq!(minus_one.invert(), minus_one);
    }

    proptest! {
        #[test]
        fn add_sub_neg_match_reference(a in element(), b in element()) {
            let (x, y) = (big(&a), big(&b));
            prop_assert_eq!(big(&a.add(&b)), (&x + &y) % p());
            prop_assert_eq!(big(&a.double()), (&x + &x) % p());
            prop_assert_eq!(big(&a.sub(&b)), (&x + p() - &y) % p());
            prop_assert_eq!(big(&a.neg()), (p() - &x) % p());
        }

        #[test]
        fn mul_square_match_reference(a in element(), b in element()) {
            let (x, y) = (big(&a), big(&b));
            prop_assert_eq!(big(&a.mul(&b)), (&x * &y) % p());
            prop_assert_eq!(big(&a.square()), (&x * &x) % p());
            prop_assert_eq!(a.square(), a.mul(&a));
            // Both product paths, whichever one this target uses.
            prop_assert_eq!(reduce(mul_32(&a, &b)), a.mul(&b));
            prop_assert_eq!(reduce(mul_64(&a, &b)), a.mul(&b));
            prop_assert_eq!(reduce(square_32(&a)), a.square());
            prop_assert_eq!(reduce(square_64(&a)), a.square());
            prop_assert_eq!(big(&a.square_n(3)), x.modpow(&BigUint::from(8u32), &p()));
        }

        #[test]
        fn invert_matches_reference(a in element()) {
            prop_assume!(!a.is_zero());
            let inv = a.invert();
            prop_assert_eq!(a.mul(&inv), Fe::ONE);
            prop_assert_eq!(big(&inv), big(&a).modpow(&(p() - 2u32), &p()));
        }

        #[test]
        fn bytes_round_trip(bytes in any::<[u8; 32]>()) {
            let value = BigUint::from_bytes_be(&bytes);
            match Fe::from_be_bytes(&bytes) {
                Some(x) => {
                    prop_assert!(value < p());
                    prop_assert_eq!(x.to_be_bytes(), bytes);
                }
                None => prop_assert!(value >= p()),
            }
        }
    }
}
