/* memcrypt — a small streaming JSON writer for `--json` output.
 * Usage: mc_json_begin(&j, stdout); mc_json_obj(&j, NULL); mc_json_str(&j, "name", "x");
 *        mc_json_u64(&j, "size", 4096); mc_json_end(&j); mc_json_finish(&j);
 * Keys are given for members of an object and NULL for elements of an array. Output is
 * pretty-printed with two-space indent. Strings are escaped per RFC 8259.
 *
 * Why public: the library writes JSON through it (mc_tme_status_json), the CLI (built on public
 * headers only) prints every `--json` with it, and a program on the library can emit the same
 * escaping and number forms as `memcrypt --json`. */
#ifndef MEMCRYPT_JSON_H
#define MEMCRYPT_JSON_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

MC_BEGIN_DECLS

#define MC_JSON_MAX_DEPTH 32

struct mc_json {
    FILE *out;
    int depth;
    bool first[MC_JSON_MAX_DEPTH];
    char close[MC_JSON_MAX_DEPTH];
};

MC_API void mc_json_begin(struct mc_json *j, FILE *out);
MC_API void mc_json_obj(struct mc_json *j, const char *key);   /* opens { */
MC_API void mc_json_arr(struct mc_json *j, const char *key);   /* opens [ */
MC_API void mc_json_end(struct mc_json *j);                    /* closes the innermost { or [ */
MC_API void mc_json_str(struct mc_json *j, const char *key, const char *val); /* NULL val -> null */
MC_API void mc_json_strn(struct mc_json *j, const char *key, const char *val, size_t n);
MC_API void mc_json_u64(struct mc_json *j, const char *key, uint64_t v);
MC_API void mc_json_i64(struct mc_json *j, const char *key, int64_t v);
MC_API void mc_json_hex64(struct mc_json *j, const char *key, uint64_t v);    /* "0x..." string */
MC_API void mc_json_bool(struct mc_json *j, const char *key, bool v);
MC_API void mc_json_double(struct mc_json *j, const char *key, double v);
MC_API void mc_json_null(struct mc_json *j, const char *key);
MC_API void mc_json_hexbytes(struct mc_json *j, const char *key, const uint8_t *p, size_t n); /* lowercase hex string */
MC_API void mc_json_finish(struct mc_json *j);                 /* trailing newline */

MC_END_DECLS

#endif
