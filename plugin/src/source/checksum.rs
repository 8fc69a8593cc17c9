//! Checksums of what the service VM hands to the worker VMs through shared data: XXH3-128.
//!
//! These guard consistency, not authenticity. Shared data is scoped by `vm_id` and written only
//! by this module's own VMs, so nothing hostile can place bytes there; what a worker can meet is
//! a part read while the service replaces it with a newer publication, or a service of another
//! build. XXH3-128 detects both (a wrong part passes with probability 2^-128) and reads a 22 MB
//! policy in about 6 ms inside V8, where SHA-256 takes 130–280 ms: on every worker, for every
//! push (design note 14). The operator's SHA-256 of the policy is still checked, once, by the
//! service when it fetches the policy ([`super::digest::PolicyDigest`]), and stays the policy's
//! name in metrics, logs and the manifest.

use std::fmt;

use xxhash_rust::xxh3::{Xxh3, xxh3_128};

/// The XXH3-128 of a published part.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartChecksum(u128);

impl PartChecksum {
    /// The checksum of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(xxh3_128(bytes))
    }

    /// 32 hex digits (either case).
    pub fn parse_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(u128::from_be_bytes(out)))
    }

    /// Lower-case hex, 32 digits.
    pub fn to_hex(self) -> String {
        hex::encode(self.0.to_be_bytes())
    }
}

impl fmt::Debug for PartChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xxh3:{}", self.to_hex())
    }
}

/// A checksum computed over bytes that arrive in parts.
#[derive(Clone, Default)]
pub struct PartHasher(Xxh3);

impl PartHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The checksum of every byte taken.
    pub fn finish(&self) -> PartChecksum {
        PartChecksum(self.0.digest128())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_anything_but_32_digits() {
        let sum = PartChecksum::of(b"a route set");
        assert_eq!(sum.to_hex().len(), 32);
        assert_eq!(PartChecksum::parse_hex(&sum.to_hex()), Some(sum));
        assert_eq!(
            PartChecksum::parse_hex(&sum.to_hex().to_uppercase()),
            Some(sum)
        );
        for bad in ["", "00", &"0".repeat(31), &"0".repeat(33), &"g".repeat(32)] {
            assert_eq!(PartChecksum::parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_empty_input_has_xxh3s_published_value() {
        // XXH3-128 of no bytes (seed 0), from the xxHash reference implementation.
        assert_eq!(
            PartChecksum::of(b"").to_hex(),
            "99aa06d3014798d86001c324468d497f"
        );
    }

    proptest! {
        #[test]
        fn fed_in_any_parts_it_equals_the_one_shot_checksum(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut hasher = PartHasher::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                hasher.update(bytes.get(start..cut).unwrap_or_default());
                start = cut;
            }
            prop_assert_eq!(hasher.finish(), PartChecksum::of(&bytes));
        }

        #[test]
        fn one_changed_byte_changes_it(
            bytes in proptest::collection::vec(any::<u8>(), 1..4096),
            at in any::<usize>(),
            flip in 1u8..,
        ) {
            let mut changed = bytes.clone();
            if let Some(byte) = changed.get_mut(at % bytes.len()) {
                *byte ^= flip;
            }
            prop_assert_ne!(PartChecksum::of(&changed), PartChecksum::of(&bytes));
        }
    }
}
