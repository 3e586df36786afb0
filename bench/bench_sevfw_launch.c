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
    struct mc_machine_config mc;
    mc_machine_config_init(&mc);
    mc.platform = "milan";
    mc.dram_size = pool + mem + (64ull << 20);
    mc.dram_file = dram_file;
    mc.seed = (const uint8_t *)"bench";
    mc.seed_len = 5;
    struct mc_machine *m;
    struct mc_error err;
    if (mc_machine_create(&mc, &m, &err)) {
        fprintf(stderr, "machine: %s\n", err.msg);
        return 1;
    }
    struct mc_sev_port port;
    struct mc_psp_mem pm;
    struct mc_psp_config cfg;
    struct mc_psp *psp;
    struct mc_vmm *vmm;
    struct mc_vm *vm;
    mc_sev_port_init(&port, mc_machine_mc(m), &pm);
    mc_psp_config_from_profile(mc_machine_profile(m), &cfg, NULL);
    cfg.root_bits = 2048;
    uint8_t *buf = malloc(chunk);
    if (!buf || mc_psp_create(&cfg, &pm, mc_machine_rng(m), &psp, &err) ||
        mc_vmm_create(m, psp, 1ull << 20, mc.dram_size - (1ull << 20), 1, &vmm, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    for (uint64_t i = 0; i < chunk; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 12));
    uint8_t ib[0x14] = {0};
    uint32_t fw;
    double t0 = now();
    if (mc_vmm_fw(vmm, MC_SEV_CMD_INIT, ib, sizeof ib, &fw, &err) || mc_vmm_flush_asids(vmm, &err)) {
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
    mc_vmm_destroy(vmm);
    mc_psp_destroy(psp);
    mc_machine_destroy(m);
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
