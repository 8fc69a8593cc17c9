//! Path building (RFC 4158 shapes) on the OpenSSL-made fixtures in `testdata/constraints/`
//! (see its `generate.sh`), SM2 and P-256 alike, at a pinned instant; and the property that an
//! unrelated extra intermediate never changes a valid verdict.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::OnceLock;

use certs::{ChainError, TrustStore, VerifiedPath};
use common::{ALGS, chain};
use proptest::prelude::*;

/// The trust anchors of every fixture set.
fn store() -> &'static TrustStore {
    static STORE: OnceLock<TrustStore> = OnceLock::new();
    STORE.get_or_init(|| common::store(&["roots.pem", "constraints/roots.pem", "rules/roots.pem"]))
}

fn verify(ders: &[Vec<u8>]) -> Result<VerifiedPath, ChainError> {
    common::verify_ders(store(), ders)
}

#[test]
fn cross_signed_intermediates_find_the_trusted_path_past_every_dead_end() {
    for alg in ALGS {
        let path = verify(&chain(&format!(
            "constraints/chains/{alg}-pb-cross-signed.pem"
        )))
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let subjects: Vec<&str> = path.subjects().iter().map(String::as_str).collect();
        assert_eq!(
            subjects,
            [
                "CN=cross,O=Trieguard Test,C=CN".to_owned(),
                format!("CN=Trieguard PB {alg} Y,O=Trieguard Test,C=CN"),
                format!("CN=Trieguard PB {alg} X,O=Trieguard Test,C=CN"),
                format!("CN=Trieguard NC {alg} Root,O=Trieguard Test,C=CN"),
            ]
        );
    }
}

#[test]
fn many_candidate_issuers_with_one_name_still_validate() {
    for alg in ALGS {
        verify(&chain(&format!(
            "constraints/chains/{alg}-pb-many-candidates.pem"
        )))
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

#[test]
fn a_chain_of_decoys_stops_on_the_signature_budget() {
    for alg in ALGS {
        let err = verify(&chain(&format!("constraints/chains/{alg}-pb-hostile.pem"))).unwrap_err();
        assert_eq!(
            err,
            ChainError::BudgetExceeded {
                what: "signature checks",
                limit: certs::MAX_SIGNATURE_CHECKS,
            },
            "{alg}"
        );
    }
}

/// Valid chains, and certificates unrelated to them (other PKIs, decoys, constrained CAs).
fn valid_chains() -> Vec<Vec<Vec<u8>>> {
    let mut out = vec![
        chain("chains/sm2-valid.pem"),
        chain("chains/p256-valid.pem"),
    ];
    for alg in ALGS {
        out.push(chain(&format!(
            "constraints/chains/{alg}-pb-cross-signed.pem"
        )));
        out.push(chain(&format!("constraints/chains/{alg}-nc-ok.pem")));
        out.push(chain(&format!("rules/chains/{alg}-ok.pem")));
    }
    out
}

fn unrelated_pool() -> Vec<Vec<u8>> {
    let mut pool = Vec::new();
    for case in [
        "chains/loop.pem",
        "chains/rsa-valid.pem",
        "chains/key-mismatch.pem",
    ] {
        pool.extend(chain(case));
    }
    for alg in ALGS {
        pool.extend(chain(&format!("constraints/chains/{alg}-nested-a.pem")));
        pool.extend(chain(&format!(
            "constraints/chains/{alg}-pb-many-candidates.pem"
        )));
        // CAs that break a profile rule, and one with a thousand subtrees.
        for case in [
            "int-no-ski",
            "int-eku-server",
            "int-critical-ski",
            "many-names",
        ] {
            pool.extend(chain(&format!("rules/chains/{alg}-{case}.pem")));
        }
    }
    pool
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// RFC 4158's point of path building: the certificates a client adds may only help.
    #[test]
    fn an_unrelated_extra_intermediate_never_changes_a_valid_verdict(
        which in 0usize..8, extra in 0usize..64, at in 1usize..16,
    ) {
        let chains = valid_chains();
        let pool = unrelated_pool();
        let mut ders = chains[which % chains.len()].clone();
        let before = verify(&ders).unwrap();
        let position = 1 + at % ders.len();
        ders.insert(position, pool[extra % pool.len()].clone());
        let after = verify(&ders);
        prop_assert!(after.is_ok(), "{:?}", after);
        let after = after.unwrap();
        prop_assert_eq!(after.subject_dn(), before.subject_dn());
    }
}
