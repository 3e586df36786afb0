#!/bin/bash
# `memcrypt fetch ca|vcek|crl` against `memcrypt kds serve` on 127.0.0.1 (nothing leaves the machine):
#  - an emulated Milan chip: the chain, the VLEK chain, the VCEK of a report its guest got through
#    /dev/sev-guest (the report then verifies with what was fetched), the same VCEK by hwID and TCB,
#    the CRL (openssl checks it with the fetched ARK), PEM and DER alike;
#  - AMD's real certificates served from a cache: Milan (a real report's VCEK, AMD's own ARK) and
#    Turin (fmcSPL and the 8-byte hwID of the Turin URL against a real Turin VCEK);
#  - hostile answers: another product's chain, 404, an oversized body, garbage certificates, a chain
#    whose ARK pretends to be AMD's, another chip's or TCB's VCEK, a CRL not signed by the ARK, a
#    server that never answers, nobody listening: a clear error, the URL named, no file written (an
#    existing file stays as it was);
#  - usage errors.
# $1 = memcrypt, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
B=$(dirname "$MC")
cli_need "openssl" "apt-get install openssl" command -v openssl
cli_need "python3" "apt-get install python3" command -v python3
cd "$TMP" || exit 1

# serve OUT ARGS...: a local KDS (tests/lib/cli.sh), its URL in $url.
serve() {
  cli_kds_serve "$@"
  url=$kds_url
}
der() { openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum; }
nofile() { if [ -e "$2" ]; then bad "$1: $2 was written"; else ok; fi; }

# ---- an emulated Milan chip, its guest, its KDS ---------------------------------------------
S=$TMP/chip.state
G=$TMP/guest.snp
"$B/snp_mkguest" "$S" "$G" milan >made.txt || { bad "snp_mkguest"; cli_finish; }
expect 0 "guest report through /dev/sev-guest" -- "$MC" exec --state "$S" --guest "$G" -- "$MC" guest report --random \
  --out report.bin
serve kds1.txt --state "$S"
E=$url
[[ $E == http://127.0.0.1:* ]] && ok || bad "the emulated chip's KDS starts ($(cat kds1.txt.err))"

expect 0 "fetch ca --product milan" -- "$MC" fetch ca --product milan --url "$E" --out-dir roots
has "  the GET names the cert_chain URL" "GET $E/vcek/v1/Milan/cert_chain"
has "  the ARK is reported as not AMD's" "not AMD's real ARK"
has "  wrote ark.pem" "wrote roots/ark.pem"
curl -sf "$E/vcek/v1/Milan/cert_chain" -o chain.pem
awk '/BEGIN CERT/{n++} {print > (n == 1 ? "srv-ask.pem" : "srv-ark.pem")}' chain.pem
[[ -s roots/ark.pem && $(der roots/ark.pem) == $(der srv-ark.pem) && $(der roots/ask.pem) == $(der srv-ask.pem) ]] &&
  ok || bad "ark.pem and ask.pem are the certificates the server holds"
cmp -s roots/cert_chain.pem chain.pem && ok || bad "cert_chain.pem is the chain the server serves"
openssl verify -CAfile roots/ark.pem roots/ask.pem >/dev/null 2>&1 && ok || bad "openssl: the ARK signed the ASK"

expect 0 "fetch ca --endorser vlek --format der" -- "$MC" fetch ca --product Milan --endorser vlek --format der \
  --url "$E" --out-dir vlek
has "  the vlek URL" "GET $E/vlek/v1/Milan/cert_chain"
[[ $(openssl x509 -inform DER -in vlek/asvk.der -noout -subject 2>/dev/null) == *"CN = SEV-VLEK-Milan"* &&
  -s vlek/ark.der && ! -e vlek/ask.der ]] && ok || bad "asvk.der (SEV-VLEK-Milan) and ark.der in DER"

expect 0 "fetch vcek --report (the guest's report)" -- "$MC" fetch vcek --report report.bin --url "$E" --out-dir v
has "  checked" "VCEK: Milan, this chip's hwID"
vurl=$(grep -o "GET $E/vcek/v1/Milan/[0-9a-f]\{128\}?[^ ]*" <<<"$out" | cut -c5-)
kurl=$("$MC" report verify report.bin 2>&1 | grep -o 'https://kdsintf.amd.com/vcek/v1/[^ ]*' | head -1)
[[ -n $vurl && ${vurl#"$E"} == "${kurl#https://kdsintf.amd.com}" ]] && ok ||
  bad "the VCEK URL is the one report verify names ($vurl / $kurl)"
expect 0 "report verify with the fetched VCEK and roots" -- "$MC" report verify report.bin --vcek v/vcek.pem --roots roots
expect 0 "report verify with the fetched VCEK and cert_chain.pem" -- "$MC" report verify report.bin --vcek v/vcek.pem --roots roots/cert_chain.pem
has "  verified" "verified: every requested check passed"

hwid=$("$MC" fw get-id --platform milan --state "$S")
tcb=$("$MC" fw snp-status --platform milan --state "$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["reported_tcb"]["raw"])')
expect 0 "fetch vcek --hwid --tcb (raw), DER" -- "$MC" fetch vcek --product milan --hwid "$hwid" --tcb "$tcb" \
  --url "$E" --out-dir v2 --format der
# (the server signs each VCEK anew, RSASSA-PSS with a random salt: the key and extensions are the same)
k1=$(openssl x509 -inform DER -in v2/vcek.der -noout -pubkey 2>/dev/null)
k2=$(openssl x509 -in v/vcek.pem -noout -pubkey 2>/dev/null)
[[ $k1 == *"BEGIN PUBLIC KEY"* && $k1 == "$k2" ]] && ok || bad "the same VCEK key by hwID and TCB as by the report"
expect 0 "fetch vcek at another TCB" -- "$MC" fetch vcek --product milan --hwid "$hwid" --tcb bl=1,tee=0,snp=1,ucode=1 \
  --url "$E" --out-dir v3
has "  its URL" "?blSPL=1&teeSPL=0&snpSPL=1&ucodeSPL=1"
k3=$(openssl x509 -in v3/vcek.pem -noout -pubkey 2>/dev/null)
[[ $k3 == *"BEGIN PUBLIC KEY"* && $k3 != "$k2" ]] && ok || bad "another TCB: another VCEK key"

expect 0 "fetch crl" -- "$MC" fetch crl --product milan --url "$E" --out-dir crl
has "  checked" "CRL: signed by the ARK"
openssl crl -in crl/crl.pem -CAfile roots/ark.pem -noout 2>&1 | grep -q "verify OK" && ok ||
  bad "openssl: the CRL verifies with the fetched ARK"
expect 0 "fetch crl --report (product from the report), DER" -- "$MC" fetch crl --report report.bin --format der \
  --url "$E" --out-dir crl2
openssl crl -inform DER -in crl2/crl.der -noout >/dev/null 2>&1 && ok || bad "crl.der is a DER CRL"

expect 3 "another chip's hwID: the server's 404" -- "$MC" fetch vcek --product milan --hwid "$(printf '%0128d' 7)" \
  --tcb "$tcb" --url "$E" --out-dir v4
has "  HTTP 404 and the URL" "$E/vcek/v1/Milan/$(printf '%0128d' 7)?blSPL="
nofile "  another chip" v4

# ---- AMD's real certificates from a cache --------------------------------------------------
mkdir -p cache/vcek/v1/Milan cache/vcek/v1/Turin cache/vcek/v1/Genoa cache/vlek/v1/Genoa
cat "$DATA/amd/snp-ca/ask-milan.pem" "$DATA/amd/snp-ca/ark-milan.pem" >cache/vcek/v1/Milan/cert_chain
cat "$DATA/amd/snp-ca/ask-turin.pem" "$DATA/amd/snp-ca/ark-turin.pem" >cache/vcek/v1/Turin/cert_chain
# place a real report's VCEK where the KDS keeps it (the path report verify names)
place() {
  local u p q
  u=$("$MC" report verify "$1" 2>&1 | grep -o 'https://kdsintf.amd.com/vcek/v1/[^ ]*' | head -1)
  p=${u#https://kdsintf.amd.com}
  q=${p#*\?}
  local IFS='&' kv spl=()
  read -r -a kv <<<"$q"
  for x in "${kv[@]}"; do spl+=("${x#*=}"); done
  mkdir -p "cache${p%%\?*}"
  cp "$2" "cache${p%%\?*}/$(IFS=-; echo "${spl[*]}")"
}
R=$DATA/amd/snp-reports
place "$R/gosev-milan/report.bin" "$R/gosev-milan/vcek.der"
place "$R/oak-turin-oc/report.bin" "$R/oak-turin-oc/vcek.der"
serve kds2.txt --cache "$TMP/cache"
A=$url
[[ $A == http://127.0.0.1:* ]] && ok || bad "the cache KDS starts ($(cat kds2.txt.err))"

expect 0 "real Milan: fetch ca" -- "$MC" fetch ca --product milan --url "$A" --out-dir amd
has "  AMD's own ARK" "ARK: self-signed, AMD's Milan ARK"
[[ $(der amd/ark.pem) == $(der "$DATA/amd/snp-ca/ark-milan.pem") ]] && ok || bad "  ark.pem is AMD's Milan ARK"
gen=$("$MC" report show "$R/gosev-milan/report.bin" 2>/dev/null | sed -n 's/^version *//p')
prod=()
[[ $gen == 2 ]] && prod=(--product milan)
expect 0 "real Milan: fetch vcek --report of a real report" -- "$MC" fetch vcek --report "$R/gosev-milan/report.bin" \
  "${prod[@]}" --url "$A" --out-dir amd --format der
cmp -s amd/vcek.der "$R/gosev-milan/vcek.der" && ok || bad "  the real VCEK byte for byte"
expect 0 "  the real report verifies with it (AMD's built-in roots)" -- "$MC" report verify "$R/gosev-milan/report.bin" \
  --vcek amd/vcek.der
expect 0 "real Turin: fetch vcek --report (fmcSPL, 8-byte hwID)" -- "$MC" fetch vcek --report "$R/oak-turin-oc/report.bin" \
  --url "$A" --out-dir turin
has "  the Turin URL" "/vcek/v1/Turin/"
has "  fmcSPL first" "?fmcSPL="
grep -q "GET $A/vcek/v1/Turin/[0-9a-f]\{16\}?" <<<"$out" && ok || bad "  a 16-hex-digit hwID"
[[ $(der turin/vcek.pem) == $(openssl x509 -inform DER -in "$R/oak-turin-oc/vcek.der" -outform DER | sha256sum) ]] &&
  ok || bad "  the real Turin VCEK"

# ---- hostile answers: exit 1 or 3, a clear reason, nothing written -------------------------
mkdir keep
echo "old" >keep/ark.pem
cp cache/vcek/v1/Milan/cert_chain cache/vcek/v1/Genoa/cert_chain
expect 1 "another product's chain (Milan's for Genoa)" -- "$MC" fetch ca --product genoa --url "$A" --out-dir keep
has "  names the mismatch" "not Genoa's ARK (ARK-Genoa)"
[[ $(cat keep/ark.pem) == old && ! -e keep/ask.pem ]] && ok || bad "  the existing ark.pem is unchanged, no ask.pem"
expect 3 "404" -- "$MC" fetch ca --product genoa --endorser vlek --url "$A" --out-dir h1
has "  HTTP 404 and the URL" "$A/vlek/v1/Genoa/cert_chain: HTTP 404"
nofile "  404" h1
head -c 600000 /dev/zero | tr '\0' A >cache/vcek/v1/Genoa/cert_chain
expect 3 "an oversized body" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h2
has "  refused" "larger than 262144 bytes"
nofile "  oversized" h2
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' >cache/vcek/v1/Genoa/cert_chain
expect 1 "a garbage certificate" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h3
has "  refused" "not a PEM certificate chain"
nofile "  garbage" h3
head -c 3000 /dev/urandom >cache/vcek/v1/Genoa/cert_chain
expect 1 "random bytes" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h3
nofile "  random" h3
cp "$DATA/amd/snp-ca/ark-genoa.pem" cache/vcek/v1/Genoa/cert_chain
expect 1 "one certificate, not two" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h3
has "  refused" "holds 1 certificates, not two"
cat "$DATA/amd/snp-ca/ask-milan.pem" "$DATA/amd/snp-ca/ark-genoa.pem" >cache/vcek/v1/Genoa/cert_chain
expect 1 "Milan's ASK under Genoa's ARK" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h3
has "  refused" "not Genoa's ASK"
# A forged chain: an ARK-Genoa that says it is AMD's, and an ASK it signed (RSA-4096 as AMD's; the
# keys of the shipped test root, which are not AMD's, instead of two new ones).
subj="/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices"
TR=$SRC/examples/test-root
openssl req -x509 -key "$TR/ark-key.pem" -subj "$subj/CN=ARK-Genoa" -days 30 -out fark.pem 2>/dev/null
openssl req -new -key "$TR/ask-key.pem" -subj "$subj/CN=SEV-Genoa" -out fask.csr 2>/dev/null
openssl x509 -req -in fask.csr -CA fark.pem -CAkey "$TR/ark-key.pem" -CAcreateserial -days 30 -out fask.pem 2>/dev/null
cat fask.pem fark.pem >cache/vcek/v1/Genoa/cert_chain
expect 1 "a forged AMD ARK" -- "$MC" fetch ca --product genoa --url "$A" --out-dir h4
has "  refused" "names itself AMD's (O=Advanced Micro Devices) but is not AMD's real Genoa ARK"
nofile "  forged" h4
# Real AMD Milan chain with the gosev VCEK at another chip's path / another TCB.
place2() { mkdir -p "cache/vcek/v1/Milan/$1"; cp "$R/gosev-milan/vcek.der" "cache/vcek/v1/Milan/$1/$2"; }
place2 "$(printf 'ab%.0s' $(seq 64))" 1-0-1-1
expect 1 "another chip's VCEK" -- "$MC" fetch vcek --product milan --hwid "$(printf 'ab%.0s' $(seq 64))" \
  --tcb bl=1,tee=0,snp=1,ucode=1 --url "$A" --out-dir h5
has "  refused" "hwID is not the chip asked for"
nofile "  another chip" h5
ghw=$("$MC" report show "$R/gosev-milan/report.bin" | sed -n 's/^chip_id *//p')
place2 "$ghw" 9-9-9-9
expect 1 "a VCEK of another TCB" -- "$MC" fetch vcek --product milan --hwid "$ghw" --tcb bl=9,tee=9,snp=9,ucode=9 \
  --url "$A" --out-dir h5
has "  refused" "the TCB asked for has 9"
place2 "$ghw" 8-8-8-8
head -c 1200 /dev/urandom >"cache/vcek/v1/Milan/$ghw/8-8-8-8"
expect 1 "a garbage VCEK" -- "$MC" fetch vcek --product milan --hwid "$ghw" --tcb bl=8,tee=8,snp=8,ucode=8 \
  --url "$A" --out-dir h5
has "  refused" "the VCEK answer is not a certificate"
cp "$DATA/amd/snp-ca/ask-milan.pem" "cache/vcek/v1/Milan/$ghw/8-8-8-8"
expect 1 "the ASK as the VCEK" -- "$MC" fetch vcek --product milan --hwid "$ghw" --tcb bl=8,tee=8,snp=8,ucode=8 \
  --url "$A" --out-dir h5
nofile "  no VCEK" h5
cp crl/crl.pem cache/vcek/v1/Milan/crl
expect 1 "a CRL the ARK did not sign (the emulated chip's, for AMD's Milan)" -- "$MC" fetch crl --product milan \
  --url "$A" --out-dir h6
has "  refused" "the CRL's issuer is not the ARK"
head -c 500 /dev/urandom >cache/vcek/v1/Milan/crl
expect 1 "a garbage CRL" -- "$MC" fetch crl --product milan --url "$A" --out-dir h6
has "  refused" "not a DER or PEM CRL"
nofile "  no CRL" h6

# A server that accepts and never answers; nobody listening; a name that does not resolve.
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1], flush=True); time.sleep(60)' >mute.port 2>/dev/null &
cli_pids+=($!)
for _ in $(seq 1000); do [ -s mute.port ] && break; sleep 0.01; done
expect 3 "a server that never answers: --timeout" -- "$MC" fetch ca --product milan --timeout 0.3 \
  --url "http://127.0.0.1:$(cat mute.port)" --out-dir h7
has "  timed out, the URL named" "cannot fetch http://127.0.0.1:$(cat mute.port)/vcek/v1/Milan/cert_chain"
nofile "  no answer" h7
expect 3 "nobody listening" -- "$MC" fetch ca --product milan --url http://127.0.0.1:1 --out-dir h7
has "  the URL to fetch elsewhere" "cannot fetch http://127.0.0.1:1/vcek/v1/Milan/cert_chain"
has "  offline hint" "offline?"
expect 3 "a name that does not resolve" -- "$MC" fetch vcek --report report.bin --timeout 5 \
  --url https://kds.invalid --out-dir h7
has "  the URL" "https://kds.invalid/vcek/v1/Milan/cert_chain"
has "  and the VCEK's URL" "the VCEK itself is at https://kds.invalid/vcek/v1/Milan/"

# ---- usage -------------------------------------------------------------------------------------
expect 2 "no product" -- "$MC" fetch ca --url "$E"
expect 2 "unknown product" -- "$MC" fetch ca --product naples --url "$E"
expect 2 "bad --format" -- "$MC" fetch ca --product milan --format txt
expect 2 "--timeout 0" -- "$MC" fetch ca --product milan --timeout 0
has "  named" "--timeout: more than 0 seconds"
expect 2 "--timeout below a millisecond" -- "$MC" fetch ca --product milan --timeout 0.0005
has "  named" "at most 3 decimals"
expect 2 "--timeout over an hour" -- "$MC" fetch ca --product milan --timeout 3600.001
expect 2 "bad --endorser" -- "$MC" fetch crl --product milan --endorser ask
expect 2 "--url ftp://" -- "$MC" fetch ca --product milan --url ftp://127.0.0.1/
expect 2 "vcek: nothing names it" -- "$MC" fetch vcek --product milan
expect 2 "vcek: --report with --hwid" -- "$MC" fetch vcek --report report.bin --hwid "$hwid"
expect 2 "vcek: a short --hwid" -- "$MC" fetch vcek --product milan --hwid abcd --tcb 0
expect 2 "vcek: --endorser is not an option" -- "$MC" fetch vcek --report report.bin --endorser vlek
expect 2 "vcek: --product contradicting the report" -- "$MC" fetch vcek --report report.bin --product genoa
expect 3 "vcek: not a report" -- "$MC" fetch vcek --report made.txt
cli_finish
