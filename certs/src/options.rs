//! The certificate-profile rules a trust store can relax or tighten (`docs/cert-rules.md` has the
//! whole rule table, with the rules that are always enforced).

/// Profile rules of a [`TrustStore`](crate::TrustStore) that are options rather than fixed.
///
/// The defaults follow RFC 5280 where it says MUST (key identifiers) and the common client-PKI
/// practice where it leaves a choice (an end-entity certificate without extendedKeyUsage may
/// authenticate a client). Change fields on [`ValidationOptions::default`]:
///
/// ```
/// let mut options = certs::ValidationOptions::default();
/// options.require_client_auth_eku = true;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// Refuse an end-entity certificate without extendedKeyUsage (RFC 5280 §4.2.1.12 lets such a
    /// certificate serve any purpose). Default `false`: many client PKIs issue no EKU.
    pub require_client_auth_eku: bool,
    /// Refuse a presented certificate that is not self-issued and has no authorityKeyIdentifier
    /// (RFC 5280 §4.2.1.1: MUST be present). Default `true`; turn off for legacy PKIs whose CAs
    /// never wrote one.
    pub require_authority_key_id: bool,
    /// Refuse a presented CA certificate (basicConstraints cA TRUE) without subjectKeyIdentifier
    /// (RFC 5280 §4.2.1.2: MUST be present). Default `true`.
    pub require_subject_key_id: bool,
    /// Refuse a CA certificate on the path (an intermediate, or a v3 trust anchor) whose
    /// basicConstraints is not marked critical (RFC 5280 §4.2.1.9: conforming CAs MUST mark it
    /// critical in CA certificates). Default `true`; turn off for a legacy root or CA that wrote
    /// it non-critical.
    pub require_critical_basic_constraints: bool,
    /// Accept anyExtendedKeyUsage in place of id-kp-clientAuth (RFC 5280 §4.2.1.12 allows an
    /// application that needs one purpose to refuse it). Default `false`.
    pub allow_any_extended_key_usage: bool,
    /// The profile checks of `profile.rs` on presented certificates and CAs, and the
    /// name-constraint pass; off only in the benchmark baseline (feature `bench-baseline`).
    pub(crate) profile_checks: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            require_client_auth_eku: false,
            require_authority_key_id: true,
            require_subject_key_id: true,
            require_critical_basic_constraints: true,
            allow_any_extended_key_usage: false,
            profile_checks: true,
        }
    }
}

#[cfg(feature = "bench-baseline")]
impl ValidationOptions {
    /// The benchmark baseline: validation without the profile checks on presented certificates
    /// and CAs and without the name-constraint pass (what validation cost before them), to
    /// measure their cost in the same run. Never for production: it accepts chains that break
    /// RFC 5280 rules.
    #[must_use]
    pub fn bench_baseline_without_profile_checks(mut self) -> Self {
        self.profile_checks = false;
        self
    }
}
