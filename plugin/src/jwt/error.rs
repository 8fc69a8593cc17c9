//! Why a token was refused, and why a provider's configuration was.

use std::fmt;

/// Longest piece of token-controlled text (alg, kid, iss, aud) echoed in an error message, in
/// characters: enough to recognise the value, too short to turn deny replies into an amplifier.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Most token audiences echoed in [`JwtError::WrongAudience`].
pub const MAX_ECHOED_AUDIENCES: usize = 4;

/// Why [`super::CompiledJwtProvider::verify`] refused a token.
///
/// Every variant maps to a stable dotted reason ([`JwtError::reason`]) used in deny replies and
/// metrics; the `Display` text is the human explanation (token-controlled strings in it are
/// clipped to [`MAX_ECHOED_CHARS`] and shown escaped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// `auth.jwt.too_large`: the token is longer than the provider's `max_token_bytes`; nothing
    /// was decoded.
    #[error("JWT is {len} bytes, above the limit of {max} bytes")]
    TooLarge {
        /// Length of the presented token.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// `auth.jwt.malformed`: not a compact JWS of three base64url segments carrying a JSON
    /// object header and claims, or a header/claim of the wrong type.
    #[error("malformed JWT: {detail}")]
    Malformed {
        /// What exactly is wrong.
        detail: String,
    },
    /// `auth.jwt.alg_not_allowed`: the header's `alg` is not HS256, RS256 or ES256 (`none`
    /// included).
    #[error("JWT alg {alg:?} is not allowed (accepted: HS256, RS256, ES256)")]
    AlgNotAllowed {
        /// The header's `alg` (clipped).
        alg: String,
    },
    /// `auth.jwt.alg_not_allowed`: the key named by `kid` cannot verify this `alg` (another key
    /// type, or the JWK declares a different `alg`); guards against algorithm confusion.
    #[error("JWT alg {alg} cannot be used with key {kid:?}: {detail}")]
    AlgKeyMismatch {
        /// The header's `alg`.
        alg: &'static str,
        /// The key id (clipped).
        kid: String,
        /// Why the key does not fit.
        detail: String,
    },
    /// `auth.jwt.unknown_key`: no key in the JWKS can be used for this token (unknown `kid`,
    /// or no key of the `alg`'s type).
    #[error("no {alg} key{} in the JWKS", kid_phrase(.kid.as_deref()))]
    UnknownKey {
        /// The header's `alg`.
        alg: &'static str,
        /// The header's `kid` (clipped), if any.
        kid: Option<String>,
    },
    /// `auth.jwt.bad_signature`: the signature does not verify under any candidate key.
    #[error("JWT {alg} signature does not verify ({tried} key(s) tried)")]
    BadSignature {
        /// The header's `alg`.
        alg: &'static str,
        /// How many keys were tried.
        tried: usize,
    },
    /// `auth.jwt.expired`: `now >= exp + clock_skew`.
    #[error("JWT expired at {exp} (now {now}, clock skew {skew} s)")]
    Expired {
        /// The `exp` claim.
        exp: u64,
        /// The verification time.
        now: u64,
        /// The configured clock skew.
        skew: u64,
    },
    /// `auth.jwt.not_yet_valid`: `nbf` or `iat` lies beyond `now + clock_skew`.
    #[error("JWT not valid before {claim} {at} (now {now}, clock skew {skew} s)")]
    NotYetValid {
        /// `nbf` or `iat`.
        claim: &'static str,
        /// The claim's value.
        at: u64,
        /// The verification time.
        now: u64,
        /// The configured clock skew.
        skew: u64,
    },
    /// `auth.jwt.wrong_issuer`: `iss` is absent or differs from the provider's issuer.
    #[error("JWT issuer {} is not the configured issuer", show_opt(.found.as_deref()))]
    WrongIssuer {
        /// The token's `iss` (clipped), if any.
        found: Option<String>,
    },
    /// `auth.jwt.wrong_audience`: audiences are configured and the token's `aud` is absent or
    /// names none of them.
    #[error("JWT audience {found:?} contains none of the configured audiences")]
    WrongAudience {
        /// The token's audiences (at most [`MAX_ECHOED_AUDIENCES`], each clipped).
        found: Vec<String>,
    },
    /// `auth.jwt.missing_expiration`: `require_expiration` is set and the token has no `exp`.
    #[error("JWT has no exp claim and the provider requires one")]
    MissingExpiration,
    /// `auth.jwt.no_consumer`: the consumer claim is absent, not a string, empty, too long or
    /// contains control characters (it becomes a request header value).
    #[error("JWT claim {claim:?} cannot name the consumer: {detail}")]
    NoConsumer {
        /// The configured consumer claim.
        claim: String,
        /// Why not.
        detail: &'static str,
    },
}

impl JwtError {
    /// The stable dotted reason for deny replies (`x-trieguard-reason`) and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::TooLarge { .. } => "auth.jwt.too_large",
            JwtError::Malformed { .. } => "auth.jwt.malformed",
            JwtError::AlgNotAllowed { .. } | JwtError::AlgKeyMismatch { .. } => {
                "auth.jwt.alg_not_allowed"
            }
            JwtError::UnknownKey { .. } => "auth.jwt.unknown_key",
            JwtError::BadSignature { .. } => "auth.jwt.bad_signature",
            JwtError::Expired { .. } => "auth.jwt.expired",
            JwtError::NotYetValid { .. } => "auth.jwt.not_yet_valid",
            JwtError::WrongIssuer { .. } => "auth.jwt.wrong_issuer",
            JwtError::WrongAudience { .. } => "auth.jwt.wrong_audience",
            JwtError::MissingExpiration => "auth.jwt.missing_expiration",
            JwtError::NoConsumer { .. } => "auth.jwt.no_consumer",
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        JwtError::Malformed {
            detail: detail.into(),
        }
    }
}

/// Clips token-controlled text to [`MAX_ECHOED_CHARS`] characters (marking the cut with `…`).
pub(crate) fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

fn kid_phrase(kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!(" with kid {kid:?} (nor any key without a kid)"),
        None => String::new(),
    }
}

fn show_opt(value: Option<&str>) -> String {
    match value {
        Some(value) => format!("{value:?}"),
        None => "(absent)".to_owned(),
    }
}

/// One problem in a provider's configuration, with the JSON path relative to the provider
/// object (`jwks.keys[2].n`, `from[0].header`), ready to be prefixed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfigIssue {
    /// JSON path inside the provider object.
    pub path: String,
    /// What is wrong, and what is expected.
    pub message: String,
}

impl JwtConfigIssue {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for JwtConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for JwtConfigIssue {}
