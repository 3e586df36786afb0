#!/usr/bin/env bash
# --html pictures, checked in a real browser: memcrypt writes the pages, headless Chromium renders
# them to one PNG (each page in a 1800x1600 frame, side by side: one browser start instead of
# three), and the colours of known pages are read back from the pixels. The private page of
# an SEV guest must show its ASID's colour and the shared page the "not encrypted" colour (which
# page is which comes from `run --json`, the colours from the page's legend); the SME demo's data
# page the host key's colour and its bounce buffer the plaintext colour. The views table must show
# the guest's plaintext in the guest's column and not in the bus's.
. "$(dirname "$0")/lib/cli.sh"
CHROME=$(command -v chromium || command -v chromium-browser)
[ -n "$CHROME" ] || { echo "FAIL: chromium is missing (scripts/deps installs it)"; exit 1; }
shot() { # PNG HTML...: render the pages in headless Chromium at a fixed size and scale, page i in
  # an 1800x1600 frame at x = 1800 * i (a page renders in its frame as it does alone)
  local png=$1 i=0 f
  shift
  {
    echo '<!DOCTYPE html><html><body style="margin:0">'
    for f in "$@"; do
      echo "<iframe src=\"file://$f\" style=\"position:absolute;left:$((1800 * i))px;top:0;width:1800px;height:1600px;border:0\"></iframe>"
      i=$((i + 1))
    done
    echo '</body></html>'
  } >"$TMP/frames.html"
  timeout 120 "$CHROME" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --user-data-dir="$TMP/profile" --window-size=$((1800 * i)),1600 --screenshot="$png" "file://$TMP/frames.html" \
    >/dev/null 2>&1
  [ -s "$png" ]
}
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
def maps(html_path, expect_args):
    html = open(html_path).read()
    svg = re.search(r'<svg id="map-0".*?</svg>', html, re.S).group(0)
    legend = {m.group(1): m.group(2) for m in re.finditer(r'<rect class="legend" data-key="([^"]+)"[^>]* fill="#([0-9a-f]{6})"', svg)}
    pages = {int(m.group(1), 16): (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
             for m in re.finditer(r'<rect class="page" data-pfn="(0x[0-9a-f]+)" data-key="([^"]+)" x="(\d+)" y="(\d+)" width="(\d+)"', svg)}
    expect = [(int(e.split('=')[0], 0), e.split('=')[1]) for e in expect_args]
    return legend, pages, expect
# check.py PNG HTML=PFN=KEY,PFN=KEY... ...: page i (its HTML file and expectations) is the frame at
# x = 1800 * i. Prints per page "ok|FAIL HTML rendered" (the frame is not one flat colour) and
# "ok|FAIL HTML colours" (each expectation PFN=KEY: the page's rect in the first map carries
# data-key KEY and its pixels, sampled in the middle of the square, the legend colour of KEY, to
# within 3 per channel; the expected colours of different keys differ).
specs = []
for i, arg in enumerate(sys.argv[2:]):
    path, _, exps = arg.partition('=')
    specs.append((path, 1800 * i) + maps(path, exps.split(',')))
last_row = max([pages[pfn][2] + pages[pfn][3] // 2 for _, _, _, pages, expect in specs for pfn, _ in expect if pfn in pages] or [0])
w, h, bpp, rows = read_png(sys.argv[1], last_row)
for path, x0, legend, pages, expect in specs:
    name = path.rsplit('/', 1)[-1]
    frame = {rows[y][x * bpp:x * bpp + 3] for y in range(0, len(rows), 8) for x in range(x0, min(w, x0 + 1800), 8)}
    print('%s %s rendered: %d colours in its frame of the screenshot (%dx%d)' % ('ok' if len(frame) > 1 else 'FAIL', name, len(frame), w, h))
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
        cx, cy = x0 + x + size // 2, y + size // 2
        if cy >= h or cx >= min(w, x0 + 1800):
            errors.append('page 0x%x at (%d,%d) is outside its frame of the screenshot' % (pfn, cx, cy)); continue
        got = rows[cy][cx * bpp:cx * bpp + 3]
        if any(abs(a - b) > 3 for a, b in zip(got, want)):
            errors.append('page 0x%x (%s): pixel (%d,%d) is #%s, the legend says #%s' % (pfn, key, cx, cy, got.hex(), want.hex()))
    if len(set(want_colours.values())) != len(want_colours):
        errors.append('different keys drawn in the same colour: %s' % want_colours)
    print('%s %s colours: %d pages on the map, legend %s%s' % ('FAIL' if errors else 'ok', name, len(pages), sorted(legend),
                                                           ''.join('; ' + e for e in errors)))
PY

# The pages: 1. run: an SEV guest; 2. demo sme; 3. demo mktme.
cd "$SRC" || exit 1
"$MC" run examples/sev-guest.xml --seed html --json --html "$TMP/run.html" >"$TMP/run.json" && ok || bad "run --html failed"
read -r asid priv shared <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(r["asid"], hex(int(r["private_page"]["spa"], 16) >> 12), hex(int(r["shared_page"]["spa"], 16) >> 12))' "$TMP/run.json")"
[ -n "$shared" ] && ok || bad "no private/shared page in the JSON report"
"$MC" demo sme --seed html --html "$TMP/sme.html" >/dev/null && ok || bad "demo sme --html failed"
"$MC" demo mktme --seed html --html "$TMP/mktme.html" >/dev/null && ok || bad "demo mktme --html failed"
shot "$TMP/pages.png" "$TMP/run.html" "$TMP/sme.html" "$TMP/mktme.html" && ok || bad "chromium did not render the pages"
# Per page: rendered, and the map's colours: run's private page in its ASID's colour, the shared
# page as plaintext; demo sme's data page (0x200000) under the host key, the bounce buffer
# (0x10000) in the clear; demo mktme's VM1 page (host 0x400000) under KeyID 1, the shared page
# (0xC00000) under KeyID 3, the EPT tables (0x100000) under KeyID 0.
n=0
while read -r verdict what; do
  n=$((n + 1))
  if [ "$verdict" = ok ]; then ok; else bad "$what"; fi
done < <(python3 "$TMP/check.py" "$TMP/pages.png" "$TMP/run.html=$priv=asid-$asid,$shared=plaintext" \
           "$TMP/sme.html=0x200=host,0x10=plaintext" "$TMP/mktme.html=0x400=keyid-1,0xc00=keyid-3,0x100=keyid-0" 2>&1)
[ "$n" = 6 ] && ok || bad "check.py gave $n verdicts, not 6 (2 per page)"
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
# A file that cannot be written: an error, no partial page.
"$MC" demo sme --html "$TMP/no/such/dir/x.html" >/dev/null 2>&1; [ $? = 3 ] && ok || bad "unwritable --html path"
cli_finish
