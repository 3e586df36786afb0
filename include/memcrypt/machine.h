/* memcrypt — a whole machine: DRBG, engine, DRAM, memory controller (with cache), CPU state
 * (profile, MSRs, CR0/CR3/CR4/EFER) and TLB. No global state: any number of machines may
 * live in one process. Every host access goes walk -> memory controller -> cache -> engine ->
 * DRAM; there is no path around the engine except the DRAM raw port (what a bus snooper sees).
 */
#ifndef MEMCRYPT_MACHINE_H
#define MEMCRYPT_MACHINE_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/cpu.h>
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>
#include <memcrypt/error.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/mc.h>
#include <memcrypt/paging.h>

MC_BEGIN_DECLS

struct mc_rng;

struct mc_machine_config {
    const char *platform;       /* profile name (memcrypt/cpu.h), required */
    uint64_t dram_size;         /* bytes, multiple of 4 KiB */
    const char *dram_file;      /* optional backing file (cold-boot experiments) */
    const uint8_t *seed;        /* NULL: keys from the OS DRBG; else deterministic */
    size_t seed_len;
    struct mc_bios bios;        /* MC_BIOS_DEFAULTS for the profile's settings */
    struct memctl_cache_geom cache; /* zeros: defaults */
    unsigned tlb_entries;       /* 0: default */
};
/* Fill cfg with defaults: no platform, 64 MiB DRAM, no file, OS seed, profile BIOS. */
MC_API void mc_machine_config_init(struct mc_machine_config *cfg);

struct mc_machine;

/* Create: generates the platform keys the BIOS settings call for (SME host key, TSME key,
 * TME KeyID-0 key) from the machine's DRBG; CPU in reset state (paging off). */
MC_API mc_status mc_machine_create(const struct mc_machine_config *cfg, struct mc_machine **out, struct mc_error *err);
/* Destroy: wipes cache and keys; DRAM file (if any) keeps what DRAM held (dirty cache lines
 * are lost, as on power loss). NULL is fine. */
MC_API void mc_machine_destroy(struct mc_machine *m);
/* Reset: new platform keys (old DRAM contents now decrypt to garbage), cache dropped, TLB
 * flushed, CPU registers back to reset values, MSRs to their BIOS values, the memory
 * controller's platform (mode, KeyID bits, exclusion range) back to what the BIOS settings
 * give; then every registered reset hook runs (MC_MACHINE_RESET_COLD). */
MC_API mc_status mc_machine_reset(struct mc_machine *m, struct mc_error *err);
/* Resume from standby (S3): DRAM keeps its contents, everything else is reset as by
 * mc_machine_reset (the machine's own BIOS platform keys are regenerated: the modelled BIOS
 * does not save them); hooks run with MC_MACHINE_RESET_STANDBY, so a unit that can save a key
 * across standby (Intel TME_ACTIVATE[3]) keeps it for a restore. */
MC_API mc_status mc_machine_standby_resume(struct mc_machine *m, struct mc_error *err);

/* Reset hooks: units attached to the machine (the TME/MKTME unit) reset with it. A hook runs
 * after the machine's own reset, in registration order; a hook error stops the sequence and
 * is returned (the machine itself is already reset). ctx is borrowed: it must outlive the
 * machine or be unregistered first. Registering the same (fn, ctx) twice is MC_E_STATE. */
enum mc_machine_reset_kind { MC_MACHINE_RESET_COLD = 0, MC_MACHINE_RESET_STANDBY = 1 };
typedef mc_status (*mc_reset_hook_fn)(void *ctx, struct mc_machine *m, enum mc_machine_reset_kind kind,
                                      struct mc_error *err);
#define MC_MACHINE_MAX_RESET_HOOKS 4
MC_API mc_status mc_machine_reset_hook_register(struct mc_machine *m, mc_reset_hook_fn fn, void *ctx, struct mc_error *err);
/* MC_E_NOTFOUND when (fn, ctx) is not registered. */
MC_API mc_status mc_machine_reset_hook_unregister(struct mc_machine *m, mc_reset_hook_fn fn, void *ctx, struct mc_error *err);

MC_API const struct mc_cpu_profile *mc_machine_profile(const struct mc_machine *m);
/* The BIOS settings in force (resolved: no -1 fields). Zeros for a NULL machine. */
MC_API void mc_machine_get_bios(const struct mc_machine *m, struct mc_bios *out);
MC_API struct memctl *mc_machine_memctl(struct mc_machine *m);
MC_API struct mc_engine *mc_machine_engine(struct mc_machine *m);
MC_API struct mc_dram *mc_machine_dram(struct mc_machine *m);
MC_API struct mc_tlb *mc_machine_tlb(struct mc_machine *m);
/* The host CPU (registers, TLB, the one access path of memcrypt/lcpu.h, its check hook). */
MC_API struct mc_lcpu *mc_machine_cpu(struct mc_machine *m);
MC_API struct mc_rng *mc_machine_rng(struct mc_machine *m);
/* Paging mode (address bits, C-bit) implied by the platform. */
MC_API struct mc_paging_mode mc_machine_paging_mode(const struct mc_machine *m);

/* Control registers (enum mc_creg: memcrypt/lcpu.h). */
MC_API void mc_machine_get_regs(const struct mc_machine *m, struct mc_paging_regs *r);
/* MOV to CR / WRMSR EFER: CR3 write flushes non-global TLB entries (all when CR4.PGE=0);
 * changes of CR0.PG/WP, CR4.PGE/PAE/SMEP or EFER.NXE flush the whole TLB. CR3 with bits
 * above the usable width (except the C-bit) -> #GP(0). */
MC_API mc_status mc_machine_set_reg(struct mc_machine *m, enum mc_creg reg, uint64_t val, struct mc_fault *fault,
                             struct mc_error *err);
MC_API void mc_machine_invlpg(struct mc_machine *m, uint64_t va);

/* Host CPU accesses at virtual addresses (CPL 0 unless user), all through the one access path
 * (memcrypt/lcpu.h) and its fault contract: faults -> MC_E_FAULT + *fault; every page is
 * translated (and checked against DRAM size and key bindings) before any byte moves, so a
 * failing access changes no memory (accessed/dirty bits of the pages already translated may be
 * set, as the architecture allows). mc_machine_copy moves page by page: a fault leaves the
 * pages before it copied (like REP MOVS). */
MC_API mc_status mc_machine_load(struct mc_machine *m, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                          struct mc_error *err);
MC_API mc_status mc_machine_store(struct mc_machine *m, uint64_t va, const void *buf, size_t len, bool user,
                           struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_machine_fetch(struct mc_machine *m, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                           struct mc_error *err);
/* Bulk copy (like REP MOVS with non-temporal stores): page-granular translation and whole-line
 * runs through the engine. */
MC_API mc_status mc_machine_copy(struct mc_machine *m, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                          struct mc_error *err);
/* Translate only (for tools): as a load (acc = MC_PG_*). */
MC_API mc_status mc_machine_translate(struct mc_machine *m, uint64_t va, unsigned acc, struct mc_xlat *out,
                               struct mc_fault *fault, struct mc_error *err);

/* Host physical accesses (address as issued, C-bit / KeyID bits included), through the same
 * path (no translation; the check hook and the fault contract apply). */
MC_API mc_status mc_machine_phys_read(struct mc_machine *m, uint64_t addr, void *buf, size_t len, struct mc_fault *fault,
                               struct mc_error *err);
MC_API mc_status mc_machine_phys_write(struct mc_machine *m, uint64_t addr, const void *buf, size_t len,
                                struct mc_fault *fault, struct mc_error *err);

/* Cache instructions. CLFLUSH takes a virtual address (translated like a load). */
MC_API mc_status mc_machine_clflush(struct mc_machine *m, uint64_t va, struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_machine_wbinvd(struct mc_machine *m, struct mc_error *err);

/* CPUID as the profile answers. */
MC_API void mc_machine_cpuid(const struct mc_machine *m, uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out);

/* MSRs. Unknown MSR or a write to a read-only MSR -> #GP(0) (MC_E_FAULT). Built in: SYSCFG
 * (read; writes of bit 23 refused after BIOS lock), HWCR (read/write of SmmLock until set),
 * SEV_STATUS (read 0 on the host), VM_PAGE_FLUSH (write: host VA | ASID), Intel 0x981-0x984
 * (read). Extra handlers take precedence (the TME/MKTME model registers its own); a handler
 * returning MC_E_NOTFOUND passes the MSR on to the next one. */
typedef mc_status (*mc_rdmsr_fn)(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *fault,
                                 struct mc_error *err);
typedef mc_status (*mc_wrmsr_fn)(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *fault,
                                 struct mc_error *err);
struct mc_msr_handler {
    uint32_t first, last; /* MSR range handled */
    mc_rdmsr_fn rd;       /* NULL: #GP on read */
    mc_wrmsr_fn wr;       /* NULL: #GP on write */
    void *ctx;
};
#define MC_MACHINE_MAX_MSR_HANDLERS 8
MC_API mc_status mc_machine_msr_register(struct mc_machine *m, const struct mc_msr_handler *h, struct mc_error *err);
/* Does a registered handler's range cover msr? (Built-ins do not count; a handler may still
 * pass an MSR of its range on.) */
MC_API bool mc_machine_msr_handled(const struct mc_machine *m, uint32_t msr);
/* Remove every handler registered with this ctx; MC_E_NOTFOUND when there is none. */
MC_API mc_status mc_machine_msr_unregister(struct mc_machine *m, const void *ctx, struct mc_error *err);
MC_API mc_status mc_machine_rdmsr(struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *fault,
                           struct mc_error *err);
MC_API mc_status mc_machine_wrmsr(struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *fault,
                           struct mc_error *err);

/* Page-table builder for tests, demos and benchmarks: tables are carved bump-style from the
 * physical range [base, base+size) and written through the memory controller (encrypted with
 * the host key when enc is set, i.e. every table pointer and CR3 carry the C-bit). */
struct mc_ptb {
    struct mc_machine *m;
    uint64_t base, size, next, root;
    bool enc;
};
MC_API mc_status mc_ptb_init(struct mc_ptb *b, struct mc_machine *m, uint64_t base, uint64_t size, bool enc,
                      struct mc_error *err);
/* CR3 value for the built tables (root | C-bit when enc). */
MC_API uint64_t mc_ptb_cr3(const struct mc_ptb *b);
/* Map [va, va+len) to physical pa (as issued: add the C-bit for encrypted pages) with pages of
 * page_size (4 KiB, 2 MiB, 1 GiB); flags = MC_PTE_* bits besides P and PS. Arguments are
 * checked before anything is written; a failure part-way (area full, a conflicting large page)
 * leaves the pages before it mapped (a test/demo builder, not a transactional API).
 * mc_ptb_init checks the area lies inside DRAM and changes *b only on success. */
MC_API mc_status mc_ptb_map(struct mc_ptb *b, uint64_t va, uint64_t pa, uint64_t len, uint64_t page_size, uint64_t flags,
                     struct mc_error *err);
/* Bit to OR into a physical address to make the host access it encrypted (C-bit on AMD with
 * SME/TSME; 0 otherwise). */
MC_API uint64_t mc_machine_enc_bit(const struct mc_machine *m);

MC_END_DECLS

#endif
