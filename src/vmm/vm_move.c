/* memcrypt — intra-host migration and mirror VMs: one VM's SEV encryption context moved to, or
 * shared with, another VM of the same hypervisor, as KVM's KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM and
 * KVM_CAP_VM_COPY_ENC_CONTEXT_FROM do (see memcrypt/vm.h). No firmware command is involved: the
 * firmware guest, its ASID binding and key stay; the hypervisor changes which VM owns them. */
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>

#include "vmm/vm_int.h"

mc_status vm_ctx_check(const struct mc_vm *vm, const char *what, bool mirror_ok, struct mc_error *err)
{
    if (!vm)
        return mc_seterr(err, MC_E_INVAL, "%s needs a VM", what);
    if (vm->dead)
        return mc_seterr(err, MC_E_STATE, "%s refused: the VM is dead (its encryption context was moved to another VM)",
                         what);
    if (vm->no_ctx)
        return mc_seterr(err, MC_E_STATE, "%s refused: the VM has no encryption context (made without SEV)", what);
    if (vm->mirror_of && !mirror_ok)
        return mc_seterr(err, MC_E_INVAL, "%s refused: a mirror VM shares its parent's context and may not issue it",
                         what);
    return MC_OK;
}

static bool try_lock(struct mc_vm *vm)
{
    int idle = 0;
    return atomic_compare_exchange_strong(&vm->busy, &idle, 1);
}

static void unlock(struct mc_vm *vm) { atomic_store(&vm->busy, 0); }

/* Both VMs' migration locks, never waiting (KVM's sev_lock_two_vms): MC_E_BUSY when either is
 * held by another move or copy. */
static mc_status lock_two(struct mc_vm *dst, struct mc_vm *src, const char *what, struct mc_error *err)
{
    if (!dst || !src)
        return mc_seterr(err, MC_E_INVAL, "%s needs two VMs", what);
    if (dst == src)
        return mc_seterr(err, MC_E_INVAL, "%s: a VM cannot take its own encryption context", what);
    if (dst->vmm != src->vmm)
        return mc_seterr(err, MC_E_INVAL, "%s works between VMs of one hypervisor (intra-host)", what);
    if (!try_lock(dst))
        return mc_seterr(err, MC_E_BUSY, "%s: the destination VM is in another move or copy", what);
    if (!try_lock(src)) {
        unlock(dst);
        return mc_seterr(err, MC_E_BUSY, "%s: the source VM is in another move or copy", what);
    }
    return MC_OK;
}

/* The checks a move and a copy share, both locks held. */
static mc_status common_checks(const struct mc_vm *dst, const struct mc_vm *src, const char *what, struct mc_error *err)
{
    if (dst->dead || src->dead)
        return mc_seterr(err, MC_E_STATE, "%s: the %s VM is dead (its context was moved away)", what,
                         dst->dead ? "destination" : "source");
    if (dst->destroy_pending || src->destroy_pending)
        return mc_seterr(err, MC_E_STATE, "%s: the %s VM is being destroyed", what,
                         dst->destroy_pending ? "destination" : "source");
    if (!dst->no_ctx)
        return mc_seterr(err, MC_E_INVAL, "%s: the destination already has an encryption context (%s)", what,
                         (dst->policy & MC_SEV_POLICY_ES) ? "SEV-ES" : "SEV");
    if (src->no_ctx)
        return mc_seterr(err, MC_E_INVAL, "%s: the source has no encryption context (not an SEV VM)", what);
    if (src->snp)
        return mc_seterr(err, MC_E_UNSUPPORTED, "%s: SEV-SNP guests are not moved or mirrored by this model", what);
    return MC_OK;
}

/* What a destination takes from its source in a move and a copy alike: the firmware guest, its
 * ASID and policy, the guest's RAM, nested tables and page-table state. */
static void take_context(struct mc_vm *dst, const struct mc_vm *src)
{
    dst->handle = src->handle;
    dst->asid = dst->vmcb_asid = src->asid;
    dst->policy = src->policy;
    dst->mem_size = src->mem_size;
    dst->mem_spa = src->mem_spa;
    dst->hcr3 = src->hcr3;
    dst->npt_enc = src->npt_enc;
    dst->pt_pool_gpa = src->pt_pool_gpa;
    dst->pt_pool_len = src->pt_pool_len;
    dst->pt_next = src->pt_next;
    dst->no_ctx = false;
}

mc_status mc_vm_move_enc_context_from(struct mc_vm *dst, struct mc_vm *src, struct mc_error *err)
{
    const char *what = "moving the encryption context";
    mc_status s = lock_two(dst, src, what, err);
    if (s)
        return s;
    s = common_checks(dst, src, what, err);
    if (!s && src->mirrors)
        s = mc_seterr(err, MC_E_BUSY, "%s: the source is mirrored by %u VM(s)", what, src->mirrors);
    if (!s && (src->policy & MC_SEV_POLICY_ES)) {
        if (dst->nvcpu != src->nvcpu)
            s = mc_seterr(err, MC_E_INVAL, "%s: SEV-ES needs as many vCPUs on the destination (%u) as the source has (%u)",
                          what, dst->nvcpu, src->nvcpu);
        for (unsigned i = 0; !s && i < src->nvcpu; i++)
            if (!src->vmsa_spa[i])
                s = mc_seterr(err, MC_E_INVAL, "%s: SEV-ES vCPU %u of the source has no VMSA (LAUNCH_UPDATE_VMSA)", what,
                              i);
    }
    if (!s) {
        take_context(dst, src);
        dst->vmcb_asid = src->vmcb_asid;
        dst->last_fw = src->last_fw;
        /* The guest's vCPUs go with it (registers, TLBs, VMSAs); the destination's own count is
         * replaced (SEV-ES: equal, checked above). */
        dst->nvcpu = src->nvcpu;
        for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
            dst->vcpu[i] = src->vcpu[i];
            dst->vcpu[i].vm = dst;
            dst->vmsa_spa[i] = src->vmsa_spa[i];
            src->vcpu[i] = (struct mc_vcpu){0};
            src->vmsa_spa[i] = 0;
        }
        dst->send_spa = src->send_spa;
        dst->xfer_spa = src->xfer_spa;
        dst->exit_hook = src->exit_hook;
        dst->exit_hook_ctx = src->exit_hook_ctx;
        dst->mirror_of = src->mirror_of; /* a moved mirror stays its parent's mirror */
        src->mirror_of = NULL;
        src->nvcpu = 0;
        src->handle = src->asid = src->vmcb_asid = 0;
        src->mem_size = src->mem_spa = src->hcr3 = 0;
        src->dead = true;
    }
    unlock(src);
    unlock(dst);
    return s;
}

mc_status mc_vm_copy_enc_context_from(struct mc_vm *dst, struct mc_vm *src, struct mc_error *err)
{
    const char *what = "mirroring the encryption context";
    mc_status s = lock_two(dst, src, what, err);
    if (s)
        return s;
    s = common_checks(dst, src, what, err);
    if (!s && src->mirror_of)
        s = mc_seterr(err, MC_E_INVAL, "%s: the source is itself a mirror (no mirrors of mirrors)", what);
    if (!s && dst->nvcpu)
        s = mc_seterr(err, MC_E_INVAL, "%s: the destination has %u vCPU(s); a mirror gets its vCPUs afterwards", what,
                      dst->nvcpu);
    if (!s) {
        take_context(dst, src);
        dst->mirror_of = src;
        src->mirrors++;
    }
    unlock(src);
    unlock(dst);
    return s;
}

mc_status mc_vm_add_vcpu(struct mc_vm *vm, struct mc_vcpu **out, struct mc_error *err)
{
    if (out)
        *out = NULL;
    if (!vm)
        return mc_seterr(err, MC_E_INVAL, "mc_vm_add_vcpu needs a VM");
    if (vm->dead || (!vm->no_ctx && !vm->mirror_of))
        return mc_seterr(err, MC_E_STATE, "vCPUs are added to mirrors and to VMs made without SEV only");
    if (vm->nvcpu >= VM_MAX_VCPUS)
        return mc_seterr(err, MC_E_FULL, "a VM has at most %u vCPUs", VM_MAX_VCPUS);
    struct mc_vcpu *v = &vm->vcpu[vm->nvcpu];
    *v = (struct mc_vcpu){.vm = vm, .index = vm->nvcpu};
    if (vm->mirror_of) { /* runs with the shared ASID on the shared nested tables */
        struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = vm->asid, .nroot = vm->hcr3,
                                    .mode = vm_guest_mode(vm->vmm), .sev = true};
        mc_status s = mc_lcpu_create(vm->vmm->mc, &cc, &v->cpu, err);
        if (s)
            return s;
        if (mc_rmp_snp_enabled(vm->vmm->rmp))
            mc_rmp_install(vm->vmm->rmp, v->cpu);
    }
    vm->nvcpu++;
    if (out)
        *out = v->cpu ? v : NULL;
    return MC_OK;
}

struct mc_vm *mc_vm_mirror_of(const struct mc_vm *vm) { return vm ? vm->mirror_of : NULL; }
bool mc_vm_dead(const struct mc_vm *vm) { return vm && vm->dead; }
