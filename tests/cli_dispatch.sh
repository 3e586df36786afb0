#!/usr/bin/env bash
# CLI dispatcher: help at every level, exit codes, unknown commands.
. "$(dirname "$0")/lib/cli.sh"
mc=$MC
out=$("$mc" --help); check_cmd test $? -eq 0
check_cmd grep -q "^commands:" <<<"$out"
"$mc" >/dev/null 2>&1; check_cmd test $? -eq 2
"$mc" no-such-command >/dev/null 2>&1; check_cmd test $? -eq 2
err=$("$mc" no-such-command 2>&1); check_cmd grep -q "unknown command 'no-such-command'" <<<"$err"
out=$("$mc" version --help); check_cmd test $? -eq 0; check_cmd grep -q "usage: memcrypt version" <<<"$out"
"$mc" version --bogus >/dev/null 2>&1; check_cmd test $? -eq 2
"$mc" version --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["memcrypt"]'; check_cmd test $? -eq 0
# Every command answers --help with exit 0 and a usage line.
while read -r path; do
  [ -n "$path" ] || continue
  # shellcheck disable=SC2086
  h=$("$mc" $path --help 2>&1); rc=$?
  check_cmd test $rc -eq 0
  check_cmd grep -qi "usage" <<<"$h"
done < <("$mc" --help | sed -n '/^commands:/,$p' | tail -n +2 | cut -c3-30 | sed 's/ *$//')
cli_finish
