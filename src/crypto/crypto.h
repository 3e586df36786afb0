/* memcrypt — thin wrappers over OpenSSL libcrypto (internal header).
 *
 * The part a program may use (digests, wiping, base64, the DRBG) is public: memcrypt/crypto.h.
 * src/crypto/ is where OpenSSL is included. Other modules call these wrappers; a module may
 * add its own wrapper file here (src/crypto/<topic>.c + <topic>.h) rather than growing this one.
 * Modules whose whole job is X.509 (certificate-chain verification, fixture factories) may use
 * OpenSSL's X.509 API directly; say so at the top of the file.
 */
#ifndef MC_CRYPTO_H
#define MC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/crypto.h>
#include <memcrypt/error.h>

/* HMAC-SHA256 / HMAC-SHA384. */
mc_status mc_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA256_LEN], struct mc_error *err);
mc_status mc_hmac_sha384(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA384_LEN], struct mc_error *err);

/* Snapshots (a board's mc_board_snapshot): OpenSSL's DRBG state cannot be copied, so a snapshot
 * draws a seed from the stream and re-instantiates the DRBG from it (deterministic mode from then
 * on); mc_rng_rewind with the same seed re-instantiates it again, so the stream after a rewind
 * repeats the stream after the fork. */
#define MC_RNG_FORK_LEN 48
mc_status mc_rng_fork(struct mc_rng *rng, uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err);
mc_status mc_rng_rewind(struct mc_rng *rng, const uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err);

/* The last OpenSSL error as text (for messages); buf of size n. */
const char *mc_openssl_errstr(char *buf, size_t n);

#endif
