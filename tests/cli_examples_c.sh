#!/usr/bin/env bash
# The C examples in examples/ build against the build tree through pkg-config
# (memcrypt-uninstalled.pc, found with PKG_CONFIG_PATH=<build folder>) and run: examples/snp-measure.c
# must print the same SNP launch digest as `memcrypt measure`.
. "$(dirname "$0")/lib/cli.sh"
build=$(cd "$(dirname "$MC")" && pwd)
O=/usr/share/ovmf/OVMF.fd
[ -r "$O" ] || { echo "FAIL: $O missing (scripts/deps installs ovmf)"; exit 1; }
export PKG_CONFIG_PATH=$build
# The build tree's .pc is the one found, and it points into the build tree.
[ "$(pkg-config --variable=libdir memcrypt)" = "$build" ] && ok || bad "pkg-config did not pick memcrypt-uninstalled.pc"
[ "$(pkg-config --variable=includedir memcrypt)" = "$SRC/include" ] && ok || bad "includedir is not the source tree's"
pkg-config --validate memcrypt && ok || bad "memcrypt-uninstalled.pc does not validate"
san=
grep -q '^MC_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"
n=0
for src in "$SRC"/examples/*.c; do
  n=$((n + 1))
  exe=$TMP/$(basename "$src" .c)
  # shellcheck disable=SC2046,SC2086
  cc $san -Wall -Wextra -Werror -std=c11 "$src" -o "$exe" $(pkg-config --cflags --libs memcrypt) && ok ||
    { bad "$src does not build"; continue; }
  ldd "$exe" | grep -q "$build/libmemcrypt.so" && ok || bad "$exe does not use the build tree's library"
done
[ $n -ge 1 ] && ok || bad "no C example in examples/"
for v in "1 EPYC-v4 0x1" "4 EPYC-Milan 0x21" "2 EPYC-Genoa 0x1"; do
  set -- $v
  got=$("$TMP/snp-measure" "$O" "$1" "$2" "$3")
  want=$("$MC" measure --mode snp --vcpus "$1" --vcpu-type "$2" --guest-features "$3" --ovmf "$O")
  [ -n "$got" ] && [ "$got" = "$want" ] && ok || bad "snp-measure $v: '$got' != memcrypt measure '$want'"
done
"$TMP/snp-measure" "$TMP/none.fd" 2>/dev/null; [ $? = 3 ] && ok || bad "snp-measure of a missing file"
cli_finish
