//! Errors from building a [`RouteTrie`](crate::RouteTrie).

use crate::route::RouteId;

/// Why a host pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The pattern is empty (use `*` for "any host").
    #[error("host pattern is empty (use `*` for any host)")]
    Empty,
    /// The pattern is longer than [`MAX_HOST_LEN`](crate::limits::MAX_HOST_LEN).
    #[error("host pattern is {len} bytes long, the limit is {limit}")]
    TooLong {
        /// Length of the pattern.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A `*` appears anywhere but at the start (`*.example.com`, `*-x.example.com`), at the
    /// end (`api.*`) or alone (`*`).
    #[error(
        "`*` is only allowed at the start (`*.example.com`, `*-x.example.com`), at the end \
         (`api.*`) or alone (`*`)"
    )]
    MisplacedWildcard,
    /// The pattern has an empty label (`a..b`, a leading dot, or `*.` with nothing after it).
    #[error("host pattern has an empty label")]
    EmptyLabel,
    /// The pattern contains a port or a character that can never occur in a host.
    #[error("host pattern contains {found:?}; ports are ignored when matching, leave them out")]
    InvalidChar {
        /// The offending character.
        found: char,
    },
}

/// Why a path pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// Every path pattern starts with `/`.
    #[error("path pattern must start with `/`")]
    NoLeadingSlash,
    /// The pattern is longer than [`MAX_PATTERN_LEN`](crate::limits::MAX_PATTERN_LEN).
    #[error("path pattern is {len} bytes long, the limit is {limit}")]
    TooLong {
        /// Length of the pattern.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// `?` or `#` can never match: the query string and fragment are stripped before matching.
    #[error(
        "path pattern contains {found:?}, but the query string and fragment never take part in matching"
    )]
    QueryOrFragment {
        /// The offending character.
        found: char,
    },
    /// A `path_separated_prefix` must not end with `/` (as in Envoy).
    #[error("path_separated_prefix must not end with `/`")]
    SeparatedPrefixTrailingSlash,
    /// A `{` without a matching `}`, a stray `}`, or a brace inside a parameter name.
    #[error("unbalanced `{{` or `}}` at byte {at}")]
    UnbalancedBrace {
        /// Byte offset in the pattern.
        at: usize,
    },
    /// A parameter does not span a whole segment (`/a{id}`, `/{id}.png`).
    #[error("parameter at byte {at} must span a whole segment (`/{{name}}/`)")]
    PartialSegment {
        /// Byte offset in the pattern.
        at: usize,
    },
    /// A parameter name is empty or has characters other than ASCII letters, digits and `_`.
    #[error("invalid parameter name {name:?} (use ASCII letters, digits and `_`)")]
    InvalidParamName {
        /// The name as written.
        name: String,
    },
    /// The same parameter name is used twice in one template.
    #[error("parameter name {name:?} is used twice")]
    DuplicateParam {
        /// The repeated name.
        name: String,
    },
    /// A catch-all `{*name}` is not the last segment.
    #[error("catch-all `{{*{name}}}` must be the last segment")]
    CatchAllNotLast {
        /// The catch-all's name.
        name: String,
    },
    /// A template cannot ignore case: Envoy ignores `case_sensitive` for URI templates, and
    /// trieguard follows it by refusing the combination instead of guessing.
    #[error("only exact, prefix and path_separated_prefix matches can ignore case, not templates")]
    CaseInsensitiveTemplate,
    /// More parameters than [`MAX_TEMPLATE_PARAMS`](crate::limits::MAX_TEMPLATE_PARAMS).
    #[error("template has {count} parameters, the limit is {limit}")]
    TooManyParams {
        /// Parameters in the template.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// One problem with one route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Two routes match exactly the same requests; the later one is rejected.
    #[error(
        "route {new} ({host} {path}) conflicts with route {existing}: both match exactly the same requests"
    )]
    Conflict {
        /// The route declared first.
        existing: RouteId,
        /// The route declared later, which was rejected.
        new: RouteId,
        /// The (normalised) host pattern both share.
        host: String,
        /// The later route's path match, as written.
        path: String,
    },
    /// The host pattern is invalid.
    #[error("route {route}: invalid host pattern {host:?}: {reason}")]
    InvalidHost {
        /// The route.
        route: RouteId,
        /// The pattern as written.
        host: String,
        /// Why it is invalid.
        reason: HostError,
    },
    /// The path pattern is invalid.
    #[error("route {route}: invalid path {path}: {reason}")]
    InvalidPath {
        /// The route.
        route: RouteId,
        /// The path match as written.
        path: String,
        /// Why it is invalid.
        reason: PatternError,
    },
    /// More routes, or more pattern bytes, than the `u32` indices of the layout can address.
    #[error("route table too large: {what} exceeds {limit}")]
    CapacityExceeded {
        /// What overflowed.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Every problem found while building a route trie (a bad config is rejected as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid route(s); first: {}", .errors.len(), FirstError(.errors))]
pub struct BuildError {
    errors: Vec<RouteError>,
}

impl BuildError {
    pub(crate) fn new(errors: Vec<RouteError>) -> Self {
        Self { errors }
    }

    /// All problems, in declaration order of the routes they concern.
    pub fn errors(&self) -> &[RouteError] {
        &self.errors
    }

    /// Takes the problems out.
    pub fn into_errors(self) -> Vec<RouteError> {
        self.errors
    }
}

struct FirstError<'a>(&'a [RouteError]);

impl core::fmt::Display for FirstError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.first() {
            Some(e) => e.fmt(f),
            None => f.write_str("none"),
        }
    }
}
