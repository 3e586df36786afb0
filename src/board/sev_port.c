/* The firmware's memory port wired to the memory controller: every firmware access is an
 * MEMCTL_REQ_PSP access with an explicit key domain; guest keys become engine key slots bound to
 * their ASID. */
#include <memcrypt/cpu.h>
#include <memcrypt/engine.h>
#include <memcrypt/machine.h>
#include <memcrypt/mc.h>
#include <memcrypt/snp_report.h>

#include <string.h>

#include "board/board_int.h"

static mc_status port_access(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, void *buf, size_t len,
                             bool write, struct mc_error *err)
{
    struct mc_sev_port *p = ctx;
    const struct memctl_platform *plat = memctl_get_platform(p->mc);
    /* Bulk transfers (LAUNCH_UPDATE_DATA, DBG_*, COPY) are non-temporal: whole-line runs that miss
     * the cache go between DRAM and the engine directly; cached lines are still honoured. */
    struct memctl_access a = {.addr = pa, .size = len, .kind = write ? MEMCTL_ACC_WRITE : MEMCTL_ACC_READ, .req = MEMCTL_REQ_PSP,
                          .flags = len >= 4096 ? MEMCTL_ACC_F_STREAM : 0};
    if (dom == MC_PSP_DOM_HOST) {
        if (!plat->cbit)
            return mc_seterr(err, MC_E_UNSUPPORTED, "the platform has no C-bit");
        a.addr |= 1ull << plat->cbit;
    } else if (dom == MC_PSP_DOM_GUEST) {
        if (asid == 0)
            return mc_seterr(err, MC_E_INVAL, "a guest-key access needs an ASID");
        a.asid = asid;
    }
    struct mc_fault f;
    return write ? memctl_write(p->mc, &a, buf, &f, err) : memctl_read(p->mc, &a, buf, &f, err);
}

static mc_status port_read(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, void *buf, size_t len,
                           struct mc_error *err)
{
    return port_access(ctx, dom, asid, pa, buf, len, false, err);
}

static mc_status port_write(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, const void *buf, size_t len,
                            struct mc_error *err)
{
    return port_access(ctx, dom, asid, pa, (void *)buf, len, true, err);
}

static mc_status port_bind(void *ctx, uint32_t asid, const uint8_t *key, size_t keylen, struct mc_error *err)
{
    struct mc_sev_port *p = ctx;
    struct mc_engine *e = memctl_get_engine(p->mc);
    mc_slot s;
    mc_status st = mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, key, keylen, &s, err);
    if (st)
        return st;
    st = memctl_bind_asid(p->mc, asid, s, err);
    if (st)
        mc_engine_slot_destroy(e, s, NULL);
    return st;
}

static mc_status port_unbind(void *ctx, uint32_t asid, struct mc_error *err)
{
    struct mc_sev_port *p = ctx;
    mc_slot s = memctl_asid_slot(p->mc, asid);
    if (s == 0)
        return mc_seterr(err, MC_E_STATE, "ASID %u has no key bound", asid);
    mc_status st = memctl_unbind_asid(p->mc, asid, err);
    if (!st)
        st = mc_engine_slot_destroy(memctl_get_engine(p->mc), s, err);
    return st;
}

#define MSR_RMP_BASE 0xC0010132u
#define MSR_RMP_END 0xC0010133u
#define MSR_VM_HSAVE_PA 0xC0010117u

/* What SNP_INIT reads from the cores: the machine's MSRs (one SYSCFG, HWCR and RMP pair serve
 * every core of the emulated package). */
static mc_status port_snp_cpu(void *ctx, struct mc_psp_snp_cpu *out, struct mc_error *err)
{
    struct mc_sev_port *p = ctx;
    struct mc_machine *m = p->m;
    if (!m)
        return mc_seterr(err, MC_E_UNSUPPORTED, "the firmware's port has no machine");
    struct mc_fault f;
    memset(out, 0, sizeof *out);
    mc_status s = mc_machine_rdmsr(m, MC_MSR_SYSCFG, &out->syscfg, &f, err);
    if (!s)
        s = mc_machine_rdmsr(m, MC_MSR_HWCR, &out->hwcr, &f, err);
    if (!s)
        s = mc_machine_rdmsr(m, MSR_RMP_BASE, &out->rmp_base, &f, err);
    if (!s)
        s = mc_machine_rdmsr(m, MSR_RMP_END, &out->rmp_end, &f, err);
    if (s)
        return s;
    uint64_t hsave = 0;
    if (mc_machine_rdmsr(m, MSR_VM_HSAVE_PA, &hsave, &f, NULL) != MC_OK)
        hsave = 0; /* not modelled: no guest ran on the host CPU */
    out->same_on_all_cores = true;
    out->vm_hsave_clear = hsave == 0;
    struct mc_bios b;
    mc_machine_get_bios(m, &b);
    out->tsme = b.tsme > 0;
    out->smt = true; /* EPYC parts ship with SMT on (SNP policy bit 16 then must allow it) */
    const struct mc_cpu_profile *prof = mc_machine_profile(m);
    out->fms = mc_cpu_fms(prof);
    return MC_OK;
}

void mc_sev_port_init(struct mc_sev_port *p, struct memctl *mc, struct mc_psp_mem *out)
{
    p->mc = mc;
    *out = (struct mc_psp_mem){
        .ctx = p,
        .dram_size = mc_dram_size(memctl_get_dram(mc)),
        .cbit_pos = memctl_get_platform(mc)->cbit,
        .read = port_read,
        .write = port_write,
        .bind_key = port_bind,
        .unbind_key = port_unbind,
        .snp_cpu = p->m && p->rmp ? port_snp_cpu : NULL,
        .rmp = p->rmp,
    };
}

mc_status mc_psp_config_from_profile(const struct mc_cpu_profile *prof, struct mc_psp_config *out,
                                     struct mc_error *err)
{
    if (!prof || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_psp_config_from_profile needs a profile and an output");
    struct mc_cpu_features f;
    mc_cpu_decode(prof, &f);
    if (prof->vendor != MC_VENDOR_AMD || !f.sev || f.max_asid == 0)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no AMD SEV", prof->name);
    *out = (struct mc_psp_config){
        .platform = prof->name,
        .api_major = prof->fw_api_major,
        .api_minor = prof->fw_api_minor,
        .build = prof->fw_build,
        .max_asid = f.max_asid,
        .min_sev_asid = f.min_sev_asid ? f.min_sev_asid : 1,
        .es_supported = f.sev_es,
        .num_cores = 1,
        .root_bits = prof->fw_api_major == 0 && prof->fw_api_minor < 20 ? 2048 : 4096, /* Naples roots are 2048-bit */
    };
    /* SEV-SNP: the processor has it (8000_001F EAX[4]) and the profile names an SNP ABI. */
    enum mc_snp_gen gen = mc_snp_gen_from_cpuid((uint8_t)prof->family, (uint8_t)prof->model_id);
    if (f.sev_snp && (prof->snp_api_major || prof->snp_api_minor) && gen != MC_SNP_GEN_UNKNOWN) {
        out->snp = true;
        out->snp_gen = gen;
        out->snp_tcb = mc_snp_tcb_factory(gen);
    }
    if (out->min_sev_asid > out->max_asid + 1)
        out->min_sev_asid = out->max_asid + 1;
    return MC_OK;
}
