//! Certificate parsing (RFC 5280 §4.1): slices a DER certificate into the fields validation needs.
//!
//! Parsing interprets as little as possible: names stay DER (chaining compares bytes), the public
//! key stays an undecoded SubjectPublicKeyInfo (the algorithm module decodes it when the key is
//! used), and the extensions this crate understands are decoded just enough to be checked later by
//! the `check_*` functions in `verify`.

use crate::der::{self, DerError, DerResult, Reader, bit_string_octets, tag};
use crate::name;
use crate::name_constraints::{self, NameConstraints};
use crate::time::{UnixTime, decode_time};

/// Largest certificate accepted, in DER bytes. Real client and CA certificates are 0.5–2 KiB and an
/// RSA-4096 certificate with many SANs stays under 8 KiB; the cap bounds the work and memory a
/// single untrusted certificate can cause.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// Most extensions accepted in one certificate (real ones carry fewer than 12); bounds the
/// duplicate check, which is quadratic.
pub const MAX_EXTENSIONS: usize = 32;

/// Most serial-number octets: RFC 5280 §4.1.2.2 allows 20, plus one sign octet.
const MAX_SERIAL_OCTETS: usize = 21;

pub(crate) mod oid {
    //! OBJECT IDENTIFIER contents (no tag or length) this crate recognises.
    /// id-ce-basicConstraints 2.5.29.19.
    pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    /// id-ce-keyUsage 2.5.29.15.
    pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    /// id-ce-extKeyUsage 2.5.29.37.
    pub(crate) const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    /// id-ce-subjectAltName 2.5.29.17.
    pub(crate) const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
    /// id-ce-subjectKeyIdentifier 2.5.29.14.
    pub(crate) const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
    /// id-ce-authorityKeyIdentifier 2.5.29.35.
    pub(crate) const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
    /// id-ce-nameConstraints 2.5.29.30.
    pub(crate) const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
    /// anyExtendedKeyUsage 2.5.29.37.0.
    pub(crate) const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
    /// id-kp-clientAuth 1.3.6.1.5.5.7.3.2.
    pub(crate) const KP_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
}

/// basicConstraints (RFC 5280 §4.2.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BasicConstraints {
    pub(crate) ca: bool,
    pub(crate) path_len: Option<u8>,
}

/// keyUsage bits (RFC 5280 §4.2.1.3), bit 0 (digitalSignature) as the most significant of 9 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyUsage(u16);

impl KeyUsage {
    pub(crate) const DIGITAL_SIGNATURE: u16 = 0;
    pub(crate) const KEY_CERT_SIGN: u16 = 5;

    pub(crate) fn has(self, bit: u16) -> bool {
        self.0 & (0x8000 >> bit) != 0
    }
}

/// authorityKeyIdentifier (RFC 5280 §4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthorityKeyId<'a> {
    /// keyIdentifier `[0]` octets, non-empty, when present.
    pub(crate) key_id: Option<&'a [u8]>,
}

/// The extensions this crate interprets, plus the first critical one it does not.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extensions<'a> {
    pub(crate) basic_constraints: Option<BasicConstraints>,
    /// basicConstraints is marked critical (RFC 5280 §4.2.1.9 requires it in CA certificates).
    pub(crate) basic_constraints_critical: bool,
    pub(crate) key_usage: Option<KeyUsage>,
    /// `ExtKeyUsageSyntax` contents: a sequence of OIDs (validated).
    pub(crate) ext_key_usage: Option<&'a [u8]>,
    /// `GeneralNames` contents (validated).
    pub(crate) subject_alt_name: Option<&'a [u8]>,
    /// subjectAltName is marked critical (RFC 5280 §4.2.1.6 requires it with an empty subject).
    pub(crate) subject_alt_name_critical: bool,
    /// nameConstraints (validated), RFC 5280 §4.2.1.10.
    pub(crate) name_constraints: Option<NameConstraints<'a>>,
    /// subjectKeyIdentifier's keyIdentifier octets (RFC 5280 §4.2.1.2), non-empty.
    pub(crate) subject_key_id: Option<&'a [u8]>,
    /// authorityKeyIdentifier (RFC 5280 §4.2.1.1): present, with its keyIdentifier if any.
    pub(crate) authority_key_id: Option<AuthorityKeyId<'a>>,
    /// The OID contents of the first critical extension not listed in [`oid`].
    pub(crate) unknown_critical: Option<&'a [u8]>,
    /// The name of a key identifier extension marked critical, which RFC 5280 §4.2.1.1 and
    /// §4.2.1.2 forbid (checked by `profile`, not refused while parsing).
    pub(crate) critical_key_identifier: Option<&'static str>,
}

/// A parsed certificate borrowing its DER.
#[derive(Debug, Clone)]
pub(crate) struct Cert<'a> {
    /// The whole certificate.
    pub(crate) der: &'a [u8],
    /// The DER of `tbsCertificate`: what the issuer signed.
    pub(crate) tbs: &'a [u8],
    /// The `signatureAlgorithm` AlgorithmIdentifier contents (OID and parameters).
    pub(crate) signature_algorithm: &'a [u8],
    /// The signature octets (BIT STRING contents without the unused-bits octet).
    pub(crate) signature: &'a [u8],
    /// serialNumber INTEGER contents.
    pub(crate) serial: &'a [u8],
    /// DER of the issuer Name (tag included), compared byte for byte when chaining.
    pub(crate) issuer: &'a [u8],
    /// DER of the subject Name (tag included).
    pub(crate) subject: &'a [u8],
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    /// DER of the SubjectPublicKeyInfo (tag included).
    pub(crate) spki: &'a [u8],
    /// A version 3 certificate: RFC 5280 §4.2.1.9 lets only its basicConstraints make it a CA.
    pub(crate) is_v3: bool,
    pub(crate) extensions: Extensions<'a>,
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate (RFC 5280 §4.1). Rejects trailing data, oversize input, a TBS
    /// `signature` that differs from `signatureAlgorithm` (§4.1.1.2), duplicate extensions (§4.2)
    /// and extensions in a pre-v3 certificate (§4.1.2.9).
    pub(crate) fn from_der(der: &'a [u8]) -> DerResult<Self> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(DerError("certificate larger than MAX_CERTIFICATE_BYTES"));
        }
        let cert = der::single(der, tag::SEQUENCE, "certificate: expected SEQUENCE")?;
        let mut r = Reader::new(cert.contents);
        let tbs = r.expect(tag::SEQUENCE, "certificate: expected tbsCertificate")?;
        let outer_alg = r.expect(tag::SEQUENCE, "certificate: expected signatureAlgorithm")?;
        let sig = r.expect(tag::BIT_STRING, "certificate: expected signatureValue")?;
        r.finish("certificate: trailing data")?;
        let signature = bit_string_octets(sig.contents)?;

        let mut t = Reader::new(tbs.contents);
        let version = match t.optional(tag::context_constructed(0))? {
            Some(v) => der::small_unsigned(
                der::single(v.contents, tag::INTEGER, "tbs: bad version")?.contents,
            )?,
            None => 0,
        };
        if version > 2 {
            return Err(DerError("tbs: unknown version"));
        }
        let serial = t
            .expect(tag::INTEGER, "tbs: expected serialNumber")?
            .contents;
        der::check_integer(serial)?;
        if serial.len() > MAX_SERIAL_OCTETS {
            return Err(DerError("tbs: serial number longer than 20 octets"));
        }
        let inner_alg = t.expect(tag::SEQUENCE, "tbs: expected signature algorithm")?;
        if inner_alg.raw != outer_alg.raw {
            return Err(DerError(
                "tbs signature algorithm differs from signatureAlgorithm",
            ));
        }
        let issuer = t.expect(tag::SEQUENCE, "tbs: expected issuer")?;
        name::validate(issuer.contents)?;
        let validity = t.expect(tag::SEQUENCE, "tbs: expected validity")?;
        let (not_before, not_after) = parse_validity(validity.contents)?;
        let subject = t.expect(tag::SEQUENCE, "tbs: expected subject")?;
        name::validate(subject.contents)?;
        let spki = t.expect(tag::SEQUENCE, "tbs: expected subjectPublicKeyInfo")?;
        t.optional(tag::context_primitive(1))?;
        t.optional(tag::context_primitive(2))?;
        let extensions = match t.optional(tag::context_constructed(3))? {
            Some(_) if version != 2 => {
                return Err(DerError("tbs: extensions in a pre-v3 certificate"));
            }
            Some(ext) => parse_extensions(
                der::single(ext.contents, tag::SEQUENCE, "tbs: bad extensions")?.contents,
            )?,
            None => Extensions::default(),
        };
        t.finish("tbs: trailing data")?;

        Ok(Self {
            der,
            tbs: tbs.raw,
            signature_algorithm: outer_alg.contents,
            signature,
            serial,
            issuer: issuer.raw,
            subject: subject.raw,
            not_before,
            not_after,
            spki: spki.raw,
            is_v3: version == 2,
            extensions,
        })
    }

    /// The subject as RFC 4514 text.
    pub(crate) fn subject_text(&self) -> String {
        name::to_rfc4514(name_contents(self.subject))
    }

    /// The issuer as RFC 4514 text.
    pub(crate) fn issuer_text(&self) -> String {
        name::to_rfc4514(name_contents(self.issuer))
    }

    /// Self-issued: subject and issuer are the same name (RFC 5280 §6.1, used for path length).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// The contents of a Name TLV (validated at parse time, so the fallback is never taken).
pub(crate) fn name_contents(name_tlv: &[u8]) -> &[u8] {
    der::single(name_tlv, tag::SEQUENCE, "name")
        .map(|t| t.contents)
        .unwrap_or(&[])
}

fn parse_time(r: &mut Reader<'_>) -> DerResult<UnixTime> {
    let t = r.read()?;
    decode_time(t.tag, t.contents)
}

/// Validity (RFC 5280 §4.1.2.5).
fn parse_validity(contents: &[u8]) -> DerResult<(UnixTime, UnixTime)> {
    let mut r = Reader::new(contents);
    let not_before = parse_time(&mut r)?;
    let not_after = parse_time(&mut r)?;
    r.finish("validity: trailing data")?;
    Ok((not_before, not_after))
}

/// Extensions (RFC 5280 §4.1.2.9, §4.2).
fn parse_extensions(contents: &[u8]) -> DerResult<Extensions<'_>> {
    let mut out = Extensions::default();
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut r = Reader::new(contents);
    if r.is_empty() {
        return Err(DerError("extensions: empty sequence"));
    }
    while !r.is_empty() {
        if seen.len() >= MAX_EXTENSIONS {
            return Err(DerError("extensions: more than MAX_EXTENSIONS"));
        }
        let ext = r.expect(tag::SEQUENCE, "extensions: expected extension")?;
        let mut e = Reader::new(ext.contents);
        let id = e.expect(tag::OID, "extension: expected extnID")?.contents;
        let critical = match e.optional(tag::BOOLEAN)? {
            Some(b) => der::boolean(b.contents)?,
            None => false,
        };
        let value = e
            .expect(tag::OCTET_STRING, "extension: expected extnValue")?
            .contents;
        e.finish("extension: trailing data")?;
        if seen.contains(&id) {
            return Err(DerError("extensions: duplicate extension"));
        }
        seen.push(id);
        match id {
            oid::BASIC_CONSTRAINTS => {
                out.basic_constraints = Some(parse_basic_constraints(value)?);
                out.basic_constraints_critical = critical;
            }
            oid::KEY_USAGE => out.key_usage = Some(parse_key_usage(value)?),
            oid::EXT_KEY_USAGE => out.ext_key_usage = Some(parse_ext_key_usage(value)?),
            oid::SUBJECT_ALT_NAME => {
                out.subject_alt_name = Some(parse_general_names(value)?);
                out.subject_alt_name_critical = critical;
            }
            oid::NAME_CONSTRAINTS => {
                out.name_constraints = Some(name_constraints::parse(value, critical)?);
            }
            oid::SUBJECT_KEY_ID => {
                out.subject_key_id = Some(parse_subject_key_id(value)?);
                if critical {
                    out.critical_key_identifier = Some("subjectKeyIdentifier");
                }
            }
            oid::AUTHORITY_KEY_ID => {
                out.authority_key_id = Some(parse_authority_key_id(value)?);
                if critical {
                    out.critical_key_identifier = Some("authorityKeyIdentifier");
                }
            }
            _ if critical && out.unknown_critical.is_none() => out.unknown_critical = Some(id),
            _ => {}
        }
    }
    Ok(out)
}

/// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
fn parse_basic_constraints(value: &[u8]) -> DerResult<BasicConstraints> {
    let seq = der::single(value, tag::SEQUENCE, "basicConstraints: expected SEQUENCE")?;
    let mut r = Reader::new(seq.contents);
    let ca = match r.optional(tag::BOOLEAN)? {
        Some(b) => der::boolean(b.contents)?,
        None => false,
    };
    let path_len = match r.optional(tag::INTEGER)? {
        // Anything above 255 is as good as unlimited for chains capped at MAX_PATH_DEPTH.
        Some(i) => Some(u8::try_from(der::small_unsigned(i.contents)?).unwrap_or(u8::MAX)),
        None => None,
    };
    r.finish("basicConstraints: trailing data")?;
    Ok(BasicConstraints { ca, path_len })
}

/// KeyUsage ::= BIT STRING (9 named bits).
fn parse_key_usage(value: &[u8]) -> DerResult<KeyUsage> {
    let bits = der::single(value, tag::BIT_STRING, "keyUsage: expected BIT STRING")?.contents;
    let (&unused, octets) = bits.split_first().ok_or(DerError("keyUsage: empty"))?;
    if unused > 7 || octets.is_empty() || octets.len() > 2 {
        return Err(DerError("keyUsage: bad length"));
    }
    let hi = u16::from(octets.first().copied().unwrap_or(0));
    let lo = u16::from(octets.get(1).copied().unwrap_or(0));
    Ok(KeyUsage((hi << 8) | lo))
}

/// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
fn parse_ext_key_usage(value: &[u8]) -> DerResult<&[u8]> {
    let seq = der::single(value, tag::SEQUENCE, "extKeyUsage: expected SEQUENCE")?.contents;
    let mut r = Reader::new(seq);
    if r.is_empty() {
        return Err(DerError("extKeyUsage: empty"));
    }
    while !r.is_empty() {
        r.expect(tag::OID, "extKeyUsage: expected OID")?;
    }
    Ok(seq)
}

/// GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (RFC 5280 §4.2.1.6): not empty; IA5
/// forms ASCII and not empty (a dNSName of "" or " " names nothing, §4.2.1.6); an iPAddress 4 or
/// 16 octets; a directoryName one valid Name.
fn parse_general_names(value: &[u8]) -> DerResult<&[u8]> {
    let seq = der::single(value, tag::SEQUENCE, "subjectAltName: expected SEQUENCE")?.contents;
    let mut r = Reader::new(seq);
    if r.is_empty() {
        return Err(DerError("subjectAltName: empty"));
    }
    while !r.is_empty() {
        use name_constraints::GeneralName;
        match name_constraints::general_name(r.read()?)? {
            GeneralName::Ip(octets) if octets.len() != 4 && octets.len() != 16 => {
                return Err(DerError("subjectAltName: iPAddress is not 4 or 16 octets"));
            }
            GeneralName::Dns(s) if s.trim().is_empty() => {
                return Err(DerError("subjectAltName: empty dNSName"));
            }
            GeneralName::Email("") => {
                return Err(DerError("subjectAltName: empty rfc822Name"));
            }
            GeneralName::Uri("") => {
                return Err(DerError("subjectAltName: empty URI"));
            }
            _ => {}
        }
    }
    Ok(seq)
}

/// SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING; an empty identifier identifies
/// nothing and is rejected.
fn parse_subject_key_id(value: &[u8]) -> DerResult<&[u8]> {
    let id = der::single(
        value,
        tag::OCTET_STRING,
        "subjectKeyIdentifier: expected OCTET STRING",
    )?;
    if id.contents.is_empty() {
        return Err(DerError("subjectKeyIdentifier: empty"));
    }
    Ok(id.contents)
}

/// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL,
/// authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] INTEGER OPTIONAL }
/// (§4.2.1.1: the last two appear together or not at all).
fn parse_authority_key_id(value: &[u8]) -> DerResult<AuthorityKeyId<'_>> {
    let seq = der::single(
        value,
        tag::SEQUENCE,
        "authorityKeyIdentifier: expected SEQUENCE",
    )?;
    let mut r = Reader::new(seq.contents);
    let key_id = match r.optional(tag::context_primitive(0))? {
        Some(id) if id.contents.is_empty() => {
            return Err(DerError("authorityKeyIdentifier: empty keyIdentifier"));
        }
        Some(id) => Some(id.contents),
        None => None,
    };
    let issuer = r.optional(tag::context_constructed(1))?;
    let serial = r.optional(tag::context_primitive(2))?;
    r.finish("authorityKeyIdentifier: trailing data")?;
    if issuer.is_some() != serial.is_some() {
        return Err(DerError(
            "authorityKeyIdentifier: authorityCertIssuer without authorityCertSerialNumber or the reverse",
        ));
    }
    if let Some(issuer) = issuer {
        let mut g = Reader::new(issuer.contents);
        if g.is_empty() {
            return Err(DerError(
                "authorityKeyIdentifier: empty authorityCertIssuer",
            ));
        }
        while !g.is_empty() {
            name_constraints::general_name(g.read()?)?;
        }
    }
    if let Some(serial) = serial {
        der::check_integer(serial.contents)?;
    }
    if key_id.is_none() && issuer.is_none() {
        return Err(DerError("authorityKeyIdentifier: empty"));
    }
    Ok(AuthorityKeyId { key_id })
}

/// Extended key usage contains `purpose` (an OID's contents).
pub(crate) fn eku_contains(eku: &[u8], purpose: &[u8]) -> bool {
    let mut r = Reader::new(eku);
    while let Ok(t) = r.read() {
        if t.contents == purpose {
            return true;
        }
    }
    false
}

/// The `(tag, text)` of each dNSName (`[2]`) and URI (`[6]`) in validated GeneralNames.
pub(crate) fn san_entries(san: &[u8]) -> impl Iterator<Item = (u8, &str)> {
    let mut r = Reader::new(san);
    core::iter::from_fn(move || {
        loop {
            let t = r.read().ok()?;
            if (t.tag == tag::context_primitive(2) || t.tag == tag::context_primitive(6))
                && let Ok(s) = core::str::from_utf8(t.contents)
            {
                return Some((t.tag, s));
            }
        }
    })
}
