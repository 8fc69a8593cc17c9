#!/usr/bin/env bash
# Regenerates the certificate fixtures in this directory with the OpenSSL 3 command-line tool.
#
#   bash certs/testdata/generate.sh
#
# Functions shared with constraints/ and rules/ are in lib.sh. Every certificate has fixed
# validity dates, so tests validate at a pinned instant (2026-06-01T00:00:00Z) and keep passing
# whatever the wall clock says. Keys and signatures
# are random, so a rerun produces different bytes: `generated-from.sha256` records the
# SHA-256 of this script and lib.sh, and a test fails when the script changed but the fixtures
# were not regenerated.
#
# OpenSSL 3.0 needs `-sm3 -sigopt distid:ID` to make SM2 signatures with the standard ID and
# `-vfyopt distid:ID` to accept an SM2 CSR. Files:
#   roots.pem           every trust anchor the tests use (two SM2 roots share one name)
#   <name>.crt.pem      one certificate
#   chains/<case>.pem   what a client presents: the leaf first, then intermediates in any order
set -euo pipefail

OUT=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$OUT/lib.sh"
setup

cat > "$WORK/ext.cnf" <<'CNF'
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ int ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ int_pathlen0 ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ int_not_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, digitalSignature
[ int_no_certsign ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://trieguard.test/client/alice, DNS:alice.client.trieguard.test, DNS:alice.trieguard.test
authorityKeyIdentifier = keyid
[ leaf_server_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:server.trieguard.test
[ leaf_no_digsig ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
extendedKeyUsage = clientAuth
[ leaf_unknown_critical ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
1.2.3.4.5 = critical, ASN1:UTF8String:not understood
CNF

# --- SM2 (GM/T 0015): root -> int1 -> int2 -> leaf, plus a second root with the same name.
key sm2-root sm2;   issue sm2-root sm2-root "$O/CN=Trieguard SM2 Root" self root $ROOT_FROM $ROOT_TO
key sm2-twin sm2;   issue sm2-root-twin sm2-twin "$O/CN=Trieguard SM2 Root" self root $ROOT_FROM $ROOT_TO
key sm2-int1 sm2;   issue sm2-int1 sm2-int1 "$O/OU=Clients/CN=Trieguard SM2 Intermediate 1" sm2-root int $INT_FROM $INT_TO
key sm2-int2 sm2;   issue sm2-int2 sm2-int2 "$O/OU=Clients/CN=Trieguard SM2 Intermediate 2" sm2-int1 int $INT_FROM $INT_TO
key sm2-leaf sm2;   issue sm2-leaf sm2-leaf "$O/OU=Payments/CN=alice" sm2-int2 leaf $LEAF_FROM $LEAF_TO
# The same intermediate key and name, but expired (an old copy a client still sends).
issue sm2-int1-expired sm2-int1 "$O/OU=Clients/CN=Trieguard SM2 Intermediate 1" sm2-root int 20240101000000Z 20250101000000Z
# A second client under int2 (a new leaf under an already-verified intermediate).
key sm2-leaf-2 sm2; issue sm2-leaf-2 sm2-leaf-2 "$O/OU=Payments/CN=erin" sm2-int2 leaf $LEAF_FROM $LEAF_TO
# A leaf under the twin root (same root name, other key).
key sm2-twin-int sm2; issue sm2-twin-int sm2-twin-int "$O/CN=Trieguard SM2 Twin Intermediate" sm2-root-twin int $INT_FROM $INT_TO
key sm2-twin-leaf sm2; issue sm2-twin-leaf sm2-twin-leaf "$O/CN=bob" sm2-twin-int leaf $LEAF_FROM $LEAF_TO
# Leaves with one defect each, under int2.
key sm2-bad sm2
issue sm2-leaf-expired sm2-bad "$O/CN=expired" sm2-int2 leaf 20240101000000Z 20250101000000Z
issue sm2-leaf-not-yet-valid sm2-bad "$O/CN=not yet valid" sm2-int2 leaf 20300101000000Z 20310101000000Z
issue sm2-leaf-server-only sm2-bad "$O/CN=server only" sm2-int2 leaf_server_only $LEAF_FROM $LEAF_TO
issue sm2-leaf-no-digsig sm2-bad "$O/CN=no digitalSignature" sm2-int2 leaf_no_digsig $LEAF_FROM $LEAF_TO
issue sm2-leaf-unknown-critical sm2-bad "$O/CN=unknown critical" sm2-int2 leaf_unknown_critical $LEAF_FROM $LEAF_TO
# An impostor with int2's name and another key signs a leaf: the real int2 does not verify it.
key sm2-impostor sm2
issue sm2-impostor sm2-impostor "$O/OU=Clients/CN=Trieguard SM2 Intermediate 2" self int $INT_FROM $INT_TO
issue sm2-leaf-bad-signature sm2-bad "$O/CN=bad signature" sm2-impostor leaf $LEAF_FROM $LEAF_TO
# Issuers with one defect each (all under the real root).
key sm2-defect sm2
issue sm2-int-not-ca sm2-defect "$O/CN=Trieguard SM2 Not A CA" sm2-root int_not_ca $INT_FROM $INT_TO
issue sm2-leaf-under-not-ca sm2-bad "$O/CN=under not-ca" sm2-int-not-ca leaf $LEAF_FROM $LEAF_TO
issue sm2-int-no-certsign sm2-defect "$O/CN=Trieguard SM2 No keyCertSign" sm2-root int_no_certsign $INT_FROM $INT_TO
issue sm2-leaf-under-no-certsign sm2-bad "$O/CN=under no-certsign" sm2-int-no-certsign leaf $LEAF_FROM $LEAF_TO
key sm2-pl0 sm2; issue sm2-int-pathlen0 sm2-pl0 "$O/CN=Trieguard SM2 pathlen 0" sm2-root int_pathlen0 $INT_FROM $INT_TO
key sm2-pl0-sub sm2; issue sm2-int-under-pathlen0 sm2-pl0-sub "$O/CN=Trieguard SM2 below pathlen 0" sm2-int-pathlen0 int $INT_FROM $INT_TO
issue sm2-leaf-pathlen sm2-bad "$O/CN=too deep" sm2-int-under-pathlen0 leaf $LEAF_FROM $LEAF_TO
# A root nobody trusts.
key sm2-stranger sm2; issue sm2-stranger-root sm2-stranger "$O/CN=Stranger SM2 Root" self root $ROOT_FROM $ROOT_TO
issue sm2-leaf-stranger sm2-bad "$O/CN=stranger" sm2-stranger-root leaf $LEAF_FROM $LEAF_TO

# --- ECDSA P-256 and RSA.
key p256-root p256; issue p256-root p256-root "$O/CN=Trieguard P-256 Root" self root $ROOT_FROM $ROOT_TO
key p256-int p256;  issue p256-int p256-int "$O/CN=Trieguard P-256 Intermediate" p256-root int $INT_FROM $INT_TO
key p256-leaf p256; issue p256-leaf p256-leaf "$O/CN=carol" p256-int leaf $LEAF_FROM $LEAF_TO
issue p256-leaf-sha384 p256-leaf "$O/CN=sha384" p256-int leaf $LEAF_FROM $LEAF_TO sha384
key rsa-root rsa;   issue rsa-root rsa-root "$O/CN=Trieguard RSA Root" self root $ROOT_FROM $ROOT_TO
key rsa-int rsa;    issue rsa-int rsa-int "$O/CN=Trieguard RSA Intermediate" rsa-root int $INT_FROM $INT_TO
key rsa-leaf rsa;   issue rsa-leaf rsa-leaf "$O/CN=dave" rsa-int leaf $LEAF_FROM $LEAF_TO
# A P-256 signature presented under an SM2 issuer of the same name: key/algorithm mismatch.
key p256-impostor p256
issue p256-impostor-int1 p256-impostor "$O/OU=Clients/CN=Trieguard SM2 Intermediate 1" self int $INT_FROM $INT_TO
issue p256-leaf-under-sm2-name p256-leaf "$O/CN=mismatch" p256-impostor-int1 leaf $LEAF_FROM $LEAF_TO

cat "$OUT/sm2-root.crt.pem" "$OUT/sm2-root-twin.crt.pem" "$OUT/p256-root.crt.pem" "$OUT/rsa-root.crt.pem" > "$OUT/roots.pem"

# Valid chains (intermediates deliberately not in issuing order).
chain sm2-valid sm2-leaf sm2-int1 sm2-int2
chain sm2-second-leaf sm2-leaf-2 sm2-int2 sm2-int1
chain sm2-twin-root sm2-twin-leaf sm2-twin-int
chain sm2-renewed-intermediate sm2-leaf sm2-int1-expired sm2-int2 sm2-int1
chain p256-valid p256-leaf p256-int
chain rsa-valid rsa-leaf rsa-int
# One rejection reason each.
chain expired sm2-leaf-expired sm2-int2 sm2-int1
chain not-yet-valid sm2-leaf-not-yet-valid sm2-int2 sm2-int1
chain expired-intermediate sm2-leaf sm2-int2 sm2-int1-expired
chain unknown-issuer sm2-leaf-stranger
chain missing-intermediate sm2-leaf sm2-int2
chain bad-signature sm2-leaf-bad-signature sm2-int2 sm2-int1
chain not-ca sm2-leaf-under-not-ca sm2-int-not-ca
chain no-keycertsign sm2-leaf-under-no-certsign sm2-int-no-certsign
chain path-len sm2-leaf-pathlen sm2-int-under-pathlen0 sm2-int-pathlen0
chain not-client-auth sm2-leaf-server-only sm2-int2 sm2-int1
chain no-digital-signature sm2-leaf-no-digsig sm2-int2 sm2-int1
chain unknown-critical sm2-leaf-unknown-critical sm2-int2 sm2-int1
chain unsupported-algorithm p256-leaf-sha384 p256-int
chain key-mismatch p256-leaf-under-sm2-name sm2-int1
chain loop sm2-leaf-stranger sm2-stranger-root sm2-stranger-root sm2-stranger-root sm2-stranger-root sm2-stranger-root sm2-stranger-root sm2-stranger-root sm2-stranger-root

stamp
