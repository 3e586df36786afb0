#!/usr/bin/env bash
# CLI tests of the fixture factory: test roots pass `openssl verify` and `report verify --roots`,
# are refused without --roots, negative fixtures fail on the intended check, --seed is reproducible.
# $1 = memcrypt binary, $2 = tests/data (test vectors), $3 = source folder.
# Each test root costs two RSA-4096 key generations (seconds each), so the work is split: this
# file covers Milan and Genoa, cli_fixtures_turin.sh (FIXTURE_PART=turin) Turin, reproducibility,
# chosen fields and usage errors.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
part=${FIXTURE_PART:-milan-genoa}
tmp=$TMP
out=$tmp/out.txt

if [ "$part" = turin ]; then gens=turin; else gens="milan genoa"; fi
for g in $gens; do
  for kind in vcek vlek; do
    d=$tmp/$g-$kind; flag=; inter=ask
    [ $kind = vlek ] && { flag=--vlek; inter=asvk; }
    if "$M" fixtures --out "$d" --generation $g $flag --seed "ci-$g" >"$out" 2>&1; then ok; else bad "fixtures $g $kind"; cat "$out" >&2; continue; fi
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
cli_finish
fi

# a Turin test root does not vouch for a real Milan report
"$M" report verify "$DATA/amd/snp-reports/virtee-milan/report.bin" --vcek "$tmp/turin-vcek/vcek.der" --roots "$tmp/turin-vcek" >"$out" 2>&1
[ $? = 1 ] && ok || bad "real report with a Turin test VCEK"
# reproducible with --seed
"$M" fixtures --out "$tmp/again" --generation turin --seed ci-turin >/dev/null 2>&1
cmp -s "$tmp/again/vcek.der" "$tmp/turin-vcek/vcek.der" && cmp -s "$tmp/again/ark.pem" "$tmp/turin-vcek/ark.pem" && ok || bad "--seed not reproducible"
"$M" fixtures report --out "$tmp/s1.bin" --key "$tmp/again" --seed x >/dev/null && "$M" fixtures report --out "$tmp/s2.bin" --key "$tmp/again" --seed x >/dev/null
cmp -s "$tmp/s1.bin" "$tmp/s2.bin" && ok || bad "fixtures report --seed not reproducible"
# chosen fields land in the report
"$M" fixtures report --out "$tmp/f.bin" --key "$tmp/again" --policy 0xb0000 --host-data "$(printf '%064d' 5)" --tcb bl=3,tee=0,snp=9,ucode=115 --json >/dev/null
"$M" report show "$tmp/f.bin" --json > "$tmp/f.json"
python3 - "$tmp/f.json" <<'PY' && ok || bad "chosen fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["policy"]["raw"] == "0xb0000" and "DEBUG" in j["policy"]["flags"]
assert j["host_data"] == "0" * 63 + "5"
assert j["reported_tcb"]["snp"] == 9 and j["reported_tcb"]["microcode"] == 115
PY
"$M" report verify "$tmp/f.bin" --vcek "$tmp/again/vcek.der" --roots "$tmp/again" --no-debug >"$out" 2>&1
[ $? = 1 ] && grep -q "^fail *no_debug" "$out" && ok || bad "no-debug on a fixture"
# a fixture TCB that differs from the certificate's SPLs
"$M" report verify "$tmp/f.bin" --vcek "$tmp/again/vcek.der" --roots "$tmp/again" >"$out" 2>&1
[ $? = 1 ] && grep -q "^fail *tcb" "$out" && ok || bad "chosen TCB vs cert SPLs"
# usage errors
"$M" fixtures --out "$tmp/x" --generation rome >/dev/null 2>&1; [ $? = 2 ] && ok || bad "unknown generation accepted"
"$M" fixtures report --out "$tmp/x.bin" >/dev/null 2>&1; [ $? = 2 ] && ok || bad "missing --key accepted"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/again" --measurement 0102 >"$out" 2>&1; [ $? = 2 ] && grep -q "needs 48 bytes" "$out" && ok || bad "short --measurement accepted"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/again" --report-data 0102 >"$out" 2>&1 && ok || bad "short --report-data refused"
"$M" fixtures report --out "$tmp/x.bin" --key "$tmp/turin-vlek" --negative wrong-hwid >/dev/null 2>&1; [ $? = 3 ] && ok || bad "VLEK wrong-hwid accepted"

cli_finish
