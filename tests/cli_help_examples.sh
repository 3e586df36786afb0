#!/usr/bin/env bash
# Every command's --help ends with at least one example, and every example runs as written from
# the repository root (each command's examples in order, in one shell, with memcrypt on PATH); so
# does the page of the fw group.
. "$(dirname "$0")/lib/cli.sh"
mkdir -p "$TMP/bin"
ln -s "$(readlink -f "$MC")" "$TMP/bin/memcrypt"
n=0
while read -r path; do
  [ -n "$path" ] || continue
  # shellcheck disable=SC2086
  "$MC" $path --help >"$TMP/help" 2>&1 || { bad "$path --help failed"; continue; }
  # The examples section is the last one: "example:" or "examples:", then indented lines.
  last=$(grep -n '^examples\?:$' "$TMP/help" | tail -1 | cut -d: -f1)
  if [ -z "$last" ]; then bad "$path: --help has no examples section"; continue; fi
  tail -n +$((last + 1)) "$TMP/help" >"$TMP/ex.raw"
  if grep -qv '^  ' "$TMP/ex.raw"; then bad "$path: something follows the examples: $(grep -v '^  ' "$TMP/ex.raw" | head -1)"; fi
  sed 's/^  //' "$TMP/ex.raw" >"$TMP/ex.sh"
  grep -q '^memcrypt ' "$TMP/ex.sh" || { bad "$path: no example runs memcrypt"; continue; }
  # (a command that runs inside a guest is shown under `memcrypt exec ... -- memcrypt PATH`)
  grep -q "^memcrypt $path\( \|$\)\|^memcrypt exec .* -- memcrypt $path\( \|$\)" "$TMP/ex.sh" ||
    { bad "$path: no example of 'memcrypt $path'"; continue; }
  n=$((n + 1))
  mkdir -p "$TMP/run$n"
  if (cd "$SRC" && PATH="$TMP/bin:$PATH" TMPDIR="$TMP/run$n" bash -euo pipefail "$TMP/ex.sh") >"$TMP/out" 2>&1; then
    ok
  else
    bad "$path: an example failed:"; sed 's/^/    /' "$TMP/ex.sh" >&2; tail -5 "$TMP/out" | sed 's/^/  > /' >&2
  fi
done < <(cli_paths; echo fw) # and a group's page (`memcrypt fw --help`: its subcommands, then examples)
[ "$n" -ge 20 ] && ok || bad "only $n commands with examples found"
cli_finish
