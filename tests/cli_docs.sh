#!/usr/bin/env bash
# Manual pages and bash completion, generated from the command declarations at build time:
# one page per command group in build/man (the same text `memcrypt man GROUP` prints), each renders
# without a groff warning and names every option of every command in the group; the completion
# script in build/completion completes command paths, every option of every command, platforms
# after --platform and files after options that take files.
. "$(dirname "$0")/lib/cli.sh"
build=$(dirname "$MC")
command -v groff >/dev/null || { echo "FAIL: groff is missing (scripts/deps installs groff-base)"; exit 1; }

groups=$("$MC" man --list)
[ "$(wc -l <<<"$groups")" -ge 15 ] && ok || bad "only $(wc -l <<<"$groups") groups"
for g in '' $groups; do
  page=$build/man/memcrypt${g:+-$g}.1
  [ -f "$page" ] || { bad "$page was not built"; continue; }
  # shellcheck disable=SC2086
  cmp -s "$page" <("$MC" man $g) && ok || bad "$page differs from 'memcrypt man $g'"
  warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warn" ] && ok || bad "$page: groff: $warn"
  # rendered once (the same man -l as a reader's), kept for the searches below
  txt=$TMP/render/${g:-memcrypt-all}.txt
  mkdir -p "$TMP/render"
  LC_ALL=C.UTF-8 MANWIDTH=250 man -l "$page" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' >"$txt"
  [ -s "$txt" ] && ok || bad "$page does not render"
done
# Every option of every command is on its group's page, and every command is on memcrypt(1).
man -l "$build/man/memcrypt.1" 2>/dev/null | sed 's/.\x08//g' >"$TMP/render/memcrypt.txt"
while read -r path; do
  g=${path%% *}
  page=$TMP/render/$g.txt
  [ -f "$page" ] || LC_ALL=C.UTF-8 MANWIDTH=250 man -l "$build/man/memcrypt-$g.1" 2>/dev/null | sed 's/.\x08//g' >"$page"
  grep -qF "memcrypt $path" "$page" && ok || bad "memcrypt-$g(1) lacks 'memcrypt $path'"
  cli_help_options "$path" >"$TMP/opts.${path// /_}"
  for o in $(cat "$TMP/opts.${path// /_}"); do
    grep -qF -- "$o" "$page" && ok || bad "memcrypt-$g(1) lacks $o of '$path'"
  done
  grep -qF "memcrypt $path" "$TMP/render/memcrypt.txt" && ok || bad "memcrypt(1) lacks '$path'"
done < <(cli_paths)

# Completion.
comp=$build/completion/memcrypt
[ -f "$comp" ] && cmp -s "$comp" <("$MC" completion bash) && ok || bad "$comp missing or not what 'completion bash' prints"
bash -n "$comp" && ok || bad "$comp: syntax"
cat >"$TMP/t.sh" <<'SH'
source "$1"
shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
_memcrypt
printf '%s\n' "${COMPREPLY[@]}"
SH
c() { bash "$TMP/t.sh" "$comp" memcrypt "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
want() { local w=$1; shift; local got; got=$(c "$@"); [ "$got" = "$w" ] && ok || bad "complete 'memcrypt $*': got '$got', want '$w'"; }
want "report" rep
want "show verify" report ""
want "--vcek --vlek --vmpl" report verify --v
want "milan" info --platform mi
want "diff" measure d
want "--help --version" --
mkdir -p "$TMP/d/sub"; : >"$TMP/d/file.fd"
want "$TMP/d/file.fd" run --firmware "$TMP/d/fi"
want "$TMP/d/sub" fixtures --out "$TMP/d/s"
# Every option of every command completes after its command.
while read -r path; do
  # shellcheck disable=SC2086
  got=$(c $path --)
  for o in $(cat "$TMP/opts.${path// /_}"); do
    [[ " $got " == *" $o "* ]] && ok || bad "completion of '$path --' lacks $o"
  done
done < <(cli_paths)
cli_finish
