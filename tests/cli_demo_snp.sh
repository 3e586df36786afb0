#!/bin/bash
# Shell tests of `memcrypt demo snp`: every attack's outcome as the access paths returned it (fault
# type and error-code bits, refusals, bytes read), determinism per seed, the RMP layer of --html.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
check() { if eval "$1"; then ok; else bad "$1"; fi; }

"$MC" demo snp --seed s1 >"$TMP/a.txt" 2>&1; check "[ $? = 0 ]"
"$MC" demo snp --seed s1 >"$TMP/b.txt" 2>&1
check "cmp -s '$TMP/a.txt' '$TMP/b.txt'"
"$MC" demo snp --seed s2 >"$TMP/c.txt" 2>&1
check "! cmp -s '$TMP/a.txt' '$TMP/c.txt'"
"$MC" demo snp --seed s1 --json >"$TMP/a.json"; check "[ $? = 0 ]"

# Each attempt: fault kind and error-code bits (#PF bit 31; #NPF RMP = bit 31, FINAL 32, TABLE 33,
# ENC 34; #VC 0x404), or the IOMMU's refusal.
cat >"$TMP/check.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = {s["attempt"]: s for s in d["steps"] if "attempt" in s}
RMP, FINAL, TABLE, ENC, W = 1 << 31, 1 << 32, 1 << 33, 1 << 34, 1 << 1
def ec(k): return int(a[k]["error_code"], 16)
def want(cond, what):
    if not cond:
        print("FAIL:", what, json.dumps(a.get(what.split()[0]), indent=None)); sys.exit(1)
for k in ("hypervisor_write", "hypervisor_replay", "hypervisor_replay_cbit"):
    want(a[k]["stopped"] and a[k]["fault"] == "#PF" and ec(k) & RMP and ec(k) & W, k + " #PF RMP write")
want(int(a["hypervisor_write"]["addr"], 16) == 0x1200000, "hypervisor_write at X's SPA")
want(a["dma_replay"]["stopped"] and a["dma_replay"]["fault"] == "iommu", "dma_replay refused")
for k in ("remap_page", "remap_other_guest", "alias_gpa", "takeback_unassigned"):
    want(a[k]["fault"] == "#NPF" and ec(k) & RMP and ec(k) & FINAL and ec(k) & ENC and not ec(k) & TABLE, k + " #NPF RMP final private")
want(int(a["remap_page"]["addr"], 16) == 0x201000 and int(a["alias_gpa"]["addr"], 16) == 0x203000, "remap_page/alias_gpa GPAs")
want(a["vmcb_asid"]["fault"] == "#NPF" and ec("vmcb_asid") & RMP and ec("vmcb_asid") & TABLE, "vmcb_asid #NPF RMP on the table walk")
want(a["alias_shared"]["fault"] == "#NPF" and ec("alias_shared") & RMP and not ec("alias_shared") & ENC, "alias_shared #NPF RMP shared")
want(a["takeback_unvalidated"]["fault"] == "#VC" and ec("takeback_unvalidated") == 0x404, "takeback_unvalidated #VC 0x404")
for k in ("hypervisor_write_stopped", "replay_software_stopped", "dma_write_stopped", "remap_page_stopped",
          "remap_other_guest_stopped", "vmcb_asid_stopped", "alias_gpa_stopped", "alias_shared_stopped",
          "takeback_stopped", "double_validation_detected",
          # what SNP does not stop, observed happening:
          "revalidated_page_replayed", "physical_replay_undetected", "ciphertext_side_channel"):
    want(d[k] is True, k)
want(d["stopped"] == d["attacks"] == 12, "stopped 12 of 12")
# The hypervisor's reads of guest memory are ciphertext, never the plaintext.
v = {s["who"]: s for s in d["steps"] if "who" in s and "bytes" in s}
want(v["hypervisor reads SPA 0x1200000 (X, C=0)"]["matches"] is None, "hypervisor read is ciphertext")
want(v["VM1 reads X"]["matches"] == "version 2 (intact)", "X intact after the stopped writes")
want(v["VM1 reads Y (mapping restored)"]["matches"] == "Y's data", "Y back after the remaps")
r = [s for s in d["steps"] if "rmp_entry" in s]
want(r[0]["state"] == "guest-valid" and r[0]["asid"] == 1 and r[0]["validated"], "X launched guest-valid")
want(r[1]["state"] == "context", "context page")
want(r[-1]["state"] == "guest-invalid" and not r[-1]["validated"], "X not validated after RMPUPDATE")
PY
python3 "$TMP/check.py" "$TMP/a.json" && ok || bad "demo snp --json outcomes"
check "grep -q 'PVALIDATE Y -> EAX 0 (SUCCESS), CF 1' '$TMP/a.txt'"
check "grep -q 'PVALIDATE X -> EAX 0 (SUCCESS), CF 0' '$TMP/a.txt'"
check "grep -q 'hypervisor writes junk to SPA 0x1200000 *-> #PF error code 0x80000003 (P W RMP)' '$TMP/a.txt'"
check "grep -q 'VM1 reads X (assigned back, not validated) *-> #VC error code 0x404' '$TMP/a.txt'"
check "grep -q 'VM1 wrote the bits 01101001; the hypervisor, comparing ciphertexts only, reads 01101001' '$TMP/a.txt'"
check "grep -q 'The RMP stopped 12 of the 12 attacks' '$TMP/a.txt'"

# --html: the key-domain map and the RMP layer beside it, guest pages validated and firmware pages.
"$MC" demo snp --seed s1 --html "$TMP/s.html" >/dev/null; check "[ $? = 0 ]"
check "grep -q 'id=\"map-1\"' '$TMP/s.html'"
check "grep -q 'class=\"page\"[^>]*data-key=\"rmp-guest-valid\"' '$TMP/s.html'"
check "grep -q 'class=\"page\"[^>]*data-key=\"rmp-firmware\"' '$TMP/s.html'"
check "grep -q 'RMP state' '$TMP/s.html'"

# Usage errors.
"$MC" demo snp --seed '' >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" demo snp --bogus >/dev/null 2>&1; check "[ $? = 2 ]"
"$MC" demo snp extra >/dev/null 2>&1; check "[ $? = 2 ]"
cli_finish
