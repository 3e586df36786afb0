/* Benchmark of `memcrypt measure` on Debian's OVMF image at 1, 4 and 64 vCPUs:
 *  - in-library: mc_measure() per call (image already in memory);
 *  - whole process: fork/exec of the memcrypt CLI, 20 runs, output to /dev/null.
 * Usage: bench_measure [path/to/memcrypt] (default: memcrypt next to this program). */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/fileio.h>
#include <memcrypt/measure.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/vmsa.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs the CLI once; *cpu receives the child's user+system CPU time in seconds. */
static int run_cli(const char *cli, const char *ovmf, const char *vcpus, double *cpu)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        execl(cli, cli, "measure", "--mode", "snp", "--vcpus", vcpus, "--vcpu-type", "EPYC-Milan", "--ovmf", ovmf,
              "--guest-features", "0x21", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    char cli[PATH_MAX];
    if (argc > 1) {
        snprintf(cli, sizeof cli, "%s", argv[1]);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
            return 1;
        self[n] = 0;
        snprintf(cli, sizeof cli, "%s/memcrypt", dirname(self));
    }
    const char *ovmf_path = MC_OVMF_DIR "/OVMF.fd";
    uint8_t *ovmf;
    size_t len;
    struct mc_error e;
    if (mc_file_read(ovmf_path, MC_OVMF_MAX_SIZE, &ovmf, &len, &e) != MC_OK) {
        fprintf(stderr, "bench_measure: %s\n", e.msg);
        return 1;
    }
    static const unsigned counts[] = {1, 4, 64};
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("bench_measure: %s (%zu bytes), SNP, EPYC-Milan, guest features 0x21, load average %.2f\n", ovmf_path,
           len, load[0]);
    for (size_t i = 0; i < 3; i++) {
        struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = len, .vcpus = counts[i],
                                      .guest_features = 0x21};
        mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL);
        uint8_t d[MC_MEASURE_MAX_DIGEST];
        size_t dn;
        const int iters = 50;
        double t0 = now();
        for (int k = 0; k < iters; k++)
            if (mc_measure(&in, d, &dn, &e) != MC_OK) {
                fprintf(stderr, "bench_measure: %s\n", e.msg);
                return 1;
            }
        double lib = (now() - t0) / iters;
        char v[16];
        snprintf(v, sizeof v, "%u", counts[i]);
        const int runs = 20;
        double best = 1e9, total = 0, cpu_best = 1e9, cpu;
        for (int k = 0; k < runs; k++) {
            double s = now();
            if (run_cli(cli, ovmf_path, v, &cpu) != 0) {
                fprintf(stderr, "bench_measure: running %s failed\n", cli);
                return 1;
            }
            double dt = now() - s;
            total += dt;
            if (dt < best)
                best = dt;
            if (cpu < cpu_best)
                cpu_best = cpu;
        }
        printf("vcpus=%-3u library %.2f ms/measure   whole process (%d runs) mean %.2f ms, best %.2f ms, "
               "best CPU time %.2f ms\n",
               counts[i], lib * 1e3, runs, total / runs * 1e3, best * 1e3, cpu_best * 1e3);
    }
    free(ovmf);
    return 0;
}
