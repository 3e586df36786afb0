/* SEV-SNP platform commands: SNP_INIT, SNP_INIT_EX, SNP_SHUTDOWN, SNP_SHUTDOWN_EX,
 * SNP_PLATFORM_STATUS, SNP_CONFIG, SNP_COMMIT, SNP_VLEK_LOAD, SNP_FEATURE_INFO (SNP_DF_FLUSH is the
 * legacy DF_FLUSH handler: one ASID table). The TCB model and the SNP identity.
 *
 * Check order: AMD's published firmware (Genoa 1.55, sev_mcmd.c) — buffer reserved fields, then the
 * platform state, then the pages, then the rest; docs/snp-platform.md "SNP firmware" lists where
 * memcrypt differs and why. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"
#include "fw/psp_cmds.h"
#include "fw/psp_snp.h"

#define F(S, f) offsetof(struct S, f)
#define MIB (1ull << 20)

/* ---- small helpers ------------------------------------------------------------------------- */

uint64_t psp_snp_pa(const struct mc_psp *psp, uint64_t raw)
{
    return psp->mem.cbit_pos ? raw & ~(1ull << psp->mem.cbit_pos) : raw;
}

bool psp_asid_free(const struct mc_psp *psp, uint32_t asid)
{
    return asid && asid <= psp->cfg.max_asid && !psp->asid_owner[asid];
}

static uint64_t all_cores(const struct mc_psp *psp)
{
    return psp->cfg.num_cores == 64 ? ~0ull : ((1ull << psp->cfg.num_cores) - 1);
}

void mc_psp_set_snp_log(struct mc_psp *psp, mc_psp_snp_log_fn fn, void *ctx)
{
    if (psp) {
        psp->snp.log = fn;
        psp->snp.log_ctx = ctx;
    }
}

uint32_t mc_psp_snp_state(const struct mc_psp *psp) { return psp ? psp->snp.state : 0; }
uint32_t mc_psp_snp_guest_count(const struct mc_psp *psp) { return psp ? psp->snp.guest_count : 0; }

/* ---- the TCB model -------------------------------------------------------------------------- *
 * current   the running firmware's TCB (cfg.snp_tcb) and version (cfg.api_*, cfg.build);
 * committed what SNP_COMMIT last made permanent (state file); a chip that never committed has
 *           committed the running firmware, or — provisional firmware — the one before it:
 *           build - 1 and SNP SVN - 1 (an update loaded, not yet committed);
 * reported  SNP_CONFIG's REPORTED_TCB, else the committed TCB (what reports show, what signs). */

static unsigned snp_svn_byte(const struct mc_psp *psp) { return psp->cfg.snp_gen == MC_SNP_GEN_TURIN ? 3 : 6; }

uint64_t psp_snp_current_tcb(const struct mc_psp *psp) { return psp->cfg.snp_tcb; }

uint64_t psp_snp_committed_tcb(const struct mc_psp *psp)
{
    if (psp->snp.nv.committed_set)
        return psp->snp.nv.committed_tcb;
    uint64_t t = psp->cfg.snp_tcb;
    if (psp->cfg.snp_provisional) {
        unsigned b = snp_svn_byte(psp);
        uint64_t svn = (t >> (8 * b)) & 0xFF;
        if (svn)
            t = (t & ~(0xFFull << (8 * b))) | ((svn - 1) << (8 * b));
    }
    return t;
}

void psp_snp_committed_ver(const struct mc_psp *psp, uint8_t ver[3])
{
    if (psp->snp.nv.committed_set) {
        memcpy(ver, psp->snp.nv.committed_ver, 3);
        return;
    }
    ver[0] = psp->cfg.api_major;
    ver[1] = psp->cfg.api_minor;
    ver[2] = psp->cfg.build;
    if (psp->cfg.snp_provisional && ver[2])
        ver[2]--;
}

uint64_t psp_snp_reported_tcb(const struct mc_psp *psp)
{
    return psp->snp.nv.config_tcb ? psp->snp.nv.config_tcb : psp_snp_committed_tcb(psp);
}

void mc_psp_snp_tcb(const struct mc_psp *psp, struct mc_psp_snp_tcb *o)
{
    memset(o, 0, sizeof *o);
    if (!psp || !psp->cfg.snp)
        return;
    o->current = psp_snp_current_tcb(psp);
    o->committed = psp_snp_committed_tcb(psp);
    o->reported = psp_snp_reported_tcb(psp);
    o->current_ver[0] = psp->cfg.api_major;
    o->current_ver[1] = psp->cfg.api_minor;
    o->current_ver[2] = psp->cfg.build;
    psp_snp_committed_ver(psp, o->committed_ver);
    o->provisional = o->committed != o->current || memcmp(o->committed_ver, o->current_ver, 3) != 0;
}

static mc_status snap_u64(struct mc_hashctx *d, uint64_t v, struct mc_error *err)
{
    uint8_t b[8];
    mc_put_le64(b, v);
    return mc_hashctx_update(d, b, 8, err);
}

mc_status psp_snp_snapshot(const struct mc_psp *psp, struct mc_hashctx *d, struct mc_error *err)
{
    const struct psp_snp *s = &psp->snp;
    mc_status r = snap_u64(d, s->state, err);
    r |= snap_u64(d, s->rmp_init, err);
    r |= snap_u64(d, s->rmp_init_tcb, err);
    r |= snap_u64(d, s->rmp_base, err);
    r |= snap_u64(d, s->rmp_end, err);
    r |= snap_u64(d, s->guest_count, err);
    r |= snap_u64(d, s->gctx_seq, err);
    r |= snap_u64(d, (uint64_t)s->smt | (uint64_t)s->tsme << 1 | (uint64_t)s->fms << 32, err);
    r |= mc_hashctx_update(d, s->gctx_key, sizeof s->gctx_key, err);
    r |= mc_hashctx_update(d, s->asid_gctx, (psp->cfg.max_asid + 1) * sizeof *s->asid_gctx, err);
    r |= snap_u64(d, s->nv.committed_set | (uint64_t)s->nv.vlek << 1, err);
    r |= snap_u64(d, s->nv.committed_tcb, err);
    r |= mc_hashctx_update(d, s->nv.committed_ver, 3, err);
    r |= snap_u64(d, s->nv.config_tcb, err);
    r |= snap_u64(d, s->nv.config_flags, err);
    r |= snap_u64(d, s->nv.ident_len, err);
    if (s->nv.ident_len)
        r |= mc_hashctx_update(d, s->nv.ident, s->nv.ident_len, err);
    return r;
}

/* ---- persistent SNP state and the identity ------------------------------------------------ */

void psp_snp_nv_clear(struct psp_snp_nv *n)
{
    if (n->ident) {
        mc_wipe(n->ident, n->ident_len);
        free(n->ident);
    }
    memset(n, 0, sizeof *n);
}

static uint32_t nv_stage(const struct mc_psp *psp, struct psp_snp_nv *n, struct mc_error *err)
{
    *n = psp->snp.nv;
    n->ident = NULL;
    if (psp->snp.nv.ident_len) {
        n->ident = malloc(psp->snp.nv.ident_len);
        if (!n->ident)
            return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
        memcpy(n->ident, psp->snp.nv.ident, psp->snp.nv.ident_len);
    }
    return MC_FW_SUCCESS;
}

uint32_t psp_snp_nv_commit(struct mc_psp *psp, struct psp_snp_nv *staged, struct mc_error *err)
{
    struct mc_error why = {0};
    if (psp_nv_save_snp(psp, staged, &why) != MC_OK) {
        psp_snp_nv_clear(staged);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot persist the SNP firmware state: %s", why.msg);
    }
    psp_snp_nv_clear(&psp->snp.nv);
    psp->snp.nv = *staged;
    memset(staged, 0, sizeof *staged);
    return MC_FW_SUCCESS;
}

/* Serialise the live identity into a staged copy of the persistent state. */
static uint32_t stage_identity(struct mc_psp *psp, struct psp_snp_nv *n, struct mc_error *err)
{
    uint8_t *blob;
    size_t len;
    mc_status ss = mc_snp_identity_serialize(psp->snp.id, &blob, &len, err);
    if (ss != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s the SNP identity",
                        ss == MC_E_NOMEM ? "out of memory serialising" : "cannot serialise");
    if (n->ident) {
        mc_wipe(n->ident, n->ident_len);
        free(n->ident);
    }
    n->ident = blob;
    n->ident_len = (uint32_t)len;
    return MC_FW_SUCCESS;
}

uint32_t psp_snp_identity(struct mc_psp *psp, struct mc_snp_identity **out, struct mc_error *err)
{
    if (psp->snp.id) {
        *out = psp->snp.id;
        return MC_FW_SUCCESS;
    }
    struct mc_snp_identity *id = NULL;
    if (psp->snp.nv.ident_len) {
        mc_status ds = mc_snp_identity_deserialize(psp->snp.nv.ident, psp->snp.nv.ident_len, &id, err);
        if (ds == MC_E_NOMEM)
            return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory loading the stored SNP identity");
        if (ds != MC_OK)
            return psp_fail(err, MC_FW_SECURE_DATA_INVALID, "the stored SNP identity is invalid");
        psp->snp.id = id;
        *out = id;
        return MC_FW_SUCCESS;
    }
    /* First use: CHIP_ID is GET_ID's value, as on AMD's chips (Turin reports its first 8 bytes). */
    uint8_t chip_id[MC_SNP_CHIP_ID_LEN];
    uint32_t st = psp_id_get_id(psp, chip_id, err);
    if (st)
        return st;
    if (psp->cfg.snp_gen == MC_SNP_GEN_TURIN)
        memset(chip_id + 8, 0, sizeof chip_id - 8);
    struct mc_snp_identity_params p = {.gen = (enum mc_snp_gen)psp->cfg.snp_gen,
                                       .chip_secret = psp->nv.chip_secret,
                                       .chip_id = chip_id,
                                       .root_bits = psp->cfg.root_bits};
    mc_status cs = mc_snp_identity_create(&p, &id, err);
    if (cs != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s the SNP identity",
                        cs == MC_E_NOMEM ? "out of memory creating" : "cannot create");
    psp->snp.id = id;
    struct psp_snp_nv n;
    st = nv_stage(psp, &n, err);
    if (!st)
        st = stage_identity(psp, &n, err);
    if (!st)
        st = psp_snp_nv_commit(psp, &n, err);
    if (st) {
        psp_snp_nv_clear(&n);
        mc_snp_identity_destroy(id);
        psp->snp.id = NULL;
        return st;
    }
    *out = id;
    return MC_FW_SUCCESS;
}

struct mc_snp_identity *mc_psp_snp_identity(struct mc_psp *psp, struct mc_error *err)
{
    if (!psp || !psp->cfg.snp) {
        mc_seterr(err, MC_E_UNSUPPORTED, "this firmware has no SEV-SNP");
        return NULL;
    }
    struct mc_snp_identity *id = NULL;
    if (psp_snp_identity(psp, &id, err) != MC_FW_SUCCESS)
        return NULL;
    return id;
}

/* ---- SNP_INIT / SNP_INIT_EX ---------------------------------------------------------------- */

/* One RANGE_LIST read from host memory: the ranges to make HV-Fixed. */
struct range_list {
    uint32_t n;
    uint64_t base[MC_SNP_RANGE_LIST_MAX], end[MC_SNP_RANGE_LIST_MAX]; /* [base, end) */
};

static uint32_t read_range_list(struct mc_psp *psp, uint64_t raw, uint64_t base_mbz, struct range_list *l,
                                struct mc_error *err)
{
    uint64_t pa = psp_snp_pa(psp, raw);
    enum mc_psp_dom dom;
    uint64_t chk;
    uint32_t st = psp_host_addr(psp, raw, MC_SNP_PAGE - (pa & 0xFFF), &dom, &chk, err);
    if (st)
        return st;
    uint8_t page[MC_SNP_PAGE];
    size_t avail = MC_SNP_PAGE - (pa & 0xFFF);
    if ((st = psp_host_read(psp, raw, page, avail, err)) != MC_FW_SUCCESS)
        return st;
    if (avail < sizeof(struct mc_snp_range_list))
        return psp_fail(err, MC_FW_INVALID_PARAM, "the range list at 0x%llx does not fit its page",
                        (unsigned long long)pa);
    uint32_t n = mc_le32(page + F(mc_snp_range_list, n));
    if (mc_le32(page + F(mc_snp_range_list, rsvd)) || n > MC_SNP_RANGE_LIST_MAX ||
        sizeof(struct mc_snp_range_list) + (size_t)n * sizeof(struct mc_snp_range) > avail)
        return psp_fail(err, MC_FW_INVALID_PARAM,
                        "the range list at 0x%llx is invalid (%u entries, at most %u, in one page; reserved 0)",
                        (unsigned long long)pa, n, MC_SNP_RANGE_LIST_MAX);
    l->n = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *r = page + sizeof(struct mc_snp_range_list) + i * sizeof(struct mc_snp_range);
        uint64_t base = psp_snp_pa(psp, mc_le64(r + F(mc_snp_range, base)));
        uint32_t count = mc_le32(r + F(mc_snp_range, page_count));
        if (mc_le32(r + F(mc_snp_range, rsvd)) || (base & base_mbz))
            return psp_fail(err, MC_FW_INVALID_PARAM, "range %u (base 0x%llx) has reserved bits set or is misaligned",
                            i, (unsigned long long)base);
        if (base + (uint64_t)count * MC_SNP_PAGE < base)
            return psp_fail(err, MC_FW_INVALID_PARAM, "range %u wraps around the address space", i);
        l->base[i] = base;
        l->end[i] = base + (uint64_t)count * MC_SNP_PAGE;
    }
    return MC_FW_SUCCESS;
}

/* The RMP as SNP_INIT leaves it: the RMP unit's table set-up (the RMP's own pages Firmware, every
 * other page as the host zeroed it: Hypervisor), then the listed ranges HV-Fixed. A listed page the
 * RMP does not cover or that is not Hypervisor fails the command. */
static uint32_t configure_rmp(struct mc_psp *psp, const struct range_list *list, struct mc_error *err)
{
    struct mc_rmp *r = psp->mem.rmp;
    enum mc_rmp_fw_status rs = mc_rmp_fw_init_table(r);
    if (rs == MC_RMP_FW_NO_MEMORY)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory setting up the RMP");
    if (rs != MC_RMP_FW_OK)
        return psp_fail(err, MC_FW_RMP_INITIALIZATION_FAILED, "the RMP unit could not set up the table");
    for (uint32_t i = 0; list && i < list->n; i++)
        for (uint64_t p = list->base[i]; p < list->end[i]; p += MC_SNP_PAGE) {
            enum mc_rmp_page_state ps;
            enum mc_rmp_fw_status s = mc_rmp_fw_make_hv_fixed(r, p, true, &ps);
            if (s == MC_RMP_FW_BAD_STATE && ps == MC_RMP_PS_HV_FIXED)
                continue; /* listed twice */
            if (s)
                return psp_fail(err, MC_FW_RMP_INITIALIZATION_FAILED,
                                "the listed page 0x%llx cannot be made HV-Fixed (%s, %s)", (unsigned long long)p,
                                mc_rmp_fw_status_name(s), mc_rmp_page_state_name(ps));
        }
    return MC_FW_SUCCESS;
}

static uint32_t snp_init(struct mc_psp *psp, const uint8_t *buf, struct mc_error *err)
{
    const char *name = buf ? "SNP_INIT_EX" : "SNP_INIT";
    uint32_t flags = 0;
    uint64_t list_raw = 0;
    if (buf) {
        flags = mc_le32(buf + F(mc_snp_init_ex, flags));
        list_raw = mc_le64(buf + F(mc_snp_init_ex, list_paddr));
        bool rsvd = mc_le32(buf + F(mc_snp_init_ex, rsvd)) || mc_le16(buf + F(mc_snp_init_ex, max_snp_asid));
        for (size_t i = 0; i < sizeof(((struct mc_snp_init_ex *)0)->rsvd2); i++)
            rsvd |= buf[F(mc_snp_init_ex, rsvd2) + i] != 0;
        /* Bits 2.. (RAPL_DIS, CIPHERTEXT_HIDING_EN, TIO_EN) belong to ABIs after 1.55. */
        if (rsvd || (flags & ~(MC_SNP_INIT_EX_INIT_RMP | MC_SNP_INIT_EX_LIST_PADDR_EN)))
            return psp_fail(err, MC_FW_INVALID_PARAM, "%s: reserved fields or flags 0x%x are not zero", name, flags);
    }
    if (psp->snp.state != MC_SNP_PSTATE_UNINIT || psp->pstate != MC_SEV_PSTATE_UNINIT)
        return psp_fail(err, MC_FW_INVALID_PLATFORM_STATE,
                        "%s needs SNP and SEV both UNINIT (SNP %s, SEV %s): initialise SNP first to run both", name,
                        mc_snp_pstate_name(psp->snp.state), mc_sev_pstate_name(psp->pstate));
    bool initialize = true;
    if (buf && !(flags & MC_SNP_INIT_EX_INIT_RMP)) {
        if (!psp->snp.rmp_init)
            return psp_fail(err, MC_FW_RMP_INIT_REQUIRED, "%s without INIT_RMP: the RMP was never initialised", name);
        if (psp->snp.rmp_init_tcb != psp_snp_committed_tcb(psp))
            return psp_fail(err, MC_FW_RMP_INIT_REQUIRED,
                            "%s without INIT_RMP: the RMP was initialised by firmware at another TCB", name);
        initialize = false;
    }
    if ((flags & MC_SNP_INIT_EX_LIST_PADDR_EN) && !initialize)
        return psp_fail(err, MC_FW_INVALID_PARAM, "%s: LIST_PADDR_EN needs INIT_RMP", name);
    struct mc_psp_snp_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    if (!psp->mem.snp_cpu || psp->mem.snp_cpu(psp->mem.ctx, &cpu, err) != MC_OK)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "%s: the cores' SNP configuration cannot be read", name);
    uint64_t need = MC_SYSCFG_MEM_ENCRYPT_MOD_EN | MC_SYSCFG_SNP_EN | MC_SYSCFG_VMPL_EN;
    if ((cpu.syscfg & need) != need)
        return psp_fail(err, MC_FW_INVALID_CONFIG,
                        "%s: SYSCFG 0x%llx lacks MemEncryptionModEn, SNP_EN or VMPL_EN on the cores", name,
                        (unsigned long long)cpu.syscfg);
    if (!cpu.same_on_all_cores || !(cpu.syscfg & (1ull << 19)))
        return psp_fail(err, MC_FW_INVALID_CONFIG, "%s: SYSCFG differs between cores or MtrrFixDramModEn is clear",
                        name);
    if (!(cpu.hwcr & MC_HWCR_SMMLOCK))
        return psp_fail(err, MC_FW_INVALID_CONFIG, "%s: HWCR.SmmLock is clear", name);
    uint64_t base = cpu.rmp_base, end = cpu.rmp_end;
    if (end < base || end - base + 1 < MC_RMP_BOOKKEEPING + MC_RMP_ENTRY_SIZE || base >= psp->mem.dram_size ||
        end >= psp->mem.dram_size)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s: the RMP 0x%llx..0x%llx is not a range of DRAM", name,
                        (unsigned long long)base, (unsigned long long)end);
    if ((base & (MIB - 1)) || ((end - base + 1) & (MIB - 1)))
        return psp_fail(err, MC_FW_INVALID_CONFIG,
                        "%s: RMP_BASE 0x%llx must be 1 MiB aligned and the RMP a multiple of 1 MiB (ends 0x%llx)",
                        name, (unsigned long long)base, (unsigned long long)end);
    if (psp->mem.cbit_pos && ((base | end) >> psp->mem.cbit_pos) & 1)
        return psp_fail(err, MC_FW_UNSUPPORTED, "%s: RMP_BASE/RMP_END carry the C-bit", name);
    if (initialize && !cpu.vm_hsave_clear)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "%s: VM_HSAVE_PA is set on a core (a guest may have run)", name);
    struct range_list *list = NULL;
    if (flags & MC_SNP_INIT_EX_LIST_PADDR_EN) {
        list = calloc(1, sizeof *list);
        if (!list)
            return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
        uint32_t st = read_range_list(psp, list_raw, 0xFFF, list, err);
        if (st) {
            free(list);
            return st;
        }
    }
    /* Commit. The RMP is written last-but-one: a failure there is a hardware failure. */
    struct psp_snp old = psp->snp;
    psp->snp.rmp_base = base;
    psp->snp.rmp_end = end;
    psp->snp.rmp_init = true;
    uint32_t st = initialize ? configure_rmp(psp, list, err) : MC_FW_SUCCESS;
    free(list);
    if (st) {
        psp->snp.rmp_base = old.rmp_base;
        psp->snp.rmp_end = old.rmp_end;
        psp->snp.rmp_init = false; /* the table is half written: the next SNP_INIT must rewrite it */
        return st;
    }
    if (initialize)
        psp->snp.rmp_init_tcb = psp_snp_committed_tcb(psp);
    psp->snp.smt = cpu.smt;
    psp->snp.tsme = cpu.tsme;
    psp->snp.fms = cpu.fms;
    psp->snp.guest_count = 0;
    memset(psp->snp.asid_gctx, 0, (psp->cfg.max_asid + 1) * sizeof *psp->snp.asid_gctx);
    /* Every ASID is dirty on every core until WBINVD + DF_FLUSH, as after SEV's INIT. */
    memset(psp->asid_dirty + 1, 1, psp->cfg.max_asid);
    memset(psp->asid_owner, 0, (psp->cfg.max_asid + 1) * sizeof *psp->asid_owner);
    psp->wbinvd_needed = all_cores(psp);
    if (psp->trace)
        psp->trace(psp->trace_ctx, "snp", 0, psp->snp.state, MC_SNP_PSTATE_INIT);
    psp->snp.state = MC_SNP_PSTATE_INIT;
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_snp_init)
{
    (void)buf;
    (void)g;
    return snp_init(psp, NULL, err);
}

PSP_HANDLER(psp_cmd_snp_init_ex)
{
    (void)g;
    return snp_init(psp, buf, err);
}

/* ---- SNP_SHUTDOWN / SNP_SHUTDOWN_EX -------------------------------------------------------- */

static uint32_t snp_shutdown(struct mc_psp *psp, const uint8_t *buf, struct mc_error *err)
{
    const char *name = buf ? "SNP_SHUTDOWN_EX" : "SNP_SHUTDOWN";
    if (psp->pstate != MC_SEV_PSTATE_UNINIT)
        return psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "%s: SEV is %s; shut SEV down first", name,
                        mc_sev_pstate_name(psp->pstate));
    if (psp->snp.state == MC_SNP_PSTATE_UNINIT)
        return MC_FW_SUCCESS; /* nothing to do, as AMD's firmware */
    for (uint32_t a = 1; a <= psp->cfg.max_asid; a++)
        if (psp->asid_dirty[a] || psp->asid_owner[a])
            return psp_fail(err, MC_FW_DF_FLUSH_REQUIRED,
                            "%s: ASID %u is %s; every ASID must be clean (decommission, WBINVD, DF_FLUSH)", name, a,
                            psp->asid_owner[a] ? "in use" : "dirty");
    uint32_t flags = 0;
    if (buf) {
        flags = mc_le32(buf + F(mc_snp_shutdown_ex, flags));
        if (mc_le32(buf + F(mc_snp_shutdown_ex, length)) != sizeof(struct mc_snp_shutdown_ex))
            return psp_fail(err, MC_FW_INVALID_PARAM, "%s: length must be 8", name);
        if (flags & ~(MC_SNP_SHUTDOWN_IOMMU | MC_SNP_SHUTDOWN_X86))
            return psp_fail(err, MC_FW_INVALID_PARAM, "%s: reserved flag bits 0x%x", name, flags);
        /* X86_SNP_SHUTDOWN needs the SMU's MSR service, which this platform does not model
         * (SNP_FEATURE_INFO says so): refused as AMD's firmware refuses it without one. */
        if (flags & MC_SNP_SHUTDOWN_X86)
            return psp_fail(err, MC_FW_INVALID_PARAM, "%s: X86_SNP_SHUTDOWN is not supported by this platform", name);
    }
    /* SNP_SHUTDOWN wipes the VLEK (persisted: other users of the chip see it gone). */
    if (psp->snp.nv.vlek) {
        struct mc_snp_identity *id;
        struct psp_snp_nv n;
        uint32_t st = psp_snp_identity(psp, &id, err);
        if (st)
            return st;
        mc_snp_identity_vlek_clear(id);
        st = nv_stage(psp, &n, err);
        if (!st)
            st = stage_identity(psp, &n, err);
        n.vlek = false;
        if (!st)
            st = psp_snp_nv_commit(psp, &n, err);
        if (st) {
            psp_snp_nv_clear(&n);
            mc_snp_identity_destroy(psp->snp.id); /* back to the committed identity, VLEK included */
            psp->snp.id = NULL;
            return st;
        }
    }
    if (flags & MC_SNP_SHUTDOWN_IOMMU)
        psp->snp.rmp_init = false; /* the next SNP_INIT must initialise the RMP again */
    psp->snp.guest_count = 0;
    memset(psp->snp.asid_gctx, 0, (psp->cfg.max_asid + 1) * sizeof *psp->snp.asid_gctx);
    if (psp->trace)
        psp->trace(psp->trace_ctx, "snp", 0, psp->snp.state, MC_SNP_PSTATE_UNINIT);
    psp->snp.state = MC_SNP_PSTATE_UNINIT;
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_snp_shutdown)
{
    (void)buf;
    (void)g;
    return snp_shutdown(psp, NULL, err);
}

PSP_HANDLER(psp_cmd_snp_shutdown_ex)
{
    (void)g;
    return snp_shutdown(psp, buf, err);
}

/* ---- SNP_PLATFORM_STATUS ------------------------------------------------------------------- */

/* An output of n bytes at raw that must not cross a page (INVALID_PARAM), lie in DRAM
 * (INVALID_ADDRESS) and, with SNP initialised, be a Firmware or DEFAULT page (INVALID_PAGE_STATE). */
static uint32_t out_page(struct mc_psp *psp, uint64_t raw, size_t n, bool check_cross, const char *what,
                         struct mc_error *err)
{
    uint64_t pa = psp_snp_pa(psp, raw);
    if (check_cross && (pa & 0xFFF) + n > MC_SNP_PAGE)
        return psp_fail(err, MC_FW_INVALID_PARAM, "%s: the 0x%zx-byte output at 0x%llx crosses a page", what, n,
                        (unsigned long long)pa);
    enum mc_psp_dom dom;
    uint64_t chk;
    uint32_t st = psp_host_addr(psp, raw, n, &dom, &chk, err);
    if (!st && psp->snp.state != MC_SNP_PSTATE_UNINIT)
        st = psp_rmp_fw_writable(psp, raw, n, what, err);
    return st;
}

PSP_HANDLER(psp_cmd_snp_platform_status)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_paddr, paddr));
    uint32_t st = out_page(psp, raw, sizeof(struct mc_snp_platform_status), true, "SNP_PLATFORM_STATUS", err);
    if (st)
        return st;
    uint8_t o[sizeof(struct mc_snp_platform_status)] = {0};
    o[F(mc_snp_platform_status, api_major)] = psp->cfg.api_major;
    o[F(mc_snp_platform_status, api_minor)] = psp->cfg.api_minor;
    o[F(mc_snp_platform_status, state)] = (uint8_t)psp->snp.state;
    o[F(mc_snp_platform_status, rmp_init)] = psp->snp.rmp_init ? MC_SNP_PS_RMP_INIT : 0;
    mc_put_le32(o + F(mc_snp_platform_status, build), psp->cfg.build);
    uint32_t flags = MC_SNP_PS_FEATURE_INFO;
    if (psp->snp.nv.config_flags & MC_SNP_CONFIG_MASK_CHIP_ID)
        flags |= MC_SNP_PS_MASK_CHIP_ID;
    if (psp->snp.nv.config_flags & MC_SNP_CONFIG_MASK_CHIP_KEY)
        flags |= MC_SNP_PS_MASK_CHIP_KEY;
    if (psp->snp.nv.vlek)
        flags |= MC_SNP_PS_VLEK_EN;
    mc_put_le32(o + F(mc_snp_platform_status, flags), flags);
    mc_put_le32(o + F(mc_snp_platform_status, guest_count), psp->snp.guest_count);
    mc_put_le64(o + F(mc_snp_platform_status, current_tcb), psp_snp_current_tcb(psp));
    mc_put_le64(o + F(mc_snp_platform_status, reported_tcb), psp_snp_reported_tcb(psp));
    return psp_host_write(psp, raw, o, sizeof o, err);
}

/* ---- SNP_CONFIG / SNP_COMMIT ---------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_config)
{
    (void)g;
    uint64_t tcb = mc_le64(buf + F(mc_snp_config, reported_tcb));
    uint32_t flags = mc_le32(buf + F(mc_snp_config, flags));
    bool rsvd = (flags & ~(MC_SNP_CONFIG_MASK_CHIP_ID | MC_SNP_CONFIG_MASK_CHIP_KEY)) != 0;
    for (size_t i = 0; i < sizeof(((struct mc_snp_config *)0)->rsvd); i++)
        rsvd |= buf[F(mc_snp_config, rsvd) + i] != 0;
    if (rsvd)
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_CONFIG: reserved bits or bytes are not zero");
    uint64_t committed = psp_snp_committed_tcb(psp);
    /* REPORTED_TCB may not exceed the committed TCB in any byte (reserved bytes included). */
    for (int i = 0; tcb && i < 8; i++)
        if (((tcb >> (8 * i)) & 0xFF) > ((committed >> (8 * i)) & 0xFF))
            return psp_fail(err, MC_FW_INVALID_PARAM,
                            "SNP_CONFIG: REPORTED_TCB 0x%016llx exceeds the committed TCB 0x%016llx in byte %d",
                            (unsigned long long)tcb, (unsigned long long)committed, i);
    struct psp_snp_nv n;
    uint32_t st = nv_stage(psp, &n, err);
    if (st)
        return st;
    n.config_tcb = tcb;
    n.config_flags = flags;
    return psp_snp_nv_commit(psp, &n, err);
}

PSP_HANDLER(psp_cmd_snp_commit)
{
    (void)g;
    if (mc_le32(buf + F(mc_snp_commit, length)) != sizeof(struct mc_snp_commit))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_COMMIT: length must be 4");
    struct psp_snp_nv n;
    uint32_t st = nv_stage(psp, &n, err);
    if (st)
        return st;
    n.committed_set = true;
    n.committed_tcb = psp_snp_current_tcb(psp);
    n.committed_ver[0] = psp->cfg.api_major;
    n.committed_ver[1] = psp->cfg.api_minor;
    n.committed_ver[2] = psp->cfg.build;
    n.config_tcb = 0; /* a commit flushes SNP_CONFIG's TCB, as AMD's firmware does */
    return psp_snp_nv_commit(psp, &n, err);
}

/* ---- SNP_VLEK_LOAD ------------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_vlek_load)
{
    (void)g;
    uint64_t raw;
    mc_fw_status fw;
    mc_snp_vlek_load_cmd(buf, &raw, &fw);
    if (fw != MC_FW_SUCCESS)
        return psp_fail(err, fw, "SNP_VLEK_LOAD: length must be 0x10, version 0, reserved bytes zero");
    uint8_t wrapped[MC_SNP_VLEK_WRAPPED_LEN];
    uint32_t st = psp_host_read(psp, raw, wrapped, sizeof wrapped, err);
    if (st)
        return st;
    struct mc_snp_identity *id;
    if ((st = psp_snp_identity(psp, &id, err)) != MC_FW_SUCCESS)
        return st;
    struct mc_error e2 = {0};
    if (mc_snp_identity_vlek_load(id, wrapped, sizeof wrapped, psp_snp_reported_tcb(psp), &fw, &e2) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_VLEK_LOAD: %s", e2.msg);
    if (fw != MC_FW_SUCCESS)
        return psp_fail(err, fw, "SNP_VLEK_LOAD: %s", e2.msg[0] ? e2.msg : "the wrapped VLEK was refused");
    struct psp_snp_nv n;
    st = nv_stage(psp, &n, err);
    if (!st)
        st = stage_identity(psp, &n, err);
    n.vlek = true;
    if (!st)
        st = psp_snp_nv_commit(psp, &n, err);
    if (st) {
        psp_snp_nv_clear(&n);
        mc_snp_identity_destroy(psp->snp.id); /* drop the unpersisted VLEK */
        psp->snp.id = NULL;
    }
    return st;
}

/* ---- SNP_FEATURE_INFO ---------------------------------------------------------------------- */

/* Guest messages this firmware answers (sub-function 1 EAX, bit = MSG_*_REQ number / 2): CPUID,
 * KEY, REPORT and TSC_INFO; the migration messages are not implemented. */
#define FI1_EAX ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 8))

PSP_HANDLER(psp_cmd_snp_feature_info)
{
    (void)g;
    if (mc_le32(buf + F(mc_snp_feature_info_cmd, length)) != sizeof(struct mc_snp_feature_info_cmd))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_FEATURE_INFO: length must be 0x10");
    uint64_t raw = mc_le64(buf + F(mc_snp_feature_info_cmd, out_paddr));
    uint64_t pa = psp_snp_pa(psp, raw);
    if ((pa & 3) || MC_SNP_PAGE - (pa & 0xFFF) < sizeof(struct mc_snp_feature_info))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_FEATURE_INFO: output 0x%llx is not 4-byte aligned or crosses a page",
                        (unsigned long long)pa);
    uint32_t st = out_page(psp, raw, sizeof(struct mc_snp_feature_info), false, "SNP_FEATURE_INFO", err);
    if (st)
        return st;
    uint8_t o[sizeof(struct mc_snp_feature_info)] = {0};
    switch (mc_le32(buf + F(mc_snp_feature_info_cmd, ecx_in))) {
    case 0:
        mc_put_le32(o + F(mc_snp_feature_info, eax), 1); /* highest sub-function */
        mc_put_le32(o + F(mc_snp_feature_info, ebx), MC_SNP_FI0_EBX_SEV_LEGACY);
        mc_put_le32(o + F(mc_snp_feature_info, ecx), MC_SNP_FI0_ECX_VLEK); /* no X86_SNP_SHUTDOWN */
        break;
    case 1:
        mc_put_le32(o + F(mc_snp_feature_info, eax), FI1_EAX);
        break;
    default:
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_FEATURE_INFO: sub-function %u does not exist (0 and 1 do)",
                        mc_le32(buf + F(mc_snp_feature_info_cmd, ecx_in)));
    }
    return psp_host_write(psp, raw, o, sizeof o, err);
}
