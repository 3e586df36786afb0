#!/bin/bash
# Interop with libvirt's guest-owner tool virt-qemu-sev-validate (Debian package
# libvirt-clients-qemu, with python3-lxml, python3-libvirt, python3-cryptography):
# `memcrypt run --platform-only` launches the guest, writes the measurement, API version, build
# and policy; the tool must answer "OK" to them, and our LAUNCH_SECRET must accept the secret
# header/payload the tool writes with --inject-secret (and the guest must read the secret).
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir. Installs nothing.
. "$(dirname "$0")/lib/cli.sh"
TOOL=/usr/bin/virt-qemu-sev-validate
PY=/usr/bin/python3
OVMF=/usr/share/ovmf/OVMF.fd
if [ ! -x "$TOOL" ] || [ ! -x "$PY" ] || [ ! -f "$OVMF" ] || ! "$PY" -c 'import lxml, libvirt, cryptography' 2>/dev/null; then
    bad "virt-qemu-sev-validate, python3-lxml/libvirt/cryptography or OVMF missing (scripts/deps installs them)"
    cli_finish
fi
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
head -c 32 /dev/urandom > "$TMP/tk.bin"
printf 'my LUKS passphrase: hunter2 hunter2' > "$TMP/secret.txt"

# platform side in the background; it waits for the secret files
launch() { # $1 = xml, $2 = out dir, extra args (e.g. --platform-only)...
    local xml=$1 out=$2; shift 2
    mkdir -p "$out"
    "$MC" run "$xml" --seed interop --tk "$TMP/tk.bin" --out-dir "$out" \
        --secret-header "$out/hdr" --secret-payload "$out/payload" --wait 120 --json "$@" > "$out/report.json" 2> "$out/err" &
    echo $! > "$out/pid"
    for _ in $(seq 1 6000); do [ -s "$out/policy" ] && break; sleep 0.01; done
    [ -s "$out/policy" ]
}
validate() { # $1 = out dir, extra args...
    local out=$1; shift
    "$PY" "$TOOL" --measurement "$(cat "$out/measurement")" --api-major "$(cat "$out/api-major")" \
        --api-minor "$(cat "$out/api-minor")" --build-id "$(cat "$out/build-id")" --policy "$(cat "$out/policy")" \
        --tk "$TMP/tk.bin" "$@"
}

# 1. SEV guest from the shipped example: measurement OK, secret injected and read by the guest
#    (a full run: the guest workload reads the secret table the tool built).
A="$TMP/a"
if launch "$SRC/examples/sev-guest.xml" "$A"; then ok; else bad "platform did not write its launch files: $(cat "$A/err")"; fi
out=$(validate "$A" --firmware "$OVMF" --inject-secret "luks-key:$TMP/secret.txt" \
      --secret-header "$A/hdr" --secret-payload "$A/payload" 2>&1); rc=$?
[ $rc = 0 ] && ok || bad "virt-qemu-sev-validate exit $rc: $out"
grep -q "OK: Looks good to me" <<<"$out" && ok || bad "validate did not say OK: $out"
grep -q "OK: Injected 1 secrets" <<<"$out" && ok || bad "validate did not inject: $out"
wait "$(cat "$A/pid")"; rc=$?
[ $rc = 0 ] && ok || bad "memcrypt run exit $rc: $(cat "$A/err")"
"$PY" - "$A/report.json" "$TMP/secret.txt" <<'PYEOF' && ok || bad "report: $(cat "$A/report.json" | head -50)"
import hashlib, json, sys
r = json.load(open(sys.argv[1])); want = open(sys.argv[2], "rb").read()
s = r["secret"]
assert s["injected"] and s["external"], s
# The guest read exactly the secret sent; the report shows its length and digest, never the text.
assert s["guest_read_bytes"] == len(want) and s["matches"], s
assert s["guest_read_sha256"] == hashlib.sha256(want).hexdigest(), s
assert s["guest_read"] is None and want.decode() not in open(sys.argv[1]).read(), s
assert r["guest_state"] == "RUNNING", r["guest_state"]
assert r["measurement_verified"] is True
PYEOF

# 2. A wrong TIK or a tampered measurement: the tool refuses ("does not match", exit 1).
head -c 32 /dev/urandom > "$TMP/other.bin"
out=$("$PY" "$TOOL" --measurement "$(cat "$A/measurement")" --api-major "$(cat "$A/api-major")" \
      --api-minor "$(cat "$A/api-minor")" --build-id "$(cat "$A/build-id")" --policy "$(cat "$A/policy")" \
      --firmware "$OVMF" --tk "$TMP/other.bin" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "Measurement does not match" <<<"$out" && ok || bad "wrong TK accepted: $rc $out"
out=$(validate "$A" --firmware "$OVMF" --policy 3 2>&1); rc=$?
[ $rc = 1 ] && ok || bad "wrong policy accepted: $rc $out"

# 3. Tampered secret payload: our LAUNCH_SECRET refuses it (BAD_MEASUREMENT), the run fails.
B="$TMP/b"
launch "$SRC/examples/sev-guest.xml" "$B" --platform-only && ok || bad "second launch"
validate "$B" --firmware "$OVMF" --inject-secret "luks-key:$TMP/secret.txt" \
    --secret-header "$B/hdr.tmp" --secret-payload "$B/payload.tmp" >/dev/null 2>&1 && ok || bad "validate B"
"$PY" - "$B/payload.tmp" <<'PYEOF'
import base64, sys
p = sys.argv[1]; d = bytearray(base64.b64decode(open(p).read())); d[0] ^= 1
open(p, "w").write(base64.b64encode(bytes(d)).decode())
PYEOF
mv "$B/hdr.tmp" "$B/hdr"; mv "$B/payload.tmp" "$B/payload"
wait "$(cat "$B/pid")"; rc=$?
# With --json the error is a JSON object on stdout (exit status 3), nothing on stderr.
[ $rc = 3 ] && [ ! -s "$B/err" ] && "$PY" -c 'import json,re,sys; r=json.load(open(sys.argv[1])); assert r["exit_status"] == 3 and re.search("LAUNCH_SECRET.*BAD_MEASUREMENT", r["error"]), r' "$B/report.json" &&
  ok || bad "tampered secret: exit $rc: $(cat "$B/err" "$B/report.json")"

# 4. SEV-ES with two vCPUs, platform only. The tool takes the VMSA pages we measured
#    (--vmsa-cpu0/1): libvirt 9.0's own VMSA builder leaves MXCSR and the x87 control word zero,
#    while our VMM (like current QEMU/KVM and sev-snp-measure) sets 0x1f80 / 0x37f.
C="$TMP/c"
launch "$SRC/examples/sev-es-guest.xml" "$C" --platform-only && ok || bad "ES launch: $(cat "$C/err")"
[ -s "$C/vmsa-cpu0.bin" ] && [ -s "$C/vmsa-cpu1.bin" ] && ok || bad "no VMSA files written"
out=$(validate "$C" --firmware "$OVMF" --num-cpus 2 --vmsa-cpu0 "$C/vmsa-cpu0.bin" --vmsa-cpu1 "$C/vmsa-cpu1.bin" \
      --inject-secret "luks-key:$TMP/secret.txt" --secret-header "$C/hdr" --secret-payload "$C/payload" 2>&1); rc=$?
[ $rc = 0 ] && grep -q "OK: Looks good to me" <<<"$out" && ok || bad "SEV-ES: virt-qemu-sev-validate exit $rc: $out"
wait "$(cat "$C/pid")"; rc=$?
[ $rc = 0 ] && ok || bad "ES memcrypt run exit $rc: $(cat "$C/err")"
# The same with one vCPU fewer in the tool's view must not validate.
out=$(validate "$C" --firmware "$OVMF" --num-cpus 3 --vmsa-cpu0 "$C/vmsa-cpu0.bin" --vmsa-cpu1 "$C/vmsa-cpu1.bin" 2>&1); rc=$?
[ $rc = 1 ] && ok || bad "SEV-ES with the wrong vCPU count accepted: $rc $out"

cli_finish
