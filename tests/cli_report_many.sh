#!/usr/bin/env bash
# Shell test of `memcrypt report verify` with several reports in one call (AMD's real reports):
# each report gets one line whose verdict equals a single verification of it, in order; a report
# of another chip fails on the check a single run names; an unreadable file is an error line; the
# exit status is that of the worst; --json holds one element per report; one report alone prints
# the full check list as before. $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
R=$DATA/amd/snp-reports
V=$R/virtee-milan
files=("$V/report.bin" "$V/report_milan.hex" "$V/report.bin" "$R/azure-genoa-hcl/report.bin" "$TMP/absent.bin"
       "$V/report.bin")
"$MC" report verify "${files[@]}" --vcek "$V/vcek.der" >"$TMP/out" 2>"$TMP/err"
rc=$?
mapfile -t got <"$TMP/out"
[ ${#got[@]} -eq ${#files[@]} ] && ok || bad "${#got[@]} lines for ${#files[@]} reports: $(cat "$TMP/out" "$TMP/err")"
for i in "${!files[@]}"; do
    f=${files[$i]}
    g=${got[$i]-}
    single=$("$MC" report verify "$f" --vcek "$V/vcek.der" 2>&1)
    src=$?
    case $src in
    0) [ "$g" = "$f: verified" ] && ok || bad "$f: single run verified, batch said '$g'" ;;
    1)
        check=$(printf '%s\n' "$single" | awk '$1 == "fail" { print $2; exit }')
        [[ "$g" == "$f: NOT verified: $check: "* ]] && ok || bad "$f: single run failed '$check', batch said '$g'"
        ;;
    *) [[ "$g" == "$f: error: "* ]] && ok || bad "$f: single run exited $src, batch said '$g'" ;;
    esac
done
[ $rc -eq 3 ] && ok || bad "an unreadable report among them: exit $rc, want 3"
# Without the unreadable one the worst is a failed check (1); reports of one chip alone: 0.
"$MC" report verify "$V/report.bin" "$R/azure-genoa-hcl/report.bin" --vcek "$V/vcek.der" >/dev/null 2>&1
[ $? -eq 1 ] && ok || bad "a failing report among them: want exit 1"
"$MC" report verify "$V/report.bin" "$V/report_milan.hex" --vcek "$V/vcek.der" >"$TMP/two" 2>&1
[ $? -eq 0 ] && [ "$(grep -c ': verified$' "$TMP/two")" -eq 2 ] && ok || bad "two good reports: $(cat "$TMP/two")"
# --json: one element per report, in order, and the overall verdict.
"$MC" report verify "$V/report.bin" "$R/azure-genoa-hcl/report.bin" --vcek "$V/vcek.der" --json >"$TMP/json" 2>/dev/null
python3 - "$TMP/json" "$V/report.bin" "$R/azure-genoa-hcl/report.bin" <<'EOF' && ok || bad "--json: $(cat "$TMP/json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["reports"]
assert [x["file"] for x in r] == sys.argv[2:], r
assert r[0]["ok"] is True and r[1]["ok"] is False and d["ok"] is False
assert any(c["name"] == "generation" and c["result"] == "fail" for c in r[1]["checks"])
assert any(c["name"] == "signature" and c["result"] == "pass" for c in r[0]["checks"])
EOF
# One report: the full list of checks, as before.
"$MC" report verify "$V/report.bin" --vcek "$V/vcek.der" >"$TMP/one" 2>&1
[ $? -eq 0 ] && grep -q '^pass *signature' "$TMP/one" && grep -q '^verified: every requested check passed' "$TMP/one" &&
    ok || bad "one report: $(cat "$TMP/one")"
cli_finish
