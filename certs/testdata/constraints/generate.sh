#!/usr/bin/env bash
# Regenerates the name-constraint and path-building fixtures in this directory with the OpenSSL 3
# command-line tool, for SM2 (GM/T 0015) and ECDSA P-256 alike:
#
#   bash certs/testdata/constraints/generate.sh
#
# Kept apart from ../generate.sh so that the older fixtures (used by the plugin, the harness and
# the integration tests) keep their bytes; the functions both use are in ../lib.sh. Same
# conventions: fixed validity dates (tests validate at 2026-06-01T00:00:00Z), random keys, and
# `generated-from.sha256` records the SHA-256 of this script and lib.sh so a test notices a
# script change without regenerated fixtures. Files:
#   roots.pem             the trust anchors of these cases (one SM2, one P-256 root)
#   <alg>-<name>.crt.pem  one certificate
#   chains/<alg>-<case>.pem  leaf first, then intermediates (nc-*, nested-*: name constraints;
#                         pb-*: path-building shapes)
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
[ int ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# Every name form, permitted and excluded.
[ int_nc ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, @nc_all
[ nc_all ]
permitted;DNS.1 = dept-a.example
excluded;DNS.1 = bad.dept-a.example
permitted;URI.1 = .dept-a.example
excluded;URI.1 = bad.dept-a.example
permitted;email.1 = dept-a.example
excluded;email.1 = mallory@dept-a.example
permitted;IP.1 = 10.1.0.0/255.255.0.0
excluded;IP.1 = 10.1.9.0/255.255.255.0
permitted;dirName.1 = dir_dept_a
excluded;dirName.1 = dir_banned
[ dir_dept_a ]
C = CN
O = Trieguard Test
OU = Dept A
[ dir_banned ]
C = CN
O = Trieguard Test
OU = Dept A
CN = banned
# Nested: the outer CA permits dept-a and dept-b, the inner one (below it) dept-b and dept-c.
[ int_outer ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, permitted;DNS:dept-a.example, permitted;DNS:dept-b.example
[ int_inner ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, permitted;DNS:dept-b.example, permitted;DNS:dept-c.example
# A form trieguard does not evaluate, in a critical extension.
[ int_othername ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
nameConstraints = critical, permitted;otherName:1.3.6.1.4.1.311.20.2.3;UTF8:x@dept-a.example
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = $ENV::SAN
authorityKeyIdentifier = keyid
[ leaf_nosan ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
CNF

A="$O/OU=Dept A"
# More decoys than MAX_SIGNATURE_CHECKS (32), so the hostile chain must stop on the budget.
DECOYS=36
GOOD="DNS:api.dept-a.example, URI:spiffe://svc.dept-a.example/client/x, email:bob@dept-a.example, IP:10.1.2.3"

for alg in sm2 p256; do
  key $alg-root $alg; issue $alg-root $alg-root "$O/CN=Trieguard NC $alg Root" self root $ROOT_FROM $ROOT_TO
  key $alg-int $alg;  issue $alg-int-nc $alg-int "$O/CN=Trieguard NC $alg Constrained" $alg-root int_nc $INT_FROM $INT_TO
  key $alg-leaf $alg
  # leaf CASE SUBJECT [SAN]: a leaf under the all-forms CA and its chain.
  leaf() {
    local case=$1 subj=$2
    if [ $# -ge 3 ]; then SAN=$3 issue $alg-$case $alg-leaf "$subj" $alg-int-nc leaf $LEAF_FROM $LEAF_TO
    else issue $alg-$case $alg-leaf "$subj" $alg-int-nc leaf_nosan $LEAF_FROM $LEAF_TO; fi
    chain $alg-$case $alg-$case $alg-int-nc
  }
  leaf nc-ok "$A/CN=alice" "$GOOD"
  leaf nc-dns-not-permitted "$A/CN=alice" "DNS:api.dept-b.example"
  leaf nc-dns-excluded "$A/CN=alice" "DNS:x.bad.dept-a.example"
  leaf nc-uri-not-permitted "$A/CN=alice" "URI:spiffe://dept-b.example/client/x"
  leaf nc-uri-excluded "$A/CN=alice" "URI:spiffe://bad.dept-a.example/client/x"
  leaf nc-email-not-permitted "$A/CN=alice" "email:bob@dept-b.example"
  leaf nc-email-excluded "$A/CN=alice" "email:mallory@dept-a.example"
  leaf nc-ip-not-permitted "$A/CN=alice" "IP:10.2.0.1"
  leaf nc-ip-excluded "$A/CN=alice" "IP:10.1.9.9"
  leaf nc-dir-not-permitted "$O/OU=Dept B/CN=alice" "DNS:api.dept-a.example"
  leaf nc-dir-excluded "$A/CN=banned" "DNS:api.dept-a.example"
  leaf nc-cn-ok "$A/CN=api.dept-a.example"
  leaf nc-cn-not-permitted "$A/CN=api.dept-b.example"

  # Nested constraints: root -> outer (a, b) -> inner (b, c) -> leaf.
  key $alg-outer $alg; issue $alg-int-outer $alg-outer "$O/CN=Trieguard NC $alg Outer" $alg-root int_outer $INT_FROM $INT_TO
  key $alg-inner $alg; issue $alg-int-inner $alg-inner "$O/CN=Trieguard NC $alg Inner" $alg-int-outer int_inner $INT_FROM $INT_TO
  for dept in a b c; do
    SAN="DNS:api.dept-$dept.example" issue $alg-nested-$dept $alg-leaf "$O/CN=nested $dept" $alg-int-inner leaf $LEAF_FROM $LEAF_TO
    chain $alg-nested-$dept $alg-nested-$dept $alg-int-inner $alg-int-outer
  done

  # A critical constraint of a form that is not evaluated.
  key $alg-other $alg; issue $alg-int-othername $alg-other "$O/CN=Trieguard NC $alg otherName" $alg-root int_othername $INT_FROM $INT_TO
  SAN="DNS:api.dept-a.example" issue $alg-under-othername $alg-leaf "$O/CN=under othername" $alg-int-othername leaf $LEAF_FROM $LEAF_TO
  chain $alg-nc-unsupported-form $alg-under-othername $alg-int-othername

  # --- Path-building shapes (RFC 4158). S and Z are roots nobody trusts.
  key $alg-s $alg; issue $alg-root-s $alg-s "$O/CN=Trieguard PB $alg Untrusted S" self root $ROOT_FROM $ROOT_TO
  key $alg-z $alg; issue $alg-root-z $alg-z "$O/CN=Trieguard PB $alg Untrusted Z" self root $ROOT_FROM $ROOT_TO
  # X is cross-signed by S and by the trusted root; Y by X and by Z. Presented so that every
  # dead end comes first: leaf, Y-by-Z, Z, Y-by-X, X-by-S, S, X-by-root.
  key $alg-x $alg
  issue $alg-x-by-s $alg-x "$O/CN=Trieguard PB $alg X" $alg-root-s int $INT_FROM $INT_TO
  issue $alg-x-by-root $alg-x "$O/CN=Trieguard PB $alg X" $alg-root int $INT_FROM $INT_TO
  key $alg-y $alg
  issue $alg-y-by-z $alg-y "$O/CN=Trieguard PB $alg Y" $alg-root-z int $INT_FROM $INT_TO
  issue $alg-y-by-x $alg-y "$O/CN=Trieguard PB $alg Y" $alg-x-by-root int $INT_FROM $INT_TO
  SAN="DNS:cross.dept-a.example" issue $alg-pb-leaf $alg-leaf "$O/CN=cross" $alg-y-by-x leaf $LEAF_FROM $LEAF_TO
  chain $alg-pb-cross-signed $alg-pb-leaf $alg-y-by-z $alg-root-z $alg-y-by-x $alg-x-by-s $alg-root-s $alg-x-by-root
  # Many candidate issuers with the leaf's issuer name: DECOYS self-signed CAs (other keys) before
  # the real Hub. A second leaf whose Hub is not presented makes a hostile chain of decoys only.
  key $alg-hub $alg; issue $alg-hub $alg-hub "$O/CN=Trieguard PB $alg Hub" $alg-root int $INT_FROM $INT_TO
  SAN="DNS:hub.dept-a.example" issue $alg-hub-leaf $alg-leaf "$O/CN=hub" $alg-hub leaf $LEAF_FROM $LEAF_TO
  key $alg-hub-missing $alg; issue $alg-hub-missing $alg-hub-missing "$O/CN=Trieguard PB $alg Hub" self root $ROOT_FROM $ROOT_TO
  SAN="DNS:hub.dept-a.example" issue $alg-hostile-leaf $alg-leaf "$O/CN=hostile" $alg-hub-missing leaf $LEAF_FROM $LEAF_TO
  decoys=()
  for i in $(seq 1 $DECOYS); do
    key $alg-decoy-$i $alg
    issue $alg-decoy-$i $alg-decoy-$i "$O/CN=Trieguard PB $alg Hub" self root $ROOT_FROM $ROOT_TO
    decoys+=($alg-decoy-$i)
  done
  chain $alg-pb-many-candidates $alg-hub-leaf "${decoys[@]:0:8}" $alg-hub
  chain $alg-pb-hostile $alg-hostile-leaf "${decoys[@]}"
  for d in "${decoys[@]}" $alg-hub-missing; do rm "$OUT/$d.crt.pem"; done
done

cat "$OUT/sm2-root.crt.pem" "$OUT/p256-root.crt.pem" > "$OUT/roots.pem"
stamp
