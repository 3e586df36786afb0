#!/usr/bin/env bash
# CLI dispatcher: help at every level, exit codes, unknown commands.
mc=$1
pass=0; fail=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
out=$("$mc" --help); ok test $? -eq 0
ok grep -q "^commands:" <<<"$out"
"$mc" >/dev/null 2>&1; ok test $? -eq 2
"$mc" no-such-command >/dev/null 2>&1; ok test $? -eq 2
err=$("$mc" no-such-command 2>&1); ok grep -q "unknown command 'no-such-command'" <<<"$err"
out=$("$mc" version --help); ok test $? -eq 0; ok grep -q "usage: memcrypt version" <<<"$out"
"$mc" version --bogus >/dev/null 2>&1; ok test $? -eq 2
"$mc" version --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["memcrypt"]'; ok test $? -eq 0
# Every command answers --help with exit 0 and a usage line.
while read -r path; do
  [ -n "$path" ] || continue
  # shellcheck disable=SC2086
  h=$("$mc" $path --help 2>&1); rc=$?
  ok test $rc -eq 0
  ok grep -qi "usage" <<<"$h"
done < <("$mc" --help | sed -n '/^commands:/,$p' | tail -n +2 | cut -c3-30 | sed 's/ *$//')
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
