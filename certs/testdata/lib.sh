# Shared by the fixture scripts (generate.sh here and in constraints/ and rules/): sourced, not run.
#
# The sourcing script sets OUT (its own directory) and writes "$WORK/ext.cnf" (its extension
# sections) after calling setup. Certificates are made by the OpenSSL 3 command-line tool; OpenSSL
# 3.0 needs `-sm3 -sigopt distid:ID` to make SM2 signatures with the standard ID and
# `-vfyopt distid:ID` to accept an SM2 CSR.

OPENSSL=${OPENSSL:-openssl}
DISTID=1234567812345678
O="/C=CN/O=Trieguard Test"
ROOT_FROM=20250101000000Z ROOT_TO=20550101000000Z   # the root's notAfter needs GeneralizedTime
INT_FROM=20250101000000Z INT_TO=20350101000000Z
LEAF_FROM=20250601000000Z LEAF_TO=20270601000000Z

# setup: empties OUT of earlier fixtures and prepares a scratch CA directory in WORK.
setup() {
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  export WORK SAN=${SAN:-}
  rm -rf "$OUT/chains" "$OUT"/*.crt.pem "$OUT"/roots*.pem
  mkdir -p "$OUT/chains" "$WORK/newcerts" "$WORK/keys" "$WORK/csr"
  touch "$WORK/index.txt"
  cat > "$WORK/ca.cnf" <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $ENV::WORK
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
policy = policy_any
default_md = sha256
unique_subject = no
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
CNF
}

# key NAME sm2|p256|rsa
key() {
  case $2 in
    sm2) "$OPENSSL" genpkey -algorithm SM2 -out "$WORK/keys/$1.key" 2>/dev/null ;;
    p256) "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/keys/$1.key" ;;
    rsa) "$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/keys/$1.key" 2>/dev/null ;;
  esac
  echo "$2" > "$WORK/keys/$1.type"
}

# signer_key NAME|self KEY: the key file that signs a certificate issued by NAME (self: KEY).
signer_key() {
  if [ "$1" = self ]; then echo "$2"; else cat "$WORK/issuer-key.$1"; fi
}

# issue NAME KEY SUBJECT ISSUER(NAME|self) EXT START END [MD]
# The certificate NAME gets KEY's public key and is signed by ISSUER's key (with ISSUER's
# certificate naming the issuer). MD overrides the digest (e.g. to make an unsupported algorithm).
issue() {
  local name=$1 keyname=$2 subj=$3 issuer=$4 ext=$5 start=$6 end=$7 md=${8:-}
  local type signer signer_type
  type=$(cat "$WORK/keys/$keyname.type")
  signer=$(signer_key "$issuer" "$keyname")
  signer_type=$(cat "$WORK/keys/$signer.type")
  local reqopts=()
  [ "$type" = sm2 ] && reqopts=(-sm3 -sigopt "distid:$DISTID")
  "$OPENSSL" req -new -key "$WORK/keys/$keyname.key" -subj "$subj" -config "$WORK/ca.cnf" \
    "${reqopts[@]}" -out "$WORK/csr/$name.csr"
  local caopts=()
  if [ "$issuer" = self ]; then
    caopts=(-selfsign -keyfile "$WORK/keys/$keyname.key")
  else
    caopts=(-cert "$OUT/$issuer.crt.pem" -keyfile "$WORK/keys/$signer.key")
  fi
  [ "$type" = sm2 ] && caopts+=(-vfyopt "distid:$DISTID")
  if [ "$signer_type" = sm2 ]; then
    caopts+=(-md sm3 -sigopt "distid:$DISTID")
  else
    caopts+=(-md "${md:-sha256}")
  fi
  "$OPENSSL" ca -batch -config "$WORK/ca.cnf" -in "$WORK/csr/$name.csr" -out "$WORK/$name.crt" \
    -notext -preserveDN -rand_serial -startdate "$start" -enddate "$end" \
    -extfile "$WORK/ext.cnf" -extensions "$ext" "${caopts[@]}" 2>/dev/null
  "$OPENSSL" x509 -in "$WORK/$name.crt" -out "$OUT/$name.crt.pem"
  echo "$keyname" > "$WORK/issuer-key.$name"
}

# chain CASE CERT...: what a client presents, the leaf first.
chain() {
  local case=$1; shift
  : > "$OUT/chains/$case.pem"
  for c in "$@"; do cat "$OUT/$c.crt.pem" >> "$OUT/chains/$case.pem"; done
}

# der_len N: the DER length octets of N, as hex.
der_len() {
  if (( $1 < 128 )); then printf '%02x' "$1"
  elif (( $1 < 256 )); then printf '81%02x' "$1"
  else printf '82%04x' "$1"; fi
}

# tlv_hex_len HEX POS: how many hex digits the TLV starting at hex digit POS of HEX spans.
tlv_hex_len() {
  local h=$1 p=$2 l n
  l=$((16#${h:p+2:2}))
  if (( l < 128 )); then echo $(( (2 + l) * 2 )); return; fi
  n=$((l - 128))
  echo $(( (2 + n + 16#${h:p+4:n*2}) * 2 ))
}

# repatch NAME ISSUER(NAME|self) FROM TO: replaces the hex FROM by the hex TO in the
# tbsCertificate contents of NAME and signs it again with ISSUER's key, for encodings OpenSSL will
# not write (a CN that is not a string type, a PrintableString with '@', invalid UTF-8, an empty
# subject). FROM and TO are the same length or whole TLVs (the tbsCertificate length is rewritten).
repatch() {
  local name=$1 issuer=$2 from=$3 to=$4
  local hex start tbs_len tbs tbs_hdr body_hex alg_len alg signer sig
  hex=$("$OPENSSL" x509 -in "$OUT/$name.crt.pem" -outform DER | xxd -p | tr -d '\n')
  start=$(( (2 + 16#${hex:2:2} - 128) * 2 ))
  tbs_len=$(tlv_hex_len "$hex" "$start")
  tbs=${hex:start:tbs_len}
  alg_len=$(tlv_hex_len "$hex" $((start + tbs_len)))
  alg=${hex:start+tbs_len:alg_len}
  tbs_hdr=$(( (2 + 16#${tbs:2:2} - 128) * 2 ))
  body_hex=${tbs:tbs_hdr}
  [ "${body_hex/$from/}" != "$body_hex" ] || { echo "repatch $name: $from not found" >&2; exit 1; }
  body_hex=${body_hex/$from/$to}
  tbs="30$(der_len $(( ${#body_hex} / 2 )))$body_hex"
  echo "$tbs" | xxd -r -p > "$WORK/$name.tbs"
  signer=$(signer_key "$issuer" "$(cat "$WORK/issuer-key.$name")")
  if [ "$(cat "$WORK/keys/$signer.type")" = sm2 ]; then
    "$OPENSSL" dgst -sm3 -sign "$WORK/keys/$signer.key" -sigopt "distid:$DISTID" -out "$WORK/$name.sig" "$WORK/$name.tbs"
  else
    "$OPENSSL" dgst -sha256 -sign "$WORK/keys/$signer.key" -out "$WORK/$name.sig" "$WORK/$name.tbs"
  fi
  sig=$(xxd -p "$WORK/$name.sig" | tr -d '\n')
  local bits="03$(der_len $(( ${#sig} / 2 + 1 )))00$sig"
  local body="$tbs$alg$bits"
  # Written as PEM by hand: OpenSSL will not load some of these certificates.
  {
    echo "-----BEGIN CERTIFICATE-----"
    echo "30$(der_len $(( ${#body} / 2 )))$body" | xxd -r -p | "$OPENSSL" base64 -e
    echo "-----END CERTIFICATE-----"
  } > "$OUT/$name.crt.pem"
}

# hex_of TEXT: TEXT's bytes as hex.
hex_of() {
  printf '%s' "$1" | xxd -p | tr -d '\n'
}

# stamp: records the SHA-256 of the sourcing script and of this file, which the fixture tests
# compare with the scripts to notice fixtures that were not regenerated.
stamp() {
  cat "$OUT/generate.sh" "$(dirname "${BASH_SOURCE[0]}")/lib.sh" | sha256sum | cut -d' ' -f1 > "$OUT/generated-from.sha256"
  echo "fixtures written to $OUT"
}
