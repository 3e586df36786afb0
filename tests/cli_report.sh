#!/usr/bin/env bash
# CLI tests of `memcrypt report show|verify` on AMD's real reports and certificates.
# $1 = memcrypt binary, $2 = tests/data (test vectors), $3 = source folder.
. "$(dirname "$0")/lib/cli.sh"
M=$MC; A=$DATA/amd; R=$A/snp-reports
tmp=$TMP

shown=()
for d in "$R"/*/; do
  c=$(basename "$d")
  expect 0 "show $c" -- "$M" report show "$d/report.bin"
  expect 0 "show --json $c" -- "$M" report show "$d/report.bin" --json
  printf '%s' "$out" >"$tmp/show-$c" # parsed below, every report's in one python3
  shown+=("$c")
  if [ -f "$d/vlek.der" ]; then
    expect 0 "verify $c at 2025-06-01" -- "$M" report verify "$d/report.bin" --vlek "$d/vlek.der" --at 2025-06-01
    expect 1 "verify $c now (expired VLEK)" -- "$M" report verify "$d/report.bin" --vlek "$d/vlek.der"
    grep -q "^fail *validity" <<<"$out" && ok || bad "$c: expiry not named"
  else
    expect 0 "verify $c" -- "$M" report verify "$d/report.bin" --vcek "$d/vcek.der"
    expect 0 "verify $c with the ASK and ARK as PEM" -- "$M" report verify "$d/report.bin" --vcek "$d/vcek.der" \
      --ask "$A/snp-ca/ask-$(grep -o 'milan\|genoa\|turin' <<<"$c" | head -1).pem" \
      --ark "$A/snp-ca/ark-$(grep -o 'milan\|genoa\|turin' <<<"$c" | head -1).pem"
  fi
done

# every show --json output is JSON (one python3 -S for all: json needs no site imports)
mapfile -t parsed < <(python3 -S -c '
import json, sys
for f in sys.argv[1:]:
    try:
        json.loads(open(f).read())
        print("json")
    except Exception as e:
        print("not JSON:", e)' "${shown[@]/#/$tmp/show-}")
for i in "${!shown[@]}"; do
  [ "${parsed[$i]:-}" = json ] && ok || bad "show --json ${shown[$i]} is not JSON: ${parsed[$i]:-no answer}"
done

# field values in show
"$M" report show "$R/oak-turin-oc/report.bin" > "$tmp/t.txt"
grep -q "fmc=0 bl=1 tee=0 snp=2 ucode=71" "$tmp/t.txt" && ok || bad "Turin TCB layout"
grep -q "family 1Ah model 02h" "$tmp/t.txt" && ok || bad "Turin CPUID"
"$M" report show "$R/trustee-milan-vlek/report.bin" --json > "$tmp/v.json"
python3 -S - "$tmp/v.json" <<'PY' && ok || bad "VLEK report JSON fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["version"] == 3 and j["vmpl"] == 1
assert j["key_info"]["signing_key"] == "VLEK"
assert j["reported_tcb"]["snp"] == 24 and j["reported_tcb"]["microcode"] == 217
assert "SMT" in j["policy"]["flags"]
PY
"$M" report show "$R/gosev-milan/report.bin" | grep -q "DEBUG" && ok || bad "gosev policy DEBUG by name"

# policy checks
meas=$(python3 -S -c 'import sys; print(open(sys.argv[1],"rb").read()[0x90:0xC0].hex())' "$R/virtee-milan/report.bin")
expect 0 "measurement matches" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --measurement "$meas" --no-debug --vmpl 0 --min-tcb bl=3,tee=0,snp=8,ucode=115 --policy-mask 0x80000
expect 1 "measurement differs" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --measurement "${meas%??}00"
grep -q "^fail *measurement" <<<"$out" && ok || bad "measurement failure not named"
expect 1 "min-tcb too high" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --min-tcb bl=3,tee=0,snp=9,ucode=115
expect 0 "Turin min-tcb in Turin's layout" -- "$M" report verify "$R/oak-turin-oc/report.bin" --vcek "$R/oak-turin-oc/vcek.der" --min-tcb fmc=0,bl=1,tee=0,snp=2,ucode=71
expect 1 "Turin min-tcb fmc too high" -- "$M" report verify "$R/oak-turin-oc/report.bin" --vcek "$R/oak-turin-oc/vcek.der" --min-tcb fmc=1,bl=1,snp=2,ucode=71
expect 1 "fmc for a Milan report" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --min-tcb fmc=1
grep -q "Turin TCB part" <<<"$out" && ok || bad "fmc on Milan not explained"
expect 1 "debug policy" -- "$M" report verify "$R/gosev-milan/report.bin" --vcek "$R/gosev-milan/vcek.der" --no-debug
expect 1 "vmpl" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --vmpl 2
"$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --vmpl 2 --json > "$tmp/f.json"
python3 -S - "$tmp/f.json" <<'PY' && ok || bad "verify --json lists checks"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False
d = {c["name"]: c for c in j["checks"]}
assert d["vmpl"]["result"] == "fail" and d["signature"]["result"] == "pass" and d["measurement"]["result"] == "skipped"
assert d["vmpl"]["reason"]
PY
# roots_label WHAT LABEL ARGS...: report verify ARGS --json names the trusted roots LABEL
roots_label() {
  local what=$1 want=$2 got; shift 2
  "$M" report verify "$@" --json >"$tmp/roots.json" 2>&1
  got=$(python3 -S -c 'import json,sys; print(json.load(open(sys.argv[1]))["roots"])' "$tmp/roots.json" 2>&1)
  [ "$got" = "$want" ] && ok || bad "--json roots: $what: '$got', not '$want'"
}
roots_label "AMD's built-in roots" amd "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der"

# refused material
for n in "$A"/snp-negative/*.der; do
  expect 1 "negative $(basename "$n")" -- "$M" report verify "$R/gosev-milan/report.bin" --vcek "$n"
done
expect 1 "cross-generation VCEK" -- "$M" report verify "$R/oak-genoa-oc/report.bin" --vcek "$R/oak-milan-cb/vcek.der"
grep -q "^fail *generation" <<<"$out" && ok || bad "cross-generation not named"
expect 1 "Turin VCEK for a Milan report" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$A/snp-extra/vcek-turin.der"
expect 1 "wrong ASK" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --ask "$A/snp-ca/ask-genoa.pem"
expect 1 "report as certificate" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/report.bin"
head -c 1000 "$R/virtee-milan/report.bin" > "$tmp/short.bin"
expect 3 "truncated report" -- "$M" report show "$tmp/short.bin"
grep -q "truncated" <<<"$out" && ok || bad "truncation not said"
{ cat "$R/virtee-milan/report.bin"; printf x; } > "$tmp/long.bin"
expect 3 "oversized report" -- "$M" report verify "$tmp/long.bin" --vcek "$R/virtee-milan/vcek.der"
{ printf '\x09\x00\x00\x00'; tail -c +5 "$R/virtee-milan/report.bin"; } > "$tmp/v9.bin"
expect 3 "unknown version" -- "$M" report show "$tmp/v9.bin"
grep -q "version 9" <<<"$out" && ok || bad "unknown version not said"
# Without a VCEK: the check fails and names the AMD key server URL for it (hwID = chip_id, the SPLs
# of reported_tcb: bl=3 tee=0 snp=8 ucode=115 for this report).
expect 1 "no certificate" -- "$M" report verify "$R/virtee-milan/report.bin"
grep -q "https://kdsintf.amd.com/vcek/v1/Milan/d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115" <<<"$out" && ok || bad "no certificate: KDS URL"
expect 2 "bad --measurement" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --measurement zz
expect 2 "short --measurement" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --measurement 0102
grep -q "needs 48 bytes (96 hex digits), got 2 bytes" <<<"$out" && ok || bad "short --measurement message"
expect 2 "long --host-data" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --host-data "$(printf '%066d' 1)"
expect 2 "bad --at" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --at yesterday
expect 3 "missing file" -- "$M" report show "$tmp/nope.bin"
expect 3 "garbage certificate table" -- "$M" report verify "$R/virtee-milan/report.bin" --cert-table "$R/virtee-milan/report.bin"
: >"$tmp/empty.bin"
expect 3 "empty certificate table" -- "$M" report verify "$R/virtee-milan/report.bin" --cert-table "$tmp/empty.bin"
has "empty certificate table: named, and why" "--cert-table $tmp/empty.bin: the certificate table is 0 bytes"
mkdir -p "$tmp/noroots" && cp "$R/virtee-milan/vcek.der" "$tmp/noroots/"
expect 3 "--roots without ark.pem" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$tmp/noroots"
has "--roots without ark.pem: what the folder must hold" "$tmp/noroots has no ark.pem: a roots folder holds"

# --roots FILE: a cert_chain.pem as AMD's KDS serves it (the ASK or ASVK, then the ARK; made here from
# AMD's real certificates) or as `run --out-dir` writes an emulated chip's.
cat "$A/snp-ca/ask-milan.pem" "$A/snp-ca/ark-milan.pem" >"$tmp/milan-chain.pem"
expect 0 "--roots AMD's Milan cert_chain.pem" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$tmp/milan-chain.pem"
has "--roots FILE: the chain names AMD's roots" "VCEK -> AMD's Milan ASK -> AMD's Milan ARK"
roots_label "AMD's real chain given with --roots" amd "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$tmp/milan-chain.pem"
cat "$A/snp-ca/asvk-milan.pem" "$A/snp-ca/ark-milan.pem" >"$tmp/vlek-chain.pem"
expect 0 "--roots AMD's Milan VLEK cert_chain.pem" -- "$M" report verify "$R/trustee-milan-vlek/report.bin" --vlek "$R/trustee-milan-vlek/vlek.der" --roots "$tmp/vlek-chain.pem" --at 2025-06-01
expect 1 "--roots Milan cert_chain.pem, Genoa report" -- "$M" report verify "$R/oak-genoa-oc/report.bin" --vcek "$R/oak-genoa-oc/vcek.der" --roots "$tmp/milan-chain.pem"
has "--roots FILE of another product" "no trusted Genoa ASK root is loaded"
roots_refused() { # WHAT FILE TEXT: report verify --roots FILE exits 3 and says FILE: TEXT
  expect 3 "$1" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$2"
  has "$1: the file named, and why" "$2$3"
}
cat "$A/snp-ca/ark-milan.pem" "$A/snp-ca/ask-milan.pem" >"$tmp/order.pem"
roots_refused "--roots ARK first" "$tmp/order.pem" " lists the ARK (\"ARK-Milan\") first"
roots_refused "--roots one certificate" "$A/snp-ca/ark-milan.pem" " holds 1 certificate"
cat "$A/snp-ca/ask-milan.pem" "$A/snp-ca/ark-milan.pem" "$A/snp-ca/asvk-milan.pem" >"$tmp/three.pem"
roots_refused "--roots three certificates" "$tmp/three.pem" " holds 3 certificates"
cat "$A/snp-ca/ask-genoa.pem" "$A/snp-ca/ark-milan.pem" >"$tmp/mixed.pem"
roots_refused "--roots two products" "$tmp/mixed.pem" ": the first certificate is \"SEV-Genoa\", not Milan's ASK"
echo junk >"$tmp/junk.pem"
roots_refused "--roots junk" "$tmp/junk.pem" ": not a PEM certificate chain"
roots_refused "--roots a DER certificate" "$R/virtee-milan/vcek.der" ": not a PEM certificate chain"
# not AMD's: pairs openssl makes (an ARK and an ASK it signs; P-256 keys, quick to make: the checks
# are on names and signatures, not key types), named as AMD's or not, and an ASK under
# another ARK of the same name
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" -subj "/CN=example CA" -days 2 -out "$tmp/ca.pem" 2>/dev/null
cat "$tmp/ca.pem" "$tmp/ca.pem" >"$tmp/ca2.pem"
roots_refused "--roots a non-AMD pair" "$tmp/ca2.pem" ": the second certificate is \"example CA\", not an AMD ARK"
pair() { # DIR O: DIR/ark.pem (CN=ARK-Milan, O) and DIR/chain.pem (an ASK it signs, then it)
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ark.key" -subj "/O=$2/CN=ARK-Milan" -days 2 -out "$1/ark.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ask.key" -subj "/O=$2/CN=SEV-Milan" -out "$1/ask.csr" 2>/dev/null
  openssl x509 -req -in "$1/ask.csr" -CA "$1/ark.pem" -CAkey "$1/ark.key" -CAcreateserial -days 2 -out "$1/ask.pem" 2>/dev/null
  cat "$1/ask.pem" "$1/ark.pem" >"$1/chain.pem"
}
pair "$tmp/amd" "Advanced Micro Devices"
roots_refused "--roots a pair that names itself AMD's" "$tmp/amd/chain.pem" ": the ARK names itself AMD's (O=Advanced Micro Devices) but is not AMD's real Milan ARK"
pair "$tmp/x1" "Example"
pair "$tmp/x2" "Example"
expect 1 "--roots a non-AMD Milan pair: loaded, but AMD's VCEK does not chain to it" -- "$M" report verify "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$tmp/x1/chain.pem"
has "--roots a non-AMD pair: the chain check names it" "fail     chain"
roots_label "a non-AMD pair" given "$R/virtee-milan/report.bin" --vcek "$R/virtee-milan/vcek.der" --roots "$tmp/x1/chain.pem"
"$M" fixtures report --out "$tmp/test-root-report.bin" --key "$SRC/examples/test-root" >/dev/null
roots_label "a test root (fixtures)" test "$tmp/test-root-report.bin" --vcek "$SRC/examples/test-root/vcek.der" --roots "$SRC/examples/test-root"
cat "$tmp/x1/ask.pem" "$tmp/x2/ark.pem" >"$tmp/crossed.pem"
roots_refused "--roots an ASK under another ARK" "$tmp/crossed.pem" ": the ASK's signature does not verify with the ARK's key"
if cli_have "Debian's OVMF" "apt-get install ovmf" test -r /usr/share/ovmf/OVMF.fd; then
  "$M" run "$SRC/examples/sev-snp-guest.xml" --seed a --out-dir "$tmp/chip-a" >/dev/null 2>&1
  "$M" run "$SRC/examples/sev-snp-guest.xml" --seed b --out-dir "$tmp/chip-b" >/dev/null 2>&1
  expect 0 "--roots an emulated chip's cert_chain.pem" -- "$M" report verify "$tmp/chip-a/report.bin" --cert-table "$tmp/chip-a/certs.bin" --roots "$tmp/chip-a/cert_chain.pem"
  has "--roots FILE: an emulated chip's roots are EMULATED" "VCEK -> the EMULATED Milan ASK -> the EMULATED Milan ARK"
  roots_label "an emulated chip's roots" emulated "$tmp/chip-a/report.bin" --cert-table "$tmp/chip-a/certs.bin" --roots "$tmp/chip-a/cert_chain.pem"
  expect 1 "--roots another emulated chip's cert_chain.pem" -- "$M" report verify "$tmp/chip-a/report.bin" --cert-table "$tmp/chip-a/certs.bin" --roots "$tmp/chip-b/cert_chain.pem"
fi

cli_finish
