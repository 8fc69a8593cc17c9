//! # certs — client-certificate chains for trieguard
//!
//! Verifies the client certificate chains that a TLS terminator forwards in Envoy's
//! `x-forwarded-client-cert` header: SM2-with-SM3 (GM/T 0003/0015), ECDSA P-256 and RSA
//! certificates, RFC 5280 path building and validation, inside the plugin's wasm VM.
//!
//! ```text
//!  XFCC header ──Xfcc::parse──▶ XfccElement ──certificates()──▶ leaf DER + intermediate DERs
//!                                   │                                 │
//!                                   └──presented()──▶ VerificationCache (verdict per chain,
//!                                                       per TrustStore generation)
//!                                                                     │ miss
//!                                                     verify_chain ◀──┘ (remembered issuer links
//!                                                      │                  skip their signature)
//!        der ─▶ cert (slices TBS) ─▶ verify (path search + RFC 5280 §6 checks) ─▶ alg (signatures)
//!                                                      │
//!                                       Ok(VerifiedPath) | Err(ChainError, ranked)
//! ```
//!
//! The library never reads a clock: every function takes the validation time in Unix seconds.
//! Untrusted input never panics; every size is capped by a named constant.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let roots = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/roots.pem"))?;
//! let store = certs::TrustStore::from_pem(&roots)?.with_generation(1);
//! let chain = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/chains/sm2-valid.pem"))?;
//! let ders = certs::pem_certificates(&chain)?;
//! let (leaf, intermediates) = ders.split_first().ok_or("empty")?;
//! let now = certs::parse_rfc3339("2026-06-01T00:00:00Z").ok_or("time")?;
//! let path = certs::verify_chain(&store, leaf, intermediates, now)?;
//! assert_eq!(path.subject_cn(), Some("alice"));
//! assert_eq!(path.uri_sans(), ["spiffe://trieguard.test/client/alice"]);
//! # Ok(()) }
//! ```

mod alg;
mod cache;
mod cert;
mod der;
mod error;
mod name;
mod name_constraints;
mod options;
mod path;
mod path_builder;
mod pem;
mod profile;
mod sm2v;
mod store;
mod time;
mod verify;
mod xfcc;

pub use alg::Sm2PublicKey;
pub use cache::{
    CacheLimits, CacheStats, DEFAULT_INVALID_TTL_SECONDS, DEFAULT_LINK_CAPACITY,
    DEFAULT_VALID_TTL_SECONDS, DEFAULT_VERDICT_CAPACITY, MAX_CACHED_PRESENTATION_BYTES, Verdict,
    VerificationCache,
};
pub use cert::{MAX_CERTIFICATE_BYTES, MAX_EXTENSIONS};
pub use error::{ChainError, StoreError};
pub use name_constraints::MAX_NAME_CONSTRAINT_CHECKS;
pub use options::ValidationOptions;
pub use path::VerifiedPath;
pub use path_builder::{MAX_PATH_DEPTH, MAX_PATHS_TRIED, MAX_SIGNATURE_CHECKS};
pub use pem::MAX_PEM_BYTES;
pub use store::{DEFAULT_SM2_ID, MAX_SM2_ID_BYTES, MAX_TRUST_ANCHORS, TrustStore};
pub use time::{UnixTime, format_rfc3339, parse_rfc3339};
pub use verify::{MAX_INTERMEDIATES, verify_chain};
pub use xfcc::{
    ElementSelector, MAX_XFCC_BYTES, MAX_XFCC_ELEMENTS, MAX_XFCC_PAIRS, Xfcc, XfccElement,
    XfccError, url_decode,
};

mod verifier;
pub use verifier::ChainVerifier;

/// Decodes every `CERTIFICATE` block of PEM text into DER, in order (text between blocks and other
/// block types are ignored).
pub fn pem_certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, ChainError> {
    pem::certificates(text).map_err(|e| match e {
        pem::PemError::TooLarge(size) => ChainError::TooLarge {
            what: "PEM",
            size,
            limit: MAX_PEM_BYTES,
        },
        pem::PemError::NotUtf8 => ChainError::Malformed {
            index: 0,
            reason: "PEM is not UTF-8",
        },
        pem::PemError::Unterminated(index) => ChainError::Malformed {
            index,
            reason: "unterminated PEM block",
        },
        pem::PemError::BadBase64(index) => ChainError::Malformed {
            index,
            reason: "invalid base64 in PEM block",
        },
    })
}

/// Parses one DER certificate and reports why it is malformed, without validating anything else
/// (the entry point of the DER fuzz target).
pub fn check_certificate_der(der: &[u8]) -> Result<(), ChainError> {
    cert::Cert::from_der(der)
        .map(|_| ())
        .map_err(|e| ChainError::Malformed {
            index: 0,
            reason: e.0,
        })
}
