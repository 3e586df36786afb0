/* memcrypt — AES-256-GCM with a 96-bit IV and a 128-bit tag (internal header).
 *
 * The AEAD of SEV-SNP guest messages (key = VMPCK) and of the wrapped VLEK (SNP_VLEK_LOAD).
 * OpenSSL EVP underneath. seal: out = ciphertext (same length as the plaintext), tag separate.
 * open: MC_E_VERIFY when the tag does not authenticate, and then the output buffer is wiped, so
 * no unauthenticated plaintext ever leaves this function. in and out may be the same buffer.
 */
#ifndef MC_CRYPTO_GCM_H
#define MC_CRYPTO_GCM_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#define MC_GCM_KEY_LEN 32
#define MC_GCM_IV_LEN 12
#define MC_GCM_TAG_LEN 16

mc_status mc_aes256_gcm_seal(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN], const uint8_t *aad,
                             size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                             uint8_t tag[MC_GCM_TAG_LEN], struct mc_error *err);
mc_status mc_aes256_gcm_open(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN], const uint8_t *aad,
                             size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[MC_GCM_TAG_LEN],
                             uint8_t *out, struct mc_error *err);

#endif
