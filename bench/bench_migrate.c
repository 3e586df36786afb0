/* Benchmark: live migration of an SEV guest between two boards in one process (memcrypt/
 * migrate.h): every page of guest RAM through SEND_UPDATE_DATA on the source (read under the guest's
 * key, AES-128-CTR under the TEK, HMAC under the TIK, out through the host's buffer) and
 * RECEIVE_UPDATE_DATA on the target (MAC, decrypt, written under the new guest's key), each
 * command through the host driver's mailbox. The baseline, in the same run, is the engine's own
 * AES-XTS decrypt + encrypt over the same number of bytes in 4 KiB runs (the least any move of
 * encrypted memory between two keys costs); the figure is their ratio (target >= 0.4).
 *
 *   bench_migrate [GiB] [--chunk BYTES] [--json]     (default 1 GiB, 4096-byte packets as QEMU) */
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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
    uint32_t chunk = 4096;
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
    uint64_t mem = (uint64_t)gib << 30;
    struct mc_error e = {0};
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
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("guest %u GiB, %u-byte packets (%llu)\n", gib, chunk, (unsigned long long)st.packets);
        printf("engine round trip (dec+enc)   %9.1f MB/s  (%.2f CPU s)\n", rt_mbs, rt_cpu);
        printf("SEND+RECEIVE_UPDATE_DATA      %9.1f MB/s  (%.2fx the engine round trip; %.2f CPU s: %.2fx per CPU "
               "second)\n",
               mig_mbs, mig_mbs / rt_mbs, mig_cpu, rt_cpu / mig_cpu);
        bench_target("bench_migrate", "SEND+RECEIVE_UPDATE_DATA of the guest / engine encrypt+decrypt round trip (wall)",
                     mig_mbs / rt_mbs, ">=", 0.4, "%.0f vs %.0f MB/s, %u GiB", mig_mbs, rt_mbs, gib);
    }
    mc_vm_destroy(moved);
    free(pat);
    mc_board_destroy(a);
    mc_board_destroy(b);
    return 0;
}
