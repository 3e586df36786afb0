/* The caller's memory of an ioctl fuzz target (fuzz_sevdev, fuzz_sevguest): a 64 KiB arena at a
 * fixed user address, filled from the input. Addresses outside it fault (the decoder's -EFAULT),
 * an address with bit 63 set is folded into the arena (so pointers reach real buffers), and the
 * arena's last page is read-only. arena_user() is the struct mc_sevdev_user over it. */
#ifndef MC_FUZZ_ARENA_H
#define MC_FUZZ_ARENA_H

#include <stdint.h>
#include <string.h>

#include <memcrypt/sevdev.h>

#define ARENA_BASE 0x7f0000000000ull
#define ARENA_LEN 0x10000u
#define RO_START (ARENA_LEN - 0x1000u)

static uint8_t g_arena[ARENA_LEN];

/* The arena offset of [a, a+len), or -1 when any byte lies outside. */
static long arena_place(uint64_t a, size_t len)
{
    if (a >> 63)
        a = ARENA_BASE + (a % ARENA_LEN);
    if (a < ARENA_BASE || len > ARENA_LEN || a - ARENA_BASE > ARENA_LEN - len)
        return -1;
    return (long)(a - ARENA_BASE);
}

static int arena_read(void *ctx, uint64_t a, void *buf, size_t len)
{
    (void)ctx;
    long off = arena_place(a, len);
    if (off < 0)
        return -1;
    memcpy(buf, g_arena + off, len);
    return 0;
}

static int arena_write(void *ctx, uint64_t a, const void *buf, size_t len)
{
    (void)ctx;
    long off = arena_place(a, len);
    if (off < 0 || (size_t)off + len > RO_START)
        return -1;
    memcpy(g_arena + off, buf, len);
    return 0;
}

/* The arena zeroed, then filled with up to ARENA_LEN bytes of the input. */
static struct mc_sevdev_user arena_fill(const uint8_t *data, size_t size)
{
    memset(g_arena, 0, sizeof g_arena);
    memcpy(g_arena, data, size < ARENA_LEN ? size : ARENA_LEN);
    return (struct mc_sevdev_user){NULL, arena_read, arena_write};
}

#endif
