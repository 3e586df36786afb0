/* The hypervisor's side of SEV-SNP guests, in KVM's order: the guest context and ACTIVATE,
 * SNP_LAUNCH_UPDATE of pages and VMSAs (RMPUPDATE to Pre-Guest first), LAUNCH_FINISH, guest
 * requests (the request copied into a hypervisor page, SNP_GUEST_REQUEST with the VM's context and
 * a Firmware response page, the response copied back), the extended-report certificate table, and
 * the pages given back at the end. Every firmware command goes through the host driver's mailbox;
 * every RMP change is an RMPUPDATE the host executes. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/snp_api.h>

#include "crypto/crypto.h"
#include "vmm/vm_int.h"

#define PG 4096ull
#define INITIAL_VMSA_GPA 0xFFFFFFFFF000ull /* KVM's GPA for launched VMSA pages */
#define CERTS_MAX (16 * PG)

bool mc_vm_is_snp(const struct mc_vm *vm) { return vm && vm->snp; }
uint64_t mc_vm_mem_spa(const struct mc_vm *vm) { return vm ? vm->mem_spa : 0; }
uint64_t mc_vm_snp_vmsa(const struct mc_vm *vm, unsigned i) { return vm && vm->snp && i < vm->nvcpu ? vm->vmsa_spa[i] : 0; }
uint64_t mc_vm_snp_gctx(const struct mc_vm *vm) { return vm && vm->snp ? vm->gctx_spa : 0; }

bool mc_vm_terminated(const struct mc_vm *vm, uint64_t *reason)
{
    if (vm && vm->terminated && reason)
        *reason = vm->term_reason;
    return vm && vm->terminated;
}

/* RMPUPDATE as the host executes it; eax != 0 becomes an error naming the code. */
static mc_status rmpupdate(struct mc_vm *vm, uint64_t spa, const struct mc_rmp_state *st, struct mc_error *err)
{
    uint32_t eax = 0;
    struct mc_fault f;
    mc_status s = mc_rmp_rmpupdate(vm->vmm->rmp, spa, st, &eax, &f, err);
    if (!s && eax)
        s = mc_seterr(err, MC_E_STATE, "RMPUPDATE 0x%llx: %s", (unsigned long long)spa, mc_rmp_code_name(eax));
    return s;
}

/* A host page made a Firmware page (Linux's snp_alloc_firmware_page: assigned, ASID 0, immutable). */
static mc_status firmware_page(struct mc_vm *vm, uint64_t *spa, struct mc_error *err)
{
    mc_status s = mc_vmm_alloc(vm->vmm, PG, spa, err);
    const struct mc_rmp_state st = {.assigned = 1, .immutable = 1};
    return s ? s : rmpupdate(vm, *spa, &st, err);
}

static mc_status paddr_cmd(struct mc_vm *vm, uint32_t cmd, uint64_t pa, struct mc_error *err)
{
    uint8_t b[sizeof(struct mc_snp_paddr)];
    mc_put_le64(b, pa);
    return vm_fw(vm, cmd, b, sizeof b, err);
}

/* A page the firmware holds (Firmware, Pre-Guest) goes back to the hypervisor: PAGE_RECLAIM when
 * RMPUPDATE is refused (immutable), then RMPUPDATE to Hypervisor (Linux's snp_page_reclaim +
 * rmp_make_shared). A page that cannot be given back is leaked, as Linux does. */
static void give_back(struct mc_vm *vm, uint64_t spa)
{
    const struct mc_rmp_state shared = {0};
    if (rmpupdate(vm, spa, &shared, NULL) == MC_OK)
        return;
    uint32_t keep = vm->last_fw;
    if (paddr_cmd(vm, MC_SEV_CMD_SNP_PAGE_RECLAIM, spa, NULL) == MC_OK)
        rmpupdate(vm, spa, &shared, NULL);
    vm->last_fw = keep;
}

static void mark(struct mc_vm *vm, uint64_t gpa) { vm->assigned[gpa / PG / 8] |= (uint8_t)(1u << (gpa / PG % 8)); }

void vm_snp_stop(struct mc_vm *vm)
{
    uint32_t keep = vm->last_fw;
    if (vm->gctx_spa) {
        paddr_cmd(vm, MC_SEV_CMD_SNP_DECOMMISSION, vm->gctx_spa, NULL);
        give_back(vm, vm->gctx_spa);
    }
    if (vm->rsp_spa)
        give_back(vm, vm->rsp_spa);
    for (unsigned i = 0; i < vm->nvcpu; i++)
        if (vm->vmsa_spa[i])
            give_back(vm, vm->vmsa_spa[i]);
    for (uint64_t p = 0; vm->assigned && p < vm->mem_size / PG; p++)
        if (vm->assigned[p / 8] & (1u << (p % 8)))
            give_back(vm, vm->mem_spa + p * PG);
    free(vm->assigned);
    vm->assigned = NULL;
    free(vm->certs);
    vm->certs = NULL;
    vm->last_fw = keep;
}

mc_status vm_snp_start(struct mc_vm *vm, const struct mc_vm_config *cfg, uint32_t asid, struct mc_error *err)
{
    struct mc_vmm *v = vm->vmm;
    vm->snp = true;
    vm->snp_policy = cfg->snp_policy;
    vm->assigned = calloc((size_t)(vm->mem_size / PG / 8) + 1, 1);
    if (!vm->assigned)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = firmware_page(vm, &vm->gctx_spa, err);
    if (!s)
        s = paddr_cmd(vm, MC_SEV_CMD_SNP_GCTX_CREATE, vm->gctx_spa, err);
    if (s) { /* the page is still the firmware's, not a context */
        if (vm->gctx_spa)
            give_back(vm, vm->gctx_spa);
        vm->gctx_spa = 0;
    }
    if (!s) {
        uint8_t b[sizeof(struct mc_snp_launch_start)] = {0};
        mc_put_le64(b + offsetof(struct mc_snp_launch_start, gctx_paddr), vm->gctx_spa);
        mc_put_le64(b + offsetof(struct mc_snp_launch_start, policy), cfg->snp_policy);
        memcpy(b + offsetof(struct mc_snp_launch_start, gosvw), cfg->gosvw, 16);
        s = vm_fw(vm, MC_SEV_CMD_SNP_LAUNCH_START, b, sizeof b, err);
    }
    if (!s) {
        uint8_t a[sizeof(struct mc_snp_activate)] = {0};
        mc_put_le64(a + offsetof(struct mc_snp_activate, gctx_paddr), vm->gctx_spa);
        mc_put_le32(a + offsetof(struct mc_snp_activate, asid), asid);
        s = vm_fw(vm, MC_SEV_CMD_SNP_ACTIVATE, a, sizeof a, err);
        if (s && vm->last_fw == MC_FW_DF_FLUSH_REQUIRED) { /* the ASID was used before: flush, retry */
            s = v->fw.df_flush(v->fw.ctx, NULL, err);
            if (!s)
                s = vm_fw(vm, MC_SEV_CMD_SNP_ACTIVATE, a, sizeof a, err);
        }
    }
    if (!s)
        s = firmware_page(vm, &vm->rsp_spa, err);
    if (!s)
        s = mc_vmm_alloc(v, PG, &vm->req_spa, err);
    if (s) {
        uint32_t keep = vm->last_fw;
        vm_snp_stop(vm);
        vm->last_fw = keep;
        return s;
    }
    mc_vm_set_snp(vm, true);
    return MC_OK;
}

mc_status vm_snp_resume(struct mc_vm *vm, const struct mc_vm_config *cfg, uint32_t asid, uint64_t vmsa_mask,
                        vmm_snp_resume_fn fn, void *ctx, struct mc_error *err)
{
    struct mc_vmm *v = vm->vmm;
    vm->snp = true;
    vm->snp_policy = cfg->snp_policy;
    vm->assigned = calloc((size_t)(vm->mem_size / PG / 8) + 1, 1);
    if (!vm->assigned)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = firmware_page(vm, &vm->gctx_spa, err);
    for (unsigned i = 0; !s && i < vm->nvcpu; i++)
        if (vmsa_mask & (1ull << i))
            s = mc_vmm_alloc(v, PG, &vm->vmsa_spa[i], err);
    if (!s)
        s = firmware_page(vm, &vm->rsp_spa, err);
    if (!s)
        s = mc_vmm_alloc(v, PG, &vm->req_spa, err);
    if (!s) {
        uint32_t fs = 0;
        s = fn(ctx, vm, asid, &fs, err);
        if (s && fs == MC_FW_DF_FLUSH_REQUIRED) { /* the ASID was used before: flush, retry */
            s = v->fw.df_flush(v->fw.ctx, NULL, err);
            if (!s)
                s = fn(ctx, vm, asid, &fs, err);
        }
        vm->last_fw = fs;
    }
    if (s) {
        uint32_t keep = vm->last_fw;
        vm_snp_stop(vm);
        vm->last_fw = keep;
        return s;
    }
    mc_vm_set_snp(vm, true);
    return MC_OK;
}

mc_status vmm_snp_vm_quiesce(struct mc_vm *vm, struct mc_error *err)
{
    if (!vm || !vm->snp)
        return mc_seterr(err, MC_E_INVAL, "not an SEV-SNP VM");
    for (unsigned i = 0; i < vm->nvcpu; i++) {
        mc_status s = vm_snp_vmexit(&vm->vcpu[i], err);
        if (s)
            return s;
        vm->vcpu[i].vmsa_loaded = false; /* the next entry loads the page again */
    }
    return MC_OK;
}

void vmm_snp_vm_mark_private(struct mc_vm *vm, uint64_t gpa)
{
    if (vm && vm->snp && gpa < vm->mem_size)
        mark(vm, gpa);
}

uint64_t vmm_snp_vm_policy(const struct mc_vm *vm) { return vm && vm->snp ? vm->snp_policy : 0; }

uint64_t *vmm_snp_vm_assigned(const struct mc_vm *vm, uint64_t *n)
{
    *n = 0;
    if (!vm || !vm->snp || !vm->assigned)
        return NULL;
    uint64_t pages = vm->mem_size / PG, k = 0;
    for (uint64_t p = 0; p < pages; p++)
        k += (vm->assigned[p / 8] >> (p % 8)) & 1;
    uint64_t *out = k ? malloc(k * sizeof *out) : NULL;
    if (!out)
        return NULL;
    for (uint64_t p = 0, i = 0; p < pages; p++)
        if ((vm->assigned[p / 8] >> (p % 8)) & 1)
            out[i++] = p * PG;
    *n = k;
    return out;
}

bool mc_vm_snp_secrets(const struct mc_vm *vm, uint64_t *gpa)
{
    if (!vm || !vm->snp || !vm->has_secrets)
        return false;
    if (gpa)
        *gpa = vm->secrets_gpa;
    return true;
}

void vmm_snp_vm_set_secrets(struct mc_vm *vm, uint64_t gpa)
{
    if (vm && vm->snp && gpa < vm->mem_size) {
        vm->secrets_gpa = gpa;
        vm->has_secrets = true;
    }
}

static mc_status need_snp(const struct mc_vm *vm, struct mc_error *err)
{
    return vm && vm->snp ? MC_OK : mc_seterr(err, MC_E_INVAL, "not an SEV-SNP VM");
}

#define VMSA_VMPL 0x0CAu
#define VMSA_EFER 0x0D0u
#define VMSA_CR4 0x148u
#define VMSA_CR3 0x150u
#define VMSA_CR0 0x158u
#define VMSA_SEV_FEATURES 0x3B0u

static mc_status launch_page(struct mc_vm *vm, uint64_t spa, uint64_t gpa, unsigned type, uint32_t perms,
                             struct mc_error *err)
{
    const struct mc_rmp_state pre = {.gpa = gpa, .assigned = 1, .immutable = 1, .asid = vm->asid};
    mc_status s = rmpupdate(vm, spa, &pre, err);
    if (s)
        return s;
    uint8_t b[sizeof(struct mc_snp_launch_update)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_launch_update, gctx_paddr), vm->gctx_spa);
    mc_put_le32(b + offsetof(struct mc_snp_launch_update, flags), type << 1);
    mc_put_le64(b + offsetof(struct mc_snp_launch_update, page_paddr), spa);
    mc_put_le32(b + offsetof(struct mc_snp_launch_update, perms), perms & 0xFFFFFF00u);
    return vm_fw(vm, MC_SEV_CMD_SNP_LAUNCH_UPDATE, b, sizeof b, err);
}

mc_status mc_vm_snp_launch_update(struct mc_vm *vm, uint64_t gpa, const void *data, uint64_t len, unsigned type,
                                  uint32_t perms, struct mc_error *err)
{
    mc_status s = need_snp(vm, err);
    if (s)
        return s;
    if ((gpa | len) & (PG - 1) || len == 0 || gpa >= vm->mem_size || len > vm->mem_size - gpa)
        return mc_seterr(err, MC_E_RANGE, "SNP_LAUNCH_UPDATE needs whole pages inside guest RAM");
    if (type < MC_SNP_PT_NORMAL || type > MC_SNP_PT_CPUID || type == MC_SNP_PT_VMSA)
        return mc_seterr(err, MC_E_INVAL, "page type %u is not a data page type", type);
    if (!data && type != MC_SNP_PT_ZERO && type != MC_SNP_PT_SECRETS)
        return mc_seterr(err, MC_E_INVAL, "page type %u needs contents", type);
    for (uint64_t off = 0; off < len; off += PG) {
        uint64_t spa = vm->mem_spa + gpa + off;
        if (vm->assigned[(gpa + off) / PG / 8] & (1u << ((gpa + off) / PG % 8)))
            return mc_seterr(err, MC_E_STATE, "guest page 0x%llx was launched already",
                             (unsigned long long)(gpa + off));
        if (data) {
            s = vmm_host_write(vm->vmm, spa, (const uint8_t *)data + off, PG, err);
            if (!s)
                s = vmm_host_flush(vm->vmm, spa, PG, err);
            if (s)
                return s;
        }
        s = launch_page(vm, spa, gpa + off, type, perms, err);
        mark(vm, gpa + off);
        if (!s && type == MC_SNP_PT_SECRETS && !vm->has_secrets) {
            vm->secrets_gpa = gpa + off;
            vm->has_secrets = true;
        } /* Pre-Guest or Guest-Valid: given back at the end either way */
        if (s)
            return s;
    }
    return MC_OK;
}

mc_status mc_vm_snp_launch_vmsa(struct mc_vm *vm, unsigned i, const uint8_t vmsa[4096], struct mc_error *err)
{
    mc_status s = need_snp(vm, err);
    if (s)
        return s;
    if (i >= vm->nvcpu || !vmsa)
        return mc_seterr(err, MC_E_INVAL, "no such vCPU");
    if (vm->vmsa_spa[i])
        return mc_seterr(err, MC_E_STATE, "vCPU %u's VMSA was launched already", i);
    s = mc_vmm_alloc(vm->vmm, PG, &vm->vmsa_spa[i], err);
    if (!s)
        s = vmm_host_write(vm->vmm, vm->vmsa_spa[i], vmsa, PG, err);
    if (!s)
        s = vmm_host_flush(vm->vmm, vm->vmsa_spa[i], PG, err);
    if (!s)
        s = launch_page(vm, vm->vmsa_spa[i], INITIAL_VMSA_GPA, MC_SNP_PT_VMSA, 0, err);
    if (!s && !vm->has_vmsa_features) { /* the hypervisor wrote the image: it knows the features */
        vm->vmsa_features = mc_le64(vmsa + VMSA_SEV_FEATURES);
        vm->has_vmsa_features = true;
    }
    return s;
}

mc_status mc_vm_snp_launch_finish(struct mc_vm *vm, const uint8_t *id_block, const uint8_t *id_auth, uint64_t flags,
                                  const uint8_t *host_data, struct mc_error *err)
{
    mc_status s = need_snp(vm, err);
    if (s)
        return s;
    if (!id_block != !id_auth)
        return mc_seterr(err, MC_E_INVAL, "the ID block and its authentication go together");
    uint64_t idb = 0, ida = 0;
    if (id_block) { /* KVM copies them into pages of its own */
        s = mc_vmm_alloc(vm->vmm, 2 * PG, &idb, err);
        ida = idb + PG;
        if (!s)
            s = vmm_host_write(vm->vmm, idb, id_block, 0x60, err);
        if (!s)
            s = vmm_host_write(vm->vmm, ida, id_auth, PG, err);
        if (!s)
            s = vmm_host_flush(vm->vmm, idb, 2 * PG, err);
        if (s)
            return s;
        flags |= 1;
    }
    uint8_t b[sizeof(struct mc_snp_launch_finish)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, gctx_paddr), vm->gctx_spa);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, id_block_paddr), idb);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, id_auth_paddr), ida);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, flags), flags);
    if (host_data)
        memcpy(b + offsetof(struct mc_snp_launch_finish, host_data), host_data, 32);
    return vm_fw(vm, MC_SEV_CMD_SNP_LAUNCH_FINISH, b, sizeof b, err);
}

mc_status mc_vm_snp_set_certs(struct mc_vm *vm, const uint8_t *blob, size_t len, struct mc_error *err)
{
    mc_status s = need_snp(vm, err);
    if (s)
        return s;
    if ((!blob && len) || len > CERTS_MAX)
        return mc_seterr(err, MC_E_RANGE, "a certificate table holds at most %llu bytes", (unsigned long long)CERTS_MAX);
    uint8_t *c = NULL;
    if (len && !(c = malloc(len)))
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (len)
        memcpy(c, blob, len);
    free(vm->certs);
    vm->certs = c;
    vm->certs_len = len;
    return MC_OK;
}

/* A guest page the hypervisor touches through its own mapping (KVM's kvm_read/write_guest). */
static bool guest_page_ok(const struct mc_vm *vm, uint64_t gpa, uint64_t len)
{
    return gpa < vm->mem_size && len <= vm->mem_size - gpa;
}

mc_status mc_vm_snp_guest_request(struct mc_vm *vm, uint64_t req_gpa, uint64_t rsp_gpa, bool ext, uint64_t certs_gpa,
                                  uint64_t *npages, uint64_t *exitinfo2, struct mc_error *err)
{
    mc_status s = need_snp(vm, err);
    if (s)
        return s;
    if (!exitinfo2 || (ext && !npages))
        return mc_seterr(err, MC_E_INVAL, "mc_vm_snp_guest_request needs its outputs");
    const uint64_t generic = (uint64_t)MC_GHCB_VMM_ERR_GENERIC << 32;
    *exitinfo2 = generic;
    if ((req_gpa | rsp_gpa) & (PG - 1) || !guest_page_ok(vm, req_gpa, PG) || !guest_page_ok(vm, rsp_gpa, PG))
        return MC_OK; /* KVM: not a page of this guest -> the guest sees an error */
    if (ext) {
        uint64_t need = (vm->certs_len + PG - 1) / PG;
        if (*npages < need) { /* too small: say how many, the request is not performed */
            *npages = need;
            *exitinfo2 = (uint64_t)MC_GHCB_VMM_ERR_INVALID_LEN << 32;
            return MC_OK;
        }
        if ((certs_gpa & (PG - 1)) || !guest_page_ok(vm, certs_gpa, need * PG)) /* need <= 16: no overflow */
            return MC_OK;
    }
    uint8_t *page = malloc(PG);
    if (!page)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    s = vmm_host_read(vm->vmm, vm->mem_spa + req_gpa, page, PG, err);
    if (!s)
        s = vmm_host_write(vm->vmm, vm->req_spa, page, PG, err);
    if (!s)
        s = vmm_host_flush(vm->vmm, vm->req_spa, PG, err);
    if (s) {
        free(page);
        return MC_OK; /* e.g. an RMP fault on the host's write: an error for the guest */
    }
    uint8_t b[sizeof(struct mc_snp_guest_request)];
    mc_put_le64(b + offsetof(struct mc_snp_guest_request, gctx_paddr), vm->gctx_spa);
    mc_put_le64(b + offsetof(struct mc_snp_guest_request, req_paddr), vm->req_spa);
    mc_put_le64(b + offsetof(struct mc_snp_guest_request, rsp_paddr), vm->rsp_spa);
    vm->last_fw = 0;
    struct mc_error e2 = {0};
    s = vm_fw(vm, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b, &e2);
    uint32_t fw = vm->last_fw;
    /* The host's own memory ran out inside the emulated firmware (HWERROR_PLATFORM saying so, which
     * no real PSP reports for this): the caller's failure, not a firmware answer for the guest. The
     * firmware changed nothing (the message counters included), so the guest may ask again. */
    if (s && (e2.code == MC_E_NOMEM || (fw == MC_FW_HWERROR_PLATFORM && strstr(e2.msg, "out of memory")))) {
        free(page);
        return mc_seterr(err, MC_E_NOMEM, "SNP_GUEST_REQUEST: %s", e2.msg);
    }
    if (s && (fw == 0 || fw == 0xFFFF)) { /* no firmware status: the host's problem */
        free(page);
        return MC_OK;
    }
    /* Firmware failures go to the guest; the response page is copied back either way (KVM). */
    mc_status r = vmm_host_read(vm->vmm, vm->rsp_spa, page, PG, NULL);
    if (!r)
        r = vmm_host_write(vm->vmm, vm->mem_spa + rsp_gpa, page, PG, NULL);
    if (!r && ext && !fw && vm->certs_len) {
        memset(page, 0, PG);
        for (uint64_t off = 0; !r && off < vm->certs_len; off += PG) {
            size_t n = vm->certs_len - off < PG ? (size_t)(vm->certs_len - off) : PG;
            memset(page, 0, PG);
            memcpy(page, vm->certs + off, n);
            r = vmm_host_write(vm->vmm, vm->mem_spa + certs_gpa + off, page, PG, NULL);
        }
    }
    if (ext && !r)
        *npages = (vm->certs_len + PG - 1) / PG;
    mc_wipe(page, PG);
    free(page);
    *exitinfo2 = r ? generic : fw;
    return MC_OK;
}

/* ---- vCPUs that run from their VMSA page ------------------------------------------------------ */

/* VMSA offsets (AMD APM vol. 2, table B-4) the model loads and saves. */

/* The CPU's own access to the VMSA page: the guest's key (ASID), no RMP check (the microcode's). */
/* The page vCPU v's state lives in: a VMSA page the guest made (AP Creation), else the launched one;
 * 0 when there is none (never launched, or AP_DESTROY). */
static uint64_t vcpu_vmsa_spa(const struct mc_vcpu *v)
{
    const struct mc_vm *vm = v->vm;
    if (v->no_vmsa)
        return 0;
    return v->guest_vmsa ? vm->mem_spa + v->guest_vmsa_gpa : vm->vmsa_spa[v->index];
}

static mc_status vmsa_io(struct mc_vcpu *v, uint8_t *page, bool write, struct mc_error *err)
{
    struct mc_vm *vm = v->vm;
    struct memctl_access a = {.addr = vcpu_vmsa_spa(v), .size = PG, .kind = write ? MEMCTL_ACC_WRITE : MEMCTL_ACC_READ,
                          .req = MEMCTL_REQ_GUEST, .asid = vm->vmcb_asid, .guest_c = true};
    struct mc_fault f;
    return write ? memctl_write(vm->vmm->mc, &a, page, &f, err) : memctl_read(vm->vmm->mc, &a, page, &f, err);
}

static mc_status vmexit_invalid(struct mc_vcpu *v, const char *why, struct mc_error *err)
{
    return mc_seterr(err, MC_E_STATE, "VMRUN of SNP vCPU %u refused (VMEXIT_INVALID): %s", v->index, why);
}

mc_status vm_snp_vmrun(struct mc_vcpu *v, struct mc_error *err)
{
    struct mc_vm *vm = v->vm;
    if (!vm->snp || v->vmsa_loaded)
        return MC_OK;
    uint64_t spa = vcpu_vmsa_spa(v);
    if (!spa)
        return vmexit_invalid(v, v->no_vmsa ? "the guest destroyed its VMSA (AP Creation: AP_DESTROY)"
                                            : "no VMSA was launched for it", err);
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    if (mc_rmp_fw_read(vm->vmm->rmp, spa, &e, &st, err) != MC_OK)
        return vmexit_invalid(v, "its VMSA page is outside the RMP", err);
    if (!e.assigned || e.asid != vm->vmcb_asid || !e.vmsa || !e.validated || e.immutable)
        return vmexit_invalid(v, "its VMSA page is not this guest's validated VMSA page (RMP)", err);
    uint8_t *page = malloc(PG);
    if (!page)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = vmsa_io(v, page, false, err);
    if (!s && !(mc_le64(page + VMSA_SEV_FEATURES) & 1))
        s = vmexit_invalid(v, "SEV_FEATURES.SNPActive is clear in its VMSA", err);
    if (!s && page[VMSA_VMPL] > 3)
        s = vmexit_invalid(v, "its VMSA names a VMPL above 3", err);
    if (!s) {
        struct mc_paging_regs r = {.cr0 = mc_le64(page + VMSA_CR0), .cr3 = mc_le64(page + VMSA_CR3),
                                   .cr4 = mc_le64(page + VMSA_CR4), .efer = mc_le64(page + VMSA_EFER)};
        mc_lcpu_set_regs(v->cpu, &r);
        mc_lcpu_set_vmpl(v->cpu, page[VMSA_VMPL]);
        v->sev_features = mc_le64(page + VMSA_SEV_FEATURES);
        v->vmsa_loaded = true;
        if (!vm->has_vmsa_features && !v->guest_vmsa) { /* a restored guest: the launched VMSAs' */
            vm->vmsa_features = v->sev_features;
            vm->has_vmsa_features = true;
        }
    }
    mc_wipe(page, PG);
    free(page);
    return s;
}

mc_status vm_snp_vmexit(struct mc_vcpu *v, struct mc_error *err)
{
    if (!v->vm->snp || !v->vmsa_loaded)
        return MC_OK;
    uint8_t *page = malloc(PG);
    if (!page)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = vmsa_io(v, page, false, err);
    if (!s) {
        struct mc_paging_regs r;
        mc_lcpu_get_regs(v->cpu, &r);
        mc_put_le64(page + VMSA_CR0, r.cr0);
        mc_put_le64(page + VMSA_CR3, r.cr3);
        mc_put_le64(page + VMSA_CR4, r.cr4);
        mc_put_le64(page + VMSA_EFER, r.efer);
        page[VMSA_VMPL] = (uint8_t)mc_lcpu_vmpl(v->cpu);
        s = vmsa_io(v, page, true, err);
    }
    mc_wipe(page, PG);
    free(page);
    return s;
}

uint64_t mc_guest_sev_status(const struct mc_vcpu *v)
{
    if (!v)
        return 0;
    const struct mc_vm *vm = v->vm;
    if (vm->snp) /* SEV, SEV-ES, and SEV_FEATURES from bit 2 (SNPActive first) */
        return 3u | (v->sev_features & ((1ull << 62) - 1)) << 2;
    return 1u | ((vm->policy & MC_SEV_POLICY_ES) ? 2u : 0u);
}

mc_status vm_snp_ap_set(struct mc_vcpu *t, unsigned request, uint64_t gpa, struct mc_error *err)
{
    mc_status s = vm_snp_vmexit(t, err); /* a loaded target's registers go back to its current VMSA */
    if (s)
        return s;
    t->vmsa_loaded = false;
    switch (request) {
    case 0: /* AP_CREATE_ON_INIT: takes effect at the vCPU's next INIT */
        t->init_pending = true;
        t->init_vmsa_gpa = gpa;
        break;
    case 1: /* AP_CREATE: from now on */
        t->guest_vmsa = true;
        t->guest_vmsa_gpa = gpa;
        t->no_vmsa = false;
        t->init_pending = false;
        break;
    default: /* AP_DESTROY: no VMSA, the vCPU does not run */
        t->no_vmsa = true;
        t->guest_vmsa = false;
        t->init_pending = false;
        break;
    }
    return MC_OK;
}

mc_status mc_vm_vcpu_init(struct mc_vm *vm, unsigned i, struct mc_error *err)
{
    if (!vm || i >= vm->nvcpu)
        return mc_seterr(err, MC_E_INVAL, "no such vCPU");
    struct mc_vcpu *t = &vm->vcpu[i];
    if (!vm->snp || !t->init_pending)
        return MC_OK;
    mc_status s = vm_snp_vmexit(t, err);
    if (s)
        return s;
    t->vmsa_loaded = false;
    t->guest_vmsa = true;
    t->guest_vmsa_gpa = t->init_vmsa_gpa;
    t->no_vmsa = false;
    t->init_pending = false;
    return MC_OK;
}

bool mc_vm_snp_guest_vmsa(const struct mc_vm *vm, unsigned i, uint64_t *gpa)
{
    if (!vm || !vm->snp || i >= vm->nvcpu || !vm->vcpu[i].guest_vmsa || vm->vcpu[i].no_vmsa)
        return false;
    if (gpa)
        *gpa = vm->vcpu[i].guest_vmsa_gpa;
    return true;
}

bool vmm_snp_vm_ap_changed(const struct mc_vm *vm, unsigned *vcpu)
{
    for (unsigned i = 0; vm && vm->snp && i < vm->nvcpu; i++)
        if (vm->vcpu[i].guest_vmsa || vm->vcpu[i].no_vmsa || vm->vcpu[i].init_pending) {
            *vcpu = i;
            return true;
        }
    return false;
}
