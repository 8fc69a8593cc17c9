//! Path match kinds and the parsing of templates into pieces.

use crate::error::PatternError;
use crate::limits::{MAX_PATTERN_LEN, MAX_TEMPLATE_PARAMS};

/// How a route matches the request path (the query string never takes part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathMatch {
    /// The whole path equals this string (`/v1/orders`).
    Exact(String),
    /// The path starts with this string, byte for byte (Envoy's `prefix`: `/api/dev` also
    /// matches `/api/developer`).
    Prefix(String),
    /// The path is this string or continues it with `/` (Envoy's `path_separated_prefix`:
    /// `/api/dev` matches `/api/dev`, `/api/dev/`, `/api/dev/x`, not `/api/developer`).
    PathSeparatedPrefix(String),
    /// Segments with named parameters `{name}` (one non-empty segment) and an optional final
    /// catch-all `{*name}` (the non-empty rest of the path): `/users/{id}/orders`,
    /// `/static/{*rest}`. A template without parameters behaves as [`PathMatch::Exact`].
    Template(String),
}

impl PathMatch {
    /// The pattern string as written.
    pub fn pattern(&self) -> &str {
        match self {
            Self::Exact(s) | Self::Prefix(s) | Self::PathSeparatedPrefix(s) | Self::Template(s) => {
                s
            }
        }
    }
}

/// What makes two path matches the same: the kind, the pattern, and whether case is ignored.
/// Patterns of case-insensitive matches compare (and hash) ASCII-case-insensitively, so
/// `prefix /Api` and `prefix /API`, both ignoring case, have equal keys; a case-sensitive and
/// a case-insensitive match never do. Made by [`PathMatch::key`].
#[derive(Debug, Clone, Copy)]
pub struct MatchKey<'a> {
    kind: u8,
    pattern: &'a str,
    ignore_case: bool,
}

impl PartialEq for MatchKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.ignore_case == other.ignore_case
            && match self.ignore_case {
                true => self.pattern.eq_ignore_ascii_case(other.pattern),
                false => self.pattern == other.pattern,
            }
    }
}

impl Eq for MatchKey<'_> {}

impl core::hash::Hash for MatchKey<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u8(self.kind);
        state.write_u8(u8::from(self.ignore_case));
        state.write_usize(self.pattern.len());
        for b in self.pattern.bytes() {
            state.write_u8(match self.ignore_case {
                true => b.to_ascii_lowercase(),
                false => b,
            });
        }
    }
}

impl PathMatch {
    /// The identity of this match compared with `ignore_case` (see [`MatchKey`]).
    pub fn key(&self, ignore_case: bool) -> MatchKey<'_> {
        let kind = match self {
            Self::Exact(_) => 0,
            Self::Prefix(_) => 1,
            Self::PathSeparatedPrefix(_) => 2,
            Self::Template(_) => 3,
        };
        MatchKey {
            kind,
            pattern: self.pattern(),
            ignore_case,
        }
    }
}

impl core::fmt::Display for PathMatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self {
            Self::Exact(_) => "exact",
            Self::Prefix(_) => "prefix",
            Self::PathSeparatedPrefix(_) => "path_separated_prefix",
            Self::Template(_) => "template",
        };
        write!(f, "{kind} `{}`", self.pattern())
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Literal bytes. A piece followed by a parameter ends with `/`.
    Static(&'a str),
    /// `{name}`: one non-empty segment.
    Param(&'a str),
    /// `{*name}`: the non-empty rest of the path; always the last piece.
    CatchAll(&'a str),
}

/// Checks what every pattern shares: leading `/`, length, no `?`/`#`.
pub(crate) fn check_common(p: &str) -> Result<(), PatternError> {
    if !p.starts_with('/') {
        return Err(PatternError::NoLeadingSlash);
    }
    if p.len() > MAX_PATTERN_LEN {
        return Err(PatternError::TooLong {
            len: p.len(),
            limit: MAX_PATTERN_LEN,
        });
    }
    if let Some(found) = p.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(PatternError::QueryOrFragment { found });
    }
    Ok(())
}

/// Parses a template into pieces; `pieces` is cleared first (a reused buffer).
pub(crate) fn parse_template<'a>(
    t: &'a str,
    pieces: &mut Vec<Piece<'a>>,
) -> Result<(), PatternError> {
    pieces.clear();
    check_common(t)?;
    let bytes = t.as_bytes();
    let mut static_start = 0;
    let mut i = 0;
    let mut params = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'}' => return Err(PatternError::UnbalancedBrace { at: i }),
            b'{' => {
                let close = t
                    .get(i + 1..)
                    .and_then(|rest| rest.find(['{', '}']))
                    .map(|off| i + 1 + off)
                    .filter(|c| bytes.get(*c) == Some(&b'}'))
                    .ok_or(PatternError::UnbalancedBrace { at: i })?;
                if bytes.get(i.wrapping_sub(1)) != Some(&b'/')
                    || !matches!(bytes.get(close + 1), None | Some(b'/'))
                {
                    return Err(PatternError::PartialSegment { at: i });
                }
                let inner = t.get(i + 1..close).unwrap_or_default();
                let (catch_all, name) = match inner.strip_prefix('*') {
                    Some(n) => (true, n),
                    None => (false, inner),
                };
                if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    return Err(PatternError::InvalidParamName {
                        name: inner.to_owned(),
                    });
                }
                if let Some(prev) = pieces.last()
                    && let Piece::CatchAll(prev) = prev
                {
                    return Err(PatternError::CatchAllNotLast {
                        name: (*prev).to_owned(),
                    });
                }
                let dup = pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Param(n) | Piece::CatchAll(n) if *n == name));
                if dup {
                    return Err(PatternError::DuplicateParam {
                        name: name.to_owned(),
                    });
                }
                params += 1;
                if params > MAX_TEMPLATE_PARAMS {
                    return Err(PatternError::TooManyParams {
                        count: params,
                        limit: MAX_TEMPLATE_PARAMS,
                    });
                }
                if let Some(s) = t.get(static_start..i) {
                    pieces.push(Piece::Static(s));
                }
                pieces.push(if catch_all {
                    Piece::CatchAll(name)
                } else {
                    Piece::Param(name)
                });
                i = close + 1;
                static_start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if static_start < t.len() {
        if let Some(Piece::CatchAll(name)) = pieces.last() {
            return Err(PatternError::CatchAllNotLast {
                name: (*name).to_owned(),
            });
        }
        if let Some(s) = t.get(static_start..) {
            pieces.push(Piece::Static(s));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Vec<Piece<'_>>, PatternError> {
        let mut v = Vec::new();
        parse_template(t, &mut v).map(|()| v)
    }

    #[test]
    fn parses_pieces() {
        use Piece::*;
        assert_eq!(parse("/a/b"), Ok(vec![Static("/a/b")]));
        assert_eq!(
            parse("/users/{id}/orders"),
            Ok(vec![Static("/users/"), Param("id"), Static("/orders")])
        );
        assert_eq!(
            parse("/{a}/{b}"),
            Ok(vec![Static("/"), Param("a"), Static("/"), Param("b")])
        );
        assert_eq!(
            parse("/static/{*rest}"),
            Ok(vec![Static("/static/"), CatchAll("rest")])
        );
        assert_eq!(
            parse("/{id}/"),
            Ok(vec![Static("/"), Param("id"), Static("/")])
        );
    }

    #[test]
    fn rejects() {
        let cases: &[(&str, PatternError)] = &[
            ("a", PatternError::NoLeadingSlash),
            ("/a?b", PatternError::QueryOrFragment { found: '?' }),
            ("/a#b", PatternError::QueryOrFragment { found: '#' }),
            ("/{a", PatternError::UnbalancedBrace { at: 1 }),
            ("/a}", PatternError::UnbalancedBrace { at: 2 }),
            ("/{a{b}}", PatternError::UnbalancedBrace { at: 1 }),
            ("/x{a}", PatternError::PartialSegment { at: 2 }),
            ("/{a}.png", PatternError::PartialSegment { at: 1 }),
            (
                "/{}",
                PatternError::InvalidParamName {
                    name: String::new(),
                },
            ),
            ("/{*}", PatternError::InvalidParamName { name: "*".into() }),
            (
                "/{a-b}",
                PatternError::InvalidParamName { name: "a-b".into() },
            ),
            (
                "/{a}/{a}",
                PatternError::DuplicateParam { name: "a".into() },
            ),
            (
                "/{*a}/b",
                PatternError::CatchAllNotLast { name: "a".into() },
            ),
            (
                "/{*a}/{b}",
                PatternError::CatchAllNotLast { name: "a".into() },
            ),
        ];
        for (t, e) in cases {
            assert_eq!(parse(t).as_ref(), Err(e), "{t}");
        }
        let many: String = (0..=MAX_TEMPLATE_PARAMS)
            .map(|i| format!("/{{p{i}}}"))
            .collect();
        assert!(matches!(
            parse(&many),
            Err(PatternError::TooManyParams { .. })
        ));
    }
}
