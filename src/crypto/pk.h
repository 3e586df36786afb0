/* memcrypt — public-key wrappers over OpenSSL libcrypto (internal header).
 *
 * P-384 ECDSA with raw (r, s), P-384 ECDH, RSA-PSS, and deterministic key generation from an
 * mc_rng (so a seeded machine always gets the same keys). All big numbers at this interface are
 * BIG-endian, fixed width where stated; the SEV certificate code converts to the spec's
 * little-endian layouts itself.
 *
 * Ownership: every function that returns a `struct mc_pk *` hands a new reference to the caller,
 * who releases it with mc_pk_free(). Keys are immutable after creation and may be shared
 * read-only between threads.
 */
#ifndef MC_CRYPTO_PK_H
#define MC_CRYPTO_PK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#include "crypto/crypto.h"

#define MC_P384_LEN 48        /* bytes of a P-384 coordinate, scalar, r or s */
#define MC_RSA_MIN_BITS 2048  /* smallest RSA modulus accepted anywhere */
#define MC_RSA_MAX_BITS 4096  /* largest RSA modulus accepted anywhere */

enum mc_pk_kind { MC_PK_NONE = 0, MC_PK_P384 = 1, MC_PK_RSA = 2 };

struct mc_pk;
void mc_pk_free(struct mc_pk *k);
/* An independent copy of k (private part included). */
mc_status mc_pk_dup(const struct mc_pk *k, struct mc_pk **out, struct mc_error *err);
enum mc_pk_kind mc_pk_kind(const struct mc_pk *k);
bool mc_pk_has_private(const struct mc_pk *k);
/* RSA modulus size in bits (0 for non-RSA keys). */
unsigned mc_pk_rsa_bits(const struct mc_pk *k);

/* ---- P-384 ------------------------------------------------------------------------------- */

/* Key pair from "extra random bits" (FIPS 186-4 B.4.1): d = (c mod (n-1)) + 1 where c is the
 * big-endian integer in `c` (clen >= 56 bytes, i.e. at least 64 bits more than n). */
mc_status mc_p384_from_bits(const uint8_t *c, size_t clen, struct mc_pk **out, struct mc_error *err);
/* Fresh key pair: 56 bytes from rng, then mc_p384_from_bits (deterministic for a seeded rng). */
mc_status mc_p384_generate(struct mc_rng *rng, struct mc_pk **out, struct mc_error *err);
/* Key pair from a private scalar (1 <= d < n, else MC_E_FORMAT). */
mc_status mc_p384_from_private(const uint8_t d[MC_P384_LEN], struct mc_pk **out, struct mc_error *err);
/* Public key from affine coordinates; MC_E_FORMAT when the point is not on P-384 (or is the
 * point at infinity / coordinates >= p). */
mc_status mc_p384_from_public(const uint8_t x[MC_P384_LEN], const uint8_t y[MC_P384_LEN], struct mc_pk **out,
                              struct mc_error *err);
mc_status mc_p384_get_public(const struct mc_pk *k, uint8_t x[MC_P384_LEN], uint8_t y[MC_P384_LEN],
                             struct mc_error *err);
/* Private scalar (secret: wipe it after use). MC_E_STATE for a public-only key. */
mc_status mc_p384_get_private(const struct mc_pk *k, uint8_t d[MC_P384_LEN], struct mc_error *err);

/* ECDSA over msg with hash "SHA256" or "SHA384"; r and s big-endian, 48 bytes each. */
mc_status mc_ecdsa_sign(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                        uint8_t r[MC_P384_LEN], uint8_t s[MC_P384_LEN], struct mc_error *err);
/* MC_OK when valid, MC_E_VERIFY when the signature does not verify (r/s zero or >= n included). */
mc_status mc_ecdsa_verify(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                          const uint8_t r[MC_P384_LEN], const uint8_t s[MC_P384_LEN], struct mc_error *err);
/* ECDH: z = x-coordinate of priv * peer, 48 bytes big-endian (secret: wipe after use). */
mc_status mc_ecdh_p384(const struct mc_pk *priv, const struct mc_pk *peer, uint8_t z[MC_P384_LEN],
                       struct mc_error *err);

/* secp256k1 public point of d = (c mod (n-1)) + 1 (clen >= 40), x and y big-endian 32 bytes.
 * Used for the GET_ID chip identifier. */
mc_status mc_secp256k1_public_from_bits(const uint8_t *c, size_t clen, uint8_t x[32], uint8_t y[32],
                                        struct mc_error *err);

/* ---- P-384 in AMD's little-endian wire formats -------------------------------------------- */
/* SEV certificates, SNP ID blocks and attestation reports store coordinates and r/s as
 * little-endian numbers zero-padded to 72 bytes. These convert at the boundary. */
#define MC_P384_LE72 72
/* Public key (x, y as LE72; bytes 48..71 must be zero, else MC_E_FORMAT). */
mc_status mc_p384_from_public_le72(const uint8_t x[MC_P384_LE72], const uint8_t y[MC_P384_LE72],
                                   struct mc_pk **out, struct mc_error *err);
mc_status mc_p384_get_public_le72(const struct mc_pk *k, uint8_t x[MC_P384_LE72], uint8_t y[MC_P384_LE72],
                                  struct mc_error *err);
/* ECDSA with r, s as LE72. verify: MC_E_VERIFY for a bad signature or non-zero padding. */
mc_status mc_ecdsa_sign_le72(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                             uint8_t r[MC_P384_LE72], uint8_t s[MC_P384_LE72], struct mc_error *err);
mc_status mc_ecdsa_verify_le72(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                               const uint8_t r[MC_P384_LE72], const uint8_t s[MC_P384_LE72], struct mc_error *err);

/* A P-384 key set up once for many ECDSA verifications with one hash ("SHA256"/"SHA384"): each
 * check is the hash and the signature check, with no per-call context setup (a verifier checking
 * many reports of one chip). Same results as mc_ecdsa_verify / mc_ecdsa_verify_le72, which use
 * it. Not thread-safe: one per thread. It holds its own reference to the key. */
struct mc_ecdsa_prepared;
/* An mc_pk for the public part of an OpenSSL P-384 key, e.g. a certificate's (X509_get0_pubkey),
 * which gains a reference (no re-encoding). MC_E_FORMAT when it is not a P-384 key. */
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */
mc_status mc_p384_from_evp_public(struct evp_pkey_st *pkey, struct mc_pk **out, struct mc_error *err);
mc_status mc_ecdsa_prepare(const struct mc_pk *k, const char *hash, struct mc_ecdsa_prepared **out,
                           struct mc_error *err);
mc_status mc_ecdsa_prepared_verify(struct mc_ecdsa_prepared *p, const void *msg, size_t len,
                                   const uint8_t r[MC_P384_LEN], const uint8_t s[MC_P384_LEN], struct mc_error *err);
mc_status mc_ecdsa_prepared_verify_le72(struct mc_ecdsa_prepared *p, const void *msg, size_t len,
                                        const uint8_t r[MC_P384_LE72], const uint8_t s[MC_P384_LE72],
                                        struct mc_error *err);
void mc_ecdsa_prepared_free(struct mc_ecdsa_prepared *p);
/* A P-384 key from PEM (unencrypted PKCS#8/SEC1 private key; with need_private false also a
 * SubjectPublicKeyInfo public key). Other curves/algorithms: MC_E_FORMAT naming P-384. */
mc_status mc_p384_load_pem(const uint8_t *pem, size_t len, bool need_private, struct mc_pk **out,
                           struct mc_error *err);

/* ---- RSA --------------------------------------------------------------------------------- */

/* Public key from big-endian modulus and exponent (leading zeros allowed). The modulus must
 * have MC_RSA_MIN_BITS..MC_RSA_MAX_BITS significant bits and be odd; e must be odd and > 1. */
mc_status mc_rsa_from_public(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, struct mc_pk **out,
                             struct mc_error *err);
/* Deterministic key generation from rng: candidate primes from DRBG bytes (top two bits and the
 * low bit set), tested with BN_check_prime; gcd(p-1, e) = 1; modulus of exactly `bits` bits.
 * bits: 2048..4096, multiple of 16; e odd, >= 3. */
mc_status mc_rsa_generate(struct mc_rng *rng, unsigned bits, uint32_t e, struct mc_pk **out, struct mc_error *err);
/* Big-endian modulus (exactly bits/8 bytes, zero-padded) and exponent (minimal, *elen bytes).
 * n_cap / e_cap are the buffer sizes; too small -> MC_E_RANGE. Either output may be NULL. */
mc_status mc_rsa_get_public(const struct mc_pk *k, uint8_t *n, size_t n_cap, size_t *nlen, uint8_t *e,
                            size_t e_cap, size_t *elen, struct mc_error *err);

#define MC_PSS_SALT_DIGEST (-1) /* salt length = digest length */
#define MC_PSS_SALT_AUTO (-2)   /* verify only: accept any salt length (recovered from EM) */

/* RSA-PSS (MGF1 with the same hash). sig receives exactly modulus-size bytes, big-endian;
 * sig_cap must be >= that; *siglen gets it. */
mc_status mc_rsa_pss_sign(const struct mc_pk *k, const char *hash, int saltlen, const void *msg, size_t len,
                          uint8_t *sig, size_t sig_cap, size_t *siglen, struct mc_error *err);
/* MC_OK when valid, MC_E_VERIFY when not. siglen must equal the modulus size. */
mc_status mc_rsa_pss_verify(const struct mc_pk *k, const char *hash, int saltlen, const void *msg, size_t len,
                            const uint8_t *sig, size_t siglen, struct mc_error *err);

/* ---- sharing and storage ------------------------------------------------------------------ */

/* The private key in OpenSSL's type-specific DER (RSAPrivateKey / ECPrivateKey). *der is
 * malloc'd and secret: the caller wipes and frees it. MC_E_STATE for a public-only key. */
mc_status mc_pk_private_der(const struct mc_pk *k, uint8_t **der, size_t *len, struct mc_error *err);
/* Parse what mc_pk_private_der wrote (untrusted bytes: every byte must be consumed; RSA moduli
 * MC_RSA_MIN_BITS..MC_RSA_MAX_BITS; EC keys must be P-384). MC_E_FORMAT with a sentence. */
mc_status mc_pk_from_private_der(const uint8_t *der, size_t len, enum mc_pk_kind kind, struct mc_pk **out,
                                 struct mc_error *err);
/* For modules whose job is X.509 (they may use OpenSSL's X.509 API directly): the key as an
 * OpenSSL EVP_PKEY, borrowed — valid while k lives, never freed by the caller. */
struct evp_pkey_st;
struct evp_pkey_st *mc_pk_evp(const struct mc_pk *k);

/* Reverse a byte string in place (little-endian <-> big-endian). */
void mc_reverse(uint8_t *p, size_t n);

#endif
