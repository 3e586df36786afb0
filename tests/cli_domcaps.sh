#!/bin/bash
# Shell tests of `memcrypt domcaps` and `memcrypt domain check` on libvirt's own test XMLs,
# the shipped examples and hostile input. $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
# Its outside tools (python3, xmllint; scripts/deps installs both) are never a silent skip: missing
# under CI=true is a failure (tests/lib/cli.sh).
. "$(dirname "$0")/lib/cli.sh"
LV="$DATA/libvirt"
cli_need python3 "apt-get install python3" command -v python3
# expect RC DESCRIPTION -- command...; output in $out
expect() {
    local want=$1 what=$2; shift 3
    out=$("$@" 2>&1); local rc=$?
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, wanted $want: $(echo "$out" | tail -2)"; fi
}
has() { if grep -qF -- "$2" <<<"$out"; then ok; else bad "$1: output lacks '$2'"; fi; }

# domcaps: XML that libxml2 reads back, and JSON
expect 0 "domcaps milan" -- "$MC" domcaps --platform milan --state "$TMP/milan.state"
has "domcaps milan" "<sev supported=\"yes\">"
has "domcaps milan" "<cbitpos>51</cbitpos>"
has "domcaps milan" "<reducedPhysBits>1</reducedPhysBits>"
has "domcaps milan" "<maxGuests>382</maxGuests>"
has "domcaps milan" "<maxESGuests>127</maxESGuests>"
echo "$out" > "$TMP/caps.xml"
if cli_have xmllint "apt-get install libxml2-utils" command -v xmllint; then
    if xmllint --noout "$TMP/caps.xml"; then ok; else bad "domcaps XML is not well-formed"; fi
    v=$(xmllint --xpath 'string(/domainCapabilities/features/sev/cbitpos)' "$TMP/caps.xml")
    [ "$v" = 51 ] && ok || bad "xpath cbitpos = '$v'"
    # cpu0Id is the chip's GET_ID (64 bytes, base64), as QEMU's query-sev-capabilities reports it.
    v=$(xmllint --xpath 'string(/domainCapabilities/features/sev/cpu0Id)' "$TMP/caps.xml")
    id=$("$MC" fw get-id --platform milan --state "$TMP/milan.state")
    [ "$(base64 -d <<<"$v" | od -An -tx1 | tr -d ' \n')" = "$id" ] && ok || bad "cpu0Id '$v' is not GET_ID '$id'"
fi
expect 0 "domcaps rome" -- "$MC" domcaps --platform rome
has "domcaps rome" "<cbitpos>47</cbitpos>"
has "domcaps rome" "<maxGuests>509</maxGuests>"
expect 0 "domcaps json" -- "$MC" domcaps --platform genoa --json --seed caps
has "domcaps json" "\"max_guests\": 907"
has "domcaps json" "\"max_es_guests\": 99"
has "domcaps json" "\"host_phys_addr_reduction\": 6"
python3 -c 'import base64,json,sys; d=json.load(sys.stdin); assert len(base64.b64decode(d["sev"]["cpu0_id"]))==64' <<<"$out" \
    && ok || bad "domcaps --json cpu0_id"
python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$out" && ok || bad "domcaps --json is not JSON"
expect 0 "domcaps naples" -- "$MC" domcaps --platform naples --seed caps
has "domcaps naples" "<maxGuests>11</maxGuests>"
has "domcaps naples" "<maxESGuests>4</maxESGuests>"
expect 2 "domcaps bad platform" -- "$MC" domcaps --platform pentium
has "domcaps bad platform" "unknown platform 'pentium'"
expect 2 "domcaps bad option" -- "$MC" domcaps --bogus
expect 0 "domcaps help" -- "$MC" domcaps --help
has "domcaps help" "usage: memcrypt domcaps"

# libvirt's test XMLs: every one is launched-checked or refused with a clear reason
expect 1 "sev.xml on milan" -- "$MC" domain check "$LV/launch-security-sev.xml" --platform milan
has "sev.xml on milan" "cbitpos check failed, host '51' requested '47'"
expect 1 "sev.xml on rome" -- "$MC" domain check "$LV/launch-security-sev.xml" --platform rome
has "sev.xml on rome" "<dhCert> is not valid base64"
has "sev.xml on rome" '"qom-type":"sev-guest","id":"lsec0","cbitpos":47,"reduced-phys-bits":1,"policy":1'
expect 1 "direct on rome" -- "$MC" domain check "$LV/launch-security-sev-direct.xml" --platform rome
has "direct on rome" "-kernel /vmlinuz"
has "direct on rome" '"kernel-hashes":true'
expect 1 "missing platform info" -- "$MC" domain check "$LV/launch-security-sev-missing-platform-info.xml" --platform genoa --no-file-check
has "missing platform info" "not valid base64"
expect 1 "snp on rome" -- "$MC" domain check "$LV/launch-security-sev-snp.xml" --platform rome
has "snp on rome" "'sev-snp' launch security is not supported on platform 'rome'"
expect 1 "snp latest on genoa" -- "$MC" domain check "$LV/launch-security-sev-snp.x86_64-latest.xml" --platform genoa
has "snp latest on genoa" "cbitpos check failed, host '51' requested '47'"
expect 1 "json refusal" -- "$MC" domain check "$LV/launch-security-sev.xml" --platform milan --json
has "json refusal" '"valid": false'
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["launch_security"]["policy"]=="0x1"' <<<"$out" && ok || bad "domain check --json"

# SNP policy bits 21..25 are reserved at firmware 1.55: POLICY_FAILURE on every emulated profile.
sed "s|<cbitpos>47</cbitpos>|<cbitpos>51</cbitpos>|; s|<policy>0x00030000</policy>|<policy>0x230000</policy>|" \
    "$LV/launch-security-sev-snp.xml" > "$TMP/snp21.xml"
grep -q "<policy>0x230000</policy>" "$TMP/snp21.xml" && ok || bad "snp21.xml was not made"
expect 1 "snp bit 21 on genoa" -- "$MC" domain check "$TMP/snp21.xml" --platform genoa --no-file-check
has "snp bit 21 on genoa" "sets bit 21 (CXL_ALLOW), which SNP firmware 1.55 treats as reserved; it refuses the launch with POLICY_FAILURE"

# What a real host needs besides <launchSecurity>: every unmet requirement is listed.
cat > "$TMP/req.xml" <<'XML'
<domain type='kvm'><name>req</name><memory unit='MiB'>512</memory>
  <os><type arch='x86_64' machine='pc-i440fx-8.2'>hvm</type></os>
  <devices>
    <interface type='network'><model type='virtio'/></interface>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend><driver iommu='on'/></rng>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x3b' slot='0' function='0'/></source></hostdev>
  </devices>
  <launchSecurity type='sev'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x1</policy></launchSecurity>
</domain>
XML
expect 1 "host requirements" -- "$MC" domain check "$TMP/req.xml" --platform milan
for s in "host requirements not met (5):" "machine type 'pc-i440fx-8.2' is not Q35" "SEV is only going to work with OVMF (UEFI)" \
         "1 virtio device without <driver iommu='on'/> (interface (model virtio))" "device must provide VIRTIO_F_ACCESS_PLATFORM" \
         "the VM memory needs to be pinned in physical RAM" "1 PCI device is passed through" "-overcommit mem-lock=off"; do
    has "host requirements" "$s"
done
expect 1 "host requirements json" -- "$MC" domain check "$TMP/req.xml" --platform milan --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["host_requirements"])==5 and not d["valid"]' <<<"$out" \
    && ok || bad "host_requirements in JSON"

# the shipped examples validate on milan, with Debian's OVMF present
for x in sev-guest sev-es-guest; do
    expect 0 "example $x" -- "$MC" domain check "$SRC/examples/$x.xml" --platform milan
    has "example $x" "OK: platform milan can launch this domain"
    has "example $x" "-overcommit mem-lock=on"
done
# The direct-kernel example's paths are relative to the repository root: it checks there, and not
# from another folder.
expect 0 "direct example" -- bash -c "cd '$SRC' && '$(readlink -f "$MC")' domain check examples/sev-direct-kernel.xml"
has "direct example" "OK: platform milan can launch this domain"
expect 1 "direct example elsewhere" -- bash -c "cd '$TMP' && '$(readlink -f "$MC")' domain check '$SRC/examples/sev-direct-kernel.xml'"
has "direct example elsewhere" "cannot read"
expect 1 "sev-es on rome" -- "$MC" domain check "$SRC/examples/sev-es-guest.xml" --platform rome --no-file-check
has "sev-es on rome" "cbitpos check failed"

# hostile input
printf '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><domain type="kvm"><name>&b;</name><memory>1</memory></domain>' > "$TMP/laughs.xml"
expect 3 "billion laughs" -- "$MC" domain check "$TMP/laughs.xml"
has "billion laughs" "DOCTYPE"
printf '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain type="kvm"><name>&x;</name><memory>1</memory></domain>' > "$TMP/xxe.xml"
expect 3 "external entity" -- "$MC" domain check "$TMP/xxe.xml"
if grep -q "root:" <<<"$out"; then bad "external entity leaked a file"; else ok; fi
printf '<domain type="kvm"><name>x</name><memory unit="parsecs">1</memory></domain>' > "$TMP/unit.xml"
expect 3 "wrong unit" -- "$MC" domain check "$TMP/unit.xml"
has "wrong unit" "unknown unit 'parsecs'"
printf '<domain type="kvm"><name>x</name><memory>184467440737095516160</memory></domain>' > "$TMP/huge.xml"
expect 3 "huge number" -- "$MC" domain check "$TMP/huge.xml"
has "huge number" "too large"
printf '<domain type="kvm"><name>x</name><memory>1</memory><launchSecurity type="sev"><cbitpos>51</cbitpos><dhCert>@@@@</dhCert><session>AAAA</session></launchSecurity></domain>' > "$TMP/b64.xml"
expect 1 "bad base64" -- "$MC" domain check "$TMP/b64.xml" --no-file-check
has "bad base64" "<dhCert> is not valid base64"
head -c 2000000 /dev/zero | tr '\0' ' ' > "$TMP/big.xml"
expect 3 "too large file" -- "$MC" domain check "$TMP/big.xml"
expect 3 "missing file" -- "$MC" domain check "$TMP/nope.xml"
expect 2 "no argument" -- "$MC" domain check
expect 2 "two arguments" -- "$MC" domain check a b

cli_finish
