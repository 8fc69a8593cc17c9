//! Unit tests: tokens are minted here with ring from the committed TEST-ONLY keys in
//! `plugin/testdata/jwt/` (regenerate them with its `generate.sh`).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

use super::*;

const JWKS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/jwt/jwks.json"
));
const RSA_PKCS8: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/jwt/rsa-2048.pk8.der"
));
const P256_PKCS8: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/jwt/p256.pk8.der"
));
const HS256_SECRET: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/jwt/hs256.key"
));

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://issuer.test/";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwks() -> Value {
    serde_json::from_str(JWKS).unwrap()
}

fn config_json() -> Value {
    json!({"issuer": ISS, "audiences": ["orders"], "jwks": jwks()})
}

fn config() -> JwtProviderConfig {
    serde_json::from_value(config_json()).unwrap()
}

fn provider() -> CompiledJwtProvider {
    CompiledJwtProvider::compile(&config()).unwrap()
}

fn provider_with(edit: impl FnOnce(&mut JwtProviderConfig)) -> CompiledJwtProvider {
    let mut config = config();
    edit(&mut config);
    CompiledJwtProvider::compile(&config).unwrap()
}

/// Signs `input` the way `alg` says, with the committed test keys.
fn sign(alg: &str, input: &[u8]) -> Vec<u8> {
    let rng = SystemRandom::new();
    match alg {
        "HS256" => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS256_SECRET);
            ring::hmac::sign(&key, input).as_ref().to_vec()
        }
        "RS256" => {
            let key = RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap();
            let mut sig = vec![0; key.public().modulus_len()];
            key.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                .unwrap();
            sig
        }
        "ES256" => {
            let key = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                P256_PKCS8,
                &rng,
            )
            .unwrap();
            key.sign(&rng, input).unwrap().as_ref().to_vec()
        }
        _ => Vec::new(),
    }
}

/// A token with exactly this header and these claims, signed by `signer` (an alg name).
fn mint_raw(header: &Value, claims: &Value, signer: &str) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(signer, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn kid_of(alg: &str) -> &'static str {
    match alg {
        "HS256" => "hs256-test",
        "RS256" => "rsa-test",
        _ => "p256-test",
    }
}

fn mint(alg: &str, claims: &Value) -> String {
    mint_raw(
        &json!({"alg": alg, "typ": "JWT", "kid": kid_of(alg)}),
        claims,
        alg,
    )
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "alice", "aud": "orders", "exp": NOW + 300, "iat": NOW - 10})
}

fn claims_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = claims();
    if let Value::Object(map) = &mut claims {
        edit(map);
    }
    claims
}

fn reason(result: Result<VerifiedJwt, JwtError>) -> &'static str {
    result.unwrap_err().reason()
}

const ALGS: [&str; 3] = ["HS256", "RS256", "ES256"];

// ---------------------------------------------------------------- valid tokens

#[test]
fn valid_tokens_of_each_alg_verify() {
    let provider = provider();
    for alg in ALGS {
        let verified = provider.verify(&mint(alg, &claims()), NOW).unwrap();
        assert_eq!(
            verified,
            VerifiedJwt {
                consumer: "alice".to_owned(),
                subject: Some("alice".to_owned()),
                issuer: ISS.to_owned(),
                expires_at: Some(NOW + 300),
                kid: Some(kid_of(alg).to_owned()),
            },
            "{alg}"
        );
    }
}

#[test]
fn valid_tokens_without_kid_find_the_key_by_type() {
    let provider = provider();
    for alg in ALGS {
        let token = mint_raw(&json!({"alg": alg}), &claims(), alg);
        let verified = provider.verify(&token, NOW).unwrap();
        assert_eq!(verified.kid, None, "{alg}");
        assert_eq!(verified.consumer, "alice");
    }
}

#[test]
fn unknown_kid_falls_back_to_keys_without_kid() {
    let provider = provider_with(|c| {
        for key in &mut c.jwks.keys {
            key.kid = None;
        }
    });
    let token = mint_raw(
        &json!({"alg": "ES256", "kid": "rotated"}),
        &claims(),
        "ES256",
    );
    assert_eq!(
        provider.verify(&token, NOW).unwrap().kid.as_deref(),
        Some("rotated")
    );
}

#[test]
fn fractional_numeric_dates_are_accepted() {
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.insert("exp".into(), json!(NOW as f64 + 10.5));
            c.insert("nbf".into(), json!(NOW as f64 - 0.5));
        }),
    );
    assert_eq!(
        provider().verify(&token, NOW).unwrap().expires_at,
        Some(NOW + 10)
    );
}

// ---------------------------------------------------------------- time

#[test]
fn expired_tokens_are_refused() {
    let token = mint(
        "RS256",
        &claims_with(|c| {
            c.insert("exp".into(), json!(NOW - 3600));
        }),
    );
    let error = provider().verify(&token, NOW).unwrap_err();
    assert_eq!(
        error,
        JwtError::Expired {
            exp: NOW - 3600,
            now: NOW,
            skew: 60
        }
    );
    assert_eq!(error.reason(), "auth.jwt.expired");
    assert_eq!(
        error.to_string(),
        format!("JWT expired at {} (now {NOW}, clock skew 60 s)", NOW - 3600)
    );
}

#[test]
fn expiry_skew_edge() {
    let provider = provider();
    let at = |exp: u64| {
        mint(
            "HS256",
            &claims_with(|c| {
                c.insert("exp".into(), json!(exp));
            }),
        )
    };
    // Valid while now < exp + skew.
    assert!(provider.verify(&at(NOW - 59), NOW).is_ok());
    assert_eq!(
        reason(provider.verify(&at(NOW - 60), NOW)),
        "auth.jwt.expired"
    );
    // Without skew, a token expiring now is already expired (RFC 7519 §4.1.4).
    let strict = provider_with(|c| c.clock_skew_seconds = 0);
    assert!(strict.verify(&at(NOW + 1), NOW).is_ok());
    assert_eq!(reason(strict.verify(&at(NOW), NOW)), "auth.jwt.expired");
}

#[test]
fn not_yet_valid_tokens_are_refused_with_skew() {
    let provider = provider();
    let nbf = |nbf: u64| {
        mint(
            "ES256",
            &claims_with(|c| {
                c.insert("nbf".into(), json!(nbf));
            }),
        )
    };
    assert!(provider.verify(&nbf(NOW + 60), NOW).is_ok());
    let error = provider.verify(&nbf(NOW + 61), NOW).unwrap_err();
    assert_eq!(
        error,
        JwtError::NotYetValid {
            claim: "nbf",
            at: NOW + 61,
            now: NOW,
            skew: 60
        }
    );
    assert_eq!(error.reason(), "auth.jwt.not_yet_valid");
}

#[test]
fn tokens_issued_in_the_future_are_refused() {
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.insert("iat".into(), json!(NOW + 120));
        }),
    );
    let error = provider().verify(&token, NOW).unwrap_err();
    assert!(
        matches!(error, JwtError::NotYetValid { claim: "iat", .. }),
        "{error:?}"
    );
}

#[test]
fn missing_expiration_is_refused_when_required() {
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.remove("exp");
        }),
    );
    assert_eq!(
        reason(provider().verify(&token, NOW)),
        "auth.jwt.missing_expiration"
    );
    let lenient = provider_with(|c| c.require_expiration = false);
    assert_eq!(lenient.verify(&token, NOW).unwrap().expires_at, None);
}

#[test]
fn non_numeric_dates_are_malformed() {
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("exp", json!(-1)),
        ("nbf", json!(null)),
        ("iat", json!([1])),
    ] {
        let token = mint(
            "HS256",
            &claims_with(|c| {
                c.insert(claim.into(), value.clone());
            }),
        );
        assert_eq!(
            reason(provider().verify(&token, NOW)),
            "auth.jwt.malformed",
            "{claim} = {value}"
        );
    }
}

// ---------------------------------------------------------------- issuer, audience, consumer

#[test]
fn wrong_or_missing_issuer_is_refused() {
    let provider = provider();
    let token = mint(
        "RS256",
        &claims_with(|c| {
            c.insert("iss".into(), json!("https://evil.test/"));
        }),
    );
    let error = provider.verify(&token, NOW).unwrap_err();
    assert_eq!(error.reason(), "auth.jwt.wrong_issuer");
    assert_eq!(
        error.to_string(),
        "JWT issuer \"https://evil.test/\" is not the configured issuer"
    );
    let token = mint(
        "RS256",
        &claims_with(|c| {
            c.remove("iss");
        }),
    );
    assert_eq!(
        provider.verify(&token, NOW).unwrap_err(),
        JwtError::WrongIssuer { found: None }
    );
}

#[test]
fn audience_string_and_array() {
    let provider = provider();
    let with_aud = |aud: Value| {
        mint(
            "ES256",
            &claims_with(|c| {
                c.insert("aud".into(), aud);
            }),
        )
    };
    assert_eq!(
        reason(provider.verify(&with_aud(json!("billing")), NOW)),
        "auth.jwt.wrong_audience"
    );
    assert_eq!(
        provider
            .verify(&with_aud(json!(["billing", "crm"])), NOW)
            .unwrap_err(),
        JwtError::WrongAudience {
            found: vec!["billing".to_owned(), "crm".to_owned()]
        }
    );
    assert!(
        provider
            .verify(&with_aud(json!(["billing", "orders"])), NOW)
            .is_ok()
    );
    assert_eq!(
        reason(provider.verify(&with_aud(json!([])), NOW)),
        "auth.jwt.wrong_audience"
    );
    assert_eq!(
        reason(provider.verify(&with_aud(json!(["orders", 7])), NOW)),
        "auth.jwt.malformed"
    );
    let no_aud = mint(
        "ES256",
        &claims_with(|c| {
            c.remove("aud");
        }),
    );
    assert_eq!(
        reason(provider.verify(&no_aud, NOW)),
        "auth.jwt.wrong_audience"
    );
}

#[test]
fn empty_audiences_means_audience_not_checked() {
    let provider = provider_with(|c| c.audiences.clear());
    for aud in [json!("anything"), json!(["a", "b"])] {
        let token = mint(
            "HS256",
            &claims_with(|c| {
                c.insert("aud".into(), aud);
            }),
        );
        assert!(provider.verify(&token, NOW).is_ok());
    }
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.remove("aud");
        }),
    );
    assert!(provider.verify(&token, NOW).is_ok());
}

#[test]
fn consumer_claim_is_required_and_configurable() {
    let provider = provider();
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.remove("sub");
        }),
    );
    let error = provider.verify(&token, NOW).unwrap_err();
    assert_eq!(error.reason(), "auth.jwt.no_consumer");
    assert_eq!(
        error.to_string(),
        "JWT claim \"sub\" cannot name the consumer: the claim is absent"
    );
    for bad in [
        json!(42),
        json!(""),
        json!("a\r\nx-admin: 1"),
        json!("x".repeat(257)),
    ] {
        let token = mint(
            "HS256",
            &claims_with(|c| {
                c.insert("sub".into(), bad.clone());
            }),
        );
        assert_eq!(
            reason(provider.verify(&token, NOW)),
            "auth.jwt.no_consumer",
            "{bad}"
        );
    }

    let by_email = provider_with(|c| c.consumer_claim = "email".to_owned());
    let token = mint(
        "RS256",
        &claims_with(|c| {
            c.insert("email".into(), json!("alice@example.com"));
        }),
    );
    let verified = by_email.verify(&token, NOW).unwrap();
    assert_eq!(verified.consumer, "alice@example.com");
    assert_eq!(verified.subject.as_deref(), Some("alice"));
}

// ---------------------------------------------------------------- signatures and algorithms

#[test]
fn tampered_payload_fails_the_signature() {
    let provider = provider();
    for alg in ALGS {
        let token = mint(alg, &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(claims_with(|c| {
            c.insert("sub".into(), json!("admin"));
        })
        .to_string()
        .as_bytes());
        parts[1] = &forged;
        let error = provider.verify(&parts.join("."), NOW).unwrap_err();
        assert_eq!(error.reason(), "auth.jwt.bad_signature", "{alg}");
        assert_eq!(error, JwtError::BadSignature { alg, tried: 1 });
    }
}

#[test]
fn signature_of_another_key_fails() {
    // An ES256 signature (64 bytes) presented as RS256 and HS256.
    let provider = provider();
    for alg in ["RS256", "HS256"] {
        let token = mint_raw(&json!({"alg": alg}), &claims(), "ES256");
        assert_eq!(
            reason(provider.verify(&token, NOW)),
            "auth.jwt.bad_signature",
            "{alg}"
        );
    }
}

#[test]
fn alg_none_and_other_algs_are_refused() {
    let provider = provider();
    for alg in [
        "none", "None", "NONE", "HS512", "RS384", "PS256", "ES384", "EdDSA", "hs256", "",
    ] {
        let header = json!({"alg": alg});
        let token = format!(
            "{}.{}.",
            b64(header.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let error = provider.verify(&token, NOW).unwrap_err();
        assert_eq!(
            error,
            JwtError::AlgNotAllowed {
                alg: alg.to_owned()
            }
        );
        assert_eq!(error.reason(), "auth.jwt.alg_not_allowed");
    }
}

#[test]
fn hs256_with_an_rsa_key_is_algorithm_confusion() {
    let provider = provider();
    // The classic attack: HMAC keyed with the public RSA modulus, naming the RSA key.
    let jwks = jwks();
    let n = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    let header = json!({"alg": "HS256", "kid": "rsa-test"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &n);
    let token = format!(
        "{input}.{}",
        b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
    );
    let error = provider.verify(&token, NOW).unwrap_err();
    assert_eq!(error.reason(), "auth.jwt.alg_not_allowed");
    assert_eq!(
        error.to_string(),
        "JWT alg HS256 cannot be used with key \"rsa-test\": it is a kty \"RSA\" key"
    );
    // Same without a kid: only the oct key is tried, and it does not verify.
    let token = token.replacen(
        &b64(header.to_string().as_bytes()),
        &b64(json!({"alg": "HS256"}).to_string().as_bytes()),
        1,
    );
    assert_eq!(
        reason(provider.verify(&token, NOW)),
        "auth.jwt.bad_signature"
    );
    // ES256 naming the RSA key.
    let token = mint_raw(
        &json!({"alg": "ES256", "kid": "rsa-test"}),
        &claims(),
        "ES256",
    );
    assert_eq!(
        reason(provider.verify(&token, NOW)),
        "auth.jwt.alg_not_allowed"
    );
}

#[test]
fn unknown_kid_or_no_key_of_the_type() {
    let provider = provider();
    let token = mint_raw(&json!({"alg": "RS256", "kid": "nope"}), &claims(), "RS256");
    let error = provider.verify(&token, NOW).unwrap_err();
    assert_eq!(
        error,
        JwtError::UnknownKey {
            alg: "RS256",
            kid: Some("nope".to_owned())
        }
    );
    assert_eq!(error.reason(), "auth.jwt.unknown_key");
    assert_eq!(
        error.to_string(),
        "no RS256 key with kid \"nope\" (nor any key without a kid) in the JWKS"
    );

    let only_hmac = provider_with(|c| c.jwks.keys.retain(|k| k.kty == "oct"));
    let token = mint_raw(&json!({"alg": "ES256"}), &claims(), "ES256");
    assert_eq!(
        only_hmac.verify(&token, NOW).unwrap_err().to_string(),
        "no ES256 key in the JWKS"
    );
}

#[test]
fn kid_less_tokens_try_a_bounded_number_of_keys() {
    // Six HS256 keys; the signing one is last, beyond MAX_KEYS_TRIED.
    let provider = provider_with(|c| {
        c.jwks.keys.retain(|k| k.kty == "oct");
        let signing = c.jwks.keys.remove(0);
        for i in 0..5u8 {
            let mut decoy = signing.clone();
            decoy.kid = Some(format!("decoy-{i}"));
            decoy.k = Some(b64(&[i; 32]));
            c.jwks.keys.push(decoy);
        }
        c.jwks.keys.push(signing);
    });
    let token = mint_raw(&json!({"alg": "HS256"}), &claims(), "HS256");
    assert_eq!(
        provider.verify(&token, NOW).unwrap_err(),
        JwtError::BadSignature {
            alg: "HS256",
            tried: MAX_KEYS_TRIED
        }
    );
    // With its kid it is found directly.
    let token = mint("HS256", &claims());
    assert!(provider.verify(&token, NOW).is_ok());
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_tokens() {
    let provider = provider();
    let good = mint("HS256", &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let header_b64 = parts[0];
    let claims_b64 = parts[1];
    let sig_b64 = parts[2];
    let enc = |v: &Value| b64(v.to_string().as_bytes());
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "1 dot-separated segment(s), a JWS has 3"),
        (
            format!("{header_b64}.{claims_b64}"),
            "2 dot-separated segment(s), a JWS has 3",
        ),
        (
            format!("{good}.x"),
            "4 dot-separated segment(s), a JWS has 3",
        ),
        (
            format!("{good}.x.y"),
            "5 dot-separated segment(s), a JWS has 3",
        ),
        (
            format!("{header_b64}=.{claims_b64}.{sig_b64}"),
            "header is not base64url",
        ),
        (
            format!("{header_b64}.{claims_b64}.{sig_b64}="),
            "signature is not base64url",
        ),
        (
            format!("{header_b64}.{claims_b64}+.{sig_b64}"),
            "payload is not base64url",
        ),
        (
            format!("{header_b64}.{claims_b64} .{sig_b64}"),
            "payload is not base64url",
        ),
        (
            format!("{header_b64}.{claims_b64}.{}", sig_b64.replace('-', "+")),
            "signature",
        ),
        (
            format!("{}.{claims_b64}.{sig_b64}", b64(b"{not json")),
            "header is not a JSON object",
        ),
        (
            format!("{}.{claims_b64}.{sig_b64}", enc(&json!(["HS256"]))),
            "header is not a JSON object",
        ),
        (
            format!("{}.{claims_b64}.{sig_b64}", b64(b"{\"alg\":\"HS256\"} x")),
            "header is not a JSON object",
        ),
        (
            format!("{}.{claims_b64}.{sig_b64}", enc(&json!({"typ": "JWT"}))),
            "header has no alg",
        ),
        (
            format!("{}.{claims_b64}.{sig_b64}", enc(&json!({"alg": 256}))),
            "header alg is not a string",
        ),
        (
            format!(
                "{}.{claims_b64}.{sig_b64}",
                enc(&json!({"alg": "HS256", "kid": 1}))
            ),
            "header kid is not a string",
        ),
        (
            format!(
                "{}.{claims_b64}.{sig_b64}",
                enc(&json!({"alg": "HS256", "crit": ["exp"], "exp": 1}))
            ),
            "critical extensions",
        ),
        (
            format!(
                "{}.{claims_b64}.{sig_b64}",
                b64(br#"{"alg":"HS256","alg":"none"}"#)
            ),
            "duplicate member \"alg\"",
        ),
    ];
    for (token, expected) in cases {
        let error = provider.verify(&token, NOW).unwrap_err();
        assert_eq!(error.reason(), "auth.jwt.malformed", "{token}: {error}");
        assert!(
            error.to_string().contains(expected),
            "{token}: {error} should contain {expected:?}"
        );
    }
}

#[test]
fn malformed_claims_after_a_valid_signature() {
    let provider = provider();
    let header = json!({"alg": "HS256"});
    for (payload, expected) in [
        (
            &br#"{"iss":"https://issuer.test/","iss":"x"}"#[..],
            "duplicate member \"iss\"",
        ),
        (&b"[1,2]"[..], "payload is not a JSON object"),
        (&b"not json"[..], "payload is not a JSON object"),
    ] {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
        let token = format!("{input}.{}", b64(&sign("HS256", input.as_bytes())));
        let error = provider.verify(&token, NOW).unwrap_err();
        assert_eq!(error.reason(), "auth.jwt.malformed");
        assert!(error.to_string().contains(expected), "{error}");
    }
    let token = mint(
        "HS256",
        &claims_with(|c| {
            c.insert("iss".into(), json!(["x"]));
        }),
    );
    assert_eq!(reason(provider.verify(&token, NOW)), "auth.jwt.malformed");
}

#[test]
fn oversize_tokens_are_refused_before_decoding() {
    let small = provider_with(|c| c.max_token_bytes = Some(100));
    let token = mint("HS256", &claims());
    assert!(token.len() > 100);
    assert_eq!(
        small.verify(&token, NOW).unwrap_err(),
        JwtError::TooLarge {
            len: token.len(),
            max: 100
        }
    );
    // The default limit applies to garbage too, and wins over "malformed".
    let huge = "!".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
    assert_eq!(reason(provider().verify(&huge, NOW)), "auth.jwt.too_large");
    let exactly = "!".repeat(DEFAULT_MAX_TOKEN_BYTES);
    assert_eq!(
        reason(provider().verify(&exactly, NOW)),
        "auth.jwt.malformed"
    );
}

#[test]
fn untrusted_text_in_errors_is_clipped() {
    let alg = "A".repeat(1000);
    let token = format!(
        "{}.{}.",
        b64(json!({"alg": alg}).to_string().as_bytes()),
        b64(b"{}")
    );
    let error = provider().verify(&token, NOW).unwrap_err();
    assert!(error.to_string().len() < 150, "{error}");
    assert!(error.to_string().contains('…'));
}

#[test]
fn every_reason_is_stable() {
    let cases = [
        (JwtError::TooLarge { len: 2, max: 1 }, "auth.jwt.too_large"),
        (JwtError::malformed("x"), "auth.jwt.malformed"),
        (
            JwtError::AlgNotAllowed { alg: "none".into() },
            "auth.jwt.alg_not_allowed",
        ),
        (
            JwtError::AlgKeyMismatch {
                alg: "HS256",
                kid: "k".into(),
                detail: "d".into(),
            },
            "auth.jwt.alg_not_allowed",
        ),
        (
            JwtError::UnknownKey {
                alg: "RS256",
                kid: None,
            },
            "auth.jwt.unknown_key",
        ),
        (
            JwtError::BadSignature {
                alg: "RS256",
                tried: 1,
            },
            "auth.jwt.bad_signature",
        ),
        (
            JwtError::Expired {
                exp: 1,
                now: 2,
                skew: 0,
            },
            "auth.jwt.expired",
        ),
        (
            JwtError::NotYetValid {
                claim: "nbf",
                at: 3,
                now: 2,
                skew: 0,
            },
            "auth.jwt.not_yet_valid",
        ),
        (
            JwtError::WrongIssuer { found: None },
            "auth.jwt.wrong_issuer",
        ),
        (
            JwtError::WrongAudience { found: vec![] },
            "auth.jwt.wrong_audience",
        ),
        (JwtError::MissingExpiration, "auth.jwt.missing_expiration"),
        (
            JwtError::NoConsumer {
                claim: "sub".into(),
                detail: "d",
            },
            "auth.jwt.no_consumer",
        ),
    ];
    for (error, reason) in cases {
        assert_eq!(error.reason(), reason, "{error}");
    }
}

// ---------------------------------------------------------------- token sources

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn sources(from: Value) -> CompiledJwtProvider {
    let mut config = config_json();
    config["from"] = from;
    CompiledJwtProvider::compile(&serde_json::from_value(config).unwrap()).unwrap()
}

#[test]
fn default_source_is_the_bearer_authorization_header() {
    let provider = provider();
    let found = |pairs: &[(&str, &str)]| {
        provider
            .extract_token(&headers(pairs), None)
            .map(Cow::into_owned)
    };
    assert_eq!(
        found(&[("authorization", "Bearer abc.def.ghi")]).as_deref(),
        Some("abc.def.ghi")
    );
    assert_eq!(
        found(&[("Authorization", "bearer  abc ")]).as_deref(),
        Some("abc")
    );
    assert_eq!(found(&[("authorization", "Basic dXNlcg==")]), None);
    assert_eq!(found(&[("authorization", "Bearer ")]), None);
    assert_eq!(found(&[("authorization", "Bear")]), None);
    // Every occurrence is tried.
    assert_eq!(
        found(&[("authorization", "Basic x"), ("authorization", "Bearer t2")]).as_deref(),
        Some("t2")
    );
    assert_eq!(found(&[]), None);
    assert_eq!(provider.extract_token(&[], Some("access_token=x")), None);
}

#[test]
fn query_and_cookie_sources_in_order() {
    let provider = sources(json!([
        {"header": "X-Token"},
        {"query": "access_token"},
        {"cookie": "jwt"}
    ]));
    let find = |pairs: &[(&str, &str)], query: Option<&str>| {
        provider
            .extract_token(&headers(pairs), query)
            .map(Cow::into_owned)
    };
    assert_eq!(
        find(&[("x-token", "h.h.h")], Some("access_token=q")).as_deref(),
        Some("h.h.h")
    );
    assert_eq!(
        find(&[], Some("a=1&access_token=q.q.q&b=2")).as_deref(),
        Some("q.q.q")
    );
    assert_eq!(find(&[], Some("?access_token=q")).as_deref(), Some("q"));
    assert_eq!(
        find(&[], Some("access%5Ftoken=a%2Eb%2ec")).as_deref(),
        Some("a.b.c")
    );
    assert_eq!(
        find(&[], Some("access_token=&access_token=second")).as_deref(),
        Some("second")
    );
    assert_eq!(find(&[], Some("access_token=bad%zz&x=1")), None);
    assert_eq!(find(&[], Some("access_token")), None);
    assert_eq!(find(&[], Some("access_tokenx=1")), None);
    assert_eq!(
        find(&[("cookie", "a=1; jwt=c.c.c; b=2")], Some("other=1")).as_deref(),
        Some("c.c.c")
    );
    assert_eq!(
        find(&[("Cookie", "jwt=\"quoted\"")], None).as_deref(),
        Some("quoted")
    );
    assert_eq!(
        find(&[("cookie", "xjwt=1"), ("cookie", "jwt=2")], None).as_deref(),
        Some("2")
    );
    assert_eq!(find(&[("cookie", "jwt=")], None), None);
    assert_eq!(find(&[("x-other", "t")], None), None);
}

#[test]
fn extracted_tokens_verify() {
    let provider = sources(json!([{"query": "access_token"}]));
    let token = mint("ES256", &claims());
    let query = format!("x=1&access_token={token}");
    let found = provider.extract_token(&[], Some(&query)).unwrap();
    assert!(provider.verify(&found, NOW).is_ok());
}

// ---------------------------------------------------------------- configuration

#[test]
fn defaults_apply() {
    let config: JwtProviderConfig =
        serde_json::from_value(json!({"issuer": ISS, "jwks": jwks()})).unwrap();
    assert!(config.audiences.is_empty());
    assert_eq!(config.clock_skew_seconds, DEFAULT_CLOCK_SKEW_SECONDS);
    assert!(config.require_expiration);
    assert_eq!(config.consumer_claim, "sub");
    assert_eq!(
        config.from,
        vec![TokenSourceConfig {
            header: Some("authorization".into()),
            prefix: Some("Bearer ".into()),
            ..TokenSourceConfig::default()
        }]
    );
    let provider = CompiledJwtProvider::compile(&config).unwrap();
    assert_eq!(provider.max_token_bytes(), DEFAULT_MAX_TOKEN_BYTES);
    assert_eq!(provider.issuer(), ISS);
    // Round trip.
    let again: JwtProviderConfig =
        serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn unknown_fields_are_rejected() {
    let mut config = config_json();
    config["issuers"] = json!("x");
    assert!(serde_json::from_value::<JwtProviderConfig>(config).is_err());
    let mut config = config_json();
    config["jwks"]["keys"][0]["d"] = json!("private");
    let error = serde_json::from_value::<JwtProviderConfig>(config).unwrap_err();
    assert!(error.to_string().contains("unknown field `d`"), "{error}");
}

#[test]
fn json_schema_is_generated() {
    let schema = serde_json::to_value(schemars::schema_for!(JwtProviderConfig)).unwrap();
    let properties = &schema["properties"];
    for field in [
        "issuer",
        "audiences",
        "jwks",
        "clock_skew_seconds",
        "from",
        "max_token_bytes",
    ] {
        assert!(properties.get(field).is_some(), "{field} in {schema}");
    }
}

fn issues_of(config: Value) -> Vec<String> {
    let config: JwtProviderConfig = serde_json::from_value(config).unwrap();
    CompiledJwtProvider::compile(&config)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn every_bad_key_is_reported_with_its_path() {
    let good = jwks();
    let rsa = good["keys"][0].clone();
    let mut weak_rsa = rsa.clone();
    weak_rsa["kid"] = json!("weak");
    weak_rsa["n"] = json!(b64(&[0xC3; 128]));
    let mut config = config_json();
    config["jwks"]["keys"] = json!([
        rsa,
        {"kty": "RSA", "kid": "b64", "n": "abc=", "e": "AQAB"},
        {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AA"},
        {"kty": "EC", "kid": "p384", "crv": "P-384", "x": b64(&[1; 48]), "y": b64(&[2; 48])},
        weak_rsa,
        {"kty": "oct", "kid": "short", "k": b64(&[7; 16])},
        {"kty": "oct", "kid": "rsa-test", "k": b64(&[7; 32])},
        {"kty": "oct", "kid": "mixed", "alg": "RS256", "k": b64(&[7; 32]), "n": "AQAB"},
        {"kty": "RSA", "kid": "missing-e", "n": b64(&[0xC3; 256])},
        {"kty": "oct", "kid": "enc", "use": "enc", "k": b64(&[7; 32])},
        {"kty": "oct", "kid": "", "alg": "HS512", "k": b64(&[7; 32])},
        {"kty": "RSA", "kid": "even", "n": b64(&[0xC2; 256]), "e": "AAE"},
        {"kty": "EC", "kid": "short-x", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[2; 32])}
    ]);
    let issues = issues_of(config);
    let expected = [
        "jwks.keys[1].n: is not base64url without padding",
        "jwks.keys[2].kty: unsupported key type \"OKP\" (supported: RSA, EC, oct)",
        "jwks.keys[3].crv: unsupported curve \"P-384\" (supported: P-256)",
        "jwks.keys[3].x: is 48 bytes; a P-256 coordinate is 32",
        "jwks.keys[3].y: is 48 bytes; a P-256 coordinate is 32",
        "jwks.keys[4].n: RSA modulus is 1024 bits; at least 2048 are required",
        "jwks.keys[5].k: HS256 key is 16 bytes; at least 32 are required",
        "jwks.keys[6].kid: duplicate kid \"rsa-test\" (first used by jwks.keys[0])",
        "jwks.keys[7].n: is not a member of a kty \"oct\" key",
        "jwks.keys[7].alg: RS256 cannot be used with a kty \"oct\" key (it needs HS256)",
        "jwks.keys[8].e: is required for a kty \"RSA\" key",
        "jwks.keys[9].use: is \"enc\"; a verification key must have use \"sig\"",
        "jwks.keys[10].kid: must not be empty",
        "jwks.keys[10].alg: unsupported alg \"HS512\"",
        "jwks.keys[11].n: RSA modulus is even",
        "jwks.keys[11].e: RSA exponent must be odd",
        "jwks.keys[12].x: is 31 bytes; a P-256 coordinate is 32",
    ];
    for want in expected {
        assert!(
            issues.iter().any(|issue| issue.starts_with(want)),
            "missing {want:?} in {issues:#?}"
        );
    }
    assert!(
        !issues.iter().any(|i| i.starts_with("jwks.keys[0]")),
        "{issues:#?}"
    );
    assert_eq!(issues.len(), expected.len(), "{issues:#?}");
}

#[test]
fn provider_level_problems_are_all_reported() {
    let config = json!({
        "issuer": "",
        "audiences": ["ok", ""],
        "jwks": {"keys": []},
        "clock_skew_seconds": 86400,
        "consumer_claim": "",
        "from": [
            {"header": "authorization", "query": "t"},
            {"query": "t", "prefix": "Bearer "},
            {"header": "bad header"},
            {},
            {"cookie": ""}
        ],
        "max_token_bytes": 0
    });
    let issues = issues_of(config);
    let expected = [
        "issuer: must not be empty",
        "audiences[1]: must not be empty",
        "clock_skew_seconds: 86400 s is more than the maximum 3600 s",
        "consumer_claim: must not be empty",
        "max_token_bytes: 0 is not between 1 and 65536",
        "from[0]: exactly one of",
        "from[1].prefix: only applies to a \"header\" source",
        "from[2].header: \"bad header\" is not a valid header name",
        "from[3]: exactly one of",
        "from[4].cookie: \"\" is not a valid cookie name",
        "jwks.keys: at least one key is required",
    ];
    for want in expected {
        assert!(
            issues.iter().any(|issue| issue.starts_with(want)),
            "missing {want:?} in {issues:#?}"
        );
    }
    assert_eq!(issues.len(), expected.len(), "{issues:#?}");
    assert_eq!(
        issues_of(json!({"issuer": ISS, "jwks": jwks(), "from": []})),
        vec!["from: at least one token source is required"]
    );
}

#[test]
fn rsa_modulus_with_a_leading_zero_byte_is_accepted() {
    let mut config = config_json();
    let n = URL_SAFE_NO_PAD
        .decode(config["jwks"]["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    let mut padded = vec![0];
    padded.extend_from_slice(&n);
    config["jwks"]["keys"][0]["n"] = json!(b64(&padded));
    let provider = CompiledJwtProvider::compile(&serde_json::from_value(config).unwrap()).unwrap();
    assert!(provider.verify(&mint("RS256", &claims()), NOW).is_ok());
}

#[test]
fn debug_output_never_shows_secrets() {
    let debug = format!("{:?}", provider());
    assert!(debug.contains("Hmac(<secret>)"), "{debug}");
    assert!(debug.contains("Rsa(2048 bits)"), "{debug}");
    let k = jwks()["keys"][2]["k"].as_str().unwrap().to_owned();
    assert!(!debug.contains(&k));
}

/// The committed JWKS holds exactly the public halves of the committed private keys (a stale
/// `generate.sh` run that rewrote only some files fails here).
#[test]
fn fixtures_match_jwks() {
    let jwks = jwks();
    let keys = jwks["keys"].as_array().unwrap();
    let field = |i: usize, name: &str| {
        URL_SAFE_NO_PAD
            .decode(keys[i][name].as_str().unwrap())
            .unwrap()
    };
    assert_eq!(keys[0]["kid"], "rsa-test");
    let rsa = RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap();
    let public: signature::RsaPublicKeyComponents<Vec<u8>> = rsa.public().into();
    assert_eq!(field(0, "n"), public.n);
    assert_eq!(field(0, "e"), public.e);
    assert_eq!(keys[1]["kid"], "p256-test");
    let ec = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        P256_PKCS8,
        &SystemRandom::new(),
    )
    .unwrap();
    let point = ec.public_key().as_ref();
    assert_eq!(point[0], 4);
    assert_eq!(field(1, "x"), point[1..33]);
    assert_eq!(field(1, "y"), point[33..65]);
    assert_eq!(keys[2]["kid"], "hs256-test");
    assert_eq!(field(2, "k"), HS256_SECRET);
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let token = String::from_utf8_lossy(&bytes);
        prop_assert!(PROVIDER.with(|p| p.verify(&token, NOW)).is_err());
    }

    #[test]
    fn random_jws_shaped_strings_never_verify(token in "[A-Za-z0-9_=+/-]{0,80}(\\.[A-Za-z0-9_=+/-]{0,80}){0,4}") {
        prop_assert!(PROVIDER.with(|p| p.verify(&token, NOW)).is_err());
    }

    #[test]
    fn random_json_headers_and_claims_never_verify(
        header in "\\{[\"a-z:0-9,\\[\\]{} ]{0,40}\\}",
        claims in "\\{[\"a-z:0-9,\\[\\]{} .]{0,60}\\}",
        sig in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()), b64(&sig));
        prop_assert!(PROVIDER.with(|p| p.verify(&token, NOW)).is_err());
    }

    #[test]
    fn extraction_never_panics(
        value in "\\PC{0,60}",
        query in proptest::option::of("\\PC{0,60}"),
    ) {
        let headers = vec![
            ("authorization".to_owned(), value.clone()),
            ("cookie".to_owned(), value),
        ];
        let provider = sources(json!([{"header": "authorization", "prefix": "Bearer "}, {"query": "t"}, {"cookie": "jwt"}]));
        let _ = provider.extract_token(&headers, query.as_deref());
    }
}

thread_local! {
    static PROVIDER: CompiledJwtProvider = provider();
}
