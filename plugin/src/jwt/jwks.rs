//! Compiling an inline JWKS into verification keys, and checking one signature with `ring`.
//!
//! Every key is decoded and checked once, when the configuration is compiled: a key that
//! cannot be used is a configuration error (reported with its JSON path), never a key that is
//! silently skipped at request time. Each key is bound to exactly one algorithm, derived from
//! its type (RFC 7518 §3.1): `RSA` → RS256, `EC`/`P-256` → ES256, `oct` → HS256.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::{hmac, signature};

use super::config::{Jwk, Jwks};
use super::error::JwtConfigIssue;

/// Most keys in one provider's JWKS: identity providers publish a handful (current + next +
/// previous); thousands would only slow kid-less tokens and config pushes.
pub const MAX_JWKS_KEYS: usize = 64;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; ring's verification floor).
pub const MIN_RSA_MODULUS_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits (ring's `RSA_PKCS1_2048_8192_SHA256` ceiling).
pub const MAX_RSA_MODULUS_BITS: usize = 8192;

/// Largest RSA public exponent ring accepts (2^33 - 1).
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

/// Shortest HS256 secret, in bytes: RFC 7518 §3.2 requires a key at least as long as the hash.
pub const MIN_HMAC_KEY_BYTES: usize = 32;

/// Length of one P-256 coordinate in bytes.
const P256_COORDINATE_BYTES: usize = 32;

/// A JWS algorithm trieguard accepts. Anything else, `none` included, is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// HMAC with SHA-256 (RFC 7518 §3.2).
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// ECDSA P-256 with SHA-256, fixed-width `r || s` signature (RFC 7518 §3.4).
    Es256,
}

impl Alg {
    /// Parses a JOSE `alg` value, case-sensitively as RFC 7515 §4.1.1 requires.
    pub(crate) fn parse(alg: &str) -> Option<Self> {
        match alg {
            "HS256" => Some(Alg::Hs256),
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    /// The JOSE name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// Decoded public (or, for `oct`, shared secret) key material.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    /// HS256 secret, held as a ring HMAC key.
    Hmac(hmac::Key),
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed P-256 point `0x04 || x || y`.
    Ec { point: Vec<u8> },
}

impl KeyMaterial {
    /// The single algorithm this key type verifies.
    pub(crate) fn alg(&self) -> Alg {
        match self {
            KeyMaterial::Hmac(_) => Alg::Hs256,
            KeyMaterial::Rsa { .. } => Alg::Rs256,
            KeyMaterial::Ec { .. } => Alg::Es256,
        }
    }

    /// The JWK `kty` of this key (for messages).
    pub(crate) fn kty(&self) -> &'static str {
        match self {
            KeyMaterial::Hmac(_) => "oct",
            KeyMaterial::Rsa { .. } => "RSA",
            KeyMaterial::Ec { .. } => "EC",
        }
    }

    /// Checks `signature` over `message`. HMAC comparison is constant-time (`hmac::verify`).
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            KeyMaterial::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
            KeyMaterial::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            KeyMaterial::Ec { point } => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
        }
    }
}

impl fmt::Debug for KeyMaterial {
    // Never prints key bytes: HMAC secrets must not reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Hmac(_) => f.write_str("Hmac(<secret>)"),
            KeyMaterial::Rsa { n, .. } => write!(f, "Rsa({} bits)", bit_length(n)),
            KeyMaterial::Ec { .. } => f.write_str("Ec(P-256)"),
        }
    }
}

/// A usable verification key.
#[derive(Debug, Clone)]
pub(crate) struct CompiledKey {
    /// The JWK `kid`, if any.
    pub(crate) kid: Option<String>,
    /// The JWK `alg`, if declared (always equal to `material.alg()` after compilation).
    pub(crate) declared_alg: Option<Alg>,
    /// The key itself.
    pub(crate) material: KeyMaterial,
}

/// Compiles every key of `jwks`, reporting each problem under `jwks.…`. Returns only the keys
/// that compiled; the caller rejects the provider when `issues` grew.
pub(crate) fn compile_jwks(jwks: &Jwks, issues: &mut Vec<JwtConfigIssue>) -> Vec<CompiledKey> {
    if jwks.keys.is_empty() {
        issues.push(JwtConfigIssue::new(
            "jwks.keys",
            "at least one key is required",
        ));
    }
    if jwks.keys.len() > MAX_JWKS_KEYS {
        issues.push(JwtConfigIssue::new(
            "jwks.keys",
            format!(
                "{} keys, at most {MAX_JWKS_KEYS} are supported",
                jwks.keys.len()
            ),
        ));
    }
    let mut first_with_kid: HashMap<&str, usize> = HashMap::new();
    let mut keys = Vec::with_capacity(jwks.keys.len());
    for (i, jwk) in jwks.keys.iter().enumerate() {
        let at = format!("jwks.keys[{i}]");
        if let Some(kid) = jwk.kid.as_deref() {
            if let Some(first) = first_with_kid.get(kid) {
                issues.push(JwtConfigIssue::new(
                    format!("{at}.kid"),
                    format!("duplicate kid {kid:?} (first used by jwks.keys[{first}])"),
                ));
            } else {
                first_with_kid.insert(kid, i);
            }
        }
        if let Some(key) = compile_key(&at, jwk, issues) {
            keys.push(key);
        }
    }
    keys
}

fn compile_key(at: &str, jwk: &Jwk, issues: &mut Vec<JwtConfigIssue>) -> Option<CompiledKey> {
    let before = issues.len();
    if jwk.kid.as_deref().is_some_and(str::is_empty) {
        issues.push(JwtConfigIssue::new(
            format!("{at}.kid"),
            "must not be empty (omit it instead)",
        ));
    }
    let declared_alg = match jwk.alg.as_deref() {
        None => None,
        Some(alg) => {
            let parsed = Alg::parse(alg);
            if parsed.is_none() {
                issues.push(JwtConfigIssue::new(
                    format!("{at}.alg"),
                    format!("unsupported alg {alg:?} (supported: HS256, RS256, ES256)"),
                ));
            }
            parsed
        }
    };
    if let Some(key_use) = jwk.key_use.as_deref()
        && key_use != "sig"
    {
        issues.push(JwtConfigIssue::new(
            format!("{at}.use"),
            format!("is {key_use:?}; a verification key must have use \"sig\""),
        ));
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        issues.push(JwtConfigIssue::new(
            format!("{at}.key_ops"),
            "must include \"verify\"",
        ));
    }

    let members = Members { at, jwk };
    let material = match jwk.kty.as_str() {
        "RSA" => {
            members.forbid("RSA", &["crv", "x", "y", "k"], issues);
            compile_rsa(&members, issues)
        }
        "EC" => {
            members.forbid("EC", &["n", "e", "k"], issues);
            compile_ec(&members, issues)
        }
        "oct" => {
            members.forbid("oct", &["n", "e", "crv", "x", "y"], issues);
            compile_oct(&members, issues)
        }
        other => {
            issues.push(JwtConfigIssue::new(
                format!("{at}.kty"),
                format!("unsupported key type {other:?} (supported: RSA, EC, oct)"),
            ));
            None
        }
    };
    let material = material?;
    if let Some(declared) = declared_alg
        && declared != material.alg()
    {
        issues.push(JwtConfigIssue::new(
            format!("{at}.alg"),
            format!(
                "{} cannot be used with a kty {:?} key (it needs {})",
                declared.as_str(),
                material.kty(),
                material.alg().as_str()
            ),
        ));
    }
    if issues.len() > before {
        return None;
    }
    Some(CompiledKey {
        kid: jwk.kid.clone(),
        declared_alg,
        material,
    })
}

/// The members of one JWK, with its JSON path, for uniform error reporting.
struct Members<'a> {
    at: &'a str,
    jwk: &'a Jwk,
}

impl Members<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "n" => self.jwk.n.as_deref(),
            "e" => self.jwk.e.as_deref(),
            "crv" => self.jwk.crv.as_deref(),
            "x" => self.jwk.x.as_deref(),
            "y" => self.jwk.y.as_deref(),
            "k" => self.jwk.k.as_deref(),
            _ => None,
        }
    }

    fn forbid(&self, kty: &str, names: &[&str], issues: &mut Vec<JwtConfigIssue>) {
        for name in names {
            if self.get(name).is_some() {
                issues.push(JwtConfigIssue::new(
                    format!("{}.{name}", self.at),
                    format!("is not a member of a kty {kty:?} key"),
                ));
            }
        }
    }

    /// Decodes a required base64url member (RFC 7515 §2: URL-safe alphabet, no padding, no
    /// whitespace, canonical trailing bits).
    fn bytes(&self, kty: &str, name: &str, issues: &mut Vec<JwtConfigIssue>) -> Option<Vec<u8>> {
        let Some(text) = self.get(name) else {
            issues.push(JwtConfigIssue::new(
                format!("{}.{name}", self.at),
                format!("is required for a kty {kty:?} key"),
            ));
            return None;
        };
        match URL_SAFE_NO_PAD.decode(text) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                issues.push(JwtConfigIssue::new(
                    format!("{}.{name}", self.at),
                    format!("is not base64url without padding: {error}"),
                ));
                None
            }
        }
    }
}

fn compile_rsa(members: &Members<'_>, issues: &mut Vec<JwtConfigIssue>) -> Option<KeyMaterial> {
    let n = members.bytes("RSA", "n", issues);
    let e = members.bytes("RSA", "e", issues);
    let (n, e) = (n?, e?);
    // Some producers prepend a zero byte (a DER habit); ring wants none.
    let n = strip_leading_zeros(&n).to_vec();
    let e = strip_leading_zeros(&e).to_vec();
    let mut ok = true;
    let bits = bit_length(&n);
    if bits < MIN_RSA_MODULUS_BITS {
        issues.push(JwtConfigIssue::new(
            format!("{}.n", members.at),
            format!("RSA modulus is {bits} bits; at least {MIN_RSA_MODULUS_BITS} are required"),
        ));
        ok = false;
    } else if bits > MAX_RSA_MODULUS_BITS {
        issues.push(JwtConfigIssue::new(
            format!("{}.n", members.at),
            format!("RSA modulus is {bits} bits; at most {MAX_RSA_MODULUS_BITS} are supported"),
        ));
        ok = false;
    } else if n.last().is_some_and(|low| low & 1 == 0) {
        issues.push(JwtConfigIssue::new(
            format!("{}.n", members.at),
            "RSA modulus is even, so not an RSA modulus",
        ));
        ok = false;
    }
    let exponent = (e.len() <= 5).then(|| e.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)));
    if !exponent.is_some_and(|v| (3..=MAX_RSA_EXPONENT).contains(&v) && v & 1 == 1) {
        issues.push(JwtConfigIssue::new(
            format!("{}.e", members.at),
            "RSA exponent must be odd and between 3 and 2^33-1 (usually AQAB = 65537)",
        ));
        ok = false;
    }
    ok.then_some(KeyMaterial::Rsa { n, e })
}

fn compile_ec(members: &Members<'_>, issues: &mut Vec<JwtConfigIssue>) -> Option<KeyMaterial> {
    let curve_ok = match members.get("crv") {
        Some("P-256") => true,
        Some(other) => {
            issues.push(JwtConfigIssue::new(
                format!("{}.crv", members.at),
                format!("unsupported curve {other:?} (supported: P-256)"),
            ));
            false
        }
        None => {
            issues.push(JwtConfigIssue::new(
                format!("{}.crv", members.at),
                "is required for a kty \"EC\" key",
            ));
            false
        }
    };
    let x = members.bytes("EC", "x", issues);
    let y = members.bytes("EC", "y", issues);
    let mut point = Vec::with_capacity(1 + 2 * P256_COORDINATE_BYTES);
    point.push(0x04);
    let mut ok = curve_ok;
    for (name, coordinate) in [("x", x), ("y", y)] {
        match coordinate {
            Some(bytes) if bytes.len() == P256_COORDINATE_BYTES => point.extend_from_slice(&bytes),
            Some(bytes) => {
                issues.push(JwtConfigIssue::new(
                    format!("{}.{name}", members.at),
                    format!(
                        "is {} bytes; a P-256 coordinate is {P256_COORDINATE_BYTES}",
                        bytes.len()
                    ),
                ));
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(KeyMaterial::Ec { point })
}

fn compile_oct(members: &Members<'_>, issues: &mut Vec<JwtConfigIssue>) -> Option<KeyMaterial> {
    let k = members.bytes("oct", "k", issues)?;
    if k.len() < MIN_HMAC_KEY_BYTES {
        issues.push(JwtConfigIssue::new(
            format!("{}.k", members.at),
            format!(
                "HS256 key is {} bytes; at least {MIN_HMAC_KEY_BYTES} are required (RFC 7518 §3.2)",
                k.len()
            ),
        ));
        return None;
    }
    Some(KeyMaterial::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &k)))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}
