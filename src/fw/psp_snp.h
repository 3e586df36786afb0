/* memcrypt — the SNP firmware's internals shared by src/fw/psp_snp*.c.
 *
 * Guest contexts. An SNP guest's state lives in its guest context page (GCTX) in DRAM, a page the
 * RMP marks Context (firmware-owned: the host cannot write it). Like AMD's firmware, which maps
 * that page through its own inline AES engine, memcrypt's firmware seals the context with a key
 * only it holds (AES-256-GCM, a key per firmware instance: contexts outlive SNP_SHUTDOWN, not a reboot): the host and a bus snooper see
 * ciphertext, a physical attacker who rewrites the page makes it fail to open. Layout of the
 * page (memcrypt's own; the context itself is not ABI):
 *     0x000  u32 magic "GCTX", u32 format version, u64 seal counter (the GCM IV with the PFN)
 *     0x010  the context, sealed (PSP_GCTX_LEN bytes, encoded field by field below)
 *     0x010 + PSP_GCTX_LEN  16-byte GCM tag;  the rest of the page is zero
 * GCTX_CREATE zeroes the page and writes an INIT context; every command that changes a guest
 * opens its context, checks, changes a copy, and seals it back only when it succeeds.
 */
#ifndef MC_FW_PSP_SNP_H
#define MC_FW_PSP_SNP_H

#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/snp_api.h>

#include "fw/psp_int.h"
#include "fw/psp_rmp.h"

/* A guest context (the decoded page). */
struct psp_gctx {
    uint8_t state;             /* enum mc_snp_gstate */
    bool active;               /* the ASID is bound and enabled (guest RUNNING) */
    bool pending;              /* ACTIVATE before RUNNING: the key is bound, enabled at LAUNCH_FINISH */
    uint32_t asid;             /* 0 = none */
    uint64_t policy;
    bool ma_en, imi_en;
    uint64_t ma_gctx_paddr;    /* migration agent (MA_EN), else 0 */
    uint8_t vek[32];           /* memory encryption key (AES-128-XTS data || tweak) */
    uint8_t oek[32];           /* offline encryption key (swap) */
    uint8_t vmpck[4][32];
    uint64_t msg_count[4];
    uint8_t vmrk[32];
    uint8_t report_id[32], report_id_ma[32];
    uint8_t ld[48], imd[48];
    uint8_t gosvw[16];
    uint32_t desired_tsc_khz;
    uint64_t psp_tsc_offset;
    uint64_t launch_tcb;
    uint8_t host_data[32];
    bool id_block_en, author_key_en, vcek_dis;
    uint8_t id_block[0x60];
    uint8_t id_key_digest[48], author_key_digest[48];
    uint8_t ver[3];            /* firmware (major, minor, build) that created / last updated it */
};

#define PSP_GCTX_LEN 0x3A0u    /* sealed context bytes (a multiple of 16) */

/* Open the context in the Context page at pa (checked Context by the caller): MC_FW_INVALID_GUEST
 * when it does not open (sealed by another firmware instance, or altered). */
uint32_t psp_gctx_open(struct mc_psp *psp, uint64_t pa, struct psp_gctx *g, struct mc_error *err);
/* Seal g into the page at pa (a new seal counter). */
uint32_t psp_gctx_seal(struct mc_psp *psp, uint64_t pa, const struct psp_gctx *g, struct mc_error *err);
/* GCTX_CREATE: zero the page at pa and seal a fresh INIT context into it. */
uint32_t psp_gctx_create(struct mc_psp *psp, uint64_t pa, const struct psp_gctx *g, struct mc_error *err);
void psp_gctx_wipe(struct psp_gctx *g);
/* The context's field-by-field encoding (what the page seals) and its checked decoding (false:
 * values no command writes). */
void psp_gctx_encode(const struct psp_gctx *g, uint8_t b[PSP_GCTX_LEN]);
bool psp_gctx_decode(const struct mc_psp *psp, const uint8_t b[PSP_GCTX_LEN], struct psp_gctx *g);

/* The RMP entry and state of a GCTX address; MC_FW_INVALID_GUEST unless it is a Context page. */
uint32_t psp_gctx_page(struct mc_psp *psp, uint64_t raw, uint64_t *pa, struct mc_rmp_entry *e, struct mc_error *err);

/* Strip the host's C-bit from an address in an SNP command buffer. */
uint64_t psp_snp_pa(const struct mc_psp *psp, uint64_t raw);
/* The allowed SNP platform states of a command (its line in psp_cmds.h), checked where AMD's
 * firmware checks them: INVALID_PLATFORM_STATE otherwise. */
uint32_t psp_snp_pstate_check(struct mc_psp *psp, uint32_t cmd, struct mc_error *err);
/* The TCB model (psp_snp_platform.c). */
uint64_t psp_snp_current_tcb(const struct mc_psp *psp);
uint64_t psp_snp_committed_tcb(const struct mc_psp *psp);
uint64_t psp_snp_reported_tcb(const struct mc_psp *psp);
void psp_snp_committed_ver(const struct mc_psp *psp, uint8_t ver[3]);
/* The SNP identity, created on first use and persisted (psp_snp_platform.c). */
uint32_t psp_snp_identity(struct mc_psp *psp, struct mc_snp_identity **out, struct mc_error *err);
/* Persist a staged copy of the SNP state (state file); commits it into psp->snp.nv on success. */
uint32_t psp_snp_nv_commit(struct mc_psp *psp, struct psp_snp_nv *staged, struct mc_error *err);

/* Legacy SEV commands and SNP share the ASID bookkeeping (psp->asid_owner/asid_dirty). */
bool psp_asid_free(const struct mc_psp *psp, uint32_t asid);

/* LAUNCH_UPDATE's CPUID page check (psp_snp_cpuid.c): check every entry of the page against what
 * the firmware allows on this processor, correcting the entries in place. MC_FW_SUCCESS when
 * nothing needed correcting; INVALID_PARAM when the header is bad (page untouched) or some entry
 * was corrected (*corrected true: the page holds the corrected table). */
uint32_t psp_snp_cpuid_check(struct mc_psp *psp, uint8_t page[MC_SNP_PAGE], bool *corrected, struct mc_error *err);
/* The same check over count entries (MSG_CPUID_REQ); *checked = entries in the checked ranges. */
uint32_t psp_snp_cpuid_check_list(struct mc_psp *psp, uint8_t *entries, uint32_t count, uint32_t *checked,
                                  bool *corrected, struct mc_error *err);

/* The SNP firmware state into a snapshot digest (mc_psp_snapshot). */
mc_status psp_snp_snapshot(const struct mc_psp *psp, struct mc_hashctx *d, struct mc_error *err);

#endif
