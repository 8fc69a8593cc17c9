//! Host patterns and the host table: which virtual host an `:authority` selects.
//!
//! Matching rules (Envoy's virtual-host domain rules):
//! - the port is ignored (`api.example.com:8443` is `api.example.com`; `[::1]:80` is `[::1]`);
//! - comparison is ASCII case-insensitive;
//! - one trailing dot is dropped from both patterns and authorities, so `example.com.` and
//!   `example.com` are the same name (Envoy does this only with `strip_trailing_host_dot: true`;
//!   we always do, because a fully-qualified name is the same DNS name);
//! - an exact name beats every wildcard; then suffix wildcards, the longest suffix first; then
//!   prefix wildcards, the longest prefix first; `*` is last;
//! - a wildcard `*.example.com` matches one or more whole non-empty labels in front of
//!   `.example.com` — never `example.com` itself, never `.example.com`, never `a..example.com`;
//! - a partial-label suffix wildcard `*-x.example.com` (Envoy's `*-bar.foo.com`) matches any
//!   name that ends with `-x.example.com` and has at least one more character in front
//!   (`a-x.example.com`, `b.a-x.example.com`; not `-x.example.com`); it ranks with the
//!   `*.suffix` wildcards by suffix length, and like them never matches a name with an empty
//!   label;
//! - a prefix wildcard `api.*` (or `api-*`) matches any name that starts with the prefix and
//!   has at least one more character (`api.example.com`, not `api.`).

use std::collections::HashMap;

use crate::error::HostError;
use crate::limits::MAX_HOST_LEN;

/// A parsed, normalised host pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// One exact name, lower-case, without trailing dot.
    Exact(String),
    /// `*.suffix` or `*-partial.suffix`: the stored string is the suffix without the `*`
    /// (`.example.com`, `-x.example.com`).
    Suffix(String),
    /// `prefix*`: the stored string is the prefix without the `*` (`api.` for `api.*`).
    Prefix(String),
    /// `*`: any authority.
    Any,
}

impl HostPattern {
    /// Parses and normalises a pattern: `api.example.com`, `*.example.com`, `api.*` or `*`.
    pub fn parse(pattern: &str) -> Result<Self, HostError> {
        if let Some(prefix) = pattern.strip_suffix('*')
            && !prefix.is_empty()
            && !prefix.starts_with('*')
        {
            if prefix.contains('*') {
                return Err(HostError::MisplacedWildcard);
            }
            if prefix.len() > MAX_HOST_LEN {
                return Err(HostError::TooLong {
                    len: prefix.len(),
                    limit: MAX_HOST_LEN,
                });
            }
            if let Some(found) = prefix.chars().find(|c| !is_host_char(*c, prefix)) {
                return Err(HostError::InvalidChar { found });
            }
            if prefix.starts_with('.') || prefix.contains("..") {
                return Err(HostError::EmptyLabel);
            }
            return Ok(Self::Prefix(prefix.to_ascii_lowercase()));
        }
        let p = pattern.strip_suffix('.').unwrap_or(pattern);
        if p.is_empty() {
            return Err(HostError::Empty);
        }
        if p == "*" {
            return if pattern == "*" {
                Ok(Self::Any)
            } else {
                Err(HostError::EmptyLabel)
            };
        }
        if p.len() > MAX_HOST_LEN {
            return Err(HostError::TooLong {
                len: p.len(),
                limit: MAX_HOST_LEN,
            });
        }
        // `*.suffix`, `*-partial.suffix` (the `*` ends inside the first label), or a name.
        let (wild, name) = match p.strip_prefix("*.") {
            Some(rest) => (Some("."), rest),
            None => match p.strip_prefix('*') {
                Some(rest) => (Some(""), rest),
                None => (None, p),
            },
        };
        if name.contains('*') {
            return Err(HostError::MisplacedWildcard);
        }
        if let Some(found) = name.chars().find(|c| !is_host_char(*c, name)) {
            return Err(HostError::InvalidChar { found });
        }
        if name.is_empty() || name.split('.').any(str::is_empty) {
            return Err(HostError::EmptyLabel);
        }
        let lower = name.to_ascii_lowercase();
        Ok(match wild {
            Some(dot) => Self::Suffix(format!("{dot}{lower}")),
            None => Self::Exact(lower),
        })
    }
}

impl core::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Exact(n) => f.write_str(n),
            Self::Suffix(s) => write!(f, "*{s}"),
            Self::Prefix(p) => write!(f, "{p}*"),
            Self::Any => f.write_str("*"),
        }
    }
}

/// Characters allowed in a host pattern: anything visible except `/ ? # @` and whitespace;
/// `:` only inside a bracketed IPv6 literal (a port in a pattern would never match).
fn is_host_char(c: char, whole: &str) -> bool {
    match c {
        ':' => whole.starts_with('[') && whole.ends_with(']'),
        '/' | '?' | '#' | '@' => false,
        c => !c.is_whitespace() && !c.is_control(),
    }
}

/// Index of a virtual host (one distinct host pattern) inside a [`RouteTrie`](crate::RouteTrie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub(crate) u32);

impl HostId {
    /// The index, in order of first appearance of the pattern.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Removes the port and one trailing dot from an authority. Does not lower-case.
///
/// A bracketed IPv6 literal keeps its brackets; a `:` is treated as a port separator only if
/// what follows is all digits (so a bare, invalid `a:b` stays as it is).
pub fn host_of(authority: &str) -> &str {
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority.get(..=end).unwrap_or(authority),
            None => authority,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        }
    };
    host.strip_suffix('.').unwrap_or(host)
}

/// Maps normalised host names to virtual hosts. Hash keys are lower-case bytes.
///
/// The hasher need not resist flooding: requests only look keys up, and the keys are fixed
/// by the config.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostTable {
    exact: HashMap<Box<[u8]>, HostId, foldhash::fast::RandomState>,
    /// Keyed by the suffix with its leading dot (`.example.com`).
    suffix: HashMap<Box<[u8]>, HostId, foldhash::fast::RandomState>,
    /// Partial-label suffixes, keyed without the `*` (`-x.example.com`).
    partial: HashMap<Box<[u8]>, HostId, foldhash::fast::RandomState>,
    /// The distinct partial-suffix lengths, longest first: a lookup tries only these (a
    /// suffix can start at any byte, not only at a dot).
    partial_lengths: Vec<usize>,
    /// Keyed by the prefix without its `*` (`api.`).
    prefix: HashMap<Box<[u8]>, HostId, foldhash::fast::RandomState>,
    /// The distinct prefix lengths, longest first: a lookup tries only these.
    prefix_lengths: Vec<usize>,
    any: Option<HostId>,
    patterns: Vec<HostPattern>,
}

impl HostTable {
    /// The host for `pattern`, creating it if new. Returns the id and whether it was new.
    pub(crate) fn intern(&mut self, pattern: HostPattern) -> Option<(HostId, bool)> {
        let next = HostId(u32::try_from(self.patterns.len()).ok()?);
        let slot = match &pattern {
            HostPattern::Exact(n) => self.exact.entry(n.as_bytes().into()),
            HostPattern::Suffix(s) if s.starts_with('.') => self.suffix.entry(s.as_bytes().into()),
            HostPattern::Suffix(s) => {
                if !self.partial_lengths.contains(&s.len()) {
                    self.partial_lengths.push(s.len());
                    self.partial_lengths.sort_unstable_by(|a, b| b.cmp(a));
                }
                self.partial.entry(s.as_bytes().into())
            }
            HostPattern::Prefix(p) => {
                if !self.prefix_lengths.contains(&p.len()) {
                    self.prefix_lengths.push(p.len());
                    self.prefix_lengths.sort_unstable_by(|a, b| b.cmp(a));
                }
                self.prefix.entry(p.as_bytes().into())
            }
            HostPattern::Any => {
                return Some(match self.any {
                    Some(id) => (id, false),
                    None => {
                        self.any = Some(next);
                        self.patterns.push(pattern);
                        (next, true)
                    }
                });
            }
        };
        match slot {
            std::collections::hash_map::Entry::Occupied(o) => Some((*o.get(), false)),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(next);
                self.patterns.push(pattern);
                Some((next, true))
            }
        }
    }

    pub(crate) fn pattern(&self, id: HostId) -> Option<&HostPattern> {
        self.patterns.get(id.index())
    }

    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The most specific host for an authority (port ignored, case-insensitive).
    pub(crate) fn lookup(&self, authority: &str) -> Option<HostId> {
        if self.exact.is_empty()
            && self.suffix.is_empty()
            && self.partial.is_empty()
            && self.prefix.is_empty()
        {
            return self.any;
        }
        let host = host_of(authority).as_bytes();
        if host.len() > MAX_HOST_LEN {
            return self.any;
        }
        let mut buf = [0u8; MAX_HOST_LEN];
        let lower = match buf.get_mut(..host.len()) {
            Some(dst) => {
                for (d, s) in dst.iter_mut().zip(host) {
                    *d = s.to_ascii_lowercase();
                }
                &*dst
            }
            None => return self.any,
        };
        if let Some(id) = self.exact.get(lower) {
            return Some(*id);
        }
        if (!self.suffix.is_empty() || !self.partial.is_empty()) && well_formed_labels(lower) {
            // The first dot from the left gives the longest suffix; the part before it is
            // non-empty because `well_formed_labels` rejects a leading dot.
            let mut best = None;
            if !self.suffix.is_empty() {
                best = lower
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'.')
                    .find_map(|(i, _)| {
                        let id = lower.get(i..).and_then(|s| self.suffix.get(s))?;
                        Some((lower.len() - i, *id))
                    });
            }
            // A longer partial suffix wins; it needs a character in front of it. Keys never
            // start with a dot, so the two kinds never match at the same position.
            let longer = self
                .partial_lengths
                .iter()
                .filter(|&&len| len < lower.len() && best.is_none_or(|(l, _)| len > l));
            for &len in longer {
                if let Some(id) = lower
                    .get(lower.len() - len..)
                    .and_then(|s| self.partial.get(s))
                {
                    return Some(*id);
                }
            }
            if let Some((_, id)) = best {
                return Some(id);
            }
        }
        // The wildcard stands for at least one character.
        for &len in self.prefix_lengths.iter().filter(|&&len| len < lower.len()) {
            if let Some(id) = lower.get(..len).and_then(|p| self.prefix.get(p)) {
                return Some(*id);
            }
        }
        self.any
    }
}

/// No empty label: no leading dot and no `..` (a trailing dot was already stripped).
fn well_formed_labels(host: &[u8]) -> bool {
    !host.is_empty()
        && host.first() != Some(&b'.')
        && host.last() != Some(&b'.')
        && !host.windows(2).any(|w| w == b"..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_wildcards_come_after_suffix_wildcards_longest_first() {
        let mut table = HostTable::default();
        let id = |t: &mut HostTable, p: &str| t.intern(HostPattern::parse(p).unwrap()).unwrap().0;
        let api = id(&mut table, "api.*");
        let api_eu = id(&mut table, "api.eu.*");
        let dash = id(&mut table, "shop-*");
        let suffix = id(&mut table, "*.example.com");
        let any = id(&mut table, "*");
        assert_eq!(
            table.lookup("api.example.com"),
            Some(suffix),
            "suffix first"
        );
        assert_eq!(table.lookup("api.example.org"), Some(api));
        assert_eq!(
            table.lookup("API.eu.example.org:443"),
            Some(api_eu),
            "longest prefix"
        );
        assert_eq!(table.lookup("shop-1"), Some(dash));
        assert_eq!(
            table.lookup("api."),
            Some(any),
            "the wildcard needs a character"
        );
        assert_eq!(table.lookup("shop-"), Some(any));
        assert_eq!(HostPattern::parse("api.*").unwrap().to_string(), "api.*");
        assert!(HostPattern::parse("a*b*").is_err());
        assert!(HostPattern::parse(".a*").is_err());
    }

    #[test]
    fn parse_normalises() {
        assert_eq!(
            HostPattern::parse("API.Example.com."),
            Ok(HostPattern::Exact("api.example.com".into()))
        );
        assert_eq!(
            HostPattern::parse("*.Example.COM"),
            Ok(HostPattern::Suffix(".example.com".into()))
        );
        assert_eq!(HostPattern::parse("*"), Ok(HostPattern::Any));
        assert_eq!(
            HostPattern::parse("[::1]"),
            Ok(HostPattern::Exact("[::1]".into()))
        );
    }

    #[test]
    fn parse_rejects() {
        let cases: &[(&str, HostError)] = &[
            ("", HostError::Empty),
            (".", HostError::Empty),
            ("*.", HostError::EmptyLabel),
            ("a..b", HostError::EmptyLabel),
            (".a", HostError::EmptyLabel),
            ("a.*.b", HostError::MisplacedWildcard),
            ("*a*.b", HostError::MisplacedWildcard),
            ("*-a..b", HostError::EmptyLabel),
            ("a.b:80", HostError::InvalidChar { found: ':' }),
            ("a/b", HostError::InvalidChar { found: '/' }),
        ];
        for (p, e) in cases {
            assert_eq!(HostPattern::parse(p).as_ref(), Err(e), "{p}");
        }
        assert!(matches!(
            HostPattern::parse(&"a".repeat(254)),
            Err(HostError::TooLong { .. })
        ));
    }

    #[test]
    fn host_of_strips_port_and_dot() {
        let cases = [
            ("a.com", "a.com"),
            ("a.com:8080", "a.com"),
            ("a.com.:8080", "a.com"),
            ("a.com.", "a.com"),
            ("[::1]:80", "[::1]"),
            ("[::1]", "[::1]"),
            ("a:b", "a:b"),
            ("a.com:", "a.com"),
            ("", ""),
        ];
        for (a, h) in cases {
            assert_eq!(host_of(a), h, "{a}");
        }
    }

    fn table(patterns: &[&str]) -> HostTable {
        let mut t = HostTable::default();
        for p in patterns {
            t.intern(HostPattern::parse(p).unwrap()).unwrap();
        }
        t
    }

    #[test]
    fn partial_label_suffix_wildcards_rank_with_suffix_wildcards_by_length() {
        assert_eq!(
            HostPattern::parse("*-X.Example.com"),
            Ok(HostPattern::Suffix("-x.example.com".into()))
        );
        assert_eq!(
            HostPattern::parse("*-x.example.com").unwrap().to_string(),
            "*-x.example.com"
        );
        let t = table(&[
            "*",
            "*.example.com",
            "*-x.example.com",
            "*x.example.com",
            "*.a-x.example.com",
            "api.*",
        ]);
        let id = |a: &str| t.lookup(a).map(HostId::index);
        let cases = [
            ("a-x.example.com", Some(2)),
            ("B.A-X.example.com:80", Some(4)), // `.a-x.example.com` is longer
            ("b.c-x.example.com", Some(2)),
            ("ax.example.com", Some(3)),
            ("x.example.com", Some(1)), // `*x` needs a character in front of `x`
            ("-x.example.com", Some(3)), // `*-x` needs one in front of `-`; `*x` has `-`
            ("y.example.com", Some(1)),
            ("api.x.example.com", Some(3)), // suffix wildcards before prefix wildcards
            ("a..b-x.example.com", Some(0)),
            ("x-x.example.org", Some(0)),
        ];
        for (a, want) in cases {
            assert_eq!(id(a), want, "{a}");
        }
    }

    #[test]
    fn lookup_precedence() {
        let t = table(&["*", "*.example.com", "*.api.example.com", "api.example.com"]);
        let id = |a: &str| t.lookup(a).map(HostId::index);
        let cases = [
            ("api.example.com", Some(3)),
            ("API.EXAMPLE.COM:443", Some(3)),
            ("v1.api.example.com", Some(2)),
            ("a.b.api.example.com", Some(2)),
            ("www.example.com", Some(1)),
            ("example.com", Some(0)),
            (".example.com", Some(0)),
            ("a..example.com", Some(0)),
            ("other.org", Some(0)),
            ("", Some(0)),
        ];
        for (a, want) in cases {
            assert_eq!(id(a), want, "{a}");
        }
        let no_default = table(&["*.example.com"]);
        assert_eq!(no_default.lookup("example.com"), None);
        assert_eq!(
            no_default.lookup(&format!("{}.example.com", "a".repeat(300))),
            None
        );
    }
}
