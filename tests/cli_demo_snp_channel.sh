#!/bin/bash
# Shell tests of `memcrypt demo snp-channel`: the keys (same measurement, same key; another
# measurement, another key), every hypervisor trick refused for its own reason, the records
# delivered intact and in order, throughput fields present (their values are not asserted).
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
check() { if eval "$1"; then ok; else bad "$1"; fi; }

"$MC" demo snp-channel --seed s1 --pages 20 --batches 1 --json >"$TMP/a.json"; check "[ $? = 0 ]"
cat >"$TMP/check.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = [s for s in d["steps"] if "delivery" in s]
def want(c, what):
    if not c:
        print("FAIL:", what); sys.exit(1)
for k in ("same_key", "other_measurement_other_key", "delivered_intact", "tamper_detected", "replay_detected",
          "reorder_detected", "relabel_detected", "hypervisor_sees_ciphertext_only", "other_guest_refused"):
    want(d[k] is True, k)
by = {}
for s in r:
    by.setdefault(s["delivery"], []).append(s)
want([s["accepted"] for s in by["intact"]] == [True] * 4, "four intact records accepted")
want(not by["tampered"][0]["accepted"] and "GCM tag" in by["tampered"][0]["why"], "bit flip: the tag")
want(not by["replayed"][0]["accepted"] and "replay" in by["replayed"][0]["why"], "replay: the counter")
want(not by["reordered"][0]["accepted"] and "ahead" in by["reordered"][0]["why"], "reorder: the counter")
want(not by["relabelled"][0]["accepted"] and "GCM tag" in by["relabelled"][0]["why"], "relabel: the header is authenticated")
want(not by["other_guest"][0]["accepted"], "guest C refused")
t = d["throughput"]
want(t["pages"] == 20 and t["batches"] == 1 and t["page_us"] > 0 and t["batch_ms"] > 0, "throughput fields")
want(t["published_page_us"] == 38 and t["published_batch_ms"] == 6.8, "published figures beside")
PY
python3 "$TMP/check.py" "$TMP/a.json" && ok || bad "demo snp-channel --json outcomes"
# Text: the same key fingerprints for A and B with the same seed, deterministic apart from timings.
"$MC" demo snp-channel --seed s1 --pages 5 --batches 1 | grep -v -e 'us per page' -e 'ms per batch' -e 'wall clock' >"$TMP/a.txt"
"$MC" demo snp-channel --seed s1 --pages 5 --batches 1 | grep -v -e 'us per page' -e 'ms per batch' -e 'wall clock' >"$TMP/b.txt"
check "cmp -s '$TMP/a.txt' '$TMP/b.txt'"
"$MC" demo snp-channel --seed s2 --pages 5 --batches 1 | grep -v -e 'us per page' -e 'ms per batch' -e 'wall clock' >"$TMP/c.txt"
check "! cmp -s '$TMP/a.txt' '$TMP/c.txt'"
check "grep -q 'A and B hold the same key' '$TMP/a.txt'"
check "grep -Eq 'key fingerprints .*: A ([0-9a-f]{16}), B \\1, C ' '$TMP/a.txt'"
# Usage errors.
"$MC" demo snp-channel --pages 0 >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" demo snp-channel --batches x >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" demo snp-channel --seed '' >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" demo snp-channel --bogus >/dev/null 2>&1; check "[ $? = 2 ]"
cli_finish
