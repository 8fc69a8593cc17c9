#!/usr/bin/env bash
# Regenerates the TEST-ONLY JWT signing keys and the matching JWKS used by plugin/src/jwt tests.
#
#   rsa-2048.pk8.der  RSA-2048 private key, PKCS#8 DER   -> jwks.json kid "rsa-test",  alg RS256
#   p256.pk8.der      EC P-256 private key, PKCS#8 DER  -> jwks.json kid "p256-test", alg ES256
#   hs256.key         32 random bytes (raw HMAC secret) -> jwks.json kid "hs256-test", alg HS256
#   jwks.json         the public JWKS ({"keys":[RSA, EC, oct]}) in that order
#
# Needs OpenSSL 3, xxd and basenc (coreutils). Run from anywhere: ./generate.sh
# The Rust test `jwt::tests::fixtures_match_jwks` fails if jwks.json and the keys drift apart.
set -euo pipefail
cd "$(dirname "$0")"

b64url() { basenc --base64url -w0 | tr -d '='; }

# `genpkey -outform DER` writes the traditional (PKCS#1 / SEC1) form; `pkcs8 -topk8` makes the
# PKCS#8 v1 document that ring's `RsaKeyPair::from_pkcs8` / `EcdsaKeyPair::from_pkcs8` read.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:65537 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -outform DER -out rsa-2048.pk8.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -outform DER -out p256.pk8.der
openssl rand -out hs256.key 32

# RSA public parts: modulus (hex from OpenSSL) and the fixed exponent 65537 = AQAB.
rsa_n=$(openssl rsa -inform DER -in rsa-2048.pk8.der -noout -modulus | sed 's/^Modulus=//' | xxd -r -p | b64url)
rsa_e=$(printf '\x01\x00\x01' | b64url)

# EC public point: the SubjectPublicKeyInfo DER ends with the 65-byte 0x04 || x || y.
ec_point=$(mktemp)
trap 'rm -f "$ec_point"' EXIT
openssl pkey -inform DER -in p256.pk8.der -pubout -outform DER | tail -c 64 >"$ec_point"
ec_x=$(head -c 32 "$ec_point" | b64url)
ec_y=$(tail -c 32 "$ec_point" | b64url)

oct_k=$(b64url <hs256.key)

cat >jwks.json <<JSON
{
  "keys": [
    {"kty": "RSA", "kid": "rsa-test", "alg": "RS256", "use": "sig", "n": "$rsa_n", "e": "$rsa_e"},
    {"kty": "EC", "kid": "p256-test", "alg": "ES256", "use": "sig", "crv": "P-256", "x": "$ec_x", "y": "$ec_y"},
    {"kty": "oct", "kid": "hs256-test", "alg": "HS256", "k": "$oct_k"}
  ]
}
JSON
echo "wrote rsa-2048.pk8.der p256.pk8.der hs256.key jwks.json"
