/* memcrypt — the SNP firmware's view of the RMP (internal to src/fw).
 *
 * The RMP unit (memcrypt/rmp.h) owns the table: its entry codec, the page states derived from an
 * entry and every transition the firmware makes (mc_rmp_fw_*), each of which invalidates the RMP
 * checks the CPUs cached. The firmware reaches the unit only through its memory port
 * (struct mc_psp_mem.rmp, wired by the board), like every other byte of DRAM it touches. This file
 * adds what is the firmware's own: which pages a command may name (never the RMP's own pages),
 * the mapping of the unit's answers to firmware status codes, and the rule that with SNP
 * initialised the firmware writes only Firmware pages.
 */
#ifndef MC_FW_PSP_RMP_H
#define MC_FW_PSP_RMP_H

#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>

struct mc_psp;

/* The entry governing the 4 KiB page holding spa (C-bit stripped; for a page inside a 2 MiB entry
 * the 2 MiB entry, e->large set) and its state. A page the RMP does not cover, or any page before
 * SNP_INIT, is DEFAULT (*e zero). A page of the RMP itself is INVALID_ADDRESS (the firmware never
 * lets a command name it). Returns a firmware status. */
uint32_t psp_rmp_get(struct mc_psp *psp, uint64_t spa, struct mc_rmp_entry *e, enum mc_rmp_page_state *state,
                     struct mc_error *err);
/* Does the RMP cover spa (an entry exists)? */
bool psp_rmp_covers(const struct mc_psp *psp, uint64_t spa);
/* Does [pa, pa + len) overlap the RMP table? */
bool psp_rmp_overlaps(const struct mc_psp *psp, uint64_t pa, uint64_t len);
/* Assigned 4 KiB pages of asid (the RMP's bookkeeping counters). */
uint64_t psp_rmp_asid_count(struct mc_psp *psp, uint32_t asid);
/* A transition's answer as the firmware's status (MC_FW_SUCCESS for MC_RMP_FW_OK), with a sentence
 * naming the command, the page and the state found. owner_status: what BAD_OWNER means for this
 * command (INVALID_GUEST, INVALID_PAGE_OWNER or INVALID_ADDRESS). */
uint32_t psp_rmp_status(enum mc_rmp_fw_status s, const char *what, uint64_t pa, enum mc_rmp_page_state found,
                        uint32_t owner_status, struct mc_error *err);

/* Every page of [pa, pa + len) Firmware or DEFAULT (what the firmware may write when SNP is
 * initialised); else INVALID_PAGE_STATE. Nothing when SNP is not initialised. */
uint32_t psp_rmp_fw_writable(struct mc_psp *psp, uint64_t raw, uint64_t len, const char *what,
                             struct mc_error *err);

/* After a legacy command that writes its buffer back: the buffer's page loses Immutable
 * (Firmware -> Reclaim), as AMD's dispatcher does once the RMP is initialised. */
void psp_snp_cmdbuf_reclaim(struct mc_psp *psp, uint64_t raw);

#endif
