/* memcrypt — SEV-SNP's Reverse Map Table (RMP): the table in DRAM, its MSRs and SYSCFG bits, the
 * RMP instructions, the firmware's view of page states, and the RMP access checks.
 *
 * The RMP lives in emulated DRAM at RMP_BASE (MSR 0xC0010132) .. RMP_END (MSR 0xC0010133,
 * inclusive), like the real one: a 0x4000-byte bookkeeping area (2048 per-ASID counters of
 * assigned 4 KiB pages, u64 each), then one 16-byte entry per 4 KiB page of system-physical
 * memory, PFN p at RMP_BASE + 0x4000 + 16 * p, in the raw Milan/Genoa layout:
 *   lo qword: 0 Assigned, 1 page size (1 = 2 MiB), 2 Immutable, 11:3 reserved, 50:12 GPA >> 12,
 *             60:51 ASID, 61 VMSA, 62 Validated, 63 reserved (the firmware's lock, = Immutable)
 *   hi qword: 7:0 / 15:8 / 23:16 / 31:24 VMPL0..3 permission masks, 63:32 reserved
 * Every RMP read and write goes through the memory controller (host requester, C=0), so the cache
 * holds entries like any line and the DRAM raw port (a bus snooper) sees them.
 *
 * A 2 MiB entry is stored in all 512 entries of its region (page size 1, the same owner, GPAs
 * consecutive); the entry of the region's first page is authoritative for the checks. PSMASH turns
 * the 512 into 4 KiB entries in place.
 *
 * The unit attaches to a machine whose CPU enumerates SEV-SNP (CPUID 8000_001F EAX[4]): it
 * answers RDMSR/WRMSR of RMP_BASE/RMP_END and the SNP bits of SYSCFG, resets with the machine
 * (SNP off, MSRs back to what the BIOS programmed), and while SYSCFG.SNP_EN is set installs the
 * RMP access check on the host CPU's access path (memcrypt/lcpu.h). Decisions on points the
 * public material leaves open are listed in docs/snp-platform.md, "The RMP".
 */
#ifndef MEMCRYPT_RMP_H
#define MEMCRYPT_RMP_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/mc.h>

MC_BEGIN_DECLS

/* ---- MSRs and SYSCFG bits ------------------------------------------------------------------- */

#define MC_MSR_RMP_BASE 0xC0010132u
#define MC_MSR_RMP_END 0xC0010133u
/* RMP_BASE / RMP_END hold a system-physical address in bits 51:13; bits 12:0 read as 0 (BASE)
 * and 0x1FFF (END); a WRMSR with bits 63:52 set is #GP(0); with SYSCFG.SNP_EN set both are
 * locked (#GP(0)) until reset. */
#define MC_RMP_ADDR_MASK 0x000FFFFFFFFFE000ull
#ifndef MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN
#define MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN (1ull << 19) /* MtrrFixDramModEn (MFDM) */
#endif

#define MC_RMP_BOOKKEEPING 0x4000u /* bytes before the first entry */
#define MC_RMP_ENTRY_SIZE 16u
#define MC_RMP_ASID_COUNTERS 2048u /* u64 counters in the bookkeeping area */

/* ---- Return codes (EAX) of the RMP instructions ------------------------------------------------ */
enum mc_rmp_code {
    MC_RMP_SUCCESS = 0,
    MC_RMP_FAIL_INPUT = 1,
    MC_RMP_FAIL_PERMISSION = 2,
    MC_RMP_FAIL_INUSE = 3,
    MC_RMP_FAIL_OVERLAP = 4,
    MC_RMP_FAIL_SIZEMISMATCH = 6,
    MC_RMP_FAIL_BADADDR = 7, /* PSMASH: the entry is not eligible for expansion */
};
MC_API const char *mc_rmp_code_name(uint32_t code);

/* VMPL permission mask (RMP entry, RMPADJUST RDX[15:8], SNP_LAUNCH_UPDATE vmplN_perms). */
#define MC_VMPL_READ 0x01u
#define MC_VMPL_WRITE 0x02u
#define MC_VMPL_EXEC_USER 0x04u
#define MC_VMPL_EXEC_SUPER 0x08u
#define MC_VMPL_SSS 0x10u
#define MC_VMPL_ALL 0x1Fu

/* Fault error-code bits of RMP checks. #PF (host): bit 31. #NPF EXITINFO1 (guest): RMP, ENC,
 * SIZEM, VMPL besides MC_PF_* and MC_NPF_FINAL/TABLE. #VC error code for an unvalidated page. */
#define MC_PF_RMP (1ull << 31)
#define MC_NPF_RMP (1ull << 31)
#define MC_NPF_ENC (1ull << 34)
#define MC_NPF_SIZEM (1ull << 35)
#define MC_NPF_VMPL (1ull << 36)
#define MC_VC_NOT_VALIDATED 0x404u

/* ---- Entries --------------------------------------------------------------------------------- */

/* The architectural 16-byte block: RMPREAD's output and RMPUPDATE's input (Linux struct rmp_state). */
struct mc_rmp_state {
    uint64_t gpa;      /* 0x00 page-aligned guest-physical address */
    uint8_t assigned;  /* 0x08 bit 0 */
    uint8_t pagesize;  /* 0x09 bit 0: 2 MiB; bit 1 (RMPREAD only): the 2 MiB region holds an assigned
                                4 KiB entry */
    uint8_t immutable; /* 0x0A bit 0 */
    uint8_t rsvd;      /* 0x0B */
    uint32_t asid;     /* 0x0C */
};
_Static_assert(sizeof(struct mc_rmp_state) == 16, "RMP state block is 16 bytes");
_Static_assert(offsetof(struct mc_rmp_state, assigned) == 0x08, "assigned at 0x08");
_Static_assert(offsetof(struct mc_rmp_state, pagesize) == 0x09, "pagesize at 0x09");
_Static_assert(offsetof(struct mc_rmp_state, immutable) == 0x0A, "immutable at 0x0A");
_Static_assert(offsetof(struct mc_rmp_state, asid) == 0x0C, "asid at 0x0C");
/* The block as bytes (little-endian), and back; decode never fails (the instructions check). */
MC_API void mc_rmp_state_encode(const struct mc_rmp_state *s, uint8_t out[16]);
MC_API void mc_rmp_state_decode(const uint8_t in[16], struct mc_rmp_state *s);

/* A raw entry, decoded. */
struct mc_rmp_entry {
    bool assigned, large, immutable, vmsa, validated;
    uint64_t gpa;      /* GPA field << 12 (bits 50:12 of the raw entry; page aligned) */
    uint32_t asid;     /* 10 bits */
    uint8_t perm[4];   /* VMPL0..3 permission masks */
    uint64_t rsvd_lo;  /* raw lo bits 11:3 and 63, kept as read */
    uint64_t rsvd_hi;  /* raw hi bits 63:32, kept as read */
};
MC_API void mc_rmp_entry_encode(const struct mc_rmp_entry *e, uint8_t raw[16]);
MC_API void mc_rmp_entry_decode(const uint8_t raw[16], struct mc_rmp_entry *e);

/* ---- The unit ------------------------------------------------------------------------------- */

struct mc_rmp;

/* Attach an RMP unit to machine m: MSR handlers for SYSCFG's SNP bits and RMP_BASE/RMP_END, and a
 * reset hook. bios_base/bios_end: what the BIOS programmed into RMP_BASE/RMP_END (0/0 = none
 * reserved; Linux then refuses SNP). MC_E_UNSUPPORTED when the CPU has no SEV-SNP. The machine
 * keeps pointers to the unit: destroy the machine first (or never reset it afterwards). */
MC_API mc_status mc_rmp_create(struct mc_machine *m, uint64_t bios_base, uint64_t bios_end, struct mc_rmp **out,
                        struct mc_error *err);
MC_API void mc_rmp_destroy(struct mc_rmp *r); /* NULL is fine */

MC_API bool mc_rmp_snp_enabled(const struct mc_rmp *r);  /* SYSCFG.SNP_EN */
MC_API bool mc_rmp_vmpl_enabled(const struct mc_rmp *r); /* SYSCFG.VMPL_EN */
/* RMP_BASE and RMP_END (addresses; END inclusive), as the MSRs hold them. */
MC_API void mc_rmp_bounds(const struct mc_rmp *r, uint64_t *base, uint64_t *end);
/* The smallest RMP (1 MiB multiple) that covers dram_size bytes of DRAM. */
MC_API uint64_t mc_rmp_size_for(uint64_t dram_size);
/* Address of the entry of the 4 KiB page holding spa (C-bit stripped), or 0 when the RMP does not
 * cover it (the page is in the "default" state). */
MC_API uint64_t mc_rmp_entry_addr(const struct mc_rmp *r, uint64_t spa);
/* Assigned 4 KiB pages of an ASID as the bookkeeping counters hold them (ASID 0: firmware pages). */
MC_API uint64_t mc_rmp_asid_pages(struct mc_rmp *r, uint32_t asid);
/* A counter that changes whenever any RMP entry changes (RMP checks cached by a CPU are valid
 * only while it holds). */
MC_API uint32_t mc_rmp_generation(const struct mc_rmp *r);
/* The same counter, for mc_lcpu_set_check_epoch (verdicts cached in TLB entries). */
MC_API const uint32_t *mc_rmp_epoch(const struct mc_rmp *r);
/* Install the RMP check (and its TLB-cached verdicts) on a CPU: what a vCPU gets when it is created
 * on an SNP-enabled host. */
MC_API void mc_rmp_install(struct mc_rmp *r, struct mc_lcpu *cpu);

/* Board snapshots (memcrypt/board.h): the unit's own registers; the table itself lives in DRAM and
 * comes back with it. A restore drops every cached entry and verdict. */
struct mc_rmp_snap {
    uint64_t base, end;
    bool snp_en, vmpl_en, table_ready;
};
MC_API void mc_rmp_snap_save(const struct mc_rmp *r, struct mc_rmp_snap *s);
MC_API void mc_rmp_snap_restore(struct mc_rmp *r, const struct mc_rmp_snap *s);

/* ---- Firmware side (the AMD-SP reads and writes entries directly, bypassing the CPU's checks) ---
 *
 * Page states as the SNP firmware derives them from an entry (SNP ABI "page states"; the enum values
 * are the model's, not an ABI). DEFAULT: a page the RMP does not cover. INVALID: a combination the
 * firmware never creates. */
enum mc_rmp_page_state {
    MC_RMP_PS_INVALID = 0,
    MC_RMP_PS_DEFAULT,
    MC_RMP_PS_HYPERVISOR,
    MC_RMP_PS_HV_FIXED,
    MC_RMP_PS_FIRMWARE,
    MC_RMP_PS_FIRMWARE_IOMMU,
    MC_RMP_PS_RECLAIM,
    MC_RMP_PS_CONTEXT,
    MC_RMP_PS_METADATA,
    MC_RMP_PS_PRE_GUEST,
    MC_RMP_PS_PRE_SWAP,
    MC_RMP_PS_GUEST_INVALID,
    MC_RMP_PS_GUEST_VALID,
};
MC_API const char *mc_rmp_page_state_name(enum mc_rmp_page_state s);
MC_API enum mc_rmp_page_state mc_rmp_page_state_of(const struct mc_rmp_entry *e);
#define MC_RMP_PS_BIT(s) (1u << (s))

/* The firmware's GPA-field tag (bits 38:36 of the 39-bit GPA field) telling Firmware, Metadata and
 * Firmware-IOMMU pages apart. */
#define MC_RMP_GPA_TAG_SHIFT 48 /* in the GPA as an address: field bit 36 = address bit 48 */
#define MC_RMP_GPA_TAG_FIRMWARE 0u
#define MC_RMP_GPA_TAG_METADATA 1u
#define MC_RMP_GPA_TAG_FW_IOMMU 2u

/* What a firmware helper reports; the firmware maps it to its status code. */
enum mc_rmp_fw_status {
    MC_RMP_FW_OK = 0,
    MC_RMP_FW_NOT_READY,   /* SNP_EN clear, or the table not initialised (SNP_INIT) -> INVALID_PLATFORM_STATE */
    MC_RMP_FW_BAD_ADDRESS, /* misaligned, outside DRAM/the RMP's coverage, or a page of the RMP
                              itself -> INVALID_ADDRESS */
    MC_RMP_FW_BAD_STATE,   /* the page is not in a state the transition starts from -> INVALID_PAGE_STATE */
    MC_RMP_FW_BAD_SIZE,    /* a 2 MiB entry where a 4 KiB page is needed, or the reverse -> INVALID_PAGE_SIZE */
    MC_RMP_FW_BAD_OWNER,   /* the page belongs to another guest or GPA -> INVALID_GUEST / INVALID_ADDRESS */
    MC_RMP_FW_NO_MEMORY,   /* the emulator's host memory ran out (no real chip's status) -> HWERROR_PLATFORM */
};
MC_API const char *mc_rmp_fw_status_name(enum mc_rmp_fw_status s);

/* Read the entry of the 4 KiB page at spa (for a page inside a 2 MiB entry: its own mirror entry;
 * e->large tells) and its state; *state = DEFAULT (entry zeroed) when uncovered. MC_E_RANGE when spa
 * is beyond DRAM. Pages of the RMP itself can be read (the firmware's own view). */
MC_API mc_status mc_rmp_fw_read(struct mc_rmp *r, uint64_t spa, struct mc_rmp_entry *e, enum mc_rmp_page_state *state,
                         struct mc_error *err);
/* Write the entry of the 4 KiB page at spa as given (no state rules; counters kept right; cached
 * RMP checks of every CPU invalidated). MC_E_RANGE when uncovered. */
MC_API mc_status mc_rmp_fw_write(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_entry *e, struct mc_error *err);

/* SNP_INIT's table set-up: the pages of the RMP itself become Firmware pages (so a host write to the
 * RMP faults); every other entry stays as the host zeroed it (Hypervisor). Needs SNP_EN; done once
 * per SNP_EN (later calls find it done). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_init_table(struct mc_rmp *r);
MC_API bool mc_rmp_fw_table_ready(const struct mc_rmp *r);

/* Transitions. Each checks that spa names a 4 KiB page (2 MiB aligned for the 2 MiB variants),
 * reads the page's state, refuses (changing nothing) unless it is one of the states the transition
 * starts from, and writes the new entry. *prev (may be NULL) receives the state found. */
struct mc_rmp_guest_page {
    uint32_t asid;  /* > 0 */
    uint64_t gpa;   /* page aligned */
    bool large;     /* 2 MiB entry */
    uint8_t perm[4]; /* VMPL0..3 (LAUNCH_UPDATE: VMPL0 = MC_VMPL_ALL, VMPL1..3 from the command) */
    bool vmsa;
};
/* Hypervisor/Reclaim -> Firmware (pages the firmware takes for itself). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_make_firmware(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev);
/* Firmware -> Context (GCTX_CREATE), Context -> Firmware (DECOMMISSION). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_make_context(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev);
MC_API enum mc_rmp_fw_status mc_rmp_fw_context_to_firmware(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev);
/* Firmware -> Metadata (PAGE_MD_INIT). owner: the guest context page the metadata belongs to, kept in
 * the entry's GPA field under the Metadata tag (0: no owner, stored as 0x1000 so the field is non-zero). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_make_metadata(struct mc_rmp *r, uint64_t spa, uint64_t owner,
                                              enum mc_rmp_page_state *prev);
/* The owner a Metadata entry records (its GPA field without the tag). */
MC_API uint64_t mc_rmp_fw_metadata_owner(const struct mc_rmp_entry *e);
/* Hypervisor or Firmware -> HV-Fixed (fixed = true: the SNP_INIT_EX list takes Hypervisor pages,
 * SNP_PAGE_SET_STATE Firmware pages), HV-Fixed -> Hypervisor (fixed = false). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_make_hv_fixed(struct mc_rmp *r, uint64_t spa, bool fixed, enum mc_rmp_page_state *prev);
/* Pre-Guest -> Guest-Valid (SNP_LAUNCH_UPDATE): the entry must carry g->asid, g->gpa and g->large
 * (BAD_OWNER / BAD_SIZE otherwise); it becomes validated, mutable, with g->perm and g->vmsa. */
MC_API enum mc_rmp_fw_status mc_rmp_fw_launch_page(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_guest_page *g,
                                            enum mc_rmp_page_state *prev);
/* SNP_PAGE_RECLAIM: Firmware/Metadata -> Reclaim, Pre-Guest -> Guest-Invalid, Pre-Swap -> Guest-Valid.
 * large: the page is a 2 MiB entry (must match). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_reclaim(struct mc_rmp *r, uint64_t spa, bool large, enum mc_rmp_page_state *prev);
/* The entry governing the page at spa for a firmware command: the same checks as the transitions
 * (SNP ready, spa aligned to align = 4096 or 2 MiB, covered, not a page of the RMP itself), then
 * the governing entry (the 2 MiB entry for a page inside one: *large), its state. Changes nothing. */
MC_API enum mc_rmp_fw_status mc_rmp_fw_lookup(struct mc_rmp *r, uint64_t spa, uint64_t align, struct mc_rmp_entry *e,
                                       enum mc_rmp_page_state *state, bool *large);
/* SNP_PAGE_MOVE, after the firmware copied the contents: a guest page (Pre-Guest or Pre-Swap) of ASID
 * asid onto dst, a Pre-Guest page of the same ASID (dst takes its GPA, VMSA bit and permissions and
 * becomes Guest-Valid from Pre-Swap, Guest-Invalid from Pre-Guest; src becomes Guest-Invalid); or a
 * Metadata page of owner onto dst, a Firmware page (dst Metadata of that owner, src Firmware; 4 KiB
 * only). large: both are 2 MiB entries (BAD_SIZE otherwise). BAD_OWNER: another ASID or owner. */
MC_API enum mc_rmp_fw_status mc_rmp_fw_move(struct mc_rmp *r, uint64_t src, uint64_t dst, bool large, uint32_t asid,
                                     uint64_t owner, enum mc_rmp_page_state *src_prev,
                                     enum mc_rmp_page_state *dst_prev);
/* SNP_PAGE_UNSMASH: 512 4 KiB Pre-Guest (or Pre-Swap) entries of one guest with consecutive GPAs
 * -> one 2 MiB entry (spa 2 MiB aligned). */
MC_API enum mc_rmp_fw_status mc_rmp_fw_unsmash(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev);

/* ---- Host instructions (hypervisor, CPL 0, ASID 0) ---------------------------------------------
 * Each returns MC_OK when the instruction completed (*eax = enum mc_rmp_code, possibly a failure
 * code), or MC_E_FAULT with *fault (#UD when SNP_EN is clear or the CPU lacks the instruction).
 * spa: RAX, a system-physical address without C-bit. */
MC_API mc_status mc_rmp_rmpupdate(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_state *s, uint32_t *eax,
                           struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_rmp_psmash(struct mc_rmp *r, uint64_t spa, uint32_t *eax, struct mc_fault *fault, struct mc_error *err);
/* RMPREAD: Zen 5 (CPUID 8000_001F EAX[21]); #UD elsewhere. */
MC_API mc_status mc_rmp_rmpread(struct mc_rmp *r, uint64_t spa, struct mc_rmp_state *out, uint32_t *eax,
                         struct mc_fault *fault, struct mc_error *err);

/* ---- Guest instructions (an SNP-active vCPU, memcrypt/lcpu.h) -----------------------------------
 * va: RAX, a guest-virtual address, translated by the vCPU's one access path (guest walk + NPT);
 * a translation fault comes back as that fault. MC_OK: *eax (and *cf for PVALIDATE: set when the
 * Validated bit already had the requested value). #UD on a vCPU that is not SNP-active. */
MC_API mc_status mc_rmp_pvalidate(struct mc_rmp *r, struct mc_lcpu *vcpu, uint64_t va, bool size_2m, bool validate,
                           uint32_t *eax, bool *cf, struct mc_fault *fault, struct mc_error *err);
/* rdx: [7:0] target VMPL, [15:8] permission mask, [16] VMSA. */
MC_API mc_status mc_rmp_rmpadjust(struct mc_rmp *r, struct mc_lcpu *vcpu, uint64_t va, bool size_2m, uint64_t rdx,
                           uint32_t *eax, struct mc_fault *fault, struct mc_error *err);

/* ---- Access checks -------------------------------------------------------------------------------
 * The check of the one access path (mc_lcpu_set_check / mc_vm_set_check with ctx = the unit). The
 * unit installs it on the host CPU itself when SNP_EN is set; vCPUs get it from their hypervisor. */
MC_API MC_MUST_CHECK mc_status mc_rmp_check(void *rmp, const struct mc_access_check *chk, struct mc_fault *fault, struct mc_error *err);
/* The host's check of a physical write of [spa, spa+len) through 4 KiB mappings (what the
 * hypervisor's own stores into guest memory meet): MC_E_FAULT with #PF (RMP) when a page is
 * assigned. */
MC_API MC_MUST_CHECK mc_status mc_rmp_check_host_write(struct mc_rmp *r, uint64_t spa, uint64_t len, struct mc_fault *fault,
                                  struct mc_error *err);
/* The IOMMU's check for a device access [bus, bus+len) (bus address as issued, C-bit stripped
 * here): MC_E_VERIFY ("target abort": the IOMMU refuses, nothing is transferred) when any page is
 * assigned; MC_OK otherwise, and always when SNP_EN is clear. */
MC_API MC_MUST_CHECK mc_status mc_rmp_check_dma(void *rmp, uint64_t bus, uint64_t len, bool write, struct mc_error *err);

MC_END_DECLS

#endif
