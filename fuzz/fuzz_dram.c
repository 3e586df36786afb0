/* Fuzz target: hostile addresses and lengths against the DRAM raw port and the engine.
 *
 * Input: byte 0 = DRAM size in frames - 1 (1..256 frames); then 12-byte operations
 *   op (1) | pa (8, LE) | len (2, LE) | seed (1)
 * op % 4: 0 write, 1 read, 2 frame lookup, 3 engine encrypt+decrypt of a DRAM range in place.
 * A flat shadow copy of the DRAM is the model: every accepted call must match it, every
 * rejected call must leave DRAM unchanged, and a call is rejected exactly when the model says
 * the range is outside. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>

#define MAX_LEN 20000u

static void must(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t dsize = ((uint64_t)data[0] + 1) * MC_FRAME_SIZE;
    struct mc_dram_config cfg = {.size = dsize};
    struct mc_dram *d;
    if (mc_dram_create(&cfg, &d, NULL) != MC_OK)
        return 0;
    uint8_t *shadow = calloc(1, dsize), *buf = malloc(MAX_LEN), *tmp = malloc(MAX_LEN);
    must(shadow && buf && tmp);
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
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(seed + i * 131);
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
    /* final whole-DRAM comparison */
    uint8_t *all = malloc(dsize);
    must(all != NULL);
    must(mc_dram_read(d, 0, all, dsize, NULL) == MC_OK);
    must(memcmp(all, shadow, dsize) == 0);
    free(all);
    free(shadow);
    free(buf);
    free(tmp);
    mc_dram_destroy(d);
    return 0;
}
