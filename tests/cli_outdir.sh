#!/usr/bin/env bash
# Output folders are made one way everywhere (--out-dir, --out DIR, DIR arguments, --dump-vmsa=DIR):
# an existing folder is used; missing ones are made as mkdir -p does, when the command succeeds
# (mode 0755, 0700 for the guest owner's keys); a file in the way is an error (exit 3) that leaves
# nothing behind.
. "$(dirname "$0")/lib/cli.sh"
umask 022
O=/usr/share/ovmf/OVMF.fd
PDH=$SRC/tests/data/amd/sev-platform/rome/pdh.cert
printf 0123456789abcdef0123456789abcdef >"$TMP/tk.bin"
M0=$(printf '%096d' 0)
# name mode file-made-inside command-with-@DIR@...
check() {
  local name=$1 mode=$2 made=$3; shift 3
  local k=$((pass + fail)) dir rc
  # (a) a missing folder: made, with the mode, holding the output
  dir=$TMP/a$k/new
  mkdir -p "$TMP/a$k"
  (cd "$SRC" && "${@//@DIR@/$dir}") >"$TMP/out" 2>&1; rc=$?
  if [ $rc = 0 ] && [ -f "$dir/$made" ] && [ "$(stat -c %a "$dir")" = "$mode" ]; then ok; else
    bad "$name: missing folder: exit $rc, $dir/$made $( [ -e "$dir/$made" ] && echo made || echo missing), mode $(stat -c %a "$dir" 2>/dev/null): $(tail -1 "$TMP/out")"
  fi
  # (b) its parents missing too: all made, with the mode
  dir=$TMP/b$k/no/new
  (cd "$SRC" && "${@//@DIR@/$dir}") >"$TMP/out" 2>&1; rc=$?
  [ $rc = 0 ] && [ -f "$dir/$made" ] && [ "$(stat -c %a "$TMP/b$k")" = "$mode" ] && [ "$(stat -c %a "$dir")" = "$mode" ] &&
    ok || bad "$name: missing parents: exit $rc: $(tail -1 "$TMP/out")"
  # (c) a file in the way (of the folder, or of a parent): an error, the file unchanged
  mkdir -p "$TMP/c$k"; echo keep >"$TMP/c$k/file"
  dir=$TMP/c$k/file
  [ $((k % 2)) = 1 ] && dir=$TMP/c$k/file/sub
  (cd "$SRC" && "${@//@DIR@/$dir}") >"$TMP/out" 2>&1; rc=$?
  [ $rc = 3 ] && [ "$(cat "$TMP/c$k/file")" = keep ] && [ "$(ls "$TMP/c$k")" = file ] && ok ||
    bad "$name: a file in the way: exit $rc: $(tail -1 "$TMP/out")"
}
check "owner session" 700 tk.bin "$MC" owner session --pdh "$PDH" --policy 1 --out-dir @DIR@
check "owner package-secret" 700 secret_header.bin "$MC" owner package-secret --tk "$TMP/tk.bin" --measurement "$M0" \
  --secret 736869e5-84f0-4973-92ec-06879ce3da0b=x --out-dir @DIR@
check "run --out-dir" 755 measurement "$MC" run examples/sev-guest.xml --platform-only --seed o --tk "$TMP/tk.bin" --out-dir @DIR@
check "measure --dump-vmsa=DIR" 755 vmsa0.bin "$MC" measure --mode snp --vcpus 1 --vcpu-type EPYC --ovmf $O --dump-vmsa=@DIR@
check "certs export DIR" 755 pdh.cert "$MC" certs export @DIR@ --seed o --root-bits 2048
check "fw pdh-export DIR" 755 pdh.cert "$MC" fw pdh-export --platform milan --seed o @DIR@
check "fixtures --out" 755 vcek.der "$MC" fixtures --out @DIR@ --root examples/test-root --seed o
check "man --out-dir" 755 memcrypt.1 "$MC" man --out-dir @DIR@
check "completion --out-dir" 755 memcrypt "$MC" completion bash --out-dir @DIR@
cli_finish
