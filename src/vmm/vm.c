/* The hypervisor model: host memory pool, ASID allocation, firmware commands through the host
 * driver's mailbox (the board's), and the SEV launch of a VM (LAUNCH_START + ACTIVATE, LAUNCH_UPDATE_DATA/VMSA, MEASURE,
 * SECRET, FINISH, ATTESTATION, DEACTIVATE + DECOMMISSION). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>

#include "vmm/vm_int.h"

mc_status mc_vmm_create(struct mc_machine *m, const struct mc_vmm_fw_ops *fw, uint64_t pool_base, uint64_t pool_size,
                        struct mc_vmm **out, struct mc_error *err)
{
    if (!m || !fw || !fw->fw || !fw->df_flush || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_vmm_create needs a machine and the host's firmware mailbox");
    if ((pool_base | pool_size) & 0xFFFu || pool_size < 0x10000 || pool_base + pool_size < pool_base ||
        pool_base + pool_size > mc_dram_size(mc_machine_dram(m)))
        return mc_seterr(err, MC_E_RANGE, "the hypervisor's memory pool must be 4 KiB aligned, at least 64 KiB and "
                                          "inside DRAM");
    struct mc_cpu_features f;
    mc_cpu_decode(mc_machine_profile(m), &f);
    if (!f.sev || f.max_asid == 0)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV", mc_machine_profile(m)->name);
    struct mc_vmm *v = calloc(1, sizeof *v);
    if (!v || !(v->asid_used = calloc(f.max_asid + 1, 1))) {
        free(v);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    v->m = m;
    v->fw = *fw;
    v->mc = mc_machine_memctl(m);
    v->pool_base = pool_base;
    v->pool_size = pool_size;
    v->max_asid = f.max_asid;
    v->min_sev_asid = f.min_sev_asid ? f.min_sev_asid : 1;
    struct mc_paging_mode pm = mc_machine_paging_mode(m);
    v->cbit = pm.enc_bit > 0 ? (unsigned)pm.enc_bit : 0;
    *out = v;
    return MC_OK;
}

void mc_vmm_destroy(struct mc_vmm *v)
{
    if (!v)
        return;
    free(v->asid_used);
    free(v);
}

struct mc_machine *mc_vmm_machine(struct mc_vmm *v) { return v ? v->m : NULL; }
void mc_vmm_set_rmp(struct mc_vmm *v, struct mc_rmp *rmp)
{
    if (v)
        v->rmp = rmp;
}

mc_status mc_vmm_alloc(struct mc_vmm *v, uint64_t size, uint64_t *spa, struct mc_error *err)
{
    size = (size + 0xFFFu) & ~0xFFFull;
    if (size == 0 || size > v->pool_size - v->pool_next)
        return mc_seterr(err, MC_E_FULL, "the hypervisor's memory pool is exhausted (0x%llx bytes asked, 0x%llx left)",
                         (unsigned long long)size, (unsigned long long)(v->pool_size - v->pool_next));
    *spa = v->pool_base + v->pool_next;
    v->pool_next += size;
    return MC_OK; /* sparse DRAM: never-written frames read as zero through C=0 */
}

mc_status vmm_host_write(struct mc_vmm *v, uint64_t pa, const void *buf, size_t len, struct mc_error *err)
{
    struct memctl_access a = {.addr = pa, .size = len, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST,
                          .flags = len >= 4096 ? MEMCTL_ACC_F_STREAM : 0};
    struct mc_fault f;
    /* The hypervisor's stores through its direct map meet the RMP check like any host write. */
    mc_status st = len ? mc_rmp_check_host_write(v->rmp, pa, len, &f, err) : MC_OK;
    return st || !len ? st : memctl_write(v->mc, &a, buf, &f, err);
}

mc_status vmm_host_read(struct mc_vmm *v, uint64_t pa, void *buf, size_t len, struct mc_error *err)
{
    struct memctl_access a = {.addr = pa, .size = len, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST,
                              .flags = len >= 4096 ? MEMCTL_ACC_F_STREAM : 0};
    struct mc_fault f;
    return len ? memctl_read(v->mc, &a, buf, &f, err) : MC_OK;
}

/* Write back and drop a host range from the cache (what KVM's sev_clflush_pages does). */
mc_status vmm_host_flush(struct mc_vmm *v, uint64_t pa, uint64_t len, struct mc_error *err)
{
    return memctl_clflush_range(v->mc, pa, len, err);
}

/* ---- VMs --------------------------------------------------------------------------------- */

uint32_t mc_vm_handle(const struct mc_vm *vm) { return vm ? vm->handle : 0; }
uint32_t mc_vm_asid(const struct mc_vm *vm) { return vm ? vm->asid : 0; }
uint32_t mc_vm_policy(const struct mc_vm *vm) { return vm ? vm->policy : 0; }
uint64_t mc_vm_mem_size(const struct mc_vm *vm) { return vm ? vm->mem_size : 0; }
unsigned mc_vm_vcpus(const struct mc_vm *vm) { return vm ? vm->nvcpu : 0; }
struct mc_vcpu *mc_vm_vcpu(struct mc_vm *vm, unsigned i)
{
    return vm && i < vm->nvcpu && vm->vcpu[i].cpu ? &vm->vcpu[i] : NULL; /* no_sev VMs' vCPUs cannot run */
}
uint32_t mc_vm_last_fw_status(const struct mc_vm *vm) { return vm ? vm->last_fw : 0; }
void mc_vm_set_vmcb_asid(struct mc_vm *vm, uint32_t asid)
{
    if (!vm)
        return;
    vm->vmcb_asid = asid;
    /* The vCPUs' TLB tag follows (entries of other ASIDs stay, tagged); an ASID VMRUN refuses
     * never reaches them (vm_run_asid). */
    if (asid >= 1 && asid <= vm->vmm->max_asid)
        for (unsigned i = 0; i < vm->nvcpu; i++)
            mc_lcpu_set_asid(vm->vcpu[i].cpu, asid);
}

void mc_vm_tlb_flush(struct mc_vm *vm)
{
    for (unsigned i = 0; vm && i < vm->nvcpu; i++)
        mc_lcpu_invept(vm->vcpu[i].cpu, vm->hcr3);
}

void mc_vm_set_check(struct mc_vm *vm, mc_access_check_fn fn, void *ctx)
{
    for (unsigned i = 0; vm && i < vm->nvcpu; i++)
        mc_lcpu_set_check(vm->vcpu[i].cpu, fn, ctx);
}

void mc_vm_set_snp(struct mc_vm *vm, bool snp)
{
    for (unsigned i = 0; vm && i < vm->nvcpu; i++)
        mc_lcpu_set_snp(vm->vcpu[i].cpu, snp);
}

struct mc_rmp *mc_vm_rmp(struct mc_vm *vm) { return vm ? vm->vmm->rmp : NULL; }

struct mc_lcpu *mc_vcpu_cpu(struct mc_vcpu *v) { return v ? v->cpu : NULL; }
uint64_t mc_vm_npt_root(const struct mc_vm *vm) { return vm ? vm->hcr3 : 0; }

static void free_vcpus(struct mc_vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpu; i++) {
        mc_lcpu_destroy(vm->vcpu[i].cpu);
        vm->vcpu[i].cpu = NULL;
    }
}

mc_status vm_run_asid(const struct mc_vm *vm, uint32_t *asid, struct mc_error *err)
{
    if (vm->vmcb_asid == 0 || vm->vmcb_asid > vm->vmm->max_asid)
        return mc_seterr(err, MC_E_STATE, "VMRUN refused (VMEXIT_INVALID): ASID %u is outside 1..%u", vm->vmcb_asid,
                         vm->vmm->max_asid);
    *asid = vm->vmcb_asid;
    return MC_OK;
}

mc_status vm_fw(struct mc_vm *vm, uint32_t cmd, void *buf, size_t len, struct mc_error *err)
{
    const struct mc_vmm_fw_ops *fw = &vm->vmm->fw;
    return fw->fw(fw->ctx, cmd, buf, len, &vm->last_fw, err);
}

static mc_status pick_asid(struct mc_vmm *v, bool es, uint32_t *out, struct mc_error *err)
{
    uint32_t lo = es ? 1 : v->min_sev_asid, hi = es ? v->min_sev_asid - 1 : v->max_asid;
    for (uint32_t a = lo; a <= hi && a >= 1; a++)
        if (!v->asid_used[a]) {
            *out = a;
            return MC_OK;
        }
    return mc_seterr(err, MC_E_FULL, "no free %s ASID (range %u..%u)", es ? "SEV-ES" : "SEV", lo, hi);
}

struct vm_resume {
    vmm_snp_resume_fn fn;
    void *ctx;
    uint64_t vmsa_mask;
};

static mc_status vm_create(struct mc_vmm *v, const struct mc_vm_config *cfg, const struct vm_resume *resume,
                           struct mc_vm **out, uint32_t *fw_status, struct mc_error *err);

mc_status mc_vm_create(struct mc_vmm *v, const struct mc_vm_config *cfg, struct mc_vm **out, uint32_t *fw_status,
                       struct mc_error *err)
{
    return vm_create(v, cfg, NULL, out, fw_status, err);
}

mc_status vmm_snp_vm_resume(struct mc_vmm *v, const struct mc_vm_config *cfg, uint64_t vmsa_mask, vmm_snp_resume_fn resume,
                            void *ctx, struct mc_vm **out, struct mc_error *err)
{
    if (!cfg || !cfg->snp || !resume)
        return mc_seterr(err, MC_E_INVAL, "resuming needs an SNP guest's configuration and the firmware's import");
    const struct vm_resume r = {resume, ctx, vmsa_mask};
    return vm_create(v, cfg, &r, out, NULL, err);
}

static mc_status vm_create(struct mc_vmm *v, const struct mc_vm_config *cfg, const struct vm_resume *resume,
                           struct mc_vm **out, uint32_t *fw_status, struct mc_error *err)
{
    if (fw_status)
        *fw_status = 0;
    if (v && cfg && out && cfg->no_sev) { /* a VM without an encryption context (vm_move.c) */
        if (cfg->vcpus > VM_MAX_VCPUS || cfg->mem_size || cfg->policy || cfg->godh || cfg->session || cfg->snp ||
            cfg->receive || cfg->encrypt_npt)
            return mc_seterr(err, MC_E_INVAL, "a VM without SEV takes 0..%u vCPUs and nothing else (its memory comes "
                             "with the encryption context it receives)", VM_MAX_VCPUS);
        struct mc_vm *vm = calloc(1, sizeof *vm);
        if (!vm)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        vm->vmm = v;
        vm->no_ctx = true;
        vm->nvcpu = cfg->vcpus;
        for (unsigned i = 0; i < vm->nvcpu; i++) {
            vm->vcpu[i].vm = vm;
            vm->vcpu[i].index = i;
        }
        v->live_vms++;
        *out = vm;
        return MC_OK;
    }
    if (!v || !cfg || !out || cfg->vcpus == 0 || cfg->vcpus > VM_MAX_VCPUS)
        return mc_seterr(err, MC_E_INVAL, "a VM needs 1..%u vCPUs", VM_MAX_VCPUS);
    if (cfg->mem_size == 0 || (cfg->mem_size & ((2ull << 20) - 1)))
        return mc_seterr(err, MC_E_INVAL, "guest memory must be a non-zero multiple of 2 MiB");
    if ((cfg->godh == NULL) != (cfg->session == NULL))
        return mc_seterr(err, MC_E_INVAL, "the owner's DH certificate and session go together");
    if (cfg->receive && !cfg->godh)
        return mc_seterr(err, MC_E_INVAL, "RECEIVE_START needs the sender's PDH certificate and session");
    if (v->cbit == 0)
        return mc_seterr(err, MC_E_UNSUPPORTED, "SEV needs SME enabled by the BIOS (SYSCFG.MemEncryptionModEn)");
    bool es = (cfg->policy & MC_SEV_POLICY_ES) != 0 || cfg->snp; /* SNP guests take SEV-ES ASIDs */
    if (cfg->snp && (cfg->godh || !mc_rmp_snp_enabled(v->rmp)))
        return mc_seterr(err, cfg->godh ? MC_E_INVAL : MC_E_STATE,
                         cfg->godh ? "an SEV-SNP guest has no SEV launch session (LAUNCH_START takes none)"
                                   : "an SEV-SNP guest needs SNP enabled on the host (mc_board_snp_enable, SNP_INIT)");
    uint32_t asid = 0;
    mc_status s = pick_asid(v, es, &asid, err);
    if (s)
        return s;
    struct mc_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    vm->vmm = v;
    vm->policy = cfg->policy;
    vm->mem_size = cfg->mem_size;
    vm->nvcpu = cfg->vcpus;
    vm->npt_enc = cfg->encrypt_npt;
    for (unsigned i = 0; i < vm->nvcpu; i++) {
        vm->vcpu[i].vm = vm;
        vm->vcpu[i].index = i;
    }
    uint64_t save = v->pool_next;
    /* Guest RAM is 2 MiB aligned in host memory: the NPT maps it with 2 MiB pages. */
    uint64_t skip = ((v->pool_base + v->pool_next + (2ull << 20) - 1) & ~((2ull << 20) - 1)) - (v->pool_base + v->pool_next);
    if (skip > v->pool_size - v->pool_next)
        s = mc_seterr(err, MC_E_FULL, "the hypervisor's memory pool is exhausted");
    else
        v->pool_next += skip;
    if (!s)
        s = mc_vmm_alloc(v, cfg->mem_size, &vm->mem_spa, err);
    if (!s)
        s = vm_npt_build(vm, err);
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = asid, .nroot = vm->hcr3,
                                .mode = vm_guest_mode(v), .sev = true};
    for (unsigned i = 0; !s && i < vm->nvcpu; i++) {
        s = mc_lcpu_create(v->mc, &cc, &vm->vcpu[i].cpu, err);
        if (!s && mc_rmp_snp_enabled(v->rmp)) /* SNP host: every vCPU meets the RMP checks */
            mc_rmp_install(v->rmp, vm->vcpu[i].cpu);
    }
    if (!s && cfg->snp) {
        s = resume ? vm_snp_resume(vm, cfg, asid, resume->vmsa_mask, resume->fn, resume->ctx, err)
                   : vm_snp_start(vm, cfg, asid, err);
        goto launched;
    }
    uint8_t b[0x24] = {0};
    if (!s && cfg->godh) {
        uint64_t pg = 0;
        s = mc_vmm_alloc(v, 4096, &pg, err);
        if (!s)
            s = vmm_host_write(v, pg, cfg->godh, MC_SEV_CERT_LEN, err);
        if (!s)
            s = vmm_host_write(v, pg + 0xC00, cfg->session, MC_SEV_SESSION_LEN, err);
        if (!s) {
            vmm_host_flush(v, pg, 4096, NULL);
            mc_put_le64(b + 0x08, pg);
            mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
            mc_put_le64(b + 0x18, pg + 0xC00);
            mc_put_le32(b + 0x20, MC_SEV_SESSION_LEN);
        }
    }
    if (!s) {
        mc_put_le32(b + 0x04, cfg->policy);
        s = vm_fw(vm, cfg->receive ? MC_SEV_CMD_RECEIVE_START : MC_SEV_CMD_LAUNCH_START, b, sizeof b, err);
    }
    if (!s) {
        vm->handle = mc_le32(b);
        uint8_t a[8];
        mc_put_le32(a, vm->handle);
        mc_put_le32(a + 4, asid);
        s = vm_fw(vm, MC_SEV_CMD_ACTIVATE, a, sizeof a, err);
        if (s && vm->last_fw == MC_FW_DF_FLUSH_REQUIRED) { /* the ASID was used before: flush, retry */
            s = v->fw.df_flush(v->fw.ctx, NULL, err);
            if (!s)
                s = vm_fw(vm, MC_SEV_CMD_ACTIVATE, a, sizeof a, err);
        }
        if (s) {
            uint32_t keep = vm->last_fw;
            uint8_t d[4];
            mc_put_le32(d, vm->handle);
            vm_fw(vm, MC_SEV_CMD_DECOMMISSION, d, sizeof d, NULL);
            vm->last_fw = keep;
        }
    }
launched:
    if (fw_status)
        *fw_status = vm->last_fw;
    if (s) {
        v->pool_next = save;
        free_vcpus(vm);
        free(vm);
        return s;
    }
    vm->asid = vm->vmcb_asid = asid;
    v->asid_used[asid] = 1;
    v->live_vms++;
    *out = vm;
    return MC_OK;
}

void mc_vm_destroy(struct mc_vm *vm)
{
    if (!vm)
        return;
    if (vm->mirrors) { /* mirrored: its mirrors hold the context; the last one's destroy finishes this */
        vm->destroy_pending = true;
        return;
    }
    struct mc_vm *parent = vm->mirror_of;
    if (vm->dead || vm->no_ctx || parent) { /* no firmware guest of its own */
        vm->vmm->live_vms--;
        free_vcpus(vm);
        free(vm);
        if (parent && --parent->mirrors == 0 && parent->destroy_pending)
            mc_vm_destroy(parent);
        return;
    }
    if (vm->snp) {
        vm_snp_stop(vm);
    } else {
        uint8_t d[4];
        mc_put_le32(d, vm->handle);
        vm_fw(vm, MC_SEV_CMD_DEACTIVATE, d, sizeof d, NULL);
        vm_fw(vm, MC_SEV_CMD_DECOMMISSION, d, sizeof d, NULL);
    }
    vm->vmm->asid_used[vm->asid] = 0; /* dirty in the firmware until WBINVD + DF_FLUSH */
    vm->vmm->live_vms--;
    free_vcpus(vm);
    free(vm);
}

static mc_status gpa_range(const struct mc_vm *vm, uint64_t gpa, uint64_t len, struct mc_error *err)
{
    if (gpa >= vm->mem_size || len > vm->mem_size - gpa)
        return mc_seterr(err, MC_E_RANGE, "guest range 0x%llx+0x%llx is outside guest RAM (0x%llx bytes)",
                         (unsigned long long)gpa, (unsigned long long)len, (unsigned long long)vm->mem_size);
    return MC_OK;
}

mc_status mc_vm_launch_update(struct mc_vm *vm, uint64_t gpa, const void *data, uint64_t len, uint64_t chunk,
                              mc_vm_progress_fn progress, void *pctx, struct mc_error *err)
{
    if (!vm || (!data && len) || (gpa & 15) || (len & 15) || len == 0)
        return mc_seterr(err, MC_E_INVAL, "LAUNCH_UPDATE_DATA needs a 16-byte aligned, non-empty range");
    mc_status cs = vm_ctx_check(vm, "LAUNCH_UPDATE_DATA", false, err);
    if (cs)
        return cs;
    mc_status s = gpa_range(vm, gpa, len, err);
    if (s)
        return s;
    if (chunk == 0 || chunk > 0x80000000ull)
        chunk = 0x80000000ull; /* the length field is 32 bits */
    const uint8_t *p = data;
    for (uint64_t off = 0; off < len; off += chunk) {
        uint64_t n = len - off < chunk ? len - off : chunk;
        uint64_t spa = vm->mem_spa + gpa + off;
        /* The host writes plaintext (C=0), writes the lines back, the firmware encrypts in place. */
        s = vmm_host_write(vm->vmm, spa, p + off, n, err);
        if (!s)
            s = vmm_host_flush(vm->vmm, spa, n, err);
        if (s)
            return s;
        uint8_t b[0x14] = {0};
        mc_put_le32(b, vm->handle);
        mc_put_le64(b + 0x08, spa);
        mc_put_le32(b + 0x10, (uint32_t)n);
        s = vm_fw(vm, MC_SEV_CMD_LAUNCH_UPDATE_DATA, b, sizeof b, err);
        if (s)
            return s;
        if (progress)
            progress(pctx, off + n, len);
    }
    return MC_OK;
}

mc_status mc_vm_launch_update_vmsa(struct mc_vm *vm, unsigned i, const uint8_t vmsa[4096], struct mc_error *err)
{
    if (!vm || i >= vm->nvcpu || !vmsa)
        return mc_seterr(err, MC_E_INVAL, "no such vCPU");
    mc_status cs = vm_ctx_check(vm, "LAUNCH_UPDATE_VMSA", true, err);
    if (cs)
        return cs;
    mc_status s = MC_OK;
    if (!vm->vmsa_spa[i])
        s = mc_vmm_alloc(vm->vmm, 4096, &vm->vmsa_spa[i], err);
    if (!s)
        s = vmm_host_write(vm->vmm, vm->vmsa_spa[i], vmsa, 4096, err);
    if (!s)
        s = vmm_host_flush(vm->vmm, vm->vmsa_spa[i], 4096, err);
    if (s)
        return s;
    uint8_t b[0x14] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, vm->vmsa_spa[i]);
    mc_put_le32(b + 0x10, 4096);
    return vm_fw(vm, MC_SEV_CMD_LAUNCH_UPDATE_VMSA, b, sizeof b, err);
}

mc_status mc_vm_launch_measure(struct mc_vm *vm, uint8_t out[0x30], struct mc_error *err)
{
    mc_status cs = vm_ctx_check(vm, "LAUNCH_MEASURE", false, err);
    if (cs)
        return cs;
    uint8_t b[0x14] = {0};
    mc_put_le32(b, vm->handle);
    /* Size query first, as KVM does. */
    mc_status s = vm_fw(vm, MC_SEV_CMD_LAUNCH_MEASURE, b, sizeof b, NULL);
    if (s == MC_OK || vm->last_fw != MC_FW_INVALID_LENGTH || mc_le32(b + 0x10) != 0x30) {
        if (s == MC_E_FIRMWARE && vm->last_fw != MC_FW_INVALID_LENGTH)
            return mc_seterr_fw(err, vm->last_fw, "LAUNCH_MEASURE size query: %s", mc_fw_status_name(vm->last_fw));
        if (s != MC_OK && s != MC_E_FIRMWARE)
            return vm_fw(vm, MC_SEV_CMD_LAUNCH_MEASURE, b, sizeof b, err); /* again, for the sentence */
        return mc_seterr(err, MC_E_FORMAT, "LAUNCH_MEASURE size query: the firmware answered %s with length %u, not "
                         "INVALID_LENGTH with 0x30", mc_fw_status_name(vm->last_fw), mc_le32(b + 0x10));
    }
    mc_put_le64(b + 0x08, vm->vmm->fw.data_pa);
    s = vm_fw(vm, MC_SEV_CMD_LAUNCH_MEASURE, b, sizeof b, err);
    return s ? s : vmm_host_read(vm->vmm, vm->vmm->fw.data_pa, out, 0x30, err);
}

mc_status mc_vm_launch_secret(struct mc_vm *vm, const uint8_t hdr[0x34], const uint8_t *trans, uint32_t len,
                              uint64_t gpa, struct mc_error *err)
{
    mc_status cs = vm_ctx_check(vm, "LAUNCH_SECRET", false, err);
    if (cs)
        return cs;
    if (!vm || !hdr || !trans || len == 0 || len > MC_SEV_TRANSFER_MAX)
        return mc_seterr(err, MC_E_INVAL, "LAUNCH_SECRET needs a header and 1..0x5000 bytes");
    mc_status s = gpa_range(vm, gpa, len, err);
    uint64_t pg = 0;
    if (!s)
        s = mc_vmm_alloc(vm->vmm, 0x6000, &pg, err); /* packet pages (not reused: small) */
    if (!s)
        s = vmm_host_write(vm->vmm, pg, hdr, 0x34, err);
    if (!s)
        s = vmm_host_write(vm->vmm, pg + 0x1000, trans, len, err);
    if (!s)
        s = vmm_host_flush(vm->vmm, pg, 0x1000 + len, err);
    if (s)
        return s;
    uint8_t b[0x34] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, pg);
    mc_put_le32(b + 0x10, 0x34);
    mc_put_le64(b + 0x18, vm->mem_spa + gpa);
    mc_put_le32(b + 0x20, len);
    mc_put_le64(b + 0x28, pg + 0x1000);
    mc_put_le32(b + 0x30, len);
    return vm_fw(vm, MC_SEV_CMD_LAUNCH_SECRET, b, sizeof b, err);
}

mc_status mc_vm_launch_finish(struct mc_vm *vm, struct mc_error *err)
{
    mc_status cs = vm_ctx_check(vm, "LAUNCH_FINISH", false, err);
    if (cs)
        return cs;
    uint8_t b[4];
    mc_put_le32(b, vm->handle);
    return vm_fw(vm, MC_SEV_CMD_LAUNCH_FINISH, b, sizeof b, err);
}

mc_status mc_vm_attestation(struct mc_vm *vm, const uint8_t mnonce[16], uint8_t report[0xD0], struct mc_error *err)
{
    mc_status cs = vm_ctx_check(vm, "ATTESTATION", false, err);
    if (cs)
        return cs;
    uint8_t b[0x24] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, vm->vmm->fw.data_pa);
    memcpy(b + 0x10, mnonce, 16);
    mc_put_le32(b + 0x20, 0xD0);
    mc_status s = vm_fw(vm, MC_SEV_CMD_ATTESTATION, b, sizeof b, err);
    return s ? s : vmm_host_read(vm->vmm, vm->vmm->fw.data_pa, report, 0xD0, err);
}

mc_status mc_vm_host_read(struct mc_vm *vm, uint64_t gpa, void *buf, size_t len, struct mc_error *err)
{
    mc_status s = gpa_range(vm, gpa, len, err);
    return s ? s : vmm_host_read(vm->vmm, vm->mem_spa + gpa, buf, len, err);
}

mc_status mc_vm_host_write(struct mc_vm *vm, uint64_t gpa, const void *buf, size_t len, struct mc_error *err)
{
    mc_status s = gpa_range(vm, gpa, len, err);
    return s ? s : vmm_host_write(vm->vmm, vm->mem_spa + gpa, buf, len, err);
}

mc_status mc_vm_dram_read(struct mc_vm *vm, uint64_t gpa, void *buf, size_t len, struct mc_error *err)
{
    mc_status s = gpa_range(vm, gpa, len, err);
    if (!s)
        s = memctl_wbinvd(vm->vmm->mc, err); /* what reaches the chips */
    return s ? s : mc_dram_read(mc_machine_dram(vm->vmm->m), vm->mem_spa + gpa, buf, len, err);
}

/* ---- snapshots (vmm_host.h) ---------------------------------------------------------------- */

struct mc_vmm_snap {
    const struct mc_vmm *owner;
    struct mc_vmm v;    /* scalars; asid_used is the owner's */
    uint8_t *asid_used; /* [0..max_asid] */
};

void mc_vmm_snap_free(struct mc_vmm_snap *s)
{
    if (s)
        free(s->asid_used);
    free(s);
}

mc_status mc_vmm_snap_save(const struct mc_vmm *v, struct mc_vmm_snap **out, struct mc_error *err)
{
    if (!v || !out)
        return mc_seterr(err, MC_E_INVAL, "hypervisor snapshot: NULL argument");
    if (v->live_vms)
        return mc_seterr(err, MC_E_STATE, "hypervisor snapshot: %u VM(s) alive; destroy them first", v->live_vms);
    struct mc_vmm_snap *s = calloc(1, sizeof *s);
    if (!s || !(s->asid_used = malloc((size_t)v->max_asid + 1))) {
        mc_vmm_snap_free(s);
        return mc_seterr(err, MC_E_NOMEM, "hypervisor snapshot: out of memory");
    }
    memcpy(s->asid_used, v->asid_used, (size_t)v->max_asid + 1);
    s->v = *v;
    s->owner = v;
    *out = s;
    return MC_OK;
}

mc_status mc_vmm_snap_restore(struct mc_vmm *v, const struct mc_vmm_snap *s, struct mc_error *err)
{
    if (!v || !s)
        return mc_seterr(err, MC_E_INVAL, "hypervisor snapshot: NULL argument");
    if (s->owner != v)
        return mc_seterr(err, MC_E_INVAL, "hypervisor snapshot: it belongs to another hypervisor");
    if (v->live_vms)
        return mc_seterr(err, MC_E_STATE, "hypervisor snapshot: %u VM(s) alive; destroy them first", v->live_vms);
    uint8_t *used = v->asid_used;
    *v = s->v;
    v->asid_used = used;
    memcpy(v->asid_used, s->asid_used, (size_t)v->max_asid + 1);
    return MC_OK;
}

/* ---- Migration ------------------------------------------------------------------------------ */

/* The packet staging pages in host memory (C=0): header at +0, transport buffer at +0x1000. */
static mc_status xfer_pages(struct mc_vm *vm, struct mc_error *err)
{
    return vm->xfer_spa ? MC_OK : mc_vmm_alloc(vm->vmm, 0x1000 + MC_SEV_TRANSFER_MAX, &vm->xfer_spa, err);
}

mc_status mc_vm_send_start(struct mc_vm *vm, const uint8_t pdh[0x824], const uint8_t *plat_chain,
                           const uint8_t *amd_chain, size_t amd_len, uint8_t session[0x80], struct mc_error *err)
{
    if (!vm || !pdh || !session || (amd_len && !amd_chain) || amd_len > 0x2000)
        return mc_seterr(err, MC_E_INVAL, "SEND_START needs the target's PDH (and at most 8 KiB of AMD chain)");
    uint64_t pg = 0;
    mc_status s = vm_ctx_check(vm, "SEND_START", false, err);
    if (s)
        return s;
    s = vm->send_spa ? MC_OK : mc_vmm_alloc(vm->vmm, 0x6000, &vm->send_spa, err);
    if (s)
        return s;
    pg = vm->send_spa; /* PDH at +0, PEK||OCA||CEK at +0x1000, ASK||ARK at +0x3000, session at +0x5000 */
    if ((s = vmm_host_write(vm->vmm, pg, pdh, 0x824, err)) ||
        (plat_chain && (s = vmm_host_write(vm->vmm, pg + 0x1000, plat_chain, 0x186C, err))) ||
        (amd_len && (s = vmm_host_write(vm->vmm, pg + 0x3000, amd_chain, amd_len, err))) ||
        (s = vmm_host_flush(vm->vmm, pg, 0x6000, err)))
        return s;
    uint8_t b[0x44] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, pg);
    mc_put_le32(b + 0x10, 0x824);
    if (plat_chain) {
        mc_put_le64(b + 0x18, pg + 0x1000);
        mc_put_le32(b + 0x20, 0x186C);
    }
    if (amd_len) {
        mc_put_le64(b + 0x28, pg + 0x3000);
        mc_put_le32(b + 0x30, (uint32_t)amd_len);
    }
    mc_put_le64(b + 0x38, pg + 0x5000);
    mc_put_le32(b + 0x40, 0x80);
    s = vm_fw(vm, MC_SEV_CMD_SEND_START, b, sizeof b, err);
    return s ? s : vmm_host_read(vm->vmm, pg + 0x5000, session, 0x80, err);
}

static mc_status packet_target(struct mc_vm *vm, bool vmsa, uint64_t where, uint32_t len, uint64_t *spa,
                               struct mc_error *err)
{
    if (vmsa) {
        if (where >= vm->nvcpu || len != 4096)
            return mc_seterr(err, MC_E_INVAL, "a VMSA packet names a vCPU of the VM and is 4096 bytes");
        *spa = vm->vmsa_spa[where];
        return MC_OK;
    }
    if (len == 0 || len > MC_SEV_TRANSFER_MAX || (where & 15) || (len & 15))
        return mc_seterr(err, MC_E_INVAL, "a data packet is 16-byte aligned and 16..0x5000 bytes");
    mc_status s = gpa_range(vm, where, len, err);
    *spa = vm->mem_spa + where;
    return s;
}

mc_status mc_vm_send_update(struct mc_vm *vm, bool vmsa, uint64_t where, uint32_t len, bool ext, bool final,
                            uint8_t *hdr, uint8_t *trans, struct mc_error *err)
{
    uint64_t spa = 0;
    mc_status s = !vm || !hdr || !trans ? mc_seterr(err, MC_E_INVAL, "SEND_UPDATE: NULL argument") : MC_OK;
    if (!s)
        s = vm_ctx_check(vm, "SEND_UPDATE", false, err);
    if (!s)
        s = packet_target(vm, vmsa, where, len, &spa, err);
    if (!s && vmsa && !spa)
        s = mc_seterr(err, MC_E_STATE, "vCPU %llu has no VMSA", (unsigned long long)where);
    if (!s)
        s = xfer_pages(vm, err);
    if (s)
        return s;
    uint32_t hlen = ext ? MC_SEV_PKT_HDR_EXT_LEN : MC_SEV_PKT_HDR_LEN;
    uint8_t xf[12];
    mc_put_le32(xf, final ? MC_SEV_PKT_XFLAG_FINAL : 0);
    mc_put_le64(xf + 4, where);
    if (ext && ((s = vmm_host_write(vm->vmm, vm->xfer_spa + offsetof(struct mc_sev_packet_hdr_ext, xflags), xf, 12, err)) ||
                (s = vmm_host_flush(vm->vmm, vm->xfer_spa, 64 * 2, err))))
        return s;
    uint8_t b[0x34] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, vm->xfer_spa);
    mc_put_le32(b + 0x10, hlen);
    mc_put_le64(b + 0x18, spa);
    mc_put_le32(b + 0x20, len);
    mc_put_le64(b + 0x28, vm->xfer_spa + 0x1000);
    mc_put_le32(b + 0x30, len);
    s = vm_fw(vm, vmsa ? MC_SEV_CMD_SEND_UPDATE_VMSA : MC_SEV_CMD_SEND_UPDATE_DATA, b, sizeof b, err);
    if (!s)
        s = vmm_host_read(vm->vmm, vm->xfer_spa, hdr, hlen, err);
    if (!s)
        s = vmm_host_read(vm->vmm, vm->xfer_spa + 0x1000, trans, len, err);
    return s;
}

static mc_status handle_cmd(struct mc_vm *vm, uint32_t cmd, struct mc_error *err)
{
    mc_status cs = vm_ctx_check(vm, mc_sev_cmd_name(cmd), false, err);
    if (cs)
        return cs;
    uint8_t b[4];
    mc_put_le32(b, vm->handle);
    return vm_fw(vm, cmd, b, sizeof b, err);
}

mc_status mc_vm_send_finish(struct mc_vm *vm, struct mc_error *err) { return handle_cmd(vm, MC_SEV_CMD_SEND_FINISH, err); }
mc_status mc_vm_send_cancel(struct mc_vm *vm, struct mc_error *err) { return handle_cmd(vm, MC_SEV_CMD_SEND_CANCEL, err); }
mc_status mc_vm_receive_finish(struct mc_vm *vm, struct mc_error *err)
{
    return handle_cmd(vm, MC_SEV_CMD_RECEIVE_FINISH, err);
}

mc_status mc_vm_receive_update(struct mc_vm *vm, bool vmsa, uint64_t where, const uint8_t *hdr, uint32_t hdr_len,
                               const uint8_t *trans, uint32_t len, struct mc_error *err)
{
    uint64_t spa = 0;
    mc_status s = !vm || !hdr || !trans || hdr_len > 0x1000
                      ? mc_seterr(err, MC_E_INVAL, "RECEIVE_UPDATE: NULL argument or header over 4 KiB")
                      : MC_OK;
    if (!s)
        s = vm_ctx_check(vm, "RECEIVE_UPDATE", false, err);
    if (!s)
        s = packet_target(vm, vmsa, where, len, &spa, err);
    if (!s && vmsa && !spa && !(s = mc_vmm_alloc(vm->vmm, 4096, &vm->vmsa_spa[where], err)))
        spa = vm->vmsa_spa[where];
    if (!s)
        s = xfer_pages(vm, err);
    if (!s)
        s = vmm_host_write(vm->vmm, vm->xfer_spa, hdr, hdr_len, err);
    if (!s)
        s = vmm_host_write(vm->vmm, vm->xfer_spa + 0x1000, trans, len, err);
    if (!s)
        s = vmm_host_flush(vm->vmm, vm->xfer_spa, 0x1000 + len, err);
    if (s)
        return s;
    uint8_t b[0x34] = {0};
    mc_put_le32(b, vm->handle);
    mc_put_le64(b + 0x08, vm->xfer_spa);
    mc_put_le32(b + 0x10, hdr_len);
    mc_put_le64(b + 0x18, spa);
    mc_put_le32(b + 0x20, len);
    mc_put_le64(b + 0x28, vm->xfer_spa + 0x1000);
    mc_put_le32(b + 0x30, len);
    return vm_fw(vm, vmsa ? MC_SEV_CMD_RECEIVE_UPDATE_VMSA : MC_SEV_CMD_RECEIVE_UPDATE_DATA, b, sizeof b, err);
}

bool mc_vm_has_vmsa(const struct mc_vm *vm, unsigned i) { return vm && i < vm->nvcpu && vm->vmsa_spa[i]; }

void mc_vm_get_guest_state(const struct mc_vm *vm, struct mc_vm_guest_state *st)
{
    memset(st, 0, sizeof *st);
    if (!vm)
        return;
    st->pt_pool_gpa = vm->pt_pool_gpa;
    st->pt_pool_len = vm->pt_pool_len;
    st->pt_next = vm->pt_next;
    for (unsigned i = 0; i < vm->nvcpu; i++)
        mc_lcpu_get_regs(vm->vcpu[i].cpu, &st->regs[i]);
}

mc_status mc_vm_set_guest_state(struct mc_vm *vm, const struct mc_vm_guest_state *st, struct mc_error *err)
{
    if (!vm || !st)
        return mc_seterr(err, MC_E_INVAL, "guest state: NULL argument");
    if (st->pt_pool_len && ((st->pt_pool_gpa | st->pt_pool_len) & 4095 || st->pt_pool_gpa >= vm->mem_size ||
                            st->pt_pool_len > vm->mem_size - st->pt_pool_gpa || st->pt_next > st->pt_pool_len))
        return mc_seterr(err, MC_E_RANGE, "the guest's page-table pool lies outside its memory");
    for (unsigned i = 0; i < vm->nvcpu; i++)
        if ((st->regs[i].cr0 & MC_CR0_PG) && (st->regs[i].cr3 & ~(1ull << vm->vmm->cbit) & ~0xFFFull) >= vm->mem_size)
            return mc_seterr(err, MC_E_RANGE, "vCPU %u's CR3 lies outside guest memory", i);
    vm->pt_pool_gpa = st->pt_pool_gpa;
    vm->pt_pool_len = st->pt_pool_len;
    vm->pt_next = st->pt_next;
    for (unsigned i = 0; i < vm->nvcpu; i++)
        mc_lcpu_set_regs(vm->vcpu[i].cpu, &st->regs[i]);
    return MC_OK;
}
