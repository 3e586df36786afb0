#!/usr/bin/env bash
# The public API a C program can rely on (docs/api.md):
#  - libmemcrypt.so exports exactly the functions declared with MC_API in include/memcrypt/, each
#    with the library's prefix (mc_, or memctl_ for its memory controller); nothing else leaks;
#  - every verify/check function is MC_MUST_CHECK (warn_unused_result);
#  - every public header is self-contained, has extern "C" guards, and the umbrella header
#    memcrypt/memcrypt.h includes them all, compiles as C11 and (when g++ is installed) as C++;
#    its version macros are the project's version;
#  - the CLI includes only its own headers and the public ones (it is built with no src/ on its
#    include path; this checks the sources as well).
. "$(dirname "$0")/lib/cli.sh"
build=$(cd "$(dirname "$MC")" && pwd)
lib=$build/libmemcrypt.so
inc=$SRC/include
gen=$build/generated/include
need() { command -v "$1" >/dev/null || { bad "$1 is missing (apt-get install $2)"; cli_finish; }; }
# A sanitizer build's library needs the sanitizer runtime in the programs linked with it.
san=
grep -q '^MC_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"
need nm binutils
need cc gcc
[ -r "$lib" ] && ok || { bad "$lib missing"; cli_finish; }

# 1. Exported symbols: prefix and declaration.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sort -u > "$TMP/exported"
n=$(wc -l < "$TMP/exported")
[ "$n" -ge 100 ] && ok || bad "only $n exported symbols: is the library empty?"
cat "$inc"/memcrypt/*.h | tr -s ' \t' ' ' > "$TMP/headers"
grep -oE '\b(mc|memctl)_[A-Za-z0-9_]+ ?\(' "$TMP/headers" | tr -d ' (' | sort -u > "$TMP/declared"
declare -A declared
while read -r s; do declared[$s]=1; done < "$TMP/declared"
while read -r s; do
  case $s in mc_* | memctl_*) ok ;; *) bad "exported symbol without the library's prefix: $s" ;; esac
  [ -n "${declared[$s]:-}" ] && ok || bad "exported symbol not declared in include/memcrypt/: $s"
done < "$TMP/exported"
# ...and every MC_API declaration is exported (a declared function that is not built is a lie).
grep -hE '^MC_API ' "$inc"/memcrypt/*.h | grep -oE '\b(mc|memctl)_[A-Za-z0-9_]+\(' | tr -d '(' | sort -u > "$TMP/api"
comm -23 "$TMP/api" "$TMP/exported" > "$TMP/missing"
[ ! -s "$TMP/missing" ] && ok || bad "declared MC_API but not exported: $(tr '\n' ' ' < "$TMP/missing")"
# A function declared in a public header without MC_API (it would be hidden from the library).
for h in "$inc"/memcrypt/*.h; do
  grep -nE '^(const )?(unsigned |signed )?(struct |enum )?[a-z_0-9]+ \**(mc|memctl)_[a-z_0-9]+\(' "$h" |
    grep -v '^[0-9]*:static ' > "$TMP/bare" || true
  [ ! -s "$TMP/bare" ] && ok || bad "$(basename "$h"): declarations without MC_API: $(cut -c1-60 "$TMP/bare" | tr '\n' ' ')"
done

# 1b. One lifecycle verb pair (docs/api.md): objects are X_create / X_destroy; _free only releases
# a result structure a call filled in. One declaration per line (comments dropped) for the scans.
cat "$inc"/memcrypt/*.h | grep -v '^ *#' | tr '\n' ' ' | perl -pe 's:/\*.*?\*/: :g; s:[;{}]:\n:g' |
  tr -s ' \t' ' ' | grep -oE 'MC_API .*' > "$TMP/decls"
grep -E '_(new|close)$' "$TMP/exported" > "$TMP/verbs" || true
[ ! -s "$TMP/verbs" ] && ok || bad "exported _new/_close (objects are X_create / X_destroy): $(tr '\n' ' ' < "$TMP/verbs")"
grep -E '\b(mc|memctl)_[a-z0-9_]*_open ?\([^)]*struct [a-z0-9_]+ ?\*\*' "$TMP/decls" > "$TMP/verbs" || true
[ ! -s "$TMP/verbs" ] && ok || bad "an _open that returns an object (use X_create): $(grep -oE '(mc|memctl)_[a-z0-9_]*_open' "$TMP/verbs" | tr '\n' ' ')"
# Object destructors: void X_destroy(struct T *); each has its X_create, and each X_create its X_destroy.
grep -oE 'void (mc|memctl)_[a-z0-9_]*destroy ?\(struct [a-z0-9_]+ ?\*[a-z0-9_]*\)' "$TMP/decls" |
  sed -E 's/^void ([a-z0-9_]*)destroy.*/\1/' | sort -u > "$TMP/destroyed"
grep -oE '\b(mc|memctl)_[a-z0-9_]*create\b' "$TMP/api" | sed 's/create$//' | sort -u > "$TMP/created"
for x in $(comm -3 "$TMP/destroyed" "$TMP/created" | tr -d '\t'); do
  bad "${x}create and ${x}destroy do not come as a pair"
done
ok
# _free beside an object constructor would be a second verb pair for one object.
for x in $(grep -E '_free$' "$TMP/api" | sed 's/free$//'); do
  grep -qx "${x}create" "$TMP/api" && bad "${x}free beside ${x}create: objects are released by ${x}destroy" || ok
done

# 1c. Headers that mostly serve the CLI say why they are public, and docs/api.md lists them.
sed -n '/^## Headers that are public for a reason/,/^## /p' "$SRC/docs/api.md" |
  grep -oE '^- `memcrypt/[a-z0-9_]+\.h`' | grep -oE '[a-z0-9_]+\.h' | sort > "$TMP/why_doc"
grep -l '^ \* Why public: ' "$inc"/memcrypt/*.h | xargs -n1 basename | sort > "$TMP/why_hdr"
[ -s "$TMP/why_doc" ] && cmp -s "$TMP/why_doc" "$TMP/why_hdr" && ok ||
  bad "docs/api.md's public-for-a-reason list ($(tr '\n' ' ' < "$TMP/why_doc")) and the headers with a 'Why public:' paragraph ($(tr '\n' ' ' < "$TMP/why_hdr")) differ"

# 2. Verify/check functions must be used.
grep -hE '^MC_API .*\b(mc|memctl)_[a-z_0-9]*(verify|check)[a-z_0-9]*\(' "$inc"/memcrypt/*.h |
  grep -vE '^MC_API (MC_MUST_CHECK|void )' | grep -vE '_(name|set_check|set_check_epoch)\(' > "$TMP/unchecked" || true
[ ! -s "$TMP/unchecked" ] && ok || bad "verify/check functions without MC_MUST_CHECK: $(cut -c1-80 "$TMP/unchecked")"
cat > "$TMP/ignore.c" <<'C'
#include <memcrypt/memcrypt.h>
int main(void) { mc_snp_policy_check(0, 1, 55, false, NULL); return 0; }
C
cc -std=c11 -Wall -Werror -I"$inc" -I"$gen" -c "$TMP/ignore.c" -o "$TMP/ignore.o" 2>/dev/null &&
  bad "ignoring a check function's result compiles without a warning" || ok

# 3. Headers: guards, self-contained, umbrella, version.
IFS= read -r -d '' umbrella < "$inc/memcrypt/memcrypt.h"
for h in "$inc"/memcrypt/*.h; do
  b=${h##*/}
  case $b in api.h | memcrypt.h) continue ;; esac
  IFS= read -r -d '' t < "$h"
  t=$'\n'$t # lines that start with the guards
  [[ $t == *$'\nMC_BEGIN_DECLS'* && $t == *$'\nMC_END_DECLS'* ]] && ok || bad "$b has no extern \"C\" guards"
  [[ $umbrella == *"#include <memcrypt/$b>"* ]] && ok || bad "memcrypt/memcrypt.h does not include $b"
  echo "$b" >> "$TMP/alone"
  [ "$h" -nt "$build/header-alone/compiled.txt" ] && echo "$b" >> "$TMP/newer"
done
# Each header alone: the build compiled every one of them on its own (strict C11, warnings as
# errors; CMakeLists.txt's header_alone, one compiler run, done again when a header changes), and
# its list is this folder's headers, none changed since.
sort "$TMP/alone" > "$TMP/alone.sorted"
sort "$build/header-alone/compiled.txt" 2>/dev/null > "$TMP/compiled.sorted"
[ -s "$TMP/alone.sorted" ] && cmp -s "$TMP/alone.sorted" "$TMP/compiled.sorted" && [ ! -s "$TMP/newer" ] && ok ||
  bad "the build's compile of each public header alone (header-alone/compiled.txt) does not cover include/memcrypt/ as it is: missing $(comm -23 "$TMP/alone.sorted" "$TMP/compiled.sorted" | tr '\n' ' ')changed since $(tr '\n' ' ' < "$TMP/newer" 2>/dev/null)(rebuild)"
cat > "$TMP/ver.c" <<'C'
#include <memcrypt/memcrypt.h>
#include <stdio.h>
int main(void)
{
    mc_status (*f)(const struct mc_board_config *, struct mc_board **, struct mc_error *) = mc_board_create;
    printf("%d.%d.%d %s %d\n", MC_VERSION_MAJOR, MC_VERSION_MINOR, MC_VERSION_PATCH, MC_VERSION_STRING, f != NULL);
    return 0;
}
C
cc $san -std=c11 -Wall -Wextra -Werror -I"$inc" -I"$gen" "$TMP/ver.c" -o "$TMP/ver" -L"$build" -Wl,-rpath,"$build" -lmemcrypt 2>"$TMP/err" &&
  ok || bad "the umbrella header does not build a C program: $(head -5 "$TMP/err")"
want=$(sed -n 's/^project(memcrypt VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
got=$("$TMP/ver" 2>/dev/null)
[ "$got" = "$want $want 1" ] && ok || bad "version macros '$got', project version '$want'"
[ "$("$MC" version | head -1)" = "memcrypt $want" ] && ok || bad "memcrypt version does not say $want"
if command -v g++ >/dev/null; then
  printf '#include <memcrypt/memcrypt.h>\nint main() { struct mc_error e = {}; return mc_status_name(MC_OK)[0] == 0 || e.code; }\n' > "$TMP/cxx.cc"
  g++ $san -std=c++11 -Wall -Wextra -Werror -I"$inc" -I"$gen" "$TMP/cxx.cc" -o "$TMP/cxx" -L"$build" -Wl,-rpath,"$build" -lmemcrypt 2>"$TMP/err" &&
    ok || bad "memcrypt/memcrypt.h does not compile as C++: $(head -5 "$TMP/err")"
  "$TMP/cxx" && ok || bad "the C++ program did not run"
elif [ "${CI:-}" = true ]; then
  bad "g++ is missing (apt-get install g++): the C++ check of the public headers did not run"
else
  echo "SKIP: g++ not installed; the C++ compile of memcrypt/memcrypt.h did not run"
fi

# 4. The CLI includes public headers and its own only.
for f in "$SRC"/tools/memcrypt/*.c "$SRC"/tools/memcrypt/*.h; do
  while read -r h; do
    case $h in
      \<memcrypt/*) [ -r "$inc/${h:1:${#h}-2}" ] || [ "$h" = "<memcrypt/version.h>" ] && ok || bad "$(basename "$f") includes $h, not a public header" ;;
      \"*) [ -r "$SRC/tools/memcrypt/${h:1:${#h}-2}" ] || [ "$h" = '"mc_cli_table.inc"' ] && ok ||
          bad "$(basename "$f") includes $h: the CLI may use the public headers and its own only" ;;
      *) ok ;;
    esac
  done < <(sed -n 's/^#include \([<"][^>"]*[>"]\).*/\1/p' "$f")
done
# The build agrees: the CLI's compile lines have no src/ include directory.
if [ -r "$build/CMakeFiles/memcrypt.dir/flags.make" ]; then
  grep -q -- "-I$SRC/src\b" "$build/CMakeFiles/memcrypt.dir/flags.make" && bad "the CLI is compiled with $SRC/src on its include path" || ok
fi
cli_finish
