/* Benchmark of `memcrypt measure` on Debian's OVMF image, beside the reference calculator
 * (virtee/sev-snp-measure) run in the same benchmark when it is installed:
 *  - in-library: mc_measure() per call (image in memory), without and with a memo;
 *  - whole process, 1/4/64 vCPUs: the memcrypt CLI and the reference run alternately (A/B), each
 *    `--runs` times; medians of wall-clock and CPU time (user+system of the child), the ratio
 *    reference / memcrypt, outputs compared;
 *  - batch: `--lines` measurement lines (SNP and SEV-ES, 1..64 vCPUs, three CPU types) through
 *    one `memcrypt measure --batch FILE` against the reference run once per line; outputs compared
 *    line by line; ratio = the reference's total / memcrypt's batch (median of 3).
 * Usage: bench_measure [--reference CMD] [--runs N] [--lines N] [path/to/memcrypt]
 *   CMD: the reference's executable or its sev-snp-measure.py (run with python3); default:
 *   $SEV_SNP_MEASURE, else `sev-snp-measure` on PATH, else the comparison is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/fileio.h>
#include <memcrypt/measure.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/vmsa.h>

#include "bench_proc.h"
#include "bench_target.h"

/* The reference command prefix: {python3, script} or {exe}; returns the number of words. */
static int reference_cmd(const char *arg, const char *words[2])
{
    const char *ref = arg ? arg : getenv("SEV_SNP_MEASURE");
    static char found[PATH_MAX];
    if (!ref || !*ref) {
        const char *path = getenv("PATH");
        char *dup = strdup(path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(found, sizeof found, "%s/sev-snp-measure", d);
            if (access(found, X_OK) == 0) {
                ref = found;
                break;
            }
        }
        free(dup);
    }
    if (!ref || !*ref)
        return 0;
    size_t n = strlen(ref);
    if (n > 3 && !strcmp(ref + n - 3, ".py")) {
        words[0] = "python3";
        words[1] = ref;
        return 2;
    }
    words[0] = ref;
    return 1;
}

#define MAXW 32

/* argv = prefix words + the words of line (split on spaces) + NULL. */
static int make_argv(char **argv, const char *const *prefix, int np, char *line)
{
    int n = 0;
    for (int i = 0; i < np; i++)
        argv[n++] = (char *)prefix[i];
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w && n < MAXW - 1; w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    argv[n] = NULL;
    return n;
}

int main(int argc, char **argv)
{
    const char *ref_arg = NULL;
    int runs = 15, lines = 24;
    char cli[PATH_MAX] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reference") && i + 1 < argc)
            ref_arg = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lines") && i + 1 < argc)
            lines = atoi(argv[++i]);
        else if (argv[i][0] != '-')
            snprintf(cli, sizeof cli, "%s", argv[i]);
        else {
            fprintf(stderr, "usage: bench_measure [--reference CMD] [--runs N] [--lines N] [memcrypt]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 1000 || lines < 1 || lines > 500) {
        fprintf(stderr, "bench_measure: --runs 1..1000, --lines 1..500\n");
        return 2;
    }
    if (!*cli) {
        if (bench_cli_beside(cli, sizeof cli))
            return 1;
    }
    const char *refw[2];
    int nref = reference_cmd(ref_arg, refw);

    const char *ovmf_path = MC_OVMF_DIR "/OVMF.fd";
    uint8_t *ovmf;
    size_t len;
    struct mc_error e;
    if (mc_file_read(ovmf_path, MC_OVMF_MAX_SIZE, &ovmf, &len, &e) != MC_OK) {
        fprintf(stderr, "bench_measure: %s\n", e.msg);
        return 1;
    }
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("bench_measure: %s (%zu bytes), SNP, EPYC-Milan, guest features 0x21, load average %.2f\n", ovmf_path,
           len, load[0]);
    if (nref)
        printf("reference: %s%s%s\n", refw[0], nref > 1 ? " " : "", nref > 1 ? refw[1] : "");
    else
        printf("reference: not installed (give --reference or set SEV_SNP_MEASURE): no ratios\n");

    /* In-library. */
    static const unsigned counts[] = {1, 4, 64};
    struct mc_measure_memo *memo = NULL;
    if (mc_measure_memo_create(&memo, &e) != MC_OK)
        return 1;
    for (size_t i = 0; i < 3; i++) {
        struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = len, .vcpus = counts[i],
                                      .guest_features = 0x21};
        mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL);
        uint8_t d[MC_MEASURE_MAX_DIGEST];
        size_t dn;
        double t[2];
        for (int m = 0; m < 2; m++) {
            in.memo = m ? memo : NULL;
            const int iters = m ? 200 : 30;
            double t0 = bench_now();
            for (int k = 0; k < iters; k++)
                if (mc_measure(&in, d, &dn, &e) != MC_OK) {
                    fprintf(stderr, "bench_measure: %s\n", e.msg);
                    return 1;
                }
            t[m] = (bench_now() - t0) / iters;
        }
        printf("library vcpus=%-3u %.3f ms/measure; with a memo of the image (as --batch) %.3f ms/measure\n",
               counts[i], t[0] * 1e3, t[1] * 1e3);
    }
    mc_measure_memo_destroy(memo);

    /* Whole process, A/B alternated. */
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        char line[512];
        snprintf(line, sizeof line, "measure --mode snp --vcpus %u --vcpu-type EPYC-Milan --ovmf %s --guest-features 0x21",
                 counts[i], ovmf_path);
        char lm[512], lr[512];
        snprintf(lm, sizeof lm, "%s", line);
        snprintf(lr, sizeof lr, "%s", line + strlen("measure "));
        char *am[MAXW], *ar[MAXW];
        const char *pm[1] = {cli};
        make_argv(am, pm, 1, lm);
        make_argv(ar, refw, nref, lr);
        double *mw = calloc((size_t)runs, sizeof *mw), *mc = calloc((size_t)runs, sizeof *mc);
        double *rw = calloc((size_t)runs, sizeof *rw), *rcpu = calloc((size_t)runs, sizeof *rcpu);
        if (!mw || !mc || !rw || !rcpu)
            return 1;
        bool same = true;
        for (int k = 0; k < runs; k++) {
            static struct bench_run a, b;
            if (bench_run_cmd(am, NULL, false, &a) != 0 || a.status != 0) {
                fprintf(stderr, "bench_measure: running %s failed\n", cli);
                return 1;
            }
            mw[k] = a.wall;
            mc[k] = a.cpu;
            if (nref) {
                if (bench_run_cmd(ar, NULL, false, &b) != 0 || b.status != 0) {
                    fprintf(stderr, "bench_measure: the reference failed (status %d)\n", b.status);
                    return 1;
                }
                rw[k] = b.wall;
                rcpu[k] = b.cpu;
                same = same && !strcmp(a.out, b.out);
            }
        }
        double m_w = bench_median(mw, runs), m_c = bench_median(mc, runs);
        printf("process vcpus=%-3u memcrypt median %.2f ms wall, %.2f ms CPU (%d runs)", counts[i], m_w * 1e3,
               m_c * 1e3, runs);
        if (nref) {
            double r_w = bench_median(rw, runs), r_c = bench_median(rcpu, runs);
            printf("; reference %.1f ms wall, %.1f ms CPU; ratio %.1fx wall, %.1fx CPU (target 20x)%s", r_w * 1e3,
                   r_c * 1e3, r_w / m_w, r_c / m_c, same ? "" : "  OUTPUTS DIFFER");
            if (!same)
                rc = 1;
        }
        printf("\n");
        {
            char what[128];
            snprintf(what, sizeof what, "`measure` per process, %u vCPUs: sev-snp-measure wall / memcrypt wall", counts[i]);
            double r_w = nref ? bench_median(rw, runs) : NAN;
            bench_target("bench_measure", what, nref ? r_w / m_w : NAN, ">=", 20, "%.2f ms vs %s", m_w * 1e3,
                         nref ? "the reference (same run)" : "no reference installed");
        }
        free(mw);
        free(mc);
        free(rw);
        free(rcpu);
    }

    /* Batch. */
    char tmpl[] = "/tmp/bench_measure.XXXXXX";
    int fd = mkstemp(tmpl);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        return 1;
    static const char *const types[] = {"EPYC-Milan", "EPYC-Genoa", "EPYC-Rome"};
    char **batch = calloc((size_t)lines, sizeof *batch);
    for (int l = 0; l < lines; l++) {
        char b[512];
        snprintf(b, sizeof b, "--mode %s --vcpus %d --vcpu-type %s --ovmf %s%s", l % 4 == 3 ? "seves" : "snp",
                 1 + (l * 7) % 64, types[l % 3], ovmf_path, l % 4 == 3 ? "" : " --guest-features 0x21");
        batch[l] = strdup(b);
        fprintf(f, "%s\n", b);
    }
    fclose(f);
    char *ab[] = {cli, "measure", "--batch", tmpl, NULL};
    double bt[3];
    static struct bench_run br;
    for (int k = 0; k < 3; k++) {
        if (bench_run_cmd(ab, NULL, false, &br) != 0) {
            rc = 1;
            break;
        }
        bt[k] = br.wall;
    }
    if (br.status == 2) {
        printf("batch: this memcrypt has no `measure --batch` (usage error): not measured\n");
    } else if (br.status != 0) {
        printf("batch: `memcrypt measure --batch` failed (status %d)\n", br.status);
        rc = 1;
    } else {
        double m_b = bench_median(bt, 3);
        double batch_ratio = NAN;
        printf("batch %d lines: memcrypt one process %.2f ms (%.3f ms/line)", lines, m_b * 1e3, m_b * 1e3 / lines);
        if (nref) {
            double total = 0;
            bool same = true;
            const char *at = br.out;
            for (int l = 0; l < lines; l++) {
                char lr[512], *ar[MAXW];
                snprintf(lr, sizeof lr, "%s", batch[l]);
                make_argv(ar, refw, nref, lr);
                static struct bench_run r;
                if (bench_run_cmd(ar, NULL, false, &r) != 0 || r.status != 0) {
                    fprintf(stderr, "bench_measure: the reference failed on line %d\n", l + 1);
                    return 1;
                }
                total += r.wall;
                size_t rl = strlen(r.out);
                same = same && !strncmp(at, r.out, rl);
                at += strnlen(at, rl);
            }
            printf("; reference once per line %.1f ms (%.1f ms/line); ratio %.0fx (target 50x)%s", total * 1e3,
                   total * 1e3 / lines, total / m_b, same ? "" : "  OUTPUTS DIFFER");
            batch_ratio = total / m_b;
            if (!same)
                rc = 1;
        }
        printf("\n");
        bench_target("bench_measure", "`measure --batch`: sev-snp-measure once per line / memcrypt one process",
                     batch_ratio, ">=", 50, "%d lines in %.2f ms%s", lines, m_b * 1e3,
                     nref ? "" : "; no reference installed");
    }
    unlink(tmpl);
    for (int l = 0; l < lines; l++)
        free(batch[l]);
    free(batch);
    free(ovmf);
    return rc;
}
