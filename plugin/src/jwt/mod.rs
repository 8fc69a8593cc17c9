//! JWT authentication: one provider's configuration, compiled once, then per request
//! [`CompiledJwtProvider::extract_token`] and [`CompiledJwtProvider::verify`].
//!
//! ```text
//!   JwtProviderConfig ──compile──▶ CompiledJwtProvider (keys decoded and checked; every
//!                                  problem reported as a JwtConfigIssue with its JSON path)
//!   request headers / query ──extract_token──▶ token (first `from` source that has one)
//!   token, now ──verify──▶ VerifiedJwt { consumer, … }  or  JwtError (stable dotted reason)
//! ```
//!
//! Verification, in order (the first failure is reported):
//! 1. length ≤ `max_token_bytes` (`auth.jwt.too_large`), before any decoding;
//! 2. three base64url segments (RFC 7515 §2, no padding), a JSON object header with a string
//!    `alg`, no `crit` (`auth.jwt.malformed`);
//! 3. `alg` is exactly HS256, RS256 or ES256 — never `none` (`auth.jwt.alg_not_allowed`);
//! 4. key selection: with a `kid`, the key with that `kid` (whose type and declared `alg` must
//!    fit, else `auth.jwt.alg_not_allowed`) or, when no key has that `kid`, the keys without a
//!    `kid`; without a `kid`, every key of the `alg`'s type. At most [`MAX_KEYS_TRIED`] keys
//!    are tried. None → `auth.jwt.unknown_key`; none verifies → `auth.jwt.bad_signature`;
//! 5. only then are the claims parsed (a JSON object with unique members): `iss` equals the
//!    issuer (`auth.jwt.wrong_issuer`); `aud` names a configured audience when any is
//!    configured (`auth.jwt.wrong_audience`); `exp` present when required
//!    (`auth.jwt.missing_expiration`); `now < exp + skew` (`auth.jwt.expired`);
//!    `nbf ≤ now + skew` and `iat ≤ now + skew` (`auth.jwt.not_yet_valid`); the consumer claim
//!    is a usable string (`auth.jwt.no_consumer`).
//!
//! Key-carrying header members (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys come only from the
//! configuration. Signatures use `ring`; HMAC comparison is constant-time.

mod config;
mod error;
mod jwks;
mod source;
mod token;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub use config::{
    DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_CONSUMER_CLAIM, DEFAULT_MAX_TOKEN_BYTES, Jwk, Jwks,
    JwtProviderConfig, TokenSourceConfig,
};
pub use error::{JwtConfigIssue, JwtError, MAX_ECHOED_AUDIENCES, MAX_ECHOED_CHARS};
pub use jwks::{MAX_JWKS_KEYS, MAX_RSA_MODULUS_BITS, MIN_HMAC_KEY_BYTES, MIN_RSA_MODULUS_BITS};

use error::clip;
use jwks::{Alg, CompiledKey};
use source::TokenSource;
use token::Round;

/// Largest `max_token_bytes` a provider may configure: Envoy's default request-header budget
/// is 60 KiB, so a token beyond 64 KiB could never arrive in a header anyway.
pub const MAX_TOKEN_BYTES_LIMIT: usize = 64 * 1024;

/// Largest `clock_skew_seconds` a provider may configure: beyond an hour the clocks are not
/// skewed but broken, and expiry would be meaningless.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 3600;

/// Most keys whose signature check one token may cost (kid-less tokens try every key of the
/// matching type): bounds the CPU an attacker can spend per request, RSA checks being the
/// expensive part. Keys of one type beyond this count are never tried for kid-less tokens, so
/// give keys a `kid` when a JWKS holds more.
pub const MAX_KEYS_TRIED: usize = 4;

/// Longest consumer name taken from a token, in bytes (it becomes a request header value).
pub const MAX_CONSUMER_BYTES: usize = 256;
// The refusal message spells the number out.
const _: () = assert!(MAX_CONSUMER_BYTES == 256);

/// What a verified token established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedJwt {
    /// The authenticated consumer: the value of the provider's `consumer_claim`.
    pub consumer: String,
    /// The `sub` claim, when it is a string.
    pub subject: Option<String>,
    /// The `iss` claim (equal to the provider's issuer).
    pub issuer: String,
    /// The `exp` claim, when present.
    pub expires_at: Option<u64>,
    /// The header's `kid`, when present.
    pub kid: Option<String>,
}

/// A JWT provider ready to verify tokens; immutable and shared by all requests.
#[derive(Debug, Clone)]
pub struct CompiledJwtProvider {
    issuer: String,
    audiences: Vec<String>,
    keys: Vec<CompiledKey>,
    clock_skew_seconds: u64,
    require_expiration: bool,
    consumer_claim: String,
    sources: Vec<TokenSource>,
    max_token_bytes: usize,
}

impl CompiledJwtProvider {
    /// Checks and compiles a provider. On failure returns every problem found, each with a
    /// JSON path relative to the provider object (e.g. `jwks.keys[2].n`).
    pub fn compile(config: &JwtProviderConfig) -> Result<Self, Vec<JwtConfigIssue>> {
        let mut issues = Vec::new();
        if config.issuer.is_empty() {
            issues.push(JwtConfigIssue::new("issuer", "must not be empty"));
        }
        for (i, audience) in config.audiences.iter().enumerate() {
            if audience.is_empty() {
                issues.push(JwtConfigIssue::new(
                    format!("audiences[{i}]"),
                    "must not be empty",
                ));
            }
        }
        if config.clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            issues.push(JwtConfigIssue::new(
                "clock_skew_seconds",
                format!(
                    "{} s is more than the maximum {MAX_CLOCK_SKEW_SECONDS} s",
                    config.clock_skew_seconds
                ),
            ));
        }
        if config.consumer_claim.is_empty() {
            issues.push(JwtConfigIssue::new("consumer_claim", "must not be empty"));
        }
        let max_token_bytes = config.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        if max_token_bytes == 0 || max_token_bytes > MAX_TOKEN_BYTES_LIMIT {
            issues.push(JwtConfigIssue::new(
                "max_token_bytes",
                format!("{max_token_bytes} is not between 1 and {MAX_TOKEN_BYTES_LIMIT}"),
            ));
        }
        if config.from.is_empty() {
            issues.push(JwtConfigIssue::new(
                "from",
                "at least one token source is required",
            ));
        }
        let sources: Vec<TokenSource> = config
            .from
            .iter()
            .enumerate()
            .filter_map(|(i, source)| {
                TokenSource::compile(&format!("from[{i}]"), source, &mut issues)
            })
            .collect();
        let keys = jwks::compile_jwks(&config.jwks, &mut issues);
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(Self {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            keys,
            clock_skew_seconds: config.clock_skew_seconds,
            require_expiration: config.require_expiration,
            consumer_claim: config.consumer_claim.clone(),
            sources,
            max_token_bytes,
        })
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The longest token [`Self::verify`] accepts, in bytes.
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// Finds the token in a request, trying the `from` sources in order: header sources match
    /// header names case-insensitively and strip the prefix (ASCII case-insensitive); query
    /// sources read `query` (the part after `?`; a leading `?` is tolerated) and percent-decode;
    /// cookie sources read every `cookie` header. `None` when no source yields a non-empty token.
    pub fn extract_token<'a>(
        &self,
        headers: &'a [(String, String)],
        query: Option<&'a str>,
    ) -> Option<Cow<'a, str>> {
        self.sources
            .iter()
            .find_map(|source| source.find(headers, query))
    }

    /// Verifies a compact JWS token at time `now_unix_seconds` (see the module docs for the
    /// exact order of checks).
    pub fn verify(&self, token: &str, now_unix_seconds: u64) -> Result<VerifiedJwt, JwtError> {
        if token.len() > self.max_token_bytes {
            return Err(JwtError::TooLarge {
                len: token.len(),
                max: self.max_token_bytes,
            });
        }
        let compact = token::split(token)?;
        let header = token::parse_header(&compact.header)?;
        let alg = Alg::parse(&header.alg).ok_or_else(|| JwtError::AlgNotAllowed {
            alg: clip(&header.alg),
        })?;
        self.check_signature(
            alg,
            header.kid.as_deref(),
            compact.signing_input,
            &compact.signature,
        )?;
        let token::StrictObject(claims) = token::parse_object("payload", &compact.payload)?;
        self.check_claims(&claims, now_unix_seconds, header.kid)
    }

    fn check_signature(
        &self,
        alg: Alg,
        kid: Option<&str>,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), JwtError> {
        if let Some(kid) = kid
            && let Some(key) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
        {
            if key.material.alg() != alg {
                return Err(JwtError::AlgKeyMismatch {
                    alg: alg.as_str(),
                    kid: clip(kid),
                    detail: format!("it is a kty {:?} key", key.material.kty()),
                });
            }
            if let Some(declared) = key.declared_alg
                && declared != alg
            {
                return Err(JwtError::AlgKeyMismatch {
                    alg: alg.as_str(),
                    kid: clip(kid),
                    detail: format!("the key is declared for {}", declared.as_str()),
                });
            }
            return if key.material.verify(message, sig) {
                Ok(())
            } else {
                Err(JwtError::BadSignature {
                    alg: alg.as_str(),
                    tried: 1,
                })
            };
        }
        let mut tried = 0;
        for key in self
            .keys
            .iter()
            .filter(|k| k.material.alg() == alg && (kid.is_none() || k.kid.is_none()))
            .take(MAX_KEYS_TRIED)
        {
            tried += 1;
            if key.material.verify(message, sig) {
                return Ok(());
            }
        }
        if tried == 0 {
            return Err(JwtError::UnknownKey {
                alg: alg.as_str(),
                kid: kid.map(clip),
            });
        }
        Err(JwtError::BadSignature {
            alg: alg.as_str(),
            tried,
        })
    }

    fn check_claims(
        &self,
        claims: &std::collections::BTreeMap<String, serde_json::Value>,
        now: u64,
        kid: Option<String>,
    ) -> Result<VerifiedJwt, JwtError> {
        let skew = self.clock_skew_seconds;
        let issuer = token::string_claim(claims, "iss")?;
        if issuer != Some(self.issuer.as_str()) {
            return Err(JwtError::WrongIssuer {
                found: issuer.map(clip),
            });
        }
        let audiences = token::audiences(claims)?;
        if !self.audiences.is_empty()
            && !audiences
                .iter()
                .any(|aud| self.audiences.iter().any(|want| want == aud))
        {
            return Err(JwtError::WrongAudience {
                found: audiences
                    .iter()
                    .take(MAX_ECHOED_AUDIENCES)
                    .map(|aud| clip(aud))
                    .collect(),
            });
        }
        let expires_at = token::numeric_date(claims, "exp", Round::Down)?;
        match expires_at {
            None if self.require_expiration => return Err(JwtError::MissingExpiration),
            Some(exp) if now >= exp.saturating_add(skew) => {
                return Err(JwtError::Expired { exp, now, skew });
            }
            _ => {}
        }
        for claim in ["nbf", "iat"] {
            if let Some(at) = token::numeric_date(claims, claim, Round::Up)?
                && at > now.saturating_add(skew)
            {
                return Err(JwtError::NotYetValid {
                    claim,
                    at,
                    now,
                    skew,
                });
            }
        }
        let consumer = self.consumer(claims)?;
        let subject = match claims.get("sub") {
            Some(serde_json::Value::String(sub)) => Some(sub.clone()),
            _ => None,
        };
        Ok(VerifiedJwt {
            consumer,
            subject,
            issuer: self.issuer.clone(),
            expires_at,
            kid,
        })
    }

    fn consumer(
        &self,
        claims: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<String, JwtError> {
        let refuse = |detail| JwtError::NoConsumer {
            claim: self.consumer_claim.clone(),
            detail,
        };
        let consumer = match claims.get(&self.consumer_claim) {
            None => return Err(refuse("the claim is absent")),
            Some(serde_json::Value::String(consumer)) => consumer,
            Some(_) => return Err(refuse("the claim is not a string")),
        };
        if consumer.is_empty() {
            return Err(refuse("the claim is empty"));
        }
        if consumer.len() > MAX_CONSUMER_BYTES {
            return Err(refuse("the claim is longer than 256 bytes"));
        }
        if consumer.chars().any(char::is_control) {
            return Err(refuse("the claim contains control characters"));
        }
        Ok(consumer.clone())
    }
}
