/* bench_scale: how the platform scales with guest memory and with the number of guests.
 *
 *   bench_scale [--sizes MiB,MiB,...] [--guests N,N,...] [--guest-mib M] [--json]
 *
 * 1. Whole launch: LAUNCH_UPDATE_DATA over ALL of a guest's RAM (256 MiB, 1 GiB, 4 GiB by
 *    default), in 256 KiB commands as KVM issues them: the host writes the plaintext (C=0),
 *    flushes it, the firmware hashes it (SHA-256) and encrypts it in place under the guest's key.
 *    Each size runs in its own child process (fork), so its peak resident set (wait4's
 *    ru_maxrss) is its own. Reported per size: seconds per GiB (the child's CPU time: the host
 *    is shared), MB/s, peak RSS and the DRAM the launch touched. Targets: time per GiB flat
 *    across sizes (largest / smallest <= 1.3), peak RSS <= 1.1 x touched + 64 MiB.
 *    Baseline in the same run: SHA-256 (OpenSSL) plus the engine's encryption of the same
 *    256 KiB buffers — what a launch costs at least — as a ratio.
 * 2. N guests (1, 10, 100 and every ASID the profile has: 0 in --guests): each is created (LAUNCH_START,
 *    ACTIVATE: its own ASID key), gets its RAM launched (--guest-mib, 2 MiB default) and
 *    measured (LAUNCH_MEASURE). Reported: time and peak-RSS growth per guest (again one child
 *    per N, RSS measured against the child's own board before the first guest).
 * The guest data comes from a 256 KiB generator buffer, never from a copy of the guest's RAM,
 * so the resident set is the emulated platform's own.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/engine.h>
#include <memcrypt/json.h>

#include "bench_target.h"
#include <memcrypt/machine.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

#include "crypto/crypto.h"

#define CMD (256u << 10) /* bytes per LAUNCH_UPDATE_DATA, as KVM pins and issues them */

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set of this process so far, bytes. */
static uint64_t peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

/* User and system CPU time of this process so far, seconds. */
static void cpu_split(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static void fill(uint8_t *buf, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = (off + i) * 0x9E3779B97F4A7C15ull;
        memcpy(buf + i, &v, 8);
    }
}

/* What a child reports back through its pipe. */
struct result {
    int ok;
    double cpu_s;        /* the measured part */
    double user_s, sys_s; /* its split: memcrypt's own code and libraries / the kernel (page population) */
    uint64_t touched;    /* DRAM frames touched x 4096 at the end */
    uint64_t rss_before; /* peak RSS when the measured part started */
    uint64_t rss_peak;   /* peak RSS at the end */
    unsigned guests;
    char msg[sizeof(((struct mc_error *)0)->msg)];
};

static int make_board(uint64_t dram, struct mc_board **b, struct mc_error *e)
{
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "milan", e))
        return 1;
    cfg.machine.dram_size = dram;
    cfg.machine.seed = (const uint8_t *)"bench-scale";
    cfg.machine.seed_len = 11;
    cfg.fw.root_bits = 2048;
    cfg.rmp_size = 0; /* an SEV launch: no RMP reserved */
    if (mc_board_create(&cfg, b, e))
        return 1;
    /* SEV-ES enabled (its ASIDs usable too): the TMR, 1 MiB aligned, from the hypervisor's pool. */
    uint64_t tmr;
    if (mc_vmm_alloc(mc_board_vmm(*b), 2 * MC_SEV_TMR_LEN, &tmr, e))
        return 1;
    tmr = (tmr + MC_SEV_TMR_LEN - 1) & ~(uint64_t)(MC_SEV_TMR_LEN - 1);
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    mc_put_le32(init + offsetof(struct mc_sev_init, flags), MC_SEV_INIT_FLAG_ES);
    mc_put_le64(init + offsetof(struct mc_sev_init, tmr_paddr), tmr);
    mc_put_le32(init + offsetof(struct mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    return mc_board_fw(*b, MC_SEV_CMD_INIT, init, sizeof init, NULL, e) != MC_OK;
}

/* LAUNCH_UPDATE_DATA over all of vm's RAM, 256 KiB commands, data generated per command. */
static int launch_all(struct mc_vm *vm, uint8_t *buf, struct mc_error *e)
{
    uint64_t mem = mc_vm_mem_size(vm);
    for (uint64_t off = 0; off < mem; off += CMD) {
        fill(buf, CMD, off);
        if (mc_vm_launch_update(vm, off, buf, CMD, CMD, NULL, NULL, e))
            return 1;
    }
    return 0;
}

static void child_launch(uint64_t mem, struct result *r)
{
    struct mc_error e = {0};
    struct mc_board *b = NULL;
    struct mc_vm *vm = NULL;
    uint8_t *buf = malloc(CMD);
    uint8_t meas[0x30];
    if (!buf || make_board(MC_BOARD_POOL_BASE + mem + (20u << 20), &b, &e))
        goto out;
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = mem, .policy = 1};
    if (mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e))
        goto out;
    r->rss_before = peak_rss();
    double u0, s0, u1, s1;
    cpu_split(&u0, &s0);
    double t0 = cpu_now();
    if (launch_all(vm, buf, &e) || mc_vm_launch_measure(vm, meas, &e))
        goto out;
    r->cpu_s = cpu_now() - t0;
    cpu_split(&u1, &s1);
    r->user_s = u1 - u0;
    r->sys_s = s1 - s0;
    r->touched = mc_dram_frames_touched(mc_machine_dram(mc_board_machine(b))) * 4096;
    r->rss_peak = peak_rss();
    r->ok = 1;
out:
    if (!r->ok)
        snprintf(r->msg, sizeof r->msg, "%s", e.msg);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    free(buf);
}

static void child_guests(unsigned n, uint64_t gmem, struct result *r)
{
    struct mc_error e = {0};
    struct mc_board *b = NULL;
    struct mc_vm **vms = calloc(n, sizeof *vms);
    uint8_t *buf = malloc(CMD);
    uint8_t meas[0x30];
    unsigned made = 0;
    if (!vms || !buf || make_board(MC_BOARD_POOL_BASE + (uint64_t)n * (gmem + (4u << 20)) + (20u << 20), &b, &e))
        goto out;
    r->rss_before = peak_rss();
    double t0 = cpu_now();
    for (; made < n; made++) {
        /* Plain SEV guests take ASIDs min_sev_asid..max; SEV-ES guests the ones below. */
        struct mc_vm_config vc = {.vcpus = 1, .mem_size = gmem, .policy = 1};
        if (mc_vm_create(mc_board_vmm(b), &vc, &vms[made], NULL, &e)) {
            vc.policy = 1 | MC_SEV_POLICY_ES;
            if (mc_vm_create(mc_board_vmm(b), &vc, &vms[made], NULL, &e))
                break;
        }
        if (launch_all(vms[made], buf, &e) || mc_vm_launch_measure(vms[made], meas, &e))
            goto out;
    }
    r->cpu_s = cpu_now() - t0;
    r->guests = made;
    r->touched = mc_dram_frames_touched(mc_machine_dram(mc_board_machine(b))) * 4096;
    r->rss_peak = peak_rss();
    r->ok = made == n;
out:
    if (!r->ok)
        snprintf(r->msg, sizeof r->msg, "%s", e.msg);
    for (unsigned i = 0; vms && i < made; i++)
        mc_vm_destroy(vms[i]);
    mc_board_destroy(b);
    free(vms);
    free(buf);
}

/* Run fn in a child process; its result comes back through a pipe. */
static int in_child(int kind, uint64_t arg, uint64_t arg2, struct result *r)
{
    int fd[2];
    memset(r, 0, sizeof *r);
    if (pipe(fd))
        return 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(fd[0]);
        struct result c = {0};
        if (kind == 0)
            child_launch(arg, &c);
        else
            child_guests((unsigned)arg, arg2, &c);
        ssize_t w = write(fd[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    return got != (ssize_t)sizeof *r || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !r->ok;
}

/* SHA-256 + engine encryption of 256 KiB buffers: the floor of a launch, MB/s. */
static double floor_mbs(void)
{
    struct mc_machine_config cfg;
    struct mc_machine *m;
    struct mc_error e;
    mc_slot s;
    uint8_t *buf = malloc(CMD), md[32];
    mc_machine_config_init(&cfg);
    cfg.platform = "milan";
    cfg.seed = (const uint8_t *)"floor";
    cfg.seed_len = 5;
    if (!buf || mc_machine_create(&cfg, &m, &e)) {
        free(buf);
        return 0;
    }
    struct mc_engine *eng = mc_machine_engine(m);
    mc_engine_slot_generate(eng, MC_CIPHER_AES128_XTS, &s, NULL);
    fill(buf, CMD, 0);
    const uint64_t total = 256ull << 20;
    double best = 0;
    for (int pass = 0; pass < 3; pass++) {
        double t0 = cpu_now();
        for (uint64_t o = 0; o < total; o += CMD) {
            mc_sha256(buf, CMD, md, NULL);
            mc_engine_encrypt(eng, s, o, buf, buf, CMD, NULL);
        }
        double mbs = (double)total / 1e6 / (cpu_now() - t0);
        if (mbs > best)
            best = mbs;
    }
    mc_machine_destroy(m);
    free(buf);
    return best;
}

static size_t parse_list(const char *s, uint64_t *out, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        out[n++] = strtoull(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

int main(int argc, char **argv)
{
    uint64_t sizes[8] = {256, 1024, 4096}, guests[8] = {1, 10, 100, 0};
    size_t nsizes = 3, nguests = 4;
    uint64_t gmib = 2;
    int json = 0;
    static const struct option lo[] = {{"sizes", required_argument, NULL, 's'},
                                       {"guests", required_argument, NULL, 'g'},
                                       {"guest-mib", required_argument, NULL, 'm'},
                                       {"json", no_argument, NULL, 'j'},
                                       {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 's')
            nsizes = parse_list(optarg, sizes, 8);
        else if (c == 'g')
            nguests = parse_list(optarg, guests, 8);
        else if (c == 'm')
            gmib = strtoull(optarg, NULL, 10);
        else if (c == 'j')
            json = 1;
        else {
            fprintf(stderr, "usage: bench_scale [--sizes MiB,...] [--guests N,...] [--guest-mib M] [--json]\n");
            return 2;
        }
    }
    for (size_t i = 0; i < nsizes; i++)
        if (sizes[i] < 2 || sizes[i] % 2 || sizes[i] > (1u << 20)) {
            fprintf(stderr, "bench_scale: sizes are even MiB counts\n");
            return 2;
        }
    if (gmib < 2 || gmib % 2) {
        fprintf(stderr, "bench_scale: --guest-mib must be an even number >= 2\n");
        return 2;
    }
    /* 0 in --guests: every ASID the profile has (plain SEV ones, then SEV-ES ones). */
    const struct mc_cpu_profile *prof;
    struct mc_cpu_features feat;
    if (mc_cpu_profile_find("milan", &prof, NULL)) {
        fprintf(stderr, "bench_scale: no milan profile\n");
        return 1;
    }
    mc_cpu_decode(prof, &feat);
    for (size_t i = 0; i < nguests; i++)
        if (guests[i] == 0 || guests[i] > feat.max_asid)
            guests[i] = feat.max_asid;
    double fl = floor_mbs();
    struct result lr[8], gr[8];
    double spg_min = 1e30, spg_max = 0, rss_worst = 0, upg_min = 1e30, upg_max = 0, kpg_min = 1e30, kpg_max = 0;
    int rss_ok = 1;
    for (size_t i = 0; i < nsizes; i++) {
        if (in_child(0, sizes[i] << 20, 0, &lr[i])) {
            fprintf(stderr, "bench_scale: launch of %llu MiB failed: %s\n", (unsigned long long)sizes[i], lr[i].msg);
            return 1;
        }
        double spg = lr[i].cpu_s / ((double)sizes[i] / 1024.0);
        spg_min = spg < spg_min ? spg : spg_min;
        spg_max = spg > spg_max ? spg : spg_max;
        double upg = lr[i].user_s / ((double)sizes[i] / 1024.0), kpg = lr[i].sys_s / ((double)sizes[i] / 1024.0);
        upg_min = upg < upg_min ? upg : upg_min;
        upg_max = upg > upg_max ? upg : upg_max;
        kpg_min = kpg < kpg_min ? kpg : kpg_min;
        kpg_max = kpg > kpg_max ? kpg : kpg_max;
        double limit = 1.1 * (double)lr[i].touched + 64.0 * 1048576.0;
        double q = (double)lr[i].rss_peak / limit;
        rss_worst = q > rss_worst ? q : rss_worst;
        rss_ok &= lr[i].rss_peak <= limit;
    }
    for (size_t i = 0; i < nguests; i++)
        if (in_child(1, guests[i], gmib << 20, &gr[i])) {
            fprintf(stderr, "bench_scale: %llu guests failed: %s\n", (unsigned long long)guests[i], gr[i].msg);
            return 1;
        }
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_double(&j, "launch_floor_sha256_plus_engine_MBps", fl);
        for (size_t i = 0; i < nsizes; i++) {
            char k[64];
            double mbs = (double)(sizes[i] << 20) / 1e6 / lr[i].cpu_s;
            snprintf(k, sizeof k, "launch_%lluMiB_s_per_GiB", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, lr[i].cpu_s / ((double)sizes[i] / 1024.0));
            snprintf(k, sizeof k, "launch_%lluMiB_user_s_per_GiB", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, lr[i].user_s / ((double)sizes[i] / 1024.0));
            snprintf(k, sizeof k, "launch_%lluMiB_kernel_s_per_GiB", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, lr[i].sys_s / ((double)sizes[i] / 1024.0));
            snprintf(k, sizeof k, "launch_%lluMiB_MBps", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, mbs);
            snprintf(k, sizeof k, "launch_%lluMiB_over_floor", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, mbs / fl);
            snprintf(k, sizeof k, "launch_%lluMiB_peak_rss_MiB", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, (double)lr[i].rss_peak / 1048576.0);
            snprintf(k, sizeof k, "launch_%lluMiB_touched_MiB", (unsigned long long)sizes[i]);
            mc_json_double(&j, k, (double)lr[i].touched / 1048576.0);
        }
        mc_json_double(&j, "launch_time_per_GiB_max_over_min", spg_max / spg_min);
        mc_json_double(&j, "launch_user_time_per_GiB_max_over_min", upg_max / upg_min);
        mc_json_double(&j, "launch_kernel_time_per_GiB_max_over_min", kpg_max / kpg_min);
        mc_json_double(&j, "launch_peak_rss_over_limit_worst", rss_worst);
        for (size_t i = 0; i < nguests; i++) {
            char k[64];
            snprintf(k, sizeof k, "guests_%u_ms_per_guest", gr[i].guests);
            mc_json_double(&j, k, gr[i].cpu_s * 1e3 / gr[i].guests);
            snprintf(k, sizeof k, "guests_%u_rss_KiB_per_guest", gr[i].guests);
            mc_json_double(&j, k, (double)(gr[i].rss_peak - gr[i].rss_before) / 1024.0 / gr[i].guests);
        }
        mc_json_finish(&j);
    } else {
        printf("launch floor (SHA-256 + engine encrypt, 256 KiB buffers): %.1f MB/s\n", fl);
        printf("whole launch (LAUNCH_UPDATE_DATA over all guest RAM, 256 KiB commands, one process each):\n");
        for (size_t i = 0; i < nsizes; i++) {
            double mbs = (double)(sizes[i] << 20) / 1e6 / lr[i].cpu_s;
            double gib = (double)sizes[i] / 1024.0;
            printf("  %5llu MiB: %6.3f s/GiB (user %.3f, kernel %.3f)  %7.1f MB/s (%.2fx floor)  peak RSS %7.1f MiB, "
                   "touched %7.1f MiB (limit 1.1x touched + 64 MiB = %.1f MiB)\n",
                   (unsigned long long)sizes[i], lr[i].cpu_s / gib, lr[i].user_s / gib, lr[i].sys_s / gib, mbs, mbs / fl,
                   lr[i].rss_peak / 1048576.0, lr[i].touched / 1048576.0,
                   (1.1 * (double)lr[i].touched + 64.0 * 1048576.0) / 1048576.0);
        }
        printf("  time per GiB, largest / smallest: %.2fx (target <= 1.3x); peak RSS within limit: %s "
               "(worst %.2f of the limit)\n", spg_max / spg_min, rss_ok ? "yes" : "NO", rss_worst);
        /* The split: user time is memcrypt's own work (firmware, controller, engine, SHA-256); kernel
         * time is the host OS backing the touched memory (page faults, zeroing). On a virtual machine
         * whose host takes back freed guest memory (virtio-balloon free page reporting), first-touching
         * memory nobody used recently costs more per page, and a larger launch needs more of it. */
        printf("  split: user (memcrypt) time per GiB largest / smallest %.2fx, kernel (page population) %.2fx\n",
               upg_max / upg_min, kpg_max / kpg_min);
        printf("N guests (%llu MiB each, created, launched over all RAM, measured; one process each):\n",
               (unsigned long long)gmib);
        for (size_t i = 0; i < nguests; i++)
            printf("  %4u guests: %7.2f ms per guest, peak RSS +%8.1f KiB per guest (DRAM touched %.1f MiB)\n",
                   gr[i].guests, gr[i].cpu_s * 1e3 / gr[i].guests,
                   (double)(gr[i].rss_peak - gr[i].rss_before) / 1024.0 / gr[i].guests,
                   gr[i].touched / 1048576.0);
        bench_target("bench_scale", "whole launch: time per GiB, largest / smallest guest size", spg_max / spg_min, "<=",
                     1.3, "%.2f to %.2f CPU s/GiB over %zu sizes", spg_min, spg_max, nsizes);
        bench_target("bench_scale", "whole launch: peak RSS / (1.1 x touched + 64 MiB), worst size", rss_worst, "<=", 1.0,
                     "worst %.2f of the limit", rss_worst);
    }
    return 0;
}
