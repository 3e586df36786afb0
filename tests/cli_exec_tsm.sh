#!/bin/bash
# configfs-tsm under `memcrypt exec --guest`: a report read with plain mkdir, echo, cat, dd and rmdir
# (Debian's coreutils and bash, unmodified) as the kernel's configfs-tsm documentation shows it; the
# report verifies with `memcrypt report verify --roots` (the chain the local KDS serves for the
# chip) and the auxblob certificate table, and its MEASUREMENT is the saved guest's. The
# attributes answer with Linux 6.7's semantics: generation, privlevel range, the cached report
# regenerated when inblob or privlevel changed, permissions, sizes.
M=$1
B=$(dirname "$M")
pass=0
fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
T=$(mktemp -d)
srv=
trap '[[ -n $srv ]] && kill $srv 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
S="$T/chip.state"
G="$T/guest.snp"
"$B/snp_mkguest" "$S" "$G" milan >made.txt || { echo "FAIL: snp_mkguest"; exit 1; }
meas=$(sed -n 's/^measurement //p' made.txt)
X=("$M" exec --state "$S" --guest "$G" --)
R=/sys/kernel/config/tsm/report/r0
nonce=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
nonce_hex=$(printf '%s' "$nonce" | od -An -v -tx1 | tr -d ' \n')

cat >flow.sh <<EOF
mkdir $R || exit 10
cat $R/provider >provider.txt
cat $R/privlevel_floor >floor.txt
cat $R/generation >gen0.txt
echo -n $nonce > $R/inblob
cat $R/generation >gen1.txt
cat $R/outblob > report.bin || exit 11
cat $R/auxblob > certs.bin || exit 12
cat $R/outblob > again.bin
cat $R/generation >gen2.txt
echo 1 > $R/privlevel
cat $R/generation >gen3.txt
cat $R/outblob > vmpl1.bin
dd if=/dev/urandom of=$R/inblob bs=64 count=1 status=none
cat $R/outblob > fresh.bin
rmdir $R || exit 13
EOF
"${X[@]}" bash flow.sh >flow.out 2>&1
rc=$?
ok "mkdir, echo, cat, dd, rmdir ran (exit $rc)" '[[ $rc == 0 ]] || { cat flow.out; false; }'
ok "provider: sev_guest" '[[ "$(cat provider.txt)" == sev_guest ]]'
ok "privlevel_floor: 0 (VMPCK0)" '[[ "$(cat floor.txt)" == 0 ]]'
ok "generation: 0, 1 after inblob, unchanged by reads, 2 after privlevel" '[[ "$(cat gen0.txt gen1.txt gen2.txt gen3.txt | tr "\n" " ")" == "0 1 1 2 " ]]'
ok "outblob: a 0x4A0-byte report" '[[ $(stat -c %s report.bin) == 1184 ]]'
ok "outblob read twice in one generation: the cached report" 'cmp -s report.bin again.bin'
ok "a new inblob: a new report" '! cmp -s report.bin fresh.bin'
ok "auxblob: a certificate table" '[[ $(stat -c %s certs.bin) -gt 3000 ]]'

# The chip's chain from the local KDS; the report verifies with the auxblob's table under it.
"$M" kds serve --state "$S" --listen 127.0.0.1:0 >srv.txt 2>srv.err &
srv=$!
for _ in $(seq 2400); do grep -q serving srv.txt 2>/dev/null && break; kill -0 $srv 2>/dev/null || break; sleep 0.25; done
port=$(grep -o '127.0.0.1:[0-9]*' srv.txt | head -1 | cut -d: -f2)
mkdir roots
curl -sf "http://127.0.0.1:$port/vcek/v1/Milan/cert_chain" -o roots/chain.pem
awk 'n==0{print > "roots/ask.pem"} n==1{print > "roots/ark.pem"} /END CERTIFICATE/{n++}' roots/chain.pem
kill $srv 2>/dev/null
wait $srv 2>/dev/null
srv=
out=$("$M" report verify report.bin --cert-table certs.bin --roots roots --measurement "$meas" --report-data "$nonce_hex" --vmpl 0 2>&1)
ok "report verify --roots accepts outblob; MEASUREMENT = the saved guest's; REPORT_DATA = inblob" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
out=$("$M" report verify vmpl1.bin --cert-table certs.bin --roots roots --measurement "$meas" --vmpl 1 2>&1)
ok "privlevel 1: the report's VMPL is 1" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
out=$("$M" report verify report.bin --cert-table certs.bin --roots roots --measurement "$(printf '%096d' 0)" 2>&1)
ok "  another MEASUREMENT is refused" '[[ "$out" == *"NOT verified"* ]]'

# The kernel's answers to what it refuses.
cat >bad.sh <<EOF
mkdir $R
echo "mkdir again: \$(mkdir $R 2>&1)"
echo "outblob without inblob: \$(cat $R/outblob 2>&1 >/dev/null)"
echo "read inblob: \$(cat $R/inblob 2>&1 >/dev/null)"
echo "privlevel 4: \$( (echo 4 > $R/privlevel) 2>&1)"
echo "privlevel -1: \$( (echo -1 > $R/privlevel) 2>&1)"
echo "generation after refusals: \$(cat $R/generation)"
echo "inblob of 65 bytes: \$(head -c 65 /dev/zero 2>&1 > $R/inblob)"
echo -n short > $R/inblob
echo "outblob of a 5-byte inblob: \$(cat $R/outblob 2>&1 >/dev/null)"
echo "write provider: \$( (echo x > $R/provider) 2>&1)"
echo "no such item: \$(cat /sys/kernel/config/tsm/report/none/outblob 2>&1)"
echo "no such attribute: \$(cat $R/nothing 2>&1)"
echo "stat item: \$(stat -c '%F %a' $R)"
echo "stat outblob: \$(stat -c '%F %a %s' $R/outblob)"
echo "stat inblob: \$(stat -c '%F %a' $R/inblob)"
echo "mkdir inside an item: \$(mkdir $R/sub 2>&1)"
echo "rmdir report folder: \$(rmdir /sys/kernel/config/tsm/report 2>&1)"
rmdir $R
echo "rmdir again: \$(rmdir $R 2>&1)"
EOF
"${X[@]}" bash bad.sh >bad.out 2>&1
has() { grep -q -- "$1" bad.out; }
ok "mkdir of an existing item: File exists" 'has "mkdir again: .*File exists"'
ok "outblob before inblob: Invalid argument" 'has "outblob without inblob: .*Invalid argument"'
ok "inblob is write-only: Permission denied" 'has "read inblob: .*Permission denied"'
ok "privlevel above 3: Invalid argument (echo's write fails)" 'has "privlevel 4: .*write error: Invalid argument"'
ok "privlevel -1: Invalid argument" 'has "privlevel -1: .*Invalid argument"'
ok "refused writes leave generation" 'has "generation after refusals: 0"'
ok "inblob over 64 bytes: File too large" 'has "inblob of 65 bytes: .*File too large"'
ok "a report needs 64 bytes of report data: Invalid argument" 'has "outblob of a 5-byte inblob: .*Invalid argument"'
ok "provider is read-only: Permission denied" 'has "write provider: .*Permission denied"'
ok "an unknown item: No such file or directory" 'has "no such item: .*No such file or directory"'
ok "an unknown attribute: No such file or directory" 'has "no such attribute: .*No such file or directory"'
ok "stat: an item is a folder (755)" 'has "stat item: directory 755"'
ok "stat: outblob a regular file 444 of 4096 bytes, inblob 200" 'has "stat outblob: regular file 444 4096" && has "stat inblob: regular file 200"'
ok "no folders inside an item: Operation not permitted" 'has "mkdir inside an item: .*Operation not permitted"'
ok "the report folder cannot be removed" 'has "rmdir report folder: .*Operation not permitted"'
ok "rmdir of a removed item: No such file or directory" 'has "rmdir again: .*No such file or directory"'
[[ $fail == 0 ]] || cat bad.out

# Without --guest the tree does not exist (the host's own /sys answers).
out=$("$M" exec --state "$S" -- bash -c "mkdir $R" 2>&1)
ok "exec without --guest: no configfs-tsm" '[[ $? != 0 && "$out" == *"No such file or directory"* ]]'

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
