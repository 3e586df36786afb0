/* memcrypt — the one CPU-side access path.
 *
 * A struct mc_lcpu is one logical processor as the memory system sees it: the host CPU, a vCPU
 * of an SEV guest (AMD nested paging, NPT) or a vCPU of an Intel guest (EPT). Every CPU-side
 * access — host loads, stores and fetches, guest accesses at guest-virtual or guest-physical
 * addresses, the page-table reads and A/D writes they cause — goes down this one path:
 *
 *   TLB (tag = ASID/VPID, nested root, va) ─ hit ─────────────────────────────┐
 *     │ miss                                                                    │
 *   guest (or host) walk: paging/walk.c, x86 tables, paging-structure cache;    │
 *     each guest table entry's GPA goes through the nested stage                │
 *   nested stage: none | NPT (walk.c, x86 format, user access) |                │
 *     EPT (walk.c, EPT format); guest-physical translations cached too          │
 *   the combined translation (va -> SPA as issued) enters the TLB               │
 *   ACCESS CHECK HOOK (mc_lcpu_set_check): requester, ASID, VMPL, private/ ◄────┘
 *     shared, GPA, nested page size at hand — where SEV-SNP's RMP check goes
 *   memory controller (memctl_read / memctl_write): key domain, cache, engine, DRAM
 *
 * One fault contract. Faults are values (MC_E_FAULT + struct mc_fault): #PF for the guest's or
 * host's own tables (error code P/W/U/RSVD/ID, addr = the linear address), #NPF for AMD nested
 * faults (error code as #PF plus MC_NPF_FINAL or MC_NPF_TABLE, addr = GPA), EPT violations and
 * misconfigurations as MC_FAULT_NPF (memcrypt/ept.h), #GP(0) for non-canonical addresses and
 * physical addresses beyond the usable width. An access that spans pages translates and checks
 * every page (and routes it through the controller's key bindings and DRAM bounds) before any
 * byte moves: a fault on page 2 leaves page 1 unchanged. Accessed/dirty bits of pages already
 * translated may be set, as the architecture allows.
 *
 * TLB flush rules (those of the real instructions):
 *   MOV CR3 (mc_lcpu_set_reg / set_regs)  non-global linear entries of the current tag (all with
 *                                         CR4.PGE = 0) and the paging-structure cache
 *   CR0.PG/WP, CR4.PGE/PAE/SMEP, EFER.NXE  every linear entry of the current tag
 *   INVLPG (mc_lcpu_invlpg)               entries of the current tag covering va
 *   INVLPGA (mc_lcpu_invlpga)             entries of ASID asid covering va
 *   ASID / VPID change (mc_lcpu_set_asid)  nothing: entries are tagged, other tags never match
 *   nested table changes                  nothing by itself: the VMM must call
 *                                         mc_lcpu_flush_asid (AMD TLB_CONTROL) or
 *                                         mc_lcpu_invept (Intel INVEPT) after editing NPT/EPT;
 *                                         until then a vCPU keeps using translations it cached
 *                                         (as on hardware). Guest-physical translations are not
 *                                         touched by MOV CR3 or INVLPG.
 * A TLB hit re-checks the access's rights (U/S, R/W with CR0.WP, NX, SMEP, nested R/W/X); a write
 * through an entry whose dirty bits are not both set re-walks, so the walk sets D.
 */
#ifndef MEMCRYPT_LCPU_H
#define MEMCRYPT_LCPU_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/paging.h>

MC_BEGIN_DECLS

enum mc_nest { MC_NEST_NONE = 0, MC_NEST_NPT, MC_NEST_EPT };

/* Control registers (MOV to CR / WRMSR EFER). */
enum mc_creg { MC_CREG_CR0, MC_CREG_CR3, MC_CREG_CR4, MC_CREG_EFER };

struct mc_lcpu_config {
    enum mc_nest nest;
    enum memctl_requester req;      /* MEMCTL_REQ_HOST for the host CPU, MEMCTL_REQ_GUEST for a vCPU */
    uint32_t asid;              /* vCPU: the ASID (SEV: also the key domain) or the VPID (Intel:
                                   TLB tag only); > 0. Host: 0 */
    uint64_t nroot;             /* nested root as issued: nCR3 (NPT) or EPTP */
    struct mc_paging_mode mode; /* the vCPU's own paging mode; addr_bits 0 = the controller's
                                   platform (host CPU: follows the platform as it changes) */
    bool sev;                   /* the guest PTE's C-bit (mode.enc_bit) selects private/shared */
    unsigned tlb_entries;       /* 4 KiB entries, power of two 16..65536; 0 = 1024 */
};

struct mc_lcpu;

/* The controller is borrowed. */
MC_API mc_status mc_lcpu_create(struct memctl *mc, const struct mc_lcpu_config *cfg, struct mc_lcpu **out,
                         struct mc_error *err);
MC_API void mc_lcpu_destroy(struct mc_lcpu *c); /* NULL is fine */
MC_API struct mc_tlb *mc_lcpu_tlb(struct mc_lcpu *c);
MC_API uint32_t mc_lcpu_asid(const struct mc_lcpu *c);

/* ---- The access-check hook ----
 * Called for every access the path is about to hand to the controller — data (after
 * translation and before any byte of a multi-page access moves), guest table entries, nested
 * and host table entries (reads and A/D writes) — with everything an RMP check needs. A
 * non-MC_OK return (with *fault filled for an architectural fault) stops the access with
 * nothing changed. No hook (the default) costs one pointer test. */
struct mc_access_check {
    const struct memctl_access *a; /* what the controller will get: SPA as issued, size, kind,
                                  requester, ASID, guest C-bit */
    uint64_t va;               /* linear address (data), or the table entry's address as issued */
    uint64_t gpa;              /* guest accesses: guest-physical address (C-bit stripped); else a->addr */
    uint64_t page_size;        /* size of the nested mapping (guest), of the host mapping (host data),
                                  4096 for table entries */
    unsigned vmpl;             /* the vCPU's VMPL (SEV-SNP; 0 otherwise) */
    bool priv;                 /* guest: private (C=1, paging off, table walk, fetch) */
    bool table;                /* a paging-structure access (guest, nested or host tables) */
    bool nested;               /* the access belongs to a nested-table walk (host requester) */
    bool user;                 /* a data access at CPL 3 (table accesses: false) */
    bool snp;                  /* the requester is an SNP-active vCPU (SEV_FEATURES.SNPActive) */
};
typedef mc_status (*mc_access_check_fn)(void *ctx, const struct mc_access_check *chk, struct mc_fault *fault,
                                        struct mc_error *err);
MC_API void mc_lcpu_set_check(struct mc_lcpu *c, mc_access_check_fn fn, void *ctx);
/* Let the hook's verdicts on data pages be cached in the TLB entry that translated them (as the
 * CPU caches RMP checks): a page's verdict for one access type (read, write, user or supervisor
 * fetch) is reused on TLB hits while *epoch keeps the value it had when the hook said MC_OK. The
 * hook's owner changes *epoch whenever any verdict may change. NULL: the hook runs on every access.
 * Table accesses, guest-physical accesses and guests with paging off always call the hook. */
MC_API void mc_lcpu_set_check_epoch(struct mc_lcpu *c, const uint32_t *epoch);
/* The vCPU's VMPL (SEV-SNP). A change drops the vCPU's TLB entries (cached verdicts are per VMPL). */
MC_API void mc_lcpu_set_vmpl(struct mc_lcpu *c, unsigned vmpl);
MC_API unsigned mc_lcpu_vmpl(const struct mc_lcpu *c);
/* SEV-SNP active for this vCPU (the hook sees it in mc_access_check.snp). */
MC_API void mc_lcpu_set_snp(struct mc_lcpu *c, bool snp);
MC_API bool mc_lcpu_snp(const struct mc_lcpu *c);
MC_API enum memctl_requester mc_lcpu_requester(const struct mc_lcpu *c);

/* ---- Registers and TLB maintenance ---- */
MC_API void mc_lcpu_get_regs(const struct mc_lcpu *c, struct mc_paging_regs *r);
/* One MOV to CR / WRMSR EFER (no architectural checks here: the caller raises #GP first). */
MC_API void mc_lcpu_set_reg(struct mc_lcpu *c, enum mc_creg reg, uint64_t val);
/* All four as MOV CR0, CR4, EFER, CR3 (the CR3 write flushes even when the value is unchanged). */
MC_API void mc_lcpu_set_regs(struct mc_lcpu *c, const struct mc_paging_regs *r);
MC_API void mc_lcpu_invlpg(struct mc_lcpu *c, uint64_t va);
MC_API void mc_lcpu_invlpga(struct mc_lcpu *c, uint64_t va, uint32_t asid);
/* AMD VMCB TLB_CONTROL "flush this guest's entries" / Intel single-context INVVPID: every
 * linear and guest-physical entry tagged asid (or VPID). */
MC_API void mc_lcpu_flush_asid(struct mc_lcpu *c, uint32_t asid);
/* Intel INVEPT single-context (root = EPTP) — also the AMD-side "everything derived from this
 * nCR3": every entry of any tag derived from root. */
MC_API void mc_lcpu_invept(struct mc_lcpu *c, uint64_t root);
MC_API void mc_lcpu_flush_all(struct mc_lcpu *c);
/* VMRUN with another ASID / VMCS with another VPID: the tag (and SEV key ASID) changes; entries
 * of other tags stay but never match. */
MC_API void mc_lcpu_set_asid(struct mc_lcpu *c, uint32_t asid);
/* A new nested root (nCR3 / EPTP); entries derived from other roots stay but never match. */
MC_API void mc_lcpu_set_nested_root(struct mc_lcpu *c, uint64_t root);

/* ---- Accesses ----
 * acc: MC_PG_USER and/or MC_PG_FETCH (a write is given by wbuf). flags: MEMCTL_ACC_F_* for the
 * controller (MEMCTL_ACC_F_STREAM: non-temporal whole-line runs). Exactly one of rbuf / wbuf. */
MC_API mc_status mc_lcpu_access(struct mc_lcpu *c, uint64_t va, void *rbuf, const void *wbuf, size_t len, unsigned acc,
                         uint32_t flags, struct mc_fault *fault, struct mc_error *err);
/* Guest-physical access (nested stage only; gpa without C-bit; priv selects the guest's key).
 * On the host CPU this is a physical access at gpa as issued. Same fault contract. */
MC_API mc_status mc_lcpu_phys_access(struct mc_lcpu *c, uint64_t gpa, bool priv, void *rbuf, const void *wbuf, size_t len,
                              struct mc_fault *fault, struct mc_error *err);
/* Bulk copy like REP MOVS with non-temporal stores: page-granular chunks through this path; a
 * fault leaves the chunks before it copied (REP MOVS is restartable). */
MC_API mc_status mc_lcpu_copy(struct mc_lcpu *c, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                       struct mc_error *err);
/* Translate only (TLB, walks, A/D updates as for an access acc = MC_PG_*). */
MC_API mc_status mc_lcpu_translate(struct mc_lcpu *c, uint64_t va, unsigned acc, struct mc_xlat *out,
                            struct mc_fault *fault, struct mc_error *err);

/* The guest stage alone (guest tables, their entries fetched through the nested stage): out->gpa
 * and out->priv for va; the final GPA is not translated and nothing enters the TLB. On the host
 * CPU the same as mc_lcpu_translate. */
MC_API mc_status mc_lcpu_guest_walk(struct mc_lcpu *c, uint64_t va, unsigned acc, struct mc_xlat *out,
                             struct mc_fault *fault, struct mc_error *err);

/* ---- Software walks of nested tables (the hypervisor reading its own NPT/EPT) ----
 * No TLB, no hook: the nested walk of the path above, on its own, through mc as the host.
 * table selects MC_NPF_TABLE instead of MC_NPF_FINAL in a fault. */
MC_API mc_status mc_nested_walk(struct memctl *mc, enum mc_nest nest, uint64_t root, uint64_t gpa, unsigned acc, bool table,
                         struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err);

/* The paging mode a platform gives the host: usable address bits and the C-bit (SME/TSME). */
MC_API struct mc_paging_mode mc_paging_mode_of(const struct memctl_platform *p);

MC_END_DECLS

#endif
