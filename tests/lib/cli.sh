# Shared helpers of the shell tests of the CLI: source it as
#     . "$(dirname "$0")/lib/cli.sh"
# It sets MC (absolute path of the memcrypt under test, $1), DATA ($2), SRC ($3), TMP (a private
# folder, removed on exit), makes `python3` call the interpreter directly, and gives:
#     ok / bad MESSAGE      count a passed / failed check (bad prints MESSAGE)
#     cli_paths             every command path `memcrypt --help` lists, one per line
#     cli_help_options PATH [flags]  the long options of a command's --help option list (with
#                           flags: those that take no value); cli_options_in TEXT [flags] the same
#                           from a --help text already at hand
#     cli_py                set MC_PY to the resolved python3 (for child shells)
#     expect RC WHAT -- CMD...  run CMD (output in $out) and count whether it exited with RC
#     has WHAT TEXT         count whether $out contains TEXT
#     check [WHAT] COND     evaluate the shell condition COND (a string, eval'd) and count it
#                           (bad prints WHAT, or COND when WHAT is not given); $? in COND is
#                           the status of the command before check
#     check_cmd CMD...      run CMD and count whether it exited 0 (bad prints the command)
#     cli_finish            print "N passed, N failed" and exit 0 only if nothing failed and
#                           something was checked
# Dependencies outside the project (a missing one is never a silent skip):
#     cli_need WHAT HOW CMD...  the script cannot run without it (CMD tests for it, e.g.
#                           `command -v python3`): missing under CI=true is a failure; outside CI
#                           the script stops with a SKIP line and exit 77 (ctest: "Skipped")
#     cli_have WHAT HOW CMD...  some checks need it: returns 0 when present; missing, it is a
#                           failure under CI=true and a SKIP line outside, and returns 1
#     cli_missing WHAT      the same report, for a test of the script's own
MC=$(readlink -f "$1")
DATA=$2
SRC=$3
pass=0
fail=0
ok() {
  [ $# -eq 0 ] || { bad "ok takes no arguments (check/check_cmd test something): ok $*"; return 1; }
  pass=$((pass + 1))
}
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# python3 is resolved once, on its first call, to the interpreter it runs (a version manager's shim
# would start a tree of processes for every call; the checks run on the same interpreter either
# way). Scripts that never call python3 never start it. The answer is kept in $TMP/python3, so a
# call in a subshell, $(python3 ...), resolves it only once too; cli_py sets MC_PY to it (for
# child shells, which do not see the function). Under ctest MC_PY comes resolved from CMake (once
# per configure), so no script asks the shim.
cli_py() {
  [ -n "${MC_PY:-}" ] && [ -x "$MC_PY" ] && return 0
  if [ ! -s "$TMP/python3" ]; then
    local t=$TMP/python3.$BASHPID
    command python3 -S -c 'import sys; print(sys.executable)' >"$t" 2>/dev/null && mv "$t" "$TMP/python3" || rm -f "$t"
  fi
  [ -s "$TMP/python3" ] && MC_PY=$(<"$TMP/python3") && [ -x "$MC_PY" ] || { MC_PY=; return 1; }
}
if type -P python3 >/dev/null; then
  python3() { if cli_py; then "$MC_PY" "$@"; else command python3 "$@"; fi; }
fi
# A sanitizer build of memcrypt run under `memcrypt exec` gets the (uninstrumented) interposer
# preloaded ahead of the sanitizer runtime: only the runtime's link-order check is switched off.
if ldd "$MC" 2>/dev/null | grep -q libasan; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
TMP=$(mktemp -d)
# Background processes a script starts (cli_kds_serve adds its servers): stopped when it exits.
cli_pids=()
trap 'for p in "${cli_pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
expect() {
  local want=$1 what=$2
  shift 3
  out=$("$@" 2>&1)
  local rc=$?
  if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, wanted $want: $(echo "$out" | tail -3)"; fi
}
check() {
  local cli_rc_=$? cli_what_=$1
  [ $# -ge 2 ] && shift
  cli_status "$cli_rc_" # COND sees in $? the status of the command before check
  if eval "$1"; then ok; else bad "$cli_what_"; fi
}
cli_status() { return "$1"; }
check_cmd() { if "$@"; then ok; else bad "$*"; fi; }
has() { if grep -qF -- "$2" <<<"$out"; then ok; else bad "$1: output lacks '$2': $(echo "$out" | tail -2)"; fi; }
cli_paths() { "$MC" --help | sed -n '/^commands:/,$p' | tail -n +2 | cut -c3-30 | sed 's/ *$//'; }
cli_help_options() {
  # shellcheck disable=SC2086
  cli_options_in "$("$MC" $1 --help)" "${2:-}"
}
# cli_options_in HELP-TEXT [flags]: the long options of a --help text's option list(s) ("options:"
# up to the next empty line; each "  -..." line up to its description), each once, in the help's
# order, without --help; with "flags", only the options that take no value (nothing, ", " or "[="
# after the name). Bash builtins only (the option-by-option tests call it for every command).
cli_options_in() {
  local line rest o in=0 re='--[a-z][a-z0-9-]*' list=()
  local -A seen=()
  while IFS= read -r line; do
    if [ $in = 0 ]; then [[ $line == options:* ]] && in=1; continue; fi
    [ -z "$line" ] && { in=0; continue; }
    [[ $line == "  -"* ]] || continue
    rest=${line#  }
    rest=${rest%%  *}
    while [[ $rest =~ $re ]]; do
      o=${BASH_REMATCH[0]}
      rest=${rest#*"$o"}
      [ "$o" = --help ] && continue
      [ "${2:-}" = flags ] && [ -n "$rest" ] && [[ $rest != ,* && $rest != "["* ]] && continue
      [ -n "${seen[$o]:-}" ] || list+=("$o")
      seen[$o]=1
    done
  done <<<"$1"
  [ ${#list[@]} -eq 0 ] || printf '%s\n' "${list[@]}"
}
cli_missing() {
  if [ "${CI:-}" = true ]; then bad "missing dependency under CI: $*"; else echo "SKIP (missing $*)" >&2; fi
}
cli_need() {
  local what=$1 how=$2; shift 2
  "$@" >/dev/null 2>&1 && return 0
  if [ "${CI:-}" = true ]; then bad "missing dependency under CI: $what ($how)"; cli_finish; fi
  echo "SKIP: missing $what ($how); nothing was checked"
  exit 77
}
cli_have() {
  local what=$1 how=$2; shift 2
  "$@" >/dev/null 2>&1 && return 0
  cli_missing "$what ($how)"
  return 1
}
# cli_kds_serve OUT ARGS...: start `memcrypt kds serve ARGS --listen 127.0.0.1:0` (its output in OUT,
# its errors in OUT.err) and wait until it says it serves (the chip's identity is made on first
# use: seconds on a loaded machine). Sets kds_pid (also in cli_pids), kds_url (http://ADDR:PORT)
# and kds_port; both are empty when the server did not start.
cli_kds_serve() {
  local o=$1
  shift
  "$MC" kds serve "$@" --listen 127.0.0.1:0 >"$o" 2>"$o.err" &
  kds_pid=$!
  cli_pids+=("$kds_pid")
  local end=$((SECONDS + 600))
  while ((SECONDS < end)); do grep -q serving "$o" 2>/dev/null && break; kill -0 "$kds_pid" 2>/dev/null || break; sleep 0.01; done
  kds_url=$(grep -o 'http://[0-9.:]*' "$o" | head -1)
  kds_port=${kds_url##*:}
}
cli_finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
  exit
}
