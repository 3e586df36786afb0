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

/* A note; lines starting with a space comment on the last observation (no new picture group). */
void demo_note(bool json, struct mc_json *j, struct viz_story *pic, const char *text);
/* Observation number ++*n: who read b (len bytes, at most 64); known / known_name: the value it is
 * compared with (NULL: none). */
void demo_view(bool json, struct mc_json *j, struct viz_story *pic, unsigned *n, const char *who, const uint8_t *b,
               size_t len, const uint8_t *known, const char *known_name);

#endif
