//! DER primitives (ITU-T X.690 §8, §10): a bounds-checked reader over borrowed bytes.
//!
//! Only what X.509 needs: single-byte tags, definite minimal lengths, no indefinite forms. Every
//! read returns a borrowed slice of the input, so callers can keep the exact bytes (the TBS that a
//! signature covers, the DER of names compared during chaining).

/// Why some DER could not be decoded (a short static reason, shown in `ChainError::Malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerError(pub(crate) &'static str);

pub(crate) type DerResult<T> = Result<T, DerError>;

/// Universal and context tags used in certificates.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const T61_STRING: u8 = 0x14;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const UNIVERSAL_STRING: u8 = 0x1c;
    pub(crate) const BMP_STRING: u8 = 0x1e;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[n]` constructed, explicit tagging.
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive, implicit tagging.
    pub(crate) const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// Longest length encoding accepted: 4 length octets (lengths < 4 GiB); the certificate size cap
/// keeps real values far below that anyway.
const MAX_LENGTH_OCTETS: usize = 4;

/// A cursor over DER input. Reading never panics; an error leaves the reader in an unspecified
/// position (callers abandon it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

/// One decoded TLV: its tag, its contents and the whole encoding (tag, length and contents).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    pub(crate) raw: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Reads the next TLV (X.690 §8.1: identifier, length, contents; §10.1: definite minimal length).
    pub(crate) fn read(&mut self) -> DerResult<Tlv<'a>> {
        let input = self.input;
        let (&tag, rest) = input
            .split_first()
            .ok_or(DerError("truncated: missing tag"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("high tag numbers are not used in certificates"));
        }
        let (&first, mut rest) = rest
            .split_first()
            .ok_or(DerError("truncated: missing length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(DerError("indefinite length is not DER"));
            }
            if count > MAX_LENGTH_OCTETS {
                return Err(DerError("length too large"));
            }
            let (octets, after) = rest
                .split_at_checked(count)
                .ok_or(DerError("truncated length"))?;
            rest = after;
            let mut len = 0usize;
            for &b in octets {
                len = (len << 8) | usize::from(b);
            }
            if octets.first() == Some(&0) || len < 0x80 {
                return Err(DerError("non-minimal length encoding"));
            }
            len
        };
        let (contents, after) = rest
            .split_at_checked(len)
            .ok_or(DerError("truncated contents"))?;
        let raw_len = input.len() - after.len();
        let raw = input.get(..raw_len).ok_or(DerError("truncated contents"))?;
        self.input = after;
        Ok(Tlv { tag, contents, raw })
    }

    /// Reads a TLV that must have `expected` as tag.
    pub(crate) fn expect(&mut self, expected: u8, what: &'static str) -> DerResult<Tlv<'a>> {
        match self.peek_tag() {
            Some(t) if t == expected => self.read(),
            _ => Err(DerError(what)),
        }
    }

    /// Reads a TLV with tag `expected` only if it is next.
    pub(crate) fn optional(&mut self, expected: u8) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(expected) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(&self, what: &'static str) -> DerResult<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DerError(what))
        }
    }
}

/// Reads exactly one TLV with tag `expected` spanning all of `input`.
pub(crate) fn single<'a>(input: &'a [u8], expected: u8, what: &'static str) -> DerResult<Tlv<'a>> {
    let mut r = Reader::new(input);
    let tlv = r.expect(expected, what)?;
    r.finish(what)?;
    Ok(tlv)
}

/// The contents of a BIT STRING whose unused-bit count is zero (signatures and keys, X.690 §8.6).
pub(crate) fn bit_string_octets(contents: &[u8]) -> DerResult<&[u8]> {
    match contents.split_first() {
        Some((0, rest)) => Ok(rest),
        Some(_) => Err(DerError(
            "bit string with unused bits where whole octets are required",
        )),
        None => Err(DerError("empty bit string")),
    }
}

/// DER BOOLEAN contents (X.690 §11.1: FALSE is 0x00, TRUE is 0xFF).
pub(crate) fn boolean(contents: &[u8]) -> DerResult<bool> {
    match contents {
        [0x00] => Ok(false),
        [0xff] => Ok(true),
        _ => Err(DerError("invalid boolean")),
    }
}

/// A non-negative INTEGER small enough for `u64` (pathLenConstraint, versions).
pub(crate) fn small_unsigned(contents: &[u8]) -> DerResult<u64> {
    check_integer(contents)?;
    if contents.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(DerError("negative integer"));
    }
    let digits = match contents {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    if digits.len() > 8 {
        return Err(DerError("integer too large"));
    }
    Ok(digits
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// X.690 §8.3.2: an INTEGER has at least one octet and no redundant leading octet.
pub(crate) fn check_integer(contents: &[u8]) -> DerResult<()> {
    match contents {
        [] => Err(DerError("empty integer")),
        [0x00, next, ..] if next & 0x80 == 0 => Err(DerError("non-minimal integer")),
        [0xff, next, ..] if next & 0x80 != 0 => Err(DerError("non-minimal integer")),
        _ => Ok(()),
    }
}

/// Renders an OBJECT IDENTIFIER's contents in dotted form (for error messages and unknown
/// attribute types). Malformed encodings render as `<invalid oid>`.
pub(crate) fn oid_to_string(contents: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut open = false;
    for &b in contents {
        if acc > (u128::MAX >> 7) {
            return "<invalid oid>".to_owned();
        }
        acc = (acc << 7) | u128::from(b & 0x7f);
        open = b & 0x80 != 0;
        if !open {
            arcs.push(acc);
            acc = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "<invalid oid>".to_owned();
    };
    if open {
        return "<invalid oid>".to_owned();
    }
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in rest {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut r = Reader::new(&[0x04, 0x01, 0xaa, 0x04, 0x81, 0x80]);
        let t = r.read().unwrap();
        assert_eq!(t.contents, &[0xaa]);
        assert_eq!(t.raw, &[0x04, 0x01, 0xaa]);
        assert!(r.read().is_err(), "truncated long-form contents");
    }

    #[test]
    fn rejects_non_der_lengths() {
        assert!(Reader::new(&[0x04, 0x80]).read().is_err());
        assert!(
            Reader::new(&[0x04, 0x81, 0x05, 0, 0, 0, 0, 0])
                .read()
                .is_err()
        );
        assert!(Reader::new(&[0x04, 0x82, 0x00, 0x80]).read().is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).read().is_err());
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(small_unsigned(&[0x00, 0x80]).unwrap(), 128);
        assert!(small_unsigned(&[0x00, 0x01]).is_err());
        assert!(small_unsigned(&[0x80]).is_err());
        assert_eq!(
            oid_to_string(&[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75]),
            "1.2.156.10197.1.501"
        );
        assert_eq!(oid_to_string(&[0x55, 0x1d, 0x13]), "2.5.29.19");
        assert_eq!(oid_to_string(&[0x81]), "<invalid oid>");
    }
}
