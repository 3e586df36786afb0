#!/bin/bash
# Other projects' own test inputs (tests/data/peers/cases/<project>/<upstream test>/) run through
# memcrypt with the outcome the peer project expects: every row of tests/peers.tsv names a case,
# the exit status memcrypt must give, a phrase its output must contain (the reason, for failures)
# and the command. Each case folder is copied to a scratch folder first, so a row may change its
# files the way the upstream test does (flip/incb). Every case folder must have at least one row.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
DATA=$(readlink -f "$DATA"); SRC=$(readlink -f "$SRC")
P="$DATA/peers/cases"
TABLE="$SRC/tests/peers.tsv"
S=$TMP

# Helpers for the rows.
flip() { # FILE OFFSET MASK: xor one byte
    local v; v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(( v ^ $3 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
incb() { # FILE OFFSET: add one to a byte (mod 256)
    local v; v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (v + 1) & 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
hex2bin() { tr -d ' \n\r\t' < "$1" | xxd -r -p > "$2"; }
pemblock() { # FILE N OUT: the N-th (1-based) PEM certificate of a bundle
    awk -v n="$2" '/-----BEGIN/{k++} k==n{print} /-----END/{if(k==n)exit}' "$1" > "$3"
}
sha256hex() { sha256sum "$1" | cut -c1-64; }
# python3 as tests/lib/cli.sh resolves it (the rows run in child shells); -S: the standard
# library is all json needs, and the interpreter starts without site's imports
cli_py
PY3=${MC_PY:-python3}
json() { "$PY3" -S -c "import json,sys; d=json.load(sys.stdin); assert $1, d"; }
export PY3
export -f flip incb hex2bin pemblock sha256hex json

# Every row's scratch copy of its case folder ($S/N/case), made up front by one process (a mkdir
# and a cp per row before; the same trees: symbolic links copied as links, as cp -r does).
n=0
while IFS=$'\t' read -r case _; do
    [[ -z "$case" || "$case" == \#* ]] && continue
    n=$((n + 1))
    [ -d "$P/$case" ] && printf '%s\t%s\n' "$P/$case" "$S/$n/case"
done < "$TABLE" > "$S/copies"
"$PY3" -S -c '
import shutil, sys
for line in sys.stdin:
    src, dst = line.rstrip("\n").split("\t")
    shutil.copytree(src, dst, symlinks=True)' < "$S/copies" || bad "copying the case folders failed"

declare -A covered
n=0
while IFS=$'\t' read -r case want phrase cmd; do
    [[ -z "$case" || "$case" == \#* ]] && continue
    n=$((n + 1))
    covered[$case]=1
    if [ ! -d "$P/$case" ]; then bad "row $n: no case folder $case"; continue; fi
    T="$S/$n"; C="$T/case"
    # the row in a subshell of its own, as bash -c would run it: pipefail, MC/C/P/T, the helpers
    out=$(cd "$T" && export MC C P T && set -o pipefail && eval "$cmd" 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then
        bad "$case: exit $rc, wanted $want: $cmd"; echo "$out" | tail -4 >&2
    elif [ "$phrase" != "-" ] && [[ $out != *"$phrase"* ]]; then
        bad "$case: output lacks '$phrase'"; echo "$out" | tail -4 >&2
    else
        ok
    fi
done < "$TABLE"
# Every case folder is run.
for d in "$P"/*/*/; do
    c=${d#"$P"/}; c=${c%/}
    if [ -z "${covered[$c]}" ]; then bad "case $c has no row in tests/peers.tsv"; fi
done
cli_finish
