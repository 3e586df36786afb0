/* Benchmark: SEV-SNP report verification throughput on one core (one thread), with the
 * certificate chain cached (the steady state of a verifier service) and cold (a new verifier
 * per report: chain + extensions + signature). Inputs: AMD's real reports and VCEKs.
 * Run: build/bench_verify [seconds]   (default 3). Rates use this thread's CPU time, so other
 * load on the machine does not count against it; wall-clock rates are printed too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

static double clk(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const cases[] = {"virtee-milan", "azure-genoa-hcl", "oak-turin-oc", "oak-milan-cb",
                                    "trustee-genoa-e2e", "oak-genoa-oc"};
#define N (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    if (secs <= 0)
        secs = 3.0;
    struct mc_snp_report rep[N];
    uint8_t *cert[N];
    size_t cn[N];
    struct mc_error e;
    for (size_t i = 0; i < N; i++) {
        char p[512];
        uint8_t *b;
        size_t n;
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/report.bin", MC_TEST_DATA, cases[i]);
        if (mc_file_read(p, 1 << 20, &b, &n, &e) || mc_snp_report_decode(b, n, &rep[i], &e)) {
            fprintf(stderr, "%s: %s\n", p, e.msg);
            return 1;
        }
        free(b);
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/vcek.der", MC_TEST_DATA, cases[i]);
        if (mc_file_read(p, 1 << 20, &cert[i], &cn[i], &e)) {
            fprintf(stderr, "%s: %s\n", p, e.msg);
            return 1;
        }
    }
    struct mc_snp_verifier *v;
    if (mc_snp_verifier_new(NULL, &v, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct mc_snp_result res;
    /* cached: warm the cache, then verify round-robin */
    for (size_t i = 0; i < N; i++) {
        struct mc_snp_certs c = {cert[i], cn[i], NULL, 0, NULL, 0};
        if (mc_snp_verify(v, &rep[i], &c, NULL, &res, &e)) {
            fprintf(stderr, "%s: %s\n", cases[i], e.msg);
            return 1;
        }
    }
    long n = 0;
    double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    while (clk(CLOCK_THREAD_CPUTIME_ID) - c0 < secs) {
        for (int k = 0; k < 64; k++, n++) {
            size_t i = (size_t)n % N;
            struct mc_snp_certs c = {cert[i], cn[i], NULL, 0, NULL, 0};
            if (mc_snp_verify(v, &rep[i], &c, NULL, &res, &e) || !res.cached) {
                fprintf(stderr, "verification failed: %s\n", e.msg);
                return 1;
            }
        }
    }
    double cw = clk(CLOCK_MONOTONIC) - w0, cc = clk(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("%-52s %10.0f reports/s (cpu)  %10.0f reports/s (wall)  %.3f ms/report\n",
           "report verify, chain cached (6 real reports, 3 gens)", n / cc, n / cw, 1e3 * cc / n);
    /* cold: a fresh verifier each time (built-in roots parsed, chain verified) */
    long m = 0;
    w0 = clk(CLOCK_MONOTONIC);
    c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    while (clk(CLOCK_THREAD_CPUTIME_ID) - c0 < secs / 2) {
        size_t i = (size_t)m % N;
        struct mc_snp_verifier *fresh;
        struct mc_snp_certs c = {cert[i], cn[i], NULL, 0, NULL, 0};
        if (mc_snp_verifier_new(NULL, &fresh, &e) || mc_snp_verify(fresh, &rep[i], &c, NULL, &res, &e)) {
            fprintf(stderr, "cold verification failed: %s\n", e.msg);
            return 1;
        }
        mc_snp_verifier_free(fresh);
        m++;
    }
    cw = clk(CLOCK_MONOTONIC) - w0;
    cc = clk(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("%-52s %10.0f reports/s (cpu)  %10.0f reports/s (wall)  %.3f ms/report\n",
           "report verify, cold (new verifier + chain each time)", m / cc, m / cw, 1e3 * cc / m);
    mc_snp_verifier_free(v);
    for (size_t i = 0; i < N; i++)
        free(cert[i]);
    return 0;
}
