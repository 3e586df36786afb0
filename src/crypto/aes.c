/* memcrypt — AES-128-CTR through OpenSSL EVP. */
#include "crypto/aes.h"

#include <limits.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"

mc_status mc_aes128_ctr(const uint8_t key[MC_AES128_KEY_LEN], const uint8_t iv[MC_AES_IV_LEN], const uint8_t *in,
                        uint8_t *out, size_t len, struct mc_error *err)
{
    if (!key || !iv || ((!in || !out) && len))
        return mc_seterr(err, MC_E_INVAL, "AES-CTR: NULL argument");
    if (len > INT_MAX)
        return mc_seterr(err, MC_E_RANGE, "AES-CTR: buffer too large");
    if (len == 0)
        return MC_OK;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    mc_status rc = MC_OK;
    if (!c || !EVP_EncryptInit_ex2(c, EVP_aes_128_ctr(), key, iv, NULL) ||
        !EVP_EncryptUpdate(c, out, &n1, in, (int)len) || !EVP_EncryptFinal_ex(c, out + n1, &n2) ||
        (size_t)(n1 + n2) != len) {
        char buf[160];
        mc_openssl_errstr(buf, sizeof buf);
        ERR_clear_error();
        rc = mc_seterr(err, MC_E_CRYPTO, "AES-128-CTR failed (OpenSSL: %s)", buf);
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}
