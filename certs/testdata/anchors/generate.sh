#!/usr/bin/env bash
# Regenerates the trust-anchor shape fixtures in this directory (issue #15: the x509-limbo cases
# whose path ends at an anchor that RFC 5280 does not let issue; see docs/cert-rules.md) with the
# OpenSSL 3 command-line tool, for SM2 (GM/T 0015) and ECDSA P-256 alike:
#
#   bash certs/testdata/anchors/generate.sh
#
# Same conventions as ../generate.sh (functions in ../lib.sh): fixed validity dates (tests
# validate at 2026-06-01T00:00:00Z), random keys, and `generated-from.sha256` records the
# SHA-256 of this script and lib.sh so a test notices a script change without regenerated
# fixtures. Every case has its own anchor, so each trust store holds exactly the anchor under
# test. Files:
#   roots-<alg>-<case>.pem   the one trust anchor of a case
#   <alg>-<name>.crt.pem     one certificate
#   chains/<alg>-<case>.pem  leaf first, then intermediates
# Cases: ok (control), root-no-bc (v3 root without basicConstraints), root-v1 (v1 root, no
# extensions at all), root-noncritical-bc, int-noncritical-bc (under the ok root), root-empty-subject
# (the leaf names the empty issuer), root-cross-signed-no-aki (the anchor is a CA certificate
# issued by another root, without authorityKeyIdentifier).
set -euo pipefail

OUT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$OUT/../lib.sh"
setup

cat > "$WORK/ext.cnf" <<'CNF'
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ root_no_bc ]
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ root_noncritical_bc ]
basicConstraints = CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ int ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ int_noncritical_bc ]
basicConstraints = CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ int_no_aki ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.anchors.example
authorityKeyIdentifier = keyid
# Under a v1 root, which has no subjectKeyIdentifier to copy: issuer name and serial instead.
[ leaf_v1 ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.anchors.example
authorityKeyIdentifier = issuer:always
CNF

# cn_name_hex TEXT: the DER of the Name "CN=TEXT" (one UTF8String attribute, as OpenSSL writes
# it), as hex; TEXT is ASCII and shorter than 100 characters.
cn_name_hex() {
  local v atv set
  v="0c$(der_len ${#1})$(hex_of "$1")"
  atv="0603550403$v"; atv="30$(der_len $(( ${#atv} / 2 )))$atv"
  set="31$(der_len $(( ${#atv} / 2 )))$atv"
  echo "30$(der_len $(( ${#set} / 2 )))$set"
}

# v1_root NAME KEY SUBJECT: a self-signed version 1 certificate (no extensions at all).
v1_root() {
  local name=$1 keyname=$2 subj=$3 reqopts=() caopts=()
  if [ "$(cat "$WORK/keys/$keyname.type")" = sm2 ]; then
    reqopts=(-sm3 -sigopt "distid:$DISTID")
    caopts=(-vfyopt "distid:$DISTID" -md sm3 -sigopt "distid:$DISTID")
  else
    caopts=(-md sha256)
  fi
  "$OPENSSL" req -new -key "$WORK/keys/$keyname.key" -subj "$subj" -config "$WORK/ca.cnf" \
    "${reqopts[@]}" -out "$WORK/csr/$name.csr"
  "$OPENSSL" ca -batch -config "$WORK/ca.cnf" -in "$WORK/csr/$name.csr" -out "$WORK/$name.crt" \
    -notext -preserveDN -rand_serial -startdate "$ROOT_FROM" -enddate "$ROOT_TO" \
    -selfsign -keyfile "$WORK/keys/$keyname.key" "${caopts[@]}" 2>/dev/null
  "$OPENSSL" x509 -in "$WORK/$name.crt" -out "$OUT/$name.crt.pem"
  echo "$keyname" > "$WORK/issuer-key.$name"
}

# leaf_under CASE ISSUER [EXT]: a client leaf issued by ISSUER, and its one-certificate chain.
leaf_under() {
  issue $alg-$1-leaf $alg-leaf "$O/CN=alice $1" "$2" "${3:-leaf}" $LEAF_FROM $LEAF_TO
  chain $alg-$1 $alg-$1-leaf
}

# roots CASE CERT: the trust store of CASE.
roots() {
  cp "$OUT/$2.crt.pem" "$OUT/roots-$alg-$1.pem"
}

for alg in sm2 p256; do
  key $alg-leaf $alg

  key $alg-root $alg
  issue $alg-root $alg-root "$O/CN=Trieguard Anchor $alg Root" self root $ROOT_FROM $ROOT_TO
  roots ok $alg-root
  leaf_under ok $alg-root

  key $alg-no-bc $alg
  issue $alg-root-no-bc $alg-no-bc "$O/CN=Trieguard Anchor $alg No BC" self root_no_bc $ROOT_FROM $ROOT_TO
  roots root-no-bc $alg-root-no-bc
  leaf_under root-no-bc $alg-root-no-bc

  key $alg-v1 $alg
  v1_root $alg-root-v1 $alg-v1 "$O/CN=Trieguard Anchor $alg V1"
  roots root-v1 $alg-root-v1
  leaf_under root-v1 $alg-root-v1 leaf_v1

  key $alg-nc-bc $alg
  issue $alg-root-noncritical-bc $alg-nc-bc "$O/CN=Trieguard Anchor $alg Noncritical BC" self root_noncritical_bc $ROOT_FROM $ROOT_TO
  roots root-noncritical-bc $alg-root-noncritical-bc
  leaf_under root-noncritical-bc $alg-root-noncritical-bc

  key $alg-int $alg
  issue $alg-int-noncritical-bc $alg-int "$O/CN=Trieguard Anchor $alg Int Noncritical BC" $alg-root int_noncritical_bc $INT_FROM $INT_TO
  issue $alg-int-noncritical-bc-leaf $alg-leaf "$O/CN=alice int-noncritical-bc" $alg-int-noncritical-bc leaf $LEAF_FROM $LEAF_TO
  chain $alg-int-noncritical-bc $alg-int-noncritical-bc-leaf $alg-int-noncritical-bc

  # The root's subject (not its issuer) becomes the empty Name; the leaf then names the empty
  # issuer and is signed again by the root's key.
  empty_cn="Trieguard Anchor $alg Empty"
  key $alg-empty $alg
  issue $alg-root-empty-subject $alg-empty "/CN=$empty_cn" self root $ROOT_FROM $ROOT_TO
  leaf_under root-empty-subject $alg-root-empty-subject
  name=$(cn_name_hex "$empty_cn")
  repatch $alg-root-empty-subject self "${name}3059" "30003059"
  repatch $alg-root-empty-subject-leaf $alg-root-empty-subject "$name" "3000"
  chain $alg-root-empty-subject $alg-root-empty-subject-leaf
  roots root-empty-subject $alg-root-empty-subject

  # A cross-signed CA (issued by another root, without authorityKeyIdentifier) trusted directly.
  key $alg-xsigner $alg
  issue $alg-xsigner $alg-xsigner "$O/CN=Trieguard Anchor $alg Cross-signer" self root $ROOT_FROM $ROOT_TO
  key $alg-xsigned $alg
  issue $alg-root-cross-signed-no-aki $alg-xsigned "$O/CN=Trieguard Anchor $alg Cross-signed" $alg-xsigner int_no_aki $INT_FROM $INT_TO
  roots root-cross-signed-no-aki $alg-root-cross-signed-no-aki
  leaf_under root-cross-signed-no-aki $alg-root-cross-signed-no-aki
  rm "$OUT/$alg-xsigner.crt.pem"
done

stamp
