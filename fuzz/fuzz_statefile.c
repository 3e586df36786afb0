/* Fuzz target: the firmware's persistent state. The input is used (1) as the state file a new
 * firmware loads and (2) as the INIT_EX NV area in DRAM. Either must be refused with a clear
 * error (MC_E_FORMAT / SECURE_DATA_INVALID) or accepted; never a crash, and a refused INIT_EX
 * leaves the firmware unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>

static mc_status open_board(const char *state, struct mc_board **b, struct mc_error *e)
{
    struct mc_board_config bc;
    mc_status s = mc_board_config_init(&bc, "rome", e);
    if (s)
        return s;
    bc.machine.dram_size = 1ull << 20;
    bc.machine.seed = (const uint8_t *)"fuzz";
    bc.machine.seed_len = 4;
    bc.fw.root_bits = 2048;
    bc.fw.state_path = state;
    return mc_board_create(&bc, b, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/mc-fuzz-statefile-%d.state", (int)getpid());
    struct mc_board *b = NULL;
    struct mc_error e;
    /* (1) as a state file */
    if (mc_file_write_atomic(path, data, size, NULL) == MC_OK) {
        if (open_board(path, &b, &e) == MC_OK)
            mc_board_destroy(b);
        else if (e.msg[0] == 0)
            abort(); /* every refusal says why */
        b = NULL;
        unlink(path);
        char lock[80];
        snprintf(lock, sizeof lock, "%s.lock", path);
        unlink(lock);
    }
    /* (2) as the INIT_EX NV area */
    if (open_board(NULL, &b, NULL) == MC_OK) {
        struct mc_machine *m = mc_board_machine(b);
        struct mc_psp *psp = mc_board_psp(b);
        uint8_t nv[0x8000];
        memset(nv, 0xFF, sizeof nv);
        memcpy(nv, data, size < sizeof nv ? size : sizeof nv);
        struct mc_fault f;
        mc_machine_phys_write(m, 0x20000, nv, sizeof nv, &f, NULL);
        uint8_t ib[0x24] = {0};
        mc_put_le32(ib, 0x24);
        mc_put_le64(ib + 0x18, 0x20000);
        mc_put_le32(ib + 0x20, 0x8000);
        uint8_t s0[32], s1[32];
        mc_psp_snapshot(psp, s0, NULL);
        uint32_t st;
        mc_board_fw(b, 0x00D, ib, sizeof ib, &st, NULL);
        mc_psp_snapshot(psp, s1, NULL);
        if (st != 0 && memcmp(s0, s1, 32) != 0)
            abort();
        if (st != 0 && st != 0x18)
            abort(); /* a bad NV image is SECURE_DATA_INVALID */
        mc_board_destroy(b);
    }
    return 0;
}
