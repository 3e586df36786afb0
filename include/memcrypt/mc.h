/* memcrypt — the memory controller: key-domain selection, key bindings and the cache.
 *
 * Every access reaches DRAM through here. An access is described by a struct memctl_access (the
 * address exactly as issued, with its C-bit / KeyID bits; size; kind; requester). The key
 * domain is chosen by memctl_select_domain(), a PURE function of (access, platform); the domain is
 * then bound to an engine key slot (or to "no encryption") by the controller's binding table.
 *
 * The cache holds PLAINTEXT 64-byte lines tagged (physical line, key domain), write-back,
 * set-associative with LRU replacement. Like hardware without coherency across domains
 * (CPUID 8000_001F EAX[10] = 0 / Intel KeyID aliasing), two domains for the same line are two
 * unrelated cache lines: software must CLFLUSH / WBINVD / VM_PAGE_FLUSH before changing the
 * key a page is used with.
 *
 * Modes (the platform description, struct memctl_platform):
 *   OFF   no encryption; the C-bit position is an ordinary (usually reserved) address bit.
 *   SME   SYSCFG[23]=1 on AMD: C=1 -> host key; SEV guests use ASID keys (digest 2.2 table).
 *   TSME  every access encrypted with the platform key, C-bit ignored; ASID keys unavailable.
 *   TME   Intel TME/MKTME: KeyID = PA bits [M-1 : M-K]; KeyID 0 = TME key (or bypass), the
 *         exclusion range is plaintext for KeyID 0 only; a KeyID may be bound to no-encrypt.
 * Addresses with bits set at or above the usable physical width are refused with a fault.
 *
 * Ownership: a struct memctl borrows its engine and DRAM (they must outlive it).
 * Thread safety: none; one controller per machine.
 */
#ifndef MEMCRYPT_MC_H
#define MEMCRYPT_MC_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/dram.h>
#include <memcrypt/engine.h>
#include <memcrypt/error.h>

MC_BEGIN_DECLS

/* ---------------------------------------------------------------- faults -- */

/* Architectural faults are values, never aborts. */
enum mc_fault_kind {
    MC_FAULT_NONE = 0,
    MC_FAULT_PF,  /* #PF, vector 14: error_code = P|W|U|RSVD|ID bits, addr = CR2 (linear address) */
    MC_FAULT_NPF, /* #VMEXIT(NPF): error_code as #PF plus bit 32/33, addr = guest physical address */
    MC_FAULT_GP,  /* #GP, vector 13, error_code 0 (e.g. a physical address beyond the usable width) */
    MC_FAULT_UD,  /* #UD, vector 6 (an instruction the CPU or its mode does not offer, e.g. RMPREAD before Zen 5) */
    MC_FAULT_VC,  /* #VC, vector 29, raised inside an SEV-ES/SNP guest: error_code = the exit code
                     (SEV-SNP: 0x404 for an access to a page the guest has not validated), addr = GPA */
};

#define MC_PF_P (1u << 0)    /* 0 = not present, 1 = protection / reserved-bit violation */
#define MC_PF_W (1u << 1)    /* the access was a write */
#define MC_PF_U (1u << 2)    /* the access was a user-mode (CPL 3) access */
#define MC_PF_RSVD (1u << 3) /* a reserved bit was set in a paging-structure entry */
#define MC_PF_ID (1u << 4)   /* the access was an instruction fetch (EFER.NXE or CR4.SMEP set) */
/* #NPF only (AMD APM EXITINFO1): fault during the final GPA translation / during a guest table walk. */
#define MC_NPF_FINAL (1ull << 32)
#define MC_NPF_TABLE (1ull << 33)

struct mc_fault {
    enum mc_fault_kind kind;
    uint8_t vector;      /* 14 for #PF, 13 for #GP, 0 for #NPF (a VM exit, not a vector) */
    uint64_t error_code;
    uint64_t addr;       /* CR2 for #PF, GPA for #NPF, the offending address for #GP */
};

/* ----------------------------------------------------------- descriptors -- */

enum memctl_acc_kind { MEMCTL_ACC_READ = 0, MEMCTL_ACC_WRITE, MEMCTL_ACC_FETCH, MEMCTL_ACC_WALK };
enum memctl_requester { MEMCTL_REQ_HOST = 0, MEMCTL_REQ_GUEST, MEMCTL_REQ_DEVICE, MEMCTL_REQ_PSP };

/* Non-temporal: whole-line runs that miss the cache go straight between DRAM and the caller
 * through the engine (whole pages in one engine call) without allocating lines. */
#define MEMCTL_ACC_F_STREAM 1u

struct memctl_access {
    uint64_t addr;           /* address as issued: SPA incl. C-bit (AMD) or KeyID bits (Intel) */
    uint64_t size;           /* bytes, > 0 */
    enum memctl_acc_kind kind;
    enum memctl_requester req;
    uint32_t asid;           /* MEMCTL_REQ_GUEST: the guest's ASID (>0). MEMCTL_REQ_PSP: ASID whose key the
                                firmware uses, 0 = behave like the host */
    bool guest_c;            /* MEMCTL_REQ_GUEST data access: the guest page table's C-bit (set it also
                                for VTE or non-paged guests; fetch/walk are private regardless) */
    uint32_t flags;          /* MEMCTL_ACC_F_* */
};

enum memctl_mode { MEMCTL_MODE_OFF = 0, MEMCTL_MODE_SME, MEMCTL_MODE_TSME, MEMCTL_MODE_TME };

struct memctl_platform {
    enum memctl_mode mode;
    unsigned phys_bits;   /* MAXPHYADDR, CPUID 0x80000008 EAX[7:0] (never lowered by hardware) */
    unsigned cbit;        /* AMD: C-bit position (8000_001F EBX[5:0]); 0 = none */
    unsigned reduction;   /* AMD: address bits lost when SYSCFG[23]=1 (8000_001F EBX[11:6]) */
    unsigned keyid_bits;  /* Intel: MK_TME_KEYID_BITS (K), 0..15 */
    bool tme_bypass;      /* Intel: TME_ACTIVATE[31], KeyID 0 not encrypted */
    bool excl_enable;     /* Intel: IA32_TME_EXCLUDE_MASK[11] */
    uint64_t excl_base;   /* IA32_TME_EXCLUDE_BASE bits [M-1:12] */
    uint64_t excl_mask;   /* IA32_TME_EXCLUDE_MASK bits [M-1:12] */
    bool coherent;        /* AMD 8000_001F EAX[10]: hardware keeps the caches coherent across key
                             domains — an access first writes back and drops the line's copies
                             held under other domains, so no stale alias is ever returned */
};

/* Validate a platform description (widths, C-bit inside 63:32, K < M, exclusion range
 * contiguous and page aligned). */
MC_API MC_MUST_CHECK mc_status memctl_platform_check(const struct memctl_platform *p, struct mc_error *err);
/* Width of the memory address (bits): phys_bits - reduction (SME/TSME), phys_bits - K (TME). */
MC_API unsigned memctl_platform_addr_bits(const struct memctl_platform *p);

enum memctl_domain_kind {
    MEMCTL_DOM_PLAIN = 0, /* not encrypted */
    MEMCTL_DOM_HOST,      /* AMD SME host key (C=1) */
    MEMCTL_DOM_TSME,      /* AMD TSME platform key */
    MEMCTL_DOM_ASID,      /* AMD SEV guest key, id = ASID */
    MEMCTL_DOM_KEYID,     /* Intel TME (id 0) / MKTME KeyID */
};

struct memctl_domain {
    enum memctl_domain_kind kind;
    uint32_t id;
};

struct memctl_route {
    uint64_t pa;           /* memory address: C-bit / KeyID bits removed */
    struct memctl_domain dom;
};

/* The key-domain choice: PURE function of the descriptor and the platform (no binding state).
 * Address beyond the usable width -> MC_E_FAULT with *fault = #GP(0) (addr = the address).
 * Guest access in a mode without SEV, or a malformed descriptor -> MC_E_INVAL/MC_E_UNSUPPORTED. */
MC_API mc_status memctl_select_domain(const struct memctl_platform *p, const struct memctl_access *a, struct memctl_route *out,
                           struct mc_fault *fault, struct mc_error *err);
/* "host", "tsme", "asid 5", "keyid 3", "plaintext" into buf. */
MC_API const char *memctl_domain_name(struct memctl_domain d, char *buf, size_t n);

/* ------------------------------------------------------------ controller -- */

struct memctl_cache_geom {
    uint64_t size; /* bytes; power of two multiple of 64*ways; 0 = default 256 KiB */
    unsigned ways; /* 1..64; 0 = default 8 */
};

struct memctl_cache_stats {
    uint64_t hits, misses, fills, writebacks, evictions, stream_lines;
    /* Requests (memctl_read / memctl_write calls that passed routing) and the 64-byte lines they
     * spanned: what a CPU-side access costs the controller, cached or not. */
    uint64_t accesses, line_accesses;
};

struct memctl;

/* Create a controller over engine e and DRAM d (borrowed). max_asid = highest ASID that may be
 * bound (CPUID 8000_001F ECX); geometry NULL = defaults. */
MC_API mc_status memctl_create(const struct memctl_platform *p, const struct memctl_cache_geom *g, uint32_t max_asid, struct mc_engine *e,
                    struct mc_dram *d, struct memctl **out, struct mc_error *err);
/* Wipes cached plaintext and frees (no write-back: like a power cut). NULL is fine. */
MC_API void memctl_destroy(struct memctl *mc);

MC_API const struct memctl_platform *memctl_get_platform(const struct memctl *mc);
/* Change the platform (BIOS / TME activation). Writes back and invalidates the cache first
 * (with the old bindings). Bindings that the new mode cannot use are dropped. */
MC_API mc_status memctl_set_platform(struct memctl *mc, const struct memctl_platform *p, struct mc_error *err);

/* Bindings. A slot is an engine slot handle; MC_E_STATE if it does not exist. Rebinding a
 * domain does not touch the cache (lines keep their tag and are written back under the new
 * key, like PCONFIG); unbinding writes back and invalidates that domain's lines first. */
MC_API mc_status memctl_bind_host(struct memctl *mc, mc_slot slot, struct mc_error *err);
MC_API mc_status memctl_bind_tsme(struct memctl *mc, mc_slot slot, struct mc_error *err);
MC_API mc_status memctl_bind_asid(struct memctl *mc, uint32_t asid, mc_slot slot, struct mc_error *err);
MC_API mc_status memctl_unbind_asid(struct memctl *mc, uint32_t asid, struct mc_error *err);
/* 0 when unbound. */
MC_API mc_slot memctl_asid_slot(const struct memctl *mc, uint32_t asid);
#define MEMCTL_KEYID_NOENCRYPT ((mc_slot)0xFFFFFFFFu)
#define MEMCTL_KEYID_UNBOUND ((mc_slot)0)
/* Intel: bind KeyID (0 .. 2^K-1) to a slot, to MEMCTL_KEYID_NOENCRYPT or MEMCTL_KEYID_UNBOUND. */
MC_API mc_status memctl_set_keyid(struct memctl *mc, uint32_t keyid, mc_slot slot_or_noenc, struct mc_error *err);
MC_API mc_slot memctl_keyid_slot(const struct memctl *mc, uint32_t keyid);
/* Intel: TME exclusion range (base/mask as in MSRs 0x984/0x983 bits [M-1:12]); enable=false clears. */
MC_API mc_status memctl_set_tme_exclusion(struct memctl *mc, bool enable, uint64_t base, uint64_t mask, struct mc_error *err);

/* Route with bindings: domain plus the slot (0 = plaintext). MC_E_STATE if the domain has no key. */
MC_API mc_status memctl_route(const struct memctl *mc, const struct memctl_access *a, struct memctl_route *out, mc_slot *slot,
                   struct mc_fault *fault, struct mc_error *err);

/* Reads/writes a->size bytes at a->addr (any alignment). Nothing is changed on failure. */
MC_API mc_status memctl_read(struct memctl *mc, const struct memctl_access *a, void *buf, struct mc_fault *fault, struct mc_error *err);
MC_API mc_status memctl_write(struct memctl *mc, const struct memctl_access *a, const void *buf, struct mc_fault *fault,
                   struct mc_error *err);

/* CLFLUSH: write back + invalidate the line for the address and domain as issued (a->size
 * ignored). */
MC_API mc_status memctl_clflush(struct memctl *mc, const struct memctl_access *a, struct mc_fault *fault, struct mc_error *err);
/* CLFLUSH of every line of the host's plaintext range [pa, pa+len) (C=0 host accesses; what
 * KVM's sev_clflush_pages does before the firmware reads host pages). A range larger than the
 * cache writes back the whole plaintext domain instead (same effect, fewer lookups). */
MC_API mc_status memctl_clflush_range(struct memctl *mc, uint64_t pa, uint64_t len, struct mc_error *err);
/* WBINVD: write back and invalidate every line. */
MC_API mc_status memctl_wbinvd(struct memctl *mc, struct mc_error *err);
/* INVD-like: drop every line without write-back (reset / power loss). */
MC_API void memctl_cache_drop_all(struct memctl *mc);
/* VM_PAGE_FLUSH: write back and invalidate the lines of the 4 KiB page at memory address pa
 * (C-bit stripped) tagged with ASID asid (> 0). */
MC_API mc_status memctl_vm_page_flush(struct memctl *mc, uint64_t pa, uint32_t asid, struct mc_error *err);
/* Write back + invalidate every line of one domain. */
MC_API mc_status memctl_flush_domain(struct memctl *mc, struct memctl_domain d, struct mc_error *err);

/* Reset (power cycle): drop the cache without write-back, destroy every engine slot bound to
 * a domain (host, TSME, ASIDs, KeyIDs) and clear every binding. */
MC_API void memctl_reset(struct memctl *mc);

/* An observer of every write the controller takes (host CPU, guest, device, firmware), called
 * after the write with the memory address (C-bit / KeyID removed), the length and the key domain
 * it was written under. For tools that draw memory by key (memcrypt --html); the place where a
 * per-page RMP state will be reported too. fn NULL removes it. Not called for the DRAM raw port. */
typedef void (*memctl_write_observer_fn)(void *ctx, uint64_t pa, uint64_t len, struct memctl_domain dom);
MC_API void memctl_set_write_observer(struct memctl *mc, memctl_write_observer_fn fn, void *ctx);

MC_API void memctl_cache_get_stats(const struct memctl *mc, struct memctl_cache_stats *s);
MC_API uint64_t memctl_cache_size(const struct memctl *mc);
MC_API unsigned memctl_cache_ways(const struct memctl *mc);
MC_API struct mc_engine *memctl_get_engine(struct memctl *mc);
MC_API struct mc_dram *memctl_get_dram(struct memctl *mc);

MC_END_DECLS

#endif
