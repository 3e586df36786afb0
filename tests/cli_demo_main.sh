#!/bin/bash
# The README's main job, scripts/demo, run as written in a repository root whose build/memcrypt is the
# binary under test (scripts/deps and scripts/build are stand-ins that record how they were called):
# it installs and builds only memcrypt, launches the SEV guest and then the SEV-SNP guest under
# their headings, passes ARGS to both runs (--seed, --platform, --json as one JSON document), sends
# the SEV-only options to the SEV run only, gives each run its own --html file, and stops at the
# first run that fails with its exit status.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
cli_need "Debian's OVMF" "apt-get install ovmf" test -r /usr/share/ovmf/OVMF.fd
cli_need python3 "apt-get install python3" command -v python3
R=$TMP/root
mkdir -p "$R/scripts" "$R/build"
cp "$SRC/scripts/demo" "$R/scripts/demo"
ln -s "$SRC/examples" "$R/examples"
ln -s "$MC" "$R/build/memcrypt"
for s in deps build; do printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$s" "$TMP" >"$R/scripts/$s"; done
chmod +x "$R/scripts/"*
demo() { out=$("$R/scripts/demo" "$@" 2>"$TMP/err"); rc=$?; }

# No arguments: deps, a build of memcrypt only, the two guests in order, each verified.
demo
check "plain demo exits 0 ($rc): $(tail -3 "$TMP/err")" '[ $rc = 0 ]'
check "deps, then a build of memcrypt only: $(cat "$TMP/calls")" \
    '[ "$(cat "$TMP/calls")" = "$(printf "deps \nbuild build --target memcrypt")" ]'
python3 - "$out" <<'PY' && ok || bad "the plain demo's output: both headings, SEV then SEV-SNP, each verified"
import sys
o = sys.argv[1]
h1 = o.index("=== 1/2  SEV: memcrypt run examples/sev-guest.xml")
h2 = o.index("=== 2/2  SEV-SNP: memcrypt run examples/sev-snp-guest.xml")
sev, snp = o[h1:h2], o[h2:]
assert "domain 'sev-guest'" in sev and "owner check            OK" in sev, sev[:400]
assert "domain 'sev-snp-guest'" in snp and "\nverdict: VERIFIED" in snp, snp[-400:]
assert o.count("memcrypt run: domain") == 2
PY

# --json --seed --platform genoa: one JSON document with both runs, on genoa, the seed reaching both.
demo --json --seed s1 --platform genoa
check "--json demo exits 0 ($rc): $(tail -3 "$TMP/err")" '[ $rc = 0 ]'
echo "$out" >"$TMP/a.json"
demo --json --seed=s1 --platform=genoa
echo "$out" >"$TMP/b.json"
python3 - "$TMP/a.json" "$TMP/b.json" <<'PY' && ok || bad "--json: one document, both runs on genoa, seeded alike"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert sorted(a) == ["sev", "sev_snp"], sorted(a)
s, n = a["sev"], a["sev_snp"]
assert s["domain"] == "sev-guest" and s["platform"] == "genoa" and s["measurement_verified"] is True, s["platform"]
assert n["domain"] == "sev-snp-guest" and n["platform"] == "genoa" and n["verified"] is True, n["platform"]
# the same seed (as --seed S and --seed=S): the same chip, so the same chip_id and launch digest
assert a["sev_snp"]["report"]["chip_id"] == b["sev_snp"]["report"]["chip_id"]
assert a["sev"]["launch_digest"] == b["sev"]["launch_digest"]
PY
demo --json --seed s2 --platform genoa
python3 -c 'import json,sys; a,b=(json.load(open(f))["sev_snp"]["report"]["chip_id"] for f in sys.argv[1:]); assert a!=b' \
    "$TMP/a.json" <(echo "$out") && ok || bad "another seed, another emulated chip"

# SEV-only options go to the SEV run only (an SEV-SNP run refuses them); --html gives each run a file.
head -c 32 /dev/urandom >"$TMP/tk.bin"
demo --tk "$TMP/tk.bin" --secret-file "$SRC/examples/sev-guest.xml" --html "$TMP/pic.html" --seed 1
check "SEV-only options and --html: exit 0 ($rc): $(tail -3 "$TMP/err")" '[ $rc = 0 ]'
check "the SEV heading shows --tk" 'grep -q "^=== 1/2  SEV: .* --tk $TMP/tk.bin --secret-file" <<<"$out"'
check "the SEV-SNP heading lacks --tk and names its own picture" \
    'grep -qx "=== 2/2  SEV-SNP: memcrypt run examples/sev-snp-guest.xml --html $TMP/pic-snp.html --seed 1" <<<"$out"'
check "the owner used the given TEK/TIK" 'grep -q "guest owner .*the given TEK/TIK" <<<"$out"'
check "the guest read the --secret-file" 'grep -q "secret read by the guest: .* SHA-256 $(sha256sum "$SRC/examples/sev-guest.xml" | cut -c1-64) (what the owner sent)" <<<"$out"'
check "two pictures" '[ -s "$TMP/pic.html" ] && [ -s "$TMP/pic-snp.html" ]'
check "--vcpu-type goes to the SEV-SNP run only" \
    '"$R/scripts/demo" --vcpu-type EPYC-Milan 2>/dev/null | grep -q "^=== 2/2 .*--vcpu-type EPYC-Milan\$"'

# The first failure stops the demo with its status; --json stays one document.
demo --platform rome
check "rome (C-bit 47): exit 3, got $rc" '[ $rc = 3 ]'
check "no SEV-SNP run after the SEV failure" '! grep -q "2/2" <<<"$out" && grep -q "cbitpos" "$TMP/err"'
demo --json --bogus
check "--bogus: exit 2, got $rc" '[ $rc = 2 ]'
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert list(d)==["sev"] and d["sev"]["kind"]=="usage", d' "$out" &&
    ok || bad "--json after a usage error is one document: $out"
demo --help
check "--help prints the usage" '[ $rc = 0 ] && grep -q "^Usage: scripts/demo" <<<"$out"'
cli_finish
