/* Benchmark: /dev/sev-guest under `memcrypt exec --guest` against the library, in the same run.
 *   1. In the library: an SNP guest saved by build/snp_mkguest is restored on its chip in this
 *      process and its message driver (memcrypt/snp_guest.h) asks for MSG_REPORT_REQ reports in a
 *      loop (GHCB exit, SNP_GUEST_REQUEST, the report signed by the VCEK, the response checked):
 *      reports per CPU second.
 *   2. Interposed: build/sev_guest (written against <linux/sev-guest.h> only) issues SNP_GET_REPORT
 *      N + 1 times under `memcrypt exec --guest` (each ioctl: the guest file's and the chip's locks,
 *      the same request, the guest checkpointed into its file); reports per CPU second of that
 *      process, the same run with one report (start-up, the first open and load of the guest)
 *      subtracted. Target: >= 0.7x the library's rate.
 *   3. `memcrypt exec` start-up: the median wall time of `memcrypt exec --state S -- /bin/true`
 *      (and with --guest) minus that of /bin/true run the same way. Target: <= 20 ms.
 * Run: build/bench_sevguest build/memcrypt [seconds]   (default 2). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/fileio.h>
#include <memcrypt/machine.h>
#include <memcrypt/migrate.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/vm.h>

#include "bench_target.h"

extern char **environ;

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double child_cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* Run argv; its wall time in *wall, its CPU time (user + system) in *cpu; exit status. */
static int run(char *const argv[], double *wall, double *cpu)
{
    double c0 = child_cpu(), w0 = now(CLOCK_MONOTONIC);
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int st = 0;
    if (rc == 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    if (wall)
        *wall = now(CLOCK_MONOTONIC) - w0;
    if (cpu)
        *cpu = child_cpu() - c0;
    return rc ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_wall(char *const argv[], int k)
{
    double w[64];
    for (int i = 0; i < k; i++)
        if (run(argv, &w[i], NULL) != 0)
            return NAN;
    qsort(w, (size_t)k, sizeof w[0], cmp);
    return w[k / 2];
}

/* The library's rate: the saved guest restored here, MSG_REPORT_REQ from its message driver. */
static double library_rate(const char *state, const char *guest, double secs, unsigned *n_out)
{
    uint8_t *file = NULL;
    size_t len = 0;
    struct mc_error e = {0};
    struct mc_board_config bc;
    struct mc_board *b = NULL;
    struct mc_vm *vm = NULL;
    struct mc_snp_guest *g = NULL;
    if (mc_file_read(guest, 1 << 26, &file, &len, &e) || mc_board_config_init(&bc, "milan", &e))
        return NAN;
    bc.machine.dram_size = 128ull << 20;
    bc.fw.state_path = state;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_fault f;
    uint64_t hwcr, secrets = 0;
    uint32_t fs = 0;
    double rate = NAN;
    if (mc_board_create(&bc, &b, &e) ||
        mc_machine_rdmsr(mc_board_machine(b), MC_MSR_HWCR, &hwcr, &f, &e) ||
        mc_machine_wrmsr(mc_board_machine(b), MC_MSR_HWCR, hwcr | MC_HWCR_SMMLOCK, &f, &e) ||
        mc_board_snp_enable(b, &e) || mc_board_fw(b, MC_SEV_CMD_SNP_INIT, NULL, 0, &fs, &e) ||
        mc_board_df_flush(b, &fs, &e) || mc_guest_restore(b, file, len, &vm, NULL, &e) ||
        !mc_vm_snp_secrets(vm, &secrets)) {
        fprintf(stderr, "bench_sevguest: %s\n", e.msg);
        goto out;
    }
    uint64_t top = mc_vm_mem_size(vm);
    struct mc_snp_guest_config c = {.secrets_gpa = secrets, .ghcb_gpa = top - 0x3000, .req_gpa = top - 0x2000,
                                    .rsp_gpa = top - 0x1000, .vmpck = 0};
    if (mc_snp_guest_create(mc_vm_vcpu(vm, 0), &c, &g, &e)) {
        fprintf(stderr, "bench_sevguest: %s\n", e.msg);
        goto out;
    }
    uint8_t rd[64] = {0}, rep[MC_SNP_REPORT_SIZE];
    uint32_t status = 0;
    unsigned n = 0;
    if (mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e) || status) { /* the first makes the VCEK */
        fprintf(stderr, "bench_sevguest: report: %s\n", e.msg);
        goto out;
    }
    double t0 = now(CLOCK_PROCESS_CPUTIME_ID), t = 0;
    do {
        rd[0] = (uint8_t)n;
        if (mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e) || status) {
            fprintf(stderr, "bench_sevguest: report: %s\n", e.msg);
            goto out;
        }
        n++;
        t = now(CLOCK_PROCESS_CPUTIME_ID) - t0;
    } while (t < secs);
    rate = n / t;
    *n_out = n;
out:
    mc_snp_guest_destroy(g);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    free(file);
    return rate;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_sevguest build/memcrypt [seconds]\n");
        return 2;
    }
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    char cli[PATH_MAX], bdir[PATH_MAX], mk[PATH_MAX + 32], client[PATH_MAX + 32];
    if (!realpath(argv[1], cli))
        return 2;
    snprintf(bdir, sizeof bdir, "%s", cli);
    snprintf(mk, sizeof mk, "%s/snp_mkguest", dirname(bdir));
    snprintf(client, sizeof client, "%s/sev_guest", bdir);
    const char *tmp = getenv("TMPDIR");
    char dir[256], state[300], guest[300], cmd[3 * PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bench_sevguest.XXXXXX", tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    snprintf(state, sizeof state, "%s/chip.state", dir);
    snprintf(guest, sizeof guest, "%s/guest.snp", dir);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' >/dev/null", mk, state, guest);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_sevguest: %s failed\n", mk);
        return 1;
    }
    /* 1. The library. */
    unsigned nlib = 0;
    double lib = library_rate(state, guest, secs, &nlib);
    printf("library: %u reports in %.2f CPU s = %.0f reports/s\n", nlib, nlib / lib, lib);
    /* 2. Interposed, from a separate process (the first run makes the chip's identities). */
    char count[32];
    unsigned n = nlib > 20 ? nlib : 20;
    snprintf(count, sizeof count, "%u", n + 1);
    char *warm[] = {cli, "exec", "--state", state, "--guest", guest, "--", client, "loop", "1", NULL};
    char *zero[] = {cli, "exec", "--state", state, "--guest", guest, "--", client, "loop", "1", NULL};
    char *many[] = {cli, "exec", "--state", state, "--guest", guest, "--", client, "loop", count, NULL};
    double w0, c0, w1, c1;
    run(warm, NULL, NULL);
    if (run(zero, &w0, &c0) != 0 || run(many, &w1, &c1) != 0) {
        fprintf(stderr, "bench_sevguest: the interposed client failed\n");
        return 1;
    }
    double ipos = n / (c1 - c0);
    printf("interposed: %u SNP_GET_REPORT in %.2f CPU s (%.2f s wall) = %.0f reports/s\n", n, c1 - c0, w1 - w0, ipos);
    bench_target("bench_sevguest", "interposed SNP_GET_REPORT / the library's MSG_REPORT_REQ (per CPU second)",
                 ipos / lib, ">=", 0.7, "%.0f vs %.0f reports/s", ipos, lib);
    /* 3. exec's start-up. */
    char *bare[] = {"/bin/true", NULL};
    char *ex[] = {cli, "exec", "--state", state, "--", "/bin/true", NULL};
    char *exg[] = {cli, "exec", "--state", state, "--guest", guest, "--", "/bin/true", NULL};
    double tb = median_wall(bare, 21), te = median_wall(ex, 21), tg = median_wall(exg, 21);
    printf("start-up (median of 21, wall): /bin/true %.1f ms, exec %.1f ms, exec --guest %.1f ms\n", tb * 1e3, te * 1e3,
           tg * 1e3);
    bench_target("bench_sevguest", "`memcrypt exec` start-up over the bare program (ms, median wall)", (te - tb) * 1e3,
                 "<=", 20, "%.1f ms over %.1f ms", (te - tb) * 1e3, tb * 1e3);
    bench_target("bench_sevguest", "`memcrypt exec --guest` start-up over the bare program (ms, median wall)",
                 (tg - tb) * 1e3, "<=", 20, "%.1f ms over %.1f ms", (tg - tb) * 1e3, tb * 1e3);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_sevguest: could not remove %s\n", dir);
    return 0;
}
