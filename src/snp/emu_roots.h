/* The emulated AMD root keys (internal): like a real chip, an emulated chip carries its product
 * generation's ARK and ASK (and, from Milan on, ASVK) — the same keys on every emulated chip of
 * that generation, in the SEV format and in X.509 alike (AMD's legacy SEV ARK of Milan has the
 * same RSA key as its X.509 ARK) — while its CEK and VCEK come from its own chip secret.
 *
 * The keys are fixed RSA keys generated once (data/emulated-roots/, compiled in by
 * scripts/gen-emulated-roots into emu_roots_data.c). Their private halves are PUBLIC BY DESIGN:
 * anyone can sign with them, so nothing they certify is trusted unless a verifier is told to
 * (`--roots`), and every certificate made from them is marked emulated. */
#ifndef MC_SNP_EMU_ROOTS_H
#define MC_SNP_EMU_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

#include "crypto/pk.h"

enum mc_emu_role { MC_EMU_ARK, MC_EMU_ASK, MC_EMU_ASVK }; /* enum mc_kds_role's order */

struct mc_emu_root {
    const char *product; /* "naples", "rome", "milan", "genoa", "turin" */
    enum mc_emu_role role;
    unsigned bits;        /* 2048 or 4096 */
    const char *der_b64;  /* PKCS#1 RSAPrivateKey, base64 */
};
extern const struct mc_emu_root mc_emu_roots[];
extern const size_t mc_emu_roots_count;

/* The fixed emulated root key of product's generation (a CPU profile name: "naples".."turin"),
 * role and RSA size. MC_E_NOTFOUND when the product has none (not an AMD SEV generation, or ASVK
 * before Milan). */
mc_status mc_emu_root_key(const char *product, enum mc_emu_role role, unsigned bits, struct mc_pk **out,
                          struct mc_error *err);
/* Whether product has emulated roots at all. */
bool mc_emu_root_known(const char *product);
/* Whether der (PKCS#1 RSAPrivateKey DER) is, byte for byte, the fixed emulated root key of
 * product, role and bits (a stored root that is the one compiled in). */
bool mc_emu_root_is(const char *product, enum mc_emu_role role, unsigned bits, const uint8_t *der, size_t len);

#endif
