/* Helpers the benchmarks share: run a program and time it, medians (header only).
 *
 *   static struct bench_run r;                       // r.out holds the first 64 KiB of stdout
 *   bench_run_cmd(argv, NULL, true, &r);             // stdin /dev/null, stderr discarded
 *   r.wall, r.cpu (child's user+system), r.status (exit status, -1 if killed)
 */
#ifndef MC_BENCH_PROC_H
#define MC_BENCH_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bench_run {
    double wall, cpu;
    int status;
    char out[1 << 16]; /* the first bytes of stdout */
};

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs argv (argv[0] looked up on PATH) with stdin from in_path (NULL: /dev/null), stdout
 * captured into r->out, stderr discarded when quiet. Returns 0, or -1 when it could not run. */
static inline int bench_run_cmd(char *const argv[], const char *in_path, bool quiet, struct bench_run *r)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(in_path ? in_path : "/dev/null", O_RDONLY);
        if (fd >= 0)
            dup2(fd, 0);
        dup2(p[1], 1);
        if (quiet && (fd = open("/dev/null", O_WRONLY)) >= 0)
            dup2(fd, 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    char sink[4096];
    for (;;) {
        char *dst = n < sizeof r->out - 1 ? r->out + n : sink;
        size_t cap = n < sizeof r->out - 1 ? sizeof r->out - 1 - n : sizeof sink;
        ssize_t k = read(p[0], dst, cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (dst != sink)
            n += (size_t)k;
    }
    r->out[n] = 0;
    close(p[0]);
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    r->wall = bench_now() - t0;
    r->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
             (double)ru.ru_stime.tv_usec * 1e-6;
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return 0;
}

/* The memcrypt CLI beside this benchmark program. Returns 0, or -1. */
static inline int bench_cli_beside(char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k < 0)
        return -1;
    self[k] = 0;
    return (size_t)snprintf(out, n, "%s/memcrypt", dirname(self)) < n ? 0 : -1;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v[0..n-1] (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
