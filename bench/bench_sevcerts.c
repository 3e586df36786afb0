/* Benchmark: legacy SEV identity and launch-channel crypto (ops per second / ms per op).
 * Run: build/bench_sevcerts [iterations]   (default 20) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/fileio.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>

#include "crypto/crypto.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *what, double secs, int n)
{
    printf("%-44s %10.3f ms/op\n", what, 1e3 * secs / n);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20;
    if (n <= 0)
        n = 20;
    struct mc_rng *rng = NULL;
    struct mc_error e;
    if (mc_rng_create((const uint8_t *)"bench", 5, &rng, &e) != MC_OK)
        return 1;
    double t = now();
    struct mc_sev_identity *id = NULL;
    struct mc_sev_identity_params p = {0, 24, 15, 4096};
    if (mc_sev_identity_create(rng, &p, &id, &e) != MC_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    report("identity_new (RSA-4096 emulated ARK+ASK)", now() - t, 1);

    t = now();
    for (int i = 0; i < n; i++)
        mc_sev_identity_pek_gen(id, rng, NULL);
    report("PEK_GEN (OCA+PEK+PDH, 4 ECDSA signatures)", now() - t, n);

    uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN], godh[MC_SEV_CERT_LEN], sess[MC_SEV_SESSION_LEN];
    mc_sev_identity_pdh_export(id, pdh, chain);
    struct mc_sev_tks tks, psp;
    t = now();
    for (int i = 0; i < n; i++)
        mc_sev_owner_session(rng, pdh, sizeof pdh, 1, godh, sess, &tks, NULL);
    report("owner session (keygen + ECDH + wrap)", now() - t, n);
    t = now();
    for (int i = 0; i < n; i++)
        mc_sev_identity_open_session(id, godh, sizeof godh, sess, sizeof sess, 1, &psp, NULL, NULL);
    report("PSP session open (ECDH + unwrap)", now() - t, n);

    uint8_t *buf = NULL;
    size_t len = 0;
    struct mc_sev_cert pek, oca;
    mc_sev_cert_parse(chain, MC_SEV_CERT_LEN, &pek, NULL);
    mc_sev_cert_parse(chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &oca, NULL);
    t = now();
    int refused = 0; /* a benchmark of the success path: every verify must pass */
    for (int i = 0; i < n; i++)
        refused += mc_sev_cert_verify(&pek, &oca, NULL) != MC_OK;
    report("SEV cert verify (ECDSA P-384)", now() - t, n);
    if (mc_file_read(MC_TEST_DATA "/amd/sev-ca/rome/ask.cert", 4096, &buf, &len, NULL) == MC_OK) {
        uint8_t *ab = NULL;
        size_t al = 0;
        struct mc_amd_cert ask, ark;
        if (mc_file_read(MC_TEST_DATA "/amd/sev-ca/rome/ark.cert", 4096, &ab, &al, NULL) == MC_OK &&
            mc_amd_cert_parse(buf, len, &ask, NULL) == MC_OK && mc_amd_cert_parse(ab, al, &ark, NULL) == MC_OK) {
            t = now();
            for (int i = 0; i < n; i++)
                refused += mc_amd_cert_verify(&ask, &ark, NULL) != MC_OK;
            report("AMD ASK verify (RSA-4096 PSS, real Rome)", now() - t, n);
        }
        free(ab);
        free(buf);
    }
    if (refused) {
        fprintf(stderr, "bench_sevcerts: %d certificate verifications failed\n", refused);
        return 1;
    }
    static uint8_t plain[MC_SEV_SECRET_MAX], trans[MC_SEV_SECRET_MAX];
    uint8_t iv[16] = {0}, meas[32] = {0};
    struct mc_sev_secret_hdr h;
    t = now();
    for (int i = 0; i < n * 10; i++)
        mc_sev_secret_seal(&tks, true, iv, plain, sizeof plain, meas, &h, trans, NULL);
    double s = now() - t;
    report("LAUNCH_SECRET seal (20 KiB)", s, n * 10);
    printf("%-44s %10.1f MB/s\n", "LAUNCH_SECRET seal throughput", (double)sizeof plain * n * 10 / s / 1e6);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(rng);
    return 0;
}
