/* The firmware's state machines, table driven: every command x platform state and every guest
 * command x guest state, with the status the SEV API digest (§4, §5) gives, and the firmware
 * state unchanged (snapshot) whenever a command is refused. Expected tables are written here
 * from the digest, independently of the firmware's own dispatch table. */
#include <memcrypt/fw_status.h>

#include "check.h"
#include "test_fw_harness.h"

#define U 1u
#define I 2u
#define W 4u
#define ALLP (U | I | W)
#define NONE 0u /* not implemented: INVALID_COMMAND in every state */

static const struct {
    uint32_t id;
    unsigned pstates;
} ptable[] = {
    {MC_SEV_CMD_INIT, U}, {MC_SEV_CMD_SHUTDOWN, ALLP}, {MC_SEV_CMD_PLATFORM_RESET, U},
    {MC_SEV_CMD_PLATFORM_STATUS, ALLP}, {MC_SEV_CMD_PEK_GEN, I}, {MC_SEV_CMD_PEK_CSR, I | W},
    {MC_SEV_CMD_PEK_CERT_IMPORT, I}, {MC_SEV_CMD_PDH_CERT_EXPORT, I | W}, {MC_SEV_CMD_PDH_GEN, I | W},
    {MC_SEV_CMD_DF_FLUSH, ALLP}, {MC_SEV_CMD_DOWNLOAD_FIRMWARE, NONE}, {MC_SEV_CMD_GET_ID, ALLP},
    {MC_SEV_CMD_INIT_EX, U}, {MC_SEV_CMD_NOP, ALLP}, {MC_SEV_CMD_RING_BUFFER, NONE},
    {MC_SEV_CMD_DECOMMISSION, W}, {MC_SEV_CMD_ACTIVATE, W}, {MC_SEV_CMD_DEACTIVATE, W},
    {MC_SEV_CMD_GUEST_STATUS, I | W}, {MC_SEV_CMD_COPY, W}, {MC_SEV_CMD_ACTIVATE_EX, W},
    {MC_SEV_CMD_LAUNCH_START, I | W}, {MC_SEV_CMD_LAUNCH_UPDATE_DATA, W}, {MC_SEV_CMD_LAUNCH_UPDATE_VMSA, W},
    {MC_SEV_CMD_LAUNCH_MEASURE, W}, {MC_SEV_CMD_LAUNCH_SECRET, W}, {MC_SEV_CMD_LAUNCH_FINISH, W},
    {MC_SEV_CMD_ATTESTATION, W}, {MC_SEV_CMD_SEND_START, W}, {MC_SEV_CMD_SEND_UPDATE_DATA, W},
    {MC_SEV_CMD_SEND_UPDATE_VMSA, W}, {MC_SEV_CMD_SEND_FINISH, W}, {MC_SEV_CMD_SEND_CANCEL, W},
    {MC_SEV_CMD_RECEIVE_START, I | W}, {MC_SEV_CMD_RECEIVE_UPDATE_DATA, W},
    {MC_SEV_CMD_RECEIVE_UPDATE_VMSA, W}, {MC_SEV_CMD_RECEIVE_FINISH, W}, {MC_SEV_CMD_DBG_DECRYPT, W},
    {MC_SEV_CMD_DBG_ENCRYPT, W}, {MC_SEV_CMD_SWAP_OUT, NONE}, {MC_SEV_CMD_SWAP_IN, NONE},
    {0x0FF, NONE}, {0x7FF, NONE},
};

/* The state matrix is about states, not root sizes: commands that make the chip identity get
 * RSA-2048 emulated roots (RSA-4096 roots are made by the CLI tests' platforms). */
static void fast_roots(struct mc_psp_config *c) { c->root_bits = 2048; }

/* Bring a fresh firmware to platform state ps (0 UNINIT, 1 INIT, 2 WORKING with guest 1). */
static int to_pstate(struct fwt *t, unsigned ps)
{
    if (fwt_open(t, "rome", NULL, fast_roots))
        return -1;
    if (ps >= 1 && fwt_init(t, 0))
        return -1;
    if (ps == 2) {
        uint32_t h;
        if (fwt_launch(t, 0, 0, &h) || h != 1)
            return -1;
    }
    return mc_psp_platform_state(t->psp) == ps ? 0 : -1;
}

static void test_command_x_platform_state(void)
{
    for (size_t i = 0; i < sizeof ptable / sizeof ptable[0]; i++) {
        for (unsigned ps = 0; ps < 3; ps++) {
            struct fwt t;
            CHECK(to_pstate(&t, ps) == 0);
            uint8_t buf[0x80] = {0}, before[32], after[32];
            mc_put_le32(buf, 1); /* guest 1 in WORKING */
            fwt_snap(&t, before);
            uint32_t st = fw(&t, ptable[i].id, buf, sizeof buf);
            fwt_snap(&t, after);
            const char *name = mc_sev_cmd_name(ptable[i].id);
            if (ptable[i].pstates == NONE) {
                CHECK_MSG(st == MC_FW_INVALID_COMMAND, "%s in %s: %s", name, mc_sev_pstate_name(ps),
                          mc_fw_status_name(st));
                CHECK_MSG(!memcmp(before, after, 32), "%s changed state", name);
            } else if (!(ptable[i].pstates & (1u << ps))) {
                CHECK_MSG(st == MC_FW_INVALID_PLATFORM_STATE, "%s in %s: %s", name, mc_sev_pstate_name(ps),
                          mc_fw_status_name(st));
                CHECK_MSG(!memcmp(before, after, 32), "%s in %s changed state", name, mc_sev_pstate_name(ps));
            } else {
                CHECK_MSG(st != MC_FW_INVALID_PLATFORM_STATE && st != MC_FW_INVALID_COMMAND, "%s in %s: %s", name,
                          mc_sev_pstate_name(ps), mc_fw_status_name(st));
            }
            fwt_close(&t);
        }
    }
}

#define GL (1u << MC_SEV_GSTATE_LUPDATE)
#define GS (1u << MC_SEV_GSTATE_LSECRET)
#define GR (1u << MC_SEV_GSTATE_RUNNING)
#define GSU (1u << MC_SEV_GSTATE_SUPDATE)
#define GRU (1u << MC_SEV_GSTATE_RUPDATE)
#define GSE (1u << MC_SEV_GSTATE_SENT)
#define GANY (GL | GS | GR | GSU | GRU | GSE)

static const struct {
    uint32_t id;
    unsigned gstates; /* of the six guest states */
} gtable[] = {
    {MC_SEV_CMD_LAUNCH_UPDATE_DATA, GL}, {MC_SEV_CMD_LAUNCH_UPDATE_VMSA, GL}, {MC_SEV_CMD_LAUNCH_MEASURE, GL},
    {MC_SEV_CMD_LAUNCH_SECRET, GS}, {MC_SEV_CMD_LAUNCH_FINISH, GS}, {MC_SEV_CMD_ATTESTATION, GS | GR | GSU | GSE},
    {MC_SEV_CMD_ACTIVATE, GANY & ~GSE}, {MC_SEV_CMD_ACTIVATE_EX, GANY & ~GSE}, {MC_SEV_CMD_DEACTIVATE, GANY},
    {MC_SEV_CMD_DECOMMISSION, GANY}, {MC_SEV_CMD_GUEST_STATUS, GANY}, {MC_SEV_CMD_DBG_DECRYPT, GANY},
    {MC_SEV_CMD_DBG_ENCRYPT, GANY}, {MC_SEV_CMD_COPY, GANY}, {MC_SEV_CMD_SEND_START, GR},
    {MC_SEV_CMD_SEND_UPDATE_DATA, GSU}, {MC_SEV_CMD_SEND_UPDATE_VMSA, GSU}, {MC_SEV_CMD_SEND_FINISH, GSU},
    {MC_SEV_CMD_SEND_CANCEL, GSU}, {MC_SEV_CMD_RECEIVE_UPDATE_DATA, GRU}, {MC_SEV_CMD_RECEIVE_UPDATE_VMSA, GRU},
    {MC_SEV_CMD_RECEIVE_FINISH, GRU},
};

/* SEND_START of guest h toward this same chip (its own PDH at DATA_PA; intra-host migration):
 * the session lands at DATA2_PA. */
static uint32_t send_start_self(struct fwt *t, uint32_t h)
{
    uint8_t b[0x1C] = {0};
    mc_put_le64(b + 0x00, DATA_PA);
    mc_put_le32(b + 0x08, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x10, DATA_PA + 0x1000);
    mc_put_le32(b + 0x18, MC_SEV_CHAIN_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b);
    if (st)
        return st;
    uint8_t s[0x44] = {0};
    mc_put_le32(s, h);
    mc_put_le64(s + 0x08, DATA_PA);
    mc_put_le32(s + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(s + 0x38, DATA2_PA);
    mc_put_le32(s + 0x40, 0x80);
    return fw(t, MC_SEV_CMD_SEND_START, s, sizeof s);
}

/* Fresh firmware with guest 1 (ES policy on milan so VMSA is legal) in state gs, ASID bound. */
static int make_gstate(struct fwt *t, unsigned gs)
{
    if (fwt_open(t, "milan", NULL, fast_roots) || fwt_init(t, MC_SEV_INIT_FLAG_ES))
        return -1;
    uint32_t h;
    if (fwt_launch(t, MC_SEV_POLICY_ES, 0, &h) || fwt_activate(t, h, 1))
        return -1;
    if (gs >= MC_SEV_GSTATE_LSECRET && fwt_measure(t, h, NULL))
        return -1;
    if (gs >= MC_SEV_GSTATE_RUNNING && fwt_handle_cmd(t, MC_SEV_CMD_LAUNCH_FINISH, h))
        return -1;
    if ((gs == MC_SEV_GSTATE_SUPDATE || gs == MC_SEV_GSTATE_SENT || gs == MC_SEV_GSTATE_RUPDATE) &&
        send_start_self(t, h))
        return -1;
    if (gs == MC_SEV_GSTATE_SENT && fwt_handle_cmd(t, MC_SEV_CMD_SEND_FINISH, h))
        return -1;
    if (gs == MC_SEV_GSTATE_RUPDATE) {
        /* Guest 1 leaves; the session it made comes back on the same chip as guest 1 (RUPDATE). */
        if (fwt_handle_cmd(t, MC_SEV_CMD_DEACTIVATE, h) || fwt_handle_cmd(t, MC_SEV_CMD_DECOMMISSION, h) ||
            fwt_flush(t))
            return -1;
        uint8_t r[0x24] = {0};
        mc_put_le32(r + 0x04, MC_SEV_POLICY_ES);
        mc_put_le64(r + 0x08, DATA_PA);
        mc_put_le32(r + 0x10, MC_SEV_CERT_LEN);
        mc_put_le64(r + 0x18, DATA2_PA);
        mc_put_le32(r + 0x20, 0x80);
        if (fw(t, MC_SEV_CMD_RECEIVE_START, r, sizeof r) || mc_le32(r) != 1 || fwt_activate(t, 1, 1))
            return -1;
    }
    uint8_t b[0x0D] = {0};
    mc_put_le32(b, h);
    if (fw(t, MC_SEV_CMD_GUEST_STATUS, b, sizeof b) || b[0x0C] != gs)
        return -1;
    return 0;
}

/* Each state's board is made once and snapshotted; to_gstate restores it (memcrypt/board.h). */
static struct {
    struct fwt t;
    struct mc_board_snapshot *snap;
} gcache[8];

static int to_gstate(struct fwt *t, unsigned gs)
{
    if (!gcache[gs].snap) {
        if (make_gstate(&gcache[gs].t, gs) || mc_board_snapshot(gcache[gs].t.b, &gcache[gs].snap, NULL))
            return -1;
    } else if (mc_board_restore(gcache[gs].t.b, gcache[gs].snap, NULL)) {
        return -1;
    }
    *t = gcache[gs].t;
    return 0;
}

static void gcache_free(void)
{
    for (unsigned i = 0; i < 8; i++) {
        mc_board_snapshot_free(gcache[i].snap);
        if (gcache[i].t.b)
            fwt_close(&gcache[i].t);
    }
}

static void fill_guest_buf(uint32_t id, uint8_t *b)
{
    memset(b, 0, 0x80);
    mc_put_le32(b, 1);
    if (id == MC_SEV_CMD_ACTIVATE_EX) {
        mc_put_le32(b, 0x18);
        mc_put_le32(b + 4, 1);
        mc_put_le32(b + 8, 2);
        mc_put_le32(b + 12, 1);
        mc_put_le64(b + 16, DATA_PA);
    }
}

static void test_command_x_guest_state(void)
{
    static const unsigned states[] = {MC_SEV_GSTATE_LUPDATE, MC_SEV_GSTATE_LSECRET, MC_SEV_GSTATE_RUNNING,
                                      MC_SEV_GSTATE_SUPDATE, MC_SEV_GSTATE_RUPDATE, MC_SEV_GSTATE_SENT};
    for (size_t i = 0; i < sizeof gtable / sizeof gtable[0]; i++) {
        for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
            unsigned gs = states[k];
            struct fwt t;
            CHECK(to_gstate(&t, gs) == 0);
            uint8_t buf[0x80], before[32], after[32];
            fill_guest_buf(gtable[i].id, buf);
            fwt_snap(&t, before);
            uint32_t st = fw(&t, gtable[i].id, buf, sizeof buf);
            fwt_snap(&t, after);
            const char *name = mc_sev_cmd_name(gtable[i].id);
            if (!(gtable[i].gstates & (1u << gs))) {
                CHECK_MSG(st == MC_FW_INVALID_GUEST_STATE, "%s in %s: %s", name, mc_sev_gstate_name(gs),
                          mc_fw_status_name(st));
                CHECK_MSG(!memcmp(before, after, 32), "%s in %s changed state", name, mc_sev_gstate_name(gs));
            } else {
                CHECK_MSG(st != MC_FW_INVALID_GUEST_STATE, "%s in %s: %s", name, mc_sev_gstate_name(gs),
                          mc_fw_status_name(st));
            }
        }
        /* A handle that does not exist: INVALID_GUEST (GUEST_STATUS: SUCCESS with state 0). */
        struct fwt t;
        CHECK(to_gstate(&t, MC_SEV_GSTATE_LUPDATE) == 0);
        uint8_t buf[0x80], before[32], after[32];
        fill_guest_buf(gtable[i].id, buf);
        mc_put_le32(buf + (gtable[i].id == MC_SEV_CMD_ACTIVATE_EX ? 4 : 0), 7);
        fwt_snap(&t, before);
        uint32_t st = fw(&t, gtable[i].id, buf, sizeof buf);
        fwt_snap(&t, after);
        if (gtable[i].id == MC_SEV_CMD_GUEST_STATUS)
            CHECK(st == MC_FW_SUCCESS && buf[0x0C] == 0 && mc_le32(buf + 4) == 0 && mc_le32(buf + 8) == 0);
        else
            CHECK_MSG(st == MC_FW_INVALID_GUEST, "%s with handle 7: %s", mc_sev_cmd_name(gtable[i].id),
                      mc_fw_status_name(st));
        CHECK(!memcmp(before, after, 32));
    }
    gcache_free();
}

struct trace_log {
    char lines[64][48];
    int n;
};

static void trace_cb(void *ctx, const char *what, uint32_t handle, uint32_t from, uint32_t to)
{
    struct trace_log *l = ctx;
    if (l->n < 64)
        snprintf(l->lines[l->n++], 48, "%s %u %u->%u", what, handle, from, to);
}

static void test_transitions_traced(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, NULL) == 0);
    struct trace_log log = {0};
    mc_psp_set_trace(t.psp, trace_cb, &log);
    CHECK(fwt_init(&t, 0) == 0);
    uint32_t h1, h2;
    CHECK(fwt_launch(&t, 0, 0, &h1) == 0 && h1 == 1);
    CHECK(fwt_launch(&t, 0, 0, &h2) == 0 && h2 == 2);
    CHECK(mc_psp_guest_count(t.psp) == 2);
    CHECK(fwt_activate(&t, h1, 5) == 0);
    CHECK(fwt_measure(&t, h1, NULL) == 0);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_LAUNCH_FINISH, h1) == 0);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h2) == 0);
    CHECK(mc_psp_platform_state(t.psp) == MC_SEV_PSTATE_WORKING);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h1) == MC_FW_ACTIVE);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h1) == 0);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h1) == 0);
    CHECK(mc_psp_platform_state(t.psp) == MC_SEV_PSTATE_INIT);
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    static const char *const want[] = {
        "platform 0 0->1", "guest 1 0->1", "platform 0 1->2", "guest 2 0->1", "guest 1 1->2", "guest 1 2->3",
        "guest 2 1->0", "guest 1 3->0", "platform 0 2->1", "platform 0 1->0",
    };
    CHECK_EQ_U64(log.n, sizeof want / sizeof want[0]);
    for (int i = 0; i < log.n && i < (int)(sizeof want / sizeof want[0]); i++)
        CHECK_MSG(!strcmp(log.lines[i], want[i]), "trace %d: '%s' != '%s'", i, log.lines[i], want[i]);
    fwt_close(&t);
}

static void test_platform_status(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "milan", NULL, NULL) == 0);
    uint8_t b[0x0C];
    memset(b, 0xAA, sizeof b);
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_STATUS, b, sizeof b) == 0);
    CHECK(b[0] == 1 && b[1] == 55 && b[2] == 0 && b[3] == 0 && mc_le16(b + 4) == 0 && b[6] == 0 && b[7] == 3);
    CHECK(mc_le32(b + 8) == 0);
    CHECK(fwt_init(&t, MC_SEV_INIT_FLAG_ES) == 0);
    CHECK(fwt_launch(&t, 0, 0, NULL) == 0);
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_STATUS, b, sizeof b) == 0);
    CHECK(b[2] == MC_SEV_PSTATE_WORKING && mc_le16(b + 4) == 1 && mc_le32(b + 8) == 1 && b[3] == 0);
    /* Register-level mailbox: the same command through the MMIO registers. */
    memset(b, 0, sizeof b);
    hw_write(&t, CMD_PA, b, sizeof b);
    mc_psp_mmio_write32(t.psp, MC_PSP_REG_ADDR_LO, (uint32_t)CMD_PA);
    mc_psp_mmio_write32(t.psp, MC_PSP_REG_ADDR_HI, 0);
    mc_psp_mmio_write32(t.psp, MC_PSP_REG_CMDRESP, (MC_SEV_CMD_PLATFORM_STATUS << 16) | MC_PSP_CMDRESP_IOC);
    uint32_t r = mc_psp_mmio_read32(t.psp, MC_PSP_REG_CMDRESP);
    CHECK((r & MC_PSP_CMDRESP_RESP) && (r & 0xFFFF) == 0 && ((r >> 16) & 0x7FF) == MC_SEV_CMD_PLATFORM_STATUS);
    hw_read(&t, CMD_PA, b, sizeof b);
    CHECK(b[0] == 1 && b[1] == 55 && b[2] == 2);
    mc_psp_mmio_write32(t.psp, MC_PSP_REG_CMDRESP, 0x0FF << 16);
    CHECK((mc_psp_mmio_read32(t.psp, MC_PSP_REG_CMDRESP) & 0xFFFF) == MC_FW_INVALID_COMMAND);
    fwt_close(&t);
}

static void test_status_table(void)
{
    CHECK(!strcmp(mc_fw_status_name(0x00), "SUCCESS"));
    CHECK(!strcmp(mc_fw_status_name(0x0F), "DF_FLUSH_REQUIRED"));
    CHECK(!strcmp(mc_fw_status_name(0x1D), "AEAD_OFLOW"));
    CHECK(!strcmp(mc_fw_status_name(0x27), "INVALID_KEY"));
    CHECK(!strcmp(mc_fw_status_name(0x1E), "UNKNOWN") && !mc_fw_status_known(0x1E));
    CHECK(!strcmp(mc_fw_status_name(0xFFFFFFFFu), "UNKNOWN"));
    CHECK(!strcmp(mc_fw_status_str(0x40), "unknown firmware status"));
    CHECK(MC_FW_INVALID_GUEST == 0x10 && MC_FW_SECURE_DATA_INVALID == 0x18 && MC_FW_RING_BUFFER_EXIT == 0x1F);
    CHECK(!strcmp(mc_sev_cmd_name(0x036), "ATTESTATION") && !strcmp(mc_sev_cmd_name(0x999), "UNKNOWN"));
}

static mc_status no_io(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, void *buf, size_t len,
                       struct mc_error *err)
{
    (void)ctx, (void)dom, (void)asid, (void)pa, (void)buf, (void)len;
    return mc_seterr(err, MC_E_STATE, "no memory");
}
static mc_status no_wr(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, const void *buf, size_t len,
                       struct mc_error *err)
{
    return no_io(ctx, dom, asid, pa, (void *)buf, len, err);
}
static mc_status no_bind(void *ctx, uint32_t asid, const uint8_t *key, size_t keylen, struct mc_error *err)
{
    (void)ctx, (void)asid, (void)key, (void)keylen;
    return mc_seterr(err, MC_E_STATE, "no controller");
}
static mc_status no_unbind(void *ctx, uint32_t asid, struct mc_error *err)
{
    (void)ctx, (void)asid;
    return mc_seterr(err, MC_E_STATE, "no controller");
}

/* A board whose firmware configuration was changed by fn: creation must fail with MC_E_INVAL. */
static int board_refuses(void (*fn)(struct mc_psp_config *c))
{
    struct mc_board_config bc;
    struct mc_board *b = NULL;
    struct mc_error e;
    if (mc_board_config_init(&bc, "rome", NULL) != MC_OK)
        return 0;
    fn(&bc.fw);
    return mc_board_create(&bc, &b, &e) == MC_E_INVAL && b == NULL;
}
static void bad_asid(struct mc_psp_config *c) { c->max_asid = 0; }
static void bad_cores(struct mc_psp_config *c) { c->num_cores = 0; }
static void bad_roots(struct mc_psp_config *c) { c->root_bits = 3000; }
static void bad_guests(struct mc_psp_config *c) { c->max_guests = 5000; }
static void bad_name(struct mc_psp_config *c) { c->platform = "a-platform-name-that-is-far-too-long-to-store"; }
static void two_guests(struct mc_psp_config *c) { c->max_guests = 2; }

static void test_create_rejects_bad_config(void)
{
    CHECK(board_refuses(bad_asid));
    CHECK(board_refuses(bad_cores));
    CHECK(board_refuses(bad_roots));
    CHECK(board_refuses(bad_guests));
    CHECK(board_refuses(bad_name));
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, NULL) == 0);
    struct mc_psp *p = NULL;
    struct mc_error e;
    const struct mc_psp_mem mem = {.dram_size = 1u << 20, .read = no_io, .write = no_wr, .bind_key = no_bind,
                                   .unbind_key = no_unbind};
    CHECK(mc_psp_create(&t.cfg, NULL, mc_machine_rng(t.m), &p, &e) == MC_E_INVAL && p == NULL);
    CHECK(mc_psp_create(&t.cfg, &mem, NULL, &p, &e) == MC_E_INVAL && p == NULL);
    CHECK(mc_psp_create(&t.cfg, &mem, mc_machine_rng(t.m), &p, &e) == MC_OK); /* and with both it is created */
    mc_psp_destroy(p);
    uint32_t st;
    CHECK(mc_psp_command(NULL, 1, 0, &st, &e) == MC_E_INVAL);
    CHECK(mc_psp_command(t.psp, 1, 0, NULL, &e) == MC_E_INVAL);
    fwt_close(&t);
    /* A guest-slot limit: RESOURCE_LIMIT once every handle is taken, nothing changed. */
    CHECK(fwt_open(&t, "rome", NULL, two_guests) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    CHECK(fwt_launch(&t, 0, 0, NULL) == 0 && fwt_launch(&t, 0, 0, NULL) == 0);
    uint8_t s0[32], s1[32];
    fwt_snap(&t, s0);
    CHECK(fwt_launch(&t, 0, 0, NULL) == MC_FW_RESOURCE_LIMIT);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    fwt_close(&t);
}

int main(void)
{
    RUN(test_status_table);
    RUN(test_create_rejects_bad_config);
    RUN(test_platform_status);
    RUN(test_transitions_traced);
    RUN(test_command_x_platform_state);
    RUN(test_command_x_guest_state);
    return check_summary();
}
