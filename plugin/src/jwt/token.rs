//! The compact JWS form (RFC 7515 §7.1) and the JSON it carries.
//!
//! ```text
//!   BASE64URL(header) '.' BASE64URL(claims) '.' BASE64URL(signature)
//!   └──────── signing input (ASCII) ────────┘
//! ```
//!
//! Parsing only slices and decodes; interpreting claims is left to the provider. Both JSON
//! objects are read strictly: a member that appears twice is an error (RFC 7515 §4 and RFC 7519
//! §4 allow rejecting them, and accepting "last one wins" lets two parsers disagree on a claim).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;

use super::error::{JwtError, clip};

/// A token cut into its three decoded segments.
pub(crate) struct Compact<'a> {
    /// `header '.' payload` as sent: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    /// Decoded JOSE header.
    pub(crate) header: Vec<u8>,
    /// Decoded claims.
    pub(crate) payload: Vec<u8>,
    /// Decoded signature.
    pub(crate) signature: Vec<u8>,
}

/// Splits and base64url-decodes a compact JWS. Exactly three segments; a JWE (five segments)
/// or JSON serialisation is malformed here.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, JwtError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        let count = token.split('.').count();
        return Err(JwtError::malformed(format!(
            "{count} dot-separated segment(s), a JWS has 3"
        )));
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or_else(|| JwtError::malformed("signing input out of range"))?;
    Ok(Compact {
        signing_input: signing_input.as_bytes(),
        header: decode_segment("header", header)?,
        payload: decode_segment("payload", payload)?,
        signature: decode_segment("signature", signature)?,
    })
}

/// RFC 7515 §2 base64url: URL-safe alphabet, no padding, no whitespace, canonical final bits.
fn decode_segment(name: &str, segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|error| JwtError::malformed(format!("{name} is not base64url: {error}")))
}

/// A JSON object whose members are unique.
pub(crate) struct StrictObject(pub(crate) BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictObject, A::Error> {
                let mut members = BTreeMap::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if members.contains_key(&name) {
                        return Err(de::Error::custom(format_args!(
                            "duplicate member {:?}",
                            clip(&name)
                        )));
                    }
                    members.insert(name, value);
                }
                Ok(StrictObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Parses a decoded segment as one strict JSON object (nothing before or after it).
pub(crate) fn parse_object(name: &str, bytes: &[u8]) -> Result<StrictObject, JwtError> {
    serde_json::from_slice(bytes)
        .map_err(|error| JwtError::malformed(format!("{name} is not a JSON object: {error}")))
}

/// The JOSE header members trieguard acts on.
pub(crate) struct JoseHeader {
    /// `alg`, as sent.
    pub(crate) alg: String,
    /// `kid`, when present.
    pub(crate) kid: Option<String>,
}

/// Reads `alg` (required string), `kid` (optional string) and refuses `crit`: trieguard
/// understands no header extension, so RFC 7515 §4.1.11 requires rejecting any listed one.
/// Key-carrying members (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys come only from config.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<JoseHeader, JwtError> {
    let StrictObject(mut members) = parse_object("header", bytes)?;
    if members.contains_key("crit") {
        return Err(JwtError::malformed(
            "header lists critical extensions (crit), none are supported",
        ));
    }
    let alg = match members.remove("alg") {
        Some(Value::String(alg)) => alg,
        Some(_) => return Err(JwtError::malformed("header alg is not a string")),
        None => return Err(JwtError::malformed("header has no alg")),
    };
    let kid = match members.remove("kid") {
        Some(Value::String(kid)) => Some(kid),
        Some(_) => return Err(JwtError::malformed("header kid is not a string")),
        None => None,
    };
    Ok(JoseHeader { alg, kid })
}

/// How to round a fractional NumericDate: towards the stricter side of each check.
#[derive(Clone, Copy)]
pub(crate) enum Round {
    /// For `exp`: a token expiring at 10.5 counts as expiring at 10.
    Down,
    /// For `nbf` / `iat`: a token valid from 10.5 counts as valid from 11.
    Up,
}

/// RFC 7519 §2 NumericDate: a non-negative JSON number of seconds since the epoch.
pub(crate) fn numeric_date(
    claims: &BTreeMap<String, Value>,
    name: &str,
    round: Round,
) -> Result<Option<u64>, JwtError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    if let Some(seconds) = value.as_u64() {
        return Ok(Some(seconds));
    }
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            let rounded = match round {
                Round::Down => seconds.floor(),
                Round::Up => seconds.ceil(),
            };
            // `as` saturates at u64::MAX for values beyond it, which only makes a far-future
            // `exp` "never expires" and a far-future `nbf` "never valid": both still correct.
            Ok(Some(rounded as u64))
        }
        _ => Err(JwtError::malformed(format!(
            "claim {name} is not a non-negative NumericDate"
        ))),
    }
}

/// An optional string claim; present but not a string is malformed.
pub(crate) fn string_claim<'a>(
    claims: &'a BTreeMap<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(JwtError::malformed(format!(
            "claim {:?} is not a string",
            clip(name)
        ))),
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3). Absent is an empty list.
pub(crate) fn audiences(claims: &BTreeMap<String, Value>) -> Result<Vec<&str>, JwtError> {
    match claims.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(aud)) => Ok(vec![aud.as_str()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| JwtError::malformed("claim aud has a non-string element"))
            })
            .collect(),
        Some(_) => Err(JwtError::malformed(
            "claim aud is neither a string nor an array of strings",
        )),
    }
}
