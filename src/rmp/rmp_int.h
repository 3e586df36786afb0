/* memcrypt — internals of the RMP unit (src/rmp only). */
#ifndef MC_RMP_RMP_INT_H
#define MC_RMP_RMP_INT_H

#include <memcrypt/rmp.h>

struct mc_rmp {
    struct mc_machine *m;
    struct memctl *mc;
    uint64_t bios_base, bios_end; /* what the BIOS programmed (reset values) */
    uint64_t base, end;           /* the MSRs: RMP_BASE (bits 12:0 clear), RMP_END (bits 12:0 set) */
    uint64_t dram_size;
    uint64_t cmask;               /* C-bit mask of the platform (0 without SME) */
    uint32_t max_asid;            /* CPUID 8000_001F ECX */
    bool has_vmpl, has_rmpread;
    bool snp_en, vmpl_en, table_ready;
    uint32_t gen;                 /* bumped on every entry change */
    /* Entries read in this generation (the CPU keeps RMP entries it used close by; any RMP change
     * starts a new generation). Direct-mapped by the PFN's low bits, so neighbouring pages share
     * cache lines: 16384 slots of 32 bytes, the entries of 64 MiB of memory. */
    struct rmp_ecache {
        uint64_t pfn;
        uint32_t gen;
        uint32_t valid;
        uint8_t raw[16];
    } *ecache;
};

#define RMP_2M 0x200000ull
#define RMP_PAGES_2M 512u
#define RMP_ECACHE_BITS 14

/* Is the 4 KiB page pfn covered by the table (an entry exists and the page is DRAM)? */
bool rmp_covered(const struct mc_rmp *r, uint64_t pfn);
/* Entry of pfn through the memory controller (caller checked coverage). */
mc_status rmp_get(struct mc_rmp *r, uint64_t pfn, struct mc_rmp_entry *e, struct mc_error *err);
/* Write the entry of pfn: bookkeeping counters adjusted, generation bumped. old = what it held. */
mc_status rmp_put(struct mc_rmp *r, uint64_t pfn, const struct mc_rmp_entry *old, const struct mc_rmp_entry *e,
                  struct mc_error *err);
/* The entry that governs pfn: the 2 MiB entry of its region when pfn's own entry and the region's
 * first entry are both an assigned 2 MiB entry (*large = true, *e = the first entry), else pfn's own
 * entry (the unit writes a 2 MiB entry into all 512 entries; a lone firmware write of one mirror
 * makes that page a 4 KiB page). */
mc_status rmp_authoritative(struct mc_rmp *r, uint64_t pfn, struct mc_rmp_entry *e, bool *large, struct mc_error *err);
/* Does the page [spa, spa+4K) lie inside the RMP's own range? */
bool rmp_is_table_page(const struct mc_rmp *r, uint64_t pfn);
/* Write a whole 2 MiB region's 512 entries from the template at head (GPAs consecutive when
 * step_gpa) — head must be 2 MiB aligned and covered. olds: the 512 current entries. */
mc_status rmp_put_region(struct mc_rmp *r, uint64_t head, const struct mc_rmp_entry *olds, const struct mc_rmp_entry *t,
                         bool step_gpa, struct mc_error *err);
mc_status rmp_get_region(struct mc_rmp *r, uint64_t head, struct mc_rmp_entry *out /* [512] */, struct mc_error *err);
/* Before a 4 KiB write into a region whose first entry is a 2 MiB entry that is not assigned:
 * clear the page-size bit of all 512 (they are all unassigned). */
mc_status rmp_normalize_region(struct mc_rmp *r, uint64_t pfn, struct mc_error *err);

/* Faults. */
mc_status rmp_fault(struct mc_fault *f, enum mc_fault_kind kind, uint64_t code, uint64_t addr, struct mc_error *err,
                    const char *why);

#endif
