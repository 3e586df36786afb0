#!/bin/bash
# Shell tests of `memcrypt run`: the shipped examples launch, attest and receive a secret; the
# launch digest and MEASURE are re-derived here with Python's hashlib/hmac from the spec's
# formulas (not with memcrypt code); the views show ciphertext where they must; every libvirt
# test XML and bad setup is refused with a clear message; a 16 GiB guest launches sparsely.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir. Debian's OVMF and python3 (scripts/deps)
# are required: missing under CI=true is a failure, never a silent skip (tests/lib/cli.sh).
. "$(dirname "$0")/lib/cli.sh"
LV="$DATA/libvirt"
OVMF=/usr/share/ovmf/OVMF.fd
cli_need "Debian's OVMF ($OVMF)" "apt-get install ovmf" test -r "$OVMF"
cli_need python3 "apt-get install python3" command -v python3
# the checks use the standard library only: python3 -S starts without site's imports
py_std() { python3 -S "$@"; }
PY=py_std
expect() { # RC DESCRIPTION -- command...; output in $out
    local want=$1 what=$2; shift 3
    out=$("$@" 2>&1); local rc=$?
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, wanted $want: $(echo "$out" | tail -3)"; fi
}
has() { if grep -qF -- "$2" <<<"$out"; then ok; else bad "$1: output lacks '$2': $(echo "$out" | tail -2)"; fi; }
head -c 32 /dev/urandom > "$TMP/tk.bin"

# 1. The SEV example with the owner's TEK/TIK: independent recomputation of digest and MEASURE.
expect 0 "sev-guest json" -- "$MC" run "$SRC/examples/sev-guest.xml" --seed one --tk "$TMP/tk.bin" --json
echo "$out" > "$TMP/a.json"
"$PY" - "$TMP/a.json" "$TMP/tk.bin" "$OVMF" <<'PYEOF' && ok || bad "sev-guest report checks"
import base64, hashlib, hmac, json, struct, sys
r = json.load(open(sys.argv[1])); tk = open(sys.argv[2], "rb").read(); fw = open(sys.argv[3], "rb").read()
tik = tk[16:32]
ld = hashlib.sha256(fw).digest()                       # SEV: LD = SHA-256(firmware image)
assert r["launch_digest"] == ld.hex(), "launch digest"
m = base64.b64decode(r["measurement"]); assert len(m) == 48
api = r["firmware_api"]; pol = int(r["policy"], 16)
msg = bytes([4, api["major"], api["minor"], api["build"]]) + struct.pack("<I", pol) + ld + m[32:]
assert hmac.new(tik, msg, "sha256").digest() == m[:32], "MEASURE"
assert r["measurement_verified"] is True and r["channel"] is True
assert r["guest_state"] == "RUNNING" and r["asid"] >= 1 and r["handle"] >= 1
s = r["secret"]; assert s["injected"] and s["matches"] and "passphrase" in s["guest_read"], s
p = r["private_page"]; g = bytes.fromhex(p["guest"])
assert g.startswith(b"private: only ASID"), g
assert p["hypervisor"] != p["guest"] and p["bus"] == p["hypervisor"] and p["host_key"] not in (p["guest"], p["hypervisor"])
sh = r["shared_page"]; assert sh["guest"] == sh["hypervisor"] == sh["bus"]
assert bytes.fromhex(sh["bus"]).startswith(b"shared: the hypervisor")
assert r["wrong_asid"]["plaintext_hidden"] and "garbage" in r["wrong_asid"]["note"]
io = r["bounce_io"]; assert io["ok"] and io["direct_read_is_ciphertext"] and io["device_saw"].startswith("READ sector 7")
assert r["launch_bytes"] == len(fw)
# Bring-up as the Linux ccp driver: INIT, WBINVD everywhere, DF_FLUSH, so no ASID is left dirty
# (the first ACTIVATE then never meets DF_FLUSH_REQUIRED).
assert r["df_flush_after_init"] is True and r["dirty_asids_after_init"] == 0
PYEOF

# 2. Same seed, same run; another seed, another nonce.
expect 0 "sev-guest again" -- "$MC" run "$SRC/examples/sev-guest.xml" --seed one --tk "$TMP/tk.bin" --json
grep '"measurement"' <<<"$out" | cmp -s - <(grep '"measurement"' "$TMP/a.json") && ok || bad "seeded run is not deterministic"
expect 0 "sev-guest other seed" -- "$MC" run "$SRC/examples/sev-guest.xml" --seed two --tk "$TMP/tk.bin" --json
grep '"measurement"' <<<"$out" | cmp -s - <(grep '"measurement"' "$TMP/a.json") && bad "different seeds gave the same MNONCE" || ok

# 3. Text report a person reads.
expect 0 "sev-guest text" -- "$MC" run "$SRC/examples/sev-guest.xml"
for s in "emulated platform milan" "policy 0x1 (NODBG)" "ASID" "launch digest" "LAUNCH_MEASURE" \
         "INIT, WBINVD on every core, DF_FLUSH (as the Linux ccp driver); 0 ASIDs left dirty" \
         "owner check            OK" "LAUNCH_SECRET" "guest state RUNNING" "<- ciphertext" \
         "shared: the hypervisor may read this line" "bounce-buffered I/O" "answer into private memory: OK"; do
    has "text report" "$s"
done

# 4. SEV-ES: two VMSAs measured; digest = SHA-256(firmware || VMSA0 || VMSA1) from our pages.
expect 0 "sev-es" -- "$MC" run "$SRC/examples/sev-es-guest.xml" --seed es --json
echo "$out" > "$TMP/es.json"
want=$("$MC" measure --mode seves --ovmf "$OVMF" --vcpus 2 --vcpu-family 25 --vcpu-model 1 --vcpu-stepping 0)
grep -q "\"launch_digest\": \"$want\"" "$TMP/es.json" && ok || bad "SEV-ES digest differs from 'memcrypt measure': $want"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["sev_es"] and r["asid"] < 128 and r["measurement_verified"] and r["launch_bytes"] == 2097152 + 2*4096' "$TMP/es.json" && ok || bad "SEV-ES report"

# 5. No channel (XML without dhCert, --no-session): the firmware's TIK is all zero.
expect 0 "no session" -- "$MC" run "$SRC/examples/sev-guest.xml" --no-session --seed ns --json
echo "$out" > "$TMP/ns.json"
"$PY" - "$TMP/ns.json" <<'PYEOF' && ok || bad "no-session MEASURE with a zero TIK"
import base64, hmac, json, struct, sys
r = json.load(open(sys.argv[1])); m = base64.b64decode(r["measurement"]); a = r["firmware_api"]
msg = bytes([4, a["major"], a["minor"], a["build"]]) + struct.pack("<I", int(r["policy"], 16)) + bytes.fromhex(r["launch_digest"]) + m[32:]
assert hmac.new(bytes(16), msg, "sha256").digest() == m[:32] and r["channel"] is False
PYEOF

# 6. Measured direct kernel boot with an OVMF image that publishes hashes and secret areas
#    (Debian's OVMF.fd has base 0/size 0 there; we patch the two GUID-table entries of a copy).
"$PY" - "$OVMF" "$TMP/ovmf-sev.fd" <<'PYEOF' || bad "could not patch OVMF"
import struct, sys, uuid
d = bytearray(open(sys.argv[1], "rb").read())
def patch(guid, base, size):
    g = uuid.UUID(guid).bytes_le
    i = d.rfind(g, len(d) - 4096)
    assert i > 0
    d[i - 2 - 8:i - 2] = struct.pack("<II", base, size)
patch("7255371f-3a3b-4b04-927b-1da6efa8d454", 0xA00000, 0x400)   # hashes table area
patch("4c2eb361-7d9b-4cc3-8081-127c90d3d294", 0xA01000, 0x1000)  # secret area
open(sys.argv[2], "wb").write(d)
PYEOF
head -c 100000 /dev/urandom > "$TMP/vmlinuz"; head -c 50000 /dev/urandom > "$TMP/initrd.img"
sed -e "s|tests/data/snp-measure/ovmf_AmdSev_suffix.bin|$TMP/ovmf-sev.fd|" -e "s|examples/direct-kernel/bzImage|$TMP/vmlinuz|" \
    -e "s|examples/direct-kernel/initrd.cpio|$TMP/initrd.img|" "$SRC/examples/sev-direct-kernel.xml" > "$TMP/direct.xml"
expect 0 "direct kernel" -- "$MC" run "$TMP/direct.xml" --seed k --tk "$TMP/tk.bin" --json
echo "$out" > "$TMP/k.json"
"$PY" - "$TMP/k.json" "$TMP/ovmf-sev.fd" "$TMP/vmlinuz" "$TMP/initrd.img" <<'PYEOF' && ok || bad "kernel-hashes digest"
import hashlib, json, struct, sys, uuid
r = json.load(open(sys.argv[1])); fw, k, i = (open(p, "rb").read() for p in sys.argv[2:5])
cmdline = b"console=ttyS0 root=/dev/vda1\0"
def entry(g, h): return uuid.UUID(g).bytes_le + struct.pack("<H", 50) + h
ents = (entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", hashlib.sha256(cmdline).digest()) +
        entry("44baf731-3a2f-4bd7-9af1-41e29169781d", hashlib.sha256(i).digest()) +
        entry("4de79437-abd2-427f-b835-d5b172d2045b", hashlib.sha256(k).digest()))
t = uuid.UUID("9438d606-4f22-4cc9-b479-a793d411fd21").bytes_le + struct.pack("<H", 16 + 2 + len(ents)) + ents
t += bytes(0xB0 - len(t))
assert r["launch_digest"] == hashlib.sha256(fw + t).hexdigest(), "digest"
assert r["kernel_hashes"] and r["measurement_verified"]
s = r["secret"]; assert s["firmware_area"] and s["gpa"] == "0xa01000" and s["matches"], s
PYEOF
expect 3 "direct kernel, Debian OVMF" -- "$MC" run "$TMP/direct.xml" --firmware "$OVMF"
has "direct kernel, Debian OVMF" "SEV: guest firmware hashes table area is invalid (base=0x0 size=0x0)"
# The example as shipped (run from the repository root): the project's tiny kernel and initrd and
# the AmdSev firmware tail; the digest again from the spec's formula in Python.
expect 0 "direct example as shipped" -- bash -c "cd '$SRC' && '$(readlink -f "$MC")' run examples/sev-direct-kernel.xml --seed k --json"
echo "$out" > "$TMP/k2.json"
"$PY" - "$TMP/k2.json" "$DATA/snp-measure/ovmf_AmdSev_suffix.bin" "$SRC/examples/direct-kernel/bzImage" \
    "$SRC/examples/direct-kernel/initrd.cpio" <<'PYEOF' && ok || bad "direct example digest"
import hashlib, json, struct, sys, uuid
r = json.load(open(sys.argv[1])); fw, k, i = (open(p, "rb").read() for p in sys.argv[2:5])
def entry(g, h): return uuid.UUID(g).bytes_le + struct.pack("<H", 50) + h
ents = (entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", hashlib.sha256(b"console=ttyS0 root=/dev/vda1\0").digest()) +
        entry("44baf731-3a2f-4bd7-9af1-41e29169781d", hashlib.sha256(i).digest()) +
        entry("4de79437-abd2-427f-b835-d5b172d2045b", hashlib.sha256(k).digest()))
t = uuid.UUID("9438d606-4f22-4cc9-b479-a793d411fd21").bytes_le + struct.pack("<H", 16 + 2 + len(ents)) + ents
t += bytes(0xB0 - len(t))
assert r["launch_digest"] == hashlib.sha256(fw + t).hexdigest(), "digest"
assert r["kernel_hashes"] and r["measurement_verified"] and r["secret"]["matches"], r
PYEOF

# 7. A 16 GiB guest: only what the launch and the workload write is allocated (progress is drawn
#    on a terminal only: tests/cli_progress.sh).
sed -e "s|<memory unit='MiB'>256</memory>|<memory unit='GiB'>16</memory>|" \
    -e "s|<currentMemory unit='MiB'>256</currentMemory>||" "$SRC/examples/sev-guest.xml" > "$TMP/big.xml"
expect 0 "16 GiB guest" -- "$MC" run "$TMP/big.xml" --seed big
has "16 GiB guest" "memory 16384 MiB"
[[ "$out" != *LAUNCH_UPDATE_DATA*MiB* ]] && ok || bad "16 GiB guest: progress printed into a pipe"
frames=$(grep -o "[0-9]* DRAM frames touched" <<<"$out" | cut -d' ' -f1)
[ -n "$frames" ] && [ "$frames" -lt 4096 ] && ok || bad "16 GiB guest touched $frames frames"

# 7b. The firmware's identity kept in a state file: the second run reuses it; a corrupt file is
#     refused with a message naming it.
expect 0 "state, first run" -- "$MC" run "$SRC/examples/sev-guest.xml" --state "$TMP/fw.state" --json
[ -s "$TMP/fw.state" ] && ok || bad "no state file written"
expect 0 "state, second run" -- "$MC" run "$SRC/examples/sev-guest.xml" --state "$TMP/fw.state" --json
"$PY" -c 'import json,sys; r=json.load(sys.stdin); assert r["measurement_verified"] and r["secret"]["matches"]' <<<"$out" && ok || bad "second run with state"
head -c 300 /dev/urandom > "$TMP/bad.state"
expect 3 "corrupt state" -- "$MC" run "$SRC/examples/sev-guest.xml" --state "$TMP/bad.state"
has "corrupt state" "bad.state"

# 8. Refusals with clear messages: libvirt's own test XMLs and bad setups.
expect 3 "libvirt sev.xml" -- "$MC" run "$LV/launch-security-sev.xml"
has "libvirt sev.xml" "cbitpos check failed, host '51' requested '47'"
expect 3 "libvirt sev.xml on rome" -- "$MC" run "$LV/launch-security-sev.xml" --platform rome
has "libvirt sev.xml on rome" "<dhCert> is not valid base64"
expect 3 "libvirt direct on rome" -- "$MC" run "$LV/launch-security-sev-direct.xml" --platform rome
has "libvirt direct on rome" "<dhCert> is not valid base64"
expect 3 "libvirt missing-platform-info" -- "$MC" run "$LV/launch-security-sev-missing-platform-info.xml" --firmware "$OVMF"
has "libvirt missing-platform-info" "<dhCert> is not valid base64"
expect 3 "libvirt snp" -- "$MC" run "$LV/launch-security-sev-snp.xml" --platform rome
has "libvirt snp" "'sev-snp' launch security is not supported on platform 'rome'"
expect 3 "libvirt snp latest" -- "$MC" run "$LV/launch-security-sev-snp.x86_64-latest.xml"
has "libvirt snp latest" "cbitpos check failed"
sed "s|<cbitpos>51</cbitpos>|<cbitpos>47</cbitpos>|" "$SRC/examples/sev-es-guest.xml" > "$TMP/es47.xml"
# Every EPYC has SEV-ES in hardware; the Naples profile's BIOS leaves ASIDs 1..4 for it. The Rome
# dump's BIOS left none (EDX = 1), so an SEV-ES guest is refused there.
expect 0 "ES on naples" -- "$MC" run "$TMP/es47.xml" --platform naples --platform-only
has "ES on naples" "SEV-ES guest"
expect 3 "ES on rome" -- "$MC" run "$TMP/es47.xml" --platform rome
has "ES on rome" "has no SEV-ES ASIDs (CPUID 8000_001F EDX = 1)"
expect 3 "sev on rome" -- "$MC" run "$SRC/examples/sev-guest.xml" --platform rome
has "sev on rome" "cbitpos check failed, host '47' requested '51'"
sed "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>16</memory>|; s|<currentMemory unit='MiB'>256</currentMemory>||" \
    "$SRC/examples/sev-guest.xml" > "$TMP/small.xml"
expect 3 "tiny guest" -- "$MC" run "$TMP/small.xml"
has "tiny guest" "at least 32 MiB"
sed "s|/usr/share/ovmf/OVMF.fd|$TMP/nope.fd|" "$SRC/examples/sev-guest.xml" > "$TMP/nofw.xml"
expect 3 "missing firmware" -- "$MC" run "$TMP/nofw.xml"
has "missing firmware" "cannot read firmware file '$TMP/nope.fd'"
head -c 1000 /dev/zero > "$TMP/odd.fd"
expect 3 "odd-sized firmware" -- "$MC" run "$SRC/examples/sev-guest.xml" --firmware "$TMP/odd.fd"
has "odd-sized firmware" "whole number of 4 KiB sectors"
printf "<domain type='kvm'><name>plain</name><memory unit='MiB'>64</memory></domain>" > "$TMP/plain.xml"
expect 3 "no launchSecurity" -- "$MC" run "$TMP/plain.xml"
has "no launchSecurity" "has no <launchSecurity type='sev'>"
head -c 31 /dev/zero > "$TMP/short.tk"
expect 2 "short tk" -- "$MC" run "$SRC/examples/sev-guest.xml" --tk "$TMP/short.tk"
expect 2 "misaligned secret gpa" -- "$MC" run "$SRC/examples/sev-guest.xml" --secret-gpa 0x1001
expect 3 "secret outside RAM" -- "$MC" run "$SRC/examples/sev-guest.xml" --secret-gpa 0x40000000
has "secret outside RAM" "outside guest RAM"
expect 3 "secret over the workload" -- "$MC" run "$SRC/examples/sev-guest.xml" --secret-gpa 0x200000
has "secret over the workload" "overlaps the guest workload"
sed "s|<policy>0x0001</policy>|<policy>0x0001</policy><dhCert>$(head -c 2084 /dev/zero | base64 -w0)</dhCert>|" \
    "$SRC/examples/sev-guest.xml" > "$TMP/dhonly.xml"
expect 3 "dhCert without session" -- "$MC" run "$TMP/dhonly.xml"
has "dhCert without session" "<dhCert> is given without <session>"
expect 2 "no xml" -- "$MC" run
expect 0 "help" -- "$MC" run --help
has "help" "usage: memcrypt run DOMAIN.xml"

cli_finish
