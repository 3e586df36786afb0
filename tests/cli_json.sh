#!/usr/bin/env bash
# --json everywhere: keys are snake_case (every key literal in the sources, and every key of the
# real output of the commands below), and with --json an error is a JSON object on stdout (usage
# errors included) with the exit status the README gives, and nothing on stderr.
. "$(dirname "$0")/lib/cli.sh"
O=/usr/share/ovmf/OVMF.fd
[ -r "$O" ] || { echo "FAIL: $O missing (scripts/deps installs ovmf)"; exit 1; }

# 1. Key literals in the sources (mc_json_* calls and the CLI's JSON helpers).
keys=$(grep -rhoE '(mc_json_[a-z0-9]+|json_view|json_blob|print_lines_json|tcb_json|bits_json|json_step|json_b64)\((&?[a-z]+(->|\.)?j|j), "[^"]*"' \
        "$SRC/src" "$SRC/tools" | grep -oE '"[^"]*"$' | sort -u)
[ "$(wc -l <<<"$keys")" -gt 100 ] && ok || bad "found only $(wc -l <<<"$keys") key literals"
badkeys=$(grep -vE '^"[a-z][a-z0-9_]*"$' <<<"$keys" | tr '\n' ' ')
[ -z "$badkeys" ] && ok || bad "JSON keys not in snake_case: $badkeys"

# 2. Keys of real output. Each command's output is kept; one Python run (at the end, with the
# error objects of part 3) checks every document, one verdict per document.
mkdir -p "$TMP/docs"
ndoc=0
check_keys() { # name, then the command
  local name=$1; shift
  ndoc=$((ndoc + 1))
  "$@" >"$TMP/docs/$ndoc.json" 2>"$TMP/err"; local rc=$?
  if [ $rc -gt 1 ]; then bad "$name: exit $rc: $(head -2 "$TMP/err")"; rm -f "$TMP/docs/$ndoc.json"; return; fi
  printf 'keys\t%s\t%s\n' "$TMP/docs/$ndoc.json" "$name" >> "$TMP/docs/list"
}
R=$DATA/amd/snp-reports/virtee-milan
check_keys version "$MC" version --json
check_keys "info list" "$MC" info --list --json
check_keys "info milan" "$MC" info --platform milan --json
check_keys "info spr" "$MC" info --platform sapphire-rapids --json
check_keys "tme status" "$MC" tme status --platform icelake-sp --json
check_keys domcaps "$MC" domcaps --json
check_keys "domain check" "$MC" domain check "$SRC/examples/sev-guest.xml" --json
for d in sme tsme cold-boot cache-alias tme mktme snp; do check_keys "demo $d" "$MC" demo $d --seed 1 --json; done
check_keys engine "$MC" engine --json --cipher aes-128-xts --key 00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100 \
  --pa 0x1000 "$(printf '00%.0s' $(seq 64))"
check_keys measure "$MC" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O --transcript --json
check_keys "measure diff" "$MC" measure diff --json --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf $O -- \
  --mode snp --vcpus 2 --vcpu-type EPYC-Genoa --ovmf $O
openssl ecparam -name secp384r1 -genkey -noout -out "$TMP/id.pem" 2>/dev/null
check_keys idblock "$MC" idblock --id-key "$TMP/id.pem" --measurement "$(printf '%096d' 0)" --out-block "$TMP/b" --out-auth "$TMP/a" --json
check_keys "idblock check" "$MC" idblock check --id-block "$TMP/b" --id-auth "$TMP/a" --json
check_keys "certs verify" "$MC" certs verify "$DATA/amd/sev-platform/rome" --json
check_keys "certs show" "$MC" certs show "$DATA/amd/sev-platform/rome/pek.cert" --json
check_keys "report show" "$MC" report show "$R/report.bin" --json
check_keys "report verify" "$MC" report verify "$R/report.bin" --vcek "$R/vcek.der" --json
check_keys "owner session" "$MC" owner session --pdh "$DATA/amd/sev-platform/rome/pdh.cert" --policy 1 --out-dir "$TMP/o" --json
check_keys "package-secret" "$MC" owner package-secret --tk "$TMP/o/tk.bin" --measurement "$(printf '%096d' 0)" \
  --secret 736869e5-84f0-4973-92ec-06879ce3da0b=x --out-dir "$TMP/o" --json
check_keys "fw status" "$MC" fw status --platform milan --json
check_keys run "$MC" run "$SRC/examples/sev-guest.xml" --seed j --state "$TMP/fw.state" --json
check_keys "fw get-id" "$MC" fw get-id --platform milan --state "$TMP/fw.state" --json

# 3. Errors as JSON with --json: usage errors for every command that takes --json, runtime errors.
json_error() { # want_rc want_kind name, then the command
  local want=$1 kind=$2 name=$3; shift 3
  ndoc=$((ndoc + 1))
  "$@" >"$TMP/docs/$ndoc.json" 2>"$TMP/e"; local rc=$?
  [ "$rc" = "$want" ] || { bad "$name: exit $rc, wanted $want"; return; }
  [ ! -s "$TMP/e" ] || { bad "$name: stderr not empty: $(head -1 "$TMP/e")"; return; }
  printf 'error\t%s\t%s\t%s\t%s\n' "$TMP/docs/$ndoc.json" "$name" "$kind" "$want" >> "$TMP/docs/list"
}
n=0
while read -r path; do
  # shellcheck disable=SC2086
  "$MC" $path --help | grep -q -- '^  --json ' || continue
  n=$((n + 1))
  # shellcheck disable=SC2086
  json_error 2 usage "$path --no-such-option" "$MC" $path --json --no-such-option
done < <(cli_paths)
[ $n -ge 25 ] && ok || bad "only $n commands take --json"
json_error 2 usage "unknown platform" "$MC" info --platform pentium --json
json_error 3 runtime "missing report" "$MC" report show "$TMP/none.bin" --json
json_error 3 runtime "certs verify of a file" "$MC" certs verify "$TMP/o/tk.bin" --json
json_error 3 runtime "measure of a missing image" "$MC" measure --mode sev --ovmf "$TMP/none.fd" --json
# A demo that fails after its JSON object began: still one JSON document, with the error in it.
json_error 3 runtime "demo on Intel" "$MC" demo sme --platform icelake-sp --json
printf 'partial\t%s\t%s\n' "$TMP/docs/$ndoc.json" "the demo's partial JSON" >> "$TMP/docs/list"
# Every document kept above, checked in one Python run: snake_case keys ("keys"), an error object
# with its kind and exit status ("error"), the demo's members kept beside the error ("partial").
while IFS= read -r line; do
  case $line in ok\ *) ok ;; *) bad "$line" ;; esac
done < <(python3 - "$TMP/docs/list" <<'PY'
import json, re, sys
def snake_bad(doc):
    bad = []
    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                # "msrs" maps architectural MSR names to values: names, not keys of ours.
                if not re.fullmatch(r"[a-z][a-z0-9_]*", k) and not path.endswith(".msrs"):
                    bad.append(path + "." + k)
                walk(x, path + "." + k)
        elif isinstance(v, list):
            for x in v:
                walk(x, path + "[]")
    walk(doc, "")
    return bad
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    what, path, name = f[0], f[1], f[2]
    try:
        d = json.load(open(path))
        if what == "keys":
            bad = snake_bad(d)
            assert not bad, "keys not in snake_case: " + ", ".join(bad[:10])
        elif what == "error":
            assert d["error"] and d["kind"] == f[3] and d["exit_status"] == int(f[4]) and d["command"], d
        else:
            assert d["demo"] == "sme" and d["steps"] == [], "lost its members"
        print("ok " + name)
    except Exception as e:
        print("%s: %s (%s)" % (name, e, open(path).read()[:300].replace("\n", " ")))
PY
)
[ "$(wc -l < "$TMP/docs/list")" -ge 60 ] && ok || bad "only $(wc -l < "$TMP/docs/list") JSON documents checked"
# Without --json, errors stay on stderr.
"$MC" report show "$TMP/none.bin" >"$TMP/plain.out" 2>"$TMP/e"
[ $? = 3 ] && [ ! -s "$TMP/plain.out" ] && grep -q "^memcrypt report show: " "$TMP/e" && ok || bad "plain error output"
cli_finish
