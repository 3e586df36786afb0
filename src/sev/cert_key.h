/* memcrypt — SEV / AMD certificates <-> keys, and signing (internal header).
 * Used by the emulated platform identity and the guest owner's session code. */
#ifndef MC_SEV_CERT_KEY_H
#define MC_SEV_CERT_KEY_H

#include <memcrypt/sev_cert.h>

#include "crypto/pk.h"

/* Public key of a SEV certificate (P-384 or RSA); caller frees. */
mc_status mc_sev_cert_get_pubkey(const struct mc_sev_cert *c, struct mc_pk **out, struct mc_error *err);
/* Fresh unsigned certificate (both slots empty) holding key k's public part.
 * usage/algo must be a valid pair (e.g. PDH + ECDH-SHA256); k must be P-384 for EC algos. */
mc_status mc_sev_cert_init(struct mc_sev_cert *c, uint32_t usage, uint32_t algo, uint8_t api_major,
                           uint8_t api_minor, const struct mc_pk *k, struct mc_error *err);
/* Sign bytes 0x000..0x413 of c with signer_key into slot 0 or 1, recording (signer_usage, signer_algo).
 * ECDSA algos need a P-384 key, RSA algos an RSA key (PSS, salt = digest length). */
mc_status mc_sev_cert_sign(struct mc_sev_cert *c, int slot, const struct mc_pk *signer_key, uint32_t signer_usage,
                           uint32_t signer_algo, struct mc_error *err);

/* RSA public key of an AMD certificate; caller frees. */
mc_status mc_amd_cert_get_pubkey(const struct mc_amd_cert *c, struct mc_pk **out, struct mc_error *err);
/* Fresh unsigned AMD certificate for RSA key k. */
mc_status mc_amd_cert_init(struct mc_amd_cert *c, const uint8_t key_id[16], const uint8_t certifying_id[16],
                           uint32_t key_usage, const struct mc_pk *k, struct mc_error *err);
/* Sign c with the signer's RSA key (PSS; SHA-256 for 2048-bit signers, SHA-384 for 4096). */
mc_status mc_amd_cert_sign(struct mc_amd_cert *c, const struct mc_pk *signer_key, struct mc_error *err);

#endif
