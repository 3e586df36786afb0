#!/bin/bash
# Shell tests of `memcrypt info`: $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
CLI=$MC
matches() { grep -q -- "$1" <<<"$2"; }

out=$("$CLI" info --list); check_cmd test $? -eq 0
for p in naples rome milan genoa turin icelake-sp icelake-sp-nomktme sapphire-rapids; do check_cmd matches "^$p " "$out"; done
json=$("$CLI" info --platform milan --json)
check_cmd matches '"eax": "0x101fd3f"' "$json"
check_cmd matches '"cbit": 51' "$json"
check_cmd matches '"phys_addr_reduction": 5' "$json"
check_cmd matches '"max_sev_asid": 509' "$json"
check_cmd matches '"sev_fw_api": "1.55"' "$json"
check_cmd matches '"value": "0xf40000"' "$json"
check_cmd python3 -c 'import json,sys; d=json.loads(sys.argv[1]); b=[x["name"] for x in d["msrs"][0]["bits"]]; assert b==["MtrrFixDramEn","MtrrVarDramEn","MtrrTom2En","Tom2ForceMemTypeWB","MemEncryptionModEn"], b' "$json"
check_cmd python3 -c 'import json,sys; d=json.loads(sys.argv[1])["decoded"]; assert d["sev_es_asids"]==127 and d["min_sev_asid"]==128' "$json"
check_cmd python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["platform"]["usable_addr_bits"]==43' "$json"
txt=$("$CLI" info --platform rome)
check_cmd matches "C-bit 47, physical-address reduction 5" "$txt"
check_cmd matches "8000001F.0     0001000F   0000016F   000001FD   00000001" "$txt"
txt=$("$CLI" info --platform rome --sme off)
check_cmd matches "mode: off; usable physical address bits: 48" "$txt"
check_cmd matches "SYSCFG                   C0010010  = 0x0000000000740000  MtrrFixDramEn\[18\] MtrrVarDramEn\[20\] MtrrTom2En\[21\] Tom2ForceMemTypeWB\[22\]$" "$txt"
# A public Rome dump with the rome profile's CPUID reads SYSCFG 0xF40000 after BIOS.
check_cmd matches "SYSCFG                   C0010010  = 0x0000000000f40000  .*MemEncryptionModEn\[23\]" "$("$CLI" info --platform rome)"
check_cmd matches "HWCR                     C0010015  = 0x0000000000000001  SmmLock\[0\]" "$("$CLI" info --platform rome)"
check_cmd matches "no SEV-ES ASIDs (EDX = 1), SEV ASIDs 1..509" "$("$CLI" info --platform rome)"
check_cmd matches "SEV-ES ASIDs 1..4, SEV ASIDs 5..15" "$("$CLI" info --platform naples)"
check_cmd matches "SEV-ES/SNP ASIDs 1..99, SEV ASIDs 100..1006" "$("$CLI" info --platform genoa)"
txt=$("$CLI" info --platform turin)
check_cmd matches "(family 1Ah model 02h)" "$txt"
check_cmd matches "8000_001F EAX\[21\]: RMPREAD" "$txt"
check_cmd matches "mode: tsme" "$("$CLI" info --platform naples --tsme)"
json=$("$CLI" info --platform icelake-sp --json)
check_cmd matches '"max_keyid_bits": 6' "$json"
check_cmd matches '"value": "0x1000600000003"' "$json"
check_cmd matches "KeyID bits: 0" "$("$CLI" info --platform icelake-sp-nomktme)"
# Intel: the TME MSRs and leaf 0x1B decoded by the same code as `tme status` (identical lines).
txt=$("$CLI" info --platform sapphire-rapids)
check_cmd matches "(family 06h model 8Fh)" "$txt"
check_cmd matches "MSR 0x981 IA32_TME_CAPABILITY            0x000007f780000005" "$txt"
check_cmd matches "algorithms AES-XTS-128, AES-XTS-256; bypass supported; MK_TME_MAX_KEYID_BITS 7; MK_TME_MAX_KEYS 127" "$txt"
check_cmd matches "MK_TME_KEYID_BITS 6 (KeyID = PA bits 51:46), MKTME algorithms AES-XTS-128, AES-XTS-256" "$txt"
check_cmd matches "CPUID.(1BH,0)  eax=00000001 ebx=00000001" "$txt"
st=$("$CLI" tme status --platform sapphire-rapids)
check_cmd test "$(grep -E '^(MSR |CPUID\.|IA32_|MKTME|   )' <<<"$txt")" = "$(grep -E '^(MSR |CPUID\.|IA32_|MKTME|   )' <<<"$st")"
# BIOS overrides reach the decode: KeyID bits, bypass.
txt=$("$CLI" info --platform icelake-sp --keyid-bits 3)
check_cmd matches "MSR 0x982 IA32_TME_ACTIVATE              0x0001000300000003" "$txt"
check_cmd matches "MKTME KeyIDs usable: 7" "$txt"
json=$("$CLI" info --platform sapphire-rapids --tme-bypass --json)
check_cmd python3 -c 'import json,sys; d=json.loads(sys.argv[1]); a=d["tme"]["activate"]; assert a["bypass"] and a["locked"] and a["keyids"]==63 and d["tme"]["msrs"]["IA32_TME_ACTIVATE"]=="0x5000680000003" and d["tme"]["capability"]["bypass_supported"]' "$json"
check_cmd python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert "tme" not in d' "$("$CLI" info --platform milan --json)"
"$CLI" info --platform icelake-sp --tme-bypass >/dev/null 2>&1; check_cmd test $? -eq 3
# Errors: unknown platform (a usage error), bad option values, invalid BIOS combinations.
"$CLI" info --platform pentium >/dev/null 2>/tmp/mc_info_err.$$; check_cmd test $? -eq 2
check_cmd grep -q "unknown platform 'pentium'" /tmp/mc_info_err.$$
rm -f /tmp/mc_info_err.$$
"$CLI" info >/dev/null 2>&1; check_cmd test $? -eq 2
"$CLI" info --platform rome --sme maybe >/dev/null 2>&1; check_cmd test $? -eq 2
"$CLI" info --platform icelake-sp --keyid-bits 7 >/dev/null 2>&1; check_cmd test $? -eq 3
"$CLI" info --platform rome --keyid-bits 2 >/dev/null 2>&1; check_cmd test $? -eq 3
"$CLI" info --platform rome extra >/dev/null 2>&1; check_cmd test $? -eq 2
cli_finish
