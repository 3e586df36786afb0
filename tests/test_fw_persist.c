/* The firmware's persistent state: the state file (atomic writes, reload, corrupt / truncated /
 * foreign files refused with a clear error) and the INIT_EX NV area in DRAM (fresh 0xFF area,
 * reload, corrupt or foreign area -> SECURE_DATA_INVALID with nothing changed). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>

#include "check.h"
#include "test_fw_harness.h"

static void tweak_fast(struct mc_psp_config *c) { c->root_bits = 2048; }

static char dir[256];

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

static int open_fails(const char *platform, const char *path, const char *needle)
{
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, platform, NULL) != MC_OK)
        return 0;
    bc.machine.seed = (const uint8_t *)"x";
    bc.machine.seed_len = 1;
    bc.fw.state_path = path;
    struct mc_board *b = NULL;
    struct mc_error e = {0};
    mc_status s = mc_board_create(&bc, &b, &e);
    int ok = s == MC_E_FORMAT && strstr(e.msg, needle) != NULL && b == NULL;
    if (!ok)
        fprintf(stderr, "expected failure containing '%s', got %s: %s\n", needle, mc_status_name(s), e.msg);
    mc_board_destroy(b);
    return ok;
}

static void test_state_file(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/fw.state", dir);
    static uint8_t pdh1[MC_SEV_CERT_LEN], pdh2[MC_SEV_CERT_LEN];
    struct fwt t;
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(access(path, F_OK) == 0); /* a new chip writes its state file at once */
    CHECK(fwt_init(&t, 0) == 0);
    CHECK(export_pdh(&t, pdh1) == 0);
    fwt_close(&t);
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    CHECK(export_pdh(&t, pdh2) == 0);
    CHECK_MEM(pdh1, pdh2, MC_SEV_CERT_LEN); /* the identity survived the restart */
    CHECK(fw(&t, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0);
    CHECK(export_pdh(&t, pdh1) == 0);
    CHECK(memcmp(pdh1, pdh2, MC_SEV_CERT_LEN) != 0);
    fwt_close(&t);
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    CHECK(export_pdh(&t, pdh2) == 0);
    CHECK_MEM(pdh1, pdh2, MC_SEV_CERT_LEN); /* PDH_GEN was persisted */
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_RESET, NULL, 0) == 0);
    fwt_close(&t);
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    CHECK(export_pdh(&t, pdh2) == 0);
    CHECK(memcmp(pdh1, pdh2, MC_SEV_CERT_LEN) != 0); /* PLATFORM_RESET was persisted */
    fwt_close(&t);

    /* Hostile files: each refused with a sentence naming the problem. */
    uint8_t *buf;
    size_t len;
    CHECK(mc_file_read(path, 1 << 20, &buf, &len, NULL) == MC_OK);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.state", dir);
    CHECK(open_fails("milan", path, "another platform"));
    buf[len - 40] ^= 1;
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "integrity check failed"));
    buf[len - 40] ^= 1;
    CHECK(mc_file_write_atomic(bad, buf, len - 7, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "truncated"));
    CHECK(mc_file_write_atomic(bad, buf, 20, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "not a memcrypt SEV firmware state file"));
    CHECK(mc_file_write_atomic(bad, (const uint8_t *)"hello", 5, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "not a memcrypt SEV firmware state file"));
    buf[8] = 9;
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "format version 9"));
    buf[8] = 1;
    buf[44 + 3] ^= 0x40; /* one bit of the chip secret: the image belongs to another chip */
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "another chip"));
    free(buf);
    unlink(bad);
    unlink(path);
}

#define NV_PA 0x200000ull

static uint32_t init_ex(struct fwt *t, uint64_t nv_pa)
{
    uint8_t b[0x24] = {0};
    mc_put_le32(b, 0x24);
    mc_put_le64(b + 0x18, nv_pa);
    mc_put_le32(b + 0x20, MC_SEV_NV_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_INIT_EX, b, sizeof b);
    if (st == 0)
        st = fwt_flush(t);
    return st;
}

static void test_init_ex_nv_area(void)
{
    static uint8_t nv[MC_SEV_NV_LEN], nv2[MC_SEV_NV_LEN], pdh1[MC_SEV_CERT_LEN], pdh2[MC_SEV_CERT_LEN];
    memset(nv, 0xFF, sizeof nv); /* a fresh NV file, as Linux creates it */
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, tweak_fast) == 0);
    hw_write(&t, NV_PA, nv, sizeof nv);
    CHECK(init_ex(&t, NV_PA) == 0);
    CHECK(export_pdh(&t, pdh1) == 0); /* the identity is created now and written to the NV area */
    hw_read(&t, NV_PA, nv2, sizeof nv2);
    CHECK(memcmp(nv2, nv, sizeof nv) != 0 && !memcmp(nv2, "MCSEVNV1", 8));
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    CHECK(init_ex(&t, NV_PA) == 0);
    CHECK(export_pdh(&t, pdh2) == 0);
    CHECK_MEM(pdh1, pdh2, MC_SEV_CERT_LEN);
    CHECK(fw(&t, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0); /* NV commands rewrite the area */
    hw_read(&t, NV_PA, nv, sizeof nv);
    CHECK(memcmp(nv, nv2, sizeof nv) != 0);
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);

    /* A corrupt area: SECURE_DATA_INVALID, nothing changed. */
    uint8_t s0[32], s1[32];
    nv[200] ^= 1;
    hw_write(&t, NV_PA, nv, sizeof nv);
    fwt_snap(&t, s0);
    CHECK(init_ex(&t, NV_PA) == MC_FW_SECURE_DATA_INVALID);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(mc_psp_platform_state(t.psp) == MC_SEV_PSTATE_UNINIT);
    nv[200] ^= 1;
    hw_write(&t, NV_PA, nv, sizeof nv);
    fwt_close(&t);

    /* The same area on another chip (another machine seed, so another chip secret). */
    struct fwt u;
    fwt_seed = "other-chip";
    CHECK(fwt_open(&u, "rome", NULL, NULL) == 0);
    fwt_seed = "fw-test-seed";
    hw_write(&u, NV_PA, nv, sizeof nv);
    CHECK(init_ex(&u, NV_PA) == MC_FW_SECURE_DATA_INVALID);
    CHECK(strstr(u.err.msg, "another chip") != NULL);
    fwt_close(&u);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/fwpersist-XXXXXX", MC_BINARY_DIR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_state_file);
    RUN(test_init_ex_nv_area);
    rmdir(dir);
    return check_summary();
}
