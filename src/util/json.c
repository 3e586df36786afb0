#include <memcrypt/json.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

static void indent(struct mc_json *j)
{
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

static void put_escaped(FILE *o, const char *s, size_t n)
{
    fputc('"', o);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", o); break;
        case '\\': fputs("\\\\", o); break;
        case '\n': fputs("\\n", o); break;
        case '\r': fputs("\\r", o); break;
        case '\t': fputs("\\t", o); break;
        default:
            if (c < 0x20)
                fprintf(o, "\\u%04x", c);
            else
                fputc(c, o);
        }
    }
    fputc('"', o);
}

static void member(struct mc_json *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->out);
        fputc('\n', j->out);
        j->first[j->depth] = false;
        indent(j);
        if (key && j->close[j->depth] == '}') {
            put_escaped(j->out, key, strlen(key));
            fputs(": ", j->out);
        }
    }
}

void mc_json_begin(struct mc_json *j, FILE *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->first[0] = true;
}

static void open_(struct mc_json *j, const char *key, char open, char close)
{
    member(j, key);
    fputc(open, j->out);
    if (j->depth + 1 < MC_JSON_MAX_DEPTH) {
        j->depth++;
        j->first[j->depth] = true;
        j->close[j->depth] = close;
    }
}

void mc_json_obj(struct mc_json *j, const char *key) { open_(j, key, '{', '}'); }
void mc_json_arr(struct mc_json *j, const char *key) { open_(j, key, '[', ']'); }

void mc_json_end(struct mc_json *j)
{
    if (j->depth == 0)
        return;
    char c = j->close[j->depth];
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty) {
        fputc('\n', j->out);
        indent(j);
    }
    fputc(c, j->out);
}

void mc_json_strn(struct mc_json *j, const char *key, const char *val, size_t n)
{
    member(j, key);
    if (!val)
        fputs("null", j->out);
    else
        put_escaped(j->out, val, n);
}

void mc_json_str(struct mc_json *j, const char *key, const char *val)
{
    mc_json_strn(j, key, val, val ? strlen(val) : 0);
}

void mc_json_u64(struct mc_json *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->out, "%" PRIu64, v);
}

void mc_json_i64(struct mc_json *j, const char *key, int64_t v)
{
    member(j, key);
    fprintf(j->out, "%" PRId64, v);
}

void mc_json_hex64(struct mc_json *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->out, "\"0x%" PRIx64 "\"", v);
}

void mc_json_bool(struct mc_json *j, const char *key, bool v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->out);
}

void mc_json_double(struct mc_json *j, const char *key, double v)
{
    member(j, key);
    if (isfinite(v))
        fprintf(j->out, "%.6g", v);
    else
        fputs("null", j->out);
}

void mc_json_null(struct mc_json *j, const char *key)
{
    member(j, key);
    fputs("null", j->out);
}

void mc_json_hexbytes(struct mc_json *j, const char *key, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    member(j, key);
    fputc('"', j->out);
    for (size_t i = 0; i < n; i++) {
        fputc(digits[p[i] >> 4], j->out);
        fputc(digits[p[i] & 15], j->out);
    }
    fputc('"', j->out);
}

void mc_json_finish(struct mc_json *j)
{
    while (j->depth > 0)
        mc_json_end(j);
    fputc('\n', j->out);
}
