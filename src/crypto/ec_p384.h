/* memcrypt — ECDSA P-384 with SHA-384 over OpenSSL, in the AMD SEV-SNP wire formats
 * (internal header). SNP stores integers little-endian, zero padded to 72 bytes: signatures as
 * R ‖ S and public keys as QX ‖ QY (SNP ABI "ECDSA public key" / "ECDSA signature").
 */
#ifndef MC_CRYPTO_EC_P384_H
#define MC_CRYPTO_EC_P384_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#define MC_P384_LE_LEN 72 /* one SNP little-endian integer field */

struct mc_p384_key; /* an EVP_PKEY on P-384, public or private */

/* Load a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY", unencrypted) or, when
 * need_private is false, also a public key. Anything but a P-384 key is refused. */
mc_status mc_p384_load_pem(const uint8_t *pem, size_t len, bool need_private, struct mc_p384_key **out,
                           struct mc_error *err);
/* Public point as SNP little-endian QX, QY (72 bytes each, upper 24 bytes zero). */
mc_status mc_p384_pub_le(const struct mc_p384_key *k, uint8_t qx[MC_P384_LE_LEN], uint8_t qy[MC_P384_LE_LEN],
                         struct mc_error *err);
/* Key from SNP little-endian QX, QY; the point must be on the curve (MC_E_VERIFY otherwise). */
mc_status mc_p384_from_le(const uint8_t qx[MC_P384_LE_LEN], const uint8_t qy[MC_P384_LE_LEN],
                          struct mc_p384_key **out, struct mc_error *err);
/* ECDSA-SHA384 signature of msg as SNP little-endian R, S. */
mc_status mc_p384_sign_le(const struct mc_p384_key *k, const uint8_t *msg, size_t len, uint8_t r[MC_P384_LE_LEN],
                          uint8_t s[MC_P384_LE_LEN], struct mc_error *err);
/* Verify; MC_E_VERIFY when the signature does not match. */
mc_status mc_p384_verify_le(const struct mc_p384_key *k, const uint8_t *msg, size_t len,
                            const uint8_t r[MC_P384_LE_LEN], const uint8_t s[MC_P384_LE_LEN], struct mc_error *err);
void mc_p384_free(struct mc_p384_key *k);

#endif
