#!/bin/bash
# Shell tests of the core demos: $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
CLI=$MC
check_demo() { # demo, platform, python assertion over the parsed steps (list of dicts "who" -> is_secret)
    local out
    out=$("$CLI" demo "$1" --platform "$2" --seed cli-test --json) || { bad "demo $1 $2"; return; }
    check_cmd python3 -c '
import json, sys
d = json.loads(sys.argv[1])
v = {s["who"]: s["is_secret"] for s in d["steps"] if "is_secret" in s}
r = {s["who"]: s["refused"] for s in d["steps"] if "refused" in s}
assert eval(sys.argv[2]), (v, r)
' "$out" "$3"
}
check_demo sme milan 'v["CPU load through the C=1 mapping"] and not v["DRAM bus (raw port) after WBINVD"] and not v["CPU load through a C=0 alias of the frame"] and v["64-bit DMA device, bus address with C-bit"] and not v["64-bit DMA device, bus address without C-bit"] and "32-bit DMA device asks for the C=1 address" in r and v["32-bit DMA device, via a C=0 bounce buffer"] and not v["CPU load with C=1 after the reset"]'
check_demo sme naples 'v["CPU load through the C=1 mapping"] and not v["CPU load with C=1 after the reset"]'
check_demo tsme milan 'v["CPU load through the C=1 alias"] and v["CPU load through the C=0 mapping"] and not v["DRAM bus (raw port) after WBINVD"] and v["32-bit DMA device (no C-bit, no bounce)"] and "Bind an SEV ASID key" in r and not v["CPU load after the reset"]'
# TSME sets SYSCFG[23] too (as `info --tsme` shows); the demo must not claim otherwise.
t=$("$CLI" demo tsme --seed t)
check_cmd grep -q "set SYSCFG\[23\], MemEncryptionModEn, as TSME needs" <<<"$t"
check_cmd grep -q "unavailable with TSME: SYSCFG\[23\] is set" <<<"$t"
check_cmd grep -q "SYSCFG                   C0010010  = 0x0000000000f40000" <<<"$("$CLI" info --platform milan --tsme)"
check_demo cold-boot rome 'v["boot 1: CPU load with C=1"] and not v["attacker reads the encrypted page raw"] and v["attacker reads the unencrypted page raw"] and not v["boot 2 (new key): CPU load with C=1"] and not v["boot 2: DMA device with C-bit (new key)"]'
check_demo cache-alias rome 'not v["CPU load through C=0 again, no flush"] and v["CPU load through C=1 after CLFLUSH"] and not v["DRAM bus after host CLFLUSH (C=1 mapping)"] and not v["hypervisor load through its C=1 mapping"] and v["guest ASID 1 load (private)"] and v["DMA device with C-bit (host-key tag)"] and not v["DMA device without C-bit, before any flush"] and not v["CPU load with C=1 after the reset"]'
check_demo cache-alias genoa 'not v["CPU load through C=0 again, no flush"] and v["guest ASID 1 load (private)"]'
# Determinism: same seed, same bytes; different seed, different ciphertext.
a=$("$CLI" demo sme --seed s1 --json); b=$("$CLI" demo sme --seed s1 --json); c=$("$CLI" demo sme --seed s2 --json)
check_cmd test "$a" = "$b"
check_cmd test "$a" != "$c"
# Text mode and errors.
check_cmd grep -q "<- the secret" <<<"$("$CLI" demo sme --seed t)"
"$CLI" demo sme --platform icelake-sp >/dev/null 2>&1; check_cmd test $? -ne 0
"$CLI" demo sme --platform nope >/dev/null 2>&1; check_cmd test $? -eq 2  # unknown platform: a usage error
"$CLI" demo tsme --bogus >/dev/null 2>&1; check_cmd test $? -eq 2
"$CLI" demo sme --seed "" >/dev/null 2>&1; check_cmd test $? -eq 2
f=$(mktemp -u /tmp/mc_demo_dram.XXXXXX)
"$CLI" demo cold-boot --seed k --dram-file "$f" >/dev/null; check_cmd test -f "$f"
rm -f "$f"
cli_finish
