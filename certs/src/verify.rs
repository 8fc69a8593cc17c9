//! Chain validation (RFC 5280 §6; GM/T 0015 certificates follow the same profile): parses the
//! presented certificates, checks the leaf on its own, and runs the path search of
//! [`path_builder`](crate::path_builder). The `check_*` functions interpret one rule each, citing
//! the RFC section, and are shared with the path search.

use crate::cache::LinkMemory;
use crate::cert::{BasicConstraints, Cert, KeyUsage};
use crate::der::oid_to_string;
use crate::error::ChainError;
use crate::path::VerifiedPath;
use crate::path_builder::Search;
use crate::profile;
use crate::store::TrustStore;
use crate::time::UnixTime;

/// Most intermediates a client may present. Real chains carry one to three; cross-signed PKIs
/// (BetterTLS-style path-building graphs) present a few dozen. Parsing is linear and the search
/// is bounded by signatures verified, so the count only caps memory.
pub const MAX_INTERMEDIATES: usize = 64;

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
    check_leaf(leaf_cert, now, store)?;

    let mut search = Search::new(store, &certs, now, links);
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
fn check_leaf(leaf: &Cert<'_>, now: UnixTime, store: &TrustStore) -> Result<(), ChainError> {
    check_validity(leaf, now)?;
    check_critical_extensions(leaf)?;
    check_client_auth_usage(leaf)?;
    profile::check_leaf_eku(leaf, &store.options)?;
    if !store.options.profile_checks {
        return Ok(());
    }
    profile::check_presented(leaf, &store.options)
}

/// RFC 5280 §6.1.3 (a)(2): `now` lies within notBefore..=notAfter (both inclusive, §4.1.2.5).
pub(crate) fn check_validity(cert: &Cert<'_>, now: UnixTime) -> Result<(), ChainError> {
    check_validity_window(cert.not_before, cert.not_after, now, || cert.subject_text())
}

pub(crate) fn check_validity_window(
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
pub(crate) fn check_critical_extensions(cert: &Cert<'_>) -> Result<(), ChainError> {
    match cert.extensions.unknown_critical {
        Some(id) => Err(ChainError::UnknownCriticalExtension {
            subject: cert.subject_text(),
            oid: oid_to_string(id),
        }),
        None => Ok(()),
    }
}

/// TLS client authentication (RFC 5246 §7.4.8 / RFC 8446 §4.4.3: the client signs): keyUsage, when
/// present, must assert digitalSignature (RFC 5280 §4.2.1.3). extendedKeyUsage is checked by
/// [`profile::check_leaf_eku`].
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
    Ok(())
}

/// The CA checks on an issuer (RFC 5280 §6.1.4, applied to each intermediate and to the anchor):
/// (k) basicConstraints present with cA true — only a trust anchor that is not a version 3
/// certificate (`v1_anchor`: a v1 root cannot carry extensions) may lack it; a v3 certificate
/// without it MUST NOT verify certificate signatures (§4.2.1.9), anchor or not; (l)/(m)
/// pathLenConstraint at least the number of non-self-issued intermediates below; (n) keyUsage, if
/// present, asserts keyCertSign.
pub(crate) fn check_issuer_constraints(
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    v1_anchor: bool,
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
        None if v1_anchor => {}
        _ => return Err(ChainError::NotCa { subject: subject() }),
    }
    if key_usage.is_some_and(|ku| !ku.has(KeyUsage::KEY_CERT_SIGN)) {
        return Err(ChainError::MissingKeyCertSign { subject: subject() });
    }
    Ok(())
}
