/* memcrypt — AES-256-GCM through OpenSSL EVP (96-bit IV, 128-bit tag). */
#include "crypto/gcm.h"

#include <limits.h>
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"

static mc_status gcm_fail(struct mc_error *err)
{
    char buf[160];
    mc_openssl_errstr(buf, sizeof buf);
    ERR_clear_error();
    return mc_seterr(err, MC_E_CRYPTO, "AES-256-GCM failed (OpenSSL: %s)", buf);
}

/* The cipher, fetched from the provider once per process: an implicit fetch in every
 * EVP_*Init_ex2 (EVP_aes_256_gcm()) costs about as much as sealing a short message. Kept for the
 * process's life; if the fetch fails, every call falls back to the implicit fetch. */
static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static void gcm_fetch(void) { gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL); }
static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_cipher ? gcm_cipher : EVP_aes_256_gcm();
}

static mc_status gcm_args(const uint8_t *key, const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *in,
                          size_t len, const uint8_t *out, const uint8_t *tag, struct mc_error *err)
{
    if (!key || !iv || !tag || (!aad && aad_len) || ((!in || !out) && len))
        return mc_seterr(err, MC_E_INVAL, "AES-256-GCM: NULL argument");
    if (len > INT_MAX || aad_len > INT_MAX)
        return mc_seterr(err, MC_E_RANGE, "AES-256-GCM: buffer too large");
    return MC_OK;
}

mc_status mc_aes256_gcm_seal(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN], const uint8_t *aad,
                             size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                             uint8_t tag[MC_GCM_TAG_LEN], struct mc_error *err)
{
    mc_status rc = gcm_args(key, iv, aad, aad_len, in, len, out, tag, err);
    if (rc != MC_OK)
        return rc;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    if (!c || !EVP_EncryptInit_ex2(c, gcm(), key, iv, NULL) ||
        (aad_len && !EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len)) ||
        (len && !EVP_EncryptUpdate(c, out, &n, in, (int)len)) || !EVP_EncryptFinal_ex(c, out ? out + n : NULL, &f) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, MC_GCM_TAG_LEN, tag))
        rc = gcm_fail(err);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

mc_status mc_aes256_gcm_open(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN], const uint8_t *aad,
                             size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[MC_GCM_TAG_LEN],
                             uint8_t *out, struct mc_error *err)
{
    mc_status rc = gcm_args(key, iv, aad, aad_len, in, len, out, tag, err);
    if (rc != MC_OK)
        return rc;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t t[MC_GCM_TAG_LEN], dummy[16];
    int n = 0, f = 0;
    for (int i = 0; i < MC_GCM_TAG_LEN; i++)
        t[i] = tag[i];
    if (!c || !EVP_DecryptInit_ex2(c, gcm(), key, iv, NULL) ||
        (aad_len && !EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len)) ||
        (len && !EVP_DecryptUpdate(c, out, &n, in, (int)len)) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, MC_GCM_TAG_LEN, t)) {
        rc = gcm_fail(err);
    } else if (EVP_DecryptFinal_ex(c, len ? out + n : dummy, &f) <= 0) {
        ERR_clear_error();
        rc = mc_seterr(err, MC_E_VERIFY, "AES-256-GCM tag does not authenticate the data");
    }
    if (rc != MC_OK && len)
        mc_wipe(out, len);
    EVP_CIPHER_CTX_free(c);
    return rc;
}
