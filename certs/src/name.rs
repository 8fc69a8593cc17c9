//! Distinguished names (RFC 5280 §4.1.2.4): RFC 4514 text and the common name.
//!
//! Chaining compares the DER bytes of names (never this text); the text is for people and for
//! policies, in the same order Envoy uses for the XFCC `Subject` (RFC 2253/4514: most specific
//! RDN first, e.g. `CN=alice,OU=Payments,O=Trieguard Test,C=CN`).

use crate::der::{DerResult, Reader, oid_to_string, tag};

/// Short names of the attribute types RFC 4514 §3 lists, plus `emailAddress` as OpenSSL prints it.
const ATTRIBUTE_NAMES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
];

const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_EMAIL_ADDRESS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

/// One `AttributeTypeAndValue`: the type OID's contents and the value TLV.
struct Attribute<'a> {
    oid: &'a [u8],
    value_tag: u8,
    value: &'a [u8],
    value_raw: &'a [u8],
}

/// Visits the attributes of a `Name` (its SEQUENCE contents) in encoded order; `rdn_start` is true
/// for the first attribute of each RDN.
fn for_each_attribute<'a>(name: &'a [u8], mut f: impl FnMut(bool, Attribute<'a>)) -> DerResult<()> {
    let mut rdns = Reader::new(name);
    while !rdns.is_empty() {
        let set = rdns.expect(tag::SET, "name: expected RDN set")?;
        let mut atvs = Reader::new(set.contents);
        let mut first = true;
        while !atvs.is_empty() {
            let atv = atvs.expect(tag::SEQUENCE, "name: expected attribute")?;
            let mut r = Reader::new(atv.contents);
            let oid = r.expect(tag::OID, "name: expected attribute type")?;
            let value = r.read()?;
            r.finish("name: trailing data in attribute")?;
            f(
                first,
                Attribute {
                    oid: oid.contents,
                    value_tag: value.tag,
                    value: value.contents,
                    value_raw: value.raw,
                },
            );
            first = false;
        }
        if first {
            return Err(crate::der::DerError("name: empty RDN"));
        }
    }
    Ok(())
}

/// Checks that a `Name`'s contents are well formed (done once at parse time, so formatting later
/// cannot fail).
pub(crate) fn validate(name: &[u8]) -> DerResult<()> {
    for_each_attribute(name, |_, _| {})
}

/// Decodes a directory string value; `None` for types we do not render as text.
fn decode_string(tag_byte: u8, v: &[u8]) -> Option<String> {
    match tag_byte {
        tag::UTF8_STRING => core::str::from_utf8(v).ok().map(str::to_owned),
        tag::PRINTABLE_STRING | tag::IA5_STRING => v
            .is_ascii()
            .then(|| v.iter().map(|&b| char::from(b)).collect()),
        // TeletexString: in practice Latin-1.
        tag::T61_STRING => Some(v.iter().map(|&b| char::from(b)).collect()),
        tag::BMP_STRING => {
            if !v.len().is_multiple_of(2) {
                return None;
            }
            let units = v.chunks_exact(2).map(|c| {
                u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        tag::UNIVERSAL_STRING => {
            if !v.len().is_multiple_of(4) {
                return None;
            }
            v.chunks_exact(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(c);
                    char::from_u32(u32::from_be_bytes(b))
                })
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 §2.4 escaping of an attribute value.
fn escape_into(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
}

/// Formats a `Name`'s contents as RFC 4514 text (last RDN first). Malformed input, which parsing
/// already rejects, yields an empty string.
pub(crate) fn to_rfc4514(name: &[u8]) -> String {
    let mut rdns: Vec<String> = Vec::new();
    let result = for_each_attribute(name, |rdn_start, a| {
        if rdn_start {
            rdns.push(String::new());
        }
        let Some(rdn) = rdns.last_mut() else { return };
        if !rdn_start {
            rdn.push('+');
        }
        match ATTRIBUTE_NAMES.iter().find(|(oid, _)| *oid == a.oid) {
            Some((_, short)) => rdn.push_str(short),
            None => rdn.push_str(&oid_to_string(a.oid)),
        }
        rdn.push('=');
        match decode_string(a.value_tag, a.value) {
            Some(s) => escape_into(rdn, &s),
            None => {
                rdn.push('#');
                for b in a.value_raw {
                    rdn.push_str(&format!("{b:02x}"));
                }
            }
        }
    });
    if result.is_err() {
        return String::new();
    }
    rdns.reverse();
    rdns.join(",")
}

/// The most specific (last encoded) common name, if any and if it is text.
pub(crate) fn common_name(name: &[u8]) -> Option<String> {
    let mut cn = None;
    let _ = for_each_attribute(name, |_, a| {
        if a.oid == OID_COMMON_NAME {
            cn = decode_string(a.value_tag, a.value);
        }
    });
    cn
}

/// The most specific common name as borrowed text, when it is a UTF8String, PrintableString or
/// IA5String (what name constraints compare as a dNSName candidate).
pub(crate) fn common_name_raw(name: &[u8]) -> Option<&str> {
    let mut cn = None;
    let _ = for_each_attribute(name, |_, a| {
        if a.oid == OID_COMMON_NAME {
            cn = match a.value_tag {
                tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::IA5_STRING => {
                    core::str::from_utf8(a.value).ok()
                }
                _ => None,
            };
        }
    });
    cn
}

/// The `emailAddress` attributes (PKCS #9, IA5String) of a Name, which RFC 5280 §4.2.1.10 checks
/// against rfc822Name subtrees when the certificate has no rfc822Name SAN.
pub(crate) fn email_addresses(name: &[u8]) -> Vec<&str> {
    let mut out = Vec::new();
    let _ = for_each_attribute(name, |_, a| {
        if a.oid == OID_EMAIL_ADDRESS
            && a.value_tag == tag::IA5_STRING
            && let Ok(s) = core::str::from_utf8(a.value)
        {
            out.push(s);
        }
    });
    out
}

/// PrintableString's character set (X.680 §41.4): letters, digits, space and `'()+,-./:=?`.
fn is_printable_string(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

/// Why a common-name value is not a correctly encoded DirectoryString (RFC 5280 Appendix A:
/// `X520CommonName ::= DirectoryString`, whose choices are TeletexString, PrintableString,
/// UniversalString, UTF8String and BMPString), or `None` when it is one.
fn common_name_problem(value_tag: u8, value: &[u8]) -> Option<&'static str> {
    match value_tag {
        tag::PRINTABLE_STRING if !is_printable_string(value) => {
            Some("commonName PrintableString holds a character outside the PrintableString set")
        }
        tag::PRINTABLE_STRING | tag::T61_STRING => None,
        tag::UTF8_STRING | tag::BMP_STRING | tag::UNIVERSAL_STRING => {
            match decode_string(value_tag, value) {
                Some(_) => None,
                None if value_tag == tag::UTF8_STRING => {
                    Some("commonName UTF8String is not valid UTF-8")
                }
                None if value_tag == tag::BMP_STRING => {
                    Some("commonName BMPString is not valid UCS-2/UTF-16")
                }
                None => Some("commonName UniversalString is not valid UCS-4"),
            }
        }
        _ => Some(
            "commonName is not a DirectoryString (TeletexString, PrintableString, UniversalString, UTF8String or BMPString)",
        ),
    }
}

/// Checks every commonName attribute of a `Name`'s contents: a DirectoryString choice, encoded
/// as its type requires. Returns what is wrong with the first bad one.
pub(crate) fn check_common_names(name: &[u8]) -> Result<(), &'static str> {
    let mut problem = None;
    for_each_attribute(name, |_, a| {
        if a.oid == OID_COMMON_NAME && problem.is_none() {
            problem = common_name_problem(a.value_tag, a.value);
        }
    })
    .map_err(|e| e.0)?;
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atv(oid: &[u8], tag_byte: u8, value: &[u8]) -> Vec<u8> {
        let mut inner = vec![tag::OID, oid.len() as u8];
        inner.extend_from_slice(oid);
        inner.extend_from_slice(&[tag_byte, value.len() as u8]);
        inner.extend_from_slice(value);
        let mut seq = vec![tag::SEQUENCE, inner.len() as u8];
        seq.extend(inner);
        seq
    }

    fn rdn(atvs: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = atvs.concat();
        let mut set = vec![tag::SET, body.len() as u8];
        set.extend(body);
        set
    }

    #[test]
    fn formats_like_rfc4514() {
        let name = [
            rdn(&[atv(&[0x55, 4, 6], tag::PRINTABLE_STRING, b"CN")]),
            rdn(&[atv(
                &[0x55, 4, 10],
                tag::UTF8_STRING,
                "Tr,ie \"g\"".as_bytes(),
            )]),
            rdn(&[
                atv(&[0x55, 4, 3], tag::UTF8_STRING, b" alice"),
                atv(&[0x2a, 3], tag::OCTET_STRING, &[1]),
            ]),
        ]
        .concat();
        validate(&name).unwrap();
        assert_eq!(
            to_rfc4514(&name),
            "CN=\\ alice+1.2.3=#040101,O=Tr\\,ie \\\"g\\\",C=CN"
        );
        assert_eq!(common_name(&name).as_deref(), Some(" alice"));
    }

    #[test]
    fn common_names_must_be_well_encoded_directory_strings() {
        let cn = |t, v: &[u8]| rdn(&[atv(&[0x55, 4, 3], t, v)]);
        for ok in [
            cn(tag::UTF8_STRING, "中文".as_bytes()),
            cn(tag::PRINTABLE_STRING, b"Alice (A) 1/2 +x,y-z.w:=?'"),
            cn(tag::T61_STRING, &[0xe9]),
            cn(tag::BMP_STRING, &[0x4e, 0x2d]),
            cn(tag::UNIVERSAL_STRING, &[0, 0, 0, 0x41]),
            rdn(&[atv(&[0x55, 4, 10], tag::OCTET_STRING, b"not a CN")]),
        ] {
            assert_eq!(check_common_names(&ok), Ok(()));
        }
        for (bad, why) in [
            (cn(tag::PRINTABLE_STRING, b"a@b"), "PrintableString"),
            (cn(tag::PRINTABLE_STRING, b"a_b"), "PrintableString"),
            (cn(tag::UTF8_STRING, &[0x61, 0xff]), "UTF-8"),
            (cn(tag::BMP_STRING, &[0x4e]), "BMPString"),
            (cn(tag::BMP_STRING, &[0xd8, 0x00]), "BMPString"),
            (
                cn(tag::UNIVERSAL_STRING, &[0, 0x11, 0, 0]),
                "UniversalString",
            ),
            (cn(tag::IA5_STRING, b"alice"), "not a DirectoryString"),
            (cn(tag::OCTET_STRING, b"alice"), "not a DirectoryString"),
        ] {
            let err = check_common_names(&bad).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn bmp_strings_decode() {
        let name = rdn(&[atv(
            &[0x55, 4, 3],
            tag::BMP_STRING,
            &[0x4e, 0x2d, 0x65, 0x87],
        )]);
        assert_eq!(to_rfc4514(&name), "CN=中文");
    }
}
