/* memcrypt — thin wrappers over OpenSSL libcrypto (internal header).
 *
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

#include <memcrypt/error.h>

#define MC_SHA256_LEN 32
#define MC_SHA384_LEN 48
#define MC_SHA512_LEN 64

/* One-shot digests. */
mc_status mc_sha256(const void *data, size_t len, uint8_t out[MC_SHA256_LEN], struct mc_error *err);
mc_status mc_sha384(const void *data, size_t len, uint8_t out[MC_SHA384_LEN], struct mc_error *err);
mc_status mc_sha512(const void *data, size_t len, uint8_t out[MC_SHA512_LEN], struct mc_error *err);

/* Multi-part digest: alg is "SHA256", "SHA384" or "SHA512". */
struct mc_digest;
mc_status mc_digest_new(const char *alg, struct mc_digest **out, struct mc_error *err);
mc_status mc_digest_update(struct mc_digest *d, const void *data, size_t len, struct mc_error *err);
/* Writes the digest (size of the algorithm) and resets d for reuse. */
mc_status mc_digest_final(struct mc_digest *d, uint8_t *out, size_t *outlen, struct mc_error *err);
void mc_digest_free(struct mc_digest *d);

/* HMAC-SHA256 / HMAC-SHA384. */
mc_status mc_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA256_LEN], struct mc_error *err);
mc_status mc_hmac_sha384(const uint8_t *key, size_t keylen, const void *data, size_t len,
                         uint8_t out[MC_SHA384_LEN], struct mc_error *err);

/* Constant-time equality (CRYPTO_memcmp): true when equal. */
bool mc_ct_equal(const void *a, const void *b, size_t len);
/* Wipe secret memory (OPENSSL_cleanse). */
void mc_wipe(void *p, size_t len);

/* Random bytes from OpenSSL's DRBG.
 * seed == NULL: a CTR-DRBG fed by the OS (production).
 * seed != NULL: deterministic mode for tests and demos — an AES-256 CTR-DRBG instantiated from
 * the seed (through OpenSSL's TEST-RAND entropy source), so the same seed gives the same bytes.
 * One mc_rng per machine; never shared between machines. */
struct mc_rng;
mc_status mc_rng_new(const uint8_t *seed, size_t seed_len, struct mc_rng **out, struct mc_error *err);
mc_status mc_rng_bytes(struct mc_rng *rng, uint8_t *out, size_t n, struct mc_error *err);
bool mc_rng_is_deterministic(const struct mc_rng *rng);
void mc_rng_free(struct mc_rng *rng);
/* Snapshots (a board's mc_board_snapshot): OpenSSL's DRBG state cannot be copied, so a snapshot
 * draws a seed from the stream and re-instantiates the DRBG from it (deterministic mode from then
 * on); mc_rng_rewind with the same seed re-instantiates it again, so the stream after a rewind
 * repeats the stream after the fork. */
#define MC_RNG_FORK_LEN 48
mc_status mc_rng_fork(struct mc_rng *rng, uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err);
mc_status mc_rng_rewind(struct mc_rng *rng, const uint8_t seed[MC_RNG_FORK_LEN], struct mc_error *err);

/* Base64 (RFC 4648, with padding, no line breaks). encode: out needs 4*((n+2)/3)+1 bytes.
 * decode: ignores ASCII whitespace, rejects bad characters/padding; *outlen gets the size. */
size_t mc_base64_encoded_len(size_t n);
void mc_base64_encode(const uint8_t *in, size_t n, char *out);
mc_status mc_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen,
                           struct mc_error *err);

/* Initialise libcrypto without reading the system openssl.cnf: memcrypt's results must not
 * depend on a site's OpenSSL configuration, and skipping it saves about a millisecond per
 * process. Call once, first thing, from programs (the CLI does). */
void mc_crypto_init(void);

/* The last OpenSSL error as text (for messages); buf of size n. */
const char *mc_openssl_errstr(char *buf, size_t n);

#endif
