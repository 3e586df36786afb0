/* Fuzz target: the firmware's persistent state. The input is used (1) as the state file a new
 * firmware loads and (2) as the INIT_EX NV area in DRAM. Either must be refused with a clear
 * error (MC_E_FORMAT / SECURE_DATA_INVALID) or accepted; never a crash, and a refused INIT_EX
 * leaves the firmware unchanged.
 *
 * Set up once per process: a board (no state file) and a snapshot of it. (1) creates a second
 * firmware on the board's memory port from the state file (creating a firmware from an existing
 * file touches neither DRAM nor the DRBG); (2) runs INIT_EX on the board's firmware, and the
 * board is restored afterwards (memcrypt/board.h). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>

#include "board/board_int.h" /* the board's firmware memory port */

#define NV_PA 0x20000ull

static struct mc_board *g_board;
static struct mc_board_snapshot *g_snap;
static char g_dir[64], g_path[96], g_lock[112]; /* a private folder: the state file, its lock */

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_statefile: %s\n", what);
        abort();
    }
}

static void cleanup(void)
{
    unlink(g_path);
    unlink(g_lock);
    rmdir(g_dir);
}

static void prepare(void)
{
    if (g_board)
        return;
    struct mc_board_config bc;
    must(mc_board_config_init(&bc, "rome", NULL) == MC_OK, "config");
    bc.machine.dram_size = 1ull << 20;
    bc.machine.seed = (const uint8_t *)"fuzz";
    bc.machine.seed_len = 4;
    bc.fw.root_bits = 2048;
    bc.fw.max_guests = 8; /* no guests here: small firmware tables, cheap to create */
    must(mc_board_create(&bc, &g_board, NULL) == MC_OK, "board");
    must(mc_board_snapshot(g_board, &g_snap, NULL) == MC_OK, "snapshot");
    /* A folder of its own (opening a state file looks through its folder for stale copies),
     * in memory when /dev/shm exists (truncating a file on disk costs more than the loader). */
    snprintf(g_dir, sizeof g_dir, "/dev/shm/mc-fuzz-statefile-XXXXXX");
    if (!mkdtemp(g_dir)) {
        snprintf(g_dir, sizeof g_dir, "/tmp/mc-fuzz-statefile-XXXXXX");
        must(mkdtemp(g_dir) != NULL, "temporary folder");
    }
    snprintf(g_path, sizeof g_path, "%s/fuzz.state", g_dir);
    snprintf(g_lock, sizeof g_lock, "%s.lock", g_path);
    atexit(cleanup);
}

/* The input as the state file (a plain write: the loader is under test, not the writer). */
static int write_state(const uint8_t *data, size_t size)
{
    int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    return done == size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prepare();
    struct mc_board *b = g_board;
    /* (1) as a state file */
    if (write_state(data, size) == 0) {
        struct mc_psp_config cfg = *mc_board_fw_config(b);
        cfg.state_path = g_path;
        struct mc_psp *psp = NULL;
        struct mc_error e = {0};
        if (mc_psp_create(&cfg, &b->mem, mc_machine_rng(mc_board_machine(b)), &psp, &e) == MC_OK)
            mc_psp_destroy(psp);
        else
            must(e.msg[0] != 0, "a refused state file did not say why");
    }
    /* (2) as the INIT_EX NV area */
    struct mc_machine *m = mc_board_machine(b);
    struct mc_psp *psp = mc_board_psp(b);
    static uint8_t nv[0x8000];
    memset(nv, 0xFF, sizeof nv);
    memcpy(nv, data, size < sizeof nv ? size : sizeof nv);
    /* Placed in DRAM directly: what a host write (C=0) and a write-back of its lines leave. */
    must(mc_dram_write(mc_machine_dram(m), NV_PA, nv, sizeof nv, NULL) == MC_OK, "NV area");
    uint8_t ib[0x24] = {0};
    mc_put_le32(ib, 0x24);
    mc_put_le64(ib + 0x18, NV_PA);
    mc_put_le32(ib + 0x20, 0x8000);
    uint8_t s0[32], s1[32];
    mc_psp_snapshot(psp, s0, NULL);
    uint32_t st;
    mc_board_fw(b, 0x00D, ib, sizeof ib, &st, NULL);
    mc_psp_snapshot(psp, s1, NULL);
    must(st == 0 || memcmp(s0, s1, 32) == 0, "a refused INIT_EX changed the firmware");
    must(st == 0 || st == 0x18, "a bad NV image is not SECURE_DATA_INVALID");
    must(mc_board_restore(b, g_snap, NULL) == MC_OK, "restore");
    return 0;
}
