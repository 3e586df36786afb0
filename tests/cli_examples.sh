#!/usr/bin/env bash
# Every example in examples/ runs as shipped, from the repository root, on a machine with only
# what scripts/deps installs; the direct-kernel example's tiny kernel and initrd are the bytes the
# build makes from the project's own source (tools/mkkernel), in the formats the tools of others
# recognise (file(1): a bzImage; cpio(1): a newc archive holding /init).
. "$(dirname "$0")/lib/cli.sh"
build=$(dirname "$MC")
cd "$SRC" || exit 1
n=0
for x in examples/*.xml; do
  n=$((n + 1))
  "$MC" domain check "$x" >"$TMP/out" 2>&1 && ok || bad "domain check $x: $(tail -2 "$TMP/out")"
  "$MC" run "$x" --seed examples >"$TMP/out" 2>&1 && ok || bad "run $x: $(tail -2 "$TMP/out")"
  grep -q "guest state RUNNING" "$TMP/out" && ok || bad "run $x did not reach RUNNING"
done
[ $n -ge 3 ] && ok || bad "only $n example XMLs"
# The shipped kernel and initrd are what the build makes.
for f in bzImage initrd.cpio; do
  cmp -s "examples/direct-kernel/$f" "$build/direct-kernel/$f" && ok ||
    bad "examples/direct-kernel/$f differs from the build's $build/direct-kernel/$f (tools/mkkernel)"
done
file -b examples/direct-kernel/bzImage | grep -q "^Linux kernel x86 boot executable bzImage" && ok ||
  bad "file(1) does not see a bzImage: $(file -b examples/direct-kernel/bzImage)"
command -v cpio >/dev/null || { bad "cpio is missing (scripts/deps installs it)"; }
[ "$(cpio -it --quiet <examples/direct-kernel/initrd.cpio 2>/dev/null)" = "init" ] && ok || bad "initrd.cpio does not list /init"
# The kernel's hashes are what a guest owner computes with `measure` from the same files.
want=$("$MC" measure --mode sev --ovmf tests/data/snp-measure/ovmf_AmdSev_suffix.bin --kernel examples/direct-kernel/bzImage \
         --initrd examples/direct-kernel/initrd.cpio --append "console=ttyS0 root=/dev/vda1")
"$MC" run examples/sev-direct-kernel.xml --json >"$TMP/k.json" &&
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["launch_digest"]==sys.argv[2] and r["kernel_hashes"], r["launch_digest"]' \
    "$TMP/k.json" "$want" && ok || bad "direct-kernel launch digest is not measure's $want"
cli_finish
