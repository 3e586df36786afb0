/* Shared set-up for the firmware tests: a board (machine, the PSP wired to its memory
 * controller, the hypervisor) and helpers around the board's host-driver mailbox, which places
 * a command buffer in DRAM (the page at CMD_PA), rings the mailbox and reads the buffer back. */
#ifndef TEST_FW_HARNESS_H
#define TEST_FW_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

#define CMD_PA 0x10000ull   /* command buffers: the board's driver page */
#define DATA_PA 0x20000ull  /* host data (certificates, session, reports): 64 KiB */
#define DATA2_PA 0x30000ull
#define GUEST_PA 0x100000ull /* guest memory used by launch tests */

struct fwt {
    struct mc_board *b;
    struct mc_machine *m;  /* the board's */
    struct mc_psp *psp;    /* the board's */
    struct mc_psp_config cfg; /* the firmware configuration in force */
    struct mc_error err;
};

typedef void (*fwt_tweak_fn)(struct mc_psp_config *cfg);

/* Machine seed for the next fwt_open (tests that need two different chips change it). */
static const char *fwt_seed = "fw-test-seed";
/* The hypervisor's pool for the next fwt_open (0: the board's default). */
static uint64_t fwt_pool_base, fwt_pool_size;

static inline int fwt_open(struct fwt *t, const char *platform, const char *state_path, fwt_tweak_fn tweak)
{
    memset(t, 0, sizeof *t);
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, platform, &t->err) != MC_OK) {
        fprintf(stderr, "board: %s\n", t->err.msg);
        return -1;
    }
    bc.machine.dram_size = 64ull << 20;
    bc.machine.seed = (const uint8_t *)fwt_seed;
    bc.machine.seed_len = strlen(fwt_seed);
    bc.fw.num_cores = 2;
    bc.fw.build = 3;
    bc.fw.state_path = state_path;
    bc.mbox_pa = CMD_PA;
    if (fwt_pool_base)
        bc.pool_base = fwt_pool_base;
    bc.pool_size = fwt_pool_size;
    if (tweak)
        tweak(&bc.fw);
    if (mc_board_create(&bc, &t->b, &t->err) != MC_OK) {
        fprintf(stderr, "board: %s\n", t->err.msg);
        return -1;
    }
    t->m = mc_board_machine(t->b);
    t->psp = mc_board_psp(t->b);
    t->cfg = *mc_board_fw_config(t->b);
    return 0;
}

static inline void fwt_close(struct fwt *t)
{
    mc_board_destroy(t->b);
    memset(t, 0, sizeof *t);
}

static inline void hw_write(struct fwt *t, uint64_t pa, const void *buf, size_t len)
{
    struct mc_fault f;
    if (mc_machine_phys_write(t->m, pa, buf, len, &f, NULL) != MC_OK)
        fprintf(stderr, "hw_write 0x%llx failed\n", (unsigned long long)pa);
}

static inline void hw_read(struct fwt *t, uint64_t pa, void *buf, size_t len)
{
    struct mc_fault f;
    if (mc_machine_phys_read(t->m, pa, buf, len, &f, NULL) != MC_OK)
        fprintf(stderr, "hw_read 0x%llx failed\n", (unsigned long long)pa);
}

/* Ring the mailbox with buf (len bytes, may be 0) placed at CMD_PA; buf receives what the
 * firmware left there. Returns the firmware status (0xFFFF when none was produced). */
static inline uint32_t fw(struct fwt *t, uint32_t cmd, void *buf, size_t len)
{
    uint32_t st;
    mc_board_fw(t->b, cmd, buf, len, &st, &t->err);
    return st;
}

/* Every core WBINVDs (the machine's cache and the firmware's bookkeeping), then DF_FLUSH. */
static inline uint32_t fwt_flush(struct fwt *t)
{
    uint32_t st;
    mc_board_df_flush(t->b, &st, &t->err);
    return st;
}

static inline uint32_t fwt_init(struct fwt *t, uint32_t flags)
{
    uint8_t b[0x14] = {0};
    mc_put_le32(b + offsetof(struct mc_sev_init, flags), flags);
    if (flags & MC_SEV_INIT_FLAG_ES) {
        mc_put_le64(b + offsetof(struct mc_sev_init, tmr_paddr), 0x1000000);
        mc_put_le32(b + offsetof(struct mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    }
    uint32_t st = fw(t, MC_SEV_CMD_INIT, b, sizeof b);
    if (st == 0)
        st = fwt_flush(t);
    return st;
}

/* LAUNCH_START without a session; *handle receives the new handle. */
static inline uint32_t fwt_launch(struct fwt *t, uint32_t policy, uint32_t share, uint32_t *handle)
{
    uint8_t b[0x24] = {0};
    mc_put_le32(b, share);
    mc_put_le32(b + 4, policy);
    uint32_t st = fw(t, MC_SEV_CMD_LAUNCH_START, b, sizeof b);
    if (handle)
        *handle = st == 0 ? mc_le32(b) : 0;
    return st;
}

static inline uint32_t fwt_handle_cmd(struct fwt *t, uint32_t cmd, uint32_t handle)
{
    uint8_t b[4];
    mc_put_le32(b, handle);
    return fw(t, cmd, b, 4);
}

static inline uint32_t fwt_activate(struct fwt *t, uint32_t handle, uint32_t asid)
{
    uint8_t b[8];
    mc_put_le32(b, handle);
    mc_put_le32(b + 4, asid);
    return fw(t, MC_SEV_CMD_ACTIVATE, b, 8);
}

static inline uint32_t fwt_update(struct fwt *t, uint32_t cmd, uint32_t handle, uint64_t pa, uint32_t len)
{
    uint8_t b[0x14] = {0};
    mc_put_le32(b, handle);
    mc_put_le64(b + 8, pa);
    mc_put_le32(b + 0x10, len);
    return fw(t, cmd, b, sizeof b);
}

/* LAUNCH_MEASURE into DATA2_PA; out (0x30) gets MEASURE || MNONCE. */
static inline uint32_t fwt_measure(struct fwt *t, uint32_t handle, uint8_t out[0x30])
{
    uint8_t b[0x14] = {0};
    mc_put_le32(b, handle);
    mc_put_le64(b + 8, DATA2_PA);
    mc_put_le32(b + 0x10, 0x30);
    uint32_t st = fw(t, MC_SEV_CMD_LAUNCH_MEASURE, b, sizeof b);
    if (out)
        hw_read(t, DATA2_PA, out, 0x30);
    return st;
}

static inline void fwt_snap(struct fwt *t, uint8_t d[32])
{
    if (mc_psp_snapshot(t->psp, d, NULL) != MC_OK)
        memset(d, 0xEE, 32);
}

#endif
