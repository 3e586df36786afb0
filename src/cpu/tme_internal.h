/* memcrypt — TME/MKTME unit state shared by tme.c and pconfig.c (internal). */
#ifndef MC_CPU_TME_INTERNAL_H
#define MC_CPU_TME_INTERNAL_H

#include <memcrypt/tme.h>

#define MC_TME_KEY_MAX 64u /* AES-256-XTS: data key || tweak key */

struct mc_tme_kt_entry {
    uint8_t mode;   /* enum mc_keyid_mode */
    uint8_t cipher; /* enum mc_cipher */
};

struct mc_tme {
    struct mc_tme_config cfg;
    struct mc_rng *rng;
    struct mc_tme_backend be;

    uint64_t activate;     /* IA32_TME_ACTIVATE as read back */
    uint64_t exclude_mask; /* IA32_TME_EXCLUDE_MASK */
    uint64_t exclude_base; /* IA32_TME_EXCLUDE_BASE */
    bool core_activated;   /* MK_TME_CORE_ACTIVATE was written */

    /* Key storage kept across standby when TME_ACTIVATE[3] was set. */
    uint8_t saved_key[MC_TME_KEY_MAX];
    size_t saved_key_len; /* 0: nothing saved (restoring gives a zero key) */

    /* Key table, indexed by KeyID; sized 2^MAX_KEYID_BITS. */
    struct mc_tme_kt_entry *kt;
    uint32_t kt_len;

    unsigned rng_fail; /* injected: the next rng_fail draws fail */
    bool kt_lock_other; /* injected: another LP holds the key-table lock */
    bool kt_lock_mine;  /* held by the PCONFIG in progress */

    void *owned; /* freed with the unit (the machine glue's backend context) */
};

/* Draw n bytes from the CPU RNG; false on (injected or real) failure. */
bool mc_tme_rng_draw(struct mc_tme *t, uint8_t *out, size_t n);
/* Key bytes per half for an MKTME algorithm bit (0 when not a modelled algorithm). */
size_t mc_tme_alg_half_len(uint32_t alg_bit);
enum mc_cipher mc_tme_alg_cipher(uint32_t alg_bit);

/* Snapshots (memcrypt/board.h's mc_board_snapshot): MSRs, the key table, the saved standby key,
 * injected faults. The keys themselves live in engine slots (the engine's own snapshot). */
struct mc_tme_snap;
mc_status mc_tme_snap_save(const struct mc_tme *t, struct mc_tme_snap **out, struct mc_error *err);
mc_status mc_tme_snap_restore(struct mc_tme *t, const struct mc_tme_snap *s, struct mc_error *err);
void mc_tme_snap_free(struct mc_tme_snap *s); /* wipes the saved key copy */

#endif
