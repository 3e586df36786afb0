/* The emulated AMD Secure Processor: mailbox, the one dispatch table, the one command path,
 * platform/guest state setters, host address checks, MMIO view and state snapshots. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_identity.h>

#include "fw/psp_cmds.h"
#include "crypto/chan.h"
#include "fw/psp_int.h"
#include "fw/psp_rmp.h"
#include "fw/psp_snp.h"

/* ---- the dispatch table, generated from the command list (psp_cmds.h) ----------------------- */

#define PSP_CMD_BUF_MAX 0x80u /* the firmware's copy of a command buffer */

struct psp_cmd_desc {
    uint32_t id;
    const char *name;
    uint32_t buf_len;  /* 0 = no command buffer */
    int handle_off;    /* -1: the dispatcher does not look up a guest */
    uint8_t pstates;   /* allowed platform states (P_*) */
    uint8_t gstates;   /* allowed guest states when handle_off >= 0 */
    uint8_t copy;      /* enum copy_class */
    uint32_t min_api;  /* (major << 8) | minor; older firmware answers INVALID_COMMAND */
    bool writes_nv;    /* may rewrite the persistent state */
    uint8_t snp;       /* 0: legacy SEV; else the SNP platform states allowed (S_*) */
    psp_handler_fn fn;
};

#define PSP_DESC_(name, handler, buf, guest, ps, gs, cb, api, nv, snp) \
    {MC_SEV_CMD_##name, #name, buf, guest, ps, gs, cb, api, nv, snp, psp_cmd_##handler},
static const struct psp_cmd_desc psp_cmds[] = {PSP_COMMANDS(PSP_DESC_)};
#undef PSP_DESC_

#define PSP_FITS_(name, handler, buf, ...) \
    _Static_assert((buf) <= PSP_CMD_BUF_MAX, #name ": the command buffer fits the firmware's copy");
PSP_COMMANDS(PSP_FITS_)
#undef PSP_FITS_

#define PSP_NCMDS (sizeof psp_cmds / sizeof psp_cmds[0])

static const struct psp_cmd_desc *psp_find(uint32_t id)
{
    for (size_t i = 0; i < PSP_NCMDS; i++)
        if (psp_cmds[i].id == id)
            return &psp_cmds[i];
    return NULL;
}

/* Names of every command ID the spec defines (also the ones this firmware refuses). */
const char *mc_sev_cmd_name(uint32_t cmd)
{
    switch (cmd) {
#define PSP_NAME_(name, id) \
    case id: return #name;
        MC_SEV_COMMANDS(PSP_NAME_)
#undef PSP_NAME_
    }
    return "UNKNOWN";
}

uint32_t psp_snp_pstate_check(struct mc_psp *psp, uint32_t cmd, struct mc_error *err)
{
    const struct psp_cmd_desc *d = psp_find(cmd);
    if (d && (d->snp & (1u << psp->snp.state)))
        return MC_FW_SUCCESS;
    return psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "%s is not allowed while SNP is %s", mc_sev_cmd_name(cmd),
                    mc_snp_pstate_name(psp->snp.state));
}

const char *mc_snp_pstate_name(uint32_t s)
{
    static const char *const n[] = {"UNINIT", "INIT"};
    return s < 2 ? n[s] : "UNKNOWN";
}

const char *mc_snp_gstate_name(uint32_t s)
{
    static const char *const n[] = {"INIT", "LAUNCH", "RUNNING"};
    return s < 3 ? n[s] : "UNKNOWN";
}

const char *mc_sev_pstate_name(uint32_t s)
{
    static const char *const n[] = {"UNINIT", "INIT", "WORKING"};
    return s < 3 ? n[s] : "UNKNOWN";
}

const char *mc_sev_gstate_name(uint32_t s)
{
    static const char *const n[] = {"UNINIT", "LUPDATE", "LSECRET", "RUNNING", "SUPDATE", "RUPDATE", "SENT"};
    return s < 7 ? n[s] : "UNKNOWN";
}

/* ---- helpers ----------------------------------------------------------------------------- */

uint32_t psp_fail(struct mc_error *err, uint32_t fw, const char *fmt, ...)
{
    if (err) {
        char msg[MC_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mc_seterr_fw(err, fw, "%s (%s)", msg, mc_fw_status_name(fw));
    }
    return fw;
}

void psp_set_pstate(struct mc_psp *psp, uint32_t to)
{
    if (psp->pstate == to)
        return;
    if (psp->trace)
        psp->trace(psp->trace_ctx, "platform", 0, psp->pstate, to);
    psp->pstate = to;
}

void psp_set_gstate(struct mc_psp *psp, struct psp_guest *g, uint32_t to)
{
    if (g->state == to)
        return;
    if (psp->trace)
        psp->trace(psp->trace_ctx, "guest", g->handle, g->state, to);
    g->state = to;
}

struct psp_guest *psp_guest_get(struct mc_psp *psp, uint32_t handle)
{
    if (handle == 0 || handle > psp->cfg.max_guests)
        return NULL;
    return psp->guests[handle];
}

uint32_t psp_out_buffer(struct mc_psp *psp, uint8_t *buf, size_t paddr_off, size_t len_off, uint32_t need,
                        const char *cmd, uint64_t *raw, struct mc_error *err)
{
    uint64_t a = mc_le64(buf + paddr_off);
    uint32_t len = mc_le32(buf + len_off);
    mc_put_le32(buf + len_off, need);
    if (len < need)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s needs 0x%x bytes, got 0x%x", cmd, need, len);
    enum mc_psp_dom dom;
    uint64_t pa;
    uint32_t st = psp_host_addr(psp, a, need, &dom, &pa, err);
    if (!st) /* with SNP initialised the firmware writes only Firmware pages (SNP ABI) */
        st = psp_rmp_fw_writable(psp, a, need, cmd, err);
    if (!st)
        *raw = a;
    return st;
}

uint32_t psp_host_addr(const struct mc_psp *psp, uint64_t raw, uint64_t len, enum mc_psp_dom *dom, uint64_t *pa,
                       struct mc_error *err)
{
    uint64_t a = raw;
    *dom = MC_PSP_DOM_SHARED;
    if (psp->mem.cbit_pos && (a >> psp->mem.cbit_pos) & 1) {
        a &= ~(1ull << psp->mem.cbit_pos);
        *dom = MC_PSP_DOM_HOST;
    }
    if (a >= psp->mem.dram_size || len > psp->mem.dram_size - a)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "address 0x%llx + 0x%llx lies outside DRAM (0x%llx bytes)",
                        (unsigned long long)raw, (unsigned long long)len, (unsigned long long)psp->mem.dram_size);
    *pa = a;
    return MC_FW_SUCCESS;
}

uint32_t psp_host_read(struct mc_psp *psp, uint64_t raw, void *buf, size_t len, struct mc_error *err)
{
    enum mc_psp_dom dom;
    uint64_t pa = 0; /* set whenever psp_host_addr succeeds (gcc cannot always see that) */
    uint32_t st = psp_host_addr(psp, raw, len, &dom, &pa, err);
    if (st)
        return st;
    if (len && psp->mem.read(psp->mem.ctx, dom, 0, pa, buf, len, err) != MC_OK)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "cannot read 0x%zx bytes at 0x%llx", len, (unsigned long long)raw);
    return MC_FW_SUCCESS;
}

uint32_t psp_host_write(struct mc_psp *psp, uint64_t raw, const void *buf, size_t len, struct mc_error *err)
{
    enum mc_psp_dom dom;
    uint64_t pa = 0; /* set whenever psp_host_addr succeeds (gcc cannot always see that) */
    uint32_t st = psp_host_addr(psp, raw, len, &dom, &pa, err);
    if (st)
        return st;
    if (len && psp->mem.write(psp->mem.ctx, dom, 0, pa, buf, len, err) != MC_OK)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "cannot write 0x%zx bytes at 0x%llx", len,
                        (unsigned long long)raw);
    return MC_FW_SUCCESS;
}

/* ---- create / destroy -------------------------------------------------------------------- */

mc_status mc_psp_create(const struct mc_psp_config *cfg, const struct mc_psp_mem *mem, struct mc_rng *rng,
                        struct mc_psp **out, struct mc_error *err)
{
    if (!cfg || !mem || !rng || !out || !cfg->platform || !mem->read || !mem->write || !mem->bind_key ||
        !mem->unbind_key)
        return mc_seterr(err, MC_E_INVAL, "mc_psp_create needs a configuration, a memory port and an RNG");
    if (strlen(cfg->platform) == 0 || strlen(cfg->platform) >= PSP_PLATFORM_NAME_LEN)
        return mc_seterr(err, MC_E_INVAL, "platform name must be 1..%d characters", PSP_PLATFORM_NAME_LEN - 1);
    if (cfg->max_asid == 0 || cfg->max_asid > 0xFFFFu || cfg->min_sev_asid == 0 || cfg->min_sev_asid > cfg->max_asid + 1)
        return mc_seterr(err, MC_E_INVAL, "ASID range is invalid (max_asid %u, min_sev_asid %u)", cfg->max_asid,
                         cfg->min_sev_asid);
    if (cfg->num_cores == 0 || cfg->num_cores > MC_PSP_MAX_CORES)
        return mc_seterr(err, MC_E_INVAL, "num_cores must be 1..%u", MC_PSP_MAX_CORES);
    if (cfg->max_guests > MC_PSP_MAX_GUESTS)
        return mc_seterr(err, MC_E_INVAL, "max_guests must be at most %u", MC_PSP_MAX_GUESTS);
    if (cfg->root_bits != 0 && cfg->root_bits != 2048 && cfg->root_bits != 4096)
        return mc_seterr(err, MC_E_INVAL, "root_bits must be 2048 or 4096 (AMD's ARK/ASK sizes)");
    if (mem->dram_size == 0 || mem->cbit_pos > 63)
        return mc_seterr(err, MC_E_INVAL, "memory port needs a DRAM size and a C-bit position below 64");
    if (cfg->snp && (cfg->snp_gen < 1 || cfg->snp_gen > 3 || !mem->snp_cpu || !mem->rmp))
        return mc_seterr(err, MC_E_INVAL, "SEV-SNP needs a processor generation (Milan, Genoa, Turin) and the "
                         "memory port's CPU-state callback and RMP unit");

    struct mc_psp *psp = calloc(1, sizeof *psp);
    if (!psp)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the firmware");
    psp->state_lock = -1;
    psp->cfg = *cfg;
    if (psp->cfg.max_guests == 0)
        psp->cfg.max_guests = MC_PSP_MAX_GUESTS;
    snprintf(psp->platform, sizeof psp->platform, "%s", cfg->platform);
    psp->cfg.platform = psp->platform;
    psp->mem = *mem;
    psp->rng = rng;
    psp->guests = calloc(psp->cfg.max_guests + 1, sizeof *psp->guests);
    psp->asid_owner = calloc(cfg->max_asid + 1, sizeof *psp->asid_owner);
    psp->asid_dirty = calloc(cfg->max_asid + 1, 1);
    psp->snp.asid_gctx = calloc(cfg->max_asid + 1, sizeof *psp->snp.asid_gctx);
    if (!psp->guests || !psp->asid_owner || !psp->asid_dirty || !psp->snp.asid_gctx) {
        mc_psp_destroy(psp);
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the firmware tables");
    }
    mc_status s = (psp->snap = calloc(1, sizeof *psp->snap)) ? mc_hashctx_create("SHA256", &psp->snap->md, err)
                                                            : mc_seterr(err, MC_E_NOMEM, "out of memory");
    if (psp->snap)
        psp->snap->ident_len = UINT32_MAX; /* nothing cached */
    if (s != MC_OK) {
        mc_psp_destroy(psp);
        return s;
    }
    /* The key that seals SNP guest contexts: this firmware instance's (a boot's), as AMD's
     * firmware maps context pages through its own inline AES key. */
    if ((s = mc_rng_bytes(rng, psp->snp.gctx_key, sizeof psp->snp.gctx_key, err)) != MC_OK) {
        mc_psp_destroy(psp);
        return s;
    }
    if (cfg->state_path && (s = mc_file_resolve(cfg->state_path, &psp->state_path, err)) != MC_OK) {
        mc_psp_destroy(psp);
        return s;
    }
    psp->cfg.state_path = psp->state_path;
    if (psp->state_path)
        s = psp_nv_open(psp, cfg->state_wait_ms, err);
    else
        s = mc_rng_bytes(rng, psp->nv.chip_secret, sizeof psp->nv.chip_secret, err);
    if (s != MC_OK) {
        mc_psp_destroy(psp);
        return s;
    }
    *out = psp;
    return MC_OK;
}

void psp_guest_free(struct psp_guest *g)
{
    if (!g)
        return;
    mc_hashctx_destroy(g->ld_ctx);
    mc_chan_destroy(g->chan);
    mc_wipe(g, sizeof *g);
    free(g);
}

void mc_psp_destroy(struct mc_psp *psp)
{
    if (!psp)
        return;
    if (psp->guests)
        for (uint32_t h = 1; h <= psp->cfg.max_guests; h++)
            psp_guest_free(psp->guests[h]);
    free(psp->guests);
    free(psp->asid_owner);
    free(psp->asid_dirty);
    free(psp->snp.asid_gctx);
    free(psp->snp.lu_buf); /* wiped after each use */
    mc_snp_identity_destroy(psp->snp.id);
    psp_snp_nv_clear(&psp->snp.nv);
    free(psp->state_path);
    mc_file_unlock(psp->state_lock);
    if (psp->snap) {
        mc_hashctx_destroy(psp->snap->md);
        mc_wipe(psp->snap, sizeof *psp->snap);
        free(psp->snap);
    }
    mc_sev_identity_destroy(psp->id);
    mc_wipe(psp, sizeof *psp);
    free(psp);
}

/* ---- the one command path ---------------------------------------------------------------- */

mc_status mc_psp_command(struct mc_psp *psp, uint32_t cmd, uint64_t buf_paddr, uint32_t *fw_status,
                         struct mc_error *err)
{
    if (!psp || !fw_status)
        return mc_seterr(err, MC_E_INVAL, "mc_psp_command needs a firmware and a status pointer");
    mc_clearerr(err);
    const struct psp_cmd_desc *d = psp_find(cmd);
    uint32_t api = ((uint32_t)psp->cfg.api_major << 8) | psp->cfg.api_minor;
    if (!d || api < d->min_api || (d->snp && !psp->cfg.snp)) {
        *fw_status = psp_fail(err, MC_FW_INVALID_COMMAND, "command 0x%03x (%s) is not implemented by this firmware",
                              cmd, mc_sev_cmd_name(cmd));
        return MC_OK;
    }
    if (!(d->pstates & (1u << psp->pstate))) {
        *fw_status = psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "%s is not allowed while the platform is %s", d->name,
                              mc_sev_pstate_name(psp->pstate));
        return MC_OK;
    }
    /* A command that writes its buffer back writes only a Firmware page once SNP is initialised;
     * afterwards the page is Reclaim whatever happened (AMD's dispatcher). */
    bool snp_cmdbuf = d->copy != CB_NONE && psp->snp.rmp_init;
    if (snp_cmdbuf && psp->snp.state == MC_SNP_PSTATE_INIT) {
        enum mc_psp_dom dom;
        uint64_t pa;
        uint32_t s0 = psp_host_addr(psp, buf_paddr, d->buf_len, &dom, &pa, err);
        if (!s0)
            s0 = psp_rmp_fw_writable(psp, buf_paddr, d->buf_len, d->name, err);
        if (s0) {
            *fw_status = s0;
            psp_snp_cmdbuf_reclaim(psp, buf_paddr);
            return MC_OK;
        }
    }
    uint8_t buf[PSP_CMD_BUF_MAX] = {0};
    uint32_t st = MC_FW_SUCCESS;
    if (d->buf_len) {
        st = psp_host_read(psp, buf_paddr, buf, d->buf_len, err);
        if (st) {
            *fw_status = psp_fail(err, st, "%s: the command buffer at 0x%llx is not in DRAM", d->name,
                                  (unsigned long long)buf_paddr);
            return MC_OK;
        }
    }
    struct psp_guest *g = NULL;
    if (d->handle_off >= 0) {
        uint32_t h = mc_le32(buf + d->handle_off);
        g = psp_guest_get(psp, h);
        if (!g) {
            *fw_status = psp_fail(err, MC_FW_INVALID_GUEST, "%s: guest handle %u does not exist", d->name, h);
            return MC_OK;
        }
        if (!(d->gstates & (1u << g->state))) {
            *fw_status = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "%s is not allowed while guest %u is %s", d->name,
                                  h, mc_sev_gstate_name(g->state));
            return MC_OK;
        }
    }
    st = d->fn(psp, buf, g, err);
    if (d->buf_len && (d->copy == CB_OK || d->copy == CB_OK_LEN) &&
        (st == MC_FW_SUCCESS || (d->copy == CB_OK_LEN && st == MC_FW_INVALID_LENGTH))) {
        struct mc_error e2;
        if (psp_host_write(psp, buf_paddr, buf, d->buf_len, &e2) != MC_FW_SUCCESS && st == MC_FW_SUCCESS)
            st = psp_fail(err, MC_FW_INVALID_ADDRESS, "%s: cannot write the command buffer back", d->name);
    }
    if (snp_cmdbuf)
        psp_snp_cmdbuf_reclaim(psp, buf_paddr);
    if (st != MC_FW_SUCCESS && err && err->code == MC_OK)
        psp_fail(err, st, "%s failed", d->name);
    *fw_status = st;
    return MC_OK;
}

/* ---- MMIO ------------------------------------------------------------------------------- */

void mc_psp_mmio_write32(struct mc_psp *psp, uint32_t off, uint32_t val)
{
    if (!psp)
        return;
    switch (off) {
    case MC_PSP_REG_ADDR_LO: psp->reg_lo = val; break;
    case MC_PSP_REG_ADDR_HI: psp->reg_hi = val; break;
    case MC_PSP_REG_CMDRESP: {
        uint32_t cmd = (val >> 16) & 0x7FFu, st = 0;
        uint64_t pa = ((uint64_t)psp->reg_hi << 32) | psp->reg_lo;
        mc_psp_command(psp, cmd, pa, &st, NULL);
        psp->reg_cmdresp = MC_PSP_CMDRESP_RESP | (cmd << 16) | (st & 0xFFFFu);
        break;
    }
    default: break;
    }
}

uint32_t mc_psp_mmio_read32(const struct mc_psp *psp, uint32_t off)
{
    if (!psp)
        return 0;
    switch (off) {
    case MC_PSP_REG_ADDR_LO: return psp->reg_lo;
    case MC_PSP_REG_ADDR_HI: return psp->reg_hi;
    case MC_PSP_REG_CMDRESP: return psp->reg_cmdresp;
    case MC_PSP_REG_FEATURE: return 1u;
    default: return 0;
    }
}

/* ---- misc API ---------------------------------------------------------------------------- */

void mc_psp_wbinvd(struct mc_psp *psp, unsigned core)
{
    if (psp && core < psp->cfg.num_cores)
        psp->wbinvd_needed &= ~(1ull << core);
}

void mc_psp_set_trace(struct mc_psp *psp, mc_psp_trace_fn fn, void *ctx)
{
    if (psp) {
        psp->trace = fn;
        psp->trace_ctx = ctx;
    }
}

uint32_t mc_psp_platform_state(const struct mc_psp *psp) { return psp ? psp->pstate : 0; }
uint32_t mc_psp_guest_count(const struct mc_psp *psp) { return psp ? psp->guest_count : 0; }
bool mc_psp_asid_dirty(const struct mc_psp *psp, uint32_t asid)
{
    return psp && asid <= psp->cfg.max_asid && psp->asid_dirty[asid];
}

bool mc_psp_has_identity(const struct mc_psp *psp) { return psp && (psp->id || psp->nv.ident_len); }

/* The snapshot's byte stream: little-endian u64 scalars and raw arrays, gathered into a buffer
 * so that the digest sees few large updates. */
struct snap_buf {
    uint8_t b[512];
    size_t n;
};

static void snap_u64(struct snap_buf *sb, uint64_t v)
{
    mc_put_le64(sb->b + sb->n, v);
    sb->n += 8;
}

static void snap_mem(struct snap_buf *sb, const void *p, size_t len)
{
    memcpy(sb->b + sb->n, p, len);
    sb->n += len;
}

mc_status mc_psp_snapshot(const struct mc_psp *psp, uint8_t digest[32], struct mc_error *err)
{
    if (!psp || !digest)
        return mc_seterr(err, MC_E_INVAL, "mc_psp_snapshot needs a firmware and an output");
    struct psp_snap_work *w = psp->snap;
    struct mc_hashctx *d = w->md; /* starts empty: every use ends with a final */
    mc_status s = MC_OK;
    struct snap_buf sb = {.n = 0};
    snap_u64(&sb, psp->pstate);
    snap_u64(&sb, psp->es_init);
    snap_u64(&sb, psp->tmr_paddr);
    snap_u64(&sb, psp->tmr_len);
    snap_u64(&sb, psp->nv_paddr);
    snap_u64(&sb, psp->nv_in_dram);
    snap_u64(&sb, psp->guest_count);
    snap_u64(&sb, psp->wbinvd_needed);
    s |= mc_hashctx_update(d, sb.b, sb.n, err);
    s |= mc_hashctx_update(d, psp->asid_owner, (psp->cfg.max_asid + 1) * sizeof *psp->asid_owner, err);
    s |= mc_hashctx_update(d, psp->asid_dirty, psp->cfg.max_asid + 1, err);
    sb.n = 0;
    snap_mem(&sb, psp->nv.chip_secret, sizeof psp->nv.chip_secret);
    snap_u64(&sb, psp->nv.owned);
    snap_u64(&sb, psp->nv.ident_len);
    s |= mc_hashctx_update(d, sb.b, sb.n, err);
    mc_wipe(sb.b, sb.n);
    /* The identity blob (~10 KiB) rarely changes: its own digest is kept with a copy of the
     * bytes, and reused while they are equal. */
    if (w->ident_len != psp->nv.ident_len || memcmp(w->ident, psp->nv.ident, psp->nv.ident_len) != 0) {
        struct mc_hashctx *di;
        mc_status si = mc_hashctx_create("SHA256", &di, err);
        if (si == MC_OK) {
            si = mc_hashctx_update(di, psp->nv.ident, psp->nv.ident_len, err);
            if (si == MC_OK)
                si = mc_hashctx_final(di, w->ident_digest, err);
            mc_hashctx_destroy(di);
        }
        s |= si;
        memcpy(w->ident, psp->nv.ident, psp->nv.ident_len);
        w->ident_len = si == MC_OK ? psp->nv.ident_len : UINT32_MAX;
    }
    s |= mc_hashctx_update(d, w->ident_digest, sizeof w->ident_digest, err);
    for (uint32_t h = 1; h <= psp->cfg.max_guests; h++) {
        const struct psp_guest *g = psp->guests[h];
        if (!g)
            continue;
        uint8_t ld[32] = {0};
        if (g->ld_ctx)
            s |= mc_hashctx_peek(g->ld_ctx, ld, err);
        sb.n = 0;
        snap_u64(&sb, h);
        snap_u64(&sb, g->state);
        snap_u64(&sb, g->policy);
        snap_u64(&sb, g->asid);
        snap_u64(&sb, g->activation_pending);
        snap_u64(&sb, g->have_channel);
        snap_u64(&sb, g->ld_bytes);
        snap_u64(&sb, g->ld_final);
        snap_mem(&sb, g->vek, sizeof g->vek);
        snap_mem(&sb, g->tek, sizeof g->tek);
        snap_mem(&sb, g->tik, sizeof g->tik);
        snap_mem(&sb, ld, sizeof ld);
        snap_mem(&sb, g->ld, sizeof g->ld);
        snap_mem(&sb, g->measure, sizeof g->measure);
        snap_u64(&sb, g->xfer.mode);
        snap_u64(&sb, g->xfer.seq);
        snap_u64(&sb, g->xfer.final);
        snap_mem(&sb, g->xfer.rm, sizeof g->xfer.rm);
        s |= mc_hashctx_update(d, sb.b, sb.n, err);
        mc_wipe(sb.b, sb.n);
    }
    s |= psp_snp_snapshot(psp, d, err);
    uint8_t out[64];
    s |= mc_hashctx_final(d, out, err); /* also restarts the context for the next use */
    if (s == MC_OK)
        memcpy(digest, out, 32);
    return s == MC_OK ? MC_OK : mc_seterr(err, MC_E_CRYPTO, "cannot compute the firmware snapshot");
}
