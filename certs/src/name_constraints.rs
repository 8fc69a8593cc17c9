//! Name constraints (RFC 5280 §4.2.1.10, §6.1.3 (b)/(c), §6.1.4 (g)): the subtrees a CA limits
//! every name below it to.
//!
//! ```text
//!   CA (nameConstraints: permitted dNSName dept-a.example, excluded iPAddress 10.9.0.0/16)
//!    └─ every certificate below it on the path (self-issued intermediates skipped, the leaf never):
//!         subject DN ─▶ directoryName     SAN dNSName / rfc822Name / URI host / iPAddress / directoryName
//!         subject emailAddress ─▶ rfc822Name      leaf CN ─▶ dNSName (only without a dNSName SAN)
//! ```
//!
//! Each name is checked only against subtrees of its own form: within at least one permitted
//! subtree of that form (when there are any), and within none of the excluded ones. Applying each
//! CA's constraints on its own to everything below it gives the intersection of nested
//! constraints that §6.1.4 (g) describes.
//!
//! Decisions beyond the RFC text (documented in `docs/cert-rules.md`):
//! - The trust anchor's own nameConstraints are applied too (as OpenSSL and Go do).
//! - The leaf's subject CN counts as a dNSName when the leaf has no dNSName SAN and the CN is
//!   written like a host name: trieguard can name consumers by CN, so a CA constrained to
//!   `dept-a.example` must not issue `CN=api.dept-b.example`.
//! - directoryName subtrees compare RDNs byte for byte (no RFC 4518 string preparation), the way
//!   issuer/subject chaining does; an empty subject DN is not a name and is not checked.
//! - Subtree forms this crate does not evaluate (otherName, x400Address, ediPartyName,
//!   registeredID) and subtrees with minimum/maximum reject the path when the extension is
//!   critical, and are ignored when it is not.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::cert::Cert;
use crate::der::{self, DerError, DerResult, Reader, tag};
use crate::error::ChainError;
use crate::name;

/// Most (name × subtree) comparisons for one chain verification. Real CAs carry fewer than 20
/// subtrees and real certificates fewer than 20 names, so a few hundred comparisons is typical;
/// the cap stops a chain packed with thousands of names and subtrees at a few milliseconds.
pub const MAX_NAME_CONSTRAINT_CHECKS: usize = 1 << 16;

/// GeneralName tags (RFC 5280 §4.2.1.6), implicit context tags.
mod gn {
    use crate::der::tag;
    pub(super) const OTHER_NAME: u8 = tag::context_constructed(0);
    pub(super) const RFC822: u8 = tag::context_primitive(1);
    pub(super) const DNS: u8 = tag::context_primitive(2);
    pub(super) const X400: u8 = tag::context_constructed(3);
    pub(super) const DIRECTORY: u8 = tag::context_constructed(4);
    pub(super) const EDI_PARTY: u8 = tag::context_constructed(5);
    pub(super) const URI: u8 = tag::context_primitive(6);
    pub(super) const IP: u8 = tag::context_primitive(7);
    pub(super) const REGISTERED_ID: u8 = tag::context_primitive(8);
}

/// One GeneralName, decoded as far as name constraints need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeneralName<'a> {
    /// rfc822Name (IA5String).
    Email(&'a str),
    /// dNSName (IA5String).
    Dns(&'a str),
    /// uniformResourceIdentifier (IA5String).
    Uri(&'a str),
    /// iPAddress: 4 or 16 octets in a SAN, address then mask (8 or 32 octets) in a subtree.
    Ip(&'a [u8]),
    /// directoryName: the contents of the Name SEQUENCE.
    Directory(&'a [u8]),
    /// A form this crate does not evaluate, by its ASN.1 name.
    Other(&'static str),
}

impl GeneralName<'_> {
    /// The ASN.1 name of the form (`dNSName`, …), for messages.
    pub(crate) fn form(&self) -> &'static str {
        match self {
            GeneralName::Email(_) => "rfc822Name",
            GeneralName::Dns(_) => "dNSName",
            GeneralName::Uri(_) => "uniformResourceIdentifier",
            GeneralName::Ip(_) => "iPAddress",
            GeneralName::Directory(_) => "directoryName",
            GeneralName::Other(form) => form,
        }
    }

    fn same_form(&self, other: &GeneralName<'_>) -> bool {
        core::mem::discriminant(self) == core::mem::discriminant(other)
    }

    /// The name for messages: form and value (`dNSName "a.example"`, `iPAddress 10.0.0.0/8`).
    pub(crate) fn describe(&self) -> String {
        match self {
            GeneralName::Email(s) | GeneralName::Dns(s) | GeneralName::Uri(s) => {
                format!("{} {s:?}", self.form())
            }
            GeneralName::Ip(octets) => format!("iPAddress {}", describe_ip(octets)),
            GeneralName::Directory(n) => format!("directoryName {:?}", name::to_rfc4514(n)),
            GeneralName::Other(form) => (*form).to_owned(),
        }
    }
}

fn describe_ip(octets: &[u8]) -> String {
    let v4 = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from);
    let v6 = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
    let prefix = |mask: &[u8]| mask.iter().map(|b| b.count_ones()).sum::<u32>();
    match octets.len() {
        4 => v4(octets).map(|a| a.to_string()),
        16 => v6(octets).map(|a| a.to_string()),
        8 => octets
            .split_at_checked(4)
            .and_then(|(a, m)| v4(a).map(|a| format!("{a}/{}", prefix(m)))),
        32 => octets
            .split_at_checked(16)
            .and_then(|(a, m)| v6(a).map(|a| format!("{a}/{}", prefix(m)))),
        _ => None,
    }
    .unwrap_or_else(|| format!("<{} octets>", octets.len()))
}

/// Decodes one GeneralName TLV. IA5 forms must be ASCII; a directoryName must hold one valid
/// Name; other forms are recognised by tag only.
pub(crate) fn general_name<'a>(t: der::Tlv<'a>) -> DerResult<GeneralName<'a>> {
    let ia5 = |what| {
        core::str::from_utf8(t.contents)
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or(DerError(what))
    };
    Ok(match t.tag {
        gn::RFC822 => GeneralName::Email(ia5("general name: non-ASCII rfc822Name")?),
        gn::DNS => GeneralName::Dns(ia5("general name: non-ASCII dNSName")?),
        gn::URI => GeneralName::Uri(ia5("general name: non-ASCII URI")?),
        gn::IP => GeneralName::Ip(t.contents),
        gn::DIRECTORY => {
            let n = der::single(
                t.contents,
                tag::SEQUENCE,
                "general name: directoryName is not one Name",
            )?;
            name::validate(n.contents)?;
            GeneralName::Directory(n.contents)
        }
        gn::OTHER_NAME => GeneralName::Other("otherName"),
        gn::X400 => GeneralName::Other("x400Address"),
        gn::EDI_PARTY => GeneralName::Other("ediPartyName"),
        gn::REGISTERED_ID => GeneralName::Other("registeredID"),
        _ => return Err(DerError("general name: unknown tag")),
    })
}

/// Whether a subtree permits or excludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Permitted,
    Excluded,
}

/// One GeneralSubtree: its base, or why it cannot be evaluated.
#[derive(Debug, Clone, Copy)]
struct Subtree<'a> {
    kind: Kind,
    base: GeneralName<'a>,
    /// minimum ≠ 0 or maximum present (RFC 5280 §4.2.1.10: not used in this profile).
    has_bounds: bool,
}

/// The nameConstraints extension of one certificate, kept as validated DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameConstraints<'a> {
    /// The contents of the NameConstraints SEQUENCE.
    pub(crate) subtrees: &'a [u8],
    /// Whether the extension is marked critical.
    pub(crate) critical: bool,
}

/// Parses `NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
/// excludedSubtrees [1] GeneralSubtrees OPTIONAL }` (an extnValue) and validates every subtree.
pub(crate) fn parse(value: &[u8], critical: bool) -> DerResult<NameConstraints<'_>> {
    let seq = der::single(value, tag::SEQUENCE, "nameConstraints: expected SEQUENCE")?.contents;
    let nc = NameConstraints {
        subtrees: seq,
        critical,
    };
    // §4.2.1.10: "conforming CAs MUST NOT issue certificates where name constraints is an empty
    // sequence"; each present GeneralSubtrees is SIZE (1..MAX).
    if seq.is_empty() {
        return Err(DerError("nameConstraints: empty sequence"));
    }
    let mut count = 0usize;
    for subtree in subtrees(seq) {
        let subtree = subtree?;
        validate_base(&subtree.base)?;
        count += 1;
    }
    if count == 0 {
        return Err(DerError("nameConstraints: empty subtrees"));
    }
    Ok(nc)
}

/// Checks that a subtree base is well formed for its form.
fn validate_base(base: &GeneralName<'_>) -> DerResult<()> {
    match base {
        GeneralName::Dns(c) => {
            let c = c.strip_prefix('.').unwrap_or(c);
            if !c.is_empty() && !is_dns_name(c, false) {
                return Err(DerError("nameConstraints: invalid dNSName subtree"));
            }
        }
        GeneralName::Uri(c) => {
            let c = c.strip_prefix('.').unwrap_or(c);
            if !is_dns_name(c, false) {
                return Err(DerError("nameConstraints: invalid URI subtree"));
            }
        }
        GeneralName::Email(c) => {
            if c.is_empty() || c.chars().any(|ch| ch.is_ascii_whitespace()) {
                return Err(DerError("nameConstraints: invalid rfc822Name subtree"));
            }
        }
        GeneralName::Ip(octets) => {
            let mask = match octets.len() {
                8 => octets.get(4..),
                32 => octets.get(16..),
                _ => None,
            }
            .ok_or(DerError(
                "nameConstraints: iPAddress subtree is not address and mask",
            ))?;
            if !is_contiguous_mask(mask) {
                return Err(DerError(
                    "nameConstraints: iPAddress subtree mask is not contiguous",
                ));
            }
        }
        GeneralName::Directory(_) | GeneralName::Other(_) => {}
    }
    Ok(())
}

fn is_contiguous_mask(mask: &[u8]) -> bool {
    let mut ended = false;
    for &b in mask {
        if ended && b != 0 {
            return false;
        }
        if b != 0xff {
            if b.leading_ones() + b.trailing_zeros() != 8 {
                return false;
            }
            ended = true;
        }
    }
    true
}

/// A host name or dNSName in preferred syntax (RFC 1034 §3.5, RFC 5280 §4.2.1.6): dot-separated
/// labels of letters, digits and inner hyphens, 1–63 octets each, 253 at most; underscores are
/// tolerated (common in service names). With `wildcard`, a leading `*.` label is allowed.
pub(crate) fn is_dns_name(name: &str, wildcard: bool) -> bool {
    let body = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => name,
    };
    if body.is_empty() || body.len() > 253 {
        return false;
    }
    body.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The subtrees of a validated NameConstraints' contents, permitted first.
fn subtrees(seq: &[u8]) -> impl Iterator<Item = DerResult<Subtree<'_>>> {
    let mut outer = Reader::new(seq);
    let mut inner: Option<(Kind, Reader<'_>)> = None;
    let mut failed = false;
    core::iter::from_fn(move || {
        loop {
            if failed {
                return None;
            }
            if let Some((kind, r)) = inner.as_mut()
                && !r.is_empty()
            {
                let item = read_subtree(*kind, r);
                failed = item.is_err();
                return Some(item);
            }
            if outer.is_empty() {
                return None;
            }
            let next = match outer.peek_tag() {
                Some(t) if t == tag::context_constructed(0) => Kind::Permitted,
                Some(t) if t == tag::context_constructed(1) => Kind::Excluded,
                _ => {
                    failed = true;
                    return Some(Err(DerError("nameConstraints: unexpected field")));
                }
            };
            match outer.read() {
                Ok(t) if t.contents.is_empty() => {
                    failed = true;
                    return Some(Err(DerError("nameConstraints: empty GeneralSubtrees")));
                }
                Ok(t) => inner = Some((next, Reader::new(t.contents))),
                Err(e) => {
                    failed = true;
                    return Some(Err(e));
                }
            }
        }
    })
}

/// `GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0,
/// maximum [1] BaseDistance OPTIONAL }`.
fn read_subtree<'a>(kind: Kind, r: &mut Reader<'a>) -> DerResult<Subtree<'a>> {
    let seq = r.expect(tag::SEQUENCE, "nameConstraints: expected GeneralSubtree")?;
    let mut s = Reader::new(seq.contents);
    let base = general_name(s.read()?)?;
    let mut has_bounds = false;
    if let Some(min) = s.optional(tag::context_primitive(0))? {
        // DER omits a DEFAULT value, so an explicit 0 is already a mis-encoding.
        if der::small_unsigned(min.contents)? == 0 {
            return Err(DerError("nameConstraints: explicit default minimum"));
        }
        has_bounds = true;
    }
    if let Some(max) = s.optional(tag::context_primitive(1))? {
        der::small_unsigned(max.contents)?;
        has_bounds = true;
    }
    s.finish("nameConstraints: trailing data in GeneralSubtree")?;
    Ok(Subtree {
        kind,
        base,
        has_bounds,
    })
}

/// Counts (name × subtree) comparisons across one chain verification.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: usize,
}

impl Budget {
    fn take(&mut self, n: usize) -> Result<(), ChainError> {
        self.used = self.used.saturating_add(n);
        if self.used > MAX_NAME_CONSTRAINT_CHECKS {
            return Err(ChainError::BudgetExceeded {
                what: "name constraint checks",
                limit: MAX_NAME_CONSTRAINT_CHECKS,
            });
        }
        Ok(())
    }
}

/// The names of `cert` that name constraints apply to (§6.1.3 (b)/(c)): the subject DN (when not
/// empty), its emailAddress attributes when there is no rfc822Name SAN, every SAN, and for the
/// leaf the CN as a dNSName when there is no dNSName SAN and the CN is written like a host name.
pub(crate) fn names_of<'a>(cert: &Cert<'a>, is_leaf: bool) -> Vec<GeneralName<'a>> {
    let mut names = Vec::new();
    let subject = crate::cert::name_contents(cert.subject);
    if !subject.is_empty() {
        names.push(GeneralName::Directory(subject));
    }
    if let Some(san) = cert.extensions.subject_alt_name {
        let mut r = Reader::new(san);
        while let Ok(t) = r.read() {
            if let Ok(n) = general_name(t) {
                names.push(n);
            }
        }
    }
    let has = |f: fn(&GeneralName<'_>) -> bool| names.iter().any(f);
    let has_email = has(|n| matches!(n, GeneralName::Email(_)));
    let has_dns = has(|n| matches!(n, GeneralName::Dns(_)));
    if !has_email {
        names.extend(
            name::email_addresses(subject)
                .into_iter()
                .map(GeneralName::Email),
        );
    }
    if is_leaf
        && !has_dns
        && let Some(cn) = name::common_name_raw(subject)
        && is_dns_name(cn, true)
    {
        names.push(GeneralName::Dns(cn));
    }
    names
}

/// Applies the nameConstraints `nc` of the CA `ca_subject` to `names`, which belong to the
/// certificate `subject` at `depth` (0 = leaf) below it.
pub(crate) fn check(
    nc: NameConstraints<'_>,
    ca_subject: &dyn Fn() -> String,
    names: &[GeneralName<'_>],
    subject: &dyn Fn() -> String,
    depth: usize,
    budget: &mut Budget,
) -> Result<(), ChainError> {
    let mut trees = Vec::new();
    for s in subtrees(nc.subtrees) {
        let s = s.map_err(|e| ChainError::UnsupportedNameConstraint {
            subject: ca_subject(),
            form: e.0,
        })?;
        let unsupported = matches!(s.base, GeneralName::Other(_)) || s.has_bounds;
        if unsupported {
            if nc.critical {
                return Err(ChainError::UnsupportedNameConstraint {
                    subject: ca_subject(),
                    form: if s.has_bounds {
                        "subtree with minimum or maximum"
                    } else {
                        s.base.form()
                    },
                });
            }
            continue;
        }
        trees.push(s);
    }
    budget.take(names.len().saturating_mul(trees.len()))?;
    for n in names {
        let mut permitted_of_form = false;
        let mut permitted = false;
        for t in trees.iter().filter(|t| t.base.same_form(n)) {
            match t.kind {
                Kind::Excluded if excludes(&t.base, n) => {
                    return Err(ChainError::NameExcluded {
                        name: n.describe(),
                        subject: subject(),
                        depth,
                        constraint: t.base.describe(),
                        ca: ca_subject(),
                    });
                }
                Kind::Excluded => {}
                Kind::Permitted => {
                    permitted_of_form = true;
                    permitted = permitted || within(&t.base, n);
                }
            }
        }
        if permitted_of_form && !permitted {
            return Err(ChainError::NameNotPermitted {
                name: n.describe(),
                subject: subject(),
                depth,
                form: n.form(),
                ca: ca_subject(),
            });
        }
    }
    Ok(())
}

/// The name lies wholly within the subtree `base` (same form).
fn within(base: &GeneralName<'_>, n: &GeneralName<'_>) -> bool {
    match (base, n) {
        (GeneralName::Dns(c), GeneralName::Dns(name)) => {
            let name = name.strip_prefix("*.").unwrap_or(name);
            dns_within(c, name)
        }
        (GeneralName::Email(c), GeneralName::Email(name)) => email_within(c, name),
        (GeneralName::Uri(c), GeneralName::Uri(uri)) => {
            uri_host(uri).is_some_and(|host| host_within(c, host))
        }
        (GeneralName::Ip(c), GeneralName::Ip(addr)) => ip_within(c, addr),
        (GeneralName::Directory(c), GeneralName::Directory(name)) => directory_within(c, name),
        _ => false,
    }
}

/// The name overlaps the excluded subtree `base`: for a wildcard dNSName, some name it covers
/// lies within the subtree.
fn excludes(base: &GeneralName<'_>, n: &GeneralName<'_>) -> bool {
    if let (GeneralName::Dns(c), GeneralName::Dns(name)) = (base, n)
        && let Some(parent) = name.strip_prefix("*.")
    {
        // `*.parent` covers `x.parent`: excluded when the subtree is within `parent`, or is
        // exactly one label below it.
        let c = c.strip_prefix('.').unwrap_or(c);
        return dns_within(c, parent)
            || c.split_once('.')
                .is_some_and(|(_, up)| up.eq_ignore_ascii_case(parent));
    }
    within(base, n)
}

/// `name` ends with `.suffix` (ASCII case-insensitive).
fn is_subdomain(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() + 1
        && name
            .get(name.len() - suffix.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
        && name
            .as_bytes()
            .get(name.len() - suffix.len() - 1)
            .is_some_and(|&b| b == b'.')
}

/// dNSName subtree (§4.2.1.10): `example.com` covers itself and every subdomain; the common
/// `.example.com` form covers subdomains only; an empty constraint covers every name.
fn dns_within(constraint: &str, name: &str) -> bool {
    match constraint.strip_prefix('.') {
        _ if constraint.is_empty() => true,
        Some(suffix) => is_subdomain(name, suffix),
        None => name.eq_ignore_ascii_case(constraint) || is_subdomain(name, constraint),
    }
}

/// URI subtree (§4.2.1.10): a host (`example.com` exactly) or, with a leading period, any
/// subdomain of it.
fn host_within(constraint: &str, host: &str) -> bool {
    match constraint.strip_prefix('.') {
        Some(suffix) => is_subdomain(host, suffix),
        None => host.eq_ignore_ascii_case(constraint),
    }
}

/// The host of a URI with an authority (`scheme://[userinfo@]host[:port]/…`); `None` for URIs
/// without one (`urn:…`), which a URI subtree can never contain, and for IP literals.
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return None;
    }
    let host = host_port.split_once(':').map_or(host_port, |(h, _)| h);
    (!host.is_empty()).then_some(host)
}

/// rfc822Name subtree (§4.2.1.10): a mailbox (`a@example.com`), all mailboxes on a host
/// (`example.com`), or all mailboxes on subdomains (`.example.com`). Hosts compare without case,
/// local parts exactly.
fn email_within(constraint: &str, name: &str) -> bool {
    let Some((local, host)) = name.rsplit_once('@') else {
        return false;
    };
    if let Some((c_local, c_host)) = constraint.rsplit_once('@') {
        return local == c_local && host.eq_ignore_ascii_case(c_host);
    }
    match constraint.strip_prefix('.') {
        Some(suffix) => is_subdomain(host, suffix),
        None => host.eq_ignore_ascii_case(constraint),
    }
}

/// iPAddress subtree (§4.2.1.10): address and mask of one family; the name's address of the same
/// family lies within it when the masked bits agree.
fn ip_within(constraint: &[u8], addr: &[u8]) -> bool {
    let Some((net, mask)) = constraint.split_at_checked(constraint.len() / 2) else {
        return false;
    };
    addr.len() == net.len()
        && addr
            .iter()
            .zip(net)
            .zip(mask)
            .all(|((a, n), m)| a & m == n & m)
}

/// directoryName subtree (§4.2.1.10, §7.1): the constraint's RDNs are the first RDNs of the name
/// (compared as DER).
fn directory_within(constraint: &[u8], name: &[u8]) -> bool {
    let mut c = Reader::new(constraint);
    let mut n = Reader::new(name);
    while !c.is_empty() {
        match (c.read(), n.read()) {
            (Ok(a), Ok(b)) if a.raw == b.raw => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subtrees() {
        assert!(dns_within("dept-a.example", "dept-a.example"));
        assert!(dns_within("dept-a.example", "api.DEPT-A.example"));
        assert!(!dns_within("dept-a.example", "xdept-a.example"));
        assert!(!dns_within("dept-a.example", "dept-b.example"));
        assert!(!dns_within(".dept-a.example", "dept-a.example"));
        assert!(dns_within(".dept-a.example", "x.dept-a.example"));
        assert!(dns_within("", "anything.example"));
        let c = GeneralName::Dns("bad.example");
        assert!(excludes(&c, &GeneralName::Dns("*.example")));
        assert!(excludes(&c, &GeneralName::Dns("*.bad.example")));
        assert!(!excludes(&c, &GeneralName::Dns("*.good.example")));
    }

    #[test]
    fn uri_and_email_subtrees() {
        assert_eq!(
            uri_host("spiffe://dept-a.example/client/x"),
            Some("dept-a.example")
        );
        assert_eq!(
            uri_host("https://u:p@h.example:8443/x?q"),
            Some("h.example")
        );
        assert_eq!(uri_host("urn:uuid:1234"), None);
        assert_eq!(uri_host("https://[::1]/"), None);
        assert!(host_within("dept-a.example", "DEPT-A.example"));
        assert!(!host_within("dept-a.example", "x.dept-a.example"));
        assert!(host_within(".dept-a.example", "x.dept-a.example"));
        assert!(email_within("dept-a.example", "bob@dept-a.example"));
        assert!(!email_within("dept-a.example", "bob@x.dept-a.example"));
        assert!(email_within(".dept-a.example", "bob@x.dept-a.example"));
        assert!(email_within("bob@dept-a.example", "bob@DEPT-A.example"));
        assert!(!email_within("bob@dept-a.example", "Bob@dept-a.example"));
        assert!(!email_within("dept-a.example", "no-at-sign"));
    }

    #[test]
    fn ip_subtrees_and_masks() {
        let net = [10, 9, 0, 0, 255, 255, 0, 0];
        assert!(ip_within(&net, &[10, 9, 200, 1]));
        assert!(!ip_within(&net, &[10, 8, 0, 1]));
        assert!(!ip_within(&net, &[0u8; 16]));
        assert!(is_contiguous_mask(&[255, 255, 240, 0]));
        assert!(!is_contiguous_mask(&[255, 0, 255, 0]));
        assert!(!is_contiguous_mask(&[255, 0b1011_0000, 0, 0]));
        assert_eq!(describe_ip(&net), "10.9.0.0/16");
    }

    #[test]
    fn dns_syntax() {
        assert!(is_dns_name("api.dept-a.example", false));
        assert!(is_dns_name("alice", false));
        assert!(is_dns_name("*.dept-a.example", true));
        assert!(!is_dns_name("*.dept-a.example", false));
        assert!(!is_dns_name("Trieguard SM2 Root", false));
        assert!(!is_dns_name("a..b", false));
        assert!(!is_dns_name("-a.b", false));
        assert!(!is_dns_name("", false));
    }

    /// DER for NameConstraints with one permitted dNSName subtree, plus `extra` in the subtree.
    fn nc_der(base: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut subtree = base.to_vec();
        subtree.extend_from_slice(extra);
        let subtree = [&[0x30, subtree.len() as u8][..], &subtree].concat();
        let permitted = [&[0xa0, subtree.len() as u8][..], &subtree].concat();
        [&[0x30, permitted.len() as u8][..], &permitted].concat()
    }

    #[test]
    fn parses_and_rejects_subtrees() {
        let dns = [0x82, 0x03, b'a', b'.', b'b'];
        assert!(parse(&nc_der(&dns, &[]), true).is_ok());
        assert!(parse(&[0x30, 0x00], true).is_err(), "empty sequence");
        assert!(
            parse(&nc_der(&dns, &[0x80, 0x01, 0x00]), true).is_err(),
            "explicit default minimum"
        );
        assert!(parse(&nc_der(&[0x82, 0x02, b'a', b' '], &[]), true).is_err());
        assert!(parse(&nc_der(&[0x87, 0x04, 10, 0, 0, 0], &[]), true).is_err());

        // A maximum is parseable but not evaluated: rejected when critical, ignored otherwise.
        let bounded_der = nc_der(&dns, &[0x81, 0x01, 0x02]);
        let bounded = parse(&bounded_der, true).unwrap();
        let mut budget = Budget::default();
        let names = [GeneralName::Dns("x.example")];
        let err = check(bounded, &String::new, &names, &String::new, 0, &mut budget).unwrap_err();
        assert_eq!(err.code(), "unsupported_name_constraint");
        let lenient = NameConstraints {
            critical: false,
            ..bounded
        };
        assert!(check(lenient, &String::new, &names, &String::new, 0, &mut budget).is_ok());

        let permitted_der = nc_der(&dns, &[]);
        let permitted = parse(&permitted_der, true).unwrap();
        let err = check(
            permitted,
            &String::new,
            &names,
            &String::new,
            0,
            &mut budget,
        )
        .unwrap_err();
        assert_eq!(err.code(), "name_not_permitted");
    }

    #[test]
    fn budget_is_names_times_subtrees() {
        let dns = [0x82, 0x03, b'a', b'.', b'b'];
        let nc_bytes = nc_der(&dns, &[]);
        let nc = parse(&nc_bytes, true).unwrap();
        let names = vec![GeneralName::Dns("x.a.b"); MAX_NAME_CONSTRAINT_CHECKS + 1];
        let mut budget = Budget::default();
        let err = check(nc, &String::new, &names, &String::new, 0, &mut budget).unwrap_err();
        assert_eq!(err.code(), "budget_exceeded");
    }
}
