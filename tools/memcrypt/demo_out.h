/* memcrypt CLI — the step lines the demos print: a note, and one observed line (up to 64 bytes)
 * as hex and text, marked when it equals a known value; as text, or as one JSON object per step
 * (into the demo's "steps" array), and into the demo's --html story. */
#ifndef MC_DEMO_OUT_H
#define MC_DEMO_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/json.h>

#include "viz.h"

/* The demo's opening: with json, the object and its "steps" array are opened (the demo closes them);
 * else the title lines. seed NULL: fresh random keys. */
void demo_begin(bool json, struct mc_json *j, const char *name, const char *platform, const char *seed,
                const char *title);
/* A note (pic may be NULL: no picture); lines starting with a space comment on the last observation (no new picture group). */
void demo_note(bool json, struct mc_json *j, struct viz_story *pic, const char *text);
/* Observation number ++*n: who read b (len bytes, at most 64); known / known_name: the value it is
 * compared with (NULL: none). */
void demo_view(bool json, struct mc_json *j, struct viz_story *pic, unsigned *n, const char *who, const uint8_t *b,
               size_t len, const uint8_t *known, const char *known_name);

#endif
