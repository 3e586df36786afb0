/* Benchmark: the whole process of an SEV-SNP launch of a 1 GiB guest with Debian's OVMF, as a VMM
 * runs it, with a saved firmware state.
 *   bench_snp_launch [--runs N] [--mem MiB] [--ovmf FILE]     (defaults: 5 runs, 1024 MiB,
 *                                                              MC_OVMF_DIR/OVMF.fd)
 * Each timed run is a new process (this program re-executed with --child) that: reads the OVMF
 * image and builds the launch plan (`memcrypt measure`'s steps: the image as NORMAL pages, the SEV
 * metadata pages, one VMSA; 1 vCPU EPYC-v4, guest features 0x1); builds a Milan board with DRAM
 * for the guest's RAM, the RMP the BIOS reserved for it and the firmware's state file; brings SNP
 * up as Linux does (RMP zeroed, SYSCFG.SNP_EN), SNP_INIT, WBINVD + DF_FLUSH; builds the guest's
 * nested tables over all its RAM (2 MiB pages); GCTX_CREATE, LAUNCH_START, ACTIVATE; for every page
 * of the plan: the host copies it in (bulk copy), RMPUPDATE to Pre-Guest, SNP_LAUNCH_UPDATE; then
 * LAUNCH_FINISH — and checks that the firmware's launch digest equals the plan's (measure's), so a
 * fast wrong launch fails. As with KVM's guest_memfd, RAM the launch does not measure stays shared
 * until the guest accepts it: it costs nothing here. A first, untimed run creates the state file.
 * Prints the wall-clock time of each process (fork to exit), the median, and the child's CPU time
 * (target: ≤ 1 s). */
#define _GNU_SOURCE
#include <fcntl.h>
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
#include <memcrypt/fileio.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/measure.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vmsa.h>

#include "bench_target.h"

#define F(S, f) offsetof(struct S, f)
#define MIB (1ull << 20)
#define GCTX 0x200000ull
#define NPT 0x400000ull       /* the nested tables' area (hypervisor pages) */
#define RAM (64 * MIB)        /* guest RAM starts here; the launch pages follow it */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "bench_snp_launch: %s: %s\n", what, e->msg);
    return 1;
}

struct last {
    uint8_t ld[48];
    size_t n;
};
static void log_page(void *ctx, const struct mc_psp_snp_page *p)
{
    struct last *l = ctx;
    memcpy(l->ld, p->digest, 48);
    l->n++;
}

static mc_status fwcmd(struct mc_board *b, uint32_t cmd, void *buf, size_t len, struct mc_error *e)
{
    uint32_t st;
    return mc_board_fw(b, cmd, buf, len, &st, e);
}

/* One launch, start to finish, in this process. */
static int child(const char *state, uint64_t mem, const char *ovmf_path)
{
    struct mc_error e = {0};
    uint8_t *ovmf = NULL;
    size_t ovmf_len = 0;
    if (mc_file_read(ovmf_path, 64 * MIB, &ovmf, &ovmf_len, &e))
        return fail("OVMF", &e);
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = ovmf_len, .vcpus = 1,
                                  .guest_features = 0x1, .threads = 1};
    struct mc_snp_plan plan;
    if (mc_vcpu_type_sig("EPYC-v4", &in.vcpu_sig, &e) || mc_snp_plan_build(&in, &plan, &e))
        return fail("launch plan", &e);
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, "milan", &e))
        return fail("board", &e);
    bc.machine.dram_size = RAM + mem + plan.n * 4096 + 64 * MIB;
    bc.fw.state_path = state;
    bc.hypervisor = false;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_board *b;
    if (mc_board_create(&bc, &b, &e))
        return fail("board", &e);
    struct mc_machine *m = mc_board_machine(b);
    struct mc_rmp *r = mc_board_rmp(b);
    struct mc_fault f;
    uint64_t v = 0;
    uint32_t eax = 0;
    if (mc_board_snp_enable(b, &e) || mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, &e) ||
        mc_machine_wrmsr(m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &e))
        return fail("SNP bring-up", &e);
    uint32_t fws = 0;
    if (fwcmd(b, MC_SEV_CMD_SNP_INIT, NULL, 0, &e) || mc_board_df_flush(b, &fws, &e))
        return fail("SNP_INIT", &e);
    struct mc_ptb npt;
    if (mc_ptb_init(&npt, m, NPT, 2 * MIB, false, &e) ||
        mc_ptb_map(&npt, 0, RAM, mem, 2 * MIB, MC_PTE_W | MC_PTE_U, &e))
        return fail("nested tables", &e);
    const struct mc_rmp_state fwpage = {.assigned = 1, .immutable = 1};
    if (mc_rmp_rmpupdate(r, GCTX, &fwpage, &eax, &f, &e) || eax)
        return fail("RMPUPDATE (context page)", &e);
    uint8_t p[8];
    mc_put_le64(p, GCTX);
    uint8_t ls[sizeof(struct mc_snp_launch_start)] = {0};
    mc_put_le64(ls + F(mc_snp_launch_start, gctx_paddr), GCTX);
    mc_put_le64(ls + F(mc_snp_launch_start, policy), 0x30000);
    uint8_t ac[sizeof(struct mc_snp_activate)] = {0};
    mc_put_le64(ac + F(mc_snp_activate, gctx_paddr), GCTX);
    mc_put_le32(ac + F(mc_snp_activate, asid), 1);
    if (fwcmd(b, MC_SEV_CMD_SNP_GCTX_CREATE, p, sizeof p, &e) ||
        fwcmd(b, MC_SEV_CMD_SNP_LAUNCH_START, ls, sizeof ls, &e) || fwcmd(b, MC_SEV_CMD_SNP_ACTIVATE, ac, sizeof ac, &e))
        return fail("GCTX_CREATE/LAUNCH_START/ACTIVATE", &e);
    struct last last = {0};
    mc_psp_set_snp_log(mc_board_psp(b), log_page, &last);
    static const uint8_t zero[4096];
    for (size_t i = 0; i < plan.n; i++) {
        const struct mc_snp_launch_page *pg = &plan.pages[i];
        const uint64_t spa = RAM + mem + i * 4096;
        if (mc_lcpu_access(mc_machine_cpu(m), spa, NULL, pg->has_data ? pg->data : zero, 4096, 0, MEMCTL_ACC_F_STREAM,
                           &f, &e))
            return fail("host copy", &e);
        const struct mc_rmp_state pre = {.gpa = pg->gpa, .assigned = 1, .immutable = 1, .asid = 1};
        if (mc_rmp_rmpupdate(r, spa, &pre, &eax, &f, &e) || eax)
            return fail("RMPUPDATE (Pre-Guest)", &e);
        uint8_t lu[sizeof(struct mc_snp_launch_update)] = {0};
        mc_put_le64(lu + F(mc_snp_launch_update, gctx_paddr), GCTX);
        mc_put_le32(lu + F(mc_snp_launch_update, flags), pg->page_type << 1);
        mc_put_le64(lu + F(mc_snp_launch_update, page_paddr), spa);
        if (fwcmd(b, MC_SEV_CMD_SNP_LAUNCH_UPDATE, lu, sizeof lu, &e))
            return fail("SNP_LAUNCH_UPDATE", &e);
    }
    uint8_t lf[sizeof(struct mc_snp_launch_finish)] = {0};
    mc_put_le64(lf + F(mc_snp_launch_finish, gctx_paddr), GCTX);
    if (fwcmd(b, MC_SEV_CMD_SNP_LAUNCH_FINISH, lf, sizeof lf, &e))
        return fail("SNP_LAUNCH_FINISH", &e);
    if (last.n != plan.n || memcmp(last.ld, plan.expected_ld, 48)) {
        fprintf(stderr, "bench_snp_launch: the firmware's launch digest is not measure's\n");
        return 1;
    }
    printf("child: %zu pages launched, digest = measure's\n", plan.n);
    mc_board_destroy(b);
    mc_snp_plan_free(&plan);
    free(ovmf);
    return 0;
}

/* Run the child as a new process: its wall-clock time (fork to exit) and CPU time. */
static int spawn(const char *self, const char *state, uint64_t mib, const char *ovmf, double *wall, double *cpu_s)
{
    char ms[32];
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)mib);
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execl(self, self, "--child", state, ms, ovmf, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *wall = now() - t0;
    *cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
             ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--child"))
        return child(argv[2], strtoull(argv[3], NULL, 0) * MIB, argv[4]);
    unsigned runs = 5;
    unsigned long long mib = 1024;
    const char *ovmf = MC_OVMF_DIR "/OVMF.fd";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--runs"))
            runs = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mem"))
            mib = strtoull(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ovmf"))
            ovmf = argv[i + 1];
    }
    if (runs < 1 || runs > 100 || mib < 64 || mib % 2) {
        fprintf(stderr, "usage: bench_snp_launch [--runs 1..100] [--mem MiB (even, >= 64)] [--ovmf FILE]\n");
        return 2;
    }
    if (access(ovmf, R_OK)) {
        printf("skip: %s is not installed (apt-get install ovmf)\n", ovmf);
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    char dir[] = "/tmp/bench_snp_launch.XXXXXX", state[sizeof dir + 16];
    if (!mkdtemp(dir))
        return 1;
    snprintf(state, sizeof state, "%s/fw.state", dir);
    double w0, c0, wall[100], cpu_s[100];
    int rc = spawn(self, state, mib, ovmf, &w0, &c0); /* creates the state file */
    for (unsigned i = 0; !rc && i < runs; i++)
        rc = spawn(self, state, mib, ovmf, &wall[i], &cpu_s[i]);
    unlink(state);
    rmdir(dir);
    if (rc) {
        fprintf(stderr, "bench_snp_launch: a launch failed\n");
        return 1;
    }
    double ws[100];
    memcpy(ws, wall, runs * sizeof *wall);
    qsort(ws, runs, sizeof *ws, cmp);
    double la = 0;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &la) != 1)
            la = 0;
        fclose(lf);
    }
    printf("SNP launch of a %llu MiB guest with %s, whole process, saved firmware state:\n", mib, ovmf);
    printf("  first run (creates the state file): %.3f s wall, %.3f CPU s\n", w0, c0);
    for (unsigned i = 0; i < runs; i++)
        printf("  run %u: %.3f s wall, %.3f CPU s\n", i + 1, wall[i], cpu_s[i]);
    printf("  median %.3f s wall, best %.3f s (target <= 1 s)   load %.1f\n", ws[runs / 2], ws[0], la);
    bench_target("bench_snp_launch", "SNP launch of a 1 GiB guest with Debian's OVMF, whole process, saved state (s)",
                 ws[runs / 2], "<=", 1.0, "median of %u processes, %.3f s wall (best %.3f s), load %.1f", runs,
                 ws[runs / 2], ws[0], la);
    return 0;
}
