/* Internal: the walker entry point used by the TLB's paging-structure (PDE) cache. */
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

#endif
