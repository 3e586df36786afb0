/* Fuzz target: /dev/sev-guest's ioctl decoder (memcrypt/sevguest.h) — what an unmodified program
 * inside an SNP guest may hand the driver. The input is
 *     flags u8 · calls u8 · the caller's memory (at most 64 KiB, zero-padded)
 * Call i is ioctl(fd, request, ARENA + 32*i) with the request picked by bits 2i..2i+1 of flags
 * (SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT, or another number), so the
 * snp_guest_request_ioctl structures, the requests they point at and the certificate buffers are
 * the fuzzer's bytes. Addresses outside the arena fault (-EFAULT), an address with bit 63 set is
 * folded into the arena, and the arena's last page is read-only.
 *
 * Set up once per process: a chip (state file in a temporary folder), a small SNP guest launched on
 * it and saved, the device over that guest. Every input starts from the saved guest (the file is
 * written back, so the device loads it again): a VMPCK wiped by one input does not starve the next.
 * Invariants: no crash or sanitizer report; every return is 0 or an errno the driver gives; no
 * write outside the arena's writable part. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ioctl.h>
#include <linux/sev-guest.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fileio.h>
#include <memcrypt/machine.h>
#include <memcrypt/migrate.h>
#include <memcrypt/sevguest.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "fuzz_arena.h"
#include "fuzz_snp_board.h"

static struct mc_sevguest *g_dev;
static uint8_t *g_file;
static size_t g_len;
static char g_dir[128], g_guest[192], g_state[192];

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_sevguest: %s\n", what);
        abort();
    }
}

static void cleanup(void)
{
    mc_sevguest_destroy(g_dev);
    char p[256];
    const char *f[] = {"guest.snp", "guest.snp.lock", "chip.state", "chip.state.lock"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, f[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

static void prepare(void)
{
    mc_crypto_init();
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fuzz_sevguest.XXXXXX", t && strlen(t) < 80 ? t : "/tmp");
    must(mkdtemp(g_dir) != NULL, "temporary folder");
    snprintf(g_state, sizeof g_state, "%s/chip.state", g_dir);
    snprintf(g_guest, sizeof g_guest, "%s/guest.snp", g_dir);
    struct mc_board_config bc;
    must(mc_board_config_init(&bc, "milan", NULL) == MC_OK, "config");
    bc.machine.seed = (const uint8_t *)"fuzz_sevguest";
    bc.machine.seed_len = 13;
    bc.fw.state_path = g_state;
    bc.fw.root_bits = 2048;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_board *b = NULL;
    must(mc_board_create(&bc, &b, NULL) == MC_OK, "board");
    uint32_t st = 0xFFFF;
    must(mc_board_snp_init(b, &st, NULL) == MC_OK && st == 0, "SNP bring-up");
    static const struct fuzz_snp_page pages[] = {{0, MC_SNP_PT_NORMAL}, {0x1000, MC_SNP_PT_SECRETS}};
    struct mc_vm *vm = NULL;
    must(fuzz_snp_launch(b, 4ull << 20, pages, 2, &vm, NULL) == MC_OK, "launch");
    must(mc_guest_save(b, &vm, NULL, &g_file, &g_len, NULL) == MC_OK, "save");
    mc_board_destroy(b);
    must(mc_file_write_atomic(g_guest, g_file, g_len, NULL) == MC_OK, "guest file");
    struct mc_sevguest_config gc = {.guest_path = g_guest, .state_path = g_state, .seed = (const uint8_t *)"fuzz", .seed_len = 4};
    must(mc_sevguest_create(&gc, &g_dev, NULL) == MC_OK, "device");
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_dev)
        prepare();
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    unsigned calls = data[1] % 5;
    struct mc_sevdev_user u = arena_fill(data + 2, size - 2);
    must(mc_file_write_atomic(g_guest, g_file, g_len, NULL) == MC_OK, "guest file");
    static const unsigned long reqs[4] = {SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT,
                                          _IOWR('S', 0x7, struct snp_guest_request_ioctl)};
    for (unsigned i = 0; i < calls; i++) {
        struct mc_error err = {0};
        long rc = mc_sevguest_ioctl(g_dev, reqs[(flags >> (2 * i)) & 3], ARENA_BASE + 32u * i, &u, &err);
        must(rc == 0 || rc == -EINVAL || rc == -EFAULT || rc == -EIO || rc == -ENOTTY || rc == -EBADMSG ||
                 rc == -ENOMEM,
             "an errno the driver does not give");
    }
    return 0;
}
