//! Envoy's `x-forwarded-client-cert` (XFCC) header, parsed exactly as Envoy writes it.
//!
//! ```text
//! header  = element *("," element)              one element per proxy hop that added one
//! element = pair *(";" pair)
//! pair    = key "=" value                       keys (case-insensitive): By Hash Cert Chain Subject URI DNS
//! value   = token | DQUOTE *(char | "\" char) DQUOTE     quoted when it holds , ; = or "
//! ```
//!
//! `Cert` is the client certificate and `Chain` the client's whole chain (leaf included), both
//! URL-encoded PEM; `Hash` is the hex SHA-256 of the leaf DER; `Subject` the RFC 2253 subject
//! (always quoted); `URI`/`DNS` repeat once per SAN; `By` is the SAN of the proxy that added the
//! element.
//!
//! # Which element to trust
//! Envoy's `forward_client_cert_details` decides how the header evolves at each hop:
//! `SANITIZE` removes it, `FORWARD_ONLY` passes it on unchanged, `APPEND_FORWARD` appends an
//! element for the current downstream TLS peer **at the end**, and `SANITIZE_SET` replaces the
//! whole header with one element for the current peer. So the last element describes the
//! connection closest to this Envoy, and the element `n` hops further out is
//! [`ElementSelector::FromEnd`]`(n)`. Example: a Tongsuo/GmSSL terminator verifies nothing, writes
//! the client's element and connects to Envoy over mTLS with its own certificate; an Envoy with
//! `APPEND_FORWARD` then appends the terminator's element, so the client is `FromEnd(1)`; with
//! `FORWARD_ONLY` it is `Last`. Trust the header only when the listener is reachable from the
//! trusted front proxy alone, or when Envoy sanitises it.

use std::borrow::Cow;

use crate::error::ChainError;
use crate::pem;

/// Largest XFCC header accepted: Envoy's default limit for all request headers is 60 KiB.
pub const MAX_XFCC_BYTES: usize = 64 * 1024;

/// Most elements accepted: one per proxy hop; real deployments have one to three.
pub const MAX_XFCC_ELEMENTS: usize = 16;

/// Most key/value pairs in one element (a certificate with many SANs yields many `URI`/`DNS`).
pub const MAX_XFCC_PAIRS: usize = 256;

/// Why an XFCC header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XfccError {
    /// Header longer than [`MAX_XFCC_BYTES`].
    #[error("XFCC header too large: {size} bytes exceeds {limit}")]
    TooLarge {
        /// Header length.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// More elements or pairs than the caps allow.
    #[error("XFCC header has too many {what} (limit {limit})")]
    TooMany {
        /// Elements or pairs.
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// A syntax error at a byte offset.
    #[error("malformed XFCC header at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset in the header.
        offset: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A key that may appear once appears twice in one element.
    #[error("XFCC element {element} repeats the key {key}")]
    DuplicateKey {
        /// Element index (0 = first).
        element: usize,
        /// The key.
        key: &'static str,
    },
    /// The selected element does not exist.
    #[error("XFCC header has {count} element(s); {selector:?} selects none")]
    NoSuchElement {
        /// Number of elements.
        count: usize,
        /// The selector used.
        selector: ElementSelector,
    },
}

/// Which element of an XFCC header to use (see the module docs for Envoy's append order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementSelector {
    /// The first (outermost, added by the first proxy).
    First,
    /// The last (added by the hop closest to this Envoy); same as `FromEnd(0)`.
    Last,
    /// `n` elements before the last.
    FromEnd(usize),
}

impl ElementSelector {
    /// Picks the selected element.
    pub fn select<'e, 'a>(
        self,
        elements: &'e [XfccElement<'a>],
    ) -> Result<&'e XfccElement<'a>, XfccError> {
        let found = match self {
            ElementSelector::First => elements.first(),
            ElementSelector::Last => elements.last(),
            ElementSelector::FromEnd(n) => elements
                .len()
                .checked_sub(n + 1)
                .and_then(|i| elements.get(i)),
        };
        found.ok_or(XfccError::NoSuchElement {
            count: elements.len(),
            selector: self,
        })
    }
}

/// One XFCC element. Values are unquoted and unescaped; `Cert` and `Chain` are still URL-encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfccElement<'a> {
    /// `By`: the SAN of the proxy that added this element.
    pub by: Option<Cow<'a, str>>,
    /// `Hash`: hex SHA-256 of the client certificate DER.
    pub hash: Option<Cow<'a, str>>,
    /// `Cert`: URL-encoded PEM of the client certificate.
    pub cert: Option<Cow<'a, str>>,
    /// `Chain`: URL-encoded PEM of the client's chain, leaf included.
    pub chain: Option<Cow<'a, str>>,
    /// `Subject`: the client certificate's subject.
    pub subject: Option<Cow<'a, str>>,
    /// `URI`: each URI SAN.
    pub uri: Vec<Cow<'a, str>>,
    /// `DNS`: each DNS SAN.
    pub dns: Vec<Cow<'a, str>>,
}

/// The XFCC parser.
pub struct Xfcc;

impl Xfcc {
    /// Parses a whole header into its elements, in header order.
    pub fn parse(header: &str) -> Result<Vec<XfccElement<'_>>, XfccError> {
        if header.len() > MAX_XFCC_BYTES {
            return Err(XfccError::TooLarge {
                size: header.len(),
                limit: MAX_XFCC_BYTES,
            });
        }
        let mut p = Parser { s: header, pos: 0 };
        let mut elements = Vec::new();
        loop {
            if elements.len() >= MAX_XFCC_ELEMENTS {
                return Err(XfccError::TooMany {
                    what: "elements",
                    limit: MAX_XFCC_ELEMENTS,
                });
            }
            let index = elements.len();
            elements.push(p.element(index)?);
            p.skip_spaces();
            match p.peek() {
                None => return Ok(elements),
                Some(b',') => p.pos += 1,
                Some(_) => return Err(p.error("expected ',' or end of header")),
            }
        }
    }

    /// Parses a header and picks one element.
    pub fn parse_selected(
        header: &str,
        selector: ElementSelector,
    ) -> Result<XfccElement<'_>, XfccError> {
        let elements = Self::parse(header)?;
        selector.select(&elements).cloned()
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn error(&self, reason: &'static str) -> XfccError {
        XfccError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn element(&mut self, index: usize) -> Result<XfccElement<'a>, XfccError> {
        let mut e = XfccElement::default();
        let mut pairs = 0usize;
        loop {
            pairs += 1;
            if pairs > MAX_XFCC_PAIRS {
                return Err(XfccError::TooMany {
                    what: "pairs in one element",
                    limit: MAX_XFCC_PAIRS,
                });
            }
            self.skip_spaces();
            let key_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                self.pos += 1;
            }
            let key = self.s.get(key_start..self.pos).unwrap_or("");
            if key.is_empty() {
                return Err(self.error("expected a key"));
            }
            if self.peek() != Some(b'=') {
                return Err(self.error("expected '=' after key"));
            }
            self.pos += 1;
            let value = self.value()?;
            let once = |slot: &mut Option<Cow<'a, str>>, name: &'static str| {
                if slot.is_some() {
                    return Err(XfccError::DuplicateKey {
                        element: index,
                        key: name,
                    });
                }
                *slot = Some(value.clone());
                Ok(())
            };
            let is = |name: &str| key.eq_ignore_ascii_case(name);
            if is("by") {
                once(&mut e.by, "By")?;
            } else if is("hash") {
                once(&mut e.hash, "Hash")?;
            } else if is("cert") {
                once(&mut e.cert, "Cert")?;
            } else if is("chain") {
                once(&mut e.chain, "Chain")?;
            } else if is("subject") {
                once(&mut e.subject, "Subject")?;
            } else if is("uri") {
                e.uri.push(value);
            } else if is("dns") {
                e.dns.push(value);
            } else {
                return Err(XfccError::Syntax {
                    offset: key_start,
                    reason: "unknown key",
                });
            }
            self.skip_spaces();
            match self.peek() {
                Some(b';') => self.pos += 1,
                _ => return Ok(e),
            }
        }
    }

    fn value(&mut self) -> Result<Cow<'a, str>, XfccError> {
        if self.peek() != Some(b'"') {
            let start = self.pos;
            let rest = self.s.as_bytes().get(start..).unwrap_or(&[]);
            self.pos += rest
                .iter()
                .position(|&b| matches!(b, b',' | b';' | b'"'))
                .unwrap_or(rest.len());
            return Ok(Cow::Borrowed(
                self.s
                    .get(start..self.pos)
                    .unwrap_or("")
                    .trim_end_matches([' ', '\t']),
            ));
        }
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted value")),
                Some(b'"') => {
                    let v = match owned {
                        Some(o) => Cow::Owned(o),
                        None => Cow::Borrowed(self.s.get(start..self.pos).unwrap_or("")),
                    };
                    self.pos += 1;
                    return Ok(v);
                }
                Some(b'\\') => {
                    let buf = owned.get_or_insert_with(|| {
                        self.s.get(start..self.pos).unwrap_or("").to_owned()
                    });
                    self.pos += 1;
                    let c = self
                        .s
                        .get(self.pos..)
                        .and_then(|r| r.chars().next())
                        .ok_or(XfccError::Syntax {
                            offset: self.pos,
                            reason: "dangling backslash",
                        })?;
                    buf.push(c);
                    self.pos += c.len_utf8();
                }
                Some(_) => {
                    // Jump to the next quote or backslash (both ASCII, so never inside a UTF-8
                    // sequence): values are long URL-encoded PEM, scanned byte-wise.
                    let rest = self.s.as_bytes().get(self.pos..).unwrap_or(&[]);
                    let run = rest
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\')
                        .unwrap_or(rest.len());
                    if let Some(buf) = owned.as_mut() {
                        buf.push_str(self.s.get(self.pos..self.pos + run).unwrap_or(""));
                    }
                    self.pos += run;
                }
            }
        }
    }
}

/// Decodes `%XX` escapes (Envoy URL-encodes PEM in `Cert` and `Chain`).
pub fn url_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hi = char::from(*hex.first()?).to_digit(16)?;
            let lo = char::from(*hex.get(1)?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

fn decode_pem_value(value: &str, index: usize) -> Result<Vec<Vec<u8>>, ChainError> {
    let pem_text = url_decode(value).ok_or(ChainError::Malformed {
        index,
        reason: "XFCC value is not valid URL encoding",
    })?;
    pem::certificates(&pem_text).map_err(|e| match e {
        pem::PemError::TooLarge(size) => ChainError::TooLarge {
            what: "XFCC PEM",
            size,
            limit: pem::MAX_PEM_BYTES,
        },
        pem::PemError::NotUtf8 => ChainError::Malformed {
            index,
            reason: "XFCC PEM is not UTF-8",
        },
        pem::PemError::Unterminated(i) => ChainError::Malformed {
            index: index + i,
            reason: "unterminated PEM block in XFCC",
        },
        pem::PemError::BadBase64(i) => ChainError::Malformed {
            index: index + i,
            reason: "invalid base64 in XFCC PEM",
        },
    })
}

impl XfccElement<'_> {
    /// The presented chain as (leaf DER, intermediate DERs). The leaf is `Cert` when present,
    /// otherwise the first certificate of `Chain`; the other `Chain` certificates (minus copies of
    /// the leaf) are the intermediates.
    pub fn certificates(&self) -> Result<(Vec<u8>, Vec<Vec<u8>>), ChainError> {
        let mut chain = match &self.chain {
            Some(c) => decode_pem_value(c, 1)?,
            None => Vec::new(),
        };
        let leaf = match &self.cert {
            Some(c) => decode_pem_value(c, 0)?
                .into_iter()
                .next()
                .ok_or(ChainError::Malformed {
                    index: 0,
                    reason: "XFCC Cert holds no PEM certificate",
                })?,
            None if chain.is_empty() => return Err(ChainError::Empty),
            None => chain.remove(0),
        };
        chain.retain(|c| *c != leaf);
        Ok((leaf, chain))
    }

    /// The bytes that identify this presentation for caching: the `Cert` and `Chain` values.
    pub fn presented(&self) -> [&[u8]; 2] {
        [
            self.cert.as_deref().map_or(&[][..], str::as_bytes),
            self.chain.as_deref().map_or(&[][..], str::as_bytes),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envoy_examples() {
        let h = r#"By=spiffe://lyft.com/frontend;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=spiffe://lyft.com/testclient"#;
        let e = Xfcc::parse(h).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].by.as_deref(), Some("spiffe://lyft.com/frontend"));
        assert_eq!(
            e[0].subject.as_deref(),
            Some("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client")
        );
        assert_eq!(
            e[0].uri,
            vec![Cow::Borrowed("spiffe://lyft.com/testclient")]
        );

        let h = r#"By=http://frontend.lyft.com;Hash=468e;URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=9ba6;URI=http://frontend.lyft.com"#;
        let e = Xfcc::parse(h).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            ElementSelector::Last.select(&e).unwrap().by.as_deref(),
            Some("http://backend.lyft.com")
        );
        assert_eq!(
            ElementSelector::FromEnd(1)
                .select(&e)
                .unwrap()
                .by
                .as_deref(),
            Some("http://frontend.lyft.com")
        );
        assert_eq!(
            ElementSelector::First.select(&e).unwrap().hash.as_deref(),
            Some("468e")
        );
        assert!(ElementSelector::FromEnd(2).select(&e).is_err());

        let h = r#"By=a;Subject="CN=x\"y, O=z;w";DNS=a.test;DNS=b.test"#;
        let e = Xfcc::parse(h).unwrap();
        assert_eq!(e[0].subject.as_deref(), Some("CN=x\"y, O=z;w"));
        assert_eq!(e[0].dns.len(), 2);
    }

    #[test]
    fn rejects_malformed_headers() {
        for h in [
            "",
            "By",
            "By=a;;",
            "Subject=\"open",
            "Cert=a;Cert=b",
            "Foo=bar",
            "By=a,",
            "By=a\"b",
        ] {
            assert!(Xfcc::parse(h).is_err(), "{h:?}");
        }
    }

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode("a%2Bb%0A").unwrap(), b"a+b\n");
        assert!(url_decode("%2").is_none());
        assert!(url_decode("%zz").is_none());
    }
}
