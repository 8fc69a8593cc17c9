//! Name constraints (RFC 5280 §4.2.1.10) on the OpenSSL-made fixtures in
//! `testdata/constraints/` (see its `generate.sh`), for SM2 and P-256 alike, at a pinned instant.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use certs::{ChainError, TrustStore, VerifiedPath};
use common::ALGS;

fn store() -> TrustStore {
    common::store(&["constraints/roots.pem"])
}

fn verify_case(case: &str) -> Result<VerifiedPath, ChainError> {
    common::verify_pem(&store(), &format!("constraints/chains/{case}.pem"))
}

#[test]
fn names_within_every_permitted_form_verify() {
    for alg in ALGS {
        for case in ["nc-ok", "nc-cn-ok", "nested-b"] {
            let case = format!("{alg}-{case}");
            verify_case(&case).unwrap_or_else(|e| panic!("{case}: {e}"));
        }
    }
}

/// One case per name form, permitted and excluded, with the form the error must name.
const REJECTIONS: &[(&str, &str, &str)] = &[
    (
        "nc-dns-not-permitted",
        "name_not_permitted",
        "dNSName \"api.dept-b.example\"",
    ),
    (
        "nc-dns-excluded",
        "name_excluded",
        "dNSName \"x.bad.dept-a.example\"",
    ),
    (
        "nc-uri-not-permitted",
        "name_not_permitted",
        "uniformResourceIdentifier \"spiffe://dept-b.example/client/x\"",
    ),
    (
        "nc-uri-excluded",
        "name_excluded",
        "uniformResourceIdentifier \"spiffe://bad.dept-a.example/client/x\"",
    ),
    (
        "nc-email-not-permitted",
        "name_not_permitted",
        "rfc822Name \"bob@dept-b.example\"",
    ),
    (
        "nc-email-excluded",
        "name_excluded",
        "rfc822Name \"mallory@dept-a.example\"",
    ),
    (
        "nc-ip-not-permitted",
        "name_not_permitted",
        "iPAddress 10.2.0.1",
    ),
    ("nc-ip-excluded", "name_excluded", "iPAddress 10.1.9.9"),
    (
        "nc-dir-not-permitted",
        "name_not_permitted",
        "directoryName \"CN=alice,OU=Dept B,O=Trieguard Test,C=CN\"",
    ),
    (
        "nc-dir-excluded",
        "name_excluded",
        "directoryName \"CN=banned,OU=Dept A,O=Trieguard Test,C=CN\"",
    ),
    (
        "nc-cn-not-permitted",
        "name_not_permitted",
        "dNSName \"api.dept-b.example\"",
    ),
    (
        "nested-a",
        "name_not_permitted",
        "dNSName \"api.dept-a.example\"",
    ),
    (
        "nested-c",
        "name_not_permitted",
        "dNSName \"api.dept-c.example\"",
    ),
    (
        "nc-unsupported-form",
        "unsupported_name_constraint",
        "otherName",
    ),
];

#[test]
fn names_outside_the_constraints_are_refused_with_their_form() {
    for alg in ALGS {
        for (case, code, needle) in REJECTIONS {
            let case = format!("{alg}-{case}");
            let err = verify_case(&case).expect_err(&case);
            assert_eq!(err.code(), *code, "{case}: {err}");
            assert!(err.to_string().contains(needle), "{case}: {err}");
        }
    }
}

#[test]
fn nested_constraints_intersect_and_name_the_constraining_ca() {
    for alg in ALGS {
        // dept-a is allowed by the outer CA only, dept-c by the inner one only.
        let a = verify_case(&format!("{alg}-nested-a"))
            .unwrap_err()
            .to_string();
        assert!(a.contains(&format!("Trieguard NC {alg} Inner")), "{a}");
        let c = verify_case(&format!("{alg}-nested-c"))
            .unwrap_err()
            .to_string();
        assert!(c.contains(&format!("Trieguard NC {alg} Outer")), "{c}");
        assert!(c.contains("at depth 0"), "{c}");
    }
}

#[test]
fn error_message_names_name_constraint_and_depth() {
    assert_eq!(
        verify_case("sm2-nc-dns-excluded").unwrap_err().to_string(),
        "name constraint violated: dNSName \"x.bad.dept-a.example\" of certificate at depth 0 \
         (CN=alice,OU=Dept A,O=Trieguard Test,C=CN) is within the excluded subtree dNSName \
         \"bad.dept-a.example\" of CN=Trieguard NC sm2 Constrained,O=Trieguard Test,C=CN"
    );
}

#[test]
fn fixtures_are_not_stale() {
    common::assert_fixtures_fresh("constraints");
}
