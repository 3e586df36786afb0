#!/usr/bin/env bash
# Shell test of `memcrypt measure --batch`: every row of the reference calculator's table
# (tests/data/snp-measure/reference.tsv: its command lines and the digests or errors it printed)
# plus the upstream AmdSev vectors go through one batch, among comments and blank lines; each
# output line must be the reference's answer and equal to a single `memcrypt measure` run with the
# same options, in order; errors name their line; stdin and --json give the same answers; images
# alternate so the memo must tell them apart. $1 = memcrypt binary, $2 = tests/data, $3 = source.
. "$(dirname "$0")/lib/cli.sh"
V=$DATA/snp-measure
S=$V/ovmf_AmdSev_suffix.bin

resolve() {
    case "$1" in
    OVMF.fd) echo /usr/share/ovmf/OVMF.fd ;;
    OVMF_CODE.fd) echo /usr/share/OVMF/OVMF_CODE.fd ;;
    *) if [ -e "$V/$1" ]; then echo "$V/$1"; else echo "$1"; fi ;;
    esac
}

# Lines of the batch (shell-quoted options) and what each must print ("ERR:<text>" = an error
# line holding text).
lines=()
want=()
while IFS=$'\t' read -r args expect; do
    [ "$args" = "args" ] || [ -z "$args" ] && continue
    eval "set -- $args"
    shift
    l=""
    for a in "$@"; do
        case "$a" in *.fd | *.bin) a=$(resolve "$a") ;; esac
        l+="$(printf '%q' "$a") "
    done
    lines+=("$l")
    case "$expect" in
    ERROR*) want+=("ERR:${expect#*Error: }") ;;
    *) want+=("$expect") ;;
    esac
done <"$V/reference.tsv"
[ ${#lines[@]} -ge 10 ] && ok || bad "only ${#lines[@]} rows read from reference.tsv"
# Upstream vectors (sev-snp-measure tests/test_guest.py), quoting in the line itself.
lines+=("--mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --append 'console=ttyS0 loglevel=7' --guest-features 0x21 --ovmf $S")
want+=(803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977)
lines+=("--mode snp --vcpus 4 --kernel /dev/null --initrd /dev/null --vmm-type gce --ovmf \"$S\"")
want+=(5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d)
lines+=("--mode snp --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null --append console=ttyS0\\ loglevel=7 --ovmf $S")
want+=(6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa)
# Lines that must fail, each for its own reason.
lines+=("--mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd --no-such-option")
want+=("ERR:--no-such-option")
lines+=("--mode snp --vcpus 2 --vcpu-type EPYC-Milan --append 'console=ttyS0 --ovmf /usr/share/ovmf/OVMF.fd")
want+=("ERR:unterminated ' quote")
lines+=("--mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf /usr/share/ovmf/OVMF.fd --transcript")
want+=("ERR:--transcript is not for a batch line")
lines+=("--batch /dev/null")
want+=("ERR:--batch is an option of")
lines+=("--mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $TMP/missing.fd")
want+=("ERR:missing.fd")
# The same images again after others (the memo must not confuse them).
lines+=("${lines[0]}" "${lines[1]}")
want+=("${want[0]}" "${want[1]}")

# The file: a comment and a blank line before every measurement line; line numbers count them.
: >"$TMP/batch"
lineno=()
n=0
for i in "${!lines[@]}"; do
    printf '# measurement %d\n\n%s\n' "$i" "${lines[$i]}" >>"$TMP/batch"
    n=$((n + 3))
    lineno+=("$n")
done

"$MC" measure --batch "$TMP/batch" >"$TMP/out" 2>"$TMP/err"
rc=$?
mapfile -t got <"$TMP/out"
[ ${#got[@]} -eq ${#lines[@]} ] && ok || bad "batch printed ${#got[@]} lines for ${#lines[@]} measurements"
first_err=0
first_idx=-1
for i in "${!lines[@]}"; do
    g=${got[$i]-}
    w=${want[$i]}
    case "$w" in
    ERR:*)
        [ $first_err -eq 0 ] && first_err=${lineno[$i]} && first_idx=$i
        if [[ "$g" == "error: line ${lineno[$i]}: "* ]] && [[ "$g" == *"${w#ERR:}"* ]]; then ok; else
            bad "line ${lineno[$i]} (${lines[$i]}): got '$g', want an error naming '${w#ERR:}'"
        fi
        ;;
    *) [ "$g" = "$w" ] && ok || bad "line ${lineno[$i]} (${lines[$i]}): got '$g', want '$w'" ;;
    esac
    # equal to a single run with the same options
    eval "set -- ${lines[$i]}" 2>/dev/null || set --
    if [[ "$w" != ERR:* ]]; then
        single=$("$MC" measure "$@" 2>&1)
        [ "$single" = "$g" ] && ok || bad "line ${lineno[$i]}: batch '$g' but a single run printed '$single'"
    fi
done
# Exit status: the first failing line's, as a single run of it exits; the count on stderr.
eval "set -- ${lines[$first_idx]}"
"$MC" measure "$@" >/dev/null 2>&1
want_rc=$?
[ $want_rc -ne 0 ] && [ $rc -eq $want_rc ] && ok || bad "batch with failing lines exited $rc, want $want_rc"
grep -q "measurements failed (first: line $first_err)" "$TMP/err" && ok || bad "stderr: $(cat "$TMP/err")"

# Standard input gives the same output; a batch of good lines exits 0.
"$MC" measure --batch - <"$TMP/batch" >"$TMP/out2" 2>/dev/null
cmp -s "$TMP/out" "$TMP/out2" && ok || bad "--batch - differs from --batch FILE"
printf '%s\n' "${lines[0]}" "${lines[1]}" "${lines[0]}" | "$MC" measure --batch - >"$TMP/good" 2>&1
[ $? -eq 0 ] && [ "$(wc -l <"$TMP/good")" -eq 3 ] && ok || bad "a batch of good lines: $(cat "$TMP/good")"

# --json: one array, an element per measurement line with its line number.
"$MC" measure --batch "$TMP/batch" --json >"$TMP/json" 2>/dev/null
python3 - "$TMP/json" "$TMP/out" "${lineno[@]}" <<'EOF' && ok || bad "--json does not match the text output"
import json, sys
arr = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().splitlines()
nums = [int(x) for x in sys.argv[3:]]
assert len(arr) == len(text) == len(nums), (len(arr), len(text), len(nums))
for a, t, n in zip(arr, text, nums):
    assert a["line"] == n, (a, n)
    if "measurement" in a:
        assert a["measurement"] == t, (a, t)
    else:
        assert t == "error: line %d: %s" % (n, a["error"]) and a["exit_status"] in (2, 3), (a, t)
EOF

# --batch with other options, or a file that is not there.
"$MC" measure --batch "$TMP/batch" --mode snp >/dev/null 2>"$TMP/e1"
[ $? -eq 2 ] && grep -q "alone" "$TMP/e1" && ok || bad "--batch with --mode: $(cat "$TMP/e1")"
"$MC" measure --batch "$TMP/nothing-here" >/dev/null 2>"$TMP/e2"
[ $? -eq 3 ] && grep -q "nothing-here" "$TMP/e2" && ok || bad "--batch of a missing file: $(cat "$TMP/e2")"
# An empty batch measures nothing and succeeds.
"$MC" measure --batch /dev/null >"$TMP/e3" 2>&1
[ $? -eq 0 ] && [ ! -s "$TMP/e3" ] && ok || bad "empty batch: $(cat "$TMP/e3")"
cli_finish
