//! Path building (RFC 5280 §6.1, RFC 4158 §2–3): a depth-first search from the leaf towards a trust
//! anchor through the presented intermediates.
//!
//! ```text
//!   child ──issuer name──▶ candidates (anchors and presented certificates whose subject DER equals
//!     │                    the child's issuer DER), best match first:
//!     │                      0. child's authorityKeyIdentifier keyId == candidate's subjectKeyIdentifier
//!     │                      1. no key identifiers to compare (name match only)
//!     │                      2. key identifiers that differ (kept: RFC 5280 calls AKI a hint)
//!     │                    anchors before presented certificates at equal quality
//!     └─▶ per candidate: cheap checks (validity, CA constraints), then the child's signature
//!         under the candidate's key (each (child, issuer) pair verified at most once per search,
//!         failures remembered and pruned), then recurse from the candidate; certificates already
//!         on the path (loops) and byte-identical duplicates are never candidates.
//! ```
//!
//! A path is accepted when it reaches an anchor and the name constraints of every CA on it hold.
//! Work is bounded by [`MAX_SIGNATURE_CHECKS`] (the expensive step) and, for the cheap steps, by
//! [`MAX_PATHS_TRIED`] candidates considered; depth by [`MAX_PATH_DEPTH`]. When every path fails,
//! the failure of the path that got furthest (most verified links), then the highest
//! [`rank`](ChainError::rank), is returned.

use crate::alg::{PreparedKey, SignatureFailure, find_algorithm, verify_signature};
use crate::cache::LinkMemory;
use crate::cert::Cert;
use crate::error::ChainError;
use crate::name_constraints::{self, NameConstraints};
use crate::profile;
use crate::store::TrustStore;
use crate::time::UnixTime;
use crate::verify::{
    check_critical_extensions, check_issuer_constraints, check_validity, check_validity_window,
};

/// Most intermediates on one path between leaf and anchor (webpki uses 6 too): deeper PKIs do not
/// exist in practice and the bound caps recursion.
pub const MAX_PATH_DEPTH: usize = 6;

/// Most signatures verified for one chain (links remembered by the verification cache cost
/// none). A valid path costs at most 7; the rest pays for dead ends in cross-signed PKIs (each
/// distinct (child, issuer) pair is verified once), while a hostile chain stops after at most
/// 32 verifications, about 25 ms for SM2 inside wasmtime.
pub const MAX_SIGNATURE_CHECKS: usize = 32;

/// Most issuer candidates considered for one chain. Considering one is cheap (a name comparison,
/// a few field checks, a remembered signature outcome); the bound stops a chain whose many
/// cross-certificates verify from enumerating every one of its exponentially many paths.
pub const MAX_PATHS_TRIED: usize = 1024;

/// A failed attempt: the error and how many links of that path verified before it.
pub(crate) type Failure = (usize, ChainError);

/// Keeps the more informative of two failures (the first on ties): the one whose path got more
/// links verified (a same-name anchor with the wrong key fails at once, the right one only after
/// the signature), then the higher [`ChainError::rank`].
fn better(best: Option<Failure>, new: Failure) -> Option<Failure> {
    match best {
        Some(b) if (b.0, b.1.rank()) >= (new.0, new.1.rank()) => Some(b),
        _ => Some(new),
    }
}

/// Which certificate issues a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IssuerRef {
    Anchor(usize),
    Presented(usize),
}

/// The RFC 4514 subject of a certificate, computed only for an error message.
type SubjectText<'a> = Box<dyn Fn() -> String + 'a>;

/// RFC 4158 §3.5.12-style ordering: how well a candidate's subjectKeyIdentifier matches the
/// child's authorityKeyIdentifier keyIdentifier (lower is better).
fn match_quality(child_aki: Option<&[u8]>, issuer_ski: Option<&[u8]>) -> u8 {
    match (child_aki, issuer_ski) {
        (Some(a), Some(s)) if a == s => 0,
        (Some(_), Some(_)) => 2,
        _ => 1,
    }
}

/// State of one depth-first path search.
pub(crate) struct Search<'s, 'c, 'l> {
    store: &'s TrustStore,
    /// Leaf at 0, then the presented intermediates.
    certs: &'c [Cert<'c>],
    /// Intermediate keys, decoded when first used as an issuer.
    keys: Vec<Option<Result<PreparedKey, String>>>,
    now: UnixTime,
    signatures: usize,
    paths: usize,
    links: Option<&'l mut LinkMemory>,
    /// (name × subtree) comparisons made so far, across every path tried.
    name_checks: name_constraints::Budget,
    /// The outcome of every (child, issuer) signature link checked so far.
    checked: Vec<(usize, IssuerRef, Result<(), ChainError>)>,
}

impl<'s, 'c, 'l> Search<'s, 'c, 'l> {
    /// A search over `certs` (leaf first) against `store` at `now`.
    pub(crate) fn new(
        store: &'s TrustStore,
        certs: &'c [Cert<'c>],
        now: UnixTime,
        links: Option<&'l mut LinkMemory>,
    ) -> Self {
        Self {
            store,
            certs,
            keys: vec![None; certs.len()],
            now,
            signatures: 0,
            paths: 0,
            links,
            name_checks: name_constraints::Budget::default(),
            checked: Vec::new(),
        }
    }

    fn cert(&self, i: usize) -> Result<&'c Cert<'c>, ChainError> {
        self.certs.get(i).ok_or(ChainError::Empty)
    }

    fn take_path_budget(&mut self) -> Result<(), ChainError> {
        self.paths += 1;
        if self.paths > MAX_PATHS_TRIED {
            return Err(ChainError::BudgetExceeded {
                what: "issuer candidates tried",
                limit: MAX_PATHS_TRIED,
            });
        }
        Ok(())
    }

    /// Non-self-issued intermediates on `path` (everything after the leaf), for §6.1.4 (l).
    fn intermediates_below(&self, path: &[usize]) -> usize {
        path.iter()
            .skip(1)
            .filter_map(|&i| self.certs.get(i))
            .filter(|c| !c.is_self_issued())
            .count()
    }

    /// The issuer candidates of `child` (not on `path`), best match first.
    fn candidates(&self, child: &Cert<'_>, path: &[usize]) -> Vec<IssuerRef> {
        let aki = child.extensions.authority_key_id.and_then(|a| a.key_id);
        let mut out: Vec<(u8, u8, IssuerRef)> = Vec::new();
        for (ai, anchor) in self.store.anchors.iter().enumerate() {
            if anchor.subject == child.issuer {
                let q = match_quality(aki, anchor.subject_key_id.as_deref());
                out.push((q, 0, IssuerRef::Anchor(ai)));
            }
        }
        for (ci, cand) in self.certs.iter().enumerate().skip(1) {
            if cand.subject != child.issuer || path.contains(&ci) {
                continue;
            }
            // A byte-identical copy of an earlier certificate or of a trust anchor adds nothing.
            let duplicate = self.certs.iter().take(ci).any(|c| c.der == cand.der)
                || self.store.anchors.iter().any(|a| a.der == cand.der);
            if duplicate {
                continue;
            }
            let q = match_quality(aki, cand.extensions.subject_key_id);
            out.push((q, 1, IssuerRef::Presented(ci)));
        }
        // Stable: equal keys keep store order, then presentation order.
        out.sort_by_key(|&(q, kind, _)| (q, kind));
        out.into_iter().map(|(_, _, r)| r).collect()
    }

    /// Extends `path` (leaf first, every link already verified) until it reaches an anchor whose
    /// path satisfies every name constraint; returns the anchor's index. On success the completed
    /// path is left in place; on failure `path` is as it was.
    pub(crate) fn build(&mut self, path: &mut Vec<usize>) -> Result<usize, Failure> {
        let child_index = *path.last().ok_or((0, ChainError::Empty))?;
        let child = self.cert(child_index).map_err(|e| (0, e))?;
        let below = self.intermediates_below(path);
        let linked = path.len() - 1;
        let mut best: Option<Failure> = None;
        let mut depth_exhausted = false;

        for candidate in self.candidates(child, path) {
            self.take_path_budget().map_err(|e| (linked, e))?;
            let attempt = match candidate {
                IssuerRef::Anchor(ai) => self.try_anchor(path, child_index, ai, below, linked),
                IssuerRef::Presented(_) if path.len() > MAX_PATH_DEPTH => {
                    depth_exhausted = true;
                    continue;
                }
                IssuerRef::Presented(ci) => {
                    self.try_intermediate(path, child_index, ci, below, linked)
                }
            };
            match attempt {
                Ok(anchor) => return Ok(anchor),
                Err(e @ (_, ChainError::BudgetExceeded { .. })) => return Err(e),
                Err(e) => best = better(best, e),
            }
        }
        if depth_exhausted {
            best = better(
                best,
                (
                    linked,
                    ChainError::PathTooLong {
                        limit: MAX_PATH_DEPTH,
                    },
                ),
            );
        }
        Err(best.unwrap_or_else(|| {
            let e = if child.is_self_issued() {
                ChainError::UntrustedRoot {
                    subject: child.subject_text(),
                }
            } else {
                ChainError::UnknownIssuer {
                    issuer: child.issuer_text(),
                }
            };
            (linked, e)
        }))
    }

    /// The anchor `ai` as the issuer of `child` at the top of `path`.
    fn try_anchor(
        &mut self,
        path: &[usize],
        child: usize,
        ai: usize,
        below: usize,
        linked: usize,
    ) -> Result<usize, Failure> {
        let store = self.store;
        let anchor = store.anchors.get(ai).ok_or((linked, ChainError::Empty))?;
        check_validity_window(anchor.not_before, anchor.not_after, self.now, || {
            anchor.subject_text.clone()
        })
        .and_then(|()| {
            check_issuer_constraints(
                anchor.basic_constraints,
                anchor.key_usage,
                !anchor.is_v3,
                below,
                || anchor.subject_text.clone(),
            )
        })
        .and_then(|()| {
            if !store.options.profile_checks {
                return Ok(());
            }
            profile::check_issuer_basic_constraints(
                anchor.basic_constraints.is_some(),
                anchor.basic_constraints_critical,
                &store.options,
                || anchor.subject_text.clone(),
            )
            .and_then(|()| {
                profile::check_issuer_eku(anchor.ext_key_usage.as_deref(), &store.options, || {
                    anchor.subject_text.clone()
                })
            })
        })
        .and_then(|()| self.link(child, IssuerRef::Anchor(ai)))
        .map_err(|e| (linked, e))?;
        // Name constraints are judged on an authenticated path only; a failure there outranks
        // every failure of a path whose links did not all verify.
        if store.options.profile_checks {
            self.check_name_constraints(path, ai)
                .map_err(|e| (linked + 1, e))?;
        }
        Ok(ai)
    }

    /// The presented certificate `ci` as the issuer of `child`, then the rest of the path above it.
    fn try_intermediate(
        &mut self,
        path: &mut Vec<usize>,
        child: usize,
        ci: usize,
        below: usize,
        linked: usize,
    ) -> Result<usize, Failure> {
        let issuer = self.cert(ci).map_err(|e| (linked, e))?;
        check_validity(issuer, self.now)
            .and_then(|()| check_critical_extensions(issuer))
            .and_then(|()| {
                check_issuer_constraints(
                    issuer.extensions.basic_constraints,
                    issuer.extensions.key_usage,
                    false,
                    below,
                    || issuer.subject_text(),
                )
            })
            .and_then(|()| {
                if !self.store.options.profile_checks {
                    return Ok(());
                }
                profile::check_issuer_basic_constraints(
                    issuer.extensions.basic_constraints.is_some(),
                    issuer.extensions.basic_constraints_critical,
                    &self.store.options,
                    || issuer.subject_text(),
                )
                .and_then(|()| {
                    profile::check_issuer_eku(
                        issuer.extensions.ext_key_usage,
                        &self.store.options,
                        || issuer.subject_text(),
                    )
                })
                .and_then(|()| profile::check_presented(issuer, &self.store.options))
            })
            .and_then(|()| self.link(child, IssuerRef::Presented(ci)))
            .map_err(|e| (linked, e))?;
        path.push(ci);
        let r = self.build(path);
        if r.is_err() {
            path.pop();
        }
        r
    }

    /// The SubjectPublicKeyInfo DER of an issuer.
    fn issuer_spki<'x>(&self, issuer: IssuerRef) -> Result<&'x [u8], ChainError>
    where
        's: 'x,
        'c: 'x,
    {
        let store: &'s TrustStore = self.store;
        match issuer {
            IssuerRef::Anchor(a) => store
                .anchors
                .get(a)
                .map(|a| a.spki.as_slice())
                .ok_or(ChainError::Empty),
            IssuerRef::Presented(i) => Ok(self.cert(i)?.spki),
        }
    }

    /// The outcome of "`child` is signed by the key of `issuer`", verified at most once per
    /// search for each (child, issuer key): cross-certificates and copies sharing a key share it.
    fn link(&mut self, child: usize, issuer: IssuerRef) -> Result<(), ChainError> {
        let spki = self.issuer_spki(issuer)?;
        let earlier = self
            .checked
            .iter()
            .find(|(c, i, _)| *c == child && self.issuer_spki(*i).is_ok_and(|other| other == spki));
        if let Some((_, _, outcome)) = earlier {
            return outcome.clone();
        }
        let outcome = self.check_link(child, issuer, spki);
        // A budget failure is not an outcome of the link: it ends the search.
        if !matches!(outcome, Err(ChainError::BudgetExceeded { .. })) {
            self.checked.push((child, issuer, outcome.clone()));
        }
        outcome
    }

    /// RFC 5280 §6.1.3 (b)/(c), §6.1.4 (g): applies the nameConstraints of every CA on the path
    /// (the anchor included) to the names of every certificate below it, skipping self-issued
    /// intermediates. A path without nameConstraints costs nothing here.
    fn check_name_constraints(&mut self, path: &[usize], anchor: usize) -> Result<(), ChainError> {
        let certs = self.certs;
        let store = self.store;
        let anchor = store.anchors.get(anchor).ok_or(ChainError::Empty)?;
        let anchor_nc = anchor
            .name_constraints
            .as_ref()
            .map(|(subtrees, critical)| NameConstraints {
                subtrees,
                critical: *critical,
            });
        let on_path: Vec<&Cert<'_>> = path.iter().filter_map(|&i| certs.get(i)).collect();
        let mut constraining: Vec<(usize, NameConstraints<'_>, SubjectText<'_>)> = Vec::new();
        for (pos, ca) in on_path.iter().enumerate().skip(1) {
            if let Some(nc) = ca.extensions.name_constraints {
                constraining.push((pos, nc, Box::new(|| ca.subject_text())));
            }
        }
        if let Some(nc) = anchor_nc {
            constraining.push((on_path.len(), nc, Box::new(|| anchor.subject_text.clone())));
        }
        if constraining.is_empty() {
            return Ok(());
        }
        let names: Vec<_> = on_path
            .iter()
            .enumerate()
            .map(|(depth, c)| name_constraints::names_of(c, depth == 0))
            .collect();
        for (pos, nc, ca_subject) in &constraining {
            for (depth, (cert, cert_names)) in on_path.iter().zip(&names).enumerate().take(*pos) {
                // §6.1.3 (b): self-issued intermediates are exempt; the leaf never is.
                if depth > 0 && cert.is_self_issued() {
                    continue;
                }
                name_constraints::check(
                    *nc,
                    ca_subject,
                    cert_names,
                    &|| cert.subject_text(),
                    depth,
                    &mut self.name_checks,
                )?;
            }
        }
        Ok(())
    }

    /// RFC 5280 §6.1.3 (a)(1): the child's signature verifies under the issuer's key, using the
    /// algorithm the child names. Links already verified (in `links`) cost no signature.
    fn check_link(
        &mut self,
        child: usize,
        issuer: IssuerRef,
        issuer_spki: &[u8],
    ) -> Result<(), ChainError> {
        let store = self.store;
        let certs = self.certs;
        let child_cert = certs.get(child).ok_or(ChainError::Empty)?;
        let link_key = self
            .links
            .as_ref()
            .map(|l| l.key(store, child_cert.der, issuer_spki));
        if let (Some(links), Some(key)) = (self.links.as_mut(), link_key.as_ref())
            && links.contains(key)
        {
            return Ok(());
        }
        let issuer_text = || match issuer {
            IssuerRef::Anchor(a) => store
                .anchors
                .get(a)
                .map(|a| a.subject_text.clone())
                .unwrap_or_default(),
            IssuerRef::Presented(i) => certs.get(i).map(Cert::subject_text).unwrap_or_default(),
        };
        let alg = find_algorithm(child_cert.signature_algorithm).map_err(|algorithm| {
            ChainError::UnsupportedSignatureAlgorithm {
                subject: child_cert.subject_text(),
                algorithm,
            }
        })?;
        let key: &PreparedKey = match issuer {
            IssuerRef::Anchor(a) => match store.anchors.get(a).map(|a| &a.key) {
                Some(Ok(k)) => k,
                Some(Err(k)) => {
                    return Err(ChainError::UnsupportedPublicKey {
                        subject: issuer_text(),
                        key: k.clone(),
                    });
                }
                None => return Err(ChainError::Empty),
            },
            IssuerRef::Presented(i) => {
                let slot = self.keys.get_mut(i).ok_or(ChainError::Empty)?;
                let prepared = slot.get_or_insert_with(|| {
                    certs.get(i).map_or(Err(String::new()), |c| {
                        PreparedKey::from_spki(c.spki, &store.sm2_id)
                    })
                });
                match prepared {
                    Ok(k) => k,
                    Err(k) => {
                        return Err(ChainError::UnsupportedPublicKey {
                            subject: issuer_text(),
                            key: k.clone(),
                        });
                    }
                }
            }
        };
        if self.signatures >= MAX_SIGNATURE_CHECKS {
            return Err(ChainError::BudgetExceeded {
                what: "signature checks",
                limit: MAX_SIGNATURE_CHECKS,
            });
        }
        self.signatures += 1;
        match verify_signature(alg, key, child_cert.tbs, child_cert.signature) {
            Ok(()) => {
                if let (Some(links), Some(k)) = (self.links.as_mut(), link_key) {
                    links.insert(k);
                }
                Ok(())
            }
            Err(SignatureFailure::KeyMismatch) => Err(ChainError::KeyAlgorithmMismatch {
                subject: child_cert.subject_text(),
                issuer: issuer_text(),
                algorithm: alg.name,
                key: key.kind().name(),
            }),
            Err(SignatureFailure::Invalid) => Err(ChainError::BadSignature {
                subject: child_cert.subject_text(),
                issuer: issuer_text(),
            }),
        }
    }
}
