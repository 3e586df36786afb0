#!/bin/bash
# Shell tests of migration on the command line: `run --save` on one chip, `migrate` to a second
# chip and back (in memory, then through a stream file), an SEV-ES guest, the stream holding no
# private plaintext but the shared page as it is, saved guests refused on the wrong chip and as
# hostile files (nothing changed), usage errors, and every case of `demo migrate`.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
PY=${MC_PY:-python3} # the interpreter itself (tests/lib/cli.sh resolved it once), not a version manager's shim
expect() { # RC DESCRIPTION -- command...; output in $out
    local want=$1 what=$2; shift 3
    out=$("$@" 2>&1); local rc=$?
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, wanted $want: $(echo "$out" | tail -3)"; fi
}
has() { if grep -qF -- "$2" <<<"$out"; then ok; else bad "$1: output lacks '$2': $(echo "$out" | tail -2)"; fi; }
json() { # DESCRIPTION PYTHON-ASSERTION over d = the JSON in $out
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert eval(sys.argv[2]), d' "$out" "$2" && ok ||
        bad "$1: $2"
}
A=$TMP/a.state B=$TMP/b.state G=$TMP/guest.sev
export MEMCRYPT_STATE_WAIT=60
# The shipped examples with less memory (every page travels through the firmware twice per move).
small() { sed -E "s|<(memory\|currentMemory) unit='MiB'>[0-9]+</|<\1 unit='MiB'>32</|" "$1"; }
small "$SRC/examples/sev-guest.xml" > "$TMP/sev.xml"
small "$SRC/examples/sev-es-guest.xml" > "$TMP/es.xml"

# 1. The demo: every case as expected.
expect 0 "demo migrate" -- "$MC" demo migrate --seed cli --json
json "demo cases" 'd["all_as_expected"] and [c["case"] for c in d["cases"]] == ["success", "tampered-packet", "replayed-packet", "wrong-owner", "nosend", "bad-target-chain"] and all(c["as_expected"] for c in d["cases"])'
json "demo details" '"BAD_MEASUREMENT" in d["cases"][1]["detail"] and "POLICY_FAILURE" in d["cases"][3]["detail"] and "NOSEND" in d["cases"][4]["detail"] and "BAD_SIGNATURE" in d["cases"][5]["detail"]'
expect 0 "demo migrate text" -- "$MC" demo migrate --seed cli --platform rome
has "demo text" "6. bad-target-chain"

# 2. A guest launched on chip A and saved; --save needs the chip's state.
expect 2 "--save without --state" -- "$MC" run "$TMP/sev.xml" --save "$G"
expect 0 "run --save" -- "$MC" run "$TMP/sev.xml" --seed m --state "$A" --save "$G" --json
json "run saved" 'd["saved"]["bytes"] > 32 << 20'
[ "$(head -c 8 "$G")" = MCSEVGST ] && ok || bad "saved guest magic"
grep -qa "can read this line" "$G" && bad "the saved guest holds private plaintext" || ok
cp "$G" "$TMP/g.at-a"

# 3. A -> B in memory: memory intact, the hypervisor's view ciphertext, the source guest gone.
expect 0 "migrate A B" -- "$MC" migrate "$A" "$B" --guest "$G" --json
json "migrate A B" 'd["memory_intact"] and d["packets_holding_their_plaintext"] == 0 and d["packets"] > 1000 and d["source_guest_state"] == "gone" and d["target_guest_state"] == "RUNNING" and d["shared_bytes"] > 0 and d["kind"] == "SEV"'
cmp -s "$G" "$TMP/g.at-a" && bad "the guest file was not rewritten for chip B" || ok

# 4. A guest file of chip B used as if it were A's: refused by name, file unchanged.
sum=$(sha256sum "$G")
expect 3 "wrong chip" -- "$MC" migrate "$A" "$B" --guest "$G"
has "wrong chip" "saved on another chip"
[ "$(sha256sum "$G")" = "$sum" ] && ok || bad "a refused migration changed the guest file"

# 5. B -> A through a stream file: received later from the file; it holds the shared page's line
#    in the clear (the guest shared it) and no private line.
expect 0 "migrate B A --stream" -- "$MC" migrate "$B" "$A" --guest "$G" --stream "$TMP/stream.bin" --json
json "migrate B A" 'd["memory_intact"] and d["stream_file"].endswith("stream.bin") and d["source_guest_state"] == "gone"'
[ "$(head -c 8 "$TMP/stream.bin")" = MCSEVMIG ] && ok || bad "stream magic"
grep -qa "shared: the hypervisor may read this line" "$TMP/stream.bin" && ok || bad "the shared page is not in the stream"
grep -qa "private: only ASID" "$TMP/stream.bin" && bad "private plaintext in the stream" || ok

# 6. Hostile saved guests: each refused with a sentence, exit 3, the file unchanged.
head -c 100000 "$G" > "$TMP/trunc.sev"
expect 3 "truncated" -- "$MC" migrate "$A" "$B" --guest "$TMP/trunc.sev"
has "truncated" "truncated"
"$PY" - "$G" "$TMP/flip.sev" <<'PYEOF' || bad "could not make the flipped file"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x20                      # inside a packet's ciphertext
open(sys.argv[2], "wb").write(b)
PYEOF
sum=$(sha256sum "$TMP/flip.sev")
expect 3 "flipped" -- "$MC" migrate "$A" "$B" --guest "$TMP/flip.sev"
has "flipped" "BAD_MEASUREMENT"
[ "$(sha256sum "$TMP/flip.sev")" = "$sum" ] && ok || bad "a refused guest file was changed"
printf 'MCSEVGST\x02\0\0\0' > "$TMP/v2.sev"; head -c 200 /dev/zero >> "$TMP/v2.sev"
expect 3 "version" -- "$MC" migrate "$A" "$B" --guest "$TMP/v2.sev"
has "version" "version 2"
expect 3 "not a guest" -- "$MC" migrate "$A" "$B" --guest "$SRC/examples/sev-guest.xml"
has "not a guest" "magic"
has "not a guest: the file named" "--guest $SRC/examples/sev-guest.xml: not a memcrypt saved guest"
: >"$TMP/empty.sev"
expect 3 "empty guest file" -- "$MC" migrate "$A" "$B" --guest "$TMP/empty.sev"
has "empty guest file" "--guest $TMP/empty.sev: the file is empty"
expect 2 "same chip twice" -- "$MC" migrate "$A" "$A" --guest "$G"
expect 2 "--guest required" -- "$MC" migrate "$A" "$B"

# 7. An SEV-ES guest: the VMSAs travel through SEND/RECEIVE_UPDATE_VMSA.
expect 0 "run es --save" -- "$MC" run "$TMP/es.xml" --platform milan --seed es --state "$TMP/c.state" --save "$TMP/es.sev"
expect 0 "migrate es" -- "$MC" migrate "$TMP/c.state" "$B" --guest "$TMP/es.sev" --json
json "migrate es" 'd["kind"] == "SEV-ES" and d["memory_intact"] and d["packets_holding_their_plaintext"] == 0'

cli_finish
