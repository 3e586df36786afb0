#!/bin/bash
# Shell tests of `memcrypt tme status`, `memcrypt demo tme` and `memcrypt demo mktme`.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
tmp=$TMP

# tme status: values decoded from the profile, in text and JSON.
"$MC" tme status --platform icelake-sp >"$tmp/st.txt" 2>&1; rc=$?
check "[ $rc = 0 ]"
check "grep -q 'CPUID.(7,0):ECX\[13\] TME        1' '$tmp/st.txt'"
check "grep -q 'MK_TME_KEYID_BITS 6 (KeyID = PA bits 45:40)' '$tmp/st.txt'"
check "grep -q 'MSR 0x982 IA32_TME_ACTIVATE *0x0001000600000003' '$tmp/st.txt'"
"$MC" tme status --platform icelake-sp --json >"$tmp/st.json"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/st.json\")); sys.exit(0 if d[\"activate\"][\"keyid_bits\"]==6 and d[\"activate\"][\"locked\"] and d[\"capability\"][\"max_keys\"]==63 and d[\"activate\"][\"keyids\"]==63 else 1)'"
"$MC" tme status --platform icelake-sp-nomktme --json >"$tmp/st2.json"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/st2.json\")); sys.exit(0 if d[\"activate\"][\"keyid_bits\"]==0 and d[\"activate\"][\"enabled\"] and d[\"activate\"][\"keyids\"]==0 else 1)'"
"$MC" tme status --platform sapphire-rapids --json >"$tmp/st4.json"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/st4.json\")); c=d[\"capability\"]; a=d[\"activate\"]; sys.exit(0 if c[\"algorithms\"]==\"AES-XTS-128, AES-XTS-256\" and c[\"bypass_supported\"] and c[\"max_keyid_bits\"]==7 and a[\"mktme_algorithms\"]==\"AES-XTS-128, AES-XTS-256\" and a[\"keyids\"]==63 else 1)'"
"$MC" tme status --platform milan >"$tmp/st3.txt"; check "[ $? = 0 ] && grep -q 'no TME MSRs' '$tmp/st3.txt'"
"$MC" tme status --platform nosuchcpu >/dev/null 2>&1; check "[ $? = 2 ]"  # unknown platform: a usage error
"$MC" tme status >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" tme status --platform icelake-sp extra >/dev/null 2>&1; check "[ $? = 2 ]"

# demos: run, deterministic with --seed, attacks observed (computed from the bytes).
for demo in tme mktme; do
  "$MC" demo $demo --seed s1 >"$tmp/$demo.a" 2>&1; check "[ $? = 0 ]"
  "$MC" demo $demo --seed s1 >"$tmp/$demo.b" 2>&1
  check "cmp -s '$tmp/$demo.a' '$tmp/$demo.b'"
  "$MC" demo $demo --seed s2 >"$tmp/$demo.c" 2>&1
  check "! cmp -s '$tmp/$demo.a' '$tmp/$demo.c'"
  "$MC" demo $demo --seed s1 --json >"$tmp/$demo.json"; check "[ $? = 0 ]"
  check "python3 -c 'import json; json.load(open(\"$tmp/$demo.json\"))'"
  "$MC" demo $demo --seed '' >/dev/null 2>&1; check "[ $? = 2 ]"
  "$MC" demo $demo --bogus >/dev/null 2>&1; check "[ $? = 2 ]"
done
check "grep -q 'the old value came back' '$tmp/tme.a'"
check "grep -q 'DRAM raw port at 0x300000 .*= version 1' '$tmp/tme.a'"
check "grep -q '#GP(0)' '$tmp/tme.a'"
check "grep -q 'RAX 3 (INVALID_KEYID), ZF 1' '$tmp/mktme.a'"
check "grep -q 'VM2 reads the shared page (KeyID 3) .*= VM1.s message' '$tmp/mktme.a'"
check "! grep -q 'hypervisor reads HPA 0x400000 via KeyID 0 .*= VM1' '$tmp/mktme.a'"
check "grep -q 'the RMP check stops this: #NPF with the RMP bit (memcrypt demo snp, attacks 2 and 3)' '$tmp/mktme.a'"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/mktme.json\")); sys.exit(0 if d[\"replay_undetected\"] and d[\"remap_keyid_undetected\"] and d[\"remap_page_undetected\"] else 1)'"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/tme.json\")); sys.exit(0 if d[\"replay_undetected\"] else 1)'"
check "grep -q 'device reads bus 0x10000400000 (KeyID 1) .*= VM1.s secret' '$tmp/mktme.a'"
check "! grep -q 'device reads bus 0x400000 (KeyID 0, TME key) .*= VM1' '$tmp/mktme.a'"
check "grep -q 'its KeyID-1 read is refused' '$tmp/mktme.a'"
check "python3 -c 'import json,sys; d=json.load(open(\"$tmp/mktme.json\")); sys.exit(0 if d[\"dma_vm_keyid_sees_secret\"] and not d[\"dma_keyid0_sees_secret\"] else 1)'"
"$MC" demo mktme --help >/dev/null 2>&1; check "[ $? = 0 ]"

cli_finish
