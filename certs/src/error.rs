//! The one error type of chain verification, ranked so that the most specific failure across all
//! candidate paths is the one reported.

use crate::time::{UnixTime, format_rfc3339};

/// Why a presented certificate chain was not accepted.
///
/// Variants carry the subject (RFC 4514 text) of the certificate concerned. When several candidate
/// paths fail, [`ChainError::rank`] picks the error to report: an error found deeper in a path or
/// closer to a real signature check says more than "no issuer found".
///
/// Every variant has a stable machine [`code`](ChainError::code) for dotted decision reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No certificate was presented.
    #[error("no certificate presented")]
    Empty,
    /// An input exceeds a size cap (PEM text, a certificate, the number of certificates).
    #[error("{what} too large: {size} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size (bytes or count).
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// A certificate or its PEM wrapping could not be decoded.
    #[error("malformed certificate #{index} (0 = leaf): {reason}")]
    Malformed {
        /// Position in the presented chain: 0 is the leaf, then intermediates as presented.
        index: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The leaf or an intermediate is past its notAfter (RFC 5280 §6.1.3 (a)(2)).
    #[error("certificate expired: not after {}, now {} ({subject})", format_rfc3339(*not_after), format_rfc3339(*now))]
    Expired {
        /// The expired certificate.
        subject: String,
        /// Its notAfter.
        not_after: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// The leaf or an intermediate is before its notBefore (RFC 5280 §6.1.3 (a)(2)).
    #[error("certificate not yet valid: not before {}, now {} ({subject})", format_rfc3339(*not_before), format_rfc3339(*now))]
    NotYetValid {
        /// The certificate.
        subject: String,
        /// Its notBefore.
        not_before: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// A certificate has a critical extension this verifier does not process (RFC 5280 §4.2).
    #[error("unknown critical extension {oid} ({subject})")]
    UnknownCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension's OID, dotted.
        oid: String,
    },
    /// The leaf's extendedKeyUsage does not allow TLS client authentication (RFC 5280 §4.2.1.12).
    #[error(
        "certificate not valid for client authentication: extendedKeyUsage lacks id-kp-clientAuth ({subject})"
    )]
    NotClientAuth {
        /// The leaf.
        subject: String,
    },
    /// The leaf's keyUsage lacks digitalSignature, which TLS client authentication needs
    /// (RFC 5280 §4.2.1.3).
    #[error("certificate keyUsage lacks digitalSignature ({subject})")]
    MissingDigitalSignature {
        /// The leaf.
        subject: String,
    },
    /// No trust anchor or presented intermediate is named as the issuer (RFC 5280 §6.1.3 (a)(4)).
    #[error("unknown issuer: no trusted or presented certificate is named {issuer}")]
    UnknownIssuer {
        /// The issuer name that could not be found.
        issuer: String,
    },
    /// A path ends at a self-issued certificate that is not a trust anchor (a presented root
    /// nobody trusts), with no further issuer to try.
    #[error(
        "untrusted root: the path ends at the self-issued {subject}, which is not a trust anchor"
    )]
    UntrustedRoot {
        /// The self-issued certificate.
        subject: String,
    },
    /// Path building gave up: the chain is longer than the depth limit.
    #[error("path too long: more than {limit} intermediates")]
    PathTooLong {
        /// The limit ([`crate::MAX_PATH_DEPTH`]).
        limit: usize,
    },
    /// An issuer is not a CA: basicConstraints absent or cA false (RFC 5280 §6.1.4 (k)).
    #[error("issuer is not a CA: basicConstraints cA is not true ({subject})")]
    NotCa {
        /// The issuer.
        subject: String,
    },
    /// An issuer's pathLenConstraint is smaller than the number of intermediates below it
    /// (RFC 5280 §6.1.4 (l), (m)).
    #[error(
        "path length constraint exceeded: pathLenConstraint {path_len} but {below} intermediate(s) below ({subject})"
    )]
    PathLenExceeded {
        /// The issuer with the constraint.
        subject: String,
        /// Its pathLenConstraint.
        path_len: u8,
        /// Non-self-issued intermediates between it and the leaf.
        below: usize,
    },
    /// An issuer's keyUsage lacks keyCertSign (RFC 5280 §6.1.4 (n)).
    #[error("issuer keyUsage lacks keyCertSign ({subject})")]
    MissingKeyCertSign {
        /// The issuer.
        subject: String,
    },
    /// A signature algorithm this verifier does not support.
    #[error("unsupported signature algorithm {algorithm} ({subject})")]
    UnsupportedSignatureAlgorithm {
        /// The signed certificate.
        subject: String,
        /// The AlgorithmIdentifier, dotted OID.
        algorithm: String,
    },
    /// An issuer's public key cannot be used (unsupported type or curve, or not a valid point).
    #[error("unsupported issuer public key: {key} ({subject})")]
    UnsupportedPublicKey {
        /// The issuer.
        subject: String,
        /// What the key is.
        key: String,
    },
    /// The signature algorithm needs another key type than the issuer's key (e.g. ECDSA P-256
    /// signature under an SM2 issuer).
    #[error(
        "signature algorithm {algorithm} does not match the issuer's {key} key ({subject} issued by {issuer})"
    )]
    KeyAlgorithmMismatch {
        /// The signed certificate.
        subject: String,
        /// Its issuer.
        issuer: String,
        /// The signature algorithm.
        algorithm: &'static str,
        /// The issuer's key type.
        key: &'static str,
    },
    /// A signature did not verify under the issuer's key (RFC 5280 §6.1.3 (a)(1)).
    #[error("bad signature: {subject} is not signed by the key of {issuer}")]
    BadSignature {
        /// The signed certificate.
        subject: String,
        /// The issuer whose key was tried.
        issuer: String,
    },
    /// A name of a certificate lies within an excluded subtree of a CA above it
    /// (RFC 5280 §4.2.1.10, §6.1.3 (b)/(c)).
    #[error(
        "name constraint violated: {name} of certificate at depth {depth} ({subject}) is within the excluded subtree {constraint} of {ca}"
    )]
    NameExcluded {
        /// The name, with its form (`dNSName "api.dept-b.example"`).
        name: String,
        /// The certificate carrying the name.
        subject: String,
        /// Its position on the path: 0 is the leaf, 1 its issuer, …
        depth: usize,
        /// The excluded subtree, with its form.
        constraint: String,
        /// The constraining CA.
        ca: String,
    },
    /// A name of a certificate lies outside every permitted subtree of its form of a CA above it
    /// (RFC 5280 §4.2.1.10, §6.1.3 (b)/(c)).
    #[error(
        "name constraint violated: {name} of certificate at depth {depth} ({subject}) is not within any permitted {form} subtree of {ca}"
    )]
    NameNotPermitted {
        /// The name, with its form.
        name: String,
        /// The certificate carrying the name.
        subject: String,
        /// Its position on the path: 0 is the leaf, 1 its issuer, …
        depth: usize,
        /// The name form whose permitted subtrees were checked.
        form: &'static str,
        /// The constraining CA.
        ca: String,
    },
    /// A critical nameConstraints extension holds a subtree this verifier cannot evaluate
    /// (otherName, x400Address, ediPartyName, registeredID, or minimum/maximum set), so the
    /// constraint cannot be honoured (RFC 5280 §4.2.1.10).
    #[error(
        "unsupported name constraint in a critical nameConstraints extension: {form} ({subject})"
    )]
    UnsupportedNameConstraint {
        /// The CA with the constraint.
        subject: String,
        /// What could not be evaluated.
        form: &'static str,
    },
    /// A certificate that is not self-issued has no authorityKeyIdentifier, which RFC 5280
    /// §4.2.1.1 requires (the trust store's `require_authority_key_id`, on by default).
    #[error(
        "certificate lacks authorityKeyIdentifier, which RFC 5280 §4.2.1.1 requires of every certificate but a self-signed one ({subject})"
    )]
    MissingAuthorityKeyId {
        /// The certificate.
        subject: String,
    },
    /// A presented CA certificate has no subjectKeyIdentifier, which RFC 5280 §4.2.1.2 requires
    /// (the trust store's `require_subject_key_id`, on by default).
    #[error(
        "CA certificate lacks subjectKeyIdentifier, which RFC 5280 §4.2.1.2 requires of every CA certificate ({subject})"
    )]
    MissingSubjectKeyId {
        /// The CA certificate.
        subject: String,
    },
    /// A key identifier extension is marked critical, which RFC 5280 §4.2.1.1 and §4.2.1.2
    /// forbid.
    #[error("{extension} is marked critical, which RFC 5280 forbids ({subject})")]
    CriticalKeyIdentifier {
        /// The certificate.
        subject: String,
        /// `authorityKeyIdentifier` or `subjectKeyIdentifier`.
        extension: &'static str,
    },
    /// A subject commonName is not a correctly encoded DirectoryString (RFC 5280 §4.1.2.4,
    /// Appendix A).
    #[error("malformed subject name: {reason} ({subject})")]
    MalformedSubjectName {
        /// The certificate, RFC 4514 text (a bad value is shown as hex).
        subject: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A presented certificate names an empty issuer: RFC 5280 §4.1.2.4 requires a non-empty
    /// distinguished name there, and §4.1.2.6 a non-empty subject in every CA certificate, so no
    /// CA can have issued it.
    #[error("empty issuer name: no CA has an empty subject (RFC 5280 §4.1.2.4) ({subject})")]
    EmptyIssuerName {
        /// The certificate.
        subject: String,
    },
    /// A CA certificate (an intermediate or the anchor) has a basicConstraints extension that
    /// is not marked critical (RFC 5280 §4.2.1.9: MUST be critical in CA certificates), and the
    /// trust store requires it (`require_critical_basic_constraints`).
    #[error("basicConstraints of a CA not marked critical (RFC 5280 §4.2.1.9) ({subject})")]
    NonCriticalBasicConstraints {
        /// The CA.
        subject: String,
    },
    /// basicConstraints and keyUsage disagree about whether the certificate is a CA: keyCertSign
    /// without cA TRUE (RFC 5280 §4.2.1.3), or a pathLenConstraint without cA TRUE (§4.2.1.9).
    #[error("inconsistent CA extensions: {reason} ({subject})")]
    InconsistentCaExtensions {
        /// The certificate.
        subject: String,
        /// Which rule is broken.
        reason: &'static str,
    },
    /// The leaf has no extendedKeyUsage and the trust store requires id-kp-clientAuth
    /// (`require_client_auth_eku`).
    #[error(
        "certificate has no extendedKeyUsage, and this trust store requires id-kp-clientAuth (require_client_auth_eku) ({subject})"
    )]
    MissingExtendedKeyUsage {
        /// The leaf.
        subject: String,
    },
    /// The leaf's extendedKeyUsage offers anyExtendedKeyUsage but not id-kp-clientAuth, and the
    /// trust store does not accept anyExtendedKeyUsage (`allow_any_extended_key_usage`).
    #[error(
        "certificate not valid for client authentication: extendedKeyUsage has anyExtendedKeyUsage but not id-kp-clientAuth, and this trust store does not accept anyExtendedKeyUsage ({subject})"
    )]
    AnyExtendedKeyUsageOnly {
        /// The leaf.
        subject: String,
    },
    /// A CA on the path has an extendedKeyUsage without id-kp-clientAuth, so it does not issue
    /// client certificates (the EKU of a CA constrains the certificates below it, as OpenSSL,
    /// Go and webpki treat it).
    #[error(
        "issuer not valid for client authentication: its extendedKeyUsage lacks id-kp-clientAuth ({subject})"
    )]
    IssuerNotClientAuth {
        /// The CA.
        subject: String,
    },
    /// Path building hit a search budget (signatures checked or paths tried).
    #[error("verification budget exceeded: more than {limit} {what}")]
    BudgetExceeded {
        /// Which budget.
        what: &'static str,
        /// The budget.
        limit: usize,
    },
}

impl ChainError {
    /// A short stable code for dotted decision reasons (`auth.sm2.expired`).
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::Empty => "no_certificate",
            ChainError::TooLarge { .. } => "too_large",
            ChainError::Malformed { .. } => "malformed",
            ChainError::Expired { .. } => "expired",
            ChainError::NotYetValid { .. } => "not_yet_valid",
            ChainError::UnknownCriticalExtension { .. } => "unknown_critical_extension",
            ChainError::NotClientAuth { .. } => "not_client_auth",
            ChainError::MissingDigitalSignature { .. } => "key_usage",
            ChainError::UnknownIssuer { .. } => "unknown_issuer",
            ChainError::UntrustedRoot { .. } => "untrusted_root",
            ChainError::PathTooLong { .. } => "path_too_long",
            ChainError::NotCa { .. } => "issuer_not_ca",
            ChainError::PathLenExceeded { .. } => "path_len_exceeded",
            ChainError::MissingKeyCertSign { .. } => "issuer_key_usage",
            ChainError::UnsupportedSignatureAlgorithm { .. } => "unsupported_algorithm",
            ChainError::UnsupportedPublicKey { .. } => "unsupported_key",
            ChainError::KeyAlgorithmMismatch { .. } => "key_algorithm_mismatch",
            ChainError::BadSignature { .. } => "bad_signature",
            ChainError::NameExcluded { .. } => "name_excluded",
            ChainError::NameNotPermitted { .. } => "name_not_permitted",
            ChainError::UnsupportedNameConstraint { .. } => "unsupported_name_constraint",
            ChainError::BudgetExceeded { .. } => "budget_exceeded",
            ChainError::MissingAuthorityKeyId { .. } => "missing_authority_key_id",
            ChainError::MissingSubjectKeyId { .. } => "missing_subject_key_id",
            ChainError::CriticalKeyIdentifier { .. } => "critical_key_identifier",
            ChainError::MalformedSubjectName { .. } => "malformed_subject_name",
            ChainError::MissingExtendedKeyUsage { .. } => "missing_extended_key_usage",
            ChainError::AnyExtendedKeyUsageOnly { .. } => "any_extended_key_usage",
            ChainError::IssuerNotClientAuth { .. } => "issuer_not_client_auth",
            ChainError::InconsistentCaExtensions { .. } => "inconsistent_ca_extensions",
            ChainError::EmptyIssuerName { .. } => "empty_issuer_name",
            ChainError::NonCriticalBasicConstraints { .. } => "non_critical_basic_constraints",
        }
    }

    /// How specific the error is when several candidate paths failed; the highest wins.
    ///
    /// "No issuer" is the least informative. Constraint failures of an issuer come next, then
    /// failures found while checking signatures of a path that reached a trust anchor. Budget
    /// exhaustion ends the search and is always reported. Errors about the leaf alone (and
    /// malformed input) are returned before path building starts and never compete.
    pub fn rank(&self) -> u8 {
        match self {
            ChainError::UnknownIssuer { .. } | ChainError::UntrustedRoot { .. } => 0,
            ChainError::PathTooLong { .. } => 1,
            ChainError::Expired { .. } | ChainError::NotYetValid { .. } => 2,
            ChainError::NotCa { .. }
            | ChainError::PathLenExceeded { .. }
            | ChainError::MissingKeyCertSign { .. }
            | ChainError::UnknownCriticalExtension { .. }
            | ChainError::UnsupportedNameConstraint { .. }
            | ChainError::MissingAuthorityKeyId { .. }
            | ChainError::MissingSubjectKeyId { .. }
            | ChainError::CriticalKeyIdentifier { .. }
            | ChainError::MalformedSubjectName { .. }
            | ChainError::IssuerNotClientAuth { .. }
            | ChainError::InconsistentCaExtensions { .. }
            | ChainError::EmptyIssuerName { .. }
            | ChainError::NonCriticalBasicConstraints { .. } => 3,
            ChainError::UnsupportedPublicKey { .. }
            | ChainError::UnsupportedSignatureAlgorithm { .. }
            | ChainError::KeyAlgorithmMismatch { .. } => 4,
            ChainError::BadSignature { .. } => 5,
            ChainError::NameExcluded { .. } | ChainError::NameNotPermitted { .. } => 6,
            ChainError::Empty
            | ChainError::TooLarge { .. }
            | ChainError::Malformed { .. }
            | ChainError::NotClientAuth { .. }
            | ChainError::MissingDigitalSignature { .. }
            | ChainError::MissingExtendedKeyUsage { .. }
            | ChainError::AnyExtendedKeyUsageOnly { .. } => 6,
            ChainError::BudgetExceeded { .. } => 7,
        }
    }
}

/// Why a trust store could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The PEM contained no certificate.
    #[error("no certificate found in the trust-anchor PEM")]
    NoCertificates,
    /// A root could not be decoded.
    #[error("trust anchor #{index}: {reason}")]
    Malformed {
        /// Position of the root in the input.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// Too many roots or too much PEM.
    #[error("{what} too large: {size} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// The SM2 distinguishing ID is empty or too long (GM/T 0003.2 encodes its bit length in 16 bits).
    #[error("invalid SM2 distinguishing ID: {0}")]
    InvalidSm2Id(&'static str),
}
