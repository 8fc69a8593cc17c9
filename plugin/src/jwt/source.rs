//! Where a token is found in a request: a header (with an optional scheme prefix), a query
//! parameter, or a cookie. Sources are tried in configuration order; the first one that yields
//! a non-empty token wins.

use std::borrow::Cow;

use super::config::TokenSourceConfig;
use super::error::JwtConfigIssue;

/// A compiled token source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// A header, name lower-cased; `prefix` must start the value (ASCII case-insensitive).
    Header { name: String, prefix: String },
    /// A query parameter (compared after percent-decoding).
    Query { name: String },
    /// A cookie in the `cookie` header(s).
    Cookie { name: String },
}

impl TokenSource {
    /// Validates one `from[i]` entry.
    pub(crate) fn compile(
        at: &str,
        config: &TokenSourceConfig,
        issues: &mut Vec<JwtConfigIssue>,
    ) -> Option<Self> {
        let set = [
            config.header.is_some(),
            config.query.is_some(),
            config.cookie.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if set != 1 {
            issues.push(JwtConfigIssue::new(
                at,
                "exactly one of \"header\", \"query\" or \"cookie\" must be set",
            ));
            return None;
        }
        if config.prefix.is_some() && config.header.is_none() {
            issues.push(JwtConfigIssue::new(
                format!("{at}.prefix"),
                "only applies to a \"header\" source",
            ));
            return None;
        }
        if let Some(name) = &config.header {
            if !is_token(name) {
                issues.push(JwtConfigIssue::new(
                    format!("{at}.header"),
                    format!("{name:?} is not a valid header name"),
                ));
                return None;
            }
            return Some(TokenSource::Header {
                name: name.to_ascii_lowercase(),
                prefix: config.prefix.clone().unwrap_or_default(),
            });
        }
        if let Some(name) = &config.query {
            if name.is_empty() {
                issues.push(JwtConfigIssue::new(
                    format!("{at}.query"),
                    "must not be empty",
                ));
                return None;
            }
            return Some(TokenSource::Query { name: name.clone() });
        }
        if let Some(name) = &config.cookie {
            if !is_token(name) {
                issues.push(JwtConfigIssue::new(
                    format!("{at}.cookie"),
                    format!("{name:?} is not a valid cookie name"),
                ));
                return None;
            }
            return Some(TokenSource::Cookie { name: name.clone() });
        }
        None
    }

    /// The token this source finds, if any.
    pub(crate) fn find<'a>(
        &self,
        headers: &'a [(String, String)],
        query: Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        match self {
            TokenSource::Header { name, prefix } => headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .find_map(|(_, value)| {
                    let token = strip_prefix_ignore_case(value, prefix)?.trim_matches([' ', '\t']);
                    (!token.is_empty()).then_some(Cow::Borrowed(token))
                }),
            TokenSource::Query { name } => find_query_param(query?, name),
            TokenSource::Cookie { name } => headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .find_map(|(_, value)| find_cookie(value, name))
                .map(Cow::Borrowed),
        }
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        value.get(prefix.len()..)
    } else {
        None
    }
}

/// `key=value&…`, with an optional leading `?`; the first parameter named `name` with a
/// non-empty, validly percent-encoded UTF-8 value.
fn find_query_param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let query = query.strip_prefix('?').unwrap_or(query);
    // A fragment never reaches a server, but be safe if a caller passes one along.
    let query = query.split('#').next().unwrap_or_default();
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if percent_decode(key)?.as_ref() != name {
            return None;
        }
        percent_decode(value).filter(|value| !value.is_empty())
    })
}

/// RFC 3986 percent-decoding; `None` when a `%` is not followed by two hex digits or the result
/// is not UTF-8.
fn percent_decode(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('%') {
        return Some(Cow::Borrowed(text));
    }
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = hex_value(bytes.next()?)?;
            let low = hex_value(bytes.next()?)?;
            out.push(high << 4 | low);
        } else {
            out.push(byte);
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// RFC 6265 §5.4 `cookie` header: `name=value; name2=value2`; a value in double quotes is
/// unquoted. The first non-empty value of `name` wins.
fn find_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if key.trim() != name {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty()).then_some(value)
    })
}

/// RFC 9110 §5.6.2 token (header names, cookie names).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}
