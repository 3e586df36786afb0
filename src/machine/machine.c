/* The machine: owns rng, engine, DRAM, memory controller, CPU state and TLB.
 * See include/memcrypt/machine.h. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/machine.h>

#include "crypto/crypto.h"
#include "dram/dram_snap.h"
#include "engine/engine_internal.h"
#include "machine/machine_snap.h"
#include "mc/mc_snap.h"

struct mc_machine {
    const struct mc_cpu_profile *prof;
    struct mc_bios bios;        /* resolved */
    struct mc_cpu_features feat;
    struct mc_rng *rng;
    struct mc_engine *engine;
    struct mc_dram *dram;
    struct memctl *mc;
    struct mc_lcpu *cpu; /* the host CPU: registers, TLB, the one access path */
    uint64_t syscfg, hwcr;
    struct mc_msr_handler handlers[MC_MACHINE_MAX_MSR_HANDLERS];
    unsigned nhandlers;
    struct memctl_platform plat;    /* the controller's platform as the BIOS settings give it */
    struct {
        mc_reset_hook_fn fn;
        void *ctx;
    } hooks[MC_MACHINE_MAX_RESET_HOOKS];
    unsigned nhooks;
};

void mc_machine_config_init(struct mc_machine_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->dram_size = 64ull << 20;
    cfg->bios = (struct mc_bios)MC_BIOS_DEFAULTS;
}

const struct mc_cpu_profile *mc_machine_profile(const struct mc_machine *m) { return m ? m->prof : NULL; }
struct memctl *mc_machine_memctl(struct mc_machine *m) { return m ? m->mc : NULL; }

void mc_machine_get_bios(const struct mc_machine *m, struct mc_bios *out)
{
    if (!out)
        return;
    if (!m)
        memset(out, 0, sizeof *out);
    else
        *out = m->bios;
}
struct mc_engine *mc_machine_engine(struct mc_machine *m) { return m ? m->engine : NULL; }
struct mc_dram *mc_machine_dram(struct mc_machine *m) { return m ? m->dram : NULL; }
struct mc_tlb *mc_machine_tlb(struct mc_machine *m) { return m ? mc_lcpu_tlb(m->cpu) : NULL; }
struct mc_lcpu *mc_machine_cpu(struct mc_machine *m) { return m ? m->cpu : NULL; }
struct mc_rng *mc_machine_rng(struct mc_machine *m) { return m ? m->rng : NULL; }

struct mc_paging_mode mc_machine_paging_mode(const struct mc_machine *m)
{
    return mc_paging_mode_of(m ? memctl_get_platform(m->mc) : NULL);
}

/* Platform keys the BIOS settings call for. */
static mc_status make_platform_keys(struct mc_machine *m, struct mc_error *err)
{
    const struct memctl_platform *p = memctl_get_platform(m->mc);
    mc_slot s = 0;
    mc_status st = MC_OK;
    switch (p->mode) {
    case MEMCTL_MODE_SME:
        st = mc_engine_slot_generate(m->engine, m->prof->sme_cipher, &s, err);
        if (!st)
            st = memctl_bind_host(m->mc, s, err);
        break;
    case MEMCTL_MODE_TSME:
        st = mc_engine_slot_generate(m->engine, m->prof->sme_cipher, &s, err);
        if (!st)
            st = memctl_bind_tsme(m->mc, s, err);
        break;
    case MEMCTL_MODE_TME:
        if (p->tme_bypass)
            break;
        st = mc_engine_slot_generate(m->engine, m->prof->sme_cipher, &s, err);
        if (!st)
            st = memctl_set_keyid(m->mc, 0, s, err);
        break;
    default:
        break;
    }
    if (st && s)
        mc_engine_slot_destroy(m->engine, s, NULL);
    return st;
}

static void reset_cpu(struct mc_machine *m)
{
    mc_lcpu_flush_all(m->cpu);
    static const struct mc_paging_regs reset = {0x60000010ull, 0, 0, 0}; /* CR0 reset value: ET, CD, NW */
    mc_lcpu_set_regs(m->cpu, &reset);
    m->syscfg = mc_cpu_syscfg(m->prof, &m->bios);
    m->hwcr = mc_cpu_hwcr(m->prof, &m->bios);
}

mc_status mc_machine_create(const struct mc_machine_config *cfg, struct mc_machine **out, struct mc_error *err)
{
    if (!cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_machine_create needs a configuration and an output pointer");
    *out = NULL;
    if (!cfg->platform)
        return mc_seterr(err, MC_E_INVAL, "the machine configuration names no platform profile");
    const struct mc_cpu_profile *prof;
    mc_status st = mc_cpu_profile_find(cfg->platform, &prof, err);
    if (st)
        return st;
    struct mc_machine *m = calloc(1, sizeof *m);
    if (!m)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the machine");
    m->prof = prof;
    mc_cpu_decode(prof, &m->feat);
    struct memctl_platform plat = {0};
    st = mc_cpu_bios_resolve(prof, &cfg->bios, &m->bios, err);
    if (!st)
        st = mc_cpu_platform(prof, &m->bios, &plat, err);
    if (!st && cfg->seed && !cfg->seed_len)
        st = mc_seterr(err, MC_E_INVAL, "a seed must not be empty");
    if (!st)
        st = mc_rng_create(cfg->seed, cfg->seed_len, &m->rng, err);
    unsigned slots = 4 + m->feat.max_asid + (1u << m->feat.max_keyid_bits);
    if (!st)
        st = mc_engine_create(m->rng, slots, &m->engine, err);
    struct mc_dram_config dc = {cfg->dram_size, cfg->dram_file};
    if (!st)
        st = mc_dram_create(&dc, &m->dram, err);
    if (!st && memctl_platform_addr_bits(&plat) < 64 && cfg->dram_size > (1ull << memctl_platform_addr_bits(&plat)))
        st = mc_seterr(err, MC_E_RANGE, "DRAM of %llu bytes does not fit the platform's %u usable address bits",
                       (unsigned long long)cfg->dram_size, memctl_platform_addr_bits(&plat));
    if (!st)
        st = memctl_create(&plat, &cfg->cache, m->feat.max_asid, m->engine, m->dram, &m->mc, err);
    m->plat = plat;
    struct mc_lcpu_config cc = {.nest = MC_NEST_NONE, .req = MEMCTL_REQ_HOST, .tlb_entries = cfg->tlb_entries};
    if (!st)
        st = mc_lcpu_create(m->mc, &cc, &m->cpu, err);
    if (!st)
        st = make_platform_keys(m, err);
    if (st) {
        mc_machine_destroy(m);
        return st;
    }
    reset_cpu(m);
    *out = m;
    return MC_OK;
}

void mc_machine_destroy(struct mc_machine *m)
{
    if (!m)
        return;
    memctl_destroy(m->mc); /* wipes cached plaintext */
    mc_lcpu_destroy(m->cpu);
    mc_engine_destroy(m->engine); /* wipes keys */
    mc_dram_destroy(m->dram);
    mc_rng_destroy(m->rng);
    mc_wipe(m, sizeof *m);
    free(m);
}

static mc_status reset_common(struct mc_machine *m, enum mc_machine_reset_kind kind, struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    memctl_reset(m->mc); /* cache dropped, every bound slot destroyed */
    /* A unit may have changed the platform at run time (firmware activating TME): the BIOS
     * settings decide again. The cache is empty, so this cannot fail on a write-back. */
    mc_status st = memctl_set_platform(m->mc, &m->plat, err);
    if (st)
        return st;
    reset_cpu(m);
    st = make_platform_keys(m, err);
    for (unsigned i = 0; !st && i < m->nhooks; i++)
        st = m->hooks[i].fn(m->hooks[i].ctx, m, kind, err);
    return st;
}

mc_status mc_machine_reset(struct mc_machine *m, struct mc_error *err)
{
    return reset_common(m, MC_MACHINE_RESET_COLD, err);
}

mc_status mc_machine_standby_resume(struct mc_machine *m, struct mc_error *err)
{
    return reset_common(m, MC_MACHINE_RESET_STANDBY, err);
}

mc_status mc_machine_reset_hook_register(struct mc_machine *m, mc_reset_hook_fn fn, void *ctx, struct mc_error *err)
{
    if (!m || !fn)
        return mc_seterr(err, MC_E_INVAL, "a reset hook needs a machine and a function");
    for (unsigned i = 0; i < m->nhooks; i++)
        if (m->hooks[i].fn == fn && m->hooks[i].ctx == ctx)
            return mc_seterr(err, MC_E_STATE, "this reset hook is already registered");
    if (m->nhooks >= MC_MACHINE_MAX_RESET_HOOKS)
        return mc_seterr(err, MC_E_FULL, "the reset hook table is full (%u entries)", MC_MACHINE_MAX_RESET_HOOKS);
    m->hooks[m->nhooks].fn = fn;
    m->hooks[m->nhooks].ctx = ctx;
    m->nhooks++;
    return MC_OK;
}

mc_status mc_machine_reset_hook_unregister(struct mc_machine *m, mc_reset_hook_fn fn, void *ctx, struct mc_error *err)
{
    if (!m || !fn)
        return mc_seterr(err, MC_E_INVAL, "unregistering a reset hook needs a machine and a function");
    for (unsigned i = 0; i < m->nhooks; i++)
        if (m->hooks[i].fn == fn && m->hooks[i].ctx == ctx) {
            memmove(&m->hooks[i], &m->hooks[i + 1], (m->nhooks - i - 1) * sizeof m->hooks[0]);
            m->nhooks--;
            return MC_OK;
        }
    return mc_seterr(err, MC_E_NOTFOUND, "this reset hook is not registered");
}

/* ------------------------------------------------------------- registers -- */

void mc_machine_get_regs(const struct mc_machine *m, struct mc_paging_regs *r)
{
    if (m && r)
        mc_lcpu_get_regs(m->cpu, r);
}

static mc_status gp0(struct mc_fault *f, uint64_t addr, struct mc_error *err, const char *why)
{
    if (f) {
        f->kind = MC_FAULT_GP;
        f->vector = 13;
        f->error_code = 0;
        f->addr = addr;
    }
    return mc_seterr(err, MC_E_FAULT, "#GP(0): %s", why);
}

mc_status mc_machine_set_reg(struct mc_machine *m, enum mc_creg reg, uint64_t val, struct mc_fault *fault,
                             struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    if (fault)
        fault->kind = MC_FAULT_NONE;
    struct mc_paging_regs r;
    mc_lcpu_get_regs(m->cpu, &r);
    struct mc_paging_mode pm = mc_machine_paging_mode(m);
    switch (reg) {
    case MC_CREG_CR0:
        if (val >> 32)
            return gp0(fault, 0, err, "CR0 bits 63:32 are reserved");
        if ((val & MC_CR0_PG) && !(val & 1))
            return gp0(fault, 0, err, "CR0.PG needs CR0.PE");
        r.cr0 = val;
        break;
    case MC_CREG_CR3: {
        uint64_t enc = pm.enc_bit >= 0 ? 1ull << pm.enc_bit : 0;
        if ((val & ~enc) >> pm.addr_bits)
            return gp0(fault, val, err, "CR3 has bits set at or above the usable physical-address width");
        r.cr3 = val;
        break;
    }
    case MC_CREG_CR4:
        r.cr4 = val;
        break;
    case MC_CREG_EFER:
        r.efer = val;
        break;
    default:
        return mc_seterr(err, MC_E_INVAL, "unknown control register %d", (int)reg);
    }
    mc_lcpu_set_reg(m->cpu, reg, val); /* with the TLB flush rules */
    return MC_OK;
}

void mc_machine_invlpg(struct mc_machine *m, uint64_t va)
{
    if (m)
        mc_lcpu_invlpg(m->cpu, va);
}

/* ---------------------------------------------------------------- access -- */
/* Every host CPU access goes down the one access path (memcrypt/lcpu.h). */

mc_status mc_machine_translate(struct mc_machine *m, uint64_t va, unsigned acc, struct mc_xlat *out,
                               struct mc_fault *fault, struct mc_error *err)
{
    if (!m || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_machine_translate");
    return mc_lcpu_translate(m->cpu, va, acc, out, fault, err);
}

mc_status mc_machine_load(struct mc_machine *m, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                          struct mc_error *err)
{
    if (!m || !buf)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a machine access");
    return mc_lcpu_access(m->cpu, va, buf, NULL, len, user ? MC_PG_USER : 0, 0, fault, err);
}

mc_status mc_machine_store(struct mc_machine *m, uint64_t va, const void *buf, size_t len, bool user,
                           struct mc_fault *fault, struct mc_error *err)
{
    if (!m || !buf)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a machine access");
    return mc_lcpu_access(m->cpu, va, NULL, buf, len, user ? MC_PG_USER : 0, 0, fault, err);
}

mc_status mc_machine_fetch(struct mc_machine *m, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                           struct mc_error *err)
{
    if (!m || !buf)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a machine access");
    return mc_lcpu_access(m->cpu, va, buf, NULL, len, MC_PG_FETCH | (user ? MC_PG_USER : 0), 0, fault, err);
}

mc_status mc_machine_copy(struct mc_machine *m, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                          struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    return mc_lcpu_copy(m->cpu, dst_va, src_va, len, fault, err);
}

mc_status mc_machine_phys_read(struct mc_machine *m, uint64_t addr, void *buf, size_t len, struct mc_fault *fault,
                               struct mc_error *err)
{
    if (!m || !buf)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a physical access");
    return mc_lcpu_phys_access(m->cpu, addr, false, buf, NULL, len, fault, err);
}

mc_status mc_machine_phys_write(struct mc_machine *m, uint64_t addr, const void *buf, size_t len,
                                struct mc_fault *fault, struct mc_error *err)
{
    if (!m || !buf)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a physical access");
    return mc_lcpu_phys_access(m->cpu, addr, false, NULL, buf, len, fault, err);
}

mc_status mc_machine_clflush(struct mc_machine *m, uint64_t va, struct mc_fault *fault, struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    struct mc_xlat x;
    mc_status st = mc_machine_translate(m, va, 0, &x, fault, err);
    if (st)
        return st;
    struct memctl_access a = {.addr = x.pa, .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    return memctl_clflush(m->mc, &a, fault, err);
}

mc_status mc_machine_wbinvd(struct mc_machine *m, struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    return memctl_wbinvd(m->mc, err);
}

void mc_machine_cpuid(const struct mc_machine *m, uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out)
{
    if (!out)
        return;
    if (!m) {
        *out = (struct mc_cpuid_regs){0, 0, 0, 0};
        return;
    }
    mc_cpuid(m->prof, leaf, subleaf, out);
}

/* ------------------------------------------------------------------ MSRs -- */

mc_status mc_machine_msr_register(struct mc_machine *m, const struct mc_msr_handler *h, struct mc_error *err)
{
    if (!m || !h || h->first > h->last || (!h->rd && !h->wr))
        return mc_seterr(err, MC_E_INVAL, "an MSR handler needs a valid range and at least one function");
    if (m->nhandlers >= MC_MACHINE_MAX_MSR_HANDLERS)
        return mc_seterr(err, MC_E_FULL, "the MSR handler table is full (%u entries)", MC_MACHINE_MAX_MSR_HANDLERS);
    m->handlers[m->nhandlers++] = *h;
    return MC_OK;
}

bool mc_machine_msr_handled(const struct mc_machine *m, uint32_t msr)
{
    for (unsigned i = 0; m && i < m->nhandlers; i++)
        if (msr >= m->handlers[i].first && msr <= m->handlers[i].last)
            return true;
    return false;
}

mc_status mc_machine_msr_unregister(struct mc_machine *m, const void *ctx, struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    unsigned kept = 0;
    for (unsigned i = 0; i < m->nhandlers; i++)
        if (m->handlers[i].ctx != ctx)
            m->handlers[kept++] = m->handlers[i];
    if (kept == m->nhandlers)
        return mc_seterr(err, MC_E_NOTFOUND, "no MSR handler is registered with this context");
    memset(&m->handlers[kept], 0, (m->nhandlers - kept) * sizeof m->handlers[0]);
    m->nhandlers = kept;
    return MC_OK;
}

static bool is_amd(const struct mc_machine *m) { return m->prof->vendor == MC_VENDOR_AMD; }

/* Built-in MSRs. */
static mc_status builtin_rd(struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    switch (msr) {
    case MC_MSR_SYSCFG:
        if (!is_amd(m)) break;
        *val = m->syscfg;
        return MC_OK;
    case MC_MSR_HWCR:
        if (!is_amd(m)) break;
        *val = m->hwcr;
        return MC_OK;
    case MC_MSR_SEV_STATUS:
        if (!is_amd(m) || !m->feat.sev) break;
        *val = 0; /* host: no SEV features active for the host itself */
        return MC_OK;
    case MC_MSR_VM_PAGE_FLUSH:
        if (!is_amd(m) || !m->feat.vm_page_flush) break;
        return gp0(f, 0, err, "VM_PAGE_FLUSH is write-only");
    case MC_MSR_TME_CAPABILITY:
        if (!m->feat.tme) break;
        *val = m->prof->tme_capability;
        return MC_OK;
    case MC_MSR_TME_ACTIVATE:
        if (!m->feat.tme) break;
        *val = mc_cpu_tme_activate(m->prof, &m->bios);
        return MC_OK;
    case MC_MSR_TME_EXCLUDE_MASK:
    case MC_MSR_TME_EXCLUDE_BASE: {
        if (!m->feat.tme) break;
        const struct memctl_platform *p = memctl_get_platform(m->mc);
        if (msr == MC_MSR_TME_EXCLUDE_MASK)
            *val = p->excl_enable ? (p->excl_mask | (1ull << 11)) : 0;
        else
            *val = p->excl_enable ? p->excl_base : 0;
        return MC_OK;
    }
    default:
        break;
    }
    return gp0(f, 0, err, "RDMSR of an MSR this platform does not implement");
}

static mc_status builtin_wr(struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    switch (msr) {
    case MC_MSR_HWCR:
        if (!is_amd(m)) break;
        if ((m->hwcr & MC_HWCR_SMMLOCK) && !(val & MC_HWCR_SMMLOCK))
            return gp0(f, 0, err, "HWCR.SmmLock cannot be cleared once set");
        m->hwcr = val & MC_HWCR_SMMLOCK;
        return MC_OK;
    case MC_MSR_SYSCFG:
        if (!is_amd(m)) break;
        if ((val ^ m->syscfg) & MC_SYSCFG_MEM_ENCRYPT_MOD_EN)
            return gp0(f, 0, err, "SYSCFG[23] (MemEncryptionModEn) is set by the BIOS; this model does not change it "
                                  "at run time");
        m->syscfg = val;
        return MC_OK;
    case MC_MSR_VM_PAGE_FLUSH: {
        if (!is_amd(m) || !m->feat.vm_page_flush) break;
        uint32_t asid = (uint32_t)(val & 0xFFF);
        uint64_t va = val & ~0xFFFull;
        if (asid == 0 || asid > m->feat.max_asid)
            return gp0(f, 0, err, "VM_PAGE_FLUSH with ASID 0 or beyond the ASID count");
        struct mc_xlat x;
        struct mc_error e2;
        if (mc_machine_translate(m, va, 0, &x, NULL, &e2) != MC_OK)
            return gp0(f, 0, err, "VM_PAGE_FLUSH of a virtual address that is not mapped");
        struct mc_paging_mode pm = mc_machine_paging_mode(m);
        uint64_t pa = x.pa & ~(pm.enc_bit >= 0 ? 1ull << pm.enc_bit : 0);
        return memctl_vm_page_flush(m->mc, pa, asid, err);
    }
    default:
        break;
    }
    return gp0(f, 0, err, "WRMSR to an MSR this platform does not implement or that is read-only");
}

/* Registered handlers, newest first: RDMSR when rd is set (the value goes there), else WRMSR of
 * wval. MC_E_NOTFOUND when every handler passes the MSR on (then the built-ins answer). */
static mc_status dispatch(struct mc_machine *m, uint32_t msr, uint64_t *rd, uint64_t wval, struct mc_fault *fault,
                          struct mc_error *err)
{
    for (unsigned i = m->nhandlers; i-- > 0;) {
        const struct mc_msr_handler *h = &m->handlers[i];
        if (msr < h->first || msr > h->last)
            continue;
        if (rd ? !h->rd : !h->wr)
            return gp0(fault, 0, err, rd ? "RDMSR of a write-only MSR" : "WRMSR to a read-only MSR");
        mc_status st = rd ? h->rd(h->ctx, m, msr, rd, fault, err) : h->wr(h->ctx, m, msr, wval, fault, err);
        if (st != MC_E_NOTFOUND)
            return st;
    }
    return MC_E_NOTFOUND;
}

mc_status mc_machine_rdmsr(struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *fault,
                           struct mc_error *err)
{
    if (!m || !val)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to RDMSR");
    if (fault)
        fault->kind = MC_FAULT_NONE;
    mc_status st = dispatch(m, msr, val, 0, fault, err);
    return st != MC_E_NOTFOUND ? st : builtin_rd(m, msr, val, fault, err);
}

mc_status mc_machine_wrmsr(struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *fault,
                           struct mc_error *err)
{
    if (!m)
        return mc_seterr(err, MC_E_INVAL, "NULL machine");
    if (fault)
        fault->kind = MC_FAULT_NONE;
    mc_status st = dispatch(m, msr, NULL, val, fault, err);
    return st != MC_E_NOTFOUND ? st : builtin_wr(m, msr, val, fault, err);
}

/* ---------------------------------------------------------------- snapshots -- */

struct mc_machine_snap {
    const struct mc_machine *owner;
    struct mc_machine m; /* MSRs, handlers, hooks (the component pointers are the owner's) */
    struct mc_paging_regs regs; /* the host CPU's control registers */
    uint8_t rng_seed[MC_RNG_FORK_LEN];
    struct mc_engine_snap *engine;
    struct mc_dram_snap *dram;
    struct memctl_snap *mc;
};

void mc_machine_snap_free(struct mc_machine_snap *s)
{
    if (!s)
        return;
    mc_engine_snap_free(s->engine);
    mc_dram_snap_free(s->dram);
    memctl_snap_free(s->mc);
    mc_wipe(s, sizeof *s);
    free(s);
}

mc_status mc_machine_snap_save(struct mc_machine *m, struct mc_machine_snap **out, struct mc_error *err)
{
    if (!m || !out)
        return mc_seterr(err, MC_E_INVAL, "machine snapshot: NULL argument");
    struct mc_machine_snap *s = calloc(1, sizeof *s);
    if (!s)
        return mc_seterr(err, MC_E_NOMEM, "machine snapshot: out of memory");
    mc_lcpu_flush_all(m->cpu);
    mc_lcpu_get_regs(m->cpu, &s->regs);
    mc_status st = mc_rng_fork(m->rng, s->rng_seed, err);
    if (!st)
        st = mc_engine_snap_save(m->engine, &s->engine, err);
    if (!st)
        st = mc_dram_snap_save(m->dram, &s->dram, err);
    if (!st)
        st = memctl_snap_save(m->mc, &s->mc, err);
    if (st) {
        mc_machine_snap_free(s);
        return st;
    }
    s->owner = m;
    s->m = *m;
    *out = s;
    return MC_OK;
}

mc_status mc_machine_snap_restore(struct mc_machine *m, const struct mc_machine_snap *s, struct mc_error *err)
{
    if (!m || !s)
        return mc_seterr(err, MC_E_INVAL, "machine snapshot: NULL argument");
    if (s->owner != m)
        return mc_seterr(err, MC_E_INVAL, "machine snapshot: it belongs to another machine");
    mc_status st = mc_engine_snap_restore(m->engine, s->engine, err);
    if (!st)
        st = mc_dram_snap_restore(m->dram, s->dram, err);
    if (!st)
        st = memctl_snap_restore(m->mc, s->mc, err);
    if (!st)
        st = mc_rng_rewind(m->rng, s->rng_seed, err);
    if (st)
        return st;
    *m = s->m;
    mc_lcpu_set_regs(m->cpu, &s->regs);
    mc_lcpu_flush_all(m->cpu);
    return MC_OK;
}
