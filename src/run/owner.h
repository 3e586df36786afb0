/* The guest owner's side of a legacy SEV launch, as used by `memcrypt run` (internal).
 * Built on the shared primitives: P-384 (crypto/pk.h), SEV certificates (sev/cert_key.h) and the
 * launch-channel constructions (memcrypt/sev_session.h). */
#ifndef MC_RUN_OWNER_H
#define MC_RUN_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sev_session.h>

struct mc_rng;

/* From the platform's PDH certificate (0x824 bytes), make a fresh GODH certificate and the
 * LAUNCH_START session blob that wraps tks for policy. The PDH must be a P-384 ECDH key. */
mc_status mc_run_owner_session(struct mc_rng *rng, const uint8_t *pdh, size_t pdh_len, const struct mc_sev_tks *tks,
                               uint32_t policy, uint8_t api_major, uint8_t api_minor,
                               uint8_t godh_out[0x824], uint8_t session_out[MC_SEV_SESSION_LEN],
                               struct mc_error *err);

/* Find the entry with GUID guid (EFI byte order) in an OVMF secret table; data and len point into
 * table. False when the table is malformed or has no such entry. With guid NULL, the first
 * entry is returned and *guid_out (if non-NULL) receives its GUID. */
bool mc_run_secret_lookup(const uint8_t *table, size_t table_len, const uint8_t *guid, const uint8_t **data,
                          size_t *len, uint8_t guid_out[16]);

#endif
