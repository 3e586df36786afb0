/* memcrypt — AES-XTS through OpenSSL EVP (internal header).
 *
 * The portable engine path and the reference the fast paths are tested against.
 * A context holds one key in one direction; each call is one XTS data unit with its own
 * 16-byte IV (the raw tweak block, encrypted under the second key half). Only the IV is
 * re-initialised per call, so a context serves many lines cheaply.
 * OpenSSL 3 refuses keys whose two halves are equal; that is reported as MC_E_CRYPTO.
 */
#ifndef MC_CRYPTO_XTS_H
#define MC_CRYPTO_XTS_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#define MC_XTS_IV_LEN 16

struct mc_xts_ctx;

/* key_bits: 128 (key is 32 bytes) or 256 (64 bytes); key = data key || tweak key.
 * The key is copied into OpenSSL's context only; the caller keeps (and wipes) its copy. */
mc_status mc_xts_ctx_create(unsigned key_bits, const uint8_t *key, int decrypt, struct mc_xts_ctx **out,
                         struct mc_error *err);
/* One data unit: len >= 16 bytes (ciphertext stealing for a partial last block), at most 2^20
 * blocks (16 MiB) per unit, the IEEE 1619 limit. in == out allowed. */
mc_status mc_xts_ctx_crypt(struct mc_xts_ctx *c, const uint8_t iv[MC_XTS_IV_LEN], const uint8_t *in,
                           uint8_t *out, size_t len, struct mc_error *err);
/* Frees and wipes (EVP_CIPHER_CTX_free cleanses the key schedule). NULL is fine. */
void mc_xts_ctx_destroy(struct mc_xts_ctx *c);
/* A second context with the same key and direction. */
mc_status mc_xts_ctx_dup(const struct mc_xts_ctx *c, struct mc_xts_ctx **out, struct mc_error *err);

/* One-shot: new + crypt + free. */
mc_status mc_xts_evp(unsigned key_bits, const uint8_t *key, int decrypt, const uint8_t iv[MC_XTS_IV_LEN],
                     const uint8_t *in, uint8_t *out, size_t len, struct mc_error *err);

#endif
