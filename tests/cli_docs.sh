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
  # rendered once, kept for the searches below: what `MANWIDTH=250 man -l` runs (preconv, tbl,
  # nroff -mandoc -Tutf8 at man-db's line length for 250 columns; the same text but for runs of
  # blank lines) as one groff, with the warnings on (-ww)
  txt=$TMP/render/${g:-memcrypt-all}.txt
  mkdir -p "$TMP/render"
  warn=$(LC_ALL=C.UTF-8 groff -k -t -mtty-char -mandoc -Tutf8 -ww -rLL=243n -rLT=243n "$page" 2>&1 >"$txt.raw")
  [ -z "$warn" ] && ok || bad "$page: groff: $warn"
  sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' "$txt.raw" >"$txt"
  [ -s "$txt" ] && ok || bad "$page does not render"
done
# Every option of every command is on its group's page, and every command is on memcrypt(1) as
# man(1) itself renders it. The pages' text is read once and searched with bash builtins.
man -l "$build/man/memcrypt.1" 2>/dev/null | sed 's/.\x08//g' >"$TMP/render/memcrypt.txt"
declare -A text
IFS= read -r -d '' all <"$TMP/render/memcrypt.txt"
while read -r path; do
  g=${path%% *}
  page=$TMP/render/$g.txt
  [ -f "$page" ] || LC_ALL=C.UTF-8 MANWIDTH=250 man -l "$build/man/memcrypt-$g.1" 2>/dev/null | sed 's/.\x08//g' >"$page"
  [ -n "${text[$g]+set}" ] || IFS= read -r -d '' 'text[$g]' <"$page"
  [[ ${text[$g]} == *"memcrypt $path"* ]] && ok || bad "memcrypt-$g(1) lacks 'memcrypt $path'"
  cli_help_options "$path" >"$TMP/opts.${path// /_}"
  for o in $(cat "$TMP/opts.${path// /_}"); do
    [[ ${text[$g]} == *"$o"* ]] && ok || bad "memcrypt-$g(1) lacks $o of '$path'"
  done
  [[ $all == *"memcrypt $path"* ]] && ok || bad "memcrypt(1) lacks '$path'"
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
# Every option of every command completes after its command: one bash sources the script and
# completes "memcrypt PATH --" for every command, each in a subshell of its own (as a fresh bash).
cat >"$TMP/every.sh" <<'SH'
source "$1"
while IFS= read -r path; do
  (
    read -ra w <<<"memcrypt $path --"
    COMP_WORDS=("${w[@]}"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    _memcrypt
    printf '%s\t%s\n' "$path" "${COMPREPLY[*]}"
  )
done
SH
declare -A comps
while IFS=$'\t' read -r path got; do comps[$path]=$got; done < <(cli_paths | bash "$TMP/every.sh" "$comp")
while read -r path; do
  [ -n "${comps[$path]+set}" ] || bad "no completion run for '$path --'"
  got=${comps[$path]}
  for o in $(cat "$TMP/opts.${path// /_}"); do
    [[ " $got " == *" $o "* ]] && ok || bad "completion of '$path --' lacks $o"
  done
done < <(cli_paths)
cli_finish
