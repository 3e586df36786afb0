#!/usr/bin/env bash
# CLI tests of the fixture factory: test roots pass `openssl verify` and `report verify --roots`,
# are refused without --roots, negative fixtures fail on the intended check, --seed is reproducible,
# `fixtures --root` issues under an existing root (and refuses a bad one, writing nothing).
# $1 = memcrypt binary, $2 = tests/data (test vectors), $3 = source folder.
# Each fresh test root costs two RSA-4096 key generations (about a second), so per generation
# one root is made fresh and the other kind is issued under it with --root (one RSA-4096 key: the
# ASVK or ASK the first root lacks, signed by its ARK); Genoa starts with the VLEK, so both kinds
# are made fresh somewhere. The work is split: this file covers Milan and Genoa (and --seed
# against examples/test-root), cli_fixtures_turin.sh (FIXTURE_PART=turin) Turin, chosen fields,
# --root for a new TCB and its refusals, and usage errors.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
part=${FIXTURE_PART:-milan-genoa}
tmp=$TMP
out=$tmp/out.txt

if [ "$part" = turin ]; then gens=turin; else gens="milan genoa"; fi
for g in $gens; do
  kinds="vcek vlek"; [ $g = genoa ] && kinds="vlek vcek"
  first=
  for kind in $kinds; do
    d=$tmp/$g-$kind; flag=; inter=ask
    [ $kind = vlek ] && { flag=--vlek; inter=asvk; }
    if [ -z "$first" ]; then how=(--generation $g --seed "ci-$g"); else how=(--root "$first" --seed "ci-$g-$kind"); fi
    # the Milan VCEK root is examples/test-root's seed: compared with it byte for byte below
    [ $g = milan ] && [ $kind = vcek ] && how=(--generation milan --seed example)
    if "$M" fixtures --out "$d" "${how[@]}" $flag >"$out" 2>&1; then ok; else bad "fixtures $g $kind ${how[*]}"; cat "$out" >&2; continue; fi
    if [ -n "$first" ]; then
      # issued under the first root: its ARK and the ARK's key byte for byte, a new intermediate
      cmp -s "$first/ark.pem" "$d/ark.pem" && cmp -s "$first/ark-key.pem" "$d/ark-key.pem" && ok || bad "$g $kind: the ARK of $first not reused"
      grep -q "under the root in $first: its ARK, a new ${inter^^}" "$out" && [ ! -e "$first/$inter.pem" ] && ok || { bad "$g $kind: not a new ${inter^^}"; cat "$out" >&2; }
    fi
    first=${first:-$d}
    openssl verify -CAfile "$d/ark.pem" -untrusted "$d/$inter.pem" "$d/$kind.pem" >"$out" 2>&1 && ok || { bad "openssl verify $g $kind"; cat "$out" >&2; }
    openssl x509 -in "$d/ark.pem" -noout -subject | grep -q "TEST ROOT (not AMD)" && ok || bad "$g ARK subject not marked"
    openssl x509 -in "$d/$kind.pem" -noout -text | grep -q "rsassaPss" && ok || bad "$g $kind not RSA-PSS"
    openssl x509 -in "$d/$kind.pem" -noout -text | grep -q "secp384r1\|P-384" && ok || bad "$g $kind not P-384"
    openssl x509 -in "$d/ark.pem" -noout -text | grep -q "4096 bit" && ok || bad "$g ARK not RSA-4096"
    for v in 2 3 5; do
      "$M" fixtures report --out "$d/r$v.bin" --key "$d" --version $v --measurement "$(printf '%096d' 7)" --report-data 0102 --vmpl 1 >"$out" 2>&1 && ok || { bad "fixtures report $g $kind v$v"; cat "$out" >&2; }
      "$M" report verify "$d/r$v.bin" --vcek "$d/$kind.der" --roots "$d" --measurement "$(printf '%096d' 7)" --vmpl 1 >"$out" 2>&1 && ok || { bad "verify $g $kind v$v"; cat "$out" >&2; }
      "$M" report verify "$d/r$v.bin" --vcek "$d/$kind.pem" --ask "$d/$inter.pem" --ark "$d/ark.pem" --roots "$d" >"$out" 2>&1 && ok || bad "verify PEM chain $g $kind v$v"
    done
    "$M" report verify "$d/r5.bin" --cert-table "$d/certtable.bin" --roots "$d" >"$out" 2>&1 && ok || { bad "cert table $g $kind"; cat "$out" >&2; }
    # a test root is not AMD's
    "$M" report verify "$d/r5.bin" --vcek "$d/$kind.der" >"$out" 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "not AMD's" "$out" && ok || { bad "$g $kind accepted without --roots (rc $rc)"; cat "$out" >&2; }
    # negatives
    for n in wrong-hwid expired bad-signature tcb-mismatch; do
      [ $kind = vlek ] && [ $n = wrong-hwid ] && continue
      "$M" fixtures report --out "$d/n-$n.bin" --key "$d" --negative $n >"$out" 2>&1 || { bad "make $n $g $kind"; cat "$out" >&2; continue; }
      cert=$d/$kind.der; [ $n = expired ] && cert=$d/n-$n.bin.expired.der
      check=$(case $n in wrong-hwid) echo hwid;; expired) echo validity;; bad-signature) echo signature;; tcb-mismatch) echo tcb;; esac)
      "$M" report verify "$d/n-$n.bin" --vcek "$cert" --roots "$d" >"$out" 2>&1; rc=$?
      [ $rc = 1 ] && grep -q "^fail *$check" "$out" && ok || { bad "negative $n $g $kind (rc $rc)"; cat "$out" >&2; }
    done
  done
done

if [ "$part" != turin ]; then
# a Milan test root does not vouch for a Genoa fixture
"$M" report verify "$tmp/genoa-vcek/r5.bin" --vcek "$tmp/genoa-vcek/vcek.der" --roots "$tmp/milan-vcek" >"$out" 2>&1
[ $? = 1 ] && ok || bad "Genoa fixture under the Milan test root"
# the test root's VCEK does not verify a real AMD report
"$M" report verify "$DATA/amd/snp-reports/virtee-milan/report.bin" --vcek "$tmp/milan-vcek/vcek.der" --roots "$tmp/milan-vcek" >"$out" 2>&1
[ $? = 1 ] && ok || bad "real report with a test VCEK"
# reproducible with --seed: the full regeneration above equals examples/test-root, made by
# `memcrypt fixtures --out examples/test-root --seed example`, in every file and byte
n=0
for f in ark.pem ark-key.pem ask.pem ask-key.pem vcek.der vcek.pem vcek-key.pem cert_chain.pem certtable.bin; do
  cmp -s "$SRC/examples/test-root/$f" "$tmp/milan-vcek/$f" && n=$((n + 1)) || echo "differs: $f" >&2
done
[ $n = 9 ] && [ "$(ls "$tmp/milan-vcek" | grep -cv '^\(r[0-9]\|n-\)')" = 9 ] && ok ||
  bad "--seed not reproducible: examples/test-root differs from a regeneration (if the fixture format changed on purpose, regenerate it: memcrypt fixtures --out examples/test-root --seed example)"
cli_finish
fi

# a Turin test root does not vouch for a real Milan report
"$M" report verify "$DATA/amd/snp-reports/virtee-milan/report.bin" --vcek "$tmp/turin-vcek/vcek.der" --roots "$tmp/turin-vcek" >"$out" 2>&1
[ $? = 1 ] && ok || bad "real report with a Turin test VCEK"
# a firmware update: a new VCEK for a new TCB under the same ARK and ASK (no RSA key: milliseconds)
up=$tmp/turin-update
"$M" fixtures --out "$up" --root "$tmp/turin-vcek" --tcb fmc=1,bl=1,tee=0,snp=3,ucode=72 --seed update --json >"$out" 2>&1
python3 - "$out" <<'PY' && ok || { bad "fixtures --root --json"; cat "$out" >&2; }
import json, sys
j = json.load(open(sys.argv[1]))
assert j["generation"] == "Turin" and j["new_intermediate"] is False and j["signer"] == "VCEK" and len(j["files"]) == 9, j
PY
cmp -s "$up/ask.pem" "$tmp/turin-vcek/ask.pem" && cmp -s "$up/ask-key.pem" "$tmp/turin-vcek/ask-key.pem" &&
  ! cmp -s "$up/vcek.der" "$tmp/turin-vcek/vcek.der" && ok || bad "--root did not reuse the ASK or made no new VCEK"
"$M" fixtures report --out "$tmp/u.bin" --key "$up" >/dev/null && "$M" report verify "$tmp/u.bin" --vcek "$up/vcek.der" --roots "$tmp/turin-vcek" --min-tcb fmc=1,bl=1,tee=0,snp=3,ucode=72 >"$out" 2>&1 &&
  ok || { bad "a report from the updated VCEK against the old root"; cat "$out" >&2; }
"$M" certs show "$up/vcek.der" >"$out" 2>&1 && grep -q "snpSPL=3 " "$out" && ok || { bad "the new TCB in the VCEK"; cat "$out" >&2; }
# ... and --seed makes it reproducible too
"$M" fixtures --out "$tmp/turin-update2" --root "$tmp/turin-vcek" --tcb fmc=1,bl=1,tee=0,snp=3,ucode=72 --seed update >/dev/null 2>&1
diff -r "$up" "$tmp/turin-update2" >/dev/null && ok || bad "fixtures --root --seed not reproducible"
# a bad root is refused, naming the file, and nothing is written
refused() { # what, text, args...
  local what=$1 text=$2; shift 2
  "$M" fixtures --out "$tmp/nope" "$@" >"$out" 2>&1; local rc=$?
  [ $rc = 3 ] && grep -qF -- "$text" "$out" && [ ! -e "$tmp/nope" ] && ok || { bad "$what (rc $rc)"; cat "$out" >&2; }
}
refused "a conflicting --generation" "is Turin (its ARK is ARK-Turin), not Milan" --root "$tmp/turin-vcek" --generation milan
refused "a missing root" "$tmp/none" --root "$tmp/none"
mkdir "$tmp/mixed"; cp "$tmp/turin-vcek/"*.pem "$tmp/mixed/"; cp "$tmp/turin-vlek/asvk-key.pem" "$tmp/mixed/ask-key.pem"
refused "a key of another certificate" "$tmp/mixed/ask-key.pem is not the private key of $tmp/mixed/ask.pem" --root "$tmp/mixed"
mkdir "$tmp/amd"; cp "$tmp/turin-vcek/"*.pem "$tmp/amd/"; cp "$DATA/amd/snp-ca/ark-turin.pem" "$tmp/amd/ark.pem"
refused "AMD's ARK as a test root" "$tmp/amd/ark.pem is not a memcrypt TEST ROOT ARK" --root "$tmp/amd"
mkdir "$tmp/cut"; cp "$tmp/turin-vcek/"*.pem "$tmp/cut/"; head -c 900 "$tmp/turin-vcek/ask.pem" >"$tmp/cut/ask.pem"
refused "a truncated ASK" "$tmp/cut/ask.pem: the test ASK is not a PEM certificate" --root "$tmp/cut"
mkdir "$tmp/fifo"; cp "$tmp/turin-vcek/"*.pem "$tmp/fifo/"; rm "$tmp/fifo/ask.pem"; mkfifo "$tmp/fifo/ask.pem"
refused "a FIFO for ask.pem (refused at once)" "$tmp/fifo/ask.pem: a FIFO" --root "$tmp/fifo"
cp "$tmp/turin-vcek/vcek.der" "$tmp/vcek.before"
"$M" fixtures --out "$tmp/turin-vcek" --root "$tmp/turin-vcek" >"$out" 2>&1
[ $? = 3 ] && grep -q "is the existing root itself" "$out" && cmp -s "$tmp/turin-vcek/vcek.der" "$tmp/vcek.before" &&
  ok || { bad "the root as its own output"; cat "$out" >&2; }
# chosen fields land in the report
"$M" fixtures report --out "$tmp/f.bin" --key "$tmp/turin-vcek" --policy 0xb0000 --host-data "$(printf '%064d' 5)" --tcb bl=3,tee=0,snp=9,ucode=115 --json >/dev/null
"$M" report show "$tmp/f.bin" --json > "$tmp/f.json"
python3 - "$tmp/f.json" <<'PY' && ok || bad "chosen fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["policy"]["raw"] == "0xb0000" and "DEBUG" in j["policy"]["flags"]
assert j["host_data"] == "0" * 63 + "5"
assert j["reported_tcb"]["snp"] == 9 and j["reported_tcb"]["microcode"] == 115
PY
"$M" report verify "$tmp/f.bin" --vcek "$tmp/turin-vcek/vcek.der" --roots "$tmp/turin-vcek" --no-debug >"$out" 2>&1
[ $? = 1 ] && grep -q "^fail *no_debug" "$out" && ok || bad "no-debug on a fixture"
# a fixture TCB that differs from the certificate's SPLs
"$M" report verify "$tmp/f.bin" --vcek "$tmp/turin-vcek/vcek.der" --roots "$tmp/turin-vcek" >"$out" 2>&1
[ $? = 1 ] && grep -q "^fail *tcb" "$out" && ok || bad "chosen TCB vs cert SPLs"
"$M" fixtures report --out "$tmp/s1.bin" --key "$tmp/turin-vcek" --seed x >/dev/null && "$M" fixtures report --out "$tmp/s2.bin" --key "$tmp/turin-vcek" --seed x >/dev/null
cmp -s "$tmp/s1.bin" "$tmp/s2.bin" && ok || bad "fixtures report --seed not reproducible"
# usage errors
"$M" fixtures --out "$tmp/x" --generation rome >/dev/null 2>&1; [ $? = 2 ] && ok || bad "unknown generation accepted"
"$M" fixtures report --out "$tmp/x.bin" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "missing --key accepted"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/turin-vcek" --measurement 0102 >"$out" 2>&1; [ $? = 2 ] && grep -q "needs 48 bytes" "$out" && ok || bad "short --measurement accepted"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/turin-vcek" --report-data 0102 >"$out" 2>&1 && ok || bad "short --report-data refused"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/turin-vlek" --negative wrong-hwid >/dev/null 2>&1; [ $? = 3 ] && ok || bad "VLEK wrong-hwid accepted"

cli_finish
