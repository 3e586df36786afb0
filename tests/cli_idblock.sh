#!/usr/bin/env bash
# Shell test of `memcrypt idblock` and `idblock check`: keys made by the openssl CLI, the
# ID key digest recomputed independently (openssl's public point -> SNP key blob -> SHA-384 in
# Python), round trips through files and base64, tampering and mismatches refused.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
set -u
. "$(dirname "$0")/lib/cli.sh"
M=$MC

openssl ecparam -name secp384r1 -genkey -noout -out "$TMP/id.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TMP/au.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/p256.pem" 2>/dev/null
O=/usr/share/ovmf/OVMF.fd

# Built from measure options: the digest is the measure command's.
want=$("$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O --guest-features 0x21)
"$M" idblock --id-key "$TMP/id.pem" --author-key "$TMP/au.pem" --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf $O --guest-features 0x21 --family-id 00112233 --image-id ff --guest-svn 3 --policy 0x30000 \
    --out-block "$TMP/b.bin" --out-auth "$TMP/a.bin" --json >"$TMP/out.json"
[ $? -eq 0 ] && ok || bad "idblock build failed"
python3 - "$TMP/out.json" "$want" "$TMP/b.bin" "$TMP/a.bin" <<'PY' && ok || bad "JSON / files do not match"
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert d["measurement"] == sys.argv[2]
b = open(sys.argv[3], "rb").read(); a = open(sys.argv[4], "rb").read()
assert len(b) == 0x60 and len(a) == 0x1000
assert base64.b64decode(d["id_block"]) == b and base64.b64decode(d["id_auth"]) == a
assert b[:48].hex() == sys.argv[2] and b[0x30:0x34] == bytes.fromhex("00112233") and b[0x40] == 0xff
assert int.from_bytes(b[0x50:0x54], "little") == 1 and int.from_bytes(b[0x54:0x58], "little") == 3
assert int.from_bytes(b[0x58:0x60], "little") == 0x30000 and d["author_key_enabled"] is True
PY

# ID key digest computed outside memcrypt.
pub=$(openssl ec -in "$TMP/id.pem" -pubout -outform DER 2>/dev/null | tail -c 97 | od -An -tx1 | tr -d ' \n')
indep=$(python3 -c '
import hashlib, sys
p = bytes.fromhex(sys.argv[1]); assert p[0] == 4
x, y = p[1:49], p[49:97]
blob = (2).to_bytes(4, "little") + x[::-1] + bytes(24) + y[::-1] + bytes(24) + bytes(0x370)
print(hashlib.sha384(blob).hexdigest())' "$pub")
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id_key_digest"])' "$TMP/out.json")
[ "$indep" = "$got" ] && ok || bad "id_key_digest $got != independent $indep"

# check: files, base64 text, expected measurement and policy.
"$M" idblock check --id-block "$TMP/b.bin" --id-auth "$TMP/a.bin" --measurement "$want" --policy 0x30000 >"$TMP/c" &&
    grep -q "OK: signatures verify" "$TMP/c" && grep -q "$indep" "$TMP/c" && ok || bad "check of the files: $(cat "$TMP/c")"
b64b=$(base64 -w0 "$TMP/b.bin")
b64a=$(base64 -w0 "$TMP/a.bin")
"$M" idblock check --id-block "$b64b" --id-auth "$b64a" >/dev/null && ok || bad "check of base64 text"
"$M" idblock check --id-block "$b64b" --id-auth "$b64a" --measurement "${want%?}0" >"$TMP/c"
[ $? -eq 1 ] && grep -q "differs from --measurement" "$TMP/c" && ok || bad "measurement mismatch not reported"
"$M" idblock check --id-block "$b64b" --id-auth "$b64a" --policy 0x10000 >"$TMP/c"
[ $? -eq 1 ] && grep -q "policy" "$TMP/c" && ok || bad "policy mismatch not reported"

# Tampering: one bit of the block, one bit of the author signature.
python3 - "$TMP/b.bin" "$TMP/a.bin" "$TMP" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[0x10] ^= 1; open(sys.argv[3] + "/b2.bin", "wb").write(b)
a = bytearray(open(sys.argv[2], "rb").read()); a[0x690] ^= 1; open(sys.argv[3] + "/a2.bin", "wb").write(a)
PY
"$M" idblock check --id-block "$TMP/b2.bin" --id-auth "$TMP/a.bin" >"$TMP/c"
[ $? -eq 1 ] && grep -q "ID block signature" "$TMP/c" && ok || bad "tampered block accepted: $(cat "$TMP/c")"
"$M" idblock check --id-block "$TMP/b.bin" --id-auth "$TMP/a2.bin" >"$TMP/c"
[ $? -eq 1 ] && grep -q "author key" "$TMP/c" && ok || bad "tampered author signature accepted"
"$M" idblock check --id-block "$TMP/b.bin" --id-auth "$TMP/a2.bin" --author-key-enabled off >/dev/null &&
    ok || bad "author fields should be ignored with --author-key-enabled off"

# Without an author key; with --measurement; bad inputs.
"$M" idblock --id-key "$TMP/id.pem" --measurement "$want" --out-block "$TMP/b3.bin" --out-auth "$TMP/a3.bin" \
    >"$TMP/t" && grep -q "author-key-enabled=off" "$TMP/t" && grep -q "<idBlock>" "$TMP/t" && ok || bad "no-author build"
"$M" idblock check --id-block "$TMP/b3.bin" --id-auth "$TMP/a3.bin" --measurement "$want" >/dev/null && ok ||
    bad "no-author check"
expect_fail() {
    local want_msg=$1
    shift
    "$M" "$@" >"$TMP/o" 2>"$TMP/e"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qiF -e "$want_msg" "$TMP/e" "$TMP/o"; then ok; else
        bad "$*: rc=$rc, '$(cat "$TMP/e" "$TMP/o")' lacks '$want_msg'"
    fi
}
expect_fail "$TMP/p256.pem: ID key: the key is not an ECDSA P-384" idblock --id-key "$TMP/p256.pem" --measurement "$want"
# A key file that does not serve is named in the message (FILE: why), whichever option gave it.
echo "junk" >"$TMP/junk.pem"
: >"$TMP/empty.pem"
expect_fail "$TMP/junk.pem: ID key: not a PEM private key" idblock --id-key "$TMP/junk.pem" --measurement "$want"
expect_fail "$TMP/empty.pem: ID key: not a PEM private key" idblock --id-key "$TMP/empty.pem" --author-key "$TMP/au.pem" --measurement "$want"
expect_fail "$TMP/p256.pem: author key: the key is not an ECDSA P-384" idblock --id-key "$TMP/id.pem" --author-key "$TMP/p256.pem" --measurement "$want"
openssl ec -in "$TMP/au.pem" -pubout -out "$TMP/au-pub.pem" 2>/dev/null
expect_fail "$TMP/au-pub.pem: author key: not a PEM private key" idblock --id-key "$TMP/id.pem" --author-key "$TMP/au-pub.pem" --measurement "$want"
expect_fail "$TMP/none.pem: " idblock --id-key "$TMP/none.pem" --measurement "$want"
expect_fail "--id-key PEM is required" idblock --measurement "$want"
expect_fail "96 hex digits" idblock --id-key "$TMP/id.pem" --measurement abcd
b64m=$(echo "$want" | xxd -r -p | base64 -w0)
"$M" idblock --id-key "$TMP/id.pem" --measurement "$b64m" --json | grep -q "\"measurement\": \"$want\"" && ok ||
    bad "base64 --measurement"
expect_fail "either --measurement" idblock --id-key "$TMP/id.pem"
expect_fail "up to 16 bytes" idblock --id-key "$TMP/id.pem" --measurement "$want" --family-id 00112233445566778899aabbccddeeff00
expect_fail "SEV-SNP measurement" idblock --id-key "$TMP/id.pem" --mode sev --ovmf $O
expect_fail "--id-block: base64" idblock check --id-block "$b64a" --id-auth "$b64a"
expect_fail "--id-auth" idblock check --id-block "$b64b" --id-auth "!!!"

cli_finish
