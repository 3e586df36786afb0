/* The GHCB (GHCB specification, protocol version 2): the guest's MSR and VMGEXIT, and the
 * hypervisor's handling of them as KVM does it — the MSR protocol (SEV info, CPUID, GHCB GPA
 * registration, page-state change, hypervisor features, termination) and the GHCB page exits SNP
 * needs (page-state change with RMPUPDATE, guest requests, extended guest requests, AP Creation).
 * The GHCB page is shared: the hypervisor reads and writes it through its own mapping (C=0). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>

#include "vmm/vm_int.h"

#define PG 4096ull
#define GHCB_INFO_SEV_INFO 0x001u
#define GHCB_INFO_SEV_INFO_REQ 0x002u
#define GHCB_INFO_CPUID_REQ 0x004u
#define GHCB_INFO_CPUID_RESP 0x005u
#define GHCB_INFO_REG_REQ 0x012u
#define GHCB_INFO_REG_RESP 0x013u
#define GHCB_INFO_PSC_REQ 0x014u
#define GHCB_INFO_PSC_RESP 0x015u
#define GHCB_INFO_HV_FT_REQ 0x080u
#define GHCB_INFO_HV_FT_RESP 0x081u
#define GHCB_INFO_TERM 0x100u
#define GHCB_PROTO_MIN 1u
#define GHCB_PROTO_MAX 2u
/* Hypervisor features: bit 0 SNP, bit 1 SNP AP creation (exit 0x80000013). */
#define GHCB_HV_FT 3u
/* SW_EXITINFO2 when SW_EXITINFO1 = 2 (KVM's GHCB_ERR_*) */
#define GHCB_ERR_INVALID_USAGE 2u
#define GHCB_ERR_INVALID_SCRATCH 3u
#define GHCB_ERR_MISSING_INPUT 4u
#define GHCB_ERR_INVALID_INPUT 5u
/* Page-state change errors in SW_EXITINFO2 (KVM's VMGEXIT_PSC_ERROR_*) */
#define PSC_ERR_GENERIC (0x100ull << 32)
#define PSC_ERR_INVALID_HDR ((1ull << 32) | 1)
#define PSC_ERR_INVALID_ENTRY ((1ull << 32) | 2)
#define PSC_MAX_ENTRIES 253u
#define PSC_OP_PRIVATE 1u
#define PSC_OP_SHARED 2u

void mc_guest_wrmsr_ghcb(struct mc_vcpu *v, uint64_t val)
{
    if (v)
        v->ghcb_msr = val;
}
uint64_t mc_guest_rdmsr_ghcb(const struct mc_vcpu *v) { return v ? v->ghcb_msr : 0; }

static mc_status terminate(struct mc_vm *vm, unsigned set, unsigned reason, struct mc_error *err)
{
    vm->terminated = true;
    vm->term_reason = (uint64_t)set << 8 | reason;
    return mc_seterr(err, MC_E_STATE, "the guest was terminated (reason set %u, reason %u)", set, reason);
}

/* One page-state change of a 4 KiB page or a 2 MiB region: RMPUPDATE as the host executes it.
 * Returns 0 or the PSC error the guest sees. A page going private is first written back from the
 * host's caches (lines the hypervisor left under its own key must not land on the guest's). */
static uint64_t psc_one(struct mc_vm *vm, uint64_t gpa, unsigned op, bool big)
{
    uint64_t size = big ? 512 * PG : PG;
    if ((op != PSC_OP_PRIVATE && op != PSC_OP_SHARED) || (gpa & (size - 1)) || gpa >= vm->mem_size ||
        size > vm->mem_size - gpa)
        return PSC_ERR_INVALID_ENTRY;
    uint64_t spa = vm->mem_spa + gpa;
    struct mc_rmp_state st = {0};
    st.pagesize = big;
    if (op == PSC_OP_PRIVATE) {
        st.gpa = gpa;
        st.assigned = 1;
        st.asid = vm->asid;
        if (vmm_host_flush(vm->vmm, spa, size, NULL) != MC_OK)
            return PSC_ERR_GENERIC;
    }
    uint32_t eax = 1;
    struct mc_fault f;
    if (mc_rmp_rmpupdate(vm->vmm->rmp, spa, &st, &eax, &f, NULL) != MC_OK || eax)
        return PSC_ERR_GENERIC;
    for (uint64_t p = gpa / PG; p < (gpa + size) / PG; p++) {
        if (op == PSC_OP_PRIVATE)
            vm->assigned[p / 8] |= (uint8_t)(1u << (p % 8));
        else
            vm->assigned[p / 8] &= (uint8_t)~(1u << (p % 8));
    }
    return 0;
}

static mc_status msr_protocol(struct mc_vcpu *v, struct mc_error *err)
{
    struct mc_vm *vm = v->vm;
    uint64_t msr = v->ghcb_msr;
    switch ((unsigned)(msr & 0xFFF)) {
    case GHCB_INFO_SEV_INFO_REQ:
        v->ghcb_msr = (uint64_t)GHCB_PROTO_MAX << 48 | (uint64_t)GHCB_PROTO_MIN << 32 | (uint64_t)vm->vmm->cbit << 24 |
                      GHCB_INFO_SEV_INFO;
        return MC_OK;
    case GHCB_INFO_CPUID_REQ: {
        struct mc_cpuid_regs r = {0};
        unsigned reg = (unsigned)(msr >> 30) & 3;
        mc_cpuid(mc_machine_profile(vm->vmm->m), (uint32_t)(msr >> 32), 0, &r);
        uint32_t val = reg == 0 ? r.eax : reg == 1 ? r.ebx : reg == 2 ? r.ecx : r.edx;
        v->ghcb_msr = (uint64_t)val << 32 | (uint64_t)reg << 30 | GHCB_INFO_CPUID_RESP;
        return MC_OK;
    }
    case GHCB_INFO_REG_REQ: {
        uint64_t gfn = msr >> 12;
        if (gfn >= vm->mem_size / PG) { /* KVM answers with an all-ones GFN */
            v->ghcb_msr = ~0xFFFull | GHCB_INFO_REG_RESP;
            return MC_OK;
        }
        v->ghcb_gpa = gfn * PG;
        v->ghcb_registered = true;
        v->ghcb_msr = gfn << 12 | GHCB_INFO_REG_RESP;
        return MC_OK;
    }
    case GHCB_INFO_PSC_REQ: {
        uint64_t gfn = (msr >> 12) & ((1ull << 40) - 1);
        unsigned op = (unsigned)(msr >> 52) & 0xF;
        uint64_t e = vm->snp ? psc_one(vm, gfn * PG, op, false) : PSC_ERR_GENERIC;
        v->ghcb_msr = (uint64_t)(e ? 1u : 0u) << 32 | GHCB_INFO_PSC_RESP; /* any failure: error 1 */
        return MC_OK;
    }
    case GHCB_INFO_HV_FT_REQ:
        v->ghcb_msr = (uint64_t)(vm->snp ? GHCB_HV_FT : 0) << 12 | GHCB_INFO_HV_FT_RESP;
        return MC_OK;
    case GHCB_INFO_TERM:
        return terminate(vm, (unsigned)(msr >> 12) & 0xF, (unsigned)(msr >> 16) & 0xFF, err);
    default: /* KVM: an unknown request terminates the guest (reason set 0, general) */
        return terminate(vm, 0, 1, err);
    }
}

static bool valid(const uint8_t *g, unsigned off) { return (g[MC_GHCB_VALID_BITMAP + off / 64] >> (off / 8 % 8)) & 1; }

static void set_qw(uint8_t *g, unsigned off, uint64_t val)
{
    mc_put_le64(g + off, val);
    g[MC_GHCB_VALID_BITMAP + off / 64] |= (uint8_t)(1u << (off / 8 % 8));
}

/* The page-state change buffer, inside the GHCB's shared buffer (KVM requires that). */
static uint64_t psc_buffer(struct mc_vm *vm, uint64_t ghcb_gpa, uint8_t *g)
{
    uint64_t scratch = mc_le64(g + MC_GHCB_SW_SCRATCH);
    uint64_t lo = ghcb_gpa + MC_GHCB_SHARED_BUF;
    if (scratch < lo || scratch - lo > MC_GHCB_SHARED_BUF_SIZE - 8) /* no sum: SW_SCRATCH is the guest's */
        return PSC_ERR_INVALID_HDR;
    uint8_t *b = g + (scratch - ghcb_gpa);
    size_t room = (size_t)(lo + MC_GHCB_SHARED_BUF_SIZE - scratch);
    unsigned cur = mc_le16(b), end = mc_le16(b + 2);
    if (mc_le32(b + 4) || end >= PSC_MAX_ENTRIES || 8 + 8 * (size_t)(end + 1) > room)
        return PSC_ERR_INVALID_HDR;
    uint64_t e = 0;
    for (; cur <= end; cur++) {
        uint8_t *ent = b + 8 + 8 * (size_t)cur;
        uint64_t x = mc_le64(ent);
        bool big = (x >> 56) & 1;
        if (x >> 57) {
            e = PSC_ERR_INVALID_ENTRY;
            break;
        }
        e = psc_one(vm, ((x >> 12) & ((1ull << 40) - 1)) * PG, (unsigned)(x >> 52) & 0xF, big);
        if (e)
            break;
        mc_put_le64(ent, (x & ~0xFFFull) | (big ? 512u : 1u)); /* CUR_PAGE: the whole entry done */
        mc_put_le16(b, (uint16_t)(cur + 1));
    }
    return e;
}

/* AP Creation (exit 0x80000013) with KVM's checks (sev_snp_ap_creation): the target vCPU (APIC ID =
 * vCPU index) exists; for a creation, RAX equals the VM's SEV_FEATURES and the VMSA GPA is a page of
 * guest RAM that is not 2 MiB aligned (KVM refuses those: a 2 MiB-aligned VMSA page is unsafe);
 * the request is 0, 1 or 2. Any refusal: false, nothing changed. Whether the page is this guest's
 * validated VMSA page (RMPADJUST with the VMSA bit) is the CPU's check at the AP's VMRUN. */
static bool ap_creation(struct mc_vcpu *v, const uint8_t *g, uint64_t info1, uint64_t gpa, struct mc_error *err,
                        mc_status *s)
{
    struct mc_vm *vm = v->vm;
    unsigned request = (unsigned)(info1 & 0xFFFFFFFFu);
    uint64_t apic = info1 >> 32;
    *s = MC_OK;
    if (apic >= vm->nvcpu)
        return false;
    if (request == MC_GHCB_AP_CREATE_ON_INIT || request == MC_GHCB_AP_CREATE) {
        if (!vm->has_vmsa_features || mc_le64(g + MC_GHCB_RAX) != vm->vmsa_features)
            return false;
        if ((gpa & (PG - 1)) || gpa >= vm->mem_size || !(gpa & ((2ull << 20) - 1)))
            return false;
    } else if (request != MC_GHCB_AP_DESTROY) {
        return false;
    }
    *s = vm_snp_ap_set(&vm->vcpu[apic], request, gpa, err);
    return true;
}

static mc_status ghcb_page(struct mc_vcpu *v, struct mc_error *err)
{
    struct mc_vm *vm = v->vm;
    uint64_t gpa = v->ghcb_msr;
    if (vm->snp && (!v->ghcb_registered || gpa != v->ghcb_gpa)) /* SNP: only the registered GHCB */
        return terminate(vm, 0, 0, err);
    if (gpa >= vm->mem_size || PG > vm->mem_size - gpa)
        return terminate(vm, 0, 0, err);
    uint8_t *g = malloc(PG);
    if (!g)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = vmm_host_read(vm->vmm, vm->mem_spa + gpa, g, PG, err);
    if (s) {
        free(g);
        return s;
    }
    uint64_t code = mc_le64(g + MC_GHCB_SW_EXITCODE), info1 = mc_le64(g + MC_GHCB_SW_EXITINFO1),
             info2 = mc_le64(g + MC_GHCB_SW_EXITINFO2);
    uint64_t out1 = 0, out2 = 0;
    if (mc_le32(g + MC_GHCB_USAGE) != 0) {
        out1 = 2;
        out2 = GHCB_ERR_INVALID_USAGE;
    } else if (!valid(g, MC_GHCB_SW_EXITCODE) || !valid(g, MC_GHCB_SW_EXITINFO1) || !valid(g, MC_GHCB_SW_EXITINFO2)) {
        out1 = 2;
        out2 = GHCB_ERR_MISSING_INPUT;
    } else if (!vm->snp) {
        out1 = 2;
        out2 = GHCB_ERR_INVALID_INPUT; /* the SNP exits are all this model serves */
    } else if (code == MC_GHCB_EXIT_PSC) {
        if (!valid(g, MC_GHCB_SW_SCRATCH)) {
            out1 = 2;
            out2 = GHCB_ERR_MISSING_INPUT;
        } else {
            uint64_t scratch = mc_le64(g + MC_GHCB_SW_SCRATCH);
            if (scratch < gpa + MC_GHCB_SHARED_BUF || scratch - (gpa + MC_GHCB_SHARED_BUF) > MC_GHCB_SHARED_BUF_SIZE - 8) {
                out1 = 2;
                out2 = GHCB_ERR_INVALID_SCRATCH;
            } else {
                out2 = psc_buffer(vm, gpa, g);
            }
        }
    } else if (code == MC_GHCB_EXIT_GUEST_REQUEST || code == MC_GHCB_EXIT_EXT_GUEST_REQUEST) {
        bool ext = code == MC_GHCB_EXIT_EXT_GUEST_REQUEST;
        if (ext && (!valid(g, MC_GHCB_RAX) || !valid(g, MC_GHCB_RBX))) {
            out1 = 2;
            out2 = GHCB_ERR_MISSING_INPUT;
        } else {
            uint64_t npages = ext ? mc_le64(g + MC_GHCB_RBX) : 0;
            s = mc_vm_snp_guest_request(vm, info1, info2, ext, ext ? mc_le64(g + MC_GHCB_RAX) : 0, &npages, &out2,
                                        err);
            if (ext && !s)
                set_qw(g, MC_GHCB_RBX, npages);
        }
    } else if (code == MC_GHCB_EXIT_AP_CREATION) {
        if ((info1 & 0xFFFFFFFFu) != MC_GHCB_AP_DESTROY && !valid(g, MC_GHCB_RAX)) {
            out1 = 2;
            out2 = GHCB_ERR_MISSING_INPUT;
        } else if (!ap_creation(v, g, info1, info2, err, &s)) {
            out1 = 2;
            out2 = GHCB_ERR_INVALID_INPUT;
        }
    } else {
        out1 = 2;
        out2 = GHCB_ERR_INVALID_INPUT;
    }
    if (!s) {
        memset(g + MC_GHCB_VALID_BITMAP, 0, 16); /* the hypervisor marks what it returns */
        if (code == MC_GHCB_EXIT_EXT_GUEST_REQUEST && out1 == 0)
            g[MC_GHCB_VALID_BITMAP + MC_GHCB_RBX / 64] |= (uint8_t)(1u << (MC_GHCB_RBX / 8 % 8));
        set_qw(g, MC_GHCB_SW_EXITINFO1, out1);
        set_qw(g, MC_GHCB_SW_EXITINFO2, out2);
        s = vmm_host_write(vm->vmm, vm->mem_spa + gpa, g, PG, err);
    }
    free(g);
    return s;
}

mc_status mc_guest_vmgexit(struct mc_vcpu *v, struct mc_error *err)
{
    if (!v)
        return mc_seterr(err, MC_E_INVAL, "VMGEXIT needs a vCPU");
    struct mc_vm *vm = v->vm;
    if (!vm->snp && !(vm->policy & MC_SEV_POLICY_ES))
        return mc_seterr(err, MC_E_INVAL, "VMGEXIT outside an SEV-ES/SNP guest is VMMCALL");
    if (vm->terminated)
        return mc_seterr(err, MC_E_STATE, "the guest was terminated");
    /* VMGEXIT is an exit: the vCPU was running (its VMSA loaded) and its state is saved back */
    mc_status s = vm_snp_vmrun(v, err);
    if (!s)
        s = vm_snp_vmexit(v, err);
    if (s)
        return s;
    uint64_t code = v->ghcb_msr & 0xFFF;
    uint8_t cb[8];
    if (!code && v->ghcb_msr < vm->mem_size && PG <= vm->mem_size - v->ghcb_msr &&
        vmm_host_read(vm->vmm, vm->mem_spa + v->ghcb_msr + MC_GHCB_SW_EXITCODE, cb, 8, NULL) == MC_OK)
        code = mc_le64(cb);
    s = v->ghcb_msr & 0xFFF ? msr_protocol(v, err) : ghcb_page(v, err);
    if (!s && vm->exit_hook)
        vm->exit_hook(vm->exit_hook_ctx, vm, v, code);
    return s;
}

void mc_vm_set_exit_hook(struct mc_vm *vm, mc_vm_exit_hook_fn fn, void *ctx)
{
    if (vm) {
        vm->exit_hook = fn;
        vm->exit_hook_ctx = ctx;
    }
}
