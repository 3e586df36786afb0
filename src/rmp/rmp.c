/* The RMP unit: the table in DRAM (entries through the memory controller), RMP_BASE/RMP_END and
 * SYSCFG's SNP bits, the reset hook, and the firmware's view (page states, transitions).
 * See include/memcrypt/rmp.h. Facts: SNP ABI digest §1 (AMD-ASPFW sev_rmp.[ch], Linux
 * arch/x86/virt/svm/sev.c); decisions: docs/snp-platform.md, "The RMP". */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>

#include "rmp/rmp_int.h"

/* ------------------------------------------------------------------ codecs -- */

void mc_rmp_state_encode(const struct mc_rmp_state *s, uint8_t out[16])
{
    mc_put_le64(out, s->gpa);
    out[8] = s->assigned;
    out[9] = s->pagesize;
    out[10] = s->immutable;
    out[11] = s->rsvd;
    mc_put_le32(out + 12, s->asid);
}

void mc_rmp_state_decode(const uint8_t in[16], struct mc_rmp_state *s)
{
    s->gpa = mc_le64(in);
    s->assigned = in[8];
    s->pagesize = in[9];
    s->immutable = in[10];
    s->rsvd = in[11];
    s->asid = mc_le32(in + 12);
}

#define LO_RSVD ((0x1FFull << 3) | (1ull << 63))
#define GPA_FIELD ((1ull << 39) - 1)

void mc_rmp_entry_encode(const struct mc_rmp_entry *e, uint8_t raw[16])
{
    uint64_t lo = (uint64_t)e->assigned | (uint64_t)e->large << 1 | (uint64_t)e->immutable << 2 |
                  (e->rsvd_lo & LO_RSVD) | ((e->gpa >> 12) & GPA_FIELD) << 12 | (uint64_t)(e->asid & 0x3FF) << 51 |
                  (uint64_t)e->vmsa << 61 | (uint64_t)e->validated << 62;
    uint64_t hi = (uint64_t)e->perm[0] | (uint64_t)e->perm[1] << 8 | (uint64_t)e->perm[2] << 16 |
                  (uint64_t)e->perm[3] << 24 | (e->rsvd_hi & 0xFFFFFFFF00000000ull);
    mc_put_le64(raw, lo);
    mc_put_le64(raw + 8, hi);
}

void mc_rmp_entry_decode(const uint8_t raw[16], struct mc_rmp_entry *e)
{
    uint64_t lo = mc_le64(raw), hi = mc_le64(raw + 8);
    e->assigned = lo & 1;
    e->large = (lo >> 1) & 1;
    e->immutable = (lo >> 2) & 1;
    e->rsvd_lo = lo & LO_RSVD;
    e->gpa = ((lo >> 12) & GPA_FIELD) << 12;
    e->asid = (uint32_t)((lo >> 51) & 0x3FF);
    e->vmsa = (lo >> 61) & 1;
    e->validated = (lo >> 62) & 1;
    for (unsigned i = 0; i < 4; i++)
        e->perm[i] = (uint8_t)(hi >> (8 * i));
    e->rsvd_hi = hi & 0xFFFFFFFF00000000ull;
}

const char *mc_rmp_code_name(uint32_t code)
{
    switch (code) {
    case MC_RMP_SUCCESS: return "SUCCESS";
    case MC_RMP_FAIL_INPUT: return "FAIL_INPUT";
    case MC_RMP_FAIL_PERMISSION: return "FAIL_PERMISSION";
    case MC_RMP_FAIL_INUSE: return "FAIL_INUSE";
    case MC_RMP_FAIL_OVERLAP: return "FAIL_OVERLAP";
    case MC_RMP_FAIL_SIZEMISMATCH: return "FAIL_SIZEMISMATCH";
    case MC_RMP_FAIL_BADADDR: return "FAIL_BADADDR";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------- geometry -- */

uint64_t mc_rmp_size_for(uint64_t dram_size)
{
    uint64_t pages = (dram_size + 4095) >> 12;
    uint64_t need = MC_RMP_BOOKKEEPING + pages * MC_RMP_ENTRY_SIZE;
    return (need + 0xFFFFFull) & ~0xFFFFFull;
}

bool rmp_covered(const struct mc_rmp *r, uint64_t pfn)
{
    if (!r->base || pfn >= (r->dram_size >> 12))
        return false;
    uint64_t span = r->end - r->base + 1; /* > 0x4000 when configured */
    if (span < MC_RMP_BOOKKEEPING + MC_RMP_ENTRY_SIZE)
        return false;
    return pfn < (span - MC_RMP_BOOKKEEPING) / MC_RMP_ENTRY_SIZE;
}

static inline uint64_t ent_addr(const struct mc_rmp *r, uint64_t pfn)
{
    return r->base + MC_RMP_BOOKKEEPING + pfn * MC_RMP_ENTRY_SIZE;
}

uint64_t mc_rmp_entry_addr(const struct mc_rmp *r, uint64_t spa)
{
    if (!r)
        return 0;
    uint64_t pfn = (spa & ~r->cmask) >> 12;
    return rmp_covered(r, pfn) ? ent_addr(r, pfn) : 0;
}

bool rmp_is_table_page(const struct mc_rmp *r, uint64_t pfn)
{
    return r->base && pfn >= (r->base >> 12) && pfn <= (r->end >> 12);
}

void mc_rmp_bounds(const struct mc_rmp *r, uint64_t *base, uint64_t *end)
{
    if (base)
        *base = r ? r->base : 0;
    if (end)
        *end = r ? r->end : 0;
}

bool mc_rmp_snp_enabled(const struct mc_rmp *r) { return r && r->snp_en; }
bool mc_rmp_vmpl_enabled(const struct mc_rmp *r) { return r && r->vmpl_en; }
uint32_t mc_rmp_generation(const struct mc_rmp *r) { return r ? r->gen : 0; }
const uint32_t *mc_rmp_epoch(const struct mc_rmp *r) { return r ? &r->gen : NULL; }

void mc_rmp_install(struct mc_rmp *r, struct mc_lcpu *cpu)
{
    if (!cpu)
        return;
    mc_lcpu_set_check(cpu, r ? mc_rmp_check : NULL, r);
    mc_lcpu_set_check_epoch(cpu, r ? &r->gen : NULL);
}
bool mc_rmp_fw_table_ready(const struct mc_rmp *r) { return r && r->table_ready; }

/* ------------------------------------------------------- DRAM through the MC -- */

static mc_status ctl_io(struct mc_rmp *r, uint64_t addr, void *buf, size_t len, bool write, struct mc_error *err)
{
    /* The CPU's and the AMD-SP's RMP accesses: host requester, C=0 (the RMP is not encrypted). */
    struct memctl_access a = {.addr = addr, .size = len, .kind = write ? MEMCTL_ACC_WRITE : MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    struct mc_fault f;
    return write ? memctl_write(r->mc, &a, buf, &f, err) : memctl_read(r->mc, &a, buf, &f, err);
}

mc_status rmp_get(struct mc_rmp *r, uint64_t pfn, struct mc_rmp_entry *e, struct mc_error *err)
{
    struct rmp_ecache *c = &r->ecache[pfn & ((1u << RMP_ECACHE_BITS) - 1)];
    if (!(c->valid && c->gen == r->gen && c->pfn == pfn)) {
        mc_status st = ctl_io(r, ent_addr(r, pfn), c->raw, 16, false, err);
        if (st) {
            c->valid = 0;
            return st;
        }
        c->pfn = pfn;
        c->gen = r->gen;
        c->valid = 1;
    }
    mc_rmp_entry_decode(c->raw, e);
    return MC_OK;
}

static mc_status counter_add(struct mc_rmp *r, uint32_t asid, int64_t delta, struct mc_error *err)
{
    if (!delta || asid >= MC_RMP_ASID_COUNTERS)
        return MC_OK;
    uint8_t b[8];
    uint64_t a = r->base + 8ull * asid;
    mc_status st = ctl_io(r, a, b, 8, false, err);
    if (st)
        return st;
    mc_put_le64(b, mc_le64(b) + (uint64_t)delta);
    return ctl_io(r, a, b, 8, true, err);
}

mc_status rmp_put(struct mc_rmp *r, uint64_t pfn, const struct mc_rmp_entry *old, const struct mc_rmp_entry *e,
                  struct mc_error *err)
{
    uint8_t raw[16];
    mc_rmp_entry_encode(e, raw);
    mc_status st = ctl_io(r, ent_addr(r, pfn), raw, 16, true, err);
    if (!st && (old->assigned != e->assigned || old->asid != e->asid)) {
        if (old->assigned)
            st = counter_add(r, old->asid, -1, err);
        if (!st && e->assigned)
            st = counter_add(r, e->asid, 1, err);
    }
    r->gen++;
    return st;
}

mc_status rmp_get_region(struct mc_rmp *r, uint64_t head, struct mc_rmp_entry *out, struct mc_error *err)
{
    uint8_t raw[RMP_PAGES_2M * 16];
    mc_status st = ctl_io(r, ent_addr(r, head), raw, sizeof raw, false, err);
    for (unsigned i = 0; !st && i < RMP_PAGES_2M; i++)
        mc_rmp_entry_decode(raw + 16 * i, &out[i]);
    return st;
}

mc_status rmp_put_region(struct mc_rmp *r, uint64_t head, const struct mc_rmp_entry *olds, const struct mc_rmp_entry *t,
                         bool step_gpa, struct mc_error *err)
{
    uint8_t raw[RMP_PAGES_2M * 16];
    struct mc_rmp_entry e = *t;
    for (unsigned i = 0; i < RMP_PAGES_2M; i++) {
        e.gpa = step_gpa ? t->gpa + 4096ull * i : t->gpa;
        mc_rmp_entry_encode(&e, raw + 16 * i);
    }
    mc_status st = ctl_io(r, ent_addr(r, head), raw, sizeof raw, true, err);
    /* Counters: the region's old owners lose their pages, the new owner gains 512. */
    for (unsigned i = 0; !st && i < RMP_PAGES_2M; i++) {
        unsigned j = i;
        while (j + 1 < RMP_PAGES_2M && olds[j + 1].assigned == olds[i].assigned && olds[j + 1].asid == olds[i].asid)
            j++;
        if (olds[i].assigned)
            st = counter_add(r, olds[i].asid, -(int64_t)(j - i + 1), err);
        i = j;
    }
    if (!st && t->assigned)
        st = counter_add(r, t->asid, RMP_PAGES_2M, err);
    r->gen++;
    return st;
}

mc_status rmp_authoritative(struct mc_rmp *r, uint64_t pfn, struct mc_rmp_entry *e, bool *large, struct mc_error *err)
{
    /* A 2 MiB entry is mirrored into all 512 entries of its region, so the page's own entry says
     * whether one governs it; only then is the region's first entry read (one read for a page of
     * a 4 KiB entry, the common case). */
    *large = false;
    mc_status st = rmp_get(r, pfn, e, err);
    if (st || !e->large || !e->assigned)
        return st;
    const uint64_t head = pfn & ~(uint64_t)(RMP_PAGES_2M - 1);
    struct mc_rmp_entry h;
    if (head != pfn && (st = rmp_get(r, head, &h, err)))
        return st;
    if (head == pfn)
        h = *e;
    if (h.large && h.assigned) {
        *e = h;
        *large = true;
    }
    return MC_OK;
}

mc_status rmp_normalize_region(struct mc_rmp *r, uint64_t pfn, struct mc_error *err)
{
    uint64_t head = pfn & ~(uint64_t)(RMP_PAGES_2M - 1);
    struct mc_rmp_entry h;
    mc_status st = rmp_get(r, head, &h, err);
    if (st || !h.large || h.assigned || !rmp_covered(r, head + RMP_PAGES_2M - 1))
        return st;
    struct mc_rmp_entry *all = malloc(RMP_PAGES_2M * sizeof *all);
    if (!all)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    st = rmp_get_region(r, head, all, err);
    uint8_t raw[16];
    for (unsigned i = 0; !st && i < RMP_PAGES_2M; i++) {
        all[i].large = false;
        mc_rmp_entry_encode(&all[i], raw);
        st = ctl_io(r, ent_addr(r, head + i), raw, 16, true, err);
    }
    free(all);
    r->gen++;
    return st;
}

uint64_t mc_rmp_asid_pages(struct mc_rmp *r, uint32_t asid)
{
    uint8_t b[8] = {0};
    if (!r || !r->base || asid >= MC_RMP_ASID_COUNTERS || ctl_io(r, r->base + 8ull * asid, b, 8, false, NULL))
        return 0;
    return mc_le64(b);
}

mc_status rmp_fault(struct mc_fault *f, enum mc_fault_kind kind, uint64_t code, uint64_t addr, struct mc_error *err,
                    const char *why)
{
    static const uint8_t vec[] = {[MC_FAULT_PF] = 14, [MC_FAULT_GP] = 13, [MC_FAULT_UD] = 6, [MC_FAULT_VC] = 29};
    if (f)
        *f = (struct mc_fault){kind, kind < sizeof vec ? vec[kind] : 0, code, addr};
    return mc_seterr(err, MC_E_FAULT, "%s", why);
}

/* ------------------------------------------------------------------- MSRs -- */

static mc_status gp(struct mc_fault *f, struct mc_error *err, const char *why)
{
    return rmp_fault(f, MC_FAULT_GP, 0, 0, err, why);
}

/* Is the RMP configuration one SNP can be enabled with? */
static const char *config_problem(const struct mc_rmp *r)
{
    if (!r->base || r->end <= r->base)
        return "no RMP is configured (RMP_BASE/RMP_END are zero or END <= BASE)";
    if (r->base & 0xFFFFF)
        return "RMP_BASE is not 1 MiB aligned";
    if ((r->end - r->base + 1) & 0xFFFFF)
        return "RMP_END - RMP_BASE + 1 is not a multiple of 1 MiB";
    if (r->end >= r->dram_size)
        return "the RMP does not lie inside DRAM";
    if (r->end - r->base + 1 < MC_RMP_BOOKKEEPING + (r->dram_size >> 12) * MC_RMP_ENTRY_SIZE)
        return "the RMP does not cover every page of DRAM (and itself)";
    return NULL;
}

static void set_host_check(struct mc_rmp *r, bool on)
{
    mc_rmp_install(on ? r : NULL, mc_machine_cpu(r->m));
}

void mc_rmp_snap_save(const struct mc_rmp *r, struct mc_rmp_snap *s)
{
    memset(s, 0, sizeof *s);
    if (!r)
        return;
    s->base = r->base;
    s->end = r->end;
    s->snp_en = r->snp_en;
    s->vmpl_en = r->vmpl_en;
    s->table_ready = r->table_ready;
}

void mc_rmp_snap_restore(struct mc_rmp *r, const struct mc_rmp_snap *s)
{
    if (!r || !s)
        return;
    r->base = s->base;
    r->end = s->end;
    r->snp_en = s->snp_en;
    r->vmpl_en = s->vmpl_en;
    r->table_ready = s->table_ready;
    r->gen++; /* the table came back with DRAM: no cached entry or verdict survives */
    set_host_check(r, r->snp_en);
}

static mc_status msr_rd(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *f,
                        struct mc_error *err)
{
    (void)m;
    (void)f;
    (void)err;
    struct mc_rmp *r = ctx;
    switch (msr) {
    case MC_MSR_RMP_BASE: *val = r->base; return MC_OK;
    case MC_MSR_RMP_END: *val = r->end; return MC_OK;
    default: return MC_E_NOTFOUND; /* SYSCFG: the machine's own value */
    }
}

static mc_status syscfg_wr(struct mc_rmp *r, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    uint64_t cur = 0;
    mc_status st = mc_machine_rdmsr(r->m, MC_MSR_SYSCFG, &cur, f, err);
    if (st)
        return st;
    const uint64_t mfdm = MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN, snp = MC_SYSCFG_SNP_EN, vmpl = MC_SYSCFG_VMPL_EN;
    if ((val ^ cur) & MC_SYSCFG_MEM_ENCRYPT_MOD_EN)
        return MC_E_NOTFOUND; /* the machine refuses it, before anything changes here */
    if (cur & snp) {
        if (!(val & snp) || ((val ^ cur) & vmpl) || !(val & mfdm))
            return gp(f, err, "#GP(0): SYSCFG.SNP_EN, VMPL_EN and MFDM are locked once SNP is enabled (until reset)");
        return MC_E_NOTFOUND;
    }
    if (!(val & snp)) {
        if (val & vmpl)
            return gp(f, err, "#GP(0): SYSCFG.VMPL_EN needs SNP_EN (set them together)");
        return MC_E_NOTFOUND;
    }
    /* Turning SNP on. */
    if (!(cur & MC_SYSCFG_MEM_ENCRYPT_MOD_EN))
        return gp(f, err, "#GP(0): SYSCFG.SNP_EN needs MemEncryptionModEn (SME enabled by the BIOS)");
    if (!(cur & mfdm) || !(val & mfdm))
        return gp(f, err, "#GP(0): SYSCFG.SNP_EN needs MtrrFixDramModEn (MFDM) set by an earlier WRMSR");
    if ((val & vmpl) && !r->has_vmpl)
        return gp(f, err, "#GP(0): this CPU has no VMPLs (CPUID 8000_001F EAX[5])");
    const char *why = config_problem(r);
    if (why) {
        rmp_fault(f, MC_FAULT_GP, 0, 0, NULL, "");
        return mc_seterr(err, MC_E_FAULT, "#GP(0): SYSCFG.SNP_EN refused: %s", why);
    }
    r->snp_en = true;
    r->vmpl_en = (val & vmpl) != 0;
    r->gen++;
    set_host_check(r, true);
    return MC_E_NOTFOUND; /* the machine stores the value */
}

static mc_status msr_wr(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *f,
                        struct mc_error *err)
{
    (void)m;
    struct mc_rmp *r = ctx;
    if (msr == MC_MSR_SYSCFG)
        return syscfg_wr(r, val, f, err);
    if (r->snp_en)
        return gp(f, err, "#GP(0): RMP_BASE/RMP_END are locked while SYSCFG.SNP_EN is set");
    if (val & ~MC_RMP_ADDR_MASK & ~0x1FFFull)
        return gp(f, err, "#GP(0): RMP_BASE/RMP_END bits 63:52 are reserved");
    if (msr == MC_MSR_RMP_BASE)
        r->base = val & MC_RMP_ADDR_MASK;
    else
        r->end = (val & MC_RMP_ADDR_MASK) | 0x1FFF;
    return MC_OK;
}

static mc_status reset_hook(void *ctx, struct mc_machine *m, enum mc_machine_reset_kind kind, struct mc_error *err)
{
    (void)m;
    (void)kind;
    (void)err;
    struct mc_rmp *r = ctx;
    r->snp_en = r->vmpl_en = r->table_ready = false;
    r->base = r->bios_base;
    r->end = r->bios_end;
    r->gen++;
    set_host_check(r, false);
    return MC_OK;
}

mc_status mc_rmp_create(struct mc_machine *m, uint64_t bios_base, uint64_t bios_end, struct mc_rmp **out,
                        struct mc_error *err)
{
    if (!m || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_rmp_create needs a machine and an output");
    *out = NULL;
    struct mc_cpu_features feat;
    mc_cpu_decode(mc_machine_profile(m), &feat);
    if (!feat.sev_snp)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP (CPUID 8000_001F EAX[4])",
                         mc_machine_profile(m)->name);
    if ((bios_base | bios_end) & ~MC_RMP_ADDR_MASK & ~0x1FFFull)
        return mc_seterr(err, MC_E_RANGE, "RMP bounds beyond 52 bits");
    struct mc_rmp *r = calloc(1, sizeof *r);
    if (r && !(r->ecache = calloc(1u << RMP_ECACHE_BITS, sizeof *r->ecache))) {
        free(r);
        r = NULL;
    }
    if (!r)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the RMP unit");
    r->m = m;
    r->mc = mc_machine_memctl(m);
    r->dram_size = mc_dram_size(mc_machine_dram(m));
    struct mc_paging_mode pm = mc_machine_paging_mode(m);
    r->cmask = pm.enc_bit >= 0 ? 1ull << pm.enc_bit : 0;
    r->max_asid = feat.max_asid;
    r->has_vmpl = feat.vmpl;
    struct mc_cpuid_regs c;
    mc_machine_cpuid(m, 0x8000001F, 0, &c);
    r->has_rmpread = (c.eax >> 21) & 1; /* RMPREAD (Zen 5) */
    r->bios_base = bios_base & MC_RMP_ADDR_MASK;
    r->bios_end = bios_end ? (bios_end & MC_RMP_ADDR_MASK) | 0x1FFF : 0;
    r->base = r->bios_base;
    r->end = r->bios_end;
    const struct mc_msr_handler hs = {MC_MSR_SYSCFG, MC_MSR_SYSCFG, msr_rd, msr_wr, r};
    const struct mc_msr_handler hr = {MC_MSR_RMP_BASE, MC_MSR_RMP_END, msr_rd, msr_wr, r};
    mc_status st = mc_machine_msr_register(m, &hs, err);
    if (!st)
        st = mc_machine_msr_register(m, &hr, err);
    if (!st)
        st = mc_machine_reset_hook_register(m, reset_hook, r, err);
    if (st) {
        mc_machine_msr_unregister(m, r, NULL);
        free(r->ecache);
        free(r);
        return st;
    }
    *out = r;
    return MC_OK;
}

void mc_rmp_destroy(struct mc_rmp *r)
{
    if (r)
        free(r->ecache);
    free(r);
}

/* -------------------------------------------------------------- firmware -- */

static const char *const state_names[] = {
    [MC_RMP_PS_INVALID] = "invalid",          [MC_RMP_PS_DEFAULT] = "default",
    [MC_RMP_PS_HYPERVISOR] = "hypervisor",    [MC_RMP_PS_HV_FIXED] = "hv-fixed",
    [MC_RMP_PS_FIRMWARE] = "firmware",        [MC_RMP_PS_FIRMWARE_IOMMU] = "firmware-iommu",
    [MC_RMP_PS_RECLAIM] = "reclaim",          [MC_RMP_PS_CONTEXT] = "context",
    [MC_RMP_PS_METADATA] = "metadata",        [MC_RMP_PS_PRE_GUEST] = "pre-guest",
    [MC_RMP_PS_PRE_SWAP] = "pre-swap",        [MC_RMP_PS_GUEST_INVALID] = "guest-invalid",
    [MC_RMP_PS_GUEST_VALID] = "guest-valid",
};

const char *mc_rmp_page_state_name(enum mc_rmp_page_state s)
{
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "invalid";
}

const char *mc_rmp_fw_status_name(enum mc_rmp_fw_status s)
{
    switch (s) {
    case MC_RMP_FW_OK: return "ok";
    case MC_RMP_FW_NOT_READY: return "RMP not ready";
    case MC_RMP_FW_BAD_ADDRESS: return "bad address";
    case MC_RMP_FW_BAD_STATE: return "page in the wrong state";
    case MC_RMP_FW_BAD_SIZE: return "page size mismatch";
    case MC_RMP_FW_BAD_OWNER: return "page of another guest or GPA";
    case MC_RMP_FW_NO_MEMORY: return "out of memory";
    default: return "unknown";
    }
}

#define TAG_MASK (7ull << MC_RMP_GPA_TAG_SHIFT)

/* The firmware's derivation (the order of its checks matters: a Reclaim page is any assigned
 * mutable ASID-0 page). */
enum mc_rmp_page_state mc_rmp_page_state_of(const struct mc_rmp_entry *e)
{
    if (!e)
        return MC_RMP_PS_INVALID;
    const uint64_t tag = (e->gpa & TAG_MASK) >> MC_RMP_GPA_TAG_SHIFT, gpa = e->gpa & ~TAG_MASK;
    if (!e->assigned)
        return e->validated || e->asid ? MC_RMP_PS_INVALID : e->immutable ? MC_RMP_PS_HV_FIXED : MC_RMP_PS_HYPERVISOR;
    if (e->asid)
        return e->immutable ? (e->validated ? MC_RMP_PS_PRE_SWAP : MC_RMP_PS_PRE_GUEST)
                            : (e->validated ? MC_RMP_PS_GUEST_VALID : MC_RMP_PS_GUEST_INVALID);
    if (e->validated)
        return MC_RMP_PS_INVALID;
    if (!e->immutable)
        return MC_RMP_PS_RECLAIM;
    if (e->gpa == 0)
        return e->vmsa ? MC_RMP_PS_CONTEXT : MC_RMP_PS_FIRMWARE;
    if (gpa && tag == MC_RMP_GPA_TAG_METADATA)
        return MC_RMP_PS_METADATA;
    if (gpa == 0x1000 && tag == MC_RMP_GPA_TAG_FW_IOMMU && !e->vmsa)
        return MC_RMP_PS_FIRMWARE_IOMMU;
    return MC_RMP_PS_INVALID;
}

static bool aligned_dram(const struct mc_rmp *r, uint64_t spa, uint64_t align)
{
    return !(spa & (align - 1)) && spa < r->dram_size && r->dram_size - spa >= align;
}

mc_status mc_rmp_fw_read(struct mc_rmp *r, uint64_t spa, struct mc_rmp_entry *e, enum mc_rmp_page_state *state,
                         struct mc_error *err)
{
    if (!r || !e)
        return mc_seterr(err, MC_E_INVAL, "mc_rmp_fw_read needs the unit and an entry");
    spa &= ~r->cmask;
    if (spa >= r->dram_size)
        return mc_seterr(err, MC_E_RANGE, "0x%llx is beyond DRAM", (unsigned long long)spa);
    memset(e, 0, sizeof *e);
    if (!rmp_covered(r, spa >> 12)) {
        if (state)
            *state = MC_RMP_PS_DEFAULT;
        return MC_OK;
    }
    mc_status st = rmp_get(r, spa >> 12, e, err);
    if (!st && state)
        *state = mc_rmp_page_state_of(e);
    return st;
}

mc_status mc_rmp_fw_write(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_entry *e, struct mc_error *err)
{
    if (!r || !e)
        return mc_seterr(err, MC_E_INVAL, "mc_rmp_fw_write needs the unit and an entry");
    uint64_t pfn = (spa & ~r->cmask) >> 12;
    if (!rmp_covered(r, pfn))
        return mc_seterr(err, MC_E_RANGE, "0x%llx has no RMP entry", (unsigned long long)spa);
    struct mc_rmp_entry old;
    mc_status st = rmp_get(r, pfn, &old, err);
    return st ? st : rmp_put(r, pfn, &old, e, err);
}

/* A failed access to the table: out of host memory, or (anything else) an address it cannot reach. */
static enum mc_rmp_fw_status io_fail(mc_status st)
{
    return st == MC_E_NOMEM ? MC_RMP_FW_NO_MEMORY : MC_RMP_FW_BAD_ADDRESS;
}

enum mc_rmp_fw_status mc_rmp_fw_init_table(struct mc_rmp *r)
{
    if (!r || !r->snp_en)
        return MC_RMP_FW_NOT_READY;
    if (r->table_ready) /* once per SNP_EN (a second SNP_INIT finds it done) */
        return MC_RMP_FW_OK;
    /* The host zeroed the table: every page is a Hypervisor page and every counter 0. The RMP's
     * own entries become Firmware entries, written a 4 KiB block of entries at a time. */
    const struct mc_rmp_entry fw = {.assigned = true, .immutable = true};
    uint8_t blk[4096];
    for (unsigned i = 0; i < 256; i++)
        mc_rmp_entry_encode(&fw, blk + 16 * i);
    const uint64_t first = r->base >> 12, last = r->end >> 12;
    if (!rmp_covered(r, last))
        return MC_RMP_FW_BAD_ADDRESS;
    for (uint64_t pfn = first; pfn <= last;) {
        uint64_t n = 256 - (pfn & 255);
        if (n > last - pfn + 1)
            n = last - pfn + 1;
        mc_status ms = ctl_io(r, ent_addr(r, pfn), blk, (size_t)n * 16, true, NULL);
        if (ms)
            return io_fail(ms);
        pfn += n;
    }
    mc_status ms = counter_add(r, 0, (int64_t)(last - first + 1), NULL);
    if (ms)
        return io_fail(ms);
    r->gen++;
    r->table_ready = true;
    return MC_RMP_FW_OK;
}

/* Common front of the transitions: a 4 KiB (or 2 MiB) page the RMP covers, not one of the RMP's
 * own pages, SNP ready; its entry and state. */
static enum mc_rmp_fw_status fw_front(struct mc_rmp *r, uint64_t spa, uint64_t align, struct mc_rmp_entry *e,
                                      enum mc_rmp_page_state *st, bool *large)
{
    if (!r || !r->snp_en || !r->table_ready)
        return MC_RMP_FW_NOT_READY;
    spa &= ~r->cmask;
    uint64_t pfn = spa >> 12;
    if (!aligned_dram(r, spa, align) || !rmp_covered(r, pfn + align / 4096 - 1) || rmp_is_table_page(r, pfn) ||
        rmp_is_table_page(r, pfn + align / 4096 - 1))
        return MC_RMP_FW_BAD_ADDRESS;
    mc_status ms = rmp_authoritative(r, pfn, e, large, NULL);
    if (ms)
        return io_fail(ms);
    *st = mc_rmp_page_state_of(e);
    return MC_RMP_FW_OK;
}

/* A 4 KiB transition from one of the states in `from` to entry `to`. */
static enum mc_rmp_fw_status fw_4k(struct mc_rmp *r, uint64_t spa, unsigned from, const struct mc_rmp_entry *to,
                                   enum mc_rmp_page_state *prev)
{
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    bool large;
    enum mc_rmp_fw_status s = fw_front(r, spa, 4096, &e, &st, &large);
    if (prev)
        *prev = s ? MC_RMP_PS_INVALID : st;
    if (s)
        return s;
    if (!(from & MC_RMP_PS_BIT(st)))
        return MC_RMP_FW_BAD_STATE;
    if (large)
        return MC_RMP_FW_BAD_SIZE;
    uint64_t pfn = (spa & ~r->cmask) >> 12;
    mc_status ms = rmp_normalize_region(r, pfn, NULL);
    if (!ms)
        ms = rmp_get(r, pfn, &e, NULL);
    if (!ms)
        ms = rmp_put(r, pfn, &e, to, NULL);
    return ms ? io_fail(ms) : MC_RMP_FW_OK;
}

enum mc_rmp_fw_status mc_rmp_fw_make_firmware(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev)
{
    const struct mc_rmp_entry to = {.assigned = true, .immutable = true};
    return fw_4k(r, spa, MC_RMP_PS_BIT(MC_RMP_PS_HYPERVISOR) | MC_RMP_PS_BIT(MC_RMP_PS_RECLAIM), &to, prev);
}

enum mc_rmp_fw_status mc_rmp_fw_make_context(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev)
{
    const struct mc_rmp_entry to = {.assigned = true, .immutable = true, .vmsa = true};
    return fw_4k(r, spa, MC_RMP_PS_BIT(MC_RMP_PS_FIRMWARE), &to, prev);
}

enum mc_rmp_fw_status mc_rmp_fw_context_to_firmware(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev)
{
    const struct mc_rmp_entry to = {.assigned = true, .immutable = true};
    return fw_4k(r, spa, MC_RMP_PS_BIT(MC_RMP_PS_CONTEXT), &to, prev);
}

static struct mc_rmp_entry metadata_entry(uint64_t owner)
{
    owner &= ~(TAG_MASK | 0xFFFull);
    return (struct mc_rmp_entry){.assigned = true, .immutable = true,
                                 .gpa = (owner ? owner : 0x1000ull) |
                                        (uint64_t)MC_RMP_GPA_TAG_METADATA << MC_RMP_GPA_TAG_SHIFT};
}

enum mc_rmp_fw_status mc_rmp_fw_make_metadata(struct mc_rmp *r, uint64_t spa, uint64_t owner,
                                              enum mc_rmp_page_state *prev)
{
    const struct mc_rmp_entry to = metadata_entry(owner);
    return fw_4k(r, spa, MC_RMP_PS_BIT(MC_RMP_PS_FIRMWARE), &to, prev);
}

uint64_t mc_rmp_fw_metadata_owner(const struct mc_rmp_entry *e)
{
    return e ? e->gpa & ~TAG_MASK : 0;
}

enum mc_rmp_fw_status mc_rmp_fw_make_hv_fixed(struct mc_rmp *r, uint64_t spa, bool fixed, enum mc_rmp_page_state *prev)
{
    const struct mc_rmp_entry to = {.immutable = fixed};
    const unsigned from = fixed ? MC_RMP_PS_BIT(MC_RMP_PS_HYPERVISOR) | MC_RMP_PS_BIT(MC_RMP_PS_FIRMWARE)
                                : MC_RMP_PS_BIT(MC_RMP_PS_HV_FIXED);
    return fw_4k(r, spa, from, &to, prev);
}

enum mc_rmp_fw_status mc_rmp_fw_lookup(struct mc_rmp *r, uint64_t spa, uint64_t align, struct mc_rmp_entry *e,
                                       enum mc_rmp_page_state *state, bool *large)
{
    struct mc_rmp_entry tmp;
    enum mc_rmp_page_state st = MC_RMP_PS_INVALID;
    bool lg = false;
    enum mc_rmp_fw_status s =
        align == 4096 || align == RMP_2M ? fw_front(r, spa, align, &tmp, &st, &lg) : MC_RMP_FW_BAD_ADDRESS;
    if (s)
        memset(&tmp, 0, sizeof tmp);
    if (e)
        *e = tmp;
    if (state)
        *state = s ? MC_RMP_PS_INVALID : st;
    if (large)
        *large = lg;
    return s;
}

/* A transition of a 4 KiB page or of a whole 2 MiB entry (spa 2 MiB aligned, entry large). */
static enum mc_rmp_fw_status fw_sized(struct mc_rmp *r, uint64_t spa, bool want_large, unsigned from,
                                      const struct mc_rmp_guest_page *owner, enum mc_rmp_page_state *prev,
                                      void (*edit)(struct mc_rmp_entry *e, enum mc_rmp_page_state st, const void *arg),
                                      const void *arg)
{
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    bool large;
    enum mc_rmp_fw_status s = fw_front(r, spa, want_large ? RMP_2M : 4096, &e, &st, &large);
    if (prev)
        *prev = s ? MC_RMP_PS_INVALID : st;
    if (s)
        return s;
    if (!(from & MC_RMP_PS_BIT(st)))
        return MC_RMP_FW_BAD_STATE;
    if (large != want_large)
        return MC_RMP_FW_BAD_SIZE;
    uint64_t pfn = (spa & ~r->cmask) >> 12;
    if (owner && (e.asid != owner->asid || e.gpa != (owner->gpa & ~(want_large ? RMP_2M - 1 : 4095))))
        return MC_RMP_FW_BAD_OWNER;
    struct mc_rmp_entry to = e;
    edit(&to, st, arg);
    if (!want_large) {
        mc_status ms = rmp_put(r, pfn, &e, &to, NULL);
        return ms ? io_fail(ms) : MC_RMP_FW_OK;
    }
    struct mc_rmp_entry *olds = malloc(RMP_PAGES_2M * sizeof *olds);
    if (!olds)
        return MC_RMP_FW_NO_MEMORY;
    mc_status ms = rmp_get_region(r, pfn, olds, NULL);
    if (!ms)
        ms = rmp_put_region(r, pfn, olds, &to, true, NULL);
    free(olds);
    return ms ? io_fail(ms) : MC_RMP_FW_OK;
}

static void edit_launch(struct mc_rmp_entry *e, enum mc_rmp_page_state st, const void *arg)
{
    (void)st;
    const struct mc_rmp_guest_page *g = arg;
    e->immutable = false;
    e->validated = true;
    e->vmsa = g->vmsa;
    memcpy(e->perm, g->perm, 4);
    e->rsvd_lo &= ~(1ull << 63);
}

enum mc_rmp_fw_status mc_rmp_fw_launch_page(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_guest_page *g,
                                            enum mc_rmp_page_state *prev)
{
    if (!g || !g->asid || (g->vmsa && g->large))
        return MC_RMP_FW_BAD_ADDRESS;
    return fw_sized(r, spa, g->large, MC_RMP_PS_BIT(MC_RMP_PS_PRE_GUEST), g, prev, edit_launch, g);
}

static void edit_reclaim(struct mc_rmp_entry *e, enum mc_rmp_page_state st, const void *arg)
{
    (void)arg;
    if (st == MC_RMP_PS_FIRMWARE || st == MC_RMP_PS_METADATA)
        *e = (struct mc_rmp_entry){.assigned = true}; /* Reclaim */
    else
        e->immutable = false; /* Pre-Guest -> Guest-Invalid, Pre-Swap -> Guest-Valid */
    e->rsvd_lo &= ~(1ull << 63);
}

enum mc_rmp_fw_status mc_rmp_fw_reclaim(struct mc_rmp *r, uint64_t spa, bool large, enum mc_rmp_page_state *prev)
{
    unsigned from = MC_RMP_PS_BIT(MC_RMP_PS_PRE_GUEST) | MC_RMP_PS_BIT(MC_RMP_PS_PRE_SWAP);
    if (!large)
        from |= MC_RMP_PS_BIT(MC_RMP_PS_FIRMWARE) | MC_RMP_PS_BIT(MC_RMP_PS_METADATA);
    return fw_sized(r, spa, large, from, NULL, prev, edit_reclaim, NULL);
}

enum mc_rmp_fw_status mc_rmp_fw_unsmash(struct mc_rmp *r, uint64_t spa, enum mc_rmp_page_state *prev)
{
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    bool large;
    enum mc_rmp_fw_status s = fw_front(r, spa, RMP_2M, &e, &st, &large);
    if (prev)
        *prev = s ? MC_RMP_PS_INVALID : st;
    if (s)
        return s;
    if (large)
        return MC_RMP_FW_BAD_SIZE;
    if (st != MC_RMP_PS_PRE_GUEST && st != MC_RMP_PS_PRE_SWAP)
        return MC_RMP_FW_BAD_STATE;
    uint64_t head = (spa & ~r->cmask) >> 12;
    struct mc_rmp_entry *all = malloc(RMP_PAGES_2M * sizeof *all);
    if (!all)
        return MC_RMP_FW_NO_MEMORY;
    mc_status ms = rmp_get_region(r, head, all, NULL);
    s = ms ? io_fail(ms) : MC_RMP_FW_OK;
    if (!s && (all[0].gpa & (RMP_2M - 1)))
        s = MC_RMP_FW_BAD_OWNER;
    for (unsigned i = 1; !s && i < RMP_PAGES_2M; i++) {
        if (mc_rmp_page_state_of(&all[i]) != st)
            s = MC_RMP_FW_BAD_STATE;
        else if (all[i].asid != all[0].asid || all[i].gpa != all[0].gpa + 4096ull * i)
            s = MC_RMP_FW_BAD_OWNER;
        else if (all[i].vmsa)
            s = MC_RMP_FW_BAD_STATE;
    }
    if (!s) {
        struct mc_rmp_entry t = all[0];
        t.large = true;
        t.vmsa = false;
        ms = rmp_put_region(r, head, all, &t, true, NULL);
        s = ms ? io_fail(ms) : MC_RMP_FW_OK;
    }
    free(all);
    return s;
}

enum mc_rmp_fw_status mc_rmp_fw_move(struct mc_rmp *r, uint64_t src, uint64_t dst, bool large, uint32_t asid,
                                     uint64_t owner, enum mc_rmp_page_state *src_prev, enum mc_rmp_page_state *dst_prev)
{
    const uint64_t align = large ? RMP_2M : 4096;
    struct mc_rmp_entry se, de;
    enum mc_rmp_page_state ss, ds;
    bool sl, dl;
    enum mc_rmp_fw_status s = fw_front(r, src, align, &se, &ss, &sl);
    if (!s)
        s = fw_front(r, dst, align, &de, &ds, &dl);
    if (src_prev)
        *src_prev = s ? MC_RMP_PS_INVALID : ss;
    if (dst_prev)
        *dst_prev = s ? MC_RMP_PS_INVALID : ds;
    if (s)
        return s;
    const bool guest = (ss == MC_RMP_PS_PRE_GUEST || ss == MC_RMP_PS_PRE_SWAP) && ds == MC_RMP_PS_PRE_GUEST;
    const bool meta = !large && ss == MC_RMP_PS_METADATA && ds == MC_RMP_PS_FIRMWARE;
    if (!guest && !meta)
        return MC_RMP_FW_BAD_STATE;
    if (sl != large || dl != large)
        return MC_RMP_FW_BAD_SIZE;
    if (guest && (se.asid != asid || de.asid != asid))
        return MC_RMP_FW_BAD_OWNER;
    if (meta && mc_rmp_fw_metadata_owner(&se) != (owner & ~(TAG_MASK | 0xFFFull)))
        return MC_RMP_FW_BAD_OWNER;
    if ((src & ~r->cmask) == (dst & ~r->cmask))
        return MC_RMP_FW_OK; /* a move onto itself changes nothing */
    struct mc_rmp_entry nd, ns;
    if (guest) { /* dst takes the page (Pre-Swap -> Guest-Valid, Pre-Guest -> Guest-Invalid); src Guest-Invalid */
        nd = se;
        nd.immutable = false;
        nd.validated = ss == MC_RMP_PS_PRE_SWAP;
        nd.rsvd_lo &= ~(1ull << 63);
        ns = se;
        ns.immutable = ns.validated = ns.vmsa = false;
        ns.rsvd_lo &= ~(1ull << 63);
    } else { /* dst Metadata of the same owner, src Firmware */
        nd = metadata_entry(mc_rmp_fw_metadata_owner(&se));
        ns = (struct mc_rmp_entry){.assigned = true, .immutable = true};
    }
    const uint64_t sp = (src & ~r->cmask) >> 12, dp = (dst & ~r->cmask) >> 12;
    if (!large) {
        struct mc_rmp_entry o;
        mc_status ms = rmp_normalize_region(r, dp, NULL);
        if (!ms)
            ms = rmp_get(r, dp, &o, NULL);
        if (!ms)
            ms = rmp_put(r, dp, &o, &nd, NULL);
        if (!ms)
            ms = rmp_normalize_region(r, sp, NULL);
        if (!ms)
            ms = rmp_get(r, sp, &o, NULL);
        if (!ms)
            ms = rmp_put(r, sp, &o, &ns, NULL);
        return ms ? io_fail(ms) : MC_RMP_FW_OK;
    }
    struct mc_rmp_entry *olds = malloc(RMP_PAGES_2M * sizeof *olds);
    if (!olds)
        return MC_RMP_FW_NO_MEMORY;
    mc_status ms = rmp_get_region(r, dp, olds, NULL);
    if (!ms)
        ms = rmp_put_region(r, dp, olds, &nd, true, NULL);
    if (!ms)
        ms = rmp_get_region(r, sp, olds, NULL);
    if (!ms)
        ms = rmp_put_region(r, sp, olds, &ns, true, NULL);
    free(olds);
    return ms ? io_fail(ms) : MC_RMP_FW_OK;
}
