#!/usr/bin/env bash
# Shell test of `memcrypt measure`: every row of the shared reference table (the reference
# calculator's command lines and the digests or errors it printed) is run through the real CLI;
# the dumped VMSA pages are compared with the reference's byte for byte; bad inputs must fail
# with a clear message. $1 = memcrypt binary, $2 = shared/, $3 = source dir.
set -u
M=$1
SHARED=$2
V=$SHARED/vectors/snp-measure
pass=0
fail=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Resolve a file name used in the table: Debian's OVMF images, else the vector folder.
resolve() {
    case "$1" in
    OVMF.fd) echo /usr/share/ovmf/OVMF.fd ;;
    OVMF_CODE.fd) echo /usr/share/OVMF/OVMF_CODE.fd ;;
    *) if [ -e "$V/$1" ]; then echo "$V/$1"; else echo "$1"; fi ;;
    esac
}

rows=0
while IFS=$'\t' read -r args expect; do
    [ "$args" = "args" ] && continue
    [ -z "$args" ] && continue
    rows=$((rows + 1))
    eval "set -- $args" # the table quotes arguments the way a shell does
    shift               # the reference's program name
    argv=()
    for a in "$@"; do
        case "$a" in
        *.fd | *.bin) argv+=("$(resolve "$a")") ;;
        *) argv+=("$a") ;;
        esac
    done
    out=$("$M" measure "${argv[@]}" 2>"$TMP/err")
    rc=$?
    case "$expect" in
    ERROR*)
        msg=${expect#*Error: }
        if [ $rc -ne 0 ] && grep -qF -e "$msg" "$TMP/err"; then ok; else
            bad "row $rows: expected failure '$msg', got rc=$rc out='$out' err='$(cat "$TMP/err")'"
        fi
        ;;
    *)
        if [ $rc -eq 0 ] && [ "$out" = "$expect" ]; then ok; else
            bad "row $rows: $args: got '$out' (rc=$rc, $(cat "$TMP/err")), want '$expect'"
        fi
        ;;
    esac
done <"$V/reference.tsv"
[ $rows -ge 10 ] && ok || bad "only $rows rows read from reference.tsv"

# VMSA pages measured for the vmsa/ vector must equal the reference's dump.
mkdir -p "$TMP/vmsa"
if "$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd \
    --guest-features 0x21 --dump-vmsa="$TMP/vmsa" >/dev/null; then
    for i in 0 1; do
        cmp -s "$TMP/vmsa/vmsa$i.bin" "$V/vmsa/snp_OVMF.fd_EPYC-Milan_2vcpu_gf0x21_vmsa$i.bin" && ok ||
            bad "vmsa$i.bin differs from the reference dump"
    done
    [ ! -e "$TMP/vmsa/vmsa2.bin" ] && ok || bad "an extra VMSA was dumped"
else
    bad "--dump-vmsa run failed"
fi

# Same digest in base64 and with -v, and through the reference's other spellings.
O=/usr/share/ovmf/OVMF.fd
hex=$("$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $O)
b64=$("$M" measure --mode snp --vcpus=1 --vcpu-type=EPYC-v4 --ovmf=$O --output-format base64)
[ "$(echo "$b64" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$hex" ] && ok || bad "base64 output differs from hex"
v=$("$M" measure -v --mode snp --vcpus 1 --vcpu-sig 0x800f12 --ovmf $O)
[ "$v" = "Calculated SEV_SNP guest measurement: $hex" ] && ok || bad "verbose line: $v"
f=$("$M" measure --mode snp --vcpus 1 --vcpu-family 23 --vcpu-model 1 --vcpu-stepping 2 --ovmf $O)
[ "$f" = "$hex" ] && ok || bad "family/model/stepping signature gives another digest"

# The OVMF-hash path: snp:ovmf-hash then --snp-ovmf-hash gives the full digest.
oh=$("$M" measure --mode snp:ovmf-hash --ovmf $O)
h2=$("$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $O --snp-ovmf-hash "$oh")
[ "$h2" = "$hex" ] && ok || bad "--snp-ovmf-hash path differs"

# Transcript: one line per page, the last digest equals the measurement.
"$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O --guest-features 0x21 --transcript >"$TMP/t"
last=$(tail -n 2 "$TMP/t" | head -n 1 | sed 's/.*digest=\([0-9a-f]*\).*/\1/')
[ "$last" = "$(tail -n 1 "$TMP/t")" ] && ok || bad "transcript's last running digest is not the measurement"
grep -q 'VMSA .*vcpu=1 RIP=0xb004 CS.base=0x800000 SEV_FEATURES=0x21 RDX=0xa00f11' "$TMP/t" && ok ||
    bad "AP VMSA key fields missing from the transcript"
[ "$(grep -c ' NORMAL ' "$TMP/t")" -eq 512 ] && ok || bad "expected 512 NORMAL pages for a 2 MiB image"
"$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O --transcript --json >"$TMP/t.json" &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["transcript"][-1]["digest"]==d["measurement"]; assert d["transcript"][-1]["vmsa"]["vcpu"]==1' "$TMP/t.json" &&
    ok || bad "JSON transcript"

# diff: identical and different configurations.
"$M" measure diff --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O -- --mode snp --vcpus 2 \
    --vcpu-type EPYC-Milan --ovmf $O >"$TMP/d" && grep -q identical "$TMP/d" && ok || bad "diff of equal runs"
"$M" measure diff --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O -- --mode snp --vcpus 2 \
    --vcpu-type EPYC-Genoa --ovmf $O >"$TMP/d"
rc=$?
[ $rc -eq 1 ] && grep -q 'why: VMSA of vCPU 0 differs in RDX' "$TMP/d" && ok || bad "diff Milan/Genoa: rc=$rc $(cat "$TMP/d")"
"$M" measure diff --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $O -- --mode snp --vcpus 1 \
    --vcpu-type EPYC-v4 --ovmf /usr/share/OVMF/OVMF_CODE.fd >"$TMP/d"
[ $? -eq 1 ] && grep -q 'why: GPA differs' "$TMP/d" && ok || bad "diff of two images: $(cat "$TMP/d")"

# Bad input: clear message, non-zero exit, never a crash.
expect_fail() {
    local want=$1
    shift
    "$M" measure "$@" >"$TMP/o" 2>"$TMP/e"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qiF -e "$want" "$TMP/e"; then ok; else
        bad "measure $*: rc=$rc, stderr '$(cat "$TMP/e")' lacks '$want'"
    fi
}
expect_fail "--vcpus must be between" --mode snp --vcpus 0 --vcpu-type EPYC --ovmf $O
expect_fail "--vcpus must be between" --mode snp --vcpus 100000 --vcpu-type EPYC --ovmf $O
expect_fail "unknown vCPU type" --mode snp --vcpus 1 --vcpu-type EPYC-Pentium --ovmf $O
expect_fail "missing --vcpus" --mode snp --vcpu-type EPYC --ovmf $O
expect_fail "missing --vcpu-type" --mode snp --vcpus 1 --ovmf $O
expect_fail "unknown VMM type" --mode snp --vcpus 1 --vcpu-type EPYC --vmm-type xen --ovmf $O
expect_fail "unknown mode" --mode tdx --vcpus 1 --ovmf $O
expect_fail "--kernel required" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf $O --append x
expect_fail "cannot read the OVMF image" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/none.fd"
expect_fail "only works with SNP" --mode seves --vcpus 1 --vcpu-type EPYC --ovmf $O --snp-ovmf-hash "$oh"
expect_fail "kernel/initrd/cmdline" --mode sev --ovmf $O --kernel "$V/fake-kernel.bin"
# An image cut short: the GUID table is gone, so there is no SEV-ES reset block.
head -c 1048576 $O >"$TMP/half.fd"
expect_fail "no SEV-ES reset block" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/half.fd"
expect_fail "no SEV-ES reset block" --mode seves --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/half.fd"
# A table length that points before the start of the file.
cp "$V/ovmf_AmdSev_suffix.bin" "$TMP/big.bin"
printf '\xff\xff' | dd of="$TMP/big.bin" bs=1 seek=$((4096 - 50)) conv=notrunc 2>/dev/null
expect_fail "points before the start" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/big.bin"
# Not a multiple of 4 KiB.
head -c 4095 $O >"$TMP/odd.fd"
cat "$V/ovmf_AmdSev_suffix.bin" >>"$TMP/odd.fd"
expect_fail "not a multiple of 4 KiB" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/odd.fd"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
