#!/usr/bin/env bash
# The one options parser: every command reports a bad option the same way (usage error, exit 2,
# "memcrypt PATH: ..." and a pointer to its --help), values as "--opt V" or "--opt=V", unambiguous
# prefixes, "--" ending the options, and the common options checked once (--platform, --seed).
. "$(dirname "$0")/lib/cli.sh"
# expect RC 'text on stderr' -- command...
# (Hundreds of checks: the files are read with bash builtins, not one grep process each.)
slurp() { E=; IFS= read -r -d '' E <"$1" || true; }
expect() {
  local want=$1 msg=$2; shift 3
  "$@" >"$TMP/o" 2>"$TMP/e"; local rc=$?
  slurp "$TMP/e"
  if [ "$rc" = "$want" ] && [[ $E == *"$msg"* ]]; then ok; else
    bad "$*: exit $rc (wanted $want), stderr: $(head -3 "$TMP/e" | tr '\n' '|') lacks '$msg'"; fi
}
paths=$(cli_paths)
n=0
while read -r path; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  expect 2 "memcrypt $path: unknown option '--no-such-option'" -- "$MC" $path --no-such-option
  [[ $E == *"(see 'memcrypt $path --help')"* ]] && ok || bad "$path: no pointer to --help"
  [ ! -s "$TMP/o" ] && ok || bad "$path: a usage error printed on stdout"
  # shellcheck disable=SC2086
  expect 2 "memcrypt $path: unknown option '-Q'" -- "$MC" $path -Q
  # Every option of the help list is known to the parser (the list and the parser share the table).
  # An option that takes no value is first tried followed by an unknown one: the parser reports
  # options left to right, so naming the second proves it took the first, and the command stops
  # there instead of running (a whole demo for --json). Otherwise (an option that takes a value,
  # or one that acts at once, as --version does) the option is given alone, as the user would.
  # shellcheck disable=SC2086
  h=$("$MC" $path --help)
  declare -A flag=()
  for o in $(cli_options_in "$h" flags); do flag[$o]=1; done
  for o in $(cli_options_in "$h"); do
    if [ -n "${flag[$o]:-}" ]; then
      # shellcheck disable=SC2086
      "$MC" $path "$o" --no-such-option >"$TMP/o" 2>"$TMP/e" </dev/null
      slurp "$TMP/o"; E="$E$(<"$TMP/e")"
      if [[ $E != *"unknown option '$o'"* && $E == *"unknown option '--no-such-option'"* ]]; then ok; continue; fi
    fi
    # shellcheck disable=SC2086
    "$MC" $path "$o" >"$TMP/o" 2>"$TMP/e" </dev/null
    slurp "$TMP/e"
    if [[ $E == *"unknown option"* ]]; then bad "$path: $o is in --help but unknown to the parser"; else ok; fi
  done
  unset flag
  # The common options, when a command has them.
  if [[ $h == *"--platform NAME"* ]]; then
    # shellcheck disable=SC2086
    expect 2 "unknown platform 'pentium'" -- "$MC" $path --platform pentium
  fi
  if [[ $h == *"--seed TEXT"* ]]; then
    # shellcheck disable=SC2086
    expect 2 "--seed must not be empty" -- "$MC" $path --seed ''
  fi
  if [[ $h == *"--json "* ]]; then
    # shellcheck disable=SC2086
    expect 2 "option '--json' takes no value" -- "$MC" $path --json=yes
  fi
done <<<"$paths"
[ "$n" -ge 30 ] && ok || bad "only $n commands listed"

# Values: separate or with '='; a missing value; prefixes; '--'.
expect 2 "option '--platform' needs a value (NAME)" -- "$MC" info --platform
"$MC" info --platform=milan --json >"$TMP/a" && "$MC" info --platform milan --json >"$TMP/b" && cmp -s "$TMP/a" "$TMP/b" &&
  ok || bad "--platform=milan differs from --platform milan"
"$MC" info --plat milan >/dev/null 2>&1 && ok || bad "an unambiguous prefix is refused"
expect 2 "option '--s' is ambiguous (--state, --seed)" -- "$MC" fw status --platform milan --s x
expect 2 "unexpected argument 'extra'" -- "$MC" info --platform rome extra
expect 2 "missing DOMAIN.xml" -- "$MC" run
expect 2 "unexpected argument 'b.xml'" -- "$MC" domain check a.xml b.xml
expect 2 "--platform NAME is required" -- "$MC" fw status
expect 2 "--id-key PEM is required" -- "$MC" idblock --measurement 00
# After '--' a word that looks like an option is an argument (here: a file that does not exist).
expect 3 "-no-such-file.xml" -- "$MC" domain check -- -no-such-file.xml
# An option value may start with a dash.
expect 2 "unknown generation '-x'" -- "$MC" report show --generation -x "$SRC/tests/data/amd/snp-reports/virtee-milan/report.bin"
# Version.
v=$("$MC" -V) && [ "$v" = "$("$MC" --version)" ] && grep -q '^memcrypt [0-9]' <<<"$v" && ok || bad "-V: $v"
cli_finish
