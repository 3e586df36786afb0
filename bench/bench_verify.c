/* Benchmark: SEV-SNP report verification against its floor, with AMD's real reports and VCEKs
 * (6 reports, Milan, Genoa, Turin).
 *
 *  floor (measured in this process, interleaved with what it bounds, per report's chip):
 *    one ECDSA P-384 verify of a SHA-384 digest with a set-up EVP_PKEY_CTX (what `openssl speed
 *    ecdsap384` times) plus the chain's signature checks, each an X509_verify: VCEK by the ASK,
 *    ASK by the ARK, the ARK's self-signature (RSA-4096 RSASSA-PSS);
 *  cold:   a new verifier and its first report (chain + extensions + signature); AMD's roots are
 *          parsed once per process (the first such verification in this process is shown apart);
 *          target <= 1.5x the floor;
 *  cached: one verifier, reports whose chain it has verified; vs the ECDSA floor alone; target
 *          >= 0.9x of its verifies/s;
 *  `openssl speed -mr ecdsap384 rsa4096` runs in the same benchmark: its floor is printed too;
 *  process: `memcrypt report verify FILE --vcek CERT` vs `openssl dgst -sha384 -verify PUB
 *          -signature SIG` on the same signed bytes, alternated; target <= 1.5x;
 *  many:   `memcrypt report verify R1 .. RN --vcek CERT` (one chip) in one process, reports/s vs
 *          the ECDSA floor (target >= 0.9x).
 * Rates use this thread's CPU time (child CPU time for processes), so other load counts less.
 * Run: bench_verify [seconds] [path/to/memcrypt]   (default 3 s per section, memcrypt beside). */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "snp/amd_roots.h"

#include "bench_proc.h"
#include "bench_target.h"

static double clk(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
static double cpu(void) { return clk(CLOCK_THREAD_CPUTIME_ID); }

static const char *const cases[] = {"virtee-milan", "azure-genoa-hcl", "oak-turin-oc", "oak-milan-cb",
                                    "trustee-genoa-e2e", "oak-genoa-oc"};
#define N (sizeof cases / sizeof cases[0])

struct item {
    struct mc_snp_report r;
    uint8_t *cert;
    size_t cn;
    X509 *leaf, *ask, *ark; /* the chain's certificates (roots borrowed) */
    EVP_PKEY_CTX *ecdsa;    /* the VCEK's key set up for verify, as openssl speed does */
    uint8_t digest[48];
    uint8_t *der;           /* the report's signature, DER */
    int der_len;
};

static struct item it[N];

static bool floor_once(struct item *x)
{
    bool ok = EVP_PKEY_verify(x->ecdsa, x->der, (size_t)x->der_len, x->digest, 48) == 1;
    ok &= X509_verify(x->leaf, X509_get0_pubkey(x->ask)) == 1;
    ok &= X509_verify(x->ask, X509_get0_pubkey(x->ark)) == 1;
    ok &= X509_verify(x->ark, X509_get0_pubkey(x->ark)) == 1;
    return ok;
}

static bool cold_once(struct item *x)
{
    struct mc_snp_verifier *v;
    struct mc_snp_result res;
    struct mc_snp_certs c = {x->cert, x->cn, NULL, 0, NULL, 0};
    if (mc_snp_verifier_create(NULL, &v, NULL) != MC_OK)
        return false;
    bool ok = mc_snp_verify(v, &x->r, &c, NULL, &res, NULL) == MC_OK && !res.cached;
    mc_snp_verifier_destroy(v);
    return ok;
}

static int setup(void)
{
    struct mc_error e;
    struct mc_snp_verifier *v;
    if (mc_snp_verifier_create(NULL, &v, &e))
        return 1;
    for (size_t i = 0; i < N; i++) {
        struct item *x = &it[i];
        char p[512];
        uint8_t *b;
        size_t n;
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/report.bin", MC_TEST_DATA, cases[i]);
        if (mc_file_read(p, 1 << 20, &b, &n, &e) || mc_snp_report_decode(b, n, &x->r, &e)) {
            fprintf(stderr, "%s: %s\n", p, e.msg);
            return 1;
        }
        free(b);
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/vcek.der", MC_TEST_DATA, cases[i]);
        if (mc_file_read(p, 1 << 20, &x->cert, &x->cn, &e)) {
            fprintf(stderr, "%s: %s\n", p, e.msg);
            return 1;
        }
        struct mc_snp_certs c = {x->cert, x->cn, NULL, 0, NULL, 0};
        struct mc_snp_result res;
        if (mc_snp_verify(v, &x->r, &c, NULL, &res, &e)) {
            fprintf(stderr, "%s: %s\n", cases[i], e.msg);
            return 1;
        }
        const unsigned char *q = x->cert;
        x->leaf = d2i_X509(NULL, &q, (long)x->cn);
        x->ask = mc_amd_root_x509(res.gen, MC_AMD_ASK, NULL);
        x->ark = mc_amd_root_x509(res.gen, MC_AMD_ARK, NULL);
        x->ecdsa = x->leaf ? EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(x->leaf), NULL) : NULL;
        unsigned dl = 0;
        uint8_t rb[48], sb[48];
        for (int k = 0; k < 48; k++) {
            rb[k] = x->r.sig_r[47 - k];
            sb[k] = x->r.sig_s[47 - k];
        }
        ECDSA_SIG *sig = ECDSA_SIG_new();
        if (!x->leaf || !x->ask || !x->ark || !x->ecdsa || EVP_PKEY_verify_init(x->ecdsa) <= 0 || !sig ||
            !EVP_Digest(x->r.raw, MC_SNP_REPORT_SIGNED_LEN, x->digest, &dl, EVP_sha384(), NULL) ||
            !ECDSA_SIG_set0(sig, BN_bin2bn(rb, 48, NULL), BN_bin2bn(sb, 48, NULL)) ||
            (x->der_len = i2d_ECDSA_SIG(sig, &x->der)) <= 0 || !floor_once(x)) {
            fprintf(stderr, "%s: cannot set up the floor\n", cases[i]);
            return 1;
        }
        ECDSA_SIG_free(sig);
    }
    mc_snp_verifier_destroy(v);
    return 0;
}

/* openssl speed -mr: verifies/s of ecdsap384 and rsa4096 (0 when it cannot run). */
static void openssl_speed(double secs, double *ecdsa, double *rsa)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "openssl speed -mr -seconds %d ecdsap384 rsa4096 2>/dev/null", secs < 1 ? 1 : (int)secs);
    *ecdsa = *rsa = 0;
    FILE *f = popen(cmd, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        int idx, bits;
        double s, v;
        if (sscanf(line, "+F2:%d:%d:%lf:%lf", &idx, &bits, &s, &v) == 4 && bits == 4096)
            *rsa = v;
        if (sscanf(line, "+F4:%d:%d:%lf:%lf", &idx, &bits, &s, &v) == 4 && bits == 384)
            *ecdsa = v;
    }
    if (f)
        pclose(f);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    if (secs <= 0)
        secs = 3.0;
    char cli[PATH_MAX];
    if (argc > 2) {
        snprintf(cli, sizeof cli, "%s", argv[2]);
    } else {
        if (bench_cli_beside(cli, sizeof cli))
            return 1;
    }
    /* The process's first verification (roots parsed now, once). */
    double f0 = cpu();
    struct item first;
    memset(&first, 0, sizeof first);
    {
        struct mc_error e;
        uint8_t *b;
        size_t n;
        char p[512];
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/report.bin", MC_TEST_DATA, cases[0]);
        if (mc_file_read(p, 1 << 20, &b, &n, &e) || mc_snp_report_decode(b, n, &first.r, &e)) {
            fprintf(stderr, "bench_verify: %s: %s\n", p, e.msg);
            return 1;
        }
        free(b);
        snprintf(p, sizeof p, "%s/amd/snp-reports/%s/vcek.der", MC_TEST_DATA, cases[0]);
        if (mc_file_read(p, 1 << 20, &first.cert, &first.cn, &e)) {
            fprintf(stderr, "bench_verify: %s: %s\n", p, e.msg);
            return 1;
        }
        f0 = cpu();
        if (!cold_once(&first)) {
            fprintf(stderr, "bench_verify: %s does not verify\n", cases[0]);
            return 1;
        }
        f0 = cpu() - f0;
        free(first.cert);
    }
    if (setup()) {
        fprintf(stderr, "bench_verify: setup failed\n");
        return 1;
    }

    /* cold and cached vs the floor, interleaved per report */
    double t_cold = 0, t_floor = 0, t_ecdsa = 0, t_cached = 0;
    long n_cold = 0, n_floor = 0, n_ecdsa = 0, n_cached = 0;
    struct mc_snp_verifier *v;
    if (mc_snp_verifier_create(NULL, &v, NULL))
        return 1;
    for (size_t i = 0; i < N; i++) { /* the cached rows need the chains in v */
        struct mc_snp_certs c = {it[i].cert, it[i].cn, NULL, 0, NULL, 0};
        struct mc_snp_result res;
        if (mc_snp_verify(v, &it[i].r, &c, NULL, &res, NULL))
            return 1;
    }
    double c_end = cpu() + secs;
    while (cpu() < c_end) {
        for (size_t i = 0; i < N; i++) {
            struct item *x = &it[i];
            double t = cpu();
            if (!cold_once(x)) {
                fprintf(stderr, "bench_verify: %s: cold verification failed\n", cases[i]);
                return 1;
            }
            t_cold += cpu() - t;
            n_cold++;
            t = cpu();
            if (!floor_once(x)) {
                fprintf(stderr, "bench_verify: %s: the floor's checks failed\n", cases[i]);
                return 1;
            }
            t_floor += cpu() - t;
            n_floor++;
            struct mc_snp_certs c = {x->cert, x->cn, NULL, 0, NULL, 0};
            struct mc_snp_result res;
            t = cpu();
            for (int k = 0; k < 4; k++)
                if (mc_snp_verify(v, &x->r, &c, NULL, &res, NULL) || !res.cached) {
                    fprintf(stderr, "bench_verify: %s: cached verification failed\n", cases[i]);
                    return 1;
                }
            t_cached += cpu() - t;
            n_cached += 4;
            t = cpu();
            for (int k = 0; k < 4; k++)
                if (EVP_PKEY_verify(x->ecdsa, x->der, (size_t)x->der_len, x->digest, 48) != 1)
                    return 1;
            t_ecdsa += cpu() - t;
            n_ecdsa += 4;
        }
    }
    mc_snp_verifier_destroy(v);
    double ms_cold = 1e3 * t_cold / n_cold, ms_floor = 1e3 * t_floor / n_floor;
    double ms_cached = 1e3 * t_cached / n_cached, ms_ecdsa = 1e3 * t_ecdsa / n_ecdsa;
    double sp_ecdsa, sp_rsa;
    openssl_speed(secs / 2, &sp_ecdsa, &sp_rsa);
    double ms_speed = sp_ecdsa > 0 && sp_rsa > 0 ? 1e3 / sp_ecdsa + 3e3 / sp_rsa : 0;
    printf("floor: 1 ECDSA P-384 verify %.3f ms + the chain's 3 RSA-4096 PSS checks = %.3f ms (this process); "
           "openssl speed: %.0f ecdsap384 verifies/s, %.0f rsa4096 verifies/s = %.3f ms\n",
           ms_ecdsa, ms_floor, sp_ecdsa, sp_rsa, ms_speed);
    printf("%-48s %8.3f ms  %.2fx the floor (target <= 1.5x)%s\n", "report verify, cold (new verifier, first report)",
           ms_cold, ms_cold / ms_floor, "");
    printf("%-48s %8.3f ms  (the process's first: AMD's Milan roots parsed then, once)\n",
           "report verify, first in the process", f0 * 1e3);
    printf("%-48s %8.0f reports/s  %.2fx ECDSA P-384 verifies/s (%.0f/s here, %.0f/s openssl speed; target >= 0.9x)\n",
           "report verify, chain cached", 1e3 / ms_cached, ms_ecdsa / ms_cached, 1e3 / ms_ecdsa, sp_ecdsa);
    bench_target("bench_verify", "SNP report verify, new verifier's first report / floor (1 P-384 + 3 RSA-4096 verifies)",
                 ms_cold / ms_floor, "<=", 1.5, "%.3f vs %.3f ms", ms_cold, ms_floor);
    bench_target("bench_verify", "SNP report verify, chain cached / ECDSA P-384 verifies", ms_ecdsa / ms_cached, ">=", 0.9,
                 "%.0f vs %.0f /s", 1e3 / ms_cached, 1e3 / ms_ecdsa);

    /* process level: memcrypt report verify vs openssl dgst -verify on the same signed bytes */
    char dir[] = "/tmp/bench_verify.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char rep[PATH_MAX], vc[PATH_MAX], pub[PATH_MAX], sig[PATH_MAX], body[PATH_MAX];
    snprintf(rep, sizeof rep, "%s/report.bin", dir);
    snprintf(vc, sizeof vc, "%s/vcek.der", dir);
    snprintf(pub, sizeof pub, "%s/vcek-pub.pem", dir);
    snprintf(sig, sizeof sig, "%s/sig.der", dir);
    snprintf(body, sizeof body, "%s/body.bin", dir);
    FILE *pf = fopen(pub, "w");
    int ok = pf && PEM_write_PUBKEY(pf, X509_get0_pubkey(it[0].leaf));
    if (pf)
        fclose(pf);
    if (!ok || write_file(rep, it[0].r.raw, MC_SNP_REPORT_SIZE) || write_file(vc, it[0].cert, it[0].cn) ||
        write_file(sig, it[0].der, (size_t)it[0].der_len) || write_file(body, it[0].r.raw, MC_SNP_REPORT_SIGNED_LEN))
        return 1;
    char *am[] = {cli, "report", "verify", rep, "--vcek", vc, NULL};
    char *ao[] = {"openssl", "dgst", "-sha384", "-verify", pub, "-signature", sig, body, NULL};
    enum { RUNS = 21 };
    double mw[RUNS], ow[RUNS], mc[RUNS], oc[RUNS];
    int rc = 0;
    for (int k = 0; k < RUNS; k++) {
        static struct bench_run a, b;
        if (bench_run_cmd(am, NULL, true, &a) || bench_run_cmd(ao, NULL, true, &b) || a.status || b.status) {
            fprintf(stderr, "bench_verify: memcrypt (%d) or openssl dgst (%d) failed\n", a.status, b.status);
            rc = 1;
            break;
        }
        mw[k] = a.wall;
        ow[k] = b.wall;
        mc[k] = a.cpu;
        oc[k] = b.cpu;
    }
    if (!rc) {
        double m = bench_median(mw, RUNS), o = bench_median(ow, RUNS), m_c = bench_median(mc, RUNS), o_c = bench_median(oc, RUNS);
        printf("%-48s %8.2f ms wall %6.2f ms CPU; openssl dgst -verify %.2f ms wall %.2f ms CPU: %.2fx wall, "
               "%.2fx CPU (target <= 1.5x)\n",
               "process: memcrypt report verify (1 report)", m * 1e3, m_c * 1e3, o * 1e3, o_c * 1e3, m / o, m_c / o_c);
        bench_target("bench_verify", "process: `memcrypt report verify` / `openssl dgst -verify`, wall", m / o, "<=", 1.5,
                     "%.2f vs %.2f ms (medians of %d)", m * 1e3, o * 1e3, RUNS);
    }

    /* many reports of one chip in one process */
    enum { MANY = 200 };
    char **argv_many = calloc(MANY + 8, sizeof *argv_many);
    int a = 0;
    argv_many[a++] = cli;
    argv_many[a++] = "report";
    argv_many[a++] = "verify";
    for (int k = 0; k < MANY; k++)
        argv_many[a++] = rep;
    argv_many[a++] = "--vcek";
    argv_many[a++] = vc;
    argv_many[a] = NULL;
    static struct bench_run one, many;
    if (bench_run_cmd(am, NULL, true, &one) || bench_run_cmd(argv_many, NULL, true, &many) || many.status) {
        printf("%-48s not available (status %d)\n", "process: report verify of 200 reports", many.status);
    } else {
        double per = (many.cpu - one.cpu) / (MANY - 1);
        printf("%-48s %8.1f ms CPU: %.0f reports/s after the first, %.2fx ECDSA P-384 verifies/s here "
               "(%.2fx openssl speed; target >= 0.9x)\n",
               "process: report verify of 200 reports, 1 chip", many.cpu * 1e3, 1 / per, (1e-3 * ms_ecdsa) / per,
               sp_ecdsa > 0 ? (1 / per) / sp_ecdsa : 0);
        bench_target("bench_verify", "process: `report verify` of 200 reports of one chip / ECDSA P-384 verifies",
                     (1e-3 * ms_ecdsa) / per, ">=", 0.9, "%.0f reports/s vs %.0f verifies/s", 1 / per, 1e3 / ms_ecdsa);
    }
    free(argv_many);
    unlink(rep);
    unlink(vc);
    unlink(pub);
    unlink(sig);
    unlink(body);
    rmdir(dir);
    for (size_t i = 0; i < N; i++) {
        free(it[i].cert);
        X509_free(it[i].leaf);
        EVP_PKEY_CTX_free(it[i].ecdsa);
        OPENSSL_free(it[i].der);
    }
    return rc;
}
