#!/bin/bash
# configfs-tsm under `memcrypt exec --guest`: a report read with plain mkdir, echo, cat, dd and rmdir,
# the tree listed with ls, find, python3 and a getdents64 client
# (Debian's coreutils and bash, unmodified) as the kernel's configfs-tsm documentation shows it; the
# report verifies with `memcrypt report verify --roots` (the chain the local KDS serves for the
# chip) and the auxblob certificate table, and its MEASUREMENT is the saved guest's. The
# attributes answer with Linux 6.7's semantics: generation, privlevel range, the cached report
# regenerated when inblob or privlevel changed, permissions, sizes.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
B=$(dirname "$M")
T=$TMP
cd "$T" || exit 1
S="$T/chip.state"
G="$T/guest.snp"
"$B/snp_mkguest" "$S" "$G" milan >made.txt || { bad "snp_mkguest"; cli_finish; }
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
check "mkdir, echo, cat, dd, rmdir ran (exit $rc)" '[[ $rc == 0 ]] || { cat flow.out; false; }'
check "provider: sev_guest" '[[ "$(cat provider.txt)" == sev_guest ]]'
check "privlevel_floor: 0 (VMPCK0)" '[[ "$(cat floor.txt)" == 0 ]]'
check "generation: 0, 1 after inblob, unchanged by reads, 2 after privlevel" '[[ "$(cat gen0.txt gen1.txt gen2.txt gen3.txt | tr "\n" " ")" == "0 1 1 2 " ]]'
check "outblob: a 0x4A0-byte report" '[[ $(stat -c %s report.bin) == 1184 ]]'
check "outblob read twice in one generation: the cached report" 'cmp -s report.bin again.bin'
check "a new inblob: a new report" '! cmp -s report.bin fresh.bin'
check "auxblob: a certificate table" '[[ $(stat -c %s certs.bin) -gt 3000 ]]'

# The chip's chain from the local KDS; the report verifies with the auxblob's table under it.
cli_kds_serve srv.txt --state "$S"
srv=$kds_pid
port=$kds_port
mkdir roots
curl -sf "http://127.0.0.1:$port/vcek/v1/Milan/cert_chain" -o roots/chain.pem
awk 'n==0{print > "roots/ask.pem"} n==1{print > "roots/ark.pem"} /END CERTIFICATE/{n++}' roots/chain.pem
kill $srv 2>/dev/null
wait $srv 2>/dev/null
srv=
out=$("$M" report verify report.bin --cert-table certs.bin --roots roots --measurement "$meas" --report-data "$nonce_hex" --vmpl 0 2>&1)
check "report verify --roots accepts outblob; MEASUREMENT = the saved guest's; REPORT_DATA = inblob" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
out=$("$M" report verify vmpl1.bin --cert-table certs.bin --roots roots --measurement "$meas" --vmpl 1 2>&1)
check "privlevel 1: the report's VMPL is 1" '[[ "$out" == *verified* && "$out" != *"NOT verified"* ]] || { echo "$out"; false; }'
out=$("$M" report verify report.bin --cert-table certs.bin --roots roots --measurement "$(printf '%096d' 0)" 2>&1)
check "  another MEASUREMENT is refused" '[[ "$out" == *"NOT verified"* ]]'

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
said() { grep -q -- "$1" bad.out; }
check "mkdir of an existing item: File exists" 'said "mkdir again: .*File exists"'
check "outblob before inblob: Invalid argument" 'said "outblob without inblob: .*Invalid argument"'
check "inblob is write-only: Permission denied" 'said "read inblob: .*Permission denied"'
check "privlevel above 3: Invalid argument (echo's write fails)" 'said "privlevel 4: .*write error: Invalid argument"'
check "privlevel -1: Invalid argument" 'said "privlevel -1: .*Invalid argument"'
check "refused writes leave generation" 'said "generation after refusals: 0"'
check "inblob over 64 bytes: File too large" 'said "inblob of 65 bytes: .*File too large"'
check "a report needs 64 bytes of report data: Invalid argument" 'said "outblob of a 5-byte inblob: .*Invalid argument"'
check "provider is read-only: Permission denied" 'said "write provider: .*Permission denied"'
check "an unknown item: No such file or directory" 'said "no such item: .*No such file or directory"'
check "an unknown attribute: No such file or directory" 'said "no such attribute: .*No such file or directory"'
check "stat: an item is a folder (755)" 'said "stat item: directory 755"'
check "stat: outblob a regular file 444 of 4096 bytes, inblob 200" 'said "stat outblob: regular file 444 4096" && said "stat inblob: regular file 200"'
check "no folders inside an item: Operation not permitted" 'said "mkdir inside an item: .*Operation not permitted"'
check "the report folder cannot be removed" 'said "rmdir report folder: .*Operation not permitted"'
check "rmdir of a removed item: No such file or directory" 'said "rmdir again: .*No such file or directory"'
[[ $fail == 0 ]] || cat bad.out

# Listing the tree: Debian's ls (opendir/readdir/closedir, statx and lgetxattr on each entry), find
# (openat + fdopendir, relative lookups) and a client on getdents64 see what Linux 6.7 lists.
D=/sys/kernel/config/tsm/report
cat >ls.sh <<EOF
export LC_ALL=C
echo "== empty"; ls $D/
mkdir $D/first $D/second
echo "== items"; ls $D
echo "== root"; ls /sys/kernel/config/tsm
echo "== item"; ls $D/first
echo "== unsorted"; ls -f $D/first; ls -f $D
echo "== long"; ls -l $D/first
echo "== long dir"; ls -ld $D $D/first
echo "== recursive"; ls -R /sys/kernel/config/tsm
echo "== find"; find /sys/kernel/config/tsm
echo "== an attribute"; ls $D/first/outblob
echo "== getdents64"; $B/tsm_ls getdents $D/first
echo "== readdir"; $B/tsm_ls readdir $D/first
echo "== errors"; $B/tsm_ls errors $D/first $D/first/outblob
echo "== python"; python3 -c 'import os; print(sorted(os.listdir("$D"))); print(sorted(e.name for e in os.scandir("$D/first") if e.is_file()))'
rmdir $D/first
echo "== after rmdir"; ls $D
rmdir $D/second
echo "== end"
EOF
"${X[@]}" bash ls.sh >ls.out 2>&1
rc=$?
sect() { sed -n "/^== $1\$/,/^==/p" ls.out | sed '1d;$d'; }
attrs="auxblob generation inblob outblob privlevel privlevel_floor provider"
check "ls: the script ran (exit $rc)" '[[ $rc == 0 ]] || { cat ls.out; false; }'
check "ls of an empty report folder: nothing" '[[ -z "$(sect empty)" ]]'
check "ls report/: the items" '[[ "$(sect items | tr "\n" " ")" == "first second " ]]'
check "ls tsm/: report" '[[ "$(sect root)" == report ]]'
check "ls of an item: Linux 6.7's seven attributes" '[[ "$(sect item | tr "\n" " ")" == "$attrs " ]]'
check "ls -f: readdir's order, newest first (configfs)" '[[ "$(sect unsorted | tr "\n" " ")" == ". .. auxblob outblob inblob privlevel_floor privlevel provider generation . .. second first " ]]'
check "ls -l: modes, links, sizes, no error" '[[ "$(sect long | awk "NR>1{print \$1, \$2, \$5, \$9}" | tr "\n" ",")" == "-r--r--r-- 1 4096 auxblob,-r--r--r-- 1 4096 generation,--w------- 1 4096 inblob,-r--r--r-- 1 4096 outblob,--w------- 1 4096 privlevel,-r--r--r-- 1 4096 privlevel_floor,-r--r--r-- 1 4096 provider," && "$(sect long | head -1)" == "total 0" ]] || { sect long; false; }'
check "ls -ld: the report folder links its two items, an item 2" '[[ "$(sect "long dir" | awk "{print \$1, \$2}" | tr "\n" ",")" == "drwxr-xr-x 4,drwxr-xr-x 2," ]] || { sect "long dir"; false; }'
check "ls -R: every folder once" '[[ $(sect recursive | grep -c ":$") == 4 && $(sect recursive | grep -c "^privlevel_floor$") == 2 ]] || { sect recursive; false; }'
check "find: 3 folders and 14 attributes below the root" '[[ $(sect find | wc -l) == 18 && $(sect find | grep -c "/first/") == 7 ]] || { sect find; false; }'
check "ls of an attribute: its name" '[[ "$(sect "an attribute")" == "$D/first/outblob" ]]'
g=$(sect getdents64)
check "getdents64 (several calls), then lseek 0 and again: the same 9 entries" '[[ "$g" == *"9 9 entries"* && "$(head -9 <<<"$g" | tr "\n" ",")" == ". d,.. d,auxblob f,outblob f,inblob f,privlevel_floor f,privlevel f,provider f,generation f," ]] || { echo "$g"; false; }'
g=$(sect readdir)
check "readdir, telldir/seekdir, rewinddir, dirfd, fdopendir" '[[ "$g" == *"-- after seekdir: outblob"* && "$g" == *"-- after rewinddir: ."* && "$g" == *"-- dirfd: a folder"* && "$g" == *"-- fdopendir: 9 entries"* ]] || { echo "$g"; false; }'
g=$(sect errors)
check "the kernel's refusals: EISDIR, EINVAL, ENOTDIR, ENOENT" '[[ "$g" == *"read a folder: Is a directory"* && "$g" == *"getdents64 with 16 bytes: Invalid argument"* && "$g" == *"open a folder for writing: Is a directory"* && "$g" == *"getdents64 on an attribute: Not a directory"* && "$g" == *"opendir an attribute: Not a directory"* && "$g" == *"opendir a missing folder: No such file or directory"* ]] || { echo "$g"; false; }'
check "python3 os.listdir and os.scandir" '[[ "$(sect python | tr -d "\n\047")" == "[first, second][auxblob, generation, inblob, outblob, privlevel, privlevel_floor, provider]" ]] || { sect python; false; }'
check "ls after rmdir" '[[ "$(sect "after rmdir")" == second ]]'

# Without --guest the tree does not exist (the host's own /sys answers).
out=$("$M" exec --state "$S" -- bash -c "mkdir $R" 2>&1)
check "exec without --guest: no configfs-tsm" '[[ $? != 0 && "$out" == *"No such file or directory"* ]]'

cli_finish
