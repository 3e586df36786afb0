/* Benchmark: SEV launch through the emulated firmware and the VM model.
 * For each guest size (GiB, arguments; default 1): create the VM (LAUNCH_START + ACTIVATE),
 * LAUNCH_UPDATE_DATA over the whole guest RAM (the host writes plaintext, the firmware measures
 * it and encrypts it in place under the ASID key, 64 MiB per command), LAUNCH_MEASURE,
 * LAUNCH_FINISH. Prints LAUNCH_UPDATE_DATA throughput and whole-launch time.
 * Usage: bench_sevfw_launch [--dram-file PATH] [GiB ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/engine.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int one(unsigned gib, const char *dram_file)
{
    const uint64_t chunk = 64ull << 20, mem = (uint64_t)gib << 30, pool = 64ull << 20;
    struct mc_board_config bc;
    struct mc_error err;
    if (mc_board_config_init(&bc, "milan", &err)) {
        fprintf(stderr, "board: %s\n", err.msg);
        return 1;
    }
    bc.machine.dram_size = pool + mem + (64ull << 20);
    bc.machine.dram_file = dram_file;
    bc.machine.seed = (const uint8_t *)"bench";
    bc.machine.seed_len = 5;
    bc.fw.root_bits = 2048;
    bc.pool_base = 1ull << 20;
    bc.pool_size = bc.machine.dram_size - (1ull << 20);
    struct mc_board *b;
    struct mc_vm *vm;
    uint8_t *buf = malloc(chunk);
    if (!buf || mc_board_create(&bc, &b, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    struct mc_machine *m = mc_board_machine(b);
    struct mc_vmm *vmm = mc_board_vmm(b);
    for (uint64_t i = 0; i < chunk; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 12));
    uint8_t ib[0x14] = {0};
    uint32_t fw;
    double t0 = now();
    if (mc_board_fw(b, MC_SEV_CMD_INIT, ib, sizeof ib, &fw, &err) || mc_board_df_flush(b, &fw, &err)) {
        fprintf(stderr, "INIT: %s\n", err.msg);
        return 1;
    }
    struct mc_vm_config vc = {.vcpus = 4, .mem_size = mem, .policy = 0x1};
    if (mc_vm_create(vmm, &vc, &vm, &fw, &err)) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    double t1 = now(), c1 = cpu();
    for (uint64_t off = 0; off < mem; off += chunk)
        if (mc_vm_launch_update(vm, off, buf, chunk, chunk, NULL, NULL, &err)) {
            fprintf(stderr, "update: %s\n", err.msg);
            return 1;
        }
    double t2 = now(), c2 = cpu();
    uint8_t meas[0x30];
    if (mc_vm_launch_measure(vm, meas, &err) || mc_vm_launch_finish(vm, &err)) {
        fprintf(stderr, "measure/finish: %s\n", err.msg);
        return 1;
    }
    double t3 = now();
    double la[1] = {0};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &la[0]) != 1)
            la[0] = 0;
        fclose(lf);
    }
    printf("guest %2u GiB  LAUNCH_UPDATE_DATA %7.1f MB/s wall (%.2f s), %7.1f MB/s per CPU second   whole launch "
           "%.2f s   engine %s   load %.1f\n",
           gib, (double)mem / 1e6 / (t2 - t1), t2 - t1, (double)mem / 1e6 / (c2 - c1), t3 - t0,
           mc_engine_impl_name(mc_engine_get_impl(mc_machine_engine(m))), la[0]);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    int rc = 0, any = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dram-file") && i + 1 < argc) {
            file = argv[++i];
            continue;
        }
        rc |= one((unsigned)atoi(argv[i]), file);
        any = 1;
    }
    if (!any)
        rc = one(1, file);
    return rc;
}
