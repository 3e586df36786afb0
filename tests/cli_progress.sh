#!/usr/bin/env bash
# Progress on a terminal, quiet when piped: a long step draws "memcrypt PATH: ..." on stderr when
# it is a terminal (here a pseudo-terminal from script(1); MEMCRYPT_PROGRESS_DELAY=0 draws at once
# instead of after 2 s), erases it before the result, and draws nothing when stderr is a pipe or
# a file, or with MEMCRYPT_PROGRESS=0.
. "$(dirname "$0")/lib/cli.sh"
command -v script >/dev/null || { echo "FAIL: script(1) is missing (bsdutils)"; exit 1; }
tty_run() { MEMCRYPT_PROGRESS_DELAY=${DELAY:-0} script -qec "$1" /dev/null >"$TMP/tty" 2>&1 </dev/null; }

tty_run "$MC fw status --platform milan --init"
grep -qa 'memcrypt fw status: working (a new chip makes its RSA-4096 keys)' "$TMP/tty" && ok || bad "fw status: no progress on a terminal: $(head -c 300 "$TMP/tty")"
# The line is erased (CR, erase-line) before the result is printed.
grep -qaP '\r\e\[Kplatform: +milan' "$TMP/tty" && ok || bad "fw status: the progress line is not erased before the output"
# domcaps asks a fresh chip for its ID (cpu0Id): the chip first makes its RSA-4096 keys.
tty_run "$MC domcaps --platform milan"
grep -qa 'memcrypt domcaps: asking the chip for its ID' "$TMP/tty" && ok || bad "domcaps: no progress on a terminal: $(head -c 300 "$TMP/tty")"
grep -qaP '\r\e\[K<domainCapabilities>' "$TMP/tty" && ok || bad "domcaps: the progress line is not erased before the output"
# Piped or redirected: nothing on stderr.
MEMCRYPT_PROGRESS_DELAY=0 "$MC" fw status --platform milan --init >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && [ ! -s "$TMP/err" ] && ok || bad "fw status piped: stderr '$(head -c 200 "$TMP/err")'"
MEMCRYPT_PROGRESS_DELAY=0 "$MC" fw status --platform milan --init 2>&1 | grep -q "working" && bad "progress into a pipe" || ok
# Switched off.
MEMCRYPT_PROGRESS=0 tty_run "$MC fw status --platform milan --init"
grep -qa 'working' "$TMP/tty" && bad "MEMCRYPT_PROGRESS=0 still draws" || ok
# run: its phases; --json keeps stdout JSON (progress is on stderr).
tty_run "cd $SRC && $MC run examples/sev-guest.xml --seed p --json 2>$TMP/run.err >$TMP/run.json; cat $TMP/run.err >&2"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/run.json" && ok || bad "run --json output broken by progress"
script -qec "cd $SRC && MEMCRYPT_PROGRESS_DELAY=0 $MC run examples/sev-guest.xml --seed p >/dev/null" /dev/null >"$TMP/tty" 2>&1 </dev/null
grep -qa 'memcrypt run: ' "$TMP/tty" && ok || bad "run: no progress on a terminal"
# With the default delay (2 s), a short command draws nothing.
DELAY= tty_run "$MC info --platform milan"
grep -qa $'\e\\[K' "$TMP/tty" && bad "a short command drew a progress line" || ok
cli_finish
