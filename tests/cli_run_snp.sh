#!/bin/bash
# Shell tests of `memcrypt run` for SEV-SNP domains, checked from outside the run:
#  - the MEASUREMENT in the emulated chip's report equals `memcrypt measure` of the same OVMF,
#    vCPUs, vCPU type and guest features (Debian's OVMF on Milan and Genoa; the AmdSev fixture with
#    kernel hashes), and the firmware's page-by-page launch log (--launch-log) equals
#    `measure --transcript` line by line (all but the source column, which only the owner knows);
#    when they part, the first differing step of both is printed, as `measure diff` does;
#  - the report and the roots the owner used (--out-dir) verify again with `memcrypt report verify
#    --roots` and `openssl verify`, and are refused without --roots (not AMD's);
#  - ID block / ID auth / author key from `memcrypt idblock` (digests in the report), host data,
#    vcek='no' without a VLEK, an ID block for another launch (BAD_MEASUREMENT at LAUNCH_FINISH);
#  - libvirt's own sev-snp test XMLs (tests/data/libvirt): as they are, refused for their cbitpos
#    47 as QEMU refuses it on a host with C-bit 51; with what they lack supplied by this test (the
#    firmware with --firmware; cbitpos 51 and <memoryBacking><locked/> in a copy), LAUNCH_FINISH
#    refuses their placeholder ID block (BAD_MEASUREMENT); without the ID block, the launch succeeds
#    and vcek='no' leaves the guest without a report (no VLEK loaded);
#  - run --save: the saved SEV-SNP guest continued by `memcrypt exec --guest` (a report from
#    /dev/sev-guest with the same MEASUREMENT);
#  - the CPUID page the hypervisor filled, as the guest reads it (signature, C-bit); the domain's
#    <cpu> (host-model, custom, host-passthrough; --vcpu-type overrides it; unknown models and modes
#    refused); a vCPU model newer than the host refused by the firmware's CPUID check, QEMU's report;
#  - refusals: SEV-only options, unknown vCPU types, platforms without SNP.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
OVMF=/usr/share/ovmf/OVMF.fd
AMDSEV="$DATA/snp-measure/ovmf_AmdSev_suffix.bin"
LV="$DATA/libvirt"
cli_need python3 "apt-get install python3" command -v python3
# the checks use the standard library only: python3 -S starts without site's imports
py_std() { python3 -S "$@"; }
PY=py_std
STATE="$TMP/fw.state" # one emulated chip for every run (its keys are made once)

# The firmware's log against the owner's transcript, line by line (the source column left out).
same_log() { # WHAT FIRMWARE-LOG OWNER-TRANSCRIPT
    local a b
    a=$(grep -E '^ *[0-9]+  gpa=' "$2" | awk '{$5=""; print}')
    b=$(grep -E '^ *[0-9]+  gpa=' "$3" | awk '{$5=""; print}')
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; return; fi
    local n
    n=$(diff <(echo "$a") <(echo "$b") | head -1 | sed 's/[^0-9].*//')
    bad "$1: the firmware's launch log and measure --transcript part at line ${n:-?}:" \
        "firmware: $(echo "$a" | sed -n "${n:-1}p" | cut -c1-200)" "owner: $(echo "$b" | sed -n "${n:-1}p" | cut -c1-200)"
}

# Checks of a run's JSON against measure's value and the XML's inputs.
check_json() { # WHAT JSON MEASUREMENT HOSTDATA-HEX POLICY
    "$PY" - "$2" "$3" "$4" "$5" <<'PYEOF' && ok || bad "$1: report checks"
import json, sys
r = json.load(open(sys.argv[1])); want, host, pol = sys.argv[2], sys.argv[3], int(sys.argv[4], 16)
rep = r["report"]
assert rep["measurement"] == want, ("MEASUREMENT", rep["measurement"], want)
assert r["launch"]["expected_measurement"] == want and r["launch"]["firmware_digest"] == want
assert rep["report_data"] == r["nonce"] and len(set(r["nonce"])) > 4, "REPORT_DATA is the owner's nonce"
assert rep["host_data"] == host, ("HOST_DATA", rep["host_data"], host)
assert int(rep["policy"]["raw"], 16) == pol and rep["vmpl"] == 0
assert r["launch"]["log_identical"] is True and r["launch"]["log_steps"] == r["launch"]["owner_steps"]
checks = {c["name"]: c["result"] for c in r["checks"]}
for k in ("launch_log", "chain", "signature", "measurement", "report_data", "host_data", "policy_mask", "vmpl"):
    assert checks.get(k) == "pass", (k, checks.get(k))
assert r["verified"] is True and rep["key_info"]["signing_key"] == "VCEK"
PYEOF
}

# 1. Debian's OVMF: 2 vCPUs EPYC-Milan with SEV_FEATURES 0x21 on Milan; 1 vCPU EPYC-Genoa on Genoa.
if cli_have "$OVMF" "apt-get install ovmf" test -r "$OVMF"; then
    HOST=$("$PY" -c "import base64,re,sys; print(base64.b64decode(re.search(r'<hostData>([^<]*)', open(sys.argv[1]).read()).group(1)).hex())" "$SRC/examples/sev-snp-guest.xml")
    want=$("$MC" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21 --ovmf "$OVMF")
    expect 0 "debian milan" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --state "$STATE" --vcpu-type EPYC-Milan \
        --guest-features 0x21 --json --launch-log "$TMP/fw.log" --out-dir "$TMP/owner"
    echo "$out" > "$TMP/m.json"
    check_json "debian milan" "$TMP/m.json" "$want" "$HOST" 0x30000
    # the CPUID page the hypervisor filled (QEMU's table for EPYC-Milan), as the guest reads it
    "$PY" -c "
import json,sys; r=json.load(sys.stdin); c=r['cpuid_page']
assert c['guest_read'] is True and c['guest_fn1_eax'] == r['vcpu_sig'] == '0xa00f11', c
assert c['guest_cbitpos'] == 51 and c['entries'] == 57 and int(c['gpa'], 16) > 0 and r['vcpu_source'] == '--vcpu-type', c" \
        < "$TMP/m.json" && ok || bad "debian milan: the guest's CPUID page"
    "$MC" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21 --ovmf "$OVMF" --transcript > "$TMP/owner.log"
    same_log "debian milan" "$TMP/fw.log" "$TMP/owner.log"
    # the owner's folder: verify again with the CLI and with openssl
    O="$TMP/owner"
    expect 0 "report verify --roots" -- "$MC" report verify "$O/report.bin" --roots "$O" --vcek "$O/vcek.der" \
        --measurement "$want" --host-data "$HOST"
    has "report verify --roots" "VCEK -> the EMULATED Milan ASK -> the EMULATED Milan ARK"
    expect 1 "report verify without --roots" -- "$MC" report verify "$O/report.bin" --vcek "$O/vcek.der"
    if openssl verify -CAfile "$O/ark.pem" -untrusted "$O/ask.pem" "$O/vcek.pem" >/dev/null 2>&1; then ok; else bad "openssl verify of the VCEK chain"; fi
    # the text output says the same
    expect 0 "debian milan text" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --state "$STATE" --vcpu-type EPYC-Milan --guest-features 0x21
    has "text" "measurement            $want"
    has "text" "verdict: VERIFIED"
    has "text" "VCEK -> the EMULATED Milan ASK -> the EMULATED Milan ARK"  # as certs and fetch name the chip's roots
    has "text" "the same as \`memcrypt measure --transcript\` step by step"

    want=$("$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC-Genoa --ovmf "$OVMF")
    sed "s|<vcpu placement='static'>2</vcpu>|<vcpu placement='static'>1</vcpu>|" "$SRC/examples/sev-snp-guest.xml" > "$TMP/g1.xml"
    expect 0 "debian genoa" -- "$MC" run "$TMP/g1.xml" --platform genoa --state "$TMP/genoa.state" --vcpu-type EPYC-Genoa \
        --json --launch-log "$TMP/fwg.log"
    echo "$out" > "$TMP/g.json"
    check_json "debian genoa" "$TMP/g.json" "$want" "$HOST" 0x30000
    "$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC-Genoa --ovmf "$OVMF" --transcript > "$TMP/ownerg.log"
    same_log "debian genoa" "$TMP/fwg.log" "$TMP/ownerg.log"
    "$PY" -c "
import json,sys; c=json.load(sys.stdin)['cpuid_page']
assert c['guest_read'] and c['guest_fn1_eax'] == '0xa10f10' and c['guest_cbitpos'] == 51 and c['entries'] == 64, c" \
        < "$TMP/g.json" && ok || bad "debian genoa: the guest's CPUID page"
    # the domain's <cpu>: host-model is the host generation's named model (EPYC-Genoa on Genoa) and
    # measures as `measure --vcpu-type EPYC-Genoa`; a custom model is taken as QEMU's; --vcpu-type wins
    sed "s|</vcpu>|</vcpu>\n  <cpu mode='host-model' check='partial'/>|" "$TMP/g1.xml" > "$TMP/hm.xml"
    expect 0 "cpu host-model" -- "$MC" run "$TMP/hm.xml" --platform genoa --state "$TMP/genoa.state" --json
    echo "$out" > "$TMP/hm.json"
    check_json "cpu host-model" "$TMP/hm.json" "$want" "$HOST" 0x30000
    "$PY" -c "
import json,sys; r=json.load(sys.stdin)
assert r['vcpu_type'] == 'EPYC-Genoa' and r['vcpu_source'].startswith('domain <cpu'), r['vcpu_type']" <<<"$out" && ok || bad "cpu host-model json"
    sed "s|</vcpu>|</vcpu>\n  <cpu mode='custom' match='exact'><model fallback='forbid'>EPYC-Milan</model></cpu>|" \
        "$TMP/g1.xml" > "$TMP/cm.xml"
    expect 0 "cpu custom" -- "$MC" run "$TMP/cm.xml" --state "$STATE" --json
    "$PY" -c "
import json,sys; r=json.load(sys.stdin)
assert r['vcpu_type'] == 'EPYC-Milan' and r['vcpu_sig'] == '0xa00f11' and r['cpuid_page']['guest_fn1_eax'] == '0xa00f11'
assert r['report']['measurement'] == sys.argv[1]" "$("$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf "$OVMF")" \
        <<<"$out" && ok || bad "cpu custom json"
    expect 0 "cpu custom, --vcpu-type" -- "$MC" run "$TMP/cm.xml" --state "$STATE" --vcpu-type EPYC-v4 --json
    "$PY" -c "
import json,sys; r=json.load(sys.stdin)
assert r['vcpu_type'] == 'EPYC-v4' and r['vcpu_source'] == '--vcpu-type' and r['cpuid_page']['guest_fn1_eax'] == '0x800f12'" \
        <<<"$out" && ok || bad "cpu custom overridden json"
    sed "s|</vcpu>|</vcpu>\n  <cpu mode='host-passthrough'/>|" "$TMP/g1.xml" > "$TMP/hp.xml"
    expect 0 "cpu host-passthrough" -- "$MC" run "$TMP/hp.xml" --platform genoa --state "$TMP/genoa.state" --json
    "$PY" -c "
import json,sys; r=json.load(sys.stdin)
assert r['vcpu_type'] == 'host (genoa)' and r['cpuid_page']['guest_fn1_eax'] == r['vcpu_sig'] == '0xa10f11'" <<<"$out" && ok ||
        bad "cpu host-passthrough json"
    sed "s|EPYC-Milan</model>|qemu64</model>|" "$TMP/cm.xml" > "$TMP/q64.xml"
    expect 3 "cpu qemu64" -- "$MC" run "$TMP/q64.xml" --state "$STATE"
    has "cpu qemu64" "<cpu><model>qemu64</model> is not a QEMU EPYC model memcrypt knows"
    sed "s|mode='custom'|mode='passthrough'|" "$TMP/cm.xml" > "$TMP/badmode.xml"
    expect 3 "cpu bad mode" -- "$MC" run "$TMP/badmode.xml" --state "$STATE"
    has "cpu bad mode" "is not a libvirt CPU mode"
    # a vCPU model newer than the host: the firmware corrects the CPUID page, QEMU's report, no launch
    expect 3 "genoa vcpu on milan" -- "$MC" run "$TMP/g1.xml" --state "$STATE" --vcpu-type EPYC-Genoa
    has "genoa vcpu on milan" "refused the CPUID page (INVALID_PARAM); the firmware corrected: function 0x1, index 0x0: provided eax 0x00a10f10"
    # the default vCPU model is the platform's processor (-cpu host): its signature in RDX
    expect 0 "host vcpu" -- "$MC" run "$TMP/g1.xml" --state "$STATE" --json
    sig=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['vcpu_sig'])" /dev/stdin <<<"$out")
    want=$("$MC" measure --mode snp --vcpus 1 --vcpu-sig "$sig" --ovmf "$OVMF")
    echo "$out" > "$TMP/h.json"
    check_json "host vcpu" "$TMP/h.json" "$want" "$HOST" 0x30000

    # 2. ID block, ID auth and author key from `memcrypt idblock`; host data from the XML.
    openssl ecparam -name secp384r1 -genkey -noout -out "$TMP/id.pem" 2>/dev/null
    openssl ecparam -name secp384r1 -genkey -noout -out "$TMP/author.pem" 2>/dev/null
    "$MC" idblock --id-key "$TMP/id.pem" --author-key "$TMP/author.pem" --mode snp --ovmf "$OVMF" --vcpus 2 \
        --vcpu-type EPYC-Milan --json > "$TMP/idb.json"
    "$PY" - "$TMP/idb.json" "$SRC/examples/sev-snp-guest.xml" "$TMP/id.xml" <<'PYEOF' || bad "id block xml"
import json, sys
j = json.load(open(sys.argv[1])); x = open(sys.argv[2]).read()
x = x.replace("<launchSecurity type='sev-snp'>", "<launchSecurity type='sev-snp' authorKey='yes'>")
x = x.replace("</hostData>", "</hostData>\n    <idBlock>%s</idBlock>\n    <idAuth>%s</idAuth>" % (j["id_block"], j["id_auth"]))
open(sys.argv[3], "w").write(x)
PYEOF
    expect 0 "id block" -- "$MC" run "$TMP/id.xml" --state "$STATE" --vcpu-type EPYC-Milan --json
    echo "$out" > "$TMP/id.json"
    "$PY" - "$TMP/id.json" "$TMP/idb.json" <<'PYEOF' && ok || bad "id block report"
import json, sys
r = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2])); rep = r["report"]
checks = {c["name"]: c["result"] for c in r["checks"]}
assert checks["id_key_digest"] == "pass" and checks["author_key_digest"] == "pass", checks
assert rep["id_key_digest"] == j["id_key_digest"] and rep["author_key_digest"] == j["author_key_digest"]
assert rep["key_info"]["author_key_en"] is True and r["launch"]["finish_flags"] == "ID_BLOCK_EN AUTH_KEY_EN"
assert r["verified"] is True
PYEOF
    # an ID block made for another launch (SEV_FEATURES 0x21): the firmware refuses LAUNCH_FINISH
    expect 3 "id block, other launch" -- "$MC" run "$TMP/id.xml" --state "$STATE" --vcpu-type EPYC-Milan --guest-features 0x21
    has "id block, other launch" "SNP_LAUNCH_FINISH"
    has "id block, other launch" "BAD_MEASUREMENT"

    # 3. vcek='no' and no VLEK on the chip: the guest gets no report (exit 1, the check says why).
    sed "s|<launchSecurity type='sev-snp'>|<launchSecurity type='sev-snp' vcek='no'>|" "$SRC/examples/sev-snp-guest.xml" > "$TMP/novcek.xml"
    expect 1 "vcek=no" -- "$MC" run "$TMP/novcek.xml" --state "$STATE" --json
    "$PY" -c "
import json,sys; r=json.load(sys.stdin); c={c['name']:c for c in r['checks']}
assert r['verified'] is False and r['report'] is None and c['report']['result']=='fail', r['checks']
assert r['launch']['finish_flags']=='VCEK_DISABLED' and r['report_status_name'] != 'SUCCESS'" <<<"$out" && ok || bad "vcek=no json"

    # 4. Refusals.
    # --save: the running guest in the saved-guest file (kind 3), continued by another process on the
    # chip: a program inside it gets a report from /dev/sev-guest with the same MEASUREMENT
    expect 0 "save" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --state "$STATE" --vcpu-type EPYC-Milan --save "$TMP/g.snp" --json
    "$PY" -c "import json,sys; r=json.load(sys.stdin); assert r['verified'] and r['saved']['bytes'] > 0" <<<"$out" && ok || bad "save json"
    [ "$(head -c 8 "$TMP/g.snp")" = MCSEVGST ] && [ "$(od -An -tu4 -j12 -N4 "$TMP/g.snp" | tr -d ' ')" = 3 ] && ok ||
        bad "--save did not write an SEV-SNP saved guest"
    want=$("$MC" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf "$OVMF")
    SG="$(dirname "$MC")/sev_guest"
    if [ -x "$SG" ]; then
        expect 0 "exec --guest" -- "$MC" exec --state "$STATE" --guest "$TMP/g.snp" -- "$SG" report "$(printf '5a%.0s' $(seq 64))" "$TMP/r.bin"
        has "exec --guest" "measurement $want"
    else
        bad "the sev_guest test client is not built next to memcrypt"
    fi
    expect 2 "save without state" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --save "$TMP/g2.snp"
    expect 3 "sev options" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --state "$STATE" --no-session
    has "sev options" "an SEV-SNP guest attests with a report instead"
    expect 2 "vcpu type: a usage error, as measure's" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --state "$STATE" --vcpu-type EPYC-Nope
    has "vcpu type" "--vcpu-type: unknown vCPU type 'EPYC-Nope'"
    has "vcpu type" "EPYC-Milan"
    expect 3 "rome" -- "$MC" run "$SRC/examples/sev-snp-guest.xml" --platform rome
    has "rome" "'sev-snp' launch security is not supported on platform 'rome'"
fi

# 5. The AmdSev fixture with kernel hashes (direct kernel boot, kernelHashes='yes').
K="$DATA/snp-measure/fake-kernel.bin"; I="$DATA/snp-measure/fake-initrd.bin"; CMD="console=ttyS0 loglevel=7"
cat > "$TMP/amdsev.xml" <<EOF
<domain type='kvm'>
  <name>amdsev-direct</name>
  <memory unit='MiB'>256</memory>
  <memoryBacking><locked/></memoryBacking>
  <os firmware='efi'>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$K</kernel>
    <initrd>$I</initrd>
    <cmdline>$CMD</cmdline>
  </os>
  <launchSecurity type='sev-snp' kernelHashes='yes'>
    <policy>0x30000</policy>
  </launchSecurity>
</domain>
EOF
want=$("$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf "$AMDSEV" --kernel "$K" --initrd "$I" --append "$CMD")
expect 0 "amdsev" -- "$MC" run "$TMP/amdsev.xml" --firmware "$AMDSEV" --state "$STATE" --vcpu-type EPYC-Milan --json \
    --launch-log "$TMP/fwa.log"
echo "$out" > "$TMP/a.json"
check_json "amdsev" "$TMP/a.json" "$want" "$(printf '0%.0s' $(seq 64))" 0x30000
"$PY" -c "import json,sys; r=json.load(sys.stdin); assert r['kernel_hashes'] is True" <<<"$out" && ok || bad "amdsev kernel_hashes"
"$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf "$AMDSEV" --kernel "$K" --initrd "$I" --append "$CMD" \
    --transcript > "$TMP/ownera.log"
same_log "amdsev" "$TMP/fwa.log" "$TMP/ownera.log"
grep -q "SNP_KERNEL_HASHES" "$TMP/ownera.log" && ok || bad "the owner's transcript has no kernel-hashes page"
# another command line is another measurement: the owner's expectation moves with the XML
sed "s|$CMD|console=ttyS0|" "$TMP/amdsev.xml" > "$TMP/amdsev2.xml"
expect 0 "amdsev other cmdline" -- "$MC" run "$TMP/amdsev2.xml" --firmware "$AMDSEV" --state "$STATE" --vcpu-type EPYC-Milan --json
"$PY" -c "import json,sys; r=json.load(sys.stdin); assert r['report']['measurement'] != sys.argv[1]" "$want" <<<"$out" && ok || bad "cmdline not measured"

# 6. libvirt's own sev-snp test XMLs.
for f in launch-security-sev-snp.xml launch-security-sev-snp.x86_64-latest.xml; do
    grep -q "<launchSecurity type='sev-snp'" "$LV/$f" && ok || bad "$f is not an sev-snp domain"
    expect 3 "$f as is" -- "$MC" run "$LV/$f" --firmware "$AMDSEV" --state "$STATE"
    has "$f as is" "cbitpos check failed, host '51' requested '47'"
    # what the file lacks for this host, supplied here: cbitpos 51 and locked memory (a copy)
    sed -e 's|<cbitpos>47</cbitpos>|<cbitpos>51</cbitpos>|' -e 's|</features>|</features><memoryBacking><locked/></memoryBacking>|' \
        "$LV/$f" > "$TMP/lv.xml"
    # (its <cpu> model qemu64 is not modelled: refused; the test names the vCPU model)
    if grep -q "<model fallback='forbid'>qemu64</model>" "$TMP/lv.xml"; then
        expect 3 "$f qemu64" -- "$MC" run "$TMP/lv.xml" --firmware "$AMDSEV" --state "$STATE"
        has "$f qemu64" "qemu64"
    fi
    expect 3 "$f supplied" -- "$MC" run "$TMP/lv.xml" --firmware "$AMDSEV" --state "$STATE" --vcpu-type EPYC-Milan
    has "$f supplied" "SNP_LAUNCH_FINISH"
    has "$f supplied" "BAD_MEASUREMENT"
    # without the placeholder ID block: the launch completes; vcek='no' and no VLEK: no report
    sed -e '/<idBlock>/d' -e '/<idAuth>/d' -e "s| authorKey='yes'||" "$TMP/lv.xml" > "$TMP/lv2.xml"
    expect 1 "$f without id block" -- "$MC" run "$TMP/lv2.xml" --firmware "$AMDSEV" --state "$STATE" --json \
        --vcpu-type EPYC-Milan
    "$PY" -c "
import json,sys; r=json.load(sys.stdin)
assert r['launch']['finish_flags']=='VCEK_DISABLED' and r['launch']['log_identical'] and r['report'] is None
assert bytes.fromhex(r['guest_visible_workarounds']) == b'libvirtlibvirtli'
assert bytes.fromhex(r['launch']['host_data']) == b'libvirtlibvirtlibvirtlibvirtlibv'" <<<"$out" && ok || bad "$f without id block: json"
done

cli_finish
