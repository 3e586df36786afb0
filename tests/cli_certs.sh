#!/bin/bash
# Shell test of `memcrypt certs`: AMD's real chains verify, tampered and cross-generation copies
# fail, the emulated platform's export needs --allow-emulated-root.
# $1 = memcrypt binary, $2 = tests/data (test vectors), $3 = source folder.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
S=$DATA
T=$TMP

for g in naples rome; do
    expect 0 "$g platform chain with built-in roots" -- "$M" certs verify "$S/amd/sev-platform/$g"
    mkdir -p "$T/$g"
    cp "$S/amd/sev-platform/$g/"*.cert "$S/amd/sev-ca/$g/ark.cert" "$S/amd/sev-ca/$g/ask.cert" "$T/$g/"
    chmod u+w "$T/$g/"*
    expect 0 "$g chain with its ark/ask files" -- "$M" certs verify "$T/$g"
    "$M" certs verify --json "$T/$g" | grep -q "\"root\": \"$g\"" && ok || bad "$g json root"
done
# Cross generation: Rome platform with Naples/Milan ARK+ASK; Naples platform with Rome ARK+ASK.
for pair in rome:naples rome:milan naples:rome naples:genoa; do
    p=${pair%%:*}
    a=${pair##*:}
    d="$T/x-$p-$a"
    mkdir -p "$d"
    cp "$S/amd/sev-platform/$p/"*.cert "$S/amd/sev-ca/$a/ark.cert" "$S/amd/sev-ca/$a/ask.cert" "$d/"
    chmod u+w "$d/"*
    expect 1 "cross generation $p CEK with $a ASK" -- "$M" certs verify "$d"
done
# ASK of one generation with ARK of another.
d="$T/mixed"
mkdir -p "$d"
cp "$S/amd/sev-platform/rome/"*.cert "$d/"
cp "$S/amd/sev-ca/rome/ask.cert" "$d/ask.cert"
cp "$S/amd/sev-ca/milan/ark.cert" "$d/ark.cert"
chmod u+w "$d/"*
expect 1 "Rome ASK under Milan ARK" -- "$M" certs verify "$d"
# Single-byte changes in the signed areas of each certificate.
for f in pdh pek oca cek ark ask; do
    for off in 4 8 20 100 1000; do
        d="$T/tamper-$f-$off"
        cp -r "$T/rome" "$d"
        chmod u+w "$d/"*
        b=$(od -An -tu1 -j "$off" -N1 "$d/$f.cert" | tr -d ' ')
        printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$d/$f.cert" bs=1 seek="$off" conv=notrunc 2>/dev/null
        expect 1 "tampered $f.cert at $off" -- "$M" certs verify "$d"
    done
done
# Truncated file.
d="$T/trunc"
cp -r "$T/rome" "$d"
chmod u+w "$d/"*
head -c 2000 "$T/rome/pek.cert" >"$d/pek.cert"
expect 1 "truncated pek.cert" -- "$M" certs verify "$d"
expect 3 "not a folder" -- "$M" certs verify "$T/none"
expect 2 "no argument" -- "$M" certs verify

# certs show.
expect 0 "show real ARK" -- "$M" certs show "$S/amd/sev-ca/milan/ark.cert"
"$M" certs show --json "$S/amd/sev-ca/rome/ark.cert" | grep -q '"builtin_root": "rome"' && ok || bad "show json builtin"
"$M" certs show "$S/amd/sev-platform/rome/pek.cert" | grep -q "by CEK" && ok || bad "show PEK slots"
expect 3 "show truncated" -- "$M" certs show "$d/pek.cert"
has "show truncated: the message names the file" "$d/pek.cert: "
: >"$T/empty.cert"
expect 3 "show an empty file" -- "$M" certs show "$T/empty.cert"
has "show an empty file: the message names the file" "$T/empty.cert: "
printf -- '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' >"$T/junk.pem"
expect 3 "show a broken PEM" -- "$M" certs show "$T/junk.pem"
has "show a broken PEM: the message names the file" "$T/junk.pem: "

# Emulated platform export.
expect 0 "export" -- "$M" certs export "$T/emu" --seed cli-test --root-bits 2048
for f in ark ask cek oca pek pdh; do [ -s "$T/emu/$f.cert" ] && ok || bad "export wrote $f.cert"; done
expect 1 "emulated root refused by default" -- "$M" certs verify "$T/emu"
"$M" certs verify "$T/emu" | grep -q "EMULATED" && ok || bad "message names the emulated root"
expect 0 "emulated root with --allow-emulated-root" -- "$M" certs verify --allow-emulated-root "$T/emu"
"$M" certs show "$T/emu/ark.cert" | grep -q "EMULATED" && ok || bad "show flags emulated"
"$M" certs show --json "$T/emu/ask.cert" | grep -q '"emulated": true' && ok || bad "show json emulated"
# Without ark/ask the emulated CEK matches no built-in AMD ASK.
mkdir -p "$T/emu2"
cp "$T/emu/"{cek,oca,pek,pdh}.cert "$T/emu2/"
expect 1 "emulated CEK against built-in roots" -- "$M" certs verify "$T/emu2"
# Same seed, same keys.
expect 0 "export again" -- "$M" certs export "$T/emu3" --seed cli-test --root-bits 2048
cmp -s <(head -c 1044 "$T/emu/pek.cert") <(head -c 1044 "$T/emu3/pek.cert") && ok || bad "seeded export is deterministic"

cli_finish
