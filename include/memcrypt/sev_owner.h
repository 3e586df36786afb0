/* memcrypt — the guest owner's side of a legacy SEV launch.
 *
 * What sev-tool's generate_launch_blob / sevctl session / virt-qemu-sev-validate do:
 * create the owner's DH key and GODH certificate plus the LAUNCH_START session blob for a
 * platform's PDH, check the launch measurement, and package a LAUNCH_SECRET.
 * The low-level constructions are in memcrypt/sev_session.h.
 */
#ifndef MEMCRYPT_SEV_OWNER_H
#define MEMCRYPT_SEV_OWNER_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_session.h>

MC_BEGIN_DECLS

struct mc_rng;

/* From the platform's PDH certificate (0x824 bytes; usage PDH, ECDH, P-384): a fresh P-384 owner
 * key, the GODH cert (usage PDH, ECDH-SHA256, unsigned), fresh TEK/TIK, NONCE and WRAP_IV (all from
 * rng) and the session blob for `policy`. tks is secret: wipe it after writing it out. */
MC_API mc_status mc_sev_owner_session(struct mc_rng *rng, const uint8_t *pdh_cert, size_t pdh_len, uint32_t policy,
                               uint8_t godh[MC_SEV_CERT_LEN], uint8_t session[MC_SEV_SESSION_LEN],
                               struct mc_sev_tks *tks, struct mc_error *err);

/* Check a reported measurement (MEASURE || MNONCE, 48 bytes) against the expected launch digest.
 * MC_OK when it matches (constant-time compare), MC_E_VERIFY when not. expected (may be NULL)
 * receives the recomputed MEASURE. */
MC_API MC_MUST_CHECK mc_status mc_sev_owner_verify_measurement(const uint8_t tik[16], const uint8_t measurement[MC_SEV_MEASURE_LEN],
                                          uint8_t api_major, uint8_t api_minor, uint8_t build, uint32_t policy,
                                          const uint8_t ld[32], uint8_t expected[32], struct mc_error *err);

/* The platform owner's step between PEK_CSR and PEK_CERT_IMPORT (sev-tool's sign_pek_csr): from
 * the CSR (0x824 bytes, usage PEK, empty signature slots) and the OCA's P-384 private key (PEM),
 * the OCA certificate (usage OCA, ECDSA-SHA256, self-signed, the CSR's API version) and the PEK
 * signed by the OCA in slot 1. */
MC_API mc_status mc_sev_owner_sign_pek_csr(const uint8_t *csr, size_t csr_len, const uint8_t *oca_pem, size_t pem_len,
                                    uint8_t pek_out[MC_SEV_CERT_LEN], uint8_t oca_out[MC_SEV_CERT_LEN],
                                    struct mc_error *err);

MC_END_DECLS

#endif
