/* Reusable hash contexts over OpenSSL EVP (see hashctx.h). */
#include "crypto/hashctx.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

struct mc_hashctx {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
    EVP_MD_CTX *tmp;
    size_t size;
};

static mc_status ossl(struct mc_error *err, const char *what)
{
    char buf[200];
    return mc_seterr(err, MC_E_CRYPTO, "%s failed: %s", what, mc_openssl_errstr(buf, sizeof buf));
}

mc_status mc_hashctx_new(const char *alg, struct mc_hashctx **out, struct mc_error *err)
{
    struct mc_hashctx *h = calloc(1, sizeof *h);
    if (!h)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a hash context");
    h->md = EVP_MD_fetch(NULL, alg, NULL);
    h->ctx = EVP_MD_CTX_new();
    h->tmp = EVP_MD_CTX_new();
    if (!h->md || !h->ctx || !h->tmp || !EVP_DigestInit_ex2(h->ctx, h->md, NULL)) {
        mc_status st = ossl(err, "setting up the hash");
        mc_hashctx_free(h);
        return st;
    }
    h->size = (size_t)EVP_MD_get_size(h->md);
    *out = h;
    return MC_OK;
}

size_t mc_hashctx_size(const struct mc_hashctx *h) { return h->size; }

mc_status mc_hashctx_update(struct mc_hashctx *h, const void *data, size_t len, struct mc_error *err)
{
    if (len && !EVP_DigestUpdate(h->ctx, data, len))
        return ossl(err, "hash update");
    return MC_OK;
}

mc_status mc_hashctx_peek(struct mc_hashctx *h, uint8_t *out, struct mc_error *err)
{
    if (!EVP_MD_CTX_copy_ex(h->tmp, h->ctx) || !EVP_DigestFinal_ex(h->tmp, out, NULL))
        return ossl(err, "hash snapshot");
    return MC_OK;
}

mc_status mc_hashctx_final(struct mc_hashctx *h, uint8_t *out, struct mc_error *err)
{
    if (!EVP_DigestFinal_ex(h->ctx, out, NULL) || !EVP_DigestInit_ex2(h->ctx, h->md, NULL))
        return ossl(err, "hash final");
    return MC_OK;
}

mc_status mc_hashctx_oneshot(struct mc_hashctx *h, const void *data, size_t len, uint8_t *out,
                             struct mc_error *err)
{
    if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) || (len && !EVP_DigestUpdate(h->ctx, data, len)))
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
    d->size = h->size;
    d->ctx = EVP_MD_CTX_new();
    d->tmp = EVP_MD_CTX_new();
    if (!EVP_MD_up_ref(h->md)) {
        mc_hashctx_free(d);
        return ossl(err, "copying the hash");
    }
    d->md = h->md;
    if (!d->ctx || !d->tmp || !EVP_MD_CTX_copy_ex(d->ctx, h->ctx)) {
        mc_hashctx_free(d);
        return ossl(err, "copying the hash");
    }
    *out = d;
    return MC_OK;
}

void mc_hashctx_free(struct mc_hashctx *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_CTX_free(h->tmp);
    EVP_MD_free(h->md);
    free(h);
}

struct pages_job {
    const uint8_t *data;
    size_t first, count;
    uint8_t (*out)[48];
    mc_status st;
    struct mc_error err;
};

static void *pages_worker(void *arg)
{
    struct pages_job *j = arg;
    struct mc_hashctx *h = NULL;
    j->st = mc_hashctx_new("SHA384", &h, &j->err);
    for (size_t i = 0; j->st == MC_OK && i < j->count; i++)
        j->st = mc_hashctx_oneshot(h, j->data + (j->first + i) * 4096, 4096, j->out[j->first + i], &j->err);
    mc_hashctx_free(h);
    return NULL;
}

mc_status mc_sha384_pages(const uint8_t *data, size_t npages, uint8_t (*out)[48], unsigned threads,
                          struct mc_error *err)
{
    enum { MAXT = 8 };
    if (threads < 1)
        threads = 1;
    if (threads > MAXT)
        threads = MAXT;
    if (npages < 64)
        threads = 1; /* not worth a thread */
    struct pages_job jobs[MAXT];
    pthread_t tid[MAXT];
    bool started[MAXT] = {0};
    size_t per = (npages + threads - 1) / threads, at = 0;
    for (unsigned t = 0; t < threads; t++) {
        size_t cnt = npages - at < per ? npages - at : per;
        jobs[t] = (struct pages_job){.data = data, .first = at, .count = cnt, .out = out};
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
    return st;
}
