//! Mints JWTs for tests with the TEST-ONLY keys in `plugin/testdata/jwt` (kids `hs256-test`,
//! `rsa-test`, `p256-test`; `jwks.json` holds their public parts).

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};

/// A signing algorithm with its test key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// HS256 with `hs256.key` (kid `hs256-test`).
    Hs256,
    /// RS256 with `rsa-2048.pk8.der` (kid `rsa-test`).
    Rs256,
    /// ES256 with `p256.pk8.der` (kid `p256-test`).
    Es256,
}

/// `plugin/testdata/jwt`.
pub fn fixtures_dir() -> PathBuf {
    crate::paths::workspace_root()
        .join("plugin")
        .join("testdata")
        .join("jwt")
}

/// The public JWKS matching the test keys.
pub fn jwks() -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("jwks.json"))?;
    Ok(serde_json::from_str(&text)?)
}

/// A compact JWS over `claims`, signed with `key`.
pub fn mint(key: TestKey, claims: &serde_json::Value) -> anyhow::Result<String> {
    let (alg, kid) = match key {
        TestKey::Hs256 => ("HS256", "hs256-test"),
        TestKey::Rs256 => ("RS256", "rsa-test"),
        TestKey::Es256 => ("ES256", "p256-test"),
    };
    let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let dir = fixtures_dir();
    let rng = ring::rand::SystemRandom::new();
    let signature = match key {
        TestKey::Hs256 => {
            let secret = std::fs::read(dir.join("hs256.key"))?;
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            ring::hmac::sign(&key, signing_input.as_bytes())
                .as_ref()
                .to_vec()
        }
        TestKey::Rs256 => {
            let der = std::fs::read(dir.join("rsa-2048.pk8.der"))?;
            let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut signature = vec![0; pair.public().modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            signature
        }
        TestKey::Es256 => {
            let der = std::fs::read(dir.join("p256.pk8.der"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            pair.sign(&rng, signing_input.as_bytes())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("ES256 signing")?
                .as_ref()
                .to_vec()
        }
    };
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
