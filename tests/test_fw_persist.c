/* The firmware's persistent state: the state file (atomic writes, reload, corrupt / truncated /
 * foreign files refused with a clear error) and the INIT_EX NV area in DRAM (fresh 0xFF area,
 * reload, corrupt or foreign area -> SECURE_DATA_INVALID with nothing changed). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>

#include <memcrypt/bytes.h>

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
    /* the sealed image (its length at 76, the image from 80), then the SNP section behind it */
    size_t img_end = 80 + mc_le32(buf + 76);
    buf[img_end - 40] ^= 1;
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "integrity check failed"));
    buf[img_end - 40] ^= 1;
    buf[len - 40] ^= 1;
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "SNP section"));
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
    buf[8] = 2;
    buf[44 + 3] ^= 0x40; /* one bit of the chip secret: the image belongs to another chip */
    CHECK(mc_file_write_atomic(bad, buf, len, NULL) == MC_OK);
    CHECK(open_fails("rome", bad, "another chip"));
    free(buf);
    unlink(bad);
    unlink(path);
    strcat(bad, ".lock");
    unlink(bad);
    strcat(path, ".lock");
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

/* ---- the state file shared between processes ------------------------------------------------ */

static uint32_t get_id(struct fwt *t, uint8_t id[MC_SEV_ID_LEN])
{
    uint8_t b[0x0C] = {0};
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, MC_SEV_ID_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_GET_ID, b, sizeof b);
    hw_read(t, DATA_PA, id, MC_SEV_ID_LEN);
    return st;
}

static void tweak_nowait(struct mc_psp_config *c) { c->root_bits = 2048, c->state_wait_ms = 20; }

/* The lock within one process (two open file descriptions exclude each other as two processes
 * do), and the release/acquire API a long-lived front end uses between commands. */
static void test_state_lock(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/lock.state", dir);
    static uint8_t pdh_a[MC_SEV_CERT_LEN], pdh_b[MC_SEV_CERT_LEN];
    struct fwt a, b;
    CHECK(fwt_open(&a, "rome", path, tweak_fast) == 0);
    CHECK(mc_psp_state_locked(a.psp));
    CHECK(fwt_init(&a, 0) == 0 && export_pdh(&a, pdh_a) == 0);
    /* Held: a second firmware on the file waits, then says it is busy and who holds it. */
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK(fwt_open(&b, "rome", path, tweak_nowait) != 0);
    CHECK(b.err.code == MC_E_BUSY && strstr(b.err.msg, "busy") && strstr(b.err.msg, pid) &&
          strstr(b.err.msg, "waited 0.020 s"));
    mc_machine_destroy(b.m);
    /* Released: the other one runs a command that changes the identity and is done. */
    mc_psp_state_release(a.psp);
    CHECK(!mc_psp_state_locked(a.psp));
    CHECK(fwt_open(&b, "rome", path, tweak_nowait) == 0);
    CHECK(fwt_init(&b, 0) == 0 && fw(&b, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0 && export_pdh(&b, pdh_b) == 0);
    CHECK(memcmp(pdh_a, pdh_b, MC_SEV_CERT_LEN) != 0);
    fwt_close(&b);
    /* Without the lock nothing persistent may change (it would overwrite the other's update). */
    CHECK(fw(&a, MC_SEV_CMD_PDH_GEN, NULL, 0) == MC_FW_HWERROR_PLATFORM);
    CHECK(strstr(a.err.msg, "not locked") != NULL);
    /* Acquired again: the file is read again, so the other's update is seen. */
    CHECK(mc_psp_state_acquire(a.psp, 1000, NULL) == MC_OK && mc_psp_state_locked(a.psp));
    CHECK(export_pdh(&a, pdh_a) == 0);
    CHECK_MEM(pdh_a, pdh_b, MC_SEV_CERT_LEN);
    CHECK(fw(&a, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0);
    fwt_close(&a);
    /* Without a state file both calls do nothing. */
    CHECK(fwt_open(&a, "rome", NULL, tweak_fast) == 0);
    CHECK(mc_psp_state_acquire(a.psp, 0, NULL) == MC_OK && !mc_psp_state_locked(a.psp));
    mc_psp_state_release(a.psp);
    fwt_close(&a);
    unlink(path);
    strcat(path, ".lock");
    unlink(path);
}

/* NCHILD processes forked first and released together (all wait for EOF on one pipe); child i
 * runs job(i, path, out) on its own machine (seed "child-i") and sends len bytes back. Returns
 * how many children failed or sent less; out[i * len ..] receives each answer. */
#define NCHILD 6
typedef int (*child_job)(int i, const char *path, struct fwt *t, uint8_t *out);

static int run_children(child_job job, const char *path, uint8_t *out, size_t len)
{
    int go[2], res[NCHILD][2], failed = 0;
    pid_t kid[NCHILD];
    if (pipe(go) != 0)
        return NCHILD;
    for (int i = 0; i < NCHILD; i++) {
        if (pipe(res[i]) != 0)
            return NCHILD;
        kid[i] = fork();
        if (kid[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(2);
            static char seed[32];
            snprintf(seed, sizeof seed, "child-%d", i); /* each would make a different chip */
            fwt_seed = seed;
            struct fwt t;
            uint8_t *mine = malloc(len);
            int bad = !mine || job(i, path, &t, mine) != 0;
            if (bad)
                fprintf(stderr, "child %d: %s\n", i, t.err.msg);
            fwt_close(&t);
            _exit(bad || write(res[i][1], mine, len) != (ssize_t)len);
        }
        close(res[i][1]);
    }
    close(go[0]);
    close(go[1]); /* go */
    for (int i = 0; i < NCHILD; i++) {
        size_t got = 0;
        ssize_t k;
        while (got < len && (k = read(res[i][0], out + i * len + got, len - got)) > 0)
            got += (size_t)k;
        close(res[i][0]);
        int ws = 0;
        failed += !(waitpid(kid[i], &ws, 0) == kid[i] && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && got == len);
    }
    return failed;
}

/* One identity command with the PDH before and after it. */
static int update_job(int i, const char *path, struct fwt *t, uint8_t *out)
{
    return fwt_open(t, "rome", path, tweak_fast) != 0 || fwt_init(t, 0) != 0 || export_pdh(t, out) != 0 ||
           fw(t, i % 2 ? MC_SEV_CMD_PDH_GEN : MC_SEV_CMD_PEK_GEN, NULL, 0) != 0 ||
           export_pdh(t, out + MC_SEV_CERT_LEN) != 0;
}

/* With the lock the runs are serial: the (before, after) pairs form one chain from the initial
 * PDH to the final one. A lost update shows as two runs that started from the same PDH. */
static void test_concurrent_updates(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/shared.state", dir);
    static uint8_t first[MC_SEV_CERT_LEN], last[MC_SEV_CERT_LEN], seen[NCHILD][2][MC_SEV_CERT_LEN];
    struct fwt t;
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0 && export_pdh(&t, first) == 0);
    fwt_close(&t);
    CHECK(run_children(update_job, path, &seen[0][0][0], sizeof seen[0]) == 0);
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0 && export_pdh(&t, last) == 0);
    fwt_close(&t);
    const uint8_t *cur = first;
    bool used[NCHILD] = {0};
    int steps = 0;
    for (; steps < NCHILD; steps++) {
        int next = -1, n = 0;
        for (int i = 0; i < NCHILD; i++)
            if (!used[i] && !memcmp(seen[i][0], cur, MC_SEV_CERT_LEN))
                next = i, n++;
        CHECK_MSG(n == 1, "step %d: %d runs started from the same state", steps, n);
        if (n != 1)
            break;
        used[next] = true;
        cur = seen[next][1];
    }
    CHECK(steps == NCHILD && !memcmp(cur, last, MC_SEV_CERT_LEN)); /* every update is in the final state */
    unlink(path);
    strcat(path, ".lock");
    unlink(path);
}

static int get_id_job(int i, const char *path, struct fwt *t, uint8_t *out)
{
    (void)i;
    return fwt_open(t, "rome", path, tweak_fast) != 0 || get_id(t, out) != 0;
}

/* Concurrent first uses of a missing state file: one chip, not six. */
static void test_first_use_race(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/new.state", dir);
    unlink(path);
    uint8_t id[NCHILD][MC_SEV_ID_LEN];
    CHECK(run_children(get_id_job, path, &id[0][0], sizeof id[0]) == 0);
    for (int i = 1; i < NCHILD; i++)
        CHECK_MEM(id[i], id[0], MC_SEV_ID_LEN);
    unlink(path);
    strcat(path, ".lock");
    unlink(path);
}

/* A temporary copy left by a killed writer (it holds the chip secret) is removed at the next
 * open; a symbolic link as the state file is followed: the target is updated, the link stays. */
static void test_stale_and_link(void)
{
    char path[300], tmp[320], keep[320], link[300];
    snprintf(path, sizeof path, "%s/chip.state", dir);
    snprintf(tmp, sizeof tmp, "%s.tmpK1LLed", path);
    snprintf(keep, sizeof keep, "%s.tmp-not-ours", path);
    snprintf(link, sizeof link, "%s/link.state", dir);
    static uint8_t pdh1[MC_SEV_CERT_LEN], pdh2[MC_SEV_CERT_LEN];
    struct fwt t;
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0 && export_pdh(&t, pdh1) == 0);
    fwt_close(&t);
    CHECK(mc_file_write_atomic(tmp, (const uint8_t *)"stale copy", 10, NULL) == MC_OK);
    CHECK(mc_file_write_atomic(keep, (const uint8_t *)"someone else's", 14, NULL) == MC_OK);
    CHECK(symlink("chip.state", link) == 0);
    CHECK(fwt_open(&t, "rome", link, tweak_fast) == 0);
    CHECK(access(tmp, F_OK) != 0 && access(keep, F_OK) == 0);
    CHECK(fwt_init(&t, 0) == 0 && export_pdh(&t, pdh2) == 0);
    CHECK_MEM(pdh1, pdh2, MC_SEV_CERT_LEN); /* the link reads the target */
    CHECK(fw(&t, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0 && export_pdh(&t, pdh2) == 0);
    fwt_close(&t);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(fwt_open(&t, "rome", path, tweak_fast) == 0); /* the target holds the update */
    CHECK(fwt_init(&t, 0) == 0 && export_pdh(&t, pdh1) == 0);
    CHECK_MEM(pdh1, pdh2, MC_SEV_CERT_LEN);
    fwt_close(&t);
    /* A dangling link is refused rather than replaced by a new chip's file. */
    unlink(link);
    CHECK(symlink("gone.state", link) == 0);
    CHECK(fwt_open(&t, "rome", link, tweak_fast) != 0 && strstr(t.err.msg, "missing"));
    mc_machine_destroy(t.m);
    snprintf(tmp, sizeof tmp, "%s/gone.state", dir);
    CHECK(access(tmp, F_OK) != 0);
    unlink(link);
    unlink(keep);
    unlink(path);
    strcat(path, ".lock");
    unlink(path);
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
    RUN(test_state_lock);
    RUN(test_concurrent_updates);
    RUN(test_first_use_race);
    RUN(test_stale_and_link);
    if (rmdir(dir) != 0)
        fprintf(stderr, "left over in %s\n", dir);
    return check_summary();
}
