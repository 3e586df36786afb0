/* SEV-SNP guest commands: SNP_GCTX_CREATE, SNP_DECOMMISSION, SNP_ACTIVATE(_EX), SNP_GUEST_STATUS,
 * SNP_LAUNCH_START, SNP_LAUNCH_UPDATE, SNP_LAUNCH_FINISH, SNP_DBG_DECRYPT, SNP_DBG_ENCRYPT.
 *
 * Every handler checks in AMD's firmware order (reserved fields, platform state, pages, guest
 * state, ...), decides everything on copies, and only then writes: guest memory, the sealed guest
 * context, the RMP entries. A failing command changes none of them — except the one the ABI asks
 * for: a CPUID page that fails its check is rewritten with the corrected values. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/idblock.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_report.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"
#include "fw/psp_cmds.h"
#include "fw/psp_snp.h"

#define F(S, f) offsetof(struct S, f)
#define PG MC_SNP_PAGE
#define PG2M MC_SNP_PAGE_2M
#define VMSA_TSC_SCALE 0x2F0u
#define VMSA_TSC_OFFSET 0x2F8u
#define VMSA_SEV_FEATURES 0x3B0u
#define SEV_FEATURES_SECURE_TSC (1ull << 9)
#define PADDR_INVALID UINT64_MAX

static uint64_t all_cores(const struct mc_psp *psp)
{
    return psp->cfg.num_cores == 64 ? ~0ull : ((1ull << psp->cfg.num_cores) - 1);
}

static const char *type_name(unsigned t)
{
    static const char *const n[] = {"?", "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID"};
    return t < 7 ? n[t] : "?";
}

/* An address field whose bits 11:0 are reserved. */
static bool page_bits(uint64_t a) { return (a & 0xFFF) != 0; }

/* The guest at a GCTX address: Context page (INVALID_GUEST), then its context opened. */
static uint32_t guest_open(struct mc_psp *psp, uint64_t raw, uint64_t *pa, struct psp_gctx *g, struct mc_error *err)
{
    struct mc_rmp_entry e;
    uint32_t st = psp_gctx_page(psp, raw, pa, &e, err);
    return st ? st : psp_gctx_open(psp, *pa, g, err);
}

static uint32_t rng(struct mc_psp *psp, void *out, size_t n, struct mc_error *err)
{
    if (mc_rng_bytes(psp->rng, out, n, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "the random generator failed");
    return MC_FW_SUCCESS;
}

static void trace_guest(struct mc_psp *psp, uint64_t pa, uint32_t from, uint32_t to)
{
    if (psp->trace && from != to)
        psp->trace(psp->trace_ctx, "snp-guest", (uint32_t)(pa >> 12), from, to);
}

/* ---- SNP_GCTX_CREATE ----------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_gctx_create)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_paddr, paddr));
    if (page_bits(raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GCTX_CREATE: GCTX_PADDR 0x%llx has bits 11:0 set",
                        (unsigned long long)raw);
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_GCTX_CREATE, err);
    if (st)
        return st;
    uint64_t pa = psp_snp_pa(psp, raw);
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    if ((st = psp_rmp_get(psp, pa, &e, &ps, err)) != MC_FW_SUCCESS)
        return st;
    if (ps != MC_RMP_PS_FIRMWARE)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_GCTX_CREATE: page 0x%llx is %s, not Firmware",
                        (unsigned long long)pa, mc_rmp_page_state_name(ps));
    if (e.large)
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_GCTX_CREATE: page 0x%llx is a 2 MiB RMP entry",
                        (unsigned long long)pa);
    if (pa >= psp->mem.dram_size || psp->mem.dram_size - pa < PG)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "SNP_GCTX_CREATE: page 0x%llx is not DRAM", (unsigned long long)pa);
    struct psp_gctx c;
    memset(&c, 0, sizeof c);
    c.state = MC_SNP_GSTATE_INIT;
    /* AMD's firmware records the committed TCB here (get_committed_tcb), not the current one. */
    c.launch_tcb = psp_snp_committed_tcb(psp);
    c.ver[0] = psp->cfg.api_major;
    c.ver[1] = psp->cfg.api_minor;
    c.ver[2] = psp->cfg.build;
    do { /* AES-128-XTS: the two key halves must differ */
        if ((st = rng(psp, c.vek, sizeof c.vek, err)) != MC_FW_SUCCESS)
            return st;
    } while (mc_ct_equal(c.vek, c.vek + 16, 16));
    st = psp_gctx_create(psp, pa, &c, err);
    if (!st) /* Firmware -> Context */
        st = psp_rmp_status(mc_rmp_fw_make_context(psp->mem.rmp, pa, &ps), "SNP_GCTX_CREATE", pa, ps,
                            MC_FW_INVALID_ADDRESS, err);
    psp_gctx_wipe(&c);
    return st;
}

/* ---- ASIDs: activation and release ---------------------------------------------------------- */

/* Give the ASID back: a guest that ran makes it dirty (WBINVD + DF_FLUSH before reuse); one that
 * was only allocated (pending, never RUNNING) leaves it clean. */
static uint32_t release_asid(struct mc_psp *psp, struct psp_gctx *c, struct mc_error *err)
{
    if (!c->asid)
        return MC_FW_SUCCESS;
    if (psp->mem.unbind_key(psp->mem.ctx, c->asid, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_UNSAFE, "the memory controller could not drop ASID %u", c->asid);
    psp->asid_owner[c->asid] = 0;
    psp->snp.asid_gctx[c->asid] = 0;
    if (c->active) {
        psp->asid_dirty[c->asid] = 1;
        psp->wbinvd_needed = all_cores(psp);
    }
    c->asid = 0;
    c->active = c->pending = false;
    return MC_FW_SUCCESS;
}

/* AMD's activate_common + sev_guest_activate, after the command's own checks: a guest without
 * an ASID takes a clean one (DF_FLUSH_REQUIRED, ASID_OWNED), a guest with one may only name it
 * again (ACTIVE; ACTIVATE_EX adds cores, nothing to do on one socket); SNP guests are SEV-ES
 * guests, so 1 <= ASID < minimum SEV ASID (INVALID_ASID). The key is bound now; the ASID is
 * enabled when the guest runs (pending until LAUNCH_FINISH). */
static uint32_t activate(struct mc_psp *psp, uint64_t pa, struct psp_gctx *c, uint32_t asid, const char *name,
                         struct mc_error *err)
{
    if (!c->asid) {
        if (psp->asid_dirty[asid])
            return psp_fail(err, MC_FW_DF_FLUSH_REQUIRED,
                            "%s: ASID %u was not flushed since its last use (WBINVD + DF_FLUSH)", name, asid);
        if (psp->asid_owner[asid])
            return psp_fail(err, MC_FW_ASID_OWNED, "%s: ASID %u belongs to another guest", name, asid);
    } else if (asid != c->asid) {
        return psp_fail(err, MC_FW_ACTIVE, "%s: the guest already has ASID %u", name, c->asid);
    }
    if (asid >= psp->cfg.min_sev_asid)
        return psp_fail(err, MC_FW_INVALID_ASID,
                        "%s: ASID %u is not below the minimum SEV ASID %u (SNP and SEV-ES guests use 1..%u)", name,
                        asid, psp->cfg.min_sev_asid, psp->cfg.min_sev_asid - 1);
    if (c->asid)
        return MC_FW_SUCCESS;
    c->asid = asid;
    c->pending = c->state != MC_SNP_GSTATE_RUNNING;
    c->active = !c->pending;
    uint32_t st = psp_gctx_seal(psp, pa, c, err);
    if (st)
        return st;
    mc_status bst = psp->mem.bind_key(psp->mem.ctx, asid, c->vek, sizeof c->vek, err);
    if (bst != MC_OK) {
        c->asid = 0;
        c->pending = c->active = false;
        psp_gctx_seal(psp, pa, c, NULL);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: %s for ASID %u", name,
                        bst == MC_E_NOMEM ? "out of memory binding the key" : "the memory controller refused the key",
                        asid);
    }
    psp->asid_owner[asid] = PSP_ASID_SNP;
    psp->snp.asid_gctx[asid] = pa;
    return MC_FW_SUCCESS;
}

/* What ACTIVATE and ACTIVATE_EX check after the buffer, in AMD's firmware order: platform state,
 * the context, the guest state, RMP pages still assigned to the ASID (unless the guest has its
 * ASID already, for ACTIVATE_EX), the ASID's range. The guest is opened into *c (wiped by the
 * caller). */
static uint32_t activate_checks(struct mc_psp *psp, uint32_t cmd, uint64_t raw, uint32_t asid, bool count_if_active,
                                uint64_t *pa, struct psp_gctx *c, struct mc_error *err)
{
    const char *name = mc_sev_cmd_name(cmd);
    memset(c, 0, sizeof *c);
    uint32_t st = psp_snp_pstate_check(psp, cmd, err);
    if (!st)
        st = guest_open(psp, raw, pa, c, err);
    if (st)
        return st;
    if (c->state != MC_SNP_GSTATE_LAUNCH && c->state != MC_SNP_GSTATE_RUNNING)
        return psp_fail(err, MC_FW_INVALID_GUEST_STATE, "%s: the guest is %s (LAUNCH or RUNNING needed)", name,
                        mc_snp_gstate_name(c->state));
    /* ASID 0's counter counts the firmware's pages */
    uint64_t count = asid && (count_if_active || !c->asid) ? psp_rmp_asid_count(psp, asid) : 0;
    if (count)
        return psp_fail(err, MC_FW_INVALID_CONFIG, "%s: %llu RMP pages are still assigned to ASID %u", name,
                        (unsigned long long)count, asid);
    if (asid == 0 || asid > psp->cfg.max_asid)
        return psp_fail(err, MC_FW_INVALID_ASID, "%s: ASID %u is outside 1..%u", name, asid, psp->cfg.max_asid);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_snp_activate)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_activate, gctx_paddr));
    uint32_t asid = mc_le32(buf + F(mc_snp_activate, asid));
    if (page_bits(raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_ACTIVATE: GCTX_PADDR has bits 11:0 set");
    uint64_t pa;
    struct psp_gctx c;
    uint32_t st = activate_checks(psp, MC_SEV_CMD_SNP_ACTIVATE, raw, asid, true, &pa, &c, err);
    /* SINGLE_SOCKET: this platform has one socket, so the policy is always met. */
    if (!st && psp->asid_owner[asid])
        st = psp_fail(err, MC_FW_ASID_OWNED, "SNP_ACTIVATE: ASID %u belongs to a guest", asid);
    if (!st && c.asid)
        st = psp_fail(err, MC_FW_ACTIVE, "SNP_ACTIVATE: the guest already has ASID %u", c.asid);
    if (!st)
        st = activate(psp, pa, &c, asid, "SNP_ACTIVATE", err);
    psp_gctx_wipe(&c);
    return st;
}

PSP_HANDLER(psp_cmd_snp_activate_ex)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_activate_ex, gctx_paddr));
    uint32_t asid = mc_le32(buf + F(mc_snp_activate_ex, asid));
    uint32_t n = mc_le32(buf + F(mc_snp_activate_ex, numids));
    if (mc_le32(buf + F(mc_snp_activate_ex, length)) != sizeof(struct mc_snp_activate_ex))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_ACTIVATE_EX: length must be 0x20");
    if (mc_le32(buf + F(mc_snp_activate_ex, rsvd)) || page_bits(raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_ACTIVATE_EX: reserved fields are not zero");
    uint64_t pa;
    struct psp_gctx c;
    uint32_t st = activate_checks(psp, MC_SEV_CMD_SNP_ACTIVATE_EX, raw, asid, false, &pa, &c, err);
    if (!st && (n == 0 || n > 1024))
        st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_ACTIVATE_EX: NUMIDS %u is outside 1..1024", n);
    if (!st) {
        /* The APIC IDs choose the cores (CCXs) the guest may run on; each must name a core. */
        uint32_t *ids = malloc(4ull * n);
        if (!ids)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
        else
            st = psp_host_read(psp, mc_le64(buf + F(mc_snp_activate_ex, ids_paddr)), ids, 4ull * n, err);
        for (uint32_t i = 0; !st && i < n; i++) {
            uint32_t id = mc_le32((const uint8_t *)&ids[i]);
            if (id >= psp->cfg.num_cores)
                st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_ACTIVATE_EX: APIC ID %u names no core (0..%u)", id,
                              psp->cfg.num_cores - 1);
        }
        free(ids);
    }
    if (!st)
        st = activate(psp, pa, &c, asid, "SNP_ACTIVATE_EX", err);
    psp_gctx_wipe(&c);
    return st;
}

/* ---- SNP_DECOMMISSION ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_decommission)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_paddr, paddr));
    if (page_bits(raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_DECOMMISSION: GCTX_PADDR has bits 11:0 set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_DECOMMISSION, err);
    uint64_t pa;
    struct mc_rmp_entry e;
    struct psp_gctx c;
    if (!st)
        st = psp_gctx_page(psp, raw, &pa, &e, err);
    if (!st)
        st = psp_gctx_open(psp, pa, &c, err);
    if (st)
        return st;
    uint32_t launched = c.state != MC_SNP_GSTATE_INIT;
    /* The RMP change comes first (it can only fail as hardware); then the key leaves the
     * memory controller. */
    st = psp_rmp_status(mc_rmp_fw_context_to_firmware(psp->mem.rmp, pa, NULL), "SNP_DECOMMISSION", pa,
                        MC_RMP_PS_CONTEXT, MC_FW_INVALID_GUEST, err); /* Context -> Firmware */
    if (!st)
        st = release_asid(psp, &c, err);
    if (!st) {
        if (launched && psp->snp.guest_count)
            psp->snp.guest_count--;
        trace_guest(psp, pa, c.state, MC_SNP_GSTATE_INIT);
    }
    psp_gctx_wipe(&c);
    return st;
}

/* ---- SNP_GUEST_STATUS ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_guest_status)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_guest_status_cmd, gctx_paddr));
    uint64_t out = mc_le64(buf + F(mc_snp_guest_status_cmd, status_paddr));
    if (page_bits(raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GUEST_STATUS: GCTX_PADDR has bits 11:0 set");
    if ((psp_snp_pa(psp, out) & 0xFFF) + sizeof(struct mc_snp_guest_status) > PG)
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GUEST_STATUS: the status buffer crosses a page");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_GUEST_STATUS, err);
    uint64_t pa;
    struct mc_rmp_entry e;
    if (!st)
        st = psp_gctx_page(psp, raw, &pa, &e, err);
    enum mc_psp_dom dom;
    uint64_t chk;
    if (!st)
        st = psp_host_addr(psp, out, sizeof(struct mc_snp_guest_status), &dom, &chk, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, out, sizeof(struct mc_snp_guest_status), "SNP_GUEST_STATUS", err);
    struct psp_gctx c;
    if (!st)
        st = psp_gctx_open(psp, pa, &c, err);
    if (st)
        return st;
    uint8_t o[sizeof(struct mc_snp_guest_status)] = {0};
    mc_put_le64(o + F(mc_snp_guest_status, policy), c.policy);
    mc_put_le32(o + F(mc_snp_guest_status, asid), c.asid);
    o[F(mc_snp_guest_status, state)] = c.state;
    mc_put_le32(o + F(mc_snp_guest_status, flags), c.vcek_dis ? 1u : 0u);
    psp_gctx_wipe(&c);
    return psp_host_write(psp, out, o, sizeof o, err);
}

/* ---- SNP_LAUNCH_START ---------------------------------------------------------------------- */

/* The policy checks of LAUNCH_START (AMD's order collapses them into one POLICY_FAILURE). */
static uint32_t check_policy(struct mc_psp *psp, uint64_t policy, bool ma_en, const struct psp_gctx *ma,
                             struct mc_error *err)
{
    if (ma_en && !(policy & MC_SNP_POLICY_MIGRATE_MA))
        return psp_fail(err, MC_FW_POLICY_FAILURE, "MA_EN needs policy MIGRATE_MA (bit 18)");
    if (ma_en && ma->ma_en)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "the migration agent is itself bound to a migration agent");
    struct mc_error e2 = {0};
    if (mc_snp_policy_check(policy, psp->cfg.api_major, psp->cfg.api_minor, psp->snp.smt, &e2) != MC_OK)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "%s", e2.msg);
    if (ma_en && (policy & MC_SNP_POLICY_SINGLE_SOCKET) && !(ma->policy & MC_SNP_POLICY_SINGLE_SOCKET))
        return psp_fail(err, MC_FW_POLICY_FAILURE, "SINGLE_SOCKET needs a SINGLE_SOCKET migration agent");
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_snp_launch_start)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_launch_start, gctx_paddr));
    uint64_t policy = mc_le64(buf + F(mc_snp_launch_start, policy));
    uint64_t ma_raw = mc_le64(buf + F(mc_snp_launch_start, ma_gctx_paddr));
    uint32_t flags = mc_le32(buf + F(mc_snp_launch_start, flags));
    if (page_bits(raw) || page_bits(ma_raw) || (flags & ~(MC_SNP_LS_MA_EN | MC_SNP_LS_IMI_EN)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_LAUNCH_START: reserved bits are set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_LAUNCH_START, err);
    uint64_t pa;
    struct psp_gctx c, ma;
    memset(&ma, 0, sizeof ma);
    if (!st)
        st = guest_open(psp, raw, &pa, &c, err);
    if (st)
        return st;
    bool ma_en = flags & MC_SNP_LS_MA_EN;
    uint64_t ma_pa = 0;
    if (c.state != MC_SNP_GSTATE_INIT)
        st = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_LAUNCH_START: the guest is %s, not INIT",
                      mc_snp_gstate_name(c.state));
    if (!st && ma_en)
        st = guest_open(psp, ma_raw, &ma_pa, &ma, err);
    if (!st)
        st = check_policy(psp, policy, ma_en, &ma, err);
    if (!st) {
        c.policy = policy;
        c.ma_en = ma_en;
        c.ma_gctx_paddr = ma_en ? ma_pa : 0;
        c.imi_en = flags & MC_SNP_LS_IMI_EN;
        st = rng(psp, c.oek, sizeof c.oek, err);
        if (!st)
            st = rng(psp, c.vmpck, sizeof c.vmpck, err);
        if (!st)
            st = rng(psp, c.vmrk, sizeof c.vmrk, err);
        if (!st)
            st = rng(psp, c.report_id, sizeof c.report_id, err);
    }
    if (!st) {
        if (ma_en)
            memcpy(c.report_id_ma, ma.report_id, 32);
        else
            memset(c.report_id_ma, 0xFF, 32);
        memcpy(c.gosvw, buf + F(mc_snp_launch_start, gosvw), 16);
        c.desired_tsc_khz = mc_le32(buf + F(mc_snp_launch_start, desired_tsc_khz));
        c.state = MC_SNP_GSTATE_LAUNCH;
        st = psp_gctx_seal(psp, pa, &c, err);
    }
    if (!st) {
        psp->snp.guest_count++;
        trace_guest(psp, pa, MC_SNP_GSTATE_INIT, MC_SNP_GSTATE_LAUNCH);
    }
    psp_gctx_wipe(&c);
    psp_gctx_wipe(&ma);
    return st;
}

/* ---- SNP_LAUNCH_UPDATE --------------------------------------------------------------------- */

/* One measured 4 KiB chunk, kept until the command commits (then logged). */
struct chunk {
    uint64_t gpa;
    uint8_t contents[48], digest[48];
};

static uint32_t sha384(const void *p, size_t n, uint8_t out[48], struct mc_error *err)
{
    if (mc_sha384(p, n, out, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "SHA-384 failed");
    return MC_FW_SUCCESS;
}

/* LD' = SHA-384(PAGE_INFO{LD, CONTENTS, 0x70, type, imi, 0, perms, gpa}) */
static uint32_t page_info(const uint8_t ld[48], const uint8_t contents[48], unsigned type, bool imi,
                          const uint8_t perms[3], uint64_t gpa, uint8_t out[48], struct mc_error *err)
{
    uint8_t pi[sizeof(struct mc_snp_page_info)];
    memset(pi, 0, sizeof pi);
    memcpy(pi + F(mc_snp_page_info, digest_cur), ld, 48);
    memcpy(pi + F(mc_snp_page_info, contents), contents, 48);
    mc_put_le16(pi + F(mc_snp_page_info, length), (uint16_t)sizeof pi);
    pi[F(mc_snp_page_info, page_type)] = (uint8_t)type;
    pi[F(mc_snp_page_info, imi_page)] = imi ? 1 : 0;
    pi[F(mc_snp_page_info, vmpl1_perms)] = perms[0];
    pi[F(mc_snp_page_info, vmpl2_perms)] = perms[1];
    pi[F(mc_snp_page_info, vmpl3_perms)] = perms[2];
    mc_put_le64(pi + F(mc_snp_page_info, gpa), gpa);
    return sha384(pi, sizeof pi, out, err);
}

static void secrets_page(const struct mc_psp *psp, const struct psp_gctx *c, uint8_t *p)
{
    memset(p, 0, PG);
    mc_put_le32(p + F(mc_snp_secrets_page, version), MC_SNP_SECRETS_VERSION);
    mc_put_le32(p + F(mc_snp_secrets_page, flags), c->imi_en ? 1u : 0u);
    mc_put_le32(p + F(mc_snp_secrets_page, fms), psp->snp.fms);
    memcpy(p + F(mc_snp_secrets_page, gosvw), c->gosvw, 16);
    memcpy(p + F(mc_snp_secrets_page, vmpck), c->vmpck, sizeof c->vmpck);
    memcpy(p + F(mc_snp_secrets_page, vmsa_tweak_bitmap), psp->snp.vmsa_tweak, 64);
    mc_put_le32(p + F(mc_snp_secrets_page, tsc_factor), MC_SNP_TSC_FACTOR);
}

PSP_HANDLER(psp_cmd_snp_launch_update)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_launch_update, gctx_paddr));
    uint64_t page_raw = mc_le64(buf + F(mc_snp_launch_update, page_paddr));
    uint32_t flags = mc_le32(buf + F(mc_snp_launch_update, flags));
    uint32_t perms_w = mc_le32(buf + F(mc_snp_launch_update, perms));
    if (page_bits(raw) || page_bits(page_raw) || (flags & ~0x1Fu) || mc_le32(buf + F(mc_snp_launch_update, rsvd)) ||
        (perms_w & 0xFF) || mc_le32(buf + F(mc_snp_launch_update, rsvd2)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_LAUNCH_UPDATE: reserved bits are set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_LAUNCH_UPDATE, err);
    uint64_t gpa_ctx;
    struct mc_rmp_entry ge, pe;
    if (!st)
        st = psp_gctx_page(psp, raw, &gpa_ctx, &ge, err);
    if (st)
        return st;
    uint64_t pa = psp_snp_pa(psp, page_raw);
    enum mc_rmp_page_state ps;
    if ((st = psp_rmp_get(psp, pa, &pe, &ps, err)) != MC_FW_SUCCESS)
        return st;
    if (ps != MC_RMP_PS_PRE_GUEST)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_LAUNCH_UPDATE: page 0x%llx is %s, not Pre-Guest",
                        (unsigned long long)pa, mc_rmp_page_state_name(ps));
    bool big = flags & MC_SNP_LU_PAGE_2M;
    if (pe.large != big)
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_LAUNCH_UPDATE: PAGE_SIZE says %s, the RMP entry is %s",
                        big ? "2 MiB" : "4 KiB", pe.large ? "2 MiB" : "4 KiB");
    if (big && (pa & (PG2M - 1)))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_LAUNCH_UPDATE: the 2 MiB page 0x%llx is not 2 MiB aligned",
                        (unsigned long long)pa);
    unsigned type = MC_SNP_LU_TYPE(flags);
    bool imi = flags & MC_SNP_LU_IMI_PAGE;
    switch (type) {
    case MC_SNP_PT_NORMAL: case MC_SNP_PT_ZERO: case MC_SNP_PT_UNMEASURED: break;
    case MC_SNP_PT_VMSA: case MC_SNP_PT_SECRETS: case MC_SNP_PT_CPUID:
        if (big)
            return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_LAUNCH_UPDATE: a %s page must be 4 KiB",
                            type_name(type));
        break;
    default:
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_LAUNCH_UPDATE: page type %u does not exist (1..6)", type);
    }
    size_t len = big ? PG2M : PG;
    if (pa >= psp->mem.dram_size || psp->mem.dram_size - pa < len)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_LAUNCH_UPDATE: page 0x%llx is not DRAM", (unsigned long long)pa);
    struct psp_gctx c;
    if ((st = psp_gctx_open(psp, gpa_ctx, &c, err)) != MC_FW_SUCCESS)
        return st;
    if (c.state != MC_SNP_GSTATE_LAUNCH)
        st = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_LAUNCH_UPDATE: the guest is %s, not LAUNCH",
                      mc_snp_gstate_name(c.state));
    else if (!c.asid)
        st = psp_fail(err, MC_FW_INACTIVE, "SNP_LAUNCH_UPDATE: the guest has no ASID (SNP_ACTIVATE first)");
    else if (pe.asid != c.asid)
        st = psp_fail(err, MC_FW_INVALID_PAGE_OWNER, "SNP_LAUNCH_UPDATE: page 0x%llx belongs to ASID %u, the guest is %u",
                      (unsigned long long)pa, pe.asid, c.asid);
    else if (c.imi_en && !imi)
        st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_LAUNCH_UPDATE: an IMI launch needs IMI_PAGE");
    if (st) {
        psp_gctx_wipe(&c);
        return st;
    }
    const uint8_t perms[3] = {(uint8_t)(perms_w >> 8), (uint8_t)(perms_w >> 16), (uint8_t)(perms_w >> 24)};
    size_t nch = len / PG;
    if (!psp->snp.lu_buf)
        psp->snp.lu_buf = malloc(PG2M);
    uint8_t *data = psp->snp.lu_buf;
    struct chunk *ch = malloc(nch * sizeof *ch);
    if (!data || !ch) {
        free(ch);
        psp_gctx_wipe(&c);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    /* Read what the host placed there (its view: the C-bit of PAGE_PADDR picks the host key). */
    enum mc_psp_dom dom = MC_PSP_DOM_SHARED;
    if (psp->mem.cbit_pos && (page_raw >> psp->mem.cbit_pos) & 1)
        dom = MC_PSP_DOM_HOST;
    if (psp->mem.read(psp->mem.ctx, dom, 0, pa, data, len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_LAUNCH_UPDATE: cannot read page 0x%llx",
                      (unsigned long long)pa);
    uint8_t ld[48], imd[48], vmsa_measured[PG];
    memcpy(ld, c.ld, 48);
    memcpy(imd, c.imd, 48);
    uint64_t gpa = pe.gpa;
    for (size_t i = 0; !st && i < nch; i++) {
        uint8_t *p = data + i * PG;
        struct chunk *k = &ch[i];
        memset(k->contents, 0, 48);
        k->gpa = gpa + i * PG;
        switch (type) {
        case MC_SNP_PT_NORMAL:
            st = sha384(p, PG, k->contents, err);
            break;
        case MC_SNP_PT_VMSA: {
            /* Measured with GUEST_TSC_SCALE and GUEST_TSC_OFFSET as zero; with Secure TSC the
             * firmware then writes the scale (and offset 0) into the VMSA it encrypts. */
            memcpy(vmsa_measured, p, PG);
            memset(vmsa_measured + VMSA_TSC_SCALE, 0, 16);
            st = sha384(vmsa_measured, PG, k->contents, err);
            if (mc_le64(p + VMSA_SEV_FEATURES) & SEV_FEATURES_SECURE_TSC) {
                mc_put_le64(p + VMSA_TSC_SCALE, mc_snp_tsc_scale(c.desired_tsc_khz, MC_SNP_TSC_REF_KHZ));
                mc_put_le64(p + VMSA_TSC_OFFSET, 0);
            }
            break;
        }
        case MC_SNP_PT_ZERO:
            memset(p, 0, PG);
            break;
        case MC_SNP_PT_UNMEASURED:
            break;
        case MC_SNP_PT_SECRETS:
            secrets_page(psp, &c, p);
            break;
        case MC_SNP_PT_CPUID: {
            bool corrected = false;
            st = psp_snp_cpuid_check(psp, p, &corrected, err);
            if (st && corrected) {
                /* The ABI: the corrected table goes back to the (unencrypted) page, nothing is
                 * measured or encrypted, and the command fails. */
                struct mc_error e2;
                psp->mem.write(psp->mem.ctx, dom, 0, pa, p, PG, &e2);
            }
            break;
        }
        }
        if (!st)
            st = page_info(ld, k->contents, type, imi, perms, k->gpa, ld, err);
        if (!st && imi)
            st = page_info(imd, k->contents, type, imi, perms, k->gpa, imd, err);
        if (!st)
            memcpy(k->digest, ld, 48);
    }
    /* Commit: the page encrypted in place under the guest's key, the context, the RMP entry. */
    if (!st && psp->mem.write(psp->mem.ctx, MC_PSP_DOM_GUEST, c.asid, pa, data, len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_LAUNCH_UPDATE: cannot write the guest page");
    if (!st) {
        memcpy(c.ld, ld, 48);
        memcpy(c.imd, imd, 48);
        st = psp_gctx_seal(psp, gpa_ctx, &c, err);
    }
    if (!st) {
        /* Pre-Guest -> Guest-Valid: VMPL0 all permissions, VMPL1..3 from the command. */
        const struct mc_rmp_guest_page gp = {.asid = c.asid, .gpa = pe.gpa, .large = big,
                                             .perm = {MC_VMPL_ALL, perms[0], perms[1], perms[2]},
                                             .vmsa = type == MC_SNP_PT_VMSA};
        st = psp_rmp_status(mc_rmp_fw_launch_page(psp->mem.rmp, pa, &gp, NULL), "SNP_LAUNCH_UPDATE", pa, ps,
                            MC_FW_INVALID_PAGE_OWNER, err);
    }
    if (!st && psp->snp.log) {
        for (size_t i = 0; i < nch; i++) {
            struct mc_psp_snp_page lp = {.gctx_paddr = gpa_ctx, .spa = pa + i * PG, .gpa = ch[i].gpa,
                                         .page_type = type, .imi = imi,
                                         .data = type == MC_SNP_PT_VMSA ? vmsa_measured : NULL};
            memcpy(lp.vmpl_perms, perms, 3);
            memcpy(lp.contents, ch[i].contents, 48);
            memcpy(lp.digest, ch[i].digest, 48);
            psp->snp.log(psp->snp.log_ctx, &lp);
        }
    }
    mc_wipe(data, len);
    free(ch);
    mc_wipe(vmsa_measured, sizeof vmsa_measured);
    psp_gctx_wipe(&c);
    return st;
}

/* ---- SNP_LAUNCH_FINISH --------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_launch_finish)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_launch_finish, gctx_paddr));
    uint64_t flags = mc_le64(buf + F(mc_snp_launch_finish, flags));
    if (page_bits(raw) || (flags & ~(MC_SNP_LF_ID_BLOCK_EN | MC_SNP_LF_AUTH_KEY_EN | MC_SNP_LF_VCEK_DIS)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_LAUNCH_FINISH: reserved bits are set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_LAUNCH_FINISH, err);
    uint64_t pa;
    struct psp_gctx c;
    if (!st)
        st = guest_open(psp, raw, &pa, &c, err);
    if (st)
        return st;
    bool id_en = flags & MC_SNP_LF_ID_BLOCK_EN, auth_en = flags & MC_SNP_LF_AUTH_KEY_EN;
    if (c.state != MC_SNP_GSTATE_LAUNCH || c.imi_en)
        st = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_LAUNCH_FINISH: the guest is %s%s", mc_snp_gstate_name(c.state),
                      c.imi_en ? " (an IMI launch does not finish)" : ", not LAUNCH");
    else if (!c.asid)
        st = psp_fail(err, MC_FW_INACTIVE, "SNP_LAUNCH_FINISH: the guest has no ASID (SNP_ACTIVATE first)");
    uint8_t *blk = NULL, *auth = NULL;
    if (!st && id_en) {
        blk = malloc(MC_ID_BLOCK_LEN + MC_ID_AUTH_LEN);
        if (!blk)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
        auth = blk ? blk + MC_ID_BLOCK_LEN : NULL;
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_snp_launch_finish, id_block_paddr)), blk, MC_ID_BLOCK_LEN, err);
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_snp_launch_finish, id_auth_paddr)), auth, MC_ID_AUTH_LEN, err);
        struct mc_id_block ib;
        if (!st) {
            mc_id_block_decode(blk, &ib);
            if (!mc_ct_equal(ib.ld, c.ld, 48))
                st = psp_fail(err, MC_FW_BAD_MEASUREMENT,
                              "SNP_LAUNCH_FINISH: the ID block's launch digest is not the guest's measurement");
            else if (ib.policy != c.policy)
                st = psp_fail(err, MC_FW_POLICY_FAILURE,
                              "SNP_LAUNCH_FINISH: the ID block's policy 0x%llx is not the launch policy 0x%llx",
                              (unsigned long long)ib.policy, (unsigned long long)c.policy);
        }
        if (!st && (mc_le32(auth) != MC_SNP_ALGO_ECDSA_P384_SHA384 ||
                    (auth_en && mc_id_auth_author_algo(auth) != MC_SNP_ALGO_ECDSA_P384_SHA384)))
            st = psp_fail(err, MC_FW_INVALID_PARAM,
                          "SNP_LAUNCH_FINISH: ID_KEY_ALGO%s must be 1 (ECDSA P-384 with SHA-384)",
                          auth_en ? " and AUTH_KEY_ALGO" : "");
        struct mc_id_auth_result res;
        struct mc_error e2 = {0};
        mc_status vs = st ? MC_OK : mc_id_auth_verify(blk, auth, auth_en, &res, &e2);
        if (!st && vs == MC_E_VERIFY)
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SNP_LAUNCH_FINISH: %s", e2.msg);
        else if (!st && vs != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_LAUNCH_FINISH: %s", e2.msg);
        if (!st) {
            memcpy(c.id_block, blk, MC_ID_BLOCK_LEN);
            memcpy(c.id_key_digest, res.id_key_digest, 48);
            if (auth_en)
                memcpy(c.author_key_digest, res.author_key_digest, 48);
        }
    }
    free(blk);
    if (!st) {
        memcpy(c.host_data, buf + F(mc_snp_launch_finish, host_data), 32);
        c.id_block_en = id_en;
        c.author_key_en = id_en && auth_en; /* the author key means something only with an ID block */
        c.vcek_dis = flags & MC_SNP_LF_VCEK_DIS;
        if (c.pending) { /* the activation completes: the ASID is in use from now on */
            c.pending = false;
            c.active = true;
        }
        c.state = MC_SNP_GSTATE_RUNNING;
        st = psp_gctx_seal(psp, pa, &c, err);
        if (!st)
            trace_guest(psp, pa, MC_SNP_GSTATE_LAUNCH, MC_SNP_GSTATE_RUNNING);
    }
    psp_gctx_wipe(&c);
    return st;
}

/* ---- SNP_DBG_DECRYPT / SNP_DBG_ENCRYPT ----------------------------------------------------- */

/* The RMP entry that governs the 4 KiB page at pa (the 2 MiB entry of its region for a page inside
 * a 2 MiB page). */
static uint32_t governing(struct mc_psp *psp, uint64_t pa, struct mc_rmp_entry *e, enum mc_rmp_page_state *s,
                          struct mc_error *err)
{
    return psp_rmp_get(psp, pa, e, s, err);
}

static uint32_t snp_dbg(struct mc_psp *psp, const uint8_t *buf, bool enc, struct mc_error *err)
{
    const char *name = enc ? "SNP_DBG_ENCRYPT" : "SNP_DBG_DECRYPT";
    uint64_t raw = mc_le64(buf + F(mc_snp_dbg, gctx_paddr));
    uint64_t src_raw = mc_le64(buf + F(mc_snp_dbg, src_paddr)), dst_raw = mc_le64(buf + F(mc_snp_dbg, dst_paddr));
    if (page_bits(raw) || page_bits(src_raw) || page_bits(dst_raw))
        return psp_fail(err, MC_FW_INVALID_PARAM, "%s: an address has bits 11:0 set", name);
    uint32_t st = psp_snp_pstate_check(psp, enc ? MC_SEV_CMD_SNP_DBG_ENCRYPT : MC_SEV_CMD_SNP_DBG_DECRYPT, err);
    uint64_t pa, src = psp_snp_pa(psp, src_raw), dst = psp_snp_pa(psp, dst_raw);
    struct mc_rmp_entry ge, se, de;
    enum mc_rmp_page_state gs, ss, ds;
    if (!st)
        st = psp_rmp_get(psp, psp_snp_pa(psp, raw), &ge, &gs, err);
    if (!st)
        st = governing(psp, src, &se, &ss, err);
    if (!st)
        st = governing(psp, dst, &de, &ds, err);
    if (st)
        return st;
    pa = psp_snp_pa(psp, raw);
    if (gs != MC_RMP_PS_CONTEXT)
        return psp_fail(err, MC_FW_INVALID_GUEST, "%s: 0x%llx is not a guest context page (%s)", name,
                        (unsigned long long)pa, mc_rmp_page_state_name(gs));
    const struct mc_rmp_entry *guest_e = enc ? &de : &se;
    if (enc ? (ds != MC_RMP_PS_PRE_SWAP && ds != MC_RMP_PS_PRE_GUEST)
            : ((ss != MC_RMP_PS_PRE_GUEST && ss != MC_RMP_PS_PRE_SWAP && ss != MC_RMP_PS_GUEST_INVALID &&
                ss != MC_RMP_PS_GUEST_VALID) ||
               ds != MC_RMP_PS_FIRMWARE))
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "%s: source is %s, destination %s (%s)", name,
                        mc_rmp_page_state_name(ss), mc_rmp_page_state_name(ds),
                        enc ? "the destination must be Pre-Guest or Pre-Swap"
                            : "a guest page to a Firmware page");
    if (src >= psp->mem.dram_size || psp->mem.dram_size - src < PG || dst >= psp->mem.dram_size ||
        psp->mem.dram_size - dst < PG)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s: a page lies outside DRAM", name);
    struct psp_gctx c;
    if ((st = psp_gctx_open(psp, pa, &c, err)) != MC_FW_SUCCESS)
        return st;
    if (guest_e->asid != c.asid)
        st = psp_fail(err, MC_FW_INVALID_PAGE_OWNER, "%s: the guest page belongs to ASID %u, the guest is %u", name,
                      guest_e->asid, c.asid);
    else if (!(c.policy & MC_SNP_POLICY_DEBUG))
        st = psp_fail(err, MC_FW_POLICY_FAILURE, "%s: the guest policy does not allow debugging (DEBUG, bit 19)", name);
    else if (!c.asid)
        st = psp_fail(err, MC_FW_INACTIVE, "%s: the guest has no ASID", name);
    uint8_t page[PG];
    enum mc_psp_dom hdom = MC_PSP_DOM_SHARED;
    uint64_t host_raw = enc ? src_raw : dst_raw;
    if (psp->mem.cbit_pos && (host_raw >> psp->mem.cbit_pos) & 1)
        hdom = MC_PSP_DOM_HOST;
    if (!st) {
        mc_status r = enc ? psp->mem.read(psp->mem.ctx, hdom, 0, src, page, PG, err)
                          : psp->mem.read(psp->mem.ctx, MC_PSP_DOM_GUEST, c.asid, src, page, PG, err);
        if (!r)
            r = enc ? psp->mem.write(psp->mem.ctx, MC_PSP_DOM_GUEST, c.asid, dst, page, PG, err)
                    : psp->mem.write(psp->mem.ctx, hdom, 0, dst, page, PG, err);
        if (r)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: the page copy failed", name);
    }
    mc_wipe(page, sizeof page);
    psp_gctx_wipe(&c);
    return st;
}

PSP_HANDLER(psp_cmd_snp_dbg_decrypt)
{
    (void)g;
    return snp_dbg(psp, buf, false, err);
}

PSP_HANDLER(psp_cmd_snp_dbg_encrypt)
{
    (void)g;
    return snp_dbg(psp, buf, true, err);
}
