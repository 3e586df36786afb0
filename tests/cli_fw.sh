#!/bin/bash
# Shell test of `memcrypt fw`: status, PDH export, PEK CSR/import (good and tampered), reset,
# and a corrupt state file refused with a clear message.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
T=$TMP
S="$T/chip.state"

out=$("$M" fw status --platform milan --json)
check "status json in UNINIT" '[[ "$out" == *"\"state\": \"UNINIT\""* && "$out" == *"\"api_major\": 1"* ]]'
out=$("$M" fw status --platform milan --state "$S" --init)
check "status after INIT" '[[ "$out" == *"state:            INIT"* ]]'
check "state file created" '[[ -s "$S" ]]'
"$M" fw pdh-export --platform milan --state "$S" "$T/certs" >/dev/null
check "pdh export writes four certs" '[[ $(stat -c %s "$T/certs/pdh.cert") == 2084 && -s "$T/certs/cek.cert" ]]'
"$M" fw pdh-export --platform milan --state "$S" "$T/certs2" >/dev/null
check "identity persists between runs" 'cmp -s "$T/certs/pdh.cert" "$T/certs2/pdh.cert"'
"$M" fw pek-csr --platform milan --state "$S" "$T/csr" >/dev/null
check "CSR body = PEK body" 'cmp -s <(head -c 1044 "$T/csr") <(head -c 1044 "$T/certs/pek.cert")'
# A PEK whose OCA signature is damaged: BAD_SIGNATURE, exit 3, nothing imported.
cp "$T/certs/pek.cert" "$T/bad.cert"
printf '\x55' | dd of="$T/bad.cert" bs=1 seek=$((0x41C)) conv=notrunc 2>/dev/null
err=$("$M" fw pek-import --platform milan --state "$S" "$T/bad.cert" "$T/certs/oca.cert" 2>&1)
rc=$?
check "tampered PEK refused" '[[ $rc == 3 && "$err" == *BAD_SIGNATURE* ]]'
out=$("$M" fw status --platform milan --state "$S" --init --json)
check "still self-owned" '[[ "$out" == *"\"owner\": \"self\""* ]]'
"$M" fw pek-import --platform milan --state "$S" "$T/certs/pek.cert" "$T/certs/oca.cert" >/dev/null
out=$("$M" fw status --platform milan --state "$S" --init --json)
check "owned after import" '[[ "$out" == *"\"owner\": \"external\""* ]]'
err=$("$M" fw pek-import --platform milan --state "$S" "$T/certs/pek.cert" "$T/certs/oca.cert" 2>&1)
check "second import: ALREADY_OWNED" '[[ "$err" == *ALREADY_OWNED* ]]'
"$M" fw reset --platform milan --state "$S" >/dev/null
out=$("$M" fw status --platform milan --state "$S" --init --json)
check "reset clears ownership" '[[ "$out" == *"\"owner\": \"self\""* ]]'
"$M" fw pdh-export --platform milan --state "$S" "$T/certs3" >/dev/null
check "reset replaced the PDH" '! cmp -s "$T/certs/pdh.cert" "$T/certs3/pdh.cert"'
check "reset kept the CEK" 'cmp -s "$T/certs/cek.cert" "$T/certs3/cek.cert"'
err=$("$M" fw status --platform rome --state "$S" 2>&1)
rc=$?
check "foreign state file refused, naming the chip's platform" '[[ $rc == 3 && "$err" == *"another platform"* && "$err" == *"'"'"'milan'"'"' chip, not '"'"'rome'"'"'"* ]]'
# An existing chip keeps its platform: without --platform, --state's chip names it.
out=$("$M" fw status --state "$S" --json)
check "no --platform: the state file's chip (milan)" '[[ $? == 0 && "$out" == *"\"platform\": \"milan\""* ]]'
check "no --platform: fw get-id of the state file's chip" '[[ "$("$M" fw get-id --state "$S")" == "$("$M" fw get-id --platform milan --state "$S")" ]]'
"$M" fw status --platform genoa --state "$T/g.state" >/dev/null
out=$("$M" run "$(dirname "$0")/../examples/sev-guest.xml" --state "$T/g.state" --seed fw --json 2>/dev/null)
check "run without --platform: a genoa state file launches on genoa" '[[ $? == 0 && "$out" == *"\"platform\": \"genoa\""* ]]'
"$M" fw status --state "$T/missing.state" >/dev/null 2>&1
check "no --platform and no such chip: usage error, no file made" '[[ $? == 2 && ! -e "$T/missing.state" ]]'
printf 'garbage' >"$T/junk.state"
err=$("$M" fw status --platform milan --state "$T/junk.state" 2>&1)
check "junk state file refused" '[[ "$err" == *"not a memcrypt SEV firmware state file"* ]]'
err=$("$M" fw status --state "$T/junk.state" 2>&1)
check "junk state file without --platform: exit 3, why" '[[ $? == 3 && "$err" == *"not a memcrypt SEV firmware state file"* ]]'
# One firmware version everywhere: PLATFORM_STATUS's build equals what `memcrypt run` measures with.
for plat in milan genoa; do  # the example XML asks for C-bit 51
  fwb=$("$M" fw status --platform $plat --state "$T/$plat.state" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["build"])')
  runb=$("$M" run "$(dirname "$0")/../examples/sev-guest.xml" --platform $plat --seed fw --json 2>/dev/null | python3 -c 'import json,sys
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("build", "fw_build"): return v
            r = find(v)
            if r is not None: return r
    return None
print(find(json.load(sys.stdin)))')
  check "$plat: firmware build $fwb is non-zero and the same in fw status and run ($runb)" '[[ "$fwb" != 0 && "$fwb" == "$runb" ]]'
done
"$M" fw status >/dev/null 2>&1
rc=$?
check "missing --platform is a usage error" '[[ $rc == 2 ]]'
cli_finish
