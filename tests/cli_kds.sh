#!/bin/bash
# `memcrypt kds serve`: AMD's KDS URL layout over HTTP (libmicrohttpd), checked with Debian's curl
# and openssl. The emulated chip's legacy chain is completed from the server (CEK by GET_ID,
# ASK/ARK) and verified; real AMD certificates are served from --cache byte for byte; hostile
# requests get 4xx and the server keeps answering.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
D=$DATA
T=$TMP
cd "$T" || exit 1
S="$T/chip.state"
# The emulated chip is a Genoa: its SNP routes are the chip's own; the real Milan ones come from the cache.
"$M" fw status --platform genoa --state "$S" >/dev/null

# The cache: AMD's Milan chain, and the VCEK of a real Milan report under its KDS path.
mkdir -p cache/vcek/v1/Milan
cat "$D/amd/snp-ca/ask-milan.pem" "$D/amd/snp-ca/ark-milan.pem" >cache/vcek/v1/Milan/cert_chain
url=$("$M" report verify "$D/amd/snp-reports/gosev-milan/report.bin" 2>&1 | grep -o 'https://kdsintf.amd.com/vcek/v1/[^ ]*' | head -1)
check "report verify names the VCEK's KDS URL" '[[ "$url" == *"?blSPL="* ]]'
vpath=${url#https://kdsintf.amd.com}
q=${vpath#*\?}
IFS='&' read -r -a kv <<<"$q"
spl=()
for p in "${kv[@]}"; do spl+=("${p#*=}"); done
mkdir -p "cache${vpath%%\?*}"
cp "$D/amd/snp-reports/gosev-milan/vcek.der" "cache${vpath%%\?*}/$(IFS=-; echo "${spl[*]}")"

cli_kds_serve srv.txt --state "$S" --cache "$T/cache"
srv=$kds_pid
port=$kds_port
check "the server starts and names its port" '[[ -n "$port" ]]'
K="http://127.0.0.1:$port"
err=$("$M" kds serve --state "$S" --listen "127.0.0.1:$port" 2>&1)
check "a port in use: exit 3, one line naming the address" '[[ $? == 3 && "$err" == "memcrypt kds serve: cannot listen on 127.0.0.1:$port: Address already in use" ]] || { echo "$err"; false; }'
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# Legacy SEV: the chain of the emulated chip, completed from the KDS, verifies.
id=$("$M" fw get-id --platform genoa --state "$S" | tr -d ' \n' | tr A-F a-f)
c=$(curl -s -o cek.cert -w '%{http_code}' "$K/cek/id/$id")
check "GET /cek/id/{GET_ID}: 200, a SEV certificate" '[[ $c == 200 && $(stat -c %s cek.cert) == 2084 ]]'
curl -s -o ask_ark.cert "$K/developer/eula/sev/ask_ark_genoa.cert"
n=$(stat -c %s ask_ark.cert)
check "GET ask_ark_genoa.cert: ASK then ARK" '(( n > 0 && n % 2 == 0 ))'
"$M" fw pdh-export --platform genoa --state "$S" chain >/dev/null
cp cek.cert chain/cek.cert
head -c $((n / 2)) ask_ark.cert >chain/ask.cert
tail -c $((n / 2)) ask_ark.cert >chain/ark.cert
out=$("$M" certs verify chain --allow-emulated-root 2>&1)
check "PDH <- PEK <- OCA/CEK <- ASK <- ARK verifies (emulated root)" '[[ $? == 0 && "$out" == *"CEK <- ASK   ok"* ]] || { echo "$out"; false; }'
check "another chip's GET_ID: 404" '[[ $(code "$K/cek/id/$(printf "%0128d" 0)") == 404 ]]'
check "a short GET_ID: 400" '[[ $(code "$K/cek/id/00") == 400 ]]'

# SEV-SNP: the chip's own ASK/ARK and its VCEK at the TCB its firmware reports (SNP_PLATFORM_STATUS
# through the emulated /dev/sev), as a verifier fetches them; openssl verifies ARK -> ASK -> VCEK.
st=$("$M" exec --state "$S" -- "$(dirname "$M")/sev_ioctl" snp-status)
tcb=$(sed -n 's/.* current_tcb 0x\([0-9a-f]*\) .*/\1/p' <<<"$st")
check "the chip's current TCB through /dev/sev" '[[ ${#tcb} == 16 ]] || { echo "$st"; false; }'
byte() { echo $((16#${tcb:$((14 - 2 * $1)):2})); }
q="blSPL=$(byte 0)&teeSPL=$(byte 1)&snpSPL=$(byte 6)&ucodeSPL=$(byte 7)"
c=$(curl -s -o snp-chain.pem -w '%{http_code}' "$K/vcek/v1/Genoa/cert_chain")
check "GET /vcek/v1/Genoa/cert_chain: the chip's ASK then ARK" '[[ $c == 200 && $(grep -c "BEGIN CERTIFICATE" snp-chain.pem) == 2 ]]'
awk '/BEGIN CERT/{n++} {print > (n == 1 ? "snp-ask.pem" : "snp-ark.pem")}' snp-chain.pem
c=$(curl -s -o snp-vcek.der -w '%{http_code}' "$K/vcek/v1/Genoa/$id?$q")
check "GET /vcek/v1/Genoa/{GET_ID}?{TCB}: 200, DER" '[[ $c == 200 ]] && openssl x509 -inform DER -in snp-vcek.der -out snp-vcek.pem 2>/dev/null'
check "openssl verify: ARK -> ASK -> VCEK (the emulated chip's)" 'openssl verify -CAfile snp-ark.pem -untrusted snp-ask.pem snp-vcek.pem >/dev/null 2>&1'
check "the ARK is marked emulated" 'openssl x509 -in snp-ark.pem -noout -subject | grep -qi emulated'
check "a Genoa VCEK of another chip: 404" '[[ $(code "$K/vcek/v1/Genoa/$(printf "%0128d" 0)?$q") == 404 ]]'
curl -s -o snp-vcek2.der "$K/vcek/v1/Genoa/$id?blSPL=$(( $(byte 0) + 1 ))&teeSPL=$(byte 1)&snpSPL=$(byte 6)&ucodeSPL=$(byte 7)"
check "another TCB: another VCEK key" '[[ -s snp-vcek2.der ]] && ! cmp -s <(openssl x509 -inform DER -in snp-vcek.der -noout -pubkey) <(openssl x509 -inform DER -in snp-vcek2.der -noout -pubkey)'

# Real AMD certificates from the cache, byte for byte; openssl accepts the chain.
curl -s -o chain.pem "$K/vcek/v1/Milan/cert_chain"
check "cert_chain from the cache" 'cmp -s chain.pem cache/vcek/v1/Milan/cert_chain'
check "openssl verify: ARK signed the ASK" 'openssl verify -CAfile "$D/amd/snp-ca/ark-milan.pem" "$D/amd/snp-ca/ask-milan.pem" >/dev/null 2>&1'
curl -s -o vcek.der "$K$vpath"
check "the real report's VCEK from its KDS URL" 'cmp -s vcek.der "$D/amd/snp-reports/gosev-milan/vcek.der"'
check "report verify with the fetched VCEK" '"$M" report verify "$D/amd/snp-reports/gosev-milan/report.bin" --vcek vcek.der >/dev/null 2>&1'
check "content types" '[[ $(curl -s -o /dev/null -w "%{content_type}" "$K/vcek/v1/Milan/cert_chain") == application/x-pem-file && $(curl -s -o /dev/null -w "%{content_type}" "$K$vpath") == application/pkix-cert ]]'

# Hostile requests: 4xx, nothing served from outside the cache, the server stays up.
check "unknown product: 404" '[[ $(code "$K/vcek/v1/Pentium/cert_chain") == 404 ]]'
check "path traversal: 404" '[[ $(code --path-as-is "$K/vcek/v1/../../../etc/passwd") == 404 && $(code --path-as-is "$K/vcek/v1/Milan/..%2f..%2fcert_chain") == 404 ]]'
check "POST: 405" '[[ $(code -X POST -d x=1 "$K/vcek/v1/Milan/cert_chain") == 405 ]]'
check "an SPL out of range: 400" '[[ $(code "$K$(sed "s/blSPL=[0-9]*/blSPL=256/" <<<"$vpath")") == 400 ]]'
check "an SPL missing: 400" '[[ $(code "$K${vpath%&ucodeSPL=*}") == 400 ]]'
check "an unknown parameter: 400" '[[ $(code "$K$vpath&x=1") == 400 ]]'
check "too many parameters: 400" '[[ $(code "$K$vpath&a=1&b=2&c=3&d=4&e=5") == 400 ]]'
big=$(head -c 100000 /dev/zero | tr '\0' a)
c=$(code "$K/vcek/v1/Milan/cert_chain?x=$big")
check "a 100 kB query string: 4xx ($c)" '[[ $c == 4* ]]'
c=$(code "$K/$big")
check "a 100 kB path: 4xx ($c)" '[[ $c == 4* ]]'
printf 'GARBAGE\r\n\r\n' >req.bin
curl -s --max-time 3 -o /dev/null "telnet://127.0.0.1:$port" <req.bin
check "still serving after all of it" '[[ $(code "$K/vcek/v1/Milan/cert_chain") == 200 ]]'
kill -TERM $srv
wait $srv
rc=$?
srv=
check "SIGTERM stops it cleanly" '[[ $rc == 0 ]]'

err=$("$M" kds serve 2>&1)
check "no chip and no cache: usage error" '[[ $? == 2 ]]'
err=$("$M" kds serve --state "$S" --listen nowhere 2>&1)
check "a bad --listen: usage error" '[[ $? == 2 ]]'

cli_finish
