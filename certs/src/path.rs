//! What a successful verification yields: the facts about the leaf a policy engine decides on,
//! and the validated path.

use crate::cert::{Cert, san_entries};
use crate::der::tag;
use crate::name;
use crate::time::UnixTime;

/// A chain that verified: the leaf's identity and the path from the leaf to a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPath {
    pub(crate) subject_dn: String,
    pub(crate) subject_cn: Option<String>,
    pub(crate) uri_sans: Vec<String>,
    pub(crate) dns_sans: Vec<String>,
    pub(crate) serial_hex: String,
    pub(crate) issuer_dn: String,
    pub(crate) not_after: UnixTime,
    pub(crate) fingerprint_sha256: [u8; 32],
    pub(crate) subjects: Vec<String>,
    pub(crate) valid_until: UnixTime,
    pub(crate) anchor_index: usize,
}

impl VerifiedPath {
    pub(crate) fn new(
        leaf: &Cert<'_>,
        subjects: Vec<String>,
        valid_until: UnixTime,
        anchor_index: usize,
    ) -> Self {
        let mut uri_sans = Vec::new();
        let mut dns_sans = Vec::new();
        if let Some(san) = leaf.extensions.subject_alt_name {
            for (t, s) in san_entries(san) {
                if t == tag::context_primitive(6) {
                    uri_sans.push(s.to_owned());
                } else {
                    dns_sans.push(s.to_owned());
                }
            }
        }
        let serial = match leaf.serial {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        let mut fingerprint_sha256 = [0u8; 32];
        fingerprint_sha256
            .copy_from_slice(ring::digest::digest(&ring::digest::SHA256, leaf.der).as_ref());
        Self {
            subject_dn: leaf.subject_text(),
            subject_cn: name::common_name(crate::cert::name_contents(leaf.subject)),
            uri_sans,
            dns_sans,
            serial_hex: hex(serial),
            issuer_dn: leaf.issuer_text(),
            not_after: leaf.not_after,
            fingerprint_sha256,
            subjects,
            valid_until,
            anchor_index,
        }
    }

    /// The leaf's subject, RFC 4514 text (`CN=alice,OU=Payments,O=Trieguard Test,C=CN`).
    pub fn subject_dn(&self) -> &str {
        &self.subject_dn
    }

    /// The leaf's most specific common name, if it has one.
    pub fn subject_cn(&self) -> Option<&str> {
        self.subject_cn.as_deref()
    }

    /// The leaf's URI subject alternative names (e.g. SPIFFE IDs), in certificate order.
    pub fn uri_sans(&self) -> &[String] {
        &self.uri_sans
    }

    /// The leaf's DNS subject alternative names, in certificate order.
    pub fn dns_sans(&self) -> &[String] {
        &self.dns_sans
    }

    /// The leaf's serial number, lower-case hex without a sign octet.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The leaf's issuer, RFC 4514 text.
    pub fn issuer_dn(&self) -> &str {
        &self.issuer_dn
    }

    /// The leaf's notAfter.
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    /// SHA-256 of the leaf's DER (what Envoy's XFCC `Hash` carries, as hex).
    pub fn fingerprint_sha256(&self) -> &[u8; 32] {
        &self.fingerprint_sha256
    }

    /// [`VerifiedPath::fingerprint_sha256`] as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint_sha256)
    }

    /// Subjects from the leaf to the trust anchor, RFC 4514 text.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    /// The earliest notAfter on the path: the verdict holds at most until then.
    pub fn valid_until(&self) -> UnixTime {
        self.valid_until
    }

    /// Which trust anchor the path ends at (its position in the store).
    pub fn anchor_index(&self) -> usize {
        self.anchor_index
    }
}

fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
