//! Path building and validation (RFC 5280 §6; GM/T 0015 certificates follow the same profile).
//!
//! ```text
//!   leaf ──issuer name──▶ candidates: trust anchors first, then presented intermediates
//!    │                      (byte-equal subject DER, not yet on the path, constraints hold)
//!    └─▶ depth-first: each candidate intermediate becomes the next "child"; on reaching an
//!        anchor, signatures are checked from the anchor down to the leaf.
//! ```
//!
//! Intermediates are untrusted and may come in any order; anchors may share a name. The search is
//! bounded by [`MAX_PATH_DEPTH`], [`MAX_PATHS_TRIED`] and [`MAX_SIGNATURE_CHECKS`]. When every
//! path fails, the highest-[`rank`](ChainError::rank)ed error is returned.

use crate::alg::{PreparedKey, SignatureFailure, find_algorithm, verify_signature};
use crate::cache::LinkMemory;
use crate::cert::{BasicConstraints, Cert, KeyUsage, eku_contains, oid};
use crate::der::oid_to_string;
use crate::error::ChainError;
use crate::name_constraints::{self, NameConstraints};
use crate::path::VerifiedPath;
use crate::store::TrustStore;
use crate::time::UnixTime;

/// Most intermediates a client may present. Real chains carry one to three; more is a mistake or
/// an attempt to make path building expensive.
pub const MAX_INTERMEDIATES: usize = 16;

/// Most intermediates on one path between leaf and anchor (webpki uses 6 too): deeper PKIs do not
/// exist in practice and the bound caps recursion.
pub const MAX_PATH_DEPTH: usize = 6;

/// Most signatures checked for one chain. One valid path costs depth+1 checks (at most 7);
/// the rest allows a few dead ends (e.g. same-name anchors) while capping the cost of a hostile
/// chain at a few milliseconds inside wasm.
pub const MAX_SIGNATURE_CHECKS: usize = 16;

/// Most issuer candidates considered for one chain: bounds the search when many presented
/// certificates share names (a hostile chain could otherwise cause factorial work).
pub const MAX_PATHS_TRIED: usize = 64;

/// Verifies that `leaf` chains to an anchor of `store` through some of `intermediates` (in any
/// order) and is valid for TLS client authentication at `now` (Unix seconds).
///
/// `leaf` and `intermediates` are DER certificates. The time is a parameter: the library never
/// reads a clock.
pub fn verify_chain<I: AsRef<[u8]>>(
    store: &TrustStore,
    leaf: &[u8],
    intermediates: &[I],
    now: UnixTime,
) -> Result<VerifiedPath, ChainError> {
    verify_with_links(store, leaf, intermediates, now, None)
}

/// [`verify_chain`], consulting and filling `links` (already verified issuer links) when given.
pub(crate) fn verify_with_links<I: AsRef<[u8]>>(
    store: &TrustStore,
    leaf: &[u8],
    intermediates: &[I],
    now: UnixTime,
    links: Option<&mut LinkMemory>,
) -> Result<VerifiedPath, ChainError> {
    if intermediates.len() > MAX_INTERMEDIATES {
        return Err(ChainError::TooLarge {
            what: "intermediate count",
            size: intermediates.len(),
            limit: MAX_INTERMEDIATES,
        });
    }
    let mut certs = Vec::with_capacity(intermediates.len() + 1);
    for (index, der) in core::iter::once(leaf)
        .chain(intermediates.iter().map(AsRef::as_ref))
        .enumerate()
    {
        if der.len() > crate::cert::MAX_CERTIFICATE_BYTES {
            return Err(ChainError::TooLarge {
                what: "certificate",
                size: der.len(),
                limit: crate::cert::MAX_CERTIFICATE_BYTES,
            });
        }
        certs.push(Cert::from_der(der).map_err(|e| ChainError::Malformed { index, reason: e.0 })?);
    }
    let Some(leaf_cert) = certs.first() else {
        return Err(ChainError::Empty);
    };
    check_leaf(leaf_cert, now)?;

    let mut search = Search {
        store,
        certs: &certs,
        keys: vec![None; certs.len()],
        now,
        signatures: 0,
        paths: 0,
        links,
        name_checks: name_constraints::Budget::default(),
    };
    let mut path = vec![0usize];
    let anchor = search.build(&mut path).map_err(|(_, e)| e)?;

    let mut subjects: Vec<String> = path
        .iter()
        .filter_map(|&i| certs.get(i))
        .map(Cert::subject_text)
        .collect();
    let (anchor_text, anchor_not_after) = store
        .anchors
        .get(anchor)
        .map(|a| (a.subject_text.clone(), a.not_after))
        .unwrap_or_default();
    subjects.push(anchor_text);
    let valid_until = path
        .iter()
        .filter_map(|&i| certs.get(i))
        .map(|c| c.not_after)
        .fold(anchor_not_after, i64::min);
    Ok(VerifiedPath::new(leaf_cert, subjects, valid_until, anchor))
}

/// Checks the leaf on its own, before any issuer is looked for.
fn check_leaf(leaf: &Cert<'_>, now: UnixTime) -> Result<(), ChainError> {
    check_validity(leaf, now)?;
    check_critical_extensions(leaf)?;
    check_client_auth_usage(leaf)
}

/// RFC 5280 §6.1.3 (a)(2): `now` lies within notBefore..=notAfter (both inclusive, §4.1.2.5).
fn check_validity(cert: &Cert<'_>, now: UnixTime) -> Result<(), ChainError> {
    check_validity_window(cert.not_before, cert.not_after, now, || cert.subject_text())
}

fn check_validity_window(
    not_before: UnixTime,
    not_after: UnixTime,
    now: UnixTime,
    subject: impl FnOnce() -> String,
) -> Result<(), ChainError> {
    if now < not_before {
        return Err(ChainError::NotYetValid {
            subject: subject(),
            not_before,
            now,
        });
    }
    if now > not_after {
        return Err(ChainError::Expired {
            subject: subject(),
            not_after,
            now,
        });
    }
    Ok(())
}

/// RFC 5280 §4.2 and §6.1.4 (o): a certificate with a critical extension we do not process is
/// rejected. Processed: basicConstraints, keyUsage, extKeyUsage, subjectAltName, nameConstraints
/// and the key identifiers. Certificate policies are not processed, so a critical one rejects the
/// certificate.
fn check_critical_extensions(cert: &Cert<'_>) -> Result<(), ChainError> {
    match cert.extensions.unknown_critical {
        Some(id) => Err(ChainError::UnknownCriticalExtension {
            subject: cert.subject_text(),
            oid: oid_to_string(id),
        }),
        None => Ok(()),
    }
}

/// TLS client authentication (RFC 5246 §7.4.8 / RFC 8446 §4.4.3: the client signs): keyUsage, when
/// present, must assert digitalSignature (RFC 5280 §4.2.1.3); extendedKeyUsage, when present, must
/// contain id-kp-clientAuth or anyExtendedKeyUsage (RFC 5280 §4.2.1.12: anyExtendedKeyUsage means
/// the issuer places no restriction; an empty extendedKeyUsage is rejected when parsed).
fn check_client_auth_usage(leaf: &Cert<'_>) -> Result<(), ChainError> {
    if leaf
        .extensions
        .key_usage
        .is_some_and(|ku| !ku.has(KeyUsage::DIGITAL_SIGNATURE))
    {
        return Err(ChainError::MissingDigitalSignature {
            subject: leaf.subject_text(),
        });
    }
    if leaf.extensions.ext_key_usage.is_some_and(|eku| {
        !eku_contains(eku, oid::KP_CLIENT_AUTH) && !eku_contains(eku, oid::ANY_EXTENDED_KEY_USAGE)
    }) {
        return Err(ChainError::NotClientAuth {
            subject: leaf.subject_text(),
        });
    }
    Ok(())
}

/// The CA checks on an issuer (RFC 5280 §6.1.4, applied to each intermediate and to the anchor):
/// (k) basicConstraints present with cA true — for an anchor an absent basicConstraints is
/// tolerated (v1 roots); (l)/(m) pathLenConstraint at least the number of non-self-issued
/// intermediates below; (n) keyUsage, if present, asserts keyCertSign.
fn check_issuer_constraints(
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    is_anchor: bool,
    below: usize,
    subject: impl Fn() -> String,
) -> Result<(), ChainError> {
    match basic_constraints {
        Some(BasicConstraints { ca: true, path_len }) => {
            if let Some(path_len) = path_len
                && below > usize::from(path_len)
            {
                return Err(ChainError::PathLenExceeded {
                    subject: subject(),
                    path_len,
                    below,
                });
            }
        }
        None if is_anchor => {}
        _ => return Err(ChainError::NotCa { subject: subject() }),
    }
    if key_usage.is_some_and(|ku| !ku.has(KeyUsage::KEY_CERT_SIGN)) {
        return Err(ChainError::MissingKeyCertSign { subject: subject() });
    }
    Ok(())
}

/// State of one depth-first path search.
struct Search<'s, 'c, 'l> {
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
}

/// A failed attempt: the error and how many signatures of that path verified before it.
type Failure = (usize, ChainError);

/// Keeps the more informative of two failures (the first on ties): the one whose path got more
/// signatures verified (a same-name anchor with the wrong key fails at once, the right one only
/// further down), then the higher [`ChainError::rank`].
fn better(best: Option<Failure>, new: Failure) -> Option<Failure> {
    match best {
        Some(b) if (b.0, b.1.rank()) >= (new.0, new.1.rank()) => Some(b),
        _ => Some(new),
    }
}

impl<'c> Search<'_, 'c, '_> {
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

    /// Extends `path` (leaf first) until it reaches an anchor; returns the anchor's index.
    fn build(&mut self, path: &mut Vec<usize>) -> Result<usize, Failure> {
        let child_index = *path.last().ok_or((0, ChainError::Empty))?;
        let child = self.cert(child_index).map_err(|e| (0, e))?;
        let below = self.intermediates_below(path);
        let mut best: Option<Failure> = None;

        for (ai, anchor) in self.store.anchors.iter().enumerate() {
            if anchor.subject != child.issuer {
                continue;
            }
            self.take_path_budget().map_err(|e| (0, e))?;
            let attempt =
                check_validity_window(anchor.not_before, anchor.not_after, self.now, || {
                    anchor.subject_text.clone()
                })
                .and_then(|()| {
                    check_issuer_constraints(
                        anchor.basic_constraints,
                        anchor.key_usage,
                        true,
                        below,
                        || anchor.subject_text.clone(),
                    )
                })
                .map_err(|e| (0, e))
                .and_then(|()| self.check_signatures(path, ai))
                // Name constraints are judged on an authenticated path only; a failure there
                // outranks every failure of a path whose signatures did not all verify.
                .and_then(|()| {
                    self.check_name_constraints(path, ai)
                        .map_err(|e| (path.len() + 1, e))
                });
            match attempt {
                Ok(()) => return Ok(ai),
                Err(e @ (_, ChainError::BudgetExceeded { .. })) => return Err(e),
                Err(e) => best = better(best, e),
            }
        }

        if path.len() > MAX_PATH_DEPTH {
            let e = (
                0,
                ChainError::PathTooLong {
                    limit: MAX_PATH_DEPTH,
                },
            );
            return Err(better(best, e).unwrap_or((
                0,
                ChainError::PathTooLong {
                    limit: MAX_PATH_DEPTH,
                },
            )));
        }
        for candidate in 1..self.certs.len() {
            let Ok(issuer) = self.cert(candidate) else {
                continue;
            };
            if issuer.subject != child.issuer || path.contains(&candidate) {
                continue;
            }
            self.take_path_budget().map_err(|e| (0, e))?;
            let attempt = check_validity(issuer, self.now)
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
                .map_err(|e| (0, e));
            // On success `build` leaves the completed path in place; on failure it is restored.
            let attempt = attempt.and_then(|()| {
                path.push(candidate);
                let r = self.build(path);
                if r.is_err() {
                    path.pop();
                }
                r
            });
            match attempt {
                Ok(anchor) => return Ok(anchor),
                Err(e @ (_, ChainError::BudgetExceeded { .. })) => return Err(e),
                Err(e) => best = better(best, e),
            }
        }
        Err(best.unwrap_or_else(|| {
            (
                0,
                ChainError::UnknownIssuer {
                    issuer: child.issuer_text(),
                },
            )
        }))
    }

    /// RFC 5280 §6.1.3 (b)/(c), §6.1.4 (g): applies the nameConstraints of every CA on the path
    /// (the anchor included) to the names of every certificate below it, skipping self-issued
    /// intermediates. A path without nameConstraints costs nothing here.
    fn check_name_constraints(&mut self, path: &[usize], anchor: usize) -> Result<(), ChainError> {
        let certs = self.certs;
        let anchor = self.store.anchors.get(anchor).ok_or(ChainError::Empty)?;
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

    /// Checks every signature of `path` ending at anchor `anchor`, from the anchor down. A
    /// failure carries the number of links that verified before it.
    fn check_signatures(&mut self, path: &[usize], anchor: usize) -> Result<(), Failure> {
        let store = self.store;
        let Some(a) = store.anchors.get(anchor) else {
            return Err((0, ChainError::Empty));
        };
        let top = *path.last().ok_or((0, ChainError::Empty))?;
        self.check_link(top, IssuerRef::Anchor(anchor), &a.spki)
            .map_err(|e| (1, e))?;
        for (verified, pair) in path.windows(2).rev().enumerate() {
            if let [child, issuer] = *pair {
                let spki = self.cert(issuer).map_err(|e| (0, e))?.spki;
                self.check_link(child, IssuerRef::Presented(issuer), spki)
                    .map_err(|e| (verified + 2, e))?;
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

/// The RFC 4514 subject of a certificate, computed only for an error message.
type SubjectText<'a> = Box<dyn Fn() -> String + 'a>;

/// Which certificate issues a link.
#[derive(Clone, Copy)]
enum IssuerRef {
    Anchor(usize),
    Presented(usize),
}
