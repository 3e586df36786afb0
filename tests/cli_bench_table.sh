#!/usr/bin/env bash
# Shell test of scripts/bench-table, which builds the README's benchmark target table from the
# `target|…` lines the benchmarks print (bench/bench_target.h): a real benchmark's lines parse;
# met, NOT met and not measured are kept apart; a malformed line or a run without targets fails and
# leaves the README alone; --readme replaces exactly the text between the markers.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
BUILD=$(dirname "$MC")
# A copy of the script in a scratch tree, so --readme never touches the project's README.
mkdir -p "$TMP/tree/scripts"
cp "$SRC/scripts/bench-table" "$TMP/tree/scripts/"
T=$TMP/tree/scripts/bench-table

# A real benchmark (shortest run) prints well-formed target lines.
"$BUILD/bench_snp_msg" 0.05 >"$TMP/real.txt" 2>&1 && ok || bad "bench_snp_msg failed: $(cat "$TMP/real.txt")"
grep -q '^target|bench_snp_msg|' "$TMP/real.txt" && ok || bad "bench_snp_msg printed no target line"
"$T" "$TMP/real.txt" >"$TMP/real.md" && ok || bad "the real benchmark's lines do not parse"
grep -Eq '^\| `bench_snp_msg` \| MSG_REPORT_REQ .*\| >= 0\.8 \| (met|\*\*NOT met\*\*) \|$' "$TMP/real.md" && ok ||
    bad "table row: $(cat "$TMP/real.md")"

cat >"$TMP/r.txt" <<'R'
## build/bench_x
some text the benchmark prints
target|bench_x|copy / round trip|1821 vs 2497 MB/s|0.729|>= 0.6|met
target|bench_x|time per GiB|1.2 to 1.9 s|1.58|<= 1.3|NOT met
target|bench_y|batch / reference|10 lines in 3 ms; no reference installed|-|>= 50|not measured
R
"$T" "$TMP/r.txt" >"$TMP/r.md" && ok || bad "valid results refused"
[ "$(grep -c '^| `bench_' "$TMP/r.md")" = 3 ] && ok || bad "want 3 rows: $(cat "$TMP/r.md")"
grep -q '| 0.729 | >= 0.6 | met |$' "$TMP/r.md" && ok || bad "met row"
grep -q '| 1.58 | <= 1.3 | \*\*NOT met\*\* |$' "$TMP/r.md" && ok || bad "NOT met row"
grep -q '| - | >= 50 | not measured |$' "$TMP/r.md" && ok || bad "not measured row"

printf '# Title\nbefore\n<!-- bench-targets:begin -->\nold table\n<!-- bench-targets:end -->\nafter\n' >"$TMP/tree/README.md"
cp "$TMP/tree/README.md" "$TMP/readme.orig"
"$T" --readme "$TMP/r.txt" >/dev/null && ok || bad "--readme failed"
R=$TMP/tree/README.md
! grep -q 'old table' "$R" && ok || bad "the old table is still there"
[ "$(grep -c '^| `bench_' "$R")" = 3 ] && ok || bad "the new table is not there: $(cat "$R")"
head -2 "$R" | cmp -s - <(head -2 "$TMP/readme.orig") && [ "$(tail -1 "$R")" = after ] && ok || bad "text outside the markers changed"
grep -q '^Last `scripts/bench` run: ' "$R" && ok || bad "no run stamp"
"$T" --readme "$TMP/r.txt" >/dev/null && [ "$(grep -c '^| `bench_' "$R")" = 3 ] && ok || bad "a second --readme run doubled the table"

# Malformed results: refused, README untouched.
cp "$R" "$TMP/readme.before"
printf 'target|bench_x|too|few|fields\n' >"$TMP/bad.txt"
"$T" --readme "$TMP/bad.txt" 2>"$TMP/err" && bad "a malformed line was accepted" || ok
grep -q 'expected 7 fields' "$TMP/err" && ok || bad "message: $(cat "$TMP/err")"
printf 'no targets here\n' >"$TMP/none.txt"
"$T" --readme "$TMP/none.txt" 2>/dev/null && bad "results without targets were accepted" || ok
cmp -s "$R" "$TMP/readme.before" && ok || bad "a refused run changed the README"
"$T" --readme "$TMP/absent.txt" 2>/dev/null && bad "a missing results file was accepted" || ok
printf 'no markers\n' >"$R"
"$T" --readme "$TMP/r.txt" 2>/dev/null && bad "a README without markers was accepted" || ok
cli_finish
