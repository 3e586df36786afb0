/* memcrypt — how the board (memcrypt/board.h) builds the hypervisor and hands it the host's
 * firmware driver (src/board and src/vmm only). */
#ifndef MC_VMM_VMM_HOST_H
#define MC_VMM_VMM_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/machine.h>
#include <memcrypt/vm.h>

/* The hypervisor reaches the firmware only through the host driver's mailbox (the board's
 * mc_board_fw and mc_board_df_flush, with the board as ctx); small firmware outputs go to the
 * driver's data area (mc_board_fw_data). */
struct mc_vmm_fw_ops {
    void *ctx;
    mc_status (*fw)(void *ctx, uint32_t cmd, void *buf, size_t len, uint32_t *fw_status, struct mc_error *err);
    mc_status (*df_flush)(void *ctx, uint32_t *fw_status, struct mc_error *err);
    uint64_t data_pa;
};

/* A KVM-like hypervisor on machine m (borrowed; it must outlive the hypervisor). It owns the
 * host memory pool [pool_base, pool_base + pool_size) (4 KiB aligned, at least 64 KiB, inside
 * DRAM) from which it takes guest RAM, nested page tables and VMSA pages; it allocates ASIDs within the profile's range (SEV-ES guests below the
 * minimum SEV ASID). MC_E_UNSUPPORTED on a profile without SEV. */
mc_status mc_vmm_create(struct mc_machine *m, const struct mc_vmm_fw_ops *fw, uint64_t pool_base, uint64_t pool_size,
                        struct mc_vmm **out, struct mc_error *err);
void mc_vmm_destroy(struct mc_vmm *vmm); /* VMs must be destroyed first; NULL is fine */
/* The platform's RMP unit (NULL: none). VMs created while SNP is enabled get the RMP check on
 * their vCPUs, and host writes into guest memory are RMP-checked. */
struct mc_rmp;
void mc_vmm_set_rmp(struct mc_vmm *vmm, struct mc_rmp *rmp);

/* Snapshots (memcrypt/board.h's mc_board_snapshot): the pool and ASID allocation. Taking or
 * restoring one with VMs alive is MC_E_STATE (a VM object would no longer match its firmware
 * guest). */
struct mc_vmm_snap;
mc_status mc_vmm_snap_save(const struct mc_vmm *vmm, struct mc_vmm_snap **out, struct mc_error *err);
mc_status mc_vmm_snap_restore(struct mc_vmm *vmm, const struct mc_vmm_snap *s, struct mc_error *err);
void mc_vmm_snap_free(struct mc_vmm_snap *s);

/* SEV-SNP hibernation (memcrypt/migrate.h, saved guests of kind 3): the hypervisor's part.
 * vmm_snp_vm_quiesce: every vCPU that entered the guest leaves it (its registers saved into its
 * VMSA page, as at a VMEXIT), so the VMSA pages hold the whole vCPU state.
 * vmm_snp_vm_resume: as mc_vm_create with cfg->snp, but in place of GCTX_CREATE, LAUNCH_START and
 * ACTIVATE the hypervisor takes an ASID, makes a page Firmware for the context, allocates a VMSA
 * page for each vCPU in vmsa_mask and its request/response pages, and calls resume (the
 * firmware's import), which must leave a RUNNING guest there; a DF_FLUSH_REQUIRED answer
 * (*fw_status) gets WBINVD + DF_FLUSH and one retry. On failure nothing is left behind.
 * vmm_snp_vm_mark_private: the guest page at gpa is assigned to the guest (given back at destroy). */
typedef mc_status (*vmm_snp_resume_fn)(void *ctx, struct mc_vm *vm, uint32_t asid, uint32_t *fw_status,
                                       struct mc_error *err);
mc_status vmm_snp_vm_quiesce(struct mc_vm *vm, struct mc_error *err);
mc_status vmm_snp_vm_resume(struct mc_vmm *v, const struct mc_vm_config *cfg, uint64_t vmsa_mask, vmm_snp_resume_fn resume,
                            void *ctx, struct mc_vm **out, struct mc_error *err);
void vmm_snp_vm_mark_private(struct mc_vm *vm, uint64_t gpa);
uint64_t vmm_snp_vm_policy(const struct mc_vm *vm);
/* True when the guest changed a vCPU's VMSA with GHCB AP Creation (runs from a guest-made VMSA, a
 * creation waits for INIT, or AP_DESTROY): *vcpu is the first such vCPU. */
bool vmm_snp_vm_ap_changed(const struct mc_vm *vm, unsigned *vcpu);
/* The GPAs the hypervisor assigned to the guest (launch, page-state changes), ascending; malloc'd
 * (NULL with *n = 0 when none or out of memory). */
uint64_t *vmm_snp_vm_assigned(const struct mc_vm *vm, uint64_t *n);
void vmm_snp_vm_set_secrets(struct mc_vm *vm, uint64_t gpa); /* a restored guest's secrets page */

#endif
