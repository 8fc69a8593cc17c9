//! Policy digests: SHA-256, written and read in `sha256sum` format.

use std::fmt;

use sha2::Digest as _;

/// A policy's SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyDigest(pub [u8; 32]);

/// Why a digest file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestFileError {
    /// The file does not start with 64 hexadecimal digits.
    #[error("the digest file does not start with a SHA-256 in hex (64 digits, `sha256sum` format)")]
    NotSha256,
}

impl PolicyDigest {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// The SHA-256 of every byte `hasher` took.
    pub fn finish(hasher: sha2::Sha256) -> Self {
        Self(hasher.finalize().into())
    }

    /// Reads `sha256sum` output (`<hex>  <file name>`, or the hex alone).
    pub fn parse_sha256sum(text: &[u8]) -> Result<Self, DigestFileError> {
        let text = std::str::from_utf8(text).map_err(|_| DigestFileError::NotSha256)?;
        let hex_digits = text
            .split_ascii_whitespace()
            .next()
            .ok_or(DigestFileError::NotSha256)?;
        Self::parse_hex(hex_digits).ok_or(DigestFileError::NotSha256)
    }

    /// 64 hex digits (either case).
    pub fn parse_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 48 bits as an integer: what the `policy_digest` gauge shows (exact in any
    /// metrics backend that stores doubles), and what operators compare with the first 12 hex
    /// digits of `sha256sum`.
    pub fn gauge_value(&self) -> u64 {
        self.0
            .iter()
            .take(6)
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }
}

impl fmt::Debug for PolicyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Display for PolicyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn reads_sha256sum_output_and_bare_hex() {
        let expected = PolicyDigest::of(b"abc");
        assert_eq!(expected.to_hex(), ABC);
        let line = format!("{ABC}  policy.json\n");
        assert_eq!(PolicyDigest::parse_sha256sum(line.as_bytes()), Ok(expected));
        let upper = ABC.to_uppercase();
        assert_eq!(
            PolicyDigest::parse_sha256sum(upper.as_bytes()),
            Ok(expected)
        );
        assert_eq!(expected.gauge_value(), 0xba78_16bf_8f01);
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            &b""[..],
            b"   \n",
            b"abc  policy.json",
            &ABC.as_bytes()[..63],
            b"\xff\xfe",
        ] {
            assert_eq!(
                PolicyDigest::parse_sha256sum(bad),
                Err(DigestFileError::NotSha256)
            );
        }
    }
}
