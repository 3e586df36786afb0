/* Guest commands: LAUNCH_*, ATTESTATION, ACTIVATE(_EX), DEACTIVATE, DECOMMISSION, GUEST_STATUS,
 * COPY, DBG_DECRYPT/ENCRYPT. Guest memory is always reached through the memory port with the
 * guest's ASID key; host buffers with the host's view (C-bit of the address). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/aes.h"
#include "fw/psp_cmds.h"
#include "fw/psp_int.h"
#include "fw/psp_rmp.h"

#define F(S, f) offsetof(struct S, f)
#define CHUNK (1024u * 1024u) /* firmware working buffer for bulk commands */

static uint32_t api_ver(const struct mc_psp *psp) { return ((uint32_t)psp->cfg.api_major << 8) | psp->cfg.api_minor; }

/* A guest-memory range given by the host: strip the C-bit, check it lies in DRAM. */
static uint32_t guest_range(const struct mc_psp *psp, uint64_t raw, uint64_t len, uint64_t *pa, struct mc_error *err)
{
    enum mc_psp_dom dom;
    return psp_host_addr(psp, raw, len, &dom, pa, err);
}

uint32_t psp_guest_read(struct mc_psp *psp, const struct psp_guest *g, uint64_t pa, void *b, size_t n,
                           struct mc_error *err)
{
    if (psp->mem.read(psp->mem.ctx, MC_PSP_DOM_GUEST, g->asid, pa, b, n, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "guest memory read at 0x%llx failed", (unsigned long long)pa);
    return MC_FW_SUCCESS;
}

uint32_t psp_guest_write(struct mc_psp *psp, const struct psp_guest *g, uint64_t pa, const void *b, size_t n,
                            struct mc_error *err)
{
    if (psp->mem.write(psp->mem.ctx, MC_PSP_DOM_GUEST, g->asid, pa, b, n, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "guest memory write at 0x%llx failed", (unsigned long long)pa);
    return MC_FW_SUCCESS;
}

uint32_t psp_need_asid(const struct psp_guest *g, const char *what, struct mc_error *err)
{
    if (!g->asid)
        return psp_fail(err, MC_FW_INACTIVE, "%s needs guest %u to have an ASID (ACTIVATE first)", what, g->handle);
    return MC_FW_SUCCESS;
}

/* ---- LAUNCH_START ------------------------------------------------------------------------ */

static uint32_t check_policy_version(const struct mc_psp *psp, uint32_t policy, struct mc_error *err)
{
    if (policy & MC_SEV_POLICY_RESERVED)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "policy 0x%x has reserved bits 6..15 set", policy);
    uint32_t want = (MC_SEV_POLICY_API_MAJOR(policy) << 8) | MC_SEV_POLICY_API_MINOR(policy);
    if (api_ver(psp) < want)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "policy needs firmware API %u.%u, this firmware is %u.%u",
                        MC_SEV_POLICY_API_MAJOR(policy), MC_SEV_POLICY_API_MINOR(policy), psp->cfg.api_major,
                        psp->cfg.api_minor);
    return MC_FW_SUCCESS;
}

uint32_t psp_guest_start(struct mc_psp *psp, const char *what, uint32_t share, uint32_t policy, uint64_t dh_pa,
                         uint32_t dh_len, uint64_t ses_pa, uint32_t ses_len, uint32_t gstate, uint32_t *handle,
                         struct mc_error *err)
{
    if ((policy & MC_SEV_POLICY_ES) && !psp->es_init)
        return psp_fail(err, MC_FW_UNSUPPORTED, "%s: policy asks for SEV-ES but INIT did not enable it", what);
    /* Reserved bits and the minimum API version are checked with and without a session.
     * AMD's Genoa firmware skips them without a DH cert (digest §6); we enforce them always,
     * because a policy the firmware cannot honour must not launch. */
    uint32_t st = check_policy_version(psp, policy, err);
    if (st)
        return st;
    const struct psp_guest *shared = NULL;
    if (share) {
        shared = psp_guest_get(psp, share);
        if (!shared)
            return psp_fail(err, MC_FW_INVALID_GUEST, "key-sharing handle %u does not exist", share);
        if (shared->policy & MC_SEV_POLICY_NOKS)
            return psp_fail(err, MC_FW_POLICY_FAILURE, "guest %u forbids key sharing (NOKS)", share);
        if (shared->policy != policy)
            return psp_fail(err, MC_FW_POLICY_FAILURE, "key sharing needs the same policy as guest %u (0x%x != 0x%x)",
                            share, policy, shared->policy);
    }
    uint32_t h = 1;
    while (h <= psp->cfg.max_guests && psp->guests[h])
        h++;
    if (h > psp->cfg.max_guests)
        return psp_fail(err, MC_FW_RESOURCE_LIMIT, "no free guest slot (%u in use)", psp->cfg.max_guests);

    /* Without a DH cert there is no channel: TEK/TIK stay zero, so LAUNCH_MEASURE is an HMAC under
     * a zero TIK (Genoa firmware behaviour; UNCONFIRMED for older firmware, which we follow).
     * RECEIVE_START always has one (its caller passes the sender's PDH). */
    uint8_t tek[16] = {0}, tik[16] = {0};
    bool channel = dh_pa != 0 || gstate == MC_SEV_GSTATE_RUPDATE;
    if (channel) {
        if (dh_len != MC_SEV_CERT_LEN || ses_len != MC_SEV_SESSION_LEN)
            return psp_fail(err, MC_FW_INVALID_LENGTH,
                            "%s: the DH cert must be 0x%x bytes and the session 0x%x (got 0x%x, 0x%x)", what,
                            MC_SEV_CERT_LEN, MC_SEV_SESSION_LEN, dh_len, ses_len);
        uint8_t godh[MC_SEV_CERT_LEN], ses[MC_SEV_SESSION_LEN];
        st = psp_host_read(psp, dh_pa, godh, sizeof godh, err);
        if (!st)
            st = psp_host_read(psp, ses_pa, ses, sizeof ses, err);
        if (!st)
            st = psp_id_unwrap_session(psp, godh, ses, policy, tek, tik, err);
        if (st) {
            mc_wipe(tek, sizeof tek);
            mc_wipe(tik, sizeof tik);
            return st;
        }
    }
    struct psp_guest *ng = calloc(1, sizeof *ng);
    if (!ng || (gstate == MC_SEV_GSTATE_LUPDATE && mc_hashctx_create("SHA256", &ng->ld_ctx, NULL) != MC_OK)) {
        psp_guest_free(ng);
        mc_wipe(tek, sizeof tek);
        mc_wipe(tik, sizeof tik);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory for a guest context");
    }
    if (shared) {
        memcpy(ng->vek, shared->vek, PSP_VEK_LEN);
    } else {
        /* A fresh AES-128-XTS key for the memory engine; the two halves must differ. */
        do {
            if (mc_rng_bytes(psp->rng, ng->vek, PSP_VEK_LEN, NULL) != MC_OK) {
                psp_guest_free(ng);
                mc_wipe(tek, sizeof tek);
                mc_wipe(tik, sizeof tik);
                return psp_fail(err, MC_FW_HWERROR_PLATFORM, "the random generator failed");
            }
        } while (mc_ct_equal(ng->vek, ng->vek + 16, 16));
    }
    ng->handle = h;
    ng->policy = policy;
    ng->have_channel = channel;
    memcpy(ng->tek, tek, 16);
    memcpy(ng->tik, tik, 16);
    mc_wipe(tek, sizeof tek);
    mc_wipe(tik, sizeof tik);
    psp->guests[h] = ng;
    psp->guest_count++;
    psp_set_gstate(psp, ng, gstate);
    psp_set_pstate(psp, MC_SEV_PSTATE_WORKING);
    *handle = h;
    return MC_FW_SUCCESS;
}

/* LAUNCH_START and RECEIVE_START share the buffer layout (mc_sev_launch_start). */
static uint32_t guest_start(struct mc_psp *psp, uint8_t *buf, const char *what, uint32_t gstate, struct mc_error *err)
{
    uint32_t h;
    uint32_t st = psp_guest_start(psp, what, mc_le32(buf + F(mc_sev_launch_start, handle)),
                                  mc_le32(buf + F(mc_sev_launch_start, policy)),
                                  mc_le64(buf + F(mc_sev_launch_start, dh_cert_paddr)),
                                  mc_le32(buf + F(mc_sev_launch_start, dh_cert_len)),
                                  mc_le64(buf + F(mc_sev_launch_start, session_paddr)),
                                  mc_le32(buf + F(mc_sev_launch_start, session_len)), gstate, &h, err);
    if (!st)
        mc_put_le32(buf + F(mc_sev_launch_start, handle), h);
    return st;
}

PSP_HANDLER(psp_cmd_launch_start)
{
    (void)g;
    return guest_start(psp, buf, "LAUNCH_START", MC_SEV_GSTATE_LUPDATE, err);
}

/* RECEIVE_START (digest §13): processed like LAUNCH_START, but a session is mandatory and its
 * client DH cert is the sending platform's PDH; the new guest waits in RUPDATE for packets. */
PSP_HANDLER(psp_cmd_receive_start)
{
    (void)g;
    return guest_start(psp, buf, "RECEIVE_START", MC_SEV_GSTATE_RUPDATE, err);
}

/* ---- LAUNCH_UPDATE_DATA / VMSA: measure the plaintext, encrypt in place ------------------- */

static uint32_t launch_update(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, bool vmsa, struct mc_error *err)
{
    const char *what = vmsa ? "LAUNCH_UPDATE_VMSA" : "LAUNCH_UPDATE_DATA";
    uint64_t raw = mc_le64(buf + F(mc_sev_launch_update, paddr));
    uint32_t len = mc_le32(buf + F(mc_sev_launch_update, len));
    if (vmsa && !(g->policy & MC_SEV_POLICY_ES))
        return psp_fail(err, MC_FW_UNSUPPORTED, "LAUNCH_UPDATE_VMSA needs the ES policy bit");
    uint32_t st = psp_need_asid(g, what, err);
    if (st)
        return st;
    if (raw & 15)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s address 0x%llx is not 16-byte aligned", what,
                        (unsigned long long)raw);
    if (vmsa ? len != 0x1000 : (len == 0 || (len & 15)))
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s length 0x%x is invalid (%s)", what, len,
                        vmsa ? "a VMSA is 4096 bytes" : "non-zero multiple of 16");
    enum mc_psp_dom dom;
    uint64_t pa;
    st = psp_host_addr(psp, raw, len, &dom, &pa, err);
    if (!st) /* encrypted in place: with SNP initialised the pages must be Firmware pages */
        st = psp_rmp_fw_writable(psp, raw, len, what, err);
    if (st)
        return st;
    uint8_t *tmp = malloc(len < CHUNK ? len : CHUNK);
    if (!tmp)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    for (uint64_t off = 0; off < len && !st; off += CHUNK) {
        size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
        /* Plaintext as the host wrote it (its key domain), then back under the guest's key. */
        if (psp->mem.read(psp->mem.ctx, dom, 0, pa + off, tmp, n, err) != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: reading host memory failed", what);
        else if (mc_hashctx_update(g->ld_ctx, tmp, n, err) != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: hashing failed", what);
        else
            st = psp_guest_write(psp, g, pa + off, tmp, n, err);
    }
    mc_wipe(tmp, len < CHUNK ? len : CHUNK);
    free(tmp);
    if (!st)
        g->ld_bytes += len;
    return st;
}

PSP_HANDLER(psp_cmd_launch_update_data) { return launch_update(psp, buf, g, false, err); }
PSP_HANDLER(psp_cmd_launch_update_vmsa) { return launch_update(psp, buf, g, true, err); }

/* ---- LAUNCH_MEASURE ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_launch_measure)
{
    uint64_t raw;
    uint32_t st = psp_out_buffer(psp, buf, F(mc_sev_launch_measure, measure_paddr),
                                 F(mc_sev_launch_measure, measure_len), MC_SEV_MEASURE_LEN, "LAUNCH_MEASURE", &raw, err);
    if (st)
        return st;
    uint8_t ld[32], out[MC_SEV_MEASURE_LEN], msg[4 + 4 + 32 + 16];
    size_t m = 0;
    if (mc_hashctx_peek(g->ld_ctx, ld, err) != MC_OK ||
        mc_rng_bytes(psp->rng, out + F(mc_sev_measurement, mnonce), 16, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "LAUNCH_MEASURE: internal failure");
    if (api_ver(psp) >= 0x0011) { /* API >= 0.17: context byte 0x04 and the firmware version */
        msg[m++] = 0x04;
        msg[m++] = psp->cfg.api_major;
        msg[m++] = psp->cfg.api_minor;
        msg[m++] = psp->cfg.build;
    }
    mc_put_le32(msg + m, g->policy);
    m += 4;
    memcpy(msg + m, ld, 32);
    m += 32;
    memcpy(msg + m, out + F(mc_sev_measurement, mnonce), 16);
    m += 16;
    if (mc_hmac_sha256(g->tik, sizeof g->tik, msg, m, out, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "LAUNCH_MEASURE: HMAC failed");
    st = psp_host_write(psp, raw, out, sizeof out, err);
    if (st)
        return st;
    memcpy(g->ld, ld, 32);
    g->ld_final = true;
    memcpy(g->measure, out, 32);
    mc_hashctx_destroy(g->ld_ctx);
    g->ld_ctx = NULL;
    psp_set_gstate(psp, g, MC_SEV_GSTATE_LSECRET);
    return MC_FW_SUCCESS;
}

/* ---- LAUNCH_SECRET ----------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_launch_secret)
{
    uint32_t st = psp_need_asid(g, "LAUNCH_SECRET", err);
    if (st)
        return st;
    struct psp_xfer_args x;
    psp_xfer_decode(buf, &x);
    uint64_t hdr_raw = x.hdr_raw, g_raw = x.g_raw, t_raw = x.t_raw;
    uint32_t hdr_len = x.hdr_len, g_len = x.g_len, t_len = x.t_len;
    if (g_raw & 15)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "LAUNCH_SECRET guest address 0x%llx is not 16-byte aligned",
                        (unsigned long long)g_raw);
    if (hdr_len != MC_SEV_PKT_HDR_LEN || g_len != t_len || g_len == 0 || (g_len & 15) || g_len > MC_SEV_TRANSFER_MAX)
        return psp_fail(err, MC_FW_INVALID_LENGTH,
                        "LAUNCH_SECRET lengths are invalid (header 0x%x must be 0x34; guest 0x%x = transport 0x%x, "
                        "non-zero multiple of 16, at most 0x5000)",
                        hdr_len, g_len, t_len);
    uint64_t gpa;
    st = guest_range(psp, g_raw, g_len, &gpa, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, g_raw, g_len, "LAUNCH_SECRET", err);
    if (st)
        return st;
    uint8_t hdr[MC_SEV_PKT_HDR_LEN];
    uint8_t *trans = malloc(t_len);
    if (!trans)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    st = psp_host_read(psp, hdr_raw, hdr, sizeof hdr, err);
    if (!st)
        st = psp_host_read(psp, t_raw, trans, t_len, err);
    if (st) {
        free(trans);
        return st;
    }
    /* MAC = HMAC-SHA256(TIK, 0x01 || FLAGS || IV || GUEST_LEN || TRANS_LEN || TRANS || MEASURE) */
    uint32_t flags = mc_le32(hdr + F(mc_sev_packet_hdr, flags));
    size_t mlen = 1 + 4 + 16 + 4 + 4 + (size_t)t_len + 32;
    uint8_t *msg = malloc(mlen);
    uint8_t mac[32];
    if (!msg) {
        free(trans);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    size_t m = 0;
    msg[m++] = 0x01;
    memcpy(msg + m, hdr + F(mc_sev_packet_hdr, flags), 4 + 16); /* FLAGS || IV, as given */
    m += 20;
    mc_put_le32(msg + m, g_len);
    mc_put_le32(msg + m + 4, t_len);
    m += 8;
    memcpy(msg + m, trans, t_len);
    m += t_len;
    if (api_ver(psp) >= 0x0011) { /* API < 0.17 did not bind the measurement */
        memcpy(msg + m, g->measure, 32);
        m += 32;
    }
    if (mc_hmac_sha256(g->tik, sizeof g->tik, msg, m, mac, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "LAUNCH_SECRET: HMAC failed");
    else if (!mc_ct_equal(mac, hdr + F(mc_sev_packet_hdr, mac), 32))
        st = psp_fail(err, MC_FW_BAD_MEASUREMENT, "LAUNCH_SECRET packet MAC does not verify");
    else if (flags & 1u)
        st = psp_fail(err, MC_FW_UNSUPPORTED, "compressed LAUNCH_SECRET packets are not supported");
    free(msg);
    if (!st && mc_aes128_ctr(g->tek, hdr + F(mc_sev_packet_hdr, iv), trans, trans, t_len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "LAUNCH_SECRET: decryption failed");
    if (!st)
        st = psp_guest_write(psp, g, gpa, trans, t_len, err);
    mc_wipe(trans, t_len);
    free(trans);
    return st;
}

/* ---- LAUNCH_FINISH ----------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_launch_finish)
{
    (void)buf;
    (void)err;
    mc_wipe(g->tek, sizeof g->tek);
    mc_wipe(g->tik, sizeof g->tik);
    mc_hashctx_destroy(g->ld_ctx);
    g->ld_ctx = NULL;
    g->activation_pending = false;
    psp_set_gstate(psp, g, MC_SEV_GSTATE_RUNNING);
    return MC_FW_SUCCESS;
}

/* ---- ATTESTATION ------------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_attestation)
{
    uint64_t raw;
    uint32_t st = psp_out_buffer(psp, buf, F(mc_sev_attestation, report_paddr), F(mc_sev_attestation, len),
                                 MC_SEV_REPORT_LEN, "ATTESTATION", &raw, err);
    if (st)
        return st;
    uint8_t rep[MC_SEV_REPORT_LEN] = {0};
    st = psp_id_attest(psp, buf + F(mc_sev_attestation, mnonce), g->ld, g->policy, rep, err);
    if (!st)
        st = psp_host_write(psp, raw, rep, sizeof rep, err);
    return st;
}

/* ---- ASIDs ------------------------------------------------------------------------------- */

static uint32_t activate(struct mc_psp *psp, struct psp_guest *g, uint32_t asid, struct mc_error *err)
{
    if (g->asid)
        return psp_fail(err, MC_FW_ACTIVE, "guest %u already has ASID %u", g->handle, g->asid);
    if (asid == 0 || asid > psp->cfg.max_asid)
        return psp_fail(err, MC_FW_INVALID_ASID, "ASID %u is outside 1..%u", asid, psp->cfg.max_asid);
    bool es = (g->policy & MC_SEV_POLICY_ES) != 0;
    if (es ? asid >= psp->cfg.min_sev_asid : asid < psp->cfg.min_sev_asid)
        return psp_fail(err, MC_FW_INVALID_ASID, "ASID %u is not in the %s range (%s)", asid, es ? "SEV-ES" : "SEV",
                        es ? "below the minimum SEV ASID" : "from the minimum SEV ASID up");
    if (psp->asid_owner[asid] == PSP_ASID_SNP)
        return psp_fail(err, MC_FW_ASID_OWNED, "ASID %u belongs to an SNP guest", asid);
    if (psp->asid_owner[asid])
        return psp_fail(err, MC_FW_ASID_OWNED, "ASID %u belongs to guest %u", asid, psp->asid_owner[asid]);
    if (psp->asid_dirty[asid])
        return psp_fail(err, MC_FW_DF_FLUSH_REQUIRED, "ASID %u was not flushed since its last use (WBINVD + DF_FLUSH)",
                        asid);
    mc_status bst = psp->mem.bind_key(psp->mem.ctx, asid, g->vek, PSP_VEK_LEN, err);
    if (bst != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s for ASID %u",
                        bst == MC_E_NOMEM ? "out of memory binding the key" : "the memory controller refused the key", asid);
    g->asid = asid;
    g->activation_pending = g->state != MC_SEV_GSTATE_RUNNING;
    psp->asid_owner[asid] = g->handle;
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_activate) { return activate(psp, g, mc_le32(buf + F(mc_sev_activate, asid)), err); }

PSP_HANDLER(psp_cmd_activate_ex)
{
    if (mc_le32(buf + F(mc_sev_activate_ex, ex_len)) != sizeof(struct mc_sev_activate_ex))
        return psp_fail(err, MC_FW_INVALID_PARAM, "ACTIVATE_EX ex_len must be 0x18");
    uint32_t n = mc_le32(buf + F(mc_sev_activate_ex, numids));
    if (n == 0 || n > 1024)
        return psp_fail(err, MC_FW_INVALID_PARAM, "ACTIVATE_EX numids %u is outside 1..1024", n);
    enum mc_psp_dom dom;
    uint64_t pa;
    uint32_t st = psp_host_addr(psp, mc_le64(buf + F(mc_sev_activate_ex, ids_paddr)), 4ull * n, &dom, &pa, err);
    if (st)
        return st;
    return activate(psp, g, mc_le32(buf + F(mc_sev_activate_ex, asid)), err);
}

PSP_HANDLER(psp_cmd_deactivate)
{
    (void)buf;
    if (!g->asid)
        return psp_fail(err, MC_FW_INACTIVE, "guest %u has no ASID", g->handle);
    if (psp->mem.unbind_key(psp->mem.ctx, g->asid, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "the memory controller could not drop ASID %u", g->asid);
    psp->asid_owner[g->asid] = 0;
    psp->asid_dirty[g->asid] = 1;
    psp->wbinvd_needed = psp->cfg.num_cores == 64 ? ~0ull : ((1ull << psp->cfg.num_cores) - 1);
    g->asid = 0;
    g->activation_pending = false;
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_decommission)
{
    (void)buf;
    if (g->asid)
        return psp_fail(err, MC_FW_ACTIVE, "guest %u still has ASID %u (DEACTIVATE first)", g->handle, g->asid);
    psp_set_gstate(psp, g, MC_SEV_GSTATE_UNINIT);
    psp->guests[g->handle] = NULL;
    psp_guest_free(g);
    psp->guest_count--;
    if (psp->guest_count == 0)
        psp_set_pstate(psp, MC_SEV_PSTATE_INIT);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_guest_status)
{
    (void)g;
    (void)err;
    /* An unknown handle is not an error in AMD's firmware: SUCCESS with state 0. */
    const struct psp_guest *x = psp_guest_get(psp, mc_le32(buf + F(mc_sev_guest_status, handle)));
    mc_put_le32(buf + F(mc_sev_guest_status, policy), x ? x->policy : 0);
    mc_put_le32(buf + F(mc_sev_guest_status, asid), x ? x->asid : 0);
    buf[F(mc_sev_guest_status, state)] = x ? (uint8_t)x->state : 0;
    return MC_FW_SUCCESS;
}

/* ---- COPY -------------------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_copy)
{
    uint32_t st = psp_need_asid(g, "COPY", err);
    if (st)
        return st;
    uint32_t len = mc_le32(buf + F(mc_sev_copy, length));
    uint64_t s_raw = mc_le64(buf + F(mc_sev_copy, src_paddr)), d_raw = mc_le64(buf + F(mc_sev_copy, dst_paddr));
    if (len == 0 || (len & 0xFFFu))
        return psp_fail(err, MC_FW_INVALID_LENGTH, "COPY length 0x%x is not a non-zero multiple of 4096", len);
    if ((s_raw | d_raw) & 0xFFFu)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "COPY addresses must be 4 KiB aligned");
    uint64_t src, dst;
    st = guest_range(psp, s_raw, len, &src, err);
    if (!st)
        st = guest_range(psp, d_raw, len, &dst, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, d_raw, len, "COPY", err);
    if (st)
        return st;
    if (src == dst || (src < dst + 4096 && dst < src + 4096))
        return MC_FW_SUCCESS; /* overlapping first pages: nothing to do (AMD firmware behaviour) */
    uint8_t page[4096];
    uint32_t pages = len / 4096;
    bool backwards = dst > src && dst < src + len; /* memmove order */
    for (uint32_t i = 0; i < pages && !st; i++) {
        uint64_t off = 4096ull * (backwards ? pages - 1 - i : i);
        st = psp_guest_read(psp, g, src + off, page, sizeof page, err);
        if (!st)
            st = psp_guest_write(psp, g, dst + off, page, sizeof page, err);
    }
    mc_wipe(page, sizeof page);
    return st;
}

/* ---- DBG_DECRYPT / DBG_ENCRYPT ----------------------------------------------------------- */

static uint32_t dbg(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, bool enc, struct mc_error *err)
{
    const char *what = enc ? "DBG_ENCRYPT" : "DBG_DECRYPT";
    if (g->policy & MC_SEV_POLICY_NODBG)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "%s refused: guest %u policy has NODBG", what, g->handle);
    uint32_t st = psp_need_asid(g, what, err);
    if (st)
        return st;
    uint64_t s_raw = mc_le64(buf + F(mc_sev_dbg, src_paddr)), d_raw = mc_le64(buf + F(mc_sev_dbg, dst_paddr));
    uint32_t len = mc_le32(buf + F(mc_sev_dbg, len));
    if ((s_raw | d_raw) & 15)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s addresses must be 16-byte aligned", what);
    /* The digest only says "multiple of 16"; a zero length transfers nothing and is refused here
     * (INVALID_LENGTH) rather than reported as a successful no-op. */
    if (len == 0 || (len & 15))
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s length 0x%x is not a non-zero multiple of 16", what, len);
    enum mc_psp_dom sdom, ddom;
    uint64_t src, dst;
    st = psp_host_addr(psp, s_raw, len, &sdom, &src, err);
    if (!st)
        st = psp_host_addr(psp, d_raw, len, &ddom, &dst, err);
    if (!st)
        st = psp_rmp_fw_writable(psp, d_raw, len, what, err);
    if (st)
        return st;
    uint8_t *tmp = malloc(len < CHUNK ? len : CHUNK);
    if (!tmp)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    for (uint64_t off = 0; off < len && !st; off += CHUNK) {
        size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
        if (enc) {
            if (psp->mem.read(psp->mem.ctx, sdom, 0, src + off, tmp, n, err) != MC_OK)
                st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: reading host memory failed", what);
            else
                st = psp_guest_write(psp, g, dst + off, tmp, n, err);
        } else {
            st = psp_guest_read(psp, g, src + off, tmp, n, err);
            if (!st && psp->mem.write(psp->mem.ctx, ddom, 0, dst + off, tmp, n, err) != MC_OK)
                st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: writing host memory failed", what);
        }
    }
    mc_wipe(tmp, len < CHUNK ? len : CHUNK);
    free(tmp);
    return st;
}

PSP_HANDLER(psp_cmd_dbg_decrypt) { return dbg(psp, buf, g, false, err); }
PSP_HANDLER(psp_cmd_dbg_encrypt) { return dbg(psp, buf, g, true, err); }
