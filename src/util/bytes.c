#include <memcrypt/bytes.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mc_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

mc_status mc_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *outlen, struct mc_error *err)
{
    if (!hex || !outlen || (!out && cap))
        return mc_seterr(err, MC_E_INVAL, "hex decode: NULL argument");
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t len = strlen(hex);
    if (len % 2)
        return mc_seterr(err, MC_E_FORMAT, "hex string has an odd number of digits (%zu)", len);
    if (len / 2 > cap)
        return mc_seterr(err, MC_E_RANGE, "hex string holds %zu bytes, at most %zu allowed", len / 2, cap);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval((unsigned char)hex[i]), lo = hexval((unsigned char)hex[i + 1]);
        if (hi < 0 || lo < 0)
            return mc_seterr(err, MC_E_FORMAT, "invalid hex digit at position %zu", hi < 0 ? i : i + 1);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = len / 2;
    return MC_OK;
}

mc_status mc_parse_u64(const char *s, uint64_t *out, struct mc_error *err)
{
    if (!s || !out)
        return mc_seterr(err, MC_E_INVAL, "parse number: NULL argument");
    if (!*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return mc_seterr(err, MC_E_FORMAT, "not an unsigned number: '%s'", s);
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
    if (errno == ERANGE)
        return mc_seterr(err, MC_E_RANGE, "number too large: '%s'", s);
    if (end == s || *end)
        return mc_seterr(err, MC_E_FORMAT, "not an unsigned number: '%s'", s);
    *out = v;
    return MC_OK;
}

mc_status mc_parse_size(const char *s, uint64_t *out, struct mc_error *err)
{
    if (!s || !out)
        return mc_seterr(err, MC_E_INVAL, "parse size: NULL argument");
    size_t n = strlen(s);
    unsigned shift = 0;
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return mc_seterr(err, MC_E_FORMAT, "not a size: '%s'", s);
    memcpy(buf, s, n + 1);
    char last = (char)toupper((unsigned char)buf[n - 1]);
    if (last == 'B' && n > 1 && strchr("KMGT", toupper((unsigned char)buf[n - 2])))
        last = (char)toupper((unsigned char)buf[--n - 1]);
    switch (last) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: break;
    }
    if (shift)
        buf[n - 1] = '\0';
    uint64_t v;
    mc_status st = mc_parse_u64(buf, &v, err);
    if (st)
        return st;
    if (shift && v > (UINT64_MAX >> shift))
        return mc_seterr(err, MC_E_RANGE, "size overflows 64 bits: '%s'", s);
    *out = v << shift;
    return MC_OK;
}

mc_status mc_parse_seconds_ms(const char *s, uint64_t *ms, struct mc_error *err)
{
    if (!s || !ms)
        return mc_seterr(err, MC_E_INVAL, "parse seconds: NULL argument");
    const char *p = s;
    uint64_t v = 0;
    unsigned whole = 0, frac = 0;
    for (; *p >= '0' && *p <= '9'; p++, whole++) {
        if (v > (UINT64_MAX - 9) / 10)
            return mc_seterr(err, MC_E_RANGE, "too many seconds: '%s'", s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!whole)
        return mc_seterr(err, MC_E_FORMAT, "not a number of seconds: '%s'", s);
    if (v > (UINT64_MAX - 999) / 1000) /* room for the milliseconds below */
        return mc_seterr(err, MC_E_RANGE, "too many seconds: '%s'", s);
    v *= 1000;
    if (*p == '.') {
        uint64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, frac++) {
            if (frac == 3)
                return mc_seterr(err, MC_E_FORMAT, "'%s': seconds take at most 3 decimals (milliseconds)", s);
            v += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
        if (!frac)
            return mc_seterr(err, MC_E_FORMAT, "not a number of seconds: '%s'", s);
    }
    if (*p)
        return mc_seterr(err, MC_E_FORMAT, "not a number of seconds: '%s'", s);
    *ms = v;
    return MC_OK;
}

int mc_split_words(char *line, char **words, int max, const char **why)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            return n;
        if (n == max) {
            *why = "too many words on the line";
            return -1;
        }
        words[n++] = w;
        while (*r && *r != ' ' && *r != '\t') {
            if (*r == '\'') {
                char *end = strchr(r + 1, '\'');
                if (!end) {
                    *why = "unterminated ' quote";
                    return -1;
                }
                size_t k = (size_t)(end - r - 1);
                memmove(w, r + 1, k);
                w += k;
                r = end + 1;
            } else if (*r == '"') {
                r++;
                while (*r && *r != '"') {
                    if (*r == '\\' && r[1] && strchr("\"\\$`", r[1]))
                        r++;
                    *w++ = *r++;
                }
                if (*r != '"') {
                    *why = "unterminated \" quote";
                    return -1;
                }
                r++;
            } else if (*r == '\\' && r[1]) {
                *w++ = r[1];
                r += 2;
            } else {
                *w++ = *r++;
            }
        }
        if (*r)
            r++;
        *w++ = 0;
    }
}

mc_status mc_guid_parse(const char *s, uint8_t out[16], struct mc_error *err)
{
    if (!s || !out)
        return mc_seterr(err, MC_E_INVAL, "GUID: NULL argument");
    uint8_t be[16];
    size_t bi = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return mc_seterr(err, MC_E_FORMAT, "GUID '%.40s' is not in 8-4-4-4-12 form", s);
            continue;
        }
        int h = hexval((unsigned char)s[i]), l = h < 0 ? -1 : hexval((unsigned char)s[i + 1]);
        if (h < 0 || l < 0)
            return mc_seterr(err, MC_E_FORMAT, "GUID '%.40s' has a non-hex digit", s);
        be[bi++] = (uint8_t)(h << 4 | l);
        i++;
    }
    if (s[36] != 0)
        return mc_seterr(err, MC_E_FORMAT, "GUID '%.40s' is too long", s);
    /* EFI order: first three fields little-endian, last 8 bytes as written. */
    static const uint8_t perm[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; i++)
        out[i] = be[perm[i]];
    return MC_OK;
}
