/* SNP guest messages: the pinned header, AES-256-GCM seal/open (tag, IV and AAD checked with the
 * GCM wrapper directly), the firmware's header rules, check order and sequence numbers, MSG_REPORT
 * (status codes, key selection, the report verified through the emulated roots), MSG_KEY (status
 * codes; property test: same inputs same key, a selected field changes it, an unselected one does
 * not; the MIX_DATA layout pinned), MSG_TSC_INFO, the migration codecs. */
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "snp_testlib.h"
#include "crypto/crypto.h"
#include "crypto/gcm.h"
#include "crypto/kdf.h"

static struct mc_snp_identity *chip, *turin;
static struct mc_rng *rng;
static char tmpdir[256];

static void rnd(void *p, size_t n) { CHECK(mc_rng_bytes(rng, p, n, NULL) == MC_OK); }

/* ---- header, seal, open ---- */

static void test_header(void)
{
    struct mc_snp_msg_hdr h = {.seqno = 0x1122334455667788ull, .algo = 1, .hdr_version = 1, .hdr_size = 0x60,
                               .msg_type = 5, .msg_version = 1, .msg_size = 0x60, .msg_vmpck = 2};
    memset(h.authtag, 0xAB, 16);
    uint8_t b[0x60];
    mc_snp_msg_hdr_encode(&h, b);
    CHECK(b[0x00] == 0xAB && b[0x0F] == 0xAB && b[0x10] == 0);
    CHECK_EQ_U64(mc_le64(b + 0x20), h.seqno);
    CHECK(b[0x30] == 1 && b[0x31] == 1 && mc_le16(b + 0x32) == 0x60 && b[0x34] == 5 && b[0x35] == 1);
    CHECK(mc_le16(b + 0x36) == 0x60 && b[0x3C] == 2);
    struct mc_snp_msg_hdr d;
    mc_snp_msg_hdr_decode(b, &d);
    CHECK(!d.reserved_nonzero && d.seqno == h.seqno && d.msg_type == 5 && d.msg_vmpck == 2 && d.msg_size == 0x60);
    static const int rsvd[] = {0x28, 0x2F, 0x38, 0x3B, 0x3D, 0x5F};
    for (size_t i = 0; i < sizeof rsvd / sizeof rsvd[0]; i++) {
        uint8_t t[0x60];
        memcpy(t, b, sizeof t);
        t[rsvd[i]] = 1;
        mc_snp_msg_hdr_decode(t, &d);
        CHECK_MSG(d.reserved_nonzero, "0x%x", rsvd[i]);
    }
    CHECK(!strcmp(mc_snp_msg_type_name(MC_SNP_MSG_KEY_RSP), "MSG_KEY_RSP") && !strcmp(mc_snp_msg_type_name(99), "invalid"));
}

static void test_seal_open(void)
{
    uint8_t key[32], pt[0x60], msg[0x100], back[0x60];
    rnd(key, 32);
    rnd(pt, sizeof pt);
    struct mc_snp_msg_hdr h = {.seqno = 7, .msg_type = MC_SNP_MSG_REPORT_REQ, .msg_version = 1, .msg_vmpck = 1};
    size_t n = 0;
    CHECK(mc_snp_msg_seal(key, &h, pt, sizeof pt, msg, sizeof msg, &n, NULL) == MC_OK && n == 0xC0);
    /* the wire form, checked with the GCM wrapper directly: IV = LE64 seqno || 0, AAD = 0x30..0x5F,
     * tag at 0x00 (0x10..0x1F zero), ciphertext behind the header */
    uint8_t iv[12] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, z[16] = {0};
    CHECK_MEM(msg + 0x10, z, 16);
    CHECK(mc_aes256_gcm_open(key, iv, msg + 0x30, 0x30, msg + 0x60, 0x60, msg, back, NULL) == MC_OK);
    CHECK_MEM(back, pt, sizeof pt);
    struct mc_snp_msg_hdr o;
    memset(back, 0, sizeof back);
    CHECK(mc_snp_msg_open(key, msg, n, &o, back, sizeof back, NULL) == MC_OK);
    CHECK_MEM(back, pt, sizeof pt);
    CHECK(o.seqno == 7 && o.msg_type == MC_SNP_MSG_REPORT_REQ && o.msg_vmpck == 1 && o.msg_size == 0x60);
    /* every byte of the tag, the AAD and the payload is authenticated; 0x10..0x2F and the seqno too
     * (the seqno through the IV) — only 0x10..0x1F and 0x28..0x2F are free */
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t t[0x100];
        memcpy(t, msg, n);
        t[i] ^= 0x01;
        mc_status st = mc_snp_msg_open(key, t, n, &o, back, sizeof back, NULL);
        bool free_byte = (i >= 0x10 && i < 0x20) || (i >= 0x28 && i < 0x30);
        if (free_byte ? st != MC_OK : st == MC_OK)
            bad++;
    }
    CHECK_EQ_U64(bad, 0);
    /* malformed */
    CHECK(mc_snp_msg_open(key, msg, 0x5F, &o, back, sizeof back, NULL) == MC_E_FORMAT);
    CHECK(mc_snp_msg_open(key, msg, n - 1, &o, back, sizeof back, NULL) == MC_E_FORMAT);
    CHECK(mc_snp_msg_open(key, msg, n, &o, back, 0x10, NULL) == MC_E_RANGE);
    uint8_t wk[32];
    memcpy(wk, key, 32);
    wk[31] ^= 1;
    CHECK(mc_snp_msg_open(wk, msg, n, &o, back, sizeof back, NULL) == MC_E_VERIFY);
    CHECK(mc_snp_msg_seal(key, &h, pt, 0xFA1, msg, sizeof msg, &n, NULL) == MC_E_RANGE);
}

/* ---- the firmware's rules ---- */

static struct mc_snp_vmpck keys[4];

static size_t mkreq(uint8_t *out, unsigned vmpck, uint64_t seqno, uint8_t type, const uint8_t *p, size_t n)
{
    struct mc_snp_msg_hdr h = {.seqno = seqno, .msg_type = type, .msg_version = 1, .msg_vmpck = (uint8_t)vmpck};
    size_t len = 0;
    CHECK(mc_snp_msg_seal(keys[vmpck & 3].key, &h, p, n, out, 4096, &len, NULL) == MC_OK);
    return len;
}

static mc_fw_status unwrap(const uint8_t *req, size_t avail, struct mc_snp_msg_hdr *h, uint8_t *pl)
{
    mc_fw_status fw = MC_FW_SUCCESS;
    CHECK(mc_snp_msg_fw_unwrap(keys, req, avail, h, pl, 4096, &fw, NULL) == MC_OK);
    return fw;
}

/* reseal with a header field changed (so only the header rule can fail) */
static size_t mkreq_hdr(uint8_t *out, void (*edit)(uint8_t *hdr), uint64_t seqno)
{
    uint8_t p[0x60] = {0};
    size_t n = mkreq(out, 0, seqno, MC_SNP_MSG_REPORT_REQ, p, sizeof p);
    edit(out);
    /* recompute the tag over the edited header (what a careful attacker with the key could send) */
    uint8_t iv[12] = {0}, pt[0x60];
    mc_put_le64(iv, mc_le64(out + 0x20));
    uint16_t ms = mc_le16(out + 0x36);
    size_t m = ms <= 0x60 ? ms : 0x60;
    memset(pt, 0, sizeof pt);
    CHECK(mc_aes256_gcm_seal(keys[out[0x3C] & 3].key, iv, out + 0x30, 0x30, pt, m, out + 0x60, out, NULL) == MC_OK);
    return n;
}
static void e_hdrver(uint8_t *h) { h[0x31] = 2; }
static void e_hdrsz(uint8_t *h) { mc_put_le16(h + 0x32, 0x70); }
static void e_algo(uint8_t *h) { h[0x30] = 2; }
static void e_size0(uint8_t *h) { mc_put_le16(h + 0x36, 0); }
static void e_size17(uint8_t *h) { mc_put_le16(h + 0x36, 0x11); }
static void e_vmpck(uint8_t *h) { h[0x3C] = 4; }
static void e_msgver0(uint8_t *h) { h[0x35] = 0; }
static void e_msgver2(uint8_t *h) { h[0x35] = 2; }
static void e_type_rsp(uint8_t *h) { h[0x34] = MC_SNP_MSG_REPORT_RSP; }
static void e_type_0(uint8_t *h) { h[0x34] = 0; }
static void e_type_99(uint8_t *h) { h[0x34] = 0x13; }

static void test_fw_rules(void)
{
    for (int i = 0; i < 4; i++) {
        rnd(keys[i].key, 32);
        keys[i].count = 0;
    }
    uint8_t req[4096], pl[4096];
    struct mc_snp_msg_hdr h;
    static const struct { void (*edit)(uint8_t *); mc_fw_status want; } rules[] = {
        {e_hdrver, MC_FW_INVALID_PARAM}, {e_hdrsz, MC_FW_INVALID_PARAM}, {e_algo, MC_FW_INVALID_PARAM},
        {e_size0, MC_FW_INVALID_PARAM}, {e_size17, MC_FW_INVALID_PARAM}, {e_vmpck, MC_FW_INVALID_PARAM},
        {e_msgver0, MC_FW_INVALID_PARAM}, {e_msgver2, MC_FW_INVALID_PARAM}, {e_type_rsp, MC_FW_INVALID_PARAM},
        {e_type_0, MC_FW_INVALID_PARAM}, {e_type_99, MC_FW_INVALID_PARAM},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        mkreq_hdr(req, rules[i].edit, 1);
        CHECK_MSG(unwrap(req, 4096, &h, pl) == rules[i].want, "rule %zu", i);
        CHECK_EQ_U64(keys[0].count, 0);
    }
    /* the header must fit, the payload must stay inside the page */
    size_t n = mkreq(req, 0, 1, MC_SNP_MSG_REPORT_REQ, pl, 0x60);
    CHECK(unwrap(req, 0x5F, &h, pl) == MC_FW_INVALID_PARAM);
    CHECK(unwrap(req, n - 1, &h, pl) == MC_FW_INVALID_PARAM);
    CHECK(unwrap(req, n, &h, pl) == MC_FW_SUCCESS && h.msg_size == 0x60 && h.seqno == 1);
    /* order: a bad header beats a bad key; a bad key beats a bad sequence number; a bad sequence
     * number beats a bad version */
    mkreq_hdr(req, e_algo, 5);
    memset(req, 0, 16); /* and a broken tag */
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_INVALID_PARAM);
    n = mkreq(req, 0, 5, MC_SNP_MSG_REPORT_REQ, pl, 0x60);
    req[0] ^= 1;
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_BAD_MEASUREMENT);
    mkreq_hdr(req, e_msgver2, 5);
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_AEAD_OFLOW);
    /* the right key for the VMPCK named in the header */
    n = mkreq(req, 1, 1, MC_SNP_MSG_REPORT_REQ, pl, 0x60);
    req[0x3C] = 2; /* claims VMPCK2: authenticated header, so the tag fails */
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_BAD_MEASUREMENT);
}

static void test_sequence(void)
{
    for (int i = 0; i < 4; i++) {
        rnd(keys[i].key, 32);
        keys[i].count = 0;
    }
    uint8_t req[4096], old[4096], pl[4096], rsp[4096], back[4096];
    struct mc_snp_msg_hdr h, o;
    size_t n = 0, rn = 0;
    mc_fw_status fw;
    for (uint64_t s = 1; s < 12; s += 2) {
        n = mkreq(req, 3, s, MC_SNP_MSG_KEY_REQ, pl, 0x20);
        if (s == 3)
            memcpy(old, req, n);
        CHECK(unwrap(req, 4096, &h, pl) == MC_FW_SUCCESS);
        CHECK(mc_snp_msg_fw_wrap(keys, &h, pl, 0x40, rsp, 4096, &rn, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
        CHECK(mc_snp_msg_open(keys[3].key, rsp, rn, &o, back, sizeof back, NULL) == MC_OK);
        CHECK(o.seqno == s + 1 && o.msg_type == MC_SNP_MSG_KEY_RSP && o.msg_version == 1 && o.msg_vmpck == 3 &&
              o.msg_size == 0x40);
        CHECK_EQ_U64(keys[3].count, s + 1);
    }
    CHECK(keys[0].count == 0 && keys[1].count == 0 && keys[2].count == 0); /* per-VMPCK counters */
    /* replay, a response replayed as a request, a skipped number, the same number twice */
    CHECK(unwrap(old, 4096, &h, pl) == MC_FW_AEAD_OFLOW);
    n = mkreq(req, 3, 14, MC_SNP_MSG_KEY_REQ, pl, 0x20);
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_AEAD_OFLOW);
    n = mkreq(req, 3, 12, MC_SNP_MSG_KEY_REQ, pl, 0x20);
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_AEAD_OFLOW);
    n = mkreq(req, 3, 13, MC_SNP_MSG_KEY_REQ, pl, 0x20);
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_SUCCESS);
    /* the response must fit its page: nothing counted when it does not */
    CHECK(mc_snp_msg_fw_wrap(keys, &h, pl, 0x40, rsp, 0x9F, &rn, &fw, NULL) == MC_OK && fw == MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(keys[3].count, 12);
    CHECK(mc_snp_msg_fw_wrap(keys, &h, pl, 0x40, rsp, 0xA0, &rn, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    CHECK_EQ_U64(keys[3].count, 14);
    /* exhausted counter */
    keys[2].count = UINT64_MAX - 1;
    n = mkreq(req, 2, UINT64_MAX, MC_SNP_MSG_KEY_REQ, pl, 0x20);
    CHECK(unwrap(req, 4096, &h, pl) == MC_FW_AEAD_OFLOW);
    (void)n;
}

/* ---- MSG_REPORT ---- */

static void base_ctx(struct mc_snp_msg_ctx *c, struct mc_snp_identity *id)
{
    memset(c, 0, sizeof *c);
    struct mc_snp_report_ctx *r = &c->report;
    enum mc_snp_gen g = mc_snp_identity_gen(id);
    r->policy = 0x30000;
    r->guest_svn = 5;
    rnd(r->family_id, 16);
    rnd(r->image_id, 16);
    rnd(r->measurement, 48);
    rnd(r->host_data, 32);
    rnd(r->id_key_digest, 48);
    rnd(r->report_id, 32);
    memset(r->report_id_ma, 0xff, 32);
    r->current_tcb = r->committed_tcb = r->reported_tcb = r->launch_tcb =
        g == MC_SNP_GEN_TURIN ? mc_snp_tcb_encode(g, 1, 2, 0, 3, 80) : mc_snp_tcb_encode(g, 0, 4, 0, 24, 219);
    r->current_major = r->committed_major = 1;
    r->current_minor = r->committed_minor = 55;
    r->current_build = r->committed_build = 21;
    r->platform_info = 0x1;
    r->cpuid_fam_id = g == MC_SNP_GEN_TURIN ? 0x1A : 0x19;
    r->cpuid_mod_id = g == MC_SNP_GEN_TURIN ? 0x02 : 0x01;
    r->cpuid_step = 1;
    c->id_block_en = true;
    rnd(c->vmrk, 32);
    c->desired_tsc_khz = 2000000;
}

static uint32_t report_status(const struct mc_snp_msg_ctx *c, uint8_t vmpck, const struct mc_snp_report_req *q,
                              uint8_t rsp[MC_SNP_REPORT_RSP_SIZE])
{
    uint8_t b[MC_SNP_REPORT_REQ_SIZE];
    mc_snp_report_req_encode(q, b);
    struct mc_error e;
    CHECK_MSG(mc_snp_handle_report_req(chip, c, vmpck, b, sizeof b, rsp, &e) == MC_OK, "%s", e.msg);
    return mc_le32(rsp);
}

static void verify_report(const uint8_t *rep, bool want_signed)
{
    if (!want_signed) {
        CHECK_EQ_U64((mc_le32(rep + 0x48) >> 2) & 7, MC_SNP_SIGNER_NONE);
        return;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/roots", tmpdir);
    struct mc_error e;
    CHECK_MSG(snp_verify_exported(chip, rep, dir, &e) == MC_OK, "%s", e.msg);
}

static void test_report_req(void)
{
    struct mc_snp_msg_ctx c;
    base_ctx(&c, chip);
    struct mc_snp_report_req q = {.vmpl = 2, .key_sel = 0};
    rnd(q.report_data, 64);
    uint8_t rsp[MC_SNP_REPORT_RSP_SIZE], rep[MC_SNP_REPORT_SIZE];
    CHECK_EQ_U64(report_status(&c, 1, &q, rsp), 0);
    CHECK_EQ_U64(mc_le32(rsp + 4), 0x4A0);
    uint32_t st = 99;
    CHECK(mc_snp_report_rsp_decode(rsp, sizeof rsp, &st, rep, NULL) == MC_OK && st == 0);
    CHECK_EQ_U64(mc_le32(rep + 0x30), 2);           /* VMPL from the request */
    CHECK_MEM(rep + 0x50, q.report_data, 64);       /* REPORT_DATA from the request */
    CHECK_MEM(rep + 0x90, c.report.measurement, 48);
    CHECK_EQ_U64(mc_le32(rep), 3);                  /* Milan 1.55.21 emits version 3 */
    CHECK_EQ_U64((mc_le32(rep + 0x48) >> 2) & 7, MC_SNP_SIGNER_VCEK);
    verify_report(rep, true);
    /* statuses, in the firmware's order */
    struct { uint32_t vmpl, keysel; uint8_t vmpck, rsvd_byte; bool vcek_dis, mask; uint32_t want; } cases[] = {
        {2, 0, 3, 0, false, false, MC_FW_INVALID_PARAM}, /* VMPL below the sender's */
        {3, 0, 3, 0, false, false, MC_FW_SUCCESS},
        {0, 3, 0, 0, false, false, MC_FW_INVALID_KEY},
        {0, 2, 0, 0, false, false, MC_FW_INVALID_KEY},   /* VLEK only, none loaded */
        {0, 1, 0, 0, true, false, MC_FW_INVALID_KEY},    /* VCEK only, VCEK disabled */
        {0, 0, 0, 0, true, false, MC_FW_INVALID_KEY},    /* default, VCEK disabled, no VLEK */
        {0, 3, 3, 0, false, false, MC_FW_INVALID_KEY},   /* key before VMPL */
        {0, 3, 0, 1, false, false, MC_FW_INVALID_PARAM}, /* reserved before key */
        {0, 4, 0, 0, false, false, MC_FW_INVALID_PARAM}, /* KEY_SEL's reserved bits */
        {0, 1, 0, 0, false, true, MC_FW_SUCCESS},        /* masked chip key: unsigned, not refused */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mc_snp_report_req r = {.vmpl = cases[i].vmpl, .key_sel = cases[i].keysel};
        c.vcek_dis = cases[i].vcek_dis;
        c.report.mask_chip_key = cases[i].mask;
        uint8_t b[MC_SNP_REPORT_REQ_SIZE];
        mc_snp_report_req_encode(&r, b);
        b[0x5F] = cases[i].rsvd_byte;
        CHECK(mc_snp_handle_report_req(chip, &c, cases[i].vmpck, b, sizeof b, rsp, NULL) == MC_OK);
        CHECK_MSG(mc_le32(rsp) == cases[i].want, "case %zu: status 0x%x", i, mc_le32(rsp));
        CHECK_EQ_U64(mc_le32(rsp + 4), 0x4A0);
        if (cases[i].want) {
            uint8_t z[MC_SNP_REPORT_SIZE] = {0};
            CHECK_MEM(rsp + 0x20, z, sizeof z);
        }
        if (cases[i].mask) {
            CHECK(mc_snp_report_rsp_decode(rsp, sizeof rsp, &st, rep, NULL) == MC_OK && st == 0);
            CHECK((mc_le32(rep + 0x48) & 2) && ((mc_le32(rep + 0x48) >> 2) & 7) == 7);
            verify_report(rep, false);
        }
    }
    c.vcek_dis = false;
    c.report.mask_chip_key = false;
    /* with a VLEK: default and VLEK-only sign with it, VCEK-only does not */
    static const uint8_t vseed[48] = "guest message test VLEK ........................";
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
    mc_fw_status fw;
    CHECK(mc_snp_vlek_wrap(chip, vseed, c.report.reported_tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(chip, w, sizeof w, c.report.reported_tcb, &fw, NULL) == MC_OK && !fw);
    for (uint32_t ks = 0; ks < 3; ks++) {
        struct mc_snp_report_req r = {.vmpl = 0, .key_sel = ks};
        CHECK_EQ_U64(report_status(&c, 0, &r, rsp), 0);
        CHECK_EQ_U64((mc_le32(rsp + 0x20 + 0x48) >> 2) & 7, ks == 1 ? MC_SNP_SIGNER_VCEK : MC_SNP_SIGNER_VLEK);
        verify_report(rsp + 0x20, true);
    }
    /* VCEK disabled but a VLEK: the default signs with the VLEK; masked chip key too */
    c.vcek_dis = true;
    c.report.mask_chip_key = true;
    struct mc_snp_report_req r0 = {.vmpl = 0, .key_sel = 0};
    CHECK_EQ_U64(report_status(&c, 0, &r0, rsp), 0);
    CHECK_EQ_U64((mc_le32(rsp + 0x20 + 0x48) >> 2) & 7, MC_SNP_SIGNER_VLEK);
    mc_snp_identity_vlek_clear(chip);
    /* a short payload reads zero-extended; a truncated response is refused by the decoder */
    c.vcek_dis = false;
    c.report.mask_chip_key = false;
    uint8_t shortq[0x50] = {0};
    CHECK(mc_snp_handle_report_req(chip, &c, 0, shortq, sizeof shortq, rsp, NULL) == MC_OK && mc_le32(rsp) == 0);
    CHECK(mc_snp_report_rsp_decode(rsp, 0x4BF, &st, rep, NULL) == MC_E_FORMAT);
    CHECK(mc_snp_report_rsp_decode(rsp, 0x10, &st, rep, NULL) == MC_E_FORMAT);
}

/* ---- MSG_KEY ---- */

static uint32_t key_req(struct mc_snp_identity *id, const struct mc_snp_msg_ctx *c, uint8_t vmpck,
                        const struct mc_snp_key_req *q, uint8_t key[32])
{
    uint8_t b[MC_SNP_KEY_REQ_SIZE_MIT], rsp[MC_SNP_KEY_RSP_SIZE];
    mc_snp_key_req_encode(q, b);
    struct mc_error e;
    CHECK_MSG(mc_snp_handle_key_req(id, c, vmpck, b, c->mit_vector ? 0x30 : 0x20, rsp, &e) == MC_OK, "%s", e.msg);
    uint8_t z[0x1C] = {0};
    CHECK_MEM(rsp + 4, z, sizeof z);
    if (key)
        memcpy(key, rsp + 0x20, 32);
    if (mc_le32(rsp)) {
        uint8_t zk[32] = {0};
        CHECK_MEM(rsp + 0x20, zk, 32);
    }
    return mc_le32(rsp);
}

static void test_key_statuses(void)
{
    struct mc_snp_msg_ctx c;
    base_ctx(&c, chip);
    struct mc_snp_key_req q = {.vmpl = 1};
    uint8_t k[32];
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    q.vmpl = 0;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_PARAM);
    q.vmpl = 1;
    q.guest_field_select = 1u << 6; /* LAUNCH_MIT_VECTOR on firmware without it */
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_PARAM);
    c.mit_vector = true;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    q.guest_field_select = 1u << 7;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_PARAM);
    q.guest_field_select = MC_SNP_GFS_GUEST_SVN;
    q.guest_svn = 6; /* above the ID block's 5 */
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_PARAM);
    q.guest_svn = 5;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    q.guest_field_select = MC_SNP_GFS_TCB_VERSION;
    uint64_t com = c.report.committed_tcb;
    for (int byte = 0; byte < 8; byte++) {
        q.tcb_version = com + (1ull << (8 * byte)); /* one part above committed, or a reserved byte */
        CHECK_MSG(key_req(chip, &c, 1, &q, k) == MC_FW_INVALID_PARAM, "byte %d", byte);
    }
    q.tcb_version = com - 1; /* microcode... below in byte 0 */
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    q.tcb_version = com;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    /* key selection, MASK_CHIP_KEY, VMRK */
    q.guest_field_select = 0;
    q.key_sel = 3;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_KEY);
    q.key_sel = 2;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_KEY);
    q.key_sel = 1;
    c.vcek_dis = true;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_KEY);
    q.root_key_select = 1; /* VMRK: KEY_SEL and VCEK_DIS do not matter */
    q.key_sel = 3;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    c.vcek_dis = false;
    c.report.mask_chip_key = true;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), 0);
    q.root_key_select = 0;
    q.key_sel = 0;
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_KEY);
    q.vmpl = 0; /* the chip-key refusal comes before the VMPL check */
    CHECK_EQ_U64(key_req(chip, &c, 1, &q, k), MC_FW_INVALID_KEY);
    c.report.mask_chip_key = false;
    /* reserved: bits 31:3 of the first word, the second word */
    uint8_t b[0x30] = {0}, rsp[0x40];
    mc_put_le32(b + 0x10, 1);
    b[0] = 0x08;
    CHECK(mc_snp_handle_key_req(chip, &c, 1, b, sizeof b, rsp, NULL) == MC_OK && mc_le32(rsp) == MC_FW_INVALID_PARAM);
    b[0] = 0;
    b[4] = 1;
    CHECK(mc_snp_handle_key_req(chip, &c, 1, b, sizeof b, rsp, NULL) == MC_OK && mc_le32(rsp) == MC_FW_INVALID_PARAM);
}

/* The MIX_DATA layout of docs/snp-platform.md, built by hand. */
static void test_key_layout(void)
{
    struct mc_snp_msg_ctx c;
    base_ctx(&c, chip);
    c.mit_vector = true;
    c.report.launch_mit_vector = 0;
    struct mc_snp_key_req q = {.vmpl = 2, .guest_field_select = 0x7F, .guest_svn = 4,
                               .tcb_version = c.report.committed_tcb - 2, .launch_mit_vector = 0x1234};
    uint8_t k[32], mix[0xD0] = {0}, seed[48], want[32];
    CHECK_EQ_U64(key_req(chip, &c, 2, &q, k), 0);
    mc_put_le32(mix + 0x00, 0 | (1u << 1));          /* VCEK root, ID block key */
    mc_put_le64(mix + 0x08, 0x7F);
    mc_put_le32(mix + 0x10, 2);
    mc_put_le32(mix + 0x14, 4);
    mc_put_le64(mix + 0x18, q.tcb_version);
    mc_put_le64(mix + 0x20, c.report.policy);
    memcpy(mix + 0x28, c.report.image_id, 16);
    memcpy(mix + 0x38, c.report.family_id, 16);
    memcpy(mix + 0x48, c.report.measurement, 48);
    memcpy(mix + 0x78, c.report.host_data, 32);
    memcpy(mix + 0x98, c.report.id_key_digest, 48);
    mc_put_le64(mix + 0xC8, 0x1234);
    CHECK(mc_snp_identity_vcek_seed(chip, q.tcb_version, seed, NULL) == MC_OK);
    CHECK(mc_kdf_sev(seed, 48, "gmsg-keyreq", mix, sizeof mix, want, 32, NULL) == MC_OK);
    CHECK_MEM(k, want, 32);
    /* VMRK root, nothing selected, author key */
    c.report.author_key_en = true;
    rnd(c.report.author_key_digest, 48);
    struct mc_snp_key_req v = {.root_key_select = 1, .vmpl = 3};
    CHECK_EQ_U64(key_req(chip, &c, 3, &v, k), 0);
    memset(mix, 0, sizeof mix);
    mc_put_le32(mix + 0x00, 1 | (2u << 1));
    mc_put_le32(mix + 0x10, 3);
    memcpy(mix + 0x78, c.report.host_data, 32);
    memcpy(mix + 0x98, c.report.author_key_digest, 48);
    CHECK(mc_kdf_sev(c.vmrk, 32, "gmsg-keyreq", mix, sizeof mix, want, 32, NULL) == MC_OK);
    CHECK_MEM(k, want, 32);
}

/* Property test: for random guests and requests, the same inputs give the same key; changing a
 * selected field (or an always-mixed one) gives another; changing an unselected field does not. */
static void test_key_property(void)
{
    int wrong = 0, rounds = 0;
    for (int round = 0; round < 48; round++) {
        struct mc_snp_identity *id = round % 3 == 2 ? turin : chip;
        struct mc_snp_msg_ctx c;
        base_ctx(&c, id);
        c.mit_vector = round & 1;
        rnd(&c.report.policy, 8);
        rnd(&c.report.launch_mit_vector, 8);
        c.report.guest_svn = 100;
        uint64_t gfs = 0;
        rnd(&gfs, 8);
        gfs &= c.mit_vector ? 0x7F : 0x3F;
        struct mc_snp_key_req q = {.root_key_select = (uint32_t)(round % 4 == 3), .guest_field_select = gfs,
                                   .vmpl = 1, .guest_svn = 50, .tcb_version = c.report.committed_tcb};
        if (id == turin)
            q.tcb_version -= 1;
        rnd(&q.launch_mit_vector, 8);
        uint8_t k0[32], k1[32];
        if (key_req(id, &c, 0, &q, k0) != 0) {
            wrong++;
            continue;
        }
        CHECK(key_req(id, &c, 0, &q, k1) == 0);
        if (memcmp(k0, k1, 32))
            wrong++;
        /* each field: (mutation, selected?) */
        for (int f = 0; f < 11; f++) {
            struct mc_snp_msg_ctx d = c;
            struct mc_snp_key_req r = q;
            bool mixed;
            switch (f) {
            case 0: d.report.policy ^= 1ull << (round % 64); mixed = gfs & MC_SNP_GFS_POLICY; break;
            case 1: d.report.image_id[round % 16] ^= 1; mixed = gfs & MC_SNP_GFS_IMAGE_ID; break;
            case 2: d.report.family_id[round % 16] ^= 1; mixed = gfs & MC_SNP_GFS_FAMILY_ID; break;
            case 3: d.report.measurement[47 - round % 16] ^= 1; mixed = gfs & MC_SNP_GFS_MEASUREMENT; break;
            case 4: r.guest_svn ^= 1; mixed = gfs & MC_SNP_GFS_GUEST_SVN; break;
            case 5: r.tcb_version -= 1ull << 56; mixed = gfs & MC_SNP_GFS_TCB_VERSION; break; /* ucode - 1 */
            case 6: r.launch_mit_vector ^= 4; mixed = gfs & MC_SNP_GFS_LAUNCH_MIT_VECTOR; break;
            case 7: r.vmpl = 2; mixed = true; break;                                    /* always */
            case 8: d.report.host_data[3] ^= 1; mixed = true; break;                    /* always */
            case 9: d.report.id_key_digest[40] ^= 1; mixed = true; break;               /* ID block in use */
            default: d.report.report_data[0] ^= 1; d.report.launch_tcb ^= 1; mixed = false; break; /* never */
            }
            uint8_t k2[32];
            if (key_req(id, &d, 0, &r, k2) != 0) {
                wrong++;
                continue;
            }
            if (mixed == !memcmp(k0, k2, 32)) {
                wrong++;
                fprintf(stderr, "round %d field %d (gfs 0x%llx): %s\n", round, f, (unsigned long long)gfs,
                        mixed ? "selected change ignored" : "unselected change mixed");
            }
        }
        /* another chip, or the other root, gives another key */
        struct mc_snp_key_req r = q;
        r.root_key_select ^= 1;
        uint8_t k3[32];
        if (key_req(id, &c, 0, &r, k3) != 0 || !memcmp(k0, k3, 32))
            wrong++;
        rounds++;
    }
    CHECK_EQ_U64(wrong, 0);
    CHECK_EQ_U64(rounds, 48);
    /* two chips, same guest and request: different VCEK-rooted keys, the same VMRK-rooted key */
    struct mc_snp_msg_ctx c;
    base_ctx(&c, chip);
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_MILAN, .chip_secret = (const uint8_t *)"another chip's secret..........."
                                       , .roots_from = chip};
    struct mc_snp_identity *other = NULL;
    CHECK(mc_snp_identity_create(&p, &other, NULL) == MC_OK);
    struct mc_snp_key_req q = {.guest_field_select = MC_SNP_GFS_MEASUREMENT};
    uint8_t a[32], b[32];
    CHECK(key_req(chip, &c, 0, &q, a) == 0 && key_req(other, &c, 0, &q, b) == 0 && memcmp(a, b, 32));
    q.root_key_select = 1;
    CHECK(key_req(chip, &c, 0, &q, a) == 0 && key_req(other, &c, 0, &q, b) == 0 && !memcmp(a, b, 32));
    /* a VLEK root: the same on every chip holding the provider's VLEK */
    static const uint8_t vseed[48] = "VLEK for the key property test .................";
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
    mc_fw_status fw;
    q.root_key_select = 0;
    q.key_sel = 2;
    CHECK(mc_snp_vlek_wrap(chip, vseed, c.report.reported_tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(chip, w, sizeof w, c.report.reported_tcb, &fw, NULL) == MC_OK && !fw);
    CHECK(mc_snp_vlek_wrap(other, vseed, c.report.reported_tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(other, w, sizeof w, c.report.reported_tcb, &fw, NULL) == MC_OK && !fw);
    CHECK(key_req(chip, &c, 0, &q, a) == 0 && key_req(other, &c, 0, &q, b) == 0 && !memcmp(a, b, 32));
    q.key_sel = 1;
    uint8_t v1[32];
    CHECK(key_req(chip, &c, 0, &q, v1) == 0 && memcmp(a, v1, 32));
    mc_snp_identity_vlek_clear(chip);
    mc_snp_identity_destroy(other);
}

/* ---- TSC info, migration codecs, certificate table pages ---- */

static void test_tsc(void)
{
    /* 8.32 fixed point: 2 GHz / 99.8 MHz = 20.0400801603... -> 0x14_0A42B182 (fraction rounded up) */
    CHECK_EQ_U64(mc_snp_tsc_scale(2000000, 99800), (20ull << 32) | 0x0A42B182ull);
    CHECK_EQ_U64(mc_snp_tsc_scale(99800, 99800), 1ull << 32);
    CHECK_EQ_U64(mc_snp_tsc_scale(49900, 99800), 1ull << 31);
    CHECK_EQ_U64(mc_snp_tsc_scale(1, 0), 0);
    struct mc_snp_msg_ctx c;
    base_ctx(&c, chip);
    c.psp_tsc_offset = 0x123456789;
    uint8_t req[0x80] = {0}, rsp[0x80];
    mc_snp_handle_tsc_info_req(&c, req, sizeof req, rsp);
    CHECK(mc_le32(rsp) == 0 && mc_le64(rsp + 8) == mc_snp_tsc_scale(2000000, 99800) && mc_le64(rsp + 0x10) == 0x123456789 &&
          mc_le32(rsp + 0x18) == 200);
    req[0x7F] = 1;
    mc_snp_handle_tsc_info_req(&c, req, sizeof req, rsp);
    CHECK(mc_le32(rsp) == MC_FW_INVALID_PARAM && mc_le64(rsp + 8) == 0);
}

static void test_migration(void)
{
    struct mc_snp_mig_gctx g, h;
    rnd(&g, sizeof g);
    g.author_key_en = true;
    g.id_block_en = false;
    g.vcek_dis = true;
    uint8_t b[0x300], b2[0x300];
    mc_snp_mig_gctx_encode(&g, b);
    /* pinned offsets (digest §6.5) */
    CHECK_MEM(b + 0x000, g.ld, 48);
    CHECK_MEM(b + 0x050, g.vmpck[0], 32);
    CHECK_MEM(b + 0x0B0, g.vmpck[3], 32);
    CHECK_MEM(b + 0x0D0, g.vmrk, 32);
    CHECK_EQ_U64(mc_le64(b + 0x1D8), g.msg_count[3]);
    CHECK_EQ_U64(mc_le64(b + 0x220), 5);
    CHECK_EQ_U64(mc_le64(b + 0x228), g.policy);
    CHECK_EQ_U64(b[0x230], g.state);
    CHECK_MEM(b + 0x240, g.id_block, 0x60);
    CHECK_EQ_U64(mc_le32(b + 0x2B0), g.desired_tsc_freq);
    CHECK_EQ_U64(mc_le64(b + 0x2C0), g.launch_tcb);
    mc_snp_mig_gctx_decode(b, &h);
    mc_snp_mig_gctx_encode(&h, b2);
    CHECK_MEM(b, b2, sizeof b);
    /* EXPORT */
    uint8_t q[0x10] = {0};
    uint64_t pa = 0;
    bool imi = false;
    mc_put_le64(q, 0x7000);
    q[8] = 1;
    CHECK(mc_snp_export_req_decode(q, sizeof q, &pa, &imi) == MC_FW_SUCCESS && pa == 0x7000 && imi);
    q[8] = 2;
    CHECK(mc_snp_export_req_decode(q, sizeof q, &pa, &imi) == MC_FW_INVALID_PARAM);
    q[8] = 0;
    q[0] = 1;
    CHECK(mc_snp_export_req_decode(q, sizeof q, &pa, &imi) == MC_FW_INVALID_PARAM);
    uint8_t rsp[MC_SNP_EXPORT_RSP_SIZE];
    mc_snp_export_rsp_encode(0, &g, rsp);
    CHECK(mc_le32(rsp + 4) == 0x300 && mc_le32(rsp + 8) == 3);
    CHECK_MEM(rsp + 0x20, b, 0x300);
    /* IMPORT / ABSORB / ABSORB_NOMA */
    uint8_t iq[0x320] = {0};
    mc_put_le64(iq, 0x9000);
    mc_put_le32(iq + 8, 0x300);
    mc_put_le32(iq + 12, 3);
    memcpy(iq + 0x20, b, 0x300);
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_IMPORT_REQ, iq, sizeof iq, &pa, &h) == MC_FW_SUCCESS && pa == 0x9000);
    mc_snp_mig_gctx_encode(&h, b2);
    CHECK_MEM(b, b2, sizeof b);
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_ABSORB_REQ, iq, sizeof iq, &pa, &h) == MC_FW_SUCCESS);
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_ABSORB_NOMA_REQ, iq, sizeof iq, &pa, &h) == MC_FW_INVALID_PARAM);
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_KEY_REQ, iq, sizeof iq, &pa, &h) == MC_FW_INVALID_PARAM);
    struct { size_t off; uint8_t v; } bad[] = {{0x08, 0x01}, {0x0C, 4}, {0x10, 1}, {0x1F, 1}, {0x00, 0x01}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t t[0x320];
        memcpy(t, iq, sizeof t);
        t[bad[i].off] = bad[i].v;
        CHECK_MSG(mc_snp_import_req_decode(MC_SNP_MSG_IMPORT_REQ, t, sizeof t, &pa, &h) == MC_FW_INVALID_PARAM, "%zu", i);
    }
    memset(iq, 0, 8);
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_ABSORB_NOMA_REQ, iq, sizeof iq, &pa, &h) == MC_FW_SUCCESS);
    /* a short IMPORT reads zero-extended: IN_GCTX_SIZE 0 -> refused */
    CHECK(mc_snp_import_req_decode(MC_SNP_MSG_IMPORT_REQ, iq, 8, &pa, &h) == MC_FW_INVALID_PARAM);
    /* VMRK */
    uint8_t vq[0x40] = {0}, vmrk[32];
    mc_put_le64(vq, 0xA000);
    memset(vq + 0x20, 0x77, 32);
    CHECK(mc_snp_vmrk_req_decode(vq, sizeof vq, &pa, vmrk) == MC_FW_SUCCESS && pa == 0xA000 && vmrk[31] == 0x77);
    vq[0x1F] = 1;
    CHECK(mc_snp_vmrk_req_decode(vq, sizeof vq, &pa, vmrk) == MC_FW_INVALID_PARAM);
    uint8_t s[0x10];
    mc_snp_status_rsp_encode(MC_FW_INVALID_GUEST, s);
    CHECK(mc_le32(s) == 0x10 && mc_le32(s + 4) == 0 && mc_le64(s + 8) == 0);
    CHECK(mc_snp_certtable_pages(0) == 0 && mc_snp_certtable_pages(1) == 1 && mc_snp_certtable_pages(4096) == 1 &&
          mc_snp_certtable_pages(4097) == 2);
}

int main(void)
{
    mc_crypto_init();
    if (snp_tmpdir(tmpdir, sizeof tmpdir, "test_snp_guest_msg") || mc_rng_create((const uint8_t *)"guest-msg", 9, &rng, NULL) != MC_OK)
        return 1;
    static const uint8_t seed[] = "memcrypt guest message test root";
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_MILAN, .chip_secret = (const uint8_t *)"guest message test chip secret..",
                                       .root_seed = seed, .root_seed_len = sizeof seed - 1, .root_bits = 2048};
    struct mc_error e;
    CHECK_MSG(mc_snp_identity_create(&p, &chip, &e) == MC_OK, "%s", e.msg);
    p.gen = MC_SNP_GEN_TURIN;
    CHECK_MSG(mc_snp_identity_create(&p, &turin, &e) == MC_OK, "%s", e.msg);
    if (!chip || !turin)
        return check_summary();
    RUN(test_header);
    RUN(test_seal_open);
    RUN(test_fw_rules);
    RUN(test_sequence);
    RUN(test_report_req);
    RUN(test_key_statuses);
    RUN(test_key_layout);
    RUN(test_key_property);
    RUN(test_tsc);
    RUN(test_migration);
    mc_snp_identity_destroy(chip);
    mc_snp_identity_destroy(turin);
    mc_rng_destroy(rng);
    snp_tmpdir_remove(tmpdir);
    return check_summary();
}
