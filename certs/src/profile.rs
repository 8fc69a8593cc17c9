//! Certificate-profile rules beyond path validation proper: key identifiers (RFC 5280 §4.2.1.1,
//! §4.2.1.2), subject commonName encoding (§4.1.2.4, Appendix A), and extendedKeyUsage for TLS
//! client authentication (§4.2.1.12), on the leaf and on every CA of the path. GM/T 0015 profiles
//! SM2 certificates on RFC 5280, so the same rules apply to them. Which rules are options, and
//! their defaults, is in [`ValidationOptions`] and `docs/cert-rules.md`.

use crate::cert::{Cert, KeyUsage, eku_contains, name_contents, oid};
use crate::error::ChainError;
use crate::name;
use crate::options::ValidationOptions;

/// What an extendedKeyUsage says about TLS client authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EkuVerdict {
    /// id-kp-clientAuth is listed (or anyExtendedKeyUsage, when the options accept it).
    Allows,
    /// Only anyExtendedKeyUsage would allow it, and the options do not accept it.
    AnyOnly,
    /// Neither is listed.
    Refuses,
}

fn eku_verdict(eku: &[u8], options: &ValidationOptions) -> EkuVerdict {
    if eku_contains(eku, oid::KP_CLIENT_AUTH) {
        EkuVerdict::Allows
    } else if eku_contains(eku, oid::ANY_EXTENDED_KEY_USAGE) {
        if options.allow_any_extended_key_usage {
            EkuVerdict::Allows
        } else {
            EkuVerdict::AnyOnly
        }
    } else {
        EkuVerdict::Refuses
    }
}

/// RFC 5280 §4.2.1.12 for the leaf: an extendedKeyUsage, when present, lists id-kp-clientAuth
/// (anyExtendedKeyUsage only if the options accept it); when absent, the certificate may serve
/// any purpose unless the options require the EKU.
pub(crate) fn check_leaf_eku(
    leaf: &Cert<'_>,
    options: &ValidationOptions,
) -> Result<(), ChainError> {
    let subject = || leaf.subject_text();
    match leaf
        .extensions
        .ext_key_usage
        .map(|eku| eku_verdict(eku, options))
    {
        None if options.require_client_auth_eku => {
            Err(ChainError::MissingExtendedKeyUsage { subject: subject() })
        }
        None | Some(EkuVerdict::Allows) => Ok(()),
        Some(EkuVerdict::AnyOnly) => {
            Err(ChainError::AnyExtendedKeyUsageOnly { subject: subject() })
        }
        Some(EkuVerdict::Refuses) => Err(ChainError::NotClientAuth { subject: subject() }),
    }
}

/// The extendedKeyUsage of a CA (an intermediate or the anchor), when present, constrains what
/// it issues: it must allow client authentication for a client chain to pass through it.
pub(crate) fn check_issuer_eku(
    eku: Option<&[u8]>,
    options: &ValidationOptions,
    subject: impl FnOnce() -> String,
) -> Result<(), ChainError> {
    match eku.map(|eku| eku_verdict(eku, options)) {
        None | Some(EkuVerdict::Allows) => Ok(()),
        Some(_) => Err(ChainError::IssuerNotClientAuth { subject: subject() }),
    }
}

/// RFC 5280 §4.2.1.9 for a CA on the path (an intermediate or the anchor): its basicConstraints,
/// when present, is marked critical, unless the options tolerate a non-critical one. An absent
/// basicConstraints is judged by `verify::check_issuer_constraints`.
pub(crate) fn check_issuer_basic_constraints(
    present: bool,
    critical: bool,
    options: &ValidationOptions,
    subject: impl FnOnce() -> String,
) -> Result<(), ChainError> {
    if present && !critical && options.require_critical_basic_constraints {
        return Err(ChainError::NonCriticalBasicConstraints { subject: subject() });
    }
    Ok(())
}

/// The profile rules of a presented certificate (the leaf or an intermediate; trust anchors are
/// configuration and exempt): a non-empty issuer name; keyCertSign and pathLenConstraint only with cA TRUE; key
/// identifiers never critical; authorityKeyIdentifier present
/// unless self-issued, and subjectKeyIdentifier present on a CA, when the options require them;
/// every subject commonName a correctly encoded DirectoryString.
pub(crate) fn check_presented(
    cert: &Cert<'_>,
    options: &ValidationOptions,
) -> Result<(), ChainError> {
    let ext = &cert.extensions;
    // RFC 5280 §4.1.2.4: the issuer field MUST contain a non-empty distinguished name (and
    // §4.1.2.6 gives every CA a non-empty subject), so an empty one can only chain to a CA that
    // breaks the profile.
    if name_contents(cert.issuer).is_empty() {
        return Err(ChainError::EmptyIssuerName {
            subject: cert.subject_text(),
        });
    }
    if let Some(extension) = ext.critical_key_identifier {
        return Err(ChainError::CriticalKeyIdentifier {
            subject: cert.subject_text(),
            extension,
        });
    }
    if options.require_authority_key_id && ext.authority_key_id.is_none() && !cert.is_self_issued()
    {
        return Err(ChainError::MissingAuthorityKeyId {
            subject: cert.subject_text(),
        });
    }
    let is_ca = ext.basic_constraints.is_some_and(|bc| bc.ca);
    let inconsistent = if is_ca {
        None
    } else if ext
        .key_usage
        .is_some_and(|ku| ku.has(KeyUsage::KEY_CERT_SIGN))
    {
        Some("keyUsage asserts keyCertSign but basicConstraints cA is not TRUE (RFC 5280 §4.2.1.3)")
    } else if ext
        .basic_constraints
        .is_some_and(|bc| bc.path_len.is_some())
    {
        Some("pathLenConstraint without basicConstraints cA TRUE (RFC 5280 §4.2.1.9)")
    } else {
        None
    };
    if let Some(reason) = inconsistent {
        return Err(ChainError::InconsistentCaExtensions {
            subject: cert.subject_text(),
            reason,
        });
    }
    if options.require_subject_key_id && is_ca && ext.subject_key_id.is_none() {
        return Err(ChainError::MissingSubjectKeyId {
            subject: cert.subject_text(),
        });
    }
    let subject = name_contents(cert.subject);
    // RFC 5280 §4.1.2.6: an empty subject needs a subjectAltName; §4.2.1.6: then marked critical.
    let empty_subject = match (subject.is_empty(), ext.subject_alt_name.is_some()) {
        (false, _) => None,
        (true, false) => Some("empty subject and no subjectAltName"),
        (true, true) if !ext.subject_alt_name_critical => {
            Some("empty subject with a non-critical subjectAltName")
        }
        (true, true) => None,
    };
    if let Some(reason) = empty_subject {
        return Err(ChainError::MalformedSubjectName {
            subject: cert.subject_text(),
            reason,
        });
    }
    name::check_common_names(subject).map_err(|reason| ChainError::MalformedSubjectName {
        subject: cert.subject_text(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    const SERVER_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    const ANY: &[u8] = &[0x06, 0x04, 0x55, 0x1d, 0x25, 0x00];

    #[test]
    fn eku_verdicts_follow_the_options() {
        let strict = ValidationOptions::default();
        let any = ValidationOptions {
            allow_any_extended_key_usage: true,
            ..ValidationOptions::default()
        };
        let both = [SERVER_AUTH, CLIENT_AUTH].concat();
        let any_and_server = [ANY, SERVER_AUTH].concat();
        for (eku, options, want) in [
            (CLIENT_AUTH, &strict, EkuVerdict::Allows),
            (both.as_slice(), &strict, EkuVerdict::Allows),
            (SERVER_AUTH, &strict, EkuVerdict::Refuses),
            (SERVER_AUTH, &any, EkuVerdict::Refuses),
            (ANY, &strict, EkuVerdict::AnyOnly),
            (any_and_server.as_slice(), &strict, EkuVerdict::AnyOnly),
            (ANY, &any, EkuVerdict::Allows),
        ] {
            assert_eq!(eku_verdict(eku, options), want, "{eku:02x?}");
        }
    }

    #[test]
    fn a_ca_eku_constrains_only_when_present() {
        let options = ValidationOptions::default();
        assert!(check_issuer_eku(None, &options, String::new).is_ok());
        assert!(check_issuer_eku(Some(CLIENT_AUTH), &options, String::new).is_ok());
        let err = check_issuer_eku(Some(SERVER_AUTH), &options, || "CN=ca".to_owned());
        assert_eq!(
            err,
            Err(ChainError::IssuerNotClientAuth {
                subject: "CN=ca".to_owned()
            })
        );
        assert!(check_issuer_eku(Some(ANY), &options, String::new).is_err());
    }
}
