#!/usr/bin/env bash
# Regenerates the certificate-profile fixtures in this directory (the rules of docs/cert-rules.md:
# key identifiers, subject CN and SAN encodings, extendedKeyUsage, CA keyUsage, inputs that hit a
# budget) with the OpenSSL 3 command-line tool, for SM2 (GM/T 0015) and ECDSA P-256 alike:
#
#   bash certs/testdata/rules/generate.sh
#
# Same conventions as ../generate.sh (functions in ../lib.sh): fixed validity dates (tests
# validate at 2026-06-01T00:00:00Z), random keys, and `generated-from.sha256` records the
# SHA-256 of this script and lib.sh so a test notices a script change without regenerated
# fixtures. Files:
#   roots.pem                  the trust anchors of these cases (one SM2, one P-256 root)
#   roots-<alg>-no-certsign.pem  a root with cA TRUE whose keyUsage lacks keyCertSign
#   roots-<alg>-huge.pem       a root too large to be a certificate here (thousands of subtrees)
#   roots-<alg>-empty-san.pem  a root whose subjectAltName is an empty sequence
#   <alg>-<name>.crt.pem       one certificate
#   chains/<alg>-<case>.pem    leaf first, then intermediates
set -euo pipefail

OUT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$OUT/../lib.sh"
setup

# Many names (leaf SANs) against many subtrees (intermediate): far past MAX_NAME_CONSTRAINT_CHECKS
# (65,536) while each certificate stays under MAX_CERTIFICATE_BYTES (16 KiB).
MANY=1000
# Enough subtrees to make a root larger than MAX_CERTIFICATE_BYTES.
HUGE=2000

{
cat <<'CNF'
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ root_no_certsign ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign
subjectKeyIdentifier = hash
[ root_empty_san ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
2.5.29.17 = DER:30:00
[ root_huge ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, @nc_huge
[ int ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ int_no_aki ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
[ int_no_ski ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
[ int_critical_ski ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = critical, hash
authorityKeyIdentifier = keyid
[ int_eku_server ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
extendedKeyUsage = serverAuth
[ int_eku_client ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
extendedKeyUsage = clientAuth, serverAuth
[ int_many_nc ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, @nc_many
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_aki_issuer ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid, issuer
[ leaf_no_aki ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = none
[ leaf_critical_aki ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = critical, keyid
[ leaf_empty_aki_keyid ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
2.5.29.35 = DER:30:02:80:00
[ leaf_no_eku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_eku_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, codeSigning
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_eku_any ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_eku_any_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = anyExtendedKeyUsage, clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_san_empty ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
2.5.29.17 = DER:30:00
[ leaf_san_empty_dns ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
2.5.29.17 = DER:30:02:82:00
[ leaf_san_non_ascii ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
2.5.29.17 = DER:30:08:82:06:61:6c:69:63:c3:a9
[ leaf_critical_san ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = critical, DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_keycertsign ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_pathlen_not_ca ]
2.5.29.19 = critical, DER:30:03:02:01:00
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.rules.example
authorityKeyIdentifier = keyid
[ leaf_many_sans ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
subjectAltName = @san_many
CNF
echo "[ nc_many ]"
for i in $(seq 1 $MANY); do echo "permitted;DNS.$i = p$i.ex"; done
echo "[ san_many ]"
for i in $(seq 1 $MANY); do echo "DNS.$i = n$i.ex"; done
echo "[ nc_huge ]"
for i in $(seq 1 $HUGE); do echo "excluded;DNS.$i = x$i.ex"; done
} > "$WORK/ext.cnf"

# OpenSSL 3 writes subjectKeyIdentifier and authorityKeyIdentifier unless a section says `none`.

# CN values whose encoding repatch rewrites: the OpenSSL-written UTF8String (tag 0c) of
# CN=cnmark-alice (12 octets), found by its attribute type 2.5.4.3.
CN_MARK=cnmark-alice
CN_UTF8="06035504030c0c$(hex_of "$CN_MARK")"

for alg in sm2 p256; do
  key $alg-root $alg; issue $alg-root $alg-root "$O/CN=Trieguard Rules $alg Root" self root $ROOT_FROM $ROOT_TO
  key $alg-int $alg;  issue $alg-int $alg-int "$O/CN=Trieguard Rules $alg Intermediate" $alg-root int $INT_FROM $INT_TO
  key $alg-leaf $alg
  # leaf CASE EXT [SUBJECT]: a leaf under the plain intermediate and its chain.
  leaf() {
    issue $alg-$1 $alg-leaf "${3:-$O/CN=alice}" $alg-int "$2" $LEAF_FROM $LEAF_TO
    chain $alg-$1 $alg-$1 $alg-int
  }
  leaf ok leaf
  # RFC 5280 §4.2.1.1: authorityKeyIdentifier.
  leaf leaf-no-aki leaf_no_aki
  leaf leaf-critical-aki leaf_critical_aki
  leaf leaf-empty-aki-keyid leaf_empty_aki_keyid
  leaf leaf-aki-issuer-serial leaf_aki_issuer
  # RFC 5280 §4.2.1.3 / §4.2.1.9: CA-only fields on a certificate that is not a CA.
  leaf leaf-keycertsign leaf_keycertsign
  leaf leaf-pathlen-not-ca leaf_pathlen_not_ca
  # RFC 5280 §4.2.1.12: extendedKeyUsage.
  leaf leaf-no-eku leaf_no_eku
  leaf leaf-eku-server leaf_eku_server
  leaf leaf-eku-any leaf_eku_any
  leaf leaf-eku-any-client leaf_eku_any_client
  # RFC 5280 §4.2.1.6: subjectAltName.
  leaf san-empty leaf_san_empty
  leaf san-empty-dns leaf_san_empty_dns
  leaf san-non-ascii leaf_san_non_ascii
  # RFC 5280 §4.1.2.4 / Appendix A: the subject CN is a DirectoryString, correctly encoded.
  leaf cn-printable leaf "$O/CN=$CN_MARK"
  repatch $alg-cn-printable $alg-int "$CN_UTF8" "0603550403130c$(hex_of "$CN_MARK")"
  chain $alg-cn-printable $alg-cn-printable $alg-int
  leaf cn-not-a-string leaf "$O/CN=$CN_MARK"
  repatch $alg-cn-not-a-string $alg-int "$CN_UTF8" "0603550403040c$(hex_of "$CN_MARK")"
  chain $alg-cn-not-a-string $alg-cn-not-a-string $alg-int
  leaf cn-bad-printable leaf "$O/CN=cnmark@alice"
  repatch $alg-cn-bad-printable $alg-int "06035504030c0c$(hex_of cnmark@alice)" "0603550403130c$(hex_of cnmark@alice)"
  chain $alg-cn-bad-printable $alg-cn-bad-printable $alg-int
  leaf cn-bad-utf8 leaf "$O/CN=$CN_MARK"
  repatch $alg-cn-bad-utf8 $alg-int "$CN_UTF8" "06035504030c0c$(hex_of cnmark)ff$(hex_of alice)"
  chain $alg-cn-bad-utf8 $alg-cn-bad-utf8 $alg-int
  # RFC 5280 §4.1.2.6 / §4.2.1.6: an empty subject needs a critical subjectAltName. The subject
  # CN=emptymark is replaced by an empty Name (30 00).
  EMPTY_MARK="30143112301006035504030c09$(hex_of emptymark)"
  leaf empty-subject-critical-san leaf_critical_san "/CN=emptymark"
  repatch $alg-empty-subject-critical-san $alg-int "$EMPTY_MARK" 3000
  chain $alg-empty-subject-critical-san $alg-empty-subject-critical-san $alg-int
  leaf empty-subject-noncritical-san leaf "/CN=emptymark"
  repatch $alg-empty-subject-noncritical-san $alg-int "$EMPTY_MARK" 3000
  chain $alg-empty-subject-noncritical-san $alg-empty-subject-noncritical-san $alg-int

  # CA certificates with one property each, under the root, and a good leaf under each.
  # issuer_case CASE EXT [LEAF_EXT]
  issuer_case() {
    key $alg-$1-key $alg
    issue $alg-$1 $alg-$1-key "$O/CN=Trieguard Rules $alg $1" $alg-root "$2" $INT_FROM $INT_TO
    issue $alg-under-$1 $alg-leaf "$O/CN=alice" $alg-$1 "${3:-leaf}" $LEAF_FROM $LEAF_TO
    chain $alg-$1 $alg-under-$1 $alg-$1
  }
  # RFC 5280 §4.2.1.1 / §4.2.1.2 on CA certificates.
  issuer_case int-no-aki int_no_aki
  issuer_case int-no-ski int_no_ski leaf_aki_issuer
  issuer_case int-critical-ski int_critical_ski
  # extendedKeyUsage of a CA constrains what it issues.
  issuer_case int-eku-server int_eku_server
  issuer_case int-eku-client int_eku_client
  # Thousands of names against a thousand subtrees: the name-constraint budget.
  key $alg-many-key $alg
  issue $alg-int-many-nc $alg-many-key "$O/CN=Trieguard Rules $alg Many Subtrees" $alg-root int_many_nc $INT_FROM $INT_TO
  issue $alg-many-sans $alg-leaf "$O/CN=p1.ex" $alg-int-many-nc leaf_many_sans $LEAF_FROM $LEAF_TO
  chain $alg-many-names $alg-many-sans $alg-int-many-nc

  # Roots that are themselves the problem, each in its own roots file, with a leaf below.
  root_case() {
    key $alg-root-$1-key $alg
    issue $alg-root-$1 $alg-root-$1-key "$O/CN=Trieguard Rules $alg Root $1" self "$2" $ROOT_FROM $ROOT_TO
    issue $alg-under-root-$1 $alg-leaf "$O/CN=alice" $alg-root-$1 leaf $LEAF_FROM $LEAF_TO
    chain $alg-root-$1 $alg-under-root-$1
    cp "$OUT/$alg-root-$1.crt.pem" "$OUT/roots-$alg-$1.pem"
  }
  root_case no-certsign root_no_certsign
  root_case huge root_huge
  root_case empty-san root_empty_san
  rm "$OUT/$alg-root-huge.crt.pem" "$OUT/$alg-root-no-certsign.crt.pem" "$OUT/$alg-root-empty-san.crt.pem"
done

cat "$OUT/sm2-root.crt.pem" "$OUT/p256-root.crt.pem" > "$OUT/roots.pem"
stamp
