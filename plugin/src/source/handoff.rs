//! How the service VM hands a validated policy to the worker VMs: proxy-wasm shared data.
//!
//! Shared data is scoped by `vm_id`, so the service and the HTTP filters must use the same
//! `vm_config.vm_id`. A published policy is a small *manifest* under
//! `trieguard.policy.<name>` and its bytes in pieces under
//! `trieguard.policy.<name>.<generation>.<index>`. The service writes the pieces first and the
//! manifest last, so a worker that sees a manifest finds its pieces; a worker checks the
//! assembled bytes against the manifest's checksum (`source::checksum`) before using them, so it
//! never serves a mix of two publications even if it reads while the next one is written.
//!
//! The manifest names the policy by the SHA-256 its operator published (`policy_sha256`), which
//! the service checked when it fetched the policy; the parts carry XXH3-128 checksums.

use serde::{Deserialize, Serialize};

use super::checksum::PartChecksum;
use super::digest::PolicyDigest;

/// Bytes per shared-data piece: one copy per hostcall stays small next to the VM's memory.
pub const SHARED_PIECE_BYTES: usize = 4 * 1024 * 1024;
/// Bytes per piece of a route set or key set: a worker reads one piece per slice while
/// another policy serves, so a piece must copy in well under a millisecond.
pub const SET_PIECE_BYTES: usize = 256 * 1024;

/// The key of a source's manifest.
pub fn manifest_key(name: &str) -> String {
    format!("trieguard.policy.{name}")
}

/// The key of one piece of a publication.
pub fn piece_key(name: &str, generation: u64, index: usize) -> String {
    format!("trieguard.policy.{name}.{generation}.{index}")
}

/// The key of the `index`-th key delta published on top of publication `generation`.
pub fn delta_key(name: &str, generation: u64, index: usize) -> String {
    format!("trieguard.policy.{name}.{generation}.delta.{index}")
}

/// The key of one piece of a publication's key set (`source::key_sets`).
pub fn keys_piece_key(name: &str, generation: u64, index: usize) -> String {
    format!("trieguard.policy.{name}.{generation}.keys.{index}")
}

/// The key of one piece of a publication's route set (`source::route_sets`).
pub fn routes_piece_key(name: &str, generation: u64, index: usize) -> String {
    format!("trieguard.policy.{name}.{generation}.routes.{index}")
}

/// Bytes published in pieces: their checksum, size and piece count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiecesRef {
    /// XXH3-128 of the bytes, hex.
    pub checksum: String,
    /// Length in bytes.
    pub size: usize,
    /// Number of pieces.
    pub pieces: usize,
}

impl PiecesRef {
    /// The reference to `bytes`, published in [`SET_PIECE_BYTES`] pieces.
    pub fn of(bytes: &[u8]) -> Self {
        Self::with_checksum(PartChecksum::of(bytes), bytes.len())
    }

    /// The reference to `size` bytes whose checksum the caller computed already.
    pub fn with_checksum(checksum: PartChecksum, size: usize) -> Self {
        Self {
            checksum: checksum.to_hex(),
            size,
            pieces: size.div_ceil(SET_PIECE_BYTES),
        }
    }

    /// The checksum, when well-formed.
    pub fn checksum(&self) -> Option<PartChecksum> {
        PartChecksum::parse_hex(&self.checksum)
    }
}

/// A key delta published on top of a full publication (`source::key_delta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaRef {
    /// SHA-256 (hex) of the policy that serves once this delta is applied.
    pub sha256: String,
    /// XXH3-128 (hex) of the encoded delta.
    pub checksum: String,
}

/// What the manifest says about the published policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Publication counter of the service (increases by one per publication).
    pub generation: u64,
    /// XXH3-128 (hex) of the bytes in the main pieces: the policy, its skeleton, or the
    /// skeleton's frame.
    pub checksum: String,
    /// Length of those bytes.
    pub size: usize,
    /// Number of pieces.
    pub pieces: usize,
    /// When set, the pieces hold the policy's skeleton (`key_delta::policy_skeleton`) and
    /// this is the key set that completes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<PiecesRef>,
    /// When set, the pieces hold the skeleton's frame (`route_sets::split`: its route lists
    /// emptied) and this is the route set that completes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<PiecesRef>,
    /// SHA-256 (hex) of the policy as its operator published it, checked by the service.
    pub policy_sha256: String,
    /// Key deltas published since, in the order they apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DeltaRef>,
}

/// Why a worker could not take a publication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    /// The manifest is not what a service writes.
    #[error("the published manifest is unreadable: {0}")]
    BadManifest(String),
    /// A piece was missing (the service is publishing a newer policy).
    #[error("piece {index} of generation {generation} is missing")]
    MissingPiece {
        /// Which publication.
        generation: u64,
        /// Which piece.
        index: usize,
    },
    /// A key delta is missing, unreadable, or does not match its checksum.
    #[error("a published key delta is unusable: {0}")]
    BadDelta(String),
    /// The assembled bytes do not match the manifest (read during a newer publication).
    #[error(
        "the assembled policy does not match the manifest's checksum (size {got} of {expected})"
    )]
    ChecksumMismatch {
        /// Bytes read.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
}

impl Manifest {
    /// The manifest for `policy`, whose SHA-256 is `digest`, as publication `generation`.
    pub fn for_policy(policy: &[u8], digest: PolicyDigest, generation: u64) -> Self {
        Self {
            generation,
            checksum: PartChecksum::of(policy).to_hex(),
            size: policy.len(),
            pieces: policy.len().div_ceil(SHARED_PIECE_BYTES),
            keys: None,
            routes: None,
            policy_sha256: digest.to_hex(),
            deltas: Vec::new(),
        }
    }

    /// The manifest for a policy published in parts: `main` (its skeleton, or the skeleton's
    /// frame when `routes` is given) plus its route set and its key set (their references
    /// computed once by the caller, [`PiecesRef::of`]).
    pub fn for_parts(
        main: &[u8],
        routes: Option<PiecesRef>,
        keys: Option<PiecesRef>,
        policy: PolicyDigest,
        generation: u64,
    ) -> Self {
        Self {
            keys,
            routes,
            ..Self::for_policy(main, policy, generation)
        }
    }

    /// The digest of the policy serving once every delta is applied.
    pub fn serving_digest(&self) -> Option<PolicyDigest> {
        PolicyDigest::parse_hex(
            self.deltas
                .last()
                .map_or(&self.policy_sha256, |delta| &delta.sha256),
        )
    }

    /// The generation a manifest in shared data names, even one this build cannot read (a
    /// service of another build wrote it): the next publication must number above it, or
    /// workers that tried it would take the next one for it.
    pub fn generation_of(bytes: &[u8]) -> Option<u64> {
        #[derive(Deserialize)]
        struct Generation {
            generation: u64,
        }
        serde_json::from_slice::<Generation>(bytes)
            .ok()
            .map(|manifest| manifest.generation)
    }

    /// Encodes it for shared data.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes it from shared data.
    pub fn decode(bytes: &[u8]) -> Result<Self, HandoffError> {
        let manifest: Self = serde_json::from_slice(bytes)
            .map_err(|error| HandoffError::BadManifest(error.to_string()))?;
        if manifest.pieces != manifest.size.div_ceil(SHARED_PIECE_BYTES) {
            return Err(HandoffError::BadManifest(format!(
                "{} pieces cannot hold {} bytes",
                manifest.pieces, manifest.size
            )));
        }
        for (what, part) in [("key set", &manifest.keys), ("route set", &manifest.routes)] {
            if let Some(part) = part
                && (part.pieces != part.size.div_ceil(SET_PIECE_BYTES) || part.checksum().is_none())
            {
                return Err(HandoffError::BadManifest(format!(
                    "the {what} reference is inconsistent"
                )));
            }
        }
        manifest
            .checksum()
            .ok_or_else(|| HandoffError::BadManifest("checksum is not 32 hex digits".to_owned()))?;
        let digests = std::iter::once(&manifest.policy_sha256)
            .chain(manifest.deltas.iter().map(|delta| &delta.sha256));
        for digest in digests {
            PolicyDigest::parse_hex(digest).ok_or_else(|| {
                HandoffError::BadManifest("a SHA-256 is not 64 hex digits".to_owned())
            })?;
        }
        Ok(manifest)
    }

    /// The main pieces' checksum, when well-formed.
    pub fn checksum(&self) -> Option<PartChecksum> {
        PartChecksum::parse_hex(&self.checksum)
    }

    /// Joins the pieces `read(index)` returns and checks them against the checksum.
    pub fn assemble(
        &self,
        mut read: impl FnMut(usize) -> Option<Vec<u8>>,
    ) -> Result<Vec<u8>, HandoffError> {
        let mut policy = Vec::with_capacity(self.size.min(crate::config::MAX_CONFIG_BYTES));
        for index in 0..self.pieces {
            let piece = read(index).ok_or(HandoffError::MissingPiece {
                generation: self.generation,
                index,
            })?;
            policy.extend_from_slice(&piece);
            if policy.len() > self.size {
                break;
            }
        }
        if policy.len() != self.size || Some(PartChecksum::of(&policy)) != self.checksum() {
            return Err(HandoffError::ChecksumMismatch {
                got: policy.len(),
                expected: self.size,
            });
        }
        Ok(policy)
    }
}

impl DeltaRef {
    /// The reference to `encoded` (a `KeyDelta`'s bytes), after which `serving` serves.
    pub fn new(encoded: &[u8], serving: PolicyDigest) -> Self {
        Self {
            sha256: serving.to_hex(),
            checksum: PartChecksum::of(encoded).to_hex(),
        }
    }

    /// Checks `encoded` against the reference and decodes it.
    pub fn open(&self, encoded: &[u8]) -> Result<super::key_delta::KeyDelta, HandoffError> {
        if Some(PartChecksum::of(encoded)) != PartChecksum::parse_hex(&self.checksum) {
            return Err(HandoffError::BadDelta(
                "does not match the manifest's checksum".to_owned(),
            ));
        }
        super::key_delta::KeyDelta::decode(encoded)
            .map_err(|error| HandoffError::BadDelta(error.to_string()))
    }
}

/// The pieces of `policy`, in order.
pub fn pieces(policy: &[u8]) -> impl Iterator<Item = &[u8]> {
    policy.chunks(SHARED_PIECE_BYTES)
}

/// The pieces of a route set or key set, in order.
pub fn set_pieces(set: &[u8]) -> impl Iterator<Item = &[u8]> {
    set.chunks(SET_PIECE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publication_round_trips_through_pieces() {
        let policy: Vec<u8> = (0..SHARED_PIECE_BYTES * 2 + 17).map(|i| i as u8).collect();
        let manifest = Manifest::for_policy(&policy, PolicyDigest::of(&policy), 7);
        assert_eq!(manifest.pieces, 3);
        let decoded = Manifest::decode(&manifest.encode()).unwrap();
        assert_eq!(decoded, manifest);
        let stored: Vec<Vec<u8>> = pieces(&policy).map(<[u8]>::to_vec).collect();
        let assembled = decoded.assemble(|i| stored.get(i).cloned()).unwrap();
        assert_eq!(assembled, policy);
    }

    #[test]
    fn mixed_or_missing_pieces_are_refused() {
        let policy = vec![1u8; SHARED_PIECE_BYTES + 1];
        let manifest = Manifest::for_policy(&policy, PolicyDigest::of(&policy), 1);
        let mut stored: Vec<Vec<u8>> = pieces(&policy).map(<[u8]>::to_vec).collect();
        assert_eq!(
            manifest.assemble(|i| if i == 1 { None } else { stored.get(i).cloned() }),
            Err(HandoffError::MissingPiece {
                generation: 1,
                index: 1
            })
        );
        stored[1] = vec![2u8];
        assert!(matches!(
            manifest.assemble(|i| stored.get(i).cloned()),
            Err(HandoffError::ChecksumMismatch { .. })
        ));
        let mut bad_checksum = manifest.clone();
        bad_checksum.checksum = "00".to_owned();
        let mut bad_digest = manifest.clone();
        bad_digest.policy_sha256.pop();
        for bad in [bad_checksum, bad_digest] {
            assert!(matches!(
                Manifest::decode(&bad.encode()),
                Err(HandoffError::BadManifest(_))
            ));
        }
        assert!(Manifest::decode(b"not json").is_err());
    }

    #[test]
    fn the_generation_is_read_from_a_manifest_of_another_build() {
        let other = br#"{"generation":41,"sha256":"00","size":1,"pieces":1,"future":true}"#;
        assert!(Manifest::decode(other).is_err());
        assert_eq!(Manifest::generation_of(other), Some(41));
        assert_eq!(Manifest::generation_of(b"not json"), None);
    }

    #[test]
    fn deltas_are_checked_against_their_checksum() {
        let mut delta = super::super::key_delta::KeyDelta::default();
        delta.providers.insert(
            "keys".into(),
            super::super::key_delta::ProviderKeyDelta {
                set: vec![],
                revoke: vec!["01".repeat(32)],
            },
        );
        let encoded = delta.encode();
        let serving = PolicyDigest::of(b"the policy after the delta");
        let reference = DeltaRef::new(&encoded, serving);
        assert_eq!(reference.open(&encoded).unwrap(), delta);
        for tampered in [&b"{}"[..], &encoded[..encoded.len() - 1]] {
            assert!(matches!(
                reference.open(tampered),
                Err(HandoffError::BadDelta(_))
            ));
        }
        let mut manifest = Manifest::for_policy(b"base", PolicyDigest::of(b"base"), 3);
        assert_eq!(manifest.serving_digest(), Some(PolicyDigest::of(b"base")));
        manifest.deltas.push(reference);
        assert_eq!(manifest.serving_digest(), Some(serving));
        assert_eq!(Manifest::decode(&manifest.encode()).unwrap(), manifest);
    }

    #[test]
    fn an_empty_policy_has_no_pieces() {
        let manifest = Manifest::for_policy(b"", PolicyDigest::of(b""), 1);
        assert_eq!(manifest.pieces, 0);
        assert_eq!(manifest.assemble(|_| None), Ok(Vec::new()));
    }
}
