/* Benchmark: live migration of an SEV guest between two boards in one process (memcrypt/
 * migrate.h): every page of guest RAM through SEND_UPDATE_DATA on the source (read under the guest's
 * key, AES-128-CTR under the TEK, HMAC under the TIK, out through the host's buffer) and
 * RECEIVE_UPDATE_DATA on the target (MAC, decrypt, written under the new guest's key), each
 * command through the host driver's mailbox. The baseline, in the same run, is the engine's own
 * AES-XTS decrypt + encrypt over the same number of bytes in 4 KiB runs (the least any move of
 * encrypted memory between two keys costs); the figure is their ratio (target >= 0.4).
 *
 * The floor, in the same run: what the spec makes every byte cost. SEND_UPDATE_DATA reads the
 * page under the guest's key (XTS decrypt), encrypts it with AES-128-CTR under the TEK and MACs
 * it with HMAC-SHA256 under the TIK; RECEIVE_UPDATE_DATA MACs it again, decrypts (CTR) and writes
 * it under the new guest's key (XTS encrypt): 2 x (CTR + HMAC-SHA256 + XTS) per byte. Each is
 * timed here with OpenSSL's EVP over packet-sized buffers (the calls `openssl speed -evp` times,
 * the contexts the firmware keeps), giving the fastest a migration can be per CPU second, and —
 * with sender and receiver on two cores — the best ratio to the engine's round trip anyone could
 * reach on this machine.
 *
 *   bench_migrate [GiB] [--chunk BYTES] [--json]
 *   (default 1 GiB, 0x5000-byte packets: the most one SEND/RECEIVE_UPDATE_DATA may carry; QEMU
 *   sends 4096-byte pages: --chunk 4096) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/engine.h>
#include <memcrypt/json.h>
#include <memcrypt/migrate.h>
#include <memcrypt/sev_api.h>

#include "bench_target.h"
#include "crypto/chan.h"
#include "crypto/xts.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The floor's parts, MB per CPU second over len-byte buffers (best of three 64 MiB passes). */
struct floor_res {
    double ctr, hmac, xts;
};

static int floor_measure(uint32_t len, struct floor_res *r)
{
    static const uint8_t tek[16] = {1}, tik[16] = {2}, xk[32] = {3, [16] = 4}, iv[16] = {5};
    struct mc_chan *c = NULL;
    struct mc_xts_ctx *x = NULL;
    uint8_t *buf = calloc(1, len), mac[32];
    int rc = !buf || mc_chan_create(tek, tik, &c, NULL) || mc_xts_ctx_create(128, xk, 0, &x, NULL);
    const uint64_t total = 64ull << 20, n = total / len;
    memset(r, 0, sizeof *r);
    for (int pass = 0; !rc && pass < 3; pass++) {
        double t0 = thread_cpu();
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = mc_chan_ctr(c, iv, buf, buf, len, NULL) != MC_OK;
        double t1 = thread_cpu();
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = mc_chan_mac(c, iv, 16, buf, len, mac, NULL) != MC_OK;
        double t2 = thread_cpu();
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = mc_xts_ctx_crypt(x, iv, buf, buf, len, NULL) != MC_OK;
        double t3 = thread_cpu(), mb = (double)(n * len) / 1e6;
        if (mb / (t1 - t0) > r->ctr)
            r->ctr = mb / (t1 - t0);
        if (mb / (t2 - t1) > r->hmac)
            r->hmac = mb / (t2 - t1);
        if (mb / (t3 - t2) > r->xts)
            r->xts = mb / (t3 - t2);
    }
    mc_chan_destroy(c);
    mc_xts_ctx_destroy(x);
    free(buf);
    return rc;
}

#define POOL (4ull << 20)

static struct mc_board *board(const char *seed, uint64_t mem, struct mc_error *e)
{
    struct mc_board_config c;
    struct mc_board *b = NULL;
    if (mc_board_config_init(&c, "milan", e))
        return NULL;
    c.machine.dram_size = POOL + mem + (64ull << 20);
    c.machine.seed = (const uint8_t *)seed;
    c.machine.seed_len = strlen(seed);
    c.fw.root_bits = 2048;
    c.pool_base = POOL;
    if (mc_board_create(&c, &b, e) || mc_board_fw(b, MC_SEV_CMD_INIT, (uint8_t[0x14]){0}, 0x14, NULL, e) ||
        mc_board_df_flush(b, NULL, e)) {
        mc_board_destroy(b);
        return NULL;
    }
    return b;
}

int main(int argc, char **argv)
{
    unsigned gib = 1;
    uint32_t chunk = MC_SEV_TRANSFER_MAX;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
            chunk = (uint32_t)strtoul(argv[++i], NULL, 0);
        else
            gib = (unsigned)strtoul(argv[i], NULL, 0);
    }
    if (gib == 0 || gib > 64) {
        fprintf(stderr, "usage: bench_migrate [GiB 1..64] [--chunk BYTES] [--json]\n");
        return 2;
    }
    if (chunk < 16 || chunk > MC_SEV_TRANSFER_MAX || (chunk & 15)) {
        fprintf(stderr, "bench_migrate: --chunk is a multiple of 16 in 16..0x5000\n");
        return 2;
    }
    uint64_t mem = (uint64_t)gib << 30;
    struct mc_error e = {0};
    struct floor_res fl;
    if (floor_measure(chunk, &fl)) {
        fprintf(stderr, "bench_migrate: the OpenSSL floor could not be measured\n");
        return 1;
    }
    /* CPU seconds per MB the spec's work takes on both sides, and what that allows. */
    const double floor_spmb = 2.0 * (1.0 / fl.ctr + 1.0 / fl.hmac + 1.0 / fl.xts), floor_mbs = 1.0 / floor_spmb;
    struct mc_board *a = board("bench-migrate-src", mem, &e), *b = a ? board("bench-migrate-dst", mem, &e) : NULL;
    if (!a || !b) {
        fprintf(stderr, "bench_migrate: %s\n", e.msg);
        return 1;
    }
    /* The guest: its whole RAM launched (encrypted in place) from a pattern. */
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = mem, .policy = 0};
    struct mc_vm *vm = NULL, *moved = NULL;
    const uint64_t piece = 64ull << 20;
    uint8_t *pat = malloc(piece), m[0x30];
    if (!pat || mc_vm_create(mc_board_vmm(a), &vc, &vm, NULL, &e)) {
        fprintf(stderr, "bench_migrate: %s\n", e.msg);
        return 1;
    }
    for (uint64_t i = 0; i < piece; i++)
        pat[i] = (uint8_t)(i * 131 + (i >> 12));
    for (uint64_t o = 0; o < mem; o += piece)
        if (mc_vm_launch_update(vm, o, pat, piece, 0, NULL, NULL, &e)) {
            fprintf(stderr, "bench_migrate: %s\n", e.msg);
            return 1;
        }
    if (mc_vm_launch_measure(vm, m, &e) || mc_vm_launch_finish(vm, &e)) {
        fprintf(stderr, "bench_migrate: %s\n", e.msg);
        return 1;
    }
    /* Baseline: the engine's decrypt + encrypt round trip over the same bytes (4 KiB runs). */
    struct mc_engine *eng = mc_machine_engine(mc_board_machine(a));
    mc_slot s;
    if (mc_engine_slot_generate(eng, MC_CIPHER_AES128_XTS, &s, &e)) {
        fprintf(stderr, "bench_migrate: %s\n", e.msg);
        return 1;
    }
    double t0 = now();
    clock_t rc0 = clock();
    for (uint64_t done = 0; done < mem; done += piece) {
        for (uint64_t o = 0; o < piece; o += 4096)
            mc_engine_decrypt(eng, s, done + o, pat + o, pat + o, 4096, NULL);
        for (uint64_t o = 0; o < piece; o += 4096)
            mc_engine_encrypt(eng, s, done + o, pat + o, pat + o, 4096, NULL);
    }
    double rt = now() - t0, rt_cpu = (double)(clock() - rc0) / CLOCKS_PER_SEC;
    mc_engine_slot_destroy(eng, s, NULL);
    /* The migration. */
    struct mc_migrate_opts o = {.chunk = chunk};
    struct mc_migrate_stats st;
    t0 = now();
    clock_t c0 = clock();
    if (mc_migrate(a, &vm, b, &o, &moved, &st, &e)) {
        fprintf(stderr, "bench_migrate: %s\n", e.msg);
        return 1;
    }
    double mig = now() - t0, mig_cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    double mb = (double)mem / 1e6, rt_mbs = mb / rt, mig_mbs = mb / mig;
    /* The best wall ratio possible: sender and receiver each doing only their half of the floor,
     * in parallel on two cores, against the engine's round trip per CPU second. */
    double rt_cpu_mbs = mb / rt_cpu, mig_cpu_mbs = mb / mig_cpu, ceiling = 2.0 * floor_mbs / rt_cpu_mbs;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_u64(&j, "guest_bytes", mem);
        mc_json_u64(&j, "packet_bytes", chunk);
        mc_json_u64(&j, "packets", st.packets);
        mc_json_double(&j, "engine_roundtrip_MBps", rt_mbs);
        mc_json_double(&j, "migrate_MBps", mig_mbs);
        mc_json_double(&j, "migrate_cpu_s", mig_cpu);
        mc_json_double(&j, "migrate_over_engine_roundtrip", mig_mbs / rt_mbs);
        mc_json_double(&j, "engine_roundtrip_cpu_s", rt_cpu);
        mc_json_double(&j, "migrate_over_engine_roundtrip_cpu", rt_cpu / mig_cpu);
        mc_json_double(&j, "openssl_aes128_ctr_MBps", fl.ctr);
        mc_json_double(&j, "openssl_hmac_sha256_MBps", fl.hmac);
        mc_json_double(&j, "openssl_aes128_xts_MBps", fl.xts);
        mc_json_double(&j, "floor_MB_per_cpu_s", floor_mbs);
        mc_json_double(&j, "migrate_MB_per_cpu_s", mig_cpu_mbs);
        mc_json_double(&j, "migrate_cpu_over_floor", mig_cpu_mbs / floor_mbs);
        mc_json_double(&j, "best_possible_over_engine_roundtrip", ceiling);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("guest %u GiB, %u-byte packets (%llu)\n", gib, chunk, (unsigned long long)st.packets);
        printf("engine round trip (dec+enc)   %9.1f MB/s  (%.2f CPU s)\n", rt_mbs, rt_cpu);
        printf("SEND+RECEIVE_UPDATE_DATA      %9.1f MB/s  (%.2fx the engine round trip; %.2f CPU s: %.2fx per CPU "
               "second)\n",
               mig_mbs, mig_mbs / rt_mbs, mig_cpu, rt_cpu / mig_cpu);
        printf("floor (OpenSSL EVP, %u-byte buffers, this run): AES-128-CTR %.0f, HMAC-SHA256 %.0f, AES-128-XTS %.0f MB/s\n"
               "  2 x (CTR + HMAC + XTS) per byte: %.0f MB per CPU second; the migration: %.0f MB per CPU second "
               "(%.2f of the floor)\n"
               "  best possible / engine round trip (%.0f MB per CPU second): %.2fx with sender and receiver on two "
               "cores doing nothing but the floor\n",
               chunk, fl.ctr, fl.hmac, fl.xts, floor_mbs, mig_cpu_mbs, mig_cpu_mbs / floor_mbs, rt_cpu_mbs, ceiling);
        bench_target("bench_migrate", "SEND+RECEIVE_UPDATE_DATA of the guest / engine encrypt+decrypt round trip (wall)",
                     mig_mbs / rt_mbs, ">=", 0.4, "%.0f vs %.0f MB/s, %u GiB, %u-byte packets; at most %.2f possible (floor)",
                     mig_mbs, rt_mbs, gib, chunk, ceiling);
    }
    mc_vm_destroy(moved);
    free(pat);
    mc_board_destroy(a);
    mc_board_destroy(b);
    return 0;
}
