/* memcrypt — a transport channel's keys held ready: one EVP cipher context and one EVP MAC
 * context, keyed once. */
#include "crypto/chan.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/crypto.h"

struct mc_chan {
    EVP_CIPHER_CTX *ctr;
    EVP_MAC_CTX *mac;
};

static mc_status fail(struct mc_error *err, const char *what)
{
    char b[160];
    mc_openssl_errstr(b, sizeof b);
    ERR_clear_error();
    return mc_seterr(err, MC_E_CRYPTO, "%s failed (OpenSSL: %s)", what, b);
}

void mc_chan_destroy(struct mc_chan *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->ctr);
    EVP_MAC_CTX_free(c->mac);
    free(c);
}

mc_status mc_chan_create(const uint8_t tek[16], const uint8_t tik[16], struct mc_chan **out, struct mc_error *err)
{
    if (!tek || !tik || !out)
        return mc_seterr(err, MC_E_INVAL, "channel: NULL argument");
    *out = NULL;
    struct mc_chan *c = calloc(1, sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    char digest[] = "SHA256";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    mc_status rc = MC_OK;
    if (!ciph || !mac || !(c->ctr = EVP_CIPHER_CTX_new()) || !(c->mac = EVP_MAC_CTX_new(mac)) ||
        !EVP_EncryptInit_ex2(c->ctr, ciph, tek, NULL, NULL) || !EVP_MAC_init(c->mac, tik, 16, p))
        rc = ERR_peek_error() ? fail(err, "channel keys") : mc_seterr(err, MC_E_NOMEM, "out of memory");
    EVP_CIPHER_free(ciph);
    EVP_MAC_free(mac);
    if (rc) {
        mc_chan_destroy(c);
        return rc;
    }
    *out = c;
    return MC_OK;
}

mc_status mc_chan_ctr(struct mc_chan *c, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len,
                      struct mc_error *err)
{
    if (!c || !iv || ((!in || !out) && len))
        return mc_seterr(err, MC_E_INVAL, "channel CTR: NULL argument");
    if (len > INT_MAX)
        return mc_seterr(err, MC_E_RANGE, "channel CTR: buffer too large");
    int n = 0;
    if (!EVP_EncryptInit_ex2(c->ctr, NULL, NULL, iv, NULL) || (len && !EVP_EncryptUpdate(c->ctr, out, &n, in, (int)len)) ||
        (size_t)n != len)
        return fail(err, "AES-128-CTR");
    return MC_OK;
}

mc_status mc_chan_mac(struct mc_chan *c, const void *a, size_t an, const void *b, size_t bn, uint8_t out[32],
                      struct mc_error *err)
{
    if (!c || !out || (!a && an) || (!b && bn))
        return mc_seterr(err, MC_E_INVAL, "channel MAC: NULL argument");
    size_t n = 0;
    /* A NULL key re-initialises with the key set at mc_chan_create. */
    if (!EVP_MAC_init(c->mac, NULL, 0, NULL) || (an && !EVP_MAC_update(c->mac, a, an)) ||
        (bn && !EVP_MAC_update(c->mac, b, bn)) || !EVP_MAC_final(c->mac, out, &n, 32) || n != 32)
        return fail(err, "HMAC-SHA256");
    return MC_OK;
}
