//! The JSON configuration of one JWT provider (what operators write), before compilation.
//!
//! Field names follow Envoy's `jwt_authn` provider and Higress `jwt-auth` where they overlap
//! (`issuer`, `audiences`, `from`, clock skew); the JWKS is the RFC 7517 JSON object, inline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default allowed clock difference between the issuer and us, in seconds (Envoy's default).
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;

/// Default cap on a token's length in bytes, checked before any decoding. Real access tokens
/// are well under 4 KiB; 8 KiB leaves room for rich claims without letting a client make us
/// decode and hash arbitrarily large input.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Default claim naming the consumer.
pub const DEFAULT_CONSUMER_CLAIM: &str = "sub";

/// One JWT provider: who issues the tokens, which keys sign them, where they are found.
///
/// Example:
///
/// ```json
/// {
///   "issuer": "https://auth.example.com/",
///   "audiences": ["orders-api"],
///   "jwks": {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": "…", "e": "AQAB"}]},
///   "clock_skew_seconds": 60,
///   "require_expiration": true,
///   "consumer_claim": "sub",
///   "from": [{"header": "authorization", "prefix": "Bearer "}, {"cookie": "session"}]
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtProviderConfig {
    /// The exact `iss` every token must carry (compared byte for byte).
    pub issuer: String,
    /// Accepted audiences: the token's `aud` (a string or an array of strings) must contain at
    /// least one of them. Empty (the default) means the audience is not checked at all, only its
    /// type (string or array of strings) when present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// The verification keys, inline (RFC 7517 JWK Set).
    pub jwks: Jwks,
    /// Allowed clock difference in seconds, applied to `exp`, `nbf` and `iat`.
    #[serde(default = "default_clock_skew_seconds")]
    pub clock_skew_seconds: u64,
    /// Refuse tokens without an `exp` claim (`auth.jwt.missing_expiration`). Default true.
    #[serde(default = "default_true")]
    pub require_expiration: bool,
    /// The claim whose string value names the authenticated consumer. Default `sub`.
    #[serde(default = "default_consumer_claim")]
    pub consumer_claim: String,
    /// Where the token is looked for, in this order; the first source present wins. Default:
    /// the `authorization` header with prefix `Bearer `.
    #[serde(default = "default_from")]
    pub from: Vec<TokenSourceConfig>,
    /// Longest token accepted, in bytes (default [`DEFAULT_MAX_TOKEN_BYTES`], at most
    /// [`crate::jwt::MAX_TOKEN_BYTES_LIMIT`]). Longer tokens are refused as
    /// `auth.jwt.too_large` before they are decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_token_bytes: Option<usize>,
}

/// A JSON Web Key Set (RFC 7517 §5): `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Jwks {
    /// The keys. Each must be usable (no key is silently skipped).
    pub keys: Vec<Jwk>,
}

/// One public JSON Web Key (RFC 7517 §4, RFC 7518 §6).
///
/// Supported: `kty` `RSA` (`n`, `e`; RS256, modulus 2048–8192 bits), `EC` with `crv` `P-256`
/// (`x`, `y`; ES256) and `oct` (`k`, at least 32 bytes; HS256). Members are base64url without
/// padding. Private members (`d`, `p`, `q`, …) are rejected as unknown fields. `x5c`, `x5t` and
/// `x5t#S256` are accepted so an identity provider's JWKS can be pasted unchanged, but they are
/// not used (no certificate is checked).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `oct`.
    pub kty: String,
    /// Key id, matched against the token header's `kid`. Unique within the set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key may be used with (`RS256`, `ES256` or `HS256`); when set, a
    /// token's header `alg` must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; when present it must be `sig`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Key operations; when present they must include `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve: `P-256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate (32 bytes for P-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (32 bytes for P-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Symmetric key (HMAC secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// X.509 certificate chain (accepted, not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// X.509 SHA-1 thumbprint (accepted, not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// X.509 SHA-256 thumbprint (accepted, not used).
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

/// One place a token may be found. Exactly one of `header`, `query`, `cookie` is set:
/// `{"header": "authorization", "prefix": "Bearer "}`, `{"query": "access_token"}`,
/// `{"cookie": "session"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSourceConfig {
    /// Request header name (case-insensitive). Every occurrence is tried in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// With `header` only: the value must start with this prefix (ASCII case-insensitive, so
    /// `bearer ` matches `Bearer `); the token is the rest, without surrounding spaces. Absent:
    /// the whole value is the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Query parameter name; name and value are percent-decoded (`+` stays `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Cookie name, read from the `cookie` header(s); a double-quoted value is unquoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
}

fn default_clock_skew_seconds() -> u64 {
    DEFAULT_CLOCK_SKEW_SECONDS
}

fn default_true() -> bool {
    true
}

fn default_consumer_claim() -> String {
    DEFAULT_CONSUMER_CLAIM.to_owned()
}

fn default_from() -> Vec<TokenSourceConfig> {
    vec![TokenSourceConfig {
        header: Some("authorization".to_owned()),
        prefix: Some("Bearer ".to_owned()),
        ..TokenSourceConfig::default()
    }]
}
