/* SNP_GUEST_REQUEST: the command's checks (context, pages, guest state, the message core's header,
 * tag and sequence rules, types this firmware does not implement) and the messages wired to the
 * guest's context: MSG_REPORT_REQ (every field from the launch, signed by the VCEK at the
 * reported TCB or by a loaded VLEK, verified through the emulated roots like `report verify
 * --roots`; MASK_CHIP_ID / MASK_CHIP_KEY), MSG_KEY_REQ, MSG_TSC_INFO_REQ, MSG_CPUID_REQ. The guest's
 * side (VMPCK0 from the secrets page, sealing, sequence numbers) is played by the test. */
#include <stdlib.h>

#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#include "check.h"
#include "snp_fw_harness.h"
#include "snp_testlib.h"

#define F(S, f) offsetof(struct S, f)
#define POLICY 0x30000ull
#define REQ (SFW_GUEST + 0x100000)  /* the guest's request page (shared: hypervisor-owned) */
#define RSP (SFW_GUEST + 0x101000)  /* the response page the host gives the firmware */
#define SECRETS (SFW_GUEST + 0x1000)

struct guest {
    struct sfw t;
    uint8_t vmpck[4][32];
    uint64_t seq[4];     /* the guest's next request sequence number per VMPCK */
    uint8_t ld[48];
    uint8_t host_data[32];
};

static void log_ld(void *ctx, const struct mc_psp_snp_page *p) { memcpy(ctx, p->digest, 48); }

/* A running guest: one NORMAL page, the secrets page, LAUNCH_FINISH with HOST_DATA. */
static int guest_up(struct guest *g, const char *platform, uint64_t policy)
{
    memset(g, 0, sizeof *g);
    struct sfw *t = &g->t;
    if (sfw_open(t, platform, NULL, NULL) || sfw_up(t))
        return -1;
    mc_psp_set_snp_log(t->psp, log_ld, g->ld);
    uint8_t page[4096];
    memset(page, 0x42, sizeof page);
    sfw_write(t, SFW_GUEST, page, sizeof page);
    memset(g->host_data, 0xB7, 32);
    if (sfw_gctx_create(t, SFW_GCTX) || sfw_launch_start(t, SFW_GCTX, policy) || sfw_activate(t, SFW_GCTX, 1))
        return -1;
    sfw_make_preguest(t, SFW_GUEST, 1, 0, 0);
    sfw_make_preguest(t, SECRETS, 1, 0x1000, 0);
    if (sfw_launch_update(t, SFW_GCTX, SFW_GUEST, MC_SNP_PT_NORMAL, 0, 0) ||
        sfw_launch_update(t, SFW_GCTX, SECRETS, MC_SNP_PT_SECRETS, 0, 0) ||
        sfw_launch_finish(t, SFW_GCTX, 0, 0, 0, g->host_data))
        return -1;
    mc_psp_set_snp_log(t->psp, NULL, NULL);
    uint8_t s[4096];
    if (sfw_guest_read(t, 1, SECRETS, s, sizeof s))
        return -1;
    memcpy(g->vmpck, s + 0x20, sizeof g->vmpck);
    for (int i = 0; i < 4; i++)
        g->seq[i] = 1;
    sfw_make_fw(t, RSP);
    return 0;
}

/* The guest seals a request with VMPCK vmpck at sequence seq; the host hands it to the firmware. */
static uint32_t request(struct guest *g, unsigned vmpck, uint64_t seq, unsigned type, const uint8_t *payload, size_t n,
                        uint64_t req, uint64_t rsp)
{
    struct mc_snp_msg_hdr h = {.seqno = seq, .msg_type = (uint8_t)type, .msg_version = 1, .msg_vmpck = (uint8_t)vmpck};
    uint8_t msg[4096];
    size_t len;
    if (mc_snp_msg_seal(g->vmpck[vmpck & 3], &h, payload, n, msg, sizeof msg, &len, NULL) != MC_OK)
        return 0xFFFF;
    sfw_write(&g->t, req, msg, len);
    uint8_t b[24];
    mc_put_le64(b, SFW_GCTX);
    mc_put_le64(b + 8, req);
    mc_put_le64(b + 16, rsp);
    return sfw_cmd(&g->t, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b);
}

/* The guest opens the response to its request seq. */
static int response(struct guest *g, unsigned vmpck, uint64_t seq, unsigned type, uint8_t *payload, size_t cap)
{
    uint8_t msg[4096];
    sfw_read(&g->t, RSP, msg, sizeof msg);
    struct mc_snp_msg_hdr h;
    if (mc_snp_msg_open(g->vmpck[vmpck], msg, sizeof msg, &h, payload, cap, NULL) != MC_OK)
        return -1;
    return h.seqno == seq + 1 && h.msg_type == type + 1 && h.msg_vmpck == vmpck ? 0 : -1;
}

static uint32_t report(struct guest *g, unsigned vmpck, uint32_t vmpl, uint32_t key_sel, uint8_t rep[MC_SNP_REPORT_SIZE],
                       uint32_t *status)
{
    struct mc_snp_report_req r = {.vmpl = vmpl, .key_sel = key_sel};
    for (int i = 0; i < 64; i++)
        r.report_data[i] = (uint8_t)i;
    uint8_t p[MC_SNP_REPORT_REQ_SIZE], rsp[MC_SNP_REPORT_RSP_SIZE];
    mc_snp_report_req_encode(&r, p);
    uint64_t seq = g->seq[vmpck];
    uint32_t st = request(g, vmpck, seq, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP);
    if (st)
        return st;
    g->seq[vmpck] += 2;
    if (response(g, vmpck, seq, MC_SNP_MSG_REPORT_REQ, rsp, sizeof rsp))
        return 0xFFFE;
    if (mc_snp_report_rsp_decode(rsp, sizeof rsp, status, rep, NULL) != MC_OK)
        return 0xFFFD;
    return 0;
}

static void test_report(void)
{
    struct guest g;
    CHECK(guest_up(&g, "milan", POLICY) == 0);
    uint8_t rep[MC_SNP_REPORT_SIZE];
    uint32_t status = 1;
    CHECK_EQ_U64(report(&g, 0, 0, 0, rep, &status), 0);
    CHECK_EQ_U64(status, 0);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_EQ_U64(r.version, 3); /* Milan firmware 1.55 */
    CHECK_EQ_U64(r.policy, POLICY);
    CHECK_MEM(r.measurement, g.ld, 48);
    CHECK_MEM(r.host_data, g.host_data, 32);
    CHECK_EQ_U64(r.report_data[63], 63);
    CHECK_EQ_U64(r.vmpl, 0);
    uint8_t ff[32];
    memset(ff, 0xFF, 32);
    CHECK_MEM(r.report_id_ma, ff, 32);
    struct mc_psp_snp_tcb k;
    mc_psp_snp_tcb(g.t.psp, &k);
    CHECK_EQ_U64(r.current_tcb, k.current);
    CHECK_EQ_U64(r.reported_tcb, k.reported);
    CHECK_EQ_U64(r.committed_tcb, k.committed);
    CHECK_EQ_U64(r.launch_tcb, k.committed);
    CHECK_EQ_U64(mc_snp_report_signer(&r), MC_SNP_SIGNER_VCEK);
    CHECK_EQ_U64(r.cpuid_fam_id, 0x19);
    CHECK_EQ_U64(r.platform_info & 1, 1); /* SMT_EN */
    /* CHIP_ID is GET_ID's value */
    uint8_t gid[0x0C] = {0}, id[64];
    mc_put_le64(gid, SFW_OUT);
    mc_put_le32(gid + 8, 0x40);
    sfw_make_fw(&g.t, SFW_CMD);
    sfw_make_fw(&g.t, SFW_OUT);
    CHECK_EQ_U64(sfw_cmd(&g.t, MC_SEV_CMD_GET_ID, gid, sizeof gid), 0);
    sfw_read(&g.t, SFW_OUT, id, sizeof id);
    CHECK_MEM(r.chip_id, id, 64);
    struct mc_snp_identity *ident = mc_psp_snp_identity(g.t.psp, NULL);
    CHECK(ident != NULL);
    /* the chain: the emulated ARK -> ASK -> VCEK at REPORTED_TCB, as `report verify --roots` does */
    char dir[256];
    CHECK(snp_tmpdir(dir, sizeof dir, "snpfw-report") == 0);
    struct mc_error e = {0};
    CHECK_MSG(snp_verify_exported(ident, rep, dir, &e) == MC_OK, "%s", e.msg);
    rep[0x90] ^= 1; /* one bit of the measurement */
    CHECK(snp_verify_exported(ident, rep, dir, NULL) != MC_OK);
    snp_tmpdir_remove(dir);
    /* per-message errors are the response's STATUS: VMPL below the VMPCK, KEY_SEL 3 */
    CHECK_EQ_U64(report(&g, 1, 0, 0, rep, &status), 0);
    CHECK_EQ_U64(status, MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(report(&g, 0, 0, 3, rep, &status), 0);
    CHECK_EQ_U64(status, MC_FW_INVALID_KEY);
    CHECK_EQ_U64(report(&g, 0, 0, 2, rep, &status), 0); /* VLEK only, none loaded */
    CHECK_EQ_U64(status, MC_FW_INVALID_KEY);
    CHECK_EQ_U64(report(&g, 2, 3, 0, rep, &status), 0);
    CHECK_EQ_U64(status, 0);
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_EQ_U64(r.vmpl, 3);
    sfw_close(&g.t);
}

/* SNP_CONFIG's masks and a loaded VLEK change what the next reports show. */
static void test_report_config(void)
{
    struct guest g;
    CHECK(guest_up(&g, "milan", POLICY) == 0);
    uint8_t cfg[0x40] = {0};
    mc_put_le32(cfg + 8, MC_SNP_CONFIG_MASK_CHIP_ID | MC_SNP_CONFIG_MASK_CHIP_KEY);
    CHECK_EQ_U64(sfw_cmd(&g.t, MC_SEV_CMD_SNP_CONFIG, cfg, sizeof cfg), 0);
    uint8_t rep[MC_SNP_REPORT_SIZE], zero[64] = {0};
    uint32_t status;
    CHECK_EQ_U64(report(&g, 0, 0, 1, rep, &status), 0);
    CHECK_EQ_U64(status, 0);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_MEM(r.chip_id, zero, 64);
    CHECK_EQ_U64(mc_snp_report_signer(&r), MC_SNP_SIGNER_NONE); /* unsigned */
    CHECK_EQ_U64(r.key_info & 2, 2);
    /* a VLEK: the default selection signs with it */
    mc_put_le32(cfg + 8, 0);
    CHECK_EQ_U64(sfw_cmd(&g.t, MC_SEV_CMD_SNP_CONFIG, cfg, sizeof cfg), 0);
    struct mc_snp_identity *id = mc_psp_snp_identity(g.t.psp, NULL);
    struct mc_psp_snp_tcb k;
    mc_psp_snp_tcb(g.t.psp, &k);
    uint8_t seed[48], w[MC_SNP_VLEK_WRAPPED_LEN];
    memset(seed, 3, sizeof seed);
    CHECK(mc_snp_vlek_wrap(id, seed, k.reported, NULL, w, NULL) == MC_OK);
    sfw_write(&g.t, SFW_DATA, w, sizeof w);
    uint8_t vl[16] = {0x10};
    mc_put_le64(vl + 8, SFW_DATA);
    CHECK_EQ_U64(sfw_cmd(&g.t, MC_SEV_CMD_SNP_VLEK_LOAD, vl, sizeof vl), 0);
    CHECK_EQ_U64(report(&g, 0, 0, 0, rep, &status), 0);
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_EQ_U64(mc_snp_report_signer(&r), MC_SNP_SIGNER_VLEK);
    char dir[256];
    CHECK(snp_tmpdir(dir, sizeof dir, "snpfw-vlek") == 0);
    struct mc_error e = {0};
    CHECK_MSG(snp_verify_exported(mc_psp_snp_identity(g.t.psp, NULL), rep, dir, &e) == MC_OK, "%s", e.msg);
    snp_tmpdir_remove(dir);
    sfw_close(&g.t);
}

static void test_request_checks(void)
{
    struct guest g;
    CHECK(guest_up(&g, "milan", POLICY) == 0);
    struct sfw *t = &g.t;
    uint8_t p[MC_SNP_REPORT_REQ_SIZE] = {0};
    uint8_t b[24];
    /* reserved bits of GCTX_PADDR; not a context; response page not Firmware; 2 MiB pages */
    mc_put_le64(b, SFW_GCTX + 1);
    mc_put_le64(b + 8, REQ);
    mc_put_le64(b + 16, RSP);
    REFUSED(t, sfw_cmd(t, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b), MC_FW_INVALID_PARAM);
    mc_put_le64(b, SFW_GCTX2);
    REFUSED(t, sfw_cmd(t, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b), MC_FW_INVALID_GUEST);
    sfw_make_hv(t, RSP);
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(t, RSP);
    struct mc_rmp_entry big = {.large = 1};
    sfw_rmp_put(t, REQ, &big);
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), MC_FW_INVALID_PAGE_SIZE);
    sfw_make_hv(t, REQ);
    /* the header must fit the page; a message that does not open; a replay; a type not offered */
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ + 0xFC0, RSP), MC_FW_INVALID_PARAM);
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ + 0xFA0, RSP), MC_FW_INVALID_PARAM);
    uint8_t other[32];
    memcpy(other, g.vmpck[0], 32);
    g.vmpck[0][0] ^= 1;
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), MC_FW_BAD_MEASUREMENT);
    memcpy(g.vmpck[0], other, 32);
    REFUSED(t, request(&g, 0, 3, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), MC_FW_AEAD_OFLOW); /* out of order */
    CHECK_EQ_U64(request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), 0);
    REFUSED(t, request(&g, 0, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), MC_FW_AEAD_OFLOW); /* replayed */
    uint8_t ex[0x10] = {0};
    mc_put_le64(ex, SFW_GCTX);
    REFUSED(t, request(&g, 0, 3, MC_SNP_MSG_EXPORT_REQ, ex, sizeof ex, REQ, RSP), MC_FW_INVALID_PARAM);
    /* the counters are per VMPCK */
    CHECK_EQ_U64(request(&g, 3, 1, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), 0);
    CHECK_EQ_U64(request(&g, 0, 3, MC_SNP_MSG_REPORT_REQ, p, sizeof p, REQ, RSP), 0);
    sfw_close(t);
    /* a guest still in LAUNCH */
    struct sfw u;
    CHECK(sfw_open(&u, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&u), 0);
    CHECK_EQ_U64(sfw_gctx_create(&u, SFW_GCTX), 0);
    CHECK_EQ_U64(sfw_launch_start(&u, SFW_GCTX, POLICY), 0);
    sfw_make_fw(&u, RSP);
    mc_put_le64(b, SFW_GCTX);
    REFUSED(&u, sfw_cmd(&u, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b), MC_FW_INVALID_GUEST_STATE);
    sfw_close(&u);
}

static void test_key_tsc_cpuid(void)
{
    struct guest g;
    CHECK(guest_up(&g, "milan", POLICY) == 0);
    uint8_t p[MC_SNP_KEY_REQ_SIZE], rsp[0x80], k1[32], k2[32];
    struct mc_snp_key_req kr = {.guest_field_select = MC_SNP_GFS_MEASUREMENT | MC_SNP_GFS_POLICY};
    uint8_t enc[MC_SNP_KEY_REQ_SIZE_MIT];
    mc_snp_key_req_encode(&kr, enc);
    memcpy(p, enc, sizeof p);
    CHECK_EQ_U64(request(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, p, sizeof p, REQ, RSP), 0);
    CHECK(response(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, rsp, sizeof rsp) == 0);
    g.seq[0] += 2;
    CHECK_EQ_U64(mc_le32(rsp), 0);
    memcpy(k1, rsp + 0x20, 32);
    CHECK_EQ_U64(request(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, p, sizeof p, REQ, RSP), 0);
    CHECK(response(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, rsp, sizeof rsp) == 0);
    g.seq[0] += 2;
    CHECK_MEM(rsp + 0x20, k1, 32); /* the same request, the same key */
    kr.vmpl = 1;
    mc_snp_key_req_encode(&kr, enc);
    memcpy(p, enc, sizeof p);
    CHECK_EQ_U64(request(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, p, sizeof p, REQ, RSP), 0);
    CHECK(response(&g, 0, g.seq[0], MC_SNP_MSG_KEY_REQ, rsp, sizeof rsp) == 0);
    g.seq[0] += 2;
    memcpy(k2, rsp + 0x20, 32);
    CHECK(memcmp(k1, k2, 32) != 0); /* another VMPL, another key */
    /* TSC_INFO: the guest's Secure TSC parameters */
    uint8_t tz[MC_SNP_TSC_INFO_SIZE] = {0};
    CHECK_EQ_U64(request(&g, 0, g.seq[0], MC_SNP_MSG_TSC_INFO_REQ, tz, sizeof tz, REQ, RSP), 0);
    CHECK(response(&g, 0, g.seq[0], MC_SNP_MSG_TSC_INFO_REQ, rsp, sizeof rsp) == 0);
    g.seq[0] += 2;
    CHECK_EQ_U64(mc_le32(rsp), 0);
    CHECK_EQ_U64(mc_le32(rsp + 0x18), MC_SNP_TSC_FACTOR);
    /* CPUID: one good entry, one corrected (more than the processor allows) */
    uint8_t cq[0x70] = {0}, cr[0x70];
    mc_put_le32(cq, 2);
    mc_put_le32(cq + 0x10, 0x80000000);
    mc_put_le32(cq + 0x10 + 0x18, 0x80000001); /* highest extended leaf: fine */
    mc_put_le32(cq + 0x40, 0x00000007);
    mc_put_le32(cq + 0x40 + 0x18, 5);          /* leaf 7 EAX: at most 1 */
    CHECK_EQ_U64(request(&g, 0, g.seq[0], MC_SNP_MSG_CPUID_REQ, cq, sizeof cq, REQ, RSP), 0);
    CHECK(response(&g, 0, g.seq[0], MC_SNP_MSG_CPUID_REQ, cr, sizeof cr) == 0);
    g.seq[0] += 2;
    CHECK_EQ_U64(mc_le32(cr), MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(mc_le32(cr + 4), 2);
    CHECK_EQ_U64(mc_le32(cr + 0x10 + 0x18), 0x80000001);
    CHECK_EQ_U64(mc_le32(cr + 0x40 + 0x18), 1);
    sfw_close(&g.t);
}

int main(void)
{
    RUN(test_report);
    RUN(test_report_config);
    RUN(test_request_checks);
    RUN(test_key_tsc_cpuid);
    return check_summary();
}
