#!/bin/bash
# Shell test of `memcrypt owner`: session files, measurement check against an independent
# computation (Python's hmac/hashlib and sha256sum over Debian's OVMF), secret packaging.
# $1 = memcrypt binary, $2 = tests/data (test vectors), $3 = source folder.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
S=$DATA
T=$TMP

# A platform to talk to, then the owner's session for its PDH (binary and base64 PDH).
expect 0 "export platform" -- "$M" certs export "$T/plat" --seed owner-test --root-bits 2048
expect 0 "session" -- "$M" owner session --pdh "$T/plat/pdh.cert" --policy 0x1 --out-dir "$T/o"
for f in godh.cert:2084 session.bin:128 tek.bin:16 tik.bin:16 tk.bin:32; do
    n=${f##*:}
    f=${f%%:*}
    [ "$(stat -c %s "$T/o/$f")" = "$n" ] && ok || bad "$f size"
done
cmp -s <(cat "$T/o/tek.bin" "$T/o/tik.bin") "$T/o/tk.bin" && ok || bad "tk.bin = tek || tik"
base64 -d "$T/o/session.b64" | cmp -s - "$T/o/session.bin" && ok || bad "session.b64"
base64 -d "$T/o/godh.b64" | cmp -s - "$T/o/godh.cert" && ok || bad "godh.b64"
"$M" certs show "$T/o/godh.cert" | grep -q "PDH (0x1003)" && ok || bad "GODH is a PDH-usage cert"
base64 -w0 "$T/plat/pdh.cert" >"$T/pdh.b64"
expect 0 "session from base64 PDH" -- "$M" owner session --pdh "$T/pdh.b64" --policy 7 --out-dir "$T/o2"
expect 3 "session with a PEK instead of a PDH" -- "$M" owner session --pdh "$T/plat/pek.cert" --policy 1 --out-dir "$T/o3"
head -c 100 "$T/plat/pdh.cert" >"$T/short"
expect 3 "session with a truncated PDH" -- "$M" owner session --pdh "$T/short" --policy 1 --out-dir "$T/o3"
expect 2 "session without policy" -- "$M" owner session --pdh "$T/plat/pdh.cert"

# Measurement: the platform side is simulated by Python (hmac/hashlib), not by memcrypt.
OVMF=/usr/share/ovmf/OVMF.fd
if [ -r "$OVMF" ] && command -v python3 >/dev/null; then
    meas() { # TIK file, launch digest hex -> MEASURE||MNONCE in base64 (API 0.24, build 15, policy 1)
        python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys
tik = open(sys.argv[1], "rb").read()
ld = bytes.fromhex(sys.argv[2])
mnonce = bytes(range(0x40, 0x50))
msg = bytes([4, 0, 24, 15]) + (1).to_bytes(4, "little") + ld + mnonce
print(base64.b64encode(hmac.new(tik, msg, hashlib.sha256).digest() + mnonce).decode())
PY
    }
    LD=$(sha256sum "$OVMF" | cut -d' ' -f1)
    MEAS=$(meas "$T/o/tik.bin" "$LD")
    expect 0 "measurement with --ovmf" -- "$M" owner verify-measurement --measurement "$MEAS" --tik "$T/o/tik.bin" \
        --api-major 0 --api-minor 24 --build 15 --policy 1 --ovmf "$OVMF"
    expect 0 "measurement with --digest" -- "$M" owner verify-measurement --measurement "$MEAS" --tk "$T/o/tk.bin" \
        --api-major 0 --api-minor 24 --build 15 --policy 1 --digest "$LD"
    expect 1 "wrong policy" -- "$M" owner verify-measurement --measurement "$MEAS" --tik "$T/o/tik.bin" \
        --api-major 0 --api-minor 24 --build 15 --policy 3 --ovmf "$OVMF"
    expect 1 "wrong build" -- "$M" owner verify-measurement --measurement "$MEAS" --tik "$T/o/tik.bin" \
        --api-major 0 --api-minor 24 --build 14 --policy 1 --ovmf "$OVMF"
    expect 1 "wrong TIK" -- "$M" owner verify-measurement --measurement "$MEAS" --tik "$T/o2/tik.bin" \
        --api-major 0 --api-minor 24 --build 15 --policy 1 --ovmf "$OVMF"
    # Debian's OVMF has no kernel-hashes table: QEMU refuses such a launch, and so do we, before
    # reading the kernel. An AmdSev build takes one, and the table changes the digest.
    expect 3 "a kernel with an OVMF that cannot take one" -- "$M" owner verify-measurement --measurement "$MEAS" \
        --tik "$T/o/tik.bin" --api-major 0 --api-minor 24 --build 15 --policy 1 --ovmf "$OVMF" --kernel "$T/o/tk.bin"
    AMDSEV=$S/snp-measure/ovmf_AmdSev_suffix.bin
    MEAS2=$(meas "$T/o/tik.bin" "$(sha256sum "$AMDSEV" | cut -d' ' -f1)")
    expect 0 "measurement with an AmdSev OVMF" -- "$M" owner verify-measurement --measurement "$MEAS2" \
        --tik "$T/o/tik.bin" --api-major 0 --api-minor 24 --build 15 --policy 1 --ovmf "$AMDSEV"
    expect 1 "firmware with a kernel table is a different digest" -- "$M" owner verify-measurement --measurement "$MEAS2" \
        --tik "$T/o/tik.bin" --api-major 0 --api-minor 24 --build 15 --policy 1 --ovmf "$AMDSEV" --kernel "$T/o/tk.bin"
    "$M" owner verify-measurement --json --measurement "$MEAS" --tik "$T/o/tik.bin" --api-major 0 --api-minor 24 \
        --build 15 --policy 1 --ovmf "$OVMF" | grep -q '"match": true' && ok || bad "json match"
else
    cli_missing "OVMF ($OVMF) or python3: the measurement checks"
fi
# KAT L1 of vectors/sev-launch-kat.md through the CLI.
printf '\x66\x32\x0d\xb7\x31\x58\xa3\x5a\x25\x5d\x05\x17\x58\xe9\x5e\xd4' >"$T/tik.kat"
L1=6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea4fbe0bedbad6c86ae8f68971d103e554
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
expect 0 "KAT L1" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/tik.kat" --api-major 0 --api-minor 18 \
    --build 15 --policy 0 --digest $EMPTY
expect 2 "bad measurement text" -- "$M" owner verify-measurement --measurement zz --tik "$T/tik.kat" --api-major 0 \
    --api-minor 18 --build 15 --policy 0 --digest $EMPTY
expect 2 "both digest and ovmf" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/tik.kat" --api-major 0 \
    --api-minor 18 --build 15 --policy 0 --digest $EMPTY --ovmf /dev/null
expect 3 "TIK file of the wrong size" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/o/tk.bin" \
    --api-major 0 --api-minor 18 --build 15 --policy 0 --digest $EMPTY

# Secret packaging, checked by Python's own AES-free recomputation of the MAC.
expect 0 "package secret" -- "$M" owner package-secret --tek "$T/o/tek.bin" --tik "$T/o/tik.bin" --measurement $L1 \
    --secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir "$T/s"
[ "$(stat -c %s "$T/s/secret_header.bin")" = 52 ] && ok || bad "header size"
[ "$(stat -c %s "$T/s/secret_payload.bin")" = 48 ] && ok || bad "payload size"
if command -v python3 >/dev/null; then
    python3 - "$T/o/tik.bin" "$T/s/secret_header.bin" "$T/s/secret_payload.bin" $L1 <<'PY' && ok || bad "secret MAC"
import hashlib, hmac, sys
tik = open(sys.argv[1], "rb").read()
hdr = open(sys.argv[2], "rb").read()
trans = open(sys.argv[3], "rb").read()
measure = bytes.fromhex(sys.argv[4])[:32]
n = len(trans).to_bytes(4, "little")
msg = b"\x01" + hdr[0:4] + hdr[4:20] + n + n + trans + measure
sys.exit(0 if hmac.compare_digest(hmac.new(tik, msg, hashlib.sha256).digest(), hdr[20:52]) else 1)
PY
else
    cli_missing "python3: the secret MAC check"
fi
expect 2 "bad GUID" -- "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --secret nope=1 --out-dir "$T/s"
expect 2 "no secret" -- "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --out-dir "$T/s"
printf 'raw secret bytes' >"$T/raw"
expect 0 "secret file" -- "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --secret-file "$T/raw" --out-dir "$T/s2"
[ "$(stat -c %s "$T/s2/secret_payload.bin")" = 16 ] && ok || bad "secret file payload size"

# --measurement: hex or base64, said which; MEASURE alone (64 hex digits) is a usage error unless
# the MNONCE comes with --nonce.
expect 0 "measurement as hex" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/tik.kat" --api-major 0 \
    --api-minor 18 --build 15 --policy 0 --digest $EMPTY
has "hex not said" "read as hex"
B64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' $L1)
expect 0 "measurement as base64" -- "$M" owner verify-measurement --measurement "$B64" --tik "$T/tik.kat" --api-major 0 \
    --api-minor 18 --build 15 --policy 0 --digest $EMPTY
has "base64 not said" "read as base64"
expect 2 "MEASURE without MNONCE" -- "$M" owner verify-measurement --measurement ${L1:0:64} --tik "$T/tik.kat" \
    --api-major 0 --api-minor 18 --build 15 --policy 0 --digest $EMPTY
has "MNONCE not named" "MEASURE without MNONCE"
expect 0 "MEASURE with --nonce" -- "$M" owner verify-measurement --measurement ${L1:0:64} --nonce ${L1:64:32} \
    --tik "$T/tik.kat" --api-major 0 --api-minor 18 --build 15 --policy 0 --digest $EMPTY
expect 2 "vCPU options for plain SEV" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/tik.kat" \
    --api-major 0 --api-minor 18 --build 15 --policy 0 --digest $EMPTY --vmsa-variant zero-fpu
expect 2 "SEV-ES without a vCPU model" -- "$M" owner verify-measurement --measurement $L1 --tik "$T/tik.kat" \
    --api-major 0 --api-minor 18 --build 15 --policy 4 --ovmf /dev/null

# The owner's PEK signing and the firmware's PEK_CERT_IMPORT agree.
if command -v openssl >/dev/null; then
    openssl ecparam -name secp384r1 -genkey -noout -out "$T/oca.pem" 2>/dev/null
    "$M" fw pek-csr --platform naples --state "$T/st" --seed owner "$T/csr" >/dev/null
    expect 0 "sign PEK CSR" -- "$M" owner sign-pek --csr "$T/csr" --oca-key "$T/oca.pem" --out-dir "$T/own"
    expect 0 "import the signed PEK" -- "$M" fw pek-import --platform naples --state "$T/st" "$T/own/pek.cert" "$T/own/oca.cert"
    has "PEK_CERT_IMPORT" "SUCCESS"
    expect 3 "sign a signed PEK" -- "$M" owner sign-pek --csr "$T/own/pek.cert" --oca-key "$T/oca.pem" --out-dir "$T/own2"
else
    cli_missing "openssl: the PEK signing checks"
fi

# LAUNCH_SECRET packets open with the transport keys; a wrong MEASURE is BAD_MEASUREMENT.
expect 0 "open secret" -- "$M" owner open-secret --tk "$T/o/tk.bin" --measurement $L1 --header "$T/s/secret_header.b64" \
    --payload "$T/s/secret_payload.bin" --out "$T/plain"
[ "$(tail -c +41 "$T/plain" | head -c 7)" = hunter2 ] && ok || bad "opened secret"
WRONG=$(printf '%s' $L1 | sed 's/^./f/')
expect 1 "secret with another MEASURE" -- "$M" owner open-secret --tk "$T/o/tk.bin" --measurement $WRONG \
    --header "$T/s/secret_header.bin" --payload "$T/s/secret_payload.bin"
has "BAD_MEASUREMENT not named" "BAD_MEASUREMENT"
# --iv reproduces a packet byte for byte.
for i in 1 2; do
    "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --iv 000102030405060708090a0b0c0d0e0f \
        --secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir "$T/iv$i" >/dev/null
done
cmp -s "$T/iv1/secret_header.bin" "$T/iv2/secret_header.bin" && ok || bad "--iv not reproducible"
expect 2 "short --iv" -- "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --iv 0001 \
    --secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir "$T/iv3"
expect 2 "bad --padding" -- "$M" owner package-secret --tk "$T/o/tk.bin" --measurement $L1 --padding qemu \
    --secret 736869e5-84f0-4973-92ec-06879ce3da0b=hunter2 --out-dir "$T/iv3"

cli_finish
