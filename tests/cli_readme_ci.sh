#!/usr/bin/env bash
# The README's CI recipe runs as written: its ```sh block after "## In CI" is a job script, run
# with bash in a repository root whose build/memcrypt is the binary under test; the script must
# exit 0 (it ends by verifying the guest's report against the certificates the local KDS served).
. "$(dirname "$0")/lib/cli.sh"
awk '/^## In CI/{t=1} t && /^```sh$/{f=1; next} f && /^```$/{exit} f' "$SRC/README.md" >"$TMP/ci.sh"
n=$(grep -cv '^\s*\(#.*\)\?$' "$TMP/ci.sh")
check "the recipe has its commands ($n)" '[ "$n" -ge 10 ]'
check "the recipe stops at the first failure" 'head -1 "$TMP/ci.sh" | grep -qx "set -e"'
for w in "memcrypt run" "kds serve" "memcrypt exec" "fetch ca" "fetch vcek" "report verify"; do
  check "the recipe uses $w" 'grep -q "$w" "$TMP/ci.sh"'
done
mkdir -p "$TMP/root/build"
for d in examples tests; do ln -s "$SRC/$d" "$TMP/root/$d"; done
ln -s "$MC" "$TMP/root/build/memcrypt"
(cd "$TMP/root" && PATH=/usr/bin:/bin TMPDIR="$TMP" timeout 120 bash "$TMP/ci.sh") >"$TMP/out" 2>&1
rc=$?
check "the recipe runs to its end (exit $rc)" '[ $rc -eq 0 ] || { tail -15 "$TMP/out"; false; }'
check "report verify said verified" 'grep -q verified "$TMP/out" && ! grep -q "NOT verified" "$TMP/out"'
# No server is left behind: the recipe's own kill stopped it. SIGTERM is delivered asynchronously and
# the server exits once its thread has stopped (longer under a sanitizer): give it 10 s.
for _ in $(seq 1000); do pgrep -f "kds serve --state $TMP/" >/dev/null || break; sleep 0.01; done
check "the local KDS was stopped" '! pgrep -f "kds serve --state $TMP/" >/dev/null'
cli_finish
