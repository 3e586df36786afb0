#!/usr/bin/env bash
# The README's tour pastes and runs line by line: every line of its ```sh block is a complete shell
# command (no "..." placeholders, no "a | b" meaning "a or b", nothing that needs a file the tour
# did not make), and all of them run, in order, in one shell in a repository root whose
# build/memcrypt is the binary under test.
. "$(dirname "$0")/lib/cli.sh"
# The tour: the first ```sh block after "## A tour".
awk '/^## A tour/{t=1} t && /^```sh$/{f=1; next} f && /^```$/{exit} f' "$SRC/README.md" >"$TMP/tour.sh"
n=$(grep -cv '^\s*\(#.*\)\?$' "$TMP/tour.sh")
[ "$n" -ge 30 ] && ok || bad "the tour has only $n commands"
# Line by line: each is complete on its own.
ln=0
while IFS= read -r line; do
  ln=$((ln + 1))
  [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]] && continue
  [[ "$line" == *'...'* ]] && bad "tour line $ln has a literal '...': $line"
  [[ "$line" == *'\' ]] && bad "tour line $ln continues on the next line (paste line by line): $line"
  [[ "$line" =~ [A-Z]{3,}\.(xml|bin|der|pem)|HEXDATA|B64[^a-z]|GUID=VALUE ]] && bad "tour line $ln has a placeholder: $line"
  bash -n <<<"$line" 2>"$TMP/err" || bad "tour line $ln is not a complete command: $line ($(cat "$TMP/err"))"
  [[ "$line" =~ ^memcrypt\ |^export\ |^t=|^openssl\ |^source\  ]] || bad "tour line $ln does not start a known command: $line"
done <"$TMP/tour.sh"
[ $fail -eq 0 ] && ok
# A repository root with the binary under test as build/memcrypt.
mkdir -p "$TMP/root/build"
for d in examples tests; do ln -s "$SRC/$d" "$TMP/root/$d"; done
ln -s "$MC" "$TMP/root/build/memcrypt"
# Run it as pasted: one shell, line after line; stop at the first failure and say which.
(
  cd "$TMP/root" || exit 1
  PATH=/usr/bin:/bin
  ln=0
  while IFS= read -r line; do
    ln=$((ln + 1))
    [[ "$line" =~ ^[[:space:]]*(#.*)?$ ]] && continue
    eval "set -o pipefail; $line" >"$TMP/out" 2>&1 </dev/null
    rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL: tour line $ln exited $rc: $line" >&2
      tail -5 "$TMP/out" | sed 's/^/  > /' >&2
      exit 1
    fi
  done
  # The tour used the binary under test and made its pictures.
  [ "$(command -v memcrypt)" = "$TMP/root/build/memcrypt" ] || { echo "FAIL: memcrypt is not build/memcrypt" >&2; exit 1; }
  for f in run.html cache-alias.html mktme.html; do [ -s "$t/$f" ] || { echo "FAIL: $f not made" >&2; exit 1; }; done
  rm -rf "$t"
) <"$TMP/tour.sh" && ok || bad "the tour does not run from the repository root"
cli_finish
