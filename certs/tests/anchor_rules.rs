//! Paths that end at a trust anchor RFC 5280 does not let issue, and the presented certificates
//! that could only chain to one (issue #15: the x509-limbo cases `rfc5280::root-missing-basic-
//! constraints`, `rfc5280::root-non-critical-basic-constraints`, `rfc5280::ca-empty-subject`
//! and `rfc5280::aki::cross-signed-root-missing-aki`; decisions in docs/cert-rules.md). Fixtures
//! from `testdata/anchors/generate.sh`, SM2 and P-256 alike; each case trusts only its own anchor.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use certs::{ChainError, TrustStore, ValidationOptions, VerifiedPath};
use common::{ALGS, verify_pem};

const DIR: &str = "anchors";

fn store(alg: &str, case: &str) -> TrustStore {
    common::store(&[&format!("{DIR}/roots-{alg}-{case}.pem")])
}

fn verify_with(store: &TrustStore, alg: &str, case: &str) -> Result<VerifiedPath, ChainError> {
    verify_pem(store, &format!("{DIR}/chains/{alg}-{case}.pem"))
}

fn verify(alg: &str, anchor: &str, case: &str) -> Result<VerifiedPath, ChainError> {
    verify_with(&store(alg, anchor), alg, case)
}

fn tolerating_non_critical_basic_constraints() -> ValidationOptions {
    let mut options = ValidationOptions::default();
    options.require_critical_basic_constraints = false;
    options
}

#[test]
fn the_control_chain_validates() {
    for alg in ALGS {
        verify(alg, "ok", "ok").unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

/// limbo `rfc5280::root-missing-basic-constraints`: RFC 5280 §4.2.1.9, a version 3 certificate
/// without basicConstraints MUST NOT be used to verify certificate signatures, anchor or not.
#[test]
fn a_v3_anchor_without_basic_constraints_cannot_issue() {
    for alg in ALGS {
        let err = verify(alg, "root-no-bc", "root-no-bc").unwrap_err();
        assert_eq!(
            err,
            ChainError::NotCa {
                subject: format!("CN=Trieguard Anchor {alg} No BC,O=Trieguard Test,C=CN"),
            },
            "{alg}"
        );
        assert_eq!(err.code(), "issuer_not_ca");
    }
}

/// A version 1 root cannot carry extensions at all: it stays a usable anchor.
#[test]
fn a_v1_anchor_still_issues() {
    for alg in ALGS {
        verify(alg, "root-v1", "root-v1").unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

/// limbo `rfc5280::root-non-critical-basic-constraints`: §4.2.1.9, CAs MUST mark basicConstraints
/// critical; the same rule holds for a presented intermediate. `require_critical_basic_constraints`
/// turns it off.
#[test]
fn a_ca_with_non_critical_basic_constraints_is_refused_unless_tolerated() {
    for alg in ALGS {
        for (anchor, case, ca) in [
            (
                "root-noncritical-bc",
                "root-noncritical-bc",
                format!("CN=Trieguard Anchor {alg} Noncritical BC,O=Trieguard Test,C=CN"),
            ),
            (
                "ok",
                "int-noncritical-bc",
                format!("CN=Trieguard Anchor {alg} Int Noncritical BC,O=Trieguard Test,C=CN"),
            ),
        ] {
            let strict = store(alg, anchor);
            let err = verify_with(&strict, alg, case).unwrap_err();
            assert_eq!(
                err,
                ChainError::NonCriticalBasicConstraints { subject: ca },
                "{alg} {case}"
            );
            assert_eq!(err.code(), "non_critical_basic_constraints");
            let lenient =
                store(alg, anchor).with_options(tolerating_non_critical_basic_constraints());
            verify_with(&lenient, alg, case).unwrap_or_else(|e| panic!("{alg} {case}: {e}"));
        }
    }
}

/// limbo `rfc5280::ca-empty-subject` (and `rfc5280::ee-empty-issuer`): §4.1.2.4, the issuer field
/// MUST hold a non-empty name, so a certificate naming an empty issuer is refused even when an
/// anchor with an empty subject signed it.
#[test]
fn a_certificate_naming_an_empty_issuer_is_refused() {
    for alg in ALGS {
        let err = verify(alg, "root-empty-subject", "root-empty-subject").unwrap_err();
        assert_eq!(
            err,
            ChainError::EmptyIssuerName {
                subject: "CN=alice root-empty-subject,O=Trieguard Test,C=CN".to_owned(),
            },
            "{alg}"
        );
        assert_eq!(err.code(), "empty_issuer_name");
    }
}

/// limbo `rfc5280::aki::cross-signed-root-missing-aki` (marked pedantic by the suite): the
/// anchor is configuration and its authorityKeyIdentifier would name a key outside the path,
/// so trieguard deliberately accepts it (docs/cert-rules.md).
#[test]
fn a_cross_signed_anchor_without_authority_key_id_is_accepted() {
    for alg in ALGS {
        let path = verify(alg, "root-cross-signed-no-aki", "root-cross-signed-no-aki")
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(
            path.subjects().last().map(String::as_str),
            Some(format!("CN=Trieguard Anchor {alg} Cross-signed,O=Trieguard Test,C=CN").as_str())
        );
    }
}

#[test]
fn fixtures_are_fresh() {
    common::assert_fixtures_fresh(DIR);
}
