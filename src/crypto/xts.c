/* AES-XTS through OpenSSL EVP: one context per key and direction, IV re-initialised per unit. */
#include "crypto/xts.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

struct mc_xts_ctx {
    EVP_CIPHER_CTX *ctx;
};

static mc_status xts_ossl_fail(struct mc_error *err, const char *what)
{
    char b[200];
    return mc_seterr(err, MC_E_CRYPTO, "AES-XTS %s: %s", what, mc_openssl_errstr(b, sizeof b));
}

mc_status mc_xts_ctx_create(unsigned key_bits, const uint8_t *key, int decrypt, struct mc_xts_ctx **out,
                         struct mc_error *err)
{
    if (!key || !out)
        return mc_seterr(err, MC_E_INVAL, "AES-XTS: NULL argument");
    const EVP_CIPHER *cipher;
    if (key_bits == 128)
        cipher = EVP_aes_128_xts();
    else if (key_bits == 256)
        cipher = EVP_aes_256_xts();
    else
        return mc_seterr(err, MC_E_INVAL, "AES-XTS: key size must be 128 or 256 bits per half, not %u", key_bits);
    struct mc_xts_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "AES-XTS: out of memory");
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->ctx) {
        free(c);
        return mc_seterr(err, MC_E_NOMEM, "AES-XTS: out of memory");
    }
    if (!EVP_CipherInit_ex(c->ctx, cipher, NULL, key, NULL, decrypt ? 0 : 1)) {
        mc_status st = xts_ossl_fail(err, "key setup (OpenSSL refuses equal key halves)");
        mc_xts_ctx_destroy(c);
        return st;
    }
    *out = c;
    return MC_OK;
}

mc_status mc_xts_ctx_crypt(struct mc_xts_ctx *c, const uint8_t iv[MC_XTS_IV_LEN], const uint8_t *in,
                           uint8_t *out, size_t len, struct mc_error *err)
{
    if (!c || !iv || !in || !out)
        return mc_seterr(err, MC_E_INVAL, "AES-XTS: NULL argument");
    /* IEEE 1619 limits a data unit to 2^20 blocks; OpenSSL takes an int length. */
    if (len < 16 || len > ((size_t)1 << 20) * 16 || len > INT_MAX)
        return mc_seterr(err, MC_E_RANGE, "AES-XTS: data unit of %zu bytes (need 16 .. 2^24)", len);
    int outl = 0;
    if (!EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, iv, -1))
        return xts_ossl_fail(err, "IV setup");
    if (!EVP_CipherUpdate(c->ctx, out, &outl, in, (int)len) || (size_t)outl != len)
        return xts_ossl_fail(err, "update");
    return MC_OK;
}

mc_status mc_xts_ctx_dup(const struct mc_xts_ctx *c, struct mc_xts_ctx **out, struct mc_error *err)
{
    if (!c || !out)
        return mc_seterr(err, MC_E_INVAL, "AES-XTS: NULL argument");
    struct mc_xts_ctx *d = calloc(1, sizeof *d);
    if (!d)
        return mc_seterr(err, MC_E_NOMEM, "AES-XTS: out of memory");
    d->ctx = EVP_CIPHER_CTX_new();
    if (!d->ctx || !EVP_CIPHER_CTX_copy(d->ctx, c->ctx)) {
        mc_xts_ctx_destroy(d);
        return xts_ossl_fail(err, "context copy");
    }
    *out = d;
    return MC_OK;
}

void mc_xts_ctx_destroy(struct mc_xts_ctx *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->ctx);
    free(c);
}

mc_status mc_xts_evp(unsigned key_bits, const uint8_t *key, int decrypt, const uint8_t iv[MC_XTS_IV_LEN],
                     const uint8_t *in, uint8_t *out, size_t len, struct mc_error *err)
{
    struct mc_xts_ctx *c = NULL; /* set whenever mc_xts_ctx_create succeeds (gcc -O3 cannot always see that) */
    mc_status st = mc_xts_ctx_create(key_bits, key, decrypt, &c, err);
    if (st != MC_OK)
        return st;
    st = mc_xts_ctx_crypt(c, iv, in, out, len, err);
    mc_xts_ctx_destroy(c);
    return st;
}
