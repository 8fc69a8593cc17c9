//! Trust anchors (RFC 5280 §6.1.1 (d)): the roots a chain must end at, with the SM2
//! distinguishing ID used for every SM2 signature checked against this store, and a generation
//! number that keys caches (a new store invalidates every cached verdict of the old one).

use crate::alg::PreparedKey;
use crate::cert::{BasicConstraints, Cert, KeyUsage};
use crate::error::StoreError;
use crate::options::ValidationOptions;
use crate::pem;
use crate::time::UnixTime;

/// The SM2 distinguishing ID used when none is configured (GM/T 0009: `1234567812345678`).
pub const DEFAULT_SM2_ID: &str = "1234567812345678";

/// Longest SM2 distinguishing ID: `ENTL` is its length in bits in two bytes (GM/T 0003.2 §5.5).
pub const MAX_SM2_ID_BYTES: usize = 8191;

/// Most trust anchors in one store: anchors with one name are all tried, so a bound keeps the
/// per-request search bounded; real deployments trust a handful of roots.
pub const MAX_TRUST_ANCHORS: usize = 1024;

/// One trust anchor: the parts of a root certificate that path validation uses.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub(crate) der: Vec<u8>,
    /// DER of the subject Name (compared with the issuer name of the certificate below).
    pub(crate) subject: Vec<u8>,
    pub(crate) subject_text: String,
    /// DER of the SubjectPublicKeyInfo (part of the issuer-link cache key).
    pub(crate) spki: Vec<u8>,
    pub(crate) key: Result<PreparedKey, String>,
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) basic_constraints: Option<BasicConstraints>,
    /// basicConstraints is marked critical.
    pub(crate) basic_constraints_critical: bool,
    /// A version 3 certificate (a v1 root may lack basicConstraints, a v3 one may not).
    pub(crate) is_v3: bool,
    pub(crate) key_usage: Option<KeyUsage>,
    /// The anchor's subjectKeyIdentifier (orders issuer candidates).
    pub(crate) subject_key_id: Option<Vec<u8>>,
    /// The anchor's own nameConstraints (subtrees DER, critical), applied to the whole path.
    pub(crate) name_constraints: Option<(Vec<u8>, bool)>,
    /// The anchor's extendedKeyUsage contents, which constrain the whole path.
    pub(crate) ext_key_usage: Option<Vec<u8>>,
}

/// The trusted roots for chain verification.
///
/// Several roots may share a name (a re-keyed root next to the old one): each is tried.
#[derive(Debug, Clone)]
pub struct TrustStore {
    pub(crate) anchors: Vec<Anchor>,
    pub(crate) sm2_id: String,
    pub(crate) options: ValidationOptions,
    generation: u64,
}

impl TrustStore {
    /// Builds a store from PEM text holding one or more `CERTIFICATE` blocks, with the default
    /// SM2 ID and generation 0.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, StoreError> {
        Self::from_pem_with_id(pem_text, DEFAULT_SM2_ID)
    }

    /// Like [`TrustStore::from_pem`] with an explicit SM2 distinguishing ID.
    pub fn from_pem_with_id(pem_text: &[u8], sm2_id: &str) -> Result<Self, StoreError> {
        let ders = pem::certificates(pem_text).map_err(|e| match e {
            pem::PemError::TooLarge(size) => StoreError::TooLarge {
                what: "trust-anchor PEM",
                size,
                limit: pem::MAX_PEM_BYTES,
            },
            pem::PemError::NotUtf8 => StoreError::Malformed {
                index: 0,
                reason: "PEM is not UTF-8".to_owned(),
            },
            pem::PemError::Unterminated(index) => StoreError::Malformed {
                index,
                reason: "unterminated PEM block".to_owned(),
            },
            pem::PemError::BadBase64(index) => StoreError::Malformed {
                index,
                reason: "invalid base64 in PEM block".to_owned(),
            },
        })?;
        Self::from_der_with_id(ders.iter().map(Vec::as_slice), sm2_id)
    }

    /// Builds a store from DER root certificates.
    pub fn from_der_with_id<'a>(
        roots: impl IntoIterator<Item = &'a [u8]>,
        sm2_id: &str,
    ) -> Result<Self, StoreError> {
        if sm2_id.is_empty() {
            return Err(StoreError::InvalidSm2Id("empty"));
        }
        if sm2_id.len() > MAX_SM2_ID_BYTES {
            return Err(StoreError::InvalidSm2Id("longer than 8191 bytes"));
        }
        let mut anchors = Vec::new();
        for (index, der) in roots.into_iter().enumerate() {
            if index >= MAX_TRUST_ANCHORS {
                return Err(StoreError::TooLarge {
                    what: "trust anchor count",
                    size: index + 1,
                    limit: MAX_TRUST_ANCHORS,
                });
            }
            let cert = Cert::from_der(der).map_err(|e| StoreError::Malformed {
                index,
                reason: e.0.to_owned(),
            })?;
            anchors.push(Anchor {
                der: der.to_vec(),
                subject: cert.subject.to_vec(),
                subject_text: cert.subject_text(),
                spki: cert.spki.to_vec(),
                key: PreparedKey::from_spki(cert.spki, sm2_id),
                not_before: cert.not_before,
                not_after: cert.not_after,
                basic_constraints: cert.extensions.basic_constraints,
                basic_constraints_critical: cert.extensions.basic_constraints_critical,
                is_v3: cert.is_v3,
                key_usage: cert.extensions.key_usage,
                subject_key_id: cert.extensions.subject_key_id.map(<[u8]>::to_vec),
                name_constraints: cert
                    .extensions
                    .name_constraints
                    .map(|nc| (nc.subtrees.to_vec(), nc.critical)),
                ext_key_usage: cert.extensions.ext_key_usage.map(<[u8]>::to_vec),
            });
        }
        if anchors.is_empty() {
            return Err(StoreError::NoCertificates);
        }
        Ok(Self {
            anchors,
            sm2_id: sm2_id.to_owned(),
            options: ValidationOptions::default(),
            generation: 0,
        })
    }

    /// Sets the profile rules chains are validated with. Options are part of what a cached
    /// verdict depends on: set them before [`TrustStore::with_generation`], and give a store
    /// with other options another generation.
    #[must_use]
    pub fn with_options(mut self, options: ValidationOptions) -> Self {
        self.options = options;
        self
    }

    /// The profile rules chains are validated with.
    pub fn options(&self) -> &ValidationOptions {
        &self.options
    }

    /// Sets the generation number. Give every store built from a new configuration a new number:
    /// caches key verdicts by it.
    #[must_use]
    pub fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// The generation number.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The SM2 distinguishing ID.
    pub fn sm2_id(&self) -> &str {
        &self.sm2_id
    }

    /// Number of trust anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Always false: a store has at least one anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The DER of each anchor, in input order.
    pub fn anchors_der(&self) -> impl Iterator<Item = &[u8]> {
        self.anchors.iter().map(|a| a.der.as_slice())
    }
}
