/* Fuzz target: /dev/sev's ioctl decoder (memcrypt/sevdev.h) — what an unmodified program may
 * hand the driver. The input is
 *     flags u8 · calls u8 · the caller's memory (at most 64 KiB, zero-padded)
 * The caller's memory is an arena at a fixed user address; call i is ioctl(fd, request,
 * ARENA + 16*i) where the request is SEV_ISSUE_CMD unless flags bit 1 picks another number for
 * odd calls, and the file is writable unless flags bit 0 is set. So the sev_issue_cmd
 * structures, the command structures they point at and the blobs are all the fuzzer's bytes.
 * Addresses outside the arena fault (-EFAULT), except that an address with bit 63 set is folded
 * into the arena (so pointers reach real buffers), and the arena's last page is read-only.
 *
 * Set up once per process: a chip that lives in memory only (no state file).
 * Invariants: no crash or sanitizer report; every return is 0 or one of the errnos the driver
 * gives; no write outside the arena's writable part. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ioctl.h>
#include <linux/psp-sev.h>

#include <memcrypt/sevdev.h>

#include "crypto/crypto.h"

#include "fuzz_arena.h"

static struct mc_sevdev *g_dev;

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_sevdev: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_dev) {
        mc_crypto_init();
        struct mc_sevdev_config cfg = {.platform = "milan", .seed = (const uint8_t *)"fuzz_sevdev", .seed_len = 11};
        struct mc_error err;
        must(mc_sevdev_create(&cfg, &g_dev, &err) == MC_OK, "open");
    }
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    unsigned calls = data[1] % 9;
    struct mc_sevdev_user u = arena_fill(data + 2, size - 2);
    for (unsigned i = 0; i < calls; i++) {
        unsigned long req = SEV_ISSUE_CMD;
        if ((flags & 2) && (i & 1))
            req = (i & 2) ? _IOWR('S', 1, struct sev_issue_cmd) : (SEV_ISSUE_CMD | (1ul << 35));
        struct mc_error err = {0};
        long rc = mc_sevdev_ioctl(g_dev, !(flags & 1), req, ARENA_BASE + 16u * i, &u, &err);
        must(rc == 0 || rc == -EINVAL || rc == -EFAULT || rc == -EPERM || rc == -EIO || rc == -EBUSY ||
                 rc == -ENOMEM || rc == -MC_SEVDEV_ENOTSUPP || rc == -ENODEV,
             "an errno the driver does not give");
    }
    return 0;
}
