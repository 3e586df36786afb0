#!/bin/bash
# `memcrypt exec --guest`: unmodified programs inside a saved SEV-SNP guest. The client
# (tests/clients/sev_guest.c) knows only <linux/sev-guest.h>; the guest is made by
# tests/tools/snp_mkguest (an SNP guest launched in KVM's order and saved). Reports come from the
# emulated firmware through the guest's message channel, verify with `memcrypt report verify` under
# the chain the local KDS serves for the chip, and carry the saved guest's MEASUREMENT; concurrent
# programs share one guest without losing a sequence number.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
B=$(dirname "$M")
C="$B/sev_guest"
T=$TMP
cd "$T" || exit 1
S="$T/chip.state"
G="$T/guest.snp"
"$B/snp_mkguest" "$S" "$G" milan >made.txt || { bad "snp_mkguest"; cli_finish; }
meas=$(sed -n 's/^measurement //p' made.txt)
hd=$(sed -n 's/^host_data //p' made.txt)
X=("$M" exec --state "$S" --guest "$G" --)
rd=$(printf '5a%.0s' $(seq 64))

# A report with report data: the saved guest's MEASUREMENT and HOST_DATA, the caller's REPORT_DATA.
out=$("${X[@]}" "$C" report "$rd" r1.bin)
check "SNP_GET_REPORT: status 0, a v3 report of 0x4A0 bytes" '[[ "$out" == "status 0 size 1184"* ]]'
check "  MEASUREMENT = the saved guest's launch digest" '[[ -n "$meas" && "$out" == *"measurement $meas"* ]]'
check "  REPORT_DATA = the caller's" '[[ "$out" == *"report_data $rd"* ]]'
check "  HOST_DATA = the host's at launch" '[[ "$out" == *"host_data $hd"* ]]'

# The chain of the chip as the local KDS serves it; the report verifies under it, with its VCEK.
cli_kds_serve srv.txt --state "$S"
srv=$kds_pid
port=$kds_port
check "the local KDS serves the chip" '[[ -n "$port" ]]'
mkdir roots
curl -sf "http://127.0.0.1:$port/vcek/v1/Milan/cert_chain" -o roots/chain.pem
awk 'n==0{print > "roots/ask.pem"} n==1{print > "roots/ark.pem"} /END CERTIFICATE/{n++}' roots/chain.pem
check "cert_chain: ASK then ARK" '[[ -s roots/ask.pem && -s roots/ark.pem ]]'
mkdir ext
out=$("${X[@]}" "$C" ext-report "$rd" ext)
check "SNP_GET_EXT_REPORT without a buffer: -EIO, exitinfo2 INVALID_LEN, certs_len = pages needed" \
   '[[ "$out" == "query: Input/output error exitinfo2 0x100000000 certs_len "[1-9]* ]]'
check "  the table: VCEK, ASK, ARK GUIDs" '[[ "$out" == *"cert 63da758d-e664-4564-adc5-f4b93be8accd "* && "$out" == *"cert 4ab7b379-bbac-4fe4-a02f-05aef327c782 "* && "$out" == *"cert c0b406a4-a803-4952-9743-3fb6014cd0ae "* ]]'
out=$("$M" report verify r1.bin --cert-table ext/certs.bin --roots roots --measurement "$meas" --report-data "$rd" --host-data "$hd" 2>&1)
check "report verify --roots (the KDS's chain) accepts the report with the host's table" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
out=$("$M" report verify ext/report.bin --cert-table ext/certs.bin --roots roots --measurement "$meas" 2>&1)
check "  and the extended report" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
kill $srv 2>/dev/null
wait $srv 2>/dev/null
srv=

# Derived keys: the same request gives the same key (in another process); another field select another.
k1=$("${X[@]}" "$C" key 0 0 0x8 0 0)
k2=$("${X[@]}" "$C" key 0 0 0x8 0 0)
k3=$("${X[@]}" "$C" key 0 0 0x9 0 0)
check "SNP_GET_DERIVED_KEY: status 0 and a key" '[[ "$k1" =~ ^status\ 0\ key\ [0-9a-f]{64}$ ]]'
check "  the same request, the same key" '[[ "$k1" == "$k2" ]]'
check "  another field select, another key" '[[ "$k1" != "$k3" ]]'

# Every hostile call answers as the driver does.
"${X[@]}" "$C" hostile >hostile.txt 2>&1
rc=$?
check "hostile calls: all as the driver (exit $rc)" '[[ $rc == 0 ]] || { cat hostile.txt; false; }'
check "hostile calls: at least 25 checked" '(( $(grep -c " ok (" hostile.txt) >= 25 ))'

# Concurrent programs share the guest: no sequence number is lost or reused.
"${X[@]}" "$C" loop 6 >l1.txt 2>&1 &
p1=$!
"${X[@]}" "$C" loop 6 >l2.txt 2>&1 &
p2=$!
"${X[@]}" "$C" loop 6 >l3.txt 2>&1
r3=$?
wait $p1; r1=$?
wait $p2; r2=$?
check "three processes, 18 reports, all answered" '[[ $r1 == 0 && $r2 == 0 && $r3 == 0 ]] || { cat l1.txt l2.txt l3.txt; false; }'
out=$("${X[@]}" "$C" report "$rd")
check "  the guest still answers afterwards (counters in step)" '[[ "$out" == "status 0 size 1184"* ]]'

# Outside a guest there is no /dev/sev-guest; a guest from another chip cannot be opened.
out=$("$M" exec --state "$S" -- "$C" report "$rd" 2>&1)
check "exec without --guest: no /dev/sev-guest" '[[ "$out" == *"No such file or directory"* ]]'
out=$("$M" exec --guest "$G" -- "$C" report "$rd" 2>&1)
check "--guest without --state: usage error" '[[ $? == 2 || "$out" == *"--guest needs --state"* ]]'
"$M" fw status --platform milan --state other.state >/dev/null
out=$("$M" exec --state other.state --guest "$G" -- "$C" report "$rd" 2>&1)
check "a guest saved on another chip: EIO, and why" '[[ "$out" == *"another chip"* && "$out" == *"Input/output error"* ]] || { echo "$out"; false; }'
printf 'not a guest' >junk.snp
out=$("$M" exec --state "$S" --guest junk.snp -- "$C" report "$rd" 2>&1)
check "a file that is not a saved guest: exec refuses it" '[[ $? != 0 && "$out" == *"not a memcrypt saved guest"* ]]'
check "... naming the file and how a guest is made" '[[ "$out" == *"--guest junk.snp: "* && "$out" == *"--save GUEST"* ]]'
: >empty.snp
out=$("$M" exec --state "$S" --guest empty.snp -- "$C" report "$rd" 2>&1)
check "an empty --guest file: exit 3, named" '[[ $? == 3 && "$out" == *"--guest empty.snp: the file is empty"* ]]'

# A wrong message version: the firmware refuses it, the driver wipes VMPCK0 (as Linux), and the
# guest file remembers: later programs get ENOTTY.
cp "$G" "$T/g2.snp"
out=$("$M" exec --state "$S" --guest "$T/g2.snp" -- "$C" wrong-version)
check "msg_version 2: -EIO with the firmware's status, then ENOTTY (VMPCK0 wiped)" '[[ "$out" == "version 2: Input/output error exitinfo2 0x"* && "$out" == *"then: Inappropriate ioctl for device"* ]] || { echo "$out"; false; }'
out=$("$M" exec --state "$S" --guest "$T/g2.snp" -- "$C" report "$rd")
check "  and in the next program" '[[ "$out" == *"Inappropriate ioctl for device"* ]]'

cli_finish
