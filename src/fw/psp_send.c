/* The source side of migration (digest §13): SEND_START (the length query, NOSEND, the target's
 * PDH, with the SEV / DOMAIN policy bits the target's certificate chains and API version, then
 * the transport session: this platform's PDH private key with the target's PDH, fresh TEK/TIK
 * wrapped as LAUNCH_START's session is), SEND_UPDATE_DATA / SEND_UPDATE_VMSA (a guest range read
 * with the guest's key, re-encrypted under the TEK, MACed under the TIK; the guest's memory is
 * only read), SEND_FINISH and SEND_CANCEL. The target side is psp_receive.c. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_session.h>

#include "crypto/chan.h"
#include "crypto/crypto.h"

#include "fw/psp_cmds.h"
#include "fw/psp_int.h"

#define F(S, f) offsetof(struct S, f)

/* ASK || ARK sizes: a certificate is 0x40 + exponent + modulus + the signer's modulus. */
static bool amd_chain_len_ok(uint32_t n)
{
    return n == 0x340 + 0x340 || n == 0x440 + 0x640 || n == 0x540 + 0x340 || n == 0x640 + 0x640;
}

static uint32_t parse(const uint8_t *b, uint32_t usage, struct mc_sev_cert *c, const char *what, struct mc_error *err)
{
    mc_status ps = mc_sev_cert_parse(b, MC_SEV_CERT_LEN, c, NULL);
    if (ps == MC_E_NOMEM)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "SEND_START: out of memory parsing the target's %s certificate",
                        what);
    if (ps != MC_OK || c->usage != usage)
        return psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the target's %s certificate is malformed", what);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_send_start)
{
    uint32_t ses_len = mc_le32(buf + F(mc_sev_send_start, session_len));
    mc_put_le32(buf + F(mc_sev_send_start, session_len), MC_SEV_SESSION_LEN);
    if (ses_len != MC_SEV_SESSION_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the session buffer must be 0x80 bytes");
    if (g->policy & MC_SEV_POLICY_NOSEND)
        return psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused: guest %u policy has NOSEND", g->handle);
    if (mc_le32(buf + F(mc_sev_send_start, pdh_cert_len)) != MC_SEV_CERT_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the target PDH certificate must be 0x824 bytes");
    enum mc_psp_dom dom;
    uint64_t spa;
    uint32_t st = psp_host_addr(psp, mc_le64(buf + F(mc_sev_send_start, session_paddr)), MC_SEV_SESSION_LEN, &dom,
                                &spa, err);
    if (st)
        return st;
    uint8_t *mem = malloc(MC_SEV_CERT_LEN + MC_SEV_CHAIN_LEN + 0xC80);
    struct mc_sev_cert *c = malloc(4 * sizeof *c); /* PDH, PEK, OCA, CEK */
    struct mc_amd_cert *amd = malloc(2 * sizeof *amd); /* ASK, ARK */
    if (!mem || !c || !amd) {
        free(mem);
        free(c);
        free(amd);
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    }
    uint8_t *pdh = mem, *chain = mem + MC_SEV_CERT_LEN, *amdb = chain + MC_SEV_CHAIN_LEN;
    st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, pdh_cert_paddr)), pdh, MC_SEV_CERT_LEN, err);
    if (!st)
        st = parse(pdh, MC_SEV_USAGE_PDH, &c[0], "PDH", err);
    if (!st && c[0].algo != MC_SEV_ALGO_ECDH_SHA256 && c[0].algo != MC_SEV_ALGO_ECDH_SHA384)
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the target PDH is not an ECDH key");
    bool sev = g->policy & MC_SEV_POLICY_SEV, domain = g->policy & MC_SEV_POLICY_DOMAIN;
    if (!st && (sev || domain)) {
        if (mc_le32(buf + F(mc_sev_send_start, plat_certs_len)) != MC_SEV_CHAIN_LEN)
            st = psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: the target chain PEK||OCA||CEK must be 0x186C bytes");
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, plat_certs_paddr)), chain, MC_SEV_CHAIN_LEN,
                               err);
        if (!st)
            st = parse(chain, MC_SEV_USAGE_PEK, &c[1], "PEK", err);
        if (!st)
            st = parse(chain + MC_SEV_CERT_LEN, MC_SEV_USAGE_OCA, &c[2], "OCA", err);
        if (!st)
            st = parse(chain + 2 * MC_SEV_CERT_LEN, MC_SEV_USAGE_CEK, &c[3], "CEK", err);
        if (!st && mc_sev_cert_verify(&c[0], &c[1], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the target PDH is not signed by its PEK");
    }
    if (!st && domain) {
        uint8_t own[MC_SEV_CERT_LEN];
        if (mc_sev_cert_verify(&c[1], &c[2], NULL) != MC_OK || mc_sev_cert_verify(&c[2], &c[2], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the target PEK is not signed by a valid OCA");
        else if ((st = psp_id_oca_cert(psp, own, err)) == MC_FW_SUCCESS &&
                 memcmp(own, chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN) != 0)
            st = psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused (DOMAIN): the target has another owner (OCA)");
    }
    if (!st && sev) {
        uint32_t n = mc_le32(buf + F(mc_sev_send_start, amd_certs_len));
        if (!amd_chain_len_ok(n))
            st = psp_fail(err, MC_FW_INVALID_LENGTH, "SEND_START: 0x%x is not the size of an ASK||ARK chain", n);
        if (!st)
            st = psp_host_read(psp, mc_le64(buf + F(mc_sev_send_start, amd_certs_paddr)), amdb, n, err);
        if (!st && mc_amd_chain_parse(amdb, n, &amd[0], &amd[1], NULL) != MC_OK)
            st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the ASK||ARK chain is malformed");
        /* AMD's firmware compares the ARK with a fused hash. The emulator accepts AMD's real roots
         * and memcrypt's emulated roots (marked "MEMCRYPT-EMU"), since every emulated chip has one. */
        if (!st && !mc_sev_root_match_ark(&amd[1]) && !mc_amd_cert_is_emulated(&amd[1]))
            st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "SEND_START: the ARK is neither AMD's nor an emulated root");
        if (!st && (mc_amd_cert_verify(&amd[1], &amd[1], NULL) != MC_OK ||
                    mc_amd_cert_verify(&amd[0], &amd[1], NULL) != MC_OK ||
                    mc_sev_cert_verify_by_ask(&c[3], &amd[0], NULL) != MC_OK ||
                    mc_sev_cert_verify(&c[1], &c[3], NULL) != MC_OK))
            st = psp_fail(err, MC_FW_BAD_SIGNATURE, "SEND_START: the chain PEK <- CEK <- ASK <- ARK does not verify");
        uint32_t want = (MC_SEV_POLICY_API_MAJOR(g->policy) << 8) | MC_SEV_POLICY_API_MINOR(g->policy);
        if (!st && (((uint32_t)c[1].api_major << 8) | c[1].api_minor) < want)
            st = psp_fail(err, MC_FW_POLICY_FAILURE, "SEND_START refused (SEV): the target firmware is API %u.%u, the "
                                                     "policy needs %u.%u",
                          c[1].api_major, c[1].api_minor, MC_SEV_POLICY_API_MAJOR(g->policy),
                          MC_SEV_POLICY_API_MINOR(g->policy));
    }
    uint8_t ses[MC_SEV_SESSION_LEN], tek[16], tik[16];
    if (!st)
        st = psp_id_make_session(psp, pdh, g->policy, ses, tek, tik, err);
    if (!st)
        st = psp_host_write(psp, mc_le64(buf + F(mc_sev_send_start, session_paddr)), ses, sizeof ses, err);
    if (!st) {
        psp_xfer_end(g);
        memcpy(g->tek, tek, 16);
        memcpy(g->tik, tik, 16);
        mc_put_le32(buf + F(mc_sev_send_start, policy), g->policy);
        psp_set_gstate(psp, g, MC_SEV_GSTATE_SUPDATE);
    }
    mc_wipe(tek, sizeof tek);
    mc_wipe(tik, sizeof tik);
    free(mem);
    free(c);
    free(amd);
    return st;
}

/* ---- SEND_UPDATE_DATA / SEND_UPDATE_VMSA ---------------------------------------------------- */

void psp_xfer_decode(const uint8_t *buf, struct psp_xfer_args *a)
{
    a->hdr_raw = mc_le64(buf + F(mc_sev_transport, hdr_paddr));
    a->hdr_len = mc_le32(buf + F(mc_sev_transport, hdr_len));
    a->g_raw = mc_le64(buf + F(mc_sev_transport, guest_paddr));
    a->g_len = mc_le32(buf + F(mc_sev_transport, guest_len));
    a->t_raw = mc_le64(buf + F(mc_sev_transport, trans_paddr));
    a->t_len = mc_le32(buf + F(mc_sev_transport, trans_len));
}

uint32_t psp_xfer_chan(struct psp_guest *g, const char *what, struct mc_error *err)
{
    if (g->chan)
        return MC_FW_SUCCESS;
    mc_status cs = mc_chan_create(g->tek, g->tik, &g->chan, err);
    if (cs != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: %s", what,
                        cs == MC_E_NOMEM ? "out of memory loading the transport keys"
                                         : "the transport keys could not be loaded");
    return MC_FW_SUCCESS;
}

mc_status psp_xfer_measure(struct psp_guest *g, uint32_t seq, uint32_t xflags, uint64_t where, const uint8_t mac[32],
                           uint8_t rm[32], struct mc_error *err)
{
    uint8_t msg[MC_SEV_XFER_MSG_LEN];
    mc_sev_xfer_measure_msg(msg, seq, xflags, where, g->xfer.rm, mac);
    return mc_chan_mac(g->chan, msg, sizeof msg, NULL, 0, rm, err);
}

void psp_xfer_end(struct psp_guest *g)
{
    mc_chan_destroy(g->chan);
    g->chan = NULL;
    mc_wipe(g->tek, sizeof g->tek);
    mc_wipe(g->tik, sizeof g->tik);
    memset(&g->xfer, 0, sizeof g->xfer);
}

/* The checks both directions share, in the firmware's order after the ASID: the header size
 * (at least 0x34; 0x64 and more selects memcrypt's extended header, and a stream keeps the
 * mode of its first packet), the lengths, the guest address's alignment. */
uint32_t psp_xfer_checks(const struct psp_guest *g, const char *what, bool vmsa, uint32_t hdr_len, uint32_t g_len,
                         uint32_t t_len, bool receive, uint64_t g_raw, struct mc_error *err)
{
    if (vmsa && !(g->policy & MC_SEV_POLICY_ES))
        return psp_fail(err, MC_FW_UNSUPPORTED, "%s needs an SEV-ES guest (policy ES)", what);
    uint32_t st = psp_need_asid(g, what, err);
    if (st)
        return st;
    if (hdr_len < MC_SEV_PKT_HDR_LEN)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s: the header buffer is 0x%x bytes, it needs 0x34", what, hdr_len);
    if (g_len == 0 || (g_len & 15) || g_len > MC_SEV_TRANSFER_MAX)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s: guest length 0x%x is not a non-zero multiple of 16 up to 0x5000",
                        what, g_len);
    if (vmsa && g_len != 0x1000)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s: a VMSA is 0x1000 bytes, not 0x%x", what, g_len);
    if (receive ? t_len != g_len : t_len < g_len)
        return psp_fail(err, MC_FW_INVALID_LENGTH, "%s: transport length 0x%x must %s guest length 0x%x", what, t_len,
                        receive ? "equal the" : "be at least the", g_len);
    if (g_raw & 15)
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s guest address 0x%llx is not 16-byte aligned", what,
                        (unsigned long long)g_raw);
    uint32_t mode = hdr_len >= MC_SEV_PKT_HDR_EXT_LEN ? 2 : 1;
    if (g->xfer.mode && g->xfer.mode != mode)
        return psp_fail(err, MC_FW_INVALID_PARAM, "%s: this stream uses %s headers (0x%x bytes given)", what,
                        g->xfer.mode == 2 ? "extended 0x64-byte" : "0x34-byte", hdr_len);
    if (g->xfer.final)
        return psp_fail(err, receive ? MC_FW_BAD_MEASUREMENT : MC_FW_INVALID_PARAM,
                        "%s: the stream was closed by its FINAL packet", what);
    return MC_FW_SUCCESS;
}

static uint32_t send_update(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, bool vmsa, struct mc_error *err)
{
    const char *what = vmsa ? "SEND_UPDATE_VMSA" : "SEND_UPDATE_DATA";
    struct psp_xfer_args x;
    psp_xfer_decode(buf, &x);
    uint64_t hdr_raw = x.hdr_raw, g_raw = x.g_raw, t_raw = x.t_raw;
    uint32_t hdr_len = x.hdr_len, g_len = x.g_len, t_len = x.t_len;
    uint32_t st = psp_xfer_checks(g, what, vmsa, hdr_len, g_len, t_len, false, g_raw, err);
    if (st == MC_FW_INVALID_LENGTH && hdr_len < MC_SEV_PKT_HDR_LEN)
        mc_put_le32(buf + F(mc_sev_transport, hdr_len), MC_SEV_PKT_HDR_LEN); /* the size query */
    if (st)
        return st;
    bool ext = hdr_len >= MC_SEV_PKT_HDR_EXT_LEN;
    uint32_t hlen = ext ? MC_SEV_PKT_HDR_EXT_LEN : MC_SEV_PKT_HDR_LEN;
    enum mc_psp_dom dom;
    uint64_t gpa, tpa, hpa;
    if ((st = psp_host_addr(psp, g_raw, g_len, &dom, &gpa, err)) ||
        (st = psp_host_addr(psp, t_raw, g_len, &dom, &tpa, err)) ||
        (st = psp_host_addr(psp, hdr_raw, hlen, &dom, &hpa, err)))
        return st;
    uint8_t hdr[MC_SEV_PKT_HDR_EXT_LEN] = {0};
    uint32_t xflags = 0;
    uint64_t where = 0;
    if (ext) { /* FINAL and where are the host's: read them from the header buffer */
        if ((st = psp_host_read(psp, hdr_raw + F(mc_sev_packet_hdr_ext, xflags), hdr, 12, err)))
            return st;
        xflags = mc_le32(hdr) & MC_SEV_PKT_XFLAG_FINAL;
        where = mc_le64(hdr + 4);
    }
    if ((st = psp_xfer_chan(g, what, err)))
        return st;
    uint8_t *trans = malloc(g_len), iv[16], mac[32], rm[32], pre[MC_SEV_PACKET_MAC_PREFIX];
    if (!trans)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    st = psp_guest_read(psp, g, gpa, trans, g_len, err);
    if (!st && mc_rng_bytes(psp->rng, iv, sizeof iv, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: the random generator failed", what);
    if (!st && mc_chan_ctr(g->chan, iv, trans, trans, g_len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: encryption failed", what);
    if (!st) {
        /* No compression: FLAGS = 0 and TRANS_LEN = GUEST_LEN (AMD's firmware). */
        mc_sev_packet_mac_prefix(pre, MC_SEV_PACKET_CTX_DATA, 0, iv, g_len, g_len);
        if (mc_chan_mac(g->chan, pre, sizeof pre, trans, g_len, mac, err) != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: HMAC failed", what);
    }
    if (!st && ext && psp_xfer_measure(g, g->xfer.seq + 1, xflags, where, mac, rm, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: HMAC failed", what);
    if (!st) {
        mc_put_le32(hdr + F(mc_sev_packet_hdr, flags), 0);
        memcpy(hdr + F(mc_sev_packet_hdr, iv), iv, 16);
        memcpy(hdr + F(mc_sev_packet_hdr, mac), mac, 32);
        if (ext) {
            mc_put_le32(hdr + F(mc_sev_packet_hdr_ext, seq), g->xfer.seq + 1);
            mc_put_le32(hdr + F(mc_sev_packet_hdr_ext, xflags), xflags);
            mc_put_le64(hdr + F(mc_sev_packet_hdr_ext, where), where);
            memcpy(hdr + F(mc_sev_packet_hdr_ext, rm), rm, 32);
        }
        st = psp_host_write(psp, t_raw, trans, g_len, err);
    }
    if (!st)
        st = psp_host_write(psp, hdr_raw, hdr, hlen, err);
    free(trans);
    if (st)
        return st;
    g->xfer.mode = ext ? 2 : 1;
    g->xfer.seq++;
    if (ext) {
        memcpy(g->xfer.rm, rm, 32);
        g->xfer.final = xflags & MC_SEV_PKT_XFLAG_FINAL;
    }
    mc_put_le32(buf + F(mc_sev_transport, hdr_len), hlen);
    mc_put_le32(buf + F(mc_sev_transport, trans_len), g_len);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_send_update_data) { return send_update(psp, buf, g, false, err); }
PSP_HANDLER(psp_cmd_send_update_vmsa) { return send_update(psp, buf, g, true, err); }

/* SEND_FINISH (-> SENT) and SEND_CANCEL (-> RUNNING): both erase the channel keys (AMD firmware). */
PSP_HANDLER(psp_cmd_send_finish)
{
    (void)buf;
    (void)err;
    psp_xfer_end(g);
    psp_set_gstate(psp, g, MC_SEV_GSTATE_SENT);
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_send_cancel)
{
    (void)buf;
    (void)err;
    psp_xfer_end(g);
    psp_set_gstate(psp, g, MC_SEV_GSTATE_RUNNING);
    return MC_FW_SUCCESS;
}
