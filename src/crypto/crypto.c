/* Thin OpenSSL libcrypto wrappers: digests, HMAC, DRBG, base64, constant-time helpers. */
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

void mc_crypto_init(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

const char *mc_openssl_errstr(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, n, "unknown OpenSSL error");
    else
        ERR_error_string_n(e, buf, n);
    ERR_clear_error();
    return buf;
}

static mc_status ossl_fail(struct mc_error *err, const char *what)
{
    char b[200];
    return mc_seterr(err, MC_E_CRYPTO, "%s: %s", what, mc_openssl_errstr(b, sizeof b));
}

/* mc_sha256, mc_sha384, mc_sha512: src/crypto/hashctx.c (no provider needed). */

static mc_status hmac_(const char *alg, const uint8_t *key, size_t keylen, const void *data, size_t len,
                       uint8_t *out, struct mc_error *err)
{
    if (!out || (!key && keylen) || (!data && len))
        return mc_seterr(err, MC_E_INVAL, "hmac: NULL argument");
    unsigned int olen = 0;
    static const uint8_t empty[1];
    if (!HMAC(EVP_get_digestbyname(alg), key ? key : empty, (int)keylen, data ? data : empty, len, out, &olen))
        return ossl_fail(err, "HMAC");
    return MC_OK;
}

mc_status mc_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA256_LEN], struct mc_error *err)
{
    return hmac_("SHA256", key, keylen, data, len, out, err);
}

mc_status mc_hmac_sha384(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA384_LEN], struct mc_error *err)
{
    return hmac_("SHA384", key, keylen, data, len, out, err);
}

bool mc_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void mc_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

/* ------------------------------------------------------------------ DRBG -- */

struct mc_rng {
    EVP_RAND_CTX *parent; /* TEST-RAND holding the seed-derived entropy (deterministic mode) */
    EVP_RAND_CTX *drbg;   /* CTR-DRBG (AES-256) */
    bool deterministic;
    /* Snapshots: the seed of the last fork or rewind, and whether bytes were drawn since. */
    uint8_t fork_seed[MC_RNG_FORK_LEN];
    bool forked, drawn;
};

#define RNG_ENTROPY_POOL 512 /* bytes of seed-derived entropy handed to TEST-RAND */

mc_status mc_rng_create(const uint8_t *seed, size_t seed_len, struct mc_rng **out, struct mc_error *err)
{
    if (!out || (!seed && seed_len))
        return mc_seterr(err, MC_E_INVAL, "rng: NULL argument");
    struct mc_rng *r = calloc(1, sizeof *r);
    if (!r)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status rc = MC_OK;
    EVP_RAND *ctr = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
    EVP_RAND *test = NULL;
    uint8_t pool[RNG_ENTROPY_POOL];
    if (!ctr) {
        rc = ossl_fail(err, "fetch CTR-DRBG");
        goto fail;
    }
    unsigned int strength = 256;
    if (seed) {
        /* Expand the seed into an entropy pool: SHA-512(counter || seed) blocks. */
        r->deterministic = true;
        for (uint32_t i = 0; i < RNG_ENTROPY_POOL / MC_SHA512_LEN; i++) {
            EVP_MD_CTX *m = EVP_MD_CTX_new();
            uint8_t ctrbuf[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
            int ok = m && EVP_DigestInit_ex(m, EVP_sha512(), NULL) && EVP_DigestUpdate(m, ctrbuf, 4) &&
                     EVP_DigestUpdate(m, seed, seed_len) && EVP_DigestFinal_ex(m, pool + i * MC_SHA512_LEN, NULL);
            EVP_MD_CTX_free(m);
            if (!ok) {
                rc = ossl_fail(err, "seed expansion");
                goto fail;
            }
        }
        test = EVP_RAND_fetch(NULL, "TEST-RAND", NULL);
        r->parent = test ? EVP_RAND_CTX_new(test, NULL) : NULL;
        if (!r->parent) {
            rc = ossl_fail(err, "TEST-RAND");
            goto fail;
        }
        OSSL_PARAM tp[] = {
            OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength),
            OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, pool, sizeof pool),
            OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE, pool, 32),
            OSSL_PARAM_construct_end(),
        };
        if (!EVP_RAND_instantiate(r->parent, strength, 0, NULL, 0, tp)) {
            rc = ossl_fail(err, "TEST-RAND instantiate");
            goto fail;
        }
    }
    r->drbg = EVP_RAND_CTX_new(ctr, r->parent); /* parent NULL => OpenSSL's primary DRBG (OS) */
    if (!r->drbg) {
        rc = ossl_fail(err, "CTR-DRBG new");
        goto fail;
    }
    unsigned int zero = 0;
    OSSL_PARAM dp[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, (char *)"AES-256-CTR", 0),
        OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &zero),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_RAND_instantiate(r->drbg, strength, 0, (const unsigned char *)"memcrypt", 8, dp)) {
        rc = ossl_fail(err, "CTR-DRBG instantiate");
        goto fail;
    }
    mc_wipe(pool, sizeof pool);
    EVP_RAND_free(ctr);
    EVP_RAND_free(test);
    *out = r;
    return MC_OK;
fail:
    mc_wipe(pool, sizeof pool);
    EVP_RAND_free(ctr);
    EVP_RAND_free(test);
    mc_rng_destroy(r);
    return rc;
}

mc_status mc_rng_bytes(struct mc_rng *rng, uint8_t *out, size_t n, struct mc_error *err)
{
    if (!rng || (!out && n))
        return mc_seterr(err, MC_E_INVAL, "rng: NULL argument");
    rng->drawn = true;
    while (n) {
        size_t chunk = n > 4096 ? 4096 : n;
        if (!EVP_RAND_generate(rng->drbg, out, chunk, 256, 0, NULL, 0))
            return ossl_fail(err, "DRBG generate");
        out += chunk;
        n -= chunk;
    }
    return MC_OK;
}

bool mc_rng_is_deterministic(const struct mc_rng *rng) { return rng && rng->deterministic; }

mc_status mc_rng_rewind(struct mc_rng *rng, const uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err)
{
    if (!rng || !seed)
        return mc_seterr(err, MC_E_INVAL, "rng: NULL argument");
    if (rng->forked && !rng->drawn && CRYPTO_memcmp(rng->fork_seed, seed, MC_RNG_FORK_LEN) == 0)
        return MC_OK; /* already at the start of this stream */
    struct mc_rng *n;
    mc_status st = mc_rng_create(seed, MC_RNG_FORK_LEN, &n, err);
    if (st)
        return st;
    EVP_RAND_CTX_free(rng->drbg);
    EVP_RAND_CTX_free(rng->parent);
    *rng = *n;
    free(n);
    memcpy(rng->fork_seed, seed, MC_RNG_FORK_LEN);
    rng->forked = true;
    rng->drawn = false;
    return MC_OK;
}

mc_status mc_rng_fork(struct mc_rng *rng, uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err)
{
    mc_status st = mc_rng_bytes(rng, seed, MC_RNG_FORK_LEN, err);
    return st ? st : mc_rng_rewind(rng, seed, err);
}

void mc_rng_destroy(struct mc_rng *rng)
{
    if (!rng)
        return;
    EVP_RAND_CTX_free(rng->drbg);
    EVP_RAND_CTX_free(rng->parent);
    mc_wipe(rng->fork_seed, sizeof rng->fork_seed);
    free(rng);
}

/* ---------------------------------------------------------------- base64 -- */

size_t mc_base64_encoded_len(size_t n) { return 4 * ((n + 2) / 3); }

void mc_base64_encode(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

mc_status mc_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen,
                           struct mc_error *err)
{
    /* Strict decoder (EVP_DecodeBlock accepts trailing garbage and hides padding length). */
    if (!in || !outlen || (!out && cap))
        return mc_seterr(err, MC_E_INVAL, "base64: NULL argument");
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t o = 0, nchars = 0;
    for (size_t i = 0; i < inlen; i++) {
        int c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            nchars++;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad)
            return mc_seterr(err, MC_E_FORMAT, "base64: invalid character at offset %zu", i);
        nchars++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return mc_seterr(err, MC_E_RANGE, "base64: decoded data larger than %zu bytes", cap);
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (nchars % 4 || pad > 2 || (pad && bits != pad * 2) || (acc & ((1u << bits) - 1)))
        return mc_seterr(err, MC_E_FORMAT, "base64: bad length or padding");
    *outlen = o;
    return MC_OK;
}
