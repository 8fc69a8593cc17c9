//! The certificate-profile rules of `docs/cert-rules.md` (key identifiers, subject CN and SAN
//! encodings, extendedKeyUsage, CA keyUsage, budgets) on the OpenSSL-made fixtures in
//! `testdata/rules/` (see its `generate.sh`), SM2 and P-256 alike, at a pinned instant: each rule
//! refused with its precise reason under the default options, and accepted where an option
//! relaxes it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use certs::{ChainError, StoreError, TrustStore, ValidationOptions};
use common::{ALGS, verify_pem};

const DIR: &str = "rules";

fn store(options: ValidationOptions) -> TrustStore {
    common::store(&[&format!("{DIR}/roots.pem")]).with_options(options)
}

fn verify(case: &str, options: ValidationOptions) -> Result<certs::VerifiedPath, ChainError> {
    verify_pem(&store(options), &format!("{DIR}/chains/{case}.pem"))
}

fn code(case: &str, options: ValidationOptions) -> &'static str {
    match verify(case, options) {
        Ok(_) => "valid",
        Err(e) => e.code(),
    }
}

/// (case, code under the default options, what the message must say).
const DEFAULT_VERDICTS: &[(&str, &str, &str)] = &[
    ("ok", "valid", ""),
    // RFC 5280 §4.2.1.1.
    (
        "leaf-no-aki",
        "missing_authority_key_id",
        "lacks authorityKeyIdentifier",
    ),
    (
        "leaf-critical-aki",
        "critical_key_identifier",
        "authorityKeyIdentifier is marked critical",
    ),
    ("leaf-empty-aki-keyid", "malformed", "empty keyIdentifier"),
    ("leaf-aki-issuer-serial", "valid", ""),
    (
        "int-no-aki",
        "missing_authority_key_id",
        "lacks authorityKeyIdentifier",
    ),
    // RFC 5280 §4.2.1.2.
    (
        "int-no-ski",
        "missing_subject_key_id",
        "CA certificate lacks subjectKeyIdentifier",
    ),
    (
        "int-critical-ski",
        "critical_key_identifier",
        "subjectKeyIdentifier is marked critical",
    ),
    // RFC 5280 §4.2.1.3, §4.2.1.9.
    (
        "leaf-keycertsign",
        "inconsistent_ca_extensions",
        "keyUsage asserts keyCertSign but basicConstraints cA is not TRUE",
    ),
    (
        "leaf-pathlen-not-ca",
        "inconsistent_ca_extensions",
        "pathLenConstraint without basicConstraints cA TRUE",
    ),
    // RFC 5280 §4.2.1.12.
    ("leaf-no-eku", "valid", ""),
    (
        "leaf-eku-server",
        "not_client_auth",
        "lacks id-kp-clientAuth",
    ),
    (
        "leaf-eku-any",
        "any_extended_key_usage",
        "does not accept anyExtendedKeyUsage",
    ),
    ("leaf-eku-any-client", "valid", ""),
    (
        "int-eku-server",
        "issuer_not_client_auth",
        "issuer not valid for client authentication",
    ),
    ("int-eku-client", "valid", ""),
    // RFC 5280 §4.2.1.6.
    ("san-empty", "malformed", "subjectAltName: empty"),
    ("san-empty-dns", "malformed", "empty dNSName"),
    ("san-non-ascii", "malformed", "non-ASCII dNSName"),
    // RFC 5280 §4.1.2.4, Appendix A.
    ("cn-printable", "valid", ""),
    (
        "cn-not-a-string",
        "malformed_subject_name",
        "commonName is not a DirectoryString",
    ),
    (
        "cn-bad-printable",
        "malformed_subject_name",
        "outside the PrintableString set",
    ),
    (
        "cn-bad-utf8",
        "malformed_subject_name",
        "UTF8String is not valid UTF-8",
    ),
    // RFC 5280 §4.1.2.6, §4.2.1.6.
    ("empty-subject-critical-san", "valid", ""),
    (
        "empty-subject-noncritical-san",
        "malformed_subject_name",
        "empty subject with a non-critical subjectAltName",
    ),
    // Thousands of names against a thousand subtrees.
    (
        "many-names",
        "budget_exceeded",
        "more than 65536 name constraint",
    ),
];

#[test]
fn every_rule_has_its_verdict_under_the_default_options() {
    for alg in ALGS {
        for (case, want, message) in DEFAULT_VERDICTS {
            let case = format!("{alg}-{case}");
            match verify(&case, ValidationOptions::default()) {
                Ok(_) => assert_eq!(*want, "valid", "{case} verified"),
                Err(e) => {
                    assert_eq!(e.code(), *want, "{case}: {e}");
                    assert!(e.to_string().contains(message), "{case}: {e}");
                }
            }
        }
    }
}

#[test]
fn the_key_identifier_options_accept_legacy_pkis() {
    let mut lenient = ValidationOptions::default();
    lenient.require_authority_key_id = false;
    lenient.require_subject_key_id = false;
    for alg in ALGS {
        for case in ["leaf-no-aki", "int-no-aki", "int-no-ski"] {
            assert_eq!(code(&format!("{alg}-{case}"), lenient), "valid", "{case}");
        }
        // Only the missing extension is an option: a critical one is still refused.
        for case in ["leaf-critical-aki", "int-critical-ski"] {
            assert_eq!(
                code(&format!("{alg}-{case}"), lenient),
                "critical_key_identifier"
            );
        }
        let mut only_ski = ValidationOptions::default();
        only_ski.require_authority_key_id = false;
        assert_eq!(
            code(&format!("{alg}-int-no-ski"), only_ski),
            "missing_subject_key_id"
        );
    }
}

#[test]
fn require_client_auth_eku_refuses_a_leaf_without_eku() {
    let mut strict = ValidationOptions::default();
    strict.require_client_auth_eku = true;
    for alg in ALGS {
        let err = verify(&format!("{alg}-leaf-no-eku"), strict).unwrap_err();
        assert_eq!(err.code(), "missing_extended_key_usage");
        assert_eq!(
            err.to_string(),
            "certificate has no extendedKeyUsage, and this trust store requires \
             id-kp-clientAuth (require_client_auth_eku) (CN=alice,O=Trieguard Test,C=CN)"
        );
        // Leaves that list clientAuth are unaffected.
        for case in ["ok", "leaf-eku-any-client", "int-eku-client"] {
            assert_eq!(code(&format!("{alg}-{case}"), strict), "valid", "{case}");
        }
        assert_eq!(
            code(&format!("{alg}-leaf-eku-server"), strict),
            "not_client_auth"
        );
    }
}

#[test]
fn allow_any_extended_key_usage_accepts_any_eku() {
    let mut any = ValidationOptions::default();
    any.allow_any_extended_key_usage = true;
    for alg in ALGS {
        assert_eq!(code(&format!("{alg}-leaf-eku-any"), any), "valid");
        assert_eq!(
            code(&format!("{alg}-leaf-eku-server"), any),
            "not_client_auth"
        );
        assert_eq!(
            code(&format!("{alg}-int-eku-server"), any),
            "issuer_not_client_auth"
        );
    }
}

#[test]
fn a_root_with_ca_true_but_no_key_cert_sign_gives_a_verdict() {
    for alg in ALGS {
        let store = common::store(&[&format!("{DIR}/roots-{alg}-no-certsign.pem")]);
        let err =
            verify_pem(&store, &format!("{DIR}/chains/{alg}-root-no-certsign.pem")).unwrap_err();
        assert_eq!(err.code(), "issuer_key_usage", "{alg}: {err}");
        assert!(err.to_string().contains("lacks keyCertSign"), "{err}");
    }
}

#[test]
fn unusable_roots_are_named_store_errors() {
    for alg in ALGS {
        let huge = std::fs::read(common::testdata(&format!("{DIR}/roots-{alg}-huge.pem"))).unwrap();
        let err = TrustStore::from_pem(&huge).unwrap_err();
        assert!(
            matches!(&err, StoreError::Malformed { index: 0, reason } if reason.contains("larger than MAX_CERTIFICATE_BYTES")),
            "{err}"
        );
        let empty_san = std::fs::read(common::testdata(&format!(
            "{DIR}/roots-{alg}-empty-san.pem"
        )))
        .unwrap();
        let err = TrustStore::from_pem(&empty_san).unwrap_err();
        assert!(
            matches!(&err, StoreError::Malformed { index: 0, reason } if reason.contains("subjectAltName: empty")),
            "{err}"
        );
    }
}

#[test]
fn rule_fixtures_are_not_stale() {
    common::assert_fixtures_fresh(DIR);
}
