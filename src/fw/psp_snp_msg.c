/* SNP_GUEST_REQUEST: the command's page and state checks, then the guest-message core
 * (memcrypt/snp_guest_msg.h: header rules, AES-256-GCM under the VMPCK, sequence numbers) and the
 * message handlers wired to this guest's context and the chip's identity: MSG_REPORT_REQ,
 * MSG_KEY_REQ, MSG_TSC_INFO_REQ and MSG_CPUID_REQ. A problem the hypervisor caused (pages, states,
 * a message that does not open) fails the command; a problem in what the guest asked for is the
 * STATUS of a successful response (AMD's rule). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_identity.h>

#include "crypto/crypto.h"
#include "fw/psp_cmds.h"
#include "fw/psp_snp.h"

#define F(S, f) offsetof(struct S, f)
#define PG MC_SNP_PAGE
#define CPUID_RSP_HDR 0x10u

/* What a report and a key request need from the guest context and the platform. */
static void msg_ctx(struct mc_psp *psp, const struct psp_gctx *c, struct mc_snp_msg_ctx *m)
{
    memset(m, 0, sizeof *m);
    struct mc_snp_report_ctx *r = &m->report;
    r->version = mc_snp_report_version_for((enum mc_snp_gen)psp->cfg.snp_gen, psp->cfg.api_major, psp->cfg.api_minor,
                                           psp->cfg.build);
    r->policy = c->policy;
    r->guest_svn = mc_le32(c->id_block + 0x54);
    memcpy(r->family_id, c->id_block + 0x30, 16);
    memcpy(r->image_id, c->id_block + 0x40, 16);
    memcpy(r->measurement, c->ld, 48);
    memcpy(r->host_data, c->host_data, 32);
    memcpy(r->id_key_digest, c->id_key_digest, 48);
    memcpy(r->author_key_digest, c->author_key_digest, 48);
    r->author_key_en = c->author_key_en;
    memcpy(r->report_id, c->report_id, 32);
    memcpy(r->report_id_ma, c->report_id_ma, 32);
    r->launch_tcb = c->launch_tcb;
    r->current_tcb = psp_snp_current_tcb(psp);
    r->committed_tcb = psp_snp_committed_tcb(psp);
    r->reported_tcb = psp_snp_reported_tcb(psp);
    r->current_major = psp->cfg.api_major;
    r->current_minor = psp->cfg.api_minor;
    r->current_build = psp->cfg.build;
    uint8_t cv[3];
    psp_snp_committed_ver(psp, cv);
    r->committed_major = cv[0];
    r->committed_minor = cv[1];
    r->committed_build = cv[2];
    /* PLATFORM_INFO: SMT_EN and TSME_EN, the two bits AMD's 1.55 firmware fills. */
    r->platform_info = (psp->snp.smt ? 1u : 0u) | (psp->snp.tsme ? 2u : 0u);
    if (r->version >= 3) { /* CPUID_FAM_ID / MOD_ID / STEP: the combined family and model */
        uint32_t f = psp->snp.fms;
        unsigned fam = (f >> 8) & 0xF, mod = (f >> 4) & 0xF;
        if (fam == 0xF)
            fam += (f >> 20) & 0xFF;
        if (fam >= 6)
            mod |= ((f >> 16) & 0xF) << 4;
        r->cpuid_fam_id = (uint8_t)fam;
        r->cpuid_mod_id = (uint8_t)mod;
        r->cpuid_step = (uint8_t)(f & 0xF);
    }
    r->mask_chip_id = psp->snp.nv.config_flags & MC_SNP_CONFIG_MASK_CHIP_ID;
    r->mask_chip_key = psp->snp.nv.config_flags & MC_SNP_CONFIG_MASK_CHIP_KEY;
    m->id_block_en = c->id_block_en;
    m->vcek_dis = c->vcek_dis;
    memcpy(m->vmrk, c->vmrk, 32);
    m->desired_tsc_khz = c->desired_tsc_khz;
    m->psp_tsc_offset = c->psp_tsc_offset;
}

/* MSG_CPUID_REQ: the same check as the CPUID page, per entry; the response carries the corrected
 * entries, how many were in the checked ranges, and INVALID_PARAM when any needed correcting. */
static uint32_t cpuid_req(struct mc_psp *psp, const uint8_t *req, size_t n, uint8_t *rsp, size_t rsp_len,
                          struct mc_error *err)
{
    memset(rsp, 0, rsp_len);
    uint8_t page[PG];
    memset(page, 0, sizeof page);
    memcpy(page, req, n < sizeof page ? n : sizeof page);
    uint32_t count = mc_le32(page), status = MC_FW_SUCCESS, checked = 0;
    if (mc_le32(page + 4) || mc_le64(page + 8))
        status = MC_FW_INVALID_PARAM;
    else if (count > MC_SNP_CPUID_COUNT_MAX)
        status = MC_FW_INVALID_PARAM;
    else {
        bool corrected = false;
        status = psp_snp_cpuid_check_list(psp, page + sizeof(struct mc_snp_cpuid_hdr), count, &checked, &corrected, err);
        size_t body = (size_t)count * sizeof(struct mc_snp_cpuid_entry);
        if (CPUID_RSP_HDR + body <= rsp_len)
            memcpy(rsp + CPUID_RSP_HDR, page + sizeof(struct mc_snp_cpuid_hdr), body);
    }
    mc_put_le32(rsp, status);
    mc_put_le32(rsp + 4, checked);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_snp_guest_request)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_guest_request, gctx_paddr));
    uint64_t req_raw = mc_le64(buf + F(mc_snp_guest_request, req_paddr));
    uint64_t rsp_raw = mc_le64(buf + F(mc_snp_guest_request, rsp_paddr));
    if (raw & 0xFFF)
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GUEST_REQUEST: GCTX_PADDR has bits 11:0 set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_GUEST_REQUEST, err);
    if (st)
        return st;
    uint64_t gpa_ctx = psp_snp_pa(psp, raw), req = psp_snp_pa(psp, req_raw), rsp = psp_snp_pa(psp, rsp_raw);
    struct mc_rmp_entry ge, qe, re;
    enum mc_rmp_page_state gs, qs, rs;
    if ((st = psp_rmp_get(psp, gpa_ctx, &ge, &gs, err)) || (st = psp_rmp_get(psp, req, &qe, &qs, err)) ||
        (st = psp_rmp_get(psp, rsp, &re, &rs, err)))
        return st;
    if (gs != MC_RMP_PS_CONTEXT)
        return psp_fail(err, MC_FW_INVALID_GUEST, "SNP_GUEST_REQUEST: 0x%llx is not a guest context page",
                        (unsigned long long)gpa_ctx);
    if (rs != MC_RMP_PS_FIRMWARE)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_GUEST_REQUEST: the response page 0x%llx is %s, not Firmware",
                        (unsigned long long)rsp, mc_rmp_page_state_name(rs));
    if (qe.large || re.large)
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_GUEST_REQUEST: the request and response pages must be 4 KiB");
    struct psp_gctx c;
    if ((st = psp_gctx_open(psp, gpa_ctx, &c, err)) != MC_FW_SUCCESS)
        return st;
    if (c.state != MC_SNP_GSTATE_RUNNING) {
        psp_gctx_wipe(&c);
        return psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_GUEST_REQUEST: the guest is %s, not RUNNING",
                        mc_snp_gstate_name(c.state));
    }
    size_t req_avail = PG - (req & 0xFFF), rsp_avail = PG - (rsp & 0xFFF);
    uint8_t *m = malloc(4 * PG);
    if (!m) {
        psp_gctx_wipe(&c);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    uint8_t *msg = m, *payload = m + PG, *out_payload = m + 2 * PG, *out = m + 3 * PG;
    if (req_avail < MC_SNP_MSG_HDR_SIZE)
        st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GUEST_REQUEST: the request header crosses its page");
    else
        st = psp_host_read(psp, req_raw, msg, req_avail, err);
    struct mc_snp_vmpck vk[4];
    for (int i = 0; i < 4; i++) {
        memcpy(vk[i].key, c.vmpck[i], 32);
        vk[i].count = c.msg_count[i];
    }
    struct mc_snp_msg_hdr h;
    mc_fw_status fw = MC_FW_SUCCESS;
    struct mc_error e2 = {0};
    if (!st && mc_snp_msg_fw_unwrap(vk, msg, req_avail, &h, payload, PG, &fw, &e2) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_GUEST_REQUEST: %s", e2.msg);
    if (!st && fw != MC_FW_SUCCESS)
        st = psp_fail(err, fw, "SNP_GUEST_REQUEST: %s", e2.msg[0] ? e2.msg : "the request message was refused");
    size_t n = 0;
    if (!st) {
        struct mc_snp_msg_ctx mctx;
        msg_ctx(psp, &c, &mctx);
        struct mc_snp_identity *id = NULL;
        switch (h.msg_type) {
        case MC_SNP_MSG_REPORT_REQ:
        case MC_SNP_MSG_KEY_REQ:
            st = psp_snp_identity(psp, &id, err);
            if (st)
                break;
            if (h.msg_type == MC_SNP_MSG_REPORT_REQ) {
                n = MC_SNP_REPORT_RSP_SIZE;
                if (mc_snp_handle_report_req(id, &mctx, h.msg_vmpck, payload, h.msg_size, out_payload, &e2) != MC_OK)
                    st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "MSG_REPORT_REQ: %s", e2.msg);
            } else {
                n = MC_SNP_KEY_RSP_SIZE;
                if (mc_snp_handle_key_req(id, &mctx, h.msg_vmpck, payload, h.msg_size, out_payload, &e2) != MC_OK)
                    st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "MSG_KEY_REQ: %s", e2.msg);
            }
            break;
        case MC_SNP_MSG_TSC_INFO_REQ:
            n = MC_SNP_TSC_INFO_SIZE;
            mc_snp_handle_tsc_info_req(&mctx, payload, h.msg_size, out_payload);
            break;
        case MC_SNP_MSG_CPUID_REQ:
            n = h.msg_size; /* the response is as long as the request */
            st = cpuid_req(psp, payload, h.msg_size, out_payload, n, err);
            break;
        default:
            st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_GUEST_REQUEST: %s is not implemented by this firmware",
                          mc_snp_msg_type_name(h.msg_type));
        }
        mc_wipe(&mctx, sizeof mctx);
    }
    size_t out_len = 0;
    if (!st && mc_snp_msg_fw_wrap(vk, &h, out_payload, n, out, rsp_avail, &out_len, &fw, &e2) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_GUEST_REQUEST: %s", e2.msg);
    if (!st && fw != MC_FW_SUCCESS)
        st = psp_fail(err, fw, "SNP_GUEST_REQUEST: %s", e2.msg[0] ? e2.msg : "the response does not fit its page");
    if (!st) {
        for (int i = 0; i < 4; i++)
            c.msg_count[i] = vk[i].count;
        st = psp_host_write(psp, rsp_raw, out, out_len, err);
    }
    if (!st)
        st = psp_gctx_seal(psp, gpa_ctx, &c, err);
    mc_wipe(vk, sizeof vk);
    mc_wipe(m, 4 * PG);
    free(m);
    psp_gctx_wipe(&c);
    return st;
}
