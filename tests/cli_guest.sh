#!/bin/bash
# `memcrypt guest report` and `memcrypt guest key`: the CLI inside an SEV-SNP guest, speaking only
# the kernel's /dev/sev-guest ABI. The guest is launched by `memcrypt run` (Debian's OVMF) and
# saved; the commands then run under `memcrypt exec --guest`, as they would in a real guest.
#  - report: REPORT_DATA as given (or random), MEASUREMENT = the launched guest's (from
#    `memcrypt measure`), VMPL as asked; --out and `report show` agree; --extended writes the host's
#    certificate table and the report verifies with it under the chip's emulated roots;
#  - key: the same request gives the same key in another process; another field select, root or
#    VMPL gives another; --out writes the 32 raw bytes;
#  - refusals: no device (outside a guest), --report-data too long, --random with --report-data,
#    --certs without --extended, --vmpl 4, --root other, a VMPL below... the guest's own is fine.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
OVMF=/usr/share/ovmf/OVMF.fd
cli_need "Debian's OVMF" "apt-get install ovmf" test -r "$OVMF"
cd "$SRC" || exit 1
S="$TMP/chip.state"
G="$TMP/guest.snp"
expect 0 "run --save of an SNP domain" -- "$MC" run examples/sev-snp-guest.xml --vcpu-type EPYC-Milan --state "$S" \
  --save "$G" --out-dir "$TMP/owner"
X=("$MC" exec --state "$S" --guest "$G" --)
meas=$("$MC" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf "$OVMF" 2>&1)
rd=$(printf '3c%.0s' $(seq 64))

expect 0 "guest report --report-data" -- "${X[@]}" "$MC" guest report --report-data "$rd" --out "$TMP/r1.bin"
has "  REPORT_DATA as given" "$rd"
has "  MEASUREMENT = memcrypt measure of the same launch" "$meas"
has "  VMPL 0" "vmpl                   0"
[ "$(stat -c %s "$TMP/r1.bin" 2>/dev/null)" = 1184 ] && ok || bad "--out: a 0x4A0-byte report"
shown=$out
expect 0 "report show of the written report" -- "$MC" report show "$TMP/r1.bin"
[ "$out" = "$(grep -v '^certificate table' <<<"$shown")" ] && ok || bad "report show prints what guest report printed"

expect 0 "guest report --random --vmpl 2 --json" -- "${X[@]}" "$MC" guest report --random --vmpl 2 --json
r1=$(python3 -S -c 'import json,sys; d=json.load(sys.stdin)["report"]; print(d["vmpl"], d["report_data"])' <<<"$out")
expect 0 "  again" -- "${X[@]}" "$MC" guest report --random --vmpl 2 --json
r2=$(python3 -S -c 'import json,sys; d=json.load(sys.stdin)["report"]; print(d["vmpl"], d["report_data"])' <<<"$out")
[[ "$r1" == "2 "* && "$r2" == "2 "* && "$r1" != "$r2" && ${#r1} -eq 130 ]] && ok || bad "--random: VMPL 2, 64 fresh bytes each time ($r1 / $r2)"

expect 0 "guest report --extended --certs" -- "${X[@]}" "$MC" guest report --extended --report-data "$rd" \
  --out "$TMP/r2.bin" --certs "$TMP/certs.bin"
has "  the table's length" "certificate table: "
[ -s "$TMP/certs.bin" ] && ok || bad "--certs wrote the table"
expect 0 "the extended report verifies with its table under the chip's roots" -- "$MC" report verify "$TMP/r2.bin" \
  --cert-table "$TMP/certs.bin" --roots "$TMP/owner" --measurement "$meas" --report-data "$rd"
expect 1 "  and not under AMD's roots" -- "$MC" report verify "$TMP/r2.bin" --cert-table "$TMP/certs.bin"

k() { "${X[@]}" "$MC" guest key "$@" 2>&1; }
k1=$(k --measurement --policy)
k2=$(k --measurement --policy)
[[ "$k1" =~ ^[0-9a-f]{64}$ && "$k1" == "$k2" ]] && ok || bad "guest key: the same key in two processes ($k1 / $k2)"
k3=$(k --measurement)
k4=$(k --measurement --policy --root vmrk)
k5=$(k --measurement --policy --vmpl 1)
[[ "$k3" =~ ^[0-9a-f]{64}$ && "$k3" != "$k1" ]] && ok || bad "another field select: another key"
[[ "$k4" =~ ^[0-9a-f]{64}$ && "$k4" != "$k1" ]] && ok || bad "the VM root key: another key"
[[ "$k5" =~ ^[0-9a-f]{64}$ && "$k5" != "$k1" ]] && ok || bad "VMPL 1: another key"
expect 0 "guest key --out --json" -- "${X[@]}" "$MC" guest key --measurement --policy --out "$TMP/k.bin" --json
[ "$(od -An -tx1 -v "$TMP/k.bin" | tr -d ' \n')" = "$k1" ] && ok || bad "--out: the key's 32 raw bytes"
has "  --json names the field select" '"guest_field_select": 9'

expect 3 "no /dev/sev-guest outside a guest" -- "$MC" guest report
has "  says where it runs" "memcrypt exec --state FILE --guest GUEST"
expect 3 "guest key outside a guest" -- "$MC" guest key
expect 2 "--report-data longer than 64 bytes" -- "${X[@]}" "$MC" guest report --report-data "${rd}00"
expect 2 "--random with --report-data" -- "${X[@]}" "$MC" guest report --random --report-data 00
expect 2 "--certs without --extended" -- "${X[@]}" "$MC" guest report --certs "$TMP/c"
expect 2 "--vmpl 4" -- "${X[@]}" "$MC" guest report --vmpl 4
expect 2 "--root other" -- "${X[@]}" "$MC" guest key --root vlek
expect 3 "a TCB above the committed one: refused by the firmware" -- "${X[@]}" "$MC" guest key --tcb --tcb-version 0xffffffffffffffff
has "  with the firmware's status" "status 0x"
cli_finish
