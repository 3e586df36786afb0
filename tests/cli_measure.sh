#!/usr/bin/env bash
# Shell test of `memcrypt measure`: every row of the shared reference table (the reference
# calculator's command lines and the digests or errors it printed) is run through the real CLI;
# the dumped VMSA pages are compared with the reference's byte for byte; bad inputs must fail
# with a clear message. $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
set -u
. "$(dirname "$0")/lib/cli.sh"
M=$MC
V=$DATA/snp-measure

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

# The reference project's own published vectors for its AmdSev fixture (sev-snp-measure
# tests/test_guest.py, upstream values): other VMM types, seves, sev, ovmf-hash seeding.
S=$V/ovmf_AmdSev_suffix.bin
upstream() {
    local want=$1
    shift
    local got
    got=$("$M" measure "$@" --ovmf "$S" 2>&1)
    [ "$got" = "$want" ] && ok || bad "upstream vector $*: got '$got', want '$want'"
}
upstream 0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --append '' --guest-features 0x21 --vmm-type ec2
upstream 0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056 \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --guest-features 0x1 --vmm-type ec2
upstream 5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e \
    --mode snp --vcpus 1 --kernel /dev/null --initrd /dev/null --vmm-type gce
upstream 5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d \
    --mode snp --vcpus 4 --kernel /dev/null --initrd /dev/null --vmm-type gce
upstream 803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977 \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --append 'console=ttyS0 loglevel=7' --guest-features 0x21
upstream 6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --append 'console=ttyS0 loglevel=7'
upstream e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x21
upstream 4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942 \
    --mode snp --vcpus 4 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --guest-features 0x21
upstream 329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198 \
    --mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --guest-features 0x21 \
    --snp-ovmf-hash 086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74
upstream 086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74 \
    --mode snp:ovmf-hash
upstream 13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c \
    --mode seves --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null
upstream 0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91 \
    --mode seves --vcpus 4 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --guest-features 0x21
upstream 82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff \
    --mode sev --kernel /dev/null --initrd /dev/null --append 'console=ttyS0 loglevel=7'
upstream 77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898 --mode sev --kernel /dev/null

# VMSA pages measured for the vmsa/ vector must equal the reference's dump.
mkdir -p "$TMP/vmsa"
if "$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd \
    --guest-features 0x21 --dump-vmsa="$TMP/vmsa" >/dev/null; then
    for i in 0 1; do
        cmp -s "$TMP/vmsa/vmsa$i.bin" "$V/vmsa/snp_OVMF.fd_EPYC-Milan_2vcpu_gf0x21_vmsa$i.bin" && ok ||
            bad "vmsa$i.bin differs from the reference dump"
    done
    [ ! -e "$TMP/vmsa/vmsa2.bin" ] && ok || bad "an extra VMSA was dumped"
    mkdir -p "$TMP/vmsa2"
    "$M" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd --guest-features 0x21 \
        --dump-vmsa "$TMP/vmsa2" >/dev/null && cmp -s "$TMP/vmsa/vmsa1.bin" "$TMP/vmsa2/vmsa1.bin" && ok ||
        bad "--dump-vmsa DIR (separate argument)"
    (cd "$TMP/vmsa2" && rm -f vmsa*.bin && "$M" measure --mode seves --vcpus 3 --vcpu-type EPYC --ovmf \
        /usr/share/ovmf/OVMF.fd --dump-vmsa >/dev/null && [ -e vmsa2.bin ] && [ ! -e vmsa3.bin ]) && ok ||
        bad "--dump-vmsa without a folder writes to the current one"
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

# Oversized (sparse) image and an empty one.
truncate -s 65M "$TMP/huge.fd"
expect_fail "larger than" --mode snp --vcpus 1 --vcpu-type EPYC --ovmf "$TMP/huge.fd"
: >"$TMP/empty.fd"
expect_fail "empty" --mode sev --ovmf "$TMP/empty.fd"

cli_finish
