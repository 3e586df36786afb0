#!/usr/bin/env bash
# --html pictures, checked in a real browser: memcrypt writes the page, headless Chromium renders
# it to a PNG, and the colours of known pages are read back from the pixels. The private page of
# an SEV guest must show its ASID's colour and the shared page the "not encrypted" colour (which
# page is which comes from `run --json`, the colours from the page's legend); the SME demo's data
# page the host key's colour and its bounce buffer the plaintext colour. The views table must show
# the guest's plaintext in the guest's column and not in the bus's.
. "$(dirname "$0")/lib/cli.sh"
CHROME=$(command -v chromium || command -v chromium-browser)
[ -n "$CHROME" ] || { echo "FAIL: chromium is missing (scripts/deps installs it)"; exit 1; }
shot() { # HTML PNG: render in headless Chromium at a fixed size and scale
  timeout 120 "$CHROME" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --user-data-dir="$TMP/profile" --window-size=1800,1600 --screenshot="$2" "file://$1" >/dev/null 2>&1
  [ -s "$2" ]
}
# check.py HTML PNG EXPECTATIONS...: each expectation is PFN=KEY; the page's rect in the first map
# must carry data-key KEY and its pixels (sampled in the middle of the square) the legend colour of
# KEY, to within 3 per channel; the expected colours of different keys must differ.
cat >"$TMP/check.py" <<'PY'
import re, struct, sys, zlib
def read_png(path, last_row):
    # Rows 0..last_row only (a pixel needs the rows above it, never those below). Up-filtered
    # rows (most of Chromium's) are added to the row above as whole big integers, byte by byte
    # without carries between bytes; the other filters go pixel by pixel.
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat = 8, b''
    while pos < len(data):
        n, typ = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
        if typ == b'IHDR':
            w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and ctype in (2, 6) and inter == 0, (depth, ctype, inter)
            bpp = 4 if ctype == 6 else 3
        elif typ == b'IDAT':
            idat += body
    raw, stride, rows, prev, i = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp), 0
    lo, hi = int('7f' * stride, 16), int('80' * stride, 16)
    for _ in range(min(h, last_row + 1)):
        f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        if f == 2:
            a, b = int.from_bytes(line, 'big'), int.from_bytes(prev, 'big')
            line = bytearray((((a & lo) + (b & lo)) ^ ((a ^ b) & hi)).to_bytes(stride, 'big'))
        elif f != 0:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
                if f == 1: line[x] = (line[x] + a) & 255
                elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows
html = open(sys.argv[1]).read()
svg = re.search(r'<svg id="map-0".*?</svg>', html, re.S).group(0)
legend = {m.group(1): m.group(2) for m in re.finditer(r'<rect class="legend" data-key="([^"]+)"[^>]* fill="#([0-9a-f]{6})"', svg)}
pages = {int(m.group(1), 16): (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
         for m in re.finditer(r'<rect class="page" data-pfn="(0x[0-9a-f]+)" data-key="([^"]+)" x="(\d+)" y="(\d+)" width="(\d+)"', svg)}
expect = [(int(e.split('=')[0], 0), e.split('=')[1]) for e in sys.argv[3:]]
last_row = max([pages[pfn][2] + pages[pfn][3] // 2 for pfn, _ in expect if pfn in pages] or [0])
w, h, bpp, rows = read_png(sys.argv[2], last_row)
errors, want_colours = [], {}
for pfn, key in expect:
    if pfn not in pages:
        errors.append('page 0x%x is not on the map' % pfn); continue
    k, x, y, size = pages[pfn]
    if k != key:
        errors.append('page 0x%x is drawn as %s, expected %s' % (pfn, k, key)); continue
    if key not in legend:
        errors.append('no legend entry for %s' % key); continue
    want = bytes.fromhex(legend[key]); want_colours[key] = want
    cx, cy = x + size // 2, y + size // 2
    if cy >= h or cx >= w:
        errors.append('page 0x%x at (%d,%d) is outside the screenshot' % (pfn, cx, cy)); continue
    got = rows[cy][cx * bpp:cx * bpp + 3]
    if any(abs(a - b) > 3 for a, b in zip(got, want)):
        errors.append('page 0x%x (%s): pixel (%d,%d) is #%s, the legend says #%s' % (pfn, key, cx, cy, got.hex(), want.hex()))
if len(set(want_colours.values())) != len(want_colours):
    errors.append('different keys drawn in the same colour: %s' % want_colours)
print('%d pages on the map, legend %s' % (len(pages), sorted(legend)))
for e in errors:
    print('FAIL: ' + e)
sys.exit(1 if errors else 0)
PY

# 1. run: an SEV guest.
cd "$SRC" || exit 1
"$MC" run examples/sev-guest.xml --seed html --json --html "$TMP/run.html" >"$TMP/run.json" && ok || bad "run --html failed"
read -r asid priv shared <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(r["asid"], hex(int(r["private_page"]["spa"], 16) >> 12), hex(int(r["shared_page"]["spa"], 16) >> 12))' "$TMP/run.json")"
[ -n "$shared" ] && ok || bad "no private/shared page in the JSON report"
shot "$TMP/run.html" "$TMP/run.png" && ok || bad "chromium did not render run.html"
python3 "$TMP/check.py" "$TMP/run.html" "$TMP/run.png" "$priv=asid-$asid" "$shared=plaintext" && ok || bad "run map colours"
n=$(grep -c 'class="page"' "$TMP/run.html")
[ "$n" -ge 512 ] && ok || bad "run map has $n pages; the 2 MiB firmware alone is 512"
# The views: the guest's column shows the plaintext, the bus's does not, and they are coloured so.
python3 - "$TMP/run.html" <<'PY' && ok || bad "run views"
import re, sys
h = open(sys.argv[1]).read()
t = re.search(r'<h3 id="view-0">private page.*?</table>', h, re.S).group(0)
cells = {who: cls for cls, who in re.findall(r'<td class="(plain|cipher)" data-who="([^"]+)"', t)}
guest = re.search(r'data-who="guest"><pre>(.*?)</pre>', t, re.S).group(1)
bus = re.search(r'data-who="DRAM bus"><pre>(.*?)</pre>', t, re.S).group(1)
assert 'private' in guest and 'private' not in bus, (guest, bus)
assert cells['guest'] == 'plain' and cells['DRAM bus'] == 'cipher', cells
PY
# 2. demo sme: the data page (0x200000) under the host key, the bounce buffer (0x10000) in the clear.
"$MC" demo sme --seed html --html "$TMP/sme.html" >/dev/null && ok || bad "demo sme --html failed"
shot "$TMP/sme.html" "$TMP/sme.png" && ok || bad "chromium did not render sme.html"
python3 "$TMP/check.py" "$TMP/sme.html" "$TMP/sme.png" "0x200=host" "0x10=plaintext" && ok || bad "demo sme map colours"
# 3. demo mktme: VM1's page (host 0x400000) under KeyID 1, the shared page (0xC00000) under KeyID 3,
#    the EPT tables (0x100000) under KeyID 0.
"$MC" demo mktme --seed html --html "$TMP/mktme.html" >/dev/null && ok || bad "demo mktme --html failed"
shot "$TMP/mktme.html" "$TMP/mktme.png" && ok || bad "chromium did not render mktme.html"
python3 "$TMP/check.py" "$TMP/mktme.html" "$TMP/mktme.png" "0x400=keyid-1" "0xc00=keyid-3" "0x100=keyid-0" && ok ||
  bad "demo mktme map colours"
# A file that cannot be written: an error, no partial page.
"$MC" demo sme --html "$TMP/no/such/dir/x.html" >/dev/null 2>&1; [ $? = 3 ] && ok || bad "unwritable --html path"
cli_finish
