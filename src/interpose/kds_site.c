/* The local KDS's request router (memcrypt/kds_site.h): AMD's URL layout over the emulated
 * chip's identities, and a folder of real certificates as an offline cache. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/kds_site.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#define T_TEXT "text/plain; charset=utf-8"
#define T_DER "application/pkix-cert"
#define T_CRL "application/pkix-crl"
#define T_PEM "application/x-pem-file"
#define T_BIN "application/octet-stream"
#define CACHE_MAX (1u << 20) /* a cached certificate, chain or CRL is far smaller */

static mc_status text(struct mc_kds_reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mc_status text(struct mc_kds_reply *r, unsigned status, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    r->status = status;
    r->type = T_TEXT;
    r->body = malloc((size_t)n);
    if (!r->body)
        return MC_E_NOMEM;
    memcpy(r->body, line, (size_t)n);
    r->len = (size_t)n;
    return MC_OK;
}

static mc_status give(struct mc_kds_reply *r, const char *type, uint8_t *body, size_t len)
{
    r->status = 200;
    r->type = type;
    r->body = body;
    r->len = len;
    return MC_OK;
}

/* ---- the request -------------------------------------------------------------------------- */

#define MAX_PARTS 6
struct req {
    char buf[MC_KDS_PATH_MAX + 1];
    char *part[MAX_PARTS];
    int n;
};

/* Split /a/b/c; every component non-empty and of [A-Za-z0-9._-], none starting with a dot. */
static bool split(const char *path, struct req *q)
{
    size_t len = strlen(path);
    if (len == 0 || len > MC_KDS_PATH_MAX || path[0] != '/')
        return false;
    memcpy(q->buf, path, len + 1);
    q->n = 0;
    char *s = q->buf + 1;
    while (*s) {
        if (q->n == MAX_PARTS)
            return false;
        char *e = strchr(s, '/');
        if (e)
            *e = 0;
        if (!*s || *s == '.')
            return false;
        for (char *c = s; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
                return false;
        q->part[q->n++] = s;
        if (!e)
            break;
        s = e + 1;
        if (!*s) /* a trailing slash */
            return false;
    }
    return q->n > 0;
}

/* One SPL: decimal 0..255. */
static bool spl(const char *v, uint8_t *out)
{
    if (!v || !*v || strlen(v) > 3)
        return false;
    unsigned x = 0;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        x = x * 10 + (unsigned)(*c - '0');
    }
    if (x > 255)
        return false;
    *out = (uint8_t)x;
    return true;
}

/* ---- the cache ---------------------------------------------------------------------------- */

/* DIR + path (already checked by split: no "..", no hidden names). 1 served, 0 absent. */
static int from_cache(const struct mc_kds_site *s, const char *rel, const char *type, struct mc_kds_reply *r)
{
    if (!s->cache_dir)
        return 0;
    char p[4096];
    if ((size_t)snprintf(p, sizeof p, "%s%s", s->cache_dir, rel) >= sizeof p)
        return 0;
    uint8_t *b;
    size_t n;
    struct mc_error e;
    if (mc_file_read(p, CACHE_MAX, &b, &n, &e) != MC_OK)
        return 0;
    give(r, type, b, n);
    return 1;
}

/* ---- SNP ---------------------------------------------------------------------------------- */

static enum mc_snp_gen product(const char *name)
{
    static const enum mc_snp_gen gens[] = {MC_SNP_GEN_MILAN, MC_SNP_GEN_GENOA, MC_SNP_GEN_TURIN};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(name, mc_snp_gen_name(gens[i])) == 0)
            return gens[i];
    return MC_SNP_GEN_UNKNOWN;
}

static mc_status pem_chain(struct mc_snp_identity *id, bool vlek, struct mc_kds_reply *r, struct mc_error *err)
{
    enum mc_snp_root order[2] = {vlek ? MC_SNP_ROOT_ASVK : MC_SNP_ROOT_ASK, MC_SNP_ROOT_ARK};
    BIO *bio = BIO_new(BIO_s_mem());
    mc_status st = bio ? MC_OK : MC_E_NOMEM;
    for (int i = 0; i < 2 && !st; i++) {
        uint8_t *der;
        size_t len;
        st = mc_snp_identity_root_cert(id, order[i], &der, &len, err);
        if (st)
            break;
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (!x || !PEM_write_bio_X509(bio, x))
            st = mc_seterr(err, MC_E_CRYPTO, "cannot write the chain as PEM");
        X509_free(x);
        free(der);
    }
    if (!st) {
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
        if (!b)
            st = MC_E_NOMEM;
        else {
            memcpy(b, data, (size_t)n);
            give(r, T_PEM, b, (size_t)n);
        }
    }
    BIO_free(bio);
    return st;
}

static mc_status vcek(struct mc_kds_site *s, enum mc_snp_gen g, const char *rel, const char *hwid,
                      const struct mc_kds_arg *args, size_t nargs, struct mc_kds_reply *r, struct mc_error *err)
{
    /* The SPLs: each exactly once, nothing else. */
    static const char *const names[] = {"blSPL", "teeSPL", "snpSPL", "ucodeSPL", "fmcSPL"};
    uint8_t v[5] = {0};
    bool seen[5] = {false};
    for (size_t i = 0; i < nargs; i++) {
        size_t k = 0;
        while (k < 5 && strcmp(args[i].name, names[k]) != 0)
            k++;
        if (k == 5)
            return text(r, 400, "unknown query parameter '%.40s'", args[i].name);
        if (seen[k])
            return text(r, 400, "%s given twice", names[k]);
        if (!spl(args[i].value, &v[k]))
            return text(r, 400, "%s must be a decimal number 0..255", names[k]);
        seen[k] = true;
    }
    bool turin = g == MC_SNP_GEN_TURIN;
    for (size_t k = 0; k < 4; k++)
        if (!seen[k])
            return text(r, 400, "%s is required", names[k]);
    if (turin && !seen[4])
        return text(r, 400, "fmcSPL is required for Turin");
    if (!turin && seen[4])
        return text(r, 400, "fmcSPL is a Turin parameter");
    size_t hl = turin ? 8 : 64;
    uint8_t want[MC_SNP_CHIP_ID_LEN] = {0}, have[MC_SNP_CHIP_ID_LEN];
    size_t got = 0;
    struct mc_error e;
    if (strlen(hwid) != 2 * hl || mc_hex_decode(hwid, want, sizeof want, &got, &e) != MC_OK || got != hl)
        return text(r, 400, "the hwid of a %s chip is %zu hex digits", mc_snp_gen_name(g), 2 * hl);
    if (s->snp && mc_snp_identity_gen(s->snp) == g) {
        mc_snp_identity_chip_id(s->snp, have);
        if (memcmp(have, want, hl) == 0) {
            uint64_t tcb = mc_snp_tcb_encode(g, v[4], v[0], v[1], v[2], v[3]);
            uint8_t *der;
            size_t len;
            mc_status st = mc_snp_identity_vcek_cert(s->snp, tcb, &der, &len, err);
            return st ? st : give(r, T_DER, der, len);
        }
    }
    /* The cache: DIR/vcek/v1/{product}/{hwid}/{fmcSPL-}blSPL-teeSPL-snpSPL-ucodeSPL */
    char tail[64];
    if (turin)
        snprintf(tail, sizeof tail, "/%u-%u-%u-%u-%u", v[4], v[0], v[1], v[2], v[3]);
    else
        snprintf(tail, sizeof tail, "/%u-%u-%u-%u", v[0], v[1], v[2], v[3]);
    char p[MC_KDS_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s%s", rel, tail);
    if (from_cache(s, p, T_DER, r))
        return MC_OK;
    return text(r, 404, "no %s chip with this hwid here", mc_snp_gen_name(g));
}

static mc_status snp_route(struct mc_kds_site *s, const char *rel, struct req *q, const struct mc_kds_arg *args,
                           size_t nargs, struct mc_kds_reply *r, struct mc_error *err)
{
    bool vlek = strcmp(q->part[0], "vlek") == 0;
    if (q->n != 4 || strcmp(q->part[1], "v1") != 0)
        return text(r, 404, "not a KDS path");
    enum mc_snp_gen g = product(q->part[2]);
    if (g == MC_SNP_GEN_UNKNOWN)
        return text(r, 404, "unknown product '%.40s' (Milan, Genoa, Turin)", q->part[2]);
    bool ours = s->snp && mc_snp_identity_gen(s->snp) == g;
    const char *leaf = q->part[3];
    if (!strcmp(leaf, "cert_chain") || !strcmp(leaf, "crl")) {
        if (nargs)
            return text(r, 400, "%s takes no query parameters", leaf);
        bool crl = leaf[1] == 'r';
        if (ours) {
            if (!crl)
                return pem_chain(s->snp, vlek, r, err);
            uint8_t *der;
            size_t len;
            mc_status st = mc_snp_identity_crl(s->snp, &der, &len, err);
            return st ? st : give(r, T_CRL, der, len);
        }
        if (from_cache(s, rel, crl ? T_CRL : T_PEM, r))
            return MC_OK;
        return text(r, 404, "no %s %s here", mc_snp_gen_name(g), crl ? "CRL" : "certificate chain");
    }
    if (vlek) /* AMD serves VLEK certificates only to their cloud provider, with a key */
        return text(r, 404, "VLEK certificates are not served by URL");
    return vcek(s, g, rel, leaf, args, nargs, r, err);
}

/* ---- legacy SEV --------------------------------------------------------------------------- */

static mc_status cek(struct mc_kds_site *s, const char *rel, const char *id, struct mc_kds_reply *r,
                     struct mc_error *err)
{
    uint8_t want[64], have[64];
    size_t got = 0;
    struct mc_error e;
    if (strlen(id) != 128 || mc_hex_decode(id, want, sizeof want, &got, &e) != MC_OK || got != 64)
        return text(r, 400, "a GET_ID value is 128 hex digits");
    if (s->sev) {
        mc_status st = mc_sev_identity_get_id(s->sev, have, err);
        if (st)
            return st;
        if (memcmp(have, want, 64) == 0) {
            uint8_t *b = malloc(MC_SEV_CERT_LEN);
            size_t n = 0;
            if (!b)
                return MC_E_NOMEM;
            st = mc_sev_identity_cert(s->sev, MC_SEV_ID_CEK, b, MC_SEV_CERT_LEN, &n, err);
            if (st) {
                free(b);
                return st;
            }
            return give(r, T_BIN, b, n);
        }
    }
    if (from_cache(s, rel, T_BIN, r))
        return MC_OK;
    return text(r, 404, "no chip with this GET_ID here");
}

static mc_status ask_ark(struct mc_kds_site *s, const char *rel, const char *file, struct mc_kds_reply *r,
                         struct mc_error *err)
{
    char want[64];
    if (s->sev && s->sev_generation &&
        (size_t)snprintf(want, sizeof want, "ask_ark_%s.cert", s->sev_generation) < sizeof want &&
        strcmp(file, want) == 0) {
        uint8_t *b = malloc(2 * MC_AMD_CERT_MAX_LEN);
        size_t na = 0, nr = 0;
        if (!b)
            return MC_E_NOMEM;
        mc_status st = mc_sev_identity_cert(s->sev, MC_SEV_ID_ASK, b, MC_AMD_CERT_MAX_LEN, &na, err);
        if (!st)
            st = mc_sev_identity_cert(s->sev, MC_SEV_ID_ARK, b + na, MC_AMD_CERT_MAX_LEN, &nr, err);
        if (st) {
            free(b);
            return st;
        }
        return give(r, T_BIN, b, na + nr);
    }
    if (from_cache(s, rel, T_BIN, r))
        return MC_OK;
    return text(r, 404, "no %.60s here", file);
}

/* ---- the router --------------------------------------------------------------------------- */

mc_status mc_kds_answer(struct mc_kds_site *site, const char *method, const char *path,
                        const struct mc_kds_arg *args, size_t nargs, struct mc_kds_reply *out, struct mc_error *err)
{
    if (!site || !method || !path || !out || (nargs && !args))
        return mc_seterr(err, MC_E_INVAL, "mc_kds_answer: NULL argument");
    memset(out, 0, sizeof *out);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text(out, 405, "only GET and HEAD");
    if (strlen(path) > MC_KDS_PATH_MAX)
        return text(out, 414, "path too long");
    if (nargs > MC_KDS_ARGS_MAX)
        return text(out, 400, "too many query parameters");
    for (size_t i = 0; i < nargs; i++)
        if (!args[i].name || !args[i].value || strlen(args[i].name) > 32 || strlen(args[i].value) > 64)
            return text(out, 400, "a query parameter is too long");
    struct req q;
    if (!split(path, &q))
        return text(out, 404, "not a KDS path");
    mc_status st;
    if (!strcmp(q.part[0], "vcek") || !strcmp(q.part[0], "vlek"))
        st = snp_route(site, path, &q, args, nargs, out, err);
    else if (q.n == 3 && !strcmp(q.part[0], "cek") && !strcmp(q.part[1], "id"))
        st = nargs ? text(out, 400, "cek takes no query parameters") : cek(site, path, q.part[2], out, err);
    else if ((q.n == 3 && !strcmp(q.part[0], "wp-content") && !strcmp(q.part[1], "resources")) ||
             (q.n == 4 && !strcmp(q.part[0], "developer") && !strcmp(q.part[1], "eula") && !strcmp(q.part[2], "sev")))
        st = nargs ? text(out, 400, "takes no query parameters") : ask_ark(site, path, q.part[q.n - 1], out, err);
    else
        st = text(out, 404, "not a KDS path");
    if (st) {
        free(out->body);
        memset(out, 0, sizeof *out);
        if (err && !err->msg[0])
            mc_seterr(err, st, "the KDS could not build its answer");
    }
    return st;
}

void mc_kds_reply_free(struct mc_kds_reply *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}
