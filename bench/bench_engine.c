/* Benchmark of the memory encryption engine: 4 KiB page encrypt and decrypt throughput of
 * every available implementation, beside OpenSSL's own EVP AES-XTS over 4 KiB buffers (one
 * EVP call per buffer, IV per buffer) measured in the same run.
 *
 *   bench_engine [--json] [--seconds S]     (default 0.5 s per target and row, in 15 rounds)
 *
 * Also measured: one call per 64-byte line on both sides (the memory controller's cache-line
 * fill), where per-call overhead dominates.
 *
 * The engine does 64 lines per page, each with its own tweak (AES_k2(LE128(pa))): 256 data
 * blocks + 64 tweak blocks per page, where OpenSSL's single 4 KiB data unit runs 256 + 1
 * (the engine does 1.25x the AES work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/bytes.h>
#include <memcrypt/engine.h>
#include <memcrypt/json.h>

#include "crypto/crypto.h"
#include "crypto/xts.h"

#include "bench_proc.h"
#include "bench_target.h"

#define PAGE 4096u
#define NPAGES 64u /* 256 KiB working set: stays in L2 */
#define ROUNDS 15

/* This thread's CPU time: time the scheduler gives other programs on a shared machine does not
 * count against either side. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct target {
    struct mc_engine *e; /* engine run, or NULL for EVP */
    mc_slot slot;
    struct mc_xts_ctx *evp;
    int decrypt;
    int per_line; /* one call per 64-byte line instead of per page */
};

/* One pass over the working set; returns bytes processed or 0 on error. */
static size_t pass(const struct target *t, uint8_t *buf, uint64_t pa0)
{
    for (unsigned p = 0; p < NPAGES; p++) {
        uint8_t *pg = buf + (size_t)p * PAGE;
        uint64_t pa = pa0 + (uint64_t)p * PAGE;
        mc_status st = MC_OK;
        if (t->per_line) {
            for (unsigned l = 0; l < PAGE / 64 && st == MC_OK; l++) {
                if (t->e) {
                    st = t->decrypt ? mc_engine_decrypt(t->e, t->slot, pa + 64 * l, pg + 64 * l, pg + 64 * l, 64, NULL)
                                    : mc_engine_encrypt(t->e, t->slot, pa + 64 * l, pg + 64 * l, pg + 64 * l, 64, NULL);
                } else {
                    uint8_t iv[16] = {0};
                    mc_put_le64(iv, pa + 64 * l);
                    st = mc_xts_ctx_crypt(t->evp, iv, pg + 64 * l, pg + 64 * l, 64, NULL);
                }
            }
        } else if (t->e) {
            st = t->decrypt ? mc_engine_decrypt(t->e, t->slot, pa, pg, pg, PAGE, NULL)
                            : mc_engine_encrypt(t->e, t->slot, pa, pg, pg, PAGE, NULL);
        } else {
            uint8_t iv[16] = {0};
            mc_put_le64(iv, pa);
            st = mc_xts_ctx_crypt(t->evp, iv, pg, pg, PAGE, NULL);
        }
        if (st != MC_OK)
            return 0;
    }
    return (size_t)NPAGES * PAGE;
}

/* One run of `seconds`, in MB/s (10^6 bytes), or -1 on error. */
static double run_once(const struct target *t, uint8_t *buf, double seconds)
{
    size_t bytes = 0;
    double t0 = now(), t1;
    do {
        size_t n = pass(t, buf, 0x100000000ull);
        if (!n)
            return -1;
        bytes += n;
        t1 = now();
    } while (t1 - t0 < seconds);
    return (double)bytes / (t1 - t0) / 1e6;
}

int main(int argc, char **argv)
{
    int json = 0;
    double seconds = 0.5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_engine [--json] [--seconds S]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds < 60)) {
        fprintf(stderr, "bench_engine: --seconds must be in (0, 60)\n");
        return 2;
    }
    struct mc_rng *rng;
    struct mc_engine *e;
    struct mc_error err;
    if (mc_rng_create((const uint8_t *)"bench", 5, &rng, &err) != MC_OK ||
        mc_engine_create(rng, 4, &e, &err) != MC_OK) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 3;
    }
    uint8_t *buf = aligned_alloc(64, (size_t)NPAGES * PAGE);
    if (!buf)
        return 3;
    mc_rng_bytes(rng, buf, (size_t)NPAGES * PAGE, NULL);

    static const enum mc_cipher ciphers[] = {MC_CIPHER_AES128_XTS, MC_CIPHER_AES256_XTS};
    static const char *const cnames[] = {"aes-128-xts", "aes-256-xts"};
    static const enum mc_engine_impl impls[] = {MC_IMPL_PORTABLE, MC_IMPL_AESNI, MC_IMPL_VAES};
    struct mc_json j;
    if (json) {
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "benchmark", "engine 4 KiB page throughput vs OpenSSL EVP AES-XTS 4 KiB");
        mc_json_double(&j, "seconds_per_measurement", seconds);
        mc_json_str(&j, "auto_impl", mc_engine_impl_name(mc_engine_get_impl(e)));
        mc_json_arr(&j, "results");
    } else {
        printf("%d rounds of %.3f s per target, MB/s (10^6 B/s) the best round; call = bytes per call (4096: a\n"
               "page of 64 lines, one OpenSSL call per 4 KiB unit; 64: one line per call on both sides);\n"
               "ratio = engine / OpenSSL, median of the rounds' ratios (targets alternate within a round)\n",
               ROUNDS, seconds * 3 / ROUNDS);
        printf("%-12s %-9s %-8s %5s %10s %10s %8s\n", "cipher", "impl", "dir", "call", "MB/s", "openssl", "ratio");
    }
    int rc = 0;
    for (int ci = 0; ci < 2; ci++) {
        uint8_t key[64];
        size_t h = ciphers[ci] == MC_CIPHER_AES128_XTS ? 16 : 32;
        do
            mc_rng_bytes(rng, key, 2 * h, NULL);
        while (!memcmp(key, key + h, h));
        mc_slot s;
        struct mc_xts_ctx *ev[2];
        if (mc_engine_slot_import(e, ciphers[ci], key, 2 * h, &s, &err) != MC_OK ||
            mc_xts_ctx_create((unsigned)h * 8, key, 0, &ev[0], &err) != MC_OK ||
            mc_xts_ctx_create((unsigned)h * 8, key, 1, &ev[1], &err) != MC_OK) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 3;
        }
        mc_wipe(key, sizeof key);
        for (int mode = 0; mode < 4; mode++) {
            /* modes: page encrypt, page decrypt, then the same with one call per 64-byte line
             * (how a memory controller fills single cache lines; OpenSSL likewise per line) */
            const int dir = mode & 1, per_line = mode >> 1;
            /* Target 0 is OpenSSL, 1.. the engine implementations. The three rounds interleave
             * all targets so that they see the same machine load; each keeps its best round. */
            struct target tg[4];
            enum mc_engine_impl ti[4];
            double best[4] = {0};
            unsigned nt = 0;
            tg[nt++] = (struct target){.evp = ev[dir], .decrypt = dir, .per_line = per_line};
            for (size_t ii = 0; ii < 3; ii++) {
                if (!mc_engine_impl_available(impls[ii]))
                    continue;
                ti[nt] = impls[ii];
                tg[nt++] = (struct target){.e = e, .slot = s, .decrypt = dir, .per_line = per_line};
            }
            /* ROUNDS short rounds, every target in each: the ratio is the median of the rounds'
             * ratios (each round's targets see about the same machine load); MB/s the best. */
            double rr[4][ROUNDS];
            for (int round = 0; round < ROUNDS; round++) {
                double mbs_r[4] = {0};
                for (unsigned t = 0; t < nt; t++) {
                    if (tg[t].e)
                        mc_engine_set_impl(e, ti[t], NULL);
                    double mbs = run_once(&tg[t], buf, seconds * 3 / ROUNDS);
                    if (mbs < 0)
                        rc = 3;
                    mbs_r[t] = mbs;
                    if (mbs > best[t])
                        best[t] = mbs;
                }
                for (unsigned t = 1; t < nt; t++)
                    rr[t][round] = mbs_r[0] > 0 ? mbs_r[t] / mbs_r[0] : 0;
            }
            double ossl = best[0];
            for (unsigned t = 1; t < nt; t++) {
                double mbs = best[t];
                qsort(rr[t], ROUNDS, sizeof rr[t][0], bench_cmp_double);
                double ratio = rr[t][ROUNDS / 2];
                if (json) {
                    mc_json_obj(&j, NULL);
                    mc_json_str(&j, "cipher", cnames[ci]);
                    mc_json_str(&j, "impl", mc_engine_impl_name(ti[t]));
                    mc_json_str(&j, "direction", dir ? "decrypt" : "encrypt");
                    mc_json_str(&j, "call_size", per_line ? "64" : "4096");
                    mc_json_double(&j, "mb_per_s", mbs);
                    mc_json_double(&j, "openssl_mb_per_s", ossl);
                    mc_json_double(&j, "ratio", ratio);
                    mc_json_end(&j);
                } else {
                    printf("%-12s %-9s %-8s %5s %10.0f %10.0f %8.2f\n", cnames[ci], mc_engine_impl_name(ti[t]),
                           dir ? "decrypt" : "encrypt", per_line ? "64" : "4096", mbs, ossl, ratio);
                    if (!per_line && (ti[t] == MC_IMPL_VAES || ti[t] == MC_IMPL_AESNI)) {
                        char what[96];
                        snprintf(what, sizeof what, "engine %s %s, 4 KiB pages / OpenSSL EVP XTS", cnames[ci],
                                 dir ? "decrypt" : "encrypt");
                        if (ti[t] == MC_IMPL_AESNI)
                            snprintf(what, sizeof what, "engine %s %s without VAES (AES-NI path) / OpenSSL EVP XTS",
                                     cnames[ci], dir ? "decrypt" : "encrypt");
                        bench_target("bench_engine", what, ratio, ">=", ti[t] == MC_IMPL_VAES ? 1.0 : 0.75,
                                     "%.0f vs %.0f MB/s", mbs, ossl);
                    }
                }
            }
        }
        mc_engine_set_impl(e, MC_IMPL_AUTO, NULL);
        mc_engine_slot_destroy(e, s, NULL);
        mc_xts_ctx_destroy(ev[0]);
        mc_xts_ctx_destroy(ev[1]);
    }
    if (json) {
        mc_json_end(&j);
        mc_json_end(&j);
        mc_json_finish(&j);
    }
    free(buf);
    mc_engine_destroy(e);
    mc_rng_destroy(rng);
    return rc;
}
