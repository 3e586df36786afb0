/* The emulated chip's SNP identity: what other SNP modules (report builder, guest messages) use
 * internally. Public API: include/memcrypt/snp_identity.h. */
#ifndef MC_SNP_IDENTITY_INT_H
#define MC_SNP_IDENTITY_INT_H

#include <memcrypt/snp_identity.h>

#include "crypto/pk.h"

/* The VCEK key pair at tcb (borrowed: valid until the next call on id). */
mc_status mc_snp_identity_vcek_key(struct mc_snp_identity *id, uint64_t tcb, const struct mc_pk **key,
                                   struct mc_error *err);
/* The loaded VLEK key pair (borrowed), or NULL. */
const struct mc_pk *mc_snp_identity_vlek_key(const struct mc_snp_identity *id);

/* AMD's hash stick (Versioned CEK algorithm as the ASPFW source implements it): for TCB byte
 * i = 0..7 in order, d = SHA-384^(255 - tcb[i])(base_i); base_{i+1} = SHA-384(0^64 bits || d);
 * stick_i = SHA-384(d); base_0 = root. */
mc_status mc_snp_hash_sticks(const uint8_t root[MC_SNP_SEED_LEN], uint64_t tcb, uint8_t sticks[8][MC_SNP_SEED_LEN],
                             struct mc_error *err);

#endif
