/* memcrypt — the cryptographic helpers a program around the model needs: SHA-2 digests,
 * constant-time compare and wiping of secrets, base64, and the seedable DRBG that makes a
 * machine's keys reproducible (--seed). All of them are thin wrappers over OpenSSL libcrypto.
 */
#ifndef MEMCRYPT_CRYPTO_H
#define MEMCRYPT_CRYPTO_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_SHA256_LEN 32
#define MC_SHA384_LEN 48
#define MC_SHA512_LEN 64

/* One-shot digests. */
MC_API mc_status mc_sha256(const void *data, size_t len, uint8_t out[MC_SHA256_LEN], struct mc_error *err);
MC_API mc_status mc_sha384(const void *data, size_t len, uint8_t out[MC_SHA384_LEN], struct mc_error *err);
MC_API mc_status mc_sha512(const void *data, size_t len, uint8_t out[MC_SHA512_LEN], struct mc_error *err);

/* The one multi-part hash: alg "SHA256", "SHA384" or "SHA512"; a context is reused after final. */
struct mc_hashctx;

/* alg: "SHA256" or "SHA384". */
MC_API mc_status mc_hashctx_create(const char *alg, struct mc_hashctx **out, struct mc_error *err);
MC_API size_t mc_hashctx_size(const struct mc_hashctx *h);
MC_API mc_status mc_hashctx_update(struct mc_hashctx *h, const void *data, size_t len, struct mc_error *err);
/* Digest of everything fed so far; the stream continues. */
MC_API mc_status mc_hashctx_peek(struct mc_hashctx *h, uint8_t *out, struct mc_error *err);
/* Digest of the stream; the context restarts empty. */
MC_API mc_status mc_hashctx_final(struct mc_hashctx *h, uint8_t *out, struct mc_error *err);
/* One-shot digest of data with this context's algorithm; the context restarts empty. */
MC_API mc_status mc_hashctx_oneshot(struct mc_hashctx *h, const void *data, size_t len, uint8_t *out,
                             struct mc_error *err);
MC_API void mc_hashctx_destroy(struct mc_hashctx *h);
/* Constant-time equality (CRYPTO_memcmp): true when equal. */
MC_API bool mc_ct_equal(const void *a, const void *b, size_t len);
/* Wipe secret memory (OPENSSL_cleanse). */
MC_API void mc_wipe(void *p, size_t len);

/* Random bytes from OpenSSL's DRBG.
 * seed == NULL: a CTR-DRBG fed by the OS (production).
 * seed != NULL: deterministic mode for tests and demos — an AES-256 CTR-DRBG instantiated from
 * the seed (through OpenSSL's TEST-RAND entropy source), so the same seed gives the same bytes.
 * One mc_rng per machine; never shared between machines. */
struct mc_rng;
MC_API mc_status mc_rng_create(const uint8_t *seed, size_t seed_len, struct mc_rng **out, struct mc_error *err);
MC_API mc_status mc_rng_bytes(struct mc_rng *rng, uint8_t *out, size_t n, struct mc_error *err);
MC_API bool mc_rng_is_deterministic(const struct mc_rng *rng);
MC_API void mc_rng_destroy(struct mc_rng *rng);
/* Base64 (RFC 4648, with padding, no line breaks). encode: out needs 4*((n+2)/3)+1 bytes.
 * decode: ignores ASCII whitespace, rejects bad characters/padding; *outlen gets the size. */
MC_API size_t mc_base64_encoded_len(size_t n);
MC_API void mc_base64_encode(const uint8_t *in, size_t n, char *out);
MC_API mc_status mc_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen,
                           struct mc_error *err);

/* Initialise libcrypto without reading the system openssl.cnf: memcrypt's results must not
 * depend on a site's OpenSSL configuration, and skipping it saves about a millisecond per
 * process. Call once, first thing, from programs (the CLI does). */
MC_API void mc_crypto_init(void);

/* AES-256-GCM with a 96-bit IV and a 128-bit tag (OpenSSL EVP): the AEAD of SEV-SNP guest
 * messages and of the wrapped VLEK, and what a guest program seals its own data with.
 * seal: out = ciphertext (same length as the plaintext), tag separate. open: MC_E_VERIFY when the
 * tag does not authenticate, and then out is wiped, so no unauthenticated plaintext leaves it.
 * in and out may be the same buffer. */
#define MC_GCM_KEY_LEN 32
#define MC_GCM_IV_LEN 12
#define MC_GCM_TAG_LEN 16
MC_API mc_status mc_aes256_gcm_seal(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN],
                                    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                                    uint8_t tag[MC_GCM_TAG_LEN], struct mc_error *err);
MC_API mc_status mc_aes256_gcm_open(const uint8_t key[MC_GCM_KEY_LEN], const uint8_t iv[MC_GCM_IV_LEN],
                                    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                                    const uint8_t tag[MC_GCM_TAG_LEN], uint8_t *out, struct mc_error *err);

MC_END_DECLS

#endif
