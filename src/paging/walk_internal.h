/* Internal: the walker entry point used by the TLB's paging-structure (PDE) cache, and the
 * TLB operations the access path (lcpu.c) needs beyond the public ones. */
#ifndef MC_PAGING_WALK_INTERNAL_H
#define MC_PAGING_WALK_INTERNAL_H

#include <memcrypt/paging.h>

/* What a successful walk learned down to the page directory: the page-table base as issued
 * and the rights accumulated over PML4E/PDPTE/PDE. */
struct mc_pde_info {
    uint64_t pt_base;
    bool w, u, nx;
    bool valid;
};

/* start == NULL: full walk from CR3. Otherwise walk only the PTE level from start (whose
 * upper-level accessed bits were set when it was recorded). pde_out (may be NULL) receives the
 * PDE-level information when the walk went through a 4 KiB page table. */
mc_status mc_walk_internal(const struct mc_paging_mode *mode, const struct mc_pt_io *io,
                           const struct mc_paging_regs *regs, uint64_t va, unsigned acc, const struct mc_pde_info *start,
                           struct mc_pde_info *pde_out, struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err);

/* TLB entries carry (tag, root): tag = address-space id (0 host, ASID, VPID), with
 * TLB_GPHYS set for guest-physical (nested-only) translations; root = the nested table root the
 * entry was derived from (nCR3 / EPTP, 0 without nesting). */
#define TLB_GPHYS 0x80000000u
bool tlb_lookup(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, unsigned acc,
                const struct mc_paging_regs *regs, struct mc_xlat *out);
void tlb_insert(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, const struct mc_xlat *x);
/* Walk with the paging-structure cache of (tag, root); inserts nothing into the TLB. */
mc_status tlb_walk(struct mc_tlb *t, uint32_t tag, uint64_t root, const struct mc_paging_mode *mode,
                   const struct mc_pt_io *io, const struct mc_paging_regs *regs, uint64_t va, unsigned acc,
                   struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err);
/* Record check verdicts (bits ok, valid in epoch) in the entry of (tag, root) covering va, if any:
 * bits accumulate within one epoch, a new epoch starts over. */
void tlb_set_check(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, uint32_t epoch, uint8_t ok);
/* Drop every entry (any tag) derived from root, and the paging-structure caches. */
void tlb_flush_root(struct mc_tlb *t, uint64_t root);

#endif
