#!/bin/bash
# libxml2 is loaded only when XML is used: the CLI does not link it, commands without XML never
# map it, the libvirt commands load it on demand. $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"

# Not a link-time dependency (neither libxml2 nor the ICU it drags in; libstdc++ is not checked:
# the sanitizer runtimes of an ASan build need it).
deps=$(ldd "$MC" 2>&1)
if grep -qE 'libxml2|libicu' <<<"$deps"; then bad "memcrypt links: $(grep -E 'libxml2|libicu' <<<"$deps" | tr '\n' ' ')"; else ok; fi

# The dynamic linker's own log says which objects a run loads.
loads() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'file=libxml2\.so\.2 '; }
n=$(loads "$MC" measure --help)
[ "$n" = 0 ] && ok || bad "measure --help loaded libxml2"
if cli_have "Debian's OVMF" "scripts/deps installs ovmf" test -f /usr/share/ovmf/OVMF.fd; then
    n=$(loads "$MC" measure --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf /usr/share/ovmf/OVMF.fd)
    [ "$n" = 0 ] && ok || bad "measure loaded libxml2"
fi
n=$(loads "$MC" domcaps --platform milan)
[ "$n" -ge 1 ] && ok || bad "domcaps did not load libxml2 (LD_DEBUG shows $n loads)"

# version reports the library found at run time.
out=$("$MC" version)
if grep -qE '^libxml2 2\.[0-9]+\.[0-9]+ \(loaded from libxml2\.so\.2\)$' <<<"$out"; then ok; else bad "version: $out"; fi
out=$("$MC" version --json)
if grep -qE '"libxml2": "2\.[0-9]+\.[0-9]+"' <<<"$out"; then ok; else bad "version --json: $out"; fi

cli_finish
