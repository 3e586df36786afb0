/* memcrypt — NIST SP 800-108 KDF in counter mode with PRF = HMAC-SHA256 (internal header).
 *
 * K(i) = HMAC-SHA256(key, before || [i]_r || after), i = 1, 2, ...; output = first outlen bytes of
 * K(1) || K(2) || ... . [i]_r is i as an r-bit integer (r = 8, 16, 24 or 32) in the chosen byte
 * order. NIST's CAVP vectors use big-endian counters; the AMD SEV firmware uses a little-endian
 * 32-bit counter and a little-endian 32-bit [L] (see mc_kdf_sev).
 */
#ifndef MC_CRYPTO_KDF_H
#define MC_CRYPTO_KDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

enum mc_kdf_endian { MC_KDF_BE = 0, MC_KDF_LE = 1 };

/* Generic counter-mode KDF. before/after may be NULL when their length is 0. outlen 1..8160
 * (at most 255 blocks for r = 8). Returns MC_E_INVAL on bad arguments. */
mc_status mc_kdf_ctr_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *before, size_t before_len,
                                 const uint8_t *after, size_t after_len, unsigned counter_bits,
                                 enum mc_kdf_endian counter_endian, uint8_t *out, size_t outlen,
                                 struct mc_error *err);

/* The SEV firmware KDF (SEV API §"key derivation"): counter LE32 first, then
 * label || 0x00 || ctx || LE32(outlen * 8). label is ASCII without its terminator. */
mc_status mc_kdf_sev(const uint8_t *key, size_t keylen, const char *label, const uint8_t *ctx, size_t ctxlen,
                     uint8_t *out, size_t outlen, struct mc_error *err);

#endif
