/* Fuzz target: the SEV firmware mailbox. The input is a sequence of records
 *     op u8 · n u8 · n bytes (the command buffer, zero-padded to the command's size)
 * op 0xF0..0xFF = every core executes WBINVD; otherwise op selects a command ID from the table
 * below (op & 0x3F), and op & 0x80 folds every 8-byte address field of the buffer into DRAM so
 * that deep paths are reached. Host data for certificates/sessions is whatever DRAM holds
 * (earlier records may have put it there through DBG_ENCRYPT or measurements).
 * Invariants: no crash or sanitizer report; the firmware state is unchanged whenever a command
 * fails (the identity, created on first use, is set up beforehand from a cached state file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>

#define DRAM (8ull << 20)

static const uint32_t ids[] = {
    0x001, 0x002, 0x003, 0x004, 0x005, 0x006, 0x007, 0x008, 0x009, 0x00A, 0x00B, 0x00C, 0x00D, 0x00E,
    0x00F, 0x020, 0x021, 0x022, 0x023, 0x024, 0x025, 0x030, 0x031, 0x032, 0x033, 0x034, 0x035, 0x036,
    0x040, 0x041, 0x050, 0x053, 0x060, 0x061, 0x070, 0x081, 0x7FF,
    /* weight the guest commands */
    0x030, 0x021, 0x031, 0x033, 0x034, 0x035, 0x036, 0x060, 0x061, 0x022, 0x020, 0x024, 0x023, 0x001, 0x00A,
};

struct ctx {
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_psp *psp;
};

static int open_ctx(struct ctx *c, const char *state)
{
    memset(c, 0, sizeof *c);
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, "milan", NULL))
        return -1;
    bc.machine.dram_size = DRAM;
    bc.machine.seed = (const uint8_t *)"fuzz";
    bc.machine.seed_len = 4;
    bc.fw.root_bits = 2048;
    bc.fw.num_cores = 2;
    bc.fw.max_guests = 8;
    bc.fw.state_path = state;
    bc.hypervisor = false;
    if (mc_board_create(&bc, &c->b, NULL))
        return -1;
    c->m = mc_board_machine(c->b);
    c->psp = mc_board_psp(c->b);
    return 0;
}

static void close_ctx(struct ctx *c) { mc_board_destroy(c->b); }

/* A state file holding an identity, made once per process and copied for every input. */
static uint8_t *g_state;
static size_t g_state_len;

static int prepare_state(const char *path)
{
    if (!g_state) {
        struct ctx c;
        unlink(path);
        if (open_ctx(&c, path))
            return -1;
        uint8_t b[0x0C] = {0};
        mc_put_le64(b, 0x2000);
        mc_put_le32(b + 8, 0x40);
        mc_board_fw(c.b, 0x00C, b, sizeof b, NULL, NULL); /* GET_ID creates the identity */
        close_ctx(&c);
        if (mc_file_read(path, 1 << 20, &g_state, &g_state_len, NULL))
            return -1;
    }
    return mc_file_write_atomic(path, g_state, g_state_len, NULL) ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/mc-fuzz-mailbox-%d.state", (int)getpid());
    struct ctx c;
    if (prepare_state(path) || open_ctx(&c, path)) {
        unlink(path);
        return 0;
    }
    size_t i = 0;
    unsigned steps = 0;
    while (i + 2 <= size && steps++ < 64) {
        uint8_t op = data[i], n = data[i + 1];
        i += 2;
        if (n > size - i)
            n = (uint8_t)(size - i);
        if (op >= 0xF0) {
            mc_board_wbinvd(c.b, NULL);
            i += n;
            continue;
        }
        uint8_t buf[0x80] = {0};
        memcpy(buf, data + i, n > sizeof buf ? sizeof buf : n);
        i += n;
        if (op & 0x80)
            for (size_t off = 8; off + 8 <= sizeof buf; off += 16)
                mc_put_le64(buf + off, mc_le64(buf + off) % (DRAM - 0x1000));
        uint32_t cmd = ids[(op & 0x3F) % (sizeof ids / sizeof ids[0])];
        uint8_t before[32], after[32];
        bool had_id = mc_psp_has_identity(c.psp);
        mc_psp_snapshot(c.psp, before, NULL);
        uint32_t st = 0;
        struct mc_error e;
        mc_status s = mc_board_fw(c.b, cmd, buf, sizeof buf, &st, &e);
        if (s != MC_OK && s != MC_E_VERIFY)
            abort(); /* the mailbox itself must always work */
        mc_psp_snapshot(c.psp, after, NULL);
        if (getenv("MC_FUZZ_TRACE"))
            fprintf(stderr, "%-20s -> %s\n", mc_sev_cmd_name(cmd), mc_fw_status_name(st));
        if (st != 0 && had_id && memcmp(before, after, 32) != 0) {
            fprintf(stderr, "command 0x%x failed with 0x%x but changed the firmware state: %s\n", cmd, st, e.msg);
            abort();
        }
    }
    close_ctx(&c);
    unlink(path);
    return 0;
}
