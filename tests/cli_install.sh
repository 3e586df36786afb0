#!/usr/bin/env bash
# `cmake --install` to a temporary prefix, then build a program against the installed headers and
# libraries through pkg-config (shared and static) and run it: the packaging a user relies on.
# $1 = memcrypt binary (its folder is the build folder).
. "$(dirname "$0")/lib/cli.sh"
build=$(dirname "$1")
tmp=$TMP
check_cmd cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
check_cmd test -f "$tmp/prefix/include/memcrypt/engine.h"
# the manual pages and the bash completion generated at build time
check_cmd test -f "$tmp/prefix/share/man/man1/memcrypt.1"
check_cmd test -f "$tmp/prefix/share/man/man1/memcrypt-report.1"
check_cmd cmp -s "$tmp/prefix/share/man/man1/memcrypt-run.1" <("$1" man run)
check_cmd cmp -s "$tmp/prefix/share/bash-completion/completions/memcrypt" <("$1" completion bash)
# the build tree's .pc is not installed
check_cmd test ! -e "$(find "$tmp/prefix" -name 'memcrypt-uninstalled.pc' | head -1)"
pc="$tmp/prefix/lib/pkgconfig"
[ -d "$pc" ] || pc=$(dirname "$(find "$tmp/prefix" -name memcrypt.pc | head -1)")
check_cmd env PKG_CONFIG_PATH="$pc" pkg-config --validate memcrypt
cat > "$tmp/use.c" <<'C'
#include <memcrypt/engine.h>
#include <stdio.h>
int main(void)
{
    uint8_t key[32] = {1}, in[64] = {0}, out[64], back[64];
    key[16] = 2;
    struct mc_error e;
    if (mc_xts_lines(MC_CIPHER_AES128_XTS, key, 32, 0x1000, 0, in, out, 64, &e) ||
        mc_xts_lines(MC_CIPHER_AES128_XTS, key, 32, 0x1000, 1, out, back, 64, &e)) {
        puts(e.msg);
        return 1;
    }
    for (int i = 0; i < 64; i++)
        if (back[i] != in[i])
            return 1;
    return 0;
}
C
# A sanitizer build's library needs its consumer built with the same runtime.
san=
grep -q '^MC_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs memcrypt)
libdir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir memcrypt)
# shellcheck disable=SC2086
check_cmd cc $san "$tmp/use.c" -o "$tmp/use" $flags -Wl,-rpath,"$libdir"
check_cmd "$tmp/use"
# the archive itself stands for -lmemcrypt (which would pick the shared library)
sflags=$(PKG_CONFIG_PATH="$pc" pkg-config --static --cflags --libs memcrypt | sed "s/-lmemcrypt//")
# shellcheck disable=SC2086
check_cmd cc $san "$tmp/use.c" -o "$tmp/use_static" -I"$tmp/prefix/include" "$libdir/libmemcrypt.a" $sflags
check_cmd "$tmp/use_static"
cli_finish
