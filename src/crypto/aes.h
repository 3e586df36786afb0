/* memcrypt — AES-128-CTR for the SEV launch channel (internal header).
 * The counter block is the full 16-byte IV incremented as one 128-bit big-endian number
 * (OpenSSL's CTR semantics, which the SEV firmware, sev-tool and virtee/sev all use). */
#ifndef MC_CRYPTO_AES_H
#define MC_CRYPTO_AES_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#define MC_AES128_KEY_LEN 16
#define MC_AES_IV_LEN 16

/* out = AES-128-CTR(key, iv)(in); in and out may be the same buffer (encrypt == decrypt). */
mc_status mc_aes128_ctr(const uint8_t key[MC_AES128_KEY_LEN], const uint8_t iv[MC_AES_IV_LEN], const uint8_t *in,
                        uint8_t *out, size_t len, struct mc_error *err);

#endif
