#!/bin/bash
# `memcrypt exec`: unmodified programs against an emulated /dev/sev. The client (tests/clients/
# sev_ioctl.c) knows only <linux/psp-sev.h>; the shell tools are Debian's. Every answer is
# checked against the Linux ccp driver's rules and cross-checked with `memcrypt fw` on the same
# state file.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
B=$(dirname "$M")
C="$B/sev_ioctl"
T=$TMP
cd "$T" || exit 1
S="$T/chip.state"
X=("$M" exec --state "$S" --)

# A new chip, made by exec, answers PLATFORM_STATUS as a host at rest (UNINIT).
out=$("$M" exec --state "$S" --platform milan -- "$C" status)
check "status: API 1.55, UNINIT" '[[ "$out" == "api 1.55 build "*" state 0 "* ]]'
check "exec made the state file" '[[ -s "$S" ]]'
fwid=$("$M" fw get-id --platform milan --state "$S" | tr -d ' \n' | tr A-F a-f)
check "GET_ID = fw get-id on the same file" '[[ -n "$fwid" && "$fwid" == *"$("${X[@]}" "$C" get-id)"* ]]'
check "GET_ID2 = GET_ID" '[[ "$("${X[@]}" "$C" get-id2)" == "$("${X[@]}" "$C" get-id)" ]]'

# Every hostile call answers as the driver does.
"${X[@]}" "$C" hostile >hostile.txt 2>&1
rc=$?
check "hostile calls: all as the driver (exit $rc)" '[[ $rc == 0 ]] || { cat hostile.txt; false; }'
check "hostile calls: at least 50 checked" '(( $(grep -c " ok (" hostile.txt) >= 50 ))'

# The SNP host commands (Linux 6.11's numbers; snphost/sevctl do the same): status, config, commit.
out=$("${X[@]}" "$C" snp-status)
check "SNP_PLATFORM_STATUS: API 1.55, INIT during the command, RMP initialised" '[[ "$out" == "snp api 1.55 build "*" state 1 rmp_init 1 mask_chip_id 0 "* ]]'
cur=$(sed -n 's/.* current_tcb \(0x[0-9a-f]*\) .*/\1/p' <<<"$out")
rep=$(sed -n 's/.* reported_tcb \(0x[0-9a-f]*\)$/\1/p' <<<"$out")
check "SNP_PLATFORM_STATUS: reported TCB = current TCB on a new chip" '[[ -n "$cur" && "$cur" == "$rep" ]]'
lower=$(printf '0x%016x' $((cur & ~0xff)))
out=$("${X[@]}" "$C" snp-config "$lower" 1)
check "SNP_SET_CONFIG: a lower reported TCB, MASK_CHIP_ID" '[[ "$out" == "SNP_SET_CONFIG ok" ]]'
out=$("${X[@]}" "$C" snp-status)
check "SNP_SET_CONFIG is in the state file (another process sees it)" '[[ "$out" == *"mask_chip_id 1 "* && "$out" == *"reported_tcb $lower" ]]'
out=$("${X[@]}" "$C" snp-config "0x$(printf '%016x' $((cur + 1)))" 0 2>&1)
check "SNP_SET_CONFIG above the committed TCB: -EIO, INVALID_PARAM" '[[ "$out" == *"Input/output error (firmware error 0x16)"* ]]'
out=$("${X[@]}" "$C" snp-commit)
check "SNP_COMMIT" '[[ "$out" == "SNP_COMMIT ok" ]]'
out=$("$M" exec --platform rome -- "$C" snp-status 2>&1)
check "SNP_PLATFORM_STATUS on a chip without SNP: -ENODEV, INVALID_PLATFORM_STATE" '[[ "$out" == *"No such device (firmware error 0x1)"* ]]'
out=$("${X[@]}" "$C" status)
check "the legacy platform still answers after the SNP commands" '[[ "$out" == "api 1.55 build "*" state 0 "* ]]'

# Ownership as sevctl does it: PEK CSR -> sign with the owner's OCA key -> PEK_CERT_IMPORT.
"${X[@]}" "$C" pek-csr csr.cert >/dev/null
check "PEK CSR: 0x824 bytes" '[[ $(stat -c %s csr.cert) == 2084 ]]'
openssl ecparam -name secp384r1 -genkey -noout -out oca.pem 2>/dev/null
"$M" owner sign-pek --csr csr.cert --oca-key oca.pem --out-dir owned >/dev/null
out=$("${X[@]}" "$C" pek-import owned/pek.cert owned/oca.cert 2>&1)
check "PEK_CERT_IMPORT" '[[ "$out" == "PEK_CERT_IMPORT ok" ]]'
out=$("$M" fw status --platform milan --state "$S" --init --json)
check "the import is in the state file (fw status: external owner)" '[[ "$out" == *"\"owner\": \"external\""* ]]'
out=$("${X[@]}" "$C" pek-import owned/pek.cert owned/oca.cert 2>&1)
check "second import: -EIO, ALREADY_OWNED (5)" '[[ "$out" == *"Input/output error (firmware error 0x5)"* ]]'
mkdir ex1
"${X[@]}" "$C" pdh-export ex1 >/dev/null
check "PDH export: the imported OCA" 'cmp -s ex1/oca.cert owned/oca.cert'
out=$("$M" certs verify ex1)
check "PDH <- PEK <- OCA and PEK <- CEK verify" '[[ "$out" == *"PDH <- PEK   ok"* && "$out" == *"PEK <- OCA   ok"* && "$out" == *"PEK <- CEK   ok"* ]]'

# State changes persist through the file; PDH_GEN keeps the PEK, PEK_GEN replaces both.
"${X[@]}" "$C" pdh-gen >/dev/null
mkdir ex2
"${X[@]}" "$C" pdh-export ex2 >/dev/null
check "PDH_GEN: new PDH, same PEK" '! cmp -s ex1/pdh.cert ex2/pdh.cert && cmp -s ex1/pek.cert ex2/pek.cert'
"${X[@]}" "$C" reset >/dev/null
mkdir ex3
"${X[@]}" "$C" pdh-export ex3 >/dev/null
check "FACTORY_RESET: new OCA, self-owned again" '! cmp -s ex2/oca.cert ex3/oca.cert'
out=$("$M" fw status --platform milan --state "$S" --init --json)
check "FACTORY_RESET is in the state file" '[[ "$out" == *"\"owner\": \"self\""* ]]'
"${X[@]}" "$C" pek-gen >/dev/null
mkdir ex4
"${X[@]}" "$C" pdh-export ex4 >/dev/null
check "PEK_GEN: new PEK and PDH" '! cmp -s ex3/pek.cert ex4/pek.cert && ! cmp -s ex3/pdh.cert ex4/pdh.cert'

# Two processes on one chip: every command succeeds, no update lost, the chain stays whole.
"${X[@]}" "$C" loop 8 pek-gen >p1.txt 2>&1 &
p1=$!
"${X[@]}" "$C" loop 8 pdh-gen >p2.txt 2>&1 &
p2=$!
"${X[@]}" "$C" loop 8 pek-csr >/dev/null 2>&1 # wrong use (no FILE): usage, no harm
wait $p1
r1=$?
wait $p2
r2=$?
check "concurrent PEK_GEN x8 and PDH_GEN x8 all succeed" '[[ $r1 == 0 && $r2 == 0 ]] && (( $(cat p1.txt p2.txt | grep -c " ok$") == 16 ))'
mkdir ex5
"${X[@]}" "$C" pdh-export ex5 >/dev/null
out=$("$M" certs verify ex5)
check "after the concurrent updates the chain is whole" '[[ "$out" == *"PDH <- PEK   ok"* && "$out" == *"PEK <- OCA   ok"* ]]'
check "no temporary copies left" '[[ -z "$(ls -A "$T" | grep "chip.state.tmp")" ]]'

# Without --state: one chip for the run, shared by the processes it starts, removed afterwards.
out=$(TMPDIR="$T/tmp" bash -c 'mkdir -p "$TMPDIR"; "$0" exec -- sh -c "\"$1\" get-id; \"$1\" get-id"' "$M" "$C")
check "a chip for the run, shared by its processes" '[[ $(printf "%s\n" "$out" | sort -u | wc -l) == 1 && ${#out} -gt 100 ]]'
check "and removed afterwards" '[[ -z "$(ls -A "$T/tmp")" ]]'

# Debian's tools see a character device; the driver has no read method.
check "test -c /dev/sev (bash)" '"$M" exec --state "$S" -- bash -c "test -c /dev/sev"'
out=$("$M" exec --state "$S" -- stat -c '%F %t' /dev/sev 2>&1)
check "stat(1): character special file, major 10 (a)" '[[ "$out" == "character special file a" ]]'
out=$("$M" exec --state "$S" -- cat /dev/sev 2>&1)
check "cat /dev/sev: Invalid argument" '[[ "$out" == *"Invalid argument"* ]]'
out=$("$M" exec --state "$S" -- python3 -c 'import os,stat; print(stat.S_ISCHR(os.stat("/dev/sev").st_mode))' 2>&1)
check "python3 os.stat: a character device" '[[ "$out" == "True" ]]'
check "other files untouched" '[[ "$("$M" exec --state "$S" -- cat "$S.lock" | wc -c)" -ge 0 ]] && "$M" exec --state "$S" -- test -e /dev/null'

# Exit status and refusals.
"$M" exec --state "$S" -- sh -c 'exit 7'
check "the program's exit status" '[[ $? == 7 ]]'
"$M" exec --state "$S" -- /nonexistent/program 2>/dev/null
check "a missing program: 127" '[[ $? == 127 ]]'
err=$("$M" exec --state "$S" --platform genoa -- true 2>&1)
rc=$?
check "another platform's state file: usage error naming both" '[[ $rc == 2 && "$err" == *"milan"*"genoa"* ]]'
err=$("$M" exec --state "$T/new.state" --platform icelake-sp -- true 2>&1)
check "a platform without SEV: usage error" '[[ $? == 2 && "$err" == *"no AMD SEV"* && ! -e "$T/new.state" ]]'
err=$("$M" exec 2>&1)
check "no program: usage error" '[[ $? == 2 ]]'
head -c 100 /dev/urandom >bad.state
err=$("$M" exec --state bad.state -- true 2>&1)
check "a corrupt state file: exit 3 with the reason" '[[ $? == 3 && "$err" == *"not a memcrypt SEV firmware state file"* ]]'
# A state file whose lock another process holds: open(2) says EBUSY after MEMCRYPT_STATE_WAIT.
out=$(MEMCRYPT_STATE_WAIT=0.2 "$M" exec --state "$S" -- flock "$S.lock" "$C" status 2>&1)
check "the chip locked by another process: EBUSY" '[[ "$out" == *"open /dev/sev: Device or resource busy"* && "$out" == *"busy"* ]]'
check "... after MEMCRYPT_STATE_WAIT (0.2 s, as written)" '[[ "$out" == *"(waited 0.200 s)"* ]]'

cli_finish
