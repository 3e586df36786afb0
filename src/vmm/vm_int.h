/* memcrypt — internals of the hypervisor model (src/vmm only). */
#ifndef MC_VMM_VM_INT_H
#define MC_VMM_VM_INT_H

#include <stdatomic.h>

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
    uint64_t ghcb_msr;   /* SEV-ES/SNP: the GHCB MSR (0xC0010130) as the guest last saw it */
    uint64_t ghcb_gpa;   /* the GHCB the guest registered (MSR protocol 0x012) */
    bool ghcb_registered;
    /* SEV-SNP: the vCPU's state lives in its VMSA page (vm->vmsa_spa[index]); VMRUN loads it
     * (vmsa_loaded), VMEXIT (VMGEXIT) saves it back. */
    bool vmsa_loaded;
    uint64_t sev_features;
    /* GHCB AP Creation (exit 0x80000013, ghcb.c): the vCPU runs from a VMSA page the guest made
     * in its own RAM (guest_vmsa, at guest_vmsa_gpa) instead of its launched one; no_vmsa after
     * AP_DESTROY (VMRUN refused until the next creation); a CREATE_ON_INIT request waits for the
     * vCPU's next INIT (init_pending, init_vmsa_gpa). */
    bool guest_vmsa, no_vmsa, init_pending;
    uint64_t guest_vmsa_gpa, init_vmsa_gpa;
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
    /* SEV-SNP (vm_snp.c) */
    bool snp;
    uint64_t snp_policy;
    uint64_t gctx_spa;      /* the guest context page (Context state) */
    uint64_t req_spa;       /* the hypervisor's copy of a guest request (Hypervisor page) */
    uint64_t rsp_spa;       /* the firmware's response page (Firmware state) */
    uint64_t secrets_gpa;   /* where SNP_LAUNCH_UPDATE put the secrets page (0: none; QEMU knows it from
                               OVMF's metadata) */
    bool has_secrets;
    bool has_vmsa_features;
    uint64_t vmsa_features; /* SEV_FEATURES of the launched VMSAs (KVM's vmsa_features): AP Creation's
                               RAX must equal them */
    uint8_t *assigned;      /* one bit per 4 KiB page of guest RAM the hypervisor assigned */
    uint8_t *certs;         /* the extended-report certificate table (mc_vm_snp_set_certs) */
    size_t certs_len;
    bool terminated;        /* the guest asked to terminate (GHCB MSR 0x100) */
    mc_vm_exit_hook_fn exit_hook;
    void *exit_hook_ctx;
    uint64_t term_reason;
    uint64_t send_spa, xfer_spa; /* migration: SEND_START's certificate pages, the packet staging pages */
    /* Intra-host migration and mirrors (vm_move.c) */
    bool no_ctx;            /* made with no_sev and no context received yet */
    bool dead;              /* its context was moved to another VM */
    struct mc_vm *mirror_of; /* a mirror: the VM whose context it shares */
    unsigned mirrors;       /* VMs mirroring this one */
    bool destroy_pending;   /* mc_vm_destroy while mirrored: finished by its last mirror's destroy */
    atomic_int busy;        /* held by a move or copy (try-lock, never waited for) */
};

/* vm_move.c: refuse an operation on a VM that has no context of its own to use it with: dead
 * (MC_E_STATE), made with no_sev and none received (MC_E_STATE), or a mirror when the command
 * is not one KVM lets a mirror issue (MC_E_INVAL). */
mc_status vm_ctx_check(const struct mc_vm *vm, const char *what, bool mirror_ok, struct mc_error *err);

/* npt.c */
mc_status vm_npt_build(struct mc_vm *vm, struct mc_error *err);
/* Host-side table access (the NPT lives in host memory). */
mc_status vm_host_pt_read(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *fault, struct mc_error *err);
mc_status vm_host_pt_write(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *fault, struct mc_error *err);
/* The ASID the VMCB carries, checked as VMRUN does. */
mc_status vm_run_asid(const struct mc_vm *vm, uint32_t *asid, struct mc_error *err);
/* vm.c: the hypervisor's own accesses (C=0; writes RMP-checked) and firmware commands. */
mc_status vmm_host_write(struct mc_vmm *v, uint64_t pa, const void *buf, size_t len, struct mc_error *err);
mc_status vmm_host_read(struct mc_vmm *v, uint64_t pa, void *buf, size_t len, struct mc_error *err);
mc_status vmm_host_flush(struct mc_vmm *v, uint64_t pa, uint64_t len, struct mc_error *err);
mc_status vm_fw(struct mc_vm *vm, uint32_t cmd, void *buf, size_t len, struct mc_error *err);
/* vm_snp.c: SNP's part of mc_vm_create / mc_vm_destroy (GCTX_CREATE, LAUNCH_START, ACTIVATE;
 * DECOMMISSION and the pages given back). */
mc_status vm_snp_start(struct mc_vm *vm, const struct mc_vm_config *cfg, uint32_t asid, struct mc_error *err);
void vm_snp_stop(struct mc_vm *vm);
/* vmm_snp_vm_resume's part after the VM's RAM, tables and vCPUs exist. */
mc_status vm_snp_resume(struct mc_vm *vm, const struct mc_vm_config *cfg, uint32_t asid, uint64_t vmsa_mask,
                        vmm_snp_resume_fn fn, void *ctx, struct mc_error *err);
/* VMRUN of vCPU v (every guest entry): an SNP vCPU's state is loaded from its VMSA page the first
 * time (the page must be this guest's validated VMSA page, SEV_FEATURES.SNPActive set), else
 * MC_E_STATE (VMEXIT_INVALID). No-op for other guests and loaded vCPUs. */
mc_status vm_snp_vmrun(struct mc_vcpu *v, struct mc_error *err);
/* VMEXIT of an SNP vCPU: its registers are saved into its VMSA page (the guest's key). */
mc_status vm_snp_vmexit(struct mc_vcpu *v, struct mc_error *err);
/* GHCB AP Creation: point vCPU t at a VMSA (request 0 on INIT, 1 now, 2 destroy; gpa the guest's
 * page). The caller checked the request; the target's loaded state goes back to its current VMSA. */
mc_status vm_snp_ap_set(struct mc_vcpu *t, unsigned request, uint64_t gpa, struct mc_error *err);
/* guest.c: the paging mode a guest of this hypervisor sees. */
struct mc_paging_mode vm_guest_mode(const struct mc_vmm *vmm);

#endif
