/* The emulated AMD key server for one product generation (internal; X.509 module).
 *
 * ARK, ASK and ASVK: RSA-4096 keys (2048 on request, for fast tests): the generation's fixed
 * emulated keys (snp/emu_roots.h), or, for a root of the caller's own, generated deterministically
 * from a root seed (each from its own DRBG, seeded with SP 800-108 KDF(seed,
 * "memcrypt-emulated-<role>", generation)); and
 * certificates from the shared KDS builder (snp/kdscert.h) marked EMULATED, valid 2024-01-01 ..
 * 2049-01-01. Issues VCEK/VLEK certificates (same validity). */
#ifndef MC_SNP_KDS_H
#define MC_SNP_KDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

#include "crypto/pk.h"

#define MC_KDS_NROOTS 3 /* ARK, ASK, ASVK (enum mc_kds_role order) */

struct mc_kds {
    enum mc_snp_gen gen;
    struct mc_pk *key[MC_KDS_NROOTS];
    X509 *cert[MC_KDS_NROOTS];
};

/* bits: 4096 (AMD's) or 2048. Keys generated from seed: a root of the caller's own. */
mc_status mc_kds_generate(struct mc_kds *k, enum mc_snp_gen g, const uint8_t *seed, size_t seed_len, unsigned bits,
                          struct mc_error *err);
/* The generation's fixed emulated roots (snp/emu_roots.h: the same keys on every emulated chip of
 * g, public by design), certified as above. */
mc_status mc_kds_emulated(struct mc_kds *k, enum mc_snp_gen g, unsigned bits, struct mc_error *err);
/* dst shares src's keys and certificates. */
mc_status mc_kds_copy(struct mc_kds *dst, const struct mc_kds *src, struct mc_error *err);
void mc_kds_clear(struct mc_kds *k);

/* Leaf certificates, DER into a malloc'd buffer. */
mc_status mc_kds_issue(const struct mc_kds *k, bool vlek, unsigned stepping, uint64_t tcb, const uint8_t hwid[64],
                       const char *csp_id, const struct mc_pk *pub, uint8_t **der, size_t *len, struct mc_error *err);
/* DER of a root certificate (malloc'd). */
mc_status mc_kds_cert_der(const struct mc_kds *k, int role, uint8_t **der, size_t *len, struct mc_error *err);

/* The ARK's CRL (DER, malloc'd; snp/kdscert.h), valid as long as the roots. */
mc_status mc_kds_crl_der(const struct mc_kds *k, uint8_t **der, size_t *len, struct mc_error *err);

/* Storage: for each root, u32 LE length + certificate DER, u32 LE length + private key DER.
 * size: an upper bound for mc_kds_write. */
size_t mc_kds_size(const struct mc_kds *k);
mc_status mc_kds_write(const struct mc_kds *k, uint8_t *out, size_t cap, size_t *used, struct mc_error *err);
/* Parse (untrusted): certificates must be the EMULATED roots of generation g with their roles'
 * names and extensions, each key must be RSA-4096 and pair with its certificate, ARK self-signed,
 * ASK/ASVK signed by the ARK, every key of one size (2048 or 4096 bits). MC_E_FORMAT with a sentence; k untouched on failure. */
mc_status mc_kds_read(struct mc_kds *k, enum mc_snp_gen g, const uint8_t *buf, size_t len, size_t *used,
                      struct mc_error *err);

#endif
