/* Fuzz target: hostile addresses and lengths against the DRAM raw port and the engine.
 *
 * Input: byte 0 = DRAM size in frames - 1 (1..256 frames); then 12-byte operations
 *   op (1) | pa (8, LE) | len (2, LE) | seed (1)
 * op % 4: 0 write, 1 read, 2 frame lookup, 3 engine encrypt+decrypt of a DRAM range in place.
 * A flat shadow copy of the DRAM is the model: every accepted call must match it, every
 * rejected call must leave DRAM unchanged, and a call is rejected exactly when the model says
 * the range is outside. Any disagreement aborts.
 *
 * Set up once per process: one DRAM per size (created on first use) with a snapshot of it empty;
 * every input restores its DRAM to empty afterwards (dram/dram_snap.h), so the snapshot's
 * restore is fuzzed too: a frame it failed to free or clear shows up in the next input's model
 * comparison.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>

#include "dram/dram_snap.h"

#define MAX_LEN 20000u
#define MAX_FRAMES 256u

static void must(int cond)
{
    if (!cond)
        abort();
}

static struct mc_dram *g_dram[MAX_FRAMES];
static struct mc_dram_snap *g_empty[MAX_FRAMES];
static uint8_t *g_shadow, *g_buf, *g_tmp, *g_all;
static uint8_t g_pattern[MAX_LEN + 256]; /* what a write stores: g_pattern + seed */

static void prepare(void)
{
    if (g_shadow)
        return;
    g_shadow = calloc(1, MAX_FRAMES * MC_FRAME_SIZE);
    g_all = malloc(MAX_FRAMES * MC_FRAME_SIZE);
    g_buf = malloc(MAX_LEN);
    g_tmp = malloc(MAX_LEN);
    must(g_shadow && g_all && g_buf && g_tmp);
    for (size_t i = 0; i < sizeof g_pattern; i++)
        g_pattern[i] = (uint8_t)(i * 131 + (i >> 8));
}

/* The DRAM of `frames` frames, empty. */
static struct mc_dram *dram_of(unsigned frames)
{
    if (!g_dram[frames - 1]) {
        struct mc_dram_config cfg = {.size = (uint64_t)frames * MC_FRAME_SIZE};
        must(mc_dram_create(&cfg, &g_dram[frames - 1], NULL) == MC_OK);
        must(mc_dram_snap_save(g_dram[frames - 1], &g_empty[frames - 1], NULL) == MC_OK);
    }
    return g_dram[frames - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    prepare();
    const unsigned frames = (unsigned)data[0] + 1;
    const uint64_t dsize = (uint64_t)frames * MC_FRAME_SIZE;
    struct mc_dram *d = dram_of(frames);
    must(mc_dram_frames_touched(d) == 0);
    uint8_t *shadow = g_shadow, *buf = g_buf, *tmp = g_tmp;
    memset(shadow, 0, dsize);
    /* fixed key: the engine part checks range handling and round trips, not secrecy */
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 29 + 7);
    for (size_t off = 1; off + 12 <= size; off += 12) {
        const uint8_t *op = data + off;
        uint64_t pa = mc_le64(op + 1);
        size_t len = mc_le16(op + 9) % MAX_LEN;
        uint8_t seed = op[11];
        if (op[0] & 0x80) /* keep half the addresses near the DRAM */
            pa %= dsize + 8192;
        int inside = pa <= dsize && len <= dsize - pa;
        switch (op[0] % 4) {
        case 0:
            memcpy(buf, g_pattern + seed, len);
            must((mc_dram_write(d, pa, buf, len, NULL) == MC_OK) == inside);
            if (inside)
                memcpy(shadow + pa, buf, len);
            break;
        case 1:
            memset(buf, 0xa5, len);
            must((mc_dram_read(d, pa, buf, len, NULL) == MC_OK) == inside);
            if (inside)
                must(memcmp(buf, shadow + pa, len) == 0);
            break;
        case 2: {
            uint64_t pfn = pa >> 12;
            uint8_t *f = mc_dram_frame(d, pfn, seed & 1);
            if (pfn >= dsize / MC_FRAME_SIZE)
                must(f == NULL);
            else if (f)
                must(memcmp(f, shadow + pfn * MC_FRAME_SIZE, MC_FRAME_SIZE) == 0);
            break;
        }
        default: {
            /* engine over a DRAM range: ciphertext differs, decryption restores it */
            int ok_engine = inside && pa % 64 == 0 && len % 64 == 0;
            if (!inside)
                break;
            must(mc_dram_read(d, pa, buf, len, NULL) == MC_OK);
            memcpy(tmp, buf, len);
            mc_status st = mc_xts_lines(MC_CIPHER_AES128_XTS, key, sizeof key, pa, 0, buf, buf, len, NULL);
            must((st == MC_OK) == ok_engine);
            if (!ok_engine) {
                must(memcmp(buf, tmp, len) == 0); /* nothing written on failure */
                break;
            }
            must(len == 0 || memcmp(buf, tmp, len) != 0);
            must(mc_xts_lines(MC_CIPHER_AES128_XTS, key, sizeof key, pa, 1, buf, buf, len, NULL) == MC_OK);
            must(memcmp(buf, tmp, len) == 0);
            break;
        }
        }
    }
    /* final whole-DRAM comparison, then back to the empty DRAM for the next input */
    must(mc_dram_read(d, 0, g_all, dsize, NULL) == MC_OK);
    must(memcmp(g_all, shadow, dsize) == 0);
    must(mc_dram_snap_restore(d, g_empty[frames - 1], NULL) == MC_OK);
    must(mc_dram_frames_touched(d) == 0);
    return 0;
}
