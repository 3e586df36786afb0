# Shared helpers of the shell tests of the CLI: source it as
#     . "$(dirname "$0")/lib/cli.sh"
# It sets MC (absolute path of the memcrypt under test, $1), DATA ($2), SRC ($3), TMP (a private
# folder, removed on exit) and gives:
#     ok / bad MESSAGE      count a passed / failed check (bad prints MESSAGE)
#     cli_paths             every command path `memcrypt --help` lists, one per line
#     cli_help_options PATH the long options of a command's --help option list
#     cli_finish            print "N passed, N failed" and exit 0 only if nothing failed and
#                           something was checked
MC=$(readlink -f "$1")
DATA=$2
SRC=$3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cli_paths() { "$MC" --help | sed -n '/^commands:/,$p' | tail -n +2 | cut -c3-30 | sed 's/ *$//'; }
cli_help_options() {
  # shellcheck disable=SC2086
  "$MC" $1 --help | sed -n '/^options:/,/^$/p' | sed -n 's/^  \(-.*\)/\1/p' | sed 's/  .*//' |
    grep -o -- '--[a-z][a-z0-9-]*' | grep -vx -- --help | sort -u
}
cli_finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
  exit
}
