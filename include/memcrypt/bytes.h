/* memcrypt — byte helpers: explicit little/big-endian codecs and hex.
 * Spec structures are decoded with these, never by casting a struct over untrusted bytes. */
#ifndef MEMCRYPT_BYTES_H
#define MEMCRYPT_BYTES_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

static inline uint16_t mc_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t mc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t mc_le64(const uint8_t *p) { return (uint64_t)mc_le32(p) | ((uint64_t)mc_le32(p + 4) << 32); }
static inline void mc_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void mc_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void mc_put_le64(uint8_t *p, uint64_t v) { mc_put_le32(p, (uint32_t)v); mc_put_le32(p + 4, (uint32_t)(v >> 32)); }
static inline uint32_t mc_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void mc_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Lowercase hex of n bytes into out (2n+1 bytes incl. NUL). */
MC_API void mc_hex_encode(const uint8_t *in, size_t n, char *out);
/* Parse hex (upper/lower case, optional "0x" prefix, no spaces) into out (cap bytes).
 * *outlen receives the byte count. Odd length, bad digit or overflow of cap -> MC_E_FORMAT/RANGE. */
MC_API mc_status mc_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *outlen, struct mc_error *err);
/* Parse an unsigned 64-bit number: decimal, or hex with 0x prefix. Rejects junk and overflow. */
MC_API mc_status mc_parse_u64(const char *s, uint64_t *out, struct mc_error *err);

/* Split a line into words as a POSIX shell does, without expansions: blanks (space, tab)
 * separate; '...' is literal; "..." keeps the escapes \" \\ \$ \`; a backslash outside quotes
 * escapes the next character; quotes join with what touches them (a'b'"c" is one word). The words
 * are written back into line (NUL-terminated, each no longer than its source) and words[] points
 * into it. Returns the number of words, or -1 with *why set (unterminated quote, more than max
 * words). Used for `measure --batch` lines. */
MC_API int mc_split_words(char *line, char **words, int max, const char **why);
/* Parse a size with optional K/M/G/T (binary) suffix, e.g. "64M", "1T", "4096". */
MC_API mc_status mc_parse_size(const char *s, uint64_t *out, struct mc_error *err);
/* Parse a duration in seconds, decimal, with at most three digits after the point ("30", "0.25",
 * "1.5"), into milliseconds. Rejects junk, a sign, more than millisecond precision and overflow. */
MC_API mc_status mc_parse_seconds_ms(const char *s, uint64_t *ms, struct mc_error *err);

/* The one GUID parser: text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case) to the 16 bytes of
 * its EFI / Microsoft encoding (first three fields little-endian, the rest as written), as in
 * OVMF's GUID tables and the efi_secret table. MC_E_FORMAT (with why) for anything else. */
MC_API mc_status mc_guid_parse(const char *s, uint8_t out[16], struct mc_error *err);

MC_END_DECLS

#endif
