/* SEV-SNP guest messages: header, AES-256-GCM seal/open, the firmware's header/sequence rules,
 * and the payloads of MSG_REPORT, MSG_KEY, MSG_TSC_INFO and the migration messages.
 * Layouts pinned below from the digest (§6) and the ASPFW source's structures; check order and
 * status codes as ASPFW's snp_mcmd_guest_request. */
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_verify.h>

#include "crypto/crypto.h"
#include "crypto/gcm.h"
#include "crypto/kdf.h"

/* ---- header (0x60) ---- */
enum { H_TAG = 0x00, H_SEQNO = 0x20, H_RSVD0 = 0x28, H_ALGO = 0x30, H_HDR_VER = 0x31, H_HDR_SZ = 0x32,
       H_TYPE = 0x34, H_MSG_VER = 0x35, H_MSG_SZ = 0x36, H_RSVD1 = 0x38, H_VMPCK = 0x3C, H_RSVD2 = 0x3D,
       H_END = 0x60, H_AAD = H_ALGO };
_Static_assert(H_SEQNO == H_TAG + 32 && H_RSVD0 == H_SEQNO + 8 && H_ALGO == H_RSVD0 + 8, "message header layout");
_Static_assert(H_HDR_VER == H_ALGO + 1 && H_HDR_SZ == H_HDR_VER + 1 && H_TYPE == H_HDR_SZ + 2, "message header layout");
_Static_assert(H_MSG_VER == H_TYPE + 1 && H_MSG_SZ == H_MSG_VER + 1 && H_RSVD1 == H_MSG_SZ + 2, "message header layout");
_Static_assert(H_VMPCK == H_RSVD1 + 4 && H_RSVD2 == H_VMPCK + 1 && H_END == H_RSVD2 + 35, "message header layout");
_Static_assert(H_END == MC_SNP_MSG_HDR_SIZE && H_END - H_AAD == 48, "message header size and AAD");

/* ---- payloads ---- */
enum { RQ_DATA = 0x00, RQ_VMPL = 0x40, RQ_KEYSEL = 0x44, RQ_RSVD = 0x48, RQ_END = 0x60 };
_Static_assert(RQ_VMPL == RQ_DATA + 64 && RQ_KEYSEL == RQ_VMPL + 4 && RQ_RSVD == RQ_KEYSEL + 4, "REPORT_REQ layout");
_Static_assert(RQ_END == MC_SNP_REPORT_REQ_SIZE, "REPORT_REQ size");
enum { RS_STATUS = 0x00, RS_SIZE = 0x04, RS_RSVD = 0x08, RS_REPORT = 0x20, RS_END = 0x4C0 };
_Static_assert(RS_SIZE == RS_STATUS + 4 && RS_RSVD == RS_SIZE + 4 && RS_REPORT == 0x20, "REPORT_RSP layout");
_Static_assert(RS_END == RS_REPORT + MC_SNP_REPORT_SIZE && RS_END == MC_SNP_REPORT_RSP_SIZE, "REPORT_RSP size");
enum { KQ_SEL = 0x00, KQ_RSVD = 0x04, KQ_GFS = 0x08, KQ_VMPL = 0x10, KQ_SVN = 0x14, KQ_TCB = 0x18, KQ_MIT = 0x20,
       KQ_END = 0x28 };
_Static_assert(KQ_RSVD == KQ_SEL + 4 && KQ_GFS == KQ_RSVD + 4 && KQ_VMPL == KQ_GFS + 8, "KEY_REQ layout");
_Static_assert(KQ_SVN == KQ_VMPL + 4 && KQ_TCB == KQ_SVN + 4 && KQ_MIT == KQ_TCB + 8, "KEY_REQ layout");
_Static_assert(KQ_MIT == MC_SNP_KEY_REQ_SIZE && KQ_END == MC_SNP_KEY_REQ_SIZE_MIT, "KEY_REQ size");
enum { KS_STATUS = 0x00, KS_RSVD = 0x04, KS_KEY = 0x20, KS_END = 0x40 };
_Static_assert(KS_KEY == 0x20 && KS_END == KS_KEY + 32 && KS_END == MC_SNP_KEY_RSP_SIZE, "KEY_RSP layout");
enum { TS_STATUS = 0x00, TS_RSVD = 0x04, TS_SCALE = 0x08, TS_OFFSET = 0x10, TS_FACTOR = 0x18, TS_RSVD2 = 0x1C,
       TS_END = 0x80 };
_Static_assert(TS_SCALE == TS_RSVD + 4 && TS_OFFSET == TS_SCALE + 8 && TS_FACTOR == TS_OFFSET + 8, "TSC_INFO_RSP layout");
_Static_assert(TS_RSVD2 == TS_FACTOR + 4 && TS_END == MC_SNP_TSC_INFO_SIZE, "TSC_INFO_RSP size");

/* MIX_DATA: the derived key's context (memcrypt's layout; ASPFW snp_mix_data_t with full-width
 * measurement and key digests, and LAUNCH_MIT_VECTOR appended). */
enum { MX_SEL = 0x00, MX_RSVD = 0x04, MX_GFS = 0x08, MX_VMPL = 0x10, MX_SVN = 0x14, MX_TCB = 0x18,
       MX_POLICY = 0x20, MX_IMAGE = 0x28, MX_FAMILY = 0x38, MX_MEAS = 0x48, MX_HOST = 0x78, MX_IDKEY = 0x98,
       MX_MIT = 0xC8, MX_END = 0xD0 };
_Static_assert(MX_GFS == MX_RSVD + 4 && MX_VMPL == MX_GFS + 8 && MX_SVN == MX_VMPL + 4 && MX_TCB == MX_SVN + 4, "MIX_DATA");
_Static_assert(MX_POLICY == MX_TCB + 8 && MX_IMAGE == MX_POLICY + 8 && MX_FAMILY == MX_IMAGE + 16, "MIX_DATA");
_Static_assert(MX_MEAS == MX_FAMILY + 16 && MX_HOST == MX_MEAS + 48 && MX_IDKEY == MX_HOST + 32, "MIX_DATA");
_Static_assert(MX_MIT == MX_IDKEY + 48 && MX_END == MX_MIT + 8, "MIX_DATA");

/* Migration GCTX (0x300, ASPFW snp_msg_gctx_t). */
enum { G_LD = 0x000, G_OEK = 0x030, G_VMPCK = 0x050, G_VMRK = 0x0D0, G_HOST = 0x0F0, G_IDKEY = 0x110,
       G_AUTHKEY = 0x140, G_REPORT_ID = 0x170, G_IMD = 0x190, G_COUNT = 0x1C0, G_ROOT_MD = 0x1E0, G_FLAGS = 0x220,
       G_POLICY = 0x228, G_STATE = 0x230, G_OEK_IV = 0x238, G_ID_BLOCK = 0x240, G_GOSVW = 0x2A0, G_TSC = 0x2B0,
       G_TSC_OFF = 0x2B8, G_LAUNCH_TCB = 0x2C0, G_END = 0x300 };
_Static_assert(G_OEK == G_LD + 48 && G_VMPCK == G_OEK + 32 && G_VMRK == G_VMPCK + 4 * 32, "migration GCTX");
_Static_assert(G_HOST == G_VMRK + 32 && G_IDKEY == G_HOST + 32 && G_AUTHKEY == G_IDKEY + 48, "migration GCTX");
_Static_assert(G_REPORT_ID == G_AUTHKEY + 48 && G_IMD == G_REPORT_ID + 32 && G_COUNT == G_IMD + 48, "migration GCTX");
_Static_assert(G_ROOT_MD == G_COUNT + 4 * 8 && G_FLAGS == G_ROOT_MD + 64 && G_POLICY == G_FLAGS + 8, "migration GCTX");
_Static_assert(G_STATE == G_POLICY + 8 && G_OEK_IV == G_STATE + 8 && G_ID_BLOCK == G_OEK_IV + 8, "migration GCTX");
_Static_assert(G_GOSVW == G_ID_BLOCK + 0x60 && G_TSC == G_GOSVW + 16 && G_TSC_OFF == G_TSC + 8, "migration GCTX");
_Static_assert(G_LAUNCH_TCB == G_TSC_OFF + 8 && G_END == MC_SNP_MIG_GCTX_SIZE, "migration GCTX");
/* EXPORT/IMPORT/VMRK requests and responses. */
enum { XQ_PADDR = 0x00, XQ_FLAGS = 0x08, XQ_RSVD = 0x0C, XQ_END = 0x10 };
_Static_assert(XQ_END == MC_SNP_EXPORT_REQ_SIZE, "EXPORT_REQ");
enum { XS_STATUS = 0x00, XS_SIZE = 0x04, XS_VERSION = 0x08, XS_GCTX = 0x20 };
_Static_assert(XS_GCTX + MC_SNP_MIG_GCTX_SIZE <= MC_SNP_EXPORT_RSP_SIZE, "EXPORT_RSP");
enum { IQ_PADDR = 0x00, IQ_SIZE = 0x08, IQ_VERSION = 0x0C, IQ_RSVD = 0x10, IQ_GCTX = 0x20 };
_Static_assert(IQ_GCTX + MC_SNP_MIG_GCTX_SIZE == MC_SNP_IMPORT_REQ_SIZE, "IMPORT_REQ");
enum { VQ_PADDR = 0x00, VQ_RSVD = 0x08, VQ_VMRK = 0x20, VQ_END = 0x40 };
_Static_assert(VQ_END == VQ_VMRK + 32 && VQ_END == MC_SNP_VMRK_REQ_SIZE, "VMRK_REQ");

#define MAX_MSG_VERSION 1u /* every message type, ASPFW SNP_GMSG_MAX_MSG_VERSION_* */

static bool zero(const uint8_t *p, size_t n)
{
    uint8_t a = 0;
    for (size_t i = 0; i < n; i++)
        a |= p[i];
    return a == 0;
}

/* A request payload zero-extended (or cut) to size bytes. */
static void widen(const uint8_t *req, size_t n, uint8_t *out, size_t size)
{
    memset(out, 0, size);
    if (req)
        memcpy(out, req, n < size ? n : size);
}

const char *mc_snp_msg_type_name(unsigned t)
{
    static const char *const n[] = {
        "invalid", "MSG_CPUID_REQ", "MSG_CPUID_RSP", "MSG_KEY_REQ", "MSG_KEY_RSP", "MSG_REPORT_REQ",
        "MSG_REPORT_RSP", "MSG_EXPORT_REQ", "MSG_EXPORT_RSP", "MSG_IMPORT_REQ", "MSG_IMPORT_RSP",
        "MSG_ABSORB_REQ", "MSG_ABSORB_RSP", "MSG_VMRK_REQ", "MSG_VMRK_RSP", "MSG_ABSORB_NOMA_REQ",
        "MSG_ABSORB_NOMA_RSP", "MSG_TSC_INFO_REQ", "MSG_TSC_INFO_RSP",
    };
    return t < sizeof n / sizeof n[0] ? n[t] : "invalid";
}

void mc_snp_msg_hdr_encode(const struct mc_snp_msg_hdr *h, uint8_t b[MC_SNP_MSG_HDR_SIZE])
{
    memset(b, 0, MC_SNP_MSG_HDR_SIZE);
    memcpy(b + H_TAG, h->authtag, 32);
    mc_put_le64(b + H_SEQNO, h->seqno);
    b[H_ALGO] = h->algo;
    b[H_HDR_VER] = h->hdr_version;
    mc_put_le16(b + H_HDR_SZ, h->hdr_size);
    b[H_TYPE] = h->msg_type;
    b[H_MSG_VER] = h->msg_version;
    mc_put_le16(b + H_MSG_SZ, h->msg_size);
    b[H_VMPCK] = h->msg_vmpck;
}

void mc_snp_msg_hdr_decode(const uint8_t b[MC_SNP_MSG_HDR_SIZE], struct mc_snp_msg_hdr *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->authtag, b + H_TAG, 32);
    h->seqno = mc_le64(b + H_SEQNO);
    h->algo = b[H_ALGO];
    h->hdr_version = b[H_HDR_VER];
    h->hdr_size = mc_le16(b + H_HDR_SZ);
    h->msg_type = b[H_TYPE];
    h->msg_version = b[H_MSG_VER];
    h->msg_size = mc_le16(b + H_MSG_SZ);
    h->msg_vmpck = b[H_VMPCK];
    h->reserved_nonzero = !zero(b + H_RSVD0, 8) || !zero(b + H_RSVD1, 4) || !zero(b + H_RSVD2, H_END - H_RSVD2);
}

static void msg_iv(uint64_t seqno, uint8_t iv[MC_GCM_IV_LEN])
{
    memset(iv, 0, MC_GCM_IV_LEN);
    mc_put_le64(iv, seqno);
}

mc_status mc_snp_msg_seal(const uint8_t vmpck[MC_SNP_VMPCK_LEN], const struct mc_snp_msg_hdr *h, const uint8_t *payload,
                          size_t n, uint8_t *out, size_t cap, size_t *out_len, struct mc_error *err)
{
    if (!vmpck || !h || !out || (!payload && n))
        return mc_seterr(err, MC_E_INVAL, "guest message seal: NULL argument");
    if (n > MC_SNP_MSG_PAGE - MC_SNP_MSG_HDR_SIZE || cap < MC_SNP_MSG_HDR_SIZE + n)
        return mc_seterr(err, MC_E_RANGE, "guest message seal: %zu payload bytes do not fit", n);
    struct mc_snp_msg_hdr x = *h;
    memset(x.authtag, 0, sizeof x.authtag);
    x.algo = 1;
    x.hdr_version = 1;
    x.hdr_size = MC_SNP_MSG_HDR_SIZE;
    x.msg_size = (uint16_t)n;
    uint8_t hdr[MC_SNP_MSG_HDR_SIZE], iv[MC_GCM_IV_LEN];
    mc_snp_msg_hdr_encode(&x, hdr);
    msg_iv(x.seqno, iv);
    mc_status st = mc_aes256_gcm_seal(vmpck, iv, hdr + H_AAD, H_END - H_AAD, payload, n, out + MC_SNP_MSG_HDR_SIZE,
                                      hdr + H_TAG, err);
    if (st)
        return st;
    memcpy(out, hdr, sizeof hdr);
    if (out_len)
        *out_len = MC_SNP_MSG_HDR_SIZE + n;
    return MC_OK;
}

mc_status mc_snp_msg_open(const uint8_t vmpck[MC_SNP_VMPCK_LEN], const uint8_t *msg, size_t len,
                          struct mc_snp_msg_hdr *h, uint8_t *payload, size_t cap, struct mc_error *err)
{
    if (!vmpck || !msg || !h || (!payload && cap))
        return mc_seterr(err, MC_E_INVAL, "guest message open: NULL argument");
    if (len < MC_SNP_MSG_HDR_SIZE)
        return mc_seterr(err, MC_E_FORMAT, "a guest message is at least 0x60 bytes, this one is %zu", len);
    struct mc_snp_msg_hdr x;
    mc_snp_msg_hdr_decode(msg, &x);
    if (x.algo != 1 || x.hdr_version != 1 || x.hdr_size != MC_SNP_MSG_HDR_SIZE)
        return mc_seterr(err, MC_E_FORMAT, "guest message header: algorithm %u, version %u, size 0x%x (want 1, 1, 0x60)",
                         x.algo, x.hdr_version, x.hdr_size);
    if (x.msg_size > len - MC_SNP_MSG_HDR_SIZE)
        return mc_seterr(err, MC_E_FORMAT, "guest message: MSG_SZ %u runs past the %zu bytes given", x.msg_size, len);
    if (x.msg_size > cap)
        return mc_seterr(err, MC_E_RANGE, "guest message: %u payload bytes do not fit in %zu", x.msg_size, cap);
    uint8_t iv[MC_GCM_IV_LEN];
    msg_iv(x.seqno, iv);
    mc_status st = mc_aes256_gcm_open(vmpck, iv, msg + H_AAD, H_END - H_AAD, msg + MC_SNP_MSG_HDR_SIZE, x.msg_size,
                                      msg + H_TAG, payload, err);
    if (st)
        return st;
    *h = x;
    return MC_OK;
}

static bool is_request(unsigned t) { return t >= MC_SNP_MSG_CPUID_REQ && t <= MC_SNP_MSG_TSC_INFO_REQ && (t & 1); }

mc_status mc_snp_msg_fw_unwrap(const struct mc_snp_vmpck vmpck[4], const uint8_t *req, size_t avail,
                               struct mc_snp_msg_hdr *h, uint8_t *payload, size_t cap, mc_fw_status *fw,
                               struct mc_error *err)
{
    mc_fw_status dummy;
    if (!fw)
        fw = &dummy;
    *fw = MC_FW_INVALID_PARAM;
    if (!vmpck || !req || !h || !payload)
        return mc_seterr(err, MC_E_INVAL, "guest request: NULL argument");
    if (avail < MC_SNP_MSG_HDR_SIZE) {
        mc_seterr(err, MC_E_FORMAT, "the request header crosses the end of its page");
        return MC_OK;
    }
    struct mc_snp_msg_hdr x;
    mc_snp_msg_hdr_decode(req, &x);
    if (x.hdr_version != 1 || x.hdr_size != MC_SNP_MSG_HDR_SIZE || x.algo != 1 || x.msg_size == 0 || x.msg_size % 16) {
        mc_seterr(err, MC_E_FORMAT, "request header: version %u, size 0x%x, algorithm %u, MSG_SZ 0x%x (want 1, 0x60, "
                                    "1, a non-zero multiple of 16)", x.hdr_version, x.hdr_size, x.algo, x.msg_size);
        return MC_OK;
    }
    if (MC_SNP_MSG_HDR_SIZE + (size_t)x.msg_size > avail) {
        mc_seterr(err, MC_E_FORMAT, "the request payload (0x%x bytes) runs past the end of its page", x.msg_size);
        return MC_OK;
    }
    if (x.msg_vmpck > 3) {
        mc_seterr(err, MC_E_FORMAT, "MSG_VMPCK %u is not 0..3", x.msg_vmpck);
        return MC_OK;
    }
    if (cap < x.msg_size)
        return mc_seterr(err, MC_E_RANGE, "guest request: payload buffer too small");
    const struct mc_snp_vmpck *v = &vmpck[x.msg_vmpck];
    uint8_t iv[MC_GCM_IV_LEN];
    msg_iv(x.seqno, iv);
    struct mc_error ge;
    mc_status st = mc_aes256_gcm_open(v->key, iv, req + H_AAD, H_END - H_AAD, req + MC_SNP_MSG_HDR_SIZE, x.msg_size,
                                      req + H_TAG, payload, &ge);
    if (st == MC_E_VERIFY) {
        *fw = MC_FW_BAD_MEASUREMENT;
        mc_seterr(err, MC_E_VERIFY, "the request does not authenticate under VMPCK%u", x.msg_vmpck);
        return MC_OK;
    }
    if (st)
        return mc_seterr(err, st, "%s", ge.msg);
    if (v->count >= UINT64_MAX - 1 || x.seqno != v->count + 1) {
        mc_wipe(payload, x.msg_size);
        *fw = MC_FW_AEAD_OFLOW;
        mc_seterr(err, MC_E_VERIFY, "MSG_SEQNO %llu is not %llu (VMPCK%u's counter + 1): replayed, reordered or "
                                    "exhausted", (unsigned long long)x.seqno, (unsigned long long)(v->count + 1),
                  x.msg_vmpck);
        return MC_OK;
    }
    if (x.msg_version == 0 || x.msg_version > MAX_MSG_VERSION || !is_request(x.msg_type)) {
        mc_wipe(payload, x.msg_size);
        mc_seterr(err, MC_E_FORMAT, "%s version %u is not a request this firmware serves",
                  mc_snp_msg_type_name(x.msg_type), x.msg_version);
        return MC_OK;
    }
    *h = x;
    *fw = MC_FW_SUCCESS;
    return MC_OK;
}

mc_status mc_snp_msg_fw_wrap(struct mc_snp_vmpck vmpck[4], const struct mc_snp_msg_hdr *req, const uint8_t *payload,
                             size_t n, uint8_t *out, size_t avail, size_t *out_len, mc_fw_status *fw,
                             struct mc_error *err)
{
    mc_fw_status dummy;
    if (!fw)
        fw = &dummy;
    *fw = MC_FW_INVALID_PARAM;
    if (!vmpck || !req || !out || (!payload && n) || req->msg_vmpck > 3)
        return mc_seterr(err, MC_E_INVAL, "guest response: bad argument");
    if (MC_SNP_MSG_HDR_SIZE + n > avail) {
        mc_seterr(err, MC_E_FORMAT, "the response (0x%zx bytes) runs past the end of its page", MC_SNP_MSG_HDR_SIZE + n);
        return MC_OK;
    }
    struct mc_snp_vmpck *v = &vmpck[req->msg_vmpck];
    struct mc_snp_msg_hdr h = {.seqno = req->seqno + 1, .msg_type = (uint8_t)(req->msg_type + 1),
                               .msg_version = MAX_MSG_VERSION, .msg_vmpck = req->msg_vmpck};
    mc_status st = mc_snp_msg_seal(v->key, &h, payload, n, out, avail, out_len, err);
    if (st)
        return st;
    v->count += 2;
    *fw = MC_FW_SUCCESS;
    return MC_OK;
}

/* ---- key selection, reports ---- */

mc_fw_status mc_snp_key_select(unsigned key_sel, bool vlek_loaded, bool vcek_dis, bool mask_chip_key, unsigned *signer)
{
    /* ASPFW MSG_REPORT_REQ: the INVALID_KEY rules, then the signer. */
    if (key_sel > 2 || (key_sel == 2 && !vlek_loaded) || (key_sel == 1 && vcek_dis) ||
        (key_sel == 0 && vcek_dis && !vlek_loaded))
        return MC_FW_INVALID_KEY;
    unsigned s = MC_SNP_SIGNER_NONE;
    if (key_sel == 2 || (key_sel == 0 && vlek_loaded))
        s = MC_SNP_SIGNER_VLEK;
    else if (!mask_chip_key)
        s = MC_SNP_SIGNER_VCEK;
    if (signer)
        *signer = s;
    return MC_FW_SUCCESS;
}

void mc_snp_report_req_encode(const struct mc_snp_report_req *r, uint8_t b[MC_SNP_REPORT_REQ_SIZE])
{
    memset(b, 0, MC_SNP_REPORT_REQ_SIZE);
    memcpy(b + RQ_DATA, r->report_data, 64);
    mc_put_le32(b + RQ_VMPL, r->vmpl);
    mc_put_le32(b + RQ_KEYSEL, r->key_sel);
}

mc_status mc_snp_handle_report_req(struct mc_snp_identity *id, const struct mc_snp_msg_ctx *ctx, uint8_t msg_vmpck,
                                   const uint8_t *req, size_t n, uint8_t rsp[MC_SNP_REPORT_RSP_SIZE],
                                   struct mc_error *err)
{
    if (!id || !ctx || (!req && n) || !rsp)
        return mc_seterr(err, MC_E_INVAL, "MSG_REPORT_REQ: NULL argument");
    uint8_t q[RQ_END];
    widen(req, n, q, sizeof q);
    uint32_t keysel = mc_le32(q + RQ_KEYSEL), vmpl = mc_le32(q + RQ_VMPL);
    mc_fw_status status = MC_FW_SUCCESS;
    unsigned signer = MC_SNP_SIGNER_NONE;
    if (!zero(q + RQ_RSVD, RQ_END - RQ_RSVD) || (keysel & ~3u))
        status = MC_FW_INVALID_PARAM;
    else if ((status = mc_snp_key_select(keysel, mc_snp_identity_vlek_loaded(id), ctx->vcek_dis,
                                         ctx->report.mask_chip_key, &signer)) != MC_FW_SUCCESS)
        ;
    else if (vmpl < msg_vmpck)
        status = MC_FW_INVALID_PARAM;
    uint8_t out[RS_END];
    memset(out, 0, sizeof out);
    mc_put_le32(out + RS_SIZE, MC_SNP_REPORT_SIZE); /* set even when STATUS is an error, as the firmware does */
    if (status == MC_FW_SUCCESS) {
        struct mc_snp_report_ctx rc = ctx->report;
        rc.vmpl = vmpl;
        memcpy(rc.report_data, q + RQ_DATA, 64);
        rc.signer = signer;
        mc_status st = mc_snp_report_build(id, &rc, out + RS_REPORT, err);
        if (st)
            return st;
    }
    mc_put_le32(out + RS_STATUS, status);
    memcpy(rsp, out, sizeof out);
    return MC_OK;
}

mc_status mc_snp_report_rsp_decode(const uint8_t *rsp, size_t n, uint32_t *status, uint8_t report[MC_SNP_REPORT_SIZE],
                                   struct mc_error *err)
{
    if (!rsp || !status)
        return mc_seterr(err, MC_E_INVAL, "MSG_REPORT_RSP: NULL argument");
    if (n < RS_REPORT)
        return mc_seterr(err, MC_E_FORMAT, "MSG_REPORT_RSP of %zu bytes is truncated", n);
    *status = mc_le32(rsp + RS_STATUS);
    if (*status != 0)
        return MC_OK;
    if (mc_le32(rsp + RS_SIZE) != MC_SNP_REPORT_SIZE || n < RS_END)
        return mc_seterr(err, MC_E_FORMAT, "MSG_REPORT_RSP: REPORT_SIZE 0x%x in %zu bytes (want 0x4A0 in 0x4C0)",
                         mc_le32(rsp + RS_SIZE), n);
    if (report)
        memcpy(report, rsp + RS_REPORT, MC_SNP_REPORT_SIZE);
    return MC_OK;
}

/* ---- derived keys ---- */

void mc_snp_key_req_encode(const struct mc_snp_key_req *r, uint8_t b[MC_SNP_KEY_REQ_SIZE_MIT])
{
    memset(b, 0, MC_SNP_KEY_REQ_SIZE_MIT);
    mc_put_le32(b + KQ_SEL, (r->root_key_select & 1u) | ((r->key_sel & 3u) << 1));
    mc_put_le64(b + KQ_GFS, r->guest_field_select);
    mc_put_le32(b + KQ_VMPL, r->vmpl);
    mc_put_le32(b + KQ_SVN, r->guest_svn);
    mc_put_le64(b + KQ_TCB, r->tcb_version);
    mc_put_le64(b + KQ_MIT, r->launch_mit_vector);
}

/* A selected TCB must not exceed the committed TCB in any part, and its reserved bytes are zero. */
static bool tcb_ok(uint64_t req, uint64_t committed, enum mc_snp_gen g)
{
    for (int i = 0; i < 8; i++) {
        unsigned r = (unsigned)(req >> (8 * i)) & 0xff, c = (unsigned)(committed >> (8 * i)) & 0xff;
        bool reserved = g == MC_SNP_GEN_TURIN ? (i >= 4 && i <= 6) : (i >= 2 && i <= 5);
        if (reserved ? r != 0 : r > c)
            return false;
    }
    return true;
}

mc_status mc_snp_handle_key_req(struct mc_snp_identity *id, const struct mc_snp_msg_ctx *ctx, uint8_t msg_vmpck,
                                const uint8_t *req, size_t n, uint8_t rsp[MC_SNP_KEY_RSP_SIZE], struct mc_error *err)
{
    if (!id || !ctx || (!req && n) || !rsp)
        return mc_seterr(err, MC_E_INVAL, "MSG_KEY_REQ: NULL argument");
    uint8_t q[KQ_END];
    widen(req, n, q, sizeof q);
    uint32_t sel = mc_le32(q + KQ_SEL), root = sel & 1u, keysel = (sel >> 1) & 3u, vmpl = mc_le32(q + KQ_VMPL);
    uint32_t svn = mc_le32(q + KQ_SVN);
    uint64_t gfs = mc_le64(q + KQ_GFS), tcb = mc_le64(q + KQ_TCB), mit = ctx->mit_vector ? mc_le64(q + KQ_MIT) : 0;
    uint64_t known = ctx->mit_vector ? 0x7Fu : 0x3Fu;
    const struct mc_snp_report_ctx *g = &ctx->report;
    bool vlek = mc_snp_identity_vlek_loaded(id);
    mc_fw_status status = MC_FW_SUCCESS;
    if ((sel & ~7u) || mc_le32(q + KQ_RSVD))
        status = MC_FW_INVALID_PARAM;
    else if (root == 0 && g->mask_chip_key)
        status = MC_FW_INVALID_KEY;
    else if (root == 0 && mc_snp_key_select(keysel, vlek, ctx->vcek_dis, false, NULL) != MC_FW_SUCCESS)
        status = MC_FW_INVALID_KEY;
    else if (vmpl < msg_vmpck || (gfs & ~known))
        status = MC_FW_INVALID_PARAM;
    else if ((gfs & MC_SNP_GFS_TCB_VERSION) && !tcb_ok(tcb, g->committed_tcb, mc_snp_identity_gen(id)))
        status = MC_FW_INVALID_PARAM;
    else if ((gfs & MC_SNP_GFS_GUEST_SVN) && svn > g->guest_svn)
        status = MC_FW_INVALID_PARAM;
    uint8_t out[KS_END];
    memset(out, 0, sizeof out);
    if (status == MC_FW_SUCCESS) {
        uint8_t mix[MX_END], key[MC_SNP_SEED_LEN];
        size_t keylen = MC_SNP_SEED_LEN;
        memset(mix, 0, sizeof mix);
        unsigned idsel = g->author_key_en ? 2 : ctx->id_block_en ? 1 : 0;
        mc_put_le32(mix + MX_SEL, root | (idsel << 1));
        mc_put_le64(mix + MX_GFS, gfs);
        mc_put_le32(mix + MX_VMPL, vmpl);
        if (gfs & MC_SNP_GFS_GUEST_SVN)
            mc_put_le32(mix + MX_SVN, svn);
        if (gfs & MC_SNP_GFS_TCB_VERSION)
            mc_put_le64(mix + MX_TCB, tcb);
        if (gfs & MC_SNP_GFS_POLICY)
            mc_put_le64(mix + MX_POLICY, g->policy);
        if (gfs & MC_SNP_GFS_IMAGE_ID)
            memcpy(mix + MX_IMAGE, g->image_id, 16);
        if (gfs & MC_SNP_GFS_FAMILY_ID)
            memcpy(mix + MX_FAMILY, g->family_id, 16);
        if (gfs & MC_SNP_GFS_MEASUREMENT)
            memcpy(mix + MX_MEAS, g->measurement, 48);
        memcpy(mix + MX_HOST, g->host_data, 32);
        if (idsel)
            memcpy(mix + MX_IDKEY, idsel == 2 ? g->author_key_digest : g->id_key_digest, 48);
        if (gfs & MC_SNP_GFS_LAUNCH_MIT_VECTOR)
            mc_put_le64(mix + MX_MIT, mit);
        mc_status st;
        if (root == 1) {
            memcpy(key, ctx->vmrk, 32);
            keylen = 32;
            st = MC_OK;
        } else if (keysel == 2 || (keysel == 0 && vlek)) {
            st = mc_snp_identity_vlek_seed(id, key, err);
        } else {
            st = mc_snp_identity_vcek_seed(id, (gfs & MC_SNP_GFS_TCB_VERSION) ? tcb : g->reported_tcb, key, err);
        }
        if (!st)
            st = mc_kdf_sev(key, keylen, "gmsg-keyreq", mix, sizeof mix, out + KS_KEY, 32, err);
        mc_wipe(key, sizeof key);
        mc_wipe(mix, sizeof mix);
        if (st) {
            mc_wipe(out, sizeof out);
            return st;
        }
    }
    mc_put_le32(out + KS_STATUS, status);
    memcpy(rsp, out, sizeof out);
    mc_wipe(out, sizeof out);
    return MC_OK;
}

/* ---- TSC info ---- */

uint64_t mc_snp_tsc_scale(uint32_t desired_khz, uint32_t ref_khz)
{
    if (!ref_khz)
        return 0;
    uint64_t ip = desired_khz / ref_khz, frac = desired_khz - ip * ref_khz;
    frac = ((frac << 32) + (ref_khz - 1)) / ref_khz;
    return ((ip & 0xFF) << 32) | (frac & 0xFFFFFFFFull);
}

void mc_snp_handle_tsc_info_req(const struct mc_snp_msg_ctx *ctx, const uint8_t *req, size_t n,
                                uint8_t rsp[MC_SNP_TSC_INFO_SIZE])
{
    uint8_t q[MC_SNP_TSC_INFO_SIZE];
    widen(req, n, q, sizeof q);
    memset(rsp, 0, MC_SNP_TSC_INFO_SIZE);
    if (!ctx || !zero(q, sizeof q)) {
        mc_put_le32(rsp + TS_STATUS, MC_FW_INVALID_PARAM);
        return;
    }
    mc_put_le64(rsp + TS_SCALE, mc_snp_tsc_scale(ctx->desired_tsc_khz, MC_SNP_TSC_REF_KHZ));
    mc_put_le64(rsp + TS_OFFSET, ctx->psp_tsc_offset);
    mc_put_le32(rsp + TS_FACTOR, MC_SNP_TSC_FACTOR);
}

/* ---- migration ---- */

void mc_snp_mig_gctx_encode(const struct mc_snp_mig_gctx *g, uint8_t b[MC_SNP_MIG_GCTX_SIZE])
{
    memset(b, 0, MC_SNP_MIG_GCTX_SIZE);
    memcpy(b + G_LD, g->ld, 48);
    memcpy(b + G_OEK, g->oek, 32);
    memcpy(b + G_VMPCK, g->vmpck, 4 * 32);
    memcpy(b + G_VMRK, g->vmrk, 32);
    memcpy(b + G_HOST, g->host_data, 32);
    memcpy(b + G_IDKEY, g->id_key_digest, 48);
    memcpy(b + G_AUTHKEY, g->author_key_digest, 48);
    memcpy(b + G_REPORT_ID, g->report_id, 32);
    memcpy(b + G_IMD, g->imd, 48);
    for (int i = 0; i < 4; i++)
        mc_put_le64(b + G_COUNT + 8 * i, g->msg_count[i]);
    memcpy(b + G_ROOT_MD, g->root_md_entry, 64);
    mc_put_le64(b + G_FLAGS, (g->author_key_en ? 1u : 0u) | (g->id_block_en ? 2u : 0u) | (g->vcek_dis ? 4u : 0u));
    mc_put_le64(b + G_POLICY, g->policy);
    b[G_STATE] = g->state;
    mc_put_le64(b + G_OEK_IV, g->oek_iv_count);
    memcpy(b + G_ID_BLOCK, g->id_block, 0x60);
    memcpy(b + G_GOSVW, g->gosvw, 16);
    mc_put_le32(b + G_TSC, g->desired_tsc_freq);
    mc_put_le64(b + G_TSC_OFF, g->psp_tsc_offset);
    mc_put_le64(b + G_LAUNCH_TCB, g->launch_tcb);
}

void mc_snp_mig_gctx_decode(const uint8_t b[MC_SNP_MIG_GCTX_SIZE], struct mc_snp_mig_gctx *g)
{
    memset(g, 0, sizeof *g);
    memcpy(g->ld, b + G_LD, 48);
    memcpy(g->oek, b + G_OEK, 32);
    memcpy(g->vmpck, b + G_VMPCK, 4 * 32);
    memcpy(g->vmrk, b + G_VMRK, 32);
    memcpy(g->host_data, b + G_HOST, 32);
    memcpy(g->id_key_digest, b + G_IDKEY, 48);
    memcpy(g->author_key_digest, b + G_AUTHKEY, 48);
    memcpy(g->report_id, b + G_REPORT_ID, 32);
    memcpy(g->imd, b + G_IMD, 48);
    for (int i = 0; i < 4; i++)
        g->msg_count[i] = mc_le64(b + G_COUNT + 8 * i);
    memcpy(g->root_md_entry, b + G_ROOT_MD, 64);
    uint64_t f = mc_le64(b + G_FLAGS);
    g->author_key_en = f & 1;
    g->id_block_en = (f >> 1) & 1;
    g->vcek_dis = (f >> 2) & 1;
    g->policy = mc_le64(b + G_POLICY);
    g->state = b[G_STATE];
    g->oek_iv_count = mc_le64(b + G_OEK_IV);
    memcpy(g->id_block, b + G_ID_BLOCK, 0x60);
    memcpy(g->gosvw, b + G_GOSVW, 16);
    g->desired_tsc_freq = mc_le32(b + G_TSC);
    g->psp_tsc_offset = mc_le64(b + G_TSC_OFF);
    g->launch_tcb = mc_le64(b + G_LAUNCH_TCB);
}

mc_fw_status mc_snp_export_req_decode(const uint8_t *req, size_t n, uint64_t *gctx_paddr, bool *imi_en)
{
    uint8_t q[XQ_END];
    widen(req, n, q, sizeof q);
    uint64_t pa = mc_le64(q + XQ_PADDR);
    uint32_t fl = mc_le32(q + XQ_FLAGS);
    if ((pa & 0xFFF) || (fl & ~1u) || mc_le32(q + XQ_RSVD))
        return MC_FW_INVALID_PARAM;
    if (gctx_paddr)
        *gctx_paddr = pa;
    if (imi_en)
        *imi_en = fl & 1;
    return MC_FW_SUCCESS;
}

void mc_snp_export_rsp_encode(uint32_t status, const struct mc_snp_mig_gctx *g, uint8_t out[MC_SNP_EXPORT_RSP_SIZE])
{
    memset(out, 0, MC_SNP_EXPORT_RSP_SIZE);
    mc_put_le32(out + XS_STATUS, status);
    mc_put_le32(out + XS_SIZE, MC_SNP_MIG_GCTX_SIZE);
    mc_put_le32(out + XS_VERSION, MC_SNP_MIG_GCTX_VERSION);
    if (g)
        mc_snp_mig_gctx_encode(g, out + XS_GCTX);
}

mc_fw_status mc_snp_import_req_decode(unsigned type, const uint8_t *req, size_t n, uint64_t *gctx_paddr,
                                      struct mc_snp_mig_gctx *g)
{
    if (type != MC_SNP_MSG_IMPORT_REQ && type != MC_SNP_MSG_ABSORB_REQ && type != MC_SNP_MSG_ABSORB_NOMA_REQ)
        return MC_FW_INVALID_PARAM;
    uint8_t q[MC_SNP_IMPORT_REQ_SIZE];
    widen(req, n, q, sizeof q);
    uint64_t pa = mc_le64(q + IQ_PADDR);
    bool noma = type == MC_SNP_MSG_ABSORB_NOMA_REQ;
    if ((noma ? pa != 0 : (pa & 0xFFF) != 0) || !zero(q + IQ_RSVD, IQ_GCTX - IQ_RSVD) ||
        mc_le32(q + IQ_SIZE) != MC_SNP_MIG_GCTX_SIZE || mc_le32(q + IQ_VERSION) != MC_SNP_MIG_GCTX_VERSION)
        return MC_FW_INVALID_PARAM;
    if (gctx_paddr)
        *gctx_paddr = pa;
    if (g)
        mc_snp_mig_gctx_decode(q + IQ_GCTX, g);
    mc_wipe(q, sizeof q);
    return MC_FW_SUCCESS;
}

mc_fw_status mc_snp_vmrk_req_decode(const uint8_t *req, size_t n, uint64_t *gctx_paddr, uint8_t vmrk[32])
{
    uint8_t q[VQ_END];
    widen(req, n, q, sizeof q);
    uint64_t pa = mc_le64(q + VQ_PADDR);
    if ((pa & 0xFFF) || !zero(q + VQ_RSVD, VQ_VMRK - VQ_RSVD))
        return MC_FW_INVALID_PARAM;
    if (gctx_paddr)
        *gctx_paddr = pa;
    if (vmrk)
        memcpy(vmrk, q + VQ_VMRK, 32);
    mc_wipe(q, sizeof q);
    return MC_FW_SUCCESS;
}

void mc_snp_status_rsp_encode(uint32_t status, uint8_t out[MC_SNP_STATUS_RSP_SIZE])
{
    memset(out, 0, MC_SNP_STATUS_RSP_SIZE);
    mc_put_le32(out, status);
}

size_t mc_snp_certtable_pages(size_t len) { return (len + MC_SNP_MSG_PAGE - 1) / MC_SNP_MSG_PAGE; }
