#!/bin/bash
# Shell test of `memcrypt engine`: the per-line AES-XTS transform against the openssl CLI.
# `openssl enc` refuses XTS modes, so the reference is built from `openssl enc -aes-N-ecb`
# (the AES block cipher) with the IEEE 1619 composition done in Python:
#   T = AES-ECB_k2(LE128(pa)); C_j = AES-ECB_k1(P_j ^ T.alpha^j) ^ T.alpha^j, per 64-byte line.
# python3-cryptography's AES-XTS (one data unit per line) is checked too (its absence fails under CI).
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
set -u
. "$(dirname "$0")/lib/cli.sh"
CLI=$MC

# The references for every case, computed by one python3 (one process per case and check before):
# stdin has one case per line, "KEYHEX PA DATAHEX"; stdout one line per case, "REFHEX PYHEX":
#   REFHEX from openssl ECB + the IEEE 1619 composition; PYHEX from python3-cryptography's AES-XTS
#   (one data unit per line), or "skip" when it is not installed.
REF_PY='
import subprocess, sys
try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except Exception:
    Cipher = None
def ecb(k, blk, d=False):
    cmd = ["openssl", "enc", "-aes-%d-ecb" % (len(k) * 8), "-nopad", "-K", k.hex()] + (["-d"] if d else [])
    return subprocess.run(cmd, input=blk, stdout=subprocess.PIPE, check=True).stdout
def alpha(t):
    v = int.from_bytes(t, "little") << 1
    if v >> 128:
        v = (v & ((1 << 128) - 1)) ^ 0x87
    return v.to_bytes(16, "little")
def ref(key, pa, data, dec=False):
    h = len(key) // 2
    k1, k2 = key[:h], key[h:]
    # ECB is block by block, so each openssl call takes every line of the case at once (two
    # processes per reference instead of two per line): the tweaks T_l = AES_k2(LE128(pa + 64 l)),
    # then the blocks.
    n = len(data) // 64
    T = ecb(k2, b"".join((pa + 64 * li).to_bytes(16, "little") for li in range(n)))
    tws, xs = [], []
    for li in range(n):
        t = T[16 * li: 16 * li + 16]
        tw = []
        for j in range(4):
            tw.append(t); t = alpha(t)
        tws.append(tw)
        line = data[64 * li: 64 * li + 64]
        xs.append(b"".join(bytes(a ^ b for a, b in zip(line[16*j:16*j+16], tw[j])) for j in range(4)))
    Y = ecb(k1, b"".join(xs), dec)
    return b"".join(bytes(a ^ b for a, b in zip(Y[64*li+16*j:64*li+16*j+16], tws[li][j]))
                    for li in range(n) for j in range(4))
def pyxts(key, pa, data):
    if Cipher is None:
        return "skip"
    out = b""
    for li in range(len(data) // 64):
        e = Cipher(algorithms.AES(key), modes.XTS((pa + 64 * li).to_bytes(16, "little"))).encryptor()
        out += e.update(data[64 * li: 64 * li + 64]) + e.finalize()
    return out.hex()
for line in sys.stdin:
    k, pa, d = line.split()
    key, pa, data = bytes.fromhex(k), int(pa, 0), bytes.fromhex(d)
    print(ref(key, pa, data).hex(), pyxts(key, pa, data))
'

rhex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }

K128=$(rhex 32)
K256=$(rhex 64)
cases=()
for spec in "aes-128-xts $K128" "aes-256-xts $K256"; do
    for case in "0x1000 64" "0x7fffffffc0 64" "0x200000 320" "0xfffffffffffff000 256"; do
        set -- $spec $case
        cases+=("$1 $2 $3 $(rhex "$4")")
    done
done
refs=()
while read -r w p; do refs+=("$w $p"); done < <(for c in "${cases[@]}"; do set -- $c; echo "$2 $3 $4"; done | python3 -c "$REF_PY")
[ ${#refs[@]} -eq ${#cases[@]} ] || bad "the references were not computed (${#refs[@]} of ${#cases[@]})"
for i in "${!cases[@]}"; do
    set -- ${cases[$i]}
    cipher=$1
    key=$2
    pa=$3
    data=$4
    n=$((${#data} / 2))
    set -- ${refs[$i]:-}
    want=${1:-}
    py=${2:-}
    for impl in auto portable aesni vaes; do
        got=$("$CLI" engine --cipher "$cipher" --key "$key" --pa "$pa" --impl "$impl" "$data" 2>/dev/null)
        rc=$?
        if [ $rc -eq 2 ] && [ "$impl" != auto ] && [ "$impl" != portable ]; then
            continue # this CPU lacks the instructions
        fi
        [ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "$cipher $impl pa=$pa len=$n: got $got want $want"
        back=$("$CLI" engine --cipher "$cipher" --key "$key" --pa "$pa" --impl "$impl" --decrypt "$got")
        [ "$back" = "$data" ] && ok || bad "$cipher $impl decrypt pa=$pa len=$n"
    done
    if [ "$py" != skip ]; then
        [ -n "$py" ] && [ "$py" = "$want" ] && ok || bad "python3-cryptography disagrees with the openssl reference"
    else
        cli_missing "python3-cryptography (scripts/deps installs it): its AES-XTS cross-check"
    fi
done

# multi-line input really uses per-line tweaks: each line equals the single-line transform
data=$(rhex 192)
whole=$("$CLI" engine --cipher aes-128-xts --key "$K128" --pa 0x4000 "$data")
parts=""
for i in 0 1 2; do
    parts+=$("$CLI" engine --cipher aes-128-xts --key "$K128" --pa $((0x4000 + 64 * i)) "${data:$((128 * i)):128}")
done
[ -n "$whole" ] && [ "$whole" = "$parts" ] && ok || bad "multi-line output differs from per-line outputs"

# JSON output
j=$("$CLI" engine --cipher aes-128-xts --key "$K128" --pa 0x4000 --json "$data")
echo "$j" | python3 -S -c "import json,sys; d=json.load(sys.stdin); assert d['output']=='$whole' and d['lines']==3 and d['pa']=='0x4000'" \
    && ok || bad "json output: $j"

# bad input -> exit 2 with a message
expect2() {
    local msg rc
    msg=$("$CLI" engine "$@" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] && [ -n "$msg" ] && ok || bad "expected exit 2 with a message for: $* (rc=$rc msg=$msg)"
}
L=$(rhex 64)
expect2 --cipher aes-128-xts --key "$K128" --pa 0 "${L}0"            # odd hex
expect2 --cipher aes-128-xts --key "$K128" --pa 0 "${L:0:126}zz"     # bad digit
expect2 --cipher aes-192-xts --key "$K128" --pa 0 "$L"                # bad cipher
expect2 --cipher aes-128-xts --key "$K128" --pa 0x1010 "$L"           # misaligned pa
expect2 --cipher aes-128-xts --key "$K128" --pa 0 "${L:0:64}"         # not whole lines
expect2 --cipher aes-128-xts --key "$K256" --pa 0 "$L"                # wrong key length
expect2 --cipher aes-128-xts --key "${K128:0:32}${K128:0:32}" --pa 0 "$L" # equal halves
expect2 --cipher aes-128-xts --key "$K128" --pa 0xffffffffffffffc0 "$L$L" # past 2^64
expect2 --cipher aes-128-xts --key "$K128" --pa -5 "$L"               # bad number
expect2 --cipher aes-128-xts --key "$K128" "$L"                       # missing --pa
expect2 --cipher aes-128-xts --key "$K128" --pa 0 --impl turbo "$L"   # bad impl
expect2 --cipher aes-128-xts --key "$K128" --pa 0                      # no data

cli_finish
