/* memcrypt CLI — the demos' step lines; see demo_out.h. */
#include "demo_out.h"

#include <stdio.h>
#include <string.h>

void demo_begin(bool json, struct mc_json *j, const char *name, const char *platform, const char *seed,
                const char *title)
{
    if (json) {
        mc_json_begin(j, stdout);
        mc_json_obj(j, NULL);
        mc_json_str(j, "demo", name);
        mc_json_str(j, "platform", platform);
        mc_json_str(j, "seed", seed);
        mc_json_str(j, "title", title);
        mc_json_arr(j, "steps");
    } else {
        printf("memcrypt demo %s — %s\nplatform %s, %s\n\n", name, title, platform,
               seed ? "deterministic keys (--seed)" : "fresh random keys");
    }
}

void demo_note(bool json, struct mc_json *j, struct viz_story *pic, const char *text)
{
    if (pic && text[0] != ' ')
        viz_story_note(pic, text);
    if (json) {
        mc_json_obj(j, NULL);
        mc_json_str(j, "note", text);
        mc_json_end(j);
    } else {
        printf("%s\n", text);
    }
}

void demo_view(bool json, struct mc_json *j, struct viz_story *pic, unsigned *n, const char *who, const uint8_t *b,
               size_t len, const uint8_t *known, const char *known_name)
{
    bool match = known && !memcmp(b, known, len);
    char hex[3 * 16 + 1] = "", txt[17] = "";
    for (size_t i = 0; i < 16 && i < len; i++) {
        snprintf(hex + 3 * i, 4, "%02x ", b[i]);
        txt[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '.';
        txt[i + 1] = 0;
    }
    ++*n;
    viz_story_view(pic, who, b, len, match, match ? known_name : "");
    if (json) {
        mc_json_obj(j, NULL);
        mc_json_str(j, "who", who);
        mc_json_hexbytes(j, "bytes", b, len);
        mc_json_str(j, "matches", match ? known_name : NULL);
        mc_json_end(j);
    } else {
        printf("  %2u. %-50s %s |%-16s| %s%s\n", *n, who, hex, txt, match ? "= " : "", match ? known_name : "");
    }
}
