/* bench_launch: SEV launch costs on the emulated platform.
 *
 *   1. LAUNCH_UPDATE_DATA throughput: the firmware measures (SHA-256) and encrypts in place
 *      (AES-XTS through the memory controller) N MiB of guest RAM, in 256 KiB commands as KVM
 *      issues them for pinned runs. Reported in MB/s (10^6 bytes per second).
 *   2. Whole launch of a 1 GiB and a 16 GiB guest with `mc_run` (Debian's OVMF, SEV policy 0x1):
 *      boot of the platform (machine, firmware, hypervisor), INIT, PDH export and session,
 *      LAUNCH_START/ACTIVATE, LAUNCH_UPDATE_DATA of the 2 MiB image, LAUNCH_MEASURE, owner check,
 *      LAUNCH_SECRET, LAUNCH_FINISH; then the same with the guest workload.
 *      What a launch encrypts is the firmware image (plus the hashes table / VMSAs when used):
 *      guest RAM the launch does not touch is neither allocated (sparse DRAM) nor encrypted, as
 *      with KVM, where the guest encrypts its own pages as it first writes them.
 * usage: bench_launch [--mib N] [--reps R] [--firmware PATH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/cpu.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/run.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

#include "crypto/crypto.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "bench_launch: %s: %s\n", what, e->msg);
    return 1;
}

static int bench_update(unsigned mib, unsigned reps)
{
    struct mc_error e = {0};
    uint64_t mem = (uint64_t)mib << 20;
    mem = (mem + (2u << 20) - 1) & ~((uint64_t)(2u << 20) - 1);
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "milan", &e))
        return die("board", &e);
    cfg.machine.dram_size = (2u << 20) + mem + (16u << 20);
    cfg.machine.seed = (const uint8_t *)"bench";
    cfg.machine.seed_len = 5;
    cfg.pool_base = 2u << 20;
    cfg.pool_size = mem + (16u << 20);
    struct mc_board *b = NULL;
    struct mc_vm *vm = NULL;
    int rc = 1;
    uint8_t *data = malloc(mem);
    if (!data)
        return 1;
    for (uint64_t i = 0; i < mem; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 12));
    if (mc_board_create(&cfg, &b, &e))
        goto out;
    struct mc_vmm *vmm = mc_board_vmm(b);
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    if (mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, &e))
        goto out;
    double best = 0;
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = mem, .policy = 1};
    if (mc_vm_create(vmm, &vc, &vm, NULL, &e))
        goto out;
    /* The guest stays in LUPDATE: each repetition measures and encrypts the whole range again. */
    for (unsigned r = 0; r < reps; r++) {
        double t0 = now_s();
        if (mc_vm_launch_update(vm, 0, data, mem, 256u << 10, NULL, NULL, &e))
            goto out;
        double t = now_s() - t0;
        double mbs = mem / t / 1e6;
        if (mbs > best)
            best = mbs;
    }
    printf("LAUNCH_UPDATE_DATA  %u MiB of guest RAM in 256 KiB commands: %.1f MB/s (best of %u)\n", (unsigned)(mem >> 20),
           best, reps);
    rc = 0;
out:
    if (rc)
        die("update benchmark", &e);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    free(data);
    return rc;
}

static int bench_launch(const char *fwpath, unsigned gib, bool workload)
{
    char xml[1024];
    snprintf(xml, sizeof xml,
             "<domain type='kvm'><name>bench-%ug</name><memory unit='GiB'>%u</memory><memoryBacking><locked/></memoryBacking><vcpu>1</vcpu>"
             "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type>"
             "<loader readonly='yes' type='pflash'>%s</loader></os>"
             "<launchSecurity type='sev'><policy>0x1</policy></launchSecurity></domain>",
             gib, gib, fwpath);
    struct mc_error e = {0};
    struct mc_lv_domain *d;
    if (mc_libvirt_parse(xml, strlen(xml), &d, &e))
        return die("domain", &e);
    struct mc_run_opts o = {.platform = "milan", .seed = (const uint8_t *)"bench", .seed_len = 5,
                            .platform_only = !workload};
    struct mc_run_report *r = malloc(sizeof *r);
    if (!r) {
        mc_libvirt_free(d);
        return 1;
    }
    double t0 = now_s();
    mc_status st = mc_run(d, &o, r, &e);
    double total = now_s() - t0;
    mc_libvirt_free(d);
    if (st) {
        free(r);
        return die("launch", &e);
    }
    printf("whole launch %2u GiB%s: %.3f s in all = platform boot %.3f + INIT/PLATFORM_STATUS %.3f + "
           "PDH export + session %.3f + LAUNCH_START..LAUNCH_FINISH %.3f (+ workload %.3f); LAUNCH_UPDATE_DATA "
           "%llu bytes (%.1f MB/s); "
           "%llu DRAM frames allocated\n",
           gib, workload ? " + workload" : "", total, r->boot_seconds, r->init_seconds, r->channel_seconds,
           r->guest_launch_seconds,
           r->workload_seconds, (unsigned long long)r->launch_bytes,
           r->update_seconds > 0 ? r->launch_bytes / r->update_seconds / 1e6 : 0.0, (unsigned long long)r->dram_touched);
    free(r);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned mib = 64, reps = 3;
    const char *fw = MC_OVMF_DIR "/OVMF.fd";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--firmware") && i + 1 < argc)
            fw = argv[++i];
        else {
            fprintf(stderr, "usage: bench_launch [--mib N] [--reps R] [--firmware PATH]\n");
            return 2;
        }
    }
    if (mib == 0 || mib > 4096 || reps == 0 || reps > 100) {
        fprintf(stderr, "bench_launch: --mib 1..4096, --reps 1..100\n");
        return 2;
    }
    int rc = bench_update(mib, reps);
    rc |= bench_launch(fw, 1, false);
    rc |= bench_launch(fw, 16, false);
    rc |= bench_launch(fw, 1, true);
    rc |= bench_launch(fw, 16, true);
    return rc;
}
