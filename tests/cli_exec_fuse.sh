#!/bin/bash
# `memcrypt exec --fuse`: /dev/sev and /dev/sev-guest as FUSE files (libfuse3) in a private mount
# namespace, for programs the preloaded library cannot reach. The client is tests/clients/sev_guest.c
# linked statically (no LD_PRELOAD reaches it): its reports, extended report (the certificate length
# query, then the table written into its memory), derived keys and hostile calls go through the FUSE
# file's restricted ioctl and the caller's memory (process_vm_readv/writev) to the same decoder the
# interposer uses — the answers are the interposer's (the keys equal, the hostile calls the same but
# for the node's type). Three programs at once share the guest; the host's /dev is unchanged.
# Skipped (77) only when the kernel refuses a private mount namespace or a FUSE mount here.
# $1 = memcrypt, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
B=$(dirname "$MC")
cli_need "Debian's fuse3 (/dev/fuse, fusermount3)" "apt-get install fuse3" command -v fusermount3
cli_need "the static /dev/sev-guest client" "apt-get install libc6-dev (libc.a)" test -x "$B/sev_guest_static"
cd "$TMP" || exit 1
S=$TMP/chip.state
G=$TMP/guest.snp
"$B/snp_mkguest" "$S" "$G" milan >made.txt || { bad "snp_mkguest"; cli_finish; }
meas=$(sed -n 's/^measurement //p' made.txt)
F=("$MC" exec --state "$S" --guest "$G" --fuse --)

# Can this kernel (container) mount FUSE files in a private namespace at all?
probe=$("${F[@]}" true 2>&1)
prc=$?
if [[ $prc != 0 && "$probe" == *"refused"* ]]; then
  cli_have "FUSE mounts in a private mount namespace" "the kernel refused: $(tail -1 <<<"$probe")" false ||
    { [ "${CI:-}" = true ] && cli_finish; exit 77; }
fi
[[ $prc == 0 ]] && ok || bad "exec --fuse -- true: exit $prc: $probe"

file "$B/sev_guest_static" 2>/dev/null | grep -q "statically linked" && ok || bad "sev_guest_static is not static"
rd=$(printf '5a%.0s' $(seq 64))
expect 0 "a static client's report through the FUSE file" -- "${F[@]}" "$B/sev_guest_static" report "$rd" r1.bin
has "  status 0, a report" "status 0 size 1184"
has "  MEASUREMENT = the saved guest's" "measurement $meas"
has "  REPORT_DATA = the caller's (read from its memory)" "report_data $rd"
[[ $(stat -c %s r1.bin 2>/dev/null) == 1184 ]] && ok || bad "  the report written to its file"

mkdir ext
expect 0 "extended report: the length query, then the table" -- "${F[@]}" "$B/sev_guest_static" ext-report "$rd" ext
has "  -EIO, exitinfo2 INVALID_LEN and certs_len written back" "query: Input/output error exitinfo2 0x100000000 certs_len 8192"
has "  the VCEK entry" "cert 63da758d-e664-4564-adc5-f4b93be8accd"
has "  the ARK entry" "cert c0b406a4-a803-4952-9743-3fb6014cd0ae"

# The chain from the local KDS (memcrypt fetch); the report and the table verify under it.
cli_kds_serve kds.txt --state "$S"
expect 0 "fetch ca from the local KDS" -- "$MC" fetch ca --product milan --url "$kds_url" --out-dir roots
kill "$kds_pid" 2>/dev/null
expect 0 "report verify --roots of the FUSE report with its certificate table" -- "$MC" report verify ext/report.bin \
  --cert-table ext/certs.bin --roots roots --measurement "$meas" --report-data "$rd"

expect 0 "derived key through the FUSE file" -- "${F[@]}" "$B/sev_guest_static" key 0 0 24 0 0
k1=$out
expect 0 "  the same request through the interposer (dynamic client)" -- "$MC" exec --state "$S" --guest "$G" -- \
  "$B/sev_guest" key 0 0 24 0 0
[[ "$k1" == "status 0 key "* && "$k1" == "$out" ]] && ok || bad "  one decoder: the same key ($k1 / $out)"

# The hostile calls: the interposer's answers, but for the node's type (a FUSE mount is a file).
"${F[@]}" "$B/sev_guest_static" hostile >hostile-fuse.txt 2>&1
"$MC" exec --state "$S" --guest "$G" -- "$B/sev_guest" hostile >hostile-lib.txt 2>&1
n=$(wc -l <hostile-lib.txt)
d=$(diff <(grep -v '^fstat: a character device' hostile-lib.txt) \
         <(grep -v '^fstat: a character device\|^    expected success' hostile-fuse.txt))
[[ $n -gt 20 && -z "$d" ]] && ok || bad "hostile calls through FUSE differ from the interposer's: $d"
grep -q '^fstat: a character device.*MISMATCH' hostile-fuse.txt && ok || bad "  the FUSE node is a regular file (documented)"

# Three static programs at once in one exec (one server), and two execs at once (two servers).
"${F[@]}" sh -c "for i in 1 2 3; do $B/sev_guest_static loop 5 >loop\$i.txt 2>&1 & done; wait" &
"${F[@]}" "$B/sev_guest_static" loop 5 >loop4.txt 2>&1 &
wait
c=$(cat loop1.txt loop2.txt loop3.txt loop4.txt | grep -c "^5 reports")
[[ $c == 4 ]] && ok || bad "4 programs x 5 reports at once: $(cat loop*.txt | head -4)"
expect 0 "  the guest continues after them" -- "${F[@]}" "$B/sev_guest_static" report "$rd"

# /dev/sev through FUSE (a dynamic client too: the preloaded library leaves the nodes to FUSE).
expect 0 "/dev/sev: PLATFORM_STATUS through the FUSE file" -- "${F[@]}" "$B/sev_ioctl" status
has "  a status" "api"
expect 0 "the nodes are the FUSE mounts, the rest of /dev the host's" -- "${F[@]}" sh -c \
  'stat -c "%n %F %a" /dev/sev /dev/sev-guest; grep -c " fuse.memcrypt " /proc/self/mounts; test -c /dev/null && echo x >/dev/null && test -d /dev/pts && echo devok'
has "  /dev/sev-guest a FUSE file, mode 660" "/dev/sev-guest regular empty file 660"
has "  two FUSE mounts" $'\n2\n'
has "  /dev/null and /dev/pts" "devok"
[[ ! -e /dev/sev-guest || -c /dev/sev-guest ]] && ok || bad "the host's /dev changed"
grep -q " fuse.memcrypt " /proc/self/mounts && bad "a FUSE mount is left in the host's namespace" || ok

# Exit statuses; a guest file that is not a guest; no --guest: no /dev/sev-guest.
expect 7 "the program's exit status" -- "${F[@]}" sh -c 'exit 7'
expect 127 "a missing program" -- "${F[@]}" ./no-such-program
expect 3 "a file that is not a saved guest" -- "$MC" exec --state "$S" --guest made.txt --fuse -- true
expect 0 "without --guest: /dev/sev only" -- "$MC" exec --state "$S" --fuse -- sh -c 'test -e /dev/sev && ! test -e /dev/sev-guest'
cli_finish
