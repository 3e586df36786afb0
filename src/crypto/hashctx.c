/* SHA-2 digests and reusable hash contexts (see hashctx.h and crypto.h).
 *
 * Why not EVP here: OpenSSL 3's EVP digests come from a provider, and the first fetch in a
 * process activates the default provider and builds its name map and method store (~2 ms of
 * CPU on the development VM, more than the whole rest of `memcrypt measure` apart from the
 * hashing itself). libcrypto's one-algorithm SHA-2 functions (SHA256_Init, SHA384_Init, ...)
 * run the same assembly block functions without any of that, so a process that only hashes
 * (measure, the firmware's launch digests) never initialises a provider. They are deprecated
 * in OpenSSL 3 but present; a libcrypto built without deprecated APIs (OPENSSL_NO_DEPRECATED_3_0)
 * gets the EVP implementation below instead, with the same results. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/hashctx.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "crypto/crypto.h"

#ifndef OPENSSL_NO_DEPRECATED_3_0
#define MC_SHA2_LOWLEVEL 1
#endif

/* One running SHA-256 / SHA-384 / SHA-512 state (size = digest bytes). */
struct sha2 {
    size_t size;
#ifdef MC_SHA2_LOWLEVEL
    union {
        SHA256_CTX s256;
        SHA512_CTX s512;
    } u;
#else
    EVP_MD_CTX *ctx;
#endif
};

static bool sha2_size_of(const char *alg, size_t *size)
{
    if (alg && !strcmp(alg, "SHA256"))
        *size = 32;
    else if (alg && !strcmp(alg, "SHA384"))
        *size = 48;
    else if (alg && !strcmp(alg, "SHA512"))
        *size = 64;
    else
        return false;
    return true;
}

#ifdef MC_SHA2_LOWLEVEL
static bool sha2_init(struct sha2 *s, size_t size)
{
    s->size = size;
    return size == 32 ? SHA256_Init(&s->u.s256) : size == 48 ? SHA384_Init(&s->u.s512) : SHA512_Init(&s->u.s512);
}
static bool sha2_update(struct sha2 *s, const void *d, size_t n)
{
    return s->size == 32 ? SHA256_Update(&s->u.s256, d, n) : SHA512_Update(&s->u.s512, d, n);
}
/* SHA384_Final and SHA512_Final are one function on the same state (md_len is in it). */
static bool sha2_final(struct sha2 *s, uint8_t *out)
{
    return s->size == 32 ? SHA256_Final(out, &s->u.s256) : SHA512_Final(out, &s->u.s512);
}
static bool sha2_copy(struct sha2 *dst, const struct sha2 *src)
{
    *dst = *src;
    return true;
}
static void sha2_release(struct sha2 *s) { OPENSSL_cleanse(&s->u, sizeof s->u); }
#else
static bool sha2_init(struct sha2 *s, size_t size)
{
    s->size = size;
    if (!s->ctx && !(s->ctx = EVP_MD_CTX_new()))
        return false;
    return EVP_DigestInit_ex(s->ctx, size == 32 ? EVP_sha256() : size == 48 ? EVP_sha384() : EVP_sha512(), NULL);
}
static bool sha2_update(struct sha2 *s, const void *d, size_t n) { return EVP_DigestUpdate(s->ctx, d, n); }
static bool sha2_final(struct sha2 *s, uint8_t *out) { return EVP_DigestFinal_ex(s->ctx, out, NULL); }
static bool sha2_copy(struct sha2 *dst, const struct sha2 *src)
{
    dst->size = src->size;
    if (!dst->ctx && !(dst->ctx = EVP_MD_CTX_new()))
        return false;
    return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx);
}
static void sha2_release(struct sha2 *s)
{
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
}
#endif

static mc_status sha2_oneshot(size_t size, const void *data, size_t len, uint8_t *out, struct mc_error *err)
{
    if (!out || (!data && len))
        return mc_seterr(err, MC_E_INVAL, "digest: NULL argument");
    struct sha2 s = {0};
    bool ok = sha2_init(&s, size) && (!len || sha2_update(&s, data, len)) && sha2_final(&s, out);
    sha2_release(&s);
    if (!ok) {
        char b[200];
        return mc_seterr(err, MC_E_CRYPTO, "SHA-%zu: %s", size == 32 ? (size_t)256 : size * 8,
                         mc_openssl_errstr(b, sizeof b));
    }
    return MC_OK;
}

mc_status mc_sha256(const void *d, size_t n, uint8_t out[MC_SHA256_LEN], struct mc_error *err)
{
    return sha2_oneshot(32, d, n, out, err);
}
mc_status mc_sha384(const void *d, size_t n, uint8_t out[MC_SHA384_LEN], struct mc_error *err)
{
    return sha2_oneshot(48, d, n, out, err);
}
mc_status mc_sha512(const void *d, size_t n, uint8_t out[MC_SHA512_LEN], struct mc_error *err)
{
    return sha2_oneshot(64, d, n, out, err);
}

/* ------------------------------------------------------------- hash contexts -- */

struct mc_hashctx {
    struct sha2 cur, tmp;
};

static mc_status ossl(struct mc_error *err, const char *what)
{
    char buf[200];
    return mc_seterr(err, MC_E_CRYPTO, "%s failed: %s", what, mc_openssl_errstr(buf, sizeof buf));
}

mc_status mc_hashctx_create(const char *alg, struct mc_hashctx **out, struct mc_error *err)
{
    size_t size;
    if (!sha2_size_of(alg, &size))
        return mc_seterr(err, MC_E_NOTFOUND, "unknown hash '%s' (SHA256, SHA384 or SHA512)", alg ? alg : "");
    struct mc_hashctx *h = calloc(1, sizeof *h);
    if (!h)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a hash context");
    if (!sha2_init(&h->cur, size)) {
        mc_status st = ossl(err, "setting up the hash");
        mc_hashctx_destroy(h);
        return st;
    }
    *out = h;
    return MC_OK;
}

size_t mc_hashctx_size(const struct mc_hashctx *h) { return h->cur.size; }

mc_status mc_hashctx_update(struct mc_hashctx *h, const void *data, size_t len, struct mc_error *err)
{
    if (len && !sha2_update(&h->cur, data, len))
        return ossl(err, "hash update");
    return MC_OK;
}

mc_status mc_hashctx_peek(struct mc_hashctx *h, uint8_t *out, struct mc_error *err)
{
    if (!sha2_copy(&h->tmp, &h->cur) || !sha2_final(&h->tmp, out))
        return ossl(err, "hash snapshot");
    return MC_OK;
}

mc_status mc_hashctx_final(struct mc_hashctx *h, uint8_t *out, struct mc_error *err)
{
    if (!sha2_final(&h->cur, out) || !sha2_init(&h->cur, h->cur.size))
        return ossl(err, "hash final");
    return MC_OK;
}

mc_status mc_hashctx_oneshot(struct mc_hashctx *h, const void *data, size_t len, uint8_t *out,
                             struct mc_error *err)
{
    if (!sha2_init(&h->cur, h->cur.size) || (len && !sha2_update(&h->cur, data, len)))
        return ossl(err, "hash");
    return mc_hashctx_final(h, out, err);
}

mc_status mc_hashctx_dup(const struct mc_hashctx *h, struct mc_hashctx **out, struct mc_error *err)
{
    if (!h || !out)
        return mc_seterr(err, MC_E_INVAL, "hash context: NULL argument");
    struct mc_hashctx *d = calloc(1, sizeof *d);
    if (!d)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a hash context");
    if (!sha2_copy(&d->cur, &h->cur)) {
        mc_hashctx_destroy(d);
        return ossl(err, "copying the hash");
    }
    *out = d;
    return MC_OK;
}

void mc_hashctx_destroy(struct mc_hashctx *h)
{
    if (!h)
        return;
    sha2_release(&h->cur);
    sha2_release(&h->tmp);
    free(h);
}

/* Page hashes: a page equal to the page before it has that page's hash (SHA-384 is a function of
 * the bytes), so only the first page of each run of equal pages is hashed (a firmware volume's
 * erased 0xFF pages, zero padding); the others copy its result. Every page is still compared in
 * full, so the output is exactly SHA-384 of each page. The pages to hash are dealt out evenly to
 * the threads (runs of equal pages cluster, e.g. an image's variable store). */
struct pages_job {
    const uint8_t *data;
    const size_t *idx; /* pages to hash */
    size_t count;
    uint8_t (*out)[48];
    mc_status st;
    struct mc_error err;
};

static void *pages_worker(void *arg)
{
    struct pages_job *j = arg;
    j->st = MC_OK;
    for (size_t k = 0; j->st == MC_OK && k < j->count; k++)
        j->st = mc_sha384(j->data + j->idx[k] * 4096, 4096, j->out[j->idx[k]], &j->err);
    return NULL;
}

mc_status mc_sha384_pages(const uint8_t *data, size_t npages, uint8_t (*out)[48], unsigned threads,
                          struct mc_error *err)
{
    enum { MAXT = 8 };
    if (!npages)
        return MC_OK;
    if (!data || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_sha384_pages: NULL argument");
    size_t *idx = malloc(npages * sizeof *idx), n = 0;
    if (!idx)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for %zu page indices", npages);
    for (size_t i = 0; i < npages; i++)
        if (i == 0 || memcmp(data + i * 4096, data + (i - 1) * 4096, 4096))
            idx[n++] = i;
    if (threads < 1)
        threads = 1;
    if (threads > MAXT)
        threads = MAXT;
    if (n < 64)
        threads = 1; /* not worth a thread */
    struct pages_job jobs[MAXT];
    pthread_t tid[MAXT];
    bool started[MAXT] = {0};
    size_t per = (n + threads - 1) / threads, at = 0;
    for (unsigned t = 0; t < threads; t++) {
        size_t cnt = n - at < per ? n - at : per;
        jobs[t] = (struct pages_job){.data = data, .idx = idx + at, .count = cnt, .out = out};
        at += cnt;
        if (t > 0)
            started[t] = pthread_create(&tid[t], NULL, pages_worker, &jobs[t]) == 0;
        if (t > 0 && !started[t])
            pages_worker(&jobs[t]); /* no thread: do it here */
    }
    pages_worker(&jobs[0]);
    mc_status st = MC_OK;
    for (unsigned t = 0; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        if (st == MC_OK && jobs[t].st != MC_OK) {
            st = jobs[t].st;
            if (err)
                *err = jobs[t].err;
        }
    }
    /* The pages not hashed repeat the page before them (in order, so that one is final). */
    for (size_t i = 1, k = 1; st == MC_OK && i < npages; i++) {
        if (k < n && idx[k] == i)
            k++;
        else
            memcpy(out[i], out[i - 1], 48);
    }
    free(idx);
    return st;
}
