/* memcrypt — the guest program API: code that plays the guest OS of an SEV VM.
 *
 * Every access goes down the vCPU's one access path (memcrypt/lcpu.h: its TLB, the vCPU's own
 * page tables (guest CR3, 4-level long mode), the hypervisor's nested page tables, the access
 * check hook, then the memory controller with the VM's ASID), with its fault contract (a
 * multi-page access that faults changes no memory) and TLB flush rules:
 *   - instruction fetches and guest page-table walks are always private (the ASID key);
 *   - data accesses use the C-bit of the guest PTE: C=1 private, C=0 shared (what the host and
 *     devices see); with paging off every access is private.
 * The C-bit is at the host's position (CPUID 8000_001F EBX[5:0]); guest physical addresses are
 * otherwise not reduced. Faults come back as MC_E_FAULT with *fault (#PF for the guest's own
 * tables, #NPF for the hypervisor's).
 */
#ifndef MEMCRYPT_GUEST_H
#define MEMCRYPT_GUEST_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/paging.h>
#include <memcrypt/vm.h>

MC_BEGIN_DECLS

/* Registers. Setting them is a guest MOV to CR0, CR4, EFER and CR3 (no checks beyond the
 * walker's): the CR3 write flushes the vCPU's non-global TLB entries, paging-mode changes all. */
MC_API void mc_guest_get_regs(const struct mc_vcpu *v, struct mc_paging_regs *r);
MC_API void mc_guest_set_regs(struct mc_vcpu *v, const struct mc_paging_regs *r);
/* The guest's C-bit as a PTE / CR3 bit mask. */
MC_API uint64_t mc_guest_cbit(const struct mc_vcpu *v);
/* Guest INVLPG on this vCPU. */
MC_API void mc_guest_invlpg(struct mc_vcpu *v, uint64_t va);

/* Accesses at guest virtual addresses (CPL 0 unless user). */
MC_API mc_status mc_guest_load(struct mc_vcpu *v, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                        struct mc_error *err);
MC_API mc_status mc_guest_store(struct mc_vcpu *v, uint64_t va, const void *buf, size_t len, bool user,
                         struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_guest_fetch(struct mc_vcpu *v, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                         struct mc_error *err);
/* REP MOVS-like bulk copy with non-temporal stores (whole-line runs through the engine), page
 * by page: a fault leaves the pages before it copied. */
MC_API mc_status mc_guest_copy(struct mc_vcpu *v, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                        struct mc_error *err);
/* Guest-physical accesses (gpa may carry the C-bit; private = the access is encrypted). */
MC_API mc_status mc_guest_phys_read(struct mc_vcpu *v, uint64_t gpa, bool private_, void *buf, size_t len,
                             struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_guest_phys_write(struct mc_vcpu *v, uint64_t gpa, bool private_, const void *buf, size_t len,
                              struct mc_fault *fault, struct mc_error *err);

/* ---- SEV-SNP guest instructions (memcrypt/rmp.h; the vCPU must be SNP-active, mc_vm_set_snp) ----
 * PVALIDATE / RMPADJUST of the page at guest-virtual va. MC_OK: *eax = the return code (and *cf
 * PVALIDATE's carry flag: no change); MC_E_FAULT with *fault (#NPF, #GP, #UD, #PF). */
MC_API mc_status mc_guest_pvalidate(struct mc_vcpu *v, uint64_t va, bool size_2m, bool validate, uint32_t *eax, bool *cf,
                             struct mc_fault *fault, struct mc_error *err);
MC_API mc_status mc_guest_rmpadjust(struct mc_vcpu *v, uint64_t va, bool size_2m, uint64_t rdx, uint32_t *eax,
                             struct mc_fault *fault, struct mc_error *err);
/* RDMSR SEV_STATUS (0xC0010131) inside the guest: bit 0 SEV, bit 1 SEV-ES, and for an SNP vCPU
 * its VMSA's SEV_FEATURES shifted to bit 2 (bit 2 SNP active). */
MC_API uint64_t mc_guest_sev_status(const struct mc_vcpu *v);
/* The VMPL the vCPU runs at (0..3). */
MC_API void mc_guest_set_vmpl(struct mc_vcpu *v, unsigned vmpl);

/* ---- The GHCB (SEV-ES/SNP guest <-> hypervisor), GHCB protocol version 2 ----
 * The guest writes the GHCB MSR (0xC0010130) and executes VMGEXIT; the hypervisor answers in the
 * MSR (MSR protocol) or in the GHCB page the guest registered (a shared page: the guest writes it
 * with C=0 through its access path, the hypervisor reads it through its own mapping).
 * MSR protocol (code in bits 11:0): 0x002 SEV info -> 0x001 (max 2, min 1, C-bit position);
 * 0x004 CPUID -> 0x005 (the profile's CPUID value; the CPUID page is what an SNP guest trusts);
 * 0x012 register GHCB GPA -> 0x013 (GFN echoed; 0xFFF..F when refused); 0x014 page-state change
 * (GFN, op 1 private / 2 shared) -> 0x015 (error in 63:32); 0x080 hypervisor features -> 0x081
 * (bit 0 SNP, bit 1 AP creation); 0x100 termination (the VM stops: mc_vm_terminated). Any other
 * code terminates the guest as KVM does.
 * GHCB page (the MSR holds the registered GPA): SW_EXITCODE 0x80000010 page-state change (the
 * buffer at SW_SCRATCH, CUR_ENTRY advanced), 0x80000011 guest request, 0x80000012 extended guest
 * request (RAX certificate buffer GPA, RBX pages) -> SW_EXITINFO2 as the hypervisor sets it;
 * 0x80000013 AP Creation (SW_EXITINFO1 31:0 request 0 create on INIT / 1 create / 2 destroy, 63:32
 * the target vCPU's APIC ID = its index; SW_EXITINFO2 the VMSA's GPA; RAX its SEV_FEATURES) ->
 * SW_EXITINFO1 0, or 2 with SW_EXITINFO2 5 (refused, nothing changed). */
#define MC_MSR_GHCB 0xC0010130u
#define MC_GHCB_SW_EXITCODE 0x390u
#define MC_GHCB_SW_EXITINFO1 0x398u
#define MC_GHCB_SW_EXITINFO2 0x3A0u
#define MC_GHCB_SW_SCRATCH 0x3A8u
#define MC_GHCB_VALID_BITMAP 0x3F0u
#define MC_GHCB_SHARED_BUF 0x800u
#define MC_GHCB_SHARED_BUF_SIZE 0x7F0u
#define MC_GHCB_PROTOCOL 0xFFAu
#define MC_GHCB_USAGE 0xFFCu
#define MC_GHCB_RAX 0x1F8u
#define MC_GHCB_RBX 0x318u
#define MC_GHCB_EXIT_PSC 0x80000010u
#define MC_GHCB_EXIT_GUEST_REQUEST 0x80000011u
#define MC_GHCB_EXIT_EXT_GUEST_REQUEST 0x80000012u
#define MC_GHCB_EXIT_AP_CREATION 0x80000013u
#define MC_GHCB_AP_CREATE_ON_INIT 0u
#define MC_GHCB_AP_CREATE 1u
#define MC_GHCB_AP_DESTROY 2u
MC_API void mc_guest_wrmsr_ghcb(struct mc_vcpu *v, uint64_t val);
MC_API uint64_t mc_guest_rdmsr_ghcb(const struct mc_vcpu *v);
/* VMGEXIT on vCPU v: the hypervisor handles the exit and the guest resumes (MC_OK), or the guest
 * was terminated (MC_E_STATE, reason in err and mc_vm_terminated). MC_E_INVAL on a vCPU that is not
 * an SEV-ES/SNP guest's (VMGEXIT is VMMCALL there). */
MC_API mc_status mc_guest_vmgexit(struct mc_vcpu *v, struct mc_error *err);

/* ---- Building the guest's page tables (the guest kernel's early boot) ----
 * Tables are private pages taken from [pool_gpa, pool_gpa + pool_len) of guest RAM.
 * paging_init: empty PML4, CR0.PG|WP|PE, CR4.PAE, EFER.LME|LMA|NXE, CR3 = PML4 | C-bit,
 * for every vCPU of the VM. map: 4 KiB mappings va -> gpa for len bytes (both 4 KiB aligned). */
#define MC_GUEST_MAP_WRITE 1u
#define MC_GUEST_MAP_USER 2u
#define MC_GUEST_MAP_NX 4u
#define MC_GUEST_MAP_SHARED 8u /* C=0: shared with the hypervisor and devices */
MC_API mc_status mc_guest_paging_init(struct mc_vm *vm, uint64_t pool_gpa, uint64_t pool_len, struct mc_error *err);
MC_API mc_status mc_guest_map(struct mc_vm *vm, uint64_t va, uint64_t gpa, uint64_t len, unsigned flags,
                       struct mc_error *err); /* + INVLPG of each page on every vCPU, as a guest kernel does */
/* set_memory_decrypted / set_memory_encrypted: flip the C-bit of the 4 KiB pages covering
 * [va, va+len) following the flush rules (the page is written back and invalidated in the old
 * key domain first: VM_PAGE_FLUSH for private pages, CLFLUSH of each line for shared ones),
 * then the PTE changes and the TLB entry goes. Contents are NOT converted: what was private
 * reads back as ciphertext once shared, as on hardware; callers re-initialise the page. */
MC_API mc_status mc_guest_set_shared(struct mc_vcpu *v, uint64_t va, uint64_t len, bool shared, struct mc_error *err);

/* ---- Guest DMA through SWIOTLB bounce buffers ----
 * A pool of shared (C=0) pages in the guest; a device (memcrypt/dma.h) can reach only those.
 * dma_to_device: the guest copies len bytes from its private buffer at va into a bounce slot
 * and returns the bus address (SPA) the device should read; dma_from_device: the device has
 * written len bytes at the slot, the guest copies them into va. */
struct mc_swiotlb {
    struct mc_vcpu *v;
    uint64_t va, gpa, len; /* the pool: shared pages mapped at va */
    uint64_t next;         /* bump allocator offset (freed all at once by mc_swiotlb_reset) */
};
MC_API mc_status mc_swiotlb_init(struct mc_swiotlb *s, struct mc_vcpu *v, uint64_t va, uint64_t gpa, uint64_t len,
                          struct mc_error *err);
MC_API mc_status mc_swiotlb_map(struct mc_swiotlb *s, uint64_t va, size_t len, bool to_device, uint64_t *bus,
                         uint64_t *slot_va, struct mc_error *err);
MC_API mc_status mc_swiotlb_unmap_from_device(struct mc_swiotlb *s, uint64_t slot_va, uint64_t va, size_t len,
                                       struct mc_error *err);
MC_API void mc_swiotlb_reset(struct mc_swiotlb *s);

MC_END_DECLS

#endif
