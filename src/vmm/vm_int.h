/* memcrypt — internals of the hypervisor model (src/vmm only). */
#ifndef MC_VMM_VM_INT_H
#define MC_VMM_VM_INT_H

#include <memcrypt/guest.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/vm.h>

#include "vmm/vmm_host.h"

#define VM_MAX_VCPUS 64u

struct mc_vmm {
    struct mc_machine *m;
    struct mc_vmm_fw_ops fw; /* the host driver's mailbox */
    struct memctl *mc;
    uint64_t pool_base, pool_size, pool_next;
    uint32_t max_asid, min_sev_asid;
    uint8_t *asid_used;     /* [0..max_asid] */
    unsigned cbit;          /* 0 = no memory encryption */
    struct mc_rmp *rmp;     /* SEV-SNP's RMP unit (NULL: none) */
    unsigned live_vms;
};

struct mc_vcpu {
    struct mc_vm *vm;
    unsigned index;
    struct mc_lcpu *cpu; /* registers, TLB, the one access path (NPT nesting, the VM's ASID) */
};

struct mc_vm {
    struct mc_vmm *vmm;
    uint32_t handle, asid, vmcb_asid, policy, last_fw;
    uint64_t mem_size, mem_spa;
    uint64_t hcr3;         /* NPT root as issued (with the C-bit when the tables are encrypted) */
    bool npt_enc;
    unsigned nvcpu;
    struct mc_vcpu vcpu[VM_MAX_VCPUS];
    uint64_t vmsa_spa[VM_MAX_VCPUS];
    uint64_t pt_pool_gpa, pt_pool_len, pt_next; /* guest page-table pages (guest.c) */
};

/* npt.c */
mc_status vm_npt_build(struct mc_vm *vm, struct mc_error *err);
/* Host-side table access (the NPT lives in host memory). */
mc_status vm_host_pt_read(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *fault, struct mc_error *err);
mc_status vm_host_pt_write(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *fault, struct mc_error *err);
/* The ASID the VMCB carries, checked as VMRUN does. */
mc_status vm_run_asid(const struct mc_vm *vm, uint32_t *asid, struct mc_error *err);
/* guest.c: the paging mode a guest of this hypervisor sees. */
struct mc_paging_mode vm_guest_mode(const struct mc_vmm *vmm);

#endif
