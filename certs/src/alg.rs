//! Signature algorithms as data (RFC 5280 §4.1.1.2, GM/T 0015 for SM2).
//!
//! A certificate's AlgorithmIdentifier selects one entry of [`SUPPORTED_ALGORITHMS`]; the entry
//! names the key type it needs and how to verify. Path building never names an algorithm, so
//! adding one is adding a table entry.
//!
//! * SM2 with SM3 (`1.2.156.10197.1.501`, GM/T 0003.2 signatures, keys `id-ecPublicKey` on the SM2
//!   curve `1.2.156.10197.1.301`): our own variable-time verification (`sm2v`: 32-bit-word field
//!   arithmetic and a compile-time generator table), `Z` from the trust store's distinguishing ID
//!   (`1234567812345678` by default, GM/T 0009).
//! * ECDSA P-256 with SHA-256 (RFC 5758 §3.2) and RSA PKCS#1 v1.5 with SHA-256 (RFC 4055 §5,
//!   2048–8192-bit moduli): `ring`.

use crate::der::{self, Reader, bit_string_octets, oid_to_string, tag};
use crate::sm2v::Sm2Key;

/// The kind of public key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Sm2,
    P256,
    Rsa,
}

impl KeyKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyKind::Sm2 => "SM2",
            KeyKind::P256 => "ECDSA P-256",
            KeyKind::Rsa => "RSA",
        }
    }
}

/// How an AlgorithmIdentifier's parameters may be encoded.
#[derive(Debug, Clone, Copy)]
enum Params {
    /// Parameters absent (RFC 5758 §3.2 for ECDSA; GM/T 0015 for SM2, NULL also seen in the wild).
    AbsentOrNull,
    /// Parameters NULL (RFC 4055 §5 for RSA; absence accepted, as several libraries emit it).
    NullOrAbsent,
}

/// One supported signature algorithm.
#[derive(Debug)]
pub(crate) struct SignatureAlgorithm {
    /// Human name used in error messages.
    pub(crate) name: &'static str,
    /// The OID contents.
    oid: &'static [u8],
    params: Params,
    /// The key type whose signatures this algorithm checks.
    pub(crate) key: KeyKind,
}

/// SM2 signature with SM3 (GM/T 0003.2, OID 1.2.156.10197.1.501).
pub(crate) static SM2_WITH_SM3: SignatureAlgorithm = SignatureAlgorithm {
    name: "SM2-with-SM3",
    oid: &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75],
    params: Params::AbsentOrNull,
    key: KeyKind::Sm2,
};

/// ecdsa-with-SHA256 (RFC 5758 §3.2, OID 1.2.840.10045.4.3.2).
pub(crate) static ECDSA_P256_SHA256: SignatureAlgorithm = SignatureAlgorithm {
    name: "ecdsa-with-SHA256",
    oid: &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    params: Params::AbsentOrNull,
    key: KeyKind::P256,
};

/// sha256WithRSAEncryption (RFC 4055 §5, OID 1.2.840.113549.1.1.11).
pub(crate) static RSA_PKCS1_SHA256: SignatureAlgorithm = SignatureAlgorithm {
    name: "sha256WithRSAEncryption",
    oid: &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
    params: Params::NullOrAbsent,
    key: KeyKind::Rsa,
};

/// Every algorithm a certificate signature may use.
pub(crate) static SUPPORTED_ALGORITHMS: &[&SignatureAlgorithm] =
    &[&SM2_WITH_SM3, &ECDSA_P256_SHA256, &RSA_PKCS1_SHA256];

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_CURVE_SM2: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
const OID_CURVE_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const NULL: &[u8] = &[tag::NULL, 0x00];

/// Splits AlgorithmIdentifier contents into OID contents and the raw parameters.
fn split_algorithm(alg: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(alg);
    let oid = r.expect(tag::OID, "algorithm: expected OID").ok()?;
    let params = alg.get(oid.raw.len()..)?;
    Some((oid.contents, params))
}

/// Looks up the algorithm named by AlgorithmIdentifier contents; on failure returns the
/// identifier as text for the error message.
pub(crate) fn find_algorithm(alg: &[u8]) -> Result<&'static SignatureAlgorithm, String> {
    let Some((oid, params)) = split_algorithm(alg) else {
        return Err("<malformed AlgorithmIdentifier>".to_owned());
    };
    SUPPORTED_ALGORITHMS
        .iter()
        .copied()
        .find(|a| {
            a.oid == oid
                && match a.params {
                    Params::AbsentOrNull | Params::NullOrAbsent => {
                        params.is_empty() || params == NULL
                    }
                }
        })
        .ok_or_else(|| {
            if params.is_empty() || params == NULL {
                oid_to_string(oid)
            } else {
                format!("{} with unexpected parameters", oid_to_string(oid))
            }
        })
}

/// A public key decoded from a SubjectPublicKeyInfo and ready to verify signatures. SM2 keys carry
/// their `Z` value, which depends on the distinguishing ID.
#[derive(Debug, Clone)]
pub(crate) enum PreparedKey {
    Sm2(Box<Sm2Key>),
    /// An uncompressed SEC1 point.
    P256(Box<[u8]>),
    /// An RSAPublicKey (RFC 8017 §A.1.1) in DER.
    Rsa(Box<[u8]>),
}

impl PreparedKey {
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            PreparedKey::Sm2(_) => KeyKind::Sm2,
            PreparedKey::P256(_) => KeyKind::P256,
            PreparedKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// Decodes a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; RFC 5480 §2 for EC keys; RFC 3279
    /// §2.3.1 for RSA) into a key. `sm2_id` is the distinguishing ID for SM2's `Z`. On failure
    /// returns a description of the key for the error message.
    pub(crate) fn from_spki(spki: &[u8], sm2_id: &str) -> Result<Self, String> {
        let malformed = || "<malformed SubjectPublicKeyInfo>".to_owned();
        let seq = der::single(spki, tag::SEQUENCE, "spki").map_err(|_| malformed())?;
        let mut r = Reader::new(seq.contents);
        let alg = r
            .expect(tag::SEQUENCE, "spki: algorithm")
            .map_err(|_| malformed())?;
        let key = r
            .expect(tag::BIT_STRING, "spki: key")
            .map_err(|_| malformed())?;
        r.finish("spki: trailing").map_err(|_| malformed())?;
        let key = bit_string_octets(key.contents).map_err(|_| malformed())?;
        let (oid, params) = split_algorithm(alg.contents).ok_or_else(malformed)?;
        match oid {
            OID_EC_PUBLIC_KEY => {
                let curve = der::single(params, tag::OID, "curve")
                    .map_err(|_| "EC key without a named curve".to_owned())?;
                match curve.contents {
                    OID_CURVE_SM2 => Sm2Key::from_sec1(sm2_id, key)
                        .map(|k| PreparedKey::Sm2(Box::new(k)))
                        .ok_or_else(|| "SM2 key that is not a valid curve point".to_owned()),
                    OID_CURVE_P256 if key.len() == 65 && key.first() == Some(&0x04) => {
                        Ok(PreparedKey::P256(key.into()))
                    }
                    OID_CURVE_P256 => Err("P-256 key that is not an uncompressed point".to_owned()),
                    other => Err(format!(
                        "EC key on unsupported curve {}",
                        oid_to_string(other)
                    )),
                }
            }
            OID_RSA_ENCRYPTION if params == NULL => Ok(PreparedKey::Rsa(key.into())),
            other => Err(format!("key algorithm {}", oid_to_string(other))),
        }
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureFailure {
    /// The algorithm needs another kind of key than the issuer has.
    KeyMismatch,
    /// The signature is not valid for the message and key.
    Invalid,
}

/// Verifies `signature` over `message` with `key` under `alg` (RFC 5280 §6.1.3 (a)(1)).
pub(crate) fn verify_signature(
    alg: &SignatureAlgorithm,
    key: &PreparedKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    if alg.key != key.kind() {
        return Err(SignatureFailure::KeyMismatch);
    }
    let ok = match key {
        PreparedKey::Sm2(k) => k.verify(message, signature),
        PreparedKey::P256(point) => {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
                .verify(message, signature)
                .is_ok()
        }
        PreparedKey::Rsa(der) => ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            der,
        )
        .verify(message, signature)
        .is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureFailure::Invalid)
    }
}

/// An SM2 public key with its `Z` value precomputed: the production SM2 verification path on its
/// own, for benchmarks and cross-checks against other implementations.
#[derive(Debug, Clone)]
pub struct Sm2PublicKey(Sm2Key);

impl Sm2PublicKey {
    /// A key from a SEC1 point (`04 || x || y`, or compressed) and a distinguishing ID; `None` if
    /// the point is not on the SM2 curve or the ID is longer than 8191 bytes.
    pub fn from_sec1(sm2_id: &str, point: &[u8]) -> Option<Self> {
        Sm2Key::from_sec1(sm2_id, point).map(Self)
    }

    /// Verifies a DER `SM2Signature` (r, s) over `message` (GM/T 0003.2 §7: `e = SM3(Z || M)`).
    pub fn verify(&self, message: &[u8], signature_der: &[u8]) -> bool {
        self.0.verify(message, signature_der)
    }
}
