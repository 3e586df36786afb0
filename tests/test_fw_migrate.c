/* The migration commands through the mailbox, one by one, against the constructions written
 * here with OpenSSL directly (digest §13): the test plays the other platform. As target it holds
 * a P-384 PDH of its own, opens SEND_START's session with it (ECDH + the SP 800-108 KDF) and
 * checks every SEND_UPDATE packet (MAC = HMAC-SHA256(TIK, 0x02 || FLAGS || IV || GUEST_LEN ||
 * TRANS_LEN || TRANS), ciphertext = AES-128-CTR(TEK, IV) of the guest's page, the page itself
 * unchanged). As source it wraps a session for the firmware's PDH and feeds RECEIVE_UPDATE
 * packets it built, then reads the guest back with DBG_DECRYPT. Every refusal is checked for its
 * status, an unchanged firmware snapshot and unchanged guest memory. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memcrypt/fw_status.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_session.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"
#include "test_fw_harness.h"

#define HDR_PA 0x40000ull
#define TRANS_PA 0x41000ull
#define PLAIN_PA 0x48000ull

static void tweak(struct mc_psp_config *c) { c->root_bits = 2048; }

static void hmac(const uint8_t tik[16], const uint8_t *m, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), tik, 16, m, n, out, &len);
}

static void ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t n)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int a = 0, b = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv);
    EVP_EncryptUpdate(c, out, &a, in, (int)n);
    EVP_EncryptFinal_ex(c, out + a, &b);
    EVP_CIPHER_CTX_free(c);
}

/* The spec's packet MAC, built byte by byte. */
static void packet_mac(const uint8_t tik[16], uint32_t flags, const uint8_t iv[16], uint32_t glen, uint32_t tlen,
                       const uint8_t *trans, uint8_t mac[32])
{
    static uint8_t m[29 + 0x5000];
    m[0] = 0x02;
    mc_put_le32(m + 1, flags);
    memcpy(m + 5, iv, 16);
    mc_put_le32(m + 21, glen);
    mc_put_le32(m + 25, tlen);
    memcpy(m + 29, trans, tlen);
    hmac(tik, m, 29 + tlen, mac);
}

static void xfer_measure(const uint8_t tik[16], uint32_t seq, uint32_t xflags, uint64_t where, const uint8_t prev[32],
                         const uint8_t mac[32], uint8_t rm[32])
{
    uint8_t m[81];
    m[0] = 0x05;
    mc_put_le32(m + 1, seq);
    mc_put_le32(m + 5, xflags);
    mc_put_le64(m + 9, where);
    memcpy(m + 17, prev, 32);
    memcpy(m + 49, mac, 32);
    hmac(tik, m, sizeof m, rm);
}

static uint32_t export_pdh(struct fwt *t, uint8_t pdh[MC_SEV_CERT_LEN])
{
    uint8_t b[0x1C] = {0};
    mc_put_le64(b + 0x00, DATA_PA);
    mc_put_le32(b + 0x08, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x10, DATA_PA + 0x1000);
    mc_put_le32(b + 0x18, MC_SEV_CHAIN_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b);
    hw_read(t, DATA_PA, pdh, MC_SEV_CERT_LEN);
    return st;
}

/* The other platform: a P-384 key and its (unsigned) PDH certificate. */
struct peer {
    struct mc_rng *rng;
    struct mc_pk *key;
    uint8_t cert[MC_SEV_CERT_LEN];
};

static int peer_new(struct peer *p, const char *seed)
{
    struct mc_sev_cert c;
    if (mc_rng_create((const uint8_t *)seed, strlen(seed), &p->rng, NULL) || mc_p384_generate(p->rng, &p->key, NULL) ||
        mc_sev_cert_init(&c, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, 0, 0, p->key, NULL))
        return -1;
    mc_sev_cert_serialize(&c, p->cert);
    return 0;
}

static void peer_free(struct peer *p)
{
    mc_pk_free(p->key);
    mc_rng_destroy(p->rng);
}

static int peer_z(const struct peer *p, const uint8_t pdh_raw[MC_SEV_CERT_LEN], uint8_t z[48])
{
    struct mc_sev_cert c;
    struct mc_pk *pub = NULL;
    int rc = mc_sev_cert_parse(pdh_raw, MC_SEV_CERT_LEN, &c, NULL) || mc_sev_cert_get_pubkey(&c, &pub, NULL) ||
             mc_ecdh_p384(p->key, pub, z, NULL);
    mc_pk_free(pub);
    return rc ? -1 : 0;
}

/* A RUNNING guest with 8 KiB of known plaintext at GUEST_PA and an ASID. */
static uint32_t running_guest(struct fwt *t, uint32_t policy, uint8_t plain[0x2000])
{
    for (int i = 0; i < 0x2000; i++)
        plain[i] = (uint8_t)(i * 7 + 3);
    hw_write(t, GUEST_PA, plain, 0x2000);
    uint32_t h;
    if (fwt_launch(t, policy, 0, &h) || fwt_activate(t, h, t->cfg.min_sev_asid) ||
        fwt_update(t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA, 0x2000) || fwt_measure(t, h, NULL) ||
        fwt_handle_cmd(t, MC_SEV_CMD_LAUNCH_FINISH, h))
        return 0;
    return h;
}

static uint32_t send_start(struct fwt *t, uint32_t h, const uint8_t pdh[MC_SEV_CERT_LEN], uint32_t ses_len,
                           uint8_t *policy_out)
{
    hw_write(t, DATA_PA + 0x4000, pdh, MC_SEV_CERT_LEN);
    uint8_t b[0x44] = {0};
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, DATA_PA + 0x4000);
    mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x38, DATA2_PA);
    mc_put_le32(b + 0x40, ses_len);
    uint32_t st = fw(t, MC_SEV_CMD_SEND_START, b, sizeof b);
    if (policy_out)
        memcpy(policy_out, b + 4, 4);
    if (st == MC_FW_INVALID_LENGTH)
        CHECK(mc_le32(b + 0x40) == 0x80);
    return st;
}

/* One SEND/RECEIVE_UPDATE command; *hdr_len_out gets the buffer's hdr_len afterwards. */
static uint32_t xfer(struct fwt *t, uint32_t cmd, uint32_t h, uint32_t hdr_len, uint64_t g_pa, uint32_t g_len,
                     uint32_t t_len, uint32_t *hdr_len_out)
{
    uint8_t b[0x34] = {0};
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, HDR_PA);
    mc_put_le32(b + 0x10, hdr_len);
    mc_put_le64(b + 0x18, g_pa);
    mc_put_le32(b + 0x20, g_len);
    mc_put_le64(b + 0x28, TRANS_PA);
    mc_put_le32(b + 0x30, t_len);
    uint32_t st = fw(t, cmd, b, sizeof b);
    if (hdr_len_out)
        *hdr_len_out = mc_le32(b + 0x10);
    return st;
}

static uint8_t gstate(struct fwt *t, uint32_t h)
{
    uint8_t b[0x0D] = {0};
    mc_put_le32(b, h);
    fw(t, MC_SEV_CMD_GUEST_STATUS, b, sizeof b);
    return b[0x0C];
}

/* A refusal: the status, the firmware snapshot and the guest's DRAM bytes unchanged. */
#define REFUSED(t, expr, want)                                                                                        \
    do {                                                                                                              \
        uint8_t s0_[32], s1_[32], d0_[0x2000], d1_[0x2000];                                                           \
        fwt_snap(t, s0_);                                                                                             \
        hw_read(t, GUEST_PA, d0_, sizeof d0_);                                                                        \
        uint32_t st_ = (expr);                                                                                        \
        fwt_snap(t, s1_);                                                                                             \
        hw_read(t, GUEST_PA, d1_, sizeof d1_);                                                                        \
        CHECK_MSG(st_ == (want), "%s: %s (want %s): %s", #expr, mc_fw_status_name(st_), mc_fw_status_name(want),      \
                  (t)->err.msg);                                                                                      \
        CHECK_MSG(!memcmp(s0_, s1_, 32), "%s changed the firmware state", #expr);                                     \
        CHECK_MSG(!memcmp(d0_, d1_, sizeof d0_), "%s changed guest memory", #expr);                                   \
    } while (0)

static void test_send(void)
{
    struct fwt t;
    struct peer target;
    CHECK(fwt_open(&t, "milan", NULL, tweak) == 0 && fwt_init(&t, 0) == 0 && peer_new(&target, "target") == 0);
    static uint8_t plain[0x2000], pdh[MC_SEV_CERT_LEN];
    uint32_t h = running_guest(&t, 0, plain);
    CHECK(h != 0 && export_pdh(&t, pdh) == 0);
    uint8_t pol[4];
    /* SEND_START: length query, bad target certificate, then the session. */
    REFUSED(&t, send_start(&t, h, target.cert, 0, NULL), MC_FW_INVALID_LENGTH);
    uint8_t bad[MC_SEV_CERT_LEN];
    memcpy(bad, target.cert, sizeof bad);
    mc_put_le32(bad + 8, MC_SEV_USAGE_PEK);
    REFUSED(&t, send_start(&t, h, bad, 0x80, NULL), MC_FW_INVALID_CERTIFICATE);
    CHECK(xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL) == MC_FW_INVALID_GUEST_STATE);
    CHECK(send_start(&t, h, target.cert, 0x80, pol) == MC_FW_SUCCESS && mc_le32(pol) == 0);
    CHECK(gstate(&t, h) == MC_SEV_GSTATE_SUPDATE);
    /* The target opens the session with its PDH key and the source's PDH. */
    uint8_t ses[0x80], z[48];
    struct mc_sev_session s;
    struct mc_sev_tks tks;
    hw_read(&t, DATA2_PA, ses, sizeof ses);
    mc_sev_session_decode(ses, &s);
    CHECK(peer_z(&target, pdh, z) == 0 && mc_sev_session_unwrap(z, 48, &s, 0, &tks, NULL, NULL) == MC_OK);

    /* Every check of SEND_UPDATE_DATA. */
    uint32_t hl = 0;
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x30, GUEST_PA, 0x1000, 0x1000, &hl), MC_FW_INVALID_LENGTH);
    CHECK(hl == 0x34); /* the size is written back */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0, 0, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x18, 0x18, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x5010, 0x5010, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x1000, 0xFF0, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA + 8, 0x1000, 0x1000, NULL),
            MC_FW_INVALID_ADDRESS);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, 1ull << 40, 0x1000, 0x1000, NULL),
            MC_FW_INVALID_ADDRESS);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_VMSA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_UNSUPPORTED);
    /* A packet: the guest page only read; MAC and ciphertext as the spec says. */
    uint8_t before[0x1000], after[0x1000], hdr[0x34], trans[0x1000], mac[32], dec[0x1000];
    hw_read(&t, GUEST_PA, before, sizeof before);
    CHECK(xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    hw_read(&t, GUEST_PA, after, sizeof after);
    CHECK_MEM(before, after, sizeof before);
    hw_read(&t, HDR_PA, hdr, sizeof hdr);
    hw_read(&t, TRANS_PA, trans, sizeof trans);
    CHECK(mc_le32(hdr) == 0);
    packet_mac(tks.tik, 0, hdr + 4, 0x1000, 0x1000, trans, mac);
    CHECK_MEM(mac, hdr + 0x14, 32);
    ctr(tks.tek, hdr + 4, trans, dec, sizeof dec);
    CHECK_MEM(dec, plain, sizeof dec);
    CHECK(memcmp(trans, plain, 64) != 0);
    /* A stream keeps its header size. */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_INVALID_PARAM);
    /* No ASID: INACTIVE. */
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h) == 0);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_INACTIVE);
    CHECK(fwt_flush(&t) == 0 && fwt_activate(&t, h, t.cfg.min_sev_asid) == 0);
    /* SEND_CANCEL: back to RUNNING; a new SEND_START may start over with extended headers. */
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_SEND_CANCEL, h) == 0 && gstate(&t, h) == MC_SEV_GSTATE_RUNNING);
    CHECK(send_start(&t, h, target.cert, 0x80, NULL) == MC_FW_SUCCESS);
    hw_read(&t, DATA2_PA, ses, sizeof ses);
    mc_sev_session_decode(ses, &s);
    CHECK(mc_sev_session_unwrap(z, 48, &s, 0, &tks, NULL, NULL) == MC_OK);
    uint8_t in[12], xh[0x64], prev[32] = {0}, rm[32];
    mc_put_le32(in, 0);
    mc_put_le64(in + 4, 0x1234000);
    hw_write(&t, HDR_PA + 0x38, in, sizeof in);
    CHECK(xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, &hl) == MC_FW_SUCCESS && hl == 0x64);
    hw_read(&t, HDR_PA, xh, sizeof xh);
    hw_read(&t, TRANS_PA, trans, sizeof trans);
    packet_mac(tks.tik, 0, xh + 4, 0x1000, 0x1000, trans, mac);
    xfer_measure(tks.tik, 1, 0, 0x1234000, prev, mac, rm);
    CHECK(mc_le32(xh + 0x34) == 1 && mc_le32(xh + 0x38) == 0 && mc_le64(xh + 0x3C) == 0x1234000);
    CHECK_MEM(rm, xh + 0x44, 32);
    memcpy(prev, rm, 32);
    mc_put_le32(in, MC_SEV_PKT_XFLAG_FINAL);
    mc_put_le64(in + 4, 0x1235000);
    hw_write(&t, HDR_PA + 0x38, in, sizeof in);
    CHECK(xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x64, GUEST_PA + 0x1000, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    hw_read(&t, HDR_PA, xh, sizeof xh);
    hw_read(&t, TRANS_PA, trans, sizeof trans);
    packet_mac(tks.tik, 0, xh + 4, 0x1000, 0x1000, trans, mac);
    xfer_measure(tks.tik, 2, 1, 0x1235000, prev, mac, rm);
    CHECK(mc_le32(xh + 0x34) == 2 && mc_le32(xh + 0x38) == 1);
    CHECK_MEM(rm, xh + 0x44, 32);
    ctr(tks.tek, xh + 4, trans, dec, sizeof dec);
    CHECK_MEM(dec, plain + 0x1000, sizeof dec);
    /* After FINAL the sender sends nothing more. */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_INVALID_PARAM);
    /* SEND_FINISH: SENT; the guest can no longer be activated, only removed. */
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_SEND_FINISH, h) == 0 && gstate(&t, h) == MC_SEV_GSTATE_SENT);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_SEND_CANCEL, h) == MC_FW_INVALID_GUEST_STATE);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h) == 0 && fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h) == 0);
    peer_free(&target);
    fwt_close(&t);
}

/* The source's side built here: a session for the firmware's PDH, packets with chosen TEK/TIK. */
struct src {
    struct mc_sev_tks tks;
    uint8_t godh[MC_SEV_CERT_LEN], ses[0x80];
    uint8_t rm[32];
    uint32_t seq;
};

static int src_session(struct src *x, const struct peer *me, const uint8_t pdh[MC_SEV_CERT_LEN], uint32_t policy)
{
    uint8_t z[48], nonce[16], iv[16];
    struct mc_sev_session s;
    for (int i = 0; i < 16; i++) {
        x->tks.tek[i] = (uint8_t)(0x10 + i);
        x->tks.tik[i] = (uint8_t)(0x80 + i);
        nonce[i] = (uint8_t)i;
        iv[i] = (uint8_t)(0xF0 - i);
    }
    memset(x->rm, 0, 32);
    x->seq = 0;
    memcpy(x->godh, me->cert, MC_SEV_CERT_LEN);
    if (peer_z(me, pdh, z) || mc_sev_session_wrap(z, 48, nonce, iv, &x->tks, policy, &s, NULL))
        return -1;
    mc_sev_session_encode(&s, x->ses);
    return 0;
}

static uint32_t receive_start(struct fwt *t, const struct src *x, uint32_t policy, uint32_t ses_len, uint32_t *h)
{
    hw_write(t, DATA_PA + 0x4000, x->godh, MC_SEV_CERT_LEN);
    hw_write(t, DATA_PA + 0x5000, x->ses, 0x80);
    uint8_t b[0x24] = {0};
    mc_put_le32(b + 0x04, policy);
    mc_put_le64(b + 0x08, DATA_PA + 0x4000);
    mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x18, DATA_PA + 0x5000);
    mc_put_le32(b + 0x20, ses_len);
    uint32_t st = fw(t, MC_SEV_CMD_RECEIVE_START, b, sizeof b);
    *h = st ? 0 : mc_le32(b);
    return st;
}

/* Put a packet of `plain` (len bytes) into HDR_PA / TRANS_PA; ext: with the trailer (seq = next). */
static void put_packet(struct fwt *t, struct src *x, const uint8_t *plain, uint32_t len, uint32_t flags, bool ext,
                       uint32_t xflags, uint64_t where)
{
    static uint8_t trans[0x5000];
    uint8_t h[0x64] = {0}, iv[16];
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)(x->seq * 16 + i);
    ctr(x->tks.tek, iv, plain, trans, len);
    mc_put_le32(h, flags);
    memcpy(h + 4, iv, 16);
    packet_mac(x->tks.tik, flags, iv, len, len, trans, h + 0x14);
    if (ext) {
        uint8_t rm[32];
        xfer_measure(x->tks.tik, x->seq + 1, xflags, where, x->rm, h + 0x14, rm);
        mc_put_le32(h + 0x34, x->seq + 1);
        mc_put_le32(h + 0x38, xflags);
        mc_put_le64(h + 0x3C, where);
        memcpy(h + 0x44, rm, 32);
    }
    hw_write(t, HDR_PA, h, sizeof h);
    hw_write(t, TRANS_PA, trans, len);
}

static void accept_packet(struct fwt *t, struct src *x) /* the packet put last was accepted: advance */
{
    x->seq++;
    hw_read(t, HDR_PA + 0x44, x->rm, 32);
}

static int guest_reads(struct fwt *t, uint32_t h, uint64_t pa, const uint8_t *want, uint32_t len)
{
    uint8_t b[0x1C] = {0}, got[0x2000];
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, pa);
    mc_put_le64(b + 0x10, PLAIN_PA);
    mc_put_le32(b + 0x18, len);
    if (fw(t, MC_SEV_CMD_DBG_DECRYPT, b, sizeof b))
        return 0;
    hw_read(t, PLAIN_PA, got, len);
    return !memcmp(got, want, len);
}

static void test_receive(void)
{
    struct fwt t;
    struct peer me;
    CHECK(fwt_open(&t, "milan", NULL, tweak) == 0 && fwt_init(&t, 0) == 0 && peer_new(&me, "source") == 0);
    static uint8_t pdh[MC_SEV_CERT_LEN], p1[0x1000], p2[0x1000];
    for (int i = 0; i < 0x1000; i++) {
        p1[i] = (uint8_t)(i ^ 0x5A);
        p2[i] = (uint8_t)(i * 13);
    }
    CHECK(export_pdh(&t, pdh) == 0);
    struct src x;
    CHECK(src_session(&x, &me, pdh, 0) == 0);
    uint32_t h = 0;
    /* RECEIVE_START: every refusal first (no guest is made). */
    REFUSED(&t, receive_start(&t, &x, 0, 0x7F, &h), MC_FW_INVALID_LENGTH);
    REFUSED(&t, receive_start(&t, &x, 1, 0x80, &h), MC_FW_BAD_MEASUREMENT); /* POLICY_MAC is for policy 0 */
    REFUSED(&t, receive_start(&t, &x, MC_SEV_POLICY_ES, 0x80, &h), MC_FW_UNSUPPORTED); /* INIT without ES */
    REFUSED(&t, receive_start(&t, &x, 1u << 6, 0x80, &h), MC_FW_POLICY_FAILURE);      /* reserved bit */
    struct src y = x;
    y.ses[0x40] ^= 1; /* WRAP_MAC */
    REFUSED(&t, receive_start(&t, &y, 0, 0x80, &h), MC_FW_BAD_MEASUREMENT);
    y = x;
    mc_put_le32(y.godh + 0x0C, MC_SEV_ALGO_ECDSA_SHA256);
    REFUSED(&t, receive_start(&t, &y, 0, 0x80, &h), MC_FW_INVALID_CERTIFICATE);
    CHECK(receive_start(&t, &x, 0, 0x80, &h) == MC_FW_SUCCESS && h != 0);
    CHECK(gstate(&t, h) == MC_SEV_GSTATE_RUPDATE && mc_psp_platform_state(t.psp) == MC_SEV_PSTATE_WORKING);
    /* No ASID yet: INACTIVE. */
    put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_INACTIVE);
    CHECK(fwt_activate(&t, h, t.cfg.min_sev_asid) == 0);
    /* Lengths, alignment, addresses, VMSA without ES. */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x30, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1010, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0, 0, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x6000, 0x6000, NULL), MC_FW_INVALID_LENGTH);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA + 4, 0x1000, 0x1000, NULL),
            MC_FW_INVALID_ADDRESS);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, 1ull << 40, 0x1000, 0x1000, NULL),
            MC_FW_INVALID_ADDRESS);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_VMSA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_UNSUPPORTED);
    /* The MAC is checked before anything is written: a flipped bit of the ciphertext, the IV, the
     * FLAGS, the MAC itself. */
    static const unsigned flips[] = {0x1000 + 0 /* trans */, 4 /* IV */, 0 /* FLAGS */, 0x14 /* MAC */};
    for (unsigned i = 0; i < 4; i++) {
        put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA);
        uint64_t pa = flips[i] >= 0x1000 ? TRANS_PA + flips[i] - 0x1000 : HDR_PA + flips[i];
        uint8_t v;
        hw_read(&t, pa, &v, 1);
        v ^= 0x08;
        hw_write(&t, pa, &v, 1);
        REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
                MC_FW_BAD_MEASUREMENT);
    }
    /* COMPRESSED with a valid MAC: UNSUPPORTED. */
    put_packet(&t, &x, p1, 0x1000, 1, true, 0, GUEST_PA);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL), MC_FW_UNSUPPORTED);
    /* The trailer: a wrong measurement, a packet out of order, unknown flags. */
    put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA);
    uint8_t v = 0;
    hw_read(&t, HDR_PA + 0x44, &v, 1);
    v ^= 1;
    hw_write(&t, HDR_PA + 0x44, &v, 1);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA + 0x1000); /* then its where altered */
    uint8_t w[8];
    mc_put_le64(w, GUEST_PA + 0x3000);
    hw_write(&t, HDR_PA + 0x3C, w, 8);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    x.seq = 1; /* packet 2 where 1 is due */
    put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    x.seq = 0;
    put_packet(&t, &x, p1, 0x1000, 0, true, 2, GUEST_PA);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    /* Packet 1 goes in; replaying it is refused; the guest has it. */
    put_packet(&t, &x, p1, 0x1000, 0, true, 0, GUEST_PA);
    CHECK(xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    accept_packet(&t, &x);
    CHECK(guest_reads(&t, h, GUEST_PA, p1, 0x1000));
    uint8_t raw[64];
    hw_read(&t, GUEST_PA, raw, sizeof raw);
    CHECK(memcmp(raw, p1, 64) != 0); /* in DRAM under the guest's key */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    /* The header size is the stream's: 0x34 now refused. */
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL),
            MC_FW_INVALID_PARAM);
    /* RECEIVE_FINISH before FINAL: the stream is truncated. */
    REFUSED(&t, fwt_handle_cmd(&t, MC_SEV_CMD_RECEIVE_FINISH, h), MC_FW_BAD_MEASUREMENT);
    /* Packet 2, FINAL; then nothing more; RECEIVE_FINISH: RUNNING. */
    put_packet(&t, &x, p2, 0x1000, 0, true, MC_SEV_PKT_XFLAG_FINAL, GUEST_PA + 0x1000);
    CHECK(xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA + 0x1000, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    accept_packet(&t, &x);
    put_packet(&t, &x, p2, 0x1000, 0, true, 0, GUEST_PA + 0x1000);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA + 0x1000, 0x1000, 0x1000, NULL),
            MC_FW_BAD_MEASUREMENT);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_RECEIVE_FINISH, h) == MC_FW_SUCCESS && gstate(&t, h) == MC_SEV_GSTATE_RUNNING);
    CHECK(guest_reads(&t, h, GUEST_PA, p1, 0x1000) && guest_reads(&t, h, GUEST_PA + 0x1000, p2, 0x1000));
    CHECK(xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL) ==
          MC_FW_INVALID_GUEST_STATE);

    /* The spec's 0x34-byte headers: AMD's behaviour (no order, no FINAL); a second guest. */
    uint32_t h2 = 0;
    CHECK(src_session(&x, &me, pdh, 0) == 0 && receive_start(&t, &x, 0, 0x80, &h2) == MC_FW_SUCCESS);
    CHECK(fwt_activate(&t, h2, t.cfg.min_sev_asid + 1) == 0);
    put_packet(&t, &x, p2, 0x1000, 0, false, 0, 0);
    CHECK(xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_DATA, h2, 0x34, GUEST_PA + 0x4000, 0x1000, 0x1000, NULL) ==
          MC_FW_SUCCESS);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_RECEIVE_FINISH, h2) == MC_FW_SUCCESS);
    CHECK(guest_reads(&t, h2, GUEST_PA + 0x4000, p2, 0x1000));
    peer_free(&me);
    fwt_close(&t);
}

/* SEV-ES: VMSA packets both ways on one chip (intra-host), their length rule. */
static void test_vmsa(void)
{
    struct fwt t;
    struct peer me;
    CHECK(fwt_open(&t, "milan", NULL, tweak) == 0 && fwt_init(&t, MC_SEV_INIT_FLAG_ES) == 0 &&
          peer_new(&me, "source-es") == 0);
    static uint8_t pdh[MC_SEV_CERT_LEN], vmsa[0x1000];
    for (int i = 0; i < 0x1000; i++)
        vmsa[i] = (uint8_t)(i + 1);
    CHECK(export_pdh(&t, pdh) == 0);
    struct src x;
    uint32_t h = 0;
    CHECK(src_session(&x, &me, pdh, MC_SEV_POLICY_ES) == 0 &&
          receive_start(&t, &x, MC_SEV_POLICY_ES, 0x80, &h) == MC_FW_SUCCESS && fwt_activate(&t, h, 1) == 0);
    put_packet(&t, &x, vmsa, 0x800, 0, true, 0, 0);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_VMSA, h, 0x64, GUEST_PA, 0x800, 0x800, NULL), MC_FW_INVALID_LENGTH);
    put_packet(&t, &x, vmsa, 0x1000, 0, true, MC_SEV_PKT_XFLAG_FINAL, 0);
    CHECK(xfer(&t, MC_SEV_CMD_RECEIVE_UPDATE_VMSA, h, 0x64, GUEST_PA, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_RECEIVE_FINISH, h) == MC_FW_SUCCESS);
    CHECK(guest_reads(&t, h, GUEST_PA, vmsa, 0x1000));
    /* ... and out again: SEND_UPDATE_VMSA to a target the test holds. */
    struct peer target;
    CHECK(peer_new(&target, "target-es") == 0);
    CHECK(send_start(&t, h, target.cert, 0x80, NULL) == MC_FW_SUCCESS);
    REFUSED(&t, xfer(&t, MC_SEV_CMD_SEND_UPDATE_VMSA, h, 0x34, GUEST_PA, 0x2000, 0x2000, NULL), MC_FW_INVALID_LENGTH);
    CHECK(xfer(&t, MC_SEV_CMD_SEND_UPDATE_VMSA, h, 0x34, GUEST_PA, 0x1000, 0x1000, NULL) == MC_FW_SUCCESS);
    uint8_t ses[0x80], z[48], hdr[0x34], trans[0x1000], dec[0x1000], mac[32];
    struct mc_sev_session s;
    struct mc_sev_tks tks;
    hw_read(&t, DATA2_PA, ses, sizeof ses);
    mc_sev_session_decode(ses, &s);
    CHECK(peer_z(&target, pdh, z) == 0 && mc_sev_session_unwrap(z, 48, &s, MC_SEV_POLICY_ES, &tks, NULL, NULL) == 0);
    hw_read(&t, HDR_PA, hdr, sizeof hdr);
    hw_read(&t, TRANS_PA, trans, sizeof trans);
    packet_mac(tks.tik, 0, hdr + 4, 0x1000, 0x1000, trans, mac); /* context byte 0x02, as AMD's firmware */
    CHECK_MEM(mac, hdr + 0x14, 32);
    ctr(tks.tek, hdr + 4, trans, dec, sizeof dec);
    CHECK_MEM(dec, vmsa, sizeof dec);
    peer_free(&target);
    peer_free(&me);
    fwt_close(&t);
}

int main(void)
{
    RUN(test_send);
    RUN(test_receive);
    RUN(test_vmsa);
    return check_summary();
}
