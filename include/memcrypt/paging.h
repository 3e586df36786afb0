/* memcrypt — x86-64 4-level paging: the page walker (x86 and Intel EPT table formats), #PF
 * error codes and a tagged TLB.
 *
 * The walker reads paging-structure entries through a caller-supplied table-access interface
 * (struct mc_pt_io), so the same code walks host tables through the memory controller and
 * guest tables whose addresses are guest-physical (the nested-paging developer plugs a fetch
 * that itself runs an NPT walk and reports #NPF through the fault value).
 *
 * Entry addresses are handed to the interface AS ISSUED: the table base from CR3 or the
 * previous entry with its C-bit (AMD) or KeyID bits (Intel) kept, plus index * 8. The C-bit
 * is an attribute, never a reserved bit; bits at or above the reduced MAXPHYADDR (other than
 * the C-bit) are reserved and give #PF with RSVD.
 *
 * Accessed/dirty bits are set (one 8-byte write per entry) only when the translation succeeds.
 * Not modelled: SMAP, protection keys, 5-level paging, PCIDs (the TLB tag is an address-space
 * id chosen by the caller: 0 = host, ASID for guests).
 */
#ifndef MEMCRYPT_PAGING_H
#define MEMCRYPT_PAGING_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>

MC_BEGIN_DECLS

/* Page-table entry bits. */
#define MC_PTE_P (1ull << 0)
#define MC_PTE_W (1ull << 1)
#define MC_PTE_U (1ull << 2)
#define MC_PTE_PWT (1ull << 3)
#define MC_PTE_PCD (1ull << 4)
#define MC_PTE_A (1ull << 5)
#define MC_PTE_D (1ull << 6)
#define MC_PTE_PS (1ull << 7)
#define MC_PTE_G (1ull << 8)
#define MC_PTE_NX (1ull << 63)

/* Intel EPT entry bits (SDM vol. 3 ch. 29): read, write, execute, large page. An entry is present
 * when any of R/W/X is set. */
#define MC_EPT_R (1ull << 0)
#define MC_EPT_W (1ull << 1)
#define MC_EPT_X (1ull << 2)
#define MC_EPT_PS (1ull << 7)
/* Marks an EPT misconfiguration in an EPT fault's error code (see memcrypt/ept.h). */
#define MC_EPT_MISCONFIG MC_PF_RSVD

/* Control-register bits the walker honours. */
#define MC_CR0_WP (1ull << 16)
#define MC_CR0_PG (1ull << 31)
#define MC_CR4_PAE (1ull << 5)
#define MC_CR4_PGE (1ull << 7)
#define MC_CR4_SMEP (1ull << 20)
#define MC_EFER_LME (1ull << 8)
#define MC_EFER_NXE (1ull << 11)

/* Access flags for a translation. */
#define MC_PG_WRITE 1u
#define MC_PG_USER 2u
#define MC_PG_FETCH 4u

struct mc_paging_regs {
    uint64_t cr0, cr3, cr4, efer;
};

/* Table formats. MC_PT_X86: host and guest tables and AMD's nested page tables (a nested walk
 * is an x86 walk done as a user access). MC_PT_EPT: Intel EPT, walked from regs->cr3 = EPTP
 * (4 levels; the EPTP's attribute bits 11:0 are ignored, A/D flags (EPTP[6]) are not modelled),
 * faults are EPT violations / misconfigurations (MC_FAULT_NPF, error code = exit qualification
 * bits 0-5, MC_EPT_MISCONFIG for a misconfiguration, addr = the guest-physical address;
 * the caller adds MC_NPF_FINAL or MC_NPF_TABLE). */
enum mc_pt_format { MC_PT_X86 = 0, MC_PT_EPT = 1 };

/* What the address bits mean on this platform. */
struct mc_paging_mode {
    unsigned addr_bits; /* usable physical address bits (reduced MAXPHYADDR); bits [51:addr_bits] are
                           reserved in entries (except enc_bit) */
    int enc_bit;        /* AMD C-bit position when memory encryption is on, else -1 */
    enum mc_pt_format format;
};

/* Table access. read/write get the entry address as issued. A nested implementation returns
 * MC_E_FAULT with its own fault (e.g. #NPF) in *fault; the walker passes it through. */
struct mc_pt_io {
    mc_status (*read)(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *fault, struct mc_error *err);
    mc_status (*write)(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *fault, struct mc_error *err);
    void *ctx;
};

struct mc_xlat {
    uint64_t pa;        /* physical address as issued (incl. C-bit / KeyID bits) of va */
    uint64_t page_base; /* physical address as issued of the page */
    uint64_t page_size; /* 4 KiB, 2 MiB or 1 GiB */
    bool writable, user, nx, global, dirty;
    bool readable;      /* false only for an EPT mapping without R (execute-only) */
    /* Guest translations made by the access path (memcrypt/lcpu.h): the guest-physical address
     * of va (guest C-bit stripped), the nested mapping's page size, and whether the access is
     * private (SEV: guest PTE C-bit set, or guest paging off). A plain walk sets gpa = pa,
     * nested_size = 0, priv = true. page_size is then the smaller of the two stages' sizes and
     * the rights are those of both stages together (dirty: both leaves have D set). */
    uint64_t gpa;
    uint64_t nested_size;
    bool priv;
    /* The access check's verdicts cached with a TLB entry (memcrypt/lcpu.h,
     * mc_lcpu_set_check_epoch): access types that passed, and the epoch they passed in. */
    uint8_t check_ok;
    uint32_t check_epoch;
};

/* Translate va. On a fault returns MC_E_FAULT and fills *fault (#PF: vector 14, error code,
 * addr = va; or whatever the io callback reported). Non-canonical va -> #GP(0). With
 * mode->format == MC_PT_EPT, va is a guest-physical address and faults are EPT faults. */
MC_API mc_status mc_walk(const struct mc_paging_mode *mode, const struct mc_pt_io *io, const struct mc_paging_regs *regs,
                  uint64_t va, unsigned acc, struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err);

/* --------------------------------------------------------------------- TLB -- */

struct mc_tlb;
struct mc_tlb_stats {
    uint64_t hits, misses, flushes;
};

/* entries: 4 KiB entries, power of two, 16..65536 (0 = 1024); plus 64 entries for 2 MiB /
 * 1 GiB translations (1 GiB pages are held per 2 MiB granule). The 4 KiB array is two-way
 * set-associative (a new entry takes a free way or the one not used last), the large one
 * direct-mapped. */
MC_API mc_status mc_tlb_create(unsigned entries, struct mc_tlb **out, struct mc_error *err);
MC_API void mc_tlb_destroy(struct mc_tlb *t);
/* Cached translation for (tag, va) satisfying acc, or false. A write to a page whose dirty bit
 * is not yet set misses (so the walker sets D). */
MC_API bool mc_tlb_lookup(struct mc_tlb *t, uint32_t tag, uint64_t va, unsigned acc, const struct mc_paging_regs *regs,
                   struct mc_xlat *out);
MC_API void mc_tlb_insert(struct mc_tlb *t, uint32_t tag, uint64_t va, const struct mc_xlat *x);
/* MOV CR3: drop non-global entries of tag (global ones too when CR4.PGE is clear). */
MC_API void mc_tlb_flush_nonglobal(struct mc_tlb *t, uint32_t tag, bool keep_global);
/* INVLPG: drop every entry of tag covering va (any page size, global or not). */
MC_API void mc_tlb_invlpg(struct mc_tlb *t, uint32_t tag, uint64_t va);
MC_API void mc_tlb_flush_all(struct mc_tlb *t);
MC_API void mc_tlb_get_stats(const struct mc_tlb *t, struct mc_tlb_stats *s);

/* Translate with the TLB: lookup, else walk and insert. */
MC_API mc_status mc_translate(struct mc_tlb *t, uint32_t tag, const struct mc_paging_mode *mode, const struct mc_pt_io *io,
                       const struct mc_paging_regs *regs, uint64_t va, unsigned acc, struct mc_xlat *out,
                       struct mc_fault *fault, struct mc_error *err);

MC_END_DECLS

#endif
