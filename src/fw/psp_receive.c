/* The target side of migration (digest §13): RECEIVE_UPDATE_DATA / RECEIVE_UPDATE_VMSA (every
 * check, the packet MAC under the TIK and — with memcrypt's extended header — the stream's order
 * and transfer measurement, all before a byte is written; then the data decrypted with the TEK
 * and written through the memory port under the new guest's ASID key, the one path every
 * firmware write takes) and RECEIVE_FINISH. RECEIVE_START is psp_guest.c's (it shares
 * LAUNCH_START's guest creation). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_session.h>

#include "crypto/chan.h"
#include "crypto/crypto.h"
#include "fw/psp_cmds.h"
#include "fw/psp_int.h"
#include "fw/psp_rmp.h"

#define F(S, f) offsetof(struct S, f)

static uint32_t receive_update(struct mc_psp *psp, uint8_t *buf, struct psp_guest *g, bool vmsa, struct mc_error *err)
{
    const char *what = vmsa ? "RECEIVE_UPDATE_VMSA" : "RECEIVE_UPDATE_DATA";
    struct psp_xfer_args x;
    psp_xfer_decode(buf, &x);
    uint64_t hdr_raw = x.hdr_raw, g_raw = x.g_raw, t_raw = x.t_raw;
    uint32_t hdr_len = x.hdr_len, g_len = x.g_len, t_len = x.t_len;
    uint32_t st = psp_xfer_checks(g, what, vmsa, hdr_len, g_len, t_len, true, g_raw, err);
    if (st)
        return st;
    bool ext = hdr_len >= MC_SEV_PKT_HDR_EXT_LEN;
    uint32_t hlen = ext ? MC_SEV_PKT_HDR_EXT_LEN : MC_SEV_PKT_HDR_LEN;
    enum mc_psp_dom dom;
    uint64_t gpa, tpa, hpa;
    if ((st = psp_host_addr(psp, g_raw, g_len, &dom, &gpa, err)) ||
        (st = psp_host_addr(psp, t_raw, t_len, &dom, &tpa, err)) ||
        (st = psp_host_addr(psp, hdr_raw, hlen, &dom, &hpa, err)) ||
        (st = psp_rmp_fw_writable(psp, g_raw, g_len, what, err)))
        return st;
    if ((st = psp_xfer_chan(g, what, err)))
        return st;
    uint8_t hdr[MC_SEV_PKT_HDR_EXT_LEN], pre[MC_SEV_PACKET_MAC_PREFIX];
    uint8_t *trans = malloc(t_len), mac[32], rm[32];
    if (!trans)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    uint32_t flags = 0, seq = 0, xflags = 0;
    st = psp_host_read(psp, hdr_raw, hdr, hlen, err);
    if (!st)
        st = psp_host_read(psp, t_raw, trans, t_len, err);
    if (!st) {
        flags = mc_le32(hdr + F(mc_sev_packet_hdr, flags));
        mc_sev_packet_mac_prefix(pre, MC_SEV_PACKET_CTX_DATA, flags, hdr + F(mc_sev_packet_hdr, iv), g_len, t_len);
        if (mc_chan_mac(g->chan, pre, sizeof pre, trans, t_len, mac, err) != MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: HMAC failed", what);
        else if (!mc_ct_equal(mac, hdr + F(mc_sev_packet_hdr, mac), 32))
            st = psp_fail(err, MC_FW_BAD_MEASUREMENT, "%s: the packet MAC does not verify", what);
        else if (flags & 1u)
            st = psp_fail(err, MC_FW_UNSUPPORTED, "%s: compressed packets are not supported", what);
    }
    if (!st && ext) {
        seq = mc_le32(hdr + F(mc_sev_packet_hdr_ext, seq));
        xflags = mc_le32(hdr + F(mc_sev_packet_hdr_ext, xflags));
        if (seq != g->xfer.seq + 1)
            st = psp_fail(err, MC_FW_BAD_MEASUREMENT,
                          "%s: packet %u arrived where packet %u was due (replayed, reordered or lost)", what, seq,
                          g->xfer.seq + 1);
        else if (xflags & ~MC_SEV_PKT_XFLAG_FINAL)
            st = psp_fail(err, MC_FW_BAD_MEASUREMENT, "%s: unknown stream flags 0x%x", what, xflags);
        else if (psp_xfer_measure(g, seq, xflags, mc_le64(hdr + F(mc_sev_packet_hdr_ext, where)), mac, rm, err) !=
                 MC_OK)
            st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: HMAC failed", what);
        else if (!mc_ct_equal(rm, hdr + F(mc_sev_packet_hdr_ext, rm), 32))
            st = psp_fail(err, MC_FW_BAD_MEASUREMENT,
                          "%s: the transfer measurement differs from the sender's (the stream was altered)", what);
    }
    /* Only now, with everything checked, is the guest's memory written. */
    if (!st && mc_chan_ctr(g->chan, hdr + F(mc_sev_packet_hdr, iv), trans, trans, t_len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: decryption failed", what);
    if (!st)
        st = psp_guest_write(psp, g, gpa, trans, g_len, err);
    mc_wipe(trans, t_len);
    free(trans);
    if (st)
        return st;
    g->xfer.mode = ext ? 2 : 1;
    g->xfer.seq++;
    if (ext) {
        memcpy(g->xfer.rm, rm, 32);
        g->xfer.final = xflags & MC_SEV_PKT_XFLAG_FINAL;
    }
    return MC_FW_SUCCESS;
}

PSP_HANDLER(psp_cmd_receive_update_data) { return receive_update(psp, buf, g, false, err); }
PSP_HANDLER(psp_cmd_receive_update_vmsa) { return receive_update(psp, buf, g, true, err); }

/* RECEIVE_FINISH: RUPDATE -> RUNNING, the pending activation takes effect, the channel keys are
 * erased. With memcrypt's extended headers the stream must have ended with the sender's FINAL
 * packet, whose transfer measurement (over every packet, in order) equalled the one computed here
 * over what was received; otherwise BAD_MEASUREMENT and nothing changes. */
PSP_HANDLER(psp_cmd_receive_finish)
{
    (void)buf;
    if (g->xfer.mode == 2 && !g->xfer.final)
        return psp_fail(err, MC_FW_BAD_MEASUREMENT,
                        "RECEIVE_FINISH: the stream ended after packet %u without the sender's FINAL packet (truncated)",
                        g->xfer.seq);
    psp_xfer_end(g);
    g->activation_pending = false;
    psp_set_gstate(psp, g, MC_SEV_GSTATE_RUNNING);
    return MC_FW_SUCCESS;
}
