#!/bin/bash
# Shell tests of the SEV-SNP subcommands of `memcrypt fw` against the state file: snp-status
# (fields of SNP_PLATFORM_STATUS before and after the SNP bring-up), snp-init, snp-shutdown,
# snp-config (MASK_CHIP_ID kept in the state file, a REPORTED_TCB above the committed one refused),
# snp-commit, vlek-wrap + vlek-load (VLEK_EN; a VLEK wrapped for another chip refused, the state
# unchanged; a short file refused before the firmware), feature-info (both sub-functions, an unknown
# one refused), a platform without SNP; then a VLEK-signed report: `run` of a vcek='no' domain on
# the chip that loaded the VLEK verifies through the emulated ASVK.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
cli_need python3 "apt-get install python3" command -v python3
PY=python3
json() { "$PY" -c "import json,sys; r=json.load(sys.stdin); $1" <<<"$out" && ok || bad "$2: $(echo "$out" | head -c 300)"; }
S="$TMP/fw.state"

expect 0 "status uninit" -- "$MC" fw snp-status --platform milan --state "$S" --json
json "assert r['state']=='UNINIT' and not r['is_rmp_initialized'] and r['api_major']==1 and r['api_minor']==55 and r['feature_info'] and not r['vlek_en'] and r['build']==21" "status uninit"
expect 0 "status init" -- "$MC" fw snp-status --platform milan --state "$S" --init --json
json "assert r['state']=='INIT' and r['is_rmp_initialized'] and r['guest_count']==0 and r['current_tcb']['raw']==r['reported_tcb']['raw']==r['committed_tcb']['raw'] and r['current_tcb']['snp']>0" "status init"
expect 0 "status text" -- "$MC" fw snp-status --platform genoa --init
has "status text" "state:                 INIT"
has "status text" "reported_tcb:"
expect 0 "snp-init" -- "$MC" fw snp-init --platform milan --state "$S"
has "snp-init" "SNP_INIT: SUCCESS"
expect 0 "snp-shutdown" -- "$MC" fw snp-shutdown --platform milan --state "$S"
has "snp-shutdown" "SNP_SHUTDOWN_EX: SUCCESS"

# SNP_CONFIG: kept in the state file
expect 0 "config" -- "$MC" fw snp-config --platform milan --state "$S" --mask-chip-id
expect 0 "config kept" -- "$MC" fw snp-status --platform milan --state "$S" --json
json "assert r['mask_chip_id'] and not r['mask_chip_key']" "config kept"
expect 3 "config above committed" -- "$MC" fw snp-config --platform milan --state "$S" --reported-tcb 0x7f08000000000003
has "config above committed" "INVALID_PARAM"
expect 2 "config bad tcb" -- "$MC" fw snp-config --platform milan --state "$S" --reported-tcb nonsense
expect 0 "config back" -- "$MC" fw snp-config --platform milan --state "$S"
expect 0 "config back kept" -- "$MC" fw snp-status --platform milan --state "$S" --json
json "assert not r['mask_chip_id']" "config back kept"
expect 0 "commit" -- "$MC" fw snp-commit --platform milan --state "$S"
has "commit" "SNP_COMMIT: SUCCESS"

# VLEK: wrapped for this chip by the emulated KDS, loaded, kept; another chip's refused
expect 0 "vlek-wrap other" -- "$MC" fw vlek-wrap --platform milan --state "$TMP/other.state" --provider-seed cloud "$TMP/other.vlek"
expect 3 "vlek-load other chip" -- "$MC" fw vlek-load --platform milan --state "$S" "$TMP/other.vlek"
has "vlek-load other chip" "BAD_MEASUREMENT"
expect 0 "no vlek" -- "$MC" fw snp-status --platform milan --state "$S" --json
json "assert not r['vlek_en']" "a refused VLEK_LOAD changed the state"
head -c 100 "$TMP/other.vlek" > "$TMP/short.vlek"
expect 2 "vlek-load short" -- "$MC" fw vlek-load --platform milan --state "$S" "$TMP/short.vlek"
expect 0 "vlek-wrap" -- "$MC" fw vlek-wrap --platform milan --state "$S" --provider-seed cloud "$TMP/v.bin"
[ "$(stat -c %s "$TMP/v.bin")" = 432 ] && ok || bad "wrapped VLEK is not 0x1B0 bytes"
expect 0 "vlek-load" -- "$MC" fw vlek-load --platform milan --state "$S" "$TMP/v.bin"
has "vlek-load" "SNP_VLEK_LOAD: SUCCESS"
expect 0 "vlek kept" -- "$MC" fw snp-status --platform milan --state "$S" --init --json
json "assert r['vlek_en']" "vlek kept"

# SNP_FEATURE_INFO
expect 0 "feature-info" -- "$MC" fw feature-info --platform milan --json
json "assert r['vlek'] and r['sev_legacy_commands'] and r['eax']=='0x1'" "feature-info 0"
expect 0 "feature-info 1" -- "$MC" fw feature-info --platform turin --ecx 1
has "feature-info 1" "guest message types supported"
expect 3 "feature-info 5" -- "$MC" fw feature-info --platform milan --ecx 5
has "feature-info 5" "INVALID_PARAM"
expect 3 "rome" -- "$MC" fw snp-status --platform rome
has "rome" "has no SEV-SNP"

# A vcek='no' domain on the chip with the VLEK: the report is VLEK-signed and verifies (ASVK chain).
if cli_have /usr/share/ovmf/OVMF.fd "apt-get install ovmf" test -r /usr/share/ovmf/OVMF.fd; then
    sed "s|<launchSecurity type='sev-snp'>|<launchSecurity type='sev-snp' vcek='no'>|" "$SRC/examples/sev-snp-guest.xml" > "$TMP/novcek.xml"
    expect 0 "run vlek" -- "$MC" run "$TMP/novcek.xml" --state "$S" --json --out-dir "$TMP/owner"
    json "assert r['verified'] and r['report']['key_info']['signing_key']=='VLEK' and r['launch']['finish_flags']=='VCEK_DISABLED'" "run vlek"
    expect 0 "report verify vlek" -- "$MC" report verify "$TMP/owner/report.bin" --roots "$TMP/owner" --cert-table "$TMP/owner/certs.bin"
fi

cli_finish
